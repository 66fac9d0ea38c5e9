"""Shared-quantity registry: provide/require/default, one provider per name, reports."""

from __future__ import annotations

from mpi4py import MPI

import pytest
from dolfinx import fem, mesh

from sse_fem.quantities import Quantities


def test_provided_beats_default_and_users_are_recorded():
    msh = mesh.create_unit_interval(MPI.COMM_SELF, 2)
    q = Quantities()
    q.default("temperature", fem.Constant(msh, 298.15), "K")
    assert q.require("temperature", "conduction").is_constant
    V = fem.functionspace(msh, ("Lagrange", 1))
    T = fem.Function(V)
    q.provide("temperature", T, "K", "heat")
    got = q.require("temperature", "mechanics")
    assert got() is T and got.provider == "heat" and not got.is_constant
    assert q.report()["temperature"] == {"provider": "heat", "unit": "K", "users": ["mechanics"]}


def test_history_levels_and_errors():
    msh = mesh.create_unit_interval(MPI.COMM_SELF, 2)
    V = fem.functionspace(msh, ("Lagrange", 1))
    now, before = fem.Function(V), fem.Function(V)
    q = Quantities()
    q.provide("concentration.Li", lambda level: (now, before)[level], "mol/m^3", "diffusion")
    c = q.require("concentration.Li", "kinetics")
    assert c(0) is now and c(1) is before
    with pytest.raises(ValueError, match="provided twice"):
        q.provide("concentration.Li", now, "mol/m^3", "other")
    with pytest.raises(KeyError, match="nothing provides"):
        q.require("stress", "kinetics")
    q.default("temperature", fem.Constant(msh, 300.0), "K")
    with pytest.raises(ValueError, match="unit"):
        q.provide("temperature", now, "degC", "heat")
