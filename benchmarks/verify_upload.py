"""Benchmark of the public file check, ``POST /api/v1/verify``, on crafted uploads.

    .venv/bin/python benchmarks/verify_upload.py [--rounds N] [--megabytes M]

The endpoint is anonymous: whatever anyone uploads (up to ``CALTRACE_MAX_VERIFY_BYTES``)
must be answered quickly, or two uploads stall a two-worker LIMS. Each case is an upload
of ``--megabytes`` (9 by default, under the 10 MB limit) posted through Django's test
client to the LIMS's URLs and settings (``labserver.settings.dev``, DEBUG off) on a
temporary SQLite database:

* the baseline, ``not a PDF``: the same number of bytes that do not start like a PDF,
  refused at the first check: the cost of receiving, parsing and hashing the upload;
* ``numbers, no end``: certificate-number-shaped strings without a line break and without
  the end every PDF has (``startxref``, offset, ``%%EOF``): once 31 s per megabyte (one
  query per number), then seconds in the PDF reader walking back a byte at a time;
* ``numbers, bogus end``: the same with a ``startxref`` pointing into them;
* ``numbers, one per line``: the same strings one per line with that end.

The figures are medians over the rounds, after one warm-up upload (the PDF reader's import
is paid once per worker). The target: every crafted case answered in under 2 s and within
10 times the baseline; the exit status is 1 when one misses it.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and os.path.abspath(sys.path[0]) == _HERE:
    del sys.path[0]
_ROOT = os.path.dirname(_HERE)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_RATIO = 10.0


def cases(megabytes: float) -> dict[str, bytes]:
    size = int(megabytes * 1_000_000)
    count = size // 19
    numbers = b" ".join(b"QT1-HC-2026-%06d" % (n % 1_000_000) for n in range(count))
    return {
        "not a PDF (baseline)": b"PK\x03\x04" + b"\x00" * size,
        "numbers, no end": b"%PDF-1.7\n" + numbers + b"\n%%EOF\n",
        "numbers, bogus end": b"%PDF-1.7\n" + numbers + b"\nstartxref\n100\n%%EOF\n",
        "numbers, one per line": (
            b"%PDF-1.7\n" + numbers.replace(b" ", b"\n") + b"\nstartxref\n100\n%%EOF\n"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=9.0)
    args = parser.parse_args(argv)

    os.environ["CALTRACE_VAR_DIR"] = tempfile.mkdtemp(prefix="caltrace-bench-verify-")
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "labserver.settings.dev"
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    client = Client()

    def post(data: bytes) -> float:
        started = time.perf_counter()
        upload = SimpleUploadedFile("upload.pdf", data, "application/pdf")
        response = client.post("/api/v1/verify", {"file": upload})
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 400):
            answer = response.content[:200]
            raise SystemExit(f"unexpected answer {response.status_code}: {answer!r}")
        return elapsed

    uploads = cases(args.megabytes)
    post(uploads["numbers, bogus end"])  # warm-up: the PDF reader's import
    times: dict[str, list[float]] = {name: [] for name in uploads}
    for _ in range(args.rounds):
        for name, data in uploads.items():
            times[name].append(post(data))
    baseline = statistics.median(times["not a PDF (baseline)"])
    print(f"POST /api/v1/verify, {args.megabytes:g} MB uploads, median of {args.rounds} rounds")
    missed = False
    for name, runs in times.items():
        median = statistics.median(runs)
        ratio = median / baseline
        crafted = name != "not a PDF (baseline)"
        miss = crafted and (median >= TARGET_SECONDS or ratio > TARGET_RATIO)
        missed |= miss
        print(
            f"  {name:24s} {median:6.3f} s  {ratio:5.1f} x baseline"
            + ("  MISSES the target" if miss else "")
        )
    print(f"target: each crafted upload < {TARGET_SECONDS:g} s and <= {TARGET_RATIO:g} x baseline")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
