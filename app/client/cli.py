"""The ``stepstream`` command: run a job (or resume one) and write every step once.

``stepstream kinds`` lists the kinds the server runs, and ``stepstream run
KIND`` takes that kind's options: both come from the server's ``GET
/api/kinds`` (``--server``, else ``$STEPSTREAM_URL``, else the local default),
so the command knows what a remote server really runs and imports nothing of it.

Exit codes: 0 every step ok, 1 some step failed (or the job could not go on),
2 invalid usage or params, 3 a refused credential (an invalid or expired
token, or a 401: no API key or an unknown one), 4 the server stayed
unreachable past ``--give-up`` (or did not answer for its kinds), 130
interrupted (the last stderr line then is a command that continues the job).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Never, TextIO

from tqdm import tqdm

from app.client.client import DEFAULT_URL, AsyncClient
from app.client.errors import (
    ApiError,
    ClientError,
    InvalidParamsError,
    TokenError,
    Unauthorized,
    Unreachable,
)
from app.client.models import KindInfo, Progress, StepResult
from app.client.options import add_kind_options, params_from
from app.client.output import open_writer
from app.client.run import JobRun

EXIT_OK, EXIT_FAILED_STEPS, EXIT_USAGE, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130
NEEDS_KINDS = ("run", "kinds")


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@dataclass
class Tally:
    """The failed steps so far, and the bar: steps done, and what the running one says."""

    failed: int = 0
    show_bar: bool = False
    bar: tqdm[Never] | None = None

    def step(self, step: StepResult) -> None:
        self.failed += not step.ok
        bar = self._bar(step.total, step.index)
        if bar is not None:
            bar.set_postfix_str("", refresh=False)
            bar.update()

    def progress(self, progress: Progress, total: int) -> None:
        bar = self._bar(total, progress.index)
        if bar is not None:
            fraction = None if progress.fraction is None else f"{progress.fraction:.0%}"
            bar.set_postfix_str(" ".join(part for part in (progress.message, fraction) if part))

    def _bar(self, total: int, first: int) -> tqdm[Never] | None:
        if self.show_bar and self.bar is None:
            self.bar = tqdm(total=total, initial=first, unit="step", file=sys.stderr)
        return self.bar

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@dataclass
class Invocation:
    args: argparse.Namespace
    tally: Tally
    run: JobRun | None = None

    @property
    def job(self) -> str | None:
        if self.run is not None and self.run.job is not None:
            return self.run.job.token
        job: str | None = getattr(self.args, "job", None)
        return job

    @property
    def cursor(self) -> str | None:
        cursor: str | None = self.run.cursor if self.run else getattr(self.args, "cursor", None)
        return cursor

    def resume_command(self) -> str:
        command = ["stepstream", "resume", self.job or ""]
        command += [self.cursor] if self.cursor else []
        if self.args.server:
            command += ["--server", self.args.server]
        if self.args.output:
            command += ["-o", str(self.args.output)]
        return shlex.join(command)


def server_of(args: argparse.Namespace) -> str:
    server: str = args.server or os.environ.get("STEPSTREAM_URL") or DEFAULT_URL
    return server


def build_parser(kinds: list[KindInfo]) -> argparse.ArgumentParser:
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--server", help=f"the service (else $STEPSTREAM_URL, else {DEFAULT_URL})")
    common = argparse.ArgumentParser(add_help=False, parents=[server])
    common.add_argument("-o", "--output", type=Path, help="write steps to a .jsonl or .csv file")
    common.add_argument(
        "--give-up", type=float, default=120.0, metavar="SECONDS", help="stop retrying after this"
    )
    common.add_argument(
        "--read-timeout", type=float, default=60.0, metavar="SECONDS",
        help="longest silence on a stream (keep it above the server's heartbeat)",
    )  # fmt: skip
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no notices")

    parser = argparse.ArgumentParser(
        prog="stepstream",
        description="Run a job on a stepstream server, or resume one, and write every step once.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("kinds", parents=[server], help="list the kinds the server runs")
    run = commands.add_parser("run", help="start a job and follow it to its end")
    by_kind = run.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in kinds:
        kind_parser = by_kind.add_parser(
            kind.name,
            parents=[common],
            help=kind.title.replace("%", "%%"),  # argparse formats an entry's help with %
            description=kind.description or None,
        )
        kind_parser.add_argument(
            "--api-key", metavar="KEY", help="the key to start jobs with (else $STEPSTREAM_API_KEY)"
        )
        add_kind_options(kind_parser, kind)
    resume = commands.add_parser("resume", parents=[common], help="continue a job from a cursor")
    resume.add_argument("job", help="the job token")
    resume.add_argument("cursor", nargs="?", help="the last cursor seen (absent: from the start)")
    return parser


async def fetch_kinds(argv: list[str]) -> list[KindInfo]:
    """The server's kinds, when the command needs them to build its options."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in NEEDS_KINDS:
        return []
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--server")
    known, _ = server.parse_known_args(argv)
    async with AsyncClient(server_of(known)) as client:
        return await client.kinds()


def list_kinds(kinds: list[KindInfo], stdout: TextIO) -> None:
    width = max((len(kind.name) for kind in kinds), default=0)
    for kind in kinds:
        summary = kind.description.strip().split("\n")[0]
        stdout.write(f"{kind.name:<{width}}  {kind.title}" + (f": {summary}" if summary else ""))
        stdout.write("\n")


async def follow(run: JobRun, invocation: Invocation, stdout: TextIO) -> int:
    args = invocation.args
    tally = invocation.tally
    invocation.run = run
    writer = open_writer(args.output, stdout, append=args.command == "resume")
    try:
        async for update in run.with_progress():
            if isinstance(update, Progress):
                tally.progress(update, run.job.total if run.job else 0)
            else:
                writer.write(update)
                tally.step(update)
    finally:
        writer.close()
    failed = run.summary.failed if run.summary else tally.failed
    return EXIT_FAILED_STEPS if failed else EXIT_OK


async def execute(invocation: Invocation, stdout: TextIO) -> int:
    args = invocation.args
    api_key = getattr(args, "api_key", None) or os.environ.get("STEPSTREAM_API_KEY")
    async with AsyncClient(
        server_of(args), api_key=api_key, give_up=args.give_up, read_timeout=args.read_timeout
    ) as client:
        if args.command == "resume":
            return await follow(client.resume(args.job, args.cursor), invocation, stdout)
        return await follow(client.run(args.kind, **params_from(args)), invocation, stdout)


def report(error: ClientError, invocation: Invocation) -> int:
    """Say what went wrong on stderr, and return the exit code for it."""
    invocation.tally.close()
    say(f"stepstream: {error.message}")
    if isinstance(error, InvalidParamsError):
        for item in error.detail:
            say(f"  {item.get('field', '?')}: {item.get('message', '')}")
        return EXIT_USAGE
    if isinstance(error, TokenError | Unauthorized):
        return EXIT_REFUSED
    if isinstance(error, ApiError):
        return EXIT_USAGE
    if invocation.job:
        say(f"to continue: {invocation.resume_command()}")
    return EXIT_UNREACHABLE if isinstance(error, Unreachable) else EXIT_FAILED_STEPS


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        kinds = asyncio.run(fetch_kinds(argv))
    except ClientError as error:
        say(f"stepstream: {error.message}")
        return EXIT_UNREACHABLE if isinstance(error, Unreachable) else EXIT_USAGE
    parser = build_parser(kinds)
    args = parser.parse_args(argv)
    if args.command == "kinds":
        list_kinds(kinds, sys.stdout)
        return EXIT_OK
    if args.output and args.output.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        parser.error(f"{args.output}: the output must end in .jsonl or .csv")
    invocation = Invocation(args, Tally(show_bar=not args.quiet and sys.stderr.isatty()))
    logging.basicConfig(
        level=logging.ERROR if args.quiet else logging.WARNING, format="stepstream: %(message)s"
    )
    try:
        code = asyncio.run(execute(invocation, sys.stdout))
    except KeyboardInterrupt:
        invocation.tally.close()
        say("stepstream: interrupted; to continue:")
        if invocation.job:
            say(invocation.resume_command())
        return EXIT_INTERRUPTED
    except ClientError as error:
        return report(error, invocation)
    invocation.tally.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
