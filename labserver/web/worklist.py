"""The work waiting for a person, shown on the signed-in home page.

The home page starts from the person: for each role they hold, what is waiting for them
there (my jobs, runs to review, certificates to issue, standards falling due, open
nonconformities), with a count and a link to the page where the work is done. The pages
that know the records register their counters here (``web`` sits below the apps that own
jobs, runs and certificates and must not import them); a counter is given the person and
the organizations where they hold its role, and counts only there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from labserver.accounts.access import organization_ids_with_role
from labserver.accounts.models import Role, User

Counter = Callable[[User, set[int]], int]


@dataclass(frozen=True)
class WorkItem:
    """One line of the home page: ``label`` (lazily translated) and how many, for ``role``."""

    key: str
    role: str
    label: Any
    url_name: str
    count: Counter
    query: str = ""


WORKLIST: list[WorkItem] = []


def register(item: WorkItem) -> None:
    if all(existing.key != item.key for existing in WORKLIST):
        WORKLIST.append(item)


def work_for(user: User) -> list[dict[str, Any]]:
    """The person's lines, in the order of the roles, each counted in the organizations
    where the person holds that line's role."""
    lines = []
    for role in Role.values:
        organizations = organization_ids_with_role(user, role)
        if not organizations:
            continue
        for item in WORKLIST:
            if item.role != role:
                continue
            url = reverse(item.url_name) + (f"?{item.query}" if item.query else "")
            lines.append(
                {
                    "key": item.key,
                    "role": Role(role).label,
                    "label": item.label,
                    "count": item.count(user, organizations),
                    "url": url,
                }
            )
    return lines
