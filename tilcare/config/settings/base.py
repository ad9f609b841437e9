"""Settings shared by every environment.

Configuration comes from environment variables so that a hospital's IT team can deploy without
editing code: DATABASE_URL, TILCARE_DATA_DIR, TILCARE_SECRET_KEY, TILCARE_ALLOWED_HOSTS,
TILCARE_TIME_ZONE; behind a reverse proxy TILCARE_TRUSTED_PROXIES, TILCARE_CSRF_TRUSTED_ORIGINS and
TILCARE_PROXY_SSL_HEADER (tilcare.core.proxy).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tilcare.core.proxy import proxy_settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(os.environ.get("TILCARE_DATA_DIR", Path.cwd() / "tilcare-data")).resolve()

SECRET_KEY = os.environ.get("TILCARE_SECRET_KEY", "")
# The demo's key (dev.py): public, so the production settings refuse it.
DEMO_SECRET_KEY = "tilcare-demo-only-not-for-patient-data"
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("TILCARE_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "tilcare.core",
    "tilcare.accounts",
    "tilcare.audit",
    "tilcare.patients",
    "tilcare.identity",
    "tilcare.manufacturing",
    "tilcare.monitoring",
    "tilcare.treatment",
    "tilcare.journey",
    "tilcare.portal",
    "tilcare.calculators",
    "tilcare.demo",
]

MIDDLEWARE = [
    # First: a client that is not a trusted proxy cannot claim HTTPS with the proxy's header.
    "tilcare.core.proxy.ForwardedProtoMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tilcare.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads a form's body: an oversized body is refused (413) unread.
    "tilcare.core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Deny by default: every view needs a logged-in user unless marked login_not_required.
    "tilcare.core.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sets request.user.otp_device / is_verified() from the session (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # After messages: both tell the person why they are sent to a sign-in page.
    "tilcare.accounts.middleware.IdleTimeoutMiddleware",
    "tilcare.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "tilcare.core.http.DeniedActionMiddleware",
]

ROOT_URLCONF = "tilcare.config.urls"
WSGI_APPLICATION = "tilcare.config.wsgi.application"

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
                "tilcare.config.navigation.navigation",
            ],
        },
    },
]


def minutes_from_env(name: str, *, default: int, most: int) -> int:
    """A whole number of minutes from the environment, 1 to `most`; anything else stops start-up
    with a message naming the variable and its limits."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of minutes from 1 to {most}; it is {text!r}."
        )
    return int(text)


def database_from_env(default_sqlite_path: Path) -> dict[str, object]:
    """DATABASE_URL when set (PostgreSQL in production), else the embedded SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return dict(dj_database_url.parse(url, conn_max_age=60))
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(default_sqlite_path),
        "OPTIONS": {
            # WAL lets readers work while one writer commits; IMMEDIATE takes the write lock at
            # BEGIN so the audit chain head is never read stale by two writers at once.
            # recursive_triggers: the rows a REPLACE deletes meet the append-only DELETE triggers
            # (tilcare.audit.triggers refuses such an insert even without it).
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA recursive_triggers=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


def migration_database_from_env() -> dict[str, object] | None:
    """TILCARE_MIGRATION_DATABASE_URL: the role that owns the tables, used by `tilcare migrate`.

    DATABASE_URL is then the application's own role, which owns nothing and may only read and
    append to the audit trail, so it cannot disable the append-only triggers (docs/deployment.md).
    """
    url = os.environ.get("TILCARE_MIGRATION_DATABASE_URL")
    return dict(dj_database_url.parse(url, conn_max_age=0)) if url else None


# The owner's connection, when its URL is set: `tilcare db grant-app-role` grants through it.
MIGRATION_DATABASE_ALIAS = "migration"
DATABASES = {"default": database_from_env(DATA_DIR / "tilcare.sqlite3")}
if _migration_database := migration_database_from_env():
    DATABASES[MIGRATION_DATABASE_ALIAS] = _migration_database
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lock an account after repeated failed logins (django-axes).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5  # hours
# Lock the (username, address) pair: repeated guesses are stopped without letting anyone lock a
# colleague out from another workstation.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address, not the proxy's: X-Forwarded-For believed from TILCARE_TRUSTED_PROXIES only.
AXES_CLIENT_IP_CALLABLE = "tilcare.core.proxy.client_address"

# Behind a reverse proxy (docs/deployment.md, section 3): the proxies whose X-Forwarded-For is
# believed, the origins the browser sees, and the header that says the browser used HTTPS.
_PROXY = proxy_settings(os.environ)
TILCARE_TRUSTED_PROXIES = _PROXY["TILCARE_TRUSTED_PROXIES"]
CSRF_TRUSTED_ORIGINS = _PROXY["CSRF_TRUSTED_ORIGINS"]
if "SECURE_PROXY_SSL_HEADER" in _PROXY:
    SECURE_PROXY_SSL_HEADER = _PROXY["SECURE_PROXY_SSL_HEADER"]

# The largest request body read (a JSON body, a form's fields): a larger one is refused with 413
# before it is read. An upload route declares its own (tilcare.core.http.accepts_upload).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# A second factor (TOTP authenticator app, with one-time recovery codes) for every staff role
# that sees patient identity or signs records (accounts.policies.needs_second_factor). On in every
# environment except the local demo (dev.py).
TILCARE_REQUIRE_SECOND_FACTOR = True
OTP_TOTP_ISSUER = "tilcare"
# Each wrong code doubles the wait before the next attempt is checked (1 s, 2 s, 4 s, ...).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1
# A signed-in session left idle this long is ended; the next request goes to the sign-in page.
TILCARE_IDLE_TIMEOUT_MINUTES = minutes_from_env(
    "TILCARE_IDLE_TIMEOUT_MINUTES", default=15, most=720
)

# Audit checkpoints (`tilcare audit checkpoint`, docs/deployment.md): the folder the signed
# checkpoints are written to, and their HMAC key, given as text or as a file. The key is never
# stored in the database, so whoever can rewrite the database cannot sign a checkpoint.
TILCARE_AUDIT_CHECKPOINT_DIR = os.environ.get("TILCARE_AUDIT_CHECKPOINT_DIR", "")
TILCARE_AUDIT_CHECKPOINT_KEY = os.environ.get("TILCARE_AUDIT_CHECKPOINT_KEY", "")
TILCARE_AUDIT_CHECKPOINT_KEY_FILE = os.environ.get("TILCARE_AUDIT_CHECKPOINT_KEY_FILE", "")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10  # one clinical shift
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = "en-us"
# Stored in UTC; each center shows its own time zone (Organization.time_zone).
TIME_ZONE = os.environ.get("TILCARE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
