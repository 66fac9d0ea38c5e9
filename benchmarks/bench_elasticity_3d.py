"""3D elasticity (composite cathode RVE) at three mesh sizes on 1 and 2 ranks, against the
same solve written as plain dolfinx in the same process (mechanics issue).

The case is ``cases/cathode_swelling_stress`` (NMC811 particles contracting by a chemical
strain of -0.5 %, carbon, Li6PS5Cl; roller at the bottom, sides held normal, 5 MPa on top) at
element size ``h``, solved with the ``iterative`` preset (one physics, no global unknown:
GMRES + GAMG with the rigid-body near-nullspace; the problem is linear: ``one_solve``),
fields and plots off. Each (ranks, h) is one ``mpirun`` (so the peak memory is that run's):

- warm-up at ``--warm-size`` (both variants; JIT, imports, PETSc; not measured);
- the mesh at ``h``: ``sse_fem.mesh.build_mesh`` (its time is reported, excluded from the rest);
- *ours*: ``sse_fem.problem.build_problem`` on that ``MeshBundle`` (setup), ``Problem.solve``
  (solve), then what the driver does after a solve, ``observe`` + force balance (``post_s``,
  reported, not in the ratio);
- *plain*: dolfinx as in its elasticity demo on the same mesh and cell tags: P1 vector space,
  E, nu and the eigenstrain per cell as DG0 from the same library values, the case's supports
  as Dirichlet conditions and its pressure as a boundary load; create matrix/vector and the
  demo's rigid-body near-nullspace (setup), assemble + apply_lifting + ``KSP.solve`` (solve)
  with CG (``--plain-ksp``) + GAMG with our ``pc_gamg_threshold`` and the same ``ksp_rtol``
  (``solver.linear_rtol``, default 1e-10).

Recorded per run: dofs, Newton steps (ours), Krylov iterations (ours: total and per linear
solve; plain), setup / solve / total (= setup + solve) wall seconds (max over ranks; process
CPU seconds too), the time spent in Krylov iterations (a KSP monitor, from iteration 0 to the
last: the rest of ``solve`` is assembly and GAMG setup), the ratio ours / plain of setup +
solve (wall and CPU), max |u_ours - u_plain| / max |u_plain| (owned nodes matched by
coordinates; must be < 1e-6), peak RSS per rank (whole run, meshing included, and for each
variant its high-water mark and its RSS at the start: before each, freed heap goes back to
the OS (``malloc_trim``) and the peak is reset (``/proc/self/clear_refs``); the mesh stays
resident in both), and per rank count the change of the iteration counts against the
coarsest size (must stay within +-20 %): ours in total, ours' first linear solve, plain.

Sizes (dofs = 3 x vertices; ``--estimate`` builds the meshes only and prints them): the case
as shipped (particle surfaces refined by curvature) gives 206,625 dofs at its 1.5 um (69k
nodes), 186k at 3 um and 2 um (the curvature sizes dominate: no coarser mesh this way),
226k at 1.2, 276k at 0.9, 346k at 0.7, 419k at 0.6, 553k at 0.5, 768k at 0.42 and 1.06M at
0.36 um; the defaults are 1.5, 0.6, 0.36 um. ``--uniform`` meshes the particle surfaces at
the same size (``mesh.interface_size``, no curvature refinement): 36k dofs at 1.5 um, 68k at
1.0 um, for smaller meshes and an h-family (the warm-up always uses it, at ``--warm-size``;
uniform 1.8 um fails to mesh and 2 um crashes gmsh).

Run:  python benchmarks/bench_elasticity_3d.py [--sizes 1.5,0.6,0.36] [--ranks 1,2]
         [--uniform] [--rtol 1e-10] [--plain-ksp cg|gmres] [--repeat 1] [--warm-size 1.7]
      python benchmarks/bench_elasticity_3d.py --estimate [--uniform] [--sizes ...]
Writes benchmarks/results/elasticity_3d.{json,md} (``--name`` for another name).
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

from harness import RESULTS, ROOT

NAME = "elasticity_3d"
CASE = ROOT / "cases" / "cathode_swelling_stress" / "case.yaml"
DEFAULT_SIZES = "1.5,0.6,0.36"  # um -> 207k, 419k, 1.06M displacement dofs
WARM_SIZE = 1.7  # um, uniform: 32k dofs (coarser uniform sizes fail to mesh)
GAMG = {"pc_type": "gamg", "pc_gamg_threshold": 0.01}  # as sse_fem.solvers.presets
ITERATION_BAND = 20.0  # % change of the Krylov count across sizes that is still "flat"
SAME_SOLUTION = 1e-6  # max |u_ours - u_plain| / max |u_plain|
cpu = time.process_time
wall = time.perf_counter


def case_data(case_file: Path, size_um: float, rtol: float, uniform: bool = False) -> dict:
    """The case at element size ``size_um``; ``uniform``: the particle surfaces at that size
    too (``mesh.interface_size``; else gmsh refines them by curvature, as the case does)."""
    import yaml

    data = yaml.safe_load(case_file.read_text())
    data["geometry"].setdefault("mesh", {})["size"] = f"{size_um} um"
    if uniform:
        data["geometry"]["mesh"]["interface_size"] = f"{size_um} um"
    data["solver"] = {"preset": "iterative", "linear_rtol": rtol}
    data["outputs"] = {"fields": False, "plots": False}
    return data


# --- measuring helpers -------------------------------------------------------------------
def rss_gb(field: str = "VmHWM") -> float:
    """``VmHWM`` (peak since the last reset) or ``VmRSS`` of this process [GB]."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


_PEAK = {"run": 0.0}  # the peak RSS of this process before the last reset [GB]


def reset_peak() -> bool:
    """Fold the peak so far into the run's peak, return freed heap to the OS (glibc
    ``malloc_trim``: else the heap a finished phase freed stays resident and hides the next
    phase's peak) and reset the peak RSS to the current RSS (Linux >= 4.0)."""
    import ctypes

    _PEAK["run"] = max(_PEAK["run"], rss_gb())
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_peak() -> float:
    """Peak RSS of this process since it started [GB] (``ru_maxrss`` follows the resets)."""
    return max(_PEAK["run"], rss_gb())


class Clock:
    """Wall and CPU seconds since the last ``start``/``lap``; ranks aligned by a barrier
    before each start."""

    def __init__(self, comm) -> None:
        self.comm = comm
        self.start()

    def start(self) -> None:
        self.comm.barrier()
        self.w, self.c = wall(), cpu()

    def lap(self) -> tuple[float, float]:
        """(wall, cpu) since the last start or lap; restarts without a barrier."""
        w, c = wall(), cpu()
        out = (w - self.w, c - self.c)
        self.w, self.c = w, c
        return out


class KrylovMonitor:
    """KSP monitor: iterations of each linear solve and the wall time spent iterating (from
    the monitor call at iteration 0, after the PC setup, to the last call of that solve)."""

    def __init__(self) -> None:
        self.its: list[int] = []
        self.seconds = 0.0
        self._first: float | None = None
        self._last = 0.0

    def __call__(self, ksp, its: int, rnorm: float) -> None:
        now = wall()
        if its == 0:
            self._close()
            self._first = now
            self.its.append(0)
        else:
            self.its[-1] = its
        self._last = now

    def _close(self) -> None:
        if self._first is not None:
            self.seconds += self._last - self._first
            self._first = None

    def total(self) -> float:
        self._close()
        return self.seconds


def owned_nodes(u) -> tuple:
    """(owned node coordinates, owned values per node) of a blocked P1 Function."""
    V = u.function_space
    n, bs = V.dofmap.index_map.size_local, V.dofmap.index_map_bs
    return V.tabulate_dof_coordinates()[:n].copy(), u.x.array[: n * bs].reshape(n, bs).copy()


# --- ours ---------------------------------------------------------------------------------
def run_ours(case, bundle) -> dict:
    from sse_fem.problem import build_problem

    clock = Clock(bundle.comm)
    problem = build_problem(case, bundle)
    setup = clock.lap()
    monitor = KrylovMonitor()
    problem.snes.getKSP().setMonitor(monitor)
    clock.lap()  # not the monitor's installation
    ok, newton, krylov = problem.solve()
    solve = clock.lap()
    if not ok:
        raise RuntimeError(f"our solve failed (SNES reason {problem.snes.getConvergedReason()})")
    ksp = problem.snes.getKSP()
    info = {
        "preset": problem.preset,
        "ksp_type": ksp.getType(),
        "pc_type": ksp.getPC().getType(),
        "ksp_reason": ksp.getConvergedReason(),
        "newton": newton,
        "krylov": krylov,
        "krylov_per_solve": list(monitor.its),
        "krylov_s": monitor.total(),
    }
    x, u = owned_nodes(problem.unknowns[0].u)
    dofmap = problem.unknowns[0].u.function_space.dofmap
    dofs = dofmap.index_map.size_global * dofmap.index_map_bs
    clock.start()
    problem.observe()
    balance = problem.conservation()["mechanics"]["balance_error"]
    post = clock.lap()
    problem.close()
    return info | {
        "dofs": dofs,
        "setup": setup,
        "solve": solve,
        "post": post,
        "balance_error": balance,
        "x": x,
        "u": u,
    }


# --- plain dolfinx ------------------------------------------------------------------------
def build_nullspace(V):
    """Rigid-body modes of a 3D P1 vector space, as in dolfinx's elasticity demo."""
    from dolfinx import la
    from petsc4py import PETSc

    bs = V.dofmap.index_map_bs
    length0 = V.dofmap.index_map.size_local
    basis = [la.vector(V.dofmap.index_map, bs=bs, dtype=PETSc.ScalarType) for _ in range(6)]
    b = [v.array for v in basis]
    dofs = [V.sub(i).dofmap.list.flatten() for i in range(3)]
    for i in range(3):
        b[i][dofs[i]] = 1.0
    x = V.tabulate_dof_coordinates()
    dofs_block = V.dofmap.list.flatten()
    x0, x1, x2 = x[dofs_block, 0], x[dofs_block, 1], x[dofs_block, 2]
    b[3][dofs[0]] = -x1
    b[3][dofs[1]] = x0
    b[4][dofs[0]] = x2
    b[4][dofs[2]] = -x0
    b[5][dofs[2]] = x1
    b[5][dofs[1]] = -x2
    la.orthonormalize(basis)
    vecs = [PETSc.Vec().createWithArray(v[: bs * length0], bsize=3, comm=V.mesh.comm) for v in b]
    return PETSc.NullSpace().create(vectors=vecs), vecs


def plane_normal(msh, facets):
    """The axis a plane boundary is perpendicular to (its vertices share that coordinate)."""
    from mpi4py import MPI

    import numpy as np
    from dolfinx import mesh

    nodes = mesh.entities_to_geometry(msh, msh.topology.dim - 1, facets)
    x = msh.geometry.x[nodes.ravel()]
    lo = x.min(axis=0) if len(x) else np.full(3, np.inf)
    hi = x.max(axis=0) if len(x) else np.full(3, -np.inf)
    msh.comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
    msh.comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
    return int(np.argmin(hi - lo))


def run_plain(case, bundle, rtol: float, ksp_type: str, tag: str) -> dict:
    import numpy as np
    import ufl
    from dolfinx import fem
    from dolfinx.fem import petsc as fpetsc
    from petsc4py import PETSc

    from sse_fem.materials.registry import resolve_case_materials

    msh = bundle.mesh
    tdim, fdim, gdim = msh.topology.dim, msh.topology.dim - 1, msh.geometry.dim
    mech = case.physics.mechanics
    if gdim != 3 or mech.hold_rigid_modes:
        raise NotImplementedError("plain variant: 3D, supports from boundary conditions only")
    clock = Clock(msh.comm)
    # material data per cell (DG0), as the case defines it
    V = fem.functionspace(msh, ("Lagrange", 1, (gdim,)))
    Q = fem.functionspace(msh, ("DG", 0))
    E, nu, e_star = fem.Function(Q), fem.Function(Q), fem.Function(Q)
    imap = msh.topology.index_map(tdim)
    tag_of = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
    tag_of[bundle.cell_tags.indices] = bundle.cell_tags.values
    materials = resolve_case_materials(case)
    T = case.case.temperature
    T_ref = mech.reference_temperature if mech.reference_temperature is not None else T
    for region in case.regions:
        cells = tag_of == bundle.regions[region.name]
        mat = materials[region.name]
        E.x.array[cells] = mat.get("youngs_modulus")
        nu.x.array[cells] = mat.get("poissons_ratio")
        if T != T_ref:
            e_star.x.array[cells] += mat.get("thermal_expansion") * (T - T_ref)
    for spec in mech.chemical_strain:
        for name in spec.regions:
            strain = spec.strain
            if strain is None:
                omega = materials[name].get("partial_molar_volume")
                strain = omega * float(spec.concentration_change) / 3.0
            e_star.x.array[tag_of == bundle.regions[name]] += strain
    # supports and loads
    ds = ufl.Measure("ds", domain=msh, subdomain_data=bundle.facet_tags)
    v = ufl.TestFunction(V)
    n = ufl.FacetNormal(msh)
    bcs, loads = [], []
    for spec in case.boundary_conditions.mechanics:
        marker = bundle.boundaries[spec.name]
        facets = bundle.facet_tags.find(marker)
        held: dict[int, float] = {}
        if spec.type == "fixed":
            held = dict.fromkeys(range(gdim), 0.0)
        elif spec.type in ("roller", "symmetry"):
            held = {plane_normal(msh, facets): 0.0}
        elif spec.type == "displacement":
            held = {k: val for k, val in enumerate(spec.si_vector) if val is not None}
        elif spec.type == "pressure":
            loads.append(ufl.inner(-spec.si_value * n, v) * ds(marker))
        elif spec.type == "traction":
            t = ufl.as_vector([float(val or 0.0) for val in spec.si_vector])
            loads.append(ufl.inner(t, v) * ds(marker))
        elif spec.type != "free":
            raise NotImplementedError(f"plain variant: boundary type {spec.type!r}")
        for axis, value in held.items():
            dofs = fem.locate_dofs_topological(V.sub(axis), fdim, facets)
            bcs.append(fem.dirichletbc(PETSc.ScalarType(value), dofs, V.sub(axis)))
    # sigma = lambda tr(eps) I + 2 mu eps - (3 lambda + 2 mu) e* I
    mu = E / (2.0 * (1.0 + nu))
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    I = ufl.Identity(gdim)  # noqa: E741

    def eps(w):
        return ufl.sym(ufl.grad(w))

    def sigma(w):
        return 2.0 * mu * eps(w) + lam * ufl.tr(eps(w)) * I

    u = ufl.TrialFunction(V)
    a = fem.form(ufl.inner(sigma(u), eps(v)) * ufl.dx)
    L = fem.form(ufl.inner((3.0 * lam + 2.0 * mu) * e_star * I, eps(v)) * ufl.dx + sum(loads))
    A = fpetsc.create_matrix(a)
    b = fpetsc.create_vector(V)
    ns, ns_vecs = build_nullspace(V)
    A.setNearNullSpace(ns)
    ksp = PETSc.KSP().create(msh.comm)
    prefix = f"bench_elasticity_plain_{tag}_"
    ksp.setOptionsPrefix(prefix)
    opts = PETSc.Options()
    settings = {"ksp_type": ksp_type, "ksp_rtol": rtol, "ksp_max_it": 1000} | GAMG
    if ksp_type == "gmres":
        settings["ksp_gmres_restart"] = 100
    for k, val in settings.items():
        opts[prefix + k] = val
    ksp.setFromOptions()
    ksp.setOperators(A)
    monitor = KrylovMonitor()
    ksp.setMonitor(monitor)
    uh = fem.Function(V)
    setup = clock.lap()
    fpetsc.assemble_matrix(A, a, bcs=bcs)
    A.assemble()
    if ksp_type == "cg":
        A.setOption(PETSc.Mat.Option.SPD, True)
    with b.localForm() as bl:
        bl.set(0.0)
    fpetsc.assemble_vector(b, L)
    fpetsc.apply_lifting(b, [a], bcs=[bcs])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    fpetsc.set_bc(b, bcs)
    ksp.solve(b, uh.x.petsc_vec)
    uh.x.scatter_forward()
    solve = clock.lap()
    x, uu = owned_nodes(uh)
    out = {
        "ksp_type": ksp.getType(),
        "pc_type": ksp.getPC().getType(),
        "ksp_reason": ksp.getConvergedReason(),
        "krylov": ksp.getIterationNumber(),
        "krylov_per_solve": list(monitor.its),
        "krylov_s": monitor.total(),
        "dofs": V.dofmap.index_map.size_global * V.dofmap.index_map_bs,
        "setup": setup,
        "solve": solve,
        "x": x,
        "u": uu,
    }
    for k in settings:
        opts.delValue(prefix + k)
    for obj in (ksp, A, b, ns, *ns_vecs):
        obj.destroy()
    if out["ksp_reason"] <= 0:
        raise RuntimeError(f"plain KSP did not converge (reason {out['ksp_reason']})")
    return out


# --- one run (this process is one MPI rank) ---------------------------------------------
def measure(args) -> None:
    import gc

    from mpi4py import MPI

    import numpy as np

    from sse_fem.config import validate_case
    from sse_fem.mesh import build_mesh

    comm = MPI.COMM_WORLD
    t_run = wall()
    case_file = Path(args.case).resolve()

    def case_at(size: float, uniform: bool):
        return validate_case(case_data(case_file, size, args.rtol, uniform), case_file.parent)

    # warm-up on a small uniform mesh: JIT, imports, PETSc (not measured)
    warm_case = case_at(args.warm_size, True)
    warm = build_mesh(warm_case, comm)
    run_plain(warm_case, warm, args.rtol, args.plain_ksp, "warm")
    run_ours(warm_case, warm)
    del warm
    gc.collect()

    case = case_at(args.single, args.uniform)
    peak_reset = reset_peak()
    clock = Clock(comm)
    bundle = build_mesh(case, comm)
    mesh_w, mesh_c = clock.lap()
    peak_mesh = rss_gb()

    def red(x: float) -> float:
        return comm.allreduce(x, op=MPI.MAX)

    ours, plains = [], []
    peaks = {"ours": 0.0, "plain": 0.0}
    start = {"ours": 0.0, "plain": 0.0}
    for k in range(args.repeat):
        for variant in ("plain", "ours"):
            gc.collect()
            reset_peak()
            start[variant] = max(start[variant], rss_gb("VmRSS"))
            if variant == "ours":
                ours.append(run_ours(case, bundle))
            else:
                plains.append(run_plain(case, bundle, args.rtol, args.plain_ksp, str(k)))
            peaks[variant] = max(peaks[variant], rss_gb())

    def total(r: dict) -> float:
        return r["setup"][0] + r["solve"][0]

    our = min(ours, key=lambda r: red(total(r)))
    plain = min(plains, key=lambda r: red(total(r)))
    # same displacement? (owned nodes matched by coordinates)
    ia = np.lexsort(our["x"].T[::-1])
    ib = np.lexsort(plain["x"].T[::-1])
    if not np.allclose(our["x"][ia], plain["x"][ib], rtol=0.0, atol=1e-12):
        raise RuntimeError("the two variants' owned nodes differ")
    diff = red(float(np.abs(our["u"][ia] - plain["u"][ib]).max(initial=0.0)))
    umax = red(float(np.abs(plain["u"]).max(initial=0.0)))
    rss_run = run_peak()

    def times(r: dict) -> dict:
        (sw, sc), (vw, vc) = r["setup"], r["solve"]
        out = {
            "setup_s": round(red(sw), 3),
            "solve_s": round(red(vw), 3),
            "total_s": round(red(sw + vw), 3),
            "setup_cpu_s": round(red(sc), 3),
            "solve_cpu_s": round(red(vc), 3),
            "total_cpu_s": round(red(sc + vc), 3),
        }
        out["krylov_s"] = round(red(r["krylov_s"]), 3)
        out["solve_minus_krylov_s"] = round(red(vw - r["krylov_s"]), 3)
        return out

    common = ("ksp_type", "pc_type", "ksp_reason", "krylov", "krylov_per_solve")
    row = {
        "ranks": comm.size,
        "size_um": args.single,
        "uniform": args.uniform,
        "cells": bundle.mesh.topology.index_map(bundle.dim).size_global,
        "dofs": our["dofs"],
        "rtol": args.rtol,
        "mesh_s": round(red(mesh_w), 2),
        "mesh_cpu_s": round(red(mesh_c), 2),
        "ours": {k: our[k] for k in ("preset", "newton", *common)}
        | times(our)
        | {
            "post_s": round(red(our["post"][0]), 3),
            "balance_error": our["balance_error"],
            "repeats_total_s": [round(red(total(r)), 3) for r in ours],
        },
        "plain": {k: plain[k] for k in common}
        | times(plain)
        | {"repeats_total_s": [round(red(total(r)), 3) for r in plains]},
        "max_abs_diff_m": diff,
        "max_abs_u_m": umax,
        "rel_diff": diff / umax if umax > 0 else float("nan"),
        "peak_rss_GB_max_rank": round(red(rss_run), 3),
        "peak_rss_GB_total": round(comm.allreduce(rss_run, op=MPI.SUM), 3),
        "peak_rss_reset": bool(comm.allreduce(peak_reset, op=MPI.LAND)),
        "peak_rss_GB_mesh": round(red(peak_mesh), 3),
        "peak_rss_GB_ours": round(red(peaks["ours"]), 3),
        "peak_rss_GB_plain": round(red(peaks["plain"]), 3),
        "rss_GB_at_start_ours": round(red(start["ours"]), 3),
        "rss_GB_at_start_plain": round(red(start["plain"]), 3),
    }
    if plain["dofs"] != our["dofs"]:
        raise RuntimeError(f"dofs differ: ours {our['dofs']}, plain {plain['dofs']}")
    row["ratio"] = round(row["ours"]["total_s"] / row["plain"]["total_s"], 3)
    row["ratio_cpu"] = round(row["ours"]["total_cpu_s"] / row["plain"]["total_cpu_s"], 3)
    row["wall_s"] = round(red(wall() - t_run), 2)
    if comm.rank == 0:
        Path(args.row).write_text(json.dumps(row))


def estimate(args) -> None:
    """Build the meshes only (this process, serial) and print their displacement dofs."""
    from mpi4py import MPI

    from sse_fem.config import validate_case
    from sse_fem.mesh import build_mesh

    case_file = Path(args.case).resolve()
    for size in [float(s) for s in args.sizes.split(",")]:
        t0 = wall()
        data = case_data(case_file, size, args.rtol, args.uniform)
        case = validate_case(data, case_file.parent)
        bundle = build_mesh(case, MPI.COMM_WORLD)
        msh = bundle.mesh
        cells = msh.topology.index_map(3).size_global
        nodes = msh.topology.index_map(0).size_global
        print(
            f"h = {size} um: {cells:,} cells, {3 * nodes:,} dofs ({nodes:,} nodes), "
            f"{wall() - t0:.1f} s",
            flush=True,
        )
        del bundle, msh


# --- report -------------------------------------------------------------------------------
#: (name, variant, Krylov count of a row's variant) compared across sizes
ITERATION_SERIES = (
    ("ours", "ours", lambda v: v["krylov"]),
    ("ours, first linear solve", "ours", lambda v: v["krylov_per_solve"][0]),
    ("plain", "plain", lambda v: v["krylov"]),
)


def iteration_change(rows: list[dict]) -> dict:
    """Per rank count and series: Krylov counts by size and the change against the coarsest
    [%], also stored in the rows (``krylov_change_pct``: that of the variant's total)."""
    out = {}
    for ranks in sorted({r["ranks"] for r in rows}):
        mine = sorted((r for r in rows if r["ranks"] == ranks), key=lambda r: r["dofs"])
        entry: dict = {"dofs": [r["dofs"] for r in mine]}
        for name, variant, count in ITERATION_SERIES:
            its = [count(r[variant]) for r in mine]
            change = [round(100.0 * (k / its[0] - 1.0), 1) for k in its]
            if name == variant:
                for r, c in zip(mine, change, strict=True):
                    r[variant]["krylov_change_pct"] = c
            entry[name] = {
                "krylov": its,
                "change_pct": change,
                "within_band": all(abs(c) <= ITERATION_BAND for c in change),
            }
        out[str(ranks)] = entry
    return out


def pair(row: dict, key: str) -> str:
    return f"{row['ours'][key]}/{row['plain'][key]}"


def memory(row: dict, variant: str) -> str:
    return f"{row[f'peak_rss_GB_{variant}']} ({row[f'rss_GB_at_start_{variant}']})"


COLUMNS = (
    ("ranks", lambda r: r["ranks"]),
    ("h [um]", lambda r: r["size_um"]),
    ("cells", lambda r: f"{r['cells']:,}"),
    ("dofs", lambda r: f"{r['dofs']:,}"),
    ("Newton ours", lambda r: r["ours"]["newton"]),
    ("Krylov ours (per solve)", lambda r: f"{r['ours']['krylov']} {r['ours']['krylov_per_solve']}"),
    ("Krylov plain", lambda r: r["plain"]["krylov"]),
    ("its change ours [%]", lambda r: r["ours"].get("krylov_change_pct", "")),
    ("its change plain [%]", lambda r: r["plain"].get("krylov_change_pct", "")),
    ("mesh [s] (excl.)", lambda r: r["mesh_s"]),
    ("setup ours [s]", lambda r: r["ours"]["setup_s"]),
    ("setup plain [s]", lambda r: r["plain"]["setup_s"]),
    ("solve ours [s]", lambda r: r["ours"]["solve_s"]),
    ("solve plain [s]", lambda r: r["plain"]["solve_s"]),
    ("total ours [s]", lambda r: r["ours"]["total_s"]),
    ("total plain [s]", lambda r: r["plain"]["total_s"]),
    ("Krylov time ours/plain [s]", lambda r: pair(r, "krylov_s")),
    ("solve - Krylov ours/plain [s]", lambda r: pair(r, "solve_minus_krylov_s")),
    ("**ratio** (wall)", lambda r: f"**{r['ratio']:.2f}**"),
    ("ratio (CPU)", lambda r: f"{r['ratio_cpu']:.2f}"),
    ("max diff / max u", lambda r: f"{r['rel_diff']:.1e}"),
    ("peak RSS/rank [GB]", lambda r: r["peak_rss_GB_max_rank"]),
    ("peak (start) ours [GB]", lambda r: memory(r, "ours")),
    ("peak (start) plain [GB]", lambda r: memory(r, "plain")),
    ("peak RSS total [GB]", lambda r: r["peak_rss_GB_total"]),
)


def markdown(meta: dict) -> str:
    rows = meta["rows"]
    r0 = rows[0]
    src = meta["sse_fem"]
    lines = [
        f"sse_fem {src['git']} {src['label']}".rstrip(),
        "",
        f"3D composite cathode RVE (cathode_swelling_stress), P1 displacement; ours: preset "
        f"{r0['ours']['preset']} ({r0['ours']['ksp_type']} + {r0['ours']['pc_type']}, "
        f"{r0['ours']['newton']} Newton steps); plain dolfinx: {r0['plain']['ksp_type']} + "
        f"{r0['plain']['pc_type']} (demo near-nullspace); rtol {r0['rtol']:g}. Wall seconds "
        "(max over ranks), JIT warm, meshing excluded from setup/solve/total; ratio = ours / "
        "plain of setup + solve.",
        "",
        "| " + " | ".join(h for h, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(f(r)) for _, f in COLUMNS) + " |")
    band = f"+-{ITERATION_BAND:g} %"
    lines += ["", f"Krylov iterations across sizes (band {band} of the coarsest):", ""]
    for ranks, e in meta["iteration_change"].items():
        for name, _, _ in ITERATION_SERIES:
            v = e[name]
            verdict = "within" if v["within_band"] else "**OUTSIDE**"
            lines.append(
                f"- {ranks} rank(s), {name}: {v['krylov']} -> change {v['change_pct']} % "
                f"({verdict} {band})"
            )
    worst = max(r["rel_diff"] for r in rows)
    same = "yes" if worst < SAME_SOLUTION else "**NO**"
    lines += [
        "",
        f"Same displacement (max diff / max |u| < {SAME_SOLUTION:g}): {same} ({worst:.1e})",
    ]
    return "\n".join(lines)


def provenance(label: str | None) -> dict:
    """Which sse_fem was measured: git revision (+dirty) and whether it is this checkout."""
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


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default=DEFAULT_SIZES, help="element sizes [um], coarse to fine")
    p.add_argument("--ranks", default="1,2", help="MPI rank counts")
    p.add_argument("--rtol", type=float, default=1e-10, help="KSP rtol (SolverBlock default)")
    p.add_argument("--plain-ksp", default="cg", choices=("cg", "gmres"), help="plain Krylov")
    p.add_argument("--repeat", type=int, default=1, help="alternating repeats; best kept")
    p.add_argument("--warm-size", type=float, default=WARM_SIZE, help="warm-up size [um]")
    p.add_argument(
        "--uniform", action="store_true", help="particle surfaces at the size too (no curvature)"
    )
    p.add_argument("--case", default=str(CASE))
    p.add_argument("--name", default=NAME, help="results file name")
    p.add_argument("--label", default=None, help="free text stored with the results")
    p.add_argument("--estimate", action="store_true", help="mesh only, print dofs per size")
    p.add_argument("--single", type=float, help=argparse.SUPPRESS)  # internal: one run
    p.add_argument("--row", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.estimate:
        estimate(args)
        return
    if args.single is not None:
        measure(args)
        return
    mpirun = Path(sys.executable).with_name("mpirun")
    env = os.environ | {"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    rows = []
    for ranks in [int(r) for r in args.ranks.split(",")]:
        for size in [float(s) for s in args.sizes.split(",")]:
            with tempfile.TemporaryDirectory() as tmp:
                row_file = Path(tmp) / "row.json"
                cmd = [str(mpirun), "-n", str(ranks), sys.executable, "-m", "mpi4py"]
                cmd += [sys.argv[0], "--single", str(size), "--row", str(row_file)]
                cmd += ["--rtol", str(args.rtol), "--plain-ksp", args.plain_ksp]
                cmd += ["--repeat", str(args.repeat), "--warm-size", str(args.warm_size)]
                cmd += ["--case", args.case] + (["--uniform"] if args.uniform else [])
                subprocess.run(cmd, check=True, env=env)
                row = json.loads(row_file.read_text())
            rows.append(row)
            print(
                {
                    "ranks": ranks,
                    "h_um": size,
                    "dofs": row["dofs"],
                    "newton ours": row["ours"]["newton"],
                    "krylov ours/plain": (row["ours"]["krylov"], row["plain"]["krylov"]),
                    "total ours/plain [s]": (row["ours"]["total_s"], row["plain"]["total_s"]),
                    "ratio": row["ratio"],
                    "rel_diff": f"{row['rel_diff']:.1e}",
                    "peak_rss_GB_max_rank": row["peak_rss_GB_max_rank"],
                },
                flush=True,
            )
    meta = {
        "benchmark": args.name,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "command": " ".join(["python", "benchmarks/bench_elasticity_3d.py", *sys.argv[1:]]),
        "sse_fem": provenance(args.label),
        "iteration_band_pct": ITERATION_BAND,
        "same_solution_tolerance": SAME_SOLUTION,
    }
    meta["iteration_change"] = iteration_change(rows)
    meta["rows"] = rows
    table = markdown(meta)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(meta, indent=2))
    (RESULTS / f"{args.name}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
