"""Manufactured solution with a Butler-Volmer jump across an interface: both sides' fields
converge at the P1 rates (L2 ~ h^2, H1 ~ h), serial and in parallel."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest
import ufl
from dolfinx import fem

from sse_fem.config.schema import Case
from sse_fem.mesh import build_mesh
from sse_fem.physics.base import Physics
from sse_fem.physics.conduction import Conduction
from sse_fem.problem import Problem

L = 100e-6  # domain [0, L]^2, electrode below y = L/2, electrolyte above
VT = 8.314462618 * 298.15 / 96485.33212
SIG_S, SIG_E, I0 = 2.0, 0.5, 50.0


def exact(x, module):
    X, Y = x[0] / L, x[1] / L
    phi_s = VT * (1.0 + 0.5 * module.sin(np.pi * X) * module.cos(np.pi * Y))
    phi_e = VT * 0.4 * module.cos(np.pi * X) * module.sin(np.pi * Y)
    return phi_s, phi_e


class Manufactured(Physics):
    """Sources, interface data and Dirichlet values for the exact fields above."""

    name = "manufactured"

    def __init__(self, conduction: Conduction) -> None:
        self.c = conduction

    def residual(self, problem):
        F = 0
        dS = self.c.dS
        iface = self.c.interfaces[0]
        for carrier, sig, k in (("electronic", SIG_S, 0), ("ionic", SIG_E, 1)):
            f = self.c.fields[carrier]
            sub = f.sub.mesh
            x = ufl.SpatialCoordinate(problem.bundle.mesh)
            ex = exact(x, ufl)[k]
            src = -ufl.div(sig * ufl.grad(ex))
            tags = tuple(problem.bundle.regions[r] for r in f.regions)
            F += -src * problem.test(f.name) * problem.bundle.dx()(tags)
            del sub
        x = ufl.SpatialCoordinate(problem.bundle.mesh)
        es, ee = exact(x, ufl)
        i_exact = iface.law.current(es - ee, 298.15, ufl.exp)
        n = ufl.as_vector((0.0, 1.0))  # electrode -> electrolyte
        g_s = SIG_S * ufl.dot(ufl.grad(es), n) + i_exact
        g_e = -SIG_E * ufl.dot(ufl.grad(ee), n) - i_exact
        F += -g_s("+") * problem.test("phi_electronic")("+") * dS(iface.tag)
        F += -g_e("-") * problem.test("phi_ionic")("-") * dS(iface.tag)
        return F

    def dirichlet(self, problem):
        bcs = []
        self.exact_funcs = {}
        for carrier, k in (("electronic", 0), ("ionic", 1)):
            f = self.c.fields[carrier]
            V = f.u.function_space
            g = fem.Function(V)
            g.interpolate(lambda x, k=k: exact(x, np)[k])
            fdim = problem.bundle.dim - 1
            facets = np.concatenate(
                [
                    f.sub.facet_tags.find(problem.bundle.boundaries[b])
                    for b in ("bottom", "top", "sides")
                ]
            )
            bcs.append(fem.dirichletbc(g, fem.locate_dofs_topological(V, fdim, facets)))
        return bcs


def _case(size_um: float) -> Case:
    return Case.model_validate(
        {
            "case": {"name": "mms"},
            "geometry": {
                "type": "layered_cell",
                "dimension": 2,
                "width": f"{L} m",
                "layers": [
                    {"name": "electrode", "thickness": f"{L / 2} m"},
                    {"name": "electrolyte", "thickness": f"{L / 2} m"},
                ],
                "mesh": {"size": f"{size_um} um"},
            },
            "materials": {
                "s": {
                    "category": "metal",
                    "electronic_conductivity": f"{SIG_S} S/m",
                    "charge_number": 1,
                },
                "e": {"category": "solid_electrolyte", "ionic_conductivity": f"{SIG_E} S/m"},
            },
            "regions": [
                {"name": "electrode", "material": "s"},
                {"name": "electrolyte", "material": "e"},
            ],
            "physics": {"conduction": {"arrhenius": False}},
            "interfaces": {
                "conduction": [
                    {"name": "electrode_electrolyte", "exchange_current_density": f"{I0} A/m^2"}
                ]
            },
        }
    )


def _errors(size_um: float) -> tuple[float, list[float], list[float]]:
    case = _case(size_um)
    bundle = build_mesh(case)
    cond = Conduction(case.physics.conduction)
    problem = Problem(case, bundle, [cond, Manufactured(cond)])
    ok, _, _ = problem.solve()
    assert ok
    l2, h1 = [], []
    for carrier, k in (("electronic", 0), ("ionic", 1)):
        f = cond.fields[carrier]
        sub = f.sub.mesh
        ex = exact(ufl.SpatialCoordinate(sub), ufl)[k]
        e = f.u - ex
        dx = ufl.Measure("dx", domain=sub, metadata={"quadrature_degree": 6})
        for form, out in ((e * e * dx, l2), (ufl.inner(ufl.grad(e), ufl.grad(e)) * dx, h1)):
            val = sub.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)
            out.append(np.sqrt(val))
    problem.close()
    return size_um, l2, h1


@pytest.mark.mpi
def test_bv_interface_jump_converges_at_p1_rates():
    runs = [_errors(h) for h in (10.0, 5.0, 2.5, 1.25)]
    h = np.array([r[0] for r in runs])
    for side in (0, 1):
        l2 = np.array([r[1][side] for r in runs])
        h1 = np.array([r[2][side] for r in runs])
        rate_l2 = np.polyfit(np.log(h), np.log(l2), 1)[0]
        rate_h1 = np.polyfit(np.log(h), np.log(h1), 1)[0]
        assert rate_l2 > 1.85, (side, l2)
        assert rate_h1 > 0.9, (side, h1)
        print(f"side {side}: L2 rate {rate_l2:.3f}, H1 rate {rate_h1:.3f}")
