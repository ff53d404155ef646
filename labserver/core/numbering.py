"""Gap-free numbers: the counter row is locked until the transaction that uses the number ends."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from .models import Counter


def next_value(key: str) -> int:
    """The next value of ``key``'s sequence; call inside the transaction that uses it."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_value must run inside the transaction that uses the number")
    if not Counter.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                Counter.objects.create(key=key, value=0)
        except IntegrityError:
            pass  # created concurrently
    counter = Counter.objects.select_for_update().get(key=key)
    counter.value += 1
    counter.save(update_fields=["value"])
    return counter.value
