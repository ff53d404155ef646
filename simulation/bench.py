"""A simulated bench: the simulators of a bench's roles, coupled through one physical world.

:class:`SimulatedBench` starts one simulator per role on loopback (ephemeral ports), opens
the real driver on it, couples it to the :class:`~simulation.world.SimulatedWorld` through
the module of its family (:mod:`simulation.electrical`, :mod:`~simulation.mass`,
:mod:`~simulation.pressure`, :mod:`~simulation.temperature`, :mod:`~simulation.flow`), and
is a :class:`procedures.bench.Bench`. An instrument read by eye is typed at its
manual-entry prompt by a :class:`~simulation.people.SimulatedTypist`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Protocol, Self, TextIO, cast

from drivers import registry
from drivers.capabilities import OutputControl
from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.generic.modbus_map import load_register_map, split_map_option
from drivers.manual.entry import ManualEntry, ManualEntryConfig, parse_manual_address
from drivers.metertest.bench import MeterTestBench
from drivers.metertest.positions import MeterBenchPosition
from drivers.optical.driver import split_device_address
from drivers.simulators.base import Fault, RunningSimulator, SimulatorOptions
from drivers.simulators.caltrace_mtb import SimulatedMeterBench
from drivers.simulators.druck_pace import SimulatedPace
from drivers.simulators.eurotherm_3200 import SimulatedEurotherm3200
from drivers.simulators.fluke_5522a import SimulatedFluke5522A
from drivers.simulators.keysight_34465a import SimulatedKeysight344xxA
from drivers.simulators.mettler_sics import SimulatedSicsBalance
from drivers.simulators.modbus import ModbusSimulator
from drivers.simulators.modbus_map import (
    DEFAULT_MAP,
    ModbusMapSimulator,
    SimulatedMapDevice,
)
from drivers.simulators.pty import PtySimulator
from drivers.simulators.tcp import TcpSimulator
from procedures.bench import OPTICAL_ROLE, POSITION_ROLE, BenchRole
from procedures.meter_bench import MeterBenchLayout, MeterBenchLayoutError, meter_bench_layout

from .electrical import couple_calibrator, couple_meter
from .energy import meter_bench
from .errors import NoInstrument, SimulationError
from .flow import couple_flow_meter, register_typist
from .fuel import FUEL_ROLES, can_typist, display_typist, fuel_thermometer_typist
from .mass import couple_balance
from .optical import start_probe
from .options import number_option
from .people import SimulatedTypist
from .pressure import couple_controller, gauge_typist
from .temperature import couple_bath, room_typist, thermometer_typist
from .world import SimulatedWorld

__all__ = ["OPTICAL_DRIVERS", "SimulatedBench"]

OPTICAL_DRIVERS = frozenset({"iec62056-21", "dlms-cosem"})
"""The drivers of a meter's optical port: a role of one is started after the meter test
bench, its meter's register coupled to the bench's position (:meth:`SimulatedBench.start`)."""


class SimulatedBench:
    """A :class:`procedures.bench.Bench` of simulators coupled through ``world``.

    ``roles``: the bench's roles by name (their ``address`` is the configured one; the
    simulators replace it). ``driver_options``: how the drivers are opened (the role's
    ``serial`` becomes ``expected_serial``, and the simulator reports it).

    :meth:`start` starts one simulator per role on loopback (ephemeral ports), opens the
    real driver on it and couples it to the world; roles with driver ``none`` (a passive
    standard) have no instrument; ``manual`` roles are typed by a
    :class:`SimulatedTypist`. :meth:`close` closes the drivers, then stops the simulators.
    Use it as a context manager.

    Role options understood (numbers, SI units unless said):

    * DMM (``keysight-34465a``/``-34470a``): ``gain_error`` (relative) and ``offset`` (V) of
      its DC voltage (default :data:`~simulation.electrical.UUT_VOLTMETER` in the ``uut``
      role, none elsewhere); ``R0`` (ohm), ``A``, ``B``, ``C``, ``deviation`` (°C) of the
      PRT on its 4-wire (and 2-wire) ohms input (default
      :class:`~simulation.temperature.PrtCoefficients`);
    * balance (``mettler-sics``): ``capacity``, ``readability`` (g);
    * bath (``eurotherm-3200``): ``noise`` (°C, default
      :data:`~simulation.temperature.BATH_NOISE`);
    * reference meter (``modbus-map``): ``map_file`` (else ``map=`` in the address, else
      the TUF-2000M map), ``flow_register``, ``total_register``,
      ``total_fraction_register`` (register names; defaults ``flow_rate``,
      ``positive_total``, ``positive_total_fraction``), ``error`` (relative, default
      :data:`~simulation.flow.REFERENCE_METER`);
    * manual entry: ``decimal_comma`` (probability 0 to 1, default 0.5),
      ``register_start`` (a water meter's register before the first flow, in the
      address's unit, default 0); a water meter's ``high_flow``, ``low_flow_drop`` and
      ``q0`` (its error profile, default :data:`~simulation.flow.UUT_WATER_METER`), so
      that each meter in series on a multi-meter bench (``uut@1``, ``uut@2``... of
      :func:`~simulation.flow.meters_in_series`) has its own error; ``simulates``:
      ``dispenser``, ``proving-can`` (with ``correction``, L) or ``fuel-thermometer``
      (with ``fuel_temperature``, °C), a fuel dispenser's field verification
      (:mod:`simulation.fuel`);
    * meter test bench (``caltrace-mtb``): one simulated bench for the bench's own role
      and the roles of its positions at the same address (``uut@N``, or ``uut``), each
      position a view over the one bench connection; the bench's ``positions``,
      ``speed`` and ``phases``, each position's meter (``empty``, ``constant``,
      ``error``, ``creep``) and faults (``silent``, ``lost_pulses``):
      :mod:`simulation.energy`;
    * a meter's optical port (``iec62056-21``, ``dlms-cosem``) in role ``optical@N`` (or
      ``optical``): the meter of the bench's position in ``uut@N`` (or ``uut``) answering
      on its probe (:func:`simulation.optical.start_probe`: ``register``,
      ``register_decimals``, ``optical_serial``, ``optical_silent``, from its own options
      over the position's), its 1.8.0 register counting the energy the simulated bench
      applied to that meter times ``1 + register_error/100`` (the position's
      ``register_error``, else its ``error``). Its driver is opened when the role is
      first asked for: a probe that does not answer faults that role only.
    """

    def __init__(
        self,
        roles: Mapping[str, BenchRole],
        world: SimulatedWorld | None = None,
        *,
        driver_options: DriverOptions | None = None,
    ) -> None:
        self.world = world if world is not None else SimulatedWorld()
        self._configured = dict(roles)
        self._roles = dict(roles)
        self._options = driver_options or DriverOptions()
        self._instruments: dict[str, object] = {}
        self._simulators: dict[str, RunningSimulator] = {}
        self._typists: dict[str, SimulatedTypist] = {}
        self._layout = MeterBenchLayout()
        """The meter test benches among the roles and their positions' roles."""
        self._meter_models: dict[str, SimulatedMeterBench] = {}
        """The simulated meter test benches, by their bench role."""
        self._probes: dict[str, _Probe] = {}
        self._optical_failed: dict[str, DriverError] = {}
        self._drivers: list[_Closable] = []
        self._simulation = ExitStack()
        self._started = False

    # -- Bench ---------------------------------------------------------------------------

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        """The roles, by name; once started, each address is the simulator's."""
        return dict(self._roles)

    @property
    def configured_roles(self) -> Mapping[str, BenchRole]:
        """The roles as configured (addresses of the real bench, for display)."""
        return dict(self._configured)

    def instrument(self, role: str) -> object:
        """The opened driver in ``role``; :class:`NoInstrument` for a passive standard or a
        role the bench does not have."""
        if role in self._instruments:
            return self._instruments[role]
        if role in self._layout.positions:
            return self._position(role)
        if role in self._probes:
            return self._optical(role)
        configured = self._configured.get(role)
        if configured is None:
            known = ", ".join(self._configured) or "none"
            raise NoInstrument(f"the bench has no role {role!r} (roles: {known})")
        if configured.driver == "none":
            raise NoInstrument(
                f"role {role!r} is a passive standard (driver none): it has no instrument"
            )
        raise NoInstrument(f"role {role!r} is not open: start the simulated bench first")

    # -- access for tests and demos ------------------------------------------------------

    def simulator(self, role: str) -> RunningSimulator | None:
        """The running simulator of ``role`` (to inject faults), None for none."""
        return self._simulators.get(role)

    def inject_probe(self, role: str, fault: Fault) -> None:
        """Inject ``fault`` into the simulated meter answering on the optical port of
        ``role`` (``optical@N``): a probe that goes silent during a run."""
        try:
            probe = self._probes[role]
        except KeyError:
            raise NoInstrument(f"role {role!r} is not a simulated optical port") from None
        probe.inject(fault)

    def typist(self, role: str) -> SimulatedTypist:
        """The typist of a manual-entry ``role``."""
        try:
            return self._typists[role]
        except KeyError:
            raise NoInstrument(f"role {role!r} is not typed by hand") from None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Start, open and couple every role; on failure everything started is released."""
        if self._started:
            return self
        self._started = True
        try:
            try:
                self._layout = meter_bench_layout(self._configured)
            except MeterBenchLayoutError as err:
                raise SimulationError(str(err)) from None
            for name, role in self._configured.items():
                if role.driver not in OPTICAL_DRIVERS:
                    self._start_role(name, role)
            # after the meter test benches: each meter's register counts what they apply
            for name, role in self._configured.items():
                if role.driver in OPTICAL_DRIVERS:
                    self._start_optical(name, role)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close every driver, the sources first (each leaves its output in standby), then
        stop every simulator and uncouple the world; idempotent."""
        drivers, self._drivers = self._drivers, []
        # Sources first: VISA drivers share one resource manager, and closing any of them
        # closes the others' links, so a source closed later could not reach its standby.
        latest_first = drivers[::-1]
        order: list[_Closable] = [d for d in latest_first if isinstance(d, OutputControl)]
        order += [d for d in latest_first if not isinstance(d, OutputControl)]
        try:
            with ExitStack() as closing:  # every driver is closed, whatever fails
                for driver in reversed(order):
                    closing.callback(driver.close)
        finally:
            try:
                self._simulation.close()
            finally:
                self._started = False
                self._instruments.clear()
                self._simulators.clear()
                self._typists.clear()
                self._layout = MeterBenchLayout()
                self._meter_models.clear()
                self._probes.clear()
                self._optical_failed.clear()
                self._roles = dict(self._configured)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one role ------------------------------------------------------------------------
    # Two exit stacks, unwound in reverse order of the roles: the drivers first (a source's
    # driver leaves it in standby through its simulator), then the couplings and the
    # simulators.

    def _start_role(self, name: str, role: BenchRole) -> None:
        if role.driver == "none":
            return
        if role.driver == "manual":
            self._start_manual(name, role)
            return
        if name in self._layout.positions:
            return  # a view of a meter bench's position, opened when asked for
        entry = registry.get(role.driver)
        seed = self.world.seed_for(name)
        simulator: RunningSimulator
        if role.driver == "modbus-map":
            simulator = self._start_map_device(role, seed)
        elif name in self._layout.benches:
            positions = self._layout.positions_of(name)
            described = {n: self._configured[r] for n, r in positions.items()}
            model = meter_bench(role, described)
            self._meter_models[name] = model
            simulator = TcpSimulator(model).start()
        else:
            factory = entry.load_simulator()
            if factory is None:
                raise SimulationError(
                    f"role {name!r}: driver {role.driver!r} has no simulator to stand for it"
                )
            simulator = factory(
                SimulatorOptions(seed=seed, serial=role.serial, value=self._start_value(role))
            )
        self._simulation.callback(simulator.stop)
        self._simulators[name] = simulator
        self._couple(name, role, _model(simulator))
        self._roles[name] = replace(role, address=simulator.address)
        driver = entry.load_driver().open(
            simulator.address, replace(self._options, expected_serial=role.serial)
        )
        self._drivers.append(driver)
        self._instruments[name] = driver

    def _position(self, role: str) -> MeterBenchPosition:
        """The view of a meter bench's position (PositionNotMounted where no meter is)."""
        of, number = self._layout.positions[role]
        bench = self._instruments.get(of) if of is not None else None
        if not isinstance(bench, MeterTestBench):
            address = self._configured[role].address
            raise NoInstrument(
                f"role {role!r}: no meter test bench of the bench is at its address {address}"
            )
        view = MeterBenchPosition(bench, number)
        self._instruments[role] = view
        return view

    def _start_optical(self, name: str, role: BenchRole) -> None:
        """Start the simulated meter answering on the optical port of ``role``, coupled to
        its position of a meter test bench where the bench has one; its driver is opened
        when asked for (:meth:`_optical`)."""
        probe_address, device = (
            split_device_address(role.address)
            if role.driver == "iec62056-21"
            else (role.address, "")
        )
        meter_name = POSITION_ROLE + name.removeprefix(OPTICAL_ROLE)
        meter = self._configured.get(meter_name)
        options = {**(meter.options if meter is not None else {}), **role.options}
        advance = None
        if meter_name in self._layout.positions:
            of, number = self._layout.positions[meter_name]
            model = self._meter_models.get(of) if of is not None else None
            if model is not None:
                advance = functools.partial(model.registered_kwh, number)
        probe = start_probe(replace(role, options=options), probe_address, device, advance)
        self._simulation.callback(probe.stop)
        self._probes[name] = probe
        served = probe.address + (f"#device={device}" if device else "")
        self._roles[name] = replace(role, address=served)

    def _optical(self, name: str) -> object:
        """The driver of the optical port ``name``, opened at the first call (its first
        readout checks the meter's serial); its fault, kept, at every call after."""
        if name in self._optical_failed:
            raise self._optical_failed[name]
        role = self._roles[name]
        try:
            driver = (
                registry.get(role.driver)
                .load_driver()
                .open(role.address, replace(self._options, expected_serial=role.serial))
            )
        except DriverError as err:
            self._optical_failed[name] = err
            raise
        self._drivers.append(driver)
        self._instruments[name] = driver
        return driver

    def _start_value(self, role: BenchRole) -> float | None:
        """What a source's simulator starts at: a vented pressure controller in gauge
        mode (0 mbar), an empty pan (0 g), a bath at the laboratory's temperature (°C)."""
        if role.driver in {"druck-pace", "mettler-sics"}:
            return 0.0
        if role.driver == "eurotherm-3200":
            return round(self.world.ambient_temperature, 2)
        return None

    def _start_map_device(self, role: BenchRole, seed: int) -> ModbusMapSimulator:
        # The registry's factory serves one fixed map; a reference meter needs its own.
        _, in_address = split_map_option(role.address)
        path = role.options.get("map_file") or in_address or DEFAULT_MAP.parent / "tuf-2000m.yaml"
        device = SimulatedMapDevice(load_register_map(Path(path)), seed=seed)
        return ModbusMapSimulator(device).start_with(None)

    def _start_manual(self, name: str, role: BenchRole) -> None:
        config = parse_manual_address(role.address)
        typist = self._typist_for(name, role, config)
        self._simulation.callback(typist.close)
        self._typists[name] = typist
        entry = ManualEntry.open(
            role.address,
            replace(self._options, expected_serial=role.serial),
            # The driver reads and prompts through text streams; the typist is both.
            input=cast(TextIO, typist),
            output=cast(TextIO, typist),
        )
        self._drivers.append(entry)
        self._instruments[name] = entry

    def _typist_for(self, name: str, role: BenchRole, config: ManualEntryConfig) -> SimulatedTypist:
        world = self.world
        comma = number_option(role, "decimal_comma", 0.5)
        seed = world.seed_for(name)
        simulates = role.options.get("simulates")
        if simulates is not None:
            return self._fuel_typist(name, role, config, str(simulates), comma, seed)
        if config.quantity == "pressure":
            return gauge_typist(world, config, decimal_comma=comma, seed=seed)
        if config.quantity == "temperature":
            if role.role == "environment" or name == "environment":
                return room_typist(world, config, decimal_comma=comma, seed=seed)
            return thermometer_typist(world, config, decimal_comma=comma, seed=seed)
        if config.quantity == "volume":
            return register_typist(world, role, config, decimal_comma=comma, seed=seed)
        raise SimulationError(
            f"role {name!r}: a manual {config.quantity} entry has nothing to read in the "
            "simulated world"
        )

    def _fuel_typist(
        self,
        name: str,
        role: BenchRole,
        config: ManualEntryConfig,
        simulates: str,
        comma: float,
        seed: int,
    ) -> SimulatedTypist:
        wanted = {"dispenser": "volume", "proving-can": "volume", "fuel-thermometer": "temperature"}
        if simulates not in FUEL_ROLES or wanted[simulates] != config.quantity:
            raise SimulationError(
                f"role {name!r}: a manual {config.quantity} entry cannot simulate "
                f"{simulates!r} (simulates: {', '.join(FUEL_ROLES)})"
            )
        if simulates == "dispenser":
            return display_typist(self.world, config, decimal_comma=comma, seed=seed)
        if simulates == "proving-can":
            return can_typist(self.world, role, config, decimal_comma=comma, seed=seed)
        return fuel_thermometer_typist(role, config, decimal_comma=comma, seed=seed)

    # -- coupling ------------------------------------------------------------------------

    def _couple(self, name: str, role: BenchRole, model: object) -> None:
        world = self.world
        uncouple: Callable[[], None] | None = None
        if isinstance(model, SimulatedFluke5522A):
            uncouple = couple_calibrator(world, model)
        elif isinstance(model, SimulatedKeysight344xxA):
            couple_meter(world, name, role, model)
        elif isinstance(model, SimulatedSicsBalance):
            uncouple = couple_balance(world, role, model)
        elif isinstance(model, SimulatedPace):
            uncouple = couple_controller(world, model)
        elif isinstance(model, SimulatedEurotherm3200):
            uncouple = couple_bath(world, role, model)
        elif isinstance(model, SimulatedMapDevice):
            couple_flow_meter(world, role, model)
        if uncouple is not None:
            self._simulation.callback(uncouple)


class _Closable(Protocol):
    def close(self) -> None: ...


class _Probe(Protocol):
    @property
    def address(self) -> str: ...

    def inject(self, fault: Fault) -> None: ...

    def stop(self) -> None: ...


def _model(simulator: RunningSimulator) -> object:
    if isinstance(simulator, TcpSimulator | PtySimulator):
        return simulator.instrument
    if isinstance(simulator, ModbusSimulator):
        return simulator.model
    return None
