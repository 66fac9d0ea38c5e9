"""Nernst-Planck/Poisson: case checks, lattice saturation, the run's outputs and the shipped
blocking-electrode case against its first-integral charge."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
import yaml
from scipy.optimize import brentq

from sse_fem.config import load_case, validate_case
from sse_fem.driver import run_case
from sse_fem.errors import CaseError
from sse_fem.mesh import build_mesh
from sse_fem.physics.nernst_planck.species import species_slug
from sse_fem.problem import build_problem
from tests.physics.pnp_cases import EPS0, V_T, debye_length, framework, graded, pnp_case_1d, species

CASES = Path(__file__).resolve().parents[2] / "cases"


@pytest.mark.parametrize(
    ("name", "slug"), [("Li+", "Li_p"), ("TFSI-", "TFSI_m"), ("Mg2+", "Mg2_p"), ("Na", "Na")]
)
def test_species_slug(name, slug):
    assert species_slug(name) == slug


def base_data() -> dict:
    return {
        "case": {"name": "pnp"},
        "geometry": {
            "type": "layered_cell",
            "dimension": 1,
            "layers": [{"name": "electrolyte", "thickness": "10 nm"}],
        },
        "materials": {"el": {"category": "solid_electrolyte", "relative_permittivity": 10}},
        "regions": [{"name": "electrolyte", "material": "el"}],
        "physics": {
            "nernst_planck": {
                "species": [species("Li+", 1, 10.0)],
                "fixed_charge": framework(10.0),
            }
        },
        "boundary_conditions": {
            "nernst_planck": [
                {"name": "bottom", "potential": "0.1 V"},
                {"name": "top", "potential": "0 V", "concentration": {"Li+": "10 mol/m^3"}},
            ]
        },
    }


def edited(path: str, value) -> dict:
    """``base_data`` with ``value`` at the dotted ``path`` (list items by index)."""
    data = base_data()
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is None:
        del node[last if not last.isdigit() else int(last)]
    else:
        node[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "where", "message"),
    [
        ("physics.nernst_planck.species.0.charge_number", 0, "species", "neutral"),
        ("physics.nernst_planck.species.0.name", "Li 1", "name", "pattern"),
        (
            "physics.nernst_planck.species.0.max_concentration",
            "5 mol/m^3",
            "species",
            "below max_concentration",
        ),
        (
            "boundary_conditions.nernst_planck.1.concentration",
            {"Na+": "1 mol/m^3"},
            "boundary_conditions.nernst_planck[1](top).concentration",
            "not a species",
        ),
        ("boundary_conditions.nernst_planck.0.potential", "1 A", "potential", "terminal"),
        (
            "boundary_conditions.nernst_planck",
            [{"name": "top", "concentration": {"Li+": "10 mol/m^3"}}],
            "boundary_conditions.nernst_planck",
            "reference",
        ),
        ("physics.nernst_planck.regions", ["separator"], "regions", "not a region"),
        ("physics.conduction", {}, "physics", "electroneutral_regions"),
        ("boundary_conditions.nernst_planck.0.potential", "terminal", "time.protocol", "needs"),
    ],
)
def test_case_errors(path, value, where, message):
    with pytest.raises(CaseError) as err:
        validate_case(edited(path, value))
    assert where in str(err.value) and message in str(err.value)


def test_current_steps_refused():
    data = edited("boundary_conditions.nernst_planck.0.potential", "terminal")
    data["time"] = {
        "mode": "transient",
        "dt": "1 ns",
        "protocol": [{"mode": "current", "value": "1 mA", "duration": "1 us"}],
    }
    with pytest.raises(CaseError, match=r"voltage steps.*electrode. terminal"):
        validate_case(data)


def test_steady_flux_without_reservoir_refused():
    data = base_data()
    data["boundary_conditions"]["nernst_planck"][1] = {
        "name": "top",
        "potential": "0 V",
        "flux": {"Li+": "1e-6 mol/(m^2*s)"},
    }
    case = validate_case(data)
    with pytest.raises(CaseError, match="do not cancel"):
        build_problem(case, build_mesh(case, MPI.COMM_WORLD))


@pytest.mark.mpi
def test_lattice_saturation_at_the_wall():
    """Accumulation against a wall at -10 V_T with c_max = 4 c0: at equilibrium the wall
    occupancy is 1 / (1 + (1 - th0)/th0 e^psi0) exactly (the discrete flux is zero node by
    node), far below the dilute c0 e^10; never above c_max."""
    c0, c_max, eps_r, psi0 = 1000.0, 4000.0, 20.0, -10.0
    lam = debye_length(eps_r, c0)
    case = pnp_case_1d(
        60 * lam,
        [species("Li+", 1, c0, max_concentration=f"{c_max} mol/m^3")],
        [
            {"name": "bottom", "potential": f"{psi0 * V_T} V"},
            {"name": "top", "potential": "0 V", "concentration": {"Li+": f"{c0} mol/m^3"}},
        ],
        eps_r=eps_r,
        mesh=graded(lam, 1 / 50, 1, 10),
        fixed_charge=framework(c0),
    )
    problem = build_problem(case, build_mesh(case, MPI.COMM_WORLD))
    try:
        assert problem.solve()[0]
        (module,) = problem.modules
        low, high = module.concentration_range(problem, module.ions[0])
    finally:
        problem.close()
    th0 = c0 / c_max
    wall = c_max / (1 + (1 - th0) / th0 * math.exp(psi0))
    assert high == pytest.approx(wall, rel=1e-8)
    assert low >= c0 * (1 - 1e-9) and high < c_max


def test_run_outputs(tmp_path):
    """A Gouy-Chapman case through the driver: summary figures, profiles table, pictures."""
    c0, eps_r = 10.0, 10.0
    lam = debye_length(eps_r, 2 * c0)
    case = pnp_case_1d(
        40 * lam,
        [species("A+", 1, c0), species("B-", -1, c0)],
        [
            {"name": "bottom", "potential": f"{4 * V_T} V"},
            {
                "name": "top",
                "potential": "0 V",
                "concentration": {"A+": f"{c0} mol/m^3", "B-": f"{c0} mol/m^3"},
            },
        ],
        eps_r=eps_r,
        mesh=graded(lam, 1 / 50, 1 / 2, 10),
    )
    case.outputs.plots = True
    summary = run_case(case, outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    out = summary["outputs"]["nernst_planck"]
    assert out["electrolyte.debye_length_m"] == pytest.approx(lam, rel=1e-12)
    grahame = math.sqrt(8 * eps_r * EPS0 * 8.314462618 * 298.15 * c0) * math.sinh(2.0)
    assert out["bottom.surface_charge_C_m2"] == pytest.approx(grahame, rel=2e-3)
    assert out["bottom.potential_drop_V"] == pytest.approx(4 * V_T, rel=1e-7)  # bulk at 20 lambda
    # counter-ion within 1 % of c0 where psi = 0.01: tanh(psi/4) = tanh(1) e^(-x/lambda)
    width = lam * math.log(math.tanh(1.0) / math.tanh(0.0025))
    assert out["bottom.space_charge_width_m"] == pytest.approx(width, rel=0.05)
    assert out["top.space_charge_width_m"] == 0.0
    assert out["A_p.min_concentration_mol_m3"] == pytest.approx(c0 * math.exp(-4), rel=1e-9)
    rows = list(csv.DictReader(open(tmp_path / "out" / "profiles.csv")))
    assert {"position_m", "phi_V", "c_A_p_mol_m3", "c_B_m_mol_m3"} <= set(rows[0])
    for name in ("potential_profile.png", "concentration_profile.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


def first_integral_charge(volts: float, lam: float, eps_r: float) -> float:
    """Charge per area [C/m^2] on the positive of two blocking electrodes around a single
    mobile cation on a fixed background (semi-infinite layers): the drop splits as
    psi_1 + psi_2 = V / V_T with equal and opposite charges sqrt(2) eps V_T / lambda
    sqrt(psi + e^-psi - 1) sign(psi)."""
    total = volts / V_T

    def charge(psi: float) -> float:
        return math.copysign(math.sqrt(2 * (psi + math.exp(-psi) - 1)), psi)

    psi1 = brentq(lambda p: charge(p) + charge(p - total), 0.0, total)
    return eps_r * EPS0 * V_T / lam * charge(psi1)


@pytest.mark.slow
def test_blocking_electrode_case(tmp_path):
    """The shipped case: at the end of the 0.1 V step (7 RC times) the electrode charge is
    the first-integral value; after 10 us shorted nearly all of it is gone."""
    path = CASES / "blocking_electrode_polarisation" / "case.yaml"
    case = load_case(path, ["outputs.fields=false", "outputs.plots=false"])
    summary = run_case(case, outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    rows = list(csv.DictReader(open(tmp_path / "out" / "timeseries.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    q = np.array([float(r["nernst_planck.bottom.surface_charge_C_m2"]) for r in rows])
    data = yaml.safe_load(path.read_text())
    eps_r = 20.0
    lam = debye_length(eps_r, 1000.0)
    end = np.argmin(np.abs(t - 10e-6))
    charged = q[end]
    assert charged == pytest.approx(first_integral_charge(0.1, lam, eps_r), rel=0.01)
    assert abs(q[-1]) < 0.01 * charged
    # README L18: Li+ at the electrodes at the end of the step, 81 and 3970 mol/m^3
    li = [float(rows[end][f"nernst_planck.Li_p.{k}_concentration_mol_m3"]) for k in ("min", "max")]
    assert li[0] == pytest.approx(81, abs=0.5)
    assert li[1] == pytest.approx(3970, abs=5)
    # README L19: the Li+ amount (c0 L = 1e-3 mol/m^2) drifts by 1.4e-13 over the run
    amount = summary["conservation"]["nernst_planck"]["Li_p.amount_mol"]
    assert abs(amount / 1e-3 - 1) < 5e-13
    assert data["physics"]["nernst_planck"]["species"][0]["initial_concentration"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["status"] == "ok"


def test_space_charge_lco_sulfide_cases(tmp_path):
    """The shipped contact: the layer drops add up to the contact potential, each contact
    is neutral, the bare SE is depleted within a nanometre, and the coating shields the SE."""
    folder = CASES / "space_charge_lco_sulfide"
    out = {}
    for name in ("case", "case_coated"):
        case = load_case(folder / f"{name}.yaml", ["outputs.fields=false", "outputs.plots=false"])
        summary = run_case(case, outdir=str(tmp_path / name))
        assert summary["status"] == "ok"
        out[name] = summary["outputs"]["nernst_planck"]
    bare = out["case"]
    step = 0.3 / V_T + math.log(20800 / 10400)  # mu0 step and the SE's occupancy 2/3 (logit)
    drops = (
        bare["cathode_electrolyte.cathode.potential_drop_V"]
        - bare["cathode_electrolyte.electrolyte.potential_drop_V"]
    )
    assert drops == pytest.approx(-step * V_T, rel=1e-4)
    stored = [
        bare[f"cathode_electrolyte.{r}.stored_charge_C_m2"] for r in ("cathode", "electrolyte")
    ]
    assert stored[0] == pytest.approx(-stored[1], rel=5e-3)
    assert 0.1e-9 < bare["cathode_electrolyte.electrolyte.space_charge_width_m"] < 1e-9
    assert bare["Li_p.min_concentration_mol_m3"] == pytest.approx(336, abs=0.5)  # README L32
    coated = out["case_coated"]
    se = coated["coating_electrolyte.electrolyte.stored_charge_C_m2"]
    assert abs(se) < 0.01 * abs(stored[1])
    assert abs(coated["coating_electrolyte.electrolyte.potential_drop_V"]) < 1e-3
    # README L35: the coating depleted down to 0.08 mol/m^3
    rows = list(csv.DictReader(open(tmp_path / "case_coated" / "profiles.csv")))
    coating = min(float(r["c_Li_p_mol_m3"]) for r in rows if r["region"] == "coating")
    assert coating == pytest.approx(0.08, abs=0.005)


def test_polymer_concentration_polarisation_case(tmp_path):
    """The shipped galvanostatic PEO-LiTFSI cell: the first step's voltage is the ohmic
    i L / sigma, and the Sand's time extrapolated from the run is the exact one (1 %)."""
    path = CASES / "polymer_concentration_polarisation" / "case.yaml"
    case = load_case(path, ["outputs.fields=false", "outputs.plots=false"])
    summary = run_case(case, outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    rt = 8.314462618 * 333.15
    faraday, c0, d_plus, d_minus = 96485.33212, 1070.0, 3.3e-12, 9.8e-12
    i, length = 50.0, 50e-6
    t_plus = d_plus / (d_plus + d_minus)
    d_amb = 2 * d_plus * d_minus / (d_plus + d_minus)
    sand = math.pi * d_amb * (faraday * c0) ** 2 / (4 * i**2 * (1 - t_plus) ** 2)
    out = summary["outputs"]["nernst_planck"]
    assert out["Li_p.sand_time_s"] == pytest.approx(sand, rel=0.01)
    rows = list(csv.DictReader(open(tmp_path / "out" / "timeseries.csv")))
    sigma = faraday**2 * (d_plus + d_minus) * c0 / rt
    first = float(rows[1]["nernst_planck.top.potential_V"])
    assert first == pytest.approx(-i * length / sigma, rel=0.01)
    last = summary["results"]
    assert last["time_s"] == pytest.approx(27.0)
    # README L20-21: salt at the plating and the stripping wall at 27 s
    assert out["Li_p.min_concentration_mol_m3"] == pytest.approx(48.8, abs=0.05)
    assert out["Li_p.max_concentration_mol_m3"] == pytest.approx(2091, abs=0.5)
    # README L23: -137.1 mV at 27 s, 84 mV of it beyond the ohmic i L / sigma
    volts = last["nernst_planck.top.potential_V"]
    assert volts * 1e3 == pytest.approx(-137.1, abs=0.05)
    assert (-i * length / sigma - volts) * 1e3 == pytest.approx(84, abs=0.5)


def test_polymer_steady_case(tmp_path):
    """The README's steady variant of the polymer cell at 2.5 mA/cm^2 (92 % of the limiting
    current): the salt at the plating wall is electroneutral theory's c0 (1 - i / i_lim)."""
    path = CASES / "polymer_concentration_polarisation" / "case.yaml"
    flux = "2.59e-4 mol/(m^2*s)"
    overrides = [
        "outputs.fields=false",
        "outputs.plots=false",
        "time.mode=steady",
        f"boundary_conditions.nernst_planck.0.flux.Li+={flux}",
        f"boundary_conditions.nernst_planck.1.flux.Li+=-{flux}",
    ]
    summary = run_case(load_case(path, overrides), outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    faraday, c0, d_plus, d_minus, length = 96485.33212, 1070.0, 3.3e-12, 9.8e-12, 50e-6
    t_plus = d_plus / (d_plus + d_minus)
    d_amb = 2 * d_plus * d_minus / (d_plus + d_minus)
    limiting = 2 * faraday * d_amb * c0 / ((1 - t_plus) * length)
    neutral = c0 * (1 - 2.59e-4 * faraday / limiting)
    assert neutral == pytest.approx(88.9, abs=0.05)  # README L48: theory
    wall = summary["outputs"]["nernst_planck"]["Li_p.min_concentration_mol_m3"]
    assert wall == pytest.approx(89.0, abs=0.05)  # README L48
    assert wall == pytest.approx(neutral, rel=1e-3)
    reported = summary["outputs"]["nernst_planck"]["Li_p.limiting_current_A_m2"]
    assert reported / 10 == pytest.approx(2.726, abs=5e-4)  # README: from this run
    assert reported == pytest.approx(limiting, rel=1e-4)
    volts = summary["results"]["nernst_planck.top.potential_V"]
    assert volts * 1e3 == pytest.approx(-90.1, abs=0.05)  # README L49


@pytest.mark.parametrize(
    ("name", "z", "c_plus", "current", "end"),
    [
        ("case", 2, 500.0, 30.0, (37.0, -168.9, 22.9)),
        ("case_al", 3, 400.0, 50.0, (30.5, -178.0, 19.5)),
    ],
)
def test_multivalent_cases(tmp_path, name, z, c_plus, current, end):
    """Mg2+ and Al3+ salts with TFSI-: Sand's time of electroneutral z+:z- theory and the
    ohmic voltage sigma = F^2/RT sum z^2 D c at the first step, both within 1 %."""
    path = CASES / "multivalent_symmetric" / f"{name}.yaml"
    case = load_case(path, ["outputs.fields=false", "outputs.plots=false"])
    summary = run_case(case, outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    faraday, rt = 96485.33212, 8.314462618 * 333.15
    d_plus, d_minus, c_minus, length = 1e-12, 3e-12, z * c_plus, 50e-6
    t_plus = z * d_plus / (z * d_plus + d_minus)
    d_amb = (z + 1) * d_plus * d_minus / (z * d_plus + d_minus)
    sand = math.pi * d_amb * (z * c_plus * faraday) ** 2 / (4 * current**2 * (1 - t_plus) ** 2)
    slug = f"{'Mg' if z == 2 else 'Al'}{z}_p"
    out = summary["outputs"]["nernst_planck"]
    assert out[f"{slug}.sand_time_s"] == pytest.approx(sand, rel=0.01)
    sigma = faraday**2 / rt * (z**2 * d_plus * c_plus + d_minus * c_minus)
    rows = list(csv.DictReader(open(tmp_path / "out" / "timeseries.csv")))
    first = float(rows[1]["nernst_planck.top.potential_V"])
    assert first == pytest.approx(-current * length / sigma, rel=0.01)
    # README L29: at the end of the run, the voltage [mV] and the lowest cation [mol/m^3]
    t_end, volts, c_min = end
    last = summary["results"]
    assert last["time_s"] == pytest.approx(t_end)
    assert last["nernst_planck.top.potential_V"] * 1e3 == pytest.approx(volts, abs=0.05)
    assert out[f"{slug}.min_concentration_mol_m3"] == pytest.approx(c_min, abs=0.05)


def test_non_neutral_initial_state_refused():
    data = base_data()
    data["physics"]["nernst_planck"]["species"].append(species("X-", -1, 9.0))
    case = validate_case(data)
    with pytest.raises(CaseError, match="not neutral"):
        build_problem(case, build_mesh(case, MPI.COMM_WORLD))


def test_polymer_electrodes_case(tmp_path):
    """The Butler-Volmer variant of the polymer cell: both electrodes pass 5 mA/cm^2, the
    stripping one at the plain Butler-Volmer overpotential (its diffuse layer barely
    matters), the cell voltage is the sum of its parts, Li+ stays positive."""
    path = CASES / "polymer_concentration_polarisation" / "case_electrodes.yaml"
    case = load_case(path, ["outputs.fields=false", "outputs.plots=false"])
    summary = run_case(case, outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    last = summary["results"]
    assert last["nernst_planck.top.current_density_A_m2"] == pytest.approx(50.0, rel=1e-9)
    assert last["nernst_planck.bottom.current_density_A_m2"] == pytest.approx(-50.0, rel=1e-6)
    v_t = 8.314462618 * 333.15 / 96485.33212
    butler_volmer = 2 * v_t * math.asinh(50.0 / 20.0)
    assert last["nernst_planck.top.overpotential_V"] == pytest.approx(butler_volmer, rel=0.01)
    # README L34-37: cell voltage 433.6 mV at 27 s, 91.3 mV at the plating electrode, the
    # salt outside its diffuse layer down to 49 mol/m^3
    cell = last["nernst_planck.top.electrode_potential_V"]
    cell -= last["nernst_planck.bottom.electrode_potential_V"]
    assert cell * 1e3 == pytest.approx(433.6, abs=0.05)
    assert last["nernst_planck.bottom.overpotential_V"] * 1e3 == pytest.approx(-91.3, abs=0.05)
    assert last["nernst_planck.Li_p.min_concentration_mol_m3"] == pytest.approx(49, abs=0.5)
    # README table: ohmic / charge-transfer / concentration overpotential at 27 s
    for key, value in (("ohmic", 83.6), ("charge_transfer", 185.8), ("concentration", 164.2)):
        assert 1e3 * last[f"nernst_planck.{key}_overpotential_V"] == pytest.approx(value, abs=0.05)


def test_mesh_sizes_in_debye_lengths():
    """ "0.3 lambda_D" mesh sizes become that multiple of the smallest Debye length of the
    Nernst-Planck regions before meshing; without Nernst-Planck they are a case error."""
    data = base_data()
    data["geometry"]["refine_at"] = ["bottom"]
    data["geometry"]["mesh"] = {"size": "2 lambda_D", "interface_size": "0.1 lambda_D"}
    case = validate_case(data)
    lam = debye_length(10.0, 10.0)
    assert case.geometry.mesh.size == pytest.approx(2 * lam, rel=1e-12)
    assert case.geometry.mesh.interface_size == pytest.approx(0.1 * lam, rel=1e-12)
    data["geometry"]["mesh"]["size"] = "2 lambda"
    with pytest.raises(CaseError, match="geometry.mesh.size"):
        validate_case(data)
    symmetric = yaml.safe_load((CASES / "symmetric_cell" / "case.yaml").read_text())
    symmetric["geometry"]["mesh"]["size"] = "0.3 lambda_D"
    with pytest.raises(CaseError, match="needs physics.nernst_planck"):
        validate_case(symmetric)


def test_stress_coupling_with_mechanics():
    """Nernst-Planck next to mechanics (one Newton solve): a 2D square held at the bottom
    and sheared at the top bends, and a neutral salt with a partial molar volume gathers
    where the hydrostatic stress is tensile (concentration and sigma_h correlate), stays
    neutral, and keeps its amount."""
    omega = {"partial_molar_volume": "3e-5 m^3/mol"}
    data = {
        "case": {"name": "pnp_mechanics"},
        "geometry": {
            "type": "layered_cell",
            "dimension": 2,
            "width": "1 um",
            "layers": [{"name": "electrolyte", "thickness": "1 um"}],
            "mesh": {"size": "0.05 um"},
        },
        "materials": {
            "el": {
                "category": "solid_electrolyte",
                "relative_permittivity": 10,
                "youngs_modulus": "20 GPa",
                "poissons_ratio": 0.3,
            }
        },
        "regions": [{"name": "electrolyte", "material": "el"}],
        "physics": {
            "nernst_planck": {
                "species": [species("A+", 1, 100.0, **omega), species("B-", -1, 100.0, **omega)]
            },
            "mechanics": {},
        },
        "boundary_conditions": {
            "nernst_planck": [{"name": "bottom", "potential": "0 V"}],
            "mechanics": [
                {"name": "bottom", "type": "fixed"},
                {"name": "top", "type": "traction", "value": ["200 MPa", "0 Pa"]},
            ],
        },
        "outputs": {"plots": False, "fields": False},
    }
    case = validate_case(data)
    problem = build_problem(case, build_mesh(case, MPI.COMM_WORLD))
    try:
        assert problem.solve()[0]
        module = next(m for m in problem.modules if m.name == "nernst_planck")
        sigma = module.stress.field.x.array
        a, b = (ion.u.x.array for ion in module.ions)
        assert np.ptp(sigma) > 1e8  # bending: tension on one side, compression on the other
        local = np.array([np.sum((a - a.mean()) * (sigma - sigma.mean())), len(a)])
        assert local[0] > 0 or len(a) == 0  # the salt follows the tension
        assert np.allclose(a, b, atol=1e-9)  # ions move together: no charge separation
        assert module.conservation(problem)["balance_error"] < 1e-9
    finally:
        problem.close()


def test_polymer_electroneutral_and_embedded_cases(tmp_path):
    """The README's table of the electroneutral and embedded variants of the polymer
    electrode cell: voltages at the first step and at 27 s, the plating overpotential, the
    salt at the plating wall, Sand's time of the electroneutral cell."""
    folder = CASES / "polymer_concentration_polarisation"
    rows = {}
    for variant in ("electroneutral", "embedded"):
        case = load_case(folder / f"case_{variant}.yaml", ["outputs.plots=false"])
        summary = run_case(case, outdir=str(tmp_path / variant))
        assert summary["status"] == "ok"
        with open(tmp_path / variant / "timeseries.csv") as f:
            rows[variant] = list(csv.DictReader(f))
        rows[variant + ".summary"] = summary

    def cell_mv(row):
        top = float(row["nernst_planck.top.electrode_potential_V"])
        return 1e3 * (top - float(row["nernst_planck.bottom.electrode_potential_V"]))

    expected = {
        "electroneutral": (242.7, 503.6, -270.0, 48.7),
        "embedded": (277.8, 433.6, -91.3, 49.1),
    }
    for variant, (first, last, plating, wall) in expected.items():
        series = rows[variant]
        assert cell_mv(series[1]) == pytest.approx(first, abs=0.05)
        assert cell_mv(series[-1]) == pytest.approx(last, abs=0.05)
        end = series[-1]
        assert 1e3 * float(end["nernst_planck.bottom.overpotential_V"]) == pytest.approx(
            plating, abs=0.05
        )
        assert float(end["nernst_planck.Li_p.min_concentration_mol_m3"]) == pytest.approx(
            wall, abs=0.05
        )
    outputs = rows["electroneutral.summary"]["outputs"]["nernst_planck"]
    assert outputs["Li_p.sand_time_s"] == pytest.approx(29.47, abs=0.005)
    assert "Li_p.sand_time_s" not in rows["embedded.summary"]["outputs"]["nernst_planck"]
