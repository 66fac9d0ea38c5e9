"""Electroneutral regions of Nernst-Planck/Poisson and concentrated-solution transport of a
binary salt, against exact answers.

- A single-ion conductor solved electroneutral between Butler-Volmer electrodes: the cell
  voltage is j L / sigma + 2 x 2 V_T asinh(j / 2 i0) exactly (Ohm's law, no diffuse layer).
- Resolved space-charge layers at both electrodes embedded in an electroneutral bulk (the
  PNP | Ohmic multiscale setup): the voltage of the fully resolved cell and Gouy-Chapman-
  Stern-Frumkin theory, with a fraction of the unknowns.
- An equilibrium contact (cathode | SE, a step of mu0) whose SE side is resolved near the
  contact and electroneutral beyond: the first-integral charge and potential split.
- A binary salt, electroneutral, steady current between electrodes: the concentration and
  voltage of concentrated-solution theory, exact by quadrature of its ODE, for constant
  (dilute) and concentration-dependent conductivity, diffusivity, transference number and
  thermodynamic factor; errors fall as h^2. Salt properties equal to the dilute ones give
  the two-ion solution; Sand's time of the electroneutral salt.
"""

from __future__ import annotations

import csv
import json
import math

from mpi4py import MPI

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

from sse_fem.config import validate_case
from sse_fem.config.loader import resolved_dict
from sse_fem.driver import run_case
from sse_fem.errors import CaseError
from sse_fem.mesh import build_mesh
from sse_fem.problem import Problem, build_problem
from tests.physics.pnp_cases import (
    EPS0,
    FARADAY,
    GAS,
    OPEN,
    TEMPERATURE,
    V_T,
    close_problems,  # noqa: F401 - autouse fixture
    debye_length,
    framework,
    pnp_case_1d,
    species,
    two_phase_case_1d,
)
from tests.physics.test_nernst_planck_verification import frumkin_overpotential


def solve(case) -> Problem:
    """The steady solution of ``case`` (closed after the test)."""
    problem = build_problem(case, build_mesh(case, MPI.COMM_WORLD))
    OPEN.append(problem)
    ok, _, _ = problem.solve()
    assert ok
    return problem


def cell_voltage(problem: Problem) -> float:
    """V(top) - V(bottom) of the two electrodes [V]."""
    (module,) = problem.modules
    state = {e.boundary: module.electrode_state(problem, e) for e in module.electrodes}
    return state["top"]["electrode_potential_V"] - state["bottom"]["electrode_potential_V"]


def electrode(ion: str, i0: float, control: dict, stern: float | None = None) -> dict:
    """A Butler-Volmer electrode block (``stern``: C_S [F/m^2], default the schema's)."""
    block = {"reacting_ion": ion, "exchange_current_density": f"{i0} A/m^2", **control}
    if stern is not None:
        block["stern_capacitance"] = f"{stern} F/m^2"
    return block


def electrodes(ion: str, i0: float, j: float, stern: float | None = None) -> list[dict]:
    """bottom at 0 V, top passing ``j`` [A/m^2] (anodic: the cation enters at the top)."""
    return [
        {"name": "bottom", "electrode": electrode(ion, i0, {"potential": "0 V"}, stern)},
        {
            "name": "top",
            "electrode": electrode(ion, i0, {"current_density": f"{j} A/m^2"}, stern),
        },
    ]


# --- single-ion conductor ------------------------------------------------------------------

C0, D_LI, EPS_R, I0 = 1000.0, 1e-12, 20.0, 10.0
SIGMA = FARADAY**2 * D_LI * C0 / (GAS * TEMPERATURE)


@pytest.mark.mpi
@pytest.mark.parametrize("j", [10.0, -50.0])
def test_ohmic_single_ion_conductor(j):
    """Electroneutral throughout: Ohm's law and Butler-Volmer, exact to round-off; the
    overpotential split is j L / sigma ohmic, both electrodes' Butler-Volmer overpotentials
    and no concentration part."""
    case = pnp_case_1d(
        1e-6,
        [species("Li+", 1, C0, D_LI)],
        electrodes("Li+", I0, j),
        eps_r=EPS_R,
        mesh={"size": "0.1 um"},
        fixed_charge=framework(C0),
        options={"electroneutral_regions": ["electrolyte"]},
    )
    problem = solve(case)
    exact = j * 1e-6 / SIGMA + 2 * 2 * V_T * math.asinh(j / (2 * I0))
    assert cell_voltage(problem) == pytest.approx(exact, rel=1e-10)
    (module,) = problem.modules
    low, high = module.concentration_range(problem, module.ions[0])
    assert low == pytest.approx(C0, rel=1e-12) and high == pytest.approx(C0, rel=1e-12)
    assert module.conservation(problem)["balance_error"] < 1e-9
    row = module.observe(problem)  # the overpotential split
    assert row["ohmic_overpotential_V"] == pytest.approx(abs(j) * 1e-6 / SIGMA, rel=1e-10)
    kinetic = 2 * 2 * V_T * math.asinh(abs(j) / (2 * I0))
    assert row["charge_transfer_overpotential_V"] == pytest.approx(kinetic, rel=1e-10)
    assert abs(row["concentration_overpotential_V"]) < 1e-12


def layered_cell(
    layers: list[tuple[str, float]],
    mesh: dict,
    refine_at: list[str],
    physics,
    boundaries,
    eps: dict[str, float],
):
    """A 1D stack of ``layers`` (name, thickness [m]), one material per layer."""
    return validate_case(
        {
            "case": {"name": "layers"},
            "geometry": {
                "type": "layered_cell",
                "dimension": 1,
                "layers": [{"name": n, "thickness": f"{t} m"} for n, t in layers],
                "refine_at": refine_at,
                "mesh": mesh,
            },
            "materials": {
                n: {"category": "solid_electrolyte", "relative_permittivity": eps[n]}
                for n, _ in layers
            },
            "regions": [{"name": n, "material": n} for n, _ in layers],
            "physics": {"nernst_planck": physics},
            "boundary_conditions": {"nernst_planck": boundaries},
            "outputs": {"plots": False, "fields": False},
        }
    )


@pytest.mark.mpi
def test_resolved_layers_in_an_ohmic_bulk():
    """Li | 20 nm resolved | 960 nm electroneutral | 20 nm resolved | Li at 100 A/m^2 with
    Stern layers of 0.2 F/m^2: the voltage of the fully resolved cell within 1e-4 (measured
    3e-5) and the Frumkin-corrected theory within 1e-3, with a tenth of the unknowns."""
    j, length = 100.0, 1e-6
    lam = debye_length(EPS_R, C0)
    names = ["near_bottom", "bulk", "near_top"]
    thin = 50 * lam
    physics = {
        "species": [species("Li+", 1, C0, D_LI)],
        "fixed_charge": [{"regions": names, "concentration": f"{C0} mol/m^3", "charge_number": -1}],
        "electroneutral_regions": ["bulk"],
    }
    mesh = {
        "size": f"{5 * lam} m",
        "interface_size": f"{lam / 40} m",
        "size_growth_distance": f"{5 * lam} m",
    }
    embedded = layered_cell(
        [("near_bottom", thin), ("bulk", length - 2 * thin), ("near_top", thin)],
        mesh | {"size": f"{length / 50} m", "size_growth_distance": f"{4 * thin} m"},
        ["bottom", "top"],
        physics,
        electrodes("Li+", I0, j),
        dict.fromkeys(names, EPS_R),
    )
    resolved = pnp_case_1d(
        length,
        [species("Li+", 1, C0, D_LI)],
        electrodes("Li+", I0, j),
        eps_r=EPS_R,
        mesh=mesh,
        refine_at=("bottom", "top"),
        fixed_charge=framework(C0),
    )
    fine, coarse = solve(resolved), solve(embedded)
    eta = [frumkin_overpotential(s * j, I0, 0.2, lam, EPS_R * EPS0) for s in (1, -1)]
    theory = j * length / SIGMA + eta[0] - eta[1]
    assert cell_voltage(coarse) == pytest.approx(cell_voltage(fine), rel=1e-4)
    assert cell_voltage(coarse) == pytest.approx(theory, rel=1e-3)
    dofs = [
        MPI.COMM_WORLD.allreduce(p.unknown("phi").u.function_space.dofmap.index_map.size_local)
        for p in (fine, coarse)
    ]
    assert dofs[1] < dofs[0] / 5
    (module,) = coarse.modules
    assert module.conservation(coarse)["balance_error"] < 1e-9


@pytest.mark.mpi
def test_embedded_equilibrium_contact():
    """Cathode | SE in equilibrium (mu0 step 0.15 eV, Li+ on a fixed background): the SE
    resolved over its first 100 Debye lengths and electroneutral beyond stores the charge
    and takes the potential drop of the fully resolved SE (within 1e-4)."""
    lam = debye_length(10.0, 1000.0)
    kwargs = {
        "lengths": (40 * lam, 400 * lam),
        "eps_r": (10.0, 10.0),
        "c0": (1000.0, 1000.0),
        "mu0": (0.0, 0.15 * FARADAY),
        "mesh": {
            "size": f"{lam} m",
            "interface_size": f"{lam / 40} m",
            "size_growth_distance": f"{20 * lam} m",
        },
    }
    fine = solve(two_phase_case_1d(**kwargs))
    data = two_phase_case_1d(**kwargs).model_dump(mode="json", exclude_unset=True)
    layers = data["geometry"]["layers"]
    layers[1:] = [
        {"name": "electrolyte", "thickness": f"{100 * lam} m"},
        {"name": "bulk", "thickness": f"{300 * lam} m"},
    ]
    data["materials"]["bulk"] = data["materials"]["electrolyte"]
    data["regions"].append({"name": "bulk", "material": "bulk"})
    np_ = data["physics"]["nernst_planck"]
    (ion,) = np_["species"]
    for key in ("initial_concentration", "standard_chemical_potential"):
        ion[key]["bulk"] = ion[key]["electrolyte"]
    np_["fixed_charge"][1]["regions"].append("bulk")
    np_["electroneutral_regions"] = ["bulk"]
    embedded = solve(validate_case(data))

    def figures(problem):
        (module,) = problem.modules
        stretches = module.profiles(problem)
        groups = module.facet_group_positions(problem, 0)
        names = {t: n for n, t in problem.bundle.regions.items()}
        out = module.layers(stretches, groups, names, set())
        return {k: v for k, v in out.items() if k.startswith("cathode_electrolyte.")}

    a, b = figures(fine), figures(embedded)
    for key in (
        "cathode_electrolyte.electrolyte.stored_charge_C_m2",
        "cathode_electrolyte.cathode.stored_charge_C_m2",
        "cathode_electrolyte.electrolyte.potential_drop_V",
    ):
        assert b[key] == pytest.approx(a[key], rel=1e-4)
    assert abs(b["cathode_electrolyte.electrolyte.stored_charge_C_m2"]) > 1e-3


# --- binary salts ---------------------------------------------------------------------------

SALT_C0, SALT_I0, SALT_L = 1000.0, 10.0, 100e-6
#: concentration-dependent properties (c in mol/L), as case text and as numpy functions
CONCENTRATED = {
    "conductivity": ("0.1*c*exp(-0.5*c)", "S/m"),
    "diffusivity": ("3e-11*exp(-0.4*c)", "m^2/s"),
    "transference_number": ("0.45 - 0.15*c", "1"),
    "thermodynamic_factor": ("1 + 0.6*c", "1"),
}


def salt_names(z: tuple[int, int]) -> tuple[str, str]:
    """Species names of a z+:z- salt: A+ and B- for 1:1, A2+ and B- for 2:1."""
    return tuple(
        f"{k}{abs(v) if abs(v) > 1 else ''}{'+' if v > 0 else '-'}"
        for k, v in zip("AB", z, strict=True)
    )


def valence(z: tuple[int, int]) -> tuple[int, int, int]:
    """(Z = z+ nu+, nu+, nu-) of a z+:z- salt."""
    big_z = z[0] * -z[1] // math.gcd(z[0], -z[1])
    return big_z, big_z // z[0], big_z // -z[1]


def salt_block(properties: dict, z: tuple[int, int] = (1, -1)) -> dict:
    """The salt block of ``properties`` (key -> (expression of c in mol/L, unit), or a
    table: key -> ({"c": ..., "values": ...}, unit))."""
    cation, anion = salt_names(z)
    block = {"cation": cation, "anion": anion}
    for key, (given, unit) in properties.items():
        form = given if isinstance(given, dict) else {"expression": given}
        block[key] = form | {"unit": unit, "concentration_unit": "mol/L"}
    return block


def dilute_properties(d_plus: float, d_minus: float) -> dict:
    """kappa(c), D, t+, TDF of a dilute 1:1 salt of ion diffusivities D+, D- (SI c)."""
    return {
        "conductivity": lambda c: FARADAY**2 * (d_plus + d_minus) * c / (GAS * TEMPERATURE),
        "diffusivity": lambda c: 2 * d_plus * d_minus / (d_plus + d_minus) + 0 * c,
        "transference_number": lambda c: d_plus / (d_plus + d_minus) + 0 * c,
        "thermodynamic_factor": lambda c: 1 + 0 * c,
    }


def concentrated_properties() -> dict:
    """The numpy twins of ``CONCENTRATED`` (SI c)."""
    return {
        "conductivity": lambda c: 0.1 * (c / 1e3) * np.exp(-0.5 * c / 1e3),
        "diffusivity": lambda c: 3e-11 * np.exp(-0.4 * c / 1e3),
        "transference_number": lambda c: 0.45 - 0.15 * c / 1e3,
        "thermodynamic_factor": lambda c: 1 + 0.6 * c / 1e3,
    }


def salt_exact(p: dict, j: float, z: tuple[int, int] = (1, -1)) -> tuple[callable, float]:
    """Steady z+:z- salt (salt concentration c = c+ / nu+, amount SALT_C0 L) on [0, L]
    carrying j [A/m^2] from the top electrode to the bottom one (anion blocked), by
    concentrated-solution theory: c(x) from dc/dx = -i (1 - t+) / (Z F D), i = -j along x,
    and the cell voltage V(top) - V(bottom): the cation-reference potential difference
    int(-i / kappa + nu RT (1 - t+) TDF / (Z F) dln c), minus the Nernst terms of the
    electrostatic potential, plus the Butler-Volmer overpotentials at the wall
    concentrations (alpha 1/2, z+ electrons, c_ref the initial c+)."""
    current, rt = -j, GAS * TEMPERATURE
    big_z, nu_plus, nu_minus = valence(z)
    nu = nu_plus + nu_minus

    def slope(_x, c):
        t_minus = 1 - p["transference_number"](c)
        return -current * t_minus / (big_z * FARADAY * p["diffusivity"](c))

    def profile(c_bottom):
        return solve_ivp(
            slope, (0, SALT_L), [c_bottom], rtol=1e-12, atol=1e-12 * SALT_C0, dense_output=True
        )

    def excess(c_bottom):
        sol = profile(c_bottom)
        return (
            quad(lambda x: sol.sol(x)[0], 0, SALT_L, epsabs=0, epsrel=1e-13)[0] / SALT_L - SALT_C0
        )

    sol = profile(brentq(excess, 1e-3 * SALT_C0, 3 * SALT_C0, xtol=1e-12))
    c = lambda x: sol.sol(x)[0]  # noqa: E731

    def dphi(x):
        cx = c(x)
        diffusion = nu * rt * (1 - p["transference_number"](cx)) * p["thermodynamic_factor"](cx)
        return -current / p["conductivity"](cx) + diffusion / (big_z * FARADAY * cx) * slope(x, cx)

    cation_drop = quad(dphi, 0, SALT_L, epsabs=0, epsrel=1e-12, limit=200)[0]
    c_bottom, c_top = c(0.0), c(SALT_L)
    electrostatic = cation_drop - rt / (z[0] * FARADAY) * math.log(c_top / c_bottom)

    def eta(i, c_wall):
        def rate(e):
            f = z[0] * e / V_T
            return SALT_I0 * (math.exp(0.5 * f) - c_wall / SALT_C0 * math.exp(-0.5 * f)) - i

        return brentq(rate, -2.0, 2.0, xtol=1e-15)

    return c, electrostatic + eta(j, c_top) - eta(-j, c_bottom)


def salt_case(
    cells: int,
    j: float,
    properties: dict | None,
    d=(1e-11, 3e-11),
    z: tuple[int, int] = (1, -1),
):
    """The z+:z- salt (SALT_C0 of c+ = nu+ c) between electrodes, electroneutral."""
    options = {"electroneutral_regions": ["electrolyte"]}
    if properties is not None:
        options["salt"] = salt_block(properties, z)
    _, nu_plus, nu_minus = valence(z)
    cation, anion = salt_names(z)
    c_salt = SALT_C0 / nu_plus
    return pnp_case_1d(
        SALT_L,
        [
            species(cation, z[0], SALT_C0, d[0]),
            species(anion, z[1], nu_minus * c_salt, d[1]),
        ],
        electrodes(cation, SALT_I0, j),
        mesh={"size": f"{SALT_L / cells} m"},
        options=options,
    )


def profile_error(problem, exact_c) -> float:
    """max |c+ - c(x)| / c0 over the cation's dofs (all ranks)."""
    (module,) = problem.modules
    u = module.ions[0].u
    x = u.function_space.tabulate_dof_coordinates()[:, 0]
    c = float(module.c_ref.value) * np.exp(u.x.array)  # dilute: c = c_ref exp(u)
    local = float(np.abs(c - np.array([exact_c(v) for v in x])).max(initial=0.0))
    return MPI.COMM_WORLD.allreduce(local, op=MPI.MAX) / SALT_C0


@pytest.mark.mpi
def test_dilute_salt_steady_polarisation():
    """Two ions, electroneutral, no salt block (dilute: each ion by its own diffusivity):
    the concentrated-solution solution with the dilute properties within 1e-4, both ions
    equal at every vertex, and the amount of each ion kept."""
    j = 20.0
    exact_c, exact_v = salt_exact(dilute_properties(1e-11, 3e-11), j)
    problem = solve(salt_case(400, j, None))
    (module,) = problem.modules
    assert profile_error(problem, exact_c) < 1e-4
    assert cell_voltage(problem) == pytest.approx(exact_v, rel=1e-4)
    a, b = (ion.u.x.array for ion in module.ions)
    assert np.abs(a - b).max(initial=0.0) < 1e-12
    assert module.conservation(problem)["balance_error"] < 1e-9
    assert exact_c(0.0) < 0.6 * SALT_C0  # well polarised


def test_concentrated_salt_converges_at_second_order():
    """Concentration-dependent kappa, D, t+ and thermodynamic factor: the concentration
    profile and the cell voltage converge to the exact ones at rate 2 (measured 2.00: 6.8e-5,
    1.7e-5, 4.2e-6 of c0 and 1.5e-5, 3.8e-6, 9.4e-7 of the voltage on 25, 50, 100 cells)."""
    j = 30.0
    exact_c, exact_v = salt_exact(concentrated_properties(), j)
    errors = []
    for cells in (25, 50, 100):
        problem = solve(salt_case(cells, j, CONCENTRATED))
        errors.append((profile_error(problem, exact_c), abs(cell_voltage(problem) / exact_v - 1)))
    for k in (0, 1):
        series = [e[k] for e in errors]
        rates = [math.log2(series[n] / series[n + 1]) for n in range(2)]
        assert min(rates) > 1.8, (k, series, rates)
    assert errors[-1][0] < 1e-3 and errors[-1][1] < 1e-3
    assert exact_c(0.0) < 0.6 * SALT_C0  # well polarised


@pytest.mark.mpi
@pytest.mark.parametrize("form", ["expression", "table"])
def test_salt_with_dilute_properties_is_the_two_ion_solution(form):
    """A salt block with the properties two dilute ions have (kappa, D, t+ from D+ and D-,
    TDF 1), as expressions or as tables (linear, so two points hold them exactly),
    reproduces the solution without it: the Onsager matrix is then diagonal."""
    j, d = 20.0, (1e-11, 3e-11)
    kappa = FARADAY**2 * (d[0] + d[1]) / (GAS * TEMPERATURE) * 1e3  # per mol/L
    values = {
        "conductivity": (kappa, kappa),
        "diffusivity": (2 * d[0] * d[1] / (d[0] + d[1]),) * 2,
        "transference_number": (d[0] / (d[0] + d[1]),) * 2,
        "thermodynamic_factor": (1.0, 1.0),
    }
    units = {"conductivity": "S/m", "diffusivity": "m^2/s"}
    dilute = {}
    for key, (a, b) in values.items():
        if form == "table":
            given = {"c": [0.0, 1.0], "values": [0.0 if key == "conductivity" else a, b]}
        else:
            given = f"{a!r}*c" if key == "conductivity" else f"{a!r}"
        dilute[key] = (given, units.get(key, "1"))
    plain, salted = solve(salt_case(100, j, None)), solve(salt_case(100, j, dilute))
    for name in ("u_A_p", "u_B_m", "phi"):
        a, b = plain.unknown(name).u.x.array, salted.unknown(name).u.x.array
        assert np.abs(a - b).max(initial=0.0) < 1e-9


@pytest.mark.parametrize("z", [1, 2])
def test_sand_time_of_an_electroneutral_salt(z, shared_tmp):
    """Galvanostatic polarisation of a z:z salt solved electroneutral between electrodes:
    the plating wall's concentration falls as c0 - 2 (1 - t+) i sqrt(t / (pi D)) / (z F)
    (semi-infinite: 7 diffusion lengths at t_s), so its sqrt(t) slope gives Sand's time
    pi D (z F c0)^2 / (4 i^2 (1 - t+)^2) within 2 %."""
    d_plus, d_minus = 1e-11, 3e-11
    t_plus, d_amb = d_plus / (d_plus + d_minus), 2 * d_plus * d_minus / (d_plus + d_minus)
    t_sand = 0.02 * SALT_L**2 / d_amb
    j = z * FARADAY * SALT_C0 / (2 * (1 - t_plus)) * math.sqrt(math.pi * d_amb / t_sand)
    names = (f"A{z}+", f"B{z}-") if z > 1 else ("A+", "B-")
    case = pnp_case_1d(
        SALT_L,
        [species(names[0], z, SALT_C0, d_plus), species(names[1], -z, SALT_C0, d_minus)],
        electrodes(names[0], SALT_I0, j),
        mesh={
            "size": f"{SALT_L / 100} m",
            "interface_size": f"{SALT_L / 4000} m",
            "size_growth_distance": f"{SALT_L / 4} m",
        },
        refine_at=("bottom", "top"),
        options={"electroneutral_regions": ["electrolyte"]},
        time={
            "mode": "transient",
            "t_end": f"{0.6 * t_sand} s",
            "dt": f"{1e-4 * t_sand} s",
            "dt_max": f"{t_sand / 100} s",
        },
    )
    out = shared_tmp / f"sand_{z}"
    assert run_case(case, outdir=str(out))["status"] == "ok"
    rows = list(csv.DictReader(open(out / "timeseries.csv")))
    t = np.array([float(r["time_s"]) for r in rows])
    slug = names[0].replace("+", "_p")
    c_wall = np.array([float(r[f"nernst_planck.{slug}.min_concentration_mol_m3"]) for r in rows])
    window = (t > 0.05 * t_sand) & (t < 0.5 * t_sand)
    slope, intercept = np.polyfit(np.sqrt(t[window]), c_wall[window], 1)
    assert intercept == pytest.approx(SALT_C0, rel=2e-3)
    assert (SALT_C0 / slope) ** 2 == pytest.approx(t_sand, rel=0.02)
    reported = json.loads((out / "summary.json").read_text())["outputs"]["nernst_planck"]
    assert reported[f"{slug}.sand_time_s"] == pytest.approx(t_sand, rel=0.02)


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        (
            {"electroneutral_regions": []},
            "physics.nernst_planck.salt.regions",
            "electroneutral_regions",
        ),
        ({"salt": {"cation": "B-"}}, "physics.nernst_planck.salt", "z > 0"),
        ({"salt": {"anion": "X-"}}, "physics.nernst_planck.salt.anion", "not a species"),
        (
            {"electroneutral_regions": ["nowhere"]},
            "physics.nernst_planck.electroneutral_regions",
            "nowhere",
        ),
    ],
)
def test_salt_input_errors(change, path, words):
    """Bad salt and electroneutral input: one error naming the key path."""
    options = {"electroneutral_regions": ["electrolyte"], "salt": salt_block(CONCENTRATED)}
    for key, value in change.items():
        options[key] = options[key] | value if isinstance(value, dict) and key == "salt" else value
    with pytest.raises(CaseError) as err:
        pnp_case_1d(
            SALT_L,
            [species("A+", 1, SALT_C0), species("B-", -1, SALT_C0)],
            electrodes("A+", SALT_I0, 1.0),
            options=options,
        )
    assert err.value.path.startswith(path) and words in str(err.value)


@pytest.mark.parametrize(
    ("key", "text", "words"),
    [
        ("conductivity", "0.1*(1 - c)", "conductivity is"),
        ("thermodynamic_factor", "log(c - 0.5)", "thermodynamic_factor is"),
        ("diffusivity", "1e-11*", "cannot read"),
    ],
)
def test_salt_properties_checked_before_solving(key, text, words):
    """A property that is not positive and finite over 0.01-3 c0, or not an expression,
    is a case error naming it (before any solve)."""
    properties = dict(CONCENTRATED) | {key: (text, CONCENTRATED[key][1])}
    case = salt_case(10, 1.0, properties)
    with pytest.raises(CaseError) as err:
        build_problem(case, build_mesh(case, MPI.COMM_WORLD)).close()
    assert err.value.path.startswith(f"physics.nernst_planck.salt.{key}")
    assert words in str(err.value)


def test_fixed_potential_on_an_electroneutral_wall_needs_a_reservoir():
    """A blocking wall at a fixed potential would hold a double layer in one cell."""
    case = pnp_case_1d(
        1e-6,
        [species("Li+", 1, C0, D_LI)],
        [{"name": "bottom", "potential": "0 V"}, {"name": "top", "potential": "0.1 V"}],
        fixed_charge=framework(C0),
        options={"electroneutral_regions": ["electrolyte"]},
    )
    with pytest.raises(CaseError) as err:
        build_problem(case, build_mesh(case, MPI.COMM_WORLD)).close()
    assert "reservoir" in str(err.value) and err.value.path.endswith(".potential")


@pytest.mark.parametrize("share", [0.3, 0.9])
def test_limiting_current_from_one_steady_run(share, tmp_path):
    """A steady run of the electroneutral binary salt reports the limiting current from
    its plating wall's depletion, i c0 / (c0 - c_wall): 2 z F D c0 / ((1 - t+) L) within
    1e-3 at 30 % and 90 % of it."""
    d_plus, d_minus = 1e-11, 3e-11
    t_plus, d_amb = d_plus / (d_plus + d_minus), 2 * d_plus * d_minus / (d_plus + d_minus)
    i_lim = 2 * FARADAY * d_amb * SALT_C0 / ((1 - t_plus) * SALT_L)
    summary = run_case(salt_case(400, share * i_lim, None), outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
    figures = summary["outputs"]["nernst_planck"]
    assert figures["A_p.limiting_current_A_m2"] == pytest.approx(i_lim, rel=1e-3)
    assert figures["B_m.limiting_current_A_m2"] == pytest.approx(i_lim, rel=1e-3)


def dilute_properties_2_1(d_plus: float, d_minus: float) -> dict:
    """kappa(c), D, t+, TDF of a dilute 2:1 salt (c = c+, c- = 2 c; SI c)."""
    kappa = FARADAY**2 * (4 * d_plus + 2 * d_minus) / (GAS * TEMPERATURE)
    return {
        "conductivity": lambda c: kappa * c,
        "diffusivity": lambda c: 3 * d_plus * d_minus / (2 * d_plus + d_minus) + 0 * c,
        "transference_number": lambda c: 4 * d_plus / (4 * d_plus + 2 * d_minus) + 0 * c,
        "thermodynamic_factor": lambda c: 1 + 0 * c,
    }


@pytest.mark.parametrize("salt", [False, True])
def test_divalent_salt_steady_polarisation(salt):
    """A 2:1 salt (A2+ with twice as much B-), electroneutral, steady current: without a
    salt block (dilute ions) the exact solution with the dilute 2:1 properties, with the
    concentration-dependent block the exact concentrated-solution one (Z = 2, nu = 3, the
    anion carrying the non-ideality), both within 2e-5 on 100 cells."""
    z, j = (2, -1), 30.0
    if salt:
        exact_c, exact_v = salt_exact(concentrated_properties(), j, z)
        problem = solve(salt_case(100, j, CONCENTRATED, z=z))
    else:
        exact_c, exact_v = salt_exact(dilute_properties_2_1(1e-11, 3e-11), j, z)
        problem = solve(salt_case(100, j, None, z=z))
    assert profile_error(problem, exact_c) < 2e-5
    assert cell_voltage(problem) == pytest.approx(exact_v, rel=2e-5)
    assert exact_c(0.0) < 0.8 * SALT_C0  # polarised


def test_initial_state_carries_the_current(tmp_path):
    """The t = 0 row of a transient electroneutral cell driven by an electrode current: the
    held composition carries the set current from one electrode to the other, at the
    voltage of Ohm's law and both electrodes' Butler-Volmer overpotentials."""
    j, length = 10.0, 1e-6
    case = pnp_case_1d(
        length,
        [species("Li+", 1, C0, D_LI)],
        electrodes("Li+", I0, j),
        mesh={"size": "0.1 um"},
        fixed_charge=framework(C0),
        options={"electroneutral_regions": ["electrolyte"]},
        time={"mode": "transient", "t_end": "2 ms", "dt": "1 ms"},
    )
    assert run_case(case, outdir=str(tmp_path / "out"))["status"] == "ok"
    with open(tmp_path / "out" / "timeseries.csv") as f:
        first = next(csv.DictReader(f))
    assert float(first["time_s"]) == 0.0
    volts = float(first["nernst_planck.top.electrode_potential_V"])
    exact = j * length / SIGMA + 2 * 2 * V_T * math.asinh(j / (2 * I0))
    assert volts == pytest.approx(exact, rel=1e-9)
    for wall, sign in (("top", 1), ("bottom", -1)):
        key = f"nernst_planck.{wall}.faradaic_current_density_A_m2"
        assert float(first[key]) == pytest.approx(sign * j, rel=1e-9)


def test_electroneutral_region_input_errors():
    """Reservoirs of every ion on an electroneutral wall without a potential, an explicit
    Stern capacitance there, an electroneutral region without ions: one error each."""
    ions = [species("A+", 1, SALT_C0), species("B-", -1, SALT_C0)]
    neutral = {"electroneutral_regions": ["electrolyte"]}
    reservoir = {"A+": f"{SALT_C0} mol/m^3", "B-": f"{SALT_C0} mol/m^3"}
    cases = [
        (
            pnp_case_1d(
                SALT_L,
                ions,
                [{"name": "bottom", "concentration": reservoir}, electrodes("A+", 1.0, 1.0)[1]],
                options=neutral,
            ),
            "bottom).concentration",
        ),
        (
            pnp_case_1d(SALT_L, ions, electrodes("A+", 1.0, 1.0, stern=0.2), options=neutral),
            "stern_capacitance",
        ),
    ]
    data = pnp_case_1d(SALT_L, ions, electrodes("A+", 1.0, 1.0)).model_dump(
        mode="json", exclude_unset=True
    )
    data["geometry"]["layers"] += [
        {"name": "empty", "thickness": f"{SALT_L} m"},
        {"name": "far", "thickness": f"{SALT_L} m"},
    ]
    data["regions"] += [{"name": n, "material": "el"} for n in ("empty", "far")]
    for sp in data["physics"]["nernst_planck"]["species"]:
        sp["regions"] = ["electrolyte", "far"]
    data["physics"]["nernst_planck"]["electroneutral_regions"] = ["empty"]
    cases.append((validate_case(data), "electroneutral_regions"))
    for case, where in cases:
        with pytest.raises(CaseError) as err:
            build_problem(case, build_mesh(case, MPI.COMM_WORLD)).close()
        assert where in err.value.path, (err.value.path, str(err.value))


def test_resolved_case_file_of_an_electroneutral_electrode_cell_runs_again():
    """``case.resolved.yaml`` (what ``--reproduce`` reads) of an electroneutral cell with
    electrodes is a valid case: no default Stern capacitance is written into it."""
    case = salt_case(10, 1.0, CONCENTRATED)
    again = validate_case(resolved_dict(case))
    problem = build_problem(again, build_mesh(again, MPI.COMM_WORLD))
    OPEN.append(problem)
    assert all(float(e.stern.value) == 0.0 for e in problem.modules[0].electrodes)


def test_rest_state_with_a_dielectric_region(tmp_path):
    """Electroneutral bulk | resolved electrolyte | ion-free dielectric, transient: the rest
    state keeps Poisson in the dielectric (else its potential rows are empty) and the run
    goes on."""
    lam = debye_length(10.0, C0)
    names = ["bulk", "electrolyte", "dielectric"]
    case = layered_cell(
        [("bulk", 1e-6), ("electrolyte", 50 * lam), ("dielectric", 10 * lam)],
        {"size": f"{5 * lam} m"},
        [],
        {
            "species": [species("Li+", 1, C0, D_LI) | {"regions": names[:2]}],
            "fixed_charge": [
                {"regions": names[:2], "concentration": f"{C0} mol/m^3", "charge_number": -1}
            ],
            "electroneutral_regions": ["bulk"],
        },
        [
            {"name": "bottom", "electrode": electrode("Li+", I0, {"potential": "0 V"})},
            {"name": "top", "potential": "0.05 V"},
        ],
        dict.fromkeys(names, 10.0),
    )
    data = case.model_dump(mode="json", exclude_unset=True)
    data["time"] = {"mode": "transient", "t_end": "2e-9 s", "dt": "1e-9 s"}
    summary = run_case(validate_case(data), outdir=str(tmp_path / "out"))
    assert summary["status"] == "ok"
