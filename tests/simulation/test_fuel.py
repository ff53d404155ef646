"""The simulated fuel dispenser and its proving cans (simulation.fuel): each delivery is read
afresh, the display with the dispenser's error, the can less its certificate's correction."""

from __future__ import annotations

from typing import cast

import pytest

from drivers.manual.entry import ManualVolumeRegister
from procedures.bench import BenchRole
from simulation.bench import SimulatedBench
from simulation.errors import SimulationError
from simulation.fuel import UUT_DISPENSER
from simulation.world import SimulatedWorld

DISPLAY = BenchRole(
    "uut",
    "manual",
    "manual://volume?unit=L&min=0&max=9999.99&resolution=0.01",
    options={"simulates": "dispenser", "decimal_comma": 0},
)
CAN = BenchRole(
    "can",
    "manual",
    "manual://volume?unit=L&min=19.8&max=20.2&resolution=0.001",
    options={"simulates": "proving-can", "correction": 0.004, "decimal_comma": 0},
)


def test_each_delivery_is_read_on_a_display_reset_to_zero_and_an_emptied_can() -> None:
    world = SimulatedWorld(seed=1)
    assert world.last_flow() == (0.0, 0.0)
    with SimulatedBench({"uut": DISPLAY, "can": CAN}, world) as bench:
        for rate in (2.4, 0.3):  # m3/h: 40 and 5 L/min
            world.run_flow(rate, 0.020)
            assert world.last_flow() == pytest.approx((rate, 0.020))
            display = cast(ManualVolumeRegister, bench.instrument("uut")).read_volume()
            can = cast(ManualVolumeRegister, bench.instrument("can")).read_volume()
            assert display.value == pytest.approx(20 * (1 + UUT_DISPENSER.error(rate)), abs=0.005)
            assert can.value == pytest.approx(20 - 0.004, abs=0.0005)
    assert UUT_DISPENSER.error(2.4) == pytest.approx(1.44e-3, abs=1e-5)
    assert UUT_DISPENSER.error(0.3) == pytest.approx(-0.62e-3, abs=1e-5)


def test_a_role_that_cannot_be_what_it_simulates_is_refused_naming_it() -> None:
    thermometer_as_can = BenchRole(
        "thermometer",
        "manual",
        "manual://temperature?unit=degC&min=-10&max=60&resolution=0.1",
        options={"simulates": "proving-can"},
    )
    with pytest.raises(SimulationError, match=r"role 'thermometer'.*'proving-can'"):
        SimulatedBench({"thermometer": thermometer_as_can}).start()
