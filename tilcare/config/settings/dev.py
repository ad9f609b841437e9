"""Local use and the demo: embedded SQLite in the data folder, the dev secret, localhost only."""

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DEMO_SECRET_KEY, SECRET_KEY

SECRET_KEY = SECRET_KEY or DEMO_SECRET_KEY
DEBUG = False
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost"]
# The demo is tried on a laptop without an authenticator app: its sign-in asks for the password
# only. Every other environment (base, prod, test) requires the second factor.
TILCARE_REQUIRE_SECOND_FACTOR = False
