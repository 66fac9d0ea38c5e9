"""The container recipes: hadolint passes on the Dockerfile, every file either recipe copies
exists, and both install exactly what the README's quick start installs, on the same base
image with the same system packages. (No container engine here: the images are not built.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
APPTAINER = (ROOT / "docker" / "apptainer.def").read_text()
README = (ROOT / "README.md").read_text()
PIP = re.compile(r'pip install -q -e "\.\[[a-z,]+\]"')
APT = re.compile(r"apt-get install -y --no-install-recommends ([^&\n]+)")


def hadolint() -> str | None:
    here = Path(sys.executable).with_name("hadolint")
    return str(here) if here.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint not installed (the test extra has it)")
def test_hadolint_passes():
    proc = subprocess.run(
        [hadolint(), "--failure-threshold", "info", "--no-color", "docker/Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_copied_files_exist():
    sources = [
        word
        for line in DOCKERFILE.splitlines()
        if line.startswith("COPY")
        for word in line.split()[1:-1]
        if not word.startswith("--")
    ]
    files = APPTAINER.split("%files")[1].split("%")[0]
    sources += [line.split()[0] for line in files.splitlines() if line.strip()]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source


def readme_install() -> str:
    """The install step of the README's quick start (a)."""
    block = README.split("(a) Set up and run the flagship case")[1].split("```")[1]
    (step,) = PIP.findall(block)
    return step


def test_install_steps_equal_the_readme():
    step = readme_install()
    assert PIP.findall(DOCKERFILE) == [step]
    assert PIP.findall(APPTAINER) == [step]


def test_same_base_and_system_packages():
    (docker_base,) = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    (apptainer_base,) = re.findall(r"^From: (\S+)", APPTAINER, re.M)
    assert docker_base == apptainer_base
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", docker_base), "pin an exact tag"

    def packages(text: str) -> list[str]:
        joined = re.sub(r"\\\n\s*", " ", text)  # continued lines as one
        (found,) = APT.findall(joined)
        return sorted(found.split())

    assert packages(DOCKERFILE) == packages(APPTAINER)


def test_version_is_one():
    """pyproject.toml, the package and ``sse-fem --version`` agree."""
    import tomllib

    from sse_fem import __version__
    from sse_fem.cli import main

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == project
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert f"## [Unreleased] — {project}" in (ROOT / "CHANGELOG.md").read_text()
