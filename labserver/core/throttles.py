"""Per-address rate limits for everything anyone may call without an account.

One implementation serves the API and the pages: the throttles below are DRF's
:class:`~rest_framework.throttling.SimpleRateThrottle` (a sliding window of request times
kept in the shared cache, ``CACHES["default"]``: the database by default, Redis where
configured), so every worker of every host counts the same requests. A throttle that
refuses raises :class:`RateLimited`, which the API's exception handler turns into our
error body with ``Retry-After`` and which :func:`labserver.web.throttling.throttled` turns
into a page.

The rates are read from ``settings.CALTRACE_THROTTLE_RATES`` at each request (DRF reads
``DEFAULT_THROTTLE_RATES`` once at import, which would make the limits impossible to
change without a restart and impossible to test), and the client is identified by
:func:`client_address`: ``REMOTE_ADDR``, never a header a client can write, unless the
request came through a proxy listed in ``CALTRACE_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
import math
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PERIODS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"CALTRACE_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
            ) from None
    return tuple(networks)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _counted(address: str) -> str | None:
    """The key an address is counted under: an IPv4 address as it is; an IPv6 address by
    its /64, the block one subscriber is given (counting each of its addresses apart would
    let one host pick a fresh one per request); None for what is not an address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_ip(request: HttpRequest) -> str:
    """The client's address as our first proxy saw it, for the limits and the lockouts.

    ``REMOTE_ADDR`` (the peer of the TCP connection) unless that peer is one of our
    proxies (``CALTRACE_TRUSTED_PROXIES``, addresses or networks): then the right-most
    ``X-Forwarded-For`` hop that is not one of our proxies, the address our first proxy
    saw. Hops further left were written by the client and prove nothing; with no proxy
    configured the header is ignored altogether, or anyone could pick a fresh address per
    request and never be limited. A hop that is not an address (a proxy that forwards
    the client's header without adding to it) counts as the proxy itself: stricter,
    never a way around a limit.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    networks = _networks(tuple(settings.CALTRACE_TRUSTED_PROXIES))
    if not networks or not _is_trusted(remote, networks):
        return remote
    raw = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    hops = [hop.strip() for hop in raw.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            return hop if _counted(hop) else remote
    # Every hop is one of ours (a request from inside): the left-most is the origin.
    return hops[0] if hops and _counted(hops[0]) else remote


def client_address(request: HttpRequest) -> str:
    """The key a limit is counted against: :func:`client_ip`, an IPv6 address by its /64."""
    ip = client_ip(request)
    return _counted(ip) or ip


class RateLimited(exceptions.Throttled):
    """A client address went past a limit: 429, ``Retry-After``, the limit named."""

    default_code = "throttled"

    def __init__(self, throttle: AddressRateThrottle, wait: float) -> None:
        self.scope = throttle.scope
        self.rate = throttle.describe()
        self.num_requests = throttle.num_requests
        self.period = throttle.period()
        detail = (
            f"Too many requests: the limit '{throttle.scope}' allows {self.rate} "
            "from one client address."
        )
        super().__init__(wait=max(wait, 1.0), detail=detail, code=self.default_code)
        self.wait: int = math.ceil(max(wait, 1.0))


class AddressRateThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle, keyed on :func:`client_address`, its rate read from
    ``settings.CALTRACE_THROTTLE_RATES[scope]`` at each request (``None``: no limit).

    A refusal raises :class:`RateLimited` instead of returning ``False`` so that the
    caller (DRF's ``check_throttles`` or the page decorator) learns which limit it was.
    """

    scope: str
    num_requests: int  # set by SimpleRateThrottle from the rate
    duration: int  # seconds

    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = settings.CALTRACE_THROTTLE_RATES
        try:
            return rates[self.scope]
        except KeyError:
            raise ImproperlyConfigured(
                f"CALTRACE_THROTTLE_RATES: no rate for the scope {self.scope!r}"
            ) from None

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}

    def throttle_failure(self) -> bool:
        raise RateLimited(self, self.wait() or float(self.duration))

    def count_page_request(self, request: HttpRequest) -> None:
        """Count a request of a page (a Django view, not DRF's): raises
        :class:`RateLimited` past the limit."""
        # DRF's throttles read only request.META (through client_address) and no view.
        self.allow_request(request, None)  # type: ignore[arg-type]

    def period(self) -> str:
        """The window of the rate: ``second``, ``minute``, ``hour`` or ``day``."""
        return PERIODS[str(self.rate).split("/")[1][0]]

    def describe(self) -> str:
        """The rate in words, e.g. ``10 requests per minute``."""
        noun = "request" if self.num_requests == 1 else "requests"
        return f"{self.num_requests} {noun} per {self.period()}"


class VerifyUploadThrottle(AddressRateThrottle):
    """A file checked against our records (``POST /api/v1/verify``, the form of
    ``/verify/<number>``): each costs a parse of up to ``CALTRACE_MAX_VERIFY_BYTES``."""

    scope = "verify"


class VerifyUploadDailyThrottle(AddressRateThrottle):
    """The same uploads over a day: a batch is fine, a stream of them is not."""

    scope = "verify_daily"


class LookupThrottle(AddressRateThrottle):
    """A certificate looked up by its number (a QR code scanned, the public API) and the
    API's schema and documentation pages."""

    scope = "lookup"


class OpenDataThrottle(AddressRateThrottle):
    """The open-data pages, catalogue and downloads, and the register of standards."""

    scope = "open_data"


class RegistryDocumentThrottle(AddressRateThrottle):
    """The national node fetching a certificate's signed PDF from this center (each a read
    of the file and its hash)."""

    scope = "registry_documents"


class TokenFailureThrottle(AddressRateThrottle):
    """Requests with an API token we do not know, counted per address.

    Unlike the others it counts failures only: :meth:`refuse_if_exhausted` runs before a
    token is looked up (a guesser past the limit learns nothing more, whatever token it
    sends next), :meth:`record_failure` after a token was refused.
    """

    scope = "token_failure"

    def refuse_if_exhausted(self, request: Any) -> None:
        if self.rate is None:
            return
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            self.throttle_failure()

    def record_failure(self, request: Any) -> None:
        if self.rate is None:
            return
        self.refuse_if_exhausted(request)
        self.throttle_success()


VERIFY_UPLOAD = (VerifyUploadThrottle, VerifyUploadDailyThrottle)


def check_proxy_configuration(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: behind a TLS proxy with no proxy named, every visitor would be
    counted as the proxy, and the first few would use up everyone's limits."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not settings.CALTRACE_TRUSTED_PROXIES:
        return [
            Warning(
                "BEHIND_TLS_PROXY is set but CALTRACE_TRUSTED_PROXIES is empty: every client "
                "is counted as the proxy's address, so the per-address limits of the public "
                "pages are shared by all visitors",
                hint="Set CALTRACE_TRUSTED_PROXIES to the proxy's address or network.",
                id="caltrace.W301",
            )
        ]
    return []
