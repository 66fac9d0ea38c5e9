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

import csv
import math

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem
from scipy.optimize import brentq

from sse_fem.config import validate_case
from sse_fem.driver import run_case
from sse_fem.errors import CaseError
from sse_fem.mesh import build_mesh
from sse_fem.physics.base import Physics
from sse_fem.physics.nernst_planck import NernstPlanck
from sse_fem.problem import Problem, build_problem
from tests.physics.pnp_cases import (
    EPS0,
    FARADAY,
    OPEN,
    V_T,
    binary_cell_1d,
    close_problems,  # noqa: F401 - autouse fixture
    debye_length,
    framework,
    graded,
    pnp_case_1d,
    species,
    two_phase_case_1d,
)

#: the MPI group (``-m mpi``, also under mpirun -n 2 and 3) takes the cheap exact problems and
#: one of each family; the transient and multi-mesh runs stay serial (CI time)
PARALLEL = pytest.mark.mpi


def built(case, extra: tuple[Physics, ...] = ()) -> Problem:
    """``case``'s problem, with ``extra`` modules next to Nernst-Planck; closed after the
    test."""
    bundle = build_mesh(case, MPI.COMM_WORLD)
    if extra:
        problem = Problem(case, bundle, [NernstPlanck(case.physics.nernst_planck), *extra])
    else:
        problem = build_problem(case, bundle)
    OPEN.append(problem)
    return problem


def solve_steady(case, extra: tuple[Physics, ...] = ()) -> Problem:
    """The steady solution of ``case`` (see ``built``)."""
    problem = built(case, extra)
    ok, _, _ = problem.solve()
    assert ok
    return problem


def potential_error(problem, exact) -> float:
    """max |phi - exact(x)| over the potential's dofs (all ranks) [V]."""
    u = problem.unknown("phi").u
    x = u.function_space.tabulate_dof_coordinates()[:, 0]
    local = float(np.abs(u.x.array - exact(x)).max(initial=0.0))
    return MPI.COMM_WORLD.allreduce(local, op=MPI.MAX)


@PARALLEL
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


@PARALLEL
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
        fixed_charge=framework(c0),
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


@PARALLEL
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
    problem = built(case)
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
    msh = problem.bundle.mesh
    ex = mms_exact(ufl.SpatialCoordinate(msh), z, c0)
    dx = ufl.dx(msh, metadata={"quadrature_degree": 6})
    fields = {"phi": module.phi}
    for key, ion in zip(("A", "B"), module.ions, strict=True):
        fields[key] = module.concentration_at(problem, ion)
    out = []
    for key in ("phi", "A", "B"):
        err = fem.form((fields[key] - ex[key]) ** 2 * dx, entity_maps=problem.entity_maps)
        ref = fem.form(ex[key] ** 2 * dx)
        total = [MPI.COMM_WORLD.allreduce(fem.assemble_scalar(f)) for f in (err, ref)]
        out.append(math.sqrt(total[0] / total[1]))
    return tuple(out)


@pytest.mark.parametrize("z", [1, 2])
@pytest.mark.parametrize("ratio", [1.0, 1e-2, pytest.param(1e-4, marks=PARALLEL)])
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


@PARALLEL
@pytest.mark.parametrize("lattice", [False, True])
def test_equilibrium_interface_space_charge(lattice):
    """Two single-ion conductors in contact (Li+ on fixed backgrounds, eps_r 50 | 20,
    c0 2000 | 500 mol/m^3; dilute, or on lattices of 2 c0 | 1.5 c0 sites) with a step of mu0
    of 0.15 eV: the contact potential psi_b = (mu0_a - mu0_b)/RT + ln(c0_a/c0_b) (dilute;
    the logits of the occupancies on lattices) splits so that eps dpsi/dx is continuous, with
    the first integral on each side: lambda psi' = sign(p) sqrt(2 (p + e^-p - 1)) (dilute),
    sqrt(2 (p + c_max/c0 ln(1 - th0 + th0 e^-p))) (lattice, th0 = c0/c_max). The interface
    potential and the charge stored on each side match to 0.5 %."""
    gas, T = 8.314462618, 298.15
    rt = gas * T
    eps_r, c0 = (50.0, 20.0), (2000.0, 500.0)
    c_max = (2 * c0[0], 1.5 * c0[1]) if lattice else (None, None)
    mu0 = (0.0, 0.15 * FARADAY)  # J/mol: Li+ costs more in the electrolyte
    lam = [debye_length(e, c) for e, c in zip(eps_r, c0, strict=True)]
    lengths = (40 * lam[0], 40 * lam[1])
    mesh = graded(min(lam), 1 / 50, 2, 10)
    case = two_phase_case_1d(lengths, eps_r, c0, mu0, mesh, c_max)
    problem = solve_steady(case)
    (module,) = problem.modules

    def level(k: int) -> float:  # ln of c / c_ref, or the logit of the occupancy
        return math.log(c0[k] / (c_max[k] - c0[k])) if lattice else math.log(c0[k])

    psi_b = (mu0[0] - mu0[1]) / rt + level(0) - level(1)  # bulk b against bulk a (0)

    def g(p: float, k: int) -> float:  # lambda dpsi/dx at relative potential p, side k
        if lattice:
            th0 = c0[k] / c_max[k]
            inner = p + c_max[k] / c0[k] * math.log(1 - th0 + th0 * math.exp(-p))
        else:
            inner = p + math.exp(-p) - 1
        return math.copysign(math.sqrt(2 * inner), p)

    def mismatch(psi_i: float) -> float:  # eps dpsi/dx (a side) - eps dpsi/dx (b side)
        return eps_r[0] / lam[0] * g(psi_i, 0) + eps_r[1] / lam[1] * g(psi_i - psi_b, 1)

    psi_i = brentq(mismatch, min(0.0, psi_b), max(0.0, psi_b))
    u = problem.unknown("phi").u
    x = u.function_space.tabulate_dof_coordinates()[:, 0]
    at = np.abs(x - lengths[0]) < 1e-6 * lengths[0]
    local = [float(u.x.array[at][0])] if at.any() else []
    (phi_i,) = {v for vals in MPI.COMM_WORLD.allgather(local) for v in vals}
    assert phi_i / V_T == pytest.approx(psi_i, rel=5e-3)
    stored = eps_r[0] * EPS0 * V_T / lam[0] * g(psi_i, 0)  # charge per area in a's layer
    dx = problem.bundle.dx()
    ion = module.ions[0]
    for k, sign in ((0, -1.0), (1, 1.0)):
        tag = problem.bundle.regions[("cathode", "electrolyte")[k]]
        rho = FARADAY * (module.concentration_at(problem, ion) - c0[k])
        form = fem.form(rho * dx(tag), entity_maps=problem.entity_maps)
        charge = MPI.COMM_WORLD.allreduce(fem.assemble_scalar(form))
        assert charge == pytest.approx(sign * stored, rel=5e-3)


BINARY_C0, BINARY_D = 1000.0, (1e-12, 3e-12)  # t+ = 0.25, ambipolar D = 1.5e-12 m^2/s


def binary_parameters() -> tuple[float, float]:
    """(t+, ambipolar D [m^2/s]) of the binary salt."""
    d_plus, d_minus = BINARY_D
    return d_plus / (d_plus + d_minus), 2 * d_plus * d_minus / (d_plus + d_minus)


@pytest.mark.slow
def test_sand_time(shared_tmp):
    """Galvanostatic polarisation of a binary salt (1 um, lambda_D / L = 1e-4): the
    concentration at the plating wall falls as c0 - 2 (1 - t+) i sqrt(t / (pi D)) / (z F)
    (semi-infinite, the cell is 7 diffusion lengths thick at t_s), so its sqrt(t) slope
    gives Sand's time t_s = pi D (z F c0)^2 / (4 i^2 (1 - t+)^2) within 2 %."""
    length = 1e-6
    t_plus, d_amb = binary_parameters()
    t_sand = 0.02 * length**2 / d_amb
    i = FARADAY * BINARY_C0 / (2 * (1 - t_plus)) * math.sqrt(math.pi * d_amb / t_sand)
    time = {
        "mode": "transient",
        "t_end": f"{0.6 * t_sand} s",
        "dt": f"{1e-4 * t_sand} s",
        "dt_max": f"{t_sand / 100} s",
    }
    mesh = {"size": "5 nm", "interface_size": "0.05 nm", "size_growth_distance": "50 nm"}
    case = binary_cell_1d(length, BINARY_C0, BINARY_D, i, mesh, time=time)
    assert run_case(case, outdir=str(shared_tmp / "sand"))["status"] == "ok"
    rows = list(csv.DictReader(open(shared_tmp / "sand" / "timeseries.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    c_wall = np.array([float(r["nernst_planck.A_p.min_concentration_mol_m3"]) for r in rows])
    window = (t > 0.05 * t_sand) & (t < 0.5 * t_sand)
    slope, intercept = np.polyfit(np.sqrt(t[window]), c_wall[window], 1)
    assert intercept == pytest.approx(BINARY_C0, rel=2e-3)
    assert (BINARY_C0 / slope) ** 2 == pytest.approx(t_sand, rel=0.02)


@PARALLEL
def test_limiting_current():
    """Steady currents through the binary salt (both ions closed: their amounts held): the
    concentration at the plating wall falls linearly with the current, c0 (1 - i / i_lim),
    to zero at i_lim = 2 z F D c0 / ((1 - t+) L) (ambipolar D); two currents extrapolate to
    i_lim within 1 %, and the largest (90 % of it) keeps every concentration positive."""
    length = 1e-6
    t_plus, d_amb = binary_parameters()
    i_lim = 2 * FARADAY * d_amb * BINARY_C0 / ((1 - t_plus) * length)
    mesh = {"size": "10 nm", "interface_size": "0.05 nm", "size_growth_distance": "50 nm"}
    walls = []
    for share in (0.3, 0.9):
        case = binary_cell_1d(length, BINARY_C0, BINARY_D, share * i_lim, mesh)
        problem = solve_steady(case)
        (module,) = problem.modules
        low, _ = module.concentration_range(problem, module.ions[0])
        assert low > 0
        walls.append((share * i_lim, low))
    (i1, c1), (i2, c2) = walls
    extrapolated = i1 + c1 * (i2 - i1) / (c1 - c2)
    assert extrapolated == pytest.approx(i_lim, rel=0.01)


@pytest.mark.slow
def test_cottrell_current(shared_tmp):
    """The cation's concentration stepped to c0/2 at the top wall (the anion blocked there;
    a reservoir of c0 at the far wall): the current density it carries out is the binary
    salt's Cottrell current z F (c0 - c1) sqrt(D / (pi t)) / (1 - t+) (ambipolar D,
    migration included), within 1 % over a decade of time."""
    length = 1e-6
    t_plus, d_amb = binary_parameters()
    t_ref = length**2 / d_amb
    c1 = BINARY_C0 / 2
    case = pnp_case_1d(
        length,
        [species("A+", 1, BINARY_C0, BINARY_D[0]), species("B-", -1, BINARY_C0, BINARY_D[1])],
        [
            {"name": "bottom", "potential": "0 V", "concentration": {"A+": f"{BINARY_C0} mol/m^3"}},
            {"name": "top", "concentration": {"A+": f"{c1} mol/m^3"}},
        ],
        mesh={"size": "5 nm", "interface_size": "0.05 nm", "size_growth_distance": "50 nm"},
        refine_at=("bottom", "top"),
        time={
            "mode": "transient",
            "t_end": f"{0.02 * t_ref} s",
            "dt": f"{1e-6 * t_ref} s",
            "dt_max": f"{2e-4 * t_ref} s",
        },
    )
    assert run_case(case, outdir=str(shared_tmp / "cottrell"))["status"] == "ok"
    rows = list(csv.DictReader(open(shared_tmp / "cottrell" / "timeseries.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    current = -FARADAY * np.array([float(r["nernst_planck.top.A_p.inflow_mol_m2_s"]) for r in rows])
    window = (t >= 0.001 * t_ref) & (t <= 0.01 * t_ref)
    t, current = t[window], current[window]
    cottrell = FARADAY * (BINARY_C0 - c1) * np.sqrt(d_amb / (math.pi * t)) / (1 - t_plus)
    assert len(t) > 10
    assert np.abs(current / cottrell - 1).max() < 0.01


def electrode_cell(current_density: float, stern: float, i0: float = 10.0):
    """Li | single-ion conductor (Li+ on its framework, 1000 mol/m^3, D = 1e-12 m^2/s,
    eps_r 20; 1 um) | Li with Butler-Volmer electrodes (alpha 1/2, c_ref = c0, U = 0) and
    Stern capacitance ``stern``: bottom at 0 V, top set by ``current_density`` [A/m^2]."""
    c0, eps_r = 1000.0, 20.0
    lam = debye_length(eps_r, c0)

    def electrode(control: dict) -> dict:
        return {
            "reacting_ion": "Li+",
            "exchange_current_density": f"{i0} A/m^2",
            "stern_capacitance": f"{stern} F/m^2",
            **control,
        }

    return pnp_case_1d(
        1e-6,
        [species("Li+", 1, c0, 1e-12)],
        [
            {"name": "bottom", "electrode": electrode({"potential": "0 V"})},
            {
                "name": "top",
                "electrode": electrode({"current_density": f"{current_density} A/m^2"}),
            },
        ],
        eps_r=eps_r,
        mesh=graded(lam, 1 / 40, 5, 5),
        refine_at=("bottom", "top"),
        fixed_charge=framework(c0),
    )


def frumkin_overpotential(j: float, i0: float, stern: float, lam: float, eps: float) -> float:
    """Overpotential V - phi_bulk - U [V] of an electrode passing j (anodic > 0), alpha 1/2,
    with a Stern layer C_S and the diffuse layer of a single mobile cation in equilibrium
    (Gouy-Chapman-Stern-Frumkin): j = 2 i0 e^(-d/2) sinh(eta/2) (in V_T units), the diffuse
    drop d from C_S (eta - d) V_T = eps V_T / lambda sqrt(2 (d + e^-d - 1)) sign(d)."""

    def diffuse_drop(eta: float) -> float:
        def gauss(d: float) -> float:
            field = math.copysign(math.sqrt(2 * (d + math.exp(-d) - 1)), d)
            return stern * (eta - d) - eps / lam * field

        return brentq(gauss, -abs(eta) - 1, abs(eta) + 1)

    def rate(eta: float) -> float:
        return 2 * i0 * math.exp(-diffuse_drop(eta) / 2) * math.sinh(eta / 2) - j

    return V_T * brentq(rate, -40.0, 40.0)


@pytest.mark.parametrize("j", [10.0, pytest.param(100.0, marks=PARALLEL), -50.0])
@pytest.mark.parametrize("stern", [1e-3, 0.2])
def test_electrode_kinetics_symmetric_cell(j, stern):
    """Steady current through Li | single-ion conductor | Li: the cell voltage is
    j L / sigma plus both electrodes' overpotentials; with a small Stern capacitance the
    diffuse layer takes no drop and they are Butler-Volmer's, 2 V_T asinh(j / 2 i0) (physics.md
    5.5); with 0.2 F/m^2 the diffuse layer's Frumkin correction (6 % at 100 A/m^2) matches
    Gouy-Chapman-Stern theory. Within 1e-4 (Helmholtz) and 1e-3 (Frumkin)."""
    i0, c0, d, length, eps_r = 10.0, 1000.0, 1e-12, 1e-6, 20.0
    problem = solve_steady(electrode_cell(j, stern, i0))
    (module,) = problem.modules
    state = {e.boundary: module.electrode_state(problem, e) for e in module.electrodes}
    voltage = state["top"]["electrode_potential_V"] - state["bottom"]["electrode_potential_V"]
    sigma = FARADAY**2 * d * c0 / (8.314462618 * 298.15)
    lam = debye_length(eps_r, c0)
    if stern < 0.01:
        exact = j * length / sigma + 2 * 2 * V_T * math.asinh(j / (2 * i0))
        rel = 1e-4
    else:
        eps = eps_r * EPS0
        eta = [frumkin_overpotential(s * j, i0, stern, lam, eps) for s in (1, -1)]
        exact = j * length / sigma + eta[0] - eta[1]
        rel = 1e-3
    assert voltage == pytest.approx(exact, rel=rel)
    assert state["top"]["current_density_A_m2"] == pytest.approx(j, rel=1e-9)
    assert state["bottom"]["faradaic_current_density_A_m2"] == pytest.approx(-j, rel=1e-6)
    assert module.conservation(problem)["balance_error"] < 1e-6


def test_electrode_terminal_transient(shared_tmp):
    """The top electrode as a terminal: 10 A/m^2 for 10 charge-transfer times
    R_ct C_dl, then open circuit. The current first charges the double layers (faradaic <
    total), the voltage settles on the steady cell's, and at rest it relaxes to zero with
    the faradaic current discharging the double layer (total current zero)."""
    j, stern = 10.0, 0.2
    steady = solve_steady(electrode_cell(j, stern))
    (module,) = steady.modules
    state = {e.boundary: module.electrode_state(steady, e) for e in module.electrodes}
    v_steady = state["top"]["electrode_potential_V"] - state["bottom"]["electrode_potential_V"]
    tau = 8.314462618 * 298.15 / (FARADAY * 10.0) * stern
    case = electrode_cell(j, stern)
    data = case.model_dump(mode="json")
    data["boundary_conditions"]["nernst_planck"][1]["electrode"] |= {
        "potential": "terminal",
        "current_density": None,
    }
    data["time"] = {
        "mode": "transient",
        "dt": f"{tau / 20} s",
        "adaptive": False,
        "protocol": [
            {"mode": "current_density", "value": f"{j} A/m^2", "duration": f"{10 * tau} s"},
            {"mode": "rest", "duration": f"{10 * tau} s"},
        ],
    }
    from sse_fem.config import validate_case

    assert run_case(validate_case(data), outdir=str(shared_tmp / "out"))["status"] == "ok"
    rows = list(csv.DictReader(open(shared_tmp / "out" / "timeseries.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    total = np.array([float(r["nernst_planck.top.current_density_A_m2"]) for r in rows])
    faradaic = np.array([float(r["nernst_planck.top.faradaic_current_density_A_m2"]) for r in rows])
    voltage = np.array([float(r["nernst_planck.voltage_V"]) for r in rows])
    on = (t > 0) & (t <= 10 * tau * (1 + 1e-9))
    assert np.allclose(total[on], j, rtol=1e-6)
    assert faradaic[on][0] < 0.9 * j  # the double layer takes the first of the current
    assert voltage[on][-1] == pytest.approx(v_steady, rel=1e-3)
    rest = t > 10 * tau * (1 + 1e-9)
    assert np.abs(total[rest]).max() < 1e-6 * j
    assert faradaic[rest][0] > 0.1 * j  # the charged double layer discharges through it
    assert abs(voltage[-1]) < 0.01 * v_steady


class LinearStress(Physics):
    """Provides a hydrostatic stress field growing linearly along x (Pa) as ``stress``."""

    name = "stress_field"

    def __init__(self, gradient: float) -> None:
        self.gradient = gradient

    def declare(self, problem) -> None:
        x = ufl.SpatialCoordinate(problem.bundle.mesh)[0]
        problem.provide("stress", self.gradient * x * ufl.Identity(3), "Pa", self.name)


@PARALLEL
def test_stress_driven_equilibrium():
    """A neutral 1:1 salt whose ions both have Omega = 1e-5 m^3/mol, closed, in a stress
    field rising linearly by 500 MPa: at equilibrium the salt gathers in tension as
    c(x) / c(0) = exp(Omega (sigma_h(x) - sigma_h(0)) / RT) (a factor of 7.5 here) with no
    charge separation; exact at the nodes (the projected stress is linear)."""
    length, c0, omega, rise = 1e-6, 100.0, 1e-5, 5e8
    omega_spec = {"partial_molar_volume": f"{omega} m^3/mol"}
    case = pnp_case_1d(
        length,
        [species("A+", 1, c0, **omega_spec), species("B-", -1, c0, **omega_spec)],
        [{"name": "bottom", "potential": "0 V"}],
        mesh={"size": f"{length / 200} m"},
    )
    problem = solve_steady(case, (LinearStress(rise / length),))
    (module, _) = problem.modules
    rt = 8.314462618 * 298.15
    for ion in module.ions:
        u = ion.u
        x = u.function_space.tabulate_dof_coordinates()[:, 0]
        c = c0 * np.exp(u.x.array - ion.variable(c0, "electrolyte", rt))
        left = MPI.COMM_WORLD.allreduce(
            float(c[np.argmin(x)]) if x.min(initial=np.inf) == 0 else -np.inf, op=MPI.MAX
        )
        exact = left * np.exp(omega * rise * x / length / rt)
        assert np.abs(c / exact - 1).max(initial=0.0) < 1e-8
    assert module.conservation(problem)["balance_error"] < 1e-9


def test_partial_molar_volume_needs_stress():
    case = pnp_case_1d(
        1e-6,
        [
            species("A+", 1, 100.0, partial_molar_volume="1e-5 m^3/mol"),
            species("B-", -1, 100.0),
        ],
        [{"name": "bottom", "potential": "0 V"}],
        mesh={"size": "10 nm"},
    )
    with pytest.raises(CaseError, match="enable it, or switch the coupling off"):
        built(case)


@PARALLEL
def test_iterative_preset_in_3d():
    """The single mobile ion depleted by a wall at 5 V_T on a 3D interface patch (a box of
    4 x 4 x 20 Debye lengths, graded to lambda_D / 3): GMRES with the additive Schwarz
    preconditioner (the ``iterative`` preset; ``auto`` above 1e5 dofs) gives the direct
    solve's wall charge to 1e-9 in under 60 Krylov iterations per Newton step, and both the
    first-integral charge within 1 %."""
    c0, eps_r = 1000.0, 20.0
    lam = debye_length(eps_r, c0)
    charges, krylov = {}, {}
    for preset in ("direct", "iterative"):
        data = pnp_case_1d(
            20 * lam,
            [species("Li+", 1, c0)],
            [
                {"name": "bottom", "potential": f"{5 * V_T} V"},
                {"name": "top", "potential": "0 V", "concentration": {"Li+": f"{c0} mol/m^3"}},
            ],
            eps_r=eps_r,
            mesh=graded(lam, 1 / 3, 4 / 3, 5),
            fixed_charge=framework(c0),
            dimension=3,
        ).model_dump(mode="json", exclude_unset=True)
        data["geometry"]["width"] = f"{4 * lam} m"
        data["solver"] = {"preset": preset}
        problem = built(validate_case(data))
        ok, newton, iterations = problem.solve()
        assert ok and problem.preset == preset
        (module,) = problem.modules
        charges[preset] = module.surface_charges(problem)["bottom"]
        krylov[preset] = iterations / newton
    assert charges["iterative"] == pytest.approx(charges["direct"], rel=1e-9)
    assert krylov["iterative"] < 60
    exact = EPS0 * eps_r * math.sqrt(2) * V_T / lam * math.sqrt(5 + math.exp(-5) - 1)
    assert abs(charges["direct"]) == pytest.approx(exact, rel=0.01)
