"""Which kinds a server runs: built-ins by name, the people's own by import string.

``STEPSTREAM_KINDS`` lists built-in names (``sleep``, ``scrape``) and
``module:attribute`` import strings, each naming a ``@job_kind`` function, a
``JobKind`` instance or subclass, or a list of them. Unset, the server runs the
built-ins plus every kind installed packages declare in the entry-point group
``stepstream.kinds``. Anything wrong is a ``KindError`` whose one line names the
culprit, so the server stops at start-up instead of failing a request later.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points
from typing import Any

from app.jobs.base import KIND_NAME, JobKind, Params
from app.jobs.scrape import ScrapeJob
from app.jobs.sleep import SleepJob
from app.settings import Settings

ENTRY_POINT_GROUP = "stepstream.kinds"
RESERVED_NAMES = frozenset({"jobs", "kinds"})
"""Taken by the API's own paths (``/api/jobs/...``), so no one-liner could reach them."""

BUILTINS: dict[str, Callable[[Settings], JobKind[Any]]] = {
    "sleep": lambda settings: SleepJob(),
    "scrape": ScrapeJob,
}

KindSource = str | JobKind[Any] | type[JobKind[Any]] | list[Any]
"""A built-in name, an import string, a kind, a kind class, or a list of these."""


class KindError(Exception):
    """A kind that cannot be served; the message is one line naming it."""


def load_kinds(
    settings: Settings, kinds: Sequence[KindSource] | None = None
) -> dict[str, JobKind[Any]]:
    """The kinds to serve: ``kinds`` if given, else ``STEPSTREAM_KINDS``, else the default."""
    found: list[tuple[str, object]]
    if kinds is not None:
        found = [(_origin(item), item) for item in kinds]
    elif settings.kinds:
        found = [(item, _resolve(item, settings)) for item in settings.kinds]
    else:
        found = [(name, make(settings)) for name, make in BUILTINS.items()]
        found += _from_entry_points()
    served: dict[str, JobKind[Any]] = {}
    for origin, item in found:
        for kind in _kinds_in(origin, item, settings):
            _check(origin, kind)
            if kind.name in served:
                raise KindError(f"{origin}: a second kind named {kind.name!r}")
            served[kind.name] = kind
    if not served:
        raise KindError("no job kinds to serve")
    return served


def _origin(item: object) -> str:
    return item if isinstance(item, str) else repr(item)


def _resolve(item: str, settings: Settings) -> object:
    if item in BUILTINS:
        return BUILTINS[item](settings)
    module_name, colon, attribute = item.partition(":")
    if not colon or not module_name or not attribute:
        known = ", ".join(BUILTINS)
        raise KindError(f"{item}: not a built-in kind ({known}) nor a module:attribute")
    try:
        target: object = importlib.import_module(module_name)
    except Exception as exc:
        raise KindError(f"{item}: cannot import {module_name}: {exc!r}") from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise KindError(f"{item}: {module_name} has no attribute {attribute}") from exc
    return target


def _from_entry_points() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"entry point {point.name} = {point.value}"
        try:
            found.append((origin, point.load()))
        except Exception as exc:
            raise KindError(f"{origin}: cannot load it: {exc!r}") from exc
    return found


def _kinds_in(origin: str, item: object, settings: Settings) -> Iterable[JobKind[Any]]:
    if isinstance(item, str):
        item = _resolve(item, settings)
    if isinstance(item, list | tuple):
        for member in item:
            yield from _kinds_in(origin, member, settings)
    elif isinstance(item, JobKind):
        yield item
    elif isinstance(item, type) and issubclass(item, JobKind):
        try:
            yield item()
        except Exception as exc:
            raise KindError(f"{origin}: cannot make a {item.__name__}: {exc!r}") from exc
    else:
        raise KindError(
            f"{origin}: {item!r} is not a job kind "
            "(a @job_kind function, a JobKind instance or subclass, or a list of them)"
        )


def _check(origin: str, kind: JobKind[Any]) -> None:
    name = getattr(kind, "name", None)
    if not isinstance(name, str) or not KIND_NAME.fullmatch(name):
        raise KindError(f"{origin}: invalid kind name {name!r} (want [a-z][a-z0-9_-]{{0,39}})")
    if name in RESERVED_NAMES:
        raise KindError(f"{origin}: the kind name {name!r} is taken by the API's own paths")
    model = getattr(kind, "params_model", None)
    if not (isinstance(model, type) and issubclass(model, Params)):
        raise KindError(f"{origin}: kind {name!r}: params must be a subclass of app.jobs.Params")
    try:
        model.model_json_schema()
    except Exception as exc:
        raise KindError(f"{origin}: kind {name!r}: params have no JSON Schema: {exc!r}") from exc
    for alias, field in kind.query_aliases.items():
        if field not in model.model_fields:
            raise KindError(f"{origin}: kind {name!r}: alias {alias!r} names no param {field!r}")
