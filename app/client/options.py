"""A kind's params, as the server's ``GET /api/kinds`` describes them, as command-line options.

Each property of the kind's JSON Schema becomes ``--name`` (and its one-liner
aliases ``--alias``), typed by the schema: integers, numbers, strings,
booleans (``--flag/--no-flag``), enums (choices), lists (several values; a
kind's only list param also takes positional arguments), anything else one
JSON value. Titles, descriptions, defaults and limits show in ``--help``, but
only the values given are sent: the server fills in the rest, and its
validation (a 422, field by field) is the one source of truth.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.client.models import KindInfo

PARAM_PREFIX = "param:"
POSITIONAL_PREFIX = "positional:"
LIMITS = {
    "minimum": ">=",
    "exclusiveMinimum": ">",
    "maximum": "<=",
    "exclusiveMaximum": "<",
    "minItems": "items >=",
    "maxItems": "items <=",
}


@dataclass(frozen=True, slots=True)
class Param:
    """One property of a params schema, with ``$ref`` and ``X | None`` resolved away."""

    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def is_list(self) -> bool:
        return self.schema.get("type") == "array"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def params_of(kind: KindInfo) -> list[Param]:
    schema = kind.params
    required = set(schema.get("required", []))
    return [
        Param(name, _resolve(field, schema), name in required)
        for name, field in schema.get("properties", {}).items()
    ]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` and drop the ``null`` of an optional field."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return _resolve({**target, **rest}, root)
    choices = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(choices, list):
        others = [choice for choice in choices if choice.get("type") != "null"]
        if len(others) == 1:
            rest = {key: value for key, value in schema.items() if key not in ("anyOf", "oneOf")}
            return {**_resolve(others[0], root), **rest}
    return schema


def add_kind_options(parser: argparse.ArgumentParser, kind: KindInfo) -> None:
    aliases: dict[str, list[str]] = {}
    for alias, name in kind.aliases.items():
        aliases.setdefault(name, []).append(alias)
    params = params_of(kind)
    lists = [param for param in params if param.is_list]
    positional = lists[0] if len(lists) == 1 else None
    for param in params:
        flags = dict.fromkeys(
            [param.flag, *("--" + alias.replace("_", "-") for alias in aliases.get(param.name, []))]
        )
        shape = _shape(param)
        if param.required and param is not positional:
            shape["required"] = True
        parser.add_argument(*flags, dest=PARAM_PREFIX + param.name, **shape)
    if positional is not None:
        parser.add_argument(
            POSITIONAL_PREFIX + positional.name,
            nargs="*",
            type=_converter(positional.schema.get("items", {})),
            metavar=positional.name.upper(),
            help=f"values of {positional.flag}",
        )


def _shape(param: Param) -> dict[str, Any]:
    schema = param.schema
    shape: dict[str, Any] = {"default": argparse.SUPPRESS, "help": _help(param)}
    if schema.get("type") == "boolean":
        shape["action"] = argparse.BooleanOptionalAction
    elif param.is_list:
        items = schema.get("items", {})
        shape.update(nargs="+", action="extend", type=_converter(items))
        shape.update(_metavar_or_choices(param.name, items))
    else:
        shape.update(type=_converter(schema), **_metavar_or_choices(param.name, schema))
    return shape


def _metavar_or_choices(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema.get("enum"), list):
        return {"choices": schema["enum"]}
    return {"metavar": name.upper()}


def _help(param: Param) -> str:
    schema = param.schema
    text = schema.get("description") or schema.get("title") or ""
    notes = [f"{word} {schema[key]}" for key, word in LIMITS.items() if key in schema]
    if param.required:
        notes.append("required")
    elif "default" in schema:
        notes.append(f"default: {json.dumps(schema['default'], ensure_ascii=False)}")
    if notes:
        text += f" ({', '.join(notes)})"
    return text.strip().replace("%", "%%")  # argparse formats help with %


def _converter(schema: dict[str, Any]) -> Callable[[str], Any]:
    enum = schema.get("enum")
    if isinstance(enum, list):
        by_text = {str(value): value for value in enum}
        return lambda text: by_text.get(text, text)
    kind = schema.get("type")
    if kind == "integer":
        return int
    if kind == "number":
        return number
    if kind == "string":
        return str
    return json_value


def number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare word: let the server's validation say what it wanted


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
