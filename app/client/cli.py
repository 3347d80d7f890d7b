"""The ``stepstream`` command: run a job (or resume one) and write every step once.

Exit codes: 0 every step ok, 1 some step failed (or the job could not go on),
2 invalid usage or params, 3 a refused or expired token, 4 the server stayed
unreachable past ``--give-up``, 130 interrupted (the last stderr line then
is a command that continues the job).
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

from app.client.errors import ApiError, ClientError, InvalidParamsError, TokenError, Unreachable
from app.client.models import StepResult
from app.client.options import KindOptions, add_kind_options, load_kinds, params_from
from app.client.output import open_writer
from app.client.stream import DEFAULT_URL, AsyncClient, JobRun

EXIT_OK, EXIT_FAILED_STEPS, EXIT_USAGE, EXIT_TOKEN, EXIT_UNREACHABLE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@dataclass
class Progress:
    """The steps written so far: the last one's cursor, the failures, and the bar."""

    cursor: str | None = None
    failed: int = 0
    show_bar: bool = False
    bar: tqdm[Never] | None = None

    def step(self, step: StepResult) -> None:
        self.cursor = step.cursor
        self.failed += not step.ok
        if not self.show_bar:
            return
        if self.bar is None:
            self.bar = tqdm(total=step.total, initial=step.index, unit="step", file=sys.stderr)
        self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@dataclass
class Invocation:
    args: argparse.Namespace
    progress: Progress
    run: JobRun | None = None

    @property
    def job(self) -> str | None:
        if self.run is not None and self.run.job is not None:
            return self.run.job.token
        job: str | None = getattr(self.args, "job", None)
        return job

    def resume_command(self) -> str:
        command = ["stepstream", "resume", self.job or ""]
        command += [self.progress.cursor] if self.progress.cursor else []
        if self.args.server:
            command += ["--server", self.args.server]
        if self.args.output:
            command += ["-o", str(self.args.output)]
        return shlex.join(command)


def build_parser(kinds: list[KindOptions]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help=f"the service (else $STEPSTREAM_URL, else {DEFAULT_URL})")
    common.add_argument("-o", "--output", type=Path, help="write steps to a .jsonl or .csv file")
    common.add_argument(
        "--give-up", type=float, default=120.0, metavar="SECONDS", help="stop retrying after this"
    )
    common.add_argument(
        "--read-timeout", type=float, default=60.0, metavar="SECONDS",
        help="longest silence on a stream (keep it above the server's heartbeat)",
    )  # fmt: skip
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no notices")

    parser = argparse.ArgumentParser(prog="stepstream", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start a job and follow it to its end")
    by_kind = run.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind in kinds:
        kind_parser = by_kind.add_parser(kind.name, parents=[common], help=f"run a {kind.name} job")
        add_kind_options(kind_parser, kind)
    resume = commands.add_parser("resume", parents=[common], help="continue a job from a cursor")
    resume.add_argument("job", help="the job token")
    resume.add_argument("cursor", nargs="?", help="the last cursor seen (absent: from the start)")
    return parser


async def follow(run: JobRun, invocation: Invocation, stdout: TextIO) -> int:
    args = invocation.args
    progress = invocation.progress
    invocation.run = run
    if args.command == "resume":
        progress.cursor = args.cursor
    writer = open_writer(args.output, stdout, append=args.command == "resume")
    try:
        async for step in run:
            writer.write(step)
            progress.step(step)
    finally:
        writer.close()
    failed = run.summary.failed if run.summary else progress.failed
    return EXIT_FAILED_STEPS if failed else EXIT_OK


async def execute(invocation: Invocation, stdout: TextIO) -> int:
    args = invocation.args
    server = args.server or os.environ.get("STEPSTREAM_URL") or DEFAULT_URL
    async with AsyncClient(server, give_up=args.give_up, read_timeout=args.read_timeout) as client:
        if args.command == "resume":
            return await follow(client.resume(args.job, args.cursor), invocation, stdout)
        return await follow(client.run(args.kind, **params_from(args)), invocation, stdout)


def report(error: ClientError, invocation: Invocation) -> int:
    """Say what went wrong on stderr, and return the exit code for it."""
    invocation.progress.close()
    say(f"stepstream: {error.message}")
    if isinstance(error, InvalidParamsError):
        for item in error.detail:
            say(f"  {item.get('field', '?')}: {item.get('message', '')}")
        return EXIT_USAGE
    if isinstance(error, TokenError):
        return EXIT_TOKEN
    if isinstance(error, ApiError):
        return EXIT_USAGE
    if invocation.job:
        say(f"to continue: {invocation.resume_command()}")
    return EXIT_UNREACHABLE if isinstance(error, Unreachable) else EXIT_FAILED_STEPS


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(load_kinds())
    args = parser.parse_args(argv)
    if args.output and args.output.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        parser.error(f"{args.output}: the output must end in .jsonl or .csv")
    invocation = Invocation(args, Progress(show_bar=not args.quiet and sys.stderr.isatty()))
    logging.basicConfig(
        level=logging.ERROR if args.quiet else logging.WARNING, format="stepstream: %(message)s"
    )
    try:
        code = asyncio.run(execute(invocation, sys.stdout))
    except KeyboardInterrupt:
        invocation.progress.close()
        say("stepstream: interrupted; to continue:")
        if invocation.job:
            say(invocation.resume_command())
        return EXIT_INTERRUPTED
    except ClientError as error:
        return report(error, invocation)
    invocation.progress.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
