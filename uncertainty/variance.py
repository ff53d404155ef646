"""Which Monte Carlo outputs have no finite variance, read from the model itself.

The measurement-model contract (after JCGM 101 6.4.9.7) names the cases: an
output that depends on an input drawn from a t-distribution with ``dof <= 2``
(a Type A quantity from 3 readings is one), and an output that divides by a
quantity whose distribution reaches zero. In both the sample standard
deviation of the output does not estimate anything: it grows without bound
with the number of trials. The coverage interval is still well defined.

The cases are found from the model, not from the sample, because a sample of
10**6 trials may well look tame where the variance does not exist:

* **heavy-tailed inputs**: the degrees of freedom of the t-distribution an
  input is drawn from are known; the output is warned about unless the input
  enters it only through a bounded function (``sin``, ``cos``, ``atan``,
  ``atan2``), which has every moment whatever its argument;
* **divisions**: the range of every denominator (and of every base raised to
  a negative power) is bounded by interval arithmetic over the inputs'
  ranges. A bounded distribution's range is its support; a normal or t
  distribution's is the central interval holding all but ``TAIL`` of its
  probability, because mathematically every such distribution reaches zero,
  but one whose zero lies further out than any of the at most 10**8 trials of
  :mod:`uncertainty.montecarlo` is likely to reach behaves, in the sample and
  for the metrologist, as if it did not. Interval arithmetic can only widen a
  range, so a division it clears is safe; it may warn about a denominator
  such as ``x - x + 1`` that cannot actually reach zero.
"""

from __future__ import annotations

import math

from scipy.special import ndtri, stdtrit

from .expressions import Add, Call, Const, Div, Mul, Neg, Node, Pow, Sub, Var, to_text, variables
from .model import Model, Output, Quantity

#: Probability left outside the range given to an unbounded input (per tail
#: 0.5e-9): 10**8 trials (the most the engine runs) draw beyond it with a
#: probability of about 0.1.
TAIL = 1e-9

Range = tuple[float, float]

_BOUNDED_FUNCTIONS = frozenset({"sin", "cos", "atan", "atan2"})
_EVERYTHING: Range = (-math.inf, math.inf)


def drawn_from_t(q: Quantity) -> bool:
    """Whether Monte Carlo draws ``q`` from a (scaled and shifted) t-distribution."""
    return q.distribution in ("type_a", "student_t") or (
        q.distribution == "normal" and not math.isinf(q.t_dof)
    )


def variance_warnings(model: Model) -> dict[str, tuple[str, ...]]:
    """For each output, the reasons (plain sentences) why it has no finite variance."""
    return {output.name: _output_warnings(model, output) for output in model.outputs}


def _output_warnings(model: Model, output: Output) -> tuple[str, ...]:
    warnings: list[str] = []
    for i in sorted(variables(output.tree)):
        q = model.quantities[i]
        if q.u > 0 and drawn_from_t(q) and q.t_dof <= 2 and _unbounded_use(output.tree, i):
            warnings.append(_heavy_tail_sentence(q, output.name))
    seen: set[str] = set()
    for denominator in _denominators(output.tree):
        text = to_text(denominator)
        if text in seen:
            continue
        seen.add(text)
        low, high = input_range(model, denominator)
        if low <= 0.0 <= high:
            warnings.append(_division_sentence(model, denominator, text, output.name, low, high))
    return tuple(warnings)


def _heavy_tail_sentence(q: Quantity, output: str) -> str:
    dof = f"{q.t_dof:g}"
    origin = ""
    if q.form == "type_a" and q.samples is not None:
        origin = f" (a Type A evaluation from {len(q.samples)} readings)"
    elif q.form in ("direct", "expanded"):
        origin = " (its standard uncertainty is stated with these degrees of freedom)"
    mean = (
        " Its mean does not exist either, so neither does the mean of the output."
        if q.t_dof <= 1
        else ""
    )
    return (
        f"The input {q.name} is drawn from a t-distribution with {dof} degrees of "
        f"freedom{origin}, which has no finite variance (JCGM 101 6.4.9.7): the standard "
        f"deviation of {output} is not meaningful; its coverage interval is.{mean}"
    )


def _division_sentence(
    model: Model, denominator: Node, text: str, output: str, low: float, high: float
) -> str:
    names = [model.quantities[i].name for i in sorted(variables(denominator))]
    inputs = ", ".join(names)
    plural = "s" if len(names) > 1 else ""
    what = f"the input {text}" if text == inputs else f"{text} (through the input{plural} {inputs})"
    return (
        f"{output} divides by {what}, whose distribution reaches zero (it ranges "
        f"from {low:.6g} to {high:.6g}): {output} has no finite variance, so its standard "
        "deviation is not meaningful; its coverage interval is."
    )


def _unbounded_use(node: Node, index: int) -> bool:
    """Whether variable ``index`` occurs in ``node`` outside every bounded function."""
    if isinstance(node, Var):
        return node.index == index
    if isinstance(node, Call) and node.function in _BOUNDED_FUNCTIONS:
        return False
    return any(_unbounded_use(child, index) for child in node.children())


def _denominators(node: Node) -> list[Node]:
    """Every sub-expression the model divides by (including bases of negative powers)."""
    out: list[Node] = []
    if isinstance(node, Div) and variables(node.right):
        out.append(node.right)
    if (
        isinstance(node, Pow)
        and isinstance(node.exponent, Const)
        and node.exponent.value < 0
        and variables(node.base)
    ):
        out.append(node.base)
    for child in node.children():
        out += _denominators(child)
    return out


# ------------------------------------------------------------ interval arithmetic


def quantity_range(q: Quantity) -> Range:
    """The range of values Monte Carlo can draw for ``q`` (see the module's note)."""
    if q.u == 0.0:
        return (q.value, q.value)
    if q.half_width is not None:
        reach = q.half_width + (q.limit_half_width or 0.0)
        return (q.value - reach, q.value + reach)
    if drawn_from_t(q):
        scale = q.u
        if q.distribution == "student_t":
            scale = q.u * math.sqrt((q.t_dof - 2.0) / q.t_dof)
        reach = scale * float(stdtrit(q.t_dof, 1.0 - TAIL / 2.0))
    else:
        reach = q.u * float(ndtri(1.0 - TAIL / 2.0))
    return (q.value - reach, q.value + reach)


def input_range(model: Model, node: Node) -> Range:
    """An interval holding every value of ``node`` over the inputs' ranges."""
    if isinstance(node, Const):
        return (node.value, node.value)
    if isinstance(node, Var):
        return quantity_range(model.quantities[node.index])
    if isinstance(node, Neg):
        low, high = input_range(model, node.operand)
        return (-high, -low)
    if isinstance(node, Add | Sub | Mul | Div):
        a = input_range(model, node.left)
        b = input_range(model, node.right)
        if isinstance(node, Add):
            return (a[0] + b[0], a[1] + b[1])
        if isinstance(node, Sub):
            return (a[0] - b[1], a[1] - b[0])
        if isinstance(node, Div):
            if b[0] <= 0.0 <= b[1]:
                return _EVERYTHING
            b = (1.0 / b[1], 1.0 / b[0])
        return _product(a, b)
    if isinstance(node, Pow):
        return _power(model, node)
    if isinstance(node, Call):
        return _call(model, node)
    return _EVERYTHING  # pragma: no cover - every node type is handled above


def _product(a: Range, b: Range) -> Range:
    products = [0.0 if math.isnan(p) else p for p in (x * y for x in a for y in b)]
    return (min(products), max(products))


def _power(model: Model, node: Pow) -> Range:
    base = input_range(model, node.base)
    if not isinstance(node.exponent, Const):
        return _EVERYTHING
    n = node.exponent.value
    low, high = base
    if float(n).is_integer():
        if n < 0 and low <= 0.0 <= high:
            return _EVERYTHING
        ends = [_pow(low, n), _pow(high, n)]
        if n > 0 and n % 2 == 0 and low <= 0.0 <= high:
            return (0.0, max(ends))
        return (min(ends), max(ends))
    # a non-integer power is defined for a non-negative base only
    low = max(low, 0.0)
    if high < 0.0:
        return _EVERYTHING
    if n < 0 and low == 0.0:
        return (_pow(high, n), math.inf)
    ends = [_pow(low, n), _pow(high, n)]
    return (min(ends), max(ends))


def _pow(x: float, n: float) -> float:
    try:
        return math.pow(x, n)
    except OverflowError:
        return math.inf if x > 0 or float(n) % 2 == 0 else -math.inf


def _call(model: Model, node: Call) -> Range:
    args = [input_range(model, arg) for arg in node.args]
    low, high = args[0]
    match node.function:
        case "sqrt":
            return (math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0)))
        case "exp":
            return (_exp(low), _exp(high))
        case "log" | "log10":
            log = math.log if node.function == "log" else math.log10
            return (log(low) if low > 0 else -math.inf, log(high) if high > 0 else -math.inf)
        case "atan":
            return (math.atan(low), math.atan(high))
        case "asin":
            return (math.asin(max(low, -1.0)), math.asin(min(high, 1.0)))
        case "acos":
            return (math.acos(min(high, 1.0)), math.acos(max(low, -1.0)))
        case "atan2":
            return (-math.pi, math.pi)
        case "abs":
            if low <= 0.0 <= high:
                return (0.0, max(-low, high))
            return (min(abs(low), abs(high)), max(abs(low), abs(high)))
        case "sin":
            return _sine(low, high)
        case "cos":
            return _sine(low + math.pi / 2.0, high + math.pi / 2.0)
        case "tan":
            # a pole at pi/2 + k pi inside the range makes it unbounded
            if not math.isfinite(high - low) or high - low >= math.pi:
                return _EVERYTHING
            if math.floor(low / math.pi - 0.5) != math.floor(high / math.pi - 0.5):
                return _EVERYTHING
            return (math.tan(low), math.tan(high))
    return _EVERYTHING


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sine(low: float, high: float) -> Range:
    """The range of ``sin`` over [low, high]: its ends and any extremum inside."""
    if not math.isfinite(high - low) or high - low >= 2.0 * math.pi:
        return (-1.0, 1.0)
    values = [math.sin(low), math.sin(high)]
    # maxima at pi/2 + 2k pi, minima at -pi/2 + 2k pi
    if (
        math.floor((high - math.pi / 2.0) / (2.0 * math.pi))
        > math.floor((low - math.pi / 2.0) / (2.0 * math.pi))
        or math.sin(low) == 1.0
    ):
        values.append(1.0)
    if (
        math.floor((high + math.pi / 2.0) / (2.0 * math.pi))
        > math.floor((low + math.pi / 2.0) / (2.0 * math.pi))
        or math.sin(low) == -1.0
    ):
        values.append(-1.0)
    return (min(values), max(values))
