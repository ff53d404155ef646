"""Maximum permissible errors and the acceptance rules of verification, cited to their clauses.

One place for the legal-metrology numbers that the procedure runner applies at
the bench and the LIMS applies again and shows:

* :mod:`procedures.mpe.nawi` — non-automatic weighing instruments (OIML R 76-1:2006);
* :mod:`procedures.mpe.weights` — weights (OIML R 111-1:2004 Table 1);
* :mod:`procedures.mpe.pressure` — pressure gauges (class % of span; OIML R 101);
* :mod:`procedures.mpe.water` — water meters (OIML R 49-1, MID MI-001, ĐLVN 17:2017);
* :mod:`procedures.mpe.electricity` — static active-energy meters (OIML R 46 classes A, B, C
  by MID MI-003 Table 2; the IEC 62053 no-load test);
* :mod:`procedures.mpe.stated` — electricity-meter classes whose limits a center states
  in its procedure from its own copy of a standard (IEC 62053-21/-22: none shipped);
* :mod:`procedures.mpe.fuel` — fuel dispensers and other measuring systems for liquids
  other than water (OIML R 117-1:2007, MID MI-005);
* :mod:`procedures.mpe.spec` — a manufacturer's specification (not legal metrology);
* :func:`check_verification_uncertainty` — ``U ≤ MPE/3`` (the rule of
  :mod:`uncertainty.conformity`, with Decimals).

Every rule takes and returns :class:`decimal.Decimal`; a value outside a
rule's domain (a load above Max, an unknown class, a flow rate outside
Q1..Q4) raises a :class:`~procedures.errors.ProcedureError` naming the
argument, never a clamped or extrapolated MPE. :func:`tables` gives every
table as plain data with its document, clauses, sources and the values still
**[unverified]**, and the references of every shipped procedure with those not
confirmed in a source (:func:`procedures.references.references_table`).
"""

from __future__ import annotations

from procedures.mpe._values import Json, MassUnit
from procedures.mpe.electricity import (
    NO_LOAD_MAX_PULSES,
    ElectricityMeter,
    check_no_load,
    electricity_table,
    no_load_test_voltage,
    pulse_error,
)
from procedures.mpe.fuel import FuelMeasuringSystem, fuel_table, fuel_volume_error
from procedures.mpe.nawi import (
    NawiClass,
    RoundingMethod,
    WeighingInstrument,
    error_before_rounding,
    nawi_mpe_in_e,
    nawi_table,
    rounding_method,
)
from procedures.mpe.pressure import (
    check_hysteresis,
    check_pressure_point,
    pressure_gauge_mpe,
    pressure_table,
)
from procedures.mpe.result import RuleCheck
from procedures.mpe.spec import spec_rule, spec_tolerance
from procedures.mpe.uncertainty_ratio import check_verification_uncertainty
from procedures.mpe.water import WaterMeter, water_meter_error, water_table
from procedures.mpe.weights import (
    WEIGHT_CLASSES,
    WeightCheck,
    check_weight,
    weight_mpe,
    weights_table,
)

__all__ = [
    "NO_LOAD_MAX_PULSES",
    "WEIGHT_CLASSES",
    "ElectricityMeter",
    "FuelMeasuringSystem",
    "MassUnit",
    "NawiClass",
    "RoundingMethod",
    "RuleCheck",
    "WaterMeter",
    "WeighingInstrument",
    "WeightCheck",
    "check_hysteresis",
    "check_no_load",
    "check_pressure_point",
    "check_verification_uncertainty",
    "check_weight",
    "error_before_rounding",
    "fuel_volume_error",
    "nawi_mpe_in_e",
    "no_load_test_voltage",
    "pressure_gauge_mpe",
    "pulse_error",
    "rounding_method",
    "spec_tolerance",
    "tables",
    "water_meter_error",
    "weight_mpe",
]


def tables() -> dict[str, Json]:
    """Every table and rule of this package as plain data (JSON-able), keyed by its id.

    Each entry names its document, the clauses of its rules, its values
    (decimal strings), the stored sources they were confirmed in and what is
    still unverified, so that the LIMS can show which rule it applied. The entry
    ``procedure-references`` lists every shipped procedure's references, the
    unverified ones (never printed on a certificate) under ``unverified``.
    """
    # The definitions import this package (their rules): read them only when asked.
    from procedures.definition import library, load_definition
    from procedures.references import references_table

    references = {
        procedure_id: load_definition(path).references for procedure_id, path in library().items()
    }
    entries = (
        nawi_table(),
        weights_table(),
        pressure_table(),
        water_table(),
        electricity_table(),
        fuel_table(),
        spec_rule(),
        references_table(references),
    )
    return {str(entry["id"]): entry for entry in entries}
