"""``make demo``: the LIMS on its embedded defaults with the demo data, then procedures 1
(DC voltage calibration of a multimeter) and 2 (verification of a weighing instrument, OIML
R 76) carried out by the bench agent on simulated benches, signed, sent and re-evaluated by
the LIMS, reviewed, approved, and certified with signed certificates; then the LIMS is left
running for a person.

    .venv/bin/python scripts/demo.py [--port 8000] [--no-serve]

1. ``manage.py migrate``, ``loaddemo --if-empty`` (the DEMO data set: organizations,
   people, the standards ladder, the benches' keys, tokens and configuration files in
   ``var/demo/``), ``verify_audit``; the bench files are pointed at the address the LIMS
   is served on (``--port``, ``DEMO_PORT``), on every start, so that a bench file written
   by an earlier demo on another port still reaches this one;
2. the LIMS is started on 127.0.0.1 (``runserver``, SQLite under ``var/``);
3. ``caltrace-agent run --simulate`` runs the Hà Nội electrical bench's scheduled dmm-dcv
   job (the calibrator and multimeter simulators on TCP sockets, the real drivers, the
   runner, the durable outbox, the signed submission), then the mass bench's nawi-r76 job
   (the balance simulator on a pseudo-terminal, the weights placed at the prompts by the
   simulated operator); then procedure 3, the fuel dispenser bench's job, as field work:
   ``sync`` caches it, ``run --procedure --instrument --no-sync`` runs it with no LIMS, and
   ``sync`` sends it; then procedure 4, six electricity meters on the meter test bench's
   six positions in one run (each meter with its own job); each run's points (or
   positions) and the LIMS's own verdicts are printed;
4. each run is checked by the demo reviewer and approved by the demo signatory, each an
   electronic signature over the API (their password re-entered; their API tokens come
   from ``manage.py issuetoken``); the signatory issues the certificates (calibration,
   and two verifications with their marks; then one per meter of procedure 4, the failed
   meter's a notice of failed verification): each PDF signed with the DEMO PKI
   (``var/demo-pki/HN/``, its CA certificate ``ca.pem``) with the DCC inside, saved to
   ``var/demo/certificates/``;
5. the demo logins are printed; the LIMS keeps running until Ctrl-C (``--no-serve`` stops
   it at once). The last two lines printed are procedure 1's certificate PDF's path and its
   public verification URL.

Everything stays on this machine: SQLite under ``var/`` (``CALTRACE_VAR_DIR`` moves it),
the simulators and the LIMS on loopback. A second ``make demo`` finds the jobs already
run and their certificates issued, and says so; remove ``var/`` for a fresh demo.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this folder comes first on sys.path; the repository is what we need.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

SETTINGS = "labserver.settings.dev"
# Procedure 1 (a calibration) and procedure 2 (a verification); the last two lines printed
# are the first one's certificate.
PROCEDURES = ("dmm-dcv", "nawi-r76")
# Field work (procedure 3): a fuel dispenser verified at the filling station with no network,
# from what the last sync cached, and sent once back online.
FIELD_PROCEDURE = "fuel-dispenser-r117"
# The metrologist who works in the field (the cache holds the job, not who runs it).
FIELD_OPERATOR = "hn-metrologist"
# Mass verification (procedure 4): six electricity meters on the meter test bench's six
# positions, one run for all, a certificate for each meter.
POSITIONS_BENCH, POSITIONS_PROCEDURE = "bench-meters-6", "electricity-meter-r46"
# The Hà Nội center's demo people (scenarios/demo/people.yaml) who check, approve and issue.
REVIEWER, SIGNATORY = "hn-reviewer", "hn-signatory"
# The Hà Nội center's demo people and a customer, printed for a person to sign in with.
DEMO_LOGINS = (
    ("hn-metrologist", "metrologist / verifier"),
    ("hn-reviewer", "reviewer"),
    ("hn-signatory", "signatory"),
    ("hn-quality-manager", "quality manager"),
    ("hn-auditor", "auditor"),
    ("hn-reception", "reception (the front office)"),
    ("hn-administrator", "organization administrator (people)"),
    ("hn-water-customer", "customer"),
)
DEMO_PASSWORD = "demo-only-password"


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=_ROOT, check=True)


def _wait_for(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the LIMS stopped at start-up (exit {server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token is an answer)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the LIMS did not answer at {url} within {timeout_s:g} s")


def _demo_job(var_dir: Path, url: str, procedure: str) -> tuple[Path, dict[str, Any]] | None:
    """The bench file and the scheduled job of ``procedure`` on the demo's benches, if any."""
    from agent.config import load_bench
    from agent.keys import load_key
    from agent.sync import LimsClient

    for path in sorted((var_dir / "demo").glob("*.yaml")):
        config = load_bench(path)
        client = LimsClient(url, config.token, key=load_key(config.key))
        for job in client.jobs(config.bench):
            if (job.get("procedure_ref") or {}).get("id") == procedure:
                return path, job
    return None


_LIMS_LINE = re.compile(r"^lims:.*$", re.MULTILINE)


def point_bench_files(folder: Path, url: str) -> list[Path]:
    """Set the ``lims:`` address of every bench file in ``folder`` to ``url`` (the port the
    demo serves on), keeping the rest of each file as written; returns the files changed."""
    changed = []
    for path in sorted(folder.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        pointed, found = _LIMS_LINE.subn(f"lims: {url}", text, count=1)
        if found and pointed != text:
            path.write_text(pointed, encoding="utf-8")
            changed.append(path)
    return changed


def _token(username: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", "issuetoken", username, "--label", "make demo"],
        cwd=_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _api(url: str, token: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """GET (or POST ``body`` as JSON to) ``path``: the status and the decoded answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}{path}",
        data=data,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    kind = "json" if raw[:1] in (b"{", b"[") else "bytes"
    return status, json.loads(raw) if kind == "json" else raw


def _latest_run(url: str, token: str, procedure: str) -> dict[str, Any] | None:
    """The demo's run of ``procedure``: the latest of its job's runs not rejected."""
    status, jobs = _api(url, token, "/api/v1/jobs/?page_size=100")
    if status != 200:
        raise SystemExit(f"the LIMS refused the job list: HTTP {status} {jobs}")
    numbers = [
        j["number"]
        for j in jobs.get("results", jobs)
        if (j.get("procedure_ref") or {}).get("id") == procedure
    ]
    for number in numbers:
        status, runs = _api(url, token, f"/api/v1/runs/?job__number={number}&ordering=-received_at")
        for run in runs.get("results", runs) if status == 200 else []:
            if run.get("state") != "rejected":
                return dict(run)
    return None


def _certify(
    url: str, var_dir: Path, procedure: str, reviewer: str, signatory: str
) -> tuple[Path, str, str] | None:
    """Review, approve and issue the certificate of the demo's run of ``procedure`` (or
    find the one issued); save its PDF. Returns the PDF's path, its verification URL and
    the issuer's code. ``reviewer`` and ``signatory`` are the two people's API tokens."""
    run = _latest_run(url, signatory, procedure)
    if run is None:
        print(f"\nNo {procedure} run to certify.", file=sys.stderr)
        return None
    run_id = run["id"]
    status, found = _api(url, signatory, f"/api/v1/certificates/?run={run_id}")
    issued = (found.get("results", found) if status == 200 else []) or []
    if issued:
        certificate = issued[0]
        print(f"\nThe certificate of run {run_id} was issued already: {certificate['number']}.")
    else:
        _review_and_approve(url, run, reviewer, signatory)
        certificate = _issue(url, signatory, {"run": run_id})
    path = _save_pdf(url, var_dir, signatory, certificate)
    return path, str(certificate["verify_url"]), str(certificate["organization"])


def _review_and_approve(url: str, run: dict[str, Any], reviewer: str, signatory: str) -> None:
    """The run checked by the demo reviewer and approved by the demo signatory, each an
    electronic signature with the password re-entered (what is not done yet)."""
    run_id = run["id"]
    steps = []
    if run["state"] == "submitted":
        steps.append(("checked", reviewer, REVIEWER, f"/api/v1/runs/{run_id}/review/"))
    if run["state"] in ("submitted", "reviewed"):
        steps.append(("approved", signatory, SIGNATORY, f"/api/v1/runs/{run_id}/approve/"))
    for done, token, who, endpoint in steps:
        status, answer = _api(url, token, endpoint, {"password": DEMO_PASSWORD})
        if status != 200:
            raise SystemExit(f"{endpoint}: HTTP {status} {answer}")
        print(f"run {run_id} {done} by {who} (electronic signature, password re-entered)")


def _issue(url: str, signatory: str, what: dict[str, Any]) -> dict[str, Any]:
    """The certificate of ``what`` (a run, or one position of it) issued by the signatory."""
    status, certificate = _api(
        url, signatory, "/api/v1/certificates/", {**what, "password": DEMO_PASSWORD}
    )
    if status != 201:
        raise SystemExit(f"issuing the certificate of {what}: HTTP {status} {certificate}")
    kind = "a notice of failed verification" if _notice(certificate) else "certificate"
    position = f" (position {what['position']})" if "position" in what else ""
    print(
        f"{kind} {certificate['number']}{position} issued by {SIGNATORY}: signed "
        f"(PAdES, DEMO key {certificate.get('signer_fingerprint', '')[:16]}…), "
        f"PDF SHA-256 {certificate['pdf_sha256'][:16]}…"
    )
    return dict(certificate)


def _notice(certificate: dict[str, Any]) -> bool:
    """A verification without a mark: the notice of a failed verification."""
    return certificate.get("kind") == "verification" and not certificate.get("mark_number")


def _save_pdf(url: str, var_dir: Path, signatory: str, certificate: dict[str, Any]) -> Path:
    status, pdf = _api(url, signatory, f"/api/v1/certificates/{certificate['id']}/pdf/")
    if status != 200 or not isinstance(pdf, bytes):
        raise SystemExit(f"downloading the certificate PDF: HTTP {status}")
    folder = var_dir / "demo" / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{certificate['number']}.pdf"
    path.write_bytes(pdf)
    return path


def _certify_positions(
    url: str, var_dir: Path, procedure: str, reviewer: str, signatory: str
) -> list[tuple[Path, str]]:
    """The demo's multi-position run of ``procedure`` reviewed, approved, and a certificate
    issued for each measured position's meter (or those issued found); their PDFs saved.
    Returns each PDF's path and its verification URL."""
    run = _latest_run(url, signatory, procedure)
    if run is None:
        raise SystemExit(f"no {procedure} run to certify")
    status, found = _api(url, signatory, f"/api/v1/certificates/?run={run['id']}")
    issued = list((found.get("results", found) if status == 200 else []) or [])
    if issued:
        print(f"\nThe {len(issued)} certificates of run {run['id']} were issued already.")
    else:
        _review_and_approve(url, run, reviewer, signatory)
        status, run = _api(url, signatory, f"/api/v1/runs/{run['id']}/")  # with its positions
        if status != 200:
            raise SystemExit(f"reading run {run}: HTTP {status}")
        issued = [
            _issue(url, signatory, {"run": run["id"], "position": position["number"]})
            for position in run.get("positions", [])
            if position["state"] == "measured"
        ]
    return [(_save_pdf(url, var_dir, signatory, c), str(c["verify_url"])) for c in issued]


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies under it (``var/…``)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _show_run(url: str, token: str, run_id: str) -> None:
    """The LIMS's own evaluation of each point of the run, as a certificate writes it: the
    expanded uncertainty to two significant digits and the result to the same place
    (ILAC P14), in the output's unit."""
    from procedures.record.positions import METER_PROTOCOLS
    from uncertainty.display import result_texts, unit_symbol

    request = urllib.request.Request(
        f"{url}/api/v1/runs/{run_id}/", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        run = json.load(response)
    print(f"\nThe LIMS's record of run {run_id} (state {run.get('state')}):")
    for point in run.get("points", []):
        result = point.get("server_result") or {}
        if "value" in result and "U" in result:
            value, uncertainty = result_texts(result["value"], result["U"])
            unit = f" {unit_symbol(result['unit'])}" if result.get("unit") else ""
            shown = f"E = {value}{unit}, U = {uncertainty}{unit}"
        else:
            shown = "no result"
        print(
            f"  {point.get('index'):>2} {point.get('nominal'):>7g} {point.get('unit')}  {shown}"
            f"  LIMS: {point.get('server_conformity') or '-'}"
            f"  agent: {point.get('agent_conformity') or '-'}"
        )
    for position in run.get("positions", []):
        verdict = position.get("server_conformity") or position.get("reason") or "-"
        identity = position.get("identity") or {}
        # the meter's serial number and registers read through its optical port, as stated
        read = "".join(
            f"  read: {r['code']} {r['value']} {r['unit']}" for r in identity.get("registers", ())
        )
        protocol = METER_PROTOCOLS.get(identity.get("protocol", ""), "")
        print(
            f"  position {position['number']}  {position['serial']:<14} {position['state']:<9}"
            f"  LIMS: {verdict}  ({len(position.get('points', []))} points)"
            + (f"{read} ({protocol})" if identity else "")
        )
    print(f"  disagreements between the agent and the LIMS: {run.get('disagreements')}")


def _run_job(var_dir: Path, url: str, procedure: str) -> int:
    """Run the demo's scheduled job of ``procedure`` through the agent (if not run yet)."""
    found = _demo_job(var_dir, url, procedure)
    if found is None:
        print(f"\nThe demo's {procedure} job has run already (remove var/ for a fresh demo).")
        return 0
    bench, job = found
    run = ["run", "--bench", str(bench), "--job", str(job["number"]), "--simulate", "--lims", url]
    return _through_agent(bench, url, procedure, [("", run)])


def _field_run(var_dir: Path, url: str) -> int:
    """Procedure 3 as it is done at a filling station: ``sync`` caches the bench's job, its
    procedure and the proving cans' certificates; ``run --procedure --instrument --no-sync``
    runs from that cache with no LIMS and queues the run; back online, ``sync`` sends it."""
    found = _demo_job(var_dir, url, FIELD_PROCEDURE)
    if found is None:
        print(f"\nThe demo's {FIELD_PROCEDURE} job has run already (remove var/ for a fresh demo).")
        return 0
    bench, job = found
    serial = str(job.get("instrument_serial") or "")
    steps = [
        ("before leaving", ["sync", "--bench", str(bench), "--once", "--lims", url]),
        (
            "at the station, no network",
            ["run", "--bench", str(bench), "--procedure", FIELD_PROCEDURE, "--instrument", serial,
             "--simulate", "--no-sync", "--operator", FIELD_OPERATOR],
        ),
        ("back online", ["sync", "--bench", str(bench), "--lims", url]),
    ]  # fmt: skip
    return _through_agent(bench, url, FIELD_PROCEDURE, steps)


def _positions_run(var_dir: Path, url: str) -> int:
    """Procedure 4: the six meters of the meter test bench in one run, started from any
    one's job (the demo takes the first the LIMS lists for the bench)."""
    from agent.config import load_bench
    from agent.keys import load_key
    from agent.sync import LimsClient

    bench = var_dir / "demo" / f"HN-{POSITIONS_BENCH}.yaml"
    config = load_bench(bench)
    jobs = LimsClient(url, config.token, key=load_key(config.key)).jobs(config.bench)
    if not jobs:
        print(f"\nThe demo's {POSITIONS_BENCH} run has run already (remove var/ for a fresh demo).")
        return 0
    number = str(jobs[0]["number"])
    run = ["run", "--bench", str(bench), "--job", number, "--simulate", "--lims", url]
    return _through_agent(bench, url, POSITIONS_PROCEDURE, [("six meters, one run", run)])


def _through_agent(
    bench: Path, url: str, procedure: str, steps: list[tuple[str, list[str]]]
) -> int:
    """Run ``caltrace-agent`` with each of ``steps`` (what it is, its arguments), each printed
    as a person would type it; then the LIMS's record of the bench's last run."""
    from agent.cli import main as agent
    from agent.config import load_bench
    from agent.outbox import Outbox

    for when, argv in steps:
        shown = " ".join(str(_shown(Path(a))) if a == str(bench) else a for a in argv)
        print(f"\n== {when + ': ' if when else ''}caltrace-agent {shown} ==")
        status = agent(argv)
        if status != 0:
            print(f"the {procedure} run did not complete (exit {status})", file=sys.stderr)
            return status
    config = load_bench(bench)
    with Outbox(config.outbox) as box:
        run_id = box.status().runs[-1].run_id
    _show_run(url, config.token, run_id)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")))
    parser.add_argument("--no-serve", action="store_true", help="stop the LIMS at the end")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    var_dir = Path(os.environ.get("CALTRACE_VAR_DIR", Path(_ROOT) / "var"))
    url = f"http://127.0.0.1:{args.port}"

    _manage("migrate", "--verbosity", "0")
    _manage("loaddemo", "--if-empty")
    _manage("verify_audit")
    point_bench_files(var_dir / "demo", url)

    log_path = var_dir / "lims.log"
    # The QR code and the verification URL of the certificates point to this LIMS.
    server_env = {"CALTRACE_PUBLIC_URL": url, **os.environ}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"],
        cwd=_ROOT,
        env=server_env,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    print(f"\nthe LIMS is starting on {url} (its log: {log_path})")
    try:
        _wait_for(f"{url}/api/v1/", server)
        for procedure in PROCEDURES:
            status = _run_job(var_dir, url, procedure)
            if status != 0:
                return status
        for step in (_field_run, _positions_run):
            status = step(var_dir, url)
            if status != 0:
                return status
        reviewer, signatory = _token(REVIEWER), _token(SIGNATORY)
        certified = []
        for procedure in (*PROCEDURES, FIELD_PROCEDURE):
            issued = _certify(url, var_dir, procedure, reviewer, signatory)
            if issued is None:
                return 1
            certified.append(issued)
        meters = _certify_positions(url, var_dir, POSITIONS_PROCEDURE, reviewer, signatory)
        print(f"\ncaltrace LIMS (DEMO data, SQLite in {var_dir}): {url}/")
        print(f"API documentation: {url}/api/docs/   admin: {url}/admin/")
        print(f"demo logins at {url}/accounts/login/ (password {DEMO_PASSWORD}; DEMO ONLY):")
        for username, role in DEMO_LOGINS:
            print(f"  {username:<22} {role}")
        issuer = certified[0][2]
        ca = var_dir / "demo-pki" / issuer / "ca.pem"
        print(f"the DEMO signing CA of {issuer}, to check the PDFs' signatures: {_shown(ca)}")
        for pdf_path, verify_url, _issuer in certified[1:]:
            print(f"also issued: {_shown(pdf_path)}  {verify_url}")
        for pdf_path, verify_url in meters:
            print(f"also issued, a meter of {POSITIONS_BENCH}: {_shown(pdf_path)}  {verify_url}")
        if not args.no_serve:
            print("Ctrl-C stops the LIMS.")
        pdf_path, verify_url, _issuer = certified[0]
        print(f"certificate PDF: {_shown(pdf_path)}")
        print(f"verify it: {verify_url}")
        if args.no_serve:
            return 0
        server.wait()
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
