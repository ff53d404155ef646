"""Water meters: OIML R 49-1 (2006/2013), MID MI-001, ĐLVN 17:2017.

Flow rates (R 49-1 / MID MI-001): Q1 minimum, Q2 transitional, Q3 permanent,
Q4 overload; ``R = Q3/Q1``, ``Q2/Q1 = 1.6``, ``Q4/Q3 = 1.25``. The lower zone
is ``Q1 ≤ Q < Q2``, the upper zone ``Q2 ≤ Q ≤ Q4``. ĐLVN 17:2017 verifies
meters of class 1 or 2 (and the old classes A–D of ISO 4064:1993, with
Qmin/Qt/Qn/Qmax, which are not encoded here).

MPE, in % of the actual volume:

* **class 2** — upper zone ±2 % for water at ≤ 30 °C and ±3 % above 30 °C;
  lower zone ±5 % at any temperature. Verified: MID Annex III MI-001 as
  transposed in Czech NV 120/2016 (codexis) and UK SI 2016/1153 Sch 1C, and
  B Meters' FAQ (which also gives Q4 = 1.25 Q3 and R = Q3/Q1).
* **class 1** — upper zone ±1 % (≤ 30 °C) and ±2 % (> 30 °C); lower zone
  ±3 %. **[unverified]**: recalled from R 49-1:2013 3.3.1; no stored copy
  could be read.
* ``Q2/Q1 = 1.6`` and the temperature classes (T30 … T180, T30/70, T30/90,
  T30/130, T30/180, lower limit 0.1 °C or 30 °C) are **[unverified]** (R 49-1:2013,
  recalled: no stored copy of its class table could be read); Q4/Q3 = 1.25 is
  verified (B Meters' FAQ). The MPE of a point depends on the water temperature of
  that point (the warm-water upper-zone MPE applies above 30 °C whatever the class),
  so a run states the test temperature of every point.
* Initial verification tests at least Q1, Q2 and Q3 (R 49-2,
  **[unverified]** clause); the narrow band around each test flow rate is
  the procedure's, not encoded here.

Flow rates are Decimals in m³/h, temperatures in °C, volumes in any one
volume unit; errors and MPEs are in % of the actual volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from procedures.errors import OutOfRangeError, PlanError, UnknownClassError
from procedures.mpe._values import Json, exact, plain, positive
from procedures.mpe.result import RuleCheck

__all__ = ["WaterMeter", "water_meter_error", "water_table"]

R49: Final = "OIML R 49-1:2013"
MID: Final = "MID Annex III (MI-001)"

Q2_OVER_Q1: Final = Decimal("1.6")
Q4_OVER_Q3: Final = Decimal("1.25")
UPPER_ZONE_WARM_ABOVE: Final = Decimal(30)
"""°C: above this the upper-zone MPE is the warm-water one."""

# class → (lower zone, upper zone at ≤ 30 °C, upper zone above 30 °C), % of volume.
_MPE_PERCENT: Final[dict[int, tuple[Decimal, Decimal, Decimal]]] = {
    1: (Decimal(3), Decimal(1), Decimal(2)),  # [unverified] R 49-1:2013, recalled
    2: (Decimal(5), Decimal(2), Decimal(3)),  # MID MI-001, verified
}

# Temperature class → (lowest, highest) water temperature in °C. [unverified] R 49-1:2013.
_TEMPERATURE_CLASSES: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "T30": (Decimal("0.1"), Decimal(30)),
    "T50": (Decimal("0.1"), Decimal(50)),
    "T70": (Decimal("0.1"), Decimal(70)),
    "T90": (Decimal("0.1"), Decimal(90)),
    "T130": (Decimal("0.1"), Decimal(130)),
    "T180": (Decimal("0.1"), Decimal(180)),
    "T30/70": (Decimal(30), Decimal(70)),
    "T30/90": (Decimal(30), Decimal(90)),
    "T30/130": (Decimal(30), Decimal(130)),
    "T30/180": (Decimal(30), Decimal(180)),
}
"""The classes a verification center meets: cold-water meters T30 (the default), hot-water
meters T30/90, T30/130 and T30/180 (their lowest temperature is 30 °C, so every test point
of a hot-water meter is in the warm-water upper-zone MPE), and T50 … T180 for meters that
take both."""


@dataclass(frozen=True, init=False)
class WaterMeter:
    """A water meter of R 49 class 1 or 2, described by Q3, R and its temperature class.

    Attributes:
        accuracy_class: 1 or 2.
        q3: the permanent flow rate Q3, in m³/h.
        ratio: ``R = Q3/Q1`` (dimensionless); it must exceed 1.6 so that Q2 < Q3.
        temperature_class: ``"T30"`` (0.1 °C to 30 °C, the default) … ``"T180"``,
            ``"T30/70"``, ``"T30/90"``, ``"T30/130"``, ``"T30/180"`` (30 °C to
            180 °C) **[unverified]** limits.
    """

    accuracy_class: Literal[1, 2]
    q3: Decimal
    ratio: Decimal
    temperature_class: str

    def __init__(
        self,
        accuracy_class: int,
        *,
        q3: Decimal,
        ratio: Decimal,
        temperature_class: str = "T30",
    ) -> None:
        if isinstance(accuracy_class, bool) or accuracy_class not in (1, 2):
            raise UnknownClassError(
                f"unknown water meter class {accuracy_class!r}; {R49} has classes 1 and 2",
                argument="accuracy_class",
            )
        permanent = positive(q3, "q3")
        r = positive(ratio, "ratio")
        if r <= Q2_OVER_Q1:
            raise OutOfRangeError(
                f"R = {plain(r)} would put Q2 = 1.6 Q1 at or above Q3; R must exceed 1.6",
                argument="ratio",
            )
        if temperature_class not in _TEMPERATURE_CLASSES:
            raise UnknownClassError(
                f"unknown temperature class {temperature_class!r}; known: "
                f"{', '.join(_TEMPERATURE_CLASSES)}",
                argument="temperature_class",
            )
        object.__setattr__(self, "accuracy_class", 1 if accuracy_class == 1 else 2)
        object.__setattr__(self, "q3", permanent)
        object.__setattr__(self, "ratio", r)
        object.__setattr__(self, "temperature_class", temperature_class)

    @property
    def q1(self) -> Decimal:
        """Q1 = Q3/R, in m³/h (rounded to 28 significant digits if the quotient does not end).

        Zone decisions do not use this value: they compare ``Q·R`` with Q3
        exactly.
        """
        return self.q3 / self.ratio

    @property
    def q2(self) -> Decimal:
        """Q2 = 1.6 Q1, in m³/h (rounded like :attr:`q1`)."""
        return Q2_OVER_Q1 * self.q3 / self.ratio

    @property
    def q4(self) -> Decimal:
        """Q4 = 1.25 Q3, in m³/h."""
        return Q4_OVER_Q3 * self.q3

    def test_flow_rates(self) -> dict[str, Decimal]:
        """The nominal flow rates of an initial verification, Q1, Q2 and Q3, in m³/h."""
        return {"Q1": self.q1, "Q2": self.q2, "Q3": self.q3}

    def zone(self, flow_rate: Decimal) -> Literal["lower", "upper"]:
        """``"lower"`` for Q1 ≤ Q < Q2, ``"upper"`` for Q2 ≤ Q ≤ Q4 (``flow_rate`` in m³/h).

        A flow rate below Q1 or above Q4 raises
        :class:`~procedures.errors.OutOfRangeError`: no MPE is defined there.
        """
        q = positive(flow_rate, "flow_rate")
        scaled = q * self.ratio  # Q·R, compared with Q3 (Q1·R) and 1.6 Q3 (Q2·R) exactly
        if scaled < self.q3 or q > self.q4:
            raise OutOfRangeError(
                f"flow rate {plain(q)} m³/h is outside Q1..Q4 = {plain(self.q1)}.."
                f"{plain(self.q4)} m³/h; no MPE is defined there",
                argument="flow_rate",
            )
        return "lower" if scaled < Q2_OVER_Q1 * self.q3 else "upper"

    def mpe(self, flow_rate: Decimal, *, water_temperature: Decimal) -> Decimal:
        """MPE at ``flow_rate`` (m³/h) and ``water_temperature`` (°C), in % of the volume.

        Lower zone: 5 % (class 2), 3 % (class 1, **[unverified]**). Upper zone:
        2 % / 1 % up to 30 °C inclusive, 3 % / 2 % above 30 °C (class 2 / class
        1, the class 1 values **[unverified]**). A temperature outside the
        meter's temperature class is refused.
        """
        zone = self.zone(flow_rate)
        t = exact(water_temperature, "water_temperature")
        low, high = _TEMPERATURE_CLASSES[self.temperature_class]
        if not low <= t <= high:
            raise OutOfRangeError(
                f"{plain(t)} °C is outside the temperature class {self.temperature_class} "
                f"({plain(low)} °C to {plain(high)} °C)",
                argument="water_temperature",
            )
        lower, upper_cold, upper_warm = _MPE_PERCENT[self.accuracy_class]
        if zone == "lower":
            return lower
        return upper_cold if t <= UPPER_ZONE_WARM_ABOVE else upper_warm

    def check_point(
        self,
        flow_rate: Decimal,
        *,
        water_temperature: Decimal,
        indicated_volume: Decimal,
        actual_volume: Decimal,
    ) -> RuleCheck:
        """Whether the meter's error at one test point is within the MPE.

        ``indicated_volume`` ``V_i`` (the meter's register difference) and
        ``actual_volume`` ``V_a`` (the reference) share one volume unit; the
        error ``E = 100 (V_i − V_a)/V_a`` % is compared with :meth:`mpe`. The
        verdict compares ``100 |V_i − V_a|`` with ``MPE · V_a`` exactly; the
        error shown is rounded to 28 significant digits where it does not end.
        """
        mpe = self.mpe(flow_rate, water_temperature=water_temperature)
        indicated = exact(indicated_volume, "indicated_volume")
        actual = positive(actual_volume, "actual_volume")
        deviation = abs(indicated - actual)
        zone = self.zone(flow_rate)
        return RuleCheck(
            f"error, {zone} zone",
            f"{MID}; {R49} class {self.accuracy_class}",
            100 * deviation / actual,
            mpe,
            "%",
            100 * deviation <= mpe * actual,
            positive(flow_rate, "flow_rate"),
            "m³/h",
        )

    def check_test_temperatures(self, temperatures: Sequence[Decimal]) -> dict[str, Json]:
        """Refuse test water temperatures (°C) outside the meter's temperature class.

        A point run at a temperature the class does not cover has no MPE (a T30/90
        meter tested with 20 °C water); refusing the plan before the run spares the
        water and the operator's time. Returns, per temperature, the upper-zone MPE
        that applies (% of the volume: the cold one up to 30 °C, the warm one above).
        """
        low, high = _TEMPERATURE_CLASSES[self.temperature_class]
        out: list[Json] = []
        for i, value in enumerate(temperatures):
            t = exact(value, f"temperatures[{i}]")
            if not low <= t <= high:
                raise PlanError(
                    f"a test at {plain(t)} °C is outside the temperature class "
                    f"{self.temperature_class} ({plain(low)} °C to {plain(high)} °C, {R49}): "
                    "no MPE is defined there",
                    argument=f"temperatures[{i}]",
                )
            _, cold, warm = _MPE_PERCENT[self.accuracy_class]
            out.append(
                {
                    "water_temperature": plain(t),
                    "upper_zone_mpe": plain(cold if t <= UPPER_ZONE_WARM_ABOVE else warm),
                }
            )
        return {"temperature_class": self.temperature_class, "points": out, "unit": "%"}

    def as_dict(self) -> dict[str, Json]:
        """The meter's characteristics and flow rates as plain data (m³/h)."""
        return {
            "accuracy_class": self.accuracy_class,
            "q1": plain(self.q1),
            "q2": plain(self.q2),
            "q3": plain(self.q3),
            "q4": plain(self.q4),
            "ratio": plain(self.ratio),
            "temperature_class": self.temperature_class,
            "flow_unit": "m³/h",
        }


def water_meter_error(indicated_volume: Decimal, actual_volume: Decimal) -> Decimal:
    """The error of a water meter, ``100 (V_i − V_a)/V_a``, in % (signed).

    Both volumes in the same unit. Rounded to 28 significant digits where the
    quotient does not end; compare with the MPE through
    :meth:`WaterMeter.check_point`, which decides exactly.
    """
    indicated = exact(indicated_volume, "indicated_volume")
    actual = positive(actual_volume, "actual_volume")
    return 100 * (indicated - actual) / actual


def water_table() -> dict[str, Json]:
    """The water meter MPEs, flow-rate ratios and temperature classes as plain data."""
    return {
        "id": "oiml-r49-1-water-meters",
        "title": "Water meters: MPE by accuracy class, zone and water temperature",
        "document": f"{R49}; {MID}; ĐLVN 17:2017",
        "rules": {
            "zones": "lower Q1 ≤ Q < Q2, upper Q2 ≤ Q ≤ Q4",
            "ratios": "Q2/Q1 = 1.6, Q4/Q3 = 1.25, R = Q3/Q1",
            "temperature": "upper zone: the warm-water MPE above 30 °C",
            "test_flow_rates": "Q1, Q2, Q3",
        },
        "unit": "%",
        "mpe_percent": {
            str(cls): {
                "lower_zone": plain(low),
                "upper_zone_up_to_30_c": plain(cold),
                "upper_zone_above_30_c": plain(warm),
            }
            for cls, (low, cold, warm) in _MPE_PERCENT.items()
        },
        "q2_over_q1": plain(Q2_OVER_Q1),
        "q4_over_q3": plain(Q4_OVER_Q3),
        "temperature_classes_c": {
            name: [plain(low), plain(high)] for name, (low, high) in _TEMPERATURE_CLASSES.items()
        },
        "confirmed_in": [
            "https://public.codexis.cz/zakon/120-2016-sb-narizeni-vlady-o-posuzovani-shody-"
            "meridel-pri-jejich-dodavani-na-trh-CR68485/nejvetsi-dovolena-chyba-mpe--"
            "SEKCEnejvetsi_dovolena_chyba_mpe_",
            "https://legislation.gov.uk/uksi/2016/1153/schedule/1C/2020-12-31",
            "http://www.bmeters.com/en/FAQ/1/WATER-METERS/",
        ],
        "unverified": [
            "class 1 MPEs (3 %, 1 %, 2 %)",
            "Q2/Q1 = 1.6",
            "temperature classes (T30 … T180, T30/70, T30/90, T30/130, T30/180) and their "
            "0.1 °C / 30 °C lower limits",
            "the clause numbers of R 49-1:2013 (4.2.2, 4.2.3 for the MPE)",
            "the R 49-2 clause for the test flow rates",
        ],
    }
