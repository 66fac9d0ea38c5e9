"""MkDocs hook: the pages generated from the code and the repository, so nothing is written
twice and nothing goes stale.

- ``index.md`` and ``running.md``: sections of ``README.md`` (quick start, command line;
  outputs, solvers, containers, microstructure, sweeps, gold values, benchmarks);
- ``case-file/<block>.md``: every key of each case-file block from the JSON Schema of
  ``sse-fem schema`` (type, allowed values, default, unit, the key's ``#:`` documentation);
- ``materials.md``: the material library with values, units, flags and citations;
- ``physics/<name>.md``: each physics module's docstring (the equations implemented) and the
  verification tests that cover it (test names and docstrings);
- ``cases/<name>.md``: each shipped case's README and case file.

Handwritten pages (``troubleshooting.md``) live in ``docs/`` as usual.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
PHYSICS = ("conduction", "heat", "mechanics", "nernst_planck", "solid_diffusion")
#: the picture of each case page (docs/images/cases/<case>.png): which output it is
CASE_PICTURES = {
    "blocking_electrode_polarisation": "concentration_profile.png",
    "cathode_percolation": "phi_ionic.png",
    "cathode_swelling_stress": "hydrostatic_stress.png",
    "composite_cathode_discharge": "stoichiometry.png",
    "composite_cathode_transport": "phi_ionic.png",
    "fast_charge_heating": "heat.png",
    "gb_transport": "phi_ionic.png",
    "li_filament_crack": "hydrostatic_stress.png",
    "li_void_stripping": "interface_metal_electrolyte.png",
    "multivalent_symmetric": "concentration_profile.png",
    "nmc_layer_1d": "voltage_capacity.png",
    "polymer_concentration_polarisation": "concentration_profile.png",
    "space_charge_lco_sulfide": "interface_cathode_electrolyte_profile.png",
    "stack_pressure_interface": "interface_metal_electrolyte_traction.png",
    "sweep_ccd": "phi_ionic.png",
    "symmetric_cell": "phi_ionic.png",
    "tomography_microstructure": "phi_ionic.png",
}
RUNNING = (
    "Outputs (in OUT)",
    "Solvers",
    "Docker and Apptainer",
    "Microstructure analytics",
    "Parameter sweeps",
    "Regression gold values",
    "Benchmarks",
)


def on_config(config: Any) -> Any:
    """The Cases section of the navigation lists every shipped case folder."""
    cases = sorted(p.name for p in (ROOT / "cases").iterdir() if (p / "case.yaml").exists())
    for k, entry in enumerate(config["nav"] or []):
        if isinstance(entry, dict) and "Cases" in entry:
            config["nav"][k] = {"Cases": ["cases/index.md", *(f"cases/{c}.md" for c in cases)]}
    return config


def on_files(files: Files, config: Any) -> Files:
    pages = {
        "index.md": _index(),
        "running.md": _running(),
        "materials.md": _materials(),
        **_case_file_pages(),
        **_physics_pages(),
        **_case_pages(),
    }
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files


# --- README sections ------------------------------------------------------------------------


def _readme_sections() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    sections = {"": parts[0]}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        sections[title.strip()] = body
    return sections


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).strip().replace(" ", "-")


def _fix_links(text: str, depth: int) -> str:
    """README links to repository files become links into the site or to plain text; links
    to README sections that live on the running page point there."""
    up = "../" * depth
    for title in RUNNING:
        slug = _slug(title)
        text = text.replace(f"](#{slug})", f"]({up}running.md#{slug})")
    text = text.replace("](docs/images/", f"]({up}images/")
    # other relative links point at repository files the site does not hold: keep the text
    return re.sub(
        r"\[([^\]]+)\]\((?!https?:|#|\.\./images/|images/|" + re.escape(up) + r"images/)[^)]+\)",
        r"\1",
        text,
    )


def _index() -> str:
    s = _readme_sections()
    intro = s[""].split("\n", 2)[2] if s[""].startswith("# ") else s[""]
    quick = next(v for k, v in s.items() if k.startswith("Quick start"))
    return _fix_links(
        "# sse-fem\n\n"
        + intro
        + "\n## Getting started\n"
        + quick
        + "\n## Command line\n"
        + s["Command line"]
        + "\nMore: [case files](case-file/index.md), [running and outputs](running.md), "
        "[physics](physics/index.md), [materials](materials.md), [cases](cases/index.md), "
        "[troubleshooting](troubleshooting.md).\n",
        0,
    )


def _running() -> str:
    s = _readme_sections()
    body = "# Running, outputs and clusters\n\n"
    for title in RUNNING:
        body += f"## {title}\n{s[title]}\n"
    return _fix_links(body, 0)


# --- case-file blocks from the JSON Schema ---------------------------------------------------


def _case_file_pages() -> dict[str, str]:
    from sse_fem.config.json_schema import case_schema

    schema = case_schema()
    defs = schema["$defs"]
    pages = {}
    index = [
        "# Case files",
        "",
        _readme_sections()["Case files"].split("\n\n", 2)[1],
        "",
        "One page per block, every key generated from the models (`sse-fem schema`):",
        "",
    ]
    for block, prop in schema["properties"].items():
        index.append(f"- [`{block}`]({block}.md): {prop.get('description', '')}")
        lines = [f"# `{block}`", "", prop.get("description", ""), ""]
        seen: set[str] = set()
        lines += _model_tables(prop, defs, block, seen)
        pages[f"case-file/{block}.md"] = "\n".join(lines) + "\n"
    pages["case-file/index.md"] = "\n".join(index) + "\n"
    return pages


def _refs(prop: dict) -> list[str]:
    """The model names a property refers to (directly, in lists, unions, dicts)."""
    text = json.dumps(prop)
    return list(dict.fromkeys(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text)))


def _model_tables(prop: dict, defs: dict, path: str, seen: set[str]) -> list[str]:
    lines: list[str] = []
    for name in _refs(prop):
        if name in seen:
            continue
        seen.add(name)
        model = defs[name]
        lines += [f"## {name}", "", f"At `{path}`. {model.get('description', '')}".strip(), ""]
        props = model.get("properties", {})
        if props:
            lines += ["| key | type | default | description |", "|---|---|---|---|"]
            required = set(model.get("required", []))
            for key, p in props.items():
                default = "required" if key in required else _short(p.get("default", ""))
                lines.append(
                    f"| `{key}` | {_type(p)} | {default} | {_cell(p.get('description', ''))} |"
                )
            lines.append("")
        for key, p in props.items():
            lines += _model_tables(p, defs, f"{path}.{key}", seen)
    return lines


def _type(p: dict) -> str:
    if "const" in p:
        return f"`{p['const']}`"
    if "enum" in p:
        return " \\| ".join(f"`{v}`" for v in p["enum"])
    for key in ("anyOf", "oneOf"):
        if key in p:
            return " or ".join(_type(q) for q in p[key])
    if "$ref" in p:
        return p["$ref"].split("/")[-1]
    if p.get("type") == "array":
        return f"list of {_type(p.get('items', {}))}"
    if p.get("type") == "object":
        return "mapping"
    return str(p.get("type", "any"))


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return _cell(text if len(text) < 40 else text[:37] + "...")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- materials ------------------------------------------------------------------------------


def _materials() -> str:
    from sse_fem.materials import list_materials

    lines = [
        "# Material library",
        "",
        "Every value with its unit, source and flag (`paper`: printed in the cited source; "
        "`derived`: computed, see the note; `typical`: a common literature value). "
        "`sse-fem materials NAME` prints the same.",
        "",
    ]
    for mat in list_materials():
        lines += [f"## {mat.name}", "", f"{mat.full_name} ({mat.formula}), {mat.category}.", ""]
        lines += ["| property | value | unit | source | flag |", "|---|---|---|---|---|"]
        for p in mat.properties.values():
            lines.append(f"| {p.name} | {p.value:.6g} | {p.unit} | {p.source} | {p.flag} |")
        for name in mat.curves:
            lines.append(f"| {name} | curve of x | | | |")
        lines.append("")
        if mat.references:
            lines += [f"- **{k}**: {_cell(v)}" for k, v in mat.references.items()]
            lines.append("")
    return "\n".join(lines) + "\n"


# --- physics --------------------------------------------------------------------------------


def _physics_pages() -> dict[str, str]:
    pages = {}
    index = [
        "# Physics",
        "",
        "The equations each module implements and the tests that verify them:",
        "",
    ]
    for name in PHYSICS:
        module = importlib.import_module(f"sse_fem.physics.{name}.module")
        doc = module.__doc__ or ""
        title = doc.strip().splitlines()[0] if doc.strip() else name
        index.append(f"- [{name}]({name}.md): {title}")
        lines = [f"# {name}", "", "```text", doc.strip(), "```", "", "## Verification tests", ""]
        for path in sorted((ROOT / "tests" / "physics").glob(f"test_*{name.split('_')[0]}*.py")):
            lines += _tests_of(path)
        pages[f"physics/{name}.md"] = "\n".join(lines) + "\n"
    pages["physics/index.md"] = "\n".join(index) + "\n"
    return pages


def _tests_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    lines = [f"### `tests/physics/{path.name}`", ""]
    module_doc = ast.get_docstring(tree)
    if module_doc:
        lines += [module_doc, ""]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node) or ""
            lines.append(f"- `{node.name}`" + (f": {' '.join(doc.split())}" if doc else ""))
    return lines + [""]


# --- cases ----------------------------------------------------------------------------------


def _case_pages() -> dict[str, str]:
    pages = {}
    index = [
        "# Shipped cases",
        "",
        "Each case folder of `cases/` with its README and case file:",
        "",
    ]
    for folder in sorted(p for p in (ROOT / "cases").iterdir() if (p / "case.yaml").exists()):
        readme = folder / "README.md"
        text = readme.read_text() if readme.exists() else f"# {folder.name}\n"
        text = text.replace("](../../docs/images/", "](../images/")
        text = _fix_links(text, 1)
        picture = ROOT / "docs" / "images" / "cases" / f"{folder.name}.png"
        if picture.exists():
            title, _, rest = text.partition("\n")
            text = (
                f"{title}\n\n![{folder.name}](../images/cases/{folder.name}.png)\n\n"
                f"*{CASE_PICTURES.get(folder.name, '')} of the case at its regression size "
                f"(`sse-fem gold`; the README's numbers are from the full case).*\n{rest}"
            )
        text += f"\n## `case.yaml`\n\n```yaml\n{(folder / 'case.yaml').read_text()}```\n"
        pages[f"cases/{folder.name}.md"] = text
        first = next((ln for ln in text.splitlines() if ln.startswith("# ")), folder.name)
        index.append(f"- [{folder.name}]({folder.name}.md): {first.lstrip('# ')}")
    pages["cases/index.md"] = "\n".join(index) + "\n"
    return pages
