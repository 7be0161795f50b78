"""One settings module for every environment; everything that differs comes from environment variables.

Development defaults need no server at all (SQLite, kombu's filesystem broker, console email).
Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL, EMAIL_URL.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_anymail, env_bool, env_choice, env_email, env_int, env_list, env_pairs, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
_DEV_SECRET = "dev-only-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
# Rotating SECRET_KEY: move the old one here (comma-separated) for as long as links, sessions and
# signed cookies made with it should keep working (docs/operations.md, "Keys").
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "django_celery_beat",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Staff sign-in's second factor: authenticator apps (TOTP) and one-time recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",  # passkeys as a second factor
    # Bottom to top, as docs/architecture.md draws them.
    "core",
    "staff",
    "contacts",
    "webhooks",
    "consent",
    "subscriptions",
    "journeys",
    "dsr",
    "imports",
    "mailsignals",
    "breaches",
    "operations",
    "bench",
    "demo",
]

MIDDLEWARE = [
    "operations.logs.RequestLogMiddleware",
    # Before every middleware that may write (sessions, access log): a request that wrote reads the primary.
    "core.db_router.ReadYourWritesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",
    "core.security.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A password alone is not a sign-in for whom a second factor applies (staff.second_factor).
    "staff.second_factor.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sec-GPC: 1 on a public page opts the browser, and a known contact, out of sale and sharing.
    "subscriptions.gpc.GlobalPrivacyControlMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

if not DEBUG:
    # gunicorn serves static files through WhiteNoise; runserver serves them itself in development.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

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
                "core.context_processors.organisation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"))
}
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# Connections are kept a minute and checked before reuse. A new connection costs more than a
# public page: SQLite reads the whole schema (about 3 ms), PostgreSQL forks a backend and
# authenticates (at 1M contacts the subscription center served 52 requests/s with one connection
# per request, 154 with kept ones). 0 brings back one connection per request.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Behind a pooler in transaction mode (PgBouncer), a server-side cursor would outlive the
# transaction that opened it on the pooled connection: iterator() then fetches in one go.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_BEHIND_TRANSACTION_POOLER", False)
if _SQLITE:
    # The web server, the worker and beat share one file: IMMEDIATE transactions take the write
    # lock up front (no lock-upgrade deadlock), WAL lets readers go on while one process writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so a Celery worker started by a test can open the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
elif test_database := env_str("TEST_DATABASE_NAME", ""):
    # Two test runs on one PostgreSQL server (two checkouts) each need their own test database.
    DATABASES["default"]["TEST"] = {"NAME": test_database}
# A PostgreSQL streaming replica (hot standby) of the primary: dashboards, exports, segment counts
# and the residue scan read from it (core.db_router, docs/operations.md "Read replica"). Everything
# else, and every read of a request or task after it wrote, stays on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if _SQLITE:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL (a replica of it).")
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL)
    if DATABASES["replica"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a postgres:// URL, as DATABASE_URL.")
    for _key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "DISABLE_SERVER_SIDE_CURSORS"):
        DATABASES["replica"][_key] = DATABASES["default"][_key]
    # Tests read and write the one test database: no test database is made on the read-only replica.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"]
# After a request that wrote, that browser's reads stay on the primary this long (the redirect after
# a POST shows what was saved); a job that wrote waits this long for the replica to catch up.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 5, minimum=0)
DATABASE_REPLICA_CATCH_UP_SECONDS = env_int("DATABASE_REPLICA_CATCH_UP_SECONDS", 2, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, locks) -----------------------------------------------------------------
_CACHE_URL = env_str("CACHE_URL", "locmem://")
if _CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}}
elif _CACHE_URL == "locmem://":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    raise ImproperlyConfigured(f"CACHE_URL must be locmem:// or redis://..., got {_CACHE_URL!r}")

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# A second factor (authenticator app, recovery codes) for privacy officers and superusers: on by
# default in production, off for `make run`'s demo logins. Other staff may enrol; once they have,
# they are asked for it too (staff.second_factor).
OTP_REQUIRED_FOR_OFFICERS = env_bool("OTP_REQUIRED_FOR_OFFICERS", not DEBUG)
# The name authenticator apps show next to the account.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Consent Office")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Optional single sign-on through OpenID Connect (staff.sso, mozilla-django-oidc): off unless
# OIDC_RP_CLIENT_ID is set. Endpoints from OIDC_OP_DISCOVERY_URL, or each from its own variable.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_OP_DISCOVERY_URL = env_str("OIDC_OP_DISCOVERY_URL", "")
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = env_choice(
    "OIDC_RP_SIGN_ALGO", "rs256", ("rs256", "rs384", "rs512", "es256", "es384")
).upper()
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_ROLE_MAP = env_pairs("OIDC_ROLE_MAP")
# Whether an ID token whose `amr` names a second factor counts as the product's second factor.
OIDC_TRUST_IDP_MFA = env_bool("OIDC_TRUST_IDP_MFA", False)
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10, minimum=1)
OIDC_AUTHENTICATION_CALLBACK_URL = "staff-sso-callback"
if OIDC_RP_CLIENT_ID and not OIDC_RP_CLIENT_SECRET:
    raise ImproperlyConfigured("OIDC_RP_CLIENT_SECRET is required with OIDC_RP_CLIENT_ID.")
if (
    OIDC_RP_CLIENT_ID
    and not OIDC_OP_DISCOVERY_URL
    and not all(
        (
            OIDC_OP_ISSUER,
            OIDC_OP_AUTHORIZATION_ENDPOINT,
            OIDC_OP_TOKEN_ENDPOINT,
            OIDC_OP_USER_ENDPOINT,
            OIDC_OP_JWKS_ENDPOINT,
        )
    )
):
    raise ImproperlyConfigured(
        "Single sign-on needs OIDC_OP_DISCOVERY_URL, or OIDC_OP_ISSUER and the four OIDC_OP_*_ENDPOINT variables."
    )
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", "staff.sso.StaffOIDCBackend"]

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

# --- Email --------------------------------------------------------------------------------------
globals().update(env_email("EMAIL_URL", "console://"))
# Provider keys and the webhooks' basic-auth secret (mail signals in: bounces, complaints, unsubscribes).
ANYMAIL = env_anymail()
# A bounce of this many soft (temporary) failures in a row blocks the address like a hard bounce.
MAIL_SOFT_BOUNCE_LIMIT = env_int("MAIL_SOFT_BOUNCE_LIMIT", 5, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "privacy@localhost")
# Seconds an SMTP server may stay silent before a send fails (and is retried): without it a server
# that accepts the connection and never answers holds a worker forever.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _BROKER_DIR = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis has no acknowledgement: a task taken by a worker that died (the machine, or SIGKILL of
    # the worker's main process) is handed out again only after this many seconds. It must outlast
    # the longest task (else a running task is handed to a second worker too); the journey
    # batches (journeys.advance_enrolments) take seconds. RabbitMQ redelivers at once instead.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is delivered again; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes when it sent each task right away (default: every 3 minutes), so the readiness
# check sees a silent beat within minutes (operations.health.Beat). A few writes a minute.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True

# --- Product settings ---------------------------------------------------------------------------
# Keys the consent audit chain. Set it explicitly in production: derived from SECRET_KEY otherwise,
# so rotating SECRET_KEY would make every earlier record look forged.
AUDIT_CHAIN_KEY = env_str("AUDIT_CHAIN_KEY", "")
AUDIT_CHAIN_KEY_DERIVED = not AUDIT_CHAIN_KEY
if AUDIT_CHAIN_KEY_DERIVED:
    import hashlib

    AUDIT_CHAIN_KEY = hashlib.sha256(f"audit-chain:{SECRET_KEY}".encode()).hexdigest()
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
SIMPLE_HISTORY_REVERT_DISABLED = True  # a revert would write consent behind the consent service
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "DE")
# The law of data-subject requests whose requester's country is unknown (a code of dsr.jurisdictions.LAWS).
DSR_DEFAULT_JURISDICTION = env_str("DSR_DEFAULT_JURISDICTION", "gdpr").lower()
# Whose public holidays end EU GDPR periods (Regulation 1182/71 Art. 2(1): the controller's Member
# State): a country code of the `holidays` package, optionally with a subdivision ("DE-BY").
DSR_HOLIDAY_CALENDAR = env_str("DSR_HOLIDAY_CALENDAR", "DE").upper()
# Absolute links in emails (subscription center, double opt-in, unsubscribe) start with this.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Passkeys (django-otp-webauthn) as a second factor, never instead of the password and its lockout.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
# The domain passkeys are bound to and the origins the admin is served from; both default to the
# address in PUBLIC_BASE_URL. Browsers refuse an IP address here: `make run` uses localhost, so
# passkeys work at http://localhost:8000/admin/.
_PUBLIC_HOST = urlparse(PUBLIC_BASE_URL).hostname or "localhost"
OTP_WEBAUTHN_RP_ID = env_str(
    "PASSKEYS_RP_ID", "localhost" if _PUBLIC_HOST.replace(".", "").isdigit() else _PUBLIC_HOST
)
# Browsers and django-otp-webauthn accept https:// origins, and http://localhost for development.
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "PASSKEYS_ALLOWED_ORIGINS",
    [PUBLIC_BASE_URL] if PUBLIC_BASE_URL.startswith("https://") else ["http://localhost:8000"],
)
SUBSCRIPTION_CENTER_LINK_DAYS = env_int("SUBSCRIPTION_CENTER_LINK_DAYS", 30, minimum=1)
UNSUBSCRIBE_LINK_DAYS = env_int("UNSUBSCRIBE_LINK_DAYS", 400, minimum=30)
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
# Confirmation emails (sign-up, request form) to one address per hour, whoever asks for them.
CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR = env_int("CONFIRMATION_EMAILS_PER_ADDRESS_PER_HOUR", 3, minimum=1)
ADMIN_LIST_COUNT_CAP = env_int("ADMIN_LIST_COUNT_CAP", 10_000, minimum=100)
EXPORT_MAX_ROWS = env_int("EXPORT_MAX_ROWS", 1_048_575, minimum=1)  # one Excel sheet's limit
# A journey step claimed longer ago than this belongs to a dead worker: the next run takes it over,
# or leaves it unrepeated if the mail had reached the server (journeys.services.enrolment_advance).
JOURNEY_CLAIM_MINUTES = env_int("JOURNEY_CLAIM_MINUTES", 15, minimum=1)
# Enrolments per journeys.advance_enrolments task: the share of a journey run one worker takes at a
# time (and what a worker that dies leaves for the next run; Redis also holds it until
# CELERY_VISIBILITY_TIMEOUT).
JOURNEY_BATCH_SIZE = env_int("JOURNEY_BATCH_SIZE", 500, minimum=1)
# Re-permission (journeys.repermission): a consent that lapses within this many days is asked to be
# renewed; sign-ups nobody confirmed are erased this many days after they were made (dsr.unconfirmed).
REPERMISSION_DAYS_BEFORE_LAPSE = env_int("REPERMISSION_DAYS_BEFORE_LAPSE", 30, minimum=1)
UNCONFIRMED_SIGNUP_PURGE_DAYS = env_int("UNCONFIRMED_SIGNUP_PURGE_DAYS", 30, minimum=1)
# A click on a tracked journey link this soon after the send is a mail scanner's prefetch, not a
# person's: redirected, not counted (journeys.tracking).
TRACKING_PREFETCH_SECONDS = env_int("TRACKING_PREFETCH_SECONDS", 10, minimum=0)

# --- Imports (issue 3) ------------------------------------------------------------------------
# A downstream system whose every delivery fails for this long is paused and officers are told.
WEBHOOK_PAUSE_AFTER = timedelta(hours=env_int("WEBHOOK_PAUSE_AFTER_HOURS", 72, minimum=1))
IMPORT_MAX_FILE_MB = env_int("IMPORT_MAX_FILE_MB", 50, minimum=1)
IMPORT_MAX_UNCOMPRESSED_MB = env_int("IMPORT_MAX_UNCOMPRESSED_MB", 300, minimum=1)  # XLSX zip bombs
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200, minimum=5)
IMPORT_MAX_CELL_CHARS = env_int("IMPORT_MAX_CELL_CHARS", 10_000, minimum=100)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 2_000_000, minimum=1)
IMPORT_CHUNK_ROWS = env_int("IMPORT_CHUNK_ROWS", 500, minimum=1)  # rows committed together
IMPORT_STALL_MINUTES = env_int("IMPORT_STALL_MINUTES", 15, minimum=1)  # a silent run is resumed after
# The nightly retention job (consent.lapse): contacts lapsed or erased per committed batch.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 500, minimum=1)
# Long housekeeping jobs over big tables (purges, the residue scan, segment exports, unconfirmed
# sign-ups): rows per statement and per transaction, so none holds rows or a snapshot for long.
LONG_JOB_BATCH_SIZE = env_int("LONG_JOB_BATCH_SIZE", 5000, minimum=1)
# The residue scan after an erasure runs in a worker (dsr.residue_queue): erasures waiting share
# one pass over every table, up to this many people per pass (an erasure with more has a pass of
# its own); a worker's claim is taken over after this many seconds (a pass takes minutes at 10M).
RESIDUE_SCAN_PEOPLE = env_int("RESIDUE_SCAN_PEOPLE", 50, minimum=1)
RESIDUE_SCAN_CLAIM_SECONDS = env_int("RESIDUE_SCAN_CLAIM_SECONDS", 6 * 3600, minimum=60)
# Scheduled refreshes read only below this folder, never elsewhere on the server.
IMPORT_DROP_DIR = Path(env_str("IMPORT_DROP_DIR", str(VAR_DIR / "import-drop")))
# Records kept outside the database: the erasure ledger (dsr.ledger) and a copy of every audit
# checkpoint (consent.audit_chain). Keep it out of the database backup's reach (another volume, a
# synced folder): a restored backup forgets again, and truncating the chain by SQL is still seen.
LEDGER_DIR = Path(env_str("LEDGER_DIR", str(VAR_DIR / "ledger")))

# --- API (issue 3) -------------------------------------------------------------------------------
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/min")
# Bearer token of the Prometheus endpoint /metrics; unset, the endpoint answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "staff.api_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["staff.api_base.ModelPermissions"],
    # JSON only, through the parser that refuses NUL, lone surrogates and deep nesting: the bodies
    # hold nested objects (purposes, evidence) that a form cannot carry as the schema describes
    # them, so a form body was read with those parts silently left out.
    "DEFAULT_PARSER_CLASSES": ["staff.api_base.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["staff.api_base.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "staff.api_base.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": API_RATE_LIMIT},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Consent Office API",
    "DESCRIPTION": "Read, create and correct contacts, change their consent through the consent "
    "service, list consent change records, read purposes and lists, subscribe (double opt-in) and "
    "unsubscribe, read segments and their eligible members, read delivery receipts of events to "
    "downstream systems, open data subject requests and move them along (verify, assign, extend, "
    "decline, restrict, erase, complete, export bundles), and upload consent imports and follow "
    "their runs and reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["staff.api_base.HasRole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`: each choice set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "dsr.models.DataSubjectRequest.Status",
        "BundleStatusEnum": "dsr.models.ExportBundle.Status",
        "ImportRunStatusEnum": "imports.models.ImportRun.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.document_errors_and_links",
    ],
}

# --- Security (production values switch on when DEBUG is false) ---------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging: ids and events only, never personal data ------------------------------------------
# LOG_FORMAT=json: one JSON object per line with request id, user id, view or task and duration
# (operations.logs); plain text by default, for `make run`. Neither ever carries a path.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "operations.logs.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "operations.logs.JsonLineFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # One line per request and per task in JSON mode; runserver and celery print their own in plain.
    "loggers": {
        # Django's own console handler (DEBUG) would print "Not Found: /path" unfiltered.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        **{
            name: {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"}
            for name in ("consent_office.requests", "consent_office.tasks")
        },
    },
}
# In JSON mode the worker logs through LOGGING too, not in Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
