"""Settings for every environment, read from the environment (django-environ).

Nothing configured = the embedded defaults of DESIGN.md: embedded PostgreSQL, local Redis,
the console WhatsApp gateway, no language model. `.env.example` documents every variable.
"""

from __future__ import annotations

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
    "kumon",
    "conversations",
    "knowledge",
    "scheduling",
    "whatsapp",
]

MIDDLEWARE = [
    "kumon.logging.CorrelationIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kumon.urls"
WSGI_APPLICATION = "kumon.wsgi.application"
ASGI_APPLICATION = "kumon.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
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
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 0,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Product settings (DESIGN.md "Contracts").
WHATSAPP_GATEWAY = env.str("WHATSAPP_GATEWAY", default="console")
EVOLUTION_API_URL = env.str("EVOLUTION_API_URL", default="")
EVOLUTION_API_KEY = env.str("EVOLUTION_API_KEY", default="")
META_APP_SECRET = env.str("META_APP_SECRET", default="")
META_VERIFY_TOKEN = env.str("META_VERIFY_TOKEN", default="")
META_ACCESS_TOKEN = env.str("META_ACCESS_TOKEN", default="")
META_GRAPH_URL = env.str("META_GRAPH_URL", default="https://graph.facebook.com/v21.0")
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TRANSCRIBE_MODEL = env.str("OPENAI_TRANSCRIBE_MODEL", default="whisper-1")
EMBEDDING_MODEL = env.str("EMBEDDING_MODEL", default="")
GOOGLE_SERVICE_ACCOUNT_FILE = env.str("GOOGLE_SERVICE_ACCOUNT_FILE", default="")
GOOGLE_CALENDAR_API_URL = env.str("GOOGLE_CALENDAR_API_URL", default="")
CONVERSATION_DEBOUNCE_SECONDS = env.float("CONVERSATION_DEBOUNCE_SECONDS", default=8.0)
CONVERSATION_DEBOUNCE_MAX_SECONDS = env.float("CONVERSATION_DEBOUNCE_MAX_SECONDS", default=30.0)
CONVERSATION_EXPIRY_HOURS = env.float("CONVERSATION_EXPIRY_HOURS", default=12.0)
DEMO_WEBHOOK_SECRET = env.str("DEMO_WEBHOOK_SECRET", default="demo-secret")
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="demo")
SENTRY_DSN = env.str("SENTRY_DSN", default="")

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
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kumon Receptionist API",
    "DESCRIPTION": "WhatsApp receptionist for Kumon units: webhooks, knowledge, scheduling.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGIN_URL = "/admin/login/"

from kumon.logging import logging_config  # noqa: E402

LOGGING = logging_config(debug=DEBUG, level=env.str("LOG_LEVEL", default="INFO"))
