"""Behind a reverse proxy: which peers to believe, and who the client is.

A hospital serves tilcare behind a proxy that terminates TLS (docs/deployment.md, section 3).
Three environment variables say how far to believe what that proxy adds to a request:

    TILCARE_TRUSTED_PROXIES      comma-separated addresses or networks of the proxies
                                 (10.0.0.5, 10.0.0.0/24, ::1)
    TILCARE_CSRF_TRUSTED_ORIGINS comma-separated https origins the browser sees
                                 (https://tilcare.hospital.org)
    TILCARE_PROXY_SSL_HEADER     the header the proxy sets to "https" (X-Forwarded-Proto)

`proxy_settings` reads them (pure: an environment in, settings out) and refuses a malformed value
with ImproperlyConfigured naming the variable. `client_address` is the one place the client's
address is read: X-Forwarded-For is believed only when the request comes from a trusted proxy, and
then the client is the right-most address that is not itself a trusted proxy (the left part of the
header is whatever the client chose to send). `ForwardedProtoMiddleware` drops the SSL header from
a peer that is not a trusted proxy, so a client reaching the application directly cannot claim
HTTPS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:  # the settings import this module: nothing here may need them configured
    from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TRUSTED_PROXIES_VARIABLE = "TILCARE_TRUSTED_PROXIES"
CSRF_ORIGINS_VARIABLE = "TILCARE_CSRF_TRUSTED_ORIGINS"
SSL_HEADER_VARIABLE = "TILCARE_PROXY_SSL_HEADER"


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _networks(text: str) -> tuple[Network, ...]:
    networks = []
    for item in _items(text):
        try:
            networks.append(ipaddress.ip_network(item, strict=True))
        except ValueError:
            raise ImproperlyConfigured(
                f"{TRUSTED_PROXIES_VARIABLE}: “{item}” is not an IP address or network; write "
                "addresses or CIDR networks separated by commas, e.g. 10.0.0.5,10.1.0.0/24 "
                "(a network's host bits must be zero)."
            ) from None
    return tuple(networks)


def _origins(text: str) -> list[str]:
    origins = []
    for item in _items(text):
        parts = urlsplit(item)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ImproperlyConfigured(
                f"{CSRF_ORIGINS_VARIABLE}: “{item}” is not an origin; write the scheme and host "
                "the browser shows, e.g. https://tilcare.hospital.org (comma-separated)."
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ImproperlyConfigured(
                f"{CSRF_ORIGINS_VARIABLE}: “{item}” has a path; an origin is only the scheme, "
                "host and port, e.g. https://tilcare.hospital.org."
            )
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def _ssl_header(text: str) -> tuple[str, str]:
    name = text.strip()
    if not name or not all(c.isalnum() or c == "-" for c in name):
        raise ImproperlyConfigured(
            f"{SSL_HEADER_VARIABLE}: “{text}” is not a header name; write the header the proxy "
            "sets to https, e.g. X-Forwarded-Proto."
        )
    return ("HTTP_" + name.upper().replace("-", "_"), "https")


def proxy_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The Django settings the proxy variables of `environ` give.

    TILCARE_TRUSTED_PROXIES (a tuple of networks, empty when unset) and CSRF_TRUSTED_ORIGINS
    always; SECURE_PROXY_SSL_HEADER only when TILCARE_PROXY_SSL_HEADER is set, which needs
    TILCARE_TRUSTED_PROXIES (the header is believed from the proxies only).
    """
    result: dict[str, Any] = {
        TRUSTED_PROXIES_VARIABLE: _networks(environ.get(TRUSTED_PROXIES_VARIABLE, "")),
        "CSRF_TRUSTED_ORIGINS": _origins(environ.get(CSRF_ORIGINS_VARIABLE, "")),
    }
    header = environ.get(SSL_HEADER_VARIABLE, "")
    if header.strip():
        if not result[TRUSTED_PROXIES_VARIABLE]:
            raise ImproperlyConfigured(
                f"{SSL_HEADER_VARIABLE} is set but {TRUSTED_PROXIES_VARIABLE} is not: list the "
                "proxy's address, the only peer whose header is believed."
            )
        result["SECURE_PROXY_SSL_HEADER"] = _ssl_header(header)
    return result


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[Network]
) -> bool:
    return any(address in network for network in networks)


def is_from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the request's peer (REMOTE_ADDR) is one of TILCARE_TRUSTED_PROXIES."""
    networks = getattr(settings, TRUSTED_PROXIES_VARIABLE, ())
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _trusted(peer, networks)


def client_address(request: HttpRequest) -> str | None:
    """The address of the client that sent `request`.

    REMOTE_ADDR, unless that is a trusted proxy: then the right-most X-Forwarded-For address that
    is not itself a trusted proxy (each proxy appends the peer it saw; everything left of the
    first address a trusted proxy wrote was chosen by the client). An unreadable address there,
    or none at all, leaves the proxy's own address.
    """
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    if remote is None or not is_from_trusted_proxy(request):
        return remote
    networks = getattr(settings, TRUSTED_PROXIES_VARIABLE, ())
    forwarded = _items(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    for text in reversed(forwarded):
        address = _address(text)
        if address is None:
            return remote
        if not _trusted(address, networks):
            return str(address)
    return remote


class ForwardedProtoMiddleware:
    """Drops the proxy's SSL header from a peer that is not a trusted proxy (first in the list)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        if header and not is_from_trusted_proxy(request):
            request.META.pop(header[0], None)
        return self.get_response(request)
