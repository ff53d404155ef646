"""A customer's request for the tests: the center's customer asks, through the service, for
a calibration of the center's multimeter in the lab."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from labserver.accounts.models import User
from labserver.customer_requests import services
from labserver.customer_requests.models import CustomerRequest
from tests.support.lims import TODAY, Center, customer_of


def ask(center: Center, customer: User | None = None, **changes: Any) -> CustomerRequest:
    """A submitted request of ``center``'s customer for its multimeter (``changes`` replace
    the service's arguments)."""
    arguments: dict[str, Any] = {
        "actor": customer or customer_of(center),
        "instruments": [center.instrument],
        "kind": "calibration",
        "place": "lab",
        "wished_on": TODAY + timedelta(days=7),
        "note": "Before the audit, please.",
        **changes,
    }
    return services.submit_request(**arguments)
