"""The people at a simulated bench: the operator who carries out the runner's instructions,
and the typist who reads a dial and types the value at a manual-entry prompt.

:class:`SimulatedOperator` acts on the :class:`~simulation.world.SimulatedWorld` (places a
load, runs a flow) and records what it was told and shown; :class:`SimulatedTypist` stands
for the terminal of a manual-entry driver, answering each prompt with what the instrument
shows at that moment, read with a person's judgement.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from procedures.bench import Instruction

from .errors import SimulationError
from .world import SimulatedWorld

__all__ = ["RecordedEvent", "RecordedInstruction", "SimulatedOperator", "SimulatedTypist"]


# -- the operator -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedInstruction:
    """An instruction the simulated operator received (``at``, UTC) and carried out."""

    at: datetime
    kind: str
    params: Mapping[str, Any]
    text: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """Progress shown to the simulated operator (``at``, UTC)."""

    at: datetime
    event: str
    data: Mapping[str, Any]


_GRAMS = {"mg": 1e-3, "g": 1.0, "kg": 1e3}


class SimulatedOperator:
    """The person at a simulated bench (a :class:`procedures.bench.Operator`).

    :meth:`instruct` acts on the world by ``instruction.kind``:

    * ``place_load``: ``load`` (number) in ``unit`` (``g`` default, ``kg``, ``mg``), optional
      ``position`` (1: the centre, 2 to 5; default where the last ``position`` said):
      the load on the pan and where;
    * ``remove_load``: clears the pan;
    * ``position``: ``position``: moves the load (on an empty pan: where the next goes);
    * ``set_flow``: ``flow_rate`` (m3/h) and either ``volume`` (m3) or ``duration_s`` (s):
      runs the flow through the rig and returns when it is done;
    * anything else (``connect``, ``confirm``...): nothing to do in the world.

    Every instruction is recorded (:attr:`instructions`) with the time it was received,
    and every :meth:`show` (:attr:`events`). A malformed instruction raises
    :class:`SimulationError` (a procedure's mistake, not the operator's).
    """

    def __init__(self, world: SimulatedWorld) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._instructions: list[RecordedInstruction] = []
        self._events: list[RecordedEvent] = []

    @property
    def instructions(self) -> tuple[RecordedInstruction, ...]:
        """Every instruction received, in order."""
        with self._lock:
            return tuple(self._instructions)

    @property
    def events(self) -> tuple[RecordedEvent, ...]:
        """Every event shown, in order."""
        with self._lock:
            return tuple(self._events)

    def instruct(self, instruction: Instruction) -> None:
        """Carry out ``instruction`` in the world; return once it is done."""
        params = dict(instruction.params)
        record = RecordedInstruction(
            datetime.now(UTC), instruction.kind, params, dict(instruction.text)
        )
        with self._lock:
            self._instructions.append(record)
        kind = instruction.kind
        if kind == "place_load":
            unit = str(params.get("unit", "g"))
            if unit not in _GRAMS:
                raise SimulationError(f"place_load: unknown unit {unit!r} (g, kg or mg)")
            grams = _number(params, "load", kind) * _GRAMS[unit]
            position = params.get("position")
            self.world.place_load(grams, None if position is None else str(position))
        elif kind == "remove_load":
            self.world.remove_load()
        elif kind == "position":
            if "position" not in params:
                raise SimulationError("position: the instruction names no position")
            self.world.move_load(str(params["position"]))
        elif kind == "set_flow":
            rate = _number(params, "flow_rate", kind)
            if "volume" in params:
                volume = _number(params, "volume", kind)
            elif "duration_s" in params:
                volume = rate * _number(params, "duration_s", kind) / 3600.0
            else:
                raise SimulationError("set_flow: give a volume (m3) or a duration_s (s)")
            self.world.run_flow(rate, volume)

    def show(self, event: str, data: Mapping[str, Any]) -> None:
        """Record ``event`` and its ``data``."""
        with self._lock:
            self._events.append(RecordedEvent(datetime.now(UTC), event, dict(data)))


def _number(params: Mapping[str, Any], key: str, kind: str) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationError(f"{kind}: {key} must be a finite number, got {value!r}")
    return float(value)


# -- the typist ------------------------------------------------------------------------------


class SimulatedTypist:
    """The person who reads a dial and types the value at a manual-entry prompt.

    It stands for the text streams the manual-entry driver is given (the terminal's
    standard input and error on a real bench): the driver writes its prompt here and
    reads a line here. :meth:`readline` asks ``read()`` what the instrument shows at that
    moment (in the dial's unit), adds the reader's judgement (Gaussian, ``jitter`` in the
    unit), keeps it on the dial (``limits``: where the pointer's stop pins are, if any),
    rounds it to ``step`` and types it, with a decimal comma with probability
    ``decimal_comma`` (as Vietnamese
    operators write). ``seed`` seeds the judgement and the choice of comma.
    """

    def __init__(
        self,
        read: Callable[[], float],
        *,
        step: float,
        jitter: float = 0.0,
        limits: tuple[float, float] | None = None,
        decimal_comma: float = 0.5,
        seed: int = 0,
    ) -> None:
        if not step > 0 or jitter < 0 or not 0.0 <= decimal_comma <= 1.0:
            raise ValueError("step must be > 0, jitter >= 0, decimal_comma 0 to 1")
        self._read = read
        self._step = step
        self._jitter = jitter
        self._limits = limits
        self._comma = decimal_comma
        self._rng = random.Random(seed)
        self._decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        self._lock = threading.Lock()
        self._typed: list[str] = []
        self._prompts: list[str] = []

    @property
    def typed(self) -> tuple[str, ...]:
        """Every line typed, without its line end, in order."""
        with self._lock:
            return tuple(self._typed)

    @property
    def prompts(self) -> tuple[str, ...]:
        """Everything the driver wrote to the typist, in order."""
        with self._lock:
            return tuple(self._prompts)

    def readline(self, size: int = -1, /) -> str:
        """The value the person reads now, as typed, with a line end."""
        value = self._read()
        with self._lock:
            if self._jitter:
                value += self._rng.gauss(0.0, self._jitter)
            if self._limits is not None:
                value = min(max(value, self._limits[0]), self._limits[1])
            shown = round(value / self._step) * self._step + 0.0  # no "-0"
            text = f"{shown:.{self._decimals}f}"
            if self._rng.random() < self._comma:
                text = text.replace(".", ",")
            self._typed.append(text)
        return text + "\n"

    def write(self, text: str, /) -> int:
        """Keep what the driver shows the person (prompts, refusals)."""
        with self._lock:
            self._prompts.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        """Nothing to release."""
