"""A simulated Mettler Toledo balance speaking MT-SICS level 0/1, on a pseudo-terminal.

The model has a load on the pan, a zero point, a tare, a capacity and a zero-setting
range, and settles: after a load change it is unstable for ``settle_s`` seconds, during
which its value creeps towards the new load (first order) with extra noise. Then:

* ``S`` answers ``S I`` while unstable (this balance's own stability time limit is 0 s:
  a real one waits a few seconds first), ``S S <value> g`` once stable;
* ``SI`` answers ``S D`` while unstable, ``S S`` once stable;
* gross load above ``capacity`` answers ``S +``; below ``-underload`` answers ``S -``;
* ``Z`` answers ``Z I`` while unstable, ``Z +``/``Z -`` outside ±``zero_range`` of the
  power-on zero, else zeroes (and clears the tare) with ``Z A``;
* ``T`` answers ``T I`` while unstable, ``T +`` above capacity, ``T -`` at or below zero
  gross, else tares with ``T S <tare> g``;
* ``I1``..``I4`` identify it, ``@`` cancels and clears the tare (answers like ``I4``);
  an unknown or lower-case command answers ``ES``, a known command with a parameter
  ``EL``, a command with bytes that are not ASCII ``ET``.

Values are in grams, rounded to ``readability`` and right-aligned in a 10-character
field as the balance prints them. Noise comes from a seeded generator. Injected device
errors answer ``EL``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

from drivers.simulators.base import Reply, SimulatorOptions
from drivers.simulators.pty import PtySimulator

__all__ = ["SimulatedSicsBalance", "start_mettler_sics"]


class SimulatedSicsBalance:
    """Model of an MT-SICS balance; every mass in grams, every time in seconds.

    ``load``: the initial load on the pan. ``noise``: standard deviation of the noise
    once stable. ``capacity``: maximum capacity. ``readability``: the display step.
    ``zero_range``: how far from the power-on zero ``Z`` may set zero. ``underload``:
    how far below zero the balance still shows a value. ``settle_s``: how long the
    balance is unstable after a load change. ``clock``: monotonic time source.
    """

    input_terminator = b"\n"
    output_terminator = b"\r\n"

    def __init__(
        self,
        *,
        model: str = "XS205",
        serial: str = "B021002593",
        firmware: str = "2.10",
        load: float = 100.0,
        noise: float = 0.0,
        capacity: float = 220.0,
        readability: float = 0.0001,
        zero_range: float | None = None,
        underload: float | None = None,
        settle_s: float = 1.0,
        seed: int = 0,
    ) -> None:
        if not capacity > 0 or not readability > 0 or noise < 0 or settle_s < 0:
            raise ValueError("capacity and readability must be > 0, noise and settle_s >= 0")
        self.model = model
        self.serial = serial
        self.firmware = firmware
        self.capacity = capacity
        self.readability = readability
        self.zero_range = 0.02 * capacity if zero_range is None else zero_range
        self.underload = 0.02 * capacity if underload is None else underload
        self.settle_s = settle_s
        self.noise = noise
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._decimals = max(0, -math.floor(math.log10(readability) + 1e-9))
        self._load = load
        self._previous = load
        self._changed_at = -math.inf  # stable from the start
        self._zero = 0.0
        self._tare = 0.0
        self._transmission_errors = 0

    # -- test and demo controls ---------------------------------------------------------

    def set_load(self, load: float, *, settle_s: float | None = None) -> None:
        """Put ``load`` grams on the pan; unstable for ``settle_s`` (default: the model's)."""
        with self.lock:
            self._previous = self._gross_now()
            self._load = load
            self._changed_at = time.monotonic()
            if settle_s is not None:
                self.settle_s = settle_s

    def set_weighing_range(
        self, *, capacity: float, readability: float, model: str | None = None
    ) -> None:
        """Make it another balance: ``capacity`` and ``readability`` in grams (the zero
        range and underload follow as 2 % of capacity), ``model`` as ``I2`` reports it."""
        if not capacity > 0 or not readability > 0:
            raise ValueError("capacity and readability must be > 0")
        with self.lock:
            self.capacity = capacity
            self.readability = readability
            self.zero_range = 0.02 * capacity
            self.underload = 0.02 * capacity
            self._decimals = max(0, -math.floor(math.log10(readability) + 1e-9))
            if model is not None:
                self.model = model

    def corrupt_next(self, count: int = 1) -> None:
        """Answer the next ``count`` commands ``ET``, as if they arrived corrupted."""
        with self.lock:
            self._transmission_errors = count

    @property
    def tare_value(self) -> float:
        """The current tare in grams."""
        with self.lock:
            return self._tare

    @property
    def stable(self) -> bool:
        """True once the last load change has settled."""
        with self.lock:
            return time.monotonic() - self._changed_at >= self.settle_s

    # -- SimulatedInstrument --------------------------------------------------------------

    def handle(self, message: str) -> Reply:
        """Answer one MT-SICS command."""
        command, _, params = message.strip().partition(" ")
        with self.lock:
            if "\ufffd" in message or self._transmission_errors:
                # Bytes that are not ASCII: what a parity error or a break looks like.
                self._transmission_errors = max(0, self._transmission_errors - 1)
                return Reply("ET")
            handler = _HANDLERS.get(command)
            if handler is None:
                return Reply("ES")
            if params:
                return Reply("EL")
            return handler(self)

    def device_error(self, message: str, reply: Reply) -> Reply:
        """An injected device error: the balance answers ``EL`` (cannot execute)."""
        return Reply("EL", measurement=reply.measurement)

    # -- commands -----------------------------------------------------------------------

    def _weigh(self, immediate: bool) -> Reply:
        gross = self._gross_now()
        if gross > self.capacity:
            return Reply("S +", measurement=True)
        if gross < -self.underload:
            return Reply("S -", measurement=True)
        stable = self.stable
        if not stable and not immediate:
            return Reply("S I", measurement=True)
        noisy = gross - self._tare
        sigma = self.noise if stable else max(self.noise, 50 * self.readability)
        if sigma:
            noisy += self._rng.gauss(0.0, sigma)
        flag = "S" if stable else "D"
        return Reply(f"S {flag} {self._field(noisy)} g", measurement=True)

    def _zero_cmd(self) -> Reply:
        if not self.stable:
            return Reply("Z I")
        offset = self._load  # the gross load relative to the power-on zero
        if offset > self.zero_range:
            return Reply("Z +")
        if offset < -self.zero_range:
            return Reply("Z -")
        self._zero = offset
        self._tare = 0.0
        return Reply("Z A")

    def _tare_cmd(self) -> Reply:
        if not self.stable:
            return Reply("T I")
        gross = self._gross_now()
        if gross > self.capacity:
            return Reply("T +")
        if gross <= 0:
            return Reply("T -")
        self._tare = round(gross, self._decimals)
        return Reply(f"T S {self._field(self._tare)} g")

    def _cancel(self) -> Reply:
        self._tare = 0.0
        return Reply(f'I4 A "{self.serial}"')

    # -- helpers ------------------------------------------------------------------------

    def _gross_now(self) -> float:
        """The gross load (g) relative to zero, creeping to the load while settling."""
        elapsed = time.monotonic() - self._changed_at
        target = self._load
        if elapsed < self.settle_s:
            tau = self.settle_s / 5
            target = self._load + (self._previous - self._load) * math.exp(-elapsed / tau)
        return target - self._zero

    def _field(self, value: float) -> str:
        return f"{round(value, self._decimals):.{self._decimals}f}".rjust(10)


_HANDLERS: dict[str, Callable[[SimulatedSicsBalance], Reply]] = {
    "S": lambda b: b._weigh(immediate=False),
    "SI": lambda b: b._weigh(immediate=True),
    "Z": SimulatedSicsBalance._zero_cmd,
    "T": SimulatedSicsBalance._tare_cmd,
    "@": SimulatedSicsBalance._cancel,
    "I1": lambda b: Reply('I1 A "01" "2.20" "2.20" "" ""'),
    "I2": lambda b: Reply(f'I2 A "{b.model} {b._field(b.capacity).strip()} g"'),
    "I3": lambda b: Reply(f'I3 A "{b.firmware}"'),
    "I4": lambda b: Reply(f'I4 A "{b.serial}"'),
}


def start_mettler_sics(options: SimulatorOptions) -> PtySimulator:
    """Start a simulated balance on a new pseudo-terminal and return it (POSIX only).

    ``options.value`` is the load in grams (default 100 g), ``options.noise`` the noise in
    grams (default 0.1 mg). The address is the pseudo-terminal's device path.
    """
    balance = SimulatedSicsBalance(
        serial=options.serial or "B021002593",
        load=100.0 if options.value is None else options.value,
        noise=0.0001 if options.noise is None else options.noise,
        seed=options.seed,
    )
    server = PtySimulator(balance)
    if options.fault is not None:
        server.inject(options.fault)
    return server.start()
