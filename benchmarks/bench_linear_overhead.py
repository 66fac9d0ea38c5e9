"""Overhead of the sse-fem pipeline on a linear problem against plain dolfinx (issue 8, item 8).

A voxel image (the tomography case's generator, scaled to about 227k ionic dofs, written
deterministically into a temporary directory) is meshed once by ``sse_fem.mesh.build_mesh``;
on that same ``MeshBundle`` it runs, in one process:

- *pipeline*: ``sse_fem.driver.Run`` on the tomography case (preset ``iterative``, fields and
  plots off), with the meshing step returning the prebuilt bundle;
- *plain*: dolfinx as a user would write it: submesh of the ion-conducting regions, P1,
  sigma per region as DG0, Dirichlet 10 mV on ``top`` and 0 on ``bottom``, assemble + KSP with
  CG + GAMG (same ``pc_gamg_threshold``, same rtol).

Both are first run on a small image of the same kind so every form is JIT-compiled and every
module imported (compile time excluded). Times are process CPU seconds (``time.process_time``).
Pipeline phases come from timers wrapped around sse_fem/dolfinx functions (monkeypatching only
in this process); PC setup vs Krylov iterations are split at the first KSP monitor call. Each
variant runs ``--repeat`` times alternately; the repetition with the smallest total is kept.

Run:  python benchmarks/bench_linear_overhead.py [--shape 80,80,52] [--ranks 1] [--repeat 2]
         [--pipeline-ksp cg] [--rtol 1e-10]
Writes benchmarks/results/linear_overhead.{json,md} (only for the default shape and options,
unless ``--name`` is given).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import RESULTS, ROOT

CASE = ROOT / "cases" / "tomography_microstructure" / "case.yaml"
DEFAULT_SHAPE = "80,80,52"  # 332,800 voxels -> 229,091 ionic dofs
WARM_SHAPE = "16,16,12"
# The plain problem, as in the tomography case: ions move in these regions, NMC is insulating.
CONDUCTING = ("electrolyte", "pores")
V_TOP, V_BOTTOM = 0.010, 0.0  # potential on `top`, ground on `bottom` [V]
GAMG = {"pc_type": "gamg", "pc_gamg_threshold": 0.01}  # as sse_fem.solvers.presets
cpu = time.process_time


# --- the image ---------------------------------------------------------------------------
def make_image(shape: tuple[int, ...], seed: int = 0):
    """cases/tomography_microstructure/make_image.py at another shape: same radii, ball
    counts scaled with the volume (same phase fractions), seeded."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape_a = np.array(shape)
    scale = shape_a.prod() / (48 * 48 * 32)
    grid = np.stack(np.meshgrid(*[np.arange(n) + 0.5 for n in shape_a], indexing="ij"), -1)
    img = np.zeros(shape_a, np.uint8)
    for label, count, (rmin, rmax) in ((1, 40, (5.0, 8.0)), (2, 250, (1.5, 2.5))):
        for _ in range(round(count * scale)):
            c = rng.uniform(0, 1, 3) * shape_a
            r = rng.uniform(rmin, rmax)
            inside = ((grid - c) ** 2).sum(-1) < r * r
            img[inside & (img == 0)] = label
    return img


def case_data(image: Path, case_file: Path, rtol: float, ksp: str | None) -> dict:
    import yaml

    data = yaml.safe_load(case_file.read_text())
    data["geometry"]["file"] = str(image)
    data["solver"] = {"preset": "iterative", "linear_rtol": rtol}
    if ksp:
        data["solver"]["petsc_options"] = {"ksp_type": ksp}
    data["outputs"] = {"fields": False, "plots": False}
    return data


# --- timers around the pipeline ----------------------------------------------------------
class Timers:
    """Inclusive CPU time and call count per name; ``mark`` is the end of the last callback
    (the KSP monitor's first call then closes the PC setup)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.t: dict[str, float] = {}
        self.n: dict[str, int] = {}
        self.mark = None
        self.in_solve = False
        self.krylov_start = None
        self.ksp_its: list[int] = []
        self.per_solve: dict[str, list[float]] = {"PC setup": [], "Krylov iterations": []}

    def add(self, name: str, dt: float) -> None:
        self.t[name] = self.t.get(name, 0.0) + dt
        self.n[name] = self.n.get(name, 0) + 1

    def wrap(self, owner, attr: str, name: str, solve_only: bool = False, closes: bool = False):
        """Time ``owner.attr``; ``solve_only``: count only inside the solve phase (else under
        ``name + ' (setup)'``); ``closes``: its end opens the linear solve (PC setup)."""
        fn = getattr(owner, attr, None)
        if fn is None or getattr(fn, "_bench_wrapped", False):
            return
        timers = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            timers._close_krylov()
            t0 = cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                t1 = cpu()
                key = name if (timers.in_solve or not solve_only) else f"{name} (setup)"
                timers.add(key, t1 - t0)
                if closes and timers.in_solve:
                    timers.mark = t1

        wrapper._bench_wrapped = True
        setattr(owner, attr, wrapper)

    def monitor(self, ksp, its: int, rnorm: float) -> None:
        now = cpu()
        if its == 0:
            if self.mark is not None:
                self.add("PC setup", now - self.mark)
                self.per_solve["PC setup"].append(round(now - self.mark, 3))
                self.mark = None
            self.krylov_start = now
            self.ksp_its.append(0)
        else:
            self.ksp_its[-1] = its

    def _close_krylov(self) -> None:
        if self.krylov_start is not None:
            dt = cpu() - self.krylov_start
            self.add("Krylov iterations", dt)
            self.per_solve["Krylov iterations"].append(round(dt, 3))
            self.krylov_start = None


TIMERS = Timers()


def install_timers(bundle) -> dict:
    """Wrap the pipeline's phases; ``build_mesh`` returns ``bundle``. Returns a dict the
    wrapped build_problem fills with the Problem."""
    import dolfinx.fem.petsc as fpetsc

    import sse_fem.driver as driver
    import sse_fem.mesh as ssemesh
    import sse_fem.problem as ssep

    T, seen = TIMERS, {}
    ssemesh.build_mesh = lambda case, comm=None: bundle
    orig_build = ssep.build_problem

    def build_problem(case, b):
        t0 = cpu()
        p = orig_build(case, b)
        T.add("setup", cpu() - t0)
        ksp = p.snes.getKSP()
        ksp.setMonitor(T.monitor)
        seen["problem"], seen["ksp_type"] = p, ksp.getType()
        return p

    ssep.build_problem = build_problem
    T.wrap(ssemesh.MeshBundle, "submesh", "setup: submesh")
    T.wrap(fpetsc.NonlinearProblem, "__init__", "setup: NonlinearProblem (forms, matrix, SNES)")
    T.wrap(ssep.Problem, "_compact_jacobian", "setup: compact Jacobian (generic state)")
    # captured by NonlinearProblem at construction / looked up at call time by sse_fem
    T.wrap(fpetsc, "assemble_residual", "residual assembly", solve_only=True, closes=True)
    T.wrap(fpetsc, "assemble_jacobian", "Jacobian assembly", solve_only=True, closes=True)
    try:
        from sse_fem.solvers.sparsity import CompactMatrix

        T.wrap(CompactMatrix, "update", "compact-matrix copy", solve_only=True, closes=True)
        T.wrap(CompactMatrix, "__init__", "compact-matrix build", solve_only=True)
    except ImportError:
        pass
    try:
        from sse_fem.solvers.convergence import ScaledConvergence

        T.wrap(ScaledConvergence, "__call__", "convergence test", solve_only=True)
    except ImportError:
        pass
    T.wrap(ssep.Problem, "solve", "SNES solve (Problem.solve)")
    T.wrap(ssep.Problem, "observe", "observe (scalar outputs)")
    orig_steady = driver.Run._steady

    def steady(self, problem):
        T.in_solve = True
        t0 = cpu()
        try:
            return orig_steady(self, problem)
        finally:
            T._close_krylov()
            T.add("solve", cpu() - t0)
            T.in_solve = False

    driver.Run._steady = steady
    T.wrap(driver.Run, "_final_outputs", "final outputs")
    return seen


def run_pipeline(data: dict, case_dir: Path, bundle, seen: dict) -> dict:
    from mpi4py import MPI

    from sse_fem.config import validate_case
    from sse_fem.driver import Run

    comm = MPI.COMM_WORLD
    getattr(bundle, "_submeshes", {}).clear()  # the pipeline builds its own submesh
    TIMERS.reset()
    with tempfile.TemporaryDirectory() as tmp:
        outdir = comm.bcast(tmp, root=0)
        case = validate_case(data, base_dir=case_dir)
        t0 = cpu()
        s = Run(case, outdir=outdir).execute()
        total_run = cpu() - t0
    if s["status"] != "ok":
        raise RuntimeError(f"pipeline run failed: {s.get('reason')}")
    t = dict(TIMERS.t)
    p = seen.pop("problem")
    u = p.unknowns[0].u
    imap = u.function_space.dofmap.index_map
    stats = s["statistics"]
    return {
        "timers": {k: round(v, 3) for k, v in t.items()},
        "calls": dict(TIMERS.n),
        "total": t["setup"] + t["solve"],
        "run_execute": total_run,
        "newton": stats["newton_iterations"],
        "krylov": stats["krylov_iterations"],
        "krylov_per_solve": list(TIMERS.ksp_its),
        "cpu_per_solve": {k: list(v) for k, v in TIMERS.per_solve.items()},
        "dofs": imap.size_global,
        "u": u.x.array[: imap.size_local].copy(),
        "x": u.function_space.tabulate_dof_coordinates()[: imap.size_local].copy(),
        "ksp_type": seen.pop("ksp_type"),
    }


# --- plain dolfinx -----------------------------------------------------------------------
def run_plain(case, bundle, rtol: float, tag: str) -> dict:

    import numpy as np
    import ufl
    from dolfinx import fem, mesh
    from dolfinx.fem import petsc as fpetsc
    from petsc4py import PETSc

    from sse_fem.materials.registry import resolve_case_materials

    T: dict[str, float] = {}
    t_all = t0 = cpu()
    msh, tdim = bundle.mesh, bundle.dim
    fdim = tdim - 1
    region_ids = [bundle.regions[r] for r in CONDUCTING]
    cells = np.sort(np.concatenate([bundle.cell_tags.find(i) for i in region_ids]))
    msh.topology.create_connectivity(fdim, tdim)
    sub, cmap, vmap, _ = mesh.create_submesh(msh, tdim, cells.astype(np.int32))
    ft = mesh.transfer_meshtags_to_submesh(bundle.facet_tags, sub, vmap, cmap)
    sub.topology.create_connectivity(fdim, tdim)
    V = fem.functionspace(sub, ("Lagrange", 1))
    Q = fem.functionspace(sub, ("DG", 0))
    sigma = fem.Function(Q)
    n = sub.topology.index_map(tdim)
    scells = np.arange(n.size_local + n.num_ghosts, dtype=np.int32)
    parent = cmap.sub_topology_to_topology(scells, inverse=False)
    tag_of = np.zeros(
        msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts, np.int32
    )
    tag_of[bundle.cell_tags.indices] = bundle.cell_tags.values
    materials = resolve_case_materials(case)
    for r in CONDUCTING:
        sigma.x.array[scells[tag_of[parent] == bundle.regions[r]]] = materials[r].get(
            "ionic_conductivity"
        )
    bcs = [
        fem.dirichletbc(
            PETSc.ScalarType(value),
            fem.locate_dofs_topological(V, fdim, ft.find(bundle.boundaries[name])),
            V,
        )
        for name, value in (("top", V_TOP), ("bottom", V_BOTTOM))
    ]
    T["setup: submesh, spaces, BCs"] = cpu() - t0
    t0 = cpu()
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = fem.form(sigma * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = fem.form(fem.Constant(sub, PETSc.ScalarType(0.0)) * v * ufl.dx)
    A = fpetsc.create_matrix(a)
    b = fpetsc.create_vector(V)
    T["setup: forms, sparsity"] = cpu() - t0
    t0 = cpu()
    fpetsc.assemble_matrix(A, a, bcs=bcs)
    A.assemble()
    with b.localForm() as bl:
        bl.set(0.0)
    fpetsc.assemble_vector(b, L)
    fpetsc.apply_lifting(b, [a], bcs=[bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    fpetsc.set_bc(b, bcs)
    T["assembly"] = cpu() - t0
    t0 = cpu()
    ksp = PETSc.KSP().create(msh.comm)
    ksp.setOperators(A)
    prefix = f"bench_plain_{tag}_"
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    for k, val in ({"ksp_type": "cg", "ksp_rtol": rtol, "ksp_max_it": 1000} | GAMG).items():
        opts[prefix + k] = val
    ksp.setFromOptions()
    ksp.setUp()
    T["KSP setup (PC setup)"] = cpu() - t0
    t0 = cpu()
    uh = fem.Function(V)
    ksp.solve(b, uh.x.petsc_vec)
    uh.x.scatter_forward()
    T["KSP solve"] = cpu() - t0
    total = cpu() - t_all
    reason, its = ksp.getConvergedReason(), ksp.getIterationNumber()
    imap = V.dofmap.index_map
    out = {
        "timers": {k: round(val, 3) for k, val in T.items()},
        "total": total,
        "krylov": its,
        "reason": reason,
        "dofs": imap.size_global,
        "u": uh.x.array[: imap.size_local].copy(),
        "x": V.tabulate_dof_coordinates()[: imap.size_local].copy(),
    }
    for k in list(opts.getAll()):
        if k.startswith(prefix):
            opts.delValue(k)
    ksp.destroy(), A.destroy(), b.destroy()
    return out


# --- one measurement (this process is one MPI rank) --------------------------------------
def measure(args) -> None:
    from mpi4py import MPI

    import numpy as np

    from sse_fem.config import validate_case
    from sse_fem.mesh import build_mesh

    comm = MPI.COMM_WORLD
    case_file = Path(args.case).resolve()
    image = Path(args.image)
    warm_image = image.with_name("warm.npy")
    seen = None

    def bundle_for(img: Path):
        return build_mesh(
            validate_case(case_data(img, case_file, args.rtol, None), case_file.parent), comm
        )

    # warm-up: JIT cache, imports, PETSc (not measured)
    wb = bundle_for(warm_image)
    seen = install_timers(wb)
    data_w = case_data(warm_image, case_file, args.rtol, args.pipeline_ksp)
    run_plain(validate_case(data_w, case_file.parent), wb, args.rtol, "warm")
    run_pipeline(data_w, case_file.parent, wb, seen)

    t0 = cpu()
    bundle = bundle_for(image)
    mesh_s = cpu() - t0
    import sse_fem.mesh as ssemesh

    ssemesh.build_mesh = lambda case, comm=None: bundle
    data = case_data(image, case_file, args.rtol, args.pipeline_ksp)
    case = validate_case(data, case_file.parent)
    plains, pipes = [], []
    for k in range(args.repeat):
        plains.append(run_plain(case, bundle, args.rtol, str(k)))
        pipes.append(run_pipeline(data, case_file.parent, bundle, seen))
    plain = min(plains, key=lambda r: r["total"])
    pipe = min(pipes, key=lambda r: r["total"])
    # same solution? (owned dofs matched by coordinates)
    order_a = np.lexsort(pipe["x"].T[::-1])
    order_b = np.lexsort(plain["x"].T[::-1])
    diff = float(np.abs(pipe["u"][order_a] - plain["u"][order_b]).max()) if len(order_a) else 0.0
    diff = comm.allreduce(diff, op=MPI.MAX)

    def red(x):
        return comm.allreduce(x, op=MPI.MAX)

    row = {
        "ranks": comm.size,
        "image_shape": list(np.load(image).shape),
        "cells": bundle.mesh.topology.index_map(bundle.dim).size_global,
        "dofs": pipe["dofs"],
        "rtol": args.rtol,
        "mesh_cpu_s (excluded)": round(red(mesh_s), 3),
        "pipeline": {
            "ksp_type": pipe["ksp_type"],
            "newton": pipe["newton"],
            "krylov": pipe["krylov"],
            "krylov_per_solve": pipe["krylov_per_solve"],
            "cpu_s_per_linear_solve": pipe["cpu_per_solve"],
            "calls": pipe["calls"],
            "cpu_s": {k: round(red(v), 3) for k, v in pipe["timers"].items()},
            "total_cpu_s": round(red(pipe["total"]), 3),
            "run_execute_cpu_s": round(red(pipe["run_execute"]), 3),
            "repeats_total_cpu_s": [round(red(r["total"]), 3) for r in pipes],
        },
        "plain": {
            "ksp_type": "cg",
            "krylov": plain["krylov"],
            "ksp_reason": plain["reason"],
            "cpu_s": {k: round(red(v), 3) for k, v in plain["timers"].items()},
            "total_cpu_s": round(red(plain["total"]), 3),
            "repeats_total_cpu_s": [round(red(r["total"]), 3) for r in plains],
        },
        "max_abs_diff_V": diff,
    }
    row["ratio"] = round(row["pipeline"]["total_cpu_s"] / row["plain"]["total_cpu_s"], 3)
    row["sse_fem"] = provenance(args.label)
    if comm.rank == 0:
        Path(args.row).write_text(json.dumps(row))


def provenance(label: str | None) -> dict:
    """Which sse_fem was measured: the git revision (+dirty) if in a checkout, and whether it
    is this checkout (no machine paths in the results)."""
    import sse_fem

    path = Path(sse_fem.__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "-C", str(path), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "n/a (not a git checkout)"
    return {"this_checkout": path == ROOT, "git": rev, "label": label or ""}


# --- report ------------------------------------------------------------------------------
def phases(row: dict) -> list[tuple[str, float, float]]:
    """(phase, pipeline s, plain s) in the plain solver's phases."""
    p, q = row["pipeline"]["cpu_s"], row["plain"]["cpu_s"]
    g = p.get
    assembly = (
        g("setup: compact Jacobian (generic state)", 0)
        + g("residual assembly", 0)
        + g("Jacobian assembly", 0)
        + g("compact-matrix copy", 0)
    )
    setup = g("setup", 0) - g("setup: compact Jacobian (generic state)", 0)
    ksp_setup, krylov = g("PC setup", 0), g("Krylov iterations", 0)
    other = row["pipeline"]["total_cpu_s"] - setup - assembly - ksp_setup - krylov
    return [
        (
            "setup (submesh, spaces, forms, sparsity)",
            setup,
            q["setup: submesh, spaces, BCs"] + q["setup: forms, sparsity"],
        ),
        ("assembly (all matrices and vectors)", assembly, q["assembly"]),
        ("KSP setup (GAMG)", ksp_setup, q["KSP setup (PC setup)"]),
        ("KSP solve (Krylov iterations)", krylov, q["KSP solve"]),
        ("other (convergence test, observe, SNES)", other, 0.0),
        ("total", row["pipeline"]["total_cpu_s"], row["plain"]["total_cpu_s"]),
    ]


def markdown(row: dict) -> str:
    pl, pn = row["pipeline"], row["plain"]
    src = row["sse_fem"]
    lines = [
        f"sse_fem {src['git']} {src['label']}".rstrip(),
        "",
        f"Voxel image {'x'.join(map(str, row['image_shape']))}, {row['cells']:,} hexahedra, "
        f"{row['dofs']:,} dofs, {row['ranks']} rank(s), rtol {row['rtol']:g}; process CPU "
        f"seconds, JIT warm, meshing excluded ({row['mesh_cpu_s (excluded)']} s).",
        "",
        f"| phase | pipeline ({pl['ksp_type']}+GAMG, {pl['newton']} Newton, "
        f"{pl['krylov']} Krylov) | plain dolfinx (CG+GAMG, {pn['krylov']} Krylov) | ratio |",
        "|---|---|---|---|",
    ]
    for name, a, b in phases(row):
        r = f"{a / b:.2f}" if b > 0 else "-"
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {r} |")
    lines += [
        "",
        f"**pipeline / plain = {row['ratio']:.2f}** (target <= 1.3); "
        f"max |u_pipeline - u_plain| = {row['max_abs_diff_V']:.1e} V",
        "",
        "Pipeline detail (CPU s, calls):",
        "",
        "| timer | s | calls |",
        "|---|---|---|",
    ]
    for k, v in sorted(pl["cpu_s"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.3f} | {pl['calls'].get(k, '')} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--shape", default=DEFAULT_SHAPE, help="image voxels nx,ny,nz")
    p.add_argument("--ranks", type=int, default=1)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--rtol", type=float, default=1e-10, help="KSP rtol (SolverBlock default)")
    p.add_argument("--pipeline-ksp", default=None, help="override the pipeline's ksp_type")
    p.add_argument("--case", default=str(CASE))
    p.add_argument("--name", default=None, help="results file name (default linear_overhead)")
    p.add_argument("--label", default=None, help="free text stored with the results")
    p.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--image", help=argparse.SUPPRESS)
    p.add_argument("--row", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single:
        measure(args)
        return
    import numpy as np

    shape = tuple(int(s) for s in args.shape.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "image.npy"
        np.save(image, make_image(shape))
        np.save(Path(tmp) / "warm.npy", make_image(tuple(int(s) for s in WARM_SHAPE.split(","))))
        row_file = Path(tmp) / "row.json"
        mpirun = Path(sys.executable).with_name("mpirun")
        cmd = [str(mpirun), "-n", str(args.ranks), sys.executable, "-m", "mpi4py", sys.argv[0]]
        cmd += ["--single", "--image", str(image), "--row", str(row_file), "--rtol", str(args.rtol)]
        cmd += ["--repeat", str(args.repeat), "--case", args.case]
        if args.label:
            cmd += ["--label", args.label]
        if args.pipeline_ksp:
            cmd += ["--pipeline-ksp", args.pipeline_ksp]
        env = os.environ | {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
        subprocess.run(cmd, check=True, env=env)
        row = json.loads(row_file.read_text())
    default = args.shape == DEFAULT_SHAPE and args.pipeline_ksp is None and args.rtol == 1e-10
    name = args.name or ("linear_overhead" if default else None)
    table = markdown(row)
    print(table)
    if name:
        RESULTS.mkdir(parents=True, exist_ok=True)
        meta = {
            "benchmark": name,
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "command": " ".join(["python", "benchmarks/bench_linear_overhead.py", *sys.argv[1:]]),
            **row,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(meta, indent=2))
        (RESULTS / f"{name}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
