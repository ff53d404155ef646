"""``caltrace-agent probe --driver manual`` on a real pseudo-terminal, typed at as an operator
would: the prompt and the refusals appear on the terminal, the JSON on standard output.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

from tests.support.agent import ROOT, cli_env

GAUGE = "manual://pressure?unit=kPa&min=0&max=1600&resolution=10"
PROMPT_1 = "pressure reading 1 in kPa (0 to 1600 kPa, scale interval 10 kPa; empty line aborts): "
PROMPT_2 = PROMPT_1.replace("reading 1", "reading 2")


class Terminal:
    """``caltrace-agent probe`` with a pty as its terminal (stdin and stderr), stdout piped.

    The child runs in a new session, so it has no controlling terminal of the test run's.
    """

    def __init__(self, *args: str) -> None:
        self._master, slave = pty.openpty()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agent.cli", "probe", *args],
                cwd=ROOT,
                env=cli_env(),
                stdin=slave,
                stdout=subprocess.PIPE,
                stderr=slave,
                start_new_session=True,
            )
        finally:
            os.close(slave)
        self.transcript = ""
        self._seen = 0
        self._closed = False

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if not self._closed:
            self._closed = True
            os.close(self._master)

    def expect(self, text: str, timeout_s: float = 20.0) -> None:
        """Wait until ``text`` appears on the terminal after what was already expected."""
        deadline = time.monotonic() + timeout_s
        while (found := self.transcript.find(text, self._seen)) < 0:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not shown; terminal so far: {self.transcript!r}"
            if not self._read(left):
                raise AssertionError(f"{text!r} not shown before exit: {self.transcript!r}")
        self._seen = found + len(text)

    def type(self, keys: str) -> None:
        """Type ``keys`` at the terminal (``\\n`` is Enter, ``\\x04`` is Ctrl-D)."""
        os.write(self._master, keys.encode())

    def finish(self) -> tuple[int, str]:
        """Wait for the exit; return the exit status and standard output."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read().decode()
        status = self.proc.wait(timeout=20)
        while self._read(0.5):
            pass
        return status, out

    def _read(self, timeout_s: float) -> bool:
        ready, _, _ = select.select([self._master], [], [], timeout_s)
        if not ready:
            return True
        try:
            data = os.read(self._master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.transcript += data.decode().replace("\r\n", "\n")
        return True


def test_an_operator_types_two_readings_after_refused_ones() -> None:
    with Terminal(
        "--driver", "manual", "--address", GAUGE, "--function", "pressure", "--samples", "2"
    ) as term:
        term.expect(PROMPT_1)
        term.type("abc\n")
        term.expect("refused 'abc': not a number")
        term.expect("pressure must be a number from 0 to 1600 kPa")
        term.expect(PROMPT_1)
        term.type("1700\n")
        term.expect("refused '1700': outside the instrument's range")
        term.expect(PROMPT_1)
        term.type("12,5\n")
        term.expect("recorded 12.5 kPa")
        term.expect(PROMPT_2)
        term.type("1600\n")
        status, out = term.finish()
        assert status == 0, term.transcript
        result = json.loads(out)
        assert result["driver"] == "manual"
        assert result["address"] == GAUGE
        assert result["identity"]["model"] == "manual entry (pressure)"
        readings = result["readings"]
        assert [(r["value"], r["unit"], r["stable"]) for r in readings] == [
            (12.5, "kPa", True),
            (1600.0, "kPa", True),
        ]
        assert all(r["timestamp"].endswith("+00:00") for r in readings)


def test_refused_entries_up_to_the_limit_give_an_error_and_no_reading() -> None:
    with Terminal("--driver", "manual", "--address", GAUGE + "&attempts=2") as term:
        for typed in ("nan", "-1"):
            term.expect(PROMPT_1)
            term.type(typed + "\n")
            term.expect(f"refused '{typed}'")
        status, out = term.finish()
        assert status == 1
        assert out == ""
        last_line = term.transcript.strip().splitlines()[-1]
        assert last_line.startswith("error: EntryRefused: 2 entries refused: no pressure reading")
        assert "expected a number from 0 to 1600 kPa" in last_line


def test_end_of_input_aborts_the_probe_without_a_reading() -> None:
    with Terminal(
        "--driver", "manual", "--address", GAUGE, "--function", "pressure", "--samples", "2"
    ) as term:
        term.expect(PROMPT_1)
        term.type("800\n")
        term.expect(PROMPT_2)
        term.type("\x04")  # Ctrl-D at the start of a line: end of input
        status, out = term.finish()
        assert status == 1
        assert out == ""  # the first, accepted reading is not printed alone
        assert "error: EntryAborted: end of input" in term.transcript


def test_an_empty_line_aborts_the_probe() -> None:
    with Terminal("--driver", "manual", "--address", GAUGE) as term:
        term.expect(PROMPT_1)
        term.type("\n")
        status, out = term.finish()
        assert (status, out) == (1, "")
        assert "error: EntryAborted: empty line" in term.transcript


def test_a_malformed_manual_address_is_refused_before_any_prompt() -> None:
    with Terminal("--driver", "manual", "--address", GAUGE + "&colour=red") as term:
        status, out = term.finish()
        assert (status, out) == (1, "")
        assert "pressure reading" not in term.transcript
        assert "error: AddressError: unknown option 'colour'" in term.transcript


def test_an_operator_reads_a_dial_gauge_and_a_water_meter_at_the_prompt() -> None:
    dial = "manual://length?unit=mm&min=0&max=10&resolution=0.01"
    with Terminal("--driver", "manual", "--address", dial, "--function", "length") as term:
        term.expect("length reading 1 in mm (0 to 10 mm, scale interval 0.01 mm")
        term.type("12\n")
        term.expect("refused '12': outside the instrument's range")
        term.type("2,35\n")
        status, out = term.finish()
        assert status == 0, term.transcript
        assert [(r["value"], r["unit"]) for r in json.loads(out)["readings"]] == [(2.35, "mm")]
    meter = "manual://volume?unit=m3&min=0&max=9999.999&resolution=0.001"
    with Terminal("--driver", "manual", "--address", meter, "--function", "volume") as term:
        term.expect("volume reading 1 in m3 (0 to 9999.999 m3")
        term.type("NaN\n")
        term.expect("refused 'NaN': not a finite number")
        term.type("517,204\n")
        status, out = term.finish()
        assert status == 0, term.transcript
        result = json.loads(out)
        assert result["identity"]["model"] == "manual entry (volume)"
        assert [(r["value"], r["unit"]) for r in result["readings"]] == [(517.204, "m3")]
