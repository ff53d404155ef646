"""The run record: one typed definition of a run, from the bench to the LIMS.

The runner produces its parts (a :class:`Point` per point with its :class:`Reading`
objects, the :class:`Check` and :class:`Curve` results derived from them), the agent's
outbox keeps their JSON and assembles the :class:`RunRecord` it sends, the LIMS's API
validates the body against it and its services read the record only, and the tests and
benchmarks build their payloads from it. The JSON form (keys and their order, what is
left out when absent) is defined here once, by each part's ``to_json``; ``from_json``
reads it back and names the field at fault (``points[3].readings[2].value: must be a
number, got str``) with a :class:`RecordError`.

Each part states its JSON keys in order (``KEYS``) and those a payload must give
(``REQUIRED``): the outbox and the API's serializers take both from here.

A plain library: no Django, no I/O.
"""

from procedures.record.derived import Check, Curve, CurvePoint, CurveValue, curves_from_json
from procedures.record.points import Acceptance, Point, Reading, Result, UncertaintyRatio
from procedures.record.positions import (
    POSITION_STATES,
    MeterIdentity,
    MeterRegister,
    Position,
    PositionInstrument,
    SharedPoint,
)
from procedures.record.reader import RecordError
from procedures.record.run import STANDARD_ROLES, ProcedureRef, RunHeader, RunRecord, StandardUsed

__all__ = [
    "POSITION_STATES",
    "STANDARD_ROLES",
    "Acceptance",
    "Check",
    "Curve",
    "CurvePoint",
    "CurveValue",
    "MeterIdentity",
    "MeterRegister",
    "Point",
    "Position",
    "PositionInstrument",
    "ProcedureRef",
    "Reading",
    "RecordError",
    "Result",
    "RunHeader",
    "RunRecord",
    "SharedPoint",
    "StandardUsed",
    "UncertaintyRatio",
    "curves_from_json",
]
