"""The DC-voltage procedure the benchmarks run, derived from the shipped one, and its standard.

The benchmarks need a run of a known size: :func:`derived_dcv` takes the shipped
``dmm-dcv`` definition (calibrator sources, multimeter reads, ``E = x + d_res - V_s`` per
point) and replaces its points by ``points`` nominals equally spaced up to 10 V on the
10 V range, optionally with another number of readings per point; it is built in memory,
never written to the library. :func:`calibrator_record` is a reference standard whose
certificate gives a value at each of those nominals, in force on the day of the run.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from procedures.bench import StandardRecord
from procedures.definition import library, load_definition

__all__ = ["CALIBRATOR", "calibrator_record", "dcv_nominals", "derived_dcv"]

CALIBRATOR = "BENCH-CAL-01"
"""Asset id of the benchmarks' calibrator."""


def dcv_nominals(points: int) -> list[float]:
    """``points`` nominals (V), equally spaced from 10 V / ``points`` up to 10 V."""
    if not 1 <= points <= 100:
        raise ValueError(f"points must be 1 to 100, got {points}")
    return [10.0 * (i + 1) / points for i in range(points)]


def derived_dcv(procedure_id: str, *, points: int, readings: int | None = None) -> dict[str, Any]:
    """The shipped ``dmm-dcv`` definition as plain data (the JSON the LIMS stores), under
    ``procedure_id``, with :func:`dcv_nominals` on the 10 V range as its points and, when
    given, ``readings`` per point; the model, acceptance and steps are the shipped ones."""
    data: dict[str, Any] = json.loads(json.dumps(load_definition(library()["dmm-dcv"]).data))
    data["id"] = procedure_id
    test = data["tests"][0]
    test["points"] = [
        {"nominal": nominal, "range": 10, "rdg": 0.0035, "rng": 0.0005}
        for nominal in dcv_nominals(points)
    ]
    if readings is not None:
        test["readings"] = readings
    return data


def calibrator_record(nominals: list[float], on: date) -> StandardRecord:
    """The calibrator in the ``source`` role (asset :data:`CALIBRATOR`, DC voltage ±1020 V):
    one certificate in force on ``on`` with a value at each of ``nominals`` (V), +1 ppm,
    U = 2 µV + 4 µV/V (k = 2)."""
    values = [
        {
            "quantity": "dcv",
            "nominal": v,
            "value": v * (1 + 1e-6),
            "unit": "V",
            "U": 2e-6 + 4e-6 * abs(v),
            "k": 2,
        }
        for v in sorted(set(nominals))
    ]
    return StandardRecord(
        standard={
            "asset_id": CALIBRATOR,
            "functions": [
                {"role": "source", "function": "dcv", "unit": "V", "min": -1020, "max": 1020}
            ],
            "out_of_tolerance_since": None,
            "retired_on": None,
        },
        certificates=(
            {
                "number": "BENCH-CERT-1",
                "calibrated_on": (on - timedelta(days=30)).isoformat(),
                "due_on": (on + timedelta(days=335)).isoformat(),
                "values": values,
            },
        ),
    )
