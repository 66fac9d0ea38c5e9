"""Checks on the built-in material library (sse_fem/materials/data/*.yaml)."""

from __future__ import annotations

import math
import re

import pytest
import yaml

from sse_fem.materials import PROPERTIES, get_material, list_materials
from sse_fem.materials.registry import CATEGORIES, DATA_DIR, FLAGS
from sse_fem.units import DIMENSIONS, to_si

F = 96485.33212  # C/mol
R = 8.314462618  # J/(mol K)
EV = 96485.33212  # J/mol per eV

REQUIRED = [
    "LLZO_Ta",
    "LLZO_Al",
    "LLZO_Ga",
    "LATP",
    "LAGP",
    "LLTO",
    "LiPON",
    "LGPS",
    "Li6PS5Cl",
    "Li6PS5Br",
    "Li3PS4",
    "Li7P3S11",
    "Li3InCl6",
    "Li3YCl6",
    "PEO_LiTFSI",
    "NZSP",
    "Na3PS4",
    "Na_beta_alumina",
    "K_beta_alumina",
    "MgSc2Se4",
    "Zn_MFZS",
    "Ca_PTHF_SPE",
    "Al_NASICON",
    "Li",
    "Na",
    "K",
    "Mg",
    "Zn",
    "Ca",
    "Al",
    "Cu",
    "NMC811",
    "NCA",
    "LiCoO2",
    "LiFePO4",
    "LiNbO3",
    "Al2O3_coating",
    "carbon_black",
]
ELECTROLYTES = ("solid_electrolyte", "polymer_electrolyte")
METAL_Z = {"Li": 1, "Na": 1, "K": 1, "Mg": 2, "Zn": 2, "Ca": 2, "Al": 3}
ELECTROLYTE_Z = {"MgSc2Se4": 2, "Zn_MFZS": 2, "Ca_PTHF_SPE": 2, "Al_NASICON": 3}
POSITIVE = {
    "ionic_conductivity",
    "ionic_conductivity_bulk",
    "ionic_conductivity_grain_boundary",
    "electronic_conductivity",
    "reference_temperature",
    "activation_energy",
    "mobile_ion_concentration",
    "total_ion_concentration",
    "salt_concentration",
    "cation_diffusivity",
    "anion_diffusivity",
    "nernst_einstein_diffusivity",
    "relative_permittivity",
    "vft_prefactor",
    "vft_pseudo_activation",
    "vft_ideal_glass_temperature",
    "specific_capacity",
    "max_concentration",
    "solid_diffusivity",
    "molar_mass",
    "molar_volume",
    "density",
    "thermal_conductivity",
    "specific_heat",
    "thermal_expansion",
    "melting_temperature",
    "youngs_modulus",
    "shear_modulus",
    "yield_strength",
    "fracture_toughness",
    "surface_energy",
}

MATERIALS = list_materials()
IDS = [m.name for m in MATERIALS]


def _raw(name: str) -> dict:
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text())


def _ion_charge(ion: str) -> int:
    """ "Li+" -> 1, "Mg2+" -> 2."""
    match = re.fullmatch(r"[A-Z][a-z]?(\d?)\+", ion)
    assert match, f"bad mobile_ion {ion!r}"
    return int(match.group(1) or 1)


def test_library_size_and_required_names():
    names = {m.name for m in MATERIALS}
    assert len(MATERIALS) >= 38
    assert not set(REQUIRED) - names, f"missing: {sorted(set(REQUIRED) - names)}"


@pytest.mark.parametrize("mat", MATERIALS, ids=IDS)
def test_metadata(mat):
    assert mat.category in CATEGORIES
    assert mat.full_name and mat.formula
    if mat.category in ELECTROLYTES or mat.category == "metal":
        assert mat.mobile_ion, f"{mat.name}: mobile_ion missing"


@pytest.mark.parametrize("mat", MATERIALS, ids=IDS)
def test_raw_values_are_numbers(mat):
    # PyYAML reads "1e-7" (no dot) as a string; values must be real YAML numbers.
    for key, entry in _raw(mat.name)["properties"].items():
        value = entry["value"]
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        for opt in ("low", "verify"):
            assert isinstance(entry.get(opt, False), bool), (key, opt)


@pytest.mark.parametrize("mat", MATERIALS, ids=IDS)
def test_units_and_values(mat):
    assert mat.properties, f"{mat.name} has no properties"
    for key, p in mat.properties.items():
        dim = PROPERTIES[key][0]
        assert p.unit == DIMENSIONS[dim]
        assert to_si(p.given, dim) == pytest.approx(p.value)
        assert math.isfinite(p.value), key
        assert p.flag in FLAGS
        if key in POSITIVE:
            assert p.value > 0, f"{mat.name}.{key} = {p.value}"
    props = mat.properties
    if "poissons_ratio" in props:
        assert 0.0 <= props["poissons_ratio"].value < 0.5
    if "charge_number" in props:
        assert props["charge_number"].value in (1.0, 2.0, 3.0)
    if "transference_number" in props:
        assert 0.0 < props["transference_number"].value <= 1.0
    if "activation_energy" in props:
        assert 0.05 <= props["activation_energy"].value / EV <= 1.5
    if "reference_temperature" in props:
        assert 200.0 <= props["reference_temperature"].value <= 1000.0
    for kind in ("stability_window", "thermodynamic_window"):
        lo, hi = props.get(f"{kind}_low"), props.get(f"{kind}_high")
        if lo and hi:
            assert lo.value < hi.value, (mat.name, kind)


@pytest.mark.parametrize("mat", MATERIALS, ids=IDS)
def test_sources_are_cited(mat):
    assert mat.references
    for key, citation in mat.references.items():
        assert key and citation.strip(), f"{mat.name}: empty citation {key!r}"
    for key, p in mat.properties.items():
        assert p.source in mat.references, f"{mat.name}.{key}: source {p.source!r}"
    notes = _raw(mat.name).get("notes", [])
    assert isinstance(notes, list) and all(isinstance(n, str) and n for n in notes)


def test_electrolytes_have_transport_basics():
    electrolytes = [m for m in MATERIALS if m.category in ELECTROLYTES]
    assert len(electrolytes) >= 23
    for m in electrolytes:
        for key in (
            "ionic_conductivity",
            "reference_temperature",
            "activation_energy",
            "charge_number",
        ):
            assert key in m.properties, f"{m.name} lacks {key}"
        z = int(m.get("charge_number"))
        assert z == ELECTROLYTE_Z.get(m.name, 1), m.name
        assert _ion_charge(m.mobile_ion) == z, m.name


def test_metals():
    metals = {m.name: m for m in MATERIALS if m.category == "metal"}
    assert set(METAL_Z) <= set(metals)
    for name, m in metals.items():
        assert m.get("electronic_conductivity") > 1e6
        assert int(m.get("charge_number")) == METAL_Z[name]
        assert m.mobile_ion == f"{name}{METAL_Z[name] if METAL_Z[name] > 1 else ''}+"
        # derived fields agree with M, rho and z
        M, rho, z = m.get("molar_mass"), m.get("density"), METAL_Z[name]
        assert m.get("molar_volume") == pytest.approx(M / rho, rel=0.01)
        q_theory = z * F / M  # C/kg
        assert m.get("specific_capacity") * 3600 == pytest.approx(q_theory, rel=0.01)


def test_spot_values_in_si():
    assert get_material("LLZO_Ta").get("ionic_conductivity") == pytest.approx(0.051)
    assert get_material("Li6PS5Cl").get("ionic_conductivity") == pytest.approx(0.32)
    li = get_material("Li")
    assert li.get("density") == pytest.approx(534.0)
    assert li.get("shear_modulus") == pytest.approx(2.83e9)
    assert get_material("LiPON").get("mobile_ion_concentration") == pytest.approx(249.0)
    assert get_material("LLTO").get("ionic_conductivity") == pytest.approx(2.0e-3)
    assert get_material("LLTO").get("ionic_conductivity_bulk") == pytest.approx(0.1)
    assert get_material("PEO_LiTFSI").get("reference_temperature") == pytest.approx(333.15)
    assert get_material("Li7P3S11").get("activation_energy") / EV == pytest.approx(0.176)
    assert get_material("Li").get("melting_temperature") == pytest.approx(453.65)


ELASTIC = [
    m
    for m in MATERIALS
    if {"youngs_modulus", "shear_modulus", "poissons_ratio"} <= set(m.properties)
]


@pytest.mark.parametrize("mat", ELASTIC, ids=lambda m: m.name)
def test_isotropic_elastic_consistency(mat):
    E, G, nu = (mat.get(k) for k in ("youngs_modulus", "shear_modulus", "poissons_ratio"))
    assert E == pytest.approx(2 * G * (1 + nu), rel=0.05)


def test_lithium_uses_polycrystal_set():
    li = get_material("Li")
    E, G, nu = li.get("youngs_modulus"), li.get("shear_modulus"), li.get("poissons_ratio")
    assert E == pytest.approx(2 * G * (1 + nu), rel=0.05)
    assert E == pytest.approx(7.82e9)
    assert 0.8e6 == pytest.approx(li.get("yield_strength"))


@pytest.mark.parametrize(
    "mat",
    [m for m in MATERIALS if "nernst_einstein_diffusivity" in m.properties],
    ids=lambda m: m.name,
)
def test_nernst_einstein_values_are_consistent(mat):
    sigma = mat.get("ionic_conductivity_bulk") or mat.get("ionic_conductivity")
    T, z = mat.get("reference_temperature"), mat.get("charge_number")
    concentrations = [
        mat.get(k) for k in ("total_ion_concentration", "mobile_ion_concentration") if mat.get(k)
    ]
    d_stored = mat.get("nernst_einstein_diffusivity")
    d_calc = [sigma * R * T / (z * z * F * F * c) for c in concentrations]
    assert any(d == pytest.approx(d_stored, rel=0.1) for d in d_calc), (d_stored, d_calc)


@pytest.mark.parametrize(
    "mat", [m for m in MATERIALS if m.category == "active_material"], ids=lambda m: m.name
)
def test_active_material_cmax(mat):
    for key in (
        "max_concentration",
        "solid_diffusivity",
        "open_circuit_potential",
        "electronic_conductivity",
        "partial_molar_volume",
        "specific_capacity",
        "molar_mass",
        "density",
        "youngs_modulus",
    ):
        assert key in mat.properties, f"{mat.name} lacks {key}"
    assert mat.get("max_concentration") == pytest.approx(
        mat.get("density") / mat.get("molar_mass"), rel=0.02
    )
    assert 2.5 < mat.get("open_circuit_potential") < 4.5


def test_peo_binary_salt_split():
    peo = get_material("PEO_LiTFSI")
    d_plus, d_minus = peo.get("cation_diffusivity"), peo.get("anion_diffusivity")
    assert d_plus / (d_plus + d_minus) == pytest.approx(peo.get("transference_number"), rel=0.02)
    c, T = peo.get("salt_concentration"), peo.get("reference_temperature")
    sigma = F * F / (R * T) * c * (d_plus + d_minus)
    assert sigma == pytest.approx(peo.get("ionic_conductivity"), rel=0.03)
    # the VFT parameters reproduce the reference conductivity
    A, B, T0 = (
        peo.get(k)
        for k in ("vft_prefactor", "vft_pseudo_activation", "vft_ideal_glass_temperature")
    )
    assert A / math.sqrt(T) * math.exp(-B / (T - T0)) == pytest.approx(
        peo.get("ionic_conductivity"), rel=0.02
    )
