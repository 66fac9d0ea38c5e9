"""3D slice maps (sampling checked against an exact field), the heat time-series plot, and the
pictures of a voided interface (gaps and blank voids, checked on the drawn figures)."""

from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

import numpy as np
import pytest
from dolfinx import fem, mesh

from sse_fem.io.plots import plot_heat_timeseries, plot_slice_3d, sample_plane
from tests.conftest import CASES


@pytest.fixture
def z_field() -> fem.Function:
    msh = mesh.create_box(
        MPI.COMM_WORLD, [[0, 0, 0], [1e-5, 1e-5, 2e-5]], [4, 4, 8], mesh.CellType.tetrahedron
    )
    f = fem.Function(fem.functionspace(msh, ("Lagrange", 1)))
    f.interpolate(lambda x: x[2])
    return f


@pytest.mark.mpi
def test_slice_3d_samples_and_draws(z_field: fem.Function, shared_tmp: Path) -> None:
    comm = z_field.function_space.mesh.comm
    grid_u, grid_v, values = sample_plane(z_field, normal=0, position=None, resolution=20)
    assert grid_u.shape == grid_v.shape == values.shape == (20, 10)  # (z, y), aspect kept
    if comm.rank == 0:
        assert np.isfinite(values).all()  # the whole x = 5 µm section lies in the box
        np.testing.assert_allclose(values, grid_v, rtol=0, atol=1e-12)

    path = shared_tmp / "slice.png"
    plot_slice_3d(z_field, path, "z [m]", normal=0)
    comm.Barrier()
    if comm.rank == 0:
        assert path.stat().st_size > 5000

    # Only cells with centre z < 10 µm (local indices): the upper half must come back blank.
    msh = z_field.function_space.mesh
    n = msh.topology.index_map(3).size_local + msh.topology.index_map(3).num_ghosts
    mid = mesh.compute_midpoints(msh, 3, np.arange(n, dtype=np.int32))
    lower = np.flatnonzero(mid[:, 2] < 1e-5).astype(np.int32)
    _, grid_v, values = sample_plane(z_field, 0, None, 20, cells=lower)
    if comm.rank == 0:
        assert np.isfinite(values[grid_v < 0.99e-5]).all()
        assert np.isnan(values[grid_v > 1.01e-5]).all()
        ok = np.isfinite(values)
        np.testing.assert_allclose(values[ok], grid_v[ok], rtol=0, atol=1e-12)
    half = shared_tmp / "half.png"
    plot_slice_3d(z_field, half, "z [m]", normal=0, cells=lower)
    comm.Barrier()
    if comm.rank == 0:
        assert half.stat().st_size > 5000


def test_heat_timeseries(tmp_path: Path) -> None:
    rows = [
        {
            "time_s": t,
            "heat.max_temperature_K": 300.0 + t,
            "heat.mean_temperature_K": 299.0 + t,
            "heat.min_temperature_K": 298.15,
            "heat.heat_joule_W": 1e-3 * t,
            "heat.heat_interface_W": 2e-4,
            "heat.heat_out_W": 5e-4 * t,
        }
        for t in (0.0, 1.0, 2.0)
    ]
    del rows[1]["heat.heat_interface_W"]  # a missing value is drawn as a gap
    plot_heat_timeseries(rows[:1], tmp_path)
    assert not (tmp_path / "heat.png").exists()
    plot_heat_timeseries(rows, tmp_path)
    assert (tmp_path / "heat.png").stat().st_size > 5000


def test_interface_chains_break_at_voids_and_follow_bends():
    """Segments [0,1], [1,2] (then a void) [3,4], and a bend down at x = 4: two chains,
    positions along the interface with the void's width as a gap."""
    from sse_fem.io.plots import interface_chains

    pts = [((3, 0), (4, 0)), ((1, 0), (0, 0)), ((1, 0), (2, 0)), ((4, 0), (4, -1))]
    vertices = np.array([[[x, y, 0.0] for x, y in seg] for seg in pts])
    chains = interface_chains(vertices)
    assert [list(c[0]) for c in chains] == [[1, 2], [0, 3]]
    np.testing.assert_allclose(chains[0][1], [0.5, 1.5])
    np.testing.assert_allclose(chains[1][1], [3.5, 4.5])  # the void [2, 3] stays empty


def test_voided_interface_pictures_leave_the_voids_empty(tmp_path: Path, monkeypatch) -> None:
    """li_void_stripping (2D): the interface current is drawn in pieces with a gap over each
    void (no line across it), and the pixels of a void in the metal's potential map are the
    blank background while the metal beside it is coloured."""
    from matplotlib.figure import Figure

    from sse_fem.config import load_case
    from sse_fem.driver import run_case
    from sse_fem.io import plots

    drawn: dict[str, Figure] = {}
    save = Figure.savefig

    def keep(fig: Figure, path: object, *args: object, **kwargs: object) -> None:
        drawn[Path(str(path)).name] = fig
        save(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.setattr(plots.plt, "close", lambda *a: None)
    case = load_case(CASES / "li_void_stripping" / "case.yaml", ["outputs.fields=false"])
    summary = run_case(case, outdir=str(tmp_path))
    assert summary["status"] == "ok"
    built = summary["mesh"]["builder"]
    voids = sorted(
        (c[0] * 1e6, r * 1e6)
        for c, r in zip(built["void_centres_m"], built["void_radii_m"], strict=True)
    )
    assert len(voids) == 2
    h = 0.25  # interface facet size [um]
    ax = drawn["interface_metal_electrolyte.png"].axes[0]
    pieces = sorted((ln.get_xdata().min(), ln.get_xdata().max()) for ln in ax.get_lines())
    assert len(pieces) == len(voids) + 1
    for (c, r), (left, right) in zip(voids, zip(pieces[:-1], pieces[1:], strict=True), strict=True):
        # the last point before the void and the first after it: facet midpoints at its rim
        assert left[1] == pytest.approx(c - r - h / 2, abs=h)
        assert right[0] == pytest.approx(c + r + h / 2, abs=h)
    xs = np.concatenate([ln.get_xdata() for ln in ax.get_lines()])
    assert not any(((xs > c - r) & (xs < c + r)).any() for c, r in voids)

    fig = drawn["phi_electronic.png"]  # the metal, with the voids cut out of it
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)
    (ax,) = [a for a in fig.axes if a.get_xlabel() == "x [µm]"]
    interface_y = 40.0  # um: the electrolyte thickness

    def pixel(x: float, y: float) -> np.ndarray:
        px, py = ax.transData.transform((x, y))
        return image[image.shape[0] - int(round(py)), int(round(px))]

    for c, r in voids:
        assert (pixel(c, interface_y + 0.5 * r) == 255).all()  # blank: no colour in the void
        assert (pixel(c, interface_y + 2.5 * r) != 255).any()  # metal above the void: drawn
    assert (pixel(25.0, interface_y + 1.0) != 255).any()  # metal in contact: drawn


def test_3d_conduction_shows_potential_slices_at_its_interface(tmp_path: Path, monkeypatch) -> None:
    """A 3D run gets a slice picture of each potential, cut just below the interface that
    carries the current (where its voids shape the field); meshing reports in run.log."""
    from sse_fem.config import load_case
    from sse_fem.driver import run_case
    from sse_fem.io import plots

    heights: dict[str, float] = {}
    draw = plots.plot_slice_3d

    def record(func, path, label, position=None, **kwargs):
        heights[Path(path).stem] = position
        return draw(func, path, label, position=position, **kwargs)

    monkeypatch.setattr(plots, "plot_slice_3d", record)
    overrides = ["geometry.mesh.size=4 um", "geometry.mesh.interface_size=1 um"]
    overrides.append("outputs.fields=false")
    case = load_case(CASES / "li_void_stripping" / "case_3d.yaml", overrides)
    summary = run_case(case, outdir=str(tmp_path))
    assert summary["status"] == "ok"
    for name in ("phi_ionic", "phi_electronic"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    interface_z = case.geometry.electrolyte_thickness  # the flat contact plane
    assert heights["phi_ionic"] == pytest.approx(interface_z, rel=5e-3)
    assert heights["phi_ionic"] < interface_z
    log = (tmp_path / "run.log").read_text()
    assert "meshing it with gmsh" in log and "meshed in" in log
