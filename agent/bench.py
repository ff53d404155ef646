"""The bench at the agent: real instruments opened by role, and the operator at the console.

:class:`OpenedBench` opens every role's driver from the registry (checking the serial
number when the bench names one) and closes them all, sources first so that a
calibrator is left in standby. :class:`ConsoleOperator` shows instructions and progress
with rich and waits for the operator; Ctrl-C at an instruction asks whether to pause
(the run can be resumed) or abandon.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.prompt import Prompt

from drivers.driver import DriverOptions
from drivers.errors import DriverError
from drivers.registry import get
from procedures.bench import BenchRole, Instruction, OperatorAbort

__all__ = ["ConsoleOperator", "NoInstrument", "OpenedBench"]


class NoInstrument(LookupError):
    """A role without an instrument (a passive standard such as a set of weights)."""


class OpenedBench:
    """Every role of a bench, opened; a context manager that closes them."""

    def __init__(
        self,
        roles: Mapping[str, BenchRole],
        *,
        options: DriverOptions | None = None,
        console_input: TextIO | None = None,
        console_output: TextIO | None = None,
    ) -> None:
        self._roles = dict(roles)
        self._options = options or DriverOptions()
        self._input = console_input
        self._output = console_output
        self._opened: dict[str, Any] = {}

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        return self._roles

    def open(self) -> OpenedBench:
        """Open every role's instrument; on a failure close what was opened and re-raise."""
        try:
            for name, role in self._roles.items():
                if role.driver == "none":
                    continue
                cls: Any = get(role.driver).load_driver()
                if role.driver == "manual":
                    self._opened[name] = cls.open(
                        role.address, None, input=self._input, output=self._output
                    )
                    continue
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
        except BaseException:
            self.close()
            raise
        return self

    def instrument(self, role: str) -> object:
        if role in self._opened:
            return self._opened[role]
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

    def __enter__(self) -> OpenedBench:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ConsoleOperator:
    """The operator at a terminal: instructions in the chosen language, live progress."""

    def __init__(self, console: Console | None = None, *, language: str = "en") -> None:
        self.console = console or Console(stderr=True)
        self.language = language
        self.on_event: Any = None

    def instruct(self, instruction: Instruction) -> None:
        text = instruction.text.get(self.language) or next(iter(instruction.text.values()))
        self.console.print(f"[bold yellow]▶ {text}[/]")
        try:
            Prompt.ask(
                "  press Enter when done", default="", show_default=False, console=self.console
            )
        except (KeyboardInterrupt, EOFError):
            choice = self.ask_pause_or_abandon()
            raise OperatorAbort(
                "paused by the operator" if choice == "pause" else "abandoned by the operator",
                pause=choice == "pause",
            ) from None

    def ask_pause_or_abandon(self) -> str:
        """Ask after Ctrl-C: pause (resume later) or abandon (kept, never sent)."""
        try:
            return Prompt.ask(
                "\n[bold]Stop the run?[/] pause (resume later) or abandon",
                choices=["pause", "abandon"],
                default="pause",
                console=self.console,
            )
        except (KeyboardInterrupt, EOFError):
            return "pause"

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(event, data)
            return
        if event == "reading":
            stable = "stable" if data.get("stable") else "unstable"
            self.console.print(
                f"  point {data['index']} {data['quantity']} {data['n']}/{data['of']}: "
                f"{data['value']:.9g} {data['unit']} ({stable})"
            )
        elif event == "point":
            self.console.print(
                f"[bold]point {data['index'] + 1}/{data['total']}[/] {data['test']} "
                f"{data['nominal']:g} {data['unit']}"
            )
        elif event == "stability":
            mark = "✓" if data["inside"] else "…"
            self.console.print(
                f"  {data['role']}: {data['value']:.6g} {data['unit']} "
                f"(target {data['target']:g}) {mark}"
            )
