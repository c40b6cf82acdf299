"""Django settings for mesoclinic, read from the environment.

Every variable is documented in README.md ("Configuration"). Readers in
``mesoclinic.core.env`` fail loudly on a value they cannot read.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mesoclinic.core.env import (
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_timezone,
    parse_database_url,
    parse_email_url,
)

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("MESOCLINIC_VAR_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_secret("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set SECRET_KEY or SECRET_KEY_FILE (or DEBUG=1 for a development key kept in var/)."
        )
    # Development only: keep one generated key so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        key_file.chmod(0o600)
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "axes",
    "ninja",
    "mesoclinic.core",
    "mesoclinic.accounts",
    "mesoclinic.patients",
    "mesoclinic.screening",
    "mesoclinic.protocols",
    "mesoclinic.scheduling",
    "mesoclinic.inventory",
    "mesoclinic.treatments",
    "mesoclinic.safety",
    "mesoclinic.outcomes",
    "mesoclinic.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mesoclinic.core.middleware.NoStoreMiddleware",
    "mesoclinic.core.middleware.RequestContextMiddleware",
    "mesoclinic.accounts.middleware.ActiveMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mesoclinic.urls"
WSGI_APPLICATION = "mesoclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mesoclinic.core.context_processors.workspace",
            ],
        },
    }
]

# --- Database ---------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": parse_database_url("DATABASE_URL", _database_url)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "mesoclinic.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the single writer; IMMEDIATE makes a write transaction
        # take the lock at BEGIN, so concurrent writers wait instead of failing mid-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "mesoclinic.accounts.backends.EmailBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_HOURS", 24, minimum=1) * 3600

# Automatic log-out after inactivity: the session cookie expires this long after the last
# request, and every request pushes the expiry forward.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1, maximum=24 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# django-axes: lock an email address out after repeated failures.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Lockout is per account on purpose: a clinic's staff share one address behind its router,
# so locking by IP would lock the whole front desk out after one person's typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_USERNAME_FORM_FIELD = "username"
# Count "Alice@x" and "alice@x" as one account, as sign-in does.
AXES_USERNAME_CALLABLE = "mesoclinic.accounts.backends.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_VERBOSE = False

# --- Email ------------------------------------------------------------------------------------
_email_url = env_secret("EMAIL_URL")
for _key, _value in parse_email_url("EMAIL_URL", _email_url or "console://").items():
    globals()[_key] = _value
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mesoclinic <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address staff open mesoclinic at, for links in emails sent by commands (no request to
# take the host from): "https://clinic.example.com". Empty: emails give the path only.
SITE_URL = env_str("SITE_URL").rstrip("/")
if SITE_URL and not SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("SITE_URL must start with https:// or http://.")

# --- Internationalisation and time ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# WhiteNoise warns at start-up about a missing STATIC_ROOT even though it serves from finders.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploaded photos. They are served only through views that check who is asking (never
# from a public URL), so MEDIA_URL is deliberately unset; the storage API lets an
# S3-compatible backend replace the disk.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Serve straight from the package in every mode; no collectstatic step is needed to run.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Product settings -------------------------------------------------------------------------
PATIENTS_PER_PAGE = env_int("PATIENTS_PER_PAGE", 25, minimum=5, maximum=200)
AUDIT_EVENTS_PER_PAGE = 50


def _reminder_leads() -> list[int]:
    leads = []
    for item in env_list("REMINDER_LEAD_HOURS", ["48", "2"]):
        if not item.isdigit() or not 1 <= int(item) <= 24 * 14:
            raise ImproperlyConfigured(
                f"REMINDER_LEAD_HOURS: {item!r} is not a whole number of hours from 1 to 336."
            )
        leads.append(int(item))
    return sorted(set(leads), reverse=True)


# Appointment reminders go this many hours before the start (send_reminders, run from cron).
REMINDER_LEAD_HOURS = _reminder_leads()
# A maintenance recall goes this many days before the session's window opens.
RECALL_LEAD_DAYS = env_int("RECALL_LEAD_DAYS", 14, minimum=0, maximum=90)
# A course may start this many days in the past (sessions given before it was recorded).
COURSE_START_GRACE_DAYS = env_int("COURSE_START_GRACE_DAYS", 14, minimum=0, maximum=365)
# Free slots are offered on this grid of minutes from the opening time.
BOOKING_STEP_MINUTES = env_int("BOOKING_STEP_MINUTES", 15, minimum=5, maximum=60)
# Inventory alerts list lots in stock that expire within this many days.
INVENTORY_EXPIRY_WARNING_DAYS = env_int("INVENTORY_EXPIRY_WARNING_DAYS", 30, minimum=1, maximum=365)
# Plausible ranges for charted depth, volume, points and needles, per treatment area, as
# JSON overriding the defaults of treatments/limits.py, e.g.
# {"scalp": {"depth_mm": {"warn_above": 3, "refuse_above": 6}}}; checked at start-up.
CHARTING_LIMITS = env_str("CHARTING_LIMITS", "")
# The largest photo accepted for a chart, in megabytes.
PHOTO_MAX_MB = env_int("PHOTO_MAX_MB", 15, minimum=1, maximum=100)
# On SQLite a trigger refuses DELETE of audit events (UPDATE is always refused, on both
# databases, and DELETE always on PostgreSQL). Only the test suite turns this off: Django's
# test flush empties SQLite tables with DELETE. Applied at every `migrate` (core.apps).
AUDIT_SQLITE_REFUSES_DELETE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"axes": {"level": "WARNING"}},
}
