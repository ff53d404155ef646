"""A multi-meter water bench in the agent's tests: the live LIMS's center with a reference
flow meter, water meters registered each with its own job of ``water-meter-r49`` on the
bench, and the bench file that mounts them at its positions (meters in series against
the reference, :func:`simulation.flow.meters_in_series`'s simulated errors).

Each meter is registered once with its own job, as the LIMS will require of every
measured position (issue 20): the job a run names (``--job``) is one of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from procedures.definition import library, load_definition
from tests.support.agent import Lims, write_bench
from tests.support.lims import TODAY, person
from tests.support.positions import ACTUAL, HIGH

WATER = load_definition(library()["water-meter-r49"])
MAP = Path(__file__).resolve().parents[2] / "drivers" / "maps" / "onicon-f3100.yaml"
# Q3 = 4 m3/h, R = 160, class 2 (the demo's meters).
METER = {"accuracy_class": 2, "q3": 4.0, "ratio": 160.0}
REGISTER = "manual://volume?unit=m3&min=0&max=99999.9999&resolution=0.0001"
REFERENCE = (
    "{driver: modbus-map, address: 'modbus-tcp://127.0.0.1:5503?unit=1', asset_id: %(flow)s,"
    f" options: {{map_file: '{MAP}', registers: {{volume: positive_total}}}}}}"
)


@dataclass
class FlowBench:
    """The live LIMS with a water-meter bench: the reference standard, the metrologist
    qualified for volume and flow, and the meters with their jobs, by serial."""

    lims: Lims
    standard: Any
    metrologist: Any
    meters: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Any] = field(default_factory=dict)

    def register(self, serial: str, *, job: bool = True) -> None:
        """Register the water meter ``serial`` of the center's customer and, with ``job``,
        give it its accepted job of water-meter-r49 on the bench."""
        from labserver.instruments import services as instruments
        from labserver.instruments.models import InstrumentType

        c = self.lims.center
        meter = instruments.register_instrument(
            actor=c.quality_manager,
            organization=c.org,
            owner=c.instrument.owner,
            instrument_type=InstrumentType.objects.get(code="water-meter"),
            manufacturer="Itron",
            model="Flodis DN20",
            serial=serial,
            specification=dict(METER),
        )
        self.meters[serial] = meter
        if job:
            self.jobs[serial] = self.new_job(serial)

    def open_jobs(self) -> None:
        """Give each registered meter whose job has taken its run a new job (a job takes
        one run)."""
        from labserver.jobs.services import ACCEPTS_RUNS

        for serial, job in self.jobs.items():
            job.refresh_from_db()
            if job.state not in ACCEPTS_RUNS:
                self.jobs[serial] = self.new_job(serial)

    def new_job(self, serial: str) -> Any:
        from labserver.jobs import services as jobs
        from labserver.jobs.models import Procedure

        c = self.lims.center
        procedure = Procedure.objects.get(procedure_id=WATER.id, version=WATER.version)
        made = jobs.create_job(
            actor=c.quality_manager,
            instrument=self.meters[serial],
            procedure=procedure,
            bench=c.agent,
        )
        return jobs.accept_job(actor=c.quality_manager, job=made)

    def bench_file(
        self,
        directory: Path,
        serials: Sequence[str],
        *,
        options: Mapping[int, str] | None = None,
        url: str | None = None,
    ) -> Path:
        """The bench file: the reference meter, and ``serials`` at positions 1, 2...
        (``options``: a position's simulated meter, e.g. ``{high_flow: 0.05}``)."""
        positions = {
            n: f"{{driver: manual, address: '{REGISTER}', serial: {serial}"
            + (f", options: {(options or {})[n]}" if n in (options or {}) else "")
            + "}"
            for n, serial in enumerate(serials, start=1)
        }
        return write_bench(
            directory,
            self.lims,
            url=url,
            roles={"reference": REFERENCE % {"flow": self.standard.asset_id, "asset": ""}},
            positions=positions,
        )


# The simulated meter at position 2 of the tests' bench reads 5 % high at high flows.
HIGH_OPTIONS = f"{{high_flow: {HIGH.high_flow}}}"


@pytest.fixture
def flow_bench(lims: Lims) -> FlowBench:
    """The live LIMS's center with its water-meter bench, four meters WM-0001 to WM-0004
    registered, each with its job."""
    from labserver.instruments.models import InstrumentType
    from labserver.jobs import services as jobs
    from labserver.standards import services as standards

    c = lims.center
    InstrumentType.objects.create(
        code="water-meter", name="Cold water meter", field="volume_flow", legal_category="group_1"
    )
    jobs.register_procedure(actor=None, definition=dict(WATER.data))
    standard = standards.register_standard(
        actor=c.quality_manager,
        organization=c.org,
        asset_id=f"{c.org.code}-V-FLOW",
        name="Reference flow meter",
        field="volume_flow",
        calibration_interval_months=12,
        manufacturer="ONICON",
        model="F-3100",
        functions=[
            {"role": "reference", "function": "volume", "unit": "L", "min": 0, "max": 10000}
        ],
    )
    standards.record_certificate(
        actor=c.quality_manager,
        standard=standard,
        number=f"NMI-{c.org.code}-V-001",
        issuing_lab="National Metrology Institute",
        accreditation="CIPM MRA",
        calibrated_on=TODAY - timedelta(days=100),
        issued_on=TODAY - timedelta(days=95),
        due_on=TODAY + timedelta(days=265),
        values=[
            {"quantity": "volume", "nominal": n, "value": v, "unit": "L", "U": 0.01, "k": 2}
            for n, v in ACTUAL.items()
        ],
    )
    metrologist = person(c.org, f"{c.org.code.lower()}-flow", "metrologist", ["volume_flow"])
    bench = FlowBench(lims, standard, metrologist)
    for n in range(1, 5):
        bench.register(f"WM-{n:04d}")
    return bench
