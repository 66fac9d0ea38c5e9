"""The documentation site: `mkdocs build --strict` passes, and the pages generated from the
code cover every case-file key (documented), every physics, material and shipped case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sse_fem.config.json_schema import case_schema

ROOT = Path(__file__).resolve().parents[1]


def test_every_case_file_key_is_documented():
    """A key without a `#:` comment above its field (sse_fem/config) fails here."""
    schema = case_schema()
    missing = [
        f"{model}.{key}"
        for model, definition in [("Case", schema), *schema["$defs"].items()]
        for key, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == [], f"document these keys with a `#:` comment above the field: {missing}"


def test_the_site_builds_strictly_with_every_generated_page(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for block in case_schema()["properties"]:
        assert (site / "case-file" / block / "index.html").exists(), block
    for physics in ("conduction", "heat", "mechanics", "nernst_planck", "solid_diffusion"):
        page = (site / "physics" / physics / "index.html").read_text()
        assert "Verification tests" in page and "test_" in page, physics
    for folder in (ROOT / "cases").iterdir():
        if (folder / "case.yaml").exists():  # each case page shows its picture
            page = (site / "cases" / folder.name / "index.html").read_text()
            assert f"images/cases/{folder.name}.png" in page, folder.name
            assert (site / "images" / "cases" / f"{folder.name}.png").exists(), folder.name
    materials = (site / "materials" / "index.html").read_text()
    assert "LLZO_Ta" in materials and "Li6PS5Cl" in materials
    index = (site / "index.html").read_text()
    assert "pip install -q -e" in index  # the two commands of the README
