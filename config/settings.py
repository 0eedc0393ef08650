"""Hatchway settings: one module, driven by environment variables (django-environ).

Production differs from development only by the environment. With no environment at
all the console runs on SQLite in DEBUG mode so a fresh checkout just works.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

# Lets the classes django-stubs types generically (ModelAdmin, ModelForm, ...) be
# subscripted at run time as they are for mypy: `class InstallAdmin(ModelAdmin[Install])`.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=False)
SANDBOX_ENABLED: bool = env.bool("SANDBOX_ENABLED", default=False)

# Development-only fallbacks. They are refused outside DEBUG so production can never
# run with a key that is published in this repository.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
_DEV_FERNET_KEY = "dev-only-insecure-fernet-key-do-not-use-in-production"
# `check --deploy` refuses these (and the test run's and the demo's keys): core/checks.py.
DEVELOPMENT_KEYS = [_DEV_SECRET_KEY, _DEV_FERNET_KEY]

SECRET_KEY: str = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])

# Keys for encrypting secrets at rest, separate from SECRET_KEY. The first key encrypts,
# every key decrypts: put a new key first, run `manage.py rotate_keys`, then drop the old.
FERNET_KEYS: list[str] = env.list("FERNET_KEYS", default=[_DEV_FERNET_KEY] if DEBUG else [])
if not FERNET_KEYS:
    raise ImproperlyConfigured("Set FERNET_KEYS (or DEBUG=true for local development).")

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The external base URL of the console. Callback URLs are built from it, never from the
# Host header of a request.
PUBLIC_URL: str = env.str("PUBLIC_URL", default="http://localhost:8000").rstrip("/")
# Console GETs on another host are redirected to PUBLIC_URL's (core/middleware.py). Off
# only behind a proxy that rewrites the Host header.
PUBLIC_HOST_REDIRECT: bool = env.bool("PUBLIC_HOST_REDIRECT", default=True)

# oauthlib refuses http:// unless this variable exists -- with *any* value, even "0" --
# so it is set only when local providers are legitimately in use, and removed otherwise.
ALLOW_LOCAL_PROVIDERS = DEBUG or SANDBOX_ENABLED
if ALLOW_LOCAL_PROVIDERS:
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
else:
    os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    # Two-factor authentication's devices (teams/two_factor.py): TOTP and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "accounts",
    "audit",
    "teams",
    "connectors",
    "installs",
    "links",
    "webhooks",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "django_prometheus",
]
if SANDBOX_ENABLED:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    # Request counts and latencies for /metrics: first in and last out, to time the rest.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.request_id.RequestIDMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.NoStoreMiddleware",
    # Console pages on PUBLIC_URL's host, before a session cookie is set on another one.
    "core.middleware.PublicHostMiddleware",
    "core.sessions.SessionMiddleware",  # the console's session and the customer pages'
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "teams.sessions.LastSeenMiddleware",  # the Security page's "last seen", every 5 minutes
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so it sees the flag the login failure set and answers 429 (django-axes).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.membership",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# django-prometheus's wrappers of the same backends count queries and connections (/metrics).
DATABASES["default"]["ENGINE"] = {
    "django.db.backends.postgresql": "django_prometheus.db.backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}.get(DATABASES["default"]["ENGINE"], DATABASES["default"]["ENGINE"])
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening a PostgreSQL connection per request cost a logged-in
# page about a third of its throughput (README, "Database connections"). Health checks
# replace a connection the server dropped before a request uses it, not fail the request.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Or psycopg's pool (PostgreSQL): no better with sync workers, an option with many threads.
if env.bool("DATABASE_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses a pool with persistent ones
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The default cache counts API requests per key (API_RATE_LIMIT): with several processes
# set CACHE_URL to a shared one (the database cache or Redis), or each counts on its own.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
    # Rendered connector cards (connectors/cards.py): catalogue HTML only, keyed by its
    # content, so each process may keep its own. About 1 KB a card.
    "cards": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cards",
              "OPTIONS": {"MAX_ENTRIES": 10000}},
    # Rendered catalogue listings (connectors/cards.py): a page of cards with its form, about
    # 50 KB each, keyed by versions read from the database, so each process may keep its
    # own. At most 300 of them: about 15 MB a worker.
    "listings": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                 "LOCATION": "listings", "OPTIONS": {"MAX_ENTRIES": 300}},
}

AUTH_USER_MODEL = "accounts.User"
# AxesStandaloneBackend first: it refuses every login -- right password included -- of an
# email or an address that is locked out, before ModelBackend checks the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, loading the membership with the user (sessions made before it named
    # ModelBackend and ask their users to log in again once).
    "accounts.backends.MemberBackend",
]
# Password reset by email (teams/password_reset.py): links valid this long and single use;
# requests past PASSWORD_RESET_LIMIT an hour from one address get a 429, and past it for
# one email no further email is sent (counted in the default cache: share it, see CACHES).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=5)
# Starting a sign-in with SSO (sso/views.py): past SSO_START_LIMIT starts from one client
# address, or SSO_START_DOMAIN_LIMIT for one email domain, in SSO_START_WINDOW seconds,
# the answer is a 429 (counted in the default cache, like the password reset's). The
# limits are high: a company's office shares one address and all its users one domain.
SSO_START_WINDOW = env.int("SSO_START_WINDOW", default=600)
SSO_START_LIMIT = env.int("SSO_START_LIMIT", default=30)
SSO_START_DOMAIN_LIMIT = env.int("SSO_START_DOMAIN_LIMIT", default=300)
# "Sign in with a passkey" (teams/security_views.py): each start writes a challenge into a
# new session, so past PASSKEY_SIGN_IN_LIMIT starts from one client address in
# PASSKEY_SIGN_IN_WINDOW seconds the answer is a 429 (counted like the SSO starts).
PASSKEY_SIGN_IN_WINDOW = env.int("PASSKEY_SIGN_IN_WINDOW", default=600)
PASSKEY_SIGN_IN_LIMIT = env.int("PASSKEY_SIGN_IN_LIMIT", default=30)
# The issuer authenticator apps show beside the code; a code is accepted for one step
# (30 s) either side of now; every wrong code also counts toward the login lockout.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Hatchway")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "connectors:library"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Request bodies are refused over MAX_REQUEST_BODY before they are read (413), except on
# the Branding page (MAX_UPLOAD_REQUEST_BODY, the only page taking file parts) and the
# API's proxy, which passes bodies through unparsed up to PROXY_MAX_BODY (the apps
# register those URLs with core/middleware.py).
# An upload that fits stays in memory: uploaded files are never written to disk (logos
# live in the database so any number of web machines serve them). Set the reverse proxy's
# limit to match (nginx: client_max_body_size), see the README.
MAX_REQUEST_BODY: int = env.int("MAX_REQUEST_BODY", default=256 * 1024)
MAX_UPLOAD_REQUEST_BODY: int = env.int("MAX_UPLOAD_REQUEST_BODY", default=1024 * 1024)
PROXY_MAX_BODY: int = env.int("PROXY_MAX_BODY", default=10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(MAX_REQUEST_BODY, MAX_UPLOAD_REQUEST_BODY)
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_REQUEST_BODY
# The install-link form posts a checkbox and a Scopes box per offered connector: the whole
# catalogue (about 520 connectors, two fields each) plus a partner's custom ones must fit.
# Bodies stay capped by MAX_REQUEST_BODY whatever the count.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 4000

# Security headers and cookies. The provider's redirect back to the callback is a
# cross-site top-level GET, so the session cookie must be SameSite=Lax, not Strict.
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# X-Forwarded-Proto says "https" only when a reverse proxy sets it (and overwrites what a
# client sent): believed only with BEHIND_PROXY=true, else any client could claim https.
BEHIND_PROXY: bool = env.bool("BEHIND_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The preload directive only allows submission to the browsers' list; it submits nothing.
SECURE_HSTS_PRELOAD: bool = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE: bool = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Customer install pages (/install/) have their own session under their own cookie,
# SameSite=None; Secure, so they work inside a partner's allowlisted iframe on another
# site, and their own CSRF cookie; the console's cookies stay Lax (core/sessions.py).
CUSTOMER_PATH_PREFIX = "/install/"
CUSTOMER_SESSION_COOKIE_NAME = "install_session"
CUSTOMER_CSRF_COOKIE_NAME = "install_csrftoken"
CSRF_FAILURE_VIEW = "links.customer_views.csrf_failure"
SESSION_COOKIE_AGE = 60 * 60 * 12
X_FRAME_OPTIONS = "DENY"
# Probes and Prometheus reach /healthz/ and /metrics over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz/", r"^metrics$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "form-action": ["'self'", "https:", "http://localhost:*", "http://127.0.0.1:*"]
        if ALLOW_LOCAL_PROVIDERS
        else ["'self'", "https:"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
    },
}

# Login throttling (django-axes), for the console's and the admin's login alike: after
# LOGIN_FAILURE_LIMIT failures for one email, or from one address, logins from it are
# refused with a 429 for LOGIN_LOCKOUT_MINUTES (every further failure restarts the wait).
# Unknown emails count exactly like known ones, so the answer reveals nothing.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_USERNAME_FORM_FIELD = "username"  # both login forms' field (axes would say "email")
AXES_USERNAME_CALLABLE = "audit.logins.login_email"
AXES_HANDLER = "audit.logins.LoginFailureHandler"
AXES_LOCKOUT_CALLABLE = "audit.logins.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password", "csrfmiddlewaretoken"]
# Not verbose: no "AXES: BEGIN …" line from every management command and worker start, and
# failure log lines name only what locks (the email and address), not the user agent.
AXES_VERBOSE = False
# The client address: the socket's, or with BEHIND_PROXY the one the proxy put in
# X-Forwarded-For (audit/logins.py); a client could forge any other.
AXES_CLIENT_IP_CALLABLE = "audit.logins.client_address"

# Outbound HTTP to third parties (connectors/http.py).
OUTBOUND_TIMEOUT: float = env.float("OUTBOUND_TIMEOUT", default=10.0)
# Refresh requests wait longer: a provider that rotates refresh tokens has spent the old
# one once it answers, so giving up on a slow answer loses the grant (connectors/http.py).
REFRESH_TIMEOUT: float = env.float("REFRESH_TIMEOUT", default=30.0)

# The partner API (api/): requests per API key (DRF's rate syntax: "6000/min", "100/s").
# Counted in the default cache: with several processes or machines configure a shared one
# (CACHES, e.g. the database cache or Redis), or each process counts on its own.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="6000/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.authentication.CanManage"],
    "DEFAULT_THROTTLE_CLASSES": ["api.authentication.KeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.input.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.handle",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hatchway partner API",
    "DESCRIPTION": "Accounts, installs, install links, fresh credentials and an authenticated "
                   "proxy for the partner's backend. Send `Authorization: Bearer <API key>`. "
                   "Errors are RFC 9457 problem details.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"InstallStatus": "installs.models.Install.Status",
                            "AuthTypeEnum": "api.serializers.AUTH_TYPES"},
}

# Token refresh: installs whose access token expires within this many seconds are due.
TOKEN_REFRESH_MARGIN: int = env.int("TOKEN_REFRESH_MARGIN", default=600)
# After a refresh, a provider's 401 through the proxy within this many seconds is passed
# back without refreshing again (a provider refusing every call must not cost a refresh each).
PROXY_REFRESH_COOLDOWN: int = env.int("PROXY_REFRESH_COOLDOWN", default=30)

# Webhooks (webhooks/): seconds for one delivery, the first retry's wait (doubling up to
# the cap, with jitter, for 3 days), and how long deliveries are kept.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_RETRY_BASE = env.float("WEBHOOK_RETRY_BASE", default=30.0)
WEBHOOK_RETRY_CAP = env.float("WEBHOOK_RETRY_CAP", default=3600.0)
WEBHOOK_RETENTION_DAYS = env.int("WEBHOOK_RETENTION_DAYS", default=30)
# Audit events older than this are deleted by the webhook workers (webhooks/retention.py),
# except those still needed: not relayed yet, an undelivered webhook's, an install's last
# of each kind.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=400)
# Endpoints one partner may have: each is a delivery per event on workers all partners share.
WEBHOOK_MAX_ENDPOINTS = env.int("WEBHOOK_MAX_ENDPOINTS", default=10)
# Deliveries to one endpoint in flight at once, across all workers (PostgreSQL).
WEBHOOK_MAX_IN_FLIGHT = env.int("WEBHOOK_MAX_IN_FLIGHT", default=4)
# In the worker loop each job (refresh, deliveries, …) stops taking rows after this many
# seconds of a pass, so no job (a partner's slow endpoints) delays the others for long;
# what is left is taken by the next pass, at once.
WORKER_JOB_BUDGET = env.float("WORKER_JOB_BUDGET", default=15.0)

# /metrics (core/metrics.py): `Authorization: Bearer <METRICS_TOKEN>` (empty: no token
# accepted), or a direct request from one of METRICS_ALLOWED_IPS (addresses or networks).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# Gauges computed at each scrape by the apps that own the rows (webhooks adds its own).
METRICS_COLLECTORS = ["installs.metrics.InstallsCollector", "webhooks.metrics.DeliveriesCollector"]
# Seconds a scrape's gauges are reused (core/metrics.py): they read whole tables.
METRICS_GAUGES_TTL = env.int("METRICS_GAUGES_TTL", default=15)
# Several processes, one /metrics: prometheus_client's multiprocess mode keeps each
# process's counters in this directory (config/gunicorn.conf.py marks exited workers dead).
# Made here, before any counter exists, so every process -- web, worker, command -- finds it.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# /healthz/ready (core/health.py): a worker must have passed within READY_WORKER_MAX_AGE
# seconds whenever one of these says work is due. Each app that gives workers something
# to do adds its function here (webhook deliveries: "webhooks.health.work_due").
READY_DUE_WORK = ["installs.health.work_due", "webhooks.health.work_due"]
READY_WORKER_MAX_AGE = env.int("READY_WORKER_MAX_AGE", default=300)
# Where the console links to the documentation (the docs/ folder as published); unset, the
# console names the file instead.
DOCS_URL = env.str("DOCS_URL", default="").rstrip("/")
# Each process keeps its answer this long: probes every second cost one round of queries.
READY_CACHE_SECONDS = env.int("READY_CACHE_SECONDS", default=5)

# Email (invitations, password reset): EMAIL_URL, e.g. smtp+tls://user:password@host:587,
# consolemail:// (the default: printed on the console), filemail:///var/mail/hatchway
# (EMAIL_FILE_PATH: one file per message). EMAIL_BACKEND, where set, still wins.
_email: dict[str, object] = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND: str = env.str("EMAIL_BACKEND", default=str(_email.pop("EMAIL_BACKEND")))
if _email.get("EMAIL_FILE_PATH"):  # django-environ drops the leading "/" of filemail:///path
    _email["EMAIL_FILE_PATH"] = "/" + str(_email["EMAIL_FILE_PATH"]).lstrip("/")
# Host, port, user, password, TLS/SSL; what the URL leaves out keeps Django's default.
vars().update({key: value for key, value in _email.items() if value not in (None, "")})
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hatchway <no-reply@localhost>")

# "text" (the default) or "json": one JSON object per line, with the request id and the
# partner's id where known (config/log_format.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be 'text' or 'json'.")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "scrub_secrets": {"()": "config.log_scrub.ScrubSecretsFilter"},
        "request_context": {"()": "core.request_id.RequestContextFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context", "scrub_secrets"],
            "formatter": LOG_FORMAT,
        },
    },
    "formatters": {
        "text": {"()": "config.log_format.TextFormatter"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Both log tokens and client secrets at DEBUG.
        "oauthlib": {"level": "WARNING"},
        "requests_oauthlib": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "hatchway.security": {"level": "INFO"},
        # These put request paths (install-link tokens) in 4xx messages: scrub at the
        # logger, so every handler -- not only the console -- gets the redacted record.
        "django.request": {"filters": ["scrub_secrets"]},
        "django.security.csrf": {"filters": ["scrub_secrets"]},
        # runserver's request lines (install-link tokens, callback codes): Django's default
        # handler for it does not propagate, so it is replaced by the scrubbed console.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False,
                          "filters": ["scrub_secrets"]},
    },
}
