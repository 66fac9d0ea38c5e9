"""Mechanics against exact answers (physics.md 5.9): constrained bar -E alpha dT, thin film
-E alpha dT / (1 - nu) (3D, plane strain) and -E alpha dT in plane stress, chemical
eigenstrain, uniaxial strain under stack pressure; exact for P1 (uniform states), per layer of
the Li | LLZO | Li stack, with the force balance."""

from __future__ import annotations

from mpi4py import MPI

import numpy as np
import pytest

from sse_fem.materials.registry import get_material
from sse_fem.mesh import build_mesh
from sse_fem.problem import build_problem
from tests.physics.helpers import FARADAY, symmetric_case

DT = -100.0  # K: cooled from a stress-free 398.15 K to 298.15 K
LAYERS = {"anode": 20e-6, "electrolyte": 100e-6, "cathode": 20e-6}
MATERIAL = {"anode": "Li", "electrolyte": "LLZO_Ta", "cathode": "Li"}


def _props(region: str) -> tuple[float, float, float]:
    m = get_material(MATERIAL[region])
    return m.get("youngs_modulus"), m.get("poissons_ratio"), m.get("thermal_expansion")


def _solve(dimension: int, bcs: list[dict], mechanics: dict | None = None, size: str = "10 um"):
    physics = {"mechanics": {"reference_temperature": "398.15 K"} | (mechanics or {})}
    case = symmetric_case(
        dimension,
        {"physics": physics, "interfaces": {}, "boundary_conditions": {"mechanics": bcs}},
        size=size,
    )
    problem = build_problem(case, build_mesh(case))
    ok, _, _ = problem.solve()
    assert ok
    return problem


def _stress_by_region(problem) -> dict[str, np.ndarray]:
    """Owned cells' 3x3 stress [Pa] per region."""
    module = problem.modules[0]
    stress = module.derived_fields(problem)["stress"]
    msh = problem.bundle.mesh
    n = msh.topology.index_map(msh.topology.dim).size_local
    values = stress.x.array.reshape(-1, 3, 3)[:n]
    out = {}
    for region, tag in problem.bundle.regions.items():
        cells = problem.bundle.cell_tags.find(tag)
        out[region] = values[cells[cells < n]]
    return out


def _assert_uniform(problem, expected: dict[str, np.ndarray], rtol: float = 1e-8) -> None:
    scale = max(np.abs(e).max() for e in expected.values())
    for region, stresses in _stress_by_region(problem).items():
        err = np.abs(stresses - expected[region]).max(initial=0.0)
        err = problem.comm.allreduce(err, op=MPI.MAX)
        assert err < rtol * scale, (region, err, expected[region])


def _diag(a: float, b: float, c: float) -> np.ndarray:
    return np.diag([a, b, c])


def _quoted(text: str) -> object:
    """A README number as written: pytest.approx to half a unit of its last digit."""
    return pytest.approx(float(text), abs=0.5 * 10.0 ** -len(text.partition(".")[2]))


@pytest.mark.mpi
def test_constrained_bar_in_series():
    """Both ends held: one uniform stress sigma = -dT sum(alpha L) / sum(L / E)."""
    problem = _solve(1, [{"name": "bottom", "type": "fixed"}, {"name": "top", "type": "fixed"}])
    props = {r: _props(r) for r in LAYERS}
    sigma = (
        -DT
        * sum(props[r][2] * L for r, L in LAYERS.items())
        / sum(L / props[r][0] for r, L in LAYERS.items())
    )
    _assert_uniform(problem, {r: _diag(sigma, 0, 0) for r in LAYERS})
    balance = problem.conservation()["mechanics"]
    assert balance["reaction_top_x_N"] == pytest.approx(sigma, rel=1e-9)
    assert balance["balance_error"] < 1e-9
    problem.close()


@pytest.mark.mpi
def test_thin_film_3d_biaxial_stress_per_layer():
    """In-plane displacement held, free top: sigma_xx = sigma_yy = -E alpha dT / (1 - nu)."""
    sides = {"name": "sides", "type": "displacement", "value": ["0 m", "0 m", None]}
    problem = _solve(3, [{"name": "bottom", "type": "fixed"}, sides], size="20 um")
    expected = {}
    for r in LAYERS:
        E, nu, alpha = _props(r)
        s = -E * alpha * DT / (1 - nu)
        expected[r] = _diag(s, s, 0.0)
    _assert_uniform(problem, expected, rtol=1e-7)  # Krylov (GAMG + rigid-body modes)
    row = problem.observe()["mechanics"]
    assert row["max_von_mises_stress_Pa"] == pytest.approx(expected["electrolyte"][0, 0], rel=1e-6)
    problem.close()


@pytest.mark.mpi
@pytest.mark.parametrize("formulation", ["plane_strain", "plane_stress"])
def test_plane_film_2d(formulation):
    """x held, y free: plane strain gives the thin-film stress (and sigma_zz = -E alpha dT
    too), plane stress the bar's -E alpha dT."""
    bcs = [
        {"name": "bottom", "type": "displacement", "value": [None, "0 m"]},
        {"name": "sides", "type": "displacement", "value": ["0 m", None]},
    ]
    problem = _solve(2, bcs, {"formulation": formulation})
    expected = {}
    for r in LAYERS:
        E, nu, alpha = _props(r)
        if formulation == "plane_strain":
            s = -E * alpha * DT / (1 - nu)
            expected[r] = _diag(s, 0.0, s)
        else:
            expected[r] = _diag(-E * alpha * DT, 0.0, 0.0)
    _assert_uniform(problem, expected)
    problem.close()


@pytest.mark.mpi
def test_chemical_eigenstrain_of_one_region():
    """A lithiation strain of 1e-3 in the SE only (no temperature change): the SE carries
    -E e / (1 - nu) in plane, the Li layers nothing."""
    sides = {"name": "sides", "type": "displacement", "value": ["0 m", "0 m", None]}
    mechanics = {
        "reference_temperature": "298.15 K",
        "chemical_strain": [{"regions": ["electrolyte"], "strain": 1e-3}],
    }
    problem = _solve(3, [{"name": "bottom", "type": "fixed"}, sides], mechanics, size="20 um")
    E, nu, _ = _props("electrolyte")
    s = -E * 1e-3 / (1 - nu)
    zero = np.zeros((3, 3))
    _assert_uniform(
        problem, {"anode": zero, "electrolyte": _diag(s, s, 0), "cathode": zero}, rtol=1e-7
    )
    problem.close()


@pytest.mark.mpi
def test_stack_pressure_uniaxial_strain():
    """Pressure p on top, lateral displacement held: sigma_zz = -p everywhere and
    sigma_xx = sigma_yy = -p nu / (1 - nu) per layer; the support carries p times the area."""
    p = 5e6
    bcs = [
        {"name": "bottom", "type": "fixed"},
        {"name": "sides", "type": "displacement", "value": ["0 m", "0 m", None]},
        {"name": "top", "type": "pressure", "value": "5 MPa"},
    ]
    problem = _solve(3, bcs, {"reference_temperature": "298.15 K"}, size="20 um")
    expected = {}
    for r in LAYERS:
        _, nu, _ = _props(r)
        expected[r] = _diag(-p * nu / (1 - nu), -p * nu / (1 - nu), -p)
    _assert_uniform(problem, expected, rtol=1e-7)
    balance = problem.conservation()["mechanics"]
    area = 50e-6 * 50e-6
    assert balance["load_top_z_N"] == pytest.approx(-p * area, rel=1e-9)
    assert balance["reaction_bottom_z_N"] + balance["reaction_sides_z_N"] == pytest.approx(
        p * area, rel=1e-7
    )
    assert balance["balance_error"] < 1e-6
    tractions = problem.modules[0].interface_tractions(problem)
    for name in ("anode_electrolyte", "electrolyte_cathode"):  # compression across the stack
        t = tractions[name]
        err = np.abs(t["normal"] + p).max(initial=0.0) + np.abs(t["shear"]).max(initial=0.0)
        assert problem.comm.allreduce(err, op=MPI.MAX) < 1e-7 * p
        row = problem.observe()["mechanics"]
        assert row[f"{name}.max_normal_traction_Pa"] == pytest.approx(-p, rel=1e-7)
    lateral = max(-p * nu / (1 - nu) for _, nu, _ in map(_props, LAYERS))
    assert row["max_principal_stress_Pa"] == pytest.approx(lateral, rel=1e-7)
    problem.close()


def _stress_coupled_cell(pressure: str | None):
    """The 1D symmetric cell at 1 mA/cm^2 with Monroe-Newman kinetics on both Li|LLZO
    interfaces; ``pressure`` on top (bottom held), or none."""
    mechanics_bcs = [{"name": "bottom", "type": "fixed"}]
    if pressure is not None:
        mechanics_bcs.append({"name": "top", "type": "pressure", "value": pressure})
    interfaces = [
        {
            "name": name,
            "exchange_current_density": "1 mA/cm^2",
            "stress_coupling": "monroe_newman",
        }
        for name in ("anode_electrolyte", "electrolyte_cathode")
    ]
    case = symmetric_case(
        1,
        {
            "physics": {"conduction": {}, "mechanics": {}},
            "interfaces": {"conduction": interfaces},
            "boundary_conditions": {
                "conduction": [
                    {"name": "bottom", "type": "current_density", "value": "1 mA/cm^2"},
                    {"name": "top", "type": "ground"},
                ],
                "mechanics": mechanics_bcs,
            },
            "solver": {"newton_tolerance": 1e-12},
        },
        size="4 um",
    )
    problem = build_problem(case, build_mesh(case))
    assert problem.solve()[0]
    row = problem.observe()
    problem.close()
    return row


@pytest.mark.mpi
def test_stack_pressure_shifts_the_interface_overpotential_by_omega_p_over_zf():
    """Uniform compression p of the Li: both interface overpotentials shift by exactly
    -Omega_M p / (z F) at the same current: the stripping side (bottom, anodic) needs less,
    the plating side more."""
    p, omega = 5e6, get_material("Li").get("molar_volume")
    free = _stress_coupled_cell(None)
    pressed = _stress_coupled_cell("5 MPa")
    assert pressed["mechanics"]["max_hydrostatic_stress_Pa"] == pytest.approx(-p / 3, rel=1e-9)
    shift = omega * p / 96485.33212
    key = "conduction.{}.mean_overpotential_V"
    for name, sign in (("anode_electrolyte", 1), ("electrolyte_cathode", -1)):
        eta0 = free["conduction"][f"{name}.mean_overpotential_V"]
        eta = pressed["conduction"][f"{name}.mean_overpotential_V"]
        assert sign * eta0 > 0, key.format(name)
        assert eta - eta0 == pytest.approx(-shift, rel=1e-8)
    # the same current flows; in a symmetric cell both shifts cancel in the voltage
    assert pressed["conduction"]["current_A"] == pytest.approx(free["conduction"]["current_A"])
    v0, v = free["conduction"]["voltage_V"], pressed["conduction"]["voltage_V"]
    assert v == pytest.approx(v0, abs=1e-11)


def test_stack_pressure_case_reproduces_its_readme(tmp_path):
    """cases/stack_pressure_interface at 0 to 10 MPa: the contact carries the stack load (mean
    normal traction -p / contact fraction, no tension), and the README's table (regression)."""
    import csv

    from sse_fem.config import load_case
    from sse_fem.driver import Run
    from tests.conftest import CASES

    # README table: max compression [MPa], mean normal traction [MPa], focusing factor, mV
    table = {
        0: ("0", "0", "1.116", "7.205"),
        1: ("2.85", "-1.24", "1.200", "7.032"),
        5: ("14.3", "-6.19", "1.581", "6.343"),
        10: ("28.5", "-12.4", "2.1075", "5.482"),
    }
    for p, (compression, mean, focusing, voltage) in table.items():
        case = load_case(
            CASES / "stack_pressure_interface" / "case.yaml",
            [f"boundary_conditions.mechanics.metal_terminal.value={p} MPa"],
        )
        case.outputs.plots = p == 10
        out = tmp_path / f"{p}MPa"
        summary = Run(case, outdir=str(out)).execute()
        assert summary["status"] == "ok", summary.get("reason")
        with open(out / "interface_metal_electrolyte_traction.csv") as fh:
            rows = list(csv.DictReader(fh))
        normal = np.array([float(r["normal_traction_Pa"]) for r in rows])
        area = np.array([float(r["area"]) for r in rows])
        mean_normal = (normal * area).sum() / area.sum()
        r = summary["results"]
        assert -normal.min() / 1e6 == _quoted(compression), p
        assert mean_normal / 1e6 == _quoted(mean), p
        assert r["conduction.metal_electrolyte.focusing_factor"] == _quoted(focusing), p
        assert r["conduction.voltage_V"] * 1e3 == _quoted(voltage), p
        if p == 0:
            # README: 1.5-3.2 mV of charge-transfer overpotential (from 10 MPa to none)
            assert r["conduction.charge_transfer_overpotential_V"] * 1e3 == _quoted("3.2")
            continue
        # cell stresses next to the interface, not the consistent flux: 1 % at this mesh
        assert mean_normal == pytest.approx(-p * 1e6 / 0.8, rel=0.015), p
        # README: the peak is about 2.9 p; no part of the interface goes into tension
        assert -normal.min() / (p * 1e6) == _quoted("2.9"), p
        assert normal.max() < 0, p
    assert -normal.min() == pytest.approx(28.54e6, rel=0.002)
    assert r["conduction.metal_electrolyte.focusing_factor"] == pytest.approx(2.1075, rel=1e-3)
    assert r["conduction.voltage_V"] == pytest.approx(5.482e-3, rel=1e-3)
    assert r["conduction.charge_transfer_overpotential_V"] * 1e3 == _quoted("1.5")
    # README: Omega_M = 13.0 cm^3/mol, and Omega_M sigma_n / F is 3.8 mV at the 28.5 MPa peak
    omega = get_material("Li").get("molar_volume")
    assert omega * 1e6 == _quoted("13.0")
    assert omega * -normal.min() / FARADAY * 1e3 == _quoted("3.8")


@pytest.mark.parametrize(
    ("bcs", "missing"),
    [
        ([{"name": "bottom", "type": "roller"}], "translation along x, translation along y"),
        (
            [
                {"name": "bottom", "type": "roller"},
                {"name": "sides", "type": "displacement", "value": ["0 m", None, None]},
            ],
            "translation along y",
        ),
    ],
)
def test_supports_that_leave_the_body_floating_are_a_case_error(bcs, missing):
    from sse_fem.errors import CaseError

    case = symmetric_case(
        3,
        {
            "physics": {"mechanics": {}},
            "interfaces": {},
            "boundary_conditions": {"mechanics": bcs},
        },
        size="40 um",
    )
    with pytest.raises(CaseError, match=rf"^boundary_conditions\.mechanics: .*{missing}"):
        build_problem(case, build_mesh(case))


def test_roller_on_a_boundary_that_is_not_one_plane_is_a_case_error():
    from sse_fem.errors import CaseError

    case = symmetric_case(
        3,
        {
            "physics": {"mechanics": {}},
            "interfaces": {},
            "boundary_conditions": {
                "mechanics": [
                    {"name": "bottom", "type": "fixed"},
                    {"name": "sides", "type": "roller"},
                ]
            },
        },
        size="40 um",
    )
    with pytest.raises(CaseError, match=r"\(sides\): boundary 'sides' is not a plane"):
        build_problem(case, build_mesh(case))


@pytest.mark.slow
def test_cathode_swelling_case_reproduces_its_readme(tmp_path):
    """cases/cathode_swelling_stress: the SE's robust tension figures quoted in its README."""
    from sse_fem.config import load_case
    from sse_fem.driver import Run
    from tests.conftest import CASES

    case = load_case(CASES / "cathode_swelling_stress" / "case.yaml")
    case.outputs.plots = False
    summary = Run(case, outdir=str(tmp_path)).execute()
    assert summary["status"] == "ok", summary.get("reason")
    m = summary["outputs"]["mechanics"]
    assert m["electrolyte.p99_hydrostatic_stress_Pa"] == pytest.approx(366e6, rel=0.005)
    assert m["electrolyte.tension_volume_fraction"] == pytest.approx(0.60, abs=0.005)
    assert m["active.p99_hydrostatic_stress_Pa"] == pytest.approx(824e6, rel=0.005)
    assert m["carbon.tension_volume_fraction"] == pytest.approx(0.74, abs=0.005)
    assert m["carbon.p99_hydrostatic_stress_Pa"] == pytest.approx(88.5e6, abs=0.05e6)
    assert m["active.tension_volume_fraction"] == pytest.approx(1.0, abs=0.005)  # "100 %"
    # README table, "largest": the singular maxima at this mesh size
    assert m["electrolyte.max_hydrostatic_stress_Pa"] == pytest.approx(1.05e9, abs=0.005e9)
    assert m["active.max_hydrostatic_stress_Pa"] == pytest.approx(1.92e9, abs=0.005e9)
    assert m["carbon.max_hydrostatic_stress_Pa"] == pytest.approx(166e6, abs=0.5e6)
    # README: the largest normal tension across the NMC811 | SE interface
    assert m["active_electrolyte.max_normal_traction_Pa"] == pytest.approx(1.85e9, abs=0.005e9)


def test_filament_crack_case_reproduces_its_readme(tmp_path):
    """cases/li_filament_crack at 0 to 10 MPa: crack-tip tension at the tip, the mouth closed
    at 10 MPa, the README's table and the trends it reads from it (regression)."""
    import csv

    from sse_fem.config import load_case
    from sse_fem.driver import Run
    from tests.conftest import CASES

    # README table: hydrostatic stress at the tip [MPa], normal traction at the mouth [MPa],
    # current density at the tip and largest plating current density [A/m^2], voltage [mV]
    table = {
        0: ("45.5", "11.3", "-5.1455", "-5.60", "-22.07"),
        0.1: ("45.4", "11.2", "-5.1476", "-5.60", "-22.08"),
        1: ("44.8", "9.8", "-5.17", "-5.62", "-22.15"),
        5: ("42.2", "3.7", "-5.25", "-5.69", "-22.48"),
        10: ("38.8", "-3.9", "-5.36", "-5.78", "-22.90"),
    }
    tip_stress, mouth, tip_current = {}, {}, {}
    for p, (stress, traction, j_tip, j_max, voltage) in table.items():
        case = load_case(
            CASES / "li_filament_crack" / "case.yaml",
            [f"boundary_conditions.mechanics.metal_terminal.value={p} MPa"],
        )
        case.outputs.plots = False
        out = tmp_path / f"{p}MPa"
        summary = Run(case, outdir=str(out)).execute()
        assert summary["status"] == "ok", summary.get("reason")
        m = summary["outputs"]["mechanics"]
        tip_stress[p] = m["electrolyte.max_hydrostatic_stress_Pa"]
        mouth[p] = m["metal_electrolyte.max_normal_traction_Pa"]
        tip = m["max_hydrostatic_stress_at_m"]
        assert tip[0] == pytest.approx(20e-6, abs=0.3e-6), p
        assert tip[1] == pytest.approx(30e-6, abs=0.3e-6), p
        with open(out / "interface_metal_electrolyte.csv") as fh:
            rows = list(csv.DictReader(fh))
        y = np.array([float(r["y_m"]) for r in rows])
        j = np.array([float(r["current_density_A_m2"]) for r in rows])
        tip_current[p] = j[np.argmin(y)]
        r = summary["results"]
        assert tip_stress[p] / 1e6 == _quoted(stress), p
        assert mouth[p] / 1e6 == _quoted(traction), p
        assert tip_current[p] == _quoted(j_tip), p
        assert j.min() == _quoted(j_max), p
        assert r["conduction.voltage_V"] * 1e3 == _quoted(voltage), p
        # README: the mean plating current density over both crack faces and the flat part
        assert r["conduction.metal_electrolyte.mean_current_density_A_m2"] == _quoted("-5.1"), p
    assert tip_stress[10] == pytest.approx(38.82e6, rel=2e-3)
    assert mouth[10] == pytest.approx(-3.85e6, rel=5e-3)
    assert tip_current[10] == pytest.approx(-5.362, rel=2e-3)
    # README: -0.67 MPa at the tip per MPa of stack pressure; the mouth's normal traction turns
    # compressive near 7.5 MPa; the tip current density grows by 4 % from 0 to 10 MPa
    assert (tip_stress[10] - tip_stress[0]) / 10e6 == _quoted("-0.67")
    assert 5 + 5 * mouth[5] / (mouth[5] - mouth[10]) == _quoted("7.5")
    assert tip_current[10] / tip_current[0] - 1 == _quoted("0.04")


@pytest.mark.mpi
@pytest.mark.parametrize("dimension", [2, 3])
def test_held_rigid_modes_do_not_constrain_a_free_body(dimension):
    """A free stack with hold_rigid_modes: a uniform thermal strain leaves it stress-free
    (the point supports are statically determinate), and different expansion per layer
    gives self-equilibrated stresses with no reaction at the points."""
    same = {"youngs_modulus": "100 GPa", "poissons_ratio": 0.3, "thermal_expansion": "1e-5 1/K"}
    for materials, stress_free in (
        ({"llzo": {"base": "LLZO_Ta"} | same, "lithium": {"base": "Li"} | same}, True),
        ({"llzo": {"base": "LLZO_Ta"}, "lithium": {"base": "Li"}}, False),
    ):
        case = symmetric_case(
            dimension,
            {
                "physics": {
                    "mechanics": {
                        "reference_temperature": "398.15 K",
                        "hold_rigid_modes": True,
                        "formulation": "plane_stress",  # plane strain holds eps_zz: stress
                    }
                },
                "materials": materials,
                "interfaces": {},
                "boundary_conditions": {"mechanics": []},
            },
            size="20 um",
        )
        problem = build_problem(case, build_mesh(case))
        assert problem.solve()[0]
        balance = problem.conservation()["mechanics"]
        reactions = [v for k, v in balance.items() if k.startswith("reaction_rigid_mode")]
        assert len(reactions) == dimension
        scale = 100e9 * 1e-5 * 100 * 50e-6 ** (dimension - 1)  # E alpha dT times an area
        assert max(abs(r) for r in reactions) < 1e-9 * scale
        row = problem.observe()["mechanics"]
        if stress_free:
            assert row["max_von_mises_stress_Pa"] < 1e-6 * 100e9 * 1e-5 * 100
        else:
            assert row["max_von_mises_stress_Pa"] > 1e6  # Li and LLZO pull on each other
        problem.close()


@pytest.mark.mpi
@pytest.mark.parametrize("coupling", ["monolithic", "staggered"])
def test_staggered_coupling_lags_the_temperature_by_one_step(coupling, shared_tmp):
    """A held bar heated uniformly (adiabatic, BDF1: T rises by q dt / (rho c_p) per step):
    sigma = -E alpha (T - T_ref) with this step's temperature (monolithic) or the previous
    one's (staggered), exactly."""
    import csv

    from sse_fem.driver import Run

    E, alpha = 100e9, 1e-5
    same = {
        "youngs_modulus": "100 GPa",
        "poissons_ratio": 0.3,
        "thermal_expansion": "1e-5 1/K",
        "thermal_conductivity": "1 W/(m*K)",
        "density": "1000 kg/m^3",
        "specific_heat": "1000 J/(kg*K)",
    }
    regions = ["anode", "electrolyte", "cathode"]
    case = symmetric_case(
        1,
        {
            "physics": {
                "heat": {"volumetric_sources": [{"regions": regions, "value": "1e6 W/m^3"}]},
                "mechanics": {"coupling": coupling},
            },
            "materials": {"llzo": {"base": "LLZO_Ta"} | same, "lithium": {"base": "Li"} | same},
            "interfaces": {},
            "boundary_conditions": {
                "mechanics": [
                    {"name": "bottom", "type": "fixed"},
                    {"name": "top", "type": "fixed"},
                ]
            },
            "time": {
                "mode": "transient",
                "dt": "1 s",
                "t_end": "3 s",
                "scheme": "bdf1",
                "adaptive": False,
            },
        },
        size="10 um",
    )
    out = shared_tmp / coupling
    assert Run(case, outdir=str(out)).execute()["status"] == "ok"
    with open(out / "timeseries.csv") as fh:
        rows = [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)]
    t_ref = rows[0]["heat.mean_temperature_K"]
    for previous, row in zip(rows[:-1], rows[1:], strict=True):
        assert row["heat.mean_temperature_K"] - previous["heat.mean_temperature_K"] == (
            pytest.approx(1.0, rel=1e-9)  # q dt / (rho c_p) = 1 K per step
        )
        source = row if coupling == "monolithic" else previous
        sigma = -E * alpha * (source["heat.mean_temperature_K"] - t_ref)
        assert 3 * row["mechanics.max_hydrostatic_stress_Pa"] == pytest.approx(sigma, rel=1e-8)
