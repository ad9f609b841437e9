"""Production: every secret and host from the environment; refuse to start without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, SECRET_KEY

if not SECRET_KEY:
    raise ImproperlyConfigured("Set TILCARE_SECRET_KEY to a long random value.")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set TILCARE_ALLOWED_HOSTS to the host names this server answers.")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
