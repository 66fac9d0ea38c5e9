"""The restricted expression parser: numpy and UFL agree, everything outside the grammar is
refused with a CaseError naming the key path, and no input makes it compute for long."""

from __future__ import annotations

import math
import time

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.errors import CaseError
from sse_fem.expressions import FUNCTIONS, MAX_CHARS, MAX_DEPTH, MAX_NODES, Expression

PATH = "materials.cathode.open_circuit_potential.expression"

#: one expression per allowed function (and the operators), with its numpy reference
CASES: dict[str, object] = {
    "3e-15 * exp(-2*x)": lambda x: 3e-15 * np.exp(-2 * x),
    "log(x) + 1": lambda x: np.log(x) + 1,
    "sqrt(x) / 2": lambda x: np.sqrt(x) / 2,
    "4.4875 - 0.809*x - 0.0428*tanh(18.5138*(x - 0.5542))": lambda x: (
        4.4875 - 0.809 * x - 0.0428 * np.tanh(18.5138 * (x - 0.5542))
    ),
    "sinh(x) - cosh(2*x)": lambda x: np.sinh(x) - np.cosh(2 * x),
    "sin(pi*x) + cos(e*x)": lambda x: np.sin(np.pi * x) + np.cos(np.e * x),
    "arctan(x) + atan(2*x)": lambda x: np.arctan(x) + np.arctan(2 * x),
    "abs(x - 0.5)": lambda x: np.abs(x - 0.5),
    "min(x, 0.4) + max(x, 0.6)": lambda x: np.minimum(x, 0.4) + np.maximum(x, 0.6),
    "-x**2 + +x**0.5 - 2**-1": lambda x: -(x**2) + x**0.5 - 0.5,
    "(1 - x)**1.3198 * 10 / 3": lambda x: (1 - x) ** 1.3198 * 10 / 3,
    "2**x + x**3": lambda x: 2**x + x**3,
}


@pytest.mark.parametrize("text", list(CASES))
def test_numpy_matches_reference(text):
    x = np.linspace(0.05, 0.95, 7)
    reference = CASES[text](x)  # type: ignore[operator]
    assert Expression(text).numpy(x=x) == pytest.approx(reference, rel=1e-14, abs=1e-300)


def test_every_allowed_function_is_exercised():
    used = {f for text in CASES for f in FUNCTIONS if f"{f}(" in text}
    assert used == set(FUNCTIONS)


def test_ufl_matches_numpy():
    """All expressions evaluated by one compiled dolfinx Expression at several x."""
    import ufl
    from dolfinx import fem, mesh

    msh = mesh.create_unit_interval(MPI.COMM_SELF, 1)
    x = fem.Constant(msh, 0.0)
    exprs = [Expression(t) for t in CASES]
    vector = ufl.as_vector([e.ufl(x=x) for e in exprs])
    compiled = fem.Expression(vector, np.array([[0.5]]))
    cells = np.array([0], dtype=np.int32)
    for value in (0.05, 0.3, 0.5, 0.77, 0.95):
        x.value = value
        got = compiled.eval(msh, cells).reshape(-1)
        want = [e.numpy(x=value) for e in exprs]
        assert got == pytest.approx(np.array(want, dtype=float).reshape(-1), rel=1e-12)


def test_numpy_shapes_and_several_variables():
    e = Expression("a * exp(-b) + 1", variables=("a", "b"))
    assert e.variables == ("a", "b")
    out = e.numpy(a=np.ones((2, 3)), b=0.0)
    assert out.shape == (2, 3) and np.all(out == 2.0)
    const = Expression("2*pi")
    assert const.numpy(x=np.zeros(4)) == pytest.approx(np.full(4, 2 * math.pi))
    with pytest.raises(TypeError):
        e.numpy(a=1.0)


def test_equality_and_repr():
    assert Expression("x + 1") == Expression(" x + 1 ")
    assert Expression("x + 1") != Expression("1 + x")
    assert "x + 1" in repr(Expression("x + 1"))


REFUSED = {
    "__import__('os')": "'__import__'",
    "__import__('os').system('ls')": "attribute",
    "x.__class__": "attribute",
    "[x]": "list",
    "(x, 1)": "tuple",
    "{x: 1}": "dict",
    "x[0]": "indexing",
    "[i for i in x]": "comprehension",
    "lambda: 1": "lambda",
    "open('f')": "'open'",
    "exp(x=1)": "keyword",
    "exp(*x)": "starred",
    "y": "'y'",
    "'abc'": "string",
    "f'{x}'": "string",
    "x < 1": "comparison",
    "x and 1": "and/or",
    "1 if x else 0": "if/else",
    "x % 2": "%",
    "x // 2": "//",
    "x ^ 2": "write **",
    "~x": "~",
    "True": "True",
    "1j": "1j",
    "exp": "argument list",
    "exp(x, 2)": "takes 1 argument",
    "min(x)": "takes 2 arguments",
    "(y := 2)": "assignment",
    "x +": "cannot read",
    "": "empty",
}


@pytest.mark.parametrize("text", list(REFUSED))
def test_refused_constructs_name_path_and_allowed(text):
    with pytest.raises(CaseError) as info:
        Expression(text, path=PATH)
    message = str(info.value)
    assert message.startswith(PATH + ":"), message
    assert REFUSED[text] in message, message
    assert info.value.path == PATH


def test_refusal_lists_what_is_allowed():
    with pytest.raises(CaseError, match=r"allowed: numbers, the variable x.*exp, log"):
        Expression("open('f')", path=PATH)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("9**9**9", "not a finite number"),
        ("10.0**400 * x", "not a finite number"),
        ("1e308 * 10 + x", "not a finite number"),
        ("1/0", "not a finite number"),
        ("(-8)**(1/3)", "not a finite number"),
        ("1e999", "not a finite number"),
        ("1" + "0" * 400, "not a finite number"),
        ("x + " * 300 + "x", "at most"),
        ("x" * (MAX_CHARS + 1000), f"at most {MAX_CHARS} characters"),
        ("-" * (MAX_DEPTH + 5) + "x", f"deeper than {MAX_DEPTH}"),
        ("exp(" * 45 + "x" + ")" * 45, f"deeper than {MAX_DEPTH}"),
        ("(" * 300 + "x" + ")" * 300, "cannot read"),
        ("-" * 990 + "x", "deeper"),
        ("+".join(["x"] * (MAX_NODES + 1)), f"at most {MAX_NODES}"),
    ],
)
def test_limits_refuse_quickly(text, match):
    start = time.perf_counter()
    with pytest.raises(CaseError, match=match) as info:
        Expression(text, path=PATH)
    assert time.perf_counter() - start < 1.0
    assert info.value.path == PATH


def test_long_sums_are_not_deep():
    text = " + ".join(f"{k + 1}*x**{k}" for k in range(45))
    assert Expression(text).numpy(x=0.5) == pytest.approx(sum((k + 1) * 0.5**k for k in range(45)))


def test_literal_arithmetic_is_folded_once():
    e = Expression("2**10 * x + 3*4")
    assert e.numpy(x=1.0) == pytest.approx(1036.0)
    assert Expression("2**0.5").numpy(x=0.0) == pytest.approx(math.sqrt(2))


def test_check_finite():
    Expression("log(x)").check_finite(np.linspace(0.1, 1.0, 11))
    with pytest.raises(CaseError, match=r"not finite at x = 0\b") as info:
        Expression("log(x)", path=PATH).check_finite()
    assert info.value.path == PATH
    with pytest.raises(CaseError, match="not finite"):
        Expression("1/(x - 0.5)", path=PATH).check_finite([0.4, 0.5, 0.6])
    with pytest.raises(CaseError, match="not finite"):
        Expression("exp(1000*x)", path=PATH).check_finite()


def test_non_string_and_bad_variables():
    with pytest.raises(CaseError, match="expected an expression"):
        Expression(3.0, path=PATH)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Expression("x", variables=("exp",))
