# syntax=docker/dockerfile:1.7
# NT24 Integration Portal: one image for web (gunicorn), the workers and beat (celery) and the migrate step.
# Workers: `celery --app portal worker --queues webhooks.dispatch,webhooks.fanout` and one on
# `--queues vies,email,maintenance,celery` (docs/operations.md).

# uv itself, pinned to the version the Makefile installs.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ---- build: the locked virtual environment, the code, collected static files
FROM python:3.12-slim-trixie AS build
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first (only uv.lock and pyproject.toml), so a code change does not reinstall them.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY . /app
# Static files with the production storage (hashed, compressed names for whitenoise); no secret is baked in.
RUN SECRET_KEY=collectstatic-only-not-a-secret \
    DJANGO_SETTINGS_MODULE=portal.settings.production \
    PORTAL_VAR_DIR=/tmp/build-var \
    /app/.venv/bin/python manage.py collectstatic --noinput -v0 \
    && /app/.venv/bin/python -m compileall -q portal \
    && rm -rf /tmp/build-var

# ---- runtime: the same Python base, no build tools, an unprivileged user
FROM python:3.12-slim-trixie AS runtime
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.production \
    PORTAL_VAR_DIR=/var/lib/portal
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /var/lib/portal --no-create-home \
       --shell /usr/sbin/nologin portal \
    && mkdir -p /var/lib/portal/media \
    && chown -R portal:portal /var/lib/portal
WORKDIR /app
# Code and virtual environment stay owned by root: the running user can read them, not change them.
COPY --from=build /app /app
USER 10001:10001
VOLUME ["/var/lib/portal"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["gunicorn", "portal.wsgi:application"]
