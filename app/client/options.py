"""A job kind's declared params as command-line options, so a new kind needs no CLI code.

Every field of the kind's ``params_model`` becomes ``--field-name`` (and its
one-liner query aliases too); a list field takes several values, and when a
kind has exactly one list field, positional arguments go to it
(``stepstream run scrape URL URL``). Values go to the server as typed, and
its validation (a 422, field by field) is the one source of truth.
"""

from __future__ import annotations

import argparse
import asyncio
import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app.jobs import JobKind
from app.jobs.loading import load_kinds as load_server_kinds
from app.settings import Settings

PARAM_PREFIX = "param:"
POSITIONAL_PREFIX = "positional:"


@dataclass(frozen=True, slots=True)
class KindOptions:
    name: str
    params_model: type[BaseModel]
    query_aliases: dict[str, str]

    @property
    def list_fields(self) -> list[str]:
        fields = self.params_model.model_fields
        return [name for name, field in fields.items() if _is_list(field.annotation)]


def load_kinds() -> list[KindOptions]:
    """The server's kinds, read for their declarations only; whatever they hold is closed."""
    kinds = load_server_kinds(Settings())
    try:
        return [
            KindOptions(name, kind.params_model, dict(kind.query_aliases))
            for name, kind in sorted(kinds.items())
        ]
    finally:
        asyncio.run(_close(list(kinds.values())))


async def _close(kinds: list[JobKind[Any]]) -> None:
    for kind in kinds:
        await kind.aclose()


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        return any(_is_list(arg) for arg in get_args(annotation))
    return origin is list


def add_kind_options(parser: argparse.ArgumentParser, kind: KindOptions) -> None:
    aliases: dict[str, list[str]] = {}
    for alias, name in kind.query_aliases.items():
        aliases.setdefault(name, []).append(alias)
    lists = kind.list_fields
    for name, field in kind.params_model.model_fields.items():
        flags = dict.fromkeys(
            f"--{option.replace('_', '-')}" for option in [name, *aliases.get(name, [])]
        )
        parser.add_argument(
            *flags, dest=PARAM_PREFIX + name, default=argparse.SUPPRESS, **_shape(name, field)
        )
    if len(lists) == 1:
        parser.add_argument(
            POSITIONAL_PREFIX + lists[0],
            nargs="*",
            metavar=lists[0].upper(),
            help=f"values of --{lists[0].replace('_', '-')}",
        )


def _shape(name: str, field: FieldInfo) -> dict[str, Any]:
    help_text = field.description or ""
    if not field.is_required():
        help_text += f" (default: {field.get_default(call_default_factory=True)!r})"
    shape: dict[str, Any] = {"help": help_text.strip()}
    if field.annotation is bool:
        shape["action"] = argparse.BooleanOptionalAction
    elif _is_list(field.annotation):
        shape.update(nargs="+", action="extend", metavar=name.upper())
    else:
        shape["metavar"] = name.upper()
    return shape


def params_from(namespace: argparse.Namespace) -> dict[str, Any]:
    """The params the user gave (and only those: the server fills in defaults)."""
    params: dict[str, Any] = {}
    for key, value in vars(namespace).items():
        if key.startswith(PARAM_PREFIX):
            params[key.removeprefix(PARAM_PREFIX)] = value
    for key, value in vars(namespace).items():
        if key.startswith(POSITIONAL_PREFIX) and value:
            name = key.removeprefix(POSITIONAL_PREFIX)
            params[name] = [*value, *params.get(name, [])]
    return params
