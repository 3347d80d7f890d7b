"""A host application that mounts stepstream under /jobs, as an embedder would."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from app.applications import create_app


async def home(request: Request) -> PlainTextResponse:
    return PlainTextResponse("the host's own page")


app = Starlette(routes=[Route("/", home), Mount("/jobs", app=create_app())])
