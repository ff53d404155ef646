"""``caltrace-agent run`` reads each meter's identity through its optical port before the
first point: three electricity meters of the demo's meter test bench, each with its job in
a live LIMS, each on a probe of its own (simulated on a real transport).

The meter at position 1 is read and agrees with the bench file; the one at position 2 does
not answer (the run goes on without it, and says why); position 3's meter speaks DLMS/COSEM.
What was read is kept with each position, at the LIMS too, and shown on the run page. A
meter that states another serial number than the bench file's refuses the run before the
first point, naming the position and both serial numbers."""

from __future__ import annotations

import json
from itertools import takewhile
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.cli import EXIT_REFUSED, main
from agent.config import load_bench
from agent.outbox import Outbox
from procedures.record import RunRecord

pytestmark = pytest.mark.django_db(transaction=True)

SERIALS = ["EM-25-004501", "EM-25-004502", "EM-25-004503"]


def three_meters(
    live_server: Any, tmp_path: Path, options: dict[int, dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """The demo's bench-meters-6 with its first three meters, each on its probe (1 and 2
    IEC 62056-21 behind a serial-to-network server, 3 DLMS/COSEM over HDLC), ``options``
    added to a position's simulated meter; and the jobs of the meters by serial."""
    from labserver.jobs.models import Job
    from scenarios.demo import load_demo

    summary = load_demo(tmp_path / "demo")
    path = next(p for _, bench, p in summary.position_benches if bench == "bench-meters-6")
    body = yaml.safe_load(path.read_text())
    body["lims"] = live_server.url
    each = {n: body["positions"]["each"][n] for n in (1, 2, 3)}
    each[3]["optical"] = {"port": "dlms+hdlc://127.0.0.1:4059"}
    for n, extra in options.items():
        each[n]["options"] = {**each[n]["options"], **extra}
    body["positions"] = {"count": 3, "each": each}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    jobs = {j.instrument.serial: j for j in Job.objects.filter(bench__name="bench-meters-6")}
    return path, jobs


def test_each_meter_is_read_through_its_probe_a_silent_one_is_left_out_with_the_reason(
    live_server: Any, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.accounts.models import User
    from labserver.measurements.models import Run, RunPosition
    from tests.support.pages import signed_in

    settings.MEDIA_ROOT = tmp_path / "media"
    path, jobs = three_meters(
        live_server, tmp_path, {1: {"register": 1234.56}, 2: {"optical_silent": True}}
    )
    job = jobs["EM-25-004501"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--simulate"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "sent (HTTP 201)" in out.out

    # what the operator read before the first point, at 80 columns
    shown = out.out[out.out.index("Meters read through their optical ports") :]
    table = list(takewhile(lambda line: line[:1] in "M┏┃┡│└", shown.splitlines()))
    assert table[-1].startswith("└")  # the whole table: title, head, rows and foot
    assert max(len(line) for line in table) <= 80
    text = " ".join(" ".join(line.split("│")) for line in table)
    assert "1 EM-25-004501 1234.56 kWh IEC 62056-21" in " ".join(text.split())
    assert "3 EM-25-004503 0.01 kWh DLMS/COSEM" in " ".join(text.split())
    assert "not read: the meter's optical port socket://127.0.0.1:" in " ".join(text.split())
    assert "positions: 1 EM-25-004501, 2 EM-25-004502 (left out: the meter's optical port" in (
        out.out
    )

    run = Run.objects.get(job=job)
    stored = {p.number: p for p in RunPosition.objects.filter(run=run)}
    assert [(n, p.state, p.server_conformity) for n, p in sorted(stored.items())] == [
        (1, "measured", "pass"),
        (2, "skipped", ""),
        (3, "measured", "pass"),
    ]
    assert stored[2].reason.startswith("the meter's optical port socket://127.0.0.1:")
    assert stored[2].reason.endswith(" does not answer")
    assert stored[2].identity is None
    first, third = dict(stored[1].identity or {}), dict(stored[3].identity or {})
    assert (first["protocol"], first["serial"], first["serial_code"]) == (
        "iec62056-21",
        "EM-25-004501",
        "C.1.0",
    )
    assert first["port"].startswith("socket://127.0.0.1:")
    assert first["registers"] == [{"code": "1.8.0", "value": "1234.56", "unit": "kWh"}]
    assert (third["protocol"], third["serial"], third["serial_code"]) == (
        "dlms",
        "EM-25-004503",
        "0.0.96.1.0.255",
    )
    assert third["port"].startswith("dlms+hdlc://127.0.0.1:")
    assert third["registers"] == [{"code": "1.8.0", "value": "0.01", "unit": "kWh"}]

    # the agent's record of the run, signed and sent, holds the same
    with Outbox(load_bench(path).outbox) as box:
        body = box.body(str(run.pk))
    assert body is not None
    record = RunRecord.from_json(json.loads(body))
    assert [p.identity and p.identity.to_json() for p in record.positions] == [
        first,
        None,
        third,
    ]

    # the run page shows what was read, position by position, in both languages
    reviewer = signed_in(User.objects.get(username="hn-reviewer"))
    page = reviewer.get(f"/work/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Read through its optical port" in page
    assert "serial EM-25-004501; 1.8.0: 1234.56 kWh (IEC 62056-21)" in page
    assert "serial EM-25-004503; 1.8.0: 0.01 kWh (DLMS/COSEM)" in page
    assert "not read: as the bench file states" in page
    reviewer.cookies["django_language"] = "vi"
    page = reviewer.get(f"/work/runs/{run.pk}/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Đọc qua cổng quang" in page
    assert "số sản xuất EM-25-004501; 1.8.0: 1234.56 kWh (IEC 62056-21)" in page


def test_a_meter_stating_another_serial_refuses_the_run_before_the_first_point(
    live_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.measurements.models import Run

    path, jobs = three_meters(live_server, tmp_path, {3: {"optical_serial": "EM-25-009999"}})
    job = jobs["EM-25-004501"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--simulate"])
    out = capsys.readouterr()
    assert status == EXIT_REFUSED
    assert out.err.strip().endswith(
        "refused before the first point: meter serial numbers disagree with the bench file: "
        "position 3: the bench file states serial EM-25-004503, the meter reads EM-25-009999"
    )
    assert "Meters read" not in out.out  # nothing was measured, nor planned
    assert not Run.objects.filter(job__in=list(jobs.values())).exists()

    status = main(
        ["run", "--bench", str(path), "--job", job.number, "--simulate", "--language", "vi"]
    )
    assert status == EXIT_REFUSED
    assert "vị trí 3: tệp cấu hình giá ghi số sêri EM-25-004503, công tơ đọc được EM-25-009999" in (
        capsys.readouterr().err
    )
