"""Benchmark of the driver layer against raw pyvisa-py on the same simulator, same run.

    .venv/bin/python bench/drivers.py [--seconds S] [--rounds N]

Starts the Keysight 34465A simulator in its own process (``caltrace-agent simulate``, so
it does not share this interpreter's lock) and measures round trips per second of:

* a bare socket client (what the simulator can serve: it must not be the bottleneck);
* raw pyvisa-py: ``resource.query("READ?")``;
* our transport: ``transport.query("READ?")`` (logging, typed errors, resync machinery);
* our driver: ``Keysight34465A.read()`` (the above plus strict parsing into a Reading).

Rounds alternate between the clients; each figure is the median over the rounds, with
the client's CPU time per round trip (user + system), which is less sensitive than wall
time to other load on a shared machine. The
target is ours >= 70 % of raw pyvisa-py. The client and the simulator can share one
pinned CPU (``--pin same``): on small virtual machines a wake-up across CPUs costs more
than the whole exchange, which would measure the hypervisor.
"""

from __future__ import annotations

import os
import sys

# This file shares its name with the package it measures: run as a script, its own
# folder comes first on sys.path and would shadow the package.
_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pyvisa  # noqa: E402

from drivers.driver import DriverOptions  # noqa: E402
from drivers.keysight.k34465a import Keysight34465A  # noqa: E402


def _rate(call: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Calls per second of ``call`` over about ``seconds``, and this process's CPU time
    per call in microseconds (user + system: our code plus its system calls)."""
    for _ in range(200):  # warm up
        call()
    count = 0
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(500):
            call()
        count += 500
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started), (time.process_time() - cpu) / count * 1e6


def _pin(pid: int, cpu: int) -> bool:
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return False
    try:
        os.sched_setaffinity(pid, {cpu})
    except OSError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round (s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per client")
    parser.add_argument(
        "--pin",
        choices=["none", "same"],
        default="none",
        help="same: client and simulator on CPU 0 (steadier figures on small VMs)",
    )
    args = parser.parse_args()

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    sim = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", "keysight-34465a", "--seed", "1"],
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    try:
        address = sim.stdout.readline().split()[1]
        pinned = args.pin == "same" and _pin(sim.pid, 0) and _pin(0, 0)
        port = int(address.split("::")[2])

        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"CONF:VOLT:DC 10\n")

        def bare() -> bytes:
            sock.sendall(b"READ?\n")
            data = sock.recv(256)
            while not data.endswith(b"\n"):
                data += sock.recv(256)
            return data

        rm = pyvisa.ResourceManager("@py")
        raw = rm.open_resource(address, read_termination="\n", write_termination="\n")
        assert isinstance(raw, pyvisa.resources.MessageBasedResource)
        raw.timeout = 2000
        raw.write("CONF:VOLT:DC 10")

        dmm = Keysight34465A.open(address, DriverOptions(timeout_s=2.0))
        dmm.configure("dcv", range=10.0)
        transport = dmm.transport

        def raw_query() -> str:
            return raw.query("READ?")

        def our_query() -> str:
            return transport.query("READ?")

        def our_read() -> object:
            return dmm.read()

        clients = {
            "bare socket (simulator capacity)": bare,
            "raw pyvisa-py query": raw_query,
            "caltrace transport query": our_query,
            "caltrace driver read() -> Reading": our_read,
        }
        rates: dict[str, list[float]] = {name: [] for name in clients}
        cpus: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, call in clients.items():
                rate, cpu = _rate(call, args.seconds)
                rates[name].append(rate)
                cpus[name].append(cpu)
                dmm.io_log.drain()  # a runner files the log per point; keep memory flat
        medians = {name: statistics.median(values) for name, values in rates.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpus.items()}

        dmm.close()
        raw.close()
        rm.close()
        sock.close()
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        sim.stdout.close()

    print(f"Keysight 34465A simulator on {address}; {args.rounds} rounds of {args.seconds} s")
    print(f"CPU pinning: {'client and simulator on CPU 0' if pinned else 'none'}")
    print(f"  {'client':<36} {'round trips/s':>13}  {'client CPU/trip':>15}")
    for name, value in medians.items():
        print(f"  {name:<36} {value:>13,.0f}  {cpu_medians[name]:>12.1f} µs")
    base = medians["raw pyvisa-py query"]
    for name in ("caltrace transport query", "caltrace driver read() -> Reading"):
        print(f"  {name} / raw pyvisa-py: {medians[name] / base:6.1%}  (target >= 70 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
