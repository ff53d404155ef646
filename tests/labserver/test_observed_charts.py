"""The run page draws errors against their ± MPE; a result judged as it is against a limit
(an electricity meter's no-load count, its time to the first pulse) is not an error and has
no chart (its row says "≤ limit")."""

from __future__ import annotations

from labserver.measurements.models import Point
from labserver.work.chart import error_charts


def _point(index: int, test: str, output: str, value: float, rule: str, mpe: float) -> Point:
    acceptance = {"lower": -mpe, "upper": mpe, "mpe": mpe, "rule": rule}
    result = {"value": value, "U": 0.58, "k": 2.0, "unit": "1", "acceptance": acceptance}
    return Point(index=index, test=test, nominal=0.0, unit="A", output=output, server_result=result)


def test_a_count_against_its_limit_has_no_error_chart_and_an_error_has_one() -> None:
    no_load = _point(0, "no-load", "N", 0.0, "electricity_no_load", 1.0)
    errors = [_point(i, "accuracy-pf1", "E", 0.21, "electricity_meter", 2.0) for i in (1, 2)]
    charts = error_charts([no_load, *errors])
    assert [chart["test"] for chart in charts] == ["accuracy-pf1"]
