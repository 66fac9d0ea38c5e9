"""Material curves of the stoichiometry x (tables and expressions): library data, numpy vs UFL,
in-place updates without recompiling, linear extrapolation, case-file overrides."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.errors import CaseError
from sse_fem.materials import get_material, list_materials
from sse_fem.materials.curves import Curve, curve_from_spec
from sse_fem.materials.properties import CURVES
from sse_fem.materials.registry import FLAGS, Material, _parse, check_property_name
from sse_fem.units import DIMENSIONS

CATHODES = ("NMC811", "NCA", "LiCoO2", "LiFePO4")
LIBRARY_CURVES = [(m.name, c) for m in list_materials() for c in m.curves.values()]
IDS = [f"{name}-{c.name}" for name, c in LIBRARY_CURVES]


def _samples(curve: Curve, n: int = 801) -> np.ndarray:
    return np.linspace(*curve.valid_range, n)


@pytest.mark.parametrize(("name", "curve"), LIBRARY_CURVES, ids=IDS)
def test_library_curves_load_and_are_finite(name, curve):
    mat = get_material(name)
    assert curve.name in CURVES
    assert curve.unit == DIMENSIONS[CURVES[curve.name][0]]
    assert curve.source in mat.references and curve.flag in FLAGS
    assert curve.note, f"{name}.{curve.name}: say which way x runs"
    lo, hi = curve.valid_range
    assert 0.0 <= lo < hi <= 1.0
    assert np.all(np.isfinite(curve.numpy(_samples(curve))))
    if curve.x is not None:
        assert all(b > a for a, b in zip(curve.x, curve.x[1:], strict=False))
    if curve.name == "entropic_coefficient":  # |dU/dT| below 1 mV/K for these cathodes
        assert np.all(np.abs(curve.numpy(_samples(curve))) < 1e-3)


def test_cathodes_have_ocv_and_entropic_curves():
    for name in CATHODES:
        mat = get_material(name)
        assert mat.curve("open_circuit_potential") is not None, name
        assert mat.curve("entropic_coefficient") is not None, name
        assert "open_circuit_potential" in mat.properties  # the scalar stays
    assert get_material("LLZO_Ta").curve("open_circuit_potential") is None


@pytest.mark.parametrize("name", CATHODES)
def test_ocv_decreases_with_lithiation(name):
    curve = get_material(name).curve("open_circuit_potential")
    assert curve is not None
    u = curve.numpy(_samples(curve))
    assert np.all(np.diff(u) <= 1e-9), f"{name}: U must not rise with x"
    assert u[0] - u[-1] > 0.3
    assert 2.5 <= u.min() and u.max() <= 4.6, (u.min(), u.max())


def test_spot_values():
    nmc = get_material("NMC811").curve("open_circuit_potential")
    assert nmc is not None and nmc.flag == "paper"
    assert float(nmc.numpy(0.5)) == pytest.approx(3.9720, abs=1e-4)
    lfp = get_material("LiFePO4").curve("open_circuit_potential")
    assert lfp is not None
    assert float(lfp.numpy(0.5)) == pytest.approx(3.4323, abs=1e-4)  # two-phase plateau
    lco = get_material("LiCoO2").curve("entropic_coefficient")
    assert lco is not None and -6e-4 < float(lco.numpy(0.8)) < -1e-4  # V/K


# ------------------------------------------------------------------------ tables, numpy


def _table(x, values, unit="V", name="open_circuit_potential", **extra) -> Curve:
    return curve_from_spec(name, {"x": x, "values": values, "unit": unit, **extra}, "t")


def test_table_is_piecewise_linear_with_linear_extrapolation():
    c = _table([0.2, 0.5, 0.9], [4.2, 3.9, 3.5])
    assert c.valid_range == (0.2, 0.9)  # the knot span unless given
    assert c.numpy([0.2, 0.35, 0.5, 0.7, 0.9]) == pytest.approx([4.2, 4.05, 3.9, 3.7, 3.5])
    # end segments extended: slope -1 below 0.2, -1 above 0.9
    assert c.numpy([0.0, -0.1, 1.0, 1.1]) == pytest.approx([4.4, 4.5, 3.4, 3.3])


def test_table_units_are_converted_per_value():
    c = _table([0, 1], [0.1, -0.2], unit="mV/K", name="entropic_coefficient")
    assert c.values == pytest.approx((1e-4, -2e-4)) and c.unit == "V/K"
    d = _table([0, 0.5, 1], [1e-10, 2e-10, 4e-10], unit="cm^2/s", name="solid_diffusivity")
    assert d.numpy(0.75) == pytest.approx(3e-14)


def test_expression_curve_scale():
    c = curve_from_spec("entropic_coefficient", {"expression": "0.1 - 0.2*x", "unit": "mV/K"}, "t")
    assert c.scale == pytest.approx(1e-3) and c.given_unit == "mV/K"
    assert c.numpy([0.0, 1.0]) == pytest.approx([1e-4, -1e-4])


# ------------------------------------------------------------------------ UFL


@pytest.fixture(scope="module")
def unit_mesh():
    from dolfinx import mesh

    return mesh.create_unit_interval(MPI.COMM_SELF, 2)


def _assemble(form) -> float:
    from dolfinx import fem

    return float(fem.assemble_scalar(form))


def _curve_form(msh, curve: Curve):
    """fem.form of curve(c) dx on the unit interval (= the curve's value at c)."""
    import ufl
    from dolfinx import fem

    c = fem.Constant(msh, 0.0)
    cf = curve.on_mesh(msh)
    return c, cf, fem.form(cf(c) * ufl.dx(domain=msh))


def test_table_ufl_matches_numpy(unit_mesh):
    curve = _table([0.1, 0.3, 0.45, 0.8, 0.95], [4.3, 4.0, 3.9, 3.7, 3.2])
    c, _, form = _curve_form(unit_mesh, curve)
    for x in (-0.2, 0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 0.95, 1.0, 1.3):
        c.value = x
        assert _assemble(form) == pytest.approx(float(curve.numpy(x)), rel=1e-13, abs=1e-13)


def test_update_reuses_the_compiled_form(unit_mesh):
    first = _table([0.0, 0.5, 1.0], [4.0, 3.8, 3.0])
    c, cf, form = _curve_form(unit_mesh, first)
    c.value = 0.75
    assert _assemble(form) == pytest.approx(3.4)
    second = _table([0.1, 0.4, 0.9], [4.4, 4.1, 3.1])
    cf.update(second)  # same length: constants only
    assert cf.curve is second
    assert _assemble(form) == pytest.approx(float(second.numpy(0.75)))
    assert float(second.numpy(0.75)) == pytest.approx(3.4)  # 4.1 - 2 * 0.35
    c.value = 1.2
    assert _assemble(form) == pytest.approx(float(second.numpy(1.2)))
    with pytest.raises(ValueError, match="3 knots"):
        cf.update(_table([0, 1], [4, 3]))
    with pytest.raises(ValueError):
        cf.update(curve_from_spec("open_circuit_potential", {"expression": "4", "unit": "V"}, "t"))


def test_expression_ufl_matches_numpy_and_updates_its_unit(unit_mesh):
    ocp = get_material("NMC811").curve("open_circuit_potential")
    assert ocp is not None
    c, _, form = _curve_form(unit_mesh, ocp)
    for x in (0.27, 0.5, 0.9):
        c.value = x
        assert _assemble(form) == pytest.approx(float(ocp.numpy(x)), rel=1e-12)
    spec = {"expression": "0.3*exp(-x)", "unit": "mV/K"}
    slow = curve_from_spec("entropic_coefficient", spec, "t")
    c, cf, form = _curve_form(unit_mesh, slow)
    c.value = 0.5
    assert _assemble(form) == pytest.approx(0.3e-3 * np.exp(-0.5))
    cf.update(curve_from_spec("entropic_coefficient", {**spec, "unit": "V/K"}, "t"))
    assert _assemble(form) == pytest.approx(0.3 * np.exp(-0.5))
    with pytest.raises(ValueError, match="same text"):
        cf.update(curve_from_spec("entropic_coefficient", {**spec, "expression": "x"}, "t"))


# ------------------------------------------------------------------------ case-file overrides

PATH = "materials.cathode"


def test_overrides_from_dicts():
    base = get_material("NMC811")
    mat = base.with_overrides(
        {
            "open_circuit_potential": {"x": [0.2, 0.9], "values": [4300, 3500], "unit": "mV"},
            "entropic_coefficient": {"expression": "0.05 - 0.1*x", "unit": "mV/K"},
            "solid_diffusivity": {
                "x": [0.0, 1.0],
                "values": [1e-10, 1e-11],
                "unit": "cm^2/s",
                "valid_range": [0.1, 0.9],
                "note": "GITT",
            },
        },
        PATH,
    )
    ocp = mat.curve("open_circuit_potential")
    assert ocp is not None and ocp.values == pytest.approx((4.3, 3.5))
    assert (ocp.source, ocp.flag) == ("case file", "typical")
    dudt = mat.curve("entropic_coefficient")
    assert dudt is not None and float(dudt.numpy(1.0)) == pytest.approx(-5e-5)
    d = mat.curve("solid_diffusivity")
    assert d is not None and d.valid_range == (0.1, 0.9) and d.note == "GITT"
    assert d.numpy(0.5) == pytest.approx(5.5e-15)
    # the scalar properties stay; the library material is untouched
    assert mat.get("open_circuit_potential") == pytest.approx(3.8)
    assert base.curve("open_circuit_potential") is not None
    assert base.curve("open_circuit_potential") != ocp


def test_scalar_override_stays_scalar_and_wins_over_a_library_curve():
    base = get_material("NMC811")
    mat = base.with_overrides(
        {"solid_diffusivity": "1e-14 m^2/s", "open_circuit_potential": "3.7 V"}, PATH
    )
    assert mat.get("solid_diffusivity") == pytest.approx(1e-14)
    assert mat.curve("solid_diffusivity") is None
    assert mat.get("open_circuit_potential") == pytest.approx(3.7)
    assert mat.curve("open_circuit_potential") is None  # the case file's constant wins
    assert mat.curve("entropic_coefficient") is not None


def test_new_material_with_curves():
    mat = Material("cathode", "active_material").with_overrides(
        {"open_circuit_potential": {"expression": "4.2 - 0.8*x", "unit": "V"}}, PATH
    )
    curve = mat.curve("open_circuit_potential")
    assert curve is not None and float(curve.numpy(0.5)) == pytest.approx(3.8)


def test_curve_names_are_accepted_property_names():
    for name in CURVES:
        check_property_name(name, "k")
    with pytest.raises(CaseError, match="open_circuit_potential"):
        check_property_name("open_circuit_potentail", "k")


OCP = "open_circuit_potential"
BAD = [
    ({"x": [0.1, 0.5, 0.4], "values": [4, 3.9, 3.8], "unit": "V"}, ".x[2]", "increase strictly"),
    ({"x": [0.1, 0.5], "values": [4, 3.9, 3.8], "unit": "V"}, ".values", "one value per knot"),
    ({"x": [0.1], "values": [4], "unit": "V"}, ".x", "at least 2"),
    ({"x": [0.1, 0.5], "values": [4, "a"], "unit": "V"}, ".values[1]", "expected a number"),
    ({"x": [0.1, 0.5], "values": [4, 1e400], "unit": "V"}, ".values[1]", "finite"),
    ({"x": "0.1, 0.5", "values": [4, 3], "unit": "V"}, ".x", "list of numbers"),
    ({"x": [0.1, 0.5], "unit": "V"}, "", "both x and values"),
    ({"x": [0.1, 0.5], "values": [4, 3]}, ".unit", "unit is missing"),
    ({"x": [0.1, 0.5], "values": [4, 3], "unit": "S/m"}, ".unit", "not a potential"),
    ({"x": [0.1, 0.5], "values": [4, 3], "unit": "V", "foo": 1}, ".foo", "allowed keys"),
    ({"x": [0, 1], "values": [4, 3], "expression": "4", "unit": "V"}, "", "not both"),
    ({"unit": "V"}, "", "not neither"),
    ({"expression": "4 - y", "unit": "V"}, ".expression", "the name 'y'"),
    ({"expression": "__import__('os')", "unit": "V"}, ".expression", "not allowed"),
    ({"expression": "log(x - 0.5)", "unit": "V"}, ".expression", "not finite at x = 0"),
    ({"expression": "4", "unit": "V", "valid_range": [0.5, 0.2]}, ".valid_range", "low < high"),
    ({"expression": "4", "unit": "V", "valid_range": [0, 2]}, ".valid_range", "<= 1"),
    ({"expression": "4", "unit": "V", "note": 3}, ".note", "text"),
    ("4 V", "", None),  # a plain string is the scalar property: no error
]


@pytest.mark.parametrize(("spec", "suffix", "match"), BAD)
def test_bad_curve_overrides_name_the_key_path(spec, suffix, match):
    base = get_material("NMC811")
    if match is None:
        base.with_overrides({OCP: spec}, PATH)
        return
    with pytest.raises(CaseError, match=match) as info:
        base.with_overrides({OCP: spec}, PATH)
    assert info.value.path == f"{PATH}.{OCP}{suffix}", str(info.value)


def test_bad_overrides_of_other_names():
    base = get_material("NMC811")
    with pytest.raises(CaseError, match="negative|must be > 0") as info:
        base.with_overrides(
            {"solid_diffusivity": {"x": [0, 1], "values": [1e-14, -1e-15], "unit": "m^2/s"}}, PATH
        )
    assert info.value.path == f"{PATH}.solid_diffusivity.values"
    with pytest.raises(CaseError, match="only open_circuit_potential") as info:
        base.with_overrides({"ionic_conductivity": {"x": [0, 1], "values": [1, 2]}}, PATH)
    assert info.value.path == f"{PATH}.ionic_conductivity"
    with pytest.raises(CaseError, match="must be > 0") as info:
        base.with_overrides(
            {"solid_diffusivity": {"expression": "1e-14*(0.5 - x)", "unit": "m^2/s"}}, PATH
        )
    assert info.value.path == f"{PATH}.solid_diffusivity.expression"


def _library_entry(**curve) -> dict:
    return {
        "name": "X",
        "category": "active_material",
        "references": {"R": "a reference"},
        "properties": {},
        "curves": {OCP: curve},
    }


def test_library_file_checks():
    good = {"x": [0, 1], "values": [4, 3], "unit": "V", "source": "R", "flag": "paper"}
    assert _parse(_library_entry(**good), "X.yaml").curve(OCP) is not None
    with pytest.raises(ValueError, match="not in references"):
        _parse(_library_entry(**{**good, "source": "Nobody"}), "X.yaml")
    with pytest.raises(ValueError, match="flag"):
        _parse(_library_entry(**{**good, "flag": "guess"}), "X.yaml")
    with pytest.raises(CaseError, match="increase strictly") as info:
        _parse(_library_entry(**{**good, "x": [1, 0]}), "X.yaml")
    assert info.value.path == f"X.yaml: curves.{OCP}.x[1]"
    with pytest.raises(CaseError, match="cannot be a curve"):
        _parse({**_library_entry(**good), "curves": {"density": good}}, "X.yaml")
