"""Non-automatic weighing instruments: OIML R 76-1:2006.

What is encoded, and where each value was read (see also
``shared/docs/domain/legal-metrology.md`` §2.1):

* **Accuracy classes** (R 76-1 Table 3): the range of the verification scale
  interval ``e``, the number of intervals ``n = Max/e`` and the minimum
  capacity ``Min`` of each class. Read in the stored copy of the R 76 tables
  (scribd 314749659 "Tablas OIML Alumnos") and in the same table transcribed
  by India's Standards of Weights and Measures (General) Rules 1987, 10k(3)
  Table 40 (indiankanoon 186311032).
* **MPE on initial verification** (R 76-1 3.5.1 Table 6): ±0.5 e, ±1 e,
  ±1.5 e by load band, upper bounds inclusive. Same two sources, and the EU
  NAWI directive Annex I 4.1 as transposed in UK SI 1995/1907 Sch 2 para 4
  (whose class II first row misprints 20 000 e for 5 000 e).
* **MPE in service** = twice the MPE on initial verification (NAWI Annex I
  4.2, UK SI 1995/1907 Sch 2 para 4.2; the R 76-1 clause, 3.5.2, is
  recalled, **[unverified]** clause number).
* ``e`` is 1, 2 or 5 × 10^k of the unit (UK SI 1995/1907 Sch 2).
* **Repeatability** (R 76-1 3.6.1): the difference between the largest and
  the smallest result of several weighings of the same load shall not exceed
  the absolute value of the MPE for that load. **Eccentricity** (R 76-1
  3.6.2): with a load of 1/3 of Max (a receptor with at most 4 points of
  support; 1/(n−1) of Max with n > 4 supports), the indications at the
  different positions shall meet the MPE of that load. Wording read in the
  Indian rules 10k(7)(i)–(ii) (indiankanoon 97401519), which transcribe R 76;
  the R 76-1 clause numbers themselves are recalled, **[unverified]**.
* **Weighing test and error before rounding** (R 76-1 A.4.4, changepoint
  method ``P = I + e/2 − ΔL``, ``E = P − L``, ``Ec = E − E0``): the method is
  standard; the clause number is **[unverified]**.
* **Number of test loads** (R 76-1 A.4.4.1): at least 10 different test loads for
  the determination of the initial intrinsic error, at least 5 for the other
  weighing tests; the loads include Max, Min (where Min ≥ 100 mg) and values at or
  near those where the MPE changes; loaded up to Max and unloaded back. Read in two
  independent transcriptions of R 76-1 A.4.4.1 (pp. 88–89 of the 2006 edition) in
  public verification projects; the R 76-1 text itself was not in a stored copy.
  A verification weighs with the 10 loads (:data:`VERIFICATION_LOADS`): the weighing
  test of a verification is the instrument's first determination of its error of
  indication, and the larger count is the one the text states for that.
* **Eliminating the rounding error** (R 76-1 A.4.4.3, :class:`RoundingMethod`): the
  changepoint method, or a display whose scale interval is at most e/5 (the ``d ≤
  e/5`` figure is **[unverified]** as a clause; the method is standard).
* **Discrimination** (R 76-1 3.8, A.4.8; an extra load of 1.4 d at Min,
  Max/2 and Max changes the indication of a digital instrument):
  **[unverified]** — no stored source was found; the helpers below say so.

Not encoded: multi-interval and multiple-range instruments (treat each range
as an instrument of its own, R 76-1 3.2–3.3, **[unverified detail]**), tare,
zero-setting accuracy, and the class I exception to ``n ≥ 50 000``.

Masses are Decimals in the instrument's unit (``"mg"``, ``"g"`` or ``"kg"``);
every MPE returned is a positive magnitude (the MPE is ± that value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Final

from procedures.errors import InvalidValueError, OutOfRangeError, PlanError, UnknownClassError
from procedures.mpe._values import (
    MILLIGRAMS_PER,
    Json,
    MassUnit,
    exact,
    mass_unit,
    non_negative,
    plain,
    positive,
)
from procedures.mpe.result import RuleCheck, compare

__all__ = [
    "FINE_DISPLAY_MAX_FRACTION",
    "OTHER_WEIGHING_TEST_LOADS",
    "VERIFICATION_LOADS",
    "NawiClass",
    "RoundingMethod",
    "WeighingInstrument",
    "error_before_rounding",
    "nawi_mpe_in_e",
    "nawi_table",
    "rounding_method",
]

R76: Final = "OIML R 76-1:2006"


class NawiClass(StrEnum):
    """Accuracy class of a non-automatic weighing instrument (R 76-1 3.1, Table 1)."""

    I = "I"
    II = "II"
    III = "III"
    IIII = "IIII"


# R 76-1:2006 3.5.1 Table 6: (upper bound of the load band in e, inclusive; MPE in e).
# None: the band has no upper bound (class I above 200 000 e).
_MPE_BANDS: Final[dict[NawiClass, tuple[tuple[Decimal | None, Decimal], ...]]] = {
    NawiClass.I: (
        (Decimal(50000), Decimal("0.5")),
        (Decimal(200000), Decimal("1.0")),
        (None, Decimal("1.5")),
    ),
    NawiClass.II: (
        (Decimal(5000), Decimal("0.5")),
        (Decimal(20000), Decimal("1.0")),
        (Decimal(100000), Decimal("1.5")),
    ),
    NawiClass.III: (
        (Decimal(500), Decimal("0.5")),
        (Decimal(2000), Decimal("1.0")),
        (Decimal(10000), Decimal("1.5")),
    ),
    NawiClass.IIII: (
        (Decimal(50), Decimal("0.5")),
        (Decimal(200), Decimal("1.0")),
        (Decimal(1000), Decimal("1.5")),
    ),
}

VERIFICATION_LOADS: Final = 10
"""Different test loads of the weighing test of a verification (R 76-1:2006 A.4.4.1: at
least 10 for the initial intrinsic error)."""
OTHER_WEIGHING_TEST_LOADS: Final = 5
"""Different test loads of the other weighing tests (R 76-1:2006 A.4.4.1: at least 5)."""
MIN_CAPACITY_INCLUDED_FROM_MG: Final = Decimal(100)
"""Min is one of the loads where Min ≥ 100 mg (R 76-1:2006 A.4.4.1)."""
FINE_DISPLAY_MAX_FRACTION: Final = Decimal("0.2")
"""A display read for the error has a scale interval ≤ e/5 (R 76-1 A.4.4.3,
[unverified] clause)."""

IN_SERVICE_FACTOR: Final = Decimal(2)
"""MPE in service / MPE on initial verification (NAWI Annex I 4.2; R 76-1 3.5.2)."""


@dataclass(frozen=True)
class _ClassRow:
    """One row of R 76-1 Table 3: e in grams, n = Max/e, Min in e."""

    accuracy_class: NawiClass
    e_min_g: Decimal
    e_max_g: Decimal | None
    n_min: int
    n_max: int | None
    min_capacity_e: int


# R 76-1:2006 Table 3 (verification scale interval in g, n = Max/e, Min).
_CLASS_ROWS: Final[tuple[_ClassRow, ...]] = (
    _ClassRow(NawiClass.I, Decimal("0.001"), None, 50000, None, 100),
    _ClassRow(NawiClass.II, Decimal("0.001"), Decimal("0.05"), 100, 100000, 20),
    _ClassRow(NawiClass.II, Decimal("0.1"), None, 5000, 100000, 50),
    _ClassRow(NawiClass.III, Decimal("0.1"), Decimal("2"), 100, 10000, 20),
    _ClassRow(NawiClass.III, Decimal("5"), None, 500, 10000, 20),
    _ClassRow(NawiClass.IIII, Decimal("5"), None, 100, 1000, 10),
)


def _parse_class(accuracy_class: object) -> NawiClass:
    if isinstance(accuracy_class, str):
        for member in NawiClass:
            if member.value == accuracy_class:
                return member
    raise UnknownClassError(
        f"unknown accuracy class {accuracy_class!r}; R 76-1 has I, II, III and IIII",
        argument="accuracy_class",
    )


def nawi_mpe_in_e(
    accuracy_class: NawiClass | str, load_in_e: Decimal, *, in_service: bool = False
) -> Decimal:
    """MPE of a non-automatic weighing instrument for a load, both in verification intervals e.

    R 76-1:2006 3.5.1 Table 6 (initial verification: 0.5 e, 1.0 e or 1.5 e;
    each band's upper bound belongs to it, so class III at 500 e is 0.5 e and
    at 501 e is 1.0 e); ``in_service=True`` doubles it (3.5.2, NAWI Annex I
    4.2).

    ``load_in_e`` is the load ``m`` divided by ``e`` (dimensionless, ≥ 0).
    Returns the magnitude of the MPE in units of ``e``. A load above the last
    band of the class (10 000 e for class III: no class III instrument has
    more intervals) raises :class:`~procedures.errors.OutOfRangeError`.
    """
    cls = _parse_class(accuracy_class)
    m = non_negative(load_in_e, "load_in_e")
    factor = IN_SERVICE_FACTOR if in_service else Decimal(1)
    for upper, mpe in _MPE_BANDS[cls]:
        if upper is None or m <= upper:
            return mpe * factor
    top = _MPE_BANDS[cls][-1][0]
    raise OutOfRangeError(
        f"a load of {plain(m)} e is above the last band of class {cls} ({plain(top or m)} e, "
        f"{R76} Table 6); there is no MPE for it",
        argument="load_in_e",
    )


def _one_two_five(e: Decimal) -> bool:
    digits = e.normalize().as_tuple().digits
    return len(digits) == 1 and digits[0] in (1, 2, 5)


@dataclass(frozen=True, init=False)
class WeighingInstrument:
    """A single-interval non-automatic weighing instrument, checked against R 76-1 Table 3.

    Construction refuses an instrument that its class does not allow:

    * ``e`` not 1, 2 or 5 × 10^k of the unit;
    * ``e`` outside the class's range (class III: 0.1 g ≤ e ≤ 2 g or e ≥ 5 g);
    * ``n = Max/e`` outside the class's range (class III with e ≥ 5 g:
      500 ≤ n ≤ 10 000), or not a whole number.

    Attributes:
        accuracy_class: I, II, III or IIII.
        max_capacity: Max, in ``unit``.
        e: the verification scale interval, in ``unit`` (the actual scale
            interval d is taken equal to e: no auxiliary indicating device).
        unit: ``"mg"``, ``"g"`` or ``"kg"``; every mass given to or returned
            by the methods is in this unit.
    """

    accuracy_class: NawiClass
    max_capacity: Decimal
    e: Decimal
    unit: MassUnit

    def __init__(
        self,
        accuracy_class: NawiClass | str,
        max_capacity: Decimal,
        e: Decimal,
        *,
        unit: MassUnit,
    ) -> None:
        cls = _parse_class(accuracy_class)
        the_unit = mass_unit(unit)
        maximum = positive(max_capacity, "max_capacity")
        interval = positive(e, "e")
        if not _one_two_five(interval):
            raise InvalidValueError(
                f"must be 1, 2 or 5 × 10^k {the_unit}, not {plain(interval)}", argument="e"
            )
        n = maximum / interval
        if n != n.to_integral_value():
            raise InvalidValueError(
                f"Max = {plain(maximum)} {the_unit} is not a whole number of "
                f"e = {plain(interval)} {the_unit}",
                argument="max_capacity",
            )
        _class_row(cls, (interval * MILLIGRAMS_PER[the_unit] / 1000).normalize(), n)
        object.__setattr__(self, "accuracy_class", cls)
        object.__setattr__(self, "max_capacity", maximum)
        object.__setattr__(self, "e", interval)
        object.__setattr__(self, "unit", the_unit)

    @property
    def n(self) -> int:
        """The number of verification scale intervals ``n = Max/e`` (dimensionless)."""
        return int(self.max_capacity / self.e)

    @property
    def min_capacity(self) -> Decimal:
        """Min, the lower limit of R 76-1 Table 3 (e.g. 20 e for class III), in ``unit``."""
        row = _class_row(self.accuracy_class, self._e_grams(), Decimal(self.n))
        return row.min_capacity_e * self.e

    def _e_grams(self) -> Decimal:
        return (self.e * MILLIGRAMS_PER[self.unit] / 1000).normalize()

    def _load(self, load: Decimal, argument: str = "load") -> Decimal:
        mass = non_negative(load, argument)
        if mass > self.max_capacity:
            raise OutOfRangeError(
                f"{plain(mass)} {self.unit} is above Max = {plain(self.max_capacity)} "
                f"{self.unit}; R 76-1 defines no MPE beyond Max",
                argument=argument,
            )
        return mass

    def mpe(self, load: Decimal, *, in_service: bool = False) -> Decimal:
        """MPE at ``load`` (in ``unit``), as a magnitude in ``unit``.

        R 76-1:2006 3.5.1 Table 6 on initial verification, twice that in
        service (3.5.2). A negative load or a load above Max is refused
        (:class:`~procedures.errors.OutOfRangeError`).
        """
        mass = self._load(load)
        return nawi_mpe_in_e(self.accuracy_class, mass / self.e, in_service=in_service) * self.e

    def mpe_change_points(self) -> tuple[Decimal, ...]:
        """The loads below Max where the MPE steps up (class III: 500 e, 2 000 e), in ``unit``.

        The MPE at each of these loads is still the lower one (the band's
        upper bound is inclusive); a weighing test includes them.
        """
        return tuple(
            upper * self.e
            for upper, _ in _MPE_BANDS[self.accuracy_class]
            if upper is not None and upper * self.e < self.max_capacity
        )

    def check_repeatability(
        self, load: Decimal, indications: Sequence[Decimal], *, in_service: bool = False
    ) -> RuleCheck:
        """Repeatability: ``max − min`` of the indications ≤ ``|MPE|`` at ``load``.

        R 76-1:2006 3.6.1 (wording confirmed, clause number **[unverified]**).
        ``indications`` are the results of at least two weighings of the same
        load, in ``unit``; the number of weighings a procedure requires is its
        own (R 76-1 A.4.10, **[unverified]**). ``in_service`` selects the MPE.
        """
        mass = self._load(load)
        if len(indications) < 2:
            raise InvalidValueError(
                f"repeatability needs at least two weighings, got {len(indications)}",
                argument="indications",
            )
        values = [exact(value, f"indications[{i}]") for i, value in enumerate(indications)]
        return compare(
            "repeatability",
            f"{R76} 3.6.1",
            max(values) - min(values),
            self.mpe(mass, in_service=in_service),
            self.unit,
            load=mass,
            at_unit=self.unit,
        )

    def eccentricity_test_load(self, *, supports: int = 4) -> Decimal:
        """The eccentricity test load, in ``unit``: Max/3, or Max/(supports − 1) above 4 supports.

        R 76-1:2006 3.6.2 (wording confirmed, clause number **[unverified]**).
        Where the quotient is not a finite decimal (Max = 10 kg: 3.33… kg) it
        is rounded to the nearest multiple of e; the MPE of the eccentricity
        test is taken at the load actually applied
        (:meth:`check_eccentricity`), so this is the target, not a limit.
        """
        if isinstance(supports, bool) or not isinstance(supports, int) or supports < 1:
            raise InvalidValueError(
                f"must be a whole number of points of support ≥ 1, not {supports!r}",
                argument="supports",
            )
        divisor = 3 if supports <= 4 else supports - 1
        quotient = self.max_capacity / divisor
        if quotient * divisor == self.max_capacity:
            return quotient
        steps = (self.max_capacity / (divisor * self.e)).quantize(
            Decimal(1), rounding=ROUND_HALF_EVEN
        )
        return steps * self.e

    def check_eccentricity(
        self, load: Decimal, errors: Sequence[Decimal], *, in_service: bool = False
    ) -> RuleCheck:
        """Eccentricity: the error at every position ≤ ``|MPE|`` of ``load``.

        R 76-1:2006 3.6.2 (wording confirmed, clause number **[unverified]**).
        ``load`` is the load applied (about :meth:`eccentricity_test_load`) and
        ``errors`` the error of indication at each position (indication − load,
        corrected for rounding where the procedure does so), both in ``unit``.
        The check compares the largest ``|error|`` with the MPE.
        """
        mass = self._load(load)
        if not errors:
            raise InvalidValueError("no position was weighed", argument="errors")
        values = [exact(value, f"errors[{i}]") for i, value in enumerate(errors)]
        return compare(
            "eccentricity",
            f"{R76} 3.6.2",
            max(abs(value) for value in values),
            self.mpe(mass, in_service=in_service),
            self.unit,
            load=mass,
            at_unit=self.unit,
        )

    def check_weighing_test(
        self,
        increasing: Sequence[tuple[Decimal, Decimal]],
        decreasing: Sequence[tuple[Decimal, Decimal]],
        *,
        in_service: bool = False,
    ) -> tuple[RuleCheck, ...]:
        """Weighing test with increasing and decreasing loads: ``|error| ≤ MPE(load)`` at each.

        R 76-1:2006 3.5 and A.4.4 (**[unverified]** clause number). Each
        sequence holds ``(load, error)`` pairs in ``unit``, in the order the
        loads were applied: loads must rise in ``increasing`` and fall in
        ``decreasing``; the MPE applies in both directions. The error is the
        error of indication, corrected for rounding where the procedure does so
        (:func:`error_before_rounding`). Returns one check per point,
        increasing first.
        """
        checks: list[RuleCheck] = []
        for name, points, rising in (
            ("increasing", increasing, True),
            ("decreasing", decreasing, False),
        ):
            if not points:
                raise InvalidValueError(
                    f"the weighing test needs {name} loads; none were given", argument=name
                )
            previous: Decimal | None = None
            for i, (load, error) in enumerate(points):
                mass = self._load(load, f"{name}[{i}]")
                if previous is not None and (mass <= previous if rising else mass >= previous):
                    raise InvalidValueError(
                        f"load {plain(mass)} {self.unit} does not "
                        f"{'rise above' if rising else 'fall below'} the previous load "
                        f"{plain(previous)} {self.unit}",
                        argument=f"{name}[{i}]",
                    )
                previous = mass
                checks.append(
                    compare(
                        f"weighing test, {name}",
                        f"{R76} 3.5.1 Table 6"
                        + (" ×2 in service (NAWI Annex I 4.2)" if in_service else ""),
                        abs(exact(error, f"{name}[{i}]")),
                        self.mpe(mass, in_service=in_service),
                        self.unit,
                        load=mass,
                        at_unit=self.unit,
                    )
                )
        return tuple(checks)

    def check_weighing_loads(
        self, loads: Sequence[Decimal], *, required: int = VERIFICATION_LOADS
    ) -> dict[str, Json]:
        """Refuse a weighing test whose loads R 76-1:2006 A.4.4.1 does not allow.

        ``loads`` are the test's loads in the order they are applied (in ``unit``):
        rising up to Max, then falling back. A.4.4.1 asks for at least 10 different
        loads for the initial intrinsic error (``required``, the default for a
        verification) and 5 for the other weighing tests, among them Max, Min (where
        Min ≥ 100 mg) and the loads where the MPE changes (caltrace asks for the
        change point itself: the band's bound belongs to the lower MPE, so the point
        tests the tighter limit), loaded up to Max and unloaded back.

        Raises :class:`~procedures.errors.PlanError` (argument ``loads``) naming the
        rule and what is missing; returns the plan's summary as plain data.
        """
        if isinstance(required, bool) or required < OTHER_WEIGHING_TEST_LOADS:
            raise InvalidValueError(
                f"must be at least {OTHER_WEIGHING_TEST_LOADS} ({R76} A.4.4.1), not {required!r}",
                argument="required",
            )
        # normalize(): a load given as 100.0 is said "100 g"; comparisons are numeric
        masses = [self._load(load, f"loads[{i}]").normalize() for i, load in enumerate(loads)]
        rule = f"{R76} A.4.4.1"
        if self.max_capacity not in masses:
            raise PlanError(
                f"the weighing test does not load Max = {plain(self.max_capacity)} {self.unit} "
                f"({rule}: the loads include Max)",
                argument="loads",
            )
        top = masses.index(self.max_capacity)
        increasing, decreasing = masses[: top + 1], masses[top + 1 :]
        for name, sequence, rising in (
            ("increasing", increasing, True),
            ("decreasing", decreasing, False),
        ):
            for before, after in pairwise(sequence):
                if (after <= before) if rising else (after >= before):
                    raise PlanError(
                        f"the {name} loads are not in order at {plain(before)} then "
                        f"{plain(after)} {self.unit} ({rule}: load up to Max, then unload)",
                        argument="loads",
                    )
        distinct = sorted(set(masses))
        if len(distinct) < required:
            raise PlanError(
                f"the weighing test has {len(distinct)} different loads; {rule} asks for at "
                f"least {required}",
                argument="loads",
            )
        min_mg = self.min_capacity * MILLIGRAMS_PER[self.unit]
        if min_mg >= MIN_CAPACITY_INCLUDED_FROM_MG and self.min_capacity not in masses:
            raise PlanError(
                f"the weighing test does not load Min = {plain(self.min_capacity)} {self.unit} "
                f"({rule}: the loads include Min where Min ≥ 100 mg)",
                argument="loads",
            )
        missing = [point for point in self.mpe_change_points() if point not in masses]
        if missing:
            raise PlanError(
                "the weighing test does not load the MPE change point(s) "
                + ", ".join(f"{plain(point)} {self.unit}" for point in missing)
                + f" ({rule}: the loads include those where the MPE changes)",
                argument="loads",
            )
        if not decreasing or decreasing[-1] > increasing[0]:
            raise PlanError(
                f"the weighing test does not unload back to its first load "
                f"{plain(increasing[0])} {self.unit} ({rule}: loads are removed as they "
                "were applied)",
                argument="loads",
            )
        return {
            "rule": rule,
            "different_loads": len(distinct),
            "required": required,
            "increasing": [plain(m) for m in increasing],
            "decreasing": [plain(m) for m in decreasing],
            "unit": self.unit,
        }

    def discrimination_loads(self) -> tuple[Decimal, Decimal, Decimal]:
        """The loads of the discrimination test, Min, Max/2 and Max, in ``unit``.

        R 76-1:2006 A.4.8 **[unverified]**: no stored source was found for the
        discrimination test; confirm against the official text before a
        procedure relies on it.
        """
        return self.min_capacity, self.max_capacity / 2, self.max_capacity

    def discrimination_extra_load(self) -> Decimal:
        """The extra load of the discrimination test of a digital instrument, 1.4 d, in ``unit``.

        R 76-1:2006 3.8 **[unverified]** (d = e here). Placing or removing it
        must change the indication.
        """
        return Decimal("1.4") * self.e

    def as_dict(self) -> dict[str, Json]:
        """The instrument's characteristics as plain data (masses in ``unit``)."""
        return {
            "accuracy_class": self.accuracy_class.value,
            "max_capacity": plain(self.max_capacity),
            "e": plain(self.e),
            "n": self.n,
            "min_capacity": plain(self.min_capacity),
            "unit": self.unit,
        }


def _class_row(cls: NawiClass, e_grams: Decimal, n: Decimal) -> _ClassRow:
    rows = [row for row in _CLASS_ROWS if row.accuracy_class is cls]
    for row in rows:
        if e_grams >= row.e_min_g and (row.e_max_g is None or e_grams <= row.e_max_g):
            if n < row.n_min or (row.n_max is not None and n > row.n_max):
                limits = f"{row.n_min} ≤ n" + ("" if row.n_max is None else f" ≤ {row.n_max}")
                raise OutOfRangeError(
                    f"n = Max/e = {plain(n)} is outside {limits} for class {cls} with "
                    f"e = {plain(e_grams)} g ({R76} Table 3)",
                    argument="max_capacity",
                )
            return row
    ranges = " or ".join(
        f"{plain(row.e_min_g)} g ≤ e"
        + ("" if row.e_max_g is None else f" ≤ {plain(row.e_max_g)} g")
        for row in rows
    )
    raise OutOfRangeError(
        f"e = {plain(e_grams)} g is not allowed in class {cls}: {ranges} ({R76} Table 3)",
        argument="e",
    )


def error_before_rounding(
    load: Decimal, indication: Decimal, additional_load: Decimal, e: Decimal
) -> Decimal:
    """The error of a digital indication before rounding (changepoint method), in the unit of e.

    R 76-1:2006 A.4.4.3 (clause number **[unverified]**): small extra weights
    (0.1 e each) are added to the load ``L`` until the indication ``I``
    steps up by one interval; with ``ΔL`` the extra load added, the
    indication before rounding is ``P = I + e/2 − ΔL`` and the error
    ``E = P − L``. Subtract the error at or near zero ``E0`` from ``E``
    to get the corrected error ``Ec``. All values in the same mass unit.
    """
    mass = non_negative(load, "load")
    shown = exact(indication, "indication")
    extra = non_negative(additional_load, "additional_load")
    interval = positive(e, "e")
    if extra > interval:
        raise OutOfRangeError(
            f"ΔL = {plain(extra)} is more than one interval e = {plain(interval)}: the "
            "indication must step up within one e",
            argument="additional_load",
        )
    return shown + interval / 2 - extra - mass


class RoundingMethod(StrEnum):
    """How the rounding error of a digital indication is eliminated when errors are read.

    R 76-1:2006 A.4.4.3: an indication rounded to e hides up to e/2 of the error, a third
    of the smallest MPE; a verification reads the error before rounding, either with the
    changepoint method or on a display with a finer scale interval.
    """

    CHANGEPOINT = "changepoint"
    """Weights of 0.1 e added until the indication steps up: ``P = I + e/2 − ΔL``."""
    FINE_DISPLAY = "fine_display"
    """The errors read on a display (a test mode) whose scale interval is at most e/5."""

    @property
    def statement(self) -> dict[str, str]:
        """What the certificate says about the method, in English and Vietnamese."""
        return dict(_ROUNDING_STATEMENTS[self])


_ROUNDING_STATEMENTS: Final[dict[RoundingMethod, dict[str, str]]] = {
    RoundingMethod.CHANGEPOINT: {
        "en": (
            "The rounding error of the digital indication was eliminated by the changepoint "
            "method (OIML R 76-1:2006 A.4.4.3): additional weights of 0.1 e were placed until "
            "the indication I increased by one scale interval, and the indication before "
            "rounding was taken as P = I + ½e − ΔL, where ΔL is the additional load."
        ),
        "vi": (
            "Sai số làm tròn của số chỉ hiện số được loại trừ bằng phương pháp điểm chuyển "
            "(OIML R 76-1:2006 A.4.4.3): đặt thêm các quả cân phụ 0,1 e cho đến khi số chỉ I "
            "tăng thêm một giá trị độ chia, số chỉ trước khi làm tròn được tính là "
            "P = I + ½e − ΔL, trong đó ΔL là tải thêm vào."
        ),
    },
    RoundingMethod.FINE_DISPLAY: {
        "en": (
            "The errors were read on a display with a scale interval of at most e/5 "
            "(OIML R 76-1:2006), so that the rounding of the indication adds at most e/10 "
            "to each error."
        ),
        "vi": (
            "Sai số được đọc trên bộ hiển thị có giá trị độ chia không lớn hơn e/5 "
            "(OIML R 76-1:2006), nên việc làm tròn số chỉ góp vào mỗi sai số không quá e/10."
        ),
    },
}


def rounding_method(
    method: RoundingMethod | str, *, e: Decimal, interval: Decimal | None = None
) -> dict[str, Json]:
    """The method of eliminating the rounding error that a weighing run uses, checked.

    ``e`` is the verification scale interval and ``interval`` the scale interval of the
    display the errors are read on (both in the instrument's unit). The fine-display
    method needs ``interval ≤ e/5`` (R 76-1 A.4.4.3, **[unverified]** clause): a
    coarser display is refused (:class:`~procedures.errors.OutOfRangeError`, argument
    ``interval``), never used as if it eliminated the rounding; the changepoint method
    reads the indication with e and needs no ``interval``.

    Returns the method, its document, the intervals and the statement (``en``/``vi``)
    that a certificate prints, as plain data for the run's record.
    """
    try:
        chosen = RoundingMethod(method)
    except ValueError:
        raise UnknownClassError(
            f"unknown method {method!r}; known: {', '.join(m.value for m in RoundingMethod)}",
            argument="method",
        ) from None
    # normalize(): the interval of a display read as 5.0 is 5; the message says "e/5 = 1"
    scale = positive(e, "e").normalize()
    out: dict[str, Json] = {
        "method": chosen.value,
        "document": f"{R76} A.4.4.3",
        "e": plain(scale),
        "statement": chosen.statement,  # type: ignore[dict-item]
    }
    if chosen is RoundingMethod.FINE_DISPLAY:
        if interval is None:
            raise InvalidValueError(
                "the fine-display method needs the display's scale interval",
                argument="interval",
            )
        shown = positive(interval, "interval").normalize()
        if shown > FINE_DISPLAY_MAX_FRACTION * scale:
            raise OutOfRangeError(
                f"a display interval of {plain(shown)} is more than e/5 = "
                f"{plain((FINE_DISPLAY_MAX_FRACTION * scale).normalize())}: it does not "
                "eliminate the "
                f"rounding error ({R76} A.4.4.3); use the changepoint method",
                argument="interval",
            )
        out["interval"] = plain(shown)
    return out


def nawi_table() -> dict[str, Json]:
    """R 76-1 Tables 3 and 6 and the in-service rule as plain data, with their sources."""
    return {
        "id": "oiml-r76-1-2006",
        "title": "Non-automatic weighing instruments: MPE and accuracy classes",
        "document": R76,
        "rules": {
            "mpe_initial": "3.5.1 Table 6: MPE in e by load m in e; band upper bounds inclusive",
            "mpe_in_service": (
                "twice the MPE on initial verification (NAWI Annex I 4.2; R 76-1 3.5.2)"
            ),
            "classes": "Table 3: e (g), n = Max/e, Min (e)",
            "repeatability": "3.6.1: max − min of the indications ≤ |MPE| of the load",
            "eccentricity": "3.6.2: load Max/3 (≤ 4 supports), every position within the MPE",
            "weighing_test_loads": (
                f"A.4.4.1: at least {VERIFICATION_LOADS} different loads for the initial "
                f"intrinsic error (a verification), {OTHER_WEIGHING_TEST_LOADS} for other "
                "weighing tests; Max, Min (Min ≥ 100 mg) and the MPE change points included; "
                "loaded up to Max and back"
            ),
            "rounding_error": (
                "A.4.4.3: changepoint method P = I + e/2 − ΔL, or a display with an interval ≤ e/5"
            ),
        },
        "mpe_bands_in_e": {
            cls.value: [
                {"up_to_e": None if upper is None else plain(upper), "mpe_e": plain(mpe)}
                for upper, mpe in bands
            ]
            for cls, bands in _MPE_BANDS.items()
        },
        "classes": [
            {
                "class": row.accuracy_class.value,
                "e_min_g": plain(row.e_min_g),
                "e_max_g": None if row.e_max_g is None else plain(row.e_max_g),
                "n_min": row.n_min,
                "n_max": row.n_max,
                "min_capacity_e": row.min_capacity_e,
            }
            for row in _CLASS_ROWS
        ],
        "in_service_factor": plain(IN_SERVICE_FACTOR),
        "confirmed_in": [
            "https://scribd.com/document/314749659/Tablas-OIML-Alumnos",
            "https://future.indiankanoon.org/doc/186311032/",
            "https://future.indiankanoon.org/doc/97401519/",
            "https://legislation.gov.uk/uksi/1995/1907/schedule/2/paragraph/4/made?view=plain",
            "https://www.scribd.com/document/344903136/R076-1-e06-pdf (the edition and title)",
        ],
        "unverified": [
            "clause numbers 3.5.2 and A.4.8 (3.6.1, 3.6.2, A.4.4.1, A.4.4.3, A.4.7 and "
            "A.4.10 are named with their pages in a public transcription of R 76-1, "
            "not in a stored copy of the text; the wording of 3.6.1 and 3.6.2 is confirmed)",
            "discrimination test: extra load 1.4 d at Min, Max/2 and Max",
            "A.4.4.1 load counts: read in two transcriptions of R 76-1 in public projects, "
            "not in a stored copy of the text",
            "the e/5 limit of a display used to read errors (A.4.4.3)",
        ],
    }
