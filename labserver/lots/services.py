"""The steps of a lot's sampling inspection: define the lot, import its meters, record the
organization's sampling plan, draw the sample, enter each sampled meter's result, decide.

Each step is done by the quality manager of the lot's organization, atomic, audited, and
appends its record (nothing is edited in place; a step done twice is refused, 409). The
plan's n and c are the organization's, never computed here; the decision follows the plan's
rule (:func:`labserver.lots.sampling.lot_decision`).
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from labserver.accounts.access import acting_person, require_role
from labserver.accounts.models import Organization, User
from labserver.core import audit
from labserver.core.errors import Conflict, DomainError, InvalidTransition
from labserver.instruments.imports import ImportRefused, Problem, read_table
from labserver.instruments.models import InstrumentType, PatternApproval
from labserver.issuance.models import Certificate, CertificateKind

from . import sampling
from .access import LOT_MANAGERS
from .models import Lot, LotDecision, LotMeter, MeterResult, SampleDraw, SamplingPlan, Stage

METER_COLUMNS = ("serial", "location")
M = TypeVar("M", bound=models.Model)
# The seeds drawn for the manager fit PostgreSQL's bigint (and a person can copy them).
SEED_BITS = 62


def _manager(actor: Any, lot_or_org: Lot | Organization, action: str) -> User:
    person = acting_person(actor, action=action)
    org_id = lot_or_org.pk if isinstance(lot_or_org, Organization) else lot_or_org.organization_id
    require_role(person, org_id, *LOT_MANAGERS, action=action)
    return person


def _at_stage(lot: Lot, *stages: str) -> None:
    """Refuse (409) a step the lot is not ready for, or has done already."""
    if lot.stage not in stages:
        raise InvalidTransition(
            _("Lot %(number)s is at the step “%(stage)s”.")
            % {"number": lot.number, "stage": Stage(lot.stage).label},
            field="stage",
        )


def _append_once(model: type[M], refusal: str, field: str, **values: Any) -> M:
    """Append the step's record; when the same step was recorded meanwhile (its unique
    constraint), refused (409): the person reloads the lot."""
    try:
        with transaction.atomic():
            return model._default_manager.create(**values)
    except IntegrityError:
        raise Conflict(refusal, field=field) from None


def _log(actor: User, lot: Lot, action: str, after: dict[str, Any], reason: str = "") -> None:
    audit.record(
        actor=actor,
        action=f"lot.{action}",
        object_type="lot",
        object_id=lot.pk,
        organization_id=lot.organization_id,
        after=after,
        reason=reason,
    )


@transaction.atomic
def create_lot(
    *,
    actor: Any,
    organization: Organization,
    number: str,
    instrument_type: InstrumentType,
    installed_year: int,
    owner: Organization,
    pattern: PatternApproval | None = None,
) -> Lot:
    """A new lot of installed meters of one type (and pattern, if any) and year, for ``owner``."""
    person = _manager(actor, organization, "creating a lot")
    number = number.strip()
    if not number:
        raise DomainError(_("A lot needs a number."), field="number")
    if not 1900 <= installed_year <= timezone.localdate().year:
        raise DomainError(
            _("The year of installation %(year)d is not a past year.") % {"year": installed_year},
            field="installed_year",
        )
    if pattern is not None and pattern.instrument_type_id != instrument_type.pk:
        raise DomainError(
            _("Pattern %(pattern)s is not of the type %(type)s.")
            % {"pattern": pattern.number, "type": instrument_type.name},
            field="pattern",
        )
    if Lot.objects.filter(organization=organization, number=number).exists():
        raise Conflict(_("Lot %(number)s exists already.") % {"number": number}, field="number")
    lot = Lot.objects.create(
        organization=organization,
        number=number,
        instrument_type=instrument_type,
        pattern=pattern,
        installed_year=installed_year,
        owner=owner,
        created_by=person,
    )
    _log(
        person,
        lot,
        "create",
        {
            "number": number,
            "instrument_type": instrument_type.code,
            "pattern": pattern.number if pattern else None,
            "installed_year": installed_year,
            "owner": owner.code,
        },
    )
    return lot


def _meter_problems(table: list[tuple[int, dict[str, str]]]) -> list[Problem]:
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for column in METER_COLUMNS:
        limit = getattr(LotMeter._meta.get_field(column), "max_length", None) or 0
        problems += [
            Problem(row, column, _("Longer than %(limit)d characters.") % {"limit": limit})
            for row, values in table
            if len(values.get(column, "")) > limit
        ]
    for row, values in table:
        serial = values.get("serial", "")
        if not serial:
            problems.append(Problem(row, "serial", _("This value is required.")))
        elif serial in first_row:
            problems.append(
                Problem(
                    row,
                    "serial",
                    _("The same meter as in row %(row)d.") % {"row": first_row[serial]},
                )
            )
        first_row.setdefault(serial, row)
    return sorted(problems, key=lambda p: (p.row, p.column))


@transaction.atomic
def import_meters(*, actor: Any, lot: Lot, name: str, data: bytes) -> list[LotMeter]:
    """The lot's meters from a CSV or XLSX file (columns ``serial`` and, optionally,
    ``location``): every row or none (:class:`ImportRefused` names each row at fault).
    Imported once, before the plan: the lot the sample is drawn from is then fixed."""
    person = _manager(actor, lot, "importing a lot's meters")
    _at_stage(lot, Stage.NEW)
    table = read_table(name, data, columns=METER_COLUMNS, required=("serial",))
    problems = _meter_problems(table)
    if problems:
        raise ImportRefused(problems)
    try:
        with transaction.atomic():
            meters = LotMeter.objects.bulk_create(
                LotMeter(lot=lot, serial=v["serial"], location=v.get("location", ""))
                for _row, v in table
            )
    except IntegrityError:
        raise Conflict(
            _("The meters of lot %(number)s were imported meanwhile.") % {"number": lot.number},
            field="file",
        ) from None
    _log(person, lot, "import_meters", {"file": name, "meters": len(meters)})
    return meters


@transaction.atomic
def choose_plan(
    *, actor: Any, lot: Lot, sample_size: int, acceptance_number: int, basis: str
) -> SamplingPlan:
    """Record the organization's single sampling plan for the lot: sample size n, acceptance
    number c and its basis (the quality levels or the table it comes from), as configured."""
    person = _manager(actor, lot, "choosing a lot's sampling plan")
    _at_stage(lot, Stage.TO_PLAN)
    lot_size = lot.meters.count()
    if not 1 <= sample_size <= lot_size:
        raise DomainError(
            _("The sample size must be between 1 and the lot's %(size)d meters.")
            % {"size": lot_size},
            field="sample_size",
        )
    if not 0 <= acceptance_number < sample_size:
        raise DomainError(
            _("The acceptance number must be at least 0 and less than the sample size."),
            field="acceptance_number",
        )
    basis = basis.strip()
    if not basis:
        raise DomainError(
            _("State what the plan comes from (the quality levels or the table adopted)."),
            field="basis",
        )
    plan = _append_once(
        SamplingPlan,
        _("The lot's plan was chosen meanwhile."),
        "stage",
        lot=lot,
        sample_size=sample_size,
        acceptance_number=acceptance_number,
        basis=basis,
        oc_model=sampling.oc_model(lot_size, sample_size),
        chosen_by=person,
    )
    _log(
        person,
        lot,
        "plan",
        {"n": sample_size, "c": acceptance_number, "basis": basis, "lot_size": lot_size},
    )
    return plan


@transaction.atomic
def draw_sample(*, actor: Any, lot: Lot, seed: int | None = None) -> SampleDraw:
    """Draw the plan's sample with :func:`labserver.lots.sampling.draw_sample` from ``seed``
    (one drawn at random when none is given), recording the seed and the algorithm."""
    person = _manager(actor, lot, "drawing a lot's sample")
    _at_stage(lot, Stage.TO_DRAW)
    if seed is None:
        seed = secrets.randbits(SEED_BITS)
    if not 0 <= seed < 2**63:
        raise DomainError(_("The seed must be a whole number from 0 to 2⁶³ − 1."), field="seed")
    serials = list(lot.meters.values_list("serial", flat=True))
    sample = sampling.draw_sample(serials, lot.plan.sample_size, seed)
    draw = _append_once(
        SampleDraw,
        _("The lot's sample was drawn meanwhile."),
        "stage",
        lot=lot,
        seed=seed,
        algorithm=sampling.DRAW_ALGORITHM,
        serials=sample,
        drawn_by=person,
    )
    _log(
        person,
        lot,
        "draw",
        {"seed": seed, "algorithm": sampling.DRAW_ALGORITHM, "serials": sample},
    )
    return draw


def _certificate(lot: Lot, serial: str, number: str) -> Certificate | None:
    """The verification certificate ``number`` of the lot's organization for the meter
    ``serial`` (of the lot's type), or None when no number is given."""
    if not number:
        return None
    found = (
        Certificate.objects.filter(
            organization_id=lot.organization_id,
            number=number,
            kind=CertificateKind.VERIFICATION,
        )
        .select_related("run__job__instrument", "position__job__instrument")
        .first()
    )
    if found is None:
        raise DomainError(
            _("No verification certificate %(number)s of this organization.") % {"number": number},
            field="certificate",
        )
    instrument = found.job.instrument
    if instrument.serial != serial or instrument.instrument_type_id != lot.instrument_type_id:
        raise DomainError(
            _("Certificate %(number)s is not for meter %(serial)s of the lot's type.")
            % {"number": number, "serial": serial},
            field="certificate",
        )
    return found


@transaction.atomic
def record_result(
    *,
    actor: Any,
    lot: Lot,
    serial: str,
    passed: bool,
    certificate_number: str = "",
    note: str = "",
) -> MeterResult:
    """A sampled meter's result (passed or failed), linked to its verification certificate
    when one was issued. Once per meter; a meter outside the sample is refused."""
    person = _manager(actor, lot, "entering a lot's results")
    _at_stage(lot, Stage.TESTING)
    if serial not in lot.draw.serials:
        raise DomainError(
            _("Meter %(serial)s is not in the lot's sample.") % {"serial": serial},
            field="serial",
        )
    certificate = _certificate(lot, serial, certificate_number.strip())
    meter = lot.meters.get(serial=serial)
    result = _append_once(
        MeterResult,
        _("The result of meter %(serial)s is entered already.") % {"serial": serial},
        "serial",
        lot=lot,
        meter=meter,
        passed=passed,
        certificate=certificate,
        note=note.strip(),
        entered_by=person,
    )
    _log(
        person,
        lot,
        "result",
        {
            "serial": serial,
            "passed": passed,
            "certificate": certificate.number if certificate else None,
            "note": result.note,
        },
    )
    return result


@transaction.atomic
def decide(
    *, actor: Any, lot: Lot, valid_until: date | None = None, reason: str = ""
) -> LotDecision:
    """The lot's decision by the plan's rule: accepted, its validity extended until
    ``valid_until`` (a future date, required), when every sampled meter has its result and at
    most c failed; rejected when more than c failed (as soon as they have: the remaining
    results cannot change it)."""
    person = _manager(actor, lot, "deciding on a lot")
    _at_stage(lot, Stage.TESTING, Stage.TO_DECIDE)
    plan = lot.plan
    failures = lot.results.filter(passed=False).count()
    accepted = sampling.lot_decision(failures, plan.acceptance_number)
    if accepted and lot.stage != Stage.TO_DECIDE:
        raise InvalidTransition(
            _("%(missing)d sampled meters have no result yet.")
            % {"missing": len(lot.draw.serials) - lot.results.count()},
            field="results",
        )
    if accepted and (valid_until is None or valid_until <= timezone.localdate()):
        raise DomainError(
            _("An accepted lot needs the future date its validity is extended until."),
            field="valid_until",
        )
    if not accepted:
        valid_until = None
    decision = _append_once(
        LotDecision,
        _("The lot was decided meanwhile."),
        "stage",
        lot=lot,
        accepted=accepted,
        failures=failures,
        valid_until=valid_until,
        reason=reason.strip(),
        decided_by=person,
    )
    _log(
        person,
        lot,
        "decide",
        {
            "accepted": accepted,
            "failures": failures,
            "c": plan.acceptance_number,
            "valid_until": valid_until,
        },
        reason=decision.reason,
    )
    return decision
