"""Output directory: checks, lock, timeseries.csv append/resume, XDMF fields (exact DG1)."""

from __future__ import annotations

import csv
import logging
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
from dolfinx import fem, mesh

from sse_fem.cli import main
from sse_fem.errors import CaseError
from sse_fem.io.results import LOCK_NAME, ResultsWriter, XDMFGroup
from sse_fem.logs import get_logger

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "cases" / "symmetric_cell" / "case.yaml"
serial = pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="serial file-system checks")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@serial
def test_output_directory_that_is_a_file_or_under_one(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(CaseError, match=r"^output directory: .*afile is a file"):
        ResultsWriter(afile, MPI.COMM_WORLD)
    with pytest.raises(CaseError, match=r"afile/sub is under .*afile, which is a file"):
        ResultsWriter(afile / "sub", MPI.COMM_WORLD)


@serial
def test_unwritable_output_directory(unwritable_dir):
    with pytest.raises(CaseError, match=r"^output directory: cannot create"):
        ResultsWriter(unwritable_dir, MPI.COMM_WORLD)


@serial
def test_cli_output_to_a_file_is_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["run", str(CASE), "-o", str(afile)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: output directory:") and "\n" not in err


@serial
def test_lock_blocks_a_second_writer_until_closed(tmp_path):
    first = ResultsWriter(tmp_path, MPI.COMM_WORLD)
    holder = (tmp_path / LOCK_NAME).read_text().split()
    assert holder[:2] == [socket.gethostname(), str(os.getpid())]
    with pytest.raises(CaseError, match=rf"in use by another run \(host \S+, pid {os.getpid()}"):
        ResultsWriter(tmp_path, MPI.COMM_WORLD)
    first.close()
    assert not (tmp_path / LOCK_NAME).exists()
    first.close()  # idempotent
    ResultsWriter(tmp_path, MPI.COMM_WORLD).close()


@serial
def test_lock_is_released_when_a_run_fails(tmp_path):
    with pytest.raises(RuntimeError), ResultsWriter(tmp_path, MPI.COMM_WORLD):
        assert (tmp_path / LOCK_NAME).exists()
        raise RuntimeError("solver blew up")
    assert not (tmp_path / LOCK_NAME).exists()


@serial
def test_stale_lock_is_taken_over_with_a_warning(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / LOCK_NAME).write_text(f"{socket.gethostname()} {gone.pid} 2000-01-01T00:00:00\n")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    get_logger().addHandler(handler)
    try:
        writer = ResultsWriter(tmp_path, MPI.COMM_WORLD)
    finally:
        get_logger().removeHandler(handler)
    assert (tmp_path / LOCK_NAME).read_text().split()[1] == str(os.getpid())
    assert any("taking over" in r.getMessage() and str(gone.pid) in r.getMessage() for r in records)
    writer.close()


@serial
def test_lock_of_another_host_is_respected(tmp_path):
    (tmp_path / LOCK_NAME).write_text("elsewhere.example 1 2000-01-01T00:00:00\n")
    with pytest.raises(CaseError, match=r"host elsewhere.example, pid 1.*delete .*\.lock"):
        ResultsWriter(tmp_path, MPI.COMM_WORLD)
    assert (tmp_path / LOCK_NAME).exists()


@serial
def test_timeseries_is_appended_and_flushed_per_row(tmp_path):
    with ResultsWriter(tmp_path, MPI.COMM_WORLD) as w:
        for k in range(3):
            w.add_row({"time_s": float(k), "voltage_V": 0.1 * k})
            assert len(read_csv(tmp_path / "timeseries.csv")) == k + 1  # on disk at once
        # rows already written are not rewritten: a change in memory does not reach the file
        w.rows[0]["voltage_V"] = 99.0
        w.add_row({"time_s": 3.0, "voltage_V": 0.3})
        rows = read_csv(tmp_path / "timeseries.csv")
        assert [r["voltage_V"] for r in rows] == ["0.0", "0.1", "0.2", "0.3"]
        # a new column rewrites the file once, with the column empty in earlier rows
        w.add_row({"time_s": 4.0, "voltage_V": 0.4, "temperature_K": 300.0})
        rows = read_csv(tmp_path / "timeseries.csv")
        assert list(rows[0]) == ["time_s", "voltage_V", "temperature_K"]
        assert [r["temperature_K"] for r in rows] == ["", "", "", "", "300.0"]


@serial
def test_resume_keeps_rows_up_to_the_checkpoint_then_appends(tmp_path):
    with ResultsWriter(tmp_path, MPI.COMM_WORLD) as w:
        for k in range(5):
            w.add_row({"time_s": 0.1 * k, "newton_iterations": 3, "voltage_V": 1.0 + k})
    with ResultsWriter(tmp_path, MPI.COMM_WORLD) as w:
        w.resume(0.2)
        assert [r["time_s"] for r in w.rows] == [0.0, 0.1, 0.2]
        assert w.rows[1] == {"time_s": 0.1, "newton_iterations": 3, "voltage_V": 2.0}
        assert len(read_csv(tmp_path / "timeseries.csv")) == 3
        w.add_row({"time_s": 0.25, "newton_iterations": 2, "voltage_V": 2.5})
    rows = read_csv(tmp_path / "timeseries.csv")
    assert [r["time_s"] for r in rows] == ["0.0", "0.1", "0.2", "0.25"]
    assert rows[0]["newton_iterations"] == "3"


@serial
def test_resume_without_a_timeseries_starts_empty(tmp_path):
    with ResultsWriter(tmp_path, MPI.COMM_WORLD) as w:
        w.resume(1.0)
        assert w.rows == []
        w.add_row({"time_s": 1.5})
    assert read_csv(tmp_path / "timeseries.csv") == [{"time_s": "1.5"}]


@serial
def test_unknown_field_format_is_a_case_error(tmp_path):
    with pytest.raises(CaseError, match="^outputs.field_format: 'vtk' is not a field format"):
        ResultsWriter(tmp_path, MPI.COMM_WORLD, "vtk")


@pytest.mark.mpi
@pytest.mark.parametrize(
    "cell", [mesh.CellType.triangle, mesh.CellType.quadrilateral, mesh.CellType.tetrahedron]
)
def test_xdmf_keeps_dg1_fields_exact_with_their_jumps(cell, shared_tmp):
    """A DG1 field with a jump at x = 1/2, a P1 field and a DG0 vector field are written on
    a mesh whose cells share no vertices: the nodal values are the exact ones, on both sides."""
    comm = MPI.COMM_WORLD
    if cell == mesh.CellType.tetrahedron:
        msh = mesh.create_unit_cube(comm, 4, 3, 2, cell)
    else:
        msh = mesh.create_unit_square(comm, 6, 4, cell)
    tdim, gdim = msh.topology.dim, msh.geometry.dim

    def f(x: np.ndarray) -> np.ndarray:
        return 1.0 + x[0] + 2 * x[1]

    imap = msh.topology.index_map(tdim)
    cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
    right = mesh.compute_midpoints(msh, tdim, cells)[:, 0] > 0.5
    phi = fem.Function(fem.functionspace(msh, ("DG", 1)), name="phi")
    phi.interpolate(f, cells0=cells[~right])
    phi.interpolate(lambda x: f(x) + 10.0, cells0=cells[right])
    p1 = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name="p1")
    p1.interpolate(f)
    q = fem.Function(fem.functionspace(msh, ("DG", 0, (gdim,))), name="q")
    q.interpolate(lambda x: x[:gdim] * np.arange(1, gdim + 1)[:, None])

    group = XDMFGroup(shared_tmp / "fields.xdmf", [phi, p1, q])
    for t in (0.0, 1.0):
        group.write(t)
    group.close()

    broken = group.mesh
    nb = broken.topology.index_map(tdim).size_local
    assert comm.allreduce(nb) == imap.size_global
    mid = mesh.compute_midpoints(broken, tdim, np.arange(nb, dtype=np.int32))
    (_, _, phi_b, *_), (_, _, p1_b, *_), (_, _, q_b, *_) = group.copies
    x = phi_b.function_space.tabulate_dof_coordinates()
    dofs = phi_b.function_space.dofmap.list
    jump = np.where(mid[:, 0] > 0.5, 10.0, 0.0)[:, None]
    np.testing.assert_allclose(phi_b.x.array[dofs], f(x[dofs].T).T + jump, atol=1e-12)
    np.testing.assert_allclose(p1_b.x.array[dofs], f(x[dofs].T).T, atol=1e-12)
    qv = q_b.x.array.reshape(-1, gdim)[q_b.function_space.dofmap.list[:, 0]]
    np.testing.assert_allclose(qv, mid[:, :gdim] * np.arange(1, gdim + 1), atol=1e-12)

    if comm.rank == 0:  # one grid collection per function, two time steps, nodes per cell
        domain = ET.parse(shared_tmp / "fields.xdmf").getroot().find("Domain")
        grids = {g.get("Name"): g for g in domain.findall("Grid")}
        assert set(grids) == {"mesh", "phi", "p1", "q"}
        nodes = imap.size_global * (4 if cell != mesh.CellType.triangle else 3)
        geometry = grids["mesh"].find("Geometry/DataItem").get("Dimensions").split()
        assert int(geometry[0]) == nodes
        assert len(grids["phi"].findall("Grid")) == 2
        assert grids["q"].find("Grid/Attribute").get("Center") == "Cell"


@serial
def test_run_writes_xdmf_fields(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", str(CASE), 'geometry.mesh.size="20 um"', "outputs.plots=false"]
    assert main([*args, "outputs.field_format=xdmf", "-o", str(out)]) == 0, capsys.readouterr()
    for group in ("potentials", "currents"):
        assert (out / f"{group}.xdmf").is_file() and (out / f"{group}.h5").is_file()
    names = {g.get("Name") for g in ET.parse(out / "potentials.xdmf").getroot().find("Domain")}
    assert {"phi_ionic", "phi_electronic"} <= names
    assert not (out / ".lock").exists()
