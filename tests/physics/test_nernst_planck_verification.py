"""Verification of Nernst-Planck/Poisson against exact answers (physics.md 5.1-5.3, 5.11).

- Gouy-Chapman: a z:z electrolyte against a wall at phi_0; the profile
  tanh(z phi / 4V_T) = tanh(z phi_0 / 4V_T) exp(-x / lambda_D) and Grahame's surface charge
  sqrt(8 eps RT c0) sinh(z phi_0 / 2V_T), z = 1 and 2, to 1e-3 on a graded mesh.
- A single mobile ion on a fixed background: the wall field sqrt(2) V_T / lambda_D
  sqrt(psi_0 + e^-psi_0 - 1) and stored charge eps E within 0.5 % up to psi_0 = 10.
- Blocking electrodes: the linear-regime profile (V/2) sinh(x/lambda_D)/sinh(L/lambda_D)
  (steady, both ions closed: their amounts are held) and the charging time lambda_D L / D.
- Manufactured solutions in 2D at lambda_D / L = 1, 1e-2, 1e-4, z = 1 and 2: L2 errors of
  the potential and both concentrations fall as h^2.
- Electroneutral limit: between two reservoirs the PNP solution tends to the electroneutral
  (Newman) one as lambda_D / L goes 1e-2 -> 1e-3 -> 1e-4.
"""

from __future__ import annotations

import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem

from sse_fem.mesh import build_mesh
from sse_fem.physics.base import Physics
from sse_fem.physics.nernst_planck import NernstPlanck
from sse_fem.problem import Problem, build_problem
from tests.physics.pnp_cases import (
    EPS0,
    FARADAY,
    V_T,
    debye_length,
    graded,
    pnp_case_1d,
    species,
)

pytestmark = pytest.mark.mpi


def solve_steady(case, extra: tuple[Physics, ...] = ()):
    """The steady solution of ``case``, with ``extra`` modules next to Nernst-Planck."""
    bundle = build_mesh(case, MPI.COMM_WORLD)
    if extra:
        problem = Problem(case, bundle, [NernstPlanck(case.physics.nernst_planck), *extra])
    else:
        problem = build_problem(case, bundle)
    ok, _, _ = problem.solve()
    assert ok
    return problem


def potential_error(problem, exact) -> float:
    """max |phi - exact(x)| over the potential's dofs (all ranks) [V]."""
    u = problem.unknown("phi").u
    x = u.function_space.tabulate_dof_coordinates()[:, 0]
    local = float(np.abs(u.x.array - exact(x)).max(initial=0.0))
    return MPI.COMM_WORLD.allreduce(local, op=MPI.MAX)


@pytest.mark.parametrize("z", [1, 2])
def test_gouy_chapman(z):
    c0, eps_r, phi0 = 10.0, 10.0, 0.1  # phi0 = 3.9 V_T: z phi0 / V_T = 3.9 and 7.8
    lam = debye_length(eps_r, 2 * z**2 * c0)
    names = ("A+", "B-") if z == 1 else ("A2+", "B2-")
    case = pnp_case_1d(
        40 * lam,
        [species(names[0], z, c0), species(names[1], -z, c0)],
        [
            {"name": "bottom", "potential": f"{phi0} V"},
            {
                "name": "top",
                "potential": "0 V",
                "concentration": {n: f"{c0} mol/m^3" for n in names},
            },
        ],
        eps_r=eps_r,
        mesh=graded(lam, 1 / 200, 1 / 2, 10),
    )
    problem = solve_steady(case)

    def exact(x):
        return 4 * V_T / z * np.arctanh(np.tanh(z * phi0 / (4 * V_T)) * np.exp(-x / lam))

    assert potential_error(problem, exact) / phi0 < 1e-3
    (module,) = problem.modules
    charge = module.surface_charges(problem)["bottom"]
    grahame = math.sqrt(8 * eps_r * EPS0 * 8.314462618 * 298.15 * c0) * math.sinh(
        z * phi0 / (2 * V_T)
    )
    assert charge == pytest.approx(grahame, rel=1e-3)
    assert abs(module.surface_charges(problem)["top"]) < 1e-6 * grahame


@pytest.mark.parametrize("psi0", [1.0, 5.0, 10.0, -5.0])
def test_single_ion_space_charge_layer(psi0):
    """Li+ on a fixed anion framework (t+ = 1): depletion (psi0 > 0) and accumulation."""
    c0, eps_r = 1000.0, 20.0
    lam = debye_length(eps_r, c0)
    case = pnp_case_1d(
        60 * lam,
        [species("Li+", 1, c0)],
        [
            {"name": "bottom", "potential": f"{psi0 * V_T} V"},
            {"name": "top", "potential": "0 V", "concentration": {"Li+": f"{c0} mol/m^3"}},
        ],
        eps_r=eps_r,
        mesh=graded(lam, 1 / 100, 1, 10),
        fixed_charge=[
            {"regions": ["electrolyte"], "concentration": f"{c0} mol/m^3", "charge_number": -1}
        ],
    )
    problem = solve_steady(case)
    (module,) = problem.modules
    field = math.sqrt(2) * V_T / lam * math.sqrt(psi0 + math.exp(-psi0) - 1)
    charge = module.surface_charges(problem)["bottom"]
    assert charge == pytest.approx(math.copysign(eps_r * EPS0 * field, psi0), rel=5e-3)
    low, high = module.concentration_range(problem, module.ions[0])
    assert low > 0
    if psi0 > 0:  # depleted at the wall to c0 exp(-psi0)
        assert low == pytest.approx(c0 * math.exp(-psi0), rel=1e-6)


BLOCKING_C0, BLOCKING_EPS, BLOCKING_D = 10.0, 10.0, 1e-11


def blocking_case(half_width_debye: float, drive: str, time: dict | None = None):
    lam = debye_length(BLOCKING_EPS, 2 * BLOCKING_C0)
    half = half_width_debye * lam
    ions = [
        species("Li+", 1, BLOCKING_C0, BLOCKING_D),
        species("X-", -1, BLOCKING_C0, BLOCKING_D),
    ]
    case = pnp_case_1d(
        2 * half,
        ions,
        [{"name": "bottom", "potential": drive}, {"name": "top", "potential": "0 V"}],
        eps_r=BLOCKING_EPS,
        mesh=graded(lam, 1 / 20, half_width_debye / 20, half_width_debye / 4),
        refine_at=("bottom", "top"),
        time=time,
    )
    return case, lam, half


def test_blocking_electrodes_linear_profile():
    """Steady, both ions closed (their amounts held): V = 0.1 V_T across 2L = 40 lambda_D."""
    volts = 0.1 * V_T
    case, lam, half = blocking_case(20, f"{volts} V")
    problem = solve_steady(case)

    def exact(x):
        return volts / 2 - volts / 2 * np.sinh((x - half) / lam) / np.sinh(half / lam)

    # linearisation error ~ (V / 2V_T)^2 / 12 of the drop across each layer
    assert potential_error(problem, exact) / volts < 2e-3
    balance = problem.modules[0].conservation(problem)
    assert balance["balance_error"] < 1e-9


def test_blocking_electrodes_charging_time():
    """A voltage step of 0.1 V_T: the electrode charge approaches its steady value as
    1 - exp(-t / tau) with tau = lambda_D L / D (L the half-width, 100 lambda_D)."""
    volts = 0.1 * V_T
    lam = debye_length(BLOCKING_EPS, 2 * BLOCKING_C0)
    half = 100 * lam
    tau = lam * half / BLOCKING_D
    steady, *_ = blocking_case(100, f"{volts} V")
    reference = solve_steady(steady)
    q_final = reference.modules[0].surface_charges(reference)["bottom"]
    dt = tau / 50
    time = {
        "mode": "transient",
        "dt": f"{dt} s",
        "adaptive": False,
        "protocol": [{"mode": "voltage", "value": f"{volts} V", "duration": f"{3 * tau} s"}],
    }
    case, *_ = blocking_case(100, "terminal", time)
    problem = build_problem(case, build_mesh(case, MPI.COMM_WORLD))
    (module,) = problem.modules
    for c in problem.bdf:
        c.value = 0.0
    problem.initial.value = 1.0
    with problem.controller.at_rest():
        assert problem.solve()[0]
    problem.initialise_history()
    problem.initial.value = 0.0
    problem.controller.set_drive("voltage", volts)
    times, charges = [], []
    for n in range(150):
        problem.set_step(dt, 1 if n == 0 else 2)
        assert problem.solve()[0]
        assert module.conservation(problem)["balance_error"] < 1e-6
        times.append((n + 1) * dt)
        charges.append(module.surface_charges(problem)["bottom"])
        problem.accept_step(dt)
    t, q = np.array(times), np.array(charges)
    window = (t > 0.2 * tau) & (t < 2 * tau)
    slope = np.polyfit(t[window], np.log(q_final - q[window]), 1)[0]
    assert -1 / slope == pytest.approx(tau, rel=0.05)
    assert q[-1] == pytest.approx(q_final * (1 - math.exp(-3)), rel=0.05)


MMS_LENGTH, MMS_EPS = 1e-6, 10.0
MMS_D = {"A": 1e-12, "B": 2.5e-12}


def mms_exact(x, z: int, c0: float) -> dict[str, ufl.core.expr.Expr]:
    """Smooth fields on the square [0, L]^2 (X, Y scaled): constant on bottom (Y = 0) and
    top (Y = 1), zero normal derivative on the sides; charge not neutral."""
    X, Y = x[0] / MMS_LENGTH, x[1] / MMS_LENGTH
    pi = math.pi
    return {
        "phi": V_T * (Y + 0.5 * ufl.sin(pi * Y) * ufl.cos(pi * X)),
        "A": c0 * (1 + 0.4 * Y + 0.3 * ufl.sin(pi * Y) * ufl.cos(pi * X)),
        "B": c0 * (1 - 0.2 * Y + 0.3 * ufl.sin(pi * Y) * ufl.cos(2 * pi * X)),
    }


class ManufacturedSources(Physics):
    """Provides the ion sources -div N_i(exact) and the charge density
    -eps lap phi - F sum z_i c_i that make ``mms_exact`` the exact steady solution."""

    name = "sources"

    def __init__(self, z: int, c0: float, names: dict[str, str]) -> None:
        self.z, self.c0, self.names = z, c0, names

    def declare(self, problem) -> None:
        msh = problem.bundle.mesh
        ex = mms_exact(ufl.SpatialCoordinate(msh), self.z, self.c0)
        dx = problem.bundle.dx()(metadata={"quadrature_degree": 6})
        eps = MMS_EPS * EPS0
        charge = self.z * (ex["A"] - ex["B"])
        problem.provide(
            "charge_density.manufactured",
            -eps * ufl.div(ufl.grad(ex["phi"])) - FARADAY * charge,
            "C/m^3",
            self.name,
            dx,
        )
        for key, z in (("A", self.z), ("B", -self.z)):
            flux = -MMS_D[key] * (ufl.grad(ex[key]) + z * ex[key] * ufl.grad(ex["phi"]) / V_T)
            problem.provide(
                f"ion_source.{self.names[key]}", ufl.div(flux), "mol/(m^3 s)", self.name, dx
            )


def mms_errors(z: int, ratio: float, size: float) -> tuple[float, float, float]:
    """Relative L2 errors of phi, c_A, c_B at lambda_D / L = ``ratio`` and cell size ``size``
    (fraction of L)."""
    c0 = MMS_EPS * EPS0 * 8.314462618 * 298.15 / (FARADAY**2 * 2 * z**2 * (ratio * MMS_LENGTH) ** 2)
    names = {"A": "A+" if z == 1 else "A2+", "B": "B-" if z == 1 else "B2-"}
    case = pnp_case_1d(
        MMS_LENGTH,
        [
            species(names["A"], z, c0, MMS_D["A"]),
            species(names["B"], -z, c0, MMS_D["B"]),
        ],
        [
            {
                "name": "bottom",
                "potential": "0 V",
                "concentration": {names["A"]: f"{c0} mol/m^3", names["B"]: f"{c0} mol/m^3"},
            },
            {
                "name": "top",
                "potential": f"{V_T} V",
                "concentration": {
                    names["A"]: f"{1.4 * c0} mol/m^3",
                    names["B"]: f"{0.8 * c0} mol/m^3",
                },
            },
        ],
        eps_r=MMS_EPS,
        mesh={"size": f"{size * MMS_LENGTH} m"},
        dimension=2,
    )
    problem = solve_steady(case, (ManufacturedSources(z, c0, names),))
    (module, _) = problem.modules
    msh = module.sub.mesh
    ex = mms_exact(ufl.SpatialCoordinate(msh), z, c0)
    dx = ufl.dx(msh, metadata={"quadrature_degree": 6})
    fields = {"phi": module.phi}
    for key, ion in zip(("A", "B"), module.ions, strict=True):
        fields[key] = ion.concentration(ion.u)
    out = []
    for key in ("phi", "A", "B"):
        err = fem.assemble_scalar(fem.form((fields[key] - ex[key]) ** 2 * dx))
        ref = fem.assemble_scalar(fem.form(ex[key] ** 2 * dx))
        out.append(math.sqrt(MPI.COMM_WORLD.allreduce(err) / MPI.COMM_WORLD.allreduce(ref)))
    return tuple(out)


@pytest.mark.parametrize("z", [1, 2])
@pytest.mark.parametrize("ratio", [1.0, 1e-2, 1e-4])
def test_manufactured_solution_rates(z, ratio):
    sizes = (1 / 8, 1 / 16, 1 / 32)
    errors = np.array([mms_errors(z, ratio, h) for h in sizes])
    rates = np.log(errors[:-1] / errors[1:]) / math.log(2)
    assert rates.min() > 1.8, f"L2 rates {rates} (errors {errors})"


def electroneutral_deviation(ratio: float) -> float:
    """max |phi_PNP - phi_EN| / dV between reservoirs c0 (x = 0, phi = 0) and 3 c0
    (x = L, phi = dV) at lambda_D(c0) / L = ``ratio``; the electroneutral (Newman) solution
    is c = c0 (1 + 2x/L), phi = dV ln(c/c0) / ln 3 whatever the diffusivities."""
    length, eps_r, volts = 1e-6, 10.0, 2 * V_T
    c0 = eps_r * EPS0 * 8.314462618 * 298.15 / (FARADAY**2 * 2 * (ratio * length) ** 2)
    reservoir = {"A+": f"{c0} mol/m^3", "B-": f"{c0} mol/m^3"}
    case = pnp_case_1d(
        length,
        [species("A+", 1, c0, 1e-12), species("B-", -1, c0, 3e-12)],
        [
            {"name": "bottom", "potential": "0 V", "concentration": reservoir},
            {
                "name": "top",
                "potential": f"{volts} V",
                "concentration": {"A+": f"{3 * c0} mol/m^3", "B-": f"{3 * c0} mol/m^3"},
            },
        ],
        eps_r=eps_r,
        mesh={"size": f"{length / 2000} m"},
    )
    problem = solve_steady(case)

    def exact(x):
        return volts * np.log(1 + 2 * x / length) / math.log(3)

    return potential_error(problem, exact) / volts


def test_electroneutral_limit():
    """The deviation shrinks as (lambda_D / L)^2 (measured: 3.0e-4, 3.5e-6, 4.3e-8)."""
    deviations = [electroneutral_deviation(r) for r in (1e-2, 1e-3, 1e-4)]
    assert deviations[0] < 1e-3
    assert deviations[0] > 50 * deviations[1] > 2500 * deviations[2]
