"""The demo's benches (``scenarios.demo.load_demo`` writes one bench file each), the
procedure each bench serves, and a job of the demo run on the simulated bench of its bench
file as ``caltrace-agent run --job`` runs it (the agent's view of the LIMS through the
bench's own token, the real runner on :class:`simulation.bench.SimulatedBench`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from agent.config import BenchConfig, load_bench
from procedures import record
from procedures.bench import StandardRecord
from procedures.definition import ProcedureDefinition, definition_from_data
from procedures.runner import Runner
from scenarios.demo import DemoSummary, load_demo
from simulation.bench import SimulatedBench
from simulation.people import SimulatedOperator
from simulation.world import SimulatedTime, SimulatedWorld

BENCHES = {
    "bench-electrical": "dmm-dcv",
    "bench-mass": "nawi-r76",
    "bench-pressure": "pressure-gauge-r101",
    "bench-temperature": "thermometer-bath",
    "bench-flow": "water-meter-r49",
    "bench-flow-hot": "water-meter-r49-hot",
    "bench-fuel": "fuel-dispenser-r117",
    "bench-electricity": "electricity-meter-r46",
}


# -- the agent's view of the LIMS ------------------------------------------------------------


# The demo data set built once for a whole test module (``loaddemo`` takes seconds): a module
# that imports these names has its ``summary`` fixture from :func:`demo_world`, each test in
# its own savepoint of the module's transaction (tests.support.once) with its own copy of
# the files. For modules whose tests write nothing into the demo's folder of bench files.
DEMO_BUILT_ONCE = ("demo_world", "summary_built_once")


@dataclass
class DemoWorld:
    summary: DemoSummary
    media: Path  # where the demo's stored files are


@pytest.fixture(scope="module")
def demo_world(
    django_db_setup: Any,
    django_db_blocker: Any,
    demo_pki_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoWorld]:
    """The demo data set, loaded once for the module, with the folder its files go in."""
    from tests.support.lims import demo_pki_settings
    from tests.support.once import module_transaction

    media = tmp_path_factory.mktemp("demo-media")
    overrides = override_settings(
        MEDIA_ROOT=media, CALTRACE_ANCHOR_DIR=media / "anchors", **demo_pki_settings(demo_pki_dir)
    )
    with module_transaction(django_db_blocker), overrides:
        yield DemoWorld(load_demo(tmp_path_factory.mktemp("demo") / "demo"), media)


@pytest.fixture(name="summary")
def summary_built_once(demo_world: DemoWorld, db: Any, settings: Any) -> DemoSummary:
    """The module's demo for one test: its changes rolled back at its end, its own copy of
    the stored files."""
    shutil.copytree(demo_world.media, settings.MEDIA_ROOT, dirs_exist_ok=True)
    return demo_world.summary


def _get(client: APIClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, (path, response.content)
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def standard_record(client: APIClient, asset_id: str) -> StandardRecord:
    """The standard and its certificates as the LIMS publishes them (LimsClient.standard)."""
    found = _get(client, f"/api/v1/standards/?asset_id={asset_id}")
    assert len(found) == 1, asset_id
    standard = dict(found[0])
    certificates = _get(client, f"/api/v1/standards/{standard['id']}/certificates/")
    return StandardRecord(standard, tuple(dict(c) for c in certificates))


@dataclass
class Work:
    """What the bench's agent fetches before it runs a job."""

    config: BenchConfig
    job: dict[str, Any]
    definition: ProcedureDefinition
    standards: dict[str, StandardRecord]
    instrument: dict[str, Any]


def work_for(summary: DemoSummary, bench: str) -> Work:
    path = next(p for org, name, p in summary.benches if (org, name) == ("HN", bench))
    config = load_bench(path, environ={})
    assert (config.bench, config.organization) == (bench, "HN")
    assert config.lims == "http://127.0.0.1:8000"
    assert config.key == (path.parent / f"HN-{bench}.pem").resolve()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {config.token}")
    # The bench sees exactly one job waiting: its own.
    jobs = _get(client, "/api/v1/jobs/?state=scheduled")
    assert [(j["bench"], j["assignee"]) for j in jobs] == [(bench, "hn-metrologist")]
    job = _get(client, f"/api/v1/jobs/?number={jobs[0]['number']}")[0]
    procedure = _get(client, f"/api/v1/procedures/{job['procedure']}/")
    assets = [r.asset_id for r in config.roles.values() if r.asset_id]
    return Work(
        config=config,
        job=job,
        definition=definition_from_data(procedure["definition"], source=procedure["procedure_id"]),
        standards={a: standard_record(client, a) for a in assets},
        instrument=dict(job["instrument_specification"]),
    )


# -- the run ------------------------------------------------------------------------------


@dataclass
class Recorded:
    """The runner's recorder, in memory."""

    readings: list[tuple[int, str, record.Reading]] = field(default_factory=list)
    points: list[tuple[record.Point, list[int]]] = field(default_factory=list)

    def reading(self, *, point_index: int, quantity: str, reading: record.Reading) -> int:
        self.readings.append((point_index, quantity, reading))
        return len(self.readings)

    def point(self, point: record.Point, reading_ids: list[int]) -> None:
        self.points.append((point, reading_ids))

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        pass


@dataclass
class Outcome:
    standards: list[record.StandardUsed]
    environment: dict[str, Any]
    points: list[record.Point]
    runner: Runner
    recorder: Recorded


def run_on_simulators(
    work: Work,
    *,
    seed: int = 3,
) -> Outcome:
    """Preflight, environment and every point of ``work`` on the simulated bench of its
    bench file."""
    world = SimulatedWorld(seed=seed, time_constant_s=0.02, settle_s=0.05)
    clock = SimulatedTime(real_pause_s=0.003)
    recorder = Recorded()
    with SimulatedBench(work.config.roles, world) as bench:
        simulated = SimulatedOperator(world)
        runner = Runner(
            work.definition,
            bench=bench,
            operator=simulated,
            recorder=recorder,
            standards=work.standards,
            instrument=work.instrument,
            on=timezone.localdate(),
            sleep=clock.sleep,
            clock=clock.clock,
        )
        standards = runner.preflight()
        environment = runner.read_environment()
        points = runner.run()
    return Outcome(standards, environment, points, runner, recorder)
