"""Driver registry: driver name → driver class, capabilities, simulator factory.

Entries name their driver and simulator as ``"module:attribute"`` strings, imported on
first use: listing the registry does not load every instrument library (pymodbus,
pyserial...), and a broken optional driver cannot break the others.

Adding a driver is one line at the bottom of this module::

    register("fluke-5522a", "drivers.fluke.f5522a:Fluke5522A",
             simulator="drivers.simulators.fluke_5522a:start_fluke_5522a",
             summary="Fluke 5522A multifunction calibrator")

The driver class follows :class:`drivers.driver.Driver` (``name``, ``capabilities``,
``open(address, options)``, ``identity``, ``io_log``, ``close``) and its ``name`` equals
the registered name. The simulator factory follows
:data:`drivers.simulators.base.SimulatorFactory`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, cast

from drivers.capabilities import DriverCapabilities
from drivers.driver import Driver
from drivers.simulators.base import SimulatorFactory

__all__ = ["DriverEntry", "UnknownDriver", "entries", "get", "names", "register"]


class UnknownDriver(LookupError):
    """No driver is registered under this name."""

    def __init__(self, name: str) -> None:
        known = ", ".join(names()) or "none"
        super().__init__(f"unknown driver {name!r} (known: {known})")
        self.name = name


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """One registered driver: its name, where its class and simulator live, a summary."""

    name: str
    driver: str
    simulator: str | None = None
    summary: str = ""

    def load_driver(self) -> type[Driver]:
        """Import and return the driver class."""
        cls = cast(type[Driver], _load(self.driver))
        if getattr(cls, "name", None) != self.name:
            raise TypeError(f"{self.driver} declares name {getattr(cls, 'name', None)!r}")
        return cls

    @property
    def capabilities(self) -> DriverCapabilities:
        """What the driver declares it can measure and source."""
        return self.load_driver().capabilities

    def load_simulator(self) -> SimulatorFactory | None:
        """Import and return the simulator factory (None when there is no simulator)."""
        if self.simulator is None:
            return None
        return cast(SimulatorFactory, _load(self.simulator))


_REGISTRY: dict[str, DriverEntry] = {}


def register(
    name: str, driver: str, *, simulator: str | None = None, summary: str = ""
) -> DriverEntry:
    """Register a driver under ``name`` (``driver``/``simulator`` as ``"module:attr"``)."""
    for target in (driver, simulator):
        if target is not None and target.count(":") != 1:
            raise ValueError(f"expected 'module:attribute', got {target!r}")
    if name in _REGISTRY:
        raise ValueError(f"driver {name!r} is already registered")
    entry = DriverEntry(name, driver, simulator, summary)
    _REGISTRY[name] = entry
    return entry


def get(name: str) -> DriverEntry:
    """The entry registered under ``name``; :class:`UnknownDriver` otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDriver(name) from None


def names() -> tuple[str, ...]:
    """Registered driver names, in registration order."""
    return tuple(_REGISTRY)


def entries() -> tuple[DriverEntry, ...]:
    """Registered entries, in registration order."""
    return tuple(_REGISTRY.values())


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


# -- built-in drivers: one registration per line, kept apart so parallel additions merge --
# fmt: off

register("keysight-34465a", "drivers.keysight.k34465a:Keysight34465A", simulator="drivers.simulators.keysight_34465a:start_keysight_34465a", summary="Keysight 34465A 6½-digit DMM (SCPI)")  # noqa: E501

register("keysight-34470a", "drivers.keysight.k34465a:Keysight34470A", simulator="drivers.simulators.keysight_34465a:start_keysight_34470a", summary="Keysight 34470A 7½-digit DMM (SCPI)")  # noqa: E501

register("fluke-5522a", "drivers.fluke.f5522a:Fluke5522A", simulator="drivers.simulators.fluke_5522a:start_fluke_5522a", summary="Fluke 5522A multi-product calibrator (IEEE 488.2)")  # noqa: E501

register("mettler-sics", "drivers.mettler.sics:MettlerToledoSics", simulator="drivers.simulators.mettler_sics:start_mettler_sics", summary="Mettler Toledo balance, MT-SICS level 0/1 (serial)")  # noqa: E501

register("druck-pace", "drivers.druck.pace:DruckPace", simulator="drivers.simulators.druck_pace:start_druck_pace", summary="Druck PACE5000/PACE6000 pressure controller (SCPI)")  # noqa: E501

register("eurotherm-3200", "drivers.eurotherm.e3200:Eurotherm3200", simulator="drivers.simulators.eurotherm_3200:start_eurotherm_3200", summary="Eurotherm 3200-series controller as a calibration bath (Modbus; decimals=N in the address)")  # noqa: E501

register("modbus-map", "drivers.generic.modbus_map:ModbusMapDevice", simulator="drivers.simulators.modbus_map:start_modbus_map", summary="Generic Modbus device from a register-map YAML (--map FILE)")  # noqa: E501

register("caltrace-mtb", "drivers.metertest.caltrace_mtb:CaltraceMeterBench", simulator="drivers.simulators.caltrace_mtb:start_caltrace_mtb", summary="Electricity-meter test bench on caltrace's own command set (not a vendor's; TCP)")  # noqa: E501

register("iec62056-21", "drivers.optical.driver:Iec62056Meter", simulator="drivers.simulators.optical_meter:start_iec62056_meter", summary="Electricity meter read through its optical port, IEC 62056-21 mode C (serial probe or socket://)")  # noqa: E501

register("dlms-cosem", "drivers.optical.driver:DlmsMeter", simulator="drivers.simulators.dlms_meter:start_dlms_meter", summary="Electricity meter read in DLMS/COSEM over TCP (dlms+tcp://HOST:PORT): serial and energy import")  # noqa: E501

register("manual", "drivers.manual.entry:ManualEntry", summary="Manual entry: an instrument read by eye, its value typed at a prompt")  # noqa: E501

# fmt: on
