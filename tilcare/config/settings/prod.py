"""Production: every secret and host from the environment; refuse to start without them."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DEMO_SECRET_KEY, SECRET_KEY

# Django's own deployment check asks for at least 50 characters; the demo's key is public.
SECRET_KEY_MIN_LENGTH = 50
if not SECRET_KEY:
    raise ImproperlyConfigured("Set TILCARE_SECRET_KEY to a long random value.")
if SECRET_KEY == DEMO_SECRET_KEY:
    raise ImproperlyConfigured(
        "TILCARE_SECRET_KEY is the demo's public key; set it to a random value of at least "
        f'{SECRET_KEY_MIN_LENGTH} characters (python3 -c "import secrets; '
        'print(secrets.token_urlsafe(50))").'
    )
if len(SECRET_KEY) < SECRET_KEY_MIN_LENGTH:
    raise ImproperlyConfigured(
        f"TILCARE_SECRET_KEY has {len(SECRET_KEY)} characters; it must have at least "
        f'{SECRET_KEY_MIN_LENGTH} (python3 -c "import secrets; '
        'print(secrets.token_urlsafe(50))").'
    )
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set TILCARE_ALLOWED_HOSTS to the host names this server answers.")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
