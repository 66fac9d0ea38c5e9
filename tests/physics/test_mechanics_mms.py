"""Verification of mechanics by a manufactured solution (physics.md 3 and 5.11).

2-D plane strain on the layered cell Li | LLZO | Li with E and nu differing per layer (given
inline in ``materials:``): a smooth displacement u_ex that vanishes on the whole boundary, so
``fixed`` on bottom, top and sides is exact. A throw-away module supplies the body force
f = -div sigma(u_ex) in every cell (``body_force.manufactured``, dx) and, on the bonded
interfaces between the layers, the force density that balances the jump of the traction
sigma(u_ex) n there (``body_force.interface_jump``, dS). u converges at the P1 rates
(L2 ~ h^2, H1 ~ h).
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
from sse_fem.physics.mechanics import Mechanics
from sse_fem.problem import Problem
from tests.physics.helpers import MMS_LAYERS, MMS_WIDTH, lower_left, mms_layered_case

WIDTH, LAYERS = MMS_WIDTH, MMS_LAYERS  # m: anode, electrolyte, cathode
HEIGHT = sum(LAYERS)
AMP = 1e-7  # m: displacement amplitude (strains ~ 3e-3)
#: material -> (E [Pa], nu): Li-like and LLZO-like
ELASTIC = {"lithium": (8.0e9, 0.38), "llzo": (150.0e9, 0.26)}
QUADRATURE = {"quadrature_degree": 6}


def u_exact(X, Y):
    """u_ex [m] at the local coordinates (X, Y) [m] (origin at the lower-left corner):
    zero on the whole boundary, both components nonzero on the interfaces, with shear."""
    xs, ys = X / WIDTH, Y / HEIGHT
    bump = ufl.sin(math.pi * ys)
    return AMP * ufl.as_vector(
        [
            ufl.sin(math.pi * xs) * bump,
            0.6 * ufl.sin(2 * math.pi * xs) * bump * (1 + ys),
        ]
    )


class Loads(Physics):
    """No unknown: provides the manufactured body force (cells) and the interface force
    density (layer interfaces) that make u_ex the exact plane-strain solution."""

    name = "loads"

    def declare(self, problem: Problem) -> None:
        bundle = problem.bundle
        msh = bundle.mesh
        self.mesh = msh
        origin = lower_left(msh)
        x = ufl.SpatialCoordinate(msh)
        self.X, self.Y = x[0] - origin[0], x[1] - origin[1]
        # Lame parameters per cell from the test's own table (not from the module's)
        Q = fem.functionspace(msh, ("DG", 0))
        self.lam, self.mu = fem.Function(Q), fem.Function(Q)
        imap = msh.topology.index_map(bundle.dim)
        tag_of = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
        tag_of[bundle.cell_tags.indices] = bundle.cell_tags.values
        for region in problem.case.regions:
            E, nu = ELASTIC[region.material]
            cells = tag_of == bundle.regions[region.name]
            self.lam.x.array[cells] = E * nu / ((1 + nu) * (1 - 2 * nu))
            self.mu.x.array[cells] = E / (2 * (1 + nu))
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
            "body_force.manufactured", lambda level: self.volume_force(), "N/m^3", self.name, dx
        )
        problem.provide(
            "body_force.interface_jump",
            lambda level: self.interface_force(),
            "N/m^2",
            self.name,
            dS(1),
        )

    def stress(self) -> ufl.core.expr.Expr:
        """Plane-strain sigma(u_ex) [Pa] (2x2)."""
        eps = ufl.sym(ufl.grad(u_exact(self.X, self.Y)))
        return self.lam * ufl.tr(eps) * ufl.Identity(2) + 2 * self.mu * eps

    def volume_force(self) -> ufl.core.expr.Expr:
        """-div sigma(u_ex) in every cell (lambda, mu constant per cell)."""
        u = u_exact(self.X, self.Y)
        eps = ufl.sym(ufl.grad(u))
        return -(self.lam * ufl.grad(ufl.tr(eps)) + 2 * self.mu * ufl.div(eps))

    def interface_force(self) -> ufl.core.expr.Expr:
        """The jump of the exact traction across the interfaces, sigma+ n+ + sigma- n-
        (does not depend on which side is '+')."""
        n = ufl.FacetNormal(self.mesh)
        s = self.stress()
        return ufl.dot(s("+"), n("+")) + ufl.dot(s("-"), n("-"))


def _mms_case(size_um: float):
    overrides = {
        name: {"youngs_modulus": f"{e / 1e9} GPa", "poissons_ratio": nu}
        for name, (e, nu) in ELASTIC.items()
    }
    supports = [{"name": b, "type": "fixed"} for b in ("bottom", "top", "sides")]
    blocks = {
        "physics": {"mechanics": {"formulation": "plane_strain"}},
        "boundary_conditions": {"mechanics": supports},
    }
    return mms_layered_case(size_um, overrides, blocks)


def _mms_errors(size_um: float) -> dict[str, float]:
    case = _mms_case(size_um)
    mechanics, loads = Mechanics(case.physics.mechanics), Loads()
    problem = Problem(case, build_mesh(case), [mechanics, loads])
    try:
        return _solve_and_measure(problem, mechanics, loads, size_um)
    finally:
        problem.close()  # collective MUMPS teardown, also when an assertion fails


def _solve_and_measure(problem: Problem, mechanics: Mechanics, loads: Loads, size_um: float):
    assert problem.linear and problem.one_solve
    users = problem.quantities.report()
    assert users["body_force.manufactured"]["users"] == ["mechanics"]
    assert users["body_force.interface_jump"]["users"] == ["mechanics"]
    ok, its, _ = problem.solve()
    assert ok, f"solve failed at h = {size_um} um"
    assert its == 1  # linear: one solve
    msh = problem.bundle.mesh
    dx = ufl.dx(msh, metadata={"quadrature_degree": 8})
    # h: the mean cell diameter (gmsh's cells are not exactly the nominal size)
    cells = np.arange(msh.topology.index_map(2).size_local, dtype=np.int32)
    total = msh.comm.allreduce(np.array([msh.h(2, cells).sum(), cells.size]), op=MPI.SUM)
    out = {"h": total[0] / total[1]}
    e = mechanics.u - u_exact(loads.X, loads.Y)
    for norm, form in (
        ("L2", ufl.inner(e, e) * dx),
        ("H1", ufl.inner(ufl.grad(e), ufl.grad(e)) * dx),
    ):
        val = msh.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)
        out[f"u_{norm}"] = math.sqrt(val)
    return out


@pytest.mark.mpi
def test_mechanics_mms_piecewise_moduli_across_bonded_interfaces_converges_at_p1_rates():
    start = time.perf_counter()
    runs = [_mms_errors(h) for h in (8.0, 4.0, 2.0, 1.0)]
    h = np.array([r["h"] for r in runs])
    report = []
    for key, expected, tol in (("u_L2", 2.0, 0.2), ("u_H1", 1.0, 0.15)):
        err = np.array([r[key] for r in runs])
        rate = np.polyfit(np.log(h), np.log(err), 1)[0]
        last = math.log(err[-2] / err[-1]) / math.log(h[-2] / h[-1])
        report.append(f"{key}: {err} rate {rate:.3f} (last pair {last:.3f})")
        assert abs(rate - expected) < tol, report[-1]
        assert abs(last - expected) < tol, report[-1]
    if MPI.COMM_WORLD.rank == 0:
        print(f"\nh {h}", *report, sep="\n")
        print(f"mechanics MMS: {time.perf_counter() - start:.1f} s")
