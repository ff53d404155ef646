"""What the operator sees and answers at the console: the run as it goes, the outbox's table,
the prompts.

:class:`RunDisplay` shows a run as it goes (rich progress on a terminal, plain lines
elsewhere), on a bench with positions each position's result at each point and, at the
end, the summary by position (:func:`print_positions_summary`); :class:`ConsoleOperator`
shows instructions and waits for the operator, Ctrl-C
at an instruction asks whether to pause (the run can be resumed) or abandon;
:class:`NarratedOperator` shows what a simulated operator is told; :func:`print_status`
is the table of ``caltrace-agent status``. The instruments themselves are opened by
:mod:`agent.instruments`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.prompt import Prompt
from rich.table import Column, Table
from rich.text import Text

from drivers.optical.iec62056_21 import ENERGY_IMPORT
from procedures.acceptance import COUNTS, count_words, observed
from procedures.bench import BenchPosition, Instruction, Operator, OperatorAbort
from procedures.record import Position
from procedures.record.positions import METER_PROTOCOLS
from uncertainty.display import (
    as_decimal,
    datetime_text,
    indication_text,
    number_text,
    observed_text,
    result_texts,
    uncertainty_text,
    unit_symbol,
)
from uncertainty.errors import UncertaintyError
from uncertainty.units import conversion_factor

from .config import BenchConfig
from .i18n import translator
from .outbox import StatusReport

if TYPE_CHECKING:  # the optical drivers (dlms-cosem) load only when a meter is read
    from .identity import IdentityReport

__all__ = [
    "VERDICTS",
    "ConsoleOperator",
    "NarratedOperator",
    "RunDisplay",
    "ask_pause_or_abandon",
    "count_text",
    "in_unit",
    "observed_line",
    "output_unit",
    "position_verdict",
    "positions_line",
    "print_positions_summary",
    "print_status",
    "reading_text",
    "refusal_lines",
    "result_line",
]


class _RunProgress(Progress):
    """The progress bar of the points with the live reading on a line of its own below
    it: on one line the two are cut at 80 columns."""

    reading_line = ""

    def get_renderables(self) -> Iterator[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        if self.reading_line:
            yield Text.from_markup(self.reading_line, overflow="fold")


class RunDisplay:
    """What the operator sees while a run goes on: a progress bar over the points, the
    live reading with its stability, the stability wait of a source, and each finished
    point with its error, expanded uncertainty and verdict, in the operator's language.

    Every value is shown in its point's unit where it is the same kind of quantity (a
    pressure reference read in Pa at a point in kPa is shown in kPa), to the resolution
    it was read to (:func:`reading_text`). On a terminal it is a live rich progress
    display that holds at 80 columns (the point and its bar on one line, the live
    reading below); elsewhere (a log, a pipe) one plain line per event, so that a run's
    console output is also a readable record.

    On a bench with positions (``serials``: the instrument at each position, by number)
    the shared readings are shown as they are taken, a position's reading with its
    position (``P2``), and at the end of each point one line per position: its error,
    expanded uncertainty and verdict, or why it left the run (skipped, removed), as
    soon as it does.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        language: str = "en",
        serials: Mapping[int, str] | None = None,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.language = language
        self.serials = dict(serials or {})
        self._ = translator(language)
        self._progress: _RunProgress | None = None
        self._task: TaskID | None = None
        self._unit = ""

    def __enter__(self) -> RunDisplay:
        if self.console.is_terminal:
            # The point's title takes what the bar and the time leave and is cut at its end
            # (the test's name), never the point's number, nominal value or the time.
            self._progress = _RunProgress(
                TextColumn(
                    "[bold]{task.fields[point]}",
                    table_column=Column(ratio=3, no_wrap=True, overflow="ellipsis"),
                ),
                BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=5)),
                TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)),
                console=self.console,
                expand=True,
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
        _ = self._
        if event == "point":
            self._point(data)
        elif event == "reading":
            shown = in_unit(data, self._unit)
            stable = _("stable") if data.get("stable") else f"[red]{_('unstable')}[/]"
            text = count_text(data, self.language) or reading_text(shown)
            live = (
                f"{escape(self._where(data))}{escape(str(data['quantity']))} "
                f"{data['n']}/{data['of']}: {escape(text)} ({stable})"
            )
            self._live(live, plain=f"  {live}")
        elif event == "stability":
            shown = in_unit(data, self._unit)
            mark = f"[green]{_('within')}[/]" if data["inside"] else _("settling")
            given = {**data, "value": data["target"], "resolution": None}
            target = reading_text(in_unit(given, self._unit))
            live = (
                f"{escape(str(data['role']))} {escape(reading_text(shown))} "
                f"({_('target')} {escape(target)}) {mark}"
            )
            self._live(live, plain=f"  {live}")
        elif event == "point-done":
            self._done(data)
        elif event == "position-left":
            self._left(data)
        elif event == "positions-done" and self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def _where(self, data: Mapping[str, Any]) -> str:
        """``P2 `` before what is of position 2; nothing for a shared reading or a run of
        one."""
        number = data.get("position")
        return "" if number is None else self._("P{number}").format(number=number) + " "

    def _position(self, number: int) -> str:
        """A position as a line names it: ``P2 WM-0002``."""
        label = self._("P{number}").format(number=number)
        serial = self.serials.get(number)
        return f"{label} {serial}" if serial else label

    def _left(self, data: Mapping[str, Any]) -> None:
        state = self._(str(data["state"]))
        line = escape(f"  {self._position(int(data['position']))}: {state}: {data['reason']}")
        self._print(f"[yellow]{line}[/]")

    def _print(self, line: str) -> None:
        if self._progress is None or self._task is None:
            self.console.print(line)
        else:
            self._progress.console.print(line)

    def _point(self, data: Mapping[str, Any]) -> None:
        self._unit = str(data["unit"])
        titles = data.get("title") or {}
        test = titles.get(self.language) or titles.get("en") or data["test"]
        nominal = number_text(float(data["nominal"]), where="nominal")
        title = escape(
            f"{self._('point')} {data['index'] + 1}/{data['total']}: "
            f"{nominal} {unit_symbol(self._unit)}, {test}"
        )
        if self._progress is None:
            self.console.print(f"[bold]{title}[/]")
            return
        if self._task is None:
            self._task = self._progress.add_task("run", total=data["total"], point=title)
        self._progress.reading_line = ""
        self._progress.update(self._task, point=title)

    def _live(self, text: str, *, plain: str) -> None:
        if self._progress is None or self._task is None:
            self.console.print(plain)
        else:
            self._progress.reading_line = text
            self._progress.refresh()

    def _done(self, data: Mapping[str, Any]) -> None:
        point = data["point"]
        result = point["result"]
        conformity = str(point.get("conformity"))
        verdict = self._(VERDICTS.get(conformity, "-"))
        told = observed_line(point, data.get("resolution"), self.language) or result_line(
            result, output_unit(point)
        )
        if "position" in data:  # one line per position; the bar moves once all are done
            shown = escape(
                f"  {self._position(int(data['position']))}: {point['output']} = {told}, "
            )
            mark = f"[red]{escape(verdict)}[/]" if conformity == "fail" else escape(verdict)
            self._print(shown + mark)
            return
        line = escape(f"  → {point['output']} = {told}, {verdict}")
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
        self.display = display or RunDisplay(language=language)
        self.console = self.display.console
        self.language = language

    def instruct(self, instruction: Instruction) -> None:
        _ = translator(self.language)
        text = escape(_text(instruction, self.language))
        with self.display.paused():
            self.console.print(f"[bold yellow]▶ {text}[/]")
            try:
                Prompt.ask(
                    "  " + _("press Enter when done"),
                    default="",
                    show_default=False,
                    console=self.console,
                )
            except (KeyboardInterrupt, EOFError):
                choice = ask_pause_or_abandon(self.console, language=self.language)
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
        text = escape(_text(instruction, self.language))
        told = translator(self.language)("(simulated operator)")
        self.display.print(f"[yellow]▶ {text}[/] {told}")
        self.operator.instruct(instruction)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        self.operator.show(event, data)
        self.display.show(event, data)


def ask_pause_or_abandon(console: Console, *, language: str = "en") -> str:
    """Ask after Ctrl-C: ``pause`` (resume later) or ``abandon`` (kept, never sent). The
    words typed are the commands' own (``pause``, ``abandon``) in every language, as on
    the command line; the question says what each does in the operator's language."""
    _ = translator(language)
    try:
        return Prompt.ask(
            "\n[bold]"
            + _("Stop the run?")
            + "[/] "
            + _("pause (resume later) or abandon (kept, never sent)"),
            choices=["pause", "abandon"],
            default="pause",
            console=console,
        )
    except (KeyboardInterrupt, EOFError):
        return "pause"


# The verdicts of a point (procedures' conformity), as the operator reads them.
VERDICTS = {"pass": "pass", "fail": "fail", "undecided": "undecided", "None": "-"}


def in_unit(reading: Mapping[str, Any], unit: str) -> dict[str, Any]:
    """``reading`` (``value``, ``unit``, ``resolution``) expressed in ``unit`` when it is
    the same kind of quantity (Pa at a point in kPa), with decimal arithmetic so that the
    conversion adds no float noise; else as it is (a thermometer's resistance at a point
    in °C)."""
    factor = conversion_factor(str(reading.get("unit", "")), unit) if unit else None
    if factor is None or factor == 1:
        return dict(reading)
    try:
        value = float(_clean(float(reading["value"])) * factor)
    except (KeyError, TypeError, ValueError, UncertaintyError):
        return dict(reading)
    resolution = reading.get("resolution")
    if isinstance(resolution, int | float) and resolution > 0:
        resolution = float(as_decimal(resolution, "resolution") * factor)
    return {**reading, "value": value, "unit": unit, "resolution": resolution}


def _clean(value: float) -> Decimal:
    """``value`` without the float noise of the arithmetic that made it (a double holds 15
    significant decimal digits: 0.5194365400000001 is 0.51943654)."""
    return Decimal(f"{value:.15g}")


def _text(instruction: Instruction, language: str) -> str:
    texts = instruction.text
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), instruction.kind)


def refusal_lines(reason: str, *, language: str = "en") -> list[str]:
    """What the operator reads of a run refused before the first point: the heading and
    each reason of ``reason`` (the run keeps them joined by "; ", in English), each in
    ``language`` where the agent's catalogue has it, else as kept."""
    _ = translator(language)
    reasons = [f"  - {_(text)}" for text in reason.split("; ")]
    return [_("the run was refused before the first point:"), *reasons]


def reading_text(reading: Mapping[str, Any]) -> str:
    """A reading on the live line, to the resolution of what was read where the procedure
    states it (the runner's ``resolution``; :func:`uncertainty.display.indication_text`):
    "450 kPa" from a gauge with 2 kPa divisions, not "450.41 kPa". Where no resolution is
    known the value is written as read (its shortest decimal), never cut to a guessed
    number of digits. Only the display is rounded: the reading recorded for the LIMS
    keeps every digit the instrument gave."""
    resolution = reading.get("resolution")
    try:
        value = indication_text(float(_clean(float(reading["value"]))), resolution, where="reading")
    except (TypeError, ValueError, UncertaintyError):
        value = str(reading.get("value"))
    return f"{value} {unit_symbol(str(reading.get('unit', '')))}".rstrip()


def _count(value: Any) -> str | None:
    """A count as a whole number; None for a value that is not one (shown as read)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return str(int(number)) if number.is_integer() else None


def count_text(reading: Mapping[str, Any], language: str = "en") -> str | None:
    """A reading that is a count (of a function of :data:`procedures.acceptance.COUNTS`,
    in the unit one) as a whole number and what it counts: "0 pulses", "100 xung". None
    for any other reading (:func:`reading_text` shows it)."""
    counted = COUNTS.get(str(reading.get("function") or ""))
    if counted is None or str(reading.get("unit", "")) != "1":
        return None
    whole = _count(reading.get("value"))
    if whole is None:  # not a whole number: shown as read, never rounded to one
        return f"{reading.get('value')} {count_words(counted, 0, language)}"
    return f"{whole} {count_words(counted, int(whole), language)}"


def observed_line(
    point: Mapping[str, Any], resolution: float | None = None, language: str = "en"
) -> str | None:
    """A point's result judged as it is against its limit, as the certificate prints it
    (:data:`procedures.acceptance.RESULT_RULES`): a count as a whole number with what it
    counts and no uncertainty, "0 pulses (≤ 1 pulse)"; a time to the ``resolution`` it was read
    to (or U's last digit, the coarser) with its U, "76.35 s (≤ 93 s), U = 0.0058 s
    (k = 2.00)". None for an error against ± MPE (:func:`result_line` shows it)."""
    acceptance = point.get("acceptance") or {}
    shown = observed(acceptance)
    if shown is None:
        return None
    result = point["result"]
    limit = acceptance.get("mpe")
    if shown.counted is not None:
        whole = _count(result.get("value"))
        value = whole if whole is not None else str(result.get("value"))
        words = count_words(shown.counted, int(whole) if whole is not None else 0, language)
        if limit is None:
            return f"{value} {words}"
        most = float(limit)
        return (
            f"{value} {words} (≤ {number_text(most, where='limit')} "
            f"{count_words(shown.counted, most, language)})"
        )
    symbol = unit_symbol(output_unit(point))
    try:
        value = observed_text(
            float(result["value"]), resolution, float(result["U"]), where="result"
        )
        expanded = uncertainty_text(float(result["U"]))
    except (KeyError, TypeError, ValueError, UncertaintyError):
        return None
    bound = f" (≤ {number_text(float(limit), where='limit')} {symbol})" if limit is not None else ""
    return f"{value} {symbol}{bound}, U = {expanded} {symbol} (k = {float(result['k']):.2f})"


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


def positions_line(positions: Sequence[BenchPosition], language: str = "en") -> str:
    """The instruments of a run on a bench with positions, before its first point:
    "positions: 1 WM-0001, 2 WM-0002, 4 WM-0004 (left out: not mounted)"."""
    _ = translator(language)
    listed = []
    for p in positions:
        item = f"{p.number} {p.instrument.serial}"
        if p.skipped is not None:
            item += " (" + _("left out: {reason}").format(reason=p.skipped) + ")"
        listed.append(item)
    return _("positions: {listed}").format(listed=", ".join(listed))


def position_verdict(position: Position, language: str = "en") -> str:
    """What became of a position, as its summary line says it: its verdict (pass, fail,
    undecided where no point failed and not all passed), or its state and why (skipped:
    not mounted; removed: point 1: InstrumentTimeout...), a failed point before the
    removal said too."""
    _ = translator(language)
    if position.state == "measured":
        return _(VERDICTS[position.verdict or "undecided"])
    told = f"{_(position.state)}: {position.reason}"
    if position.verdict == "fail":
        told += " (" + _("a point failed before") + ")"
    return told


def print_positions_summary(
    console: Console, positions: Sequence[Position], *, language: str = "en"
) -> None:
    """The summary of a run on a bench with positions: one row per position (its number,
    its instrument's serial, its verdict or its state with the reason), the failed and
    those left out in colour; it holds at 80 columns (a long reason folds)."""
    _ = translator(language)
    table = Table(title=_("Positions"), title_justify="left", expand=False)
    table.add_column(_("position"), justify="right", no_wrap=True)
    table.add_column(_("serial"), no_wrap=True, overflow="fold", max_width=24)
    table.add_column(_("verdict or state"), overflow="fold", max_width=44)
    for position in positions:
        told = escape(position_verdict(position, language))
        if position.state != "measured":
            told = f"[yellow]{told}[/]"
        elif position.verdict == "fail":
            told = f"[red]{told}[/]"
        table.add_row(str(position.position), escape(position.instrument.serial), told)
    console.print(table)


def print_identities(console: Console, report: IdentityReport, *, language: str = "en") -> None:
    """What each position's optical port said, before the first point: one row per
    position read (its number, the serial the meter states, its active energy register
    1.8.0 as the meter states it, to its own resolution, and the protocol), then those not
    read with why (they are left out of the run); it holds at 80 columns."""
    _ = translator(language)
    table = Table(
        title=_("Meters read through their optical ports"), title_justify="left", expand=False
    )
    table.add_column(_("position"), justify="right", no_wrap=True)
    table.add_column(_("serial"), no_wrap=True, overflow="fold", max_width=20)
    table.add_column(_("register 1.8.0"), justify="right", no_wrap=True)
    table.add_column(_("protocol or why not read"), overflow="fold", max_width=34)
    for number in sorted({*report.read, *report.unread}):
        if number in report.read:
            evidence = report.read[number].evidence()
            register = next(r for r in evidence.registers if r.code == ENERGY_IMPORT)
            table.add_row(
                str(number),
                escape(evidence.serial),
                escape(f"{register.value} {register.unit}"),
                METER_PROTOCOLS[evidence.protocol],
            )
        else:
            why = _("not read: {reason}").format(reason=report.unread[number].reason)
            table.add_row(str(number), "—", "—", f"[yellow]{escape(why)}[/]")
    console.print(table)


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
    # Three columns, each cell on lines of its own, so that the table holds at 80 columns
    # with the run id whole (it is what `run --resume` takes): the run and its job; the
    # state and its counts; why it waits and when it is tried again.
    table = Table(show_lines=True, expand=True)
    table.add_column("run / job", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("why / next attempt", ratio=1, overflow="fold")
    for r in rows:
        why = r.last_error or ""
        if r.rejection:
            code, detail = r.rejection.get("code"), r.rejection.get("detail")
            field = r.rejection.get("field")
            why = f"{code}{f' [{field}]' if field else ''}: {detail}"
        if r.next_attempt_at:
            why += f"\nnext attempt:\n{datetime_text(r.next_attempt_at, seconds=True)}"
        counts = "\n".join(
            _counted(n, what)
            for n, what in ((r.points, "point"), (r.readings, "reading"), (r.attempts, "attempt"))
        )
        cells = (f"{r.run_id}\njob {r.job}", f"{r.state}\n{counts}", why.strip())
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)


def _counted(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"
