"""The certificate PDF, read back with independent tools (poppler-utils), not with reportlab.

Every field ISO/IEC 17025:2017 7.8.2.1 and 7.8.4.1 ask for is looked for in the
text that Debian's ``pdftotext -layout`` extracts, in both languages; the fonts
are checked with ``pdffonts``, the attached DCC with ``pdfdetach``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from certificates.document import (
    Amendment,
    Bilingual,
    Conformity,
    Kind,
    ResultRow,
    ResultTable,
)
from certificates.errors import DocumentError
from certificates.pdf import QR_BOX, dcc_attachment_name, qr_code_drawing, render_pdf
from scenarios.certificates import EXAMPLES, example
from tests.support.tools import require_tool
from uncertainty.display import indication_text
from uncertainty.reporting import round_uncertainty

DCC = b'<?xml version="1.0" encoding="UTF-8"?>\n<dcc:digitalCalibrationCertificate/>\n'


def pdftotext(data: bytes, tmp_path: Path, mode: str = "-layout") -> list[str]:
    """The text of each page, split on the form feeds.

    ``-layout`` keeps the table rows on one line (for the rows of results);
    ``-raw`` keeps the order in which the text is drawn, so a label that wraps
    in its table cell still reads as one phrase once whitespace is collapsed.
    """
    tool = require_tool("pdftotext")
    path = tmp_path / f"certificate{mode}.pdf"
    path.write_bytes(data)
    result = subprocess.run(
        [tool, mode, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    pages = result.stdout.decode("utf-8").split("\f")
    return [page for page in pages if page.strip()]


def flat(text: str) -> str:
    """Whitespace collapsed, so a phrase is found whatever the layout's spacing."""
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory):
    """Each example: (document, PDF, pages as laid out, whole text in drawing order)."""
    out = {}
    for name in EXAMPLES:
        document = example(name)
        data = render_pdf(document)
        where = tmp_path_factory.mktemp(name)
        raw = flat("\n".join(pdftotext(data, where, "-raw")))
        out[name] = (document, data, pdftotext(data, where), raw)
    return out


NAMES = sorted(EXAMPLES)


@pytest.mark.parametrize("name", NAMES)
def test_every_page_carries_the_number_and_page_x_of_y(rendered, name):
    # ISO/IEC 17025:2017 7.8.2.1 a: the unique identification on each page and
    # the page number with the total number of pages.
    document, _data, pages, _text = rendered[name]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert document.number in page
        assert f"Trang {number}/{len(pages)}" in page
        assert f"Page {number} of {len(pages)}" in page
        assert document.verify_url in page


@pytest.mark.parametrize("name", NAMES)
def test_it_prints_the_title_issuer_and_accreditation_in_both_languages(rendered, name):
    # 7.8.2.1 a (title) and b (the laboratory's name and address).
    document, _data, pages, _text = rendered[name]
    first = flat(pages[0])
    assert document.title.vi in first
    assert document.title.en in first
    assert document.issuer.name.vi in first
    assert document.issuer.name.en in first
    assert document.issuer.address in first
    assert document.issuer.accreditation in first


@pytest.mark.parametrize("name", NAMES)
def test_it_identifies_the_customer_the_item_and_the_method(rendered, name):
    # 7.8.2.1 e (customer), f (method), g (item, its condition); 7.8.4.1.
    document, _data, _pages, text = rendered[name]
    assert "Khách hàng / Customer" in text
    assert document.customer.name in text
    assert document.customer.address in text
    instrument = document.instrument
    for value in (
        instrument.type.vi,
        instrument.type.en,
        instrument.manufacturer,
        instrument.model,
        instrument.serial,
    ):
        assert value in text
    assert instrument.condition is not None
    assert instrument.condition.vi in text
    assert instrument.condition.en in text
    assert "Tình trạng khi nhận / Condition as received" in text
    procedure = document.procedure
    assert procedure.id in text
    assert f"phiên bản / version {procedure.version}" in text
    assert procedure.title.vi in text
    assert procedure.title.en in text
    for reference in procedure.references:
        assert reference in text


@pytest.mark.parametrize("name", NAMES)
def test_it_states_the_place_dates_and_environment(rendered, name):
    # 7.8.2.1 c (where), i (dates of receipt and of the work), k (date of issue);
    # 7.8.4.1 b (the conditions under which the calibration was made).
    document, _data, _pages, text = rendered[name]
    assert "Địa điểm thực hiện / Place of the work" in text
    assert "Ngày thực hiện / Date of measurement" in text
    assert f"Ngày ban hành / Date of issue {document.issued_on.isoformat()}" in text
    assert document.performed_from.isoformat() in text
    if document.received_on is not None:
        assert f"Date of receipt {document.received_on.isoformat()}" in text
    for condition in document.conditions:
        assert condition.name.vi in text
        assert condition.name.en in text
    assert "°C" in text
    assert "degC" not in text


def _expected_cells(row: ResultRow) -> list[str]:
    """The row's numbers as ILAC P14 prints them, computed here from uncertainty.reporting."""
    cells = []
    u = round_uncertainty(row.expanded_uncertainty) if row.expanded_uncertainty else None
    for name, value in (
        ("reference", row.reference),
        ("indication", row.indication),
        ("error", row.error),
    ):
        if value is None:
            continue
        if name == "indication" and row.resolution is not None:
            # what the instrument showed, to its resolution (issue 16), not to U's place
            cells.append(re.escape(indication_text(value, row.resolution)))
        elif u is None:
            cells.append(re.escape(format(value, "g")))
        else:
            place = u.as_tuple().exponent
            assert isinstance(place, int)
            from decimal import ROUND_HALF_UP, Decimal

            rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(place), ROUND_HALF_UP)
            cells.append(
                re.escape(format(rounded.copy_abs() if rounded.is_zero() else rounded, "f"))
            )
    if row.mpe is not None:
        cells.append(r"±\s*" + re.escape(format(row.mpe, "g")))
    if u is not None:
        cells.append(re.escape(format(u, "f")))
    if row.coverage_factor is not None:
        cells.append(re.escape(f"{row.coverage_factor:.2f}"))
    if row.coverage_probability is not None:
        cells.append(re.escape(f"{row.coverage_probability * 100:.0f}"))
    if row.conformity is not None:
        cells.append("Đạt / Pass" if row.conformity.value == "pass" else r"\S")
    return cells


@pytest.mark.parametrize("name", NAMES)
def test_every_result_row_is_printed_rounded_per_ilac_p14(rendered, name):
    # 7.8.4.1 a/c and ILAC P14: U to two significant digits, the values to the
    # same decimal place, k with two decimals, p as a percentage.
    document, _data, pages, _text = rendered[name]
    lines = "\n".join(pages).splitlines()
    for table in document.results:
        for row in table.rows:
            pattern = re.compile(r"\s+".join(_expected_cells(row)))
            assert any(pattern.search(line) for line in lines), (row.label, pattern.pattern)


def test_a_value_is_rounded_to_the_decimal_place_of_its_uncertainty(tmp_path):
    # ILAC P14 and GUM (JCGM 100:2008) 7.2.6: U to at most two significant
    # digits, the value to the same decimal place: an indication of 10.000061 V
    # with U = 0.000095 V reads 10.000061, error 0.000061 ± 0.000095; GUM 7.2.6's
    # own example, y = 10.057 62 Ω with 27 mΩ, reads 10.058.
    document = example("dmm-dcv")
    volts = dataclasses.replace(
        document.results[0],
        rows=(
            ResultRow("10 V", 10.0, 10.0, 10.000061, 10.000061 - 10.0, "V", 0.000095, 2.0, 0.95),
            ResultRow("1 V", 1.0, 1.0, 1.0000085, 1.0000085 - 1.0, "V", 0.0000996, 2.0, 0.95),
        ),
    )
    ohms = ResultTable(
        "r",
        Bilingual("Điện trở", "Resistance"),
        Bilingual("Điện trở", "Resistance"),
        (ResultRow("10 Ω", 10.0, 10.0, 10.05762, 0.05762, "Ohm", 0.02704, 2.0, 0.9545),),
    )
    data = render_pdf(dataclasses.replace(document, results=(volts, ohms)))
    text = "\n".join(pdftotext(data, tmp_path))
    assert re.search(r"10 V\s+10\.000000\s+10\.000061\s+0\.000061\s+0\.000095\s+2\.00\s+95", text)
    assert re.search(r"10 Ω\s+10\.000\s+10\.058\s+0\.058\s+0\.027\s+2\.00\s+95", text)
    # 0.0000996 rounds up to 0.00010: two significant digits, the trailing zero kept.
    assert re.search(r"1 ?V\s+1\.00000\s+1\.00001\s+0\.00001\s+0\.00010\s", text)
    assert "Sai số (Ω)" in text
    assert "(Ω)" in text


@pytest.mark.parametrize("name", NAMES)
def test_it_states_conformity_and_the_decision_rule(rendered, name):
    # ISO/IEC 17025:2017 7.8.6.2: the statement, what it covers, the decision rule.
    document, _data, _pages, text = rendered[name]
    if document.statement is None:
        assert "Quy tắc quyết định" not in text
        return
    statement = document.statement
    assert "ĐẠT / PASS" in text
    for part in (statement.specification, statement.decision_rule, statement.covers):
        assert part.vi in text
        assert part.en in text


@pytest.mark.parametrize("name", NAMES)
def test_traceability_names_each_standard_and_its_certificate(rendered, name):
    # 7.8.4.1 c: evidence of metrological traceability (7.1.1 a of ILAC P10).
    document, _data, _pages, text = rendered[name]
    assert "LIÊN KẾT CHUẨN / METROLOGICAL TRACEABILITY" in text
    assert "traceable to the SI" in text
    for standard in document.standards:
        assert standard.certificate_number in text
        assert standard.serial in text
        assert standard.certificate_valid_until.isoformat() in text


@pytest.mark.parametrize("name", NAMES)
def test_it_names_who_signed_in_which_role_and_what_it_means(rendered, name):
    # 7.8.2.1 o: the persons authorizing the report; caltrace also prints who
    # performed and checked, and what each signature means (electronic records).
    document, _data, _pages, text = rendered[name]
    roles = {
        "performed": "Người thực hiện Performed by",
        "checked": "Người soát xét Checked by",
        "authorized": "Người phê duyệt Authorized by",
    }
    for person in document.people:
        assert person.name in text
        assert roles[person.role] in text
        assert person.meaning.en in text
        assert person.signed_at.strftime("%Y-%m-%d %H:%M") in text
    # The meaning in Vietnamese may wrap in its cell: look for its first words.
    assert all(" ".join(p.meaning.vi.split()[:3]) in text for p in document.people)


@pytest.mark.parametrize("name", NAMES)
def test_it_carries_the_notes_17025_asks_for_and_ends_with_the_marker(rendered, name):
    # 7.8.2.1 d (end marker), l (results relate only to the item), the
    # reproduction note; 7.8.4.3 the recalibration date only when agreed.
    document, _data, pages, text = rendered[name]
    assert "The results relate only to the item" in text
    assert "Kết quả chỉ có giá trị đối với phương tiện" in text
    assert "shall not be reproduced except in full" in text
    assert "Không được trích sao giấy chứng nhận này nếu không sao toàn bộ" in text
    assert "HẾT GIẤY CHỨNG NHẬN / END OF CERTIFICATE" in flat(pages[-1])
    if document.next_due is None:
        assert "Recommended next calibration" not in text
    else:
        assert f"Recommended next calibration {document.next_due.isoformat()}" in text


@pytest.mark.parametrize("name", NAMES)
def test_a_verification_certificate_carries_its_mark_and_validity(rendered, name):
    document, _data, _pages, text = rendered[name]
    if document.kind is Kind.CALIBRATION:
        assert "Verification mark" not in text
        return
    assert document.mark is not None
    assert f"Số tem kiểm định / Verification mark No. {document.mark.number}" in text
    assert f"Hiệu lực đến / Valid until {document.mark.valid_until.isoformat()}" in text


def test_vietnamese_diacritics_survive_extraction(rendered):
    text = rendered["dmm-dcv"][3]
    for phrase in (
        "Đồng hồ vạn năng hiện số",
        "Độ ẩm tương đối",
        "Nguyễn Văn Đức",
        "Trần Thị Hương",
        "Thiết bị hiệu chuẩn đa năng",
        "Viện Đo lường Việt Nam",
    ):
        assert phrase in text


def test_checks_and_curves_are_printed(rendered):
    pressure = flat("\n".join(rendered["pressure-r101"][2]))
    assert re.search(r"Độ trễ / Hysteresis 5 kPa 16 kPa Đạt / Pass", pressure)
    document, _data, _pages, text = rendered["thermometer-bath"]
    curve = document.results[0].curve
    assert curve is not None
    assert "Đường cong hiệu chính / Correction curve" in text
    assert curve.description.en in text
    for term in curve.terms:
        u = round_uncertainty(term.standard_uncertainty)
        assert f"{term.name} " in text
        assert format(u, "f") in text
    assert "U = 0.032 °C (k = 2.00)" in text


def test_it_embeds_every_font(tmp_path):
    # PDF/A (ISO 19005) requires every font embedded: a certificate must print
    # the same everywhere.
    tool = require_tool("pdffonts")
    path = tmp_path / "c.pdf"
    path.write_bytes(render_pdf(example("nawi-r76"), dcc_xml=DCC))
    listing = subprocess.run([tool, str(path)], capture_output=True, check=True, text=True).stdout
    fonts = listing.splitlines()[2:]
    assert fonts
    for line in fonts:
        assert "DejaVuSans" in line
        assert re.search(r"\byes\s+yes\s+yes\b", line), line


def test_the_dcc_is_attached_byte_for_byte(tmp_path):
    tool = require_tool("pdfdetach")
    document = example("dmm-dcv")
    path = tmp_path / "c.pdf"
    path.write_bytes(render_pdf(document, dcc_xml=DCC))
    listing = subprocess.run(
        [tool, "-list", str(path)], capture_output=True, check=True, text=True
    ).stdout
    assert "1 embedded files" in listing
    assert dcc_attachment_name(document.number) == "HN-HC-2026-000123.dcc.xml"
    assert "HN-HC-2026-000123.dcc.xml" in listing
    saved = tmp_path / "saved.xml"
    subprocess.run([tool, "-save", "1", "-o", str(saved), str(path)], check=True)
    assert saved.read_bytes() == DCC


def test_the_dcc_is_an_associated_file_of_the_document():
    # PDF 2.0 14.13 / PDF/A-3: the catalog's AF array names the file
    # specification, whose AFRelationship says how it relates (Alternative).
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(render_pdf(example("dmm-dcv"), dcc_xml=DCC)))
    root = reader.root
    spec = root["/AF"][0]
    assert spec["/AFRelationship"] == "/Alternative"
    assert spec["/UF"] == "HN-HC-2026-000123.dcc.xml"
    stream = spec["/EF"]["/F"]
    assert stream["/Subtype"] == "/application/xml"
    assert stream.data == DCC
    assert "/Metadata" in root


def test_without_a_dcc_nothing_is_attached(tmp_path):
    tool = require_tool("pdfdetach")
    path = tmp_path / "c.pdf"
    path.write_bytes(render_pdf(example("dmm-dcv")))
    listing = subprocess.run(
        [tool, "-list", str(path)], capture_output=True, check=True, text=True
    ).stdout
    assert "0 embedded files" in listing


@pytest.mark.parametrize("name", ["dmm-dcv", "watermeter-r49"])
def test_rendering_twice_gives_the_same_bytes(name):
    document = example(name)
    assert render_pdf(document, dcc_xml=DCC) == render_pdf(document, dcc_xml=DCC)


def test_the_creation_date_is_the_date_of_issue_and_the_id_follows_the_number(tmp_path):
    tool = require_tool("pdfinfo")
    path = tmp_path / "c.pdf"
    document = example("nawi-r76")
    data = render_pdf(document)
    path.write_bytes(data)
    info = subprocess.run(
        [tool, "-isodates", str(path)], capture_output=True, check=True, text=True
    ).stdout
    assert re.search(r"CreationDate:\s+2026-11-21T00:00:00", info)
    # Three pages since the statement of conformity follows the results (issue 16).
    assert re.search(r"Pages:\s+3", info)
    assert re.search(r"Page size:\s+595\.2\d* x 841\.8\d* pts \(A4\)", info)
    other = render_pdf(
        dataclasses.replace(
            document, number="HN-KD-2026-004568", verify_url=document.verify_url + "8"
        )
    )
    ids = [re.search(rb"/ID\s*\[\s*<([0-9a-f]+)>", d) for d in (data, other)]
    assert ids[0] is not None
    assert ids[1] is not None
    assert ids[0].group(1) != ids[1].group(1)


def test_the_qr_code_encodes_the_verification_page():
    # No QR decoder is at hand offline: draw the QR code of verify_url on its own
    # and find exactly its modules (the filled rectangles) in the first page.
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from reportlab.graphics import renderPDF  # type: ignore[import-untyped]
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

    document = example("dmm-dcv")
    reader = PdfFileReader(io.BytesIO(render_pdf(document)))
    page = reader.root["/Pages"]["/Kids"][0]
    content = page["/Contents"].data

    def modules(data: bytes) -> list[bytes]:
        return re.findall(rb"[-\d.]+ [-\d.]+ [-\d.]+ [-\d.]+ re f\*?", data)

    x, y, size = QR_BOX
    alone = io.BytesIO()
    canvas = Canvas(alone, pageCompression=0, invariant=1)
    renderPDF.draw(qr_code_drawing(document.verify_url, size), canvas, x, y)
    canvas.showPage()
    canvas.save()
    raw = alone.getvalue()
    stream = raw[raw.index(b"stream\n") + 7 : raw.index(b"endstream")]
    expected = modules(stream)
    assert len(expected) > 50
    found = modules(content)
    start = found.index(expected[0])
    assert found[start : start + len(expected)] == expected
    # And a different address would have drawn a different code.
    wrong = io.BytesIO()
    canvas = Canvas(wrong, pageCompression=0, invariant=1)
    renderPDF.draw(qr_code_drawing(document.verify_url + "x", size), canvas, x, y)
    canvas.showPage()
    canvas.save()
    assert modules(wrong.getvalue()) != expected


def test_the_amendment_block_names_the_replaced_certificate_and_the_reason(tmp_path):
    # ISO/IEC 17025:2017 7.8.8.2/7.8.8.3: an amended report is identified as
    # such, with the reason, and references the original it replaces.
    document = dataclasses.replace(
        example("dmm-dcv"),
        number="HN-HC-2026-000124",
        amendment=Amendment(
            replaces="HN-HC-2026-000123",
            type_of_change="amended",
            reason=Bilingual(
                "Sai số sản xuất của thiết bị", "Wrong serial number of the instrument"
            ),
            replaces_sha256="ab" * 32,
        ),
    )
    text = flat("\n".join(pdftotext(render_pdf(document), tmp_path)))
    assert "SỬA ĐỔI GIẤY CHỨNG NHẬN SỐ HN-HC-2026-000123" in text
    assert "Amendment to certificate No. HN-HC-2026-000123" in text
    assert "Wrong serial number of the instrument" in text
    assert "Sai số sản xuất của thiết bị" in text
    assert "This certificate replaces and supersedes certificate No. HN-HC-2026-000123." in text
    assert "thay thế và hủy bỏ giấy chứng nhận số HN-HC-2026-000123" in text
    assert "ab" * 32 in text.replace(" ", "")


def test_a_point_whose_uncertainty_exceeds_a_third_of_the_mpe_is_flagged(tmp_path):
    # Legal metrology (OIML D 10 / R 76-1 3.7.2 spirit): U ≤ MPE/3; when not met
    # the certificate says so at the point.
    document = example("nawi-r76")
    table = document.results[0]
    rows = list(table.rows)
    rows[0] = dataclasses.replace(rows[0], expanded_uncertainty=0.9, uncertainty_ratio_flag=True)
    document = dataclasses.replace(
        document, results=(dataclasses.replace(table, rows=tuple(rows)),)
    )
    text = "\n".join(pdftotext(render_pdf(document), tmp_path))
    flagged = [line for line in text.splitlines() if "†" in line]
    assert any(line.lstrip().startswith("100 g") for line in flagged)
    assert "U > MPE/3: the legal requirement U ≤ MPE/3 is not met" in flat(text)
    assert not any(line.lstrip().startswith("2500 g") for line in flagged)


def test_it_checks_the_document_before_rendering():
    document = example("dmm-dcv")
    broken = dataclasses.replace(
        document, customer=dataclasses.replace(document.customer, name=" ")
    )
    with pytest.raises(DocumentError) as caught:
        render_pdf(broken)
    assert caught.value.field == "customer.name"


def test_a_table_with_mixed_units_prints_the_unit_in_each_cell(tmp_path):
    document = example("dmm-dcv")
    rows = (
        ResultRow("1 V", 1.0, 1.0, 1.0000085, 0.0000085, "V", 0.000012, 2.0, 0.95),
        ResultRow("100 Ω", 100.0, 100.0, 100.0021, 0.0021, "Ohm", 0.0012, 2.0, 0.95),
    )
    table = ResultTable("mixed", Bilingual("Hỗn hợp", "Mixed"), Bilingual("Hỗn hợp", "Mixed"), rows)
    text = "\n".join(
        pdftotext(render_pdf(dataclasses.replace(document, results=(table,))), tmp_path)
    )
    assert re.search(r"100\.0021 Ω\s+0\.0021 Ω\s+0\.0012 Ω", text)
    assert re.search(r"1\.000009 V\s+0\.000009 V\s+0\.000012 V", text)


def test_a_coverage_probability_that_would_read_100_percent_keeps_its_decimals(tmp_path):
    document = example("dmm-dcv")
    row = ResultRow("10 V", 10.0, 10.0, 10.000061, 0.000061, "V", 0.00015, 3.0, 0.9973)
    table = dataclasses.replace(document.results[0], rows=(row,))
    text = "\n".join(
        pdftotext(render_pdf(dataclasses.replace(document, results=(table,))), tmp_path)
    )
    assert re.search(r"0\.00015\s+3\.00\s+99\.7", text)
    assert not math.isnan(row.coverage_probability or 0.0)


def test_render_dates_are_iso_8601():
    assert date(2026, 11, 21).isoformat() == "2026-11-21"


def test_the_parsed_markup_cache_changes_no_byte(monkeypatch):
    # render_pdf keeps the parsed markup of its paragraphs (the same labels recur in every
    # certificate); layout and drawing must only read it. Each example rendered with the
    # cache off, then twice with it on and warm, in turns: the same bytes every time.
    import certificates.pdf as pdf

    monkeypatch.setattr(pdf, "_PARSED", {})
    monkeypatch.setattr(pdf, "_PARSED_MAX", 0)
    cold = {name: render_pdf(example(name)) for name in EXAMPLES}
    monkeypatch.setattr(pdf, "_PARSED_MAX", 4096)
    for _ in range(2):
        for name in EXAMPLES:
            assert render_pdf(example(name)) == cold[name], name
    assert pdf._PARSED


def test_a_preview_is_the_same_pages_watermarked_on_each_and_attaches_no_dcc(tmp_path):
    # What a signatory reads before signing: the issued certificate's pages, broken where
    # its pages break (the note naming the DCC is kept), with the mark across each.
    from certificates.pdf import PREVIEW_WATERMARK

    document = example("nawi-r76")
    (tmp_path / "issued").mkdir()
    (tmp_path / "preview").mkdir()
    issued = pdftotext(render_pdf(document, dcc_xml=DCC), tmp_path / "issued")
    data = render_pdf(document, dcc_xml=DCC, preview=True)
    preview = pdftotext(data, tmp_path / "preview")
    assert len(preview) == len(issued) >= 2
    for number, page in enumerate(preview, start=1):
        assert PREVIEW_WATERMARK.vi in flat(page), number
        assert PREVIEW_WATERMARK.en in flat(page), number
        assert f"Page {number} of {len(preview)}" in page
    assert dcc_attachment_name(document.number) in flat(" ".join(preview))
    path = tmp_path / "preview.pdf"
    path.write_bytes(data)
    listed = subprocess.run(
        [require_tool("pdfdetach"), "-list", str(path)], capture_output=True, check=True
    ).stdout.decode()
    assert listed.startswith("0 embedded files")
    # The issued certificate carries no mark.
    assert PREVIEW_WATERMARK.en not in flat(" ".join(issued))


def test_a_failed_verification_prints_a_notice_and_no_mark(tmp_path):
    document = example("watermeter-r49")
    assert document.statement is not None
    failed = dataclasses.replace(
        document,
        statement=dataclasses.replace(document.statement, conformity=Conformity.FAIL),
        mark=None,
    )
    text = flat("\n".join(pdftotext(render_pdf(failed), tmp_path)))
    assert "THÔNG BÁO KẾT QUẢ KIỂM ĐỊNH KHÔNG ĐẠT" in text
    assert "NOTICE OF FAILED VERIFICATION" in text
    assert "VERIFICATION CERTIFICATE" not in text
    assert "None: the instrument failed its verification" in text
    assert "Không: phương tiện đo không đạt yêu cầu kiểm định" in text
    assert "Verification mark No." not in text
    assert "Valid until" not in text
