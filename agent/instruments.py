"""The instruments of a real bench, opened by role for a run.

:class:`OpenedInstruments` opens every role's driver from the registry (checking the
serial number when the bench names one) and closes them all, sources first so that a
calibrator is left in standby. It is the :class:`procedures.bench.Bench` the runner
drives at a real bench; :mod:`simulation.bench` stands in for it without hardware. What
the operator sees and answers is :mod:`agent.console`.

On a bench with positions, a position's instrument that cannot be opened does not stop
the bench: its error is kept and raised when the runner asks for that role, so the runner
skips the position with the reason and measures the others.

A meter test bench (:data:`procedures.meter_bench.METER_BENCH_DRIVERS`) is opened once, in
its own role; each role of one of its positions (``uut@N`` at the same address, read by
:func:`procedures.meter_bench.meter_bench_layout`, as the simulated bench reads them) is a
:class:`~drivers.metertest.positions.MeterBenchPosition` over that one connection, never a
second connection. A position with no meter mounted is skipped with the reason; a bench
that cannot be opened stops the run, naming its role and address.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from drivers.capabilities import OutputControl
from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.metertest.bench import MeterTestBench
from drivers.metertest.positions import MeterBenchPosition
from drivers.registry import get
from procedures.bench import BenchRole
from procedures.meter_bench import MeterBenchLayout, MeterBenchLayoutError, meter_bench_layout

__all__ = ["BenchNotOpened", "NoInstrument", "OpenedInstruments"]


class NoInstrument(LookupError):
    """A role without an instrument (a passive standard such as a set of weights)."""


class BenchNotOpened(DriverError):
    """The instrument of a role the run cannot do without could not be opened (or the
    roles of a meter test bench contradict each other); names the role and address."""


class OpenedInstruments:
    """Every role of a bench, opened; a context manager that closes them.

    ``tolerant``: the roles (a bench's positions) whose instrument failing to open does
    not stop the bench (the error is raised when the role is asked for); ``labels``: what
    an instrument read by eye is called at its prompt (``P2 WM-0002``), by role."""

    def __init__(
        self,
        roles: Mapping[str, BenchRole],
        *,
        options: DriverOptions | None = None,
        console_input: TextIO | None = None,
        console_output: TextIO | None = None,
        language: str = "en",
        tolerant: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self._roles = dict(roles)
        self._tolerant = set(tolerant)
        self._labels = dict(labels or {})
        self._failed: dict[str, DriverError | OSError] = {}
        self._language = language
        self._options = options or DriverOptions()
        self._input = console_input
        self._output = console_output
        self._opened: dict[str, Any] = {}
        self._views: dict[str, MeterBenchPosition] = {}
        """The positions of a meter test bench: views over its one connection (closing
        them closes nothing)."""

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        return self._roles

    def open(self) -> OpenedInstruments:
        """Open every role's instrument, a meter test bench's positions as views over the
        bench; on a failure close what was opened and re-raise."""
        try:
            try:
                layout = meter_bench_layout(self._roles)
            except MeterBenchLayoutError as err:
                raise BenchNotOpened(str(err)) from None
            for name, role in self._roles.items():
                if role.driver == "none" or name in layout.positions:
                    continue
                if name in self._tolerant:
                    try:
                        self._open(name, role)
                    except (DriverError, OSError) as err:
                        self._failed[name] = err
                    continue
                try:
                    self._open(name, role)
                except (DriverError, OSError) as err:
                    raise BenchNotOpened(
                        f"role {name}: {role.driver} at {role.address} cannot be opened: "
                        f"{type(err).__name__}: {err}",
                        address=role.address,
                    ) from err
            self._open_positions(layout)
        except BaseException:
            self.close()
            raise
        return self

    def _open_positions(self, layout: MeterBenchLayout) -> None:
        """Each position role of a meter test bench as a view over the opened bench; a
        position that cannot be viewed (no meter mounted, no bench at its address) is a
        failure of that role, kept for a tolerant role, raised otherwise."""
        for name, (of, number) in layout.positions.items():
            address = self._roles[name].address
            bench = self._opened.get(of) if of is not None else None
            try:
                if not isinstance(bench, MeterTestBench):
                    raise BenchNotOpened(
                        f"role {name}: no meter test bench of the bench is at its address",
                        address=address,
                    )
                self._views[name] = MeterBenchPosition(bench, number)
            except DriverError as err:  # no meter mounted there, or no bench
                if name in self._tolerant:
                    self._failed[name] = err
                    continue
                if isinstance(err, BenchNotOpened):
                    raise
                raise BenchNotOpened(
                    f"role {name}: position {number} of the meter test bench at {address}: "
                    f"{type(err).__name__}: {err.message}",
                    address=address,
                ) from err

    def _open(self, name: str, role: BenchRole) -> None:
        """Open the instrument of ``role`` (named ``name``) into the opened ones."""
        cls: Any = get(role.driver).load_driver()
        if role.driver == "manual":
            # an instrument read by eye prompts in the operator's language
            self._opened[name] = cls.open(
                role.address,
                None,
                input=self._input,
                output=self._output,
                language=self._language,
                label=self._labels.get(name, ""),
            )
            return
        options = DriverOptions(
            timeout_s=self._options.timeout_s,
            retries=self._options.retries,
            resync_timeout_s=self._options.resync_timeout_s,
            open_timeout_s=self._options.open_timeout_s,
            expected_serial=role.serial,
            visa_library=self._options.visa_library,
            map_file=role.options.get("map"),
        )
        self._opened[name] = cls.open(role.address, options)

    def instrument(self, role: str) -> object:
        if role in self._opened:
            return self._opened[role]
        if role in self._views:
            return self._views[role]
        if role in self._failed:
            err = self._failed[role]
            raise NoInstrument(f"{type(err).__name__}: {err}") from err
        if role in self._roles and self._roles[role].driver == "none":
            raise NoInstrument(f"role {role} is a passive standard: it has no instrument")
        raise NoInstrument(f"the bench has no instrument in role {role}")

    def close(self) -> None:
        """Close sources first (their close leaves the output safe: a calibrator in
        standby, a meter test bench's source off), then the rest; each connection once
        (a meter bench's positions are views of it)."""
        self._views.clear()
        order = sorted(self._opened, key=lambda r: 0 if _is_source(r, self._opened[r]) else 1)
        for name in order:
            instrument = self._opened.pop(name)
            with contextlib.suppress(DriverError):  # closing must go on for the others
                instrument.close()

    def __enter__(self) -> OpenedInstruments:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_source(role: str, instrument: object) -> bool:
    """Whether closing ``instrument`` makes a source safe (it goes first)."""
    return role == "source" or isinstance(instrument, OutputControl | MeterTestBench)
