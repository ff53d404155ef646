"""``python -m uncertainty evaluate MODEL``: evaluate a measurement model file.

Prints one JSON object (measurement-model.md, "Evaluation from the command
line"), or a readable budget with ``--format text``. A model that cannot be
evaluated exits non-zero with one line on standard error naming the quantity,
output or key at fault.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from .errors import EvaluationError, UncertaintyError
from .gum import GumResult, evaluate_gum
from .model import Model, load_model
from .montecarlo import McResult, evaluate_mc, make_rng, validate_gum

EXIT_MODEL_ERROR = 2
EXIT_EVALUATION_ERROR = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, as for every other error
        self.exit(EXIT_MODEL_ERROR, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m uncertainty", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="evaluate a model file (JSON or YAML)")
    ev.add_argument("model", help="the model file")
    ev.add_argument("--method", choices=("gum", "mc", "both"), default="gum")
    trials = ev.add_mutually_exclusive_group()
    trials.add_argument("--trials", type=_positive_int, help="Monte Carlo trials (default 10^6)")
    trials.add_argument(
        "--adaptive", action="store_true", help="choose the trials adaptively (JCGM 101 7.9)"
    )
    ev.add_argument("--seed", type=int, help="random generator seed (reported when not given)")
    ev.add_argument(
        "--second-order", action="store_true", help="add the second-order terms of GUM 5.1.2"
    )
    ev.add_argument("--interval", choices=("symmetric", "shortest"), default="symmetric")
    ev.add_argument(
        "--ndig", type=_positive_int, default=2,
        help="significant digits for adaptive Monte Carlo and validation (default 2)",
    )  # fmt: skip
    ev.add_argument("--format", choices=("json", "text"), default="json")
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = stdout or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        model = load_model(args.model)
        result = evaluate(
            model,
            method=args.method,
            trials=args.trials,
            adaptive=args.adaptive,
            seed=args.seed,
            second_order=args.second_order,
            interval=args.interval,
            ndig=args.ndig,
        )
    except EvaluationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_EVALUATION_ERROR
    except UncertaintyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_MODEL_ERROR
    if args.format == "json":
        out.write(json.dumps(result, allow_nan=False) + "\n")
    else:
        from .text import render_text

        out.write(render_text(model, result))
    return 0


def evaluate(
    model: Model,
    *,
    method: str = "gum",
    trials: int | None = None,
    adaptive: bool = False,
    seed: int | None = None,
    second_order: bool = False,
    interval: str = "symmetric",
    ndig: int = 2,
) -> dict[str, Any]:
    """Evaluate ``model`` as the command line does and return its JSON object."""
    gum: GumResult | None = None
    mc: McResult | None = None
    if method in ("gum", "both"):
        gum = evaluate_gum(model, second_order=second_order)
    if method in ("mc", "both"):
        if seed is None:
            seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
        mc = evaluate_mc(
            model,
            rng=make_rng(seed),
            trials=trials,
            adaptive=adaptive,
            interval="shortest" if interval == "shortest" else "symmetric",
            ndig=ndig,
            seed=seed,
        )
    if gum is not None and mc is not None:
        validation = validate_gum(gum, mc, ndig=ndig)
        return _finite(
            {
                "method": "both",
                "gum": gum.to_dict(),
                "mc": mc.to_dict(),
                "validation": {name: v.to_dict() for name, v in validation.items()},
            }
        )
    if gum is not None:
        return _finite(gum.to_dict())
    assert mc is not None
    return _finite(mc.to_dict())


def _finite(obj: dict[str, Any]) -> dict[str, Any]:
    return _finite_value(obj)  # type: ignore[no-any-return]


def _finite_value(obj: Any) -> Any:
    """JSON has no infinity: write infinite numbers as "inf" (degrees of freedom)."""
    if isinstance(obj, float) and math.isinf(obj):
        return "inf" if obj > 0 else "-inf"
    if isinstance(obj, dict):
        return {k: _finite_value(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_value(v) for v in obj]
    return obj
