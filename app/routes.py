"""The HTTP layer: every check of a token, cursor or param happens here,
before a response starts, so a bad one gets its JSON error and status."""

from __future__ import annotations

import json
from typing import Any, get_origin

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from app.errors import BadRequest, BodyTooLarge, InvalidParams, InvalidToken, NotFound
from app.jobs.base import JobKind
from app.runner import Job
from app.state import AppState
from app.stream import open_stream
from app.tokens import Cursor, JobSpec, derived_job_id, random_job_id


class JobRequest(BaseModel):
    kind: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)


class StepsRequest(BaseModel):
    cursor: str | None = Field(None, max_length=16384)


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.stepstream
    return state


def validation_detail(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as JSON: where, what, and why, per field."""
    return [
        {
            "field": ".".join(str(part) for part in (*prefix, *error["loc"])),
            "loc": [*prefix, *error["loc"]],
            "type": error["type"],
            "message": error["msg"],
        }
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refusing it (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"The request body is over {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"The request body is over {limit} bytes.")
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The request body is not valid JSON.") from exc


def build_job(state: AppState, kind_name: str, raw: dict[str, Any], *, job_id: str | None) -> Job:
    """Validate params and sign the spec; ``job_id=None`` derives the id from the params."""
    kind = state.kinds.get(kind_name)
    if kind is None:
        known = ", ".join(sorted(state.kinds))
        raise InvalidParams(
            f"Unknown job kind {kind_name!r}; known kinds: {known}.",
            detail=[
                {
                    "field": "kind",
                    "loc": ["kind"],
                    "type": "unknown_kind",
                    "message": f"Unknown job kind; known kinds: {known}.",
                }
            ],
        )
    try:
        params = kind.parse(raw)
    except ValidationError as exc:
        raise InvalidParams(
            "The job's params are invalid.", detail=validation_detail(exc, ("params",))
        ) from exc
    canonical = params.model_dump(mode="json")
    spec = JobSpec(job_id or derived_job_id(kind.name, canonical), kind.name, canonical)
    return Job(spec, state.codec.dump_job(spec), kind, params, kind.total(params))


def load_job(state: AppState, token: str) -> Job:
    spec = state.codec.load_job(token)
    kind = state.kinds.get(spec.kind)
    if kind is None:
        raise InvalidToken(f"This server does not run jobs of kind {spec.kind!r}.")
    try:
        params = kind.parse(spec.params)
    except ValidationError as exc:
        raise InvalidParams(
            "The job's params are no longer accepted by this server.",
            detail=validation_detail(exc, ("params",)),
        ) from exc
    return Job(spec, token, kind, params, kind.total(params))


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
        if field is not None and get_origin(field.annotation) is list:
            raw.setdefault(name, []).extend(values)
        elif len(values) > 1:
            raise InvalidParams(
                f"{key!r} is given more than once.",
                detail=[
                    {
                        "field": key,
                        "loc": [key],
                        "type": "repeated",
                        "message": "Given more than once.",
                    }
                ],
            )
        else:
            raw[name] = values[0]
    return raw


def load_cursor(state: AppState, job: Job, token: str | None) -> Cursor:
    """The position to run ``job`` from: its start, or a checked cursor of this very job."""
    if not token:
        return Cursor(job.spec.id)
    cursor = state.codec.load_cursor(token, job.spec.id)
    if cursor.next > job.total:
        raise InvalidToken("The cursor is past the end of this job.")
    state.metrics.resumes.inc()
    return cursor


def _job_answer(job: Job) -> dict[str, Any]:
    return {
        "job": job.token,
        "id": job.spec.id,
        "kind": job.kind.name,
        "params": job.spec.params,
        "total": job.total,
        "events_url": job.events_url,
        "steps_url": job.steps_url,
    }


async def create_job(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request, state.settings.max_body)
    try:
        job_request = JobRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidParams("The request body is invalid.", detail=validation_detail(exc)) from exc
    job = build_job(state, job_request.kind, job_request.params, job_id=random_job_id())
    return JSONResponse(_job_answer(job), status_code=201)


async def show_job(request: Request) -> Response:
    return JSONResponse(_job_answer(load_job(_state(request), request.path_params["job"])))


def _stream(state: AppState, request: Request, job: Job) -> Response:
    # The header first: a reconnecting EventSource sends its newest id there.
    token = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    cursor = load_cursor(state, job, token)
    if cursor.final:
        return Response(status_code=204)
    return open_stream(
        job,
        cursor,
        resumed=bool(token),
        runner=state.runner,
        slots=state.slots,
        settings=state.settings,
        metrics=state.metrics,
    )


async def job_events(request: Request) -> Response:
    state = _state(request)
    return _stream(state, request, load_job(state, request.path_params["job"]))


async def oneliner_events(request: Request) -> Response:
    state = _state(request)
    kind_name = request.path_params["kind"]
    kind = state.kinds.get(kind_name)
    if kind is None:
        raise NotFound(f"Unknown job kind {kind_name!r}.")
    job = build_job(state, kind_name, params_from_query(kind, request), job_id=None)
    return _stream(state, request, job)


async def run_steps(request: Request) -> Response:
    state = _state(request)
    job = load_job(state, request.path_params["job"])
    body = await read_json(request, state.settings.max_body)
    try:
        steps_request = StepsRequest.model_validate(body or {})
    except ValidationError as exc:
        raise InvalidParams("The request body is invalid.", detail=validation_detail(exc)) from exc
    cursor = load_cursor(state, job, steps_request.cursor)
    if cursor.final:
        return JSONResponse({"events": [], "cursor": steps_request.cursor, "done": True})
    batch = await state.runner.batch(job, cursor, state.settings.step_budget)
    for event in batch.events:
        state.metrics.events.labels(event.event).inc()
    return JSONResponse(
        {"events": [e.as_json() for e in batch.events], "cursor": batch.cursor, "done": batch.done}
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes(state: AppState) -> list[Route | Mount]:
    return [
        Route("/healthz", healthz),
        Route("/metrics", state.metrics.endpoint),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job}", show_job),
        Route("/api/jobs/{job}/events", job_events),
        Route("/api/jobs/{job}/steps", run_steps, methods=["POST"]),
        Route("/api/{kind}/events", oneliner_events),
        Mount("/", StaticFiles(directory=state.settings.static_dir, html=True, check_dir=False)),
    ]
