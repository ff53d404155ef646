"""Benchmark of the driver layer against the raw libraries on the same simulators, same run.

    .venv/bin/python benchmarks/drivers.py [--seconds S] [--rounds N] [--pin same] [--only T]

Starts the Keysight 34465A simulator in its own process (``caltrace-agent simulate``, so
it does not share this interpreter's lock) and measures round trips per second of:

* a bare socket client (what the simulator can serve: it must not be the bottleneck);
* raw pyvisa-py: ``resource.query("READ?")``;
* our transport: ``transport.query("READ?")`` (logging, typed errors, resync machinery);
* our driver: ``Keysight34465A.read()`` (the above plus strict parsing into a Reading).

Then, the same way, the Eurotherm 3200 simulator (a pymodbus ``RegisterServer`` on
loopback, ``caltrace-agent simulate eurotherm-3200``):

* raw pymodbus: ``ModbusTcpClient.read_holding_registers(1, count=1, device_id=1)``;
* our transport: ``ModbusTransport.read_holding_registers(1)`` (PDU log, typed errors);

and the Mettler Toledo SICS simulator on a pseudo-terminal
(``caltrace-agent simulate mettler-sics``):

* raw pyserial: ``port.write(b"SI\\r\\n")`` then ``port.read_until(b"\\r\\n")``;
* our transport: ``SerialTransport.query("SI")``.

Rounds alternate between the clients of one simulator; each figure is the median over the
rounds, with the client's CPU time per round trip (user + system), which is less sensitive
than wall time to other load on a shared machine. The
target is ours >= 70 % of the raw library. The client and the simulator can share one
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
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import pyvisa  # noqa: E402
import serial  # noqa: E402
from pymodbus.client import ModbusTcpClient  # noqa: E402

from drivers.driver import DriverOptions  # noqa: E402
from drivers.keysight.k34465a import Keysight34465A  # noqa: E402
from drivers.transports.base import TransportSettings  # noqa: E402
from drivers.transports.modbus import ModbusTransport, parse_modbus_address  # noqa: E402
from drivers.transports.serial import SerialTransport  # noqa: E402


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


@contextmanager
def _simulator(args: argparse.Namespace, *command: str) -> Iterator[tuple[str, bool]]:
    """Run ``caltrace-agent simulate ...`` in its own process; yield (address, pinned)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, env.get("PYTHONPATH")]))
    sim = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "simulate", *command],
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdout is not None
    try:
        address = sim.stdout.readline().split()[1]
        pinned = args.pin == "same" and _pin(sim.pid, 0) and _pin(0, 0)
        yield address, pinned
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        sim.stdout.close()


def _rounds(
    clients: dict[str, Callable[[], object]],
    args: argparse.Namespace,
    after_each: Callable[[], object] = lambda: None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Median round trips/s and median client CPU µs/trip per client; rounds alternate."""
    rates: dict[str, list[float]] = {name: [] for name in clients}
    cpus: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.rounds):
        for name, call in clients.items():
            rate, cpu = _rate(call, args.seconds)
            rates[name].append(rate)
            cpus[name].append(cpu)
            after_each()  # a runner files the log per point; keep memory flat
    return (
        {name: statistics.median(values) for name, values in rates.items()},
        {name: statistics.median(values) for name, values in cpus.items()},
    )


def _report(
    title: str,
    pinned: bool,
    args: argparse.Namespace,
    medians: dict[str, float],
    cpu_medians: dict[str, float],
    raw: str,
    ours: tuple[str, ...],
) -> None:
    print(f"{title}; {args.rounds} rounds of {args.seconds} s")
    print(f"CPU pinning: {'client and simulator on CPU 0' if pinned else 'none'}")
    print(f"  {'client':<36} {'round trips/s':>13}  {'client CPU/trip':>15}")
    for name, value in medians.items():
        print(f"  {name:<36} {value:>13,.0f}  {cpu_medians[name]:>12.1f} µs")
    base = medians[raw]
    short = raw.removesuffix(" query").removesuffix(" read_holding_registers")
    short = short.removesuffix(" write/read_until")
    for name in ours:
        print(f"  {name} / {short}: {medians[name] / base:6.1%}  (target >= 70 %)")
    print()


def _bench_visa(args: argparse.Namespace) -> None:
    with _simulator(args, "keysight-34465a", "--seed", "1") as (address, pinned):
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

        clients: dict[str, Callable[[], object]] = {
            "bare socket (simulator capacity)": bare,
            "raw pyvisa-py query": raw_query,
            "caltrace transport query": our_query,
            "caltrace driver read() -> Reading": our_read,
        }
        medians, cpu_medians = _rounds(clients, args, dmm.io_log.drain)

        dmm.close()
        raw.close()
        rm.close()
        sock.close()

    _report(
        f"Keysight 34465A simulator on {address}",
        pinned,
        args,
        medians,
        cpu_medians,
        "raw pyvisa-py query",
        ("caltrace transport query", "caltrace driver read() -> Reading"),
    )


def _bench_modbus(args: argparse.Namespace) -> None:
    register = 1  # the 3200's process value
    with _simulator(args, "eurotherm-3200", "--seed", "1") as (address, pinned):
        # The simulator's address carries the driver's decimals= option; the transport
        # takes the Modbus part only.
        target = parse_modbus_address(address.split("&decimals=", 1)[0])
        modbus_address = f"modbus-tcp://{target.host}:{target.port}?unit={target.unit}"

        raw = ModbusTcpClient(target.host, port=target.port, timeout=2.0, retries=0)
        # pymodbus leaves the sync client's connect() unannotated (drivers/transports/modbus.py
        # meets the same with close()).
        if not raw.connect():  # type: ignore[no-untyped-call]
            raise SystemExit(f"cannot connect to {address}")
        ours = ModbusTransport(modbus_address, settings=TransportSettings(timeout_s=2.0))
        ours.open()

        def raw_read() -> object:
            response = raw.read_holding_registers(register, count=1, device_id=target.unit)
            if response.isError():
                raise SystemExit(f"raw pymodbus read failed: {response}")
            return response.registers

        def our_read() -> object:
            return ours.read_holding_registers(register)

        clients: dict[str, Callable[[], object]] = {
            "raw pymodbus read_holding_registers": raw_read,
            "caltrace transport read_holding_reg": our_read,
        }
        medians, cpu_medians = _rounds(clients, args, ours.io_log.drain)

        ours.close()
        raw.close()  # type: ignore[no-untyped-call]

    _report(
        f"Eurotherm 3200 simulator (pymodbus RegisterServer) on {modbus_address}",
        pinned,
        args,
        medians,
        cpu_medians,
        "raw pymodbus read_holding_registers",
        ("caltrace transport read_holding_reg",),
    )


def _bench_serial(args: argparse.Namespace) -> None:
    with _simulator(args, "mettler-sics", "--seed", "1") as (address, pinned):
        raw = serial.Serial(address, baudrate=9600, timeout=2.0)
        ours = SerialTransport(address, settings=TransportSettings(timeout_s=2.0))
        ours.open()

        def raw_query() -> bytes:
            raw.write(b"SI\r\n")
            answer = raw.read_until(b"\r\n")
            if not answer.endswith(b"\r\n"):
                raise SystemExit(f"raw pyserial read timed out: {answer!r}")
            return answer

        def our_query() -> str:
            return ours.query("SI")

        clients: dict[str, Callable[[], object]] = {
            "raw pyserial write/read_until": raw_query,
            "caltrace transport query": our_query,
        }
        medians, cpu_medians = _rounds(clients, args, ours.io_log.drain)

        ours.close()
        raw.close()

    _report(
        f"Mettler SICS simulator on pseudo-terminal {address}",
        pinned,
        args,
        medians,
        cpu_medians,
        "raw pyserial write/read_until",
        ("caltrace transport query",),
    )


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
    parser.add_argument(
        "--only",
        choices=["all", "visa", "modbus", "serial"],
        default="all",
        help="run one transport's rows only",
    )
    args = parser.parse_args()
    benches = {"visa": _bench_visa, "modbus": _bench_modbus, "serial": _bench_serial}
    for name, bench in benches.items():
        if args.only in ("all", name):
            bench(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
