"""Under ``mpirun -n 2`` every error on any rank ends every rank promptly with one line.

Each test spawns ``mpirun -n 2`` itself from a serial pytest (with a timeout, so that a hang is
a failure) and checks that both ranks really ran. Not in the ``-m mpi`` group: they cannot run
inside an MPI job.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from mpi4py import MPI

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "cases" / "symmetric_cell" / "case.yaml"
BIN = Path(sys.executable).parent
MPIRUN = BIN / "mpirun"
TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(
    MPI.COMM_WORLD.size > 1 or not MPIRUN.is_file(),
    reason="spawns `mpirun -n 2` (the venv's) from a serial pytest",
)


def mpirun(*args: str | Path) -> subprocess.CompletedProcess:
    """``mpirun -n 2 args``; a hang fails the test after TIMEOUT_S (every rank ended)."""
    cmd = [str(MPIRUN), "-n", "2", *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.terminate()  # mpirun passes SIGTERM on to the ranks (SIGKILL leaves them behind)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"hung, ended after {TIMEOUT_S} s: {' '.join(cmd)}\n{out}{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The only ``error:`` line on stderr; no traceback, no MPI abort banner."""
    text = proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    assert "Traceback" not in text and "Abort(" not in text, text
    return errors[0]


def sse_fem_run(*args: str | Path) -> subprocess.CompletedProcess:
    return mpirun(BIN / "sse-fem", "run", CASE, "outputs.plots=false", *args)


def test_gmsh_failure_on_rank_0_ends_both_ranks(tmp_path):
    """gmsh runs on rank 0 only: its failure (a layer too thin for OpenCASCADE) used to leave
    rank 1 waiting in the mesh distribution forever."""
    out = tmp_path / "out"
    proc = sse_fem_run('geometry.layers.anode.thickness="1e-7 um"', "-o", out)
    assert proc.returncode == 2, proc.stderr
    assert one_error_line(proc).startswith("error: geometry: gmsh could not mesh this geometry:")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ranks"] == 2
    assert summary["status"] == "failed"
    assert not (out / ".lock").exists()


def test_unwritable_output_directory_ends_both_ranks(unwritable_dir):
    out = unwritable_dir
    proc = sse_fem_run("-o", out)
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert line.startswith(f"error: output directory: cannot create {out}")


@pytest.mark.parametrize("under", [False, True])
def test_output_path_that_is_a_file_ends_both_ranks(tmp_path, under):
    afile = tmp_path / "afile"
    afile.write_text("")
    out = afile / "sub" if under else afile
    proc = sse_fem_run("-o", out)
    assert proc.returncode == 2, proc.stderr
    assert "is a file" in one_error_line(proc)


def test_error_on_every_rank_is_printed_once():
    """A bad case fails on both ranks: one line (rank 0's), status 2."""
    proc = mpirun(BIN / "sse-fem", "validate", CASE, 'geometry.mesh.size="-1 um"')
    assert proc.returncode == 2, proc.stderr
    assert one_error_line(proc).startswith("error: geometry.mesh.size:")


PROTOCOL_SCRIPT = """
import sys

from mpi4py import MPI

from sse_fem import parallel
from sse_fem.errors import CaseError

comm = MPI.COMM_WORLD
if comm.size != 2:
    sys.exit(17)
parallel.init()


def work():
    if comm.rank in {failing}:
        {raise_}
    comm.barrier()  # the other rank waits in a collective for ever
    return 0


sys.exit(parallel.run_guarded(work))
"""


@pytest.mark.parametrize(
    ("failing", "raise_", "status", "start"),
    [
        ((0,), 'raise CaseError("bad on rank 0 only", "x.y")', 2, "error: x.y: bad on rank 0"),
        ((1,), 'raise CaseError("bad on rank 1 only")', 2, "error: bad on rank 1 only"),
        ((1,), 'raise KeyError("boom")', 4, "error: internal error: KeyError: 'boom'"),
        ((0, 1), 'raise CaseError("bad everywhere")', 2, "error: bad everywhere"),
    ],
)
def test_error_protocol(tmp_path, failing, raise_, status, start):
    """``run_guarded``: a rank-local error aborts the rank waiting in a collective with the
    error's status; an error on every rank returns it normally; one line either way."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(PROTOCOL_SCRIPT).format(failing=set(failing), raise_=raise_))
    proc = mpirun(sys.executable, script)
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert one_error_line(proc).startswith(start)


@pytest.mark.parametrize("verbose", [False, True])
def test_internal_error_is_one_line_with_its_traceback_in_the_log(verbose, monkeypatch, capsys):
    """An unexpected exception: one line and status 4; the traceback only with -v."""
    from sse_fem import cli

    def broken(args):
        raise ZeroDivisionError("division by zero\nin a second line")

    monkeypatch.setitem(cli.COMMANDS, "info", broken)
    assert cli.main(["-v", "info"] if verbose else ["info"]) == 4
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: internal error: ZeroDivisionError: division by zero in a ")
    assert ("Traceback" in err) == verbose
    assert last.endswith("(traceback above)" if verbose else "(run with -v for the traceback)")


def test_internal_error_traceback_goes_to_the_run_log(tmp_path, monkeypatch, capsys):
    import logging

    from sse_fem import cli
    from sse_fem.logs import get_logger

    log_file = tmp_path / "run.log"

    def broken(args):
        handler = logging.FileHandler(log_file)  # as the driver attaches run.log
        get_logger().addHandler(handler)
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(cli.COMMANDS, "info", broken)
    try:
        assert cli.main(["info"]) == 4
    finally:
        for h in get_logger().handlers[:]:
            h.close()
            get_logger().removeHandler(h)
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: internal error: ZeroDivisionError: division by zero (traceback in {log_file})"
    )
    assert "Traceback" in log_file.read_text() and "ZeroDivisionError" in log_file.read_text()
