"""Restricted arithmetic expressions of named variables, read from case files and the library.

``Expression("4.4875 - 0.809*x - 0.0428*tanh(18.5138*(x - 0.5542))")`` is parsed with
:mod:`ast` and checked node by node; nothing is ever passed to ``eval``. Allowed: int and float
literals, the declared variables (default ``x``), the constants ``pi`` and ``e``, binary
``+ - * / **``, unary ``+ -`` and calls of the functions in ``FUNCTIONS``. The text is at most
``MAX_CHARS`` characters, ``MAX_NODES`` operands and operations, ``MAX_DEPTH`` levels deep, and
arithmetic on literals alone is folded once at parse time with a finiteness check (so
``9**9**9`` is refused at once instead of computed). One walker evaluates the checked tree with
numpy functions (:meth:`Expression.numpy`) or with UFL functions (:meth:`Expression.ufl`), so
the two cannot drift apart.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from sse_fem.errors import CaseError
from sse_fem.units import short_repr

#: Longest expression text read, in characters.
MAX_CHARS = 1000
#: Most operands and operations (AST expression nodes) in one expression.
MAX_NODES = 300
#: Deepest nesting of operations.
MAX_DEPTH = 40

#: Allowed function name -> number of arguments.
FUNCTIONS: dict[str, int] = {
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "tanh": 1,
    "sinh": 1,
    "cosh": 1,
    "sin": 1,
    "cos": 1,
    "arctan": 1,
    "atan": 1,
    "abs": 1,
    "min": 2,
    "max": 2,
}
#: Named constants.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_UNARY: dict[type[ast.unaryop], str] = {ast.UAdd: "+", ast.USub: "-"}
_REFUSED_OPERATORS: dict[type, str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitXor: "^ (write ** for a power)",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Not: "not",
    ast.Invert: "~",
}
_CONSTRUCTS: dict[type, str] = {
    ast.Attribute: "attribute access (a.b)",
    ast.Subscript: "indexing (a[i])",
    ast.Slice: "slicing",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Lambda: "lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "an assignment (:=)",
    ast.Starred: "a starred argument (*a)",
    ast.JoinedStr: "a string",
    ast.FormattedValue: "a string",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def _numpy_functions() -> dict[str, Callable[..., Any]]:
    return {
        "exp": np.exp,
        "log": np.log,
        "sqrt": np.sqrt,
        "tanh": np.tanh,
        "sinh": np.sinh,
        "cosh": np.cosh,
        "sin": np.sin,
        "cos": np.cos,
        "arctan": np.arctan,
        "atan": np.arctan,
        "abs": np.abs,
        "min": np.minimum,
        "max": np.maximum,
        "**": np.power,
    }


def _ufl_functions() -> dict[str, Callable[..., Any]]:
    import ufl

    return {
        "exp": ufl.exp,
        "log": ufl.ln,
        "sqrt": ufl.sqrt,
        "tanh": ufl.tanh,
        "sinh": ufl.sinh,
        "cosh": ufl.cosh,
        "sin": ufl.sin,
        "cos": ufl.cos,
        "arctan": ufl.atan,
        "atan": ufl.atan,
        "abs": abs,
        "min": ufl.min_value,
        "max": ufl.max_value,
        "**": lambda a, b: a**b,
    }


def _binary(op: str, a: Any, b: Any, power: Callable[[Any, Any], Any]) -> Any:
    """``a op b`` (``power`` for ``**``): the one arithmetic of folding and evaluating."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return power(a, b)


def _fold(op: str, a: float, b: float) -> float:
    """``a op b`` for two literals (floats: Python int powers of big ints never finish)."""
    return _binary(op, a, b, math.pow)


def _show(value: float) -> str:
    return f"({value:g})" if value < 0 else f"{value:g}"


class Expression:
    """A checked arithmetic expression of ``variables`` (default ``("x",)``).

    ``path`` is the case-file key path named in errors. Raises CaseError when the text is not
    allowed (what is refused, and what is allowed). Evaluate with :meth:`numpy` or :meth:`ufl`;
    the result carries whatever unit the text was written in.
    """

    def __init__(
        self, text: str, variables: Sequence[str] = ("x",), path: str = "expression"
    ) -> None:
        self.variables: tuple[str, ...] = tuple(variables)
        for v in self.variables:
            if not v.isidentifier() or v in FUNCTIONS or v in CONSTANTS:
                raise ValueError(f"{v!r} cannot be an expression variable")
        self.path = path
        if not isinstance(text, str):
            raise CaseError(f"expected an expression (a string), got {short_repr(text)}", path)
        if len(text) > MAX_CHARS:
            raise CaseError(f"an expression has at most {MAX_CHARS} characters", path)
        self.text: str = text.strip()
        if not self.text:
            raise CaseError(f"the expression is empty; {self._allowed()}", path)
        try:
            tree = ast.parse(self.text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
            reason = getattr(err, "msg", None) or str(err) or type(err).__name__
            raise CaseError(
                f"cannot read {short_repr(self.text)} as an expression ({reason}); "
                f"{self._allowed()}",
                path,
            ) from None
        self._check_size(tree.body)
        self._tree: ast.expr = self._checked(tree.body)

    # ---------------------------------------------------------------- checking

    def _allowed(self) -> str:
        names = ", ".join(self.variables)
        return (
            f"allowed: numbers, the variable{'s' if len(self.variables) > 1 else ''} {names}, "
            f"the constants pi and e, + - * / ** and parentheses, and the functions "
            f"{', '.join(f'{f}(a, b)' if n == 2 else f for f, n in FUNCTIONS.items())}"
        )

    def _refuse(self, what: str) -> CaseError:
        return CaseError(
            f"{what} is not allowed in an expression ({short_repr(self.text)}); {self._allowed()}",
            self.path,
        )

    def _check_size(self, root: ast.expr) -> None:
        """Count expression nodes and measure nesting depth without recursion (the tree is
        unchecked). The left operand of a binary operation stays on its level, so a long sum
        of terms is not deep; MAX_NODES bounds the walkers' recursion anyway."""
        count = 0
        stack: list[tuple[ast.AST, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, ast.expr):
                count += 1
                if count > MAX_NODES:
                    raise CaseError(
                        f"the expression is too long: at most {MAX_NODES} numbers, names and "
                        "operations",
                        self.path,
                    )
                if depth > MAX_DEPTH:
                    raise CaseError(
                        f"the expression is nested deeper than {MAX_DEPTH} levels", self.path
                    )
            for child in ast.iter_child_nodes(node):
                # a chain a + b - c + ... leans left: one level, however many terms
                chained = isinstance(node, ast.BinOp) and child is node.left
                stack.append((child, depth if chained else depth + 1))

    def _literal(self, value: object) -> ast.Constant:
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "a string" if isinstance(value, str | bytes) else short_repr(value)
            raise self._refuse(what)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise CaseError(
                f"{short_repr(value)} is not a finite number (in {short_repr(self.text)})",
                self.path,
            )
        return ast.Constant(number)

    def _checked(self, node: ast.expr) -> ast.expr:
        """A copy of ``node`` with only allowed nodes; literal arithmetic folded and checked."""
        if isinstance(node, ast.Constant):
            return self._literal(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return ast.Name(node.id, ast.Load())
            if node.id in CONSTANTS:
                return ast.Constant(CONSTANTS[node.id])
            if node.id in FUNCTIONS:
                raise self._refuse(f"{node.id!r} without an argument list")
            raise self._refuse(f"the name {node.id!r}")
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise self._refuse(f"the operator {_REFUSED_OPERATORS.get(type(node.op), '?')}")
            operand = self._checked(node.operand)
            if isinstance(operand, ast.Constant) and isinstance(node.op, ast.USub):
                return ast.Constant(-cast(float, operand.value))
            if isinstance(node.op, ast.UAdd):
                return operand
            return ast.UnaryOp(ast.USub(), operand)
        if isinstance(node, ast.BinOp):
            op = _OPERATORS.get(type(node.op))
            if op is None:
                raise self._refuse(
                    f"the operator {_REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)}"
                )
            left, right = self._checked(node.left), self._checked(node.right)
            if isinstance(left, ast.Constant) and isinstance(right, ast.Constant):
                return self._folded(op, cast(float, left.value), cast(float, right.value))
            return ast.BinOp(left, node.op, right)
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                if name is not None:
                    raise self._refuse(f"calling {name!r}")
                callee = _CONSTRUCTS.get(type(node.func), type(node.func).__name__)
                raise self._refuse(f"calling the result of {callee}")
            if node.keywords:
                raise self._refuse(f"a keyword argument in {name}()")
            if len(node.args) != FUNCTIONS[name]:
                raise CaseError(
                    f"{name}() takes {FUNCTIONS[name]} argument"
                    f"{'s' if FUNCTIONS[name] > 1 else ''}, got {len(node.args)} "
                    f"(in {short_repr(self.text)})",
                    self.path,
                )
            args = [self._checked(a) for a in node.args]  # a Starred argument is refused here
            return ast.Call(ast.Name(name, ast.Load()), args, [])
        what = _CONSTRUCTS.get(type(node), type(node).__name__)
        raise self._refuse(what)

    def _folded(self, op: str, a: float, b: float) -> ast.Constant:
        try:
            value = _fold(op, a, b)
        except (OverflowError, ZeroDivisionError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            raise CaseError(
                f"{_show(a)} {op} {_show(b)} is not a finite number (overflow, division by "
                f"zero or a root of a negative number) in {short_repr(self.text)}",
                self.path,
            )
        return ast.Constant(value)

    # ---------------------------------------------------------------- evaluation

    def _evaluate(self, node: ast.expr, env: Mapping[str, Any], fns: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            return -self._evaluate(node.operand, env, fns)
        if isinstance(node, ast.BinOp):
            a = self._evaluate(node.left, env, fns)
            b = self._evaluate(node.right, env, fns)
            return _binary(_OPERATORS[type(node.op)], a, b, fns["**"])
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return fns[node.func.id](*(self._evaluate(a, env, fns) for a in node.args))

    def _values(self, values: Mapping[str, Any]) -> None:
        if set(values) != set(self.variables):
            raise TypeError(
                f"expression {self.text!r} takes the variables {self.variables}, "
                f"got {tuple(values)}"
            )

    def numpy(self, **values: float | ArrayLike) -> np.ndarray:
        """Value for numbers or arrays of the variables (broadcast together); nan or inf
        where the expression is not defined (no warnings)."""
        self._values(values)
        arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
        with np.errstate(all="ignore"):
            out = np.asarray(self._evaluate(self._tree, arrays, _numpy_functions()), dtype=float)
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        return np.array(np.broadcast_to(out, shape), dtype=float)

    def ufl(self, **values: Any) -> Any:
        """The same expression as UFL, the variables given as UFL expressions."""
        self._values(values)
        return self._evaluate(self._tree, values, _ufl_functions())

    def check_finite(
        self, samples: ArrayLike | Mapping[str, ArrayLike] | None = None, what: str = ""
    ) -> None:
        """CaseError (naming ``path``) when the expression is not finite at the samples.

        ``samples``: values of the single variable, or a mapping variable -> values; default
        201 points on [0, 1] for each variable. ``what`` describes the sample range in the
        message (e.g. "on the valid range [0.3, 0.9]").
        """
        if samples is None:
            grid = np.linspace(0.0, 1.0, 201)
            samples = dict.fromkeys(self.variables, grid)
        if not isinstance(samples, Mapping):
            if len(self.variables) != 1:
                raise TypeError("give the samples of several variables as a mapping")
            samples = {self.variables[0]: samples}
        arrays = {k: np.asarray(v, dtype=float) for k, v in samples.items()}
        values = self.numpy(**arrays)
        bad = ~np.isfinite(values)
        if bad.any():
            flat = np.flatnonzero(bad)[0]
            index = np.unravel_index(flat, values.shape)
            where = ", ".join(
                f"{k} = {float(np.broadcast_to(a, values.shape)[index]):.6g}"
                for k, a in arrays.items()
            )
            raise CaseError(
                f"{short_repr(self.text)} is not finite at {where} "
                f"(gives {values[index]}){' ' + what if what else ''}",
                self.path,
            )

    # ---------------------------------------------------------------- identity

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return (self.text, self.variables) == (other.text, other.variables)

    def __hash__(self) -> int:
        return hash((self.text, self.variables))
