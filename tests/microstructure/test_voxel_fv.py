"""Voxel finite volumes: laminates give the Wiener bounds exactly, along and across, in 2D and
3D, with the direct and the multigrid solve; a checkerboard gives its exact value."""

from __future__ import annotations

import numpy as np
import pytest

from sse_fem.microstructure import voxel_fv
from sse_fem.microstructure.voxel_fv import effective_tensor, solve_axis

H = 0.5e-6


def laminate(shape: tuple[int, ...], layers_axis: int, values: list[float]) -> np.ndarray:
    """Layers normal to ``layers_axis``, cycling through ``values`` one voxel thick each."""
    idx = np.arange(shape[layers_axis]) % len(values)
    sigma = np.asarray(values)[idx]
    view = [1] * len(shape)
    view[layers_axis] = shape[layers_axis]
    return np.broadcast_to(sigma.reshape(view), shape).copy()


@pytest.mark.parametrize("shape", [(12, 9), (10, 7, 6)])
@pytest.mark.parametrize("krylov", [False, True])
def test_laminates_give_the_wiener_bounds(shape, krylov, monkeypatch):
    if krylov:
        monkeypatch.setattr(voxel_fv, "DIRECT_MAX", 0)
    values = [0.1, 2.0, 0.5]
    dim = len(shape)
    layers_axis = dim - 1
    sigma = laminate(shape, layers_axis, values)
    fractions = np.bincount(np.arange(shape[layers_axis]) % 3, minlength=3) / shape[layers_axis]
    arithmetic = float(np.dot(fractions, values))
    harmonic = 1.0 / float(np.dot(fractions, 1.0 / np.asarray(values)))
    tensor, solves = effective_tensor(sigma, H)
    rtol = 1e-10 if not krylov else 1e-9
    for a in range(dim):
        expected = harmonic if a == layers_axis else arithmetic
        assert tensor[a, a] == pytest.approx(expected, rel=rtol)
        off = [tensor[b, a] for b in range(dim) if b != a]
        assert np.abs(off).max() <= 1e-12 * expected
    # the diagonal equals the current through the driven faces (conservation)
    for s in solves:
        area = np.prod([n * H for k, n in enumerate(shape) if k != s.axis])
        assert s.current_A * shape[s.axis] * H / area == pytest.approx(s.column[s.axis], rel=rtol)
    assert all((s.iterations > 0) == krylov for s in solves)


def test_insulating_voxels_and_islands_are_left_out():
    sigma = np.ones((6, 6))
    sigma[:, 2] = 0.0  # an insulating wall along x: two strips
    sigma[3, 4] = 0.0
    sigma[2:4, 3] = 0.0
    s = solve_axis(sigma, H, axis=0, keep_potential=True)
    assert s.unknowns == int((sigma > 0).sum())
    assert np.isnan(s.potential[sigma == 0]).all()
    # an isolated block: its voxels are no unknowns
    island = np.zeros((6, 6))
    island[:, 0] = 1.0
    island[2:4, 3:5] = 1.0
    s = solve_axis(island, H, axis=0)
    assert s.unknowns == 6
    assert s.column[0] == pytest.approx(1.0 / 6.0, rel=1e-12)  # one strip of six columns


def test_a_tilted_laminate_has_symmetric_negative_off_diagonals():
    """Stripes along (1, -1) (constant i + j): the conductive direction is tilted, so the mean
    current has a component across the drive: sigma = s_perp I + (s_par - s_perp) t t^T with
    t = (1, -1)/sqrt(2) has equal negative off-diagonals."""
    n = 40
    i, j = np.indices((n, n))
    sigma = np.where(((i + j) // 4) % 2 == 0, 1.0, 0.05)
    tensor, _ = effective_tensor(sigma, H)
    assert tensor[1, 0] < -0.05 * tensor[0, 0]
    assert tensor[0, 1] == pytest.approx(tensor[1, 0], rel=0.05)


@pytest.mark.mpi
@pytest.mark.parametrize("krylov", [False, True])
def test_the_distributed_solve_gives_the_serial_tensor(krylov, monkeypatch):
    """Rows split over the ranks (CG + GAMG or parallel LU): the tensor of a random
    three-phase image equals the one-rank tensor to the solver's tolerance; the laminate's
    Wiener bounds stay exact."""
    from mpi4py import MPI

    if krylov:
        monkeypatch.setattr(voxel_fv, "DIRECT_MAX", 0)
    rng = np.random.default_rng(7)
    sigma = rng.choice([0.0, 0.3, 1.0], size=(14, 12, 10), p=[0.35, 0.25, 0.4])
    serial, _ = effective_tensor(sigma, H, comm=MPI.COMM_SELF)
    parallel, solves = effective_tensor(sigma, H, comm=MPI.COMM_WORLD)
    np.testing.assert_allclose(parallel, serial, rtol=1e-9, atol=1e-12 * serial.max())
    assert all((s.iterations > 0) == krylov for s in solves)
    values = [0.1, 2.0, 0.5]
    tensor, _ = effective_tensor(laminate((9, 8, 12), 2, values), H, comm=MPI.COMM_WORLD)
    harmonic = 1.0 / np.mean(1.0 / np.asarray(values))
    assert tensor[2, 2] == pytest.approx(harmonic, rel=1e-9)
    assert tensor[0, 0] == pytest.approx(np.mean(values), rel=1e-9)


@pytest.mark.mpi
def test_periodic_cells_give_wiener_checkerboard_and_rayleigh(monkeypatch):
    """The image as one cell of a periodic medium: laminates give the Wiener bounds and a
    one-voxel checkerboard the harmonic mean of its two phases (every face conducts
    2 s1 s2 / (s1 + s2)), exactly, on any number of ranks; insulating disks in a square array
    approach Rayleigh's series from below (-0.7 % at 80^2 voxels per cell, half of the error
    at 40^2)."""
    from mpi4py import MPI

    from sse_fem.microstructure.periodic_fv import periodic_tensor

    comm = MPI.COMM_WORLD
    values = [0.1, 2.0, 0.5]
    for shape in [(12, 9), (10, 7, 6)]:
        tensor, _ = periodic_tensor(laminate(shape, len(shape) - 1, values), H, comm)
        harmonic = 1.0 / np.mean(1.0 / np.asarray(values))
        np.testing.assert_allclose(np.diag(tensor)[:-1], np.mean(values), rtol=1e-10)
        assert tensor[-1, -1] == pytest.approx(harmonic, rel=1e-10)
    checker = np.where(np.indices((10, 10)).sum(axis=0) % 2 == 0, 1.0, 0.2)
    tensor, _ = periodic_tensor(checker, H, comm)
    np.testing.assert_allclose(np.diag(tensor), 2 * 0.2 / 1.2, rtol=1e-10)
    specks = np.where(checker == 1.0, 1.0, 0.0)  # conducting voxels touch by corners only
    tensor, solves = periodic_tensor(specks, H, comm)
    assert np.all(tensor == 0.0) and solves[0].unknowns == 0
    errors = []
    monkeypatch.setattr(voxel_fv, "DIRECT_MAX", 0)  # CG + GAMG with the held voxel
    for n in (40, 80):
        x, y = np.indices((n, n)) + 0.5
        disk = (x - n / 2) ** 2 + (y - n / 2) ** 2 < 0.1 * n * n / np.pi
        f = disk.mean()
        tensor, _ = periodic_tensor(np.where(disk, 0.0, 1.0), H, comm)
        rayleigh = 1 - 2 * f / (1 + f - 0.305827 * f**4 / (1 - 1.402958 * f**8) - 0.013362 * f**8)
        errors.append(tensor[0, 0] / rayleigh - 1)
        assert tensor[1, 1] == pytest.approx(tensor[0, 0], rel=1e-9)  # square symmetry
        assert abs(tensor[1, 0]) < 1e-9 * tensor[0, 0]
    assert -0.01 < errors[1] < 0 and errors[0] < 1.5 * errors[1]
