"""``sse-fem homogenize CASE``: the effective transport tensor of a microstructure.

For a carrier (``ionic``, ``electronic`` or ``thermal``) every region conducts with its
material's conductivity at the case temperature (Arrhenius as in conduction) or not at all
(``regions[*].carriers`` without the carrier; thermal: every region). Three steady solves
(1 V along x, y, z, the other outer faces insulated) give the full tensor column by column
(``voxel_fv``). Conventions (those of the common voxel tools):

- ``eps``: volume fraction of all conducting voxels (isolated ones included);
- ``sigma_ref``: conductivity of the best conducting phase;
- tortuosity factor ``tau_i = eps sigma_ref / sigma_ii``; MacMullin number
  ``N_i = sigma_ref / sigma_ii = tau_i / eps``;
- anisotropy: largest over smallest eigenvalue of the symmetric part of the tensor.

Outputs in OUT: ``summary.json`` (``outputs.homogenize`` holds the figures),
``effective_properties.csv`` (one row per axis), ``current_<axis>.png`` (the local current
density along the drive over its mean, on the mid-plane through the drive axis), the report.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sse_fem.config.geometry import is_image
from sse_fem.errors import CaseError
from sse_fem.microstructure.connectivity import phase_connectivity
from sse_fem.microstructure.convergence import LEVELS, Extrapolation, extrapolate
from sse_fem.microstructure.particles import (
    ParticlePaths,
    image_particle_paths,
    mesh_particle_paths,
)
from sse_fem.microstructure.periodic_fv import periodic_tensor
from sse_fem.microstructure.voxel_fv import AxisSolve, effective_tensor

CARRIERS = ("ionic", "electronic", "thermal")
AXES = "xyz"


def region_conductivities(case: Any, carrier: str) -> dict[str, float]:
    """Conductivity of each region for ``carrier`` [S/m, or W/(m K) for thermal]: the
    material's at the case temperature (Arrhenius as in conduction), 0 where the region does
    not conduct it (thermal: every region conducts)."""
    from sse_fem.materials.registry import resolve_case_materials
    from sse_fem.physics.conduction.fields import carriers_of, conductivity_at

    if carrier not in CARRIERS:
        raise CaseError(f"carrier {carrier!r}; allowed: {', '.join(CARRIERS)}", "--carrier")
    materials = resolve_case_materials(case)
    conducts = carriers_of(case, materials)
    paths = {r.name: f"materials.{r.material}" for r in case.regions}
    cfg = case.physics.conduction
    arrhenius_on = cfg.arrhenius if cfg is not None else True
    out: dict[str, float] = {}
    for region in case.regions:
        mat, path = materials[region.name], paths[region.name]
        if carrier == "thermal":
            out[region.name] = mat.require("thermal_conductivity", path)
        elif carrier in conducts[region.name]:
            temperature = case.case.temperature
            out[region.name] = conductivity_at(mat, carrier, temperature, arrhenius_on, path)
        else:
            out[region.name] = 0.0
    if not any(v > 0 for v in out.values()):
        raise CaseError(f"no region conducts {carrier} carriers", "regions")
    return out


def particle_paths(
    case: Any, bundle: Any = None, collector: str = "bottom", separator: str = "top"
) -> ParticlePaths | None:
    """Paths of the particles of the active-material regions to the ``collector`` face
    (electrons) and the ``separator`` face (ions), or None without such regions: from the
    labelled image (images), else on ``bundle`` (the case's mesh; built when None)."""
    from sse_fem.materials.registry import resolve_case_materials

    materials = resolve_case_materials(case)
    names = [r.name for r in case.regions]
    particles = [n for n in names if materials[n].category == "active_material"]
    if not particles:
        return None
    networks = []
    for carrier in ("electronic", "ionic"):
        try:
            networks.append([r for r, s in region_conductivities(case, carrier).items() if s > 0])
        except CaseError:  # nothing conducts it: no path
            networks.append([])
    geo = case.geometry
    if is_image(geo):
        from sse_fem.geometry.from_image import element_labels

        labels, h = element_labels(geo)
        regions = np.full(labels.shape, -1)
        for label, region in geo.labels.items():
            regions[labels == label] = names.index(region)
        last = AXES[labels.ndim - 1]
        faces = {"bottom": f"{last}0", "top": f"{last}1"}
        index = [[names.index(n) for n in group] for group in (particles, *networks)]
        try:
            return image_particle_paths(
                regions,
                h,
                *index,
                faces.get(collector, collector),
                faces.get(separator, separator),
            )
        except ValueError as err:
            raise CaseError(str(err), "--collector/--separator") from None
    if bundle is None:
        from sse_fem.mesh import build_mesh

        bundle = build_mesh(case)
    return mesh_particle_paths(bundle, particles, *networks, collector, separator)


def conductivity_image(case: Any, by_region: dict[str, float]) -> tuple[np.ndarray, float]:
    """The voxel image of a ``from_image`` case as conductivities per finite volume (voxels
    split ``geometry.subdivisions`` times) and the volume's edge [m]."""
    from sse_fem.geometry.from_image import element_labels

    geo = case.geometry
    if not is_image(geo):
        raise CaseError(
            "the finite-volume method works on voxel images (geometry.type: from_image); "
            "use --method fem for meshed microstructures",
            "geometry.type",
        )
    image, h = element_labels(geo)
    sigma = np.zeros(image.shape)
    for label, region in geo.labels.items():
        sigma[image == label] = by_region[region]
    return sigma, h


def solve_tensor(
    case: Any,
    carrier: str,
    by_region: dict[str, float],
    method: str,
    comm: Any,
    keep: bool,
    periodic: bool = False,
    bundle: Any = None,
) -> tuple[np.ndarray, float, dict[str, Any], np.ndarray | None, float, list[AxisSolve]]:
    """The effective tensor of one discretisation: (tensor, conducting volume fraction, solve
    details, conductivity image and its element edge (images), the fv solves (with the
    potentials when ``keep``)). ``periodic``: the image is one cell of a periodic medium;
    ``bundle``: the case's mesh, when built already (fem)."""
    image = is_image(case.geometry)
    if periodic and method != "fv":
        raise CaseError("--periodic works with --method fv (voxel images)", "--periodic")
    sigma, h = conductivity_image(case, by_region) if image or method == "fv" else (None, 0.0)
    if method == "fv":
        assert sigma is not None
        if periodic:
            tensor, solves = periodic_tensor(sigma, h, comm)
        else:
            tensor, solves = effective_tensor(sigma, h, keep_potential=keep, comm=comm)
        details = {
            "solves": [
                {"axis": AXES[s.axis], "unknowns": s.unknowns, "iterations": s.iterations}
                | s.timings
                for s in solves
            ]
        }
        return tensor, float((sigma > 0).mean()), details, sigma, h, solves
    if method == "fem":
        from sse_fem.microstructure.fem_tensor import fem_tensor

        tensor, info = fem_tensor(case, carrier, by_region, comm, bundle)
        total = sum(info["volumes"].values())
        eps = sum(v for r, v in info["volumes"].items() if by_region.get(r, 0.0) > 0) / total
        return tensor, eps, info, sigma, h, []
    raise CaseError(f"method {method!r}; allowed: fv, fem", "--method")


def homogenize(
    case: Any,
    carrier: str,
    outdir: Path,
    method: str = "fv",
    plots: bool = True,
    comm: Any = None,
    converged: bool = False,
    periodic: bool = False,
    collector: str = "bottom",
    separator: str = "top",
) -> dict[str, Any]:
    """Three drives, the tensor and its figures (collective); writes the outputs on rank 0.

    With ``converged`` (voxel images): the tensor at 1, 2 and 3 elements per voxel edge and
    the Richardson estimates of its diagonal (``convergence.csv``); the other figures are
    those of the finest level. ``periodic`` (fv): the image is one cell of a periodic medium
    (``periodic_fv``). With particle regions (material category ``active_material``): per
    particle whether it reaches the ``collector`` face through the electronic network and the
    ``separator`` face through the ionic one (``particles``). Returns the summary."""
    from mpi4py import MPI

    from sse_fem.runtime import now

    comm = comm or MPI.COMM_WORLD
    t0 = time.perf_counter()
    started = now()
    by_region = region_conductivities(case, carrier)
    sigma_ref = max(by_region.values())
    details: dict[str, Any] = {
        "carrier": carrier,
        "method": method,
        "region_conductivity": by_region,
    }
    levels: list[np.ndarray] = []
    if converged:
        if not is_image(case.geometry):
            raise CaseError("--converged subdivides the voxels of an image", "geometry.type")
        for n in LEVELS[:-1]:
            geometry = case.geometry.model_copy(update={"subdivisions": n})
            coarse = case.model_copy(update={"geometry": geometry})
            levels.append(
                solve_tensor(coarse, carrier, by_region, method, comm, False, periodic)[0]
            )
        geometry = case.geometry.model_copy(update={"subdivisions": LEVELS[-1]})
        case = case.model_copy(update={"geometry": geometry})
    bundle, mesh_s = None, None
    image = is_image(case.geometry)
    if method == "fem" and not image:  # one mesh for the drives and the particle paths
        from sse_fem.microstructure.fem_tensor import tensor_mesh

        t1 = time.perf_counter()
        bundle = tensor_mesh(case, comm)
        mesh_s = time.perf_counter() - t1
    tensor, eps, info, sigma, h, fv_solves = solve_tensor(
        case, carrier, by_region, method, comm, plots, periodic, bundle
    )
    details.update(info)
    if mesh_s is not None:
        details["mesh_s"] = mesh_s
    paths = particle_paths(case, bundle, collector, separator)
    details["outer_faces"] = "periodic" if periodic else "driven faces fixed, others insulated"
    if is_image(case.geometry):
        details["subdivisions"] = case.geometry.subdivisions
    convergence = {}
    if converged:
        levels.append(tensor)
        for a in range(tensor.shape[0]):
            name = f"sigma_{AXES[a]}{AXES[a]}"
            convergence[name] = extrapolate(tuple(float(t[a, a]) for t in levels))
        details["convergence"] = {k: asdict(v) for k, v in convergence.items()}
    dim = tensor.shape[0]
    eigen = np.linalg.eigvalsh(0.5 * (tensor + tensor.T))
    figures: dict[str, Any] = {
        "carrier": carrier,
        "method": method,
        "volume_fraction": eps,
        "reference_conductivity": sigma_ref,
        "anisotropy": float(eigen.max() / eigen.min()) if eigen.min() > 0 else float("inf"),
    }
    rows = []
    for a in range(dim):
        name = AXES[a]
        for b in range(dim):
            figures[f"sigma_{AXES[b]}{name}"] = float(tensor[b, a])
        diag = float(tensor[a, a])
        row: dict[str, Any] = {
            "axis": name,
            "sigma_eff": diag,
            "sigma_eff_over_sigma_ref": diag / sigma_ref,
            "tortuosity": eps * sigma_ref / diag if diag > 0 else float("inf"),
            "macmullin": sigma_ref / diag if diag > 0 else float("inf"),
            "volume_fraction": eps,
        }
        if sigma is not None:  # connectivity of the image's conducting voxels
            six = phase_connectivity(sigma > 0, a, 6)
            row["percolating_fraction"] = six.percolating
            row["dead_end_fraction"] = six.dead_end
            row["isolated_fraction"] = six.isolated
            row["percolating_fraction_26"] = phase_connectivity(sigma > 0, a, 26).percolating
        fit = convergence.get(f"sigma_{name}{name}")
        if fit is not None:
            row["sigma_eff_converged"] = fit.estimate
            row["sigma_eff_error_bar"] = fit.error_bar
            row["observed_order"] = fit.order
            figures[f"sigma_{name}{name}_converged"] = fit.estimate
            figures[f"sigma_{name}{name}_error_bar"] = fit.error_bar
            if fit.estimate > 0:
                figures[f"tortuosity_{name}_converged"] = eps * sigma_ref / fit.estimate
        figures[f"tortuosity_{name}"] = row["tortuosity"]
        figures[f"macmullin_{name}"] = row["macmullin"]
        for key in ("percolating_fraction", "dead_end_fraction", "isolated_fraction"):
            if key in row:
                figures[f"{key}_{name}"] = row[key]
        if "percolating_fraction_26" in row:
            figures[f"percolating_fraction_26_{name}"] = row["percolating_fraction_26"]
        rows.append(row)
    if paths is not None:
        figures.update(paths.figures())
        details["particle_paths"] = {"collector": collector, "separator": separator}
    summary = _summary(case, comm, started, {**details, "tensor": tensor.tolist()}, figures, t0)
    if comm.rank == 0:
        outdir.mkdir(parents=True, exist_ok=True)
        with open(outdir / "effective_properties.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        if convergence:
            _write_convergence(outdir / "convergence.csv", convergence)
        if paths is not None:
            paths.write_csv(outdir / "particles.csv")
            if plots:
                paths.plot(outdir / "particles.png", AXES[tensor.shape[0] - 1])
        if plots and sigma is not None:
            for s in (s for s in fv_solves if s.potential is not None):
                path = outdir / f"current_{AXES[s.axis]}.png"
                _plot_current(sigma, s, h, path, carrier)
        (outdir / "summary.json").write_text(json.dumps(summary, indent=2, default=_plain))
    return summary


def homogenize_seeds(
    case: Any, carrier: str, outdir: Path, seeds: int, comm: Any = None, **options: Any
) -> dict[str, Any]:
    """``homogenize`` for ``geometry.seed`` = seed, seed + 1, ... (``seeds`` of them) of a
    generated microstructure, each into ``outdir/seed_<n>`` (pictures for the first only),
    then their statistics: mean and sample standard deviation of every figure over the seeds
    (over the seeds where it is finite, their count in ``<figure>_finite_seeds`` when some
    are not) and, per axis, the percolation probability (share of seeds whose conducting
    phase connects the two faces). ``seeds.csv``: one row per seed. Returns the summary
    (collective)."""
    from mpi4py import MPI

    from sse_fem.runtime import now

    comm = comm or MPI.COMM_WORLD
    if case.geometry is None or case.geometry.type == "from_image":
        raise CaseError("--seeds needs a generated geometry (one with a seed)", "--seeds")
    if seeds < 1:
        raise CaseError(f"--seeds {seeds}; give 1 or more", "--seeds")
    t0, started = time.perf_counter(), now()
    first = case.geometry.seed
    plots = options.pop("plots", True)
    rows = []
    for n in range(first, first + seeds):
        one = case.model_copy(update={"geometry": case.geometry.model_copy(update={"seed": n})})
        out = outdir / f"seed_{n}"
        summary = homogenize(one, carrier, out, comm=comm, plots=plots and n == first, **options)
        rows.append({"seed": n} | summary["outputs"]["homogenize"])
    figures: dict[str, Any] = {"carrier": carrier, "seeds": seeds, "first_seed": first}
    keys = list(dict.fromkeys(k for r in rows for k in r))
    for key in keys:
        values = [r.get(key) for r in rows]
        if key == "seed" or not any(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
        ):
            continue
        finite = np.array([v for v in values if v is not None and np.isfinite(v)], float)
        # sample standard deviation; a seed without a finite value (no conducting path) is
        # left out and counted
        figures[f"{key}_mean"] = float(finite.mean()) if finite.size else None
        figures[f"{key}_std"] = float(finite.std(ddof=1)) if finite.size > 1 else None
        if finite.size < len(rows):
            figures[f"{key}_finite_seeds"] = int(finite.size)
    for axis in AXES[: case.dimension]:
        key = f"percolating_fraction_{axis}"
        if any(key in r for r in rows):
            figures[f"percolation_probability_{axis}"] = float(
                np.mean([(r.get(key) or 0.0) > 0 for r in rows])
            )
    runs = {"seeds": [r["seed"] for r in rows], "runs": [f"seed_{r['seed']}" for r in rows]}
    summary = _summary(case, comm, started, runs, figures, t0)
    if comm.rank == 0:
        with open(outdir / "seeds.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)
        (outdir / "summary.json").write_text(json.dumps(summary, indent=2, default=_plain))
    return summary


def _summary(
    case: Any, comm: Any, started: str, details: dict, figures: dict, t0: float
) -> dict[str, Any]:
    """The ``summary.json`` of a homogenisation: its details and figures (``outputs``)."""
    from sse_fem.runtime import now, provenance, versions

    return {
        "case": case.case.name,
        "status": "ok",
        "ranks": comm.size,
        "versions": versions(),
        "provenance": {**provenance(None), "started": started, "finished": now()},
        "homogenize": details,
        "timings": {"total_s": time.perf_counter() - t0},
        "outputs": {"homogenize": {k: _finite_or_none(v) for k, v in figures.items()}},
    }


def _write_convergence(path: Path, convergence: dict[str, Extrapolation]) -> None:
    """One row per property: its values per level, observed order, estimate, error bar."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["quantity", *(f"n={n}" for n in LEVELS), "observed_order", "estimate", "error_bar"]
        )
        for name, fit in convergence.items():
            order = "" if fit.order is None else f"{fit.order:.4g}"
            writer.writerow([name, *fit.values, order, fit.estimate, fit.error_bar])


def axis_current(sigma: np.ndarray, phi: np.ndarray, h: float, axis: int) -> np.ndarray:
    """Current density along ``axis`` per voxel [A/m^2 per V of drop]: the mean of the
    two-point fluxes through its two faces normal to ``axis`` (NaN where not solved)."""
    n = sigma.shape[axis]
    padded_phi = np.concatenate(
        [
            np.full_like(np.take(phi, [0], axis=axis), 1.0),
            phi,
            np.zeros_like(np.take(phi, [0], axis=axis)),
        ],
        axis=axis,
    )
    s = np.concatenate(
        [np.take(sigma, [0], axis=axis), sigma, np.take(sigma, [-1], axis=axis)], axis=axis
    )
    lo = np.take(padded_phi, range(0, n + 1), axis=axis)
    hi = np.take(padded_phi, range(1, n + 2), axis=axis)
    s_lo = np.take(s, range(0, n + 1), axis=axis)
    s_hi = np.take(s, range(1, n + 2), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2.0 * s_lo * s_hi / (s_lo + s_hi)
        flux = np.nan_to_num(g * (lo - hi) / h, nan=0.0)  # the outer faces: half a voxel away
    edge = [slice(None)] * sigma.ndim
    for k in (0, n):
        edge[axis] = slice(k, k + 1)
        flux[tuple(edge)] *= 2.0
    faces_lo = np.take(flux, range(0, n), axis=axis)
    faces_hi = np.take(flux, range(1, n + 1), axis=axis)
    out = 0.5 * (faces_lo + faces_hi)
    out[np.isnan(phi)] = np.nan
    return out


def _plot_current(sigma: np.ndarray, s: AxisSolve, h: float, path: Path, carrier: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert s.potential is not None
    j = axis_current(sigma, s.potential, h, s.axis)
    mean = np.nanmean(np.where(np.isnan(j), 0.0, j))
    ratio = j / mean if mean else j
    if ratio.ndim == 3:  # the mid-plane that contains the drive axis
        other = [a for a in range(3) if a != s.axis][0]
        ratio = np.take(ratio, ratio.shape[other] // 2, axis=other)
        axes_shown = [a for a in range(3) if a != other]
    else:
        axes_shown = [0, 1]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    extent = [0, ratio.shape[0] * h * 1e6, 0, ratio.shape[1] * h * 1e6]
    im = ax.imshow(np.ma.masked_invalid(ratio).T, origin="lower", extent=extent, cmap="magma")
    fig.colorbar(im, ax=ax, label=f"{carrier} current along {AXES[s.axis]} / mean [-]")
    ax.set_xlabel(f"{AXES[axes_shown[0]]} [µm]")
    ax.set_ylabel(f"{AXES[axes_shown[1]]} [µm]")
    ax.set_title(f"drive along {AXES[s.axis]} (non-conducting: blank)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _finite_or_none(value: Any) -> Any:
    """JSON has no infinity: a direction without a conducting path has no finite tortuosity."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _plain(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)
