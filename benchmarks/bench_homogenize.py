"""Effective conductivity of voxel images: ``fv`` and ``fem`` on 1 and 2 ranks at growing
image sizes (``fem`` up to ``--fem-max``).

The image: overlapping spheres (radius 6 voxels, seeded) of an insulating phase in a
conducting matrix, about 60 % conducting, at n^3 voxels (default n = 50, 100, 150, 200). Each
(method, n, ranks) runs in its own process (``mpirun`` for fem), so its peak memory is its
own. Per run: unknowns, wall time of the three drives split into read/assemble, solver setup
and solve (fv) or mesh and solve (fem), Krylov iterations per drive (flat under growth is the
multigrid's job), peak RSS, and sigma_zz.

Per drive: the wall time over the three drives (image, connectivity, assembly and solves
included), to compare with single-direction voxel tools.

``--petsc KEY=VALUE`` (repeatable) puts a raw PETSc option into the case's
``solver.petsc_options`` (e.g. ``pc_gamg_threshold=0.04``, the memory-lean GAMG graph for voxel
Q1: it keeps the 12 edge couplings, 1/16 of the diagonal, and drops the 8 corner couplings,
1/32); such rows carry the options in their method column. ``--merge`` keeps the rows of the
existing results that this run does not measure again (same method, n, ranks and options).

Run:  python benchmarks/bench_homogenize.py [--sizes 50,100,150,200] [--ranks 1,2]
        [--methods fv,fem] [--fem-max 100] [--petsc KEY=VALUE ...] [--merge]
Writes benchmarks/results/homogenize.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from harness import RESULTS

NAME = "homogenize"

MEASURE = r"""
import json, resource, sys, time
from mpi4py import MPI
from pathlib import Path
from sse_fem.config import load_case
from sse_fem.microstructure.homogenize import homogenize
case_file, method, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
t0 = time.perf_counter()
case = load_case(case_file)
summary = homogenize(case, "ionic", out / "run", method=method, plots=False)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
rss_all = MPI.COMM_WORLD.gather(rss, root=0)
if MPI.COMM_WORLD.rank == 0:
    row = {"wall_s": wall, "rss": rss_all, "summary": summary}
    (out / "row.json").write_text(json.dumps(row, default=str))
"""


def image(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((n, n, n), np.uint8)
    radius = 6.0
    count = int(0.4 * n**3 / (4 / 3 * np.pi * radius**3) * 1.3)
    for centre in rng.uniform(0, n, (count, 3)):
        lo = np.maximum((centre - radius).astype(int), 0)
        hi = np.minimum((centre + radius).astype(int) + 2, n)
        sub = np.indices(hi - lo).reshape(3, -1).T + lo
        inside = np.sum((sub + 0.5 - centre) ** 2, axis=1) <= radius**2
        img[tuple(sub[inside].T)] = 1
    return img


def case_file(folder: Path, n: int, petsc_options: dict[str, str] | None = None) -> Path:
    """The case of the n^3 image (written with its image into ``folder``)."""
    np.save(folder / f"image_{n}.npy", image(n))
    case: dict = {
        "case": {"name": f"spheres_{n}"},
        "geometry": {
            "type": "from_image",
            "dimension": 3,
            "file": f"image_{n}.npy",
            "voxel_size": "0.5 um",
            "labels": {0: "electrolyte", 1: "active"},
            "mesh": {"max_elements": 3e7},
        },
        "regions": [
            {"name": "electrolyte", "material": "Li6PS5Cl"},
            {"name": "active", "material": "NMC811", "carriers": []},
        ],
        "physics": {"conduction": {}},
        "boundary_conditions": {"conduction": [{"name": "bottom", "type": "ground"}]},
        "outputs": {"plots": False, "report": False, "fields": False},
    }
    if petsc_options:
        case["solver"] = {"petsc_options": petsc_options}
    path = folder / f"case_{n}.yaml"
    path.write_text(yaml.safe_dump(case))
    return path


def run(path: Path, method: str, ranks: int, folder: Path, options: dict[str, str]) -> dict:
    """One measured (method, ranks) run of the case at ``path`` in its own process."""
    out = folder / f"{path.stem}_{method}_{ranks}"
    out.mkdir()
    cmd = [sys.executable, "-c", MEASURE, str(path), method, str(out)]
    if ranks > 1:
        cmd = [str(Path(sys.executable).parent / "mpirun"), "-n", str(ranks), *cmd]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    data = json.loads((out / "row.json").read_text())
    s = data["summary"]
    h = s["homogenize"]
    row = {
        "method": method,
        "options": options,
        "n": int(path.stem.split("_")[1]),
        "ranks": ranks,
        "wall_s": data["wall_s"],
        "peak_rss_GB_total": sum(data["rss"]),
        "sigma_zz_S_m": s["outputs"]["homogenize"]["sigma_zz"],
        "date": time.strftime("%F"),
    }
    if method == "fv":
        solves = h["solves"]
        row["unknowns"] = solves[0]["unknowns"]
        row["assemble_s"] = sum(x.get("assemble_s", 0.0) for x in solves)
        row["setup_s"] = sum(x.get("setup_s", 0.0) for x in solves)
        row["solve_s"] = sum(x.get("solve_s", 0.0) for x in solves)
        row["iterations"] = [x["iterations"] for x in solves]
    else:
        row["unknowns"] = h["solves"][0]["dofs"]
        row["mesh_s"] = h["mesh_s"]
        row["solve_s"] = sum(x["solve_s"] for x in h["solves"])
        row["iterations"] = [x["krylov"] for x in h["solves"]]
    return row


def _key(row: dict) -> tuple:
    return row["method"], row["n"], row["ranks"], tuple(sorted(row.get("options", {}).items()))


def _order(row: dict) -> tuple:
    method, n, ranks, options = _key(row)
    return n, method, options, ranks


def _label(row: dict) -> str:
    options = row.get("options") or {}
    return " ".join([row["method"], *(f"{k}={v}" for k, v in sorted(options.items()))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,150,200")
    parser.add_argument("--fem-max", type=int, default=100, help="largest n for fem")
    parser.add_argument("--ranks", default="1,2")
    parser.add_argument("--methods", default="fv,fem")
    parser.add_argument("--petsc", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--merge", action="store_true", help="keep rows not measured again")
    parser.add_argument("--note", action="append", default=[], help="a line under the table")
    args = parser.parse_args()
    options = dict(item.split("=", 1) for item in args.petsc)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in (int(x) for x in args.sizes.split(",")):
            path = case_file(folder, n, options)
            for method in args.methods.split(","):
                if method == "fem" and n > args.fem_max:
                    continue
                for ranks in [int(r) for r in args.ranks.split(",")]:
                    rows.append(run(path, method, ranks, folder, options))
                    print(json.dumps(rows[-1]), flush=True)
    meta = {"machine": platform.node(), "cpus": os.cpu_count(), "notes": args.note}
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.merge and (RESULTS / f"{NAME}.json").exists():
        measured = {_key(r) for r in rows}
        old = json.loads((RESULTS / f"{NAME}.json").read_text())
        kept = [r for r in old["rows"] if _key(r) not in measured]
        for r in kept:
            r.setdefault("date", old["meta"].get("date", "?"))
        rows = sorted(kept + rows, key=_order)
        meta["notes"] = old["meta"].get("notes", []) + args.note
    (RESULTS / f"{NAME}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    head = (
        "| method | n^3 | ranks | unknowns | wall [s] | per drive [s] | assemble/mesh [s] | "
        "setup [s] | solve [s] | Krylov per drive | peak RSS [GB] | sigma_zz [S/m] |"
    )
    dates = sorted({r["date"] for r in rows})
    span = " to ".join(dict.fromkeys([dates[0], dates[-1]]))
    where = f"{meta['machine']}, {meta['cpus']} CPUs, {span}"
    title = f"# Voxel homogenisation: fv vs fem ({where})"
    lines = [title, "", head, "|" + "---|" * 12]
    for r in rows:
        first = r.get("assemble_s", r.get("mesh_s", 0.0))
        lines.append(
            f"| {_label(r)} | {r['n']} | {r['ranks']} | {r['unknowns']} | {r['wall_s']:.1f} | "
            f"{r['wall_s'] / 3:.2f} | {first:.2f} | {r.get('setup_s', float('nan')):.2f} | "
            f"{r['solve_s']:.2f} | "
            f"{r['iterations']} | {r['peak_rss_GB_total']:.2f} | {r['sigma_zz_S_m']:.4f} |"
        )
    lines += ["", *(f"- {note}" for note in meta["notes"])] if meta["notes"] else []
    (RESULTS / f"{NAME}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
