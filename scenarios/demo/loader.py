"""Create the demo data set through the LIMS's services, from what :func:`read_demo` read.

The order is the data's: organizations, people, the catalog (instrument types, patterns,
procedures), the standards with their certificates, the agents without a bench, the
instruments under test, then each bench (its agent, its bench file, its job accepted and
scheduled to it). Every record goes through the services, so the demo has a real audit
trail; a record the LIMS refuses is reported at the place of the data that declared it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from labserver.accounts.models import Organization
from labserver.jobs import services as jobs
from labserver.jobs.models import Job

from .benches import create_agent, write_bench_file
from .catalog import create_catalog
from .data import DemoData, read_demo
from .instruments import create_instruments
from .organizations import create_organizations, create_people
from .standards import create_standards
from .where import blame


@dataclass
class DemoSummary:
    organizations: list[str] = field(default_factory=list)
    users: list[tuple[str, str, str]] = field(default_factory=list)
    """(username, role, organization code) of every person."""
    agents: list[tuple[str, str, str, Path]] = field(default_factory=list)
    """(organization code, agent name, token, private key file) of every agent."""
    benches: list[tuple[str, str, Path]] = field(default_factory=list)
    """(organization code, bench name, bench configuration file) of every demo bench of
    one instrument under test."""
    position_benches: list[tuple[str, str, Path]] = field(default_factory=list)
    """The same of every demo bench with positions (several instruments, each with its
    job on the bench)."""
    standards: int = 0
    jobs: list[str] = field(default_factory=list)


def is_loaded(data: DemoData | None = None) -> bool:
    """Whether the demo's first organization exists (then the data set is there)."""
    return Organization.objects.filter(code=(data or read_demo()).marker).exists()


@transaction.atomic
def load_demo(keys_dir: Path, data: DemoData | None = None) -> DemoSummary:
    """Create the demo data set (:func:`read_demo`'s unless ``data`` is given), writing the
    agents' keys, tokens and bench files to ``keys_dir``; refuses if it is already there."""
    data = data or read_demo()
    if is_loaded(data):
        raise RuntimeError(f"the demo data is already loaded (organization {data.marker} exists)")
    summary = DemoSummary()
    orgs = create_organizations(data.organizations)
    summary.organizations = list(orgs)
    people = create_people(data.people, orgs)
    summary.users = [(p.username, p.role, p.organization) for p in data.people]
    actors = {code: people[username] for code, username in data.registrars().items()}
    catalog = create_catalog(data.catalog)
    create_standards(data.standards, orgs, actors)
    summary.standards = len(data.standards)

    for spec in data.benches.agents:
        org, actor = orgs[spec.organization], actors[spec.organization]
        with blame(spec.where):
            _, token, key = create_agent(org, spec.name, actor, keys_dir)
        summary.agents.append((org.code, spec.name, token, key))

    by_serial = create_instruments(data.instruments, catalog, orgs, actors)
    under_test = {i.procedure: i.serial for i in data.instruments if i.bench is None}
    benches = data.benches
    due_on = timezone.localdate() + timedelta(days=benches.due_in_days)
    for bench in benches.benches:
        org, actor = orgs[bench.organization], actors[bench.organization]
        with blame(bench.where):
            agent, token, key = create_agent(org, bench.name, actor, keys_dir)
            summary.agents.append((org.code, bench.name, token, key))
            path = write_bench_file(bench, benches.lims, keys_dir)
            listed = summary.position_benches if bench.positions else summary.benches
            listed.append((org.code, bench.name, path))
            # a bench with positions: each instrument mounted has its own job
            for serial in bench.serials or [under_test[bench.procedure]]:
                job = jobs.create_job(
                    actor=actor,
                    instrument=by_serial[serial],
                    procedure=catalog.procedures[bench.procedure],
                    due_on=due_on,
                    notes=benches.notes,
                )
                job = jobs.accept_job(actor=actor, job=job)
                job = jobs.schedule_job(
                    actor=actor, job=job, assignee=people[benches.assignee], bench=agent
                )
                line = _job_line(job, bench.procedure)
                summary.jobs.append(f"{line}: meter {serial}" if bench.positions else line)
    return summary


def _job_line(job: Job, procedure_id: str) -> str:
    bench = job.bench.name if job.bench else "-"
    assignee = job.assignee.username if job.assignee else "-"
    return (
        f"{job.organization.code} {job.number} {procedure_id} ({job.state}) "
        f"bench {bench}, {assignee}"
    )
