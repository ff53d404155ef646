"""Safe measurement-function expressions.

An expression of a model file is parsed with :mod:`ast` and checked against a
whitelist (numbers, quantity names, ``+ - * / **``, parentheses and the
functions of measurement-model.md); it is never ``eval``-ed. The accepted tree
is turned into our own small node types, which can be

* differentiated symbolically (sensitivity coefficients and the higher
  derivatives of GUM 5.1.2 note are exact, not finite differences), and
* compiled into closures over numpy functions that evaluate at the estimates
  (scalars) or over a whole Monte Carlo sample (arrays) alike.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from .cvd import cvd_temperature
from .errors import ExpressionError

Array: TypeAlias = npt.NDArray[np.float64]
Value: TypeAlias = float | np.floating[Any] | Array
Compiled: TypeAlias = Callable[[Sequence[Value] | Array], Value]

#: Functions an expression may call, with their number of arguments.
FUNCTIONS: Mapping[str, int] = {
    "sqrt": 1,
    "exp": 1,
    "log": 1,
    "log10": 1,
    "sin": 1,
    "cos": 1,
    "tan": 1,
    "asin": 1,
    "acos": 1,
    "atan": 1,
    "atan2": 2,
    "abs": 1,
    "cvd_t": 5,
}
#: Named constants an expression may use.
CONSTANTS: Mapping[str, float] = {"pi": math.pi}
#: Names a quantity or output may not take.
RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS)

MAX_EXPRESSION_LENGTH = 10_000


def _sign(x: Value) -> Value:
    # The derivative of abs(); undefined (nan) at 0, so that a GUM evaluation
    # at a kink is refused instead of silently giving a zero sensitivity.
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(x) == 0, np.nan, np.sign(x))[()]


def _below_zero(t: Value) -> Value:
    # 1 on the Callendar–Van Dusen branch below 0 °C, where C acts, else 0: its
    # derivative is zero everywhere (the two branches join smoothly at 0 °C).
    return np.where(np.less(t, 0.0), 1.0, 0.0)[()]


_NUMPY: Mapping[str, Callable[..., Value]] = {
    "sqrt": np.sqrt,
    "exp": np.exp,
    "log": np.log,
    "log10": np.log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "atan2": np.arctan2,
    "abs": np.abs,
    "sign": _sign,
    "cvd_t": cvd_temperature,
    "below_zero": _below_zero,
}


# --------------------------------------------------------------------------- nodes


class Node:
    """A node of an expression tree (immutable, hashable)."""

    __slots__ = ()

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: float


@dataclass(frozen=True, slots=True)
class Var(Node):
    index: int
    name: str


@dataclass(frozen=True, slots=True)
class Add(Node):
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Sub(Node):
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Mul(Node):
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Div(Node):
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Pow(Node):
    base: Node
    exponent: Node

    def children(self) -> tuple[Node, ...]:
        return (self.base, self.exponent)


@dataclass(frozen=True, slots=True)
class Neg(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


ZERO = Const(0.0)
ONE = Const(1.0)
TWO = Const(2.0)


# ----------------------------------------------------------- simplifying builders


def _is(node: Node, value: float) -> bool:
    return isinstance(node, Const) and node.value == value


def _fold(op: Callable[..., Any], *values: float) -> Node | None:
    with np.errstate(all="ignore"):
        result = float(op(*(np.float64(v) for v in values)))
    return Const(result) if math.isfinite(result) else None


def add(a: Node, b: Node) -> Node:
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(np.add, a.value, b.value) or Add(a, b)
    if isinstance(b, Neg):
        return sub(a, b.operand)
    return Add(a, b)


def sub(a: Node, b: Node) -> Node:
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return neg(b)
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(np.subtract, a.value, b.value) or Sub(a, b)
    return Sub(a, b)


def neg(a: Node) -> Node:
    if isinstance(a, Const):
        return Const(-a.value)
    if isinstance(a, Neg):
        return a.operand
    return Neg(a)


def mul(a: Node, b: Node) -> Node:
    if _is(a, 0.0) or _is(b, 0.0):
        return ZERO
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return neg(b)
    if _is(b, -1.0):
        return neg(a)
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(np.multiply, a.value, b.value) or Mul(a, b)
    return Mul(a, b)


def div(a: Node, b: Node) -> Node:
    if _is(b, 1.0):
        return a
    if _is(a, 0.0) and not _is(b, 0.0):
        return ZERO
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(np.divide, a.value, b.value) or Div(a, b)
    return Div(a, b)


def power(a: Node, b: Node) -> Node:
    if _is(b, 0.0):
        return ONE
    if _is(b, 1.0):
        return a
    if isinstance(a, Const) and isinstance(b, Const):
        return _fold(np.power, a.value, b.value) or Pow(a, b)
    return Pow(a, b)


def call(function: str, *args: Node) -> Node:
    if all(isinstance(a, Const) for a in args) and function not in ("sign", "cvd_t"):
        folded = _fold(_NUMPY[function], *(a.value for a in args if isinstance(a, Const)))
        if folded is not None:
            return folded
    return Call(function, args)


# ----------------------------------------------------------------- differentiation


def derivative(node: Node, index: int, _memo: dict[Node, Node] | None = None) -> Node:
    """The exact partial derivative of ``node`` with respect to variable ``index``."""
    memo = {} if _memo is None else _memo
    cached = memo.get(node)
    if cached is not None:
        return cached
    result = _derivative(node, index, memo)
    memo[node] = result
    return result


def _derivative(node: Node, i: int, memo: dict[Node, Node]) -> Node:
    def d(n: Node) -> Node:
        return derivative(n, i, memo)

    match node:
        case Const():
            return ZERO
        case Var(index=index):
            return ONE if index == i else ZERO
        case Add(left=a, right=b):
            return add(d(a), d(b))
        case Sub(left=a, right=b):
            return sub(d(a), d(b))
        case Neg(operand=a):
            return neg(d(a))
        case Mul(left=a, right=b):
            return add(mul(d(a), b), mul(a, d(b)))
        case Div(left=a, right=b):
            da, db = d(a), d(b)
            return sub(div(da, b), div(mul(a, db), power(b, TWO)))
        case Pow(base=a, exponent=Const(value=c)):
            return mul(mul(Const(c), power(a, Const(c - 1.0))), d(a))
        case Pow(base=a, exponent=b):
            # d(a**b) = a**b * (b' log a + b a'/a)
            return mul(node, add(mul(d(b), call("log", a)), div(mul(b, d(a)), a)))
        case Call(function=f, args=(a,)):
            da = d(a)
            if _is(da, 0.0):
                return ZERO
            return mul(_outer_derivative(f, a), da)
        case Call(function="atan2", args=(y, x)):
            dy, dx = d(y), d(x)
            return div(sub(mul(x, dy), mul(y, dx)), add(power(x, TWO), power(y, TWO)))
        case Call(function="cvd_t", args=args):
            total: Node = ZERO
            for partial, arg in zip(_cvd_partials(node), args, strict=True):
                darg = d(arg)
                if not _is(darg, 0.0):
                    total = add(total, mul(partial, darg))
            return total
    raise AssertionError(f"cannot differentiate {node!r}")  # pragma: no cover


def _cvd_partials(node: Call) -> tuple[Node, ...]:
    """The partial derivatives of ``t = cvd_t(R, R0, A, B, C)`` with respect to each of its
    arguments, by the implicit function theorem on ``R = R0·W(t)`` (IEC 60751 4.2)::

        W'(t) = A + 2Bt + C(4t³ − 300t²)·[t < 0]
        ∂t/∂R = 1/(R0 W'),  ∂t/∂R0 = −R/(R0² W'),  ∂t/∂A = −t/W',
        ∂t/∂B = −t²/W',     ∂t/∂C = −(t − 100)t³·[t < 0]/W'

    Written with the node ``t`` itself, so the slope is taken on the branch the reading is
    on, and a second derivative is exact as well."""
    r, r0, a, b, c = node.args
    t = node
    below = call("below_zero", t)
    slope = add(
        add(a, mul(mul(TWO, b), t)),
        mul(
            mul(c, below),
            sub(mul(Const(4.0), power(t, Const(3.0))), mul(Const(300.0), power(t, TWO))),
        ),
    )
    quartic = mul(below, mul(sub(t, Const(100.0)), power(t, Const(3.0))))
    return (
        div(ONE, mul(r0, slope)),
        neg(div(r, mul(power(r0, TWO), slope))),
        neg(div(t, slope)),
        neg(div(power(t, TWO), slope)),
        neg(div(quartic, slope)),
    )


def _outer_derivative(function: str, a: Node) -> Node:
    match function:
        case "sqrt":
            return div(Const(0.5), call("sqrt", a))
        case "exp":
            return call("exp", a)
        case "log":
            return div(ONE, a)
        case "log10":
            return div(Const(1.0 / math.log(10.0)), a)
        case "sin":
            return call("cos", a)
        case "cos":
            return neg(call("sin", a))
        case "tan":
            return add(ONE, power(call("tan", a), TWO))
        case "asin":
            return div(ONE, call("sqrt", sub(ONE, power(a, TWO))))
        case "acos":
            return neg(div(ONE, call("sqrt", sub(ONE, power(a, TWO)))))
        case "atan":
            return div(ONE, add(ONE, power(a, TWO)))
        case "abs":
            return call("sign", a)
        case "sign" | "below_zero":
            return ZERO
    raise AssertionError(f"no derivative for {function}")  # pragma: no cover


def variables(node: Node) -> frozenset[int]:
    """Indices of the variables a tree depends on."""
    if isinstance(node, Var):
        return frozenset((node.index,))
    out: frozenset[int] = frozenset()
    for child in node.children():
        out |= variables(child)
    return out


# ----------------------------------------------------------------------- compiling


def compile_node(node: Node) -> Compiled:
    """Turn a tree into a closure taking the variables' values by index.

    The closure works on floats and on numpy arrays alike (it uses numpy
    functions), so the same code serves GUM and Monte Carlo.
    """
    match node:
        case Const(value=v):
            c = np.float64(v)
            return lambda xs: c
        case Var(index=i):
            return lambda xs: xs[i]
        case Add(left=a, right=b):
            fa, fb = compile_node(a), compile_node(b)
            return lambda xs: fa(xs) + fb(xs)
        case Sub(left=a, right=b):
            fa, fb = compile_node(a), compile_node(b)
            return lambda xs: fa(xs) - fb(xs)
        case Mul(left=a, right=b):
            fa, fb = compile_node(a), compile_node(b)
            return lambda xs: fa(xs) * fb(xs)
        case Div(left=a, right=b):
            fa, fb = compile_node(a), compile_node(b)
            return lambda xs: fa(xs) / fb(xs)
        case Pow(base=a, exponent=Const(value=2.0)):
            fa = compile_node(a)
            return lambda xs: np.square(fa(xs))
        case Pow(base=a, exponent=Const(value=0.5)):
            fa = compile_node(a)
            return lambda xs: np.sqrt(fa(xs))
        case Pow(base=a, exponent=b):
            fa, fb = compile_node(a), compile_node(b)
            return lambda xs: np.power(fa(xs), fb(xs))
        case Neg(operand=a):
            fa = compile_node(a)
            return lambda xs: -fa(xs)
        case Call(function=f, args=(a,)):
            fn, fa = _NUMPY[f], compile_node(a)
            return lambda xs: fn(fa(xs))
        case Call(function=f, args=(a, b)):
            fn, fa, fb = _NUMPY[f], compile_node(a), compile_node(b)
            return lambda xs: fn(fa(xs), fb(xs))
        case Call(function=f, args=args):
            fn, fargs = _NUMPY[f], [compile_node(a) for a in args]
            return lambda xs: fn(*(fa(xs) for fa in fargs))
    raise AssertionError(f"cannot compile {node!r}")  # pragma: no cover


def to_text(node: Node) -> str:
    """A readable rendering of a tree (for messages and tests)."""
    match node:
        case Const(value=v):
            return repr(v)
        case Var(name=name):
            return name
        case Add(left=a, right=b):
            return f"({to_text(a)} + {to_text(b)})"
        case Sub(left=a, right=b):
            return f"({to_text(a)} - {to_text(b)})"
        case Mul(left=a, right=b):
            return f"{to_text(a)}*{to_text(b)}"
        case Div(left=a, right=b):
            return f"{to_text(a)}/{to_text(b)}"
        case Pow(base=a, exponent=b):
            return f"{to_text(a)}**{to_text(b)}"
        case Neg(operand=a):
            return f"-{to_text(a)}"
        case Call(function=f, args=args):
            return f"{f}({', '.join(to_text(a) for a in args)})"
    raise AssertionError(f"cannot render {node!r}")  # pragma: no cover


# ------------------------------------------------------------------------- parsing

_BINARY: Mapping[type[ast.operator], Callable[[Node, Node], Node]] = {
    ast.Add: add,
    ast.Sub: sub,
    ast.Mult: mul,
    ast.Div: div,
    ast.Pow: power,
}
_OPERATOR_TEXT: Mapping[type[ast.AST], str] = {
    ast.BitXor: "^ (write powers as **)",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Not: "not",
}


def parse_expression(text: str, names: Mapping[str, int], *, where: str) -> Node:
    """Parse ``text`` into a tree whose variables are indices into ``names``.

    Raises :class:`ExpressionError` naming the offending token for anything
    that is not a number, a known quantity, an allowed operator or function.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression must be a non-empty string", where=where)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters", where=where
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{column}: {exc.msg}", where=where) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply", where=where) from None
    return _Converter(text.strip(), names, where).convert(tree.body)


class _Converter:
    def __init__(self, text: str, names: Mapping[str, int], where: str) -> None:
        self.text = text
        self.names = names
        self.where = where

    def _token(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.text, node)
        return segment if segment is not None else type(node).__name__

    def _fail(self, message: str, node: ast.AST) -> ExpressionError:
        column = getattr(node, "col_offset", None)
        at = f" at column {column + 1}" if column is not None else ""
        return ExpressionError(f"{message}{at}", where=self.where)

    def convert(self, node: ast.AST) -> Node:
        try:
            return self._convert(node)
        except RecursionError:
            raise ExpressionError("the expression is nested too deeply", where=self.where) from None

    def _convert(self, node: ast.AST) -> Node:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self._fail(f"{self._token(node)!r} is not a number", node)
            number = float(value)
            if not math.isfinite(number):
                raise self._fail(f"the number {self._token(node)!r} is not finite", node)
            return Const(number)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return Var(self.names[node.id], node.id)
            if node.id in CONSTANTS:
                return Const(CONSTANTS[node.id])
            if node.id in FUNCTIONS:
                raise self._fail(f"function {node.id!r} must be called, e.g. {node.id}(x)", node)
            known = ", ".join(sorted(self.names)) or "none"
            raise self._fail(f"unknown name {node.id!r} (quantities: {known})", node)
        if isinstance(node, ast.BinOp):
            builder = _BINARY.get(type(node.op))
            if builder is None:
                text = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
                raise self._fail(f"operator {text} is not allowed", node)
            return builder(self._convert(node.left), self._convert(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return neg(self._convert(node.operand))
            if isinstance(node.op, ast.UAdd):
                return self._convert(node.operand)
            text = _OPERATOR_TEXT.get(type(node.op), type(node.op).__name__)
            raise self._fail(f"operator {text} is not allowed", node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self._fail(f"{self._token(node)!r} is not allowed in an expression", node)

    def _call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self._fail(f"{self._token(node.func)!r} is not an allowed function", node)
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            raise self._fail(f"function {name!r} is not allowed (allowed: {allowed})", node)
        if node.keywords:
            raise self._fail(f"{name}() takes no keyword arguments", node)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self._fail(f"{name}() takes no starred arguments", node)
        arity = FUNCTIONS[name]
        if len(node.args) != arity:
            raise self._fail(
                f"{name}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}",
                node,
            )
        return call(name, *(self._convert(a) for a in node.args))
