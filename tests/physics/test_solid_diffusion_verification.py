"""Verification of solid diffusion (physics.md 5.12): a sphere of radius a under a constant
inward surface flux N (D dc/dr = N at r = a) follows Crank's series

    c - c0 = (N a / D) [3 D t / a^2 + r^2 / (2 a^2) - 3/10
                        - (2 a / r) sum_n exp(-D alpha_n^2 t / a^2) sin(alpha_n r / a)
                          / (alpha_n^2 sin alpha_n)],     alpha_n cot alpha_n = 1.

1D spherical (the interval is the radius) and 3D resolved (a gmsh ball; within mesh error).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from sse_fem.config import validate_case
from sse_fem.mesh import build_mesh
from sse_fem.physics.solid_diffusion import SolidDiffusion
from sse_fem.problem import Problem, build_problem
from tests.physics.helpers import march

RADIUS = 5e-6  # m
D_S = 1e-14  # m^2/s
C_MAX = 5.0e4  # mol/m^3
X0 = 0.3
TAU_END = 0.5  # D t / a^2 at the end
T_END = TAU_END * RADIUS**2 / D_S  # s
FLUX = 0.5 * RADIUS * C_MAX / (3 * T_END)  # mol/(m^2 s): the mean stoichiometry rises by 0.5


def crank_roots(n: int) -> np.ndarray:
    """The first ``n`` positive roots of alpha cot(alpha) = 1 (tan alpha = alpha)."""
    f = lambda a: math.sin(a) - a * math.cos(a)  # noqa: E731
    return np.array(
        [brentq(f, k * math.pi + 1e-9, k * math.pi + math.pi / 2 - 1e-12) for k in range(1, n + 1)]
    )


ROOTS = crank_roots(200)


def crank(r: np.ndarray, t: float) -> np.ndarray:
    """c - c0 [mol/m^3] at radii ``r`` (> 0) and time ``t`` (physics.md 5.12)."""
    a, tau = RADIUS, D_S * t / RADIUS**2
    r = np.maximum(np.asarray(r, dtype=float), 1e-12 * a)
    series = np.zeros_like(r)
    for alpha in ROOTS:
        series += math.exp(-(alpha**2) * tau) * np.sin(alpha * r / a) / (alpha**2 * math.sin(alpha))
    return FLUX * a / D_S * (3 * tau + r**2 / (2 * a**2) - 0.3 - 2 * a / r * series)


def sphere_case(cells: int, dt: float) -> dict:
    return {
        "case": {"name": "crank_sphere"},
        "geometry": {
            "type": "layered_cell",
            "dimension": 1,
            "layers": [{"name": "particle", "thickness": f"{RADIUS} m", "cells": cells}],
        },
        "materials": {
            "host": {
                "category": "active_material",
                "max_concentration": f"{C_MAX} mol/m^3",
                "solid_diffusivity": f"{D_S} m^2/s",
                "electronic_conductivity": "1 S/m",
            }
        },
        "regions": [{"name": "particle", "material": "host"}],
        "physics": {"solid_diffusion": {"symmetry": "spherical"}},
        "boundary_conditions": {
            "solid_diffusion": [{"name": "top", "type": "flux", "value": f"{FLUX} mol/(m^2*s)"}]
        },
        "initial_conditions": {"solid_diffusion": {"stoichiometry": X0}},
        "time": {"mode": "transient", "dt": f"{dt} s", "t_end": f"{T_END} s", "adaptive": False},
        "outputs": {"plots": False, "fields": False},
    }


def test_sphere_constant_flux_1d_spherical():
    """Surface and centre concentration vs Crank's series within 1e-3 of the concentration
    change over the whole run (BDF2, 400 cells)."""
    dt = T_END / 2000
    case = validate_case(sphere_case(400, dt))
    problem = build_problem(case, build_mesh(case))
    try:
        (sd,) = problem.modules
        assert isinstance(sd, SolidDiffusion)
        coords = sd.x.function_space.tabulate_dof_coordinates()[:, 0]
        surface, centre = int(np.argmax(coords)), int(np.argmin(coords))
        errors, balances = [], []

        def check(p: Problem) -> None:
            t = float(p.time.value) + dt
            c = (sd.x.x.array[[surface, centre]] - X0) * C_MAX
            exact = crank(np.array([RADIUS, 1e-9 * RADIUS]), t)
            errors.append(np.abs(c - exact) / (FLUX * RADIUS / D_S * 3 * TAU_END))
            balances.append(sd.conservation(p)["balance_error"])

        march(problem, dt, round(T_END / dt), check)
        errors = np.array(errors)
        # the first steps resolve the boundary layer sqrt(D t) < cell size: skip 1 %
        late = errors[len(errors) // 100 :]
        assert late.max() < 1e-3, late.max(axis=0)
        assert max(balances) < 1e-9
        mean = sd.observe(problem)["mean_stoichiometry"]
        assert mean == pytest.approx(X0 + 0.5, rel=1e-9)
        table = sd.particle_table(problem)  # one particle: the sphere of radius a
        assert table["volume"] == pytest.approx([4 / 3 * math.pi * RADIUS**3], rel=1e-9)
        # cell means of x weigh each cell's nodes alike, not by r^2: O(h^2) off the mean
        assert table["stoichiometry"] == pytest.approx([mean], rel=1e-5)
    finally:
        problem.close()


def ball_mesh(path, size_um: float) -> None:
    """A gmsh ball of radius RADIUS (mesh units: um): region ``particle``, boundary ``top``
    (the sphere)."""
    import gmsh

    gmsh.initialize(["", "-v", "0"])
    try:
        gmsh.model.add("ball")
        gmsh.model.occ.addSphere(0, 0, 0, RADIUS * 1e6)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="particle")
        surfaces = [s for _, s in gmsh.model.getBoundary([(3, 1)], oriented=False)]
        gmsh.model.addPhysicalGroup(2, surfaces, name="top")
        gmsh.option.setNumber("Mesh.MeshSizeMax", size_um)
        gmsh.option.setNumber("Mesh.MeshSizeMin", size_um)
        gmsh.model.mesh.generate(3)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


@pytest.mark.mpi
def test_sphere_constant_flux_3d_resolved(shared_tmp):
    """A resolved ball: the surface-mean and centre concentration follow Crank's series
    within the error of the P1 mesh, which shrinks under refinement; the mean is exact."""
    from mpi4py import MPI

    dt = T_END / 100
    errors = []
    for size in (1.25, 0.625):
        path = shared_tmp / f"ball_{size}.msh"
        if MPI.COMM_WORLD.rank == 0:
            ball_mesh(path, size)
        MPI.COMM_WORLD.barrier()
        data = sphere_case(1, dt)
        data.pop("geometry")
        data["mesh"] = {"file": str(path), "dimension": 3, "scale": "1 um"}
        data["physics"]["solid_diffusion"] = {}
        case = validate_case(data, base_dir=shared_tmp)
        problem = build_problem(case, build_mesh(case))
        try:
            (sd,) = problem.modules
            surface_mean = fem_surface_mean(problem, sd)
            worst = []

            def check(p: Problem, sd=sd, surface_mean=surface_mean, worst=worst) -> None:
                t = float(p.time.value) + dt
                exact = crank(np.array([RADIUS]), t)[0]
                got = (surface_mean() - X0) * C_MAX
                worst.append(abs(got - exact) / (FLUX * RADIUS / D_S * 3 * TAU_END))

            march(problem, dt, round(T_END / dt), check)
            errors.append(max(worst[len(worst) // 10 :]))
            # the mean is exact on the polyhedral ball: the inflow N A_h t over c_max V_h
            area, volume = problem.bundle.area("top"), problem.bundle.volume("particle")
            mean = sd.observe(problem)["mean_stoichiometry"]
            assert mean == pytest.approx(X0 + FLUX * area * T_END / (volume * C_MAX), rel=1e-9)
        finally:
            problem.close()
    assert errors[1] < 0.35 * errors[0]  # about second order in h
    assert errors[1] < 5e-3


def fem_surface_mean(problem: Problem, sd: SolidDiffusion):
    """A collective callable: the area-mean stoichiometry on the sphere."""
    from mpi4py import MPI

    from dolfinx import fem

    ds = problem.bundle.measure("top")
    x_form = fem.form(sd.x * ds, entity_maps=problem.entity_maps)
    area = problem.bundle.area("top")
    return lambda: MPI.COMM_WORLD.allreduce(fem.assemble_scalar(x_form), op=MPI.SUM) / area


def test_diffusivity_curve_of_the_stoichiometry():
    """D(x) from the material: an expression equal to the constant reproduces the constant
    run to round-off; D growing with x (faster where the ions are) flattens the profile."""
    dt, steps = T_END / 50, 50

    def surface_minus_centre(diffusivity: str | dict) -> tuple[float, float]:
        data = sphere_case(100, dt)
        data["materials"]["host"]["solid_diffusivity"] = diffusivity
        case = validate_case(data)
        problem = build_problem(case, build_mesh(case))
        try:
            (sd,) = problem.modules
            march(problem, dt, steps)
            x = sd.x.x.array
            coords = sd.x.function_space.tabulate_dof_coordinates()[:, 0]
            spread = float(x[np.argmax(coords)] - x[np.argmin(coords)])
            return spread, sd.observe(problem)["mean_stoichiometry"]
        finally:
            problem.close()

    constant = surface_minus_centre(f"{D_S} m^2/s")
    same = surface_minus_centre({"expression": f"{D_S} + 0*x", "unit": "m^2/s"})
    faster = surface_minus_centre({"expression": f"{D_S}*(1 + 4*x)", "unit": "m^2/s"})
    assert same[0] == pytest.approx(constant[0], rel=1e-10)
    assert faster[0] < 0.5 * constant[0]
    assert faster[1] == pytest.approx(constant[1], rel=1e-10)  # the same ions went in


@pytest.mark.mpi
def test_diffusion_induced_stress_in_a_free_sphere(shared_tmp):
    """Galvanostatic insertion into a free sphere (physics.md 5.13, Cheng & Verbrugge 2009):
    with Vegard strain Omega (c - c0) / 3 and the concentration the solver found, the stress
    at the centre is sigma_r = sigma_t = 2 Omega E (c_mean - c(0)) / (9 (1 - nu)), within 2 %
    (1 % at h = a / 10; monolithic: mechanics reads the concentration of the same Newton
    solve)."""
    from mpi4py import MPI

    from dolfinx import mesh as dmesh

    E, NU, OMEGA = 100e9, 0.3, 3e-6  # Pa, -, m^3/mol
    dt, steps = T_END / 40, 40
    path = shared_tmp / "ball.msh"
    if MPI.COMM_WORLD.rank == 0:
        ball_mesh(path, 0.5)
    MPI.COMM_WORLD.barrier()
    data = sphere_case(1, dt)
    data.pop("geometry")
    data["mesh"] = {"file": str(path), "dimension": 3, "scale": "1 um"}
    data["physics"] = {"solid_diffusion": {}, "mechanics": {"hold_rigid_modes": True}}
    data["solver"] = {"preset": "direct"}
    data["materials"]["host"] |= {
        "youngs_modulus": f"{E / 1e9} GPa",
        "poissons_ratio": NU,
        "partial_molar_volume": f"{OMEGA} m^3/mol",
    }
    case = validate_case(data, base_dir=shared_tmp)
    problem = build_problem(case, build_mesh(case))
    try:
        sd, mech = problem.modules[1], problem.modules[0]
        assert isinstance(sd, SolidDiffusion)
        assert problem.quantities.report()["concentration_change.particle"]["users"] == [
            "mechanics"
        ]
        march(problem, dt, steps)
        c_mean = (sd.observe(problem)["mean_stoichiometry"] - X0) * C_MAX
        msh = problem.bundle.mesh
        n = msh.topology.index_map(3).size_local
        mid = dmesh.compute_midpoints(msh, 3, np.arange(n, dtype=np.int32))
        k = int(np.argmin(np.linalg.norm(mid, axis=1))) if n else -1
        stress = mech.derived_fields(problem)["stress"].x.array.reshape(-1, 3, 3)
        local = (np.linalg.norm(mid[k]) if n else np.inf, stress[k] if n else None)
        r_min, sigma = min(MPI.COMM_WORLD.allgather(local), key=lambda item: item[0])
        # c(0): the stoichiometry at the centre cell's midpoint
        from dolfinx import geometry

        x_sub = sd.x
        pts = np.array([[0.0, 0.0, 0.0]])
        bb = geometry.bb_tree(x_sub.function_space.mesh, 3)
        cand = geometry.compute_collisions_points(bb, pts)
        hit = geometry.compute_colliding_cells(x_sub.function_space.mesh, cand, pts)
        value = x_sub.eval(pts, hit.links(0)[:1]) if len(hit.links(0)) else None
        values = [v for v in MPI.COMM_WORLD.allgather(value) if v is not None]
        c0 = (float(values[0][0]) - X0) * C_MAX
        assert r_min < 0.1 * RADIUS
        expected = 2 * OMEGA * E * (c_mean - c0) / (9 * (1 - NU))
        assert expected > 0  # the core lags the surface: tension at the centre
        for axis in range(3):
            assert sigma[axis, axis] == pytest.approx(expected, rel=2e-2), (axis, sigma)
    finally:
        problem.close()


def test_prescribed_and_solved_chemical_strain_conflict():
    """A region whose concentration is solved takes its chemical strain from it: a
    prescribed one as well would count the lithiation twice (case error)."""
    from sse_fem.errors import CaseError

    data = sphere_case(10, T_END / 10)
    data["physics"] = {
        "solid_diffusion": {"symmetry": "spherical"},
        "mechanics": {"chemical_strain": [{"regions": ["particle"], "strain": 0.01}]},
    }
    data["boundary_conditions"]["mechanics"] = [{"name": "bottom", "type": "fixed"}]
    data["materials"]["host"] |= {
        "youngs_modulus": "100 GPa",
        "poissons_ratio": 0.3,
        "partial_molar_volume": "3e-6 m^3/mol",
    }
    case = validate_case(data)
    with pytest.raises(CaseError, match=r"chemical_strain\[0\].regions"):
        build_problem(case, build_mesh(case)).close()


def stress_equilibrium_error(cells: int) -> float:
    """Max relative deviation of x(z) / x(0) from exp(Omega (sigma_h(z) - sigma_h(0)) / RT)
    after 3 diffusion times in a closed planar particle (1 um, x0 = 0.05: ideal) in a
    hydrostatic stress rising linearly by 500 MPa, Omega = 3e-6 m^3/mol; the amount kept."""
    from tests.physics.test_nernst_planck_verification import LinearStress

    length, omega, rise, d = 1e-6, 3e-6, 5e8, 1e-14
    t_diff = length**2 / d
    data = sphere_case(cells, t_diff / 20)
    data["materials"]["host"]["partial_molar_volume"] = f"{omega} m^3/mol"
    data["physics"]["solid_diffusion"] = {"stress_driven_flux": True}
    data["boundary_conditions"] = {}
    data["geometry"]["layers"][0]["thickness"] = f"{length} m"
    data["materials"]["host"]["solid_diffusivity"] = f"{d} m^2/s"
    data["initial_conditions"]["solid_diffusion"]["stoichiometry"] = 0.05
    case = validate_case(data)
    problem = Problem(
        case,
        build_mesh(case),
        [SolidDiffusion(case.physics.solid_diffusion), LinearStress(rise / length)],
    )
    try:
        sd = problem.modules[0]
        march(problem, t_diff / 20, 60)  # 3 diffusion times: e^-(pi^2 3) ~ 1e-13
        x = sd.x.x.array
        z = sd.x.function_space.tabulate_dof_coordinates()[:, 0]
        rt = 8.314462618 * 298.15
        exact = np.exp(omega * rise * (z - z.min()) / length / rt)
        assert exact.max() > 1.8  # the drift is strong
        assert sd.amounts(problem)[0] == pytest.approx(0.05 * C_MAX * length, rel=1e-9)
        return float(np.abs(x / x[np.argmin(z)] / exact - 1).max())
    finally:
        problem.close()


def test_stress_driven_equilibrium_in_a_particle():
    """``stress_driven_flux``: the working ion gathers in tension as the exponential law
    says, to 1e-5 on 100 cells, converging as h^2 (the x-form flux is not exactly
    equilibrium-preserving)."""
    coarse, fine = stress_equilibrium_error(50), stress_equilibrium_error(100)
    assert fine < 1e-5
    assert math.log2(coarse / fine) > 1.9
