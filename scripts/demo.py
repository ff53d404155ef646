"""``make demo``: the LIMS on its embedded defaults with the demo data, then procedure 1
(DC voltage of a multimeter) carried out by the bench agent on the simulated bench,
signed, sent and re-evaluated by the LIMS; then the LIMS is left running for a person.

    .venv/bin/python scripts/demo.py [--port 8000] [--no-serve]

1. ``manage.py migrate``, ``loaddemo --if-empty`` (the DEMO data set: organizations,
   people, the standards ladder, the benches' keys, tokens and configuration files in
   ``var/demo/``), ``verify_audit``;
2. the LIMS is started on 127.0.0.1 (``runserver``, SQLite under ``var/``);
3. ``caltrace-agent run --simulate`` runs the Hà Nội electrical bench's scheduled dmm-dcv
   job: the calibrator and multimeter simulators on TCP sockets, the real drivers, the
   runner, the durable outbox, the signed submission; the run's points and the LIMS's own
   verdicts are printed;
4. the LIMS keeps running until Ctrl-C (``--no-serve`` stops it at once).

Everything stays on this machine: SQLite under ``var/`` (``CALTRACE_VAR_DIR`` moves it),
the simulators and the LIMS on loopback. A second ``make demo`` finds the job already
run and says so; remove ``var/`` for a fresh demo.
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
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

SETTINGS = "labserver.settings.dev"
PROCEDURE = "dmm-dcv"


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


def _demo_job(var_dir: Path, url: str) -> tuple[Path, dict[str, Any]] | None:
    """The bench file and the scheduled dmm-dcv job of the demo's benches, if any is left."""
    from agent.config import load_bench
    from agent.keys import load_key
    from agent.sync import LimsClient

    for path in sorted((var_dir / "demo").glob("*.yaml")):
        config = load_bench(path)
        client = LimsClient(url, config.token, key=load_key(config.key))
        for job in client.jobs(config.bench):
            if (job.get("procedure_ref") or {}).get("id") == PROCEDURE:
                return path, job
    return None


def _show_run(url: str, token: str, run_id: str) -> None:
    request = urllib.request.Request(
        f"{url}/api/v1/runs/{run_id}/", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        run = json.load(response)
    print(f"\nThe LIMS's record of run {run_id} (state {run.get('state')}):")
    for point in run.get("points", []):
        result = point.get("server_result") or {}
        print(
            f"  {point.get('index'):>2} {point.get('nominal'):>7g} {point.get('unit')}  "
            f"E = {result.get('value', float('nan')):+.3e}  U = {result.get('U', float('nan')):.2e}"
            f"  LIMS: {point.get('server_conformity') or '-'}"
            f"  agent: {point.get('agent_conformity') or '-'}"
        )
    print(f"  disagreements between the agent and the LIMS: {run.get('disagreements')}")


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

    log_path = var_dir / "lims.log"
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{args.port}"],
        cwd=_ROOT,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    print(f"\nthe LIMS is starting on {url} (its log: {log_path})")
    try:
        _wait_for(f"{url}/api/v1/", server)
        found = _demo_job(var_dir, url)
        if found is None:
            print(f"\nThe demo's {PROCEDURE} job has run already (remove var/ for a fresh demo).")
        else:
            bench, job = found
            print(f"\n== caltrace-agent run --bench {bench} --job {job['number']} --simulate ==")
            from agent.cli import main as agent
            from agent.config import load_bench
            from agent.outbox import Outbox

            number = str(job["number"])
            status = agent(
                ["run", "--bench", str(bench), "--job", number, "--simulate", "--lims", url]
            )
            if status != 0:
                print(f"the run did not complete (exit {status})", file=sys.stderr)
                return status
            config = load_bench(bench)
            with Outbox(config.outbox) as box:
                run_id = box.status().runs[-1].run_id
            _show_run(url, config.token, run_id)
        print(f"\ncaltrace LIMS (DEMO data, SQLite in {var_dir}): {url}/api/docs/")
        print(f"admin: {url}/admin/")
        print("demo logins: see the loaddemo output above (password demo-only-password; DEMO ONLY)")
        if args.no_serve:
            return 0
        print("Ctrl-C stops it.")
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
