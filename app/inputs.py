"""Reading what clients send: JSON bodies (bounded in size and depth, JSON only),
one-liner query strings, and pydantic's errors as per-field detail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request

from app.errors import BadRequest, BodyTooLarge, InvalidParams, UnsupportedMediaType
from app.jobs.base import JobKind

MAX_JSON_DEPTH = 64


class JobRequest(BaseModel):
    kind: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class StepsRequest(BaseModel):
    cursor: str | None = Field(None, max_length=16384)
    budget: float | None = Field(None, gt=0, le=600)


def field_error(loc: Sequence[str | int], kind: str, message: str) -> dict[str, Any]:
    """One entry of an error's ``detail``: where, what, and why."""
    return {
        "field": ".".join(str(part) for part in loc),
        "loc": list(loc),
        "type": kind,
        "message": message,
    }


def validation_detail(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as JSON, per field."""
    return [
        field_error((*prefix, *error["loc"]), error["type"], error["msg"])
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON: refused (413) past ``limit`` bytes, (415) when not JSON."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"The request body is over {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"The request body is over {limit} bytes.")
    if (body or media_type) and media_type != "application/json":
        raise UnsupportedMediaType(
            "The request body must be JSON (Content-Type: application/json)."
        )
    if not body:
        return None
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadRequest("The request body is not valid JSON.") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def count_lists(kind: JobKind[Any], raw: dict[str, Any]) -> None:
    """Refuse an over-long list before validating each of its items."""
    for name, field in kind.params_model.model_fields.items():
        value = raw.get(name)
        if not isinstance(value, list):
            continue
        for meta in field.metadata:
            limit = getattr(meta, "max_length", None)
            if limit is not None and len(value) > limit:
                raise InvalidParams(
                    "The job's params are invalid.",
                    detail=[
                        field_error(
                            ("params", name),
                            "too_long",
                            f"At most {limit} items, not {len(value)}.",
                        )
                    ],
                )


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(get_origin(arg) is list for arg in get_args(annotation))


def params_from_query(kind: JobKind[Any], request: Request) -> dict[str, Any]:
    """One-liner params: a list param takes every repeat of its name."""
    fields = kind.params_model.model_fields
    raw: dict[str, Any] = {}
    for key in dict.fromkeys(request.query_params.keys()):
        if key == "last_event_id":
            continue
        name = kind.query_aliases.get(key, key)
        values = request.query_params.getlist(key)
        field = fields.get(name)
        if field is not None and _is_list(field.annotation):
            raw.setdefault(name, []).extend(values)
        elif len(values) > 1:
            raise InvalidParams(
                f"{key!r} is given more than once.",
                detail=[field_error((key,), "repeated", "Given more than once.")],
            )
        else:
            raw[name] = values[0]
    return raw
