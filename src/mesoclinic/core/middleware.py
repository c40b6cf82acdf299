from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from mesoclinic.core.context import Origin, origin


def parse_ip(value: str) -> str | None:
    """An IP address from a forwarded hop or REMOTE_ADDR, or None when it is not one.

    Accepts ``203.0.113.9``, ``203.0.113.9:51234``, ``2001:db8::1``, ``[2001:db8::1]:443``
    and an IPv6 zone (``fe80::1%eth0``, dropped); ``unknown``, ``_hidden`` and other
    garbage give None, so the audit trail never stores something that is not an address
    (PostgreSQL's inet column would refuse it with an error).
    """
    text = value.strip().strip('"')
    if not text or len(text) > 100:
        return None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        text = host
    elif text.count(":") == 1:
        # IPv4 with a port; an IPv6 address has at least two colons.
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the right X-Forwarded-For hop behind proxies.

    With ``TRUSTED_PROXY_COUNT`` proxies in front, the client is the hop that many places
    from the end of X-Forwarded-For. When that hop is not an address the client is unknown
    (None): the socket address would be the proxy's, not the client's.
    """
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0)
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return parse_ip(hops[-proxies])
    return parse_ip(request.META.get("REMOTE_ADDR") or "")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        via = "api" if request.path.startswith("/api/") else "web"
        with origin(Origin(source_ip=client_ip(request), via=via)):
            return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every signed-in page and every API answer.

    Patient data must not stay behind in a browser's or a proxy's cache on a shared
    front-desk computer after sign-out. Goes after AuthenticationMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in = request.user.is_authenticated
        response = self.get_response(request)
        # After the view too: the response to a sign-in already belongs to a session.
        if signed_in or request.user.is_authenticated or request.path.startswith("/api/"):
            patch_cache_control(response, no_store=True, private=True)
        return response
