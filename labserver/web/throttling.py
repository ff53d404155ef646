"""The API's per-address limits on the pages anyone may open (``/verify/<number>``, the
open data): the same throttle classes, the same shared cache, the same client address
(:mod:`labserver.core.throttles`), answered with a page instead of a JSON body."""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from labserver.core.throttles import AddressRateThrottle, RateLimited

View = Callable[..., HttpResponseBase]

PER_PERIOD = {
    "second": _("per second"),
    "minute": _("per minute"),
    "hour": _("per hour"),
    "day": _("per day"),
}


def throttled(
    *throttle_classes: type[AddressRateThrottle], methods: Collection[str] | None = None
) -> Callable[[View], View]:
    """Count each request of the view (or only those of ``methods``) against every
    throttle; past a limit, answer 429 with ``Retry-After`` and a page in the visitor's
    language that says how long to wait."""

    def decorate(view: View) -> View:
        @wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if methods is None or request.method in methods:
                try:
                    for throttle_class in throttle_classes:
                        throttle_class().count_page_request(request)
                except RateLimited as refusal:
                    return throttled_page(request, refusal)
            return view(request, *args, **kwargs)

        return limited

    return decorate


def throttled_page(request: HttpRequest, refusal: RateLimited) -> HttpResponseBase:
    response = render(
        request,
        "web/throttled.html",
        {
            "wait": refusal.wait,
            "count": refusal.num_requests,
            "per_period": PER_PERIOD[refusal.period],
            "scope": refusal.scope,
        },
        status=429,
    )
    response["Retry-After"] = str(refusal.wait)
    return response
