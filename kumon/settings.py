"""Settings for every environment, read from the environment (django-environ).

Nothing configured = the embedded defaults of DESIGN.md: embedded PostgreSQL, local Redis,
the console WhatsApp gateway, no language model. `.env.example` documents every variable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables given to `make run` / `make test` win over `.env` (read_env never overwrites).
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# LOCAL: no DATABASE_URL, so this is a developer's or demo machine on the embedded database.
# Production (DATABASE_URL set) must configure its secret and gets HTTPS-only cookies.
DATABASE_URL = env.str("DATABASE_URL", default="")
LOCAL = not DATABASE_URL
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not LOCAL:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SECRET_KEY is required when DATABASE_URL is set")
    from kumon.embedded_db import local_secret_key

    SECRET_KEY = local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc from our static files, not a CDN
    "axes",
    "kumon",
    "conversations",
    "knowledge",
    "scheduling",
    "whatsapp",
]

MIDDLEWARE = [
    "kumon.logging.CorrelationIdMiddleware",
    "kumon.middleware.MetricsMiddleware",
    "kumon.middleware.NullCharacterMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kumon.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-axes: answers a locked-out login (after authentication and messages).
    "axes.middleware.AxesMiddleware",
    # Last, so its process_exception sees a database outage first: 503 + Retry-After, not 500.
    "kumon.middleware.DatabaseUnavailableMiddleware",
]

# The benchmarks serve reference views beside ours from bench/urls_bench.py (bench only).
ROOT_URLCONF = env.str("ROOT_URLCONF", default="kumon.urls")
WSGI_APPLICATION = "kumon.wsgi.application"
ASGI_APPLICATION = "kumon.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # kumon/templates: the admin's base_site.html override (badge, language switcher) must win
        # over django.contrib.admin's own, which the app loader would find first.
        "DIRS": [BASE_DIR / "templates", BASE_DIR / "kumon" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "conversations.context_processors.admin_badges",
            ],
        },
    },
]

# Database: DATABASE_URL, or the embedded PostgreSQL (kumon/embedded_db.py) when it is unset.
if LOCAL:
    from kumon.embedded_db import database_url

    DATABASE_URL = database_url()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_kumon")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "kumon",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# All four of Django's validators (issue #11 M6): "12345678" and "password" are refused.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "pt-br"
LANGUAGES = [("pt-br", "Português (Brasil)"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / ".local" / "media"
# Webhook bodies above this are refused with 413 (a text or media envelope is a few KB).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# Production safety (DEBUG off): `manage.py check --deploy` is clean with these.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production safety: `manage.py check --deploy` is clean with DATABASE_URL, SECRET_KEY and
# ALLOWED_HOSTS set and DEBUG off. Behind a TLS-terminating proxy (X-Forwarded-Proto).
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=not (DEBUG or LOCAL))
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Celery (kumon/celery.py). Task defaults follow STYLE.md.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# kombu's Redis transport with the repair of issue #11 H1 (a Redis outage under traffic killed
# the worker): see kumon/broker.py.
from kumon.broker import transport_for  # noqa: E402

CELERY_BROKER_TRANSPORT = transport_for(CELERY_BROKER_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = False  # set per task: only idempotent tasks ack late
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message publish must not hang a web request when Redis is down: fail fast, the sweeper
# re-enqueues what was stored.
#
# visibility_timeout: how long a task taken by a worker may stay unacknowledged before Redis
# gives it to another worker. Every task is acks_late, so after a worker crash its tasks wait
# this long (with 3,600 s, 41 tasks sat an hour; issue #11). It must stay longer than any task
# can legitimately be held: the longest hard time limit (knowledge.index_source, 180 s) plus the
# longest retry countdown a worker holds before running it (whatsapp.send_message: 300 s + 25 %
# jitter; scheduling.sync_appointment is capped at 600 s) — else a slow or waiting task would be
# run twice. 900 s covers both with a margin; the rows' sweepers repair faster anyway (turns
# every 2 s, sends after WHATSAPP_SWEEP_AFTER_SECONDS), so the redelivery only tidies the queue.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Queues (README "Scaling"): inbound turns, outbound sends and embeddings can get their own
# workers; everything else stays on "celery". The default worker consumes all four
# (`-Q celery,inbound,outbound,embeddings`). CELERY_QUEUE_ROUTING=0 sends everything to
# "celery" (the test harness's single-queue workers).
CELERY_TASK_ROUTES = (
    {
        "conversations.*": {"queue": "inbound"},
        "whatsapp.*": {"queue": "outbound"},
        "knowledge.*": {"queue": "embeddings"},
    }
    if env.bool("CELERY_QUEUE_ROUTING", default=True)
    else {}
)

# Product settings (DESIGN.md "Contracts").
WHATSAPP_GATEWAY = env.str("WHATSAPP_GATEWAY", default="console")
EVOLUTION_API_URL = env.str("EVOLUTION_API_URL", default="")
EVOLUTION_API_KEY = env.str("EVOLUTION_API_KEY", default="")
META_APP_SECRET = env.str("META_APP_SECRET", default="")
META_VERIFY_TOKEN = env.str("META_VERIFY_TOKEN", default="")
META_ACCESS_TOKEN = env.str("META_ACCESS_TOKEN", default="")
META_GRAPH_URL = env.str("META_GRAPH_URL", default="https://graph.facebook.com/v21.0")
# WhatsApp channel (whatsapp/). Webhook bodies over this get 413 (an envelope is a few KB).
WHATSAPP_WEBHOOK_MAX_BYTES = env.int("WHATSAPP_WEBHOOK_MAX_BYTES", default=256 * 1024)
# Sending: attempts per message (transient errors), backoff base·2^n (±25 % jitter) up to a cap.
WHATSAPP_SEND_MAX_ATTEMPTS = env.int("WHATSAPP_SEND_MAX_ATTEMPTS", default=6)
WHATSAPP_SEND_RETRY_BASE_SECONDS = env.float("WHATSAPP_SEND_RETRY_BASE_SECONDS", default=5.0)
WHATSAPP_SEND_RETRY_MAX_SECONDS = env.float("WHATSAPP_SEND_RETRY_MAX_SECONDS", default=300.0)
# Read timeout of provider calls (connect is 5 s); Evolution holds sendText for its `delay`.
WHATSAPP_HTTP_READ_TIMEOUT = env.float("WHATSAPP_HTTP_READ_TIMEOUT", default=30.0)
WHATSAPP_STATE_READ_TIMEOUT = env.float("WHATSAPP_STATE_READ_TIMEOUT", default=5.0)
# The sweeper re-enqueues outbound messages still queued this long after they were due.
WHATSAPP_SWEEP_AFTER_SECONDS = env.float("WHATSAPP_SWEEP_AFTER_SECONDS", default=60.0)
# Long replies are split into bubbles of at most this many characters (Meta's text limit).
WHATSAPP_BUBBLE_CHARS = env.int("WHATSAPP_BUBBLE_CHARS", default=4096)
# Proactive messages (reminders, follow-ups) on a paced gateway (Evolution): ~one per this many
# seconds per WhatsApp number, with jitter (whatsapp/pacing.py).
WHATSAPP_PROACTIVE_INTERVAL_SECONDS = env.float("WHATSAPP_PROACTIVE_INTERVAL_SECONDS", default=1.2)
WHATSAPP_CONNECTION_CACHE_SECONDS = env.int("WHATSAPP_CONNECTION_CACHE_SECONDS", default=30)
# Language of the approved template sent outside Meta's 24-hour window (unit.meta_reminder_template).
META_TEMPLATE_LANGUAGE = env.str("META_TEMPLATE_LANGUAGE", default="pt_BR")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TRANSCRIBE_MODEL = env.str("OPENAI_TRANSCRIBE_MODEL", default="whisper-1")
OPENAI_TIMEOUT_SECONDS = env.float("OPENAI_TIMEOUT_SECONDS", default=12.0)
# Tokens a unit may spend on the language model per local day (0 = no limit); over it, rules.
LLM_DAILY_TOKEN_BUDGET = env.int("LLM_DAILY_TOKEN_BUDGET", default=0)
# Estimated cost per million tokens (defaults: gpt-4o-mini list prices), for the reports.
OPENAI_PRICE_INPUT_PER_MTOK = env.float("OPENAI_PRICE_INPUT_PER_MTOK", default=0.15)
OPENAI_PRICE_OUTPUT_PER_MTOK = env.float("OPENAI_PRICE_OUTPUT_PER_MTOK", default=0.60)
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="")
GOOGLE_SERVICE_ACCOUNT_FILE = env.str("GOOGLE_SERVICE_ACCOUNT_FILE", default="")
GOOGLE_CALENDAR_API_URL = env.str("GOOGLE_CALENDAR_API_URL", default="")
CONVERSATION_DEBOUNCE_SECONDS = env.float("CONVERSATION_DEBOUNCE_SECONDS", default=8.0)
CONVERSATION_DEBOUNCE_MAX_SECONDS = env.float("CONVERSATION_DEBOUNCE_MAX_SECONDS", default=30.0)
CONVERSATION_EXPIRY_HOURS = env.float("CONVERSATION_EXPIRY_HOURS", default=12.0)
DEMO_WEBHOOK_SECRET = env.str("DEMO_WEBHOOK_SECRET", default="demo-secret")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# /metrics (kumon/metrics.py): Bearer token; unset = loopback only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Scheduling (scheduling/): reminders before a visit (hours), the no-show follow-up, holds, Google.
REMINDER_OFFSETS_HOURS = env.list("REMINDER_OFFSETS_HOURS", cast=float, default=[24, 2])
NO_SHOW_FOLLOWUP = env.bool("NO_SHOW_FOLLOWUP", default=True)
SLOT_HOLD_MINUTES = env.int("SLOT_HOLD_MINUTES", default=10)
GOOGLE_CALENDAR_TIMEOUT = env.float("GOOGLE_CALENDAR_TIMEOUT", default=10.0)
GOOGLE_CALENDAR_RETRY_SECONDS = env.float("GOOGLE_CALENDAR_RETRY_SECONDS", default=30.0)
# Knowledge (knowledge/search.py): the probability that the first entry is right
# (knowledge/decision.py) needed to answer instead of "I don't know"; unset = the fitted model's
# own threshold (knowledge/data/decision.json).
KNOWLEDGE_ANSWER_THRESHOLD = env.float("KNOWLEDGE_ANSWER_THRESHOLD", default=None)
# Largest document upload accepted (bytes); the text is extracted in the worker.
KNOWLEDGE_DOCUMENT_MAX_BYTES = env.int("KNOWLEDGE_DOCUMENT_MAX_BYTES", default=5 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "kumon.api_errors.exception_handler",
    # Per client address for anonymous requests, per user otherwise; counted in Redis, failing
    # open (kumon/throttling.py). The webhooks have their own, per unit (whatsapp/views.py).
    "DEFAULT_THROTTLE_CLASSES": ["kumon.throttling.AnonRateThrottle", "kumon.throttling.UserRateThrottle"],
}
API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="60/minute")
API_THROTTLE_USER = env.str("API_THROTTLE_USER", default="1200/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Kumon Receptionist API",
    "DESCRIPTION": "WhatsApp receptionist for Kumon units: webhooks, knowledge, scheduling.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /docs and /redoc load their JavaScript from our own static files (drf-spectacular-sidecar,
    # pinned in requirements): a school network or a machine without internet reaches no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGIN_URL = "/admin/login/"
# Where a login lands when `next` is missing or not ours (Django's default, /accounts/profile/,
# is a 404 here): the staff's workplace.
LOGIN_REDIRECT_URL = "/admin/"

# Brute-force protection of the logins (issue #11 M5): django-axes counts failures per username
# *and* client address (one attacker cannot lock a user out for everyone), locks that pair for
# the cool-off, and a success resets the count. The client address is REMOTE_ADDR unless
# TRUSTED_PROXY_COUNT proxies of ours append to X-Forwarded-For (kumon/security.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "kumon.security.client_ip"
AXES_LOCKOUT_CALLABLE = "kumon.security.lockout_response"
# Rate limits (kumon/throttling.py). The webhook's is per unit instance (Evolution) or number
# (Meta), counted after authentication and generous: a provider's real traffic for one unit is a
# few messages and receipts a minute; above it the provider gets 429 with Retry-After.
WEBHOOK_RATE_PER_MINUTE = env.int("WEBHOOK_RATE_PER_MINUTE", default=6000)

from kumon.logging import logging_config  # noqa: E402

LOGGING = logging_config(debug=DEBUG, level=env.str("LOG_LEVEL", default="INFO"))

# Staff workplace (issue #7): a conversation with staff and no activity for this long goes back
# to the bot, silently.
HANDOFF_IDLE_MINUTES = env.int("HANDOFF_IDLE_MINUTES", default=120)
# Seconds between refreshes of an open conversation page in the admin.
INBOX_REFRESH_SECONDS = env.int("INBOX_REFRESH_SECONDS", default=5)

# Operations: the Celery task metrics signals (kumon/metrics.py) in every process, and Sentry.
import kumon.metrics  # noqa: E402,F401

if SENTRY_DSN:
    from kumon.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
