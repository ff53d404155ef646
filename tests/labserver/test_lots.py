"""In-service lots through their services: a lot is created, its meters imported (all rows or
none), the organization's plan recorded, the sample drawn from a recorded seed, the results
entered (linked to their verification certificates), the lot decided by the plan's rule;
every step audited (the tables' append-only triggers are checked in test_append_only.py),
only the quality manager acts, and another
organization's lot is not found."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from labserver.core.errors import Conflict, DomainError, InvalidTransition, NotPermitted
from labserver.core.models import AuditEntry
from labserver.instruments.imports import ImportRefused
from labserver.lots import sampling, services
from labserver.lots.access import readable_lots
from labserver.lots.models import Lot, Stage
from tests.support.issuing import approved_verification
from tests.support.lims import PASSWORD, TODAY, Center, client_for
from tests.support.office import xlsx_bytes

pytestmark = pytest.mark.django_db

METERS = "serial,location\n" + "".join(f"EM-{i:03d},Street {i}\n" for i in range(1, 21))


def new_lot(center: Center, number: str = "LOT-2026-01", **changes: Any) -> Lot:
    values: dict[str, Any] = {
        "actor": center.quality_manager,
        "organization": center.org,
        "number": number,
        "instrument_type": center.instrument.instrument_type,
        "installed_year": 2019,
        "owner": center.instrument.owner,
    }
    return services.create_lot(**(values | changes))


def sampled_lot(center: Center, n: int = 5, c: int = 1, seed: int = 20261206) -> Lot:
    lot = new_lot(center)
    services.import_meters(
        actor=center.quality_manager, lot=lot, name="meters.csv", data=METERS.encode()
    )
    services.choose_plan(
        actor=center.quality_manager,
        lot=lot,
        sample_size=n,
        acceptance_number=c,
        basis="The center's plan for meters in service (n = 5, c = 1)",
    )
    services.draw_sample(actor=center.quality_manager, lot=lot, seed=seed)
    return Lot.objects.get(pk=lot.pk)


def enter(center: Center, lot: Lot, failing: set[str]) -> None:
    for serial in lot.draw.serials:
        services.record_result(
            actor=center.quality_manager, lot=lot, serial=serial, passed=serial not in failing
        )


def actions(lot: Lot) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="lot", object_id=str(lot.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_a_lot_goes_from_its_meters_to_its_acceptance_every_step_audited(center: Center) -> None:
    lot = new_lot(center)
    assert lot.stage == Stage.NEW
    meters = services.import_meters(
        actor=center.quality_manager, lot=lot, name="meters.csv", data=METERS.encode()
    )
    assert len(meters) == 20
    assert lot.stage == Stage.TO_PLAN
    plan = services.choose_plan(
        actor=center.quality_manager,
        lot=lot,
        sample_size=5,
        acceptance_number=1,
        basis="ISO 2859-1 as adopted by the center",
    )
    # 5 of 20 is a quarter of the lot: the exact, hypergeometric, model
    assert plan.oc_model == "hypergeometric"
    draw = services.draw_sample(actor=center.quality_manager, lot=lot, seed=20261206)
    # the same seed and algorithm as tests/labserver/test_lots_sampling.py: the same sample
    assert draw.serials == sampling.draw_sample([f"EM-{i:03d}" for i in range(1, 21)], 5, 20261206)
    assert draw.algorithm == sampling.DRAW_ALGORITHM
    lot = Lot.objects.get(pk=lot.pk)
    enter(center, lot, failing={draw.serials[0]})
    assert lot.stage == Stage.TO_DECIDE
    decision = services.decide(
        actor=center.quality_manager, lot=lot, valid_until=TODAY + timedelta(days=365)
    )
    # 1 failure ≤ c = 1: accepted
    assert decision.accepted
    assert decision.failures == 1
    assert Lot.objects.get(pk=lot.pk).stage == Stage.ACCEPTED
    assert actions(lot) == [
        "lot.create",
        "lot.import_meters",
        "lot.plan",
        "lot.draw",
        *["lot.result"] * 5,
        "lot.decide",
    ]
    entry = AuditEntry.objects.get(action="lot.draw", object_id=str(lot.pk))
    assert entry.after == {
        "seed": 20261206,
        "algorithm": sampling.DRAW_ALGORITHM,
        "serials": draw.serials,
    }


def test_more_than_c_failures_reject_the_lot_without_waiting_for_the_rest(
    center: Center,
) -> None:
    lot = sampled_lot(center, n=5, c=1)
    first, second = lot.draw.serials[:2]
    for serial in (first, second):
        services.record_result(actor=center.quality_manager, lot=lot, serial=serial, passed=False)
    # 2 failures > c = 1: the three results still missing cannot save the lot
    decision = services.decide(
        actor=center.quality_manager, lot=lot, valid_until=TODAY + timedelta(days=365)
    )
    assert not decision.accepted
    assert decision.failures == 2
    assert decision.valid_until is None


def test_an_acceptance_waits_for_every_result_and_needs_a_future_date(center: Center) -> None:
    lot = sampled_lot(center, n=5, c=1)
    services.record_result(
        actor=center.quality_manager, lot=lot, serial=lot.draw.serials[0], passed=True
    )
    with pytest.raises(InvalidTransition, match="4 sampled meters have no result"):
        services.decide(actor=center.quality_manager, lot=lot, valid_until=TODAY)
    enter_rest = set(lot.draw.serials[1:])
    for serial in sorted(enter_rest):
        services.record_result(actor=center.quality_manager, lot=lot, serial=serial, passed=True)
    with pytest.raises(DomainError) as refused:
        services.decide(actor=center.quality_manager, lot=lot, valid_until=TODAY)
    assert refused.value.field == "valid_until"
    assert not hasattr(Lot.objects.get(pk=lot.pk), "decision")


def test_a_bad_meter_file_names_each_row_and_imports_nothing(center: Center) -> None:
    lot = new_lot(center)
    bad = "serial,location\nEM-1,here\n,there\nEM-1,again\n" + "X" * 101 + ",far\n"
    with pytest.raises(ImportRefused) as refused:
        services.import_meters(
            actor=center.quality_manager, lot=lot, name="meters.csv", data=bad.encode()
        )
    assert [(p.row, p.column) for p in refused.value.problems] == [
        (3, "serial"),
        (4, "serial"),
        (5, "serial"),
    ]
    assert "row 2" in refused.value.problems[1].why
    assert not lot.meters.exists()
    with pytest.raises(ImportRefused) as unknown:
        services.import_meters(
            actor=center.quality_manager, lot=lot, name="m.csv", data=b"serial,colour\nA,red\n"
        )
    assert unknown.value.problems[0].column == "colour"


def test_a_plan_the_lot_cannot_hold_is_refused_by_its_field(center: Center) -> None:
    lot = new_lot(center)
    services.import_meters(
        actor=center.quality_manager, lot=lot, name="meters.csv", data=METERS.encode()
    )
    for n, c, basis, field in [
        (21, 0, "plan", "sample_size"),
        (5, 5, "plan", "acceptance_number"),
        (5, 0, "  ", "basis"),
    ]:
        with pytest.raises(DomainError) as refused:
            services.choose_plan(
                actor=center.quality_manager,
                lot=lot,
                sample_size=n,
                acceptance_number=c,
                basis=basis,
            )
        assert refused.value.field == field
    assert not hasattr(Lot.objects.get(pk=lot.pk), "plan")


def test_each_step_is_done_once_and_in_its_order(center: Center) -> None:
    lot = new_lot(center)
    with pytest.raises(InvalidTransition):
        services.draw_sample(actor=center.quality_manager, lot=lot, seed=1)
    services.import_meters(
        actor=center.quality_manager, lot=lot, name="meters.csv", data=METERS.encode()
    )
    with pytest.raises(InvalidTransition):
        services.import_meters(
            actor=center.quality_manager, lot=lot, name="meters.csv", data=METERS.encode()
        )
    with pytest.raises(Conflict):
        new_lot(center)


def test_a_result_is_for_a_sampled_meter_once(center: Center) -> None:
    lot = sampled_lot(center)
    outside = next(m.serial for m in lot.meters.all() if m.serial not in lot.draw.serials)
    with pytest.raises(DomainError) as refused:
        services.record_result(actor=center.quality_manager, lot=lot, serial=outside, passed=True)
    assert refused.value.field == "serial"
    serial = lot.draw.serials[0]
    services.record_result(actor=center.quality_manager, lot=lot, serial=serial, passed=True)
    with pytest.raises(Conflict):
        services.record_result(actor=center.quality_manager, lot=lot, serial=serial, passed=False)


def test_a_result_links_only_a_verification_certificate_of_that_meter(
    center: Center, demo_pki: Any, tmp_path: Path
) -> None:
    run, signatory = approved_verification(center, tmp_path)
    response = client_for(signatory).post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.json()
    meter = run.job.instrument
    lot = new_lot(center, instrument_type=meter.instrument_type)
    services.import_meters(
        actor=center.quality_manager,
        lot=lot,
        name="meters.csv",
        data=f"serial\n{meter.serial}\nOTHER-1\n".encode(),
    )
    services.choose_plan(
        actor=center.quality_manager, lot=lot, sample_size=2, acceptance_number=0, basis="all"
    )
    services.draw_sample(actor=center.quality_manager, lot=lot, seed=3)
    lot = Lot.objects.get(pk=lot.pk)
    with pytest.raises(DomainError) as refused:
        services.record_result(
            actor=center.quality_manager,
            lot=lot,
            serial=meter.serial,
            passed=True,
            certificate_number="NO-SUCH-1",
        )
    assert refused.value.field == "certificate"
    with pytest.raises(DomainError, match="not for meter OTHER-1"):
        services.record_result(
            actor=center.quality_manager,
            lot=lot,
            serial="OTHER-1",
            passed=True,
            certificate_number=response.json()["number"],
        )
    result = services.record_result(
        actor=center.quality_manager,
        lot=lot,
        serial=meter.serial,
        passed=True,
        certificate_number=response.json()["number"],
    )
    assert result.certificate is not None
    assert result.certificate.number == response.json()["number"]


def test_only_the_quality_manager_acts_and_only_in_its_organization(
    center: Center, other_center: Center
) -> None:
    for someone in (center.metrologist, center.auditor, other_center.quality_manager):
        with pytest.raises(NotPermitted):
            new_lot(center, actor=someone)
    lot = new_lot(center)
    with pytest.raises(NotPermitted):
        services.import_meters(
            actor=other_center.quality_manager, lot=lot, name="m.csv", data=METERS.encode()
        )
    assert not lot.meters.exists()


def test_another_organization_s_lot_is_not_found(center: Center, other_center: Center) -> None:
    lot = new_lot(center)
    assert list(readable_lots(center.quality_manager)) == [lot]
    assert list(readable_lots(center.auditor)) == [lot]
    assert not readable_lots(other_center.quality_manager).exists()


def test_the_meters_come_from_a_workbook_too(center: Center) -> None:
    lot = new_lot(center)
    # a serial typed as a number in the workbook is read as its digits
    data = xlsx_bytes([["Serial", "Location"], [11223344, "Pole 7"], ["EM-B", None]])
    meters = services.import_meters(
        actor=center.quality_manager, lot=lot, name="meters.xlsx", data=data
    )
    assert [(m.serial, m.location) for m in meters] == [("11223344", "Pole 7"), ("EM-B", "")]
