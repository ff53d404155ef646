"""The demo's benches with positions, end to end through the agent and a live LIMS.

``bench-flow-4`` (``make demo``'s): four registered water meters, each with its own job on
the bench, in series against the reference meter. Its bench file, as the demo writes it,
runs through ``caltrace-agent run --job <any of its meters' jobs> --simulate`` against the
demo data in a live LIMS; the LIMS stores the run with its four positions and agrees with
the bench.

``bench-meters-6``: six electricity meters on the meter test bench (served over TCP), from
the bench to the public check: ``caltrace-agent run`` sends the run, the reviewer and the
signatory sign it on the batch pages (one password each), the signatory issues its six
certificates by one act on the batch issue page, and anyone checks one of them at
``/verify/<number>``: four verification certificates with their marks and the notices of
the two meters that failed (position 4 its accuracy points, position 5 its register test),
each naming its own meter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from agent.cli import main
from agent.config import load_bench

pytestmark = pytest.mark.django_db(transaction=True)

METERS = ["ITR-20-100101", "ITR-20-100102", "ITR-20-100103", "ITR-20-100104"]
ELECTRICITY_METERS = [f"EM-25-00450{n}" for n in range(1, 7)]
REGISTERS = {3: "0.01", 5: "2.47"}
"""The 1.8.0 registers of the demo's electricity meters that are not 0.00 kWh, by position."""
PASSWORD = "demo-only-password"  # the demo people's (DEMO ONLY)


def bench_file(summary: Any, name: str) -> Path:
    found = [p for org, bench, p in summary.position_benches if (org, bench) == ("HN", name)]
    assert len(found) == 1, name
    return Path(found[0])


def test_the_demo_s_multi_meter_bench_runs_through_the_agent(
    live_server: Any, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run, RunPosition
    from scenarios.demo import load_demo

    settings.MEDIA_ROOT = tmp_path / "media"
    summary = load_demo(tmp_path / "demo")
    assert [(org, name) for org, name, _ in summary.position_benches] == [
        ("HN", "bench-flow-4"),
        ("HN", "bench-meters-6"),
        ("HN", "bench-meters-3ph"),
    ]
    path = bench_file(summary, "bench-flow-4")
    path.write_text(path.read_text().replace("http://127.0.0.1:8000", live_server.url))
    config = load_bench(path)
    assert [p.serial for _, p in sorted(config.positions.items())] == METERS
    # each meter has its own job on the bench, listed for the newcomer
    jobs = {j.instrument.serial: j for j in Job.objects.filter(bench__name="bench-flow-4")}
    assert sorted(jobs) == METERS
    assert all(j.state == "scheduled" for j in jobs.values())
    assert next(line for line in summary.jobs if "bench-flow-4" in line).endswith(
        "meter ITR-20-100101"
    )

    job = jobs["ITR-20-100103"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--simulate", "--seed", "2"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "sent (HTTP 201)" in out.out
    run = Run.objects.get(job=job)
    assert run.disagreements == 0
    positions = RunPosition.objects.filter(run=run).order_by("number")
    assert [(p.serial, p.state, p.server_conformity) for p in positions] == [
        ("ITR-20-100101", "measured", "pass"),
        ("ITR-20-100102", "measured", "fail"),
        ("ITR-20-100103", "measured", "pass"),
        ("ITR-20-100104", "measured", "pass"),
    ]


def test_six_electricity_meters_go_from_the_bench_to_their_public_check(
    live_server: Any, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from labserver.accounts.models import User
    from labserver.issuance.models import Certificate
    from labserver.jobs.models import Job
    from labserver.measurements.models import Run, RunPosition
    from scenarios.demo import load_demo
    from tests.support.pages import signed_in

    settings.MEDIA_ROOT = tmp_path / "media"
    summary = load_demo(tmp_path / "demo")
    path = bench_file(summary, "bench-meters-6")
    path.write_text(path.read_text().replace("http://127.0.0.1:8000", live_server.url))
    jobs = {j.instrument.serial: j for j in Job.objects.filter(bench__name="bench-meters-6")}
    assert sorted(jobs) == ELECTRICITY_METERS

    # The bench: one run for the six meters, started from any one's job.
    job = jobs["EM-25-004503"]
    status = main(["run", "--bench", str(path), "--job", job.number, "--simulate"])
    out = capsys.readouterr()
    assert status == 0, out.out + out.err
    assert "sent (HTTP 201)" in out.out
    run = Run.objects.get(job=job)
    assert run.disagreements == 0
    stored = RunPosition.objects.filter(run=run).order_by("number")
    failing = {"EM-25-004504", "EM-25-004505"}
    assert [(p.serial, p.state, p.server_conformity) for p in stored] == [
        (serial, "measured", "fail" if serial in failing else "pass")
        for serial in ELECTRICITY_METERS
    ]
    # the meter at position 5 passes every accuracy point and fails the register test: its
    # register counts 3 % short of its test output's pulses
    fifth = {p.test: p.server_conformity for p in stored[4].points.all()}
    assert fifth.pop("register") == "fail"
    assert set(fifth.values()) == {"pass"}
    # each meter's serial number and register were read through its optical port before
    # the first point, shown to the operator and kept with its position at the LIMS
    table = out.out[out.out.index("Meters read through their optical ports") :]
    rows = [[c.strip() for c in line.split("│")[1:5]] for line in table.splitlines()[:10]]
    assert [r for r in rows if r and r[0].isdigit()] == [
        [str(n), serial, f"{REGISTERS.get(n, '0.00')} kWh", protocol]
        for n, serial in enumerate(ELECTRICITY_METERS, start=1)
        for protocol in ["DLMS/COSEM" if n == 6 else "IEC 62056-21"]
    ]
    identities = [dict(p.identity or {}) for p in stored]
    assert [(i["serial"], i["protocol"], i["registers"]) for i in identities] == [
        (
            serial,
            "dlms" if n == 6 else "iec62056-21",
            [{"code": "1.8.0", "value": REGISTERS.get(n, "0.00"), "unit": "kWh"}],
        )
        for n, serial in enumerate(ELECTRICITY_METERS, start=1)
    ]

    # The center: review, approval and issue, each one act with the password once.
    reviewer = signed_in(User.objects.get(username="hn-reviewer"))
    signatory = signed_in(User.objects.get(username="hn-signatory"))
    for client, act in ((reviewer, "review"), (signatory, "approve"), (signatory, "issue")):
        page = client.get(f"/work/batch/{act}/").content.decode()
        assert f'name="runs" value="{run.pk}"' in page, act
        # the failed meter's position is shown first, as the exception it is
        assert page.index(f'id="run-{run.pk}-position-4"') < page.index(
            f'id="run-{run.pk}-position-1"'
        ), act
        done = client.post(f"/work/batch/{act}/", {"runs": [str(run.pk)], "password": PASSWORD})
        assert done.status_code == 200, act
    assert "6 certificates issued." in done.content.decode()
    certificates = {
        c.position.number: c
        for c in Certificate.objects.filter(run=run).select_related("position")
        if c.position is not None
    }
    assert sorted(certificates) == [1, 2, 3, 4, 5, 6]
    assert [n for n, c in sorted(certificates.items()) if not c.mark_number] == [4, 5]
    assert {c.job.state for c in certificates.values()} == {"issued"}

    # The public: anyone checks a certificate by its number, and sees its own meter.
    public = APIClient()
    for number, serial, shown in (
        (certificates[2].number, "EM-25-004502", "Verification mark"),
        (certificates[4].number, "EM-25-004504", "Notice of failed verification"),
    ):
        answer = public.get(f"/verify/{number}", HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 200
        html = answer.content.decode()
        assert serial in html
        assert shown in html
        found = public.get(f"/api/v1/public/certificates/{number}").json()
        assert (found["instrument"]["serial"], found["status"]) == (serial, "valid")
