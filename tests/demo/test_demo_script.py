"""``make demo`` as a newcomer runs it: ``scripts/demo.py`` on a fresh var directory
(SQLite, the demo data, the LIMS on loopback, procedure 1 through the agent on the
simulated bench, the run reviewed, approved and its certificate issued and signed), then
once more on the same data, which finds the job run and the certificate issued."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo(var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DATABASE_OWNER_URL", "CALTRACE_AGENT_TOKEN"}
    }
    env.update(CALTRACE_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="labserver.settings.dev")
    return subprocess.run(
        [sys.executable, "scripts/demo.py", "--no-serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_demo_runs_procedures_1_and_2_through_the_agent_and_certifies_them(
    tmp_path: Path,
) -> None:
    first = demo(tmp_path / "var")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    out = first.stdout
    # Procedure 1, DC voltage: 10 points; procedure 2, R 76 weighing instrument: 25 points
    # (repeatability and eccentricity, then 10 loads up to Max and back down: R 76-1 A.4.4.1).
    assert "complete, 10 point(s), 50 reading(s); signed and queued" in out
    assert "complete, 25 point(s)" in out
    # Procedure 3, field work: the fuel dispenser run offline from the cache, queued, then
    # sent by the next sync (3 points: Qmax twice, the minimum measured quantity).
    assert "cached for offline work: 1 job(s)" in out
    assert "complete, 3 point(s), 9 reading(s); signed and queued" in out
    assert "not sent (--no-sync)" in out
    # Procedure 4, mass verification: six electricity meters on the meter test bench in one
    # run, each with its own certificate; the meter at position 4 fails its accuracy
    # points and the one at position 5 its register test: their notices.
    assert "six meters, one run: caltrace-agent run --bench" in out
    for n in range(1, 7):
        verdict = "fail" if n in (4, 5) else "pass"
        # each meter's register read through its optical port before the test, as stated
        register, protocol = (
            {3: "0.01", 5: "2.47"}.get(n, "0.00"),
            ("DLMS/COSEM" if n == 6 else "IEC 62056-21"),
        )
        assert (
            f"  position {n}  EM-25-00450{n}   measured   LIMS: {verdict}  (11 points)"
            f"  read: 1.8.0 {register} kWh ({protocol})"
        ) in out
    assert out.count(") issued by hn-signatory") == 6
    assert out.count("a notice of failed verification HN-KD-") == 2
    assert out.count("also issued, a meter of bench-meters-6: ") == 6
    assert out.count("sent (HTTP 201)") == 4
    assert out.count("LIMS: pass  agent: pass") == 10 + 25 + 3
    # Each result as a certificate writes it (ILAC P14), never a float's digits.
    assert "e-0" not in out
    assert "e+0" not in out
    assert out.count("disagreements between the agent and the LIMS: 0") == 4
    assert (tmp_path / "var" / "labserver.sqlite3").exists()
    assert out.count("checked by hn-reviewer") == 4
    assert out.count("approved by hn-signatory") == 4
    assert "certificate HN-KD-" in out  # the verification certificate of procedure 2
    for login in ("hn-metrologist", "hn-reviewer", "hn-signatory", "hn-auditor"):
        assert f"  {login} " in out

    # The certificate: signed with the DEMO key, intact and trusted against the DEMO CA
    # that the demo wrote where the README says (var/demo-pki/<organization>/ca.pem).
    from certificates.verify import verify_pdf

    pdf, url = certified(out, tmp_path / "var")
    number = pdf.stem
    assert number.startswith("HN-HC-")
    assert url.endswith(f"/verify/{number}")
    assert url.startswith("http://127.0.0.1:")
    data = pdf.read_bytes()
    ca = (tmp_path / "var" / "demo-pki" / "HN" / "ca.pem").read_bytes()
    check = verify_pdf(data, trust_roots=[ca])
    assert (check.intact, check.trusted, check.covers_whole_file) == (True, True, True)
    assert check.demo
    assert check.embedded_dcc is not None
    assert f"DEMO signing CA of HN, to check the PDFs' signatures: {tmp_path}" in out

    again = demo(tmp_path / "var")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert again.stdout.count("has run already") == 4
    assert "The 6 certificates of run " in again.stdout
    assert "was issued already: HN-HC-" in again.stdout
    assert "was issued already: HN-KD-" in again.stdout
    # Both times the demo ends with the certificate: its PDF's path, its verification URL.
    assert again.stdout.splitlines()[-2:] == first.stdout.splitlines()[-2:]


def certified(out: str, var_dir: Path) -> tuple[Path, str]:
    """The last two lines of the demo: the certificate PDF's path and its verification URL."""
    pdf_line, url_line = out.splitlines()[-2:]
    assert pdf_line.startswith("certificate PDF: "), pdf_line
    assert url_line.startswith("verify it: "), url_line
    pdf = Path(pdf_line.removeprefix("certificate PDF: "))
    assert pdf.parent == var_dir / "demo" / "certificates"
    return pdf, url_line.removeprefix("verify it: ")
