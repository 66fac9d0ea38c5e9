"""Bad input ends in one CaseError naming the key path and what is allowed: never a traceback,
a hang, a crash in the form compiler or a file written or read by PETSc (issue 9)."""

import copy
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from sse_fem.config import load_case, validate_case
from sse_fem.config.petsc_policy import PetscOptions, check_petsc_options
from sse_fem.config.types import Strict
from sse_fem.errors import CaseError
from sse_fem.materials.properties import LIMITS, PROPERTIES
from sse_fem.units import to_si

ROOT = Path(__file__).resolve().parents[2]
SYMMETRIC = ROOT / "cases" / "symmetric_cell" / "case.yaml"
CLI = Path(sys.executable).with_name("sse-fem")


def base() -> dict:
    return yaml.safe_load(SYMMETRIC.read_text())


def case_error(fn, *args) -> str:
    """The one-line message of the CaseError that ``fn(*args)`` raises."""
    with pytest.raises(CaseError) as err:
        fn(*args)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def cli_validate(*args: str) -> str:
    """``sse-fem validate ...``: exit status 2, one stderr line, no traceback; that line."""
    p = subprocess.run(
        [str(CLI), "validate", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    return lines[0]


# 1. inf / nan anywhere a number is read


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ("materials.llzo.ionic_conductivity=inf S/m", "materials.llzo.ionic_conductivity"),
        ("materials.llzo.ionic_conductivity=.inf", "materials.llzo.ionic_conductivity"),
        ("materials.llzo.reference_temperature=nan K", "materials.llzo.reference_temperature"),
        ("materials.llzo.ionic_conductivity=1e400 S/m", "materials.llzo.ionic_conductivity"),
        ("geometry.width=.nan", "geometry.width"),
        ("geometry.layers.electrolyte.thickness=1e308 km", "geometry.layers[1](electrolyte)"),
        ("solver.newton_tolerance=-.inf", "solver.newton_tolerance"),
    ],
)
def test_inf_and_nan_are_case_errors(override, path):
    msg = case_error(load_case, SYMMETRIC, [override])
    assert msg.startswith(path), msg
    assert "not a finite number" in msg, msg


def test_plain_float_fields_refuse_inf_and_nan():
    class Block(Strict):
        fraction: float

    for bad in (math.inf, math.nan, "inf"):
        with pytest.raises(ValidationError, match="finite number"):
            Block(fraction=bad)


# 2. physically impossible material values


@pytest.mark.parametrize(
    ("prop", "value", "allowed"),
    [
        ("ionic_conductivity", "0 S/m", "> 0 S/m"),
        ("electronic_conductivity", "-1 S/m", "> 0 S/m"),
        ("solid_diffusivity", "-1e-14 m^2/s", "> 0 m^2/s"),
        ("youngs_modulus", "0 GPa", "> 0 Pa"),
        ("relative_permittivity", -5, "> 0"),
        ("specific_heat", "-1 J/(kg*K)", "> 0"),
        ("density", "0 kg/m^3", "> 0"),
        ("thermal_conductivity", "0 W/(m*K)", "> 0"),
        ("poissons_ratio", 0.5, "strictly between -1 and 0.5"),
    ],
)
def test_impossible_material_values_are_case_errors(prop, value, allowed):
    data = base()
    data["materials"]["llzo"][prop] = value
    msg = case_error(validate_case, data)
    assert msg.startswith(f"materials.llzo.{prop}: "), msg
    assert f"must be {allowed}" in msg, msg


def test_limits_name_catalogued_properties():
    assert set(LIMITS) <= set(PROPERTIES)


# 3. bare numbers for dimensional quantities


def test_bare_temperature_names_the_unit():
    msg = case_error(load_case, SYMMETRIC, ["materials.llzo.reference_temperature=25"])
    assert msg.startswith(
        "materials.llzo.reference_temperature: bare number 25 for a temperature: "
        "give a unit, e.g. '298.15 K' or '25 degC'"
    ), msg


def test_bare_thickness_names_the_unit():
    msg = case_error(load_case, SYMMETRIC, ["geometry.layers.electrolyte.thickness=100"])
    assert msg.startswith("geometry.layers[1](electrolyte).thickness: bare number 100"), msg
    assert "for a length: give a unit, e.g. '100 m'" in msg


def test_bare_numbers_allowed_only_when_unambiguous():
    assert to_si(0, "length") == 0.0  # 0 is 0 in every unit ...
    assert to_si("0", "current_density") == 0.0
    with pytest.raises(CaseError, match="bare number 0 for a temperature"):
        to_si(0, "temperature")  # ... but not in degC
    assert to_si(1e-9, "dimensionless") == 1e-9
    assert load_case(SYMMETRIC, ["solver.newton_tolerance=1e-9"]).solver.newton_tolerance == 1e-9


def test_python_assignment_takes_si_numbers():
    case = load_case(SYMMETRIC)
    case.geometry.width = 60e-6  # the Python API stores SI
    assert case.geometry.width == 60e-6
    case.geometry.width = "70 um"
    assert case.geometry.width == pytest.approx(70e-6)
    with pytest.raises(CaseError, match="bare number 60 for a length"):
        to_si(60, "length")  # the context of the assignment is gone


# 4. unit strings are parsed, never evaluated


def test_arithmetic_in_a_quantity_is_refused_quickly():
    start = time.perf_counter()
    line = cli_validate(str(SYMMETRIC), "materials.llzo.ionic_conductivity=9**9**9 S/m")
    assert time.perf_counter() - start < 30
    assert line.startswith("error: materials.llzo.ionic_conductivity: cannot read '9**9**9 S/m'")
    assert "arithmetic is not evaluated" in line


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1 S^9^9/m", "an exponent is a number up to 6"),
        ("1 m^7/m^4", "an exponent is a number up to 6"),
        ("1 S/m**(9**9)", "an exponent is a number up to 6"),
        ("1 (S/m", "unbalanced parentheses"),
        ("1 S/((((m))))", "parentheses nested deeper"),
        ("2 2/m", "expected a unit name, got '2'"),
        ("1 S/m; import os", "character ';' is not allowed"),
        ("1 __import__('os')", 'character "\'" is not allowed'),
        ("1 furlongs_per_sol", "unknown unit"),
        ("1" * 200 + " S/m", "at most 100 characters"),
    ],
)
def test_unit_expressions_outside_the_grammar_are_refused(text, fragment):
    msg = case_error(to_si, text, "conductivity", "materials.x.ionic_conductivity")
    assert msg.startswith("materials.x.ionic_conductivity: "), msg
    assert fragment in msg, msg


@pytest.mark.parametrize(
    ("text", "dimension", "si"),
    [
        ("25 degC", "temperature", 298.15),
        ("0.5 mS/cm", "conductivity", 0.05),
        ("1 mA/cm^2", "current_density", 10.0),
        ("0.3 eV", "activation_energy", 28945.6),
        ("10 um", "length", 1e-5),
        ("1e-3 ohm*cm^2", "area_resistance", 1e-7),
        ("1 MPa*m^0.5", "stress_intensity", 1e6),
        ("1 Pa*m**0.5", "stress_intensity", 1.0),
        ("1 Pa m^(1/2)", "stress_intensity", 1.0),
        ("1 S*K^0.5/m", "vft_prefactor", 1.0),
        ("3861 mA*h/g", "specific_capacity", 3861.0),
        ("-1.5e-5 1/K", "thermal_expansion", -1.5e-5),
        ("+2 W/(m*K)", "thermal_conductivity", 2.0),
        (".5 µm", "length", 0.5e-6),
    ],
)
def test_valid_unit_strings_still_read(text, dimension, si):
    assert to_si(text, dimension) == pytest.approx(si, rel=1e-6)


# 5. case-file loading


def test_oversized_case_file(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text("# padding\n" * 110_000)
    assert "limited to 1024 KiB" in case_error(load_case, f)


def test_binary_and_non_utf8_case_files(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"case:\x00\x01SECRET\xff")
    (tmp_path / "latin.yaml").write_bytes("case: {name: SECRET-caf\xe9}\n".encode("latin-1"))
    assert (
        case_error(load_case, tmp_path / "bin.yaml")
        == "bin.yaml: a binary file, not a YAML case file"
    )
    msg = case_error(load_case, tmp_path / "latin.yaml")
    assert msg.startswith("latin.yaml: not UTF-8 text"), msg
    assert "SECRET" not in msg
    assert case_error(load_case, Path("/dev/zero")).endswith("not a regular file")


def test_deep_nesting_is_one_line_without_traceback(tmp_path):
    f = tmp_path / "deep.yaml"
    f.write_text("case: " + "[" * 500 + "]" * 500 + "\n")
    assert cli_validate(str(f)) == "error: deep.yaml: nested deeper than 64 levels at line 1"
    block = "".join("  " * k + f"k{k}:\n" for k in range(600)) + "  " * 600 + "x: 1\n"
    (tmp_path / "block.yaml").write_text(block)
    assert "nested deeper than 64 levels" in case_error(load_case, tmp_path / "block.yaml")
    override = "geometry.width=" + "[" * 5000 + "]" * 5000
    assert "nested deeper" in case_error(load_case, SYMMETRIC, [override])


def test_deep_python_data_is_a_case_error():
    data = base()
    nested: dict = {}
    for _ in range(3000):
        nested = {"x": nested}
    data["materials"]["llzo"]["ionic_conductivity"] = nested
    assert "ionic_conductivity takes one value with a unit" in case_error(validate_case, data)


def test_alias_bomb_fails_fast(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 12)]
    (tmp_path / "lol.yaml").write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    msg = case_error(load_case, tmp_path / "lol.yaml")
    assert time.perf_counter() - start < 5
    assert msg == "lol.yaml: more than 50000 values (aliases counted at every use)"


def test_merge_key_bomb_stays_small(tmp_path):
    lines = ["a0: &a0 {x: 1}"]
    lines += [
        f"a{k}: &a{k} {{<<: [{', '.join([f'*a{k - 1}'] * 9)}], y{k}: 1}}" for k in range(1, 30)
    ]
    (tmp_path / "merge.yaml").write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    assert "required key is missing" in case_error(load_case, tmp_path / "merge.yaml")
    assert time.perf_counter() - start < 5


def test_long_flat_file_stops_at_the_node_limit(tmp_path):
    (tmp_path / "flat.yaml").write_text("case: [" + "1," * 60_000 + "]\n")
    start = time.perf_counter()
    assert "more than 50000 values at line 1" in case_error(load_case, tmp_path / "flat.yaml")
    assert time.perf_counter() - start < 10  # not minutes


def test_recursive_alias(tmp_path):
    (tmp_path / "rec.yaml").write_text("case: &a {name: *a}\n")
    assert "refers to itself" in case_error(load_case, tmp_path / "rec.yaml")


def test_unreadable_numbers_in_yaml(tmp_path):
    (tmp_path / "int.yaml").write_text("case: " + "9" * 5000 + "\n")
    (tmp_path / "date.yaml").write_text("case: 2024-02-30\n")
    for name in ("int.yaml", "date.yaml"):
        msg = case_error(load_case, tmp_path / name)
        assert msg == f"{name}: a number or date that cannot be read"


@pytest.fixture
def include_tree(tmp_path: Path) -> Path:
    """case/ with sub/materials.yaml, an outside secret and a link to it from inside case/."""
    case = tmp_path / "case"
    (case / "sub").mkdir(parents=True)
    (tmp_path / "secret.yaml").write_text("SECRET: [unclosed\n")
    (case / "sub" / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    materials = {"llzo": {"base": "LLZO_Ta", "ionic_conductivity": "0.2 mS/cm"}}
    (case / "sub" / "materials.yaml").write_text(
        yaml.safe_dump(materials | {"lithium": {"base": "Li"}})
    )
    return case


def _with_materials(case: Path, include: str) -> Path:
    data = base()
    del data["materials"]
    (case / "case.yaml").write_text(yaml.safe_dump(data) + f"materials: !include {include}\n")
    return case / "case.yaml"


def test_include_below_the_case_folder(include_tree):
    case = load_case(_with_materials(include_tree, "sub/materials.yaml"))
    assert case.materials["llzo"].overrides["ionic_conductivity"] == "0.2 mS/cm"


@pytest.mark.parametrize(
    ("include", "fragment"),
    [
        ("../secret.yaml", "without '..'"),
        ("sub/../../secret.yaml", "without '..'"),
        ("{root}/secret.yaml", "without '..'"),  # absolute
        ("sub/link.yaml", "leads outside through a link"),
    ],
)
def test_include_outside_the_case_folder_is_refused(include_tree, include, fragment):
    f = _with_materials(include_tree, include.format(root=include_tree.parent))
    msg = case_error(load_case, f)
    assert msg.startswith("case.yaml: !include "), msg
    assert fragment in msg, msg
    assert "SECRET" not in msg and "unclosed" not in msg


def test_include_chain_is_limited(tmp_path):
    (tmp_path / "self.yaml").write_text("case: !include self.yaml\n")
    assert "includes nested more than 8 deep" in case_error(load_case, tmp_path / "self.yaml")


# 6. PETSc options


ALLOWED = {
    "ksp_type": "gmres",
    "pc_type": "gamg",
    "pc_gamg_threshold": 0.02,
    "ksp_gmres_restart": 100,
    "ksp_rtol": 1e-8,
    "pc_factor_mat_solver_type": "mumps",
    "mat_mumps_icntl_14": 80,
    "mat_mumps_icntl_24": 1,
    "pc_fieldsplit_schur_fact_type": "full",
    "fieldsplit_fields_ksp_max_it": 1000,
    "snes_linesearch_type": "basic",
    "snes_error_if_not_converged": False,
    "pc_fieldsplit_0_fields": "0,1",
    "pc_hypre_boomeramg_strong_threshold": "0.7",
    "ksp_norm_type": None,
}


@pytest.mark.parametrize(
    "key",
    [
        "ksp_view",
        "ksp_monitor",
        "fieldsplit_fields_ksp_monitor_true_residual",
        "snes_converged_reason",
        "options_file",
        "options_left",
        "on_error_attach_debugger",
        "start_in_debugger",
        "log_view",
        "log_trace",
        "info",
        "history",
        "help",
        "h",
        "malloc_dump",
        "mat_view_draw",
        "viewer_binary_filename",
        "ksp_view_mat",
        "objects_dump",
        "snes_test_jacobian",
        "pc_python_type",
        "dll_append",
        "mat_mumps_icntl_1",
        "citations",
        "mpi_linear_solver_server",
        "ts_trajectory_dirname",
        "pc_gamg_aggressive_square_graph",
        "fieldsplit_fields_pc_gamg_aggressive_square_graph",
    ],
)
def test_petsc_options_that_view_write_or_debug_are_refused(key):
    msg = case_error(check_petsc_options, {"ksp_type": "cg", key: "x"}, "solver.petsc_options")
    assert msg.startswith(f"solver.petsc_options: option '{key}': not allowed"), msg


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"-pc_type": "lu"}, "without the leading '-'"),
        ({"pc type": "lu"}, "letters, digits and '_'"),
        ({"ksp_type": "ascii:out.txt"}, "no viewers"),
        ({"ksp_rtol": "1e-3 -ksp_view"}, "no viewers"),
        ({"ksp_rtol": math.inf}, "not a finite number"),
        ({"ksp_rtol": math.nan}, "not a finite number"),
        ({"ksp_rtol": "nan"}, "not a finite number"),
        ({"ksp_rtol": "1e999"}, "not a finite number"),
        ({"ksp_max_it": 2**40}, "out of range"),
        ({"ksp_max_it": [1]}, "must be a string, number, boolean or empty"),
    ],
)
def test_petsc_option_names_and_values_are_checked(options, fragment):
    msg = case_error(check_petsc_options, options, "solver.petsc_options")
    assert msg.startswith("solver.petsc_options: option "), msg
    assert fragment in msg, msg


def test_solver_settings_pass_and_the_pydantic_type_checks():
    assert check_petsc_options(copy.deepcopy(ALLOWED), "solver.petsc_options") == ALLOWED
    adapter = TypeAdapter(PetscOptions)
    assert adapter.validate_python(ALLOWED) == ALLOWED
    with pytest.raises(ValidationError, match="option 'ksp_monitor': not allowed"):
        adapter.validate_python(ALLOWED | {"ksp_monitor": None})
    with pytest.raises(ValidationError, match="not a finite number"):
        adapter.validate_python({"ksp_rtol": math.inf})


def test_errors_map_to_one_line_and_an_exit_status():
    """A case error is bad input (2), a solve that failed after every cut a failed solve (3,
    e.g. homogenize's linear solve), anything else an internal error (4)."""
    from sse_fem.errors import CaseError, SolverFailure
    from sse_fem.parallel import describe

    assert describe(CaseError("bad", "a.b")) == ("error: a.b: bad", 2)
    assert describe(SolverFailure("the voxel solve did not converge")) == (
        "error: the voxel solve did not converge",
        3,
    )
    assert describe(ValueError("x"))[1] == 4
