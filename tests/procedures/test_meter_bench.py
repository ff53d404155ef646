"""Which roles of a bench are a meter test bench's positions (procedures/meter_bench.py):
read the same way for the real bench (the agent) and the simulated one."""

from __future__ import annotations

import pytest

from procedures.bench import BenchRole
from procedures.meter_bench import MeterBenchLayoutError, meter_bench_layout

A = "TCPIP::192.0.2.50::5025::SOCKET"
B = "TCPIP::192.0.2.51::5025::SOCKET"


def role(name: str, address: str, driver: str = "caltrace-mtb", **options: object) -> BenchRole:
    return BenchRole(name, driver, address, options=options)


def test_positions_belong_to_the_bench_at_their_address() -> None:
    roles = {
        "reference": role("reference", A),
        "uut@1": role("uut@1", A),
        "uut@3": role("uut@3", A),
        "uut@2": role("uut@2", B),  # no bench at B
        "environment": role("environment", A, driver="manual"),
    }
    layout = meter_bench_layout(roles)
    assert list(layout.benches) == ["reference"]
    assert layout.positions == {
        "uut@1": ("reference", 1),
        "uut@3": ("reference", 3),
        "uut@2": (None, 2),
    }
    assert layout.positions_of("reference") == {1: "uut@1", 3: "uut@3"}


def test_a_run_of_one_meter_names_its_position_by_option() -> None:
    layout = meter_bench_layout(
        {"reference": role("reference", A), "uut": role("uut", A, position=4)}
    )
    assert layout.positions == {"uut": ("reference", 4)}
    assert meter_bench_layout({"uut": role("uut", A)}).positions == {"uut": (None, 1)}


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        (
            {"uut@1": role("uut@1", A), "uut": role("uut", A, position=1)},
            "role 'uut': position 1 is described twice (role 'uut@1')",
        ),
        (
            {"uut": role("uut", A, position=1.5)},
            "role 'uut': position 1.5 is not a whole number ≥ 1",
        ),
        (
            {"uut": role("uut", A, position="2")},
            "role 'uut': position '2' is not a whole number ≥ 1",
        ),
        (
            {"reference": role("reference", A), "bench": role("bench", A)},
            f"role 'bench': the meter test bench at {A} is role 'reference' already",
        ),
    ],
)
def test_contradicting_roles_are_refused_naming_the_role(
    roles: dict[str, BenchRole], message: str
) -> None:
    with pytest.raises(MeterBenchLayoutError) as refused:
        meter_bench_layout(roles)
    assert str(refused.value) == message
