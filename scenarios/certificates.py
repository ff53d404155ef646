"""Example certificate documents, one per shipped procedure kind.

They let a laboratory preview the layout (``python -m scenarios example NAME``)
and give the tests and ``benchmarks/certificates.py`` realistic documents. The
numbers are those of a plausible run of each procedure; they are examples, not
results of any instrument. Plain data for the :mod:`certificates` library: no Django.

Each example cites what the certificate of its shipped procedure cites: the procedure's
id and version and the references confirmed in a source, as
:func:`procedures.references.printable_references` writes them. The texts are written
out here, as a reader sees them, not taken from ``procedures``, so that
``tests/certificates/test_readable.py`` compares two independent copies: it fails when
they differ from the shipped definitions or when an example names a document that is not
confirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from certificates.document import (
    Bilingual,
    CertificateDocument,
    Check,
    Condition,
    Conformity,
    Curve,
    CurveTerm,
    Customer,
    Instrument,
    Issuer,
    Kind,
    Location,
    Person,
    ProcedureRef,
    ResultRow,
    ResultTable,
    Standard,
    Statement,
    VerificationMark,
)

__all__ = ["EXAMPLES", "example"]

# The citations of the shipped procedures' confirmed references (procedures/library).
_GUM = (
    "JCGM 100:2008, Evaluation of measurement data – Guide to the expression of uncertainty "
    "in measurement (GUM)"
)
_REFERENCES: dict[str, tuple[str, ...]] = {
    "dmm-dcv": (
        "EURAMET cg-15 v3.0 (02/2015), Guidelines on the calibration of digital multimeters",
        _GUM,
    ),
    "nawi-r76": (
        "OIML R 76-1:2006, Non-automatic weighing instruments, Part 1: Metrological and "
        "technical requirements – Tests (3.5.1 Table 6, 3.6.1, 3.6.2, A.4.4.1, A.4.4.3, "
        "A.4.7, A.4.10)",
        "OIML R 111-1:2004, Weights of classes E1, E2, F1, F2, M1, M1–2, M2, M2–3 and M3, "
        "Part 1: Metrological and technical requirements (the test weights)",
        _GUM,
    ),
    "pressure-gauge-r101": (
        "OIML R 101:1991, Indicating and recording pressure gauges, vacuum gauges and "
        "pressure-vacuum gauges with elastic sensing elements (ordinary instruments)",
        _GUM,
    ),
    "thermometer-bath": (
        "IEC 60751:2008, Industrial platinum resistance thermometers and platinum "
        "temperature sensors (4.2, the temperature/resistance relationship)",
        "ISO/TS 28037:2010, Determination and use of straight-line calibration functions",
        _GUM,
    ),
    "water-meter-r49": (
        "OIML R 49-1:2013, Water meters for cold potable water and hot water, Part 1: "
        "Metrological and technical requirements",
    ),
}

ISSUER = Issuer(
    name=Bilingual(
        "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng Hà Nội (DEMO)",
        "Hà Nội Standards, Metrology and Quality Technical Center (DEMO)",
    ),
    address="1 Đường Thí Dụ, Quận Cầu Giấy, Hà Nội, Việt Nam",
    accreditation="VILAS 999 (DEMO)",
    accreditation_body="BoA – Văn phòng Công nhận Chất lượng",
    contact="kiemdinh@example.vn",
)

CUSTOMER = Customer(
    name="Công ty TNHH Điện tử Ví Dụ",
    address="25 Phố Mẫu, Quận Hoàn Kiếm, Hà Nội",
    contact="qa@example.com",
)

_SIGNED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _people() -> tuple[Person, ...]:
    return (
        Person(
            "Nguyễn Văn Đức",
            "performed",
            Bilingual("Tôi đã thực hiện phép đo này", "I performed these measurements"),
            _SIGNED,
            "Kiểm định viên / Verifier",
        ),
        Person(
            "Trần Thị Hương",
            "checked",
            Bilingual("Tôi đã kiểm tra kết quả", "I checked these results"),
            _SIGNED.replace(hour=14),
            "Kỹ thuật viên soát xét / Reviewer",
        ),
        Person(
            "Lê Quang Vinh",
            "authorized",
            Bilingual("Tôi phê duyệt ban hành giấy chứng nhận", "I authorize this certificate"),
            _SIGNED.replace(day=21, hour=8),
            "Giám đốc kỹ thuật / Technical manager",
        ),
    )


def _dmm_dcv() -> CertificateDocument:
    # A 6½-digit meter: each range shows six decimal digits of its full scale, so the
    # indication is read to 0.1 µV on 100 mV, 1 µV on 1 V and 10 µV on 10 V.
    points = [
        ("100 mV", "100 mV", 0.1, 0.1000012, 0.0000031, 1e-7),
        ("−100 mV", "100 mV", -0.1, -0.0999990, 0.0000031, 1e-7),
        ("1 V", "1 V", 1.0, 1.000009, 0.000012, 1e-6),
        ("−1 V", "1 V", -1.0, -1.000007, 0.000012, 1e-6),
        ("10 V", "10 V", 10.0, 10.00006, 0.000095, 1e-5),
    ]
    rows = tuple(
        ResultRow(
            label=label,
            nominal=nominal,
            reference=nominal,
            indication=indication,
            error=indication - nominal,
            unit="V",
            expanded_uncertainty=u,
            coverage_factor=2.0,
            coverage_probability=0.95,
            resolution=resolution,
            instrument_range=span,
        )
        for label, span, nominal, indication, u, resolution in points
    )
    return CertificateDocument(
        number="HN-HC-2026-000123",
        kind=Kind.CALIBRATION,
        issuer=ISSUER,
        customer=CUSTOMER,
        instrument=Instrument(
            type=Bilingual("Đồng hồ vạn năng hiện số", "Digital multimeter"),
            manufacturer="Keysight",
            model="34465A",
            serial="MY54321234",
            description="6½ digits; DC voltage 100 mV to 1000 V",
            condition=Bilingual("Không có hư hỏng nhìn thấy", "No visible damage"),
        ),
        procedure=ProcedureRef(
            id="dmm-dcv",
            version="1.1.0",
            title=Bilingual(
                "Hiệu chuẩn điện áp một chiều của đồng hồ vạn năng",
                "DC voltage calibration of a digital multimeter",
            ),
            sha256="4b1d" * 16,
            references=_REFERENCES["dmm-dcv"],
        ),
        location=Location.LABORATORY,
        performed_from=date(2026, 11, 20),
        performed_to=date(2026, 11, 20),
        issued_on=date(2026, 11, 21),
        received_on=date(2026, 11, 18),
        conditions=(
            Condition(Bilingual("Nhiệt độ", "Temperature"), 23.1, "degC", 0.5),
            Condition(Bilingual("Độ ẩm tương đối", "Relative humidity"), 48.0, "%RH", 5.0),
        ),
        results=(
            ResultTable(
                test_id="dcv",
                title=Bilingual("Điện áp một chiều", "DC voltage"),
                quantity=Bilingual("Điện áp một chiều", "DC voltage"),
                rows=rows,
            ),
        ),
        statement=None,
        standards=(
            Standard(
                asset_id="HN-STD-0042",
                name=Bilingual("Thiết bị hiệu chuẩn đa năng", "Multifunction calibrator"),
                manufacturer="Fluke",
                model="5522A",
                serial="1234567",
                role="source",
                function_range="DC voltage, 330 mV to 33 V ranges",
                certificate_number="VMI-2026-0815",
                certificate_issuer="Viện Đo lường Việt Nam (VMI)",
                certificate_issuer_accreditation="NMI, CIPM MRA",
                certificate_date=date(2026, 3, 10),
                certificate_valid_until=date(2027, 3, 10),
                certificate_sha256="9e" * 32,
                uncertainty="12 µV/V (k = 2)",
            ),
        ),
        people=_people(),
        verify_url="http://127.0.0.1:8000/verify/HN-HC-2026-000123",
        run_id="5d0c6f0e-2f4a-4f57-9d3b-6a1f8c2e9b10",
        software_version="0.5.0",
    )


def _nawi_r76() -> CertificateDocument:
    # Max 15 kg, e = 5 g, class III, read on the test-mode display d_T = 1 g (e/5). The
    # weighing test of procedures/library/nawi-r76.yaml: 10 loads from Min (20 e) to Max
    # and back (R 76-1:2006 A.4.4.1), among them the MPE change points 500 e and 2 000 e.
    # MPE on initial verification (R 76-1 3.5.1, Table 6): 0.5 e = 2.5 g up to 500 e,
    # 1 e = 5 g up to 2 000 e, 1.5 e = 7.5 g above. U (k = 2) ≈ 0.6 g, mostly d_T.
    e = 5.0
    rising = [100.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0, 11250.0, 12500.0, 13750.0, 15000.0]
    loads = [(load, False) for load in rising] + [(load, True) for load in reversed(rising[:-1])]

    def mpe(load: float) -> float:
        return 0.5 * e if load <= 500 * e else (1.0 * e if load <= 2000 * e else 1.5 * e)

    def error(load: float) -> float:
        return 0.0 if load < 2000 else (1.0 if load < 11000 else 2.0)

    rows = tuple(
        ResultRow(
            label=f"{load:g} g, {'giảm / falling' if falling else 'tăng / rising'}",
            nominal=load,
            reference=load,
            indication=load + error(load),
            error=error(load),
            unit="g",
            expanded_uncertainty=0.6,
            coverage_factor=2.0,
            coverage_probability=0.95,
            mpe=mpe(load),
            conformity=Conformity.PASS,
            resolution=1.0,
        )
        for load, falling in loads
    )
    document = _dmm_dcv()
    return CertificateDocument(
        number="HN-KD-2026-004567",
        kind=Kind.VERIFICATION,
        issuer=ISSUER,
        customer=Customer("Chợ Đồng Xuân – Ban quản lý", "Phố Đồng Xuân, Hoàn Kiếm, Hà Nội"),
        instrument=Instrument(
            type=Bilingual(
                "Cân không tự động cấp chính xác III",
                "Non-automatic weighing instrument, class III",
            ),
            manufacturer="Mettler Toledo",
            model="ICS425",
            serial="B123456789",
            description="Max 15 kg, e = d = 5 g, class III",
            condition=Bilingual("Đạt yêu cầu kiểm tra bên ngoài", "Passed the visual inspection"),
        ),
        procedure=ProcedureRef(
            id="nawi-r76",
            version="1.2.0",
            title=Bilingual(
                "Kiểm định cân không tự động cấp chính xác III",
                "Verification of a class III non-automatic weighing instrument",
            ),
            sha256="76" * 32,
            references=_REFERENCES["nawi-r76"],
            # The procedure's rounding_error statement (R 76-1 A.4.4.3).
            rounding_method=Bilingual(
                "Sai số được đọc trên bộ hiển thị có giá trị độ chia không lớn hơn e/5 "
                "(OIML R 76-1:2006), nên việc làm tròn số chỉ góp vào mỗi sai số không quá "
                "e/10.",
                "The errors were read on a display with a scale interval of at most e/5 "
                "(OIML R 76-1:2006), so that the rounding of the indication adds at most e/10 "
                "to each error.",
            ),
        ),
        location=Location.CUSTOMER,
        performed_from=date(2026, 11, 20),
        performed_to=date(2026, 11, 20),
        issued_on=date(2026, 11, 21),
        conditions=(Condition(Bilingual("Nhiệt độ", "Temperature"), 27.4, "degC", 1.0),),
        results=(
            ResultTable(
                test_id="weighing",
                title=Bilingual("Phép thử cân", "Weighing test"),
                quantity=Bilingual("Khối lượng", "Mass"),
                rows=rows,
                checks=(
                    # At Max/2 = 7 500 g (the spread of the indications ≤ |MPE| = 5 g) and
                    # at Max/3 = 5 000 g (every position's error ≤ |MPE| = 5 g).
                    Check(
                        Bilingual("Độ lặp lại", "Repeatability"),
                        1.0,
                        5.0,
                        "g",
                        Conformity.PASS,
                        1.0,
                    ),
                    Check(
                        Bilingual("Độ lệch tâm", "Eccentricity"),
                        2.0,
                        5.0,
                        "g",
                        Conformity.PASS,
                        1.0,
                    ),
                ),
            ),
        ),
        statement=Statement(
            conformity=Conformity.PASS,
            specification=Bilingual(
                "OIML R 76-1:2006, 3.5.1, sai số lớn nhất cho phép khi kiểm định ban đầu",
                "OIML R 76-1:2006, 3.5.1, maximum permissible errors on initial verification",
            ),
            decision_rule=Bilingual(
                "Chấp nhận đơn giản (ILAC G8:09/2019 4.2.1), w = 0",
                "Simple acceptance (ILAC G8:09/2019 4.2.1), w = 0",
            ),
            covers=Bilingual("Mọi phép thử ở trên", "All tests above"),
        ),
        standards=(
            Standard(
                asset_id="HN-STD-0107",
                name=Bilingual("Bộ quả cân chuẩn F2", "Set of F2 weights"),
                manufacturer="Häfner",
                model="F2 1 g – 5 kg",
                serial="W-2291",
                role="reference",
                function_range="Mass, 1 g to 20 kg",
                certificate_number="HN-HC-2026-000017",
                certificate_issuer=ISSUER.name.vi,
                certificate_issuer_accreditation=ISSUER.accreditation,
                certificate_date=date(2026, 1, 12),
                certificate_valid_until=date(2027, 1, 12),
                certificate_sha256="a7" * 32,
                uncertainty="F2 (OIML R 111-1)",
            ),
        ),
        people=document.people,
        verify_url="http://127.0.0.1:8000/verify/HN-KD-2026-004567",
        run_id="8a7c3e1d-6b2f-4e9a-b0c5-1d2e3f4a5b6c",
        mark=VerificationMark("HN-26-0045671", date(2027, 11, 20)),
        software_version="0.5.0",
    )


_SIMPLE_ACCEPTANCE = Bilingual(
    "Chấp nhận đơn giản (ILAC G8:09/2019 4.2.1), w = 0",
    "Simple acceptance (ILAC G8:09/2019 4.2.1), w = 0",
)


def _pressure_r101() -> CertificateDocument:
    # A class 1.6 gauge of 0..1000 kPa: MPE = 1.6 % of the span = 16 kPa at every
    # point, rising and falling (procedures.mpe's pressure_gauge rule). The gauge
    # is read by eye to 5 kPa (a quarter of its 20 kPa scale interval); the
    # controller's own reading is the reference. U (k = 2) is dominated by the
    # reading resolution: 2 × 2.5 kPa / √3 ≈ 2.9 kPa, below MPE/3 = 5.3 kPa.
    rising = [
        (0.0, 0.00, 0.0),
        (250.0, 250.02, 255.0),
        (500.0, 499.98, 505.0),
        (750.0, 750.03, 755.0),
        (1000.0, 1000.01, 1005.0),
    ]
    falling = [
        (1000.0, 999.99, 1010.0),
        (750.0, 749.97, 760.0),
        (500.0, 500.02, 510.0),
        (250.0, 249.98, 260.0),
        (0.0, 0.01, 5.0),
    ]
    rows = tuple(
        ResultRow(
            label=f"{nominal:g} kPa, {direction}",
            nominal=nominal,
            reference=reference,
            indication=indication,
            error=indication - reference,
            unit="kPa",
            expanded_uncertainty=2.9,
            coverage_factor=2.0,
            coverage_probability=0.95,
            mpe=16.0,
            conformity=Conformity.PASS,
            resolution=5.0,
        )
        for points, direction in ((rising, "tăng / rising"), (falling, "giảm / falling"))
        for nominal, reference, indication in points
    )
    # Hysteresis: the largest |falling − rising| indication at one pressure (5 kPa), ≤ the MPE.
    hysteresis = max(abs(down[2] - up[2]) for up in rising for down in falling if up[0] == down[0])
    people = _people()
    return CertificateDocument(
        number="HN-KD-2026-007801",
        kind=Kind.VERIFICATION,
        issuer=ISSUER,
        customer=Customer(
            "Công ty Cổ phần Nước sạch Ví Dụ", "12 Đường Mẫu, Quận Long Biên, Hà Nội"
        ),
        instrument=Instrument(
            type=Bilingual("Áp kế kiểu lò xo", "Bourdon tube pressure gauge"),
            manufacturer="WIKA",
            model="232.50.100",
            serial="1A2B3C4D",
            description="0 kPa to 1000 kPa, class 1.6, scale interval 20 kPa",
            identifier="NS-PG-017",
            condition=Bilingual(
                "Kim chỉ về vạch không, mặt số rõ", "Pointer at zero, dial legible"
            ),
        ),
        procedure=ProcedureRef(
            id="pressure-gauge-r101",
            version="1.2.0",
            title=Bilingual(
                "Kiểm định áp kế kiểu lò xo", "Verification of an indicating pressure gauge"
            ),
            sha256="101a" * 16,
            references=_REFERENCES["pressure-gauge-r101"],
        ),
        location=Location.LABORATORY,
        performed_from=date(2026, 11, 19),
        performed_to=date(2026, 11, 19),
        issued_on=date(2026, 11, 20),
        received_on=date(2026, 11, 17),
        conditions=(
            Condition(Bilingual("Nhiệt độ", "Temperature"), 21.8, "degC", 1.0),
            Condition(Bilingual("Độ ẩm tương đối", "Relative humidity"), 55.0, "%RH", 5.0),
        ),
        results=(
            ResultTable(
                test_id="gauge",
                title=Bilingual(
                    "Sai số chỉ thị khi tăng và giảm áp", "Indication error, rising and falling"
                ),
                quantity=Bilingual("Áp suất", "Pressure"),
                rows=rows,
                checks=(
                    Check(
                        Bilingual("Độ trễ", "Hysteresis"),
                        hysteresis,
                        16.0,
                        "kPa",
                        Conformity.PASS,
                        5.0,
                    ),
                ),
            ),
        ),
        statement=Statement(
            conformity=Conformity.PASS,
            specification=Bilingual(
                "OIML R 101:1991, cấp 1.6: sai số lớn nhất cho phép ± 1.6 % khoảng đo "
                "(± 16 kPa), khi tăng và giảm áp; độ trễ ≤ 16 kPa",
                "OIML R 101:1991, class 1.6: maximum permissible error ± 1.6 % of the span "
                "(± 16 kPa), rising and falling; hysteresis ≤ 16 kPa",
            ),
            decision_rule=_SIMPLE_ACCEPTANCE,
            covers=Bilingual("Mọi điểm đo và độ trễ", "Every point and the hysteresis"),
        ),
        standards=(
            Standard(
                asset_id="HN-STD-0210",
                name=Bilingual("Bộ điều khiển áp suất chuẩn", "Reference pressure controller"),
                manufacturer="Druck",
                model="PACE5000",
                serial="5000-77123",
                role="reference",
                function_range="Pressure, gauge, 0 kPa to 2000 kPa",
                certificate_number="VMI-AS-2026-0412",
                certificate_issuer="Viện Đo lường Việt Nam (VMI)",
                certificate_issuer_accreditation="NMI, CIPM MRA",
                certificate_date=date(2026, 4, 2),
                certificate_valid_until=date(2027, 4, 2),
                certificate_sha256="5c" * 32,
                uncertainty="0.02 % of reading + 0.05 kPa (k = 2)",
            ),
        ),
        people=people,
        verify_url="http://127.0.0.1:8000/verify/HN-KD-2026-007801",
        run_id="0b7e1c52-3d9f-4a61-8e2b-7f4c9d1a2e35",
        mark=VerificationMark("HN-26-0078012", date(2027, 11, 18)),
        software_version="0.5.0",
    )


def _line_fit(xs: list[float], ys: list[float]) -> tuple[float, float, float, float, float]:
    """Least-squares straight line y = a + b x: (a, b, u(a), u(b), s) from the residuals."""
    n = len(xs)
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    a = my - b * mx
    s = (sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True)) / (n - 2)) ** 0.5
    return a, b, s * (1 / n + mx**2 / sxx) ** 0.5, s / sxx**0.5, s


def _thermometer_bath() -> CertificateDocument:
    # The points of procedures/library/thermometer-bath.yaml 1.1.0 (−40 to 80 °C in
    # 20 °C steps, seven points): the reference PRT's temperature and the thermometer's
    # mean indication.
    points = [
        (-40.0, -39.991, -39.98),
        (-20.0, -19.996, -19.96),
        (0.0, 0.012, 0.05),
        (20.0, 20.004, 20.06),
        (40.0, 39.998, 40.07),
        (60.0, 60.010, 60.10),
        (80.0, 80.006, 80.11),
    ]
    rows = tuple(
        ResultRow(
            label=f"{nominal:g} °C",
            nominal=nominal,
            reference=reference,
            indication=indication,
            error=indication - reference,
            unit="degC",
            expanded_uncertainty=0.030,
            coverage_factor=2.0,
            coverage_probability=0.95,
            resolution=0.01,
        )
        for nominal, reference, indication in points
    )
    # The correction to add to an indication, C = reference − indication, as a
    # straight line of the indication.
    a, b, u_a, u_b, _s = _line_fit([p[2] for p in points], [p[1] - p[2] for p in points])
    dmm = _dmm_dcv()
    return CertificateDocument(
        number="HN-HC-2026-000456",
        kind=Kind.CALIBRATION,
        issuer=ISSUER,
        customer=Customer(
            "Công ty Cổ phần Dược phẩm Ví Dụ", "8 Khu công nghiệp Mẫu, Huyện Gia Lâm, Hà Nội"
        ),
        instrument=Instrument(
            type=Bilingual("Nhiệt kế hiện số", "Digital thermometer"),
            manufacturer="Testo",
            model="735-1",
            serial="61234567",
            description="−40 °C to 300 °C, resolution 0.01 °C, Pt100 probe 0614 0235",
            identifier="DP-TH-003",
            condition=Bilingual("Không có hư hỏng nhìn thấy", "No visible damage"),
        ),
        procedure=ProcedureRef(
            id="thermometer-bath",
            version="1.1.0",
            title=Bilingual(
                "Hiệu chuẩn nhiệt kế bằng phương pháp so sánh trong bể ổn nhiệt",
                "Calibration of a thermometer by comparison in a bath",
            ),
            sha256="7e" * 32,
            references=_REFERENCES["thermometer-bath"],
        ),
        location=Location.LABORATORY,
        performed_from=date(2026, 11, 18),
        performed_to=date(2026, 11, 19),
        issued_on=date(2026, 11, 21),
        received_on=date(2026, 11, 16),
        conditions=(
            Condition(Bilingual("Nhiệt độ", "Temperature"), 22.6, "degC", 1.0),
            Condition(Bilingual("Độ ẩm tương đối", "Relative humidity"), 51.0, "%RH", 5.0),
        ),
        results=(
            ResultTable(
                test_id="points",
                title=Bilingual("Hiệu chuẩn tại các điểm nhiệt độ", "Calibration points"),
                quantity=Bilingual("Nhiệt độ", "Temperature"),
                rows=rows,
                curve=Curve(
                    description=Bilingual(
                        "Số hiệu chính C = c0 + c1·t, t là số chỉ của nhiệt kế (°C); "
                        "giá trị đúng = t + C",
                        "Correction C = c0 + c1·t, t the thermometer's indication (°C); "
                        "true value = t + C",
                    ),
                    terms=(
                        CurveTerm("c0", a, u_a, "degC"),
                        CurveTerm("c1", b, u_b, "1"),
                    ),
                    expanded_uncertainty=0.032,
                    coverage_factor=2.0,
                    unit="degC",
                ),
            ),
        ),
        statement=None,
        standards=(
            Standard(
                asset_id="HN-STD-0301",
                name=Bilingual(
                    "Nhiệt kế điện trở platin chuẩn", "Reference platinum resistance thermometer"
                ),
                manufacturer="Fluke",
                model="5615-12",
                serial="B52199",
                role="reference",
                function_range="Temperature, −200 °C to 420 °C (CVD R0, A, B)",
                certificate_number="VMI-NT-2026-0133",
                certificate_issuer="Viện Đo lường Việt Nam (VMI)",
                certificate_issuer_accreditation="NMI, CIPM MRA",
                certificate_date=date(2026, 2, 20),
                certificate_valid_until=date(2027, 2, 20),
                certificate_sha256="3a" * 32,
                uncertainty="0.012 °C (k = 2) from −40 °C to 100 °C",
            ),
            Standard(
                asset_id="HN-STD-0044",
                name=Bilingual("Đồng hồ vạn năng hiện số", "Digital multimeter"),
                manufacturer="Keysight",
                model="34470A",
                serial="MY59001122",
                role="readout",
                function_range="4-wire resistance, 1 kΩ range",
                certificate_number="HN-HC-2026-000031",
                certificate_issuer=ISSUER.name.vi,
                certificate_issuer_accreditation=ISSUER.accreditation,
                certificate_date=date(2026, 1, 28),
                certificate_valid_until=date(2027, 1, 28),
                certificate_sha256="b4" * 32,
                uncertainty="1.2 mΩ at 100 Ω (k = 2)",
            ),
        ),
        people=dmm.people,
        verify_url="http://127.0.0.1:8000/verify/HN-HC-2026-000456",
        run_id="c3d2e1f0-9a8b-4c7d-8e6f-5a4b3c2d1e0f",
        remarks=(
            Bilingual(
                "Ngày hiệu chuẩn lại do khách hàng đề nghị",
                "The next calibration date is stated at the customer's request",
            ),
        ),
        next_due=date(2027, 11, 19),
        software_version="0.5.0",
    )


def _water_meter_r49() -> CertificateDocument:
    # A class 2 meter, Q3 = 2.5 m³/h, R = 160: Q1 = 0.015625 m³/h, Q2 = 1.6 Q1 =
    # 0.025 m³/h. Test flow rates in the middle of each band (1.05 Q1, 1.05 Q2,
    # 0.95 Q3) with 20 L, 50 L and 200 L (procedures/library/water-meter-r49.yaml).
    # MPE: ±5 % in the lower zone (Q1 ≤ Q < Q2), ±2 % in the upper zone for water
    # at ≤ 30 °C (procedures.mpe.water, OIML R 49-1). E = (V_i − V_ref) / V_ref.
    points = [
        ("Q1", 0.0164, 20.0, 20.012, 19.60, 0.48, 5.0),
        ("Q2", 0.02625, 50.0, 50.021, 49.63, 0.21, 2.0),
        ("Q3", 2.375, 200.0, 199.934, 200.70, 0.12, 2.0),
    ]
    rows = tuple(
        ResultRow(
            label=f"{name} ({flow:g} m³/h)",
            nominal=None,
            reference=None,
            indication=None,
            error=(v_i - v_ref) / v_ref * 100,
            unit="%",
            expanded_uncertainty=u,
            coverage_factor=2.0,
            coverage_probability=0.95,
            mpe=mpe,
            conformity=Conformity.PASS,
            note=f"{volume:g} L; V_ref = {v_ref:g} L, V_i = {v_i:.2f} L",
        )
        for name, flow, volume, v_ref, v_i, u, mpe in points
    )
    return CertificateDocument(
        number="HN-KD-2026-009302",
        kind=Kind.VERIFICATION,
        issuer=ISSUER,
        customer=Customer("Công ty TNHH MTV Nước sạch Ví Dụ", "5 Phố Mẫu, Quận Đống Đa, Hà Nội"),
        instrument=Instrument(
            type=Bilingual("Đồng hồ nước lạnh", "Cold water meter"),
            manufacturer="Itron",
            model="Flodis DN20",
            serial="22VN0456789",
            description="Q3 = 2.5 m³/h, R = 160, class 2, T30, scale interval 0.1 L",
            condition=Bilingual("Niêm phong nguyên vẹn", "Seals intact"),
        ),
        procedure=ProcedureRef(
            id="water-meter-r49",
            version="1.1.0",
            title=Bilingual(
                "Kiểm định đồng hồ nước (OIML R 49)", "Verification of a water meter (OIML R 49)"
            ),
            sha256="49" * 32,
            references=_REFERENCES["water-meter-r49"],
        ),
        location=Location.LABORATORY,
        performed_from=date(2026, 11, 20),
        performed_to=date(2026, 11, 20),
        issued_on=date(2026, 11, 20),
        conditions=(
            Condition(Bilingual("Nhiệt độ nước", "Water temperature"), 20.0, "degC", 1.0),
            Condition(Bilingual("Nhiệt độ môi trường", "Ambient temperature"), 24.5, "degC", 2.0),
        ),
        results=(
            ResultTable(
                test_id="flow-rates",
                title=Bilingual("Sai số tại Q1, Q2 và Q3", "Error at Q1, Q2 and Q3"),
                quantity=Bilingual("Sai số tương đối của thể tích", "Relative error of volume"),
                rows=rows,
            ),
        ),
        statement=Statement(
            conformity=Conformity.PASS,
            specification=Bilingual(
                "OIML R 49-1:2013, cấp 2: ± 5 % tại Q1 ≤ Q < Q2; ± 2 % tại Q2 ≤ Q ≤ Q4 "
                "(nước ≤ 30 °C)",
                "OIML R 49-1:2013, class 2: ± 5 % for Q1 ≤ Q < Q2; ± 2 % for Q2 ≤ Q ≤ Q4 "
                "(water ≤ 30 °C)",
            ),
            decision_rule=_SIMPLE_ACCEPTANCE,
            covers=Bilingual("Sai số tại Q1, Q2 và Q3", "The errors at Q1, Q2 and Q3"),
        ),
        standards=(
            Standard(
                asset_id="HN-STD-0520",
                name=Bilingual(
                    "Đồng hồ chuẩn lưu lượng điện từ", "Reference electromagnetic flow meter"
                ),
                manufacturer="ONICON",
                model="F-3100",
                serial="F3-228811",
                role="reference",
                function_range="Volume, 20 L to 200 L at 0.01 m³/h to 5 m³/h",
                certificate_number="VMI-LL-2026-0098",
                certificate_issuer="Viện Đo lường Việt Nam (VMI)",
                certificate_issuer_accreditation="NMI, CIPM MRA",
                certificate_date=date(2026, 5, 6),
                certificate_valid_until=date(2027, 5, 6),
                certificate_sha256="c1" * 32,
                uncertainty="0.10 % of volume (k = 2)",
            ),
        ),
        people=_people(),
        verify_url="http://127.0.0.1:8000/verify/HN-KD-2026-009302",
        run_id="4e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b",
        mark=VerificationMark("HN-26-0093021", date(2031, 11, 19)),
        software_version="0.5.0",
    )


EXAMPLES: dict[str, Callable[[], CertificateDocument]] = {
    "dmm-dcv": _dmm_dcv,
    "nawi-r76": _nawi_r76,
    "pressure-r101": _pressure_r101,
    "thermometer-bath": _thermometer_bath,
    "watermeter-r49": _water_meter_r49,
}


def example(name: str) -> CertificateDocument:
    """The example document of procedure ``name`` (one of :data:`EXAMPLES`)."""
    try:
        build = EXAMPLES[name]
    except KeyError:
        raise KeyError(f"no example {name!r}; there are {', '.join(EXAMPLES)}") from None
    return build()
