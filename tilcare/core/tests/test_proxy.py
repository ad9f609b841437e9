"""Behind a reverse proxy: the environment's proxy variables and the client's address."""

from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from tilcare.core.proxy import ForwardedProtoMiddleware, client_address, proxy_settings

PROXY = "10.0.0.5"
PROXIES = proxy_settings({"TILCARE_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/24"})


def test_unset_variables_trust_no_proxy_and_no_other_origin():
    # Given an environment without the proxy variables
    # When the settings are read from it
    settings = proxy_settings({})

    # Then no proxy is trusted, no other origin, and the SSL header is not set at all
    assert settings == {"TILCARE_TRUSTED_PROXIES": (), "CSRF_TRUSTED_ORIGINS": []}


def test_the_three_variables_give_the_settings_django_reads():
    # Given the proxy's address and network, the browser's origin and the SSL header
    environ = {
        "TILCARE_TRUSTED_PROXIES": " 10.0.0.5 ,10.1.0.0/24,,::1",
        "TILCARE_CSRF_TRUSTED_ORIGINS": "https://tilcare.example.org, https://tilcare.example.org:8443/",
        "TILCARE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    }

    # When the settings are read from them
    settings = proxy_settings(environ)

    # Then each is parsed into the form Django and tilcare read
    assert settings == {
        "TILCARE_TRUSTED_PROXIES": (
            ipaddress.ip_network("10.0.0.5/32"),
            ipaddress.ip_network("10.1.0.0/24"),
            ipaddress.ip_network("::1/128"),
        ),
        "CSRF_TRUSTED_ORIGINS": ["https://tilcare.example.org", "https://tilcare.example.org:8443"],
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"TILCARE_TRUSTED_PROXIES": "10.0.0.300"},
            "TILCARE_TRUSTED_PROXIES: “10.0.0.300” is not an IP address or network; write "
            "addresses or CIDR networks separated by commas, e.g. 10.0.0.5,10.1.0.0/24 (a "
            "network's host bits must be zero).",
        ),
        (
            {"TILCARE_TRUSTED_PROXIES": "10.1.0.7/24"},
            "TILCARE_TRUSTED_PROXIES: “10.1.0.7/24” is not an IP address or network; write "
            "addresses or CIDR networks separated by commas, e.g. 10.0.0.5,10.1.0.0/24 (a "
            "network's host bits must be zero).",
        ),
        (
            {"TILCARE_CSRF_TRUSTED_ORIGINS": "tilcare.example.org"},
            "TILCARE_CSRF_TRUSTED_ORIGINS: “tilcare.example.org” is not an origin; write the "
            "scheme and host the browser shows, e.g. https://tilcare.hospital.org "
            "(comma-separated).",
        ),
        (
            {"TILCARE_CSRF_TRUSTED_ORIGINS": "https://tilcare.example.org/login/"},
            "TILCARE_CSRF_TRUSTED_ORIGINS: “https://tilcare.example.org/login/” has a path; an "
            "origin is only the scheme, host and port, e.g. https://tilcare.hospital.org.",
        ),
        (
            {"TILCARE_TRUSTED_PROXIES": PROXY,
             "TILCARE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"},
            "TILCARE_PROXY_SSL_HEADER: “X-Forwarded-Proto: https” is not a header name; write "
            "the header the proxy sets to https, e.g. X-Forwarded-Proto.",
        ),
        (
            {"TILCARE_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
            "TILCARE_PROXY_SSL_HEADER is set but TILCARE_TRUSTED_PROXIES is not: list the "
            "proxy's address, the only peer whose header is believed.",
        ),
    ],
    ids=["bad-address", "host-bits-set", "origin-without-scheme", "origin-with-path",
         "header-with-value", "header-without-proxies"],
)  # fmt: skip
def test_a_malformed_value_is_refused_naming_its_variable(environ, message):
    # Given a malformed proxy variable
    # When the settings are read
    with pytest.raises(ImproperlyConfigured) as refused:
        proxy_settings(environ)

    # Then the refusal names the variable, the value and how to write it
    assert str(refused.value) == message


def _request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(**PROXIES)
@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # Straight from the client: its own address; what it says it forwards is ignored.
        ("203.0.113.9", None, "203.0.113.9"),
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
        # Through the proxy: the address the proxy appended.
        (PROXY, "198.51.100.7", "198.51.100.7"),
        # A client's own X-Forwarded-For is left of the one the proxy appended: not believed.
        (PROXY, "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        # Two trusted proxies in a row: the right-most address that is not one of them.
        (PROXY, "192.0.2.1, 198.51.100.7, 10.1.0.20", "198.51.100.7"),
        ("2001:db8::1", None, "2001:db8::1"),
        (PROXY, "2001:db8::7", "2001:db8::7"),
        # Nothing, or nothing readable, forwarded: the proxy's own address.
        (PROXY, None, PROXY),
        (PROXY, "192.0.2.1, unknown", PROXY),
        (PROXY, "10.1.0.20", PROXY),
    ],
)
def test_the_client_address_believes_only_what_a_trusted_proxy_forwards(remote, forwarded, client):
    # Given a request from `remote` with `forwarded` in X-Forwarded-For
    # When its client's address is read
    # Then it is `client`
    assert client_address(_request(remote, forwarded)) == client


def test_without_trusted_proxies_the_peer_is_the_client():
    # Given no trusted proxy (the default)
    # When a request comes with X-Forwarded-For
    # Then the client is the peer that sent it
    assert client_address(_request(PROXY, "198.51.100.7")) == PROXY


@override_settings(
    **proxy_settings(
        {"TILCARE_TRUSTED_PROXIES": PROXY, "TILCARE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}
    )
)
@pytest.mark.parametrize(("remote", "secure"), [(PROXY, True), ("203.0.113.9", False)])
def test_only_the_trusted_proxy_can_say_the_browser_used_https(remote, secure):
    # Given a request saying X-Forwarded-Proto: https, from the proxy or straight from a client
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_PROTO="https")

    # When it passes the middleware
    seen = ForwardedProtoMiddleware(lambda r: HttpResponse(r.is_secure()))(request)

    # Then it is HTTPS only if the proxy said so
    assert seen.content.decode() == str(secure)
