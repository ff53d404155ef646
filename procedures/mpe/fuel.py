"""Measuring systems for liquids other than water (fuel dispensers): OIML R 117-1:2007, MID MI-005.

The rules as MID Annex VII (MI-005) 2.1 to 2.4 states them, which WELMEC CT-005 (2010)
maps clause by clause onto OIML R 117-1:2007; read in the UK transposition of MI-005,
SI 2006/1270 Schedule 1 paragraph 36 (its Tables 3 and 4 are the directive's Tables 2
and 3). The clause numbers of R 117-1:2007 itself (recalled: 2.5 classes, 2.6 MPEs and
their Table 2, 2.7 the minimum specified volume deviation and its Table 3) could not be
read in a stored copy: they are **[unverified]** and not printed.

* **MPE on volume indications, V ≥ 2 L** (MI-005 2.1, Table 2), in % of the volume:

  ============================ ======= ======= =======
  accuracy class               0.3     0.5     1.0
  ============================ ======= ======= =======
  measuring system (line A)    0.3     0.5     1.0
  meter (line B)               0.2     0.3     0.6
  ============================ ======= ======= =======

  Classes 1.5 and 2.5 are in the same table (A 1.5/2.5, B 1.0/1.5) but are not
  encoded: caltrace verifies fuel dispensers (class 0.5) and, where confirmed, the
  neighbouring classes only.
* **V < 2 L** (MI-005 2.2, Table 3): V < 0.1 L, 4 × the Table 2 value applied to 0.1 L;
  0.1 L ≤ V < 0.2 L, 4 × the value; 0.2 L ≤ V < 0.4 L, 2 × the value applied to 0.4 L;
  0.4 L ≤ V < 1 L, 2 × the value; 1 L ≤ V < 2 L, the value applied to 2 L.
* **Whatever the volume** (MI-005 2.3) the MPE's magnitude is the greater of the one
  above and **E_min**, the minimum specified volume deviation of the minimum measured
  quantity (MMQ) (MI-005 2.4): for MMQ ≥ 2 L, ``E_min = 2 · MMQ · A/100`` (condition 2)
  with ``E_min ≥ 2 R``, R the smallest scale interval of the indicating device
  (condition 1); for MMQ < 2 L, E_min is twice the Table 3 value at the MMQ, line A, and
  condition 1 applies.

A field verification with a proving can tests the complete measuring system: line A.
Vietnam's ĐLVN 10:2013 sets ±0.3 % for dispensers at initial, periodic and after-repair
verification (docs: legal metrology §2.5); that national rule is not this module's.

Volumes are Decimals in litres; MPEs are returned in litres (absolute) or in % of the
volume; comparisons are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from procedures.errors import InvalidValueError, OutOfRangeError, PlanError, UnknownClassError
from procedures.mpe._values import Json, exact, plain, positive
from procedures.mpe.result import RuleCheck

__all__ = ["FuelMeasuringSystem", "fuel_table", "fuel_volume_error"]

MI005: Final = "MID Annex VII (MI-005)"
R117: Final = "OIML R 117-1:2007"

Line = Literal["A", "B"]

# class → (line A: measuring system, line B: meter), % of the volume. MI-005 2.1 Table 2.
_TABLE_2: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "0.3": (Decimal("0.3"), Decimal("0.2")),
    "0.5": (Decimal("0.5"), Decimal("0.3")),
    "1.0": (Decimal("1.0"), Decimal("0.6")),
}

# MI-005 2.2 Table 3: (lower bound of V in L, factor, volume the value applies to or None
# for V itself), the first row whose bound V reaches.
_TABLE_3: Final[tuple[tuple[Decimal, Decimal, Decimal | None], ...]] = (
    (Decimal(2), Decimal(1), None),
    (Decimal(1), Decimal(1), Decimal(2)),
    (Decimal("0.4"), Decimal(2), None),
    (Decimal("0.2"), Decimal(2), Decimal("0.4")),
    (Decimal("0.1"), Decimal(4), None),
    (Decimal(0), Decimal(4), Decimal("0.1")),
)

TWO_LITRES: Final = Decimal(2)


def _accuracy_class(value: object) -> str:
    """The class as its table key: ``0.5``, ``"0.5"`` and ``Decimal("0.50")`` are one class."""
    if isinstance(value, bool):
        raise UnknownClassError(f"unknown accuracy class {value!r}", argument="accuracy_class")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = Decimal(-1)
    for key in _TABLE_2:
        if number.is_finite() and number == Decimal(key):
            return key
    raise UnknownClassError(
        f"unknown accuracy class {value!r} for a fuel measuring system; encoded: "
        f"{', '.join(_TABLE_2)} ({MI005}, Table 2)",
        argument="accuracy_class",
    )


@dataclass(frozen=True, init=False)
class FuelMeasuringSystem:
    """A measuring system for liquids other than water (a fuel dispenser).

    Attributes:
        accuracy_class: ``"0.3"``, ``"0.5"`` (fuel dispensers) or ``"1.0"``.
        mmq: the minimum measured quantity, in L (> 0).
        scale_interval: R, the smallest scale interval of the volume indication, in L
            (> 0); ``E_min ≥ 2 R`` (MI-005 2.4 condition 1) is checked here, so a system
            whose indication is too coarse for its MMQ is refused.
    """

    accuracy_class: str
    mmq: Decimal
    scale_interval: Decimal

    def __init__(self, accuracy_class: object, *, mmq: Decimal, scale_interval: Decimal) -> None:
        object.__setattr__(self, "accuracy_class", _accuracy_class(accuracy_class))
        object.__setattr__(self, "mmq", positive(mmq, "mmq"))
        object.__setattr__(self, "scale_interval", positive(scale_interval, "scale_interval"))
        e_min = self.e_min_unchecked()
        if e_min < 2 * self.scale_interval:
            raise InvalidValueError(
                f"E_min = {plain(e_min)} L at the MMQ {plain(self.mmq)} L is below twice the "
                f"scale interval ({plain(2 * self.scale_interval)} L): {MI005} 2.4 condition 1 "
                "is not met",
                argument="scale_interval",
            )

    def percent(self, line: Line = "A") -> Decimal:
        """The Table 2 value of the class on ``line`` (A: measuring system, B: meter), in %."""
        system, meter = _TABLE_2[self.accuracy_class]
        if line == "A":
            return system
        if line == "B":
            return meter
        raise InvalidValueError(f"line must be 'A' or 'B', not {line!r}", argument="line")

    def table_mpe(self, volume: Decimal, line: Line = "A") -> Decimal:
        """The MPE of MI-005 2.1 (V ≥ 2 L) or 2.2 Table 3 (V < 2 L) at ``volume``, in L."""
        v = positive(volume, "volume")
        value = self.percent(line)
        for lower, factor, applied_to in _TABLE_3:
            if v >= lower:
                return factor * value * (v if applied_to is None else applied_to) / 100
        raise AssertionError("unreachable: the last row starts at 0 L")  # pragma: no cover

    def e_min_unchecked(self) -> Decimal:
        """E_min of MI-005 2.4 in L, without condition 1 (see :attr:`e_min`)."""
        if self.mmq >= TWO_LITRES:
            return 2 * self.mmq * self.percent("A") / 100
        return 2 * self.table_mpe(self.mmq, "A")

    @property
    def e_min(self) -> Decimal:
        """The minimum specified volume deviation, in L (MI-005 2.4): ``2·MMQ·A/100`` for
        MMQ ≥ 2 L, twice the Table 3 value at the MMQ (line A) below."""
        return self.e_min_unchecked()

    def mpe(self, volume: Decimal, line: Line = "A") -> Decimal:
        """The MPE's magnitude at ``volume`` (L), in L: the greater of the table value and
        E_min (MI-005 2.3). A volume below the MMQ has no MPE: the system may not measure
        it, so it is refused."""
        v = positive(volume, "volume")
        if v < self.mmq:
            raise OutOfRangeError(
                f"{plain(v)} L is below the minimum measured quantity {plain(self.mmq)} L; "
                "no MPE is defined there",
                argument="volume",
            )
        return max(self.table_mpe(v, line), self.e_min)

    def mpe_percent(self, volume: Decimal, line: Line = "A") -> Decimal:
        """:meth:`mpe` in % of ``volume`` (rounded to 28 significant digits where the
        quotient does not end; :meth:`check_point` decides exactly)."""
        return 100 * self.mpe(volume, line) / positive(volume, "volume")

    def check_point(
        self, *, indicated_volume: Decimal, actual_volume: Decimal, line: Line = "A"
    ) -> RuleCheck:
        """Whether ``|V_i − V_a| ≤ MPE(V_a)``, both in L; the check in % of ``V_a``."""
        indicated = exact(indicated_volume, "indicated_volume")
        actual = positive(actual_volume, "actual_volume")
        mpe = self.mpe(actual, line)
        deviation = abs(indicated - actual)
        return RuleCheck(
            "error of the volume indication",
            f"{MI005} 2.1-2.4; {R117} class {self.accuracy_class}, line {line}",
            100 * deviation / actual,
            100 * mpe / actual,
            "%",
            deviation <= mpe,
            actual,
            "L",
        )

    def check_test_volumes(self, volumes: Sequence[Decimal]) -> dict[str, Json]:
        """Refuse test volumes (L) below the MMQ, before the run: no MPE is defined there
        and the fuel would be pumped for nothing. Returns E_min and each volume's MPE in
        L and in % (line A)."""
        out: list[Json] = []
        for i, value in enumerate(volumes):
            v = positive(value, f"volumes[{i}]")
            if v < self.mmq:
                raise PlanError(
                    f"a test of {plain(v)} L is below the minimum measured quantity "
                    f"{plain(self.mmq)} L ({MI005} 2.4): no MPE is defined there",
                    argument=f"volumes[{i}]",
                )
            out.append(
                {
                    "volume": plain(v),
                    "mpe": plain(self.mpe(v)),
                    "mpe_percent": plain(self.mpe_percent(v)),
                }
            )
        return {**self.as_dict(), "points": out}

    def as_dict(self) -> dict[str, Json]:
        """The system's characteristics and E_min as plain data (L)."""
        return {
            "accuracy_class": self.accuracy_class,
            "mmq": plain(self.mmq),
            "scale_interval": plain(self.scale_interval),
            "e_min": plain(self.e_min),
            "unit": "L",
        }


def fuel_volume_error(indicated_volume: Decimal, reference_volume: Decimal) -> Decimal:
    """The error of a volume indication, ``100 (V_i − V_ref)/V_ref``, in % (signed); both
    volumes in L (the form of ĐLVN 10:2011, E = 100·(V_FD − V_REF)/V_REF)."""
    indicated = exact(indicated_volume, "indicated_volume")
    reference = positive(reference_volume, "reference_volume")
    return 100 * (indicated - reference) / reference


def fuel_table() -> dict[str, Json]:
    """The MPEs of fuel measuring systems and the E_min rule as plain data."""
    return {
        "id": "oiml-r117-1-fuel",
        "title": "Measuring systems for liquids other than water: MPE by class and volume",
        "document": f"{MI005} 2.1-2.4 (WELMEC CT-005: = {R117})",
        "rules": {
            "table_2": "V >= 2 L: line A (measuring system), line B (meter), % of V",
            "table_3": (
                "V < 0.1 L: 4 x value at 0.1 L; 0.1-0.2 L: 4 x value; 0.2-0.4 L: 2 x value "
                "at 0.4 L; 0.4-1 L: 2 x value; 1-2 L: value at 2 L"
            ),
            "e_min": (
                "MPE = max(table, E_min); MMQ >= 2 L: E_min = 2 MMQ A/100 and E_min >= 2 R; "
                "MMQ < 2 L: E_min = 2 x Table 3 (line A) at the MMQ"
            ),
        },
        "unit": "%",
        "mpe_percent": {cls: {"A": plain(a), "B": plain(b)} for cls, (a, b) in _TABLE_2.items()},
        "confirmed_in": [
            "https://legislation.gov.uk/uksi/2006/1270/schedule/1/paragraph/36/made",
            "http://www.legislation.gov.uk/eudr/2014/32/annex/VII/division/3/division/2/"
            "data.xht?view=snippet&wrap=true",
            "https://nsai.ie/legal-metrology/enforcement-information/inspection-types/"
            "truck-mounted-fuel-meters",
        ],
        "unverified": [
            "the clause and table numbers of OIML R 117-1:2007 (2.6 Table 2, 2.7 Table 3)",
            "a volume correction to a reference temperature (OIML R 120, ISO 4787): not applied",
        ],
    }
