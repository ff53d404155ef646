"""Pressure gauges with elastic sensing elements: OIML R 101:1991, class % of span.

R 101 expresses the MPE of an ordinary gauge as its accuracy class, a
percentage of the measuring span; its class list and MPE wording could not be
read in a stored copy of R 101 (the notes recall classes 1, 1.6, 2.5 and 4),
**[unverified]** for R 101 itself.

The table encoded here is the verified analogue the notes give: the German
verification ordinance (Eichordnung) Anlage 16, Bourdon, diaphragm and
capsule gauges, read in a stored copy
(``bodycote-enr.zeta-sw.com/regelwerk/anlasi/eich/eio5_16.htm``):

* 3.1: for classes 0.1, 0.25, 0.6, 1.0, 1.6, 2.5 and 4.0, the MPE on
  verification (Eichfehlergrenze) is the class in % of the measuring span and
  the MPE in service (Verkehrsfehlergrenze) is 0.15, 0.4, 0.9, 1.5, 2.4, 3.8
  and 6.0 % of the span, at the reference temperature 20 °C;
* 3.3: both apply at increasing and decreasing pressure at every point;
* 3.4: the hysteresis (Messwert-Umkehrspanne), relative to the span, shall
  not exceed the MPE on verification — in service too.

Pressures are Decimals in one pressure unit of the caller's choice (the
gauge's: kPa, bar, MPa...); every MPE is returned in that unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from procedures.errors import UnknownClassError
from procedures.mpe._values import Json, exact, plain, positive
from procedures.mpe.result import RuleCheck, compare

__all__ = ["check_hysteresis", "check_pressure_point", "pressure_gauge_mpe", "pressure_table"]

EO16: Final = "Eichordnung Anlage 16 (DE)"
R101: Final = "OIML R 101:1991"

# Eichordnung Anlage 16, 3.1: class → (MPE on verification, MPE in service), % of span.
_CLASSES: Final[dict[Decimal, tuple[Decimal, Decimal]]] = {
    Decimal("0.1"): (Decimal("0.1"), Decimal("0.15")),
    Decimal("0.25"): (Decimal("0.25"), Decimal("0.4")),
    Decimal("0.6"): (Decimal("0.6"), Decimal("0.9")),
    Decimal("1.0"): (Decimal("1.0"), Decimal("1.5")),
    Decimal("1.6"): (Decimal("1.6"), Decimal("2.4")),
    Decimal("2.5"): (Decimal("2.5"), Decimal("3.8")),
    Decimal("4.0"): (Decimal("4.0"), Decimal("6.0")),
}


def _percent(accuracy_class: Decimal, in_service: bool) -> Decimal:
    cls = exact(accuracy_class, "accuracy_class")
    for key, (initial, service) in _CLASSES.items():
        if key == cls:
            return service if in_service else initial
    raise UnknownClassError(
        f"unknown pressure gauge class {plain(cls)}; the table has "
        f"{', '.join(plain(key) for key in _CLASSES)} ({EO16} 3.1)",
        argument="accuracy_class",
    )


def pressure_gauge_mpe(
    accuracy_class: Decimal, span: Decimal, *, in_service: bool = False
) -> Decimal:
    """MPE of a pressure gauge, as a magnitude in the unit of ``span``.

    ``accuracy_class`` is the class number as a Decimal (``Decimal("1.6")``;
    ``Decimal("1")`` is class 1.0); ``span`` is the measuring span (upper
    limit − lower limit of the measuring range) in the gauge's pressure unit.
    On verification the MPE is class % of the span; ``in_service=True`` uses
    the in-service column (class 1.6 → 2.4 %). Source: Eichordnung Anlage 16
    3.1 (verified); R 101 states class % of span for verification
    **[unverified]**.
    """
    percent = _percent(accuracy_class, in_service)
    return percent * positive(span, "span") / 100


def check_pressure_point(
    accuracy_class: Decimal,
    span: Decimal,
    *,
    pressure: Decimal,
    error: Decimal,
    unit: str,
    in_service: bool = False,
) -> RuleCheck:
    """Whether the error at one pressure, rising or falling, is within the MPE.

    ``pressure`` (the reference pressure of the point) and ``error``
    (indication − reference) are in the unit of ``span``, named by ``unit``
    (``"kPa"``) for the record. The MPE is the same
    at every point of the range, at increasing and decreasing pressure
    (Eichordnung Anlage 16 3.3).
    """
    point = exact(pressure, "pressure")
    return compare(
        "error",
        f"{EO16} 3.1" + (" in service" if in_service else "") + f"; {R101} [unverified]",
        abs(exact(error, "error")),
        pressure_gauge_mpe(accuracy_class, span, in_service=in_service),
        unit,
        load=point,
        at_unit=unit,
    )


def check_hysteresis(
    accuracy_class: Decimal,
    span: Decimal,
    *,
    pressure: Decimal,
    rising: Decimal,
    falling: Decimal,
    unit: str,
) -> RuleCheck:
    """Hysteresis: ``|falling − rising|`` at one pressure ≤ the MPE on verification.

    ``rising`` and ``falling`` are the indications (or errors) at the same
    reference ``pressure`` with increasing and decreasing pressure, in the
    unit of ``span`` (named by ``unit``). The limit is the MPE on verification even for a gauge in
    service (Eichordnung Anlage 16 3.4).
    """
    point = exact(pressure, "pressure")
    up = exact(rising, "rising")
    down = exact(falling, "falling")
    return compare(
        "hysteresis",
        f"{EO16} 3.4; {R101} [unverified]",
        abs(down - up),
        pressure_gauge_mpe(accuracy_class, span),
        unit,
        load=point,
        at_unit=unit,
    )


def pressure_table() -> dict[str, Json]:
    """The pressure gauge classes and MPEs (% of span) as plain data, with their sources."""
    return {
        "id": "pressure-gauges-class-percent-of-span",
        "title": "Pressure gauges with elastic sensing elements: MPE in % of the measuring span",
        "document": f"{EO16}, applied as the rule of {R101}",
        "rules": {
            "mpe": "3.1: MPE = class % of the span on verification; in-service column in service",
            "direction": "3.3: the MPE applies at increasing and decreasing pressure",
            "hysteresis": "3.4: hysteresis ≤ MPE on verification",
        },
        "unit": "% of span",
        "classes": [
            {"class": plain(cls), "verification": plain(initial), "in_service": plain(service)}
            for cls, (initial, service) in _CLASSES.items()
        ],
        "confirmed_in": [
            "http://uo.f1f37a1bf7b548e2bdb62f666ac0ec20.bodycote-enr.zeta-sw.com/regelwerk/"
            "anlasi/eich/eio5_16.htm"
        ],
        "unverified": [
            f"{R101}: its class list and MPE wording were not read in a stored copy",
        ],
    }
