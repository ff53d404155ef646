"""What the procedure runner needs from the world: a bench, an operator and a recorder.

The runner never opens a port or prints a line itself. The agent (or a test) hands it:

* a :class:`Bench`: the opened instrument in each role (``source``, ``reference``,
  ``uut``, ``environment``...), each conforming to the capability protocols of
  :mod:`drivers.capabilities`;
* an :class:`Operator`: the person at the bench, who carries out :class:`Instruction`
  (place these weights, connect the gauge) and confirms; a simulated operator acts on a
  simulated bench instead;
* a :class:`Recorder`: where every reading is made durable *before* the runner goes on
  (the agent's outbox), and where each finished point is kept, both as parts of the run
  record (:mod:`procedures.record`).

Standards' data (:class:`StandardRecord`) come from the LIMS or from the agent's cache of
the last sync, in the LIMS's own JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from procedures.record import Point, PositionInstrument, Reading, SharedPoint

__all__ = [
    "OPTICAL_ROLE",
    "POSITION_ROLE",
    "Bench",
    "BenchPosition",
    "BenchRole",
    "Instruction",
    "Operator",
    "OperatorAbort",
    "PositionRecorder",
    "Recorder",
    "StandardRecord",
    "optical_role",
]

POSITION_ROLE = "uut"
"""The procedure role a multi-position bench fills once per position."""

OPTICAL_ROLE = "optical"
"""The procedure role of the optical port of the instrument under test (an electricity
meter's, read through its probe): on a multi-position bench, filled once per position
that has a probe (``optical@N`` beside ``uut@N``)."""


def optical_role(position_role: str) -> str:
    """The bench role of the optical port of the meter in ``position_role``:
    ``uut@3`` → ``optical@3``, ``uut`` → ``optical``."""
    _, at, number = position_role.partition("@")
    return f"{OPTICAL_ROLE}@{number}" if at else OPTICAL_ROLE


@dataclass(frozen=True, slots=True)
class BenchRole:
    """One role of a bench as configured: which driver at which address, and, for a
    reference standard, its asset id in the LIMS's register."""

    role: str
    driver: str
    address: str
    asset_id: str | None = None
    serial: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BenchPosition:
    """One position of a multi-position bench: its number (from 1), the bench role its
    instrument is opened in (``uut@3``), the instrument mounted there, and why it is
    not measured in this run (not mounted, broken), None when it is."""

    number: int
    role: str
    instrument: PositionInstrument
    skipped: str | None = None


class Bench(Protocol):
    """The instruments of one bench, opened and identified."""

    @property
    def roles(self) -> Mapping[str, BenchRole]:
        """The configured roles, by name."""
        ...

    def instrument(self, role: str) -> object:
        """The opened driver in ``role`` (it implements capability protocols)."""
        ...


@dataclass(frozen=True, slots=True)
class Instruction:
    """Something the operator must do before the run goes on.

    ``kind`` is a word a simulated operator understands (``place_load``, ``remove_load``,
    ``position``, ``connect``, ``set_flow``, ``confirm``); ``params`` its numbers
    (``{"load": 5000.0, "unit": "g"}``); ``text`` the instruction in each language
    (``{"en": ..., "vi": ...}``), already filled in.
    """

    kind: str
    params: Mapping[str, Any]
    text: Mapping[str, str]


class OperatorAbort(Exception):
    """The operator chose to stop (pause or abandon) instead of carrying out an instruction."""

    def __init__(self, reason: str, *, pause: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pause = pause


class Operator(Protocol):
    """The person at the bench."""

    def instruct(self, instruction: Instruction) -> None:
        """Show ``instruction`` and return once it is done; raise :class:`OperatorAbort`
        when the operator stops instead."""
        ...

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        """Progress for display (a reading taken, a point finished, waiting for stability)."""
        ...


class Recorder(Protocol):
    """Where the runner's evidence goes. Each method returns only once it is durable."""

    def reading(self, *, point_index: int, quantity: str, reading: Reading) -> int:
        """Keep one reading of ``quantity`` taken for point ``point_index``; return its id."""
        ...

    def point(self, point: Point, reading_ids: list[int]) -> None:
        """Keep a finished point and the ids of its readings (already kept), in order."""
        ...

    def io(self, entries: list[Mapping[str, Any]]) -> None:
        """Keep raw I/O entries (``t``, ``dir``, ``address``, ``data``) of the instruments."""
        ...


class PositionRecorder(Recorder, Protocol):
    """A recorder that keeps a multi-position run: the shared readings through
    :meth:`Recorder.reading`, each position's readings and points by position, and each
    point of the shared sequence once every position's point of it is kept (what an
    interrupted run resumes after)."""

    def position_reading(
        self, *, position: int, point_index: int, quantity: str, reading: Reading
    ) -> int:
        """Keep one reading of position ``position``'s instrument; return its id."""
        ...

    def position_point(self, position: int, point: Point, reading_ids: list[int]) -> None:
        """Keep a finished point of ``position``: its own readings' ids, in order."""
        ...

    def position_state(self, position: int, state: str, reason: str) -> None:
        """Keep that ``position`` is now skipped or removed, and why."""
        ...

    def shared_point(self, point: SharedPoint, reading_ids: list[int]) -> None:
        """Keep a finished point of the shared sequence (its readings' ids, in order; none
        where nothing is read once), after every position's point of it."""
        ...


@dataclass(frozen=True, slots=True)
class StandardRecord:
    """A reference standard as the LIMS publishes it: the standard (``asset_id``,
    ``functions`` with ranges, ``status``...) and its certificates (``number``,
    ``calibrated_on``, ``due_on``, ``values``: calibrated values with ``quantity``,
    ``nominal``, ``value``, ``unit``, ``U``, ``k``)."""

    standard: Mapping[str, Any]
    certificates: tuple[Mapping[str, Any], ...]

    @property
    def asset_id(self) -> str:
        return str(self.standard["asset_id"])
