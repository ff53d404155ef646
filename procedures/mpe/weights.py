"""Weights: OIML R 111-1:2004 Table 1 (maximum permissible errors δm).

The R 76 verification of a weighing instrument uses weights whose MPE must be
small against the instrument's MPE, so the procedure needs δm of each weight
(and the LIMS shows it on the reference standard).

Table 1, 1 mg to 5 000 kg, classes E1, E2, F1, F2, M1, M1–2, M2, M2–3, M3
(δm in mg; a class without a value for a nominal value has no weight of that
nominal value). Read in full in a weight supplier's copy of the R 111-1:2004
table ("How to determine the necessary test weights — maximum tolerance for
weights according to OIML R111:2004", abcdocz 214925); the rows 1 mg to 5 kg
also in Kern's copy (en.kern-lab.com, with M1 5 mg misprinted 0.02 for 0.20),
and the 2 000 kg and 5 000 kg rows of F1 to M2 in the R 111 table copy on
scribd 314749659. Not read in the official OIML text.

Rules of R 111-1:2004 5.2 and 5.3, **[unverified wording]** (no stored copy
of the clauses was found; the notes recall them):

* the expanded uncertainty ``U`` (k = 2) of the conventional mass of a weight
  is at most one third of δm;
* the conventional mass ``m_c`` lies within ``m_0 ± (δm − U)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from procedures.errors import OutOfRangeError, UnknownClassError
from procedures.mpe._values import (
    MILLIGRAMS_PER,
    Json,
    MassUnit,
    mass_unit,
    plain,
    positive,
)
from procedures.mpe.result import RuleCheck, compare
from procedures.mpe.uncertainty_ratio import check_verification_uncertainty

__all__ = ["WEIGHT_CLASSES", "WeightCheck", "check_weight", "weight_mpe", "weights_table"]

R111: Final = "OIML R 111-1:2004"

WEIGHT_CLASSES: Final = ("E1", "E2", "F1", "F2", "M1", "M1-2", "M2", "M2-3", "M3")
"""The classes of R 111-1:2004, most accurate first."""


def _column(first_mg: str, values: str) -> dict[Decimal, Decimal]:
    """A class's δm (mg) from its first nominal value (mg) upwards along 1-2-5."""
    nominal = Decimal(first_mg).normalize()
    column: dict[Decimal, Decimal] = {}
    for value in values.split():
        column[nominal] = Decimal(value)
        lead = nominal.normalize().as_tuple().digits[0]
        nominal = (nominal * (Decimal("2.5") if lead == 2 else Decimal(2))).normalize()
    return column


# R 111-1:2004 Table 1, δm in mg, keyed by nominal value in mg (1 mg … 5 000 kg).
_TABLE_MG: Final[dict[str, dict[Decimal, Decimal]]] = {
    "E1": _column(
        "1",
        "0.003 0.003 0.003 0.003 0.003 0.004 0.005 0.006 0.008 0.010 0.012 0.016 "
        "0.020 0.025 0.030 0.05 0.10 0.25 0.5 1.0 2.5 5 10 25",
    ),
    "E2": _column(
        "1",
        "0.006 0.006 0.006 0.008 0.010 0.012 0.016 0.020 0.025 0.030 0.040 0.050 "
        "0.060 0.080 0.10 0.16 0.30 0.80 1.6 3.0 8.0 16 30 80 160 300 800 1600",
    ),
    "F1": _column(
        "1",
        "0.020 0.020 0.020 0.025 0.03 0.04 0.05 0.06 0.08 0.10 0.12 0.16 0.20 0.25 "
        "0.3 0.5 1.0 2.5 5 10 25 50 100 250 500 1000 2500 5000 10000 25000",
    ),
    "F2": _column(
        "1",
        "0.06 0.06 0.06 0.08 0.10 0.12 0.16 0.20 0.25 0.3 0.4 0.5 0.6 0.8 1.0 1.6 "
        "3.0 8.0 16 30 80 160 300 800 1600 3000 8000 16000 30000 80000",
    ),
    "M1": _column(
        "1",
        "0.20 0.20 0.20 0.25 0.3 0.4 0.5 0.6 0.8 1.0 1.2 1.6 2.0 2.5 3.0 5 10 25 50 "
        "100 250 500 1000 2500 5000 10000 25000 50000 100000 250000",
    ),
    "M1-2": _column("50000000", "5000 10000 20000 50000 100000 200000 500000"),
    "M2": _column(
        "100",
        "1.6 2.0 2.5 3.0 4.0 5.0 6.0 8.0 10 16 30 80 160 300 800 1600 3000 8000 "
        "16000 30000 80000 160000 300000 800000",
    ),
    "M2-3": _column("50000000", "16000 30000 60000 160000 300000 600000 1600000"),
    "M3": _column(
        "1000",
        "10 12 16 20 25 30 50 100 250 500 1000 2500 5000 10000 25000 50000 100000 "
        "250000 500000 1000000 2500000",
    ),
}


def _parse_class(weight_class: object) -> str:
    if isinstance(weight_class, str) and weight_class in _TABLE_MG:
        return weight_class
    raise UnknownClassError(
        f"unknown weight class {weight_class!r}; {R111} has {', '.join(WEIGHT_CLASSES)}",
        argument="weight_class",
    )


def weight_mpe(nominal_value: Decimal, weight_class: str, *, unit: MassUnit) -> Decimal:
    """δm, the MPE of a weight of ``nominal_value`` and ``weight_class``, in ``unit``.

    R 111-1:2004 Table 1. ``nominal_value`` is in ``unit`` (``"mg"``, ``"g"``
    or ``"kg"``) and must be a nominal value of the table (1, 2 or 5 × 10^k
    from 1 mg to 5 000 kg) that the class has (no E1 weight above 50 kg, no M3
    weight below 1 g); otherwise :class:`~procedures.errors.OutOfRangeError`.
    Returns the magnitude of δm (the MPE is ± δm) in ``unit``.
    """
    cls = _parse_class(weight_class)
    the_unit = mass_unit(unit)
    nominal_mg = positive(nominal_value, "nominal_value") * MILLIGRAMS_PER[the_unit]
    column = _TABLE_MG[cls]
    for key, mpe_mg in column.items():
        if key == nominal_mg:
            return mpe_mg / MILLIGRAMS_PER[the_unit]
    if any(nominal_mg == key for other in _TABLE_MG.values() for key in other):
        low, high = min(column), max(column)
        raise OutOfRangeError(
            f"{R111} Table 1 has no class {cls} weight of {plain(nominal_value)} {the_unit} "
            f"(class {cls}: {plain(low)} mg to {plain(high)} mg)",
            argument="nominal_value",
        )
    raise OutOfRangeError(
        f"{plain(nominal_value)} {the_unit} is not a nominal value of {R111} Table 1 "
        "(1, 2 or 5 × 10^k from 1 mg to 5 000 kg)",
        argument="nominal_value",
    )


@dataclass(frozen=True)
class WeightCheck:
    """The verification of one weight against R 111-1 5.2 and 5.3 **[unverified wording]**.

    Attributes:
        mpe: δm, in the unit of the call.
        uncertainty: ``U ≤ δm/3`` (5.2), through
            :func:`uncertainty.conformity.check_uncertainty_ratio`.
        deviation: ``|m_c − m_0| ≤ δm − U`` (5.3).
        passed: both hold.
    """

    mpe: Decimal
    uncertainty: RuleCheck
    deviation: RuleCheck

    @property
    def passed(self) -> bool:
        """Whether the weight meets its class: both checks pass."""
        return self.uncertainty.passed and self.deviation.passed


def check_weight(
    nominal_value: Decimal,
    weight_class: str,
    *,
    conventional_mass: Decimal,
    expanded_uncertainty: Decimal,
    unit: MassUnit,
) -> WeightCheck:
    """Whether a weight meets its class: ``U ≤ δm/3`` and ``|m_c − m_0| ≤ δm − U``.

    R 111-1:2004 5.2 and 5.3, **[unverified wording]**. ``nominal_value``
    ``m_0``, ``conventional_mass`` ``m_c`` (from its calibration) and
    ``expanded_uncertainty`` ``U`` (k = 2) are in ``unit``.
    """
    the_unit = mass_unit(unit)
    mpe = weight_mpe(nominal_value, weight_class, unit=the_unit)
    nominal = positive(nominal_value, "nominal_value")
    mass = positive(conventional_mass, "conventional_mass")
    U = positive(expanded_uncertainty, "expanded_uncertainty")
    # The verdict is the exact ratio test of uncertainty.conformity; δm/3 is shown
    # as the limit (rounded to 28 digits where it does not terminate).
    ratio = check_verification_uncertainty(U, mpe, max_ratio=Fraction(1, 3))
    return WeightCheck(
        mpe=mpe,
        uncertainty=RuleCheck(
            "uncertainty of the conventional mass, U ≤ δm/3",
            f"{R111} 5.2 [unverified wording]",
            U,
            mpe / 3,
            the_unit,
            ratio.met,
            nominal,
            the_unit,
        ),
        deviation=compare(
            "conventional mass, |m_c − m_0| ≤ δm − U",
            f"{R111} 5.3 [unverified wording]",
            abs(mass - nominal),
            mpe - U,
            the_unit,
            load=nominal,
            at_unit=the_unit,
        ),
    )


def weights_table() -> dict[str, Json]:
    """R 111-1 Table 1 as plain data: δm in mg by class and nominal value in mg, with sources."""
    return {
        "id": "oiml-r111-1-2004-table-1",
        "title": "Weights: maximum permissible errors δm",
        "document": R111,
        "rules": {
            "mpe": "Table 1: ± δm in mg, by nominal value and class",
            "uncertainty": "5.2: U (k = 2) of the conventional mass ≤ δm/3 [unverified wording]",
            "conventional_mass": "5.3: m_0 − (δm − U) ≤ m_c ≤ m_0 + (δm − U) [unverified wording]",
        },
        "unit": "mg",
        "classes": list(WEIGHT_CLASSES),
        "mpe_mg": {
            cls: {plain(nominal): plain(mpe) for nominal, mpe in _TABLE_MG[cls].items()}
            for cls in WEIGHT_CLASSES
        },
        "confirmed_in": [
            "https://abcdocz.com/doc/214925/how-to-determine-the-necessary-test-weights",
            "http://en.kern-lab.com/dakksdkd/weights/oiml/",
            "https://scribd.com/document/314749659/Tablas-OIML-Alumnos",
        ],
        "unverified": ["the wording of 5.2 and 5.3", "not read in the official OIML text"],
    }
