"""Test settings: SQLite in memory unless DATABASE_URL points at PostgreSQL."""

from .base import *  # noqa: F403
from .base import PACKAGE_DIR, database_from_env

SECRET_KEY = "tilcare-test"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASES = {"default": database_from_env(PACKAGE_DIR.parent / ".pytest-tilcare.sqlite3")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_ENABLED = True
