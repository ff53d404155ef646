"""``python -m scenarios``: preview the certificate layout.

    python -m scenarios example --list
    python -m scenarios example NAME [-o FILE]

``example NAME`` writes the unsigned PDF of one of the example documents
(:mod:`scenarios.certificates`) to ``FILE`` (default ``NAME.pdf``), so that a
laboratory can see its certificates before it issues any.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from certificates.errors import CertificateError
from scenarios.certificates import EXAMPLES, example


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 usage or document error)."""
    parser = argparse.ArgumentParser(prog="python -m scenarios", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    preview = commands.add_parser("example", help="write an example certificate PDF (unsigned)")
    preview.add_argument("name", nargs="?", help="the example's name (see --list)")
    preview.add_argument("--list", action="store_true", help="list the examples")
    preview.add_argument("-o", "--output", type=Path, help="the PDF to write (default NAME.pdf)")
    args = parser.parse_args(argv)

    if args.list:
        for name in EXAMPLES:
            document = example(name)
            kind = document.title.en.lower()
            print(f"{name}\t{document.number}\t{kind}: {document.instrument.type.en}")
        return 0
    if not args.name:
        parser.error("example: give a NAME or --list")
    if args.name not in EXAMPLES:
        parser.error(f"no example {args.name!r}; there are {', '.join(EXAMPLES)}")
    from certificates.pdf import render_pdf

    try:
        data = render_pdf(example(args.name))
    except CertificateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    output: Path = args.output or Path(f"{args.name}.pdf")
    output.write_bytes(data)
    print(f"wrote {output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
