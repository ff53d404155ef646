"""The instruments of a real bench, opened by role for a run.

:class:`OpenedInstruments` opens every role's driver from the registry (checking the
serial number when the bench names one) and closes them all, sources first so that a
calibrator is left in standby. It is the :class:`procedures.bench.Bench` the runner
drives at a real bench; :mod:`simulation.bench` stands in for it without hardware. What
the operator sees and answers is :mod:`agent.console`.

On a bench with positions, a position's instrument that cannot be opened does not stop
the bench: its error is kept and raised when the runner asks for that role, so the runner
skips the position with the reason and measures the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.registry import get
from procedures.bench import BenchRole

__all__ = ["NoInstrument", "OpenedInstruments"]


class NoInstrument(LookupError):
    """A role without an instrument (a passive standard such as a set of weights)."""


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

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        return self._roles

    def open(self) -> OpenedInstruments:
        """Open every role's instrument; on a failure close what was opened and re-raise."""
        try:
            for name, role in self._roles.items():
                if role.driver == "none":
                    continue
                if name in self._tolerant:
                    try:
                        self._open(name, role)
                    except (DriverError, OSError) as err:
                        self._failed[name] = err
                    continue
                self._open(name, role)
        except BaseException:
            self.close()
            raise
        return self

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
        if role in self._failed:
            err = self._failed[role]
            raise NoInstrument(f"{type(err).__name__}: {err}") from err
        if role in self._roles and self._roles[role].driver == "none":
            raise NoInstrument(f"role {role} is a passive standard: it has no instrument")
        raise NoInstrument(f"the bench has no instrument in role {role}")

    def close(self) -> None:
        """Close sources first (their close leaves the output safe), then the rest."""
        order = sorted(self._opened, key=lambda r: 0 if r == "source" else 1)
        for name in order:
            instrument = self._opened.pop(name)
            with contextlib.suppress(DriverError):  # closing must go on for the others
                instrument.close()

    def __enter__(self) -> OpenedInstruments:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
