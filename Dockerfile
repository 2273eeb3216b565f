# syntax=docker/dockerfile:1
# Multi-stage: build wheels with the compilers, run on a slim image as a non-root user.
# The same image runs web, worker and beat (see compose.yaml and Procfile).

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements/ requirements/
# CPU-only torch from PyTorch's CPU index (PyPI's default build pulls several GB of CUDA).
RUN python -m venv /venv \
    && /venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && /venv/bin/pip install -r requirements/base.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=kumon.settings PORT=8000 HF_HUB_OFFLINE=1
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system app && useradd --system --gid app --home /app app
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=app:app . .
# collectstatic needs settings: a throwaway key and a dummy database URL (no connection made).
RUN SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput -v 0
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:${PORT}/healthz || exit 1
# Same command as the Procfile's web process; compose overrides it for worker and beat.
CMD ["sh", "-c", "gunicorn kumon.wsgi --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-3} --worker-class gthread --threads 4 --access-logfile - --logger-class kumon.logging.GunicornLogger --max-requests 2000 --max-requests-jitter 200"]
