"""The agent's instruments at a real meter test bench (:class:`agent.instruments.OpenedInstruments`)
against the caltrace-mtb simulator on its own loopback TCP server: the bench opened once,
each position a view over that connection, a position with no meter skipped (or, for the
one meter of a run, refused naming its role), the bench closed once with its source off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.instruments import BenchNotOpened, NoInstrument, OpenedInstruments
from drivers.metertest.caltrace_mtb import CaltraceMeterBench
from drivers.metertest.positions import MeterBenchPosition
from drivers.simulators.caltrace_mtb import SimulatedMeter, SimulatedMeterBench
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import BenchRole


@pytest.fixture
def server() -> Iterator[TcpSimulator]:
    """A bench of three positions, the second empty."""
    bench = SimulatedMeterBench([SimulatedMeter(), None, SimulatedMeter()], serial="MTB-0042")
    with TcpSimulator(bench) as served:
        yield served


def roles(address: str, *positions: str, **options: object) -> dict[str, BenchRole]:
    bench = BenchRole("reference", "caltrace-mtb", address, asset_id="HN-E-MTB", serial="MTB-0042")
    return {
        "reference": bench,
        **{
            name: BenchRole(name, "caltrace-mtb", address, serial=f"EM-{name}", options=options)
            for name in positions
        },
    }


def test_the_positions_are_views_of_the_one_connection(server: TcpSimulator) -> None:
    with OpenedInstruments(
        roles(server.address, "uut@1", "uut@2", "uut@3"), tolerant={"uut@1", "uut@2", "uut@3"}
    ) as bench:
        reference = bench.instrument("reference")
        assert isinstance(reference, CaltraceMeterBench)
        first, third = bench.instrument("uut@1"), bench.instrument("uut@3")
        assert isinstance(first, MeterBenchPosition)
        assert isinstance(third, MeterBenchPosition)
        assert (first.bench, first.number, third.bench, third.number) == (
            reference,
            1,
            reference,
            3,
        )
        with pytest.raises(NoInstrument, match=r"PositionNotMounted: position 2 holds no meter"):
            bench.instrument("uut@2")
        model = server.instrument
        assert isinstance(model, SimulatedMeterBench)
        model.output = True  # as in the middle of a test
    assert server.connections_accepted == 1
    assert model.output is False  # closed once, the source switched off


def test_the_one_meter_of_a_run_at_an_empty_position_refuses_naming_its_role(
    server: TcpSimulator,
) -> None:
    with pytest.raises(BenchNotOpened) as refused:
        OpenedInstruments(roles(server.address, "uut", position=2)).open()
    assert refused.value.message == (
        f"role uut: position 2 of the meter test bench at {server.address}: "
        "PositionNotMounted: position 2 holds no meter (mounted: 1, 3)"
    )


def test_a_bench_with_another_serial_number_is_refused_naming_its_role(
    server: TcpSimulator,
) -> None:
    wrong = roles(server.address, "uut@1")
    wrong["reference"] = BenchRole("reference", "caltrace-mtb", server.address, serial="MTB-9")
    with pytest.raises(BenchNotOpened) as refused:
        OpenedInstruments(wrong, tolerant={"uut@1"}).open()
    assert refused.value.message.startswith(
        f"role reference: caltrace-mtb at {server.address} cannot be opened: IdentityMismatch: "
    )
