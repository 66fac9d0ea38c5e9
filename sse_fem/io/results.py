"""Run outputs: timeseries.csv, summary.json, case.resolved.yaml, fields (VTX/XDMF), plots.

Rank 0 writes the text files; field writers are collective.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from mpi4py import MPI

import yaml
from dolfinx import io


class ResultsWriter:
    """Owns the output directory of one run."""

    def __init__(self, outdir: Path, comm: MPI.Comm, fmt: str = "vtx") -> None:
        self.outdir = Path(outdir)
        self.comm = comm
        self.fmt = fmt
        self.rows: list[dict[str, float]] = []
        self._writers: dict[str, Any] = {}
        if comm.rank == 0:
            self.outdir.mkdir(parents=True, exist_ok=True)
        comm.barrier()

    def write_resolved_case(self, data: dict) -> None:
        if self.comm.rank == 0:
            (self.outdir / "case.resolved.yaml").write_text(yaml.safe_dump(data, sort_keys=False))

    def add_row(self, row: dict[str, float]) -> None:
        """Append a time-series row and rewrite timeseries.csv (partial results survive)."""
        self.rows.append(row)
        if self.comm.rank != 0:
            return
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        with open(self.outdir / "timeseries.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: r.get(k, "") for k in keys})

    def write_fields(self, groups: dict[str, list], t: float) -> None:
        """One writer per group of same-element functions on the parent mesh (collective)."""
        for name, funcs in groups.items():
            if not funcs:
                continue
            if name not in self._writers:
                if self.fmt == "vtx":
                    self._writers[name] = io.VTXWriter(
                        self.comm, self.outdir / f"{name}.bp", funcs, engine="BP4"
                    )
                else:
                    raise ValueError("xdmf field output is written by write_xdmf")
            self._writers[name].write(t)

    def close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def write_summary(self, summary: dict) -> None:
        if self.comm.rank == 0:
            (self.outdir / "summary.json").write_text(
                json.dumps(_clean(summary), indent=2, sort_keys=False)
            )

    def write_table(self, name: str, columns: dict[str, Any]) -> None:
        """CSV of equally long columns (rank 0)."""
        if self.comm.rank != 0:
            return
        keys = list(columns)
        n = len(columns[keys[0]]) if keys else 0
        with open(self.outdir / name, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(keys)
            for k in range(n):
                w.writerow([columns[c][k] for c in keys])


VTK_FACETS = {1: "vertex", 2: "line", 3: "triangle", 4: "quad"}


def write_facet_field(path: Path, vertices: Any, cell_data: dict[str, Any]) -> None:
    """Facets (``vertices``: (n, nodes, 3) [m]) with per-facet data as a VTK unstructured
    grid for ParaView (one process: call with gathered arrays)."""
    import meshio
    import numpy as np

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
