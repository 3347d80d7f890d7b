"""The HTTP layer: every check of a token, cursor or param happens here,
before a response starts, so a bad one gets its JSON error and status."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from app.errors import (
    InvalidParams,
    InvalidToken,
    ShuttingDown,
    Unauthorized,
    UnknownKind,
)
from app.fallback import run_batch
from app.inputs import (
    JobRequest,
    StepsRequest,
    count_lists,
    field_error,
    params_from_query,
    read_json,
    validation_detail,
)
from app.jobs.base import JobKind
from app.responses import ApiResponse, no_content
from app.runner import Job
from app.state import AppState
from app.stream import EventStream, headers_only, start_event
from app.tokens import Cursor, JobSpec, derived_job_id, random_job_id


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.stepstream
    return state


def url_path(request: Request, name: str, **params: str) -> str:
    """A path of ours as the client must ask for it, under any mount prefix."""
    path = str(request.app.url_path_for(name, **params))
    return str(request.scope.get("root_path", "")) + path


def check_api_key(state: AppState, request: Request) -> None:
    """Starting a job takes a key when keys are set; the job token is then the capability."""
    keys = state.settings.api_keys
    if not keys:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    given_bytes = given.strip().encode()
    # Every key is compared, whatever matches, so the time says nothing of which.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given_bytes, key.encode())
    if scheme.lower() != "bearer" or not matched:
        raise Unauthorized(
            "Starting a job needs an API key: Authorization: Bearer <key>.",
            headers={"WWW-Authenticate": 'Bearer realm="stepstream"'},
        )


def find_kind(state: AppState, name: str) -> JobKind[Any]:
    kind = state.kinds.get(name)
    if kind is None:
        known = ", ".join(sorted(state.kinds))
        raise UnknownKind(f"This server does not run jobs of kind {name!r}; it runs: {known}.")
    return kind


def build_job(state: AppState, kind: JobKind[Any], raw: dict[str, Any], job_id: str) -> Job:
    """Validate params and sign the spec; an empty ``job_id`` derives it from the params."""
    count_lists(kind, raw)
    try:
        params = kind.parse(raw)
    except ValidationError as exc:
        raise InvalidParams(
            "The job's params are invalid.", detail=validation_detail(exc, ("params",))
        ) from exc
    canonical = params.model_dump(mode="json")
    spec = JobSpec(job_id or derived_job_id(kind.name, canonical), kind.name, canonical)
    token = state.codec.dump_job(spec)
    limit = state.settings.max_token_bytes
    if len(token) > limit:
        raise InvalidParams(
            f"This job is too big to fit in a URL ({len(token)} bytes of token, at most "
            f"{limit}): split it into several smaller jobs.",
            detail=[
                field_error(
                    ("params",),
                    "too_big",
                    f"The job's token would be {len(token)} bytes; at most {limit}.",
                )
            ],
        )
    return Job(spec, token, kind, params, kind.total(params))


def job_of_token(state: AppState, token: str) -> Job:
    spec = state.codec.load_job(token)
    kind = find_kind(state, spec.kind)
    try:
        params = kind.parse(spec.params)
    except ValidationError as exc:
        raise InvalidParams(
            "The job's params are no longer accepted by this server.",
            detail=validation_detail(exc, ("params",)),
        ) from exc
    return Job(spec, token, kind, params, kind.total(params))


def cursor_of_token(state: AppState, job: Job, token: str | None) -> Cursor:
    """The position to run ``job`` from: its start, or a checked cursor of this very job."""
    if not token:
        return Cursor(job.spec.id)
    cursor = state.codec.load_cursor(token, job.spec.id)
    if cursor.next > job.total:
        raise InvalidToken("The cursor is past the end of this job.")
    state.metrics.resumes.inc()
    return cursor


def _job_answer(request: Request, job: Job) -> dict[str, Any]:
    return {
        "job": job.token,
        "id": job.spec.id,
        "kind": job.kind.name,
        "params": job.spec.params,
        "total": job.total,
        "events_url": url_path(request, "job_events", job=job.token),
        "steps_url": url_path(request, "job_steps", job=job.token),
    }


async def list_kinds(request: Request) -> Response:
    state = _state(request)
    return ApiResponse({"kinds": [kind.describe() for kind in state.kinds.values()]})


async def create_job(request: Request) -> Response:
    state = _state(request)
    check_api_key(state, request)
    body = await read_json(request, state.settings.max_body)
    try:
        job_request = JobRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidParams("The request body is invalid.", detail=validation_detail(exc)) from exc
    kind = find_kind(state, job_request.kind)
    job = build_job(state, kind, job_request.params, random_job_id())
    return ApiResponse(_job_answer(request, job), status_code=201)


async def show_job(request: Request) -> Response:
    job = job_of_token(_state(request), request.path_params["job"])
    return ApiResponse(_job_answer(request, job))


def _refuse_if_stopping(state: AppState) -> None:
    """New work goes to another replica: this one ends its streams as it stops."""
    if state.shutdown.is_set:
        raise ShuttingDown("This server is stopping; try again.", headers={"Retry-After": "1"})


def _stream(state: AppState, request: Request, job: Job) -> Response | EventStream:
    _refuse_if_stopping(state)
    # The header first: a reconnecting EventSource sends its newest id there.
    token = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    cursor = cursor_of_token(state, job, token)
    if cursor.final:
        return no_content()
    if request.method == "HEAD":
        return headers_only()
    state.watch_shutdown()
    client = request.client.host if request.client else "unknown"
    state.slots.acquire(client)
    start = {
        "job": job.token,
        "kind": job.kind.name,
        "total": job.total,
        "next": cursor.next,
        "resumed": bool(token),
        "events_url": url_path(request, "job_events", job=job.token),
    }
    start_bytes = start_event(state.codec.dump_cursor(cursor), start, state.settings.retry_ms)
    run, listener = state.runs.follow(job, cursor)
    return EventStream(
        start_bytes,
        run,
        listener,
        settings=state.settings,
        metrics=state.metrics,
        slots=state.slots,
        client=client,
    )


async def job_events(request: Request) -> Response | EventStream:
    state = _state(request)
    return _stream(state, request, job_of_token(state, request.path_params["job"]))


async def oneliner_events(request: Request) -> Response | EventStream:
    state = _state(request)
    kind = find_kind(state, request.path_params["kind"])
    check_api_key(state, request)
    job = build_job(state, kind, params_from_query(kind, request), "")
    return _stream(state, request, job)


async def run_steps(request: Request) -> Response:
    state = _state(request)
    job = job_of_token(state, request.path_params["job"])
    body = await read_json(request, state.settings.max_body)
    try:
        steps_request = StepsRequest.model_validate(body or {})
    except ValidationError as exc:
        raise InvalidParams("The request body is invalid.", detail=validation_detail(exc)) from exc
    cursor = cursor_of_token(state, job, steps_request.cursor)
    if cursor.final:
        return ApiResponse({"events": [], "cursor": steps_request.cursor, "done": True})
    _refuse_if_stopping(state)
    state.watch_shutdown()
    budget = min(steps_request.budget or state.settings.step_budget, state.settings.step_budget)
    batch = None
    async with anyio.create_task_group() as group:
        # A client that leaves stops its batch at once: no work for nobody.
        group.start_soon(_cancel_on_disconnect, request, group.cancel_scope)
        batch = await run_batch(
            state.runs, state.codec, job, cursor, budget, state.settings.max_batch_events
        )
        group.cancel_scope.cancel()
    if batch is None:
        return no_content()  # nobody is there to read it
    state.metrics.count_events(batch.events)
    return ApiResponse(
        {"events": [e.as_json() for e in batch.events], "cursor": batch.cursor, "done": batch.done}
    )


async def _cancel_on_disconnect(request: Request, scope: anyio.CancelScope) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


class StreamEndpoint:
    """A route's endpoint as a plain ASGI app: Starlette's ``request_response`` wrapper
    would keep two more frames and their closures alive for as long as a stream is open."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response | EventStream]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes(state: AppState) -> list[BaseRoute]:
    return [
        Route("/healthz", healthz),
        Route("/metrics", state.metrics.endpoint),
        Route("/api/kinds", list_kinds),
        Route("/api/jobs", create_job, methods=["POST"]),
        Route("/api/jobs/{job}", show_job),
        Route(
            "/api/jobs/{job}/events", StreamEndpoint(job_events), methods=["GET"], name="job_events"
        ),
        Route("/api/jobs/{job}/steps", run_steps, methods=["POST"], name="job_steps"),
        Route("/api/{kind}/events", StreamEndpoint(oneliner_events), methods=["GET"]),
        Mount("/", StaticFiles(directory=state.settings.static_dir, html=True, check_dir=False)),
    ]
