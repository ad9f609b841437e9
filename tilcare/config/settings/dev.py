"""Local use and the demo: embedded SQLite in the data folder, the dev secret, localhost only."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, SECRET_KEY

SECRET_KEY = SECRET_KEY or "tilcare-demo-only-not-for-patient-data"
DEBUG = False
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]
