"""What the operator sees and answers at the console: the run as it goes, the outbox's table,
the prompts.

:class:`RunDisplay` shows a run as it goes (rich progress on a terminal, plain lines
elsewhere); :class:`ConsoleOperator` shows instructions and waits for the operator, Ctrl-C
at an instruction asks whether to pause (the run can be resumed) or abandon;
:class:`NarratedOperator` shows what a simulated operator is told; :func:`print_status`
is the table of ``caltrace-agent status``. The instruments themselves are opened by
:mod:`agent.instruments`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.prompt import Prompt
from rich.table import Table

from procedures.bench import Instruction, Operator, OperatorAbort
from uncertainty.display import indication_text, number_text, result_texts, unit_symbol
from uncertainty.errors import UncertaintyError

from .config import BenchConfig
from .outbox import StatusReport

__all__ = [
    "ConsoleOperator",
    "NarratedOperator",
    "RunDisplay",
    "ask_pause_or_abandon",
    "output_unit",
    "print_status",
    "reading_text",
    "result_line",
]


class RunDisplay:
    """What the operator sees while a run goes on: a progress bar over the points, the
    live reading with its stability, the stability wait of a source, and each finished
    point with its error, expanded uncertainty and verdict.

    On a terminal it is a live rich progress display; elsewhere (a log, a pipe) one plain
    line per event, so that a run's console output is also a readable record.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[point]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[live]}"),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the live display while the operator answers a prompt."""
        if self._progress is None:
            yield
            return
        self._progress.stop()
        try:
            yield
        finally:
            self._progress.start()

    def print(self, text: str) -> None:
        self.console.print(text)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        if event == "point":
            self._point(data)
        elif event == "reading":
            stable = "stable" if data.get("stable") else "[red]unstable[/]"
            live = f"{data['quantity']} {data['n']}/{data['of']}: {reading_text(data)} ({stable})"
            self._live(live, plain=f"  {live}")
        elif event == "stability":
            mark = "[green]within[/]" if data["inside"] else "settling"
            target = number_text(float(data["target"]), where="target")
            live = f"{data['role']} {reading_text(data)} (target {target}) {mark}"
            self._live(live, plain=f"  {live}")
        elif event == "point-done":
            self._done(data)

    def _point(self, data: Mapping[str, Any]) -> None:
        title = (
            f"point {data['index'] + 1}/{data['total']} {data['test']} "
            f"{data['nominal']:g} {data['unit']}"
        )
        if self._progress is None:
            self.console.print(f"[bold]{title}[/]")
            return
        if self._task is None:
            self._task = self._progress.add_task("run", total=data["total"], point=title, live="")
        self._progress.update(self._task, point=title, live="")

    def _live(self, text: str, *, plain: str) -> None:
        if self._progress is None or self._task is None:
            self.console.print(plain)
        else:
            self._progress.update(self._task, live=text)

    def _done(self, data: Mapping[str, Any]) -> None:
        point = data["point"]
        result = point["result"]
        verdict = point.get("conformity") or "-"
        line = f"  → {point['output']} = {result_line(result, output_unit(point))}, {verdict}"
        if self._progress is None or self._task is None:
            self.console.print(line)
            return
        self._progress.console.print(line)
        self._progress.advance(self._task)


class ConsoleOperator:
    """The operator at a terminal: instructions in the chosen language, live progress.

    Ctrl-C (or end of input) at an instruction asks whether to pause (resume later) or
    abandon the run.
    """

    def __init__(self, display: RunDisplay | None = None, *, language: str = "en") -> None:
        self.display = display or RunDisplay()
        self.console = self.display.console
        self.language = language

    def instruct(self, instruction: Instruction) -> None:
        text = _text(instruction, self.language)
        with self.display.paused():
            self.console.print(f"[bold yellow]▶ {text}[/]")
            try:
                Prompt.ask(
                    "  press Enter when done", default="", show_default=False, console=self.console
                )
            except (KeyboardInterrupt, EOFError):
                choice = ask_pause_or_abandon(self.console)
                raise OperatorAbort(
                    "paused by the operator" if choice == "pause" else "abandoned by the operator",
                    pause=choice == "pause",
                ) from None

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.display.show(event, data)


class NarratedOperator:
    """Another operator (a simulated one) doing the work, with what it is told shown on
    the console, so a simulated run reads like a real one."""

    def __init__(self, operator: Operator, display: RunDisplay, *, language: str = "en") -> None:
        self.operator = operator
        self.display = display
        self.language = language

    def instruct(self, instruction: Instruction) -> None:
        self.display.print(f"[yellow]▶ {_text(instruction, self.language)}[/] (simulated operator)")
        self.operator.instruct(instruction)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.operator.show(event, data)
        self.display.show(event, data)


def ask_pause_or_abandon(console: Console) -> str:
    """Ask after Ctrl-C: ``pause`` (resume later) or ``abandon`` (kept, never sent)."""
    try:
        return Prompt.ask(
            "\n[bold]Stop the run?[/] pause (resume later) or abandon",
            choices=["pause", "abandon"],
            default="pause",
            console=console,
        )
    except (KeyboardInterrupt, EOFError):
        return "pause"


def _text(instruction: Instruction, language: str) -> str:
    texts = instruction.text
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), instruction.kind)


def reading_text(reading: Mapping[str, Any]) -> str:
    """A reading on the live line, to the resolution of what was read where the procedure
    states it (the runner's ``resolution``; :func:`uncertainty.display.indication_text`):
    "450 kPa" from a gauge with 2 kPa divisions, not "450.41 kPa". Where no resolution is
    known the value is written as read (its shortest decimal), never cut to a guessed
    number of digits. Only the display is rounded: the reading recorded for the LIMS
    keeps every digit the instrument gave."""
    resolution = reading.get("resolution")
    try:
        value = indication_text(float(reading["value"]), resolution, where="reading")
    except (TypeError, ValueError, UncertaintyError):
        value = str(reading.get("value"))
    return f"{value} {unit_symbol(str(reading.get('unit', '')))}".rstrip()


def output_unit(point: Mapping[str, Any]) -> str:
    """The unit of a point's result: the model's output unit (a water meter's relative
    error is in %, whatever the unit of its nominal volume), else the point's unit."""
    outputs = (point.get("model") or {}).get("outputs") or {}
    declared = outputs.get(point.get("output")) if isinstance(outputs, Mapping) else None
    if isinstance(declared, Mapping) and declared.get("unit"):
        return str(declared["unit"])
    return str(point["unit"])


def result_line(result: Mapping[str, Any], unit: str) -> str:
    """A point's result as the certificate will print it: ``U`` to two significant digits
    and the value to the same place (ILAC P14, :mod:`uncertainty.display`), k with two
    decimals: "-0.12 g, U = 0.30 g (k = 2.00)". A result the rules cannot round (no U)
    is shown as it came."""
    symbol = unit_symbol(unit)
    try:
        value, expanded = result_texts(float(result["value"]), float(result["U"]))
    except (KeyError, TypeError, ValueError, UncertaintyError):
        return f"{result.get('value')} {symbol}, U = {result.get('U')} {symbol}".rstrip()
    return f"{value} {symbol}, U = {expanded} {symbol} (k = {float(result['k']):.2f})"


def print_status(bench: BenchConfig, report: StatusReport, *, show_sent: bool) -> None:
    """The outbox of ``bench`` as ``caltrace-agent status`` shows it: a line of counts, then
    a table of the runs (those sent only with ``show_sent``), each with why it waits."""
    console = Console()
    counts = ", ".join(f"{n} {state}" for state, n in report.counts.items())
    console.print(
        escape(f"bench {bench.bench} ({bench.organization}), outbox {bench.outbox}: {counts}")
    )
    rows = [r for r in report.runs if show_sent or r.state != "sent"]
    if not rows:
        return
    table = Table(show_lines=False)
    for column in ("run", "job", "state", "points", "readings", "attempts", "why", "next attempt"):
        table.add_column(column)
    for r in rows:
        why = r.last_error or ""
        if r.rejection:
            code, detail = r.rejection.get("code"), r.rejection.get("detail")
            field = r.rejection.get("field")
            why = f"{code}{f' [{field}]' if field else ''}: {detail}"
        cells = (
            r.run_id,
            r.job,
            r.state,
            str(r.points),
            str(r.readings),
            str(r.attempts),
            why,
            r.next_attempt_at.isoformat(timespec="seconds") if r.next_attempt_at else "",
        )
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)
