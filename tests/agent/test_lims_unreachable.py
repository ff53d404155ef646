"""The agent never wastes a bench (issue 18): an unreachable LIMS is an error naming its
address and why, unless the operator chose offline work, which says how old its cache
is; a job the LIMS has closed is refused before the first point; ``sync --lims``.

Against a live LIMS on loopback, the DC-voltage bench simulated."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.outbox import Outbox
from tests.support.agent import ROLES, Lims, closed_port_url, write_bench

pytestmark = pytest.mark.django_db(transaction=True)


def run(bench: Path, *args: str) -> int:
    return main(["run", "--bench", str(bench), *args])


def runs_in(bench: Path) -> list[str]:
    with Outbox(bench.parent / "outbox.sqlite3") as box:
        return [r.run_id for r in box.status().runs]


def test_an_unreachable_lims_stops_the_run_naming_the_address_even_with_a_cache(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = dcv.new_job()
    online = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    assert main(["sync", "--bench", str(online), "--once"]) == 0  # the job is cached
    capsys.readouterr()
    down = closed_port_url()
    mistyped = write_bench(tmp_path / "bench", dcv, roles=ROLES, url=down)
    operator = dcv.center.metrologist.username
    status = run(mistyped, "--job", job.number, "--simulate", "--operator", operator)
    out = capsys.readouterr()
    assert status == 5
    assert f"the LIMS at {down} cannot be reached: connection refused" in out.err
    assert "--offline" in out.err
    assert "point 1/" not in out.out  # nothing measured
    assert runs_in(mistyped) == []


def test_a_name_the_dns_cannot_resolve_is_named_as_such(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES, url="http://lims.invalid:8000")
    status = run(bench, "--job", "HN-X", "--simulate", "--operator", "x", "--timeout", "5")
    err = capsys.readouterr().err
    assert status == 5
    assert "the LIMS at http://lims.invalid:8000 cannot be reached" in err
    assert "the host name is not found (DNS" in err


def test_offline_work_is_chosen_and_says_how_old_the_cache_is(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = dcv.new_job()
    online = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    assert main(["sync", "--bench", str(online), "--once"]) == 0
    capsys.readouterr()
    offline = write_bench(tmp_path / "bench", dcv, roles=ROLES, url=closed_port_url())
    operator = dcv.center.metrologist.username
    status = run(
        offline, "--job", job.number, "--offline", "--simulate", "--operator", operator,
        "--language", "vi",
    )  # fmt: skip
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "ngoại tuyến: danh sách công việc lưu đệm cách đây 0 s, lúc " in out.out
    assert "dữ liệu từ bộ nhớ đệm" in out.out
    assert ": hoàn tất, 10 điểm, 50 số đọc; đã ký và xếp hàng chờ gửi" in out.out
    assert "chưa gửi (ngoại tuyến): `caltrace-agent sync --bench " in out.out
    (queued,) = runs_in(offline)
    # back on the network, with the LIMS's address given on the command line
    status = main(["sync", "--bench", str(offline), "--once", "--lims", dcv.url])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert f"{queued} job {job.number}: sent (HTTP 201)" in out.out
    assert "cached for offline work" in out.out


def test_sync_with_an_unreachable_lims_exits_non_zero_naming_it(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    down = closed_port_url()
    assert main(["sync", "--bench", str(bench), "--once", "--lims", down]) == 5
    err = capsys.readouterr().err
    assert f"the LIMS at {down} cannot be reached: connection refused" in err


@pytest.mark.parametrize("closing", ["cancel", "measured"])
def test_a_job_the_lims_closed_is_refused_before_the_first_point(
    dcv: Lims, tmp_path: Path, capsys: pytest.CaptureFixture[str], closing: str
) -> None:
    from labserver.jobs import services as jobs
    from labserver.jobs.models import JobState

    job = dcv.new_job()
    bench = write_bench(tmp_path / "bench", dcv, roles=ROLES)
    assert main(["sync", "--bench", str(bench), "--once"]) == 0  # cached while open
    c = dcv.center
    if closing == "cancel":
        jobs.cancel_job(actor=c.quality_manager, job=job, reason="customer withdrew")
        why = "cancelled in the LIMS"
    else:
        from django.db import transaction

        with transaction.atomic():  # as the run's submission moves it
            job = jobs.move_job(job, JobState.IN_PROGRESS, actor=c.quality_manager)
            jobs.move_job(job, JobState.MEASURED, actor=c.quality_manager)
        why = "measured already"
    capsys.readouterr()
    status = run(bench, "--job", job.number, "--simulate", "--operator", c.metrologist.username)
    out = capsys.readouterr()
    assert status == 4
    assert f"refused before the first point: job {job.number} is {why}" in out.err
    assert "takes no new run" in out.err
    assert "point 1/" not in out.out
    assert runs_in(bench) == []
