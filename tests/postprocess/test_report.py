"""report.html: one self-contained page per run, checked as data and in a real headless browser."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from sse_fem.cli import main
from sse_fem.postprocess.report import write_report
from tests.conftest import CASES

SYMMETRIC = str(CASES / "symmetric_cell" / "case.yaml")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
#: where the browser test leaves its screenshot (CI keeps it beside the log)
ARTIFACTS = Path(os.environ.get("SSE_FEM_TEST_ARTIFACTS", "test-artifacts"))


def _run(tmp_path: Path, *overrides: str) -> Path:
    out = tmp_path / "run"
    args = ["run", SYMMETRIC, "-o", str(out), "-q", "geometry.mesh.size=10 um", *overrides]
    assert main(args) == 0
    return out


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_every_run_writes_a_self_contained_report(tmp_path):
    out = _run(tmp_path, "materials.llzo.ionic_conductivity=0.2 S/m")
    page = (out / "report.html").read_text()
    summary = json.loads((out / "summary.json").read_text())
    # every picture of the run is in the page, byte for byte, and nothing is fetched
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 4
    assert sorted(_images(page)) == sorted(p.read_bytes() for p in pngs)
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    volts = summary["results"]["conduction.voltage_V"]
    assert f'<td>cell voltage</td><td class="num">{volts * 1e3:.6g}</td>' in page
    # the override beside the library's value and its source
    row = re.search(r"<td>llzo</td><td>LLZO_Ta</td><td>ionic_conductivity</td>(.*?)</tr>", page)
    assert row is not None and "0.2 S/m" in row.group(1) and "Huang2024" in row.group(1)
    assert '<span class="pass">pass</span>' in page  # the conservation check
    for section in ("Headline figures", "Interfaces", "Fields", "Versions and provenance"):
        assert f"<h2>{section}</h2>" in page
    assert (
        summary["provenance"]["git_commit"] in page or summary["provenance"]["git_commit"] is None
    )


def test_report_is_skipped_on_request_and_rebuilt_by_the_command(tmp_path):
    out = _run(tmp_path, "outputs.report=false", "outputs.plots=false")
    assert not (out / "report.html").exists()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").exists()


def test_report_escapes_text_and_flags_a_missed_balance(tmp_path):
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "case": "x",
                "status": "failed",
                "reason": "<b>diverged</b>",
                "conservation": {"heat": {"balance_error": 0.5, "tolerance": 1e-6}},
            }
        )
    )
    (tmp_path / "case.resolved.yaml").write_text("case: {name: x, description: '<script>'}\n")
    page = write_report(tmp_path).read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;diverged&lt;/b&gt;" in page
    assert '<span class="miss">MISS</span>' in page and 'class="status failed"' in page


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian chromium and chromium-driver are not installed "
    "(tests/system-packages.sh installs them where apt-get may run)",
)
def test_report_renders_in_headless_chromium(tmp_path, record_property):
    webdriver = pytest.importorskip("selenium.webdriver")
    out = _run(tmp_path)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1200,1600",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.get((out / "report.html").as_uri())
        assert driver.title == "symmetric_cell: sse-fem report"
        broken = driver.execute_script(
            "return Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt);"
        )
        count = driver.execute_script("return document.images.length;")
        assert count == len(list(out.glob("*.png"))) and broken == []
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        height = driver.execute_script("return document.body.scrollHeight;")
        driver.set_window_size(1200, min(int(height) + 100, 8000))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "report_symmetric_cell.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert shot.stat().st_size > 10_000
    record_property("screenshot", str(shot.resolve()))
    print(f"screenshot of the report: {shot.resolve()}")
