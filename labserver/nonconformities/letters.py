"""Customer notification letters of a nonconformity (ISO/IEC 17025:2017 7.10.1 d: the
customer is notified when work is recalled): one letter per customer organization,
listing its recalled certificates, in Vietnamese and English.

:func:`letters_for` gathers the plain data (:class:`Letter`) from the records;
:func:`render_letters` draws them with reportlab in the DejaVu fonts the certificates
use (``certificates.fonts``), each letter starting on a new page. Deterministic: the
letter's date is the day of the last recall decision it reports, not the day it is
printed, and the PDF is written invariant — the same records give the same bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from django.utils import timezone

from labserver.core.errors import DomainError, NotFound
from labserver.issuance.models import Certificate
from labserver.issuance.services import certificate_state

from .models import Decision, Nonconformity

STATUS_TEXT = {
    Decision.Recall.REVOKED: ("Đã thu hồi", "Withdrawn"),
    Decision.Recall.ALREADY_REVOKED: ("Đã thu hồi", "Withdrawn"),
    Decision.Recall.PENDING: ("Sẽ thu hồi", "To be withdrawn"),
}


@dataclass(frozen=True)
class RecalledCertificate:
    number: str
    instrument: str
    serial: str
    issued_on: date
    withdrawn_on: date | None
    reason: str
    status_vi: str
    status_en: str


@dataclass(frozen=True)
class Letter:
    reference: str
    dated: date
    issuer: str
    issuer_address: str
    customer: str
    customer_address: str
    standard: str
    standard_name: str
    out_of_tolerance_since: date
    found_on: date
    description: str
    certificates: tuple[RecalledCertificate, ...]
    verify_base: str
    signer: str


def _day(when: Any, zone: ZoneInfo) -> date:
    """The day of ``when`` in the writing organization's zone (the letter's dates)."""
    return timezone.localdate(when, zone)


def letters_for(nonconformity: Nonconformity, customer: str | None = None) -> list[Letter]:
    """The letters of the certificates whose decision in force is a recall, one per
    customer organization (ordered by its code), or only ``customer``'s (by code)."""
    from .services import current_decisions

    recalls = [
        d for d in current_decisions(nonconformity).values() if d.action == Decision.Action.RECALL
    ]
    certificates = (
        Certificate.objects.select_related(
            "run__job__instrument__owner", "position__job__instrument__owner", "organization"
        )
        .prefetch_related("events")
        .in_bulk([d.certificate_id for d in recalls])
    )
    by_customer: dict[str, list[tuple[Decision, Certificate]]] = {}
    for decision in recalls:
        certificate = certificates[decision.certificate_id]
        owner = certificate.job.instrument.owner
        by_customer.setdefault(owner.code, []).append((decision, certificate))
    if customer is not None:
        if customer not in by_customer:
            raise NotFound(
                f"customer: no recalled certificate of {nonconformity.number} belongs to "
                f"{customer!r}",
                field="customer",
            )
        by_customer = {customer: by_customer[customer]}
    if not by_customer:
        raise DomainError(
            f"nonconformity {nonconformity.number} recalls no certificate: there is no letter "
            "to send",
            field="decisions",
        )
    org = nonconformity.organization
    standard = nonconformity.standard
    letters = []
    for code in sorted(by_customer):
        pairs = sorted(by_customer[code], key=lambda p: p[1].number)
        owner = pairs[0][1].job.instrument.owner
        last = max(pairs, key=lambda p: (p[0].decided_at, p[0].pk))[0]
        rows = []
        for decision, certificate in pairs:
            instrument = certificate.job.instrument
            revoked = certificate_state(certificate).revoked_at
            vi, en = STATUS_TEXT[Decision.Recall(decision.recall)]
            rows.append(
                RecalledCertificate(
                    number=certificate.number,
                    instrument=f"{instrument.manufacturer} {instrument.model}",
                    serial=instrument.serial,
                    issued_on=_day(certificate.issued_at, org.zone),
                    withdrawn_on=_day(revoked, org.zone) if revoked else None,
                    reason=decision.reason,
                    status_vi=vi,
                    status_en=en,
                )
            )
        verify = pairs[0][1].verify_url
        letters.append(
            Letter(
                reference=f"{nonconformity.number}/{code}",
                dated=_day(last.decided_at, org.zone),
                issuer=org.name,
                issuer_address=org.address,
                customer=owner.name,
                customer_address=owner.address,
                standard=standard.asset_id,
                standard_name=standard.name,
                out_of_tolerance_since=nonconformity.out_of_tolerance_since,
                found_on=nonconformity.found_on,
                description=nonconformity.description,
                certificates=tuple(rows),
                verify_base=verify.rsplit("/", 1)[0] if "/verify/" in verify else verify,
                signer=last.decided_by.signature_name(),
            )
        )
    return letters


def _text(value: str) -> str:
    return escape(value)


def _paragraphs(letter: Letter) -> list[tuple[str, str]]:
    """(style, markup) of the letter's text above and below the table."""
    since = letter.out_of_tolerance_since.isoformat()
    found = letter.found_on.isoformat()
    std = f"{_text(letter.standard)} ({_text(letter.standard_name)})"
    return [
        ("vi", f"Kính gửi / To: <b>{_text(letter.customer)}</b>"),
        ("small", _text(letter.customer_address)),
        (
            "vi",
            "<b>V/v: Thu hồi giấy chứng nhận do chuẩn đo lường vượt dung sai<br/>"
            "Re: Recall of certificates: a reference standard out of tolerance</b>",
        ),
        (
            "vi",
            f"Chuẩn đo lường {std} của {_text(letter.issuer)} được phát hiện vượt dung sai "
            f"ngày {found}; chuẩn được coi là vượt dung sai từ ngày {since}. "
            f"{_text(letter.description)} Các giấy chứng nhận dưới đây được cấp từ các phép đo "
            "dùng chuẩn này; kết quả của chúng không còn được bảo đảm nên chúng bị thu hồi "
            "(ISO/IEC 17025:2017, điều 7.10).",
        ),
        (
            "en",
            f"Reference standard {std} of {_text(letter.issuer)} was found out of tolerance on "
            f"{found}; it is taken to have been out of tolerance since {since}. "
            f"{_text(letter.description)} The certificates below were issued from measurements "
            "made with it; their results can no longer be relied on and they are recalled "
            "(ISO/IEC 17025:2017, clause 7.10).",
        ),
    ]


def _next_steps(letter: Letter) -> list[tuple[str, str]]:
    verify = _text(letter.verify_base)
    return [
        (
            "vi",
            "<b>Các bước tiếp theo.</b> Xin Quý khách ngừng sử dụng các giấy chứng nhận trên. "
            "Chúng tôi sẽ hiệu chuẩn lại phương tiện đo không thu phí và cấp giấy chứng nhận "
            "mới thay thế; xin liên hệ với chúng tôi để hẹn lịch. Tình trạng của mỗi giấy "
            f"chứng nhận được công bố tại {verify}/&lt;số giấy chứng nhận&gt;.",
        ),
        (
            "en",
            "<b>What happens next.</b> Please stop relying on the certificates above. We will "
            "recalibrate the instruments free of charge and issue new certificates in their "
            "place; please contact us to arrange it. The status of each certificate is "
            f"published at {verify}/&lt;certificate number&gt;.",
        ),
        ("vi", "Trân trọng / Yours faithfully,"),
        ("vi", f"<b>{_text(letter.signer)}</b>"),
        ("small", f"Quản lý chất lượng / Quality manager, {_text(letter.issuer)}"),
    ]


def render_letters(letters: list[Letter]) -> bytes:
    """The letters as one A4 PDF, each starting on a new page; the same letters give the
    same bytes."""
    from reportlab.lib import colors  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.platypus import (  # type: ignore[import-untyped]
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    from certificates.fonts import BOLD, FAMILY, REGULAR, register_fonts

    register_fonts()
    styles = {
        "vi": ParagraphStyle("vi", fontName=FAMILY, fontSize=10, leading=13, spaceAfter=6),
        "en": ParagraphStyle(
            "en", fontName=FAMILY, fontSize=10, leading=13, spaceAfter=6, textColor="#333333"
        ),
        "small": ParagraphStyle("small", fontName=FAMILY, fontSize=8.5, leading=11, spaceAfter=6),
        "title": ParagraphStyle("title", fontName=BOLD, fontSize=13, leading=16, spaceAfter=2),
        "cell": ParagraphStyle("cell", fontName=FAMILY, fontSize=8, leading=10),
    }
    story: list[Any] = []
    for i, letter in enumerate(letters):
        if i:
            story.append(PageBreak())
        story += [
            Paragraph(_text(letter.issuer), styles["title"]),
            Paragraph(_text(letter.issuer_address), styles["small"]),
            Paragraph(
                f"Số / Ref.: {_text(letter.reference)} &nbsp;&nbsp; "
                f"Ngày / Date: {letter.dated.isoformat()}",
                styles["small"],
            ),
            Spacer(1, 4 * mm),
        ]
        story += [Paragraph(text, styles[style]) for style, text in _paragraphs(letter)]
        header = [
            "Số GCN / Certificate",
            "Phương tiện đo / Instrument",
            "Ngày cấp / Issued",
            "Tình trạng / Status",
            "Lý do / Reason",
        ]
        rows = [[Paragraph(f"<b>{h}</b>", styles["cell"]) for h in header]]
        for c in letter.certificates:
            status = f"{c.status_vi} / {c.status_en}"
            if c.withdrawn_on is not None:
                status += f" {c.withdrawn_on.isoformat()}"
            rows.append(
                [
                    Paragraph(_text(c.number), styles["cell"]),
                    Paragraph(f"{_text(c.instrument)}<br/>S/N {_text(c.serial)}", styles["cell"]),
                    Paragraph(c.issued_on.isoformat(), styles["cell"]),
                    Paragraph(status, styles["cell"]),
                    Paragraph(_text(c.reason), styles["cell"]),
                ]
            )
        table = Table(rows, colWidths=[38 * mm, 38 * mm, 22 * mm, 28 * mm, 44 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9AA3AF")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8ECF1")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [Spacer(1, 2 * mm), table, Spacer(1, 5 * mm)]
        story += [Paragraph(text, styles[style]) for style, text in _next_steps(letter)]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title="Thông báo thu hồi giấy chứng nhận / Certificate recall notice",
        author="caltrace",
        creator="caltrace",
        invariant=1,
        initialFontName=REGULAR,
    )
    document.build(story)
    return buffer.getvalue()
