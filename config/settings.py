"""Clausier settings: one module, driven by environment variables.

Defaults are safe for production (DEBUG off, secure cookies); `make run` and the test
suite set DEBUG=1 and a development secret explicitly.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.databases import databases, primary_pin, replica_max_lag

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY doit être défini quand DEBUG est désactivé.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "widget_tweaks",
    "dsfr",
    "django_htmx",
    "ninja",  # the API's interactive docs, served from the project's own static files (no CDN)
    "clausier.reference",
    "clausier.geo",
    "clausier.organizations",
    "clausier.procurement",
    "clausier.participants",
    "clausier.employment",
    "clausier.imports",
    # After clausier.imports: its `db_worker` (the task worker with the dead-import reaper) must win.
    "django_tasks_db",
    "clausier.reporting",
    "clausier.audit",
    "clausier.rgpd",
    "clausier.accounts",
    "clausier.publicsite",
    "clausier.matching",  # candidacies, job offers, proposals (issue 8)
    "clausier.notifications",  # e-mail notifications (issue 8)
    "clausier.www",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "clausier.utils.replica.PrimaryAfterWritesMiddleware",  # unused without DATABASE_REPLICA_URL
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "clausier.utils.http.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "clausier.accounts.middleware.SessionExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "clausier.organizations.middleware.CurrentOrganizationMiddleware",
    "clausier.accounts.middleware.TwoFactorRequiredMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            # Not django-dsfr's `site_config`: Clausier's templates draw their own header and footer and never
            # read its `SITE_CONFIG`, which cost two queries on every page.
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clausier.organizations.context_processors.current_organization",
            ],
        },
    }
]

# The primary, an optional streaming replica for stale-tolerant reads, PgBouncer safety: config/databases.py.
DATABASES = databases(os.environ, f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASE_ROUTERS = ["clausier.utils.replica.ReplicaRouter"]
DATABASE_REPLICA_MAX_LAG = replica_max_lag(os.environ)
DATABASE_PRIMARY_PIN = primary_pin(os.environ)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache every web node reaches: a table of the database (created by a migration of publicsite). A
# per-process memory cache would let nodes disagree (API rate limits, ProConnect's discovery document) and
# recompute what another node has just cached (dashboards, public figures).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "clausier_cache",
        # A territory's dashboard variants, public figures and rate-limit windows: a few per user and day.
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "50000")), "CULL_FREQUENCY": 4},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "www:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Imports of more data rows than this are validated and committed by a task (`clausier db_worker`).
IMPORT_BACKGROUND_ROWS = int(os.environ.get("IMPORT_BACKGROUND_ROWS", "2000"))

# Security: secure unless DEBUG (local development over plain HTTP).
SECURE = not DEBUG
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

EMAIL_BACKEND_PATH = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH}}
if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS"),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Clausier <ne-pas-repondre@clausier.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# --- Accounts (issue 6): login throttling, session expiry, second factor, password reset ------------------
# 5 failures for one e-mail address (or 20 from one IP address) within 15 minutes suspend logins for 15 minutes.
ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("ACCOUNTS_LOGIN_MAX_FAILURES_PER_ACCOUNT", "5"))
ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP = int(os.environ.get("ACCOUNTS_LOGIN_MAX_FAILURES_PER_IP", "20"))
ACCOUNTS_LOGIN_WINDOW_SECONDS = int(os.environ.get("ACCOUNTS_LOGIN_WINDOW_SECONDS", str(15 * 60)))
ACCOUNTS_LOCKOUT_SECONDS = int(os.environ.get("ACCOUNTS_LOCKOUT_SECONDS", str(15 * 60)))
# Sessions end after SESSION_COOKIE_AGE (absolute, above) or this long without a request.
ACCOUNTS_SESSION_IDLE_SECONDS = int(os.environ.get("ACCOUNTS_SESSION_IDLE_SECONDS", str(60 * 60)))
ACCOUNTS_SESSION_ACTIVITY_RESOLUTION = 60  # the last-activity time is written at most once a minute
# TOTP second factor: time to type the code after the password, to finish an enrolment; recovery codes.
ACCOUNTS_LOGIN_CODE_SECONDS = 5 * 60
ACCOUNTS_TOTP_ENROL_SECONDS = 30 * 60
ACCOUNTS_TOTP_ISSUER = os.environ.get("ACCOUNTS_TOTP_ISSUER", "Clausier")
ACCOUNTS_RECOVERY_CODES = 10
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(2 * 3600)))  # the e-mailed link
# Members and notifications (issue 8): an invitation link is valid this many days; e-mails sent outside a
# request (`clausier notify-due`) build their links on SITE_URL (e.g. https://clausier.example.fr).
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
# ------------------------------------------------------------------------------------------------------------

# Business parameters with platform-wide defaults (each facilitator may override its own).
CLAUSIER_FTE_HOURS = 1600
AUTH_USER_MODEL = "organizations.User"

# National consolidation (issue 5, docs/consolidation.md): the key shared by the national network for the
# keyed hashes of identities. Required by `clausier consolidation export`; never defaults to SECRET_KEY.
CONSOLIDATION_KEY = os.environ.get("CONSOLIDATION_KEY", "")

# REST API (issue 16): requests per token (or session user), and per client address on the public figures.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/min")
API_PUBLIC_RATE_LIMIT = os.environ.get("API_PUBLIC_RATE_LIMIT", "120/min")
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 500

# ProConnect, the State's single sign-on (issue 17): the button shows only when the domain and client are set.
PROCONNECT_DOMAIN = os.environ.get("PROCONNECT_DOMAIN", "")
PROCONNECT_CLIENT_ID = os.environ.get("PROCONNECT_CLIENT_ID", "")
PROCONNECT_CLIENT_SECRET = os.environ.get("PROCONNECT_CLIENT_SECRET", "")
PROCONNECT_ACR_VALUES = os.environ.get("PROCONNECT_ACR_VALUES", "")
if PROCONNECT_DOMAIN:
    # The logout form ends at ProConnect's end of session (RP-initiated logout), and browsers apply form-action
    # to the redirects of a form submission too: without ProConnect's origin, the logout is blocked.
    SECURE_CSP["form-action"].append(
        "/".join(PROCONNECT_DOMAIN.split("/")[:3])
        if PROCONNECT_DOMAIN.startswith(("http://", "https://"))
        else f"https://{PROCONNECT_DOMAIN.strip('/')}"
    )
