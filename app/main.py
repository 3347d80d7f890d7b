"""``uvicorn app.main:app``: the app from the environment; a bad kind stops here, in one line."""

from app.applications import create_app
from app.jobs.loading import KindError

try:
    app = create_app()
except KindError as error:
    raise SystemExit(f"stepstream: {error}") from None
