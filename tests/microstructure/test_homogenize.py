"""``sse-fem homogenize``: tensors, tortuosity and connectivity of voxel-image cases."""

from __future__ import annotations

import csv
import json

from mpi4py import MPI

import numpy as np
import pytest
import yaml

from sse_fem.cli import main
from sse_fem.config.loader import validate_case
from sse_fem.errors import CaseError
from sse_fem.microstructure.homogenize import homogenize
from tests.conftest import CASES

H = "0.5 um"


def image_case(folder, image: np.ndarray, regions: list[dict], materials: dict) -> dict:
    """A case over ``image`` (saved into ``folder``; call on one rank)."""
    np.save(folder / "image.npy", image)
    return {
        "case": {"name": "img"},
        "geometry": {
            "type": "from_image",
            "dimension": image.ndim,
            "file": str(folder / "image.npy"),
            "voxel_size": H,
            "labels": {k: r["name"] for k, r in enumerate(regions)},
        },
        "materials": materials,
        "regions": regions,
        "physics": {"conduction": {}},
        "boundary_conditions": {
            "conduction": [
                {"name": "top", "type": "potential", "value": "10 mV"},
                {"name": "bottom", "type": "ground"},
            ]
        },
    }


MATERIALS = {
    "fast": {"category": "solid_electrolyte", "ionic_conductivity": "2 S/m"},
    "slow": {"category": "solid_electrolyte", "ionic_conductivity": "0.5 S/m"},
}


def test_a_laminate_gives_the_wiener_bounds_and_the_stated_tortuosity(tmp_path):
    image = np.zeros((6, 5, 8), dtype=np.uint8)
    image[:, :, 1::2] = 1  # layers normal to z, alternating fast | slow
    regions = [{"name": "a", "material": "fast"}, {"name": "b", "material": "slow"}]
    case = validate_case(image_case(tmp_path, image, regions, MATERIALS))
    out = homogenize(case, "ionic", tmp_path / "out")["outputs"]["homogenize"]
    along, across = 0.5 * (2 + 0.5), 1 / (0.5 / 2 + 0.5 / 0.5)
    assert out["sigma_xx"] == pytest.approx(along, rel=1e-10)
    assert out["sigma_yy"] == pytest.approx(along, rel=1e-10)
    assert out["sigma_zz"] == pytest.approx(across, rel=1e-10)
    assert out["volume_fraction"] == 1.0 and out["reference_conductivity"] == 2.0
    assert out["tortuosity_z"] == pytest.approx(
        1.0 * 2.0 / across, rel=1e-10
    )  # eps sigma_ref / sigma
    assert out["macmullin_x"] == pytest.approx(2.0 / along, rel=1e-10)
    assert out["anisotropy"] == pytest.approx(along / across, rel=1e-9)


def test_insulating_channels_conduct_along_only(tmp_path):
    """Straight conducting channels along z in an insulator (``carriers: []``): tortuosity 1
    along them, no path across (no finite tortuosity), the share of percolating voxels."""
    image = np.ones((8, 8, 6), dtype=np.uint8)
    image[::3, ::2, :] = 0  # channels of SE along z
    regions = [
        {"name": "se", "material": "fast"},
        {"name": "am", "material": "slow", "carriers": []},
    ]
    case = validate_case(image_case(tmp_path, image, regions, MATERIALS))
    summary = homogenize(case, "ionic", tmp_path / "out")
    out = summary["outputs"]["homogenize"]
    eps = float((image == 0).mean())
    assert out["volume_fraction"] == pytest.approx(eps)
    assert out["sigma_zz"] == pytest.approx(eps * 2.0, rel=1e-10)
    assert out["tortuosity_z"] == pytest.approx(1.0, rel=1e-10)
    assert out["sigma_xx"] == 0.0 and out["tortuosity_x"] is None
    assert (
        out["percolating_fraction_z"] == pytest.approx(eps) and out["percolating_fraction_x"] == 0.0
    )
    # the channels at x = 0 touch one x face (the high face is x = 7): dead ends
    assert out["dead_end_fraction_x"] == pytest.approx(4 * 6 / image.size)
    json.dumps(summary, allow_nan=False)  # valid JSON: no inf


def test_the_command_writes_table_pictures_report_and_shows_the_figures(tmp_path, capsys):
    out = tmp_path / "hom"
    assert (
        main(["homogenize", str(CASES / "tomography_microstructure" / "case.yaml"), "-o", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "tortuosity factor z" in printed and "effective conductivity zz" in printed
    with open(out / "effective_properties.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["axis"] for r in rows] == ["x", "y", "z"]
    summary = json.loads((out / "summary.json").read_text())
    tensor = np.array(summary["homogenize"]["tensor"])
    assert float(rows[2]["sigma_eff"]) == pytest.approx(tensor[2, 2])
    # the case README's table (fv row) and the percolating share
    figures = summary["outputs"]["homogenize"]
    quoted = {"sigma_xx": 0.0945, "sigma_yy": 0.1007, "sigma_zz": 0.0987, "tortuosity_z": 1.879}
    for key, value in quoted.items():
        assert figures[key] == pytest.approx(value, abs=6e-4 if value < 1 else 6e-4 * value), key
    assert figures["anisotropy"] == pytest.approx(1.271, abs=6e-4)
    assert figures["volume_fraction"] == pytest.approx(0.579, abs=6e-4)
    assert figures["percolating_fraction_z"] == pytest.approx(0.57937, abs=6e-6)
    assert np.abs(tensor - tensor.T).max() < 0.1 * np.diag(tensor).min()  # nearly symmetric
    for name in ("current_x.png", "current_z.png", "report.html", "case.resolved.yaml"):
        assert (out / name).exists()
    assert main(["show", str(out)]) == 0
    assert "MacMullin number z" in capsys.readouterr().out


def test_homogenize_needs_a_voxel_image(tmp_path):
    case = validate_case(yaml.safe_load((CASES / "symmetric_cell" / "case.yaml").read_text()))
    with pytest.raises(CaseError, match="voxel images") as err:
        homogenize(case, "ionic", tmp_path)
    assert err.value.path == "geometry.type"


@pytest.mark.mpi
def test_fem_on_a_laminate_gives_the_wiener_bounds_on_any_rank_count(shared_tmp):
    """The finite-element tensor (conduction on the voxel hexahedra, in parallel) of a
    laminate is exact too, and equals the finite-volume one (distributed as well)."""
    image = np.zeros((4, 3, 6), dtype=np.uint8)
    image[:, :, 1::2] = 1
    regions = [{"name": "a", "material": "fast"}, {"name": "b", "material": "slow"}]
    data = image_case(shared_tmp, image, regions, MATERIALS) if MPI.COMM_WORLD.rank == 0 else None
    case = validate_case(MPI.COMM_WORLD.bcast(data, root=0))
    out = homogenize(case, "ionic", shared_tmp / "fem", method="fem")["outputs"]["homogenize"]
    along, across = 0.5 * (2 + 0.5), 1 / (0.5 / 2 + 0.5 / 0.5)
    assert out["sigma_xx"] == pytest.approx(along, rel=1e-10)
    assert out["sigma_zz"] == pytest.approx(across, rel=1e-10)
    assert (
        abs(out["sigma_xz"]) < 1e-10 * along and abs(out["sigma_zx"]) < 1e-10 * along
    )  # solver tolerance
    fv = homogenize(case, "ionic", shared_tmp / "fv", method="fv")
    assert fv["ranks"] == MPI.COMM_WORLD.size
    for key in ("sigma_xx", "sigma_yy", "sigma_zz"):
        assert fv["outputs"]["homogenize"][key] == pytest.approx(out[key], rel=1e-10)


def test_dilute_insulating_spheres_give_maxwells_conductivity(tmp_path):
    """A gmsh RVE of insulating NMC spheres (10 vol%) in the SE: each diagonal entry within 2 %
    of Maxwell's 2 (1 - f) / (2 + f) (= the Hashin-Shtrikman upper bound for insulating
    inclusions; f the meshed particle fraction), off-diagonals below 2 % of the diagonal."""
    data = {
        "case": {"name": "maxwell"},
        "geometry": {
            "type": "composite_cathode",
            "dimension": 3,
            "width": "10 um",
            "thickness": "10 um",
            "seed": 4,
            "active": {"volume_fraction": 0.1, "radius": "1.5 um"},
            "mesh": {"size": "0.8 um", "interface_size": "0.3 um"},
        },
        "regions": [
            {"name": "active", "material": "NMC811"},
            {"name": "electrolyte", "material": "Li6PS5Cl"},
        ],
        "physics": {"conduction": {}},
        "boundary_conditions": {"conduction": [{"name": "bottom", "type": "ground"}]},
    }
    summary = homogenize(validate_case(data), "ionic", tmp_path, method="fem")
    out = summary["outputs"]["homogenize"]
    f = 1.0 - out["volume_fraction"]
    maxwell = 2 * (1 - f) / (2 + f)
    tensor = np.array(summary["homogenize"]["tensor"]) / out["reference_conductivity"]
    assert 0.09 < f < 0.11
    np.testing.assert_allclose(np.diag(tensor), maxwell, rtol=0.02)
    off = tensor - np.diag(np.diag(tensor))
    assert np.abs(off).max() < 0.02 * np.diag(tensor).min()


def test_the_tomography_readme_fem_row(tmp_path):
    """The fem row of cases/tomography_microstructure/README.md."""
    from sse_fem.config import load_case

    case = load_case(CASES / "tomography_microstructure" / "case.yaml", ["outputs.plots=false"])
    figures = homogenize(case, "ionic", tmp_path, method="fem")["outputs"]["homogenize"]
    quoted = {"sigma_xx": 0.1069, "sigma_yy": 0.1114, "sigma_zz": 0.1102}
    for key, value in quoted.items():
        assert figures[key] == pytest.approx(value, abs=6e-5), key
    assert figures["tortuosity_z"] == pytest.approx(1.682, abs=6e-4)
    assert figures["anisotropy"] == pytest.approx(1.248, abs=6e-4)


def _inclusions_case(folder, image: np.ndarray):
    """Label 0 conducts (2 S/m), label 1 is insulating; no pictures."""
    regions = [
        {"name": "se", "material": "fast"},
        {"name": "inclusion", "material": "slow", "carriers": []},
    ]
    data = image_case(folder, image, regions, MATERIALS)
    data["outputs"] = {"plots": False, "report": False}
    return validate_case(data)


def _disks(n: int, count: int, radius: float, seed: int) -> np.ndarray:
    """A 2D image: insulating disks (label 1, overlapping) in a conducting matrix (label 0)."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.arange(n) + 0.5, np.arange(n) + 0.5, indexing="ij")
    image = np.zeros((n, n), dtype=np.uint8)
    for cx, cy in rng.uniform(0, n, (count, 2)):
        image[(x - cx) ** 2 + (y - cy) ** 2 < radius**2] = 1
    return image


def test_subdivided_voxels_converge_fv_from_below_and_fem_from_above_to_one_value(tmp_path):
    """Sub-voxel convergence on a disk image: at 1, 2, 3 elements per voxel edge the fem
    values fall and the fv values rise (fem is an upper bound: its energy is the minimum over
    a subspace), fv stays below fem at every level, both have an observed order between 0.7
    and 2.5, and their extrapolated estimates agree within the error bars (and within 0.2 %)."""
    case = _inclusions_case(tmp_path, _disks(24, 9, 3.2, seed=3))
    fits = {}
    for method in ("fv", "fem"):
        summary = homogenize(case, "ionic", tmp_path / method, method=method, converged=True)
        fits[method] = summary["homogenize"]["convergence"]
        with open(tmp_path / method / "convergence.csv") as fh:
            assert [r["quantity"] for r in csv.DictReader(fh)] == ["sigma_xx", "sigma_yy"]
        assert summary["homogenize"]["subdivisions"] == 3
    for key in ("sigma_xx", "sigma_yy"):
        fv, fem = fits["fv"][key], fits["fem"][key]
        assert np.all(np.diff(fv["values"]) > 0) and np.all(np.diff(fem["values"]) < 0), key
        assert np.all(np.array(fv["values"]) < np.array(fem["values"])), key
        assert 0.7 < fv["order"] < 2.5 and 0.7 < fem["order"] < 2.5, (fv, fem)
        gap = abs(fv["estimate"] - fem["estimate"])
        assert gap < fv["error_bar"] + fem["error_bar"], (key, fv, fem)
        assert gap < 2e-3 * fem["estimate"], key  # 1e-5 and 3e-4 here
        # the estimate lies beyond the finest value, on the side it converges to
        assert fv["values"][-1] < fv["estimate"] and fem["estimate"] < fem["values"][-1]


def test_subdivisions_keep_a_laminate_exact_and_count_the_elements(tmp_path):
    image = np.zeros((4, 6), dtype=np.uint8)
    image[:, 1::2] = 1  # layers normal to y
    regions = [{"name": "a", "material": "fast"}, {"name": "b", "material": "slow"}]
    data = image_case(tmp_path, image, regions, MATERIALS)
    data["geometry"]["subdivisions"] = 3
    case = validate_case(data)
    along, across = 0.5 * (2 + 0.5), 1 / (0.5 / 2 + 0.5 / 0.5)
    for method in ("fv", "fem"):
        summary = homogenize(case, "ionic", tmp_path / method, method=method)
        out = summary["outputs"]["homogenize"]
        assert out["sigma_xx"] == pytest.approx(along, rel=1e-10), method
        assert out["sigma_yy"] == pytest.approx(across, rel=1e-10), method
    assert summary["homogenize"]["cells"] == image.size * 9
    with pytest.raises(CaseError, match="subdivisions"):
        data["geometry"]["subdivisions"] = 8
        data["geometry"]["mesh"] = {"max_elements": 1000}
        homogenize(validate_case(data), "ionic", tmp_path / "big", method="fv")


def _sphere_pack(n: int, count: int, radius: float, seed: int) -> np.ndarray:
    """A 3D image: overlapping insulating spheres (label 1) in a conducting matrix (0)."""
    rng = np.random.default_rng(seed)
    centre = np.stack(np.meshgrid(*[np.arange(n) + 0.5] * 3, indexing="ij"), axis=-1)
    image = np.zeros((n, n, n), dtype=np.uint8)
    for c in rng.uniform(0, n, (count, 3)):
        image[np.sum((centre - c) ** 2, axis=-1) < radius**2] = 1
    return image


def test_converged_estimates_of_a_sphere_pack_lie_within_their_error_bars_of_a_finer_one(
    tmp_path,
):
    """3D sphere pack: fv and fem at 1, 2, 3 elements per voxel edge converge (orders
    asserted) to one value, and each estimate lies within its error bar of a finer reference
    (fv at 2, 4, 6 per voxel edge, extrapolated the same way)."""
    from sse_fem.microstructure.convergence import extrapolate
    from sse_fem.microstructure.voxel_fv import effective_tensor

    image = _sphere_pack(10, 6, 2.3, seed=5)
    case = _inclusions_case(tmp_path, image)
    fits = {
        m: homogenize(case, "ionic", tmp_path / m, method=m, converged=True)["homogenize"][
            "convergence"
        ]["sigma_zz"]
        for m in ("fv", "fem")
    }
    sigma = np.where(image == 0, 2.0, 0.0)
    finer = []
    for n in (2, 4, 6):
        fine = sigma
        for axis in range(3):
            fine = np.repeat(fine, n, axis=axis)
        finer.append(float(effective_tensor(fine, 0.5e-6 / n, axes=(2,))[0][2, 2]))
    reference = extrapolate(tuple(finer), (2, 4, 6))
    assert reference.order is not None
    for method, fit in fits.items():
        assert 0.7 < fit["order"] < 2.5, (method, fit)
        assert abs(fit["estimate"] - reference.estimate) <= fit["error_bar"], (method, fit)
    assert fits["fv"]["values"][-1] < reference.estimate < fits["fem"]["values"][-1]
    gap = abs(fits["fv"]["estimate"] - fits["fem"]["estimate"])
    assert gap < 1e-3 * reference.estimate  # 3e-4 here


def test_periodic_option_of_the_command(tmp_path, capsys):
    """`--periodic` (fv): the tomography README's periodic row; no current pictures (the
    fluctuation is not drawn); with fem a one-line error."""
    case = str(CASES / "tomography_microstructure" / "case.yaml")
    out = tmp_path / "periodic"
    assert main(["homogenize", case, "--periodic", "-q", "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["homogenize"]["outer_faces"] == "periodic"
    figures = summary["outputs"]["homogenize"]
    for key, value in {"sigma_xx": 0.1005, "sigma_yy": 0.1037, "sigma_zz": 0.0963}.items():
        assert figures[key] == pytest.approx(value, abs=6e-5), key
    assert not (out / "current_z.png").exists()
    capsys.readouterr()
    assert main(["homogenize", case, "--periodic", "--method", "fem", "-o", str(out)]) == 2
    assert "--periodic works with --method fv" in capsys.readouterr().err


def test_the_composite_cathode_readme_electronic_tensor(tmp_path):
    """The electronic tensor of cases/composite_cathode_transport with conducting particles
    (its README): 4-7 % of the NMC's conductivity, far from isotropic."""
    from sse_fem.config import load_case

    overrides = [
        "regions.active.carriers=[electronic]",
        "regions.carbon.carriers=[electronic]",
        "outputs.plots=false",
    ]
    case = load_case(CASES / "composite_cathode_transport" / "case.yaml", overrides)
    summary = homogenize(case, "electronic", tmp_path, method="fem")
    figures = summary["outputs"]["homogenize"]
    for key, value in {"sigma_xx": 4.02e-4, "sigma_yy": 6.55e-4, "sigma_zz": 5.19e-4}.items():
        assert figures[key] == pytest.approx(value, abs=0.005e-4), key
    assert figures["anisotropy"] == pytest.approx(1.79, abs=0.005)
    tensor = np.array(summary["homogenize"]["tensor"])
    off = np.abs(tensor - np.diag(np.diag(tensor))).max()
    assert 0.17 < off / np.diag(tensor).min() < 0.21
    # the particle paths of the README
    assert figures["particles"] == 39 and figures["particles_electronic_path"] == 14
    assert figures["particle_volume_share_electronic_path"] == pytest.approx(0.8200, abs=5e-5)
    assert figures["particle_volume_share_ionic_path"] == 1.0
