"""Run outputs: timeseries.csv, summary.json, case.resolved.yaml, fields (VTX/XDMF), plots.

Rank 0 writes the text files; field writers are collective. The output directory is checked
and locked collectively when a ``ResultsWriter`` opens it: a file in its place, a directory
that cannot be written, or one in use by another run is a one-line error on every rank.
"""

from __future__ import annotations

import csv
import json
import math
import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mpi4py import MPI

import numpy as np
import yaml
from dolfinx import fem, io

from sse_fem import parallel
from sse_fem.errors import CaseError
from sse_fem.io import lockfile
from sse_fem.logs import get_logger

FIELD_FORMATS = ("vtx", "xdmf")
LOCK_NAME = ".lock"
TIMESERIES = "timeseries.csv"


class OutputLock:
    """``OUT/.lock`` (host, pid, start time), created atomically by one process (rank 0)."""

    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self.token = token

    @classmethod
    def acquire(cls, outdir: Path) -> OutputLock:
        """Lock ``outdir``; a stale lock (its process gone, same host) is taken over.

        Raises ``CaseError`` naming the holder when another run holds it, ``OSError`` when the
        directory cannot be written.
        """
        path = outdir / LOCK_NAME
        token = lockfile.token()
        for _ in range(3):
            if lockfile.create(path, token):
                return cls(path, token)
            holder = lockfile.read(path)
            if not lockfile.is_stale(holder):
                raise CaseError(
                    f"{outdir} is in use by another run ({lockfile.describe(holder)}); wait "
                    f"for it to end or give another with -o (if that run is gone, delete "
                    f"{path})",
                    "output directory",
                ) from None
            get_logger().warning(
                "output directory %s: taking over the lock of a run that is gone (%s)",
                outdir,
                lockfile.describe(holder),
            )
            lockfile.remove_if(path, holder)
        raise CaseError(f"cannot lock {outdir}: {path} keeps changing", "output directory")

    def release(self) -> None:
        """Remove the lock file if it is still this one."""
        lockfile.remove_if(self.path, self.token)


def prepare_output_directory(
    outdir: Path, comm: MPI.Comm = MPI.COMM_WORLD, lock: bool = False
) -> OutputLock | None:
    """Create ``outdir`` and check it can be written (collective; rank 0 tries).

    With ``lock``, also lock it for this run (the lock is returned on rank 0). Every rank
    raises the same ``CaseError`` when the directory is unusable.
    """
    outdir = Path(outdir)
    result: OutputLock | None = None
    problem: str | None = None
    if comm.rank == 0:
        with parallel.collective(rank_local=True):  # the others wait in the broadcast
            try:
                problem = _unusable(outdir)
                if problem is None and lock:
                    result = OutputLock.acquire(outdir)
                elif problem is None:
                    probe = outdir / f".probe-{os.getpid()}"
                    probe.touch()
                    probe.unlink()
            except CaseError as err:
                problem = str(err)
            except OSError as err:
                problem = _output_error(outdir, f"cannot write in {outdir}: {err.strerror or err}")
    problem = comm.bcast(problem, root=0)
    if problem is not None:
        raise CaseError(problem)
    return result


class ResultsWriter:
    """Owns the output directory of one run (collective constructor and ``close``).

    Text files are written by rank 0: ``timeseries.csv`` grows by one flushed line per
    ``add_row`` (rewritten only when a new column appears). Fields go to ``<group>.bp``
    (VTX) or ``<group>.xdmf`` (XDMF, see ``XDMFGroup``). Usable as a context manager.
    """

    def __init__(self, outdir: Path, comm: MPI.Comm, fmt: str = "vtx") -> None:
        if fmt not in FIELD_FORMATS:
            raise CaseError(
                f"{fmt!r} is not a field format; use one of {FIELD_FORMATS}",
                "outputs.field_format",
            )
        self.outdir = Path(outdir)
        self.comm = comm
        self.fmt = fmt
        self.rows: list[dict[str, float]] = []
        self._columns: list[str] = []
        self._csv: Any = None  # rank 0: timeseries.csv open for appending
        self._writers: dict[str, Any] = {}
        lock = prepare_output_directory(self.outdir, comm, lock=True)
        self._unlock = weakref.finalize(self, lock.release) if lock is not None else None
        if fmt == "xdmf":
            get_logger().info(
                "XDMF fields: on a copy of the mesh whose cells share no vertices, so that "
                "fields discontinuous at interfaces are exact (VTX is more compact)"
            )

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_resolved_case(self, data: dict) -> None:
        """``case.resolved.yaml`` (rank 0)."""
        if self.comm.rank == 0:
            path = self.outdir / "case.resolved.yaml"
            with _writing(path):
                path.write_text(yaml.safe_dump(data, sort_keys=False))

    def add_row(self, row: dict[str, float]) -> None:
        """Append a time-series row to ``rows`` and, flushed, to timeseries.csv (rank 0)."""
        self.rows.append(row)
        if self.comm.rank != 0:
            return
        path = self.outdir / TIMESERIES
        with _writing(path):
            new = [k for k in row if k not in self._columns]
            if new or self._csv is None:
                self._columns += new
                self._rewrite()
            else:
                csv.writer(self._csv).writerow([row.get(k, "") for k in self._columns])
                self._csv.flush()

    def resume(self, t_last: float) -> None:
        """Restart at ``t_last`` [s]: keep the rows of timeseries.csv up to it (collective).

        The file is rewritten with them, ``rows`` set (on every rank) and ``add_row`` appends.
        """
        rows: list[dict[str, Any]] = []
        columns: list[str] = []
        path = self.outdir / TIMESERIES
        if self.comm.rank == 0 and path.is_file():
            with _writing(path), open(path, newline="") as fh:
                reader = csv.DictReader(fh)
                columns = list(reader.fieldnames or [])
                rows = [
                    {k: _number(v) for k, v in r.items() if v not in ("", None)} for r in reader
                ]
            rows = [r for r in rows if r.get("time_s", math.inf) <= t_last * (1 + 1e-12)]
        self.rows, self._columns = self.comm.bcast((rows, columns), root=0)
        if self.comm.rank == 0:
            with _writing(path):
                self._rewrite()

    def write_fields(self, groups: dict[str, list], t: float) -> None:
        """Write each group of same-element functions on one mesh at time ``t`` [s] (collective).

        VTX: ``<group>.bp``; XDMF: ``<group>.xdmf`` (see ``XDMFGroup``). The files are
        written anew by every run (a restart replays the earlier steps first).
        """
        for name, funcs in groups.items():
            if not funcs:
                continue
            with parallel.collective():
                if name not in self._writers:
                    if self.fmt == "vtx":
                        self._writers[name] = io.VTXWriter(
                            self.comm,
                            self.outdir / f"{name}.bp",
                            funcs,
                            engine="BP4",
                        )
                    else:
                        self._writers[name] = XDMFGroup(self.outdir / f"{name}.xdmf", funcs)
                self._writers[name].write(t)

    def close(self) -> None:
        """Close the field writers and timeseries.csv and release the lock (collective).

        Idempotent; ``write_summary`` and ``write_table`` still work afterwards.
        """
        try:
            with parallel.collective():
                for w in self._writers.values():
                    w.close()
        finally:
            self._writers.clear()
            if self._csv is not None:
                self._csv.close()
                self._csv = None
            if self._unlock is not None:
                self._unlock()

    def write_summary(self, summary: dict) -> None:
        """``summary.json`` (rank 0; NaN/inf as null)."""
        if self.comm.rank == 0:
            path = self.outdir / "summary.json"
            with _writing(path):
                path.write_text(json.dumps(_clean(summary), indent=2, sort_keys=False))

    def write_table(self, name: str, columns: dict[str, Any]) -> None:
        """CSV of equally long columns (rank 0)."""
        if self.comm.rank != 0:
            return
        keys = list(columns)
        n = len(columns[keys[0]]) if keys else 0
        path = self.outdir / name
        with _writing(path), open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(keys)
            for k in range(n):
                w.writerow([columns[c][k] for c in keys])

    def _rewrite(self) -> None:
        """timeseries.csv from ``rows`` in full, left open for appending (rank 0)."""
        if self._csv is not None:
            self._csv.close()
        self._csv = open(self.outdir / TIMESERIES, "w", newline="")
        w = csv.writer(self._csv)
        if self._columns:
            w.writerow(self._columns)
        for r in self.rows:
            w.writerow([r.get(k, "") for k in self._columns])
        self._csv.flush()


class XDMFGroup:
    """Functions of one mesh in ``<group>.xdmf`` (+ ``.h5``), written exactly (collective).

    XDMF holds only P1 and cell-wise (DG0) data on a P1 mesh, while the potentials are DG1:
    continuous inside a region, discontinuous at interfaces. So the file's mesh is a copy of
    the mesh whose cells share no vertices (each cell its own copy of its vertices; owned
    cells, no ghosts), on which a DG1 field is an ordinary P1 field with the same nodal values:
    the jumps at interfaces are kept and nothing is averaged. DG0 fields are written as cell
    values; other fields are interpolated into DG1 first (exact for P1). ParaView shows it as
    usual; VTX (``field_format: vtx``) is the compact form.
    """

    def __init__(self, path: Path, funcs: list[fem.Function]) -> None:
        msh = funcs[0].function_space.mesh
        self.mesh, cells = broken_mesh(msh)
        nv = self.mesh.geometry.dofmaps[0].shape[1]
        self.copies: list[tuple[fem.Function, fem.Function, fem.Function, Any, Any]] = []
        for f in funcs:
            V = f.function_space
            shape = V.value_shape
            element = V.ufl_element()
            cellwise = element.discontinuous and V.dofmap.dof_layout.num_dofs == 1
            dg1 = element.discontinuous and element.embedded_superdegree == 1
            if cellwise or (dg1 and V.dofmap.dof_layout.num_dofs == nv):
                source = f
            else:
                source = fem.Function(fem.functionspace(msh, ("DG", 1, shape)))
            space = ("DG", 0, shape) if cellwise else ("P", 1, shape)
            target = fem.Function(fem.functionspace(self.mesh, space), name=f.name)
            src = _blocked(source.function_space, source.function_space.dofmap.list[cells])
            dst = _blocked(target.function_space, target.function_space.dofmap.list)
            self.copies.append((f, source, target, src, dst))
        self.file = io.XDMFFile(msh.comm, str(path), "w")
        self.file.write_mesh(self.mesh)

    def write(self, t: float) -> None:
        """Copy the current values and append them at time ``t`` [s]."""
        for f, source, target, src, dst in self.copies:
            if source is not f:
                source.interpolate(f)
            target.x.array[dst] = source.x.array[src]
            self.file.write_function(target, t)

    def close(self) -> None:
        """Close the file (collective)."""
        self.file.close()


def broken_mesh(msh: Any) -> tuple[Any, np.ndarray]:
    """A P1 copy of ``msh``'s owned cells that share no vertices, on the same ranks.

    Returns the mesh and, for each of its cells, the local index of the cell of ``msh``.
    """
    import basix
    import basix.ufl
    import ufl
    from dolfinx import graph, mesh

    comm = msh.comm
    tdim = msh.topology.dim
    ncell = msh.topology.index_map(tdim).size_local
    nv = basix.cell.geometry(basix.CellType[msh.topology.cell_name()]).shape[0]
    gdim = msh.geometry.dim
    x = msh.geometry.x[msh.geometry.dofmaps[0][:ncell, :nv]].reshape(-1, 3)[:, :gdim]
    offset = comm.exscan(ncell) or 0
    nodes = (offset * nv + np.arange(ncell * nv, dtype=np.int64)).reshape(ncell, nv)

    def keep_local(comm_: MPI.Comm, nparts: int, cell_types: Any, cells: Any) -> Any:
        n = sum(len(c) for c in cells) // nv
        return graph.adjacencylist(np.full(n, comm_.rank, dtype=np.int32))._cpp_object

    element = basix.ufl.element("Lagrange", msh.topology.cell_name(), 1, shape=(gdim,))
    broken = mesh.create_mesh(
        comm, nodes, ufl.Mesh(element), x, partitioner=keep_local if comm.size > 1 else None
    )
    return broken, (broken.topology.original_cell_index - offset).astype(np.int32)


def _blocked(V: Any, dofs: np.ndarray) -> np.ndarray:
    """Array indices of the (blocked) dofs, cell by cell."""
    bs = V.dofmap.bs
    return (dofs.reshape(-1, 1) * bs + np.arange(bs)).ravel()


VTK_FACETS = {1: "vertex", 2: "line", 3: "triangle", 4: "quad"}


def write_facet_field(path: Path, vertices: Any, cell_data: dict[str, Any]) -> None:
    """Facets (``vertices``: (n, nodes, 3) [m]) with per-facet data as a VTK unstructured
    grid for ParaView (one process: call with gathered arrays)."""
    import meshio

    n, nodes = vertices.shape[:2]
    connectivity = np.arange(n * nodes).reshape(n, nodes)
    if nodes == 4:  # dolfinx quadrilateral (tensor order) -> VTK (counter-clockwise)
        connectivity = connectivity[:, [0, 1, 3, 2]]
    meshio.write(
        path,
        meshio.Mesh(
            vertices.reshape(-1, 3),
            [(VTK_FACETS[nodes], connectivity)],
            cell_data={k: [np.asarray(v, dtype=float)] for k, v in cell_data.items()},
        ),
    )


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Rank 0's writes: an OSError is a one-line error that ends every rank (if armed)."""
    with parallel.collective(rank_local=True):
        try:
            yield
        except OSError as err:
            raise CaseError(f"cannot write {path}: {err.strerror or err}") from err


def _unusable(outdir: Path) -> str | None:
    """Why ``outdir`` cannot be an output directory (after trying to create it), or None."""
    for p in (outdir, *outdir.parents):
        if p.exists() and not p.is_dir():
            where = "is a file" if p == outdir else f"is under {p}, which is a file"
            return _output_error(outdir, f"{outdir} {where}")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return _output_error(outdir, f"cannot create {outdir}: {err.strerror or err}")
    return None


def _output_error(outdir: Path, reason: str) -> str:
    return str(CaseError(f"{reason}; give another with -o", "output directory"))


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf -> None, numpy scalars -> float."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
