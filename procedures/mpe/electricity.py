"""Static active-energy meters: OIML R 46 classes A, B, C (MID MI-003); the IEC no-load test.

What is encoded, each value with the text it was read in:

* **Classes A, B and C** — the MPE by current range (``Imin ≤ I < Itr`` and
  ``Itr ≤ I ≤ Imax``) and by operating temperature band, for a single-phase meter or a
  polyphase meter with balanced loads: **MID Annex V (MI-003) Table 2**, confirmed in
  the directive's text (legislation.gov.uk, Directive 2014/32/EU Annex V). The table
  holds over the power-factor range the directive asks for, at least ``cos φ = 0.5``
  inductive to ``0.8`` capacitive (**MID Annex V 2**, confirmed). The classes are those
  of OIML R 46-1/-2:2012; that R 46-1 gives the same values in its own table, and the
  number of that clause, are **[unverified]**: no stored copy of R 46-1 could be read,
  so the directive's table is the one cited.
* **Classes 1 and 2 (IEC 62053-21) and 0.5S and 0.2S (IEC 62053-22)** — their tables of
  percentage error limits (Table 3 of IEC 62053-22:2020 by its table of contents) could
  not be read in any stored source: **left out**. A
  stored copy of a "Table 7" for polyphase meters carrying a single-phase load (classes
  1 and 2, ±2.0 % and ±3.0 %) was found, but not which document and edition it is from:
  left out too.
  A verification center that holds the standard states the limits it applies in its own
  procedure (``class_limits:``), applied by :mod:`procedures.mpe.stated`.
* **No-load (creep) test** — with the current circuit open and 115 % of the reference
  voltage applied, the test output produces no more than one pulse (IEC 62053-21 /
  IEC 62053-22, "test of no-load condition", 7.6 in IEC 62053-22:2020 by its table of
  contents; the criterion confirmed in a stored description of the IEC test). The
  minimum duration of the test (a formula of the class, the constant, the voltage and
  the current, changed by IEC 62052-11 Ed. 2) is **left out**: the procedure states it.
* **The error of a meter from its test output** — ``E = 100 (n/C − W)/W`` % for ``n``
  pulses of a meter of constant ``C`` (imp/kWh) against the reference energy ``W``
  (kWh): the relative error of the definition, with the energy the meter registered
  read from its pulses through its marked constant.

Left out, not confirmed in any stored source: the starting current (R 46-1 / MID
Table 1 ratios Ist/Itr, IEC 62053-21/-22 Table 1), the ratios Imin/Itr and Imax/Itr, the
rows of MID Table 2 for a polyphase meter with a single-phase load, and the rule of the
register (constant) test.

Currents are Decimals in A, temperatures in °C, energies in kWh, constants in imp/kWh;
errors and MPEs are in % of the energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Final, Literal

from procedures.errors import InvalidValueError, OutOfRangeError, UnknownClassError
from procedures.mpe._values import Json, exact, non_negative, plain, positive
from procedures.mpe.result import RuleCheck, compare

__all__ = [
    "ElectricityMeter",
    "LoadKind",
    "check_no_load",
    "electricity_table",
    "no_load_test_voltage",
    "pulse_error",
    "starting_limit",
]

MID: Final = "MID Annex V (MI-003)"
MID_TABLE_2: Final = f"{MID} Table 2"
R46: Final = "OIML R 46-1:2012"
IEC_NO_LOAD: Final = "IEC 62053-21 / IEC 62053-22, test of no-load condition"
IEC_STARTING: Final = "IEC 62053-21 / IEC 62053-22, test of starting current"

LoadKind = Literal["inductive", "capacitive"]
"""Whether the current lags (inductive) or leads (capacitive) the voltage."""

LOWEST_INDUCTIVE_PF: Final = Decimal("0.5")
"""MID Annex V 2: the MPEs hold at least down to cos φ = 0.5 inductive."""
LOWEST_CAPACITIVE_PF: Final = Decimal("0.8")
"""MID Annex V 2: … and down to cos φ = 0.8 capacitive."""

# MID Annex V Table 2, single-phase meter or polyphase meter with balanced loads:
# class → per operating temperature band, (Imin ≤ I < Itr, Itr ≤ I ≤ Imax), % of the energy.
# The bands, nearest the reference conditions first: +5…+30 °C; −10…+5 or +30…+40 °C;
# −25…−10 or +40…+55 °C; −40…−25 or +55…+70 °C.
_TEMPERATURE_BANDS: Final[tuple[tuple[Decimal, Decimal], ...]] = (
    (Decimal(5), Decimal(30)),
    (Decimal(-10), Decimal(40)),
    (Decimal(-25), Decimal(55)),
    (Decimal(-40), Decimal(70)),
)
"""Band ``k`` is ``low ≤ t ≤ high`` minus the bands before it: a temperature on the
edge of two bands (+30 °C, +5 °C) is in the inner one, the band nearer the reference
conditions the table lists first."""

_MID_MPE: Final[dict[str, tuple[tuple[Decimal, Decimal], ...]]] = {
    "A": (
        (Decimal("3.5"), Decimal("3.5")),
        (Decimal(5), Decimal("4.5")),
        (Decimal(7), Decimal(7)),
        (Decimal(9), Decimal(9)),
    ),
    "B": (
        (Decimal(2), Decimal(2)),
        (Decimal("2.5"), Decimal("2.5")),
        (Decimal("3.5"), Decimal("3.5")),
        (Decimal(4), Decimal(4)),
    ),
    "C": (
        (Decimal(1), Decimal("0.7")),
        (Decimal("1.3"), Decimal(1)),
        (Decimal("1.7"), Decimal("1.3")),
        (Decimal(2), Decimal("1.5")),
    ),
}

NO_LOAD_VOLTAGE_FACTOR: Final = Decimal("1.15")
"""The no-load test applies 115 % of the reference voltage, the current circuit open."""
NO_LOAD_MAX_PULSES: Final = 1
"""… and the test output shall produce no more than one pulse."""


def _power_factor(power_factor: object, load_kind: str) -> Decimal:
    """``power_factor`` (``0 < cos φ ≤ 1``), and ``load_kind`` one of the two kinds."""
    pf = positive(power_factor, "power_factor")
    if pf > 1:
        raise InvalidValueError(
            f"a power factor is at most 1, not {plain(pf)}", argument="power_factor"
        )
    if load_kind not in ("inductive", "capacitive"):
        raise InvalidValueError(
            f"expected 'inductive' or 'capacitive', not {load_kind!r}", argument="load_kind"
        )
    return pf


def _pulse_count(pulses: object) -> Decimal:
    """``pulses`` as a Decimal if it is a whole number ≥ 0 (a count, never a float)."""
    if isinstance(pulses, bool) or not isinstance(pulses, int):
        raise InvalidValueError(
            f"a pulse count is a whole number, not {pulses!r}", argument="pulses"
        )
    return non_negative(pulses, "pulses")


def _temperature_band(temperature: object) -> int:
    """The index of the operating temperature band of MID Table 2 that holds ``temperature``."""
    t = exact(temperature, "temperature")
    for index, (low, high) in enumerate(_TEMPERATURE_BANDS):
        if low <= t <= high:
            return index
    raise OutOfRangeError(
        f"{plain(t)} °C is outside the operating temperatures of {MID_TABLE_2} "
        "(−40 °C to +70 °C); no MPE is defined there",
        argument="temperature",
    )


@dataclass(frozen=True, init=False)
class ElectricityMeter:
    """A static active-energy meter of class A, B or C (OIML R 46, MID MI-003).

    Attributes:
        accuracy_class: ``"A"``, ``"B"`` or ``"C"``.
        i_min: the minimum current Imin, in A.
        i_tr: the transitional current Itr, in A.
        i_max: the maximum current Imax, in A.

    The ratios between the currents that R 46-1 / MID Table 1 require of each class are
    **[unverified]** and not checked; only their order ``Imin < Itr ≤ Imax`` is.
    """

    accuracy_class: Literal["A", "B", "C"]
    i_min: Decimal
    i_tr: Decimal
    i_max: Decimal

    def __init__(
        self, accuracy_class: str, *, i_min: Decimal, i_tr: Decimal, i_max: Decimal
    ) -> None:
        if accuracy_class not in ("A", "B", "C"):
            raise UnknownClassError(
                f"unknown electricity meter class {accuracy_class!r}; {MID_TABLE_2} "
                "has classes A, B and C",
                argument="accuracy_class",
            )
        minimum = positive(i_min, "i_min")
        transitional = positive(i_tr, "i_tr")
        maximum = positive(i_max, "i_max")
        if not minimum < transitional:
            raise OutOfRangeError(
                f"Itr = {plain(transitional)} A must exceed Imin = {plain(minimum)} A",
                argument="i_tr",
            )
        if not transitional <= maximum:
            raise OutOfRangeError(
                f"Imax = {plain(maximum)} A must be at least Itr = {plain(transitional)} A",
                argument="i_max",
            )
        object.__setattr__(self, "accuracy_class", accuracy_class)
        object.__setattr__(self, "i_min", minimum)
        object.__setattr__(self, "i_tr", transitional)
        object.__setattr__(self, "i_max", maximum)

    def current_range(self, current: Decimal) -> Literal["Imin..Itr", "Itr..Imax"]:
        """``"Imin..Itr"`` for ``Imin ≤ I < Itr``, ``"Itr..Imax"`` for ``Itr ≤ I ≤ Imax``.

        A current below Imin or above Imax raises
        :class:`~procedures.errors.OutOfRangeError`: MID Table 2 defines no MPE there.
        """
        i = positive(current, "current")
        if i < self.i_min or i > self.i_max:
            raise OutOfRangeError(
                f"current {plain(i)} A is outside Imin..Imax = {plain(self.i_min)}.."
                f"{plain(self.i_max)} A; no MPE is defined there",
                argument="current",
            )
        return "Imin..Itr" if i < self.i_tr else "Itr..Imax"

    def mpe(
        self,
        current: Decimal,
        *,
        power_factor: Decimal,
        load_kind: LoadKind = "inductive",
        temperature: Decimal = Decimal(23),
    ) -> Decimal:
        """The MPE at ``current`` (A), ``power_factor`` and ``temperature`` (°C), in %.

        MID Annex V Table 2 by current range and operating temperature band; a power
        factor below 0.5 inductive or 0.8 capacitive (MID Annex V 2) is refused, as is a
        temperature outside −40 °C … +70 °C. ``temperature`` defaults to 23 °C, a bench
        in the +5 °C … +30 °C band.
        """
        pf = _power_factor(power_factor, load_kind)
        lowest = LOWEST_INDUCTIVE_PF if load_kind == "inductive" else LOWEST_CAPACITIVE_PF
        if pf < lowest:
            raise OutOfRangeError(
                f"power factor {plain(pf)} {load_kind} is below {plain(lowest)} {load_kind}, "
                f"outside the range of {MID} 2 (0.5 inductive to 0.8 capacitive)",
                argument="power_factor",
            )
        band = _temperature_band(temperature)
        lower, upper = _MID_MPE[self.accuracy_class][band]
        return lower if self.current_range(current) == "Imin..Itr" else upper

    def check_point(
        self,
        current: Decimal,
        *,
        power_factor: Decimal,
        pulses: int,
        constant: Decimal,
        reference_energy: Decimal,
        load_kind: LoadKind = "inductive",
        temperature: Decimal = Decimal(23),
    ) -> RuleCheck:
        """Whether the meter's error at one test point is within the MPE.

        The error is :func:`pulse_error` of the meter's ``pulses`` (constant in imp/kWh)
        against ``reference_energy`` (kWh); the verdict compares ``|100 (n − C·W)|`` with
        ``MPE · C·W`` exactly.
        """
        mpe = self.mpe(
            current, power_factor=power_factor, load_kind=load_kind, temperature=temperature
        )
        error = pulse_error(pulses, constant, reference_energy)
        expected = positive(constant, "constant") * positive(reference_energy, "reference_energy")
        deviation = abs(Decimal(pulses) - expected)
        return RuleCheck(
            f"error, {self.current_range(current)}",
            f"{MID_TABLE_2}; {R46} class {self.accuracy_class}",
            abs(error),
            mpe,
            "%",
            100 * deviation <= mpe * expected,
            positive(current, "current"),
            "A",
        )

    def as_dict(self) -> dict[str, Json]:
        """The meter's class and currents as plain data (A)."""
        return {
            "accuracy_class": self.accuracy_class,
            "i_min": plain(self.i_min),
            "i_tr": plain(self.i_tr),
            "i_max": plain(self.i_max),
            "current_unit": "A",
        }


def pulse_error(pulses: int, constant: Decimal, reference_energy: Decimal) -> Decimal:
    """The meter's error from its test output, ``100 (n/C − W)/W`` %, signed.

    ``pulses`` ``n`` counted at the meter's test output, ``constant`` ``C`` its marked
    constant (imp/kWh), ``reference_energy`` ``W`` the energy the reference meter
    measured meanwhile (kWh). A missing (zero) constant or energy is refused, naming it.
    Rounded to 28 significant digits where the quotient does not end.
    """
    n = _pulse_count(pulses)
    c = positive(constant, "constant")
    w = positive(reference_energy, "reference_energy")
    return 100 * (n - c * w) / (c * w)


def no_load_test_voltage(reference_voltage: Decimal) -> Decimal:
    """The voltage of the no-load test: 115 % of the reference voltage (V)."""
    return NO_LOAD_VOLTAGE_FACTOR * positive(reference_voltage, "reference_voltage")


def check_no_load(pulses: int) -> RuleCheck:
    """The no-load (creep) test: at most one pulse at the test output with the current
    circuit open and :func:`no_load_test_voltage` applied, for the test's duration."""
    n = _pulse_count(pulses)
    return compare("no-load", IEC_NO_LOAD, n, Decimal(NO_LOAD_MAX_PULSES), "pulses")


def starting_limit(duration: object) -> Decimal:
    """The starting test's limit on the time to the meter's first pulse: the test's
    ``duration`` (s) in whole seconds, rounded down (a limit a person reads, never looser
    than the test). At the starting current the meter starts, and shows it by a pulse of
    its test output within the duration (IEC 62053-21 / -22, test of starting current;
    the criterion confirmed in a stored description of the IEC test). The duration itself
    (a formula of the constant, the voltage and the starting current in the IEC texts) is
    **[unverified]**: the procedure states the one it applies. A duration under one
    second is refused."""
    seconds = positive(duration, "duration").to_integral_value(rounding=ROUND_FLOOR)
    if seconds < 1:
        raise OutOfRangeError(
            f"a starting test of {plain(positive(duration, 'duration'))} s is shorter than "
            "one second",
            argument="duration",
        )
    return seconds


def electricity_table() -> dict[str, Json]:
    """The electricity meter MPEs and test conditions as plain data, with their sources."""
    return {
        "id": "oiml-r46-electricity-meters",
        "title": "Active electrical energy meters: MPE by class, current and temperature",
        "document": f"{MID_TABLE_2} (classes of {R46}); {IEC_NO_LOAD}",
        "rules": {
            "current_ranges": "Imin ≤ I < Itr, Itr ≤ I ≤ Imax",
            "power_factor": "0.5 inductive to 0.8 capacitive (MID Annex V 2)",
            "temperature_bands_c": "+5…+30; −10…+5 or +30…+40; −25…−10 or +40…+55; "
            "−40…−25 or +55…+70 (an edge belongs to the inner band)",
            "error": "E = 100 (n/C − W)/W, n pulses, C imp/kWh, W kWh",
            "no_load": "115 % of the reference voltage, current circuit open, "
            f"at most {NO_LOAD_MAX_PULSES} pulse",
            "starting": "at the starting current, a first pulse within the test's duration",
        },
        "unit": "%",
        "mpe_percent": {
            cls: [
                {
                    "temperature_c": [plain(low), plain(high)],
                    "imin_to_itr": plain(lower),
                    "itr_to_imax": plain(upper),
                }
                for (low, high), (lower, upper) in zip(_TEMPERATURE_BANDS, bands, strict=True)
            ]
            for cls, bands in _MID_MPE.items()
        },
        "confirmed_in": [
            "https://www.legislation.gov.uk/eudr/2014/32/annex/V/division/3/adopted/data.xht",
            "https://legislation.gov.uk/eudr/2014/32/annex/V/division/2/adopted/data.html",
            "https://clouglobal.com/how-long-does-a-no-load-test-take/",
        ],
        "unverified": [
            "that OIML R 46-1:2012 gives MID Table 2's values, and its clause number",
            "the clause numbers of the no-load test in IEC 62053-21/-22 Ed. 1",
            "the clause numbers of the starting test in IEC 62053-21/-22",
        ],
        "left_out": [
            "IEC 62053-21 classes 1 and 2 (percentage error limits)",
            "IEC 62053-22 classes 0.5S and 0.2S (percentage error limits)",
            "the starting current (R 46-1 / MID Table 1, IEC 62053-21/-22 Table 1)",
            "the current ratios Imin/Itr, Imax/Itr of MID Table 1",
            "MID Table 2 for polyphase meters with a single-phase load",
            "the duration of the no-load test",
            "the duration of the starting test",
            "the register (constant) test's rule",
        ],
    }
