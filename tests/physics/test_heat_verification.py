"""Verification of heat (physics.md 2, 5.8 and 5.11).

1. Manufactured solution, steady, 2-D layered cell: heat with k(T) = k [1 + beta (T - 298.15 K)]
   (k and beta differ per material) coupled both ways to a throw-away potential phi with
   sigma(T): phi reads heat's temperature, heat reads phi's Joule heat. The correction sources
   (volume, and the jump of k grad T_ex . n on the material interfaces) reach heat as shared
   quantities. T and phi converge at the P1 rates (L2 ~ h^2, H1 ~ h).
2. Semi-infinite slab, 1-D transient: the face held at T_s from t = 0 gives
   T = T_s + (T_i - T_s) erf(x / (2 sqrt(alpha t))) (BDF2, fixed step).
"""

from __future__ import annotations

import math
import time

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem

from sse_fem.mesh import build_mesh
from sse_fem.physics.base import Physics
from sse_fem.physics.heat import Heat
from sse_fem.problem import Problem, build_problem
from tests.physics.helpers import (
    MMS_LAYERS,
    MMS_WIDTH,
    lower_left,
    march,
    mms_layered_case,
    symmetric_case,
)

T_REF = 298.15  # K, reference temperature of k(T)

# --- 1. manufactured solution -----------------------------------------------------------
WIDTH, LAYERS = MMS_WIDTH, MMS_LAYERS  # m: anode, electrolyte, cathode
HEIGHT = sum(LAYERS)
T0, AMP = 300.0, 40.0  # K: boundary temperature, amplitude of the bump
#: material -> (k [W/(m K)], beta [1/K])
THERMAL = {"lithium": (6.0, 1.0e-3), "llzo": (1.5, 2.0e-3)}
SIGMA0, GAMMA, V0 = 10.0, 4.0e-3, 5.0  # S/m, 1/K, V: sigma(T) = SIGMA0 [1 + GAMMA (T - T0)]
QUADRATURE = {"quadrature_degree": 6}


def t_exact(X, Y):
    """T_ex at the local coordinates (X, Y) [m] (origin at the lower-left corner)."""
    return T0 + AMP * ufl.sin(math.pi * X / WIDTH) * ufl.sin(math.pi * Y / HEIGHT)


def phi_exact(X, Y, module):
    """phi_ex [V]: smooth, not a polynomial, nonzero gradient everywhere."""
    xs, ys = X / WIDTH, Y / HEIGHT
    return V0 * (ys + 0.3 * module.sin(1.7 * xs + 0.4) * module.cos(1.3 * ys) + 0.2 * xs * xs)


def sigma(T):
    return SIGMA0 * (1 + GAMMA * (T - T0))


class Field(Physics):
    """-div(sigma(T) grad phi) = f_phi with the exact phi on every boundary; provides its
    Joule heat sigma(T) |grad phi|^2 and the manufactured corrections of heat's equation."""

    name = "field"

    def declare(self, problem: Problem) -> None:
        bundle = problem.bundle
        msh = bundle.mesh
        self.origin = lower_left(msh)
        V = fem.functionspace(msh, ("Lagrange", 1))
        self.phi = problem.add_unknown(self.name, "phi", V, None, scale=V0)
        x = ufl.SpatialCoordinate(msh)
        self.X, self.Y = x[0] - self.origin[0], x[1] - self.origin[1]
        # k and beta per cell, from the test's own table (not from heat's)
        Q = fem.functionspace(msh, ("DG", 0))
        self.k, self.beta = fem.Function(Q), fem.Function(Q)
        imap = msh.topology.index_map(bundle.dim)
        tag_of = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
        tag_of[bundle.cell_tags.indices] = bundle.cell_tags.values
        for region in problem.case.regions:
            k, beta = THERMAL[region.material]
            cells = tag_of == bundle.regions[region.name]
            self.k.x.array[cells] = k
            self.beta.x.array[cells] = beta
        dx = ufl.dx(msh, metadata=QUADRATURE)
        msh.topology.create_connectivity(bundle.dim - 1, bundle.dim)
        domains = np.concatenate(
            [
                np.asarray(
                    fem.compute_integration_domains(
                        fem.IntegralType.interior_facet, msh.topology, bundle.facets(name)
                    )
                )
                for name in sorted(bundle.interfaces)
            ]
        ).astype(np.int32)
        dS = ufl.Measure("dS", domain=msh, subdomain_data=[(1, domains)], metadata=QUADRATURE)
        problem.provide(
            "joule_heat.field", lambda level: self.joule(problem), "W/m^3", self.name, dx
        )
        problem.provide(
            "joule_heat.manufactured", lambda level: self.volume_source(), "W/m^3", self.name, dx
        )
        problem.provide(
            "interface_heat.manufactured",
            lambda level: self.interface_source(),
            "W/m^2",
            self.name,
            dS(1),
        )

    def temperature(self, problem: Problem) -> ufl.core.expr.Expr:
        return problem.require("temperature", self.name)()

    def joule(self, problem: Problem) -> ufl.core.expr.Expr:
        grad = ufl.grad(self.phi)
        return sigma(self.temperature(problem)) * ufl.inner(grad, grad)

    def k_exact(self) -> ufl.core.expr.Expr:
        return self.k * (1 + self.beta * (t_exact(self.X, self.Y) - T_REF))

    def volume_source(self) -> ufl.core.expr.Expr:
        """-div(k(T_ex) grad T_ex) - sigma(T_ex) |grad phi_ex|^2 in every cell (k, beta are
        constant per cell)."""
        T_ex = t_exact(self.X, self.Y)
        conduction = -self.k * ufl.div((1 + self.beta * (T_ex - T_REF)) * ufl.grad(T_ex))
        g = ufl.grad(phi_exact(self.X, self.Y, ufl))
        return conduction - sigma(T_ex) * ufl.inner(g, g)

    def interface_source(self) -> ufl.core.expr.Expr:
        """The jump of the exact heat flux across material interfaces, k+ dT/dn+ + k- dT/dn-
        (does not depend on which side is '+')."""
        n = ufl.FacetNormal(self.phi.function_space.mesh)
        flux = self.k_exact() * ufl.grad(t_exact(self.X, self.Y))
        return ufl.inner(flux("+"), n("+")) + ufl.inner(flux("-"), n("-"))

    def residual(self, problem: Problem) -> ufl.Form:
        w = problem.test("phi")
        msh = problem.bundle.mesh
        T_ex = t_exact(self.X, self.Y)
        f_phi = -ufl.div(sigma(T_ex) * ufl.grad(phi_exact(self.X, self.Y, ufl)))
        T = self.temperature(problem)
        return sigma(T) * ufl.inner(ufl.grad(self.phi), ufl.grad(w)) * ufl.dx(msh) - (
            f_phi * w * ufl.dx(msh, metadata=QUADRATURE)
        )

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        bundle = problem.bundle
        V = self.phi.function_space
        g = fem.Function(V)
        o = self.origin
        g.interpolate(lambda x: phi_exact(x[0] - o[0], x[1] - o[1], np))
        facets = np.concatenate([bundle.facets(b) for b in ("bottom", "top", "sides")])
        return [fem.dirichletbc(g, fem.locate_dofs_topological(V, bundle.dim - 1, facets))]


def _mms_case(size_um: float):
    overrides = {
        name: {
            "thermal_conductivity": f"{THERMAL[name][0]} W/(m*K)",
            "thermal_conductivity_temperature_coefficient": f"{THERMAL[name][1]} 1/K",
        }
        for name in THERMAL
    }
    walls = [
        {"name": b, "type": "temperature", "value": f"{T0} K"} for b in ("bottom", "top", "sides")
    ]
    return mms_layered_case(
        size_um, overrides, {"physics": {"heat": {}}, "boundary_conditions": {"heat": walls}}
    )


def _mms_errors(size_um: float) -> dict[str, float]:
    case = _mms_case(size_um)
    heat, field = Heat(case.physics.heat), Field()
    problem = Problem(case, build_mesh(case), [heat, field])
    try:
        return _solve_and_measure(problem, heat, field, size_um)
    finally:
        problem.close()  # collective MUMPS teardown, also when an assertion fails


def _solve_and_measure(problem: Problem, heat: Heat, field: Field, size_um: float) -> dict:
    assert heat.temperature_dependent_k and not problem.linear
    assert problem.quantities.report()["temperature"]["users"] == ["field"]
    ok, its, _ = problem.solve()
    assert ok, f"Newton failed at h = {size_um} um"
    assert its >= 2  # nonlinear: more than one Newton step
    msh = problem.bundle.mesh
    dx = ufl.dx(msh, metadata={"quadrature_degree": 10})
    X, Y = field.X, field.Y
    # h: the mean cell diameter (gmsh's cells are not exactly the nominal size)
    cells = np.arange(msh.topology.index_map(2).size_local, dtype=np.int32)
    total = msh.comm.allreduce(np.array([msh.h(2, cells).sum(), cells.size]), op=MPI.SUM)
    out = {"h": total[0] / total[1], "its": its}
    for name, u, ex in (
        ("T", heat.T, t_exact(X, Y)),
        ("phi", field.phi, phi_exact(X, Y, ufl)),
    ):
        e = u - ex
        for norm, form in (("L2", e * e * dx), ("H1", ufl.inner(ufl.grad(e), ufl.grad(e)) * dx)):
            val = msh.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)
            out[f"{name}_{norm}"] = math.sqrt(val)
    return out


@pytest.mark.mpi
def test_heat_mms_with_k_of_t_and_a_coupling_source_converges_at_p1_rates():
    start = time.perf_counter()
    runs = [_mms_errors(h) for h in (8.0, 4.0, 2.0, 1.0)]
    h = np.array([r["h"] for r in runs])
    report = []
    for key, expected, tol in (
        ("T_L2", 2.0, 0.2),
        ("T_H1", 1.0, 0.15),
        ("phi_L2", 2.0, 0.2),
        ("phi_H1", 1.0, 0.15),
    ):
        err = np.array([r[key] for r in runs])
        rate = np.polyfit(np.log(h), np.log(err), 1)[0]
        last = math.log(err[-2] / err[-1]) / math.log(h[-2] / h[-1])
        report.append(f"{key}: {err} rate {rate:.3f} (last pair {last:.3f})")
        assert abs(rate - expected) < tol, report[-1]
        assert abs(last - expected) < tol, report[-1]
    if MPI.COMM_WORLD.rank == 0:
        print(f"\nh {h}", *report, f"Newton its {[r['its'] for r in runs]}", sep="\n")
        print(f"MMS: {time.perf_counter() - start:.1f} s")


# --- 2. semi-infinite slab ----------------------------------------------------------------
K, RHO, CP = 1.5, 5000.0, 600.0  # W/(m K), kg/m^3, J/(kg K): alpha = 5e-7 m^2/s
T_I, T_S = 300.0, 350.0  # K: initial, surface
DT, T_END = 1.0e-5, 1.0e-3  # s: 2 sqrt(alpha t_end) = 44.7 um against a 140 um slab


def _slab_case():
    materials = {
        name: {
            "base": base,
            "thermal_conductivity": f"{K} W/(m*K)",
            "density": f"{RHO} kg/m^3",
            "specific_heat": f"{CP} J/(kg*K)",
            "thermal_conductivity_temperature_coefficient": "0 1/K",
        }
        for name, base in (("llzo", "LLZO_Ta"), ("lithium", "Li"))
    }
    return symmetric_case(
        1,
        {
            "materials": materials,
            "physics": {"heat": {}},
            "interfaces": {},
            "boundary_conditions": {
                "heat": [
                    {"name": "bottom", "type": "temperature", "value": f"{T_S} K"},
                    {"name": "top", "type": "adiabatic"},
                ]
            },
            "initial_conditions": {"heat": {"temperature": f"{T_I} K"}},
            "time": {
                "mode": "transient",
                "dt": f"{DT} s",
                "t_end": f"{T_END} s",
                "scheme": "bdf2",
                "adaptive": False,
            },
        },
        size="0.5 um",
    )


@pytest.mark.mpi
def test_semi_infinite_transient_matches_erf():
    start = time.perf_counter()
    case = _slab_case()
    problem = build_problem(case, build_mesh(case))
    try:
        _check_erf(problem, start)
    finally:
        problem.close()


def _check_erf(problem: Problem, start: float) -> None:
    (heat,) = problem.modules
    assert isinstance(heat, Heat) and problem.transient
    # T held at its initial value except where the surface temperature is imposed
    march(problem, DT, round(T_END / DT))
    t = float(problem.time.value)
    assert t == pytest.approx(T_END, rel=1e-12)

    comm = problem.comm
    V = heat.T.function_space
    owned = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:owned, 0] - lower_left(problem.bundle.mesh)[0]
    length = comm.allreduce(float(x.max(initial=0.0)), op=MPI.MAX)
    alpha = K / (RHO * CP)
    scale = 2 * math.sqrt(alpha * t)
    assert length / scale > 3  # erfc(3) = 2e-5: the slab is semi-infinite at t_end
    exact = T_S + (T_I - T_S) * np.array([math.erf(xi / scale) for xi in x])
    T = heat.T.x.array[:owned]
    error = comm.allreduce(float(np.abs(T - exact).max(initial=0.0)), op=MPI.MAX)
    far = x > length * (1 - 1e-9)
    far_error = comm.allreduce(float(np.abs(T[far] - T_I).max(initial=0.0)), op=MPI.MAX)
    assert comm.allreduce(int(far.sum()), op=MPI.SUM) == 1
    delta = abs(T_I - T_S)
    if comm.rank == 0:
        print(
            f"\nerf: max error {error:.3e} K ({error / delta:.2e} of |T_i - T_s|), far end "
            f"{far_error:.2e} K, {time.perf_counter() - start:.1f} s"
        )
    assert error < 5e-3 * delta
    assert far_error < 1e-3 * delta
