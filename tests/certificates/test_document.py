"""CertificateDocument.check(): nothing incomplete is rendered or signed (ISO/IEC 17025 7.8.2.1)."""

from __future__ import annotations

import dataclasses

import pytest

from certificates.document import Conformity
from certificates.errors import DocumentError
from scenarios.certificates import EXAMPLES, example


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_is_complete(name):
    example(name).check()


def _row_changed(name: str, **changes):
    document = example(name)
    table = document.results[0]
    rows = list(table.rows)
    rows[1] = dataclasses.replace(rows[1], **changes)
    return dataclasses.replace(
        document, results=(dataclasses.replace(table, rows=tuple(rows)), *document.results[1:])
    )


def test_it_refuses_a_calibration_row_without_its_expanded_uncertainty():
    # ILAC P14 / 7.8.4.1 a: a calibration result states its uncertainty.
    with pytest.raises(DocumentError) as caught:
        _row_changed("dmm-dcv", expanded_uncertainty=None).check()
    assert caught.value.field == "results[0].rows[1].expanded_uncertainty"


def test_it_refuses_a_calibration_row_without_its_coverage_factor():
    with pytest.raises(DocumentError) as caught:
        _row_changed("thermometer-bath", coverage_factor=None).check()
    assert caught.value.field == "results[0].rows[1].coverage_factor"


def test_it_refuses_a_verification_row_without_its_mpe_or_verdict():
    with pytest.raises(DocumentError) as caught:
        _row_changed("pressure-r101", mpe=None).check()
    assert caught.value.field == "results[0].rows[1].mpe"
    with pytest.raises(DocumentError) as caught:
        _row_changed("watermeter-r49", conformity=None).check()
    assert caught.value.field == "results[0].rows[1].conformity"


def test_it_refuses_a_verification_without_its_mark():
    with pytest.raises(DocumentError) as caught:
        dataclasses.replace(example("nawi-r76"), mark=None).check()
    assert caught.value.field == "mark"


def test_it_refuses_an_empty_customer_name():
    # 7.8.2.1 e: the name and contact information of the customer.
    document = example("dmm-dcv")
    with pytest.raises(DocumentError) as caught:
        dataclasses.replace(
            document, customer=dataclasses.replace(document.customer, name="")
        ).check()
    assert caught.value.field == "customer.name"


def test_it_refuses_a_value_that_is_not_a_number():
    with pytest.raises(DocumentError) as caught:
        _row_changed("dmm-dcv", indication=float("nan")).check()
    assert caught.value.field == "results[0].rows[1].indication"
    with pytest.raises(DocumentError) as caught:
        _row_changed("nawi-r76", error=float("inf")).check()
    assert caught.value.field == "results[0].rows[1].error"


def test_it_refuses_a_mark_that_expires_before_the_verification():
    document = example("watermeter-r49")
    assert document.mark is not None
    mark = dataclasses.replace(document.mark, valid_until=document.performed_to)
    with pytest.raises(DocumentError) as caught:
        dataclasses.replace(document, mark=mark).check()
    assert caught.value.field == "mark.valid_until"


def test_it_refuses_a_verification_without_a_statement():
    with pytest.raises(DocumentError) as caught:
        dataclasses.replace(example("pressure-r101"), statement=None).check()
    assert caught.value.field == "statement"


def test_the_examples_are_consistent():
    # error = indication − reference on every row that has both; a verification
    # example passes where every point is within its MPE.
    for name in EXAMPLES:
        document = example(name)
        for table in document.results:
            for row in table.rows:
                indication, reference, error = row.indication, row.reference, row.error
                if indication is not None and reference is not None and error is not None:
                    assert error == pytest.approx(indication - reference, abs=1e-12)
                if row.mpe is not None and row.error is not None:
                    within = abs(row.error) <= row.mpe
                    assert (row.conformity is Conformity.PASS) == within, (name, row.label)


def _failed(name: str):
    document = example(name)
    assert document.statement is not None
    return dataclasses.replace(
        document,
        statement=dataclasses.replace(document.statement, conformity=Conformity.FAIL),
    )


def test_a_failed_verification_is_a_notice_without_a_mark():
    # The national procedures' last stage: pass → marks and a certificate; fail → no
    # certificate (docs/reference: legal metrology). A failed instrument is told so by a
    # notice of the failure, and never carries a verification mark.
    failed = _failed("watermeter-r49")
    assert failed.failed_verification
    assert failed.title.en == "NOTICE OF FAILED VERIFICATION"
    assert failed.title.vi == "THÔNG BÁO KẾT QUẢ KIỂM ĐỊNH KHÔNG ĐẠT"
    with pytest.raises(DocumentError) as caught:
        failed.check()
    assert caught.value.field == "mark"
    assert "no verification mark" in str(caught.value)
    dataclasses.replace(failed, mark=None).check()
    passed = example("watermeter-r49")
    assert not passed.failed_verification
    assert passed.title.en == "VERIFICATION CERTIFICATE"
    # A calibration states no pass or fail of its own: never a notice.
    assert not example("dmm-dcv").failed_verification
