"""The problem core: modules satisfy the protocol, parameters are Constants (a new value never
recompiles), linear problems take one linear solve, the controller is found by capability."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sse_fem.mesh import build_mesh
from sse_fem.physics import MODULES
from sse_fem.physics.base import Controller, Physics
from sse_fem.problem import Problem, build_problem
from tests.physics.helpers import symmetric_case

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("key", sorted(MODULES))
def test_every_registered_module_satisfies_the_protocol(key):
    cls = MODULES[key]
    assert issubclass(cls, Physics) and cls.name == key
    hooks = ("declare", "residual", "dirichlet", "validate", "observe", "conservation")
    for hook in (*hooks, "output_functions", "finalize"):
        assert callable(getattr(cls, hook))


def test_conduction_is_the_controller_found_by_capability():
    case = symmetric_case(1)
    problem = build_problem(case, build_mesh(case))
    assert isinstance(problem.controller, Controller)
    assert problem.controller is problem.modules[0]
    problem.close()


SIGNATURES = """
from mpi4py import MPI
import sys
from sse_fem.mesh import build_mesh
from sse_fem.problem import build_problem
from tests.physics.helpers import symmetric_case
case = symmetric_case(1)
for spec in case.interfaces.conduction:
    spec.exchange_current_density = float(sys.argv[1])
problem = build_problem(case, build_mesh(case))
assert problem.solve()[0]
print(" ".join(b.signature() for b in problem.blocks if b is not None))
problem.close()
"""


def _signatures(i0: float) -> str:
    """Form signatures (the JIT cache keys) of a fresh run with exchange current i0."""
    out = subprocess.run(
        [sys.executable, "-c", SIGNATURES, str(i0)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def test_new_parameter_values_never_recompile():
    """Five runs with five exchange currents compile one set of forms: the signatures (the
    JIT cache keys) do not depend on parameter values, which live in fem.Constants."""
    first = _signatures(10.0)
    for i0 in (1.0, 3.0, 30.0, 100.0):
        assert _signatures(i0) == first


def test_a_problem_built_again_in_one_process_has_the_same_forms():
    """UFL sorts operands by their text, counts included ("c_26" before "c_5"): each problem
    numbers its constants afresh, so an in-process sweep compiles its forms once."""
    signatures = []
    for i0 in (10.0, 1.0, 3.0):
        case = symmetric_case(1)
        for spec in case.interfaces.conduction:
            spec.exchange_current_density = i0
        problem = build_problem(case, build_mesh(case))
        signatures.append([b.signature() for b in problem.blocks if b is not None])
        problem.close()
    assert signatures[0] == signatures[1] == signatures[2]


def test_parameters_are_constants_changed_in_place():
    case = symmetric_case(1)
    problem = build_problem(case, build_mesh(case))
    conduction = problem.modules[0]
    voltages = []
    for i0 in (10.0, 1.0):
        for iface in conduction.interfaces:
            iface.law.i0.value = i0
        assert problem.solve()[0]
        voltages.append(conduction.observe(problem)["voltage_V"])
    assert voltages[1] > voltages[0] + 0.05  # slower kinetics: larger overpotential
    problem.close()


def test_linear_problem_takes_one_linear_solve():
    case = symmetric_case(
        2,
        {
            "interfaces": {"conduction": []},
            "boundary_conditions": {
                "conduction": [
                    {"name": "bottom", "type": "potential", "value": "10 mV"},
                    {"name": "top", "type": "ground"},
                ]
            },
            "regions": [
                {"name": "anode", "material": "llzo"},
                {"name": "electrolyte", "material": "llzo"},
                {"name": "cathode", "material": "llzo"},
            ],
        },
    )
    problem = build_problem(case, build_mesh(case))
    assert problem.linear and problem.one_solve
    assert problem.petsc_options["snes_type"] == "ksponly"
    ok, its, _ = problem.solve()
    assert ok and its == 1
    balance = problem.conservation()["conduction"]
    assert balance["balance_error"] < 1e-9
    problem.close()


def test_nonlinear_kinetics_are_detected():
    case = symmetric_case(1)
    problem = Problem(case, build_mesh(case), [MODULES["conduction"](case.physics.conduction)])
    assert not problem.linear and problem.petsc_options["snes_type"] == "newtonls"
    problem.close()


class _Faulty(Physics):
    """A module whose Newton-step hook has a bug."""

    name = "faulty"

    def step_fraction(self, problem, step):
        raise RuntimeError("bug in a step hook")


def test_an_exception_in_a_solver_callback_is_raised_not_taken_for_divergence():
    case = symmetric_case(1)
    conduction = MODULES["conduction"](case.physics.conduction)
    problem = Problem(case, build_mesh(case), [conduction, _Faulty()])
    with pytest.raises(RuntimeError, match="bug in a step hook"):
        problem.solve()
    problem.close()
