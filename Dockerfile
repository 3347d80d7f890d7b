# stepstream's image: `docker build -t stepstream .`, then
#   docker run -p 8000:8000 -e STEPSTREAM_SECRET_KEY="$(openssl rand -hex 32)" stepstream
# Every STEPSTREAM_* variable of the environment is a setting (see the README);
# PORT is honoured as Heroku, Render and Cloud Run set it.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# Build stage: the project and its dependencies in a virtualenv; pip, its
# cache and the build backend stay behind.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE}
# FORWARDED_ALLOW_IPS: the address of the one proxy whose X-Forwarded-* headers
# are trusted (compose.yaml sets nginx's); 127.0.0.1 suits a sidecar proxy.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FORWARDED_ALLOW_IPS=127.0.0.1 \
    STEPSTREAM_STATIC_DIR=/srv/stepstream/static
RUN groupadd --system --gid 10001 stepstream \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/stepstream stepstream
COPY --from=build /opt/venv /opt/venv
COPY static /srv/stepstream/static
USER 10001:10001
WORKDIR /var/lib/stepstream
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]

# exec: uvicorn is PID 1 and gets the SIGTERM itself. stepstream ends its
# streams within a couple of seconds of it (clients resume elsewhere); the
# graceful timeout only bounds what is left, and must stay under the
# platform's kill delay (docker stop: 10 s, Heroku: 30 s, Cloud Run: 10 s).
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port \"${PORT:-8000}\" --proxy-headers --forwarded-allow-ips \"$FORWARDED_ALLOW_IPS\" --timeout-graceful-shutdown 8 --no-server-header"]
