"""``geometry.mesh.refinements``: gmsh at 2^N times the sizes, then N uniform refinements in
dolfinx, in parallel. Tags (owned and ghost entities), names, measures and shared-facet ghosting
survive; the symmetric cell still gives the exact voltage. Marked mpi: also run under
``mpirun -n 2`` and ``-n 3``."""

from __future__ import annotations

from types import SimpleNamespace

from mpi4py import MPI

import numpy as np
import pytest
import yaml
from dolfinx import la, mesh

from sse_fem.config import validate_case
from sse_fem.driver import Run
from sse_fem.errors import CaseError
from sse_fem.geometry.metal_se_interface import void_surfaces
from sse_fem.geometry.quality import quality_report
from sse_fem.materials import get_material
from sse_fem.mesh import MeshBundle, build_mesh
from sse_fem.mesh.refine import refine_bundle
from tests.physics.helpers import SYMMETRIC, symmetric_case, symmetric_voltage

WIDTH, LAYER = 20e-6, 10e-6  # lateral size and each layer's thickness [m]


def layered(dimension: int, refinements: int = 0) -> dict:
    return {
        "type": "layered_cell",
        "dimension": dimension,
        "width": "20 um",
        "layers": [{"name": "a", "thickness": "10 um"}, {"name": "b", "thickness": "10 um"}],
        "mesh": {"size": "5 um", "refinements": refinements},
    }


def owned(bundle: MeshBundle, dim: int, tag: int) -> int:
    """Global count of the entities of ``dim`` with ``tag`` (each counted on its owner)."""
    tags = bundle.cell_tags if dim == bundle.dim else bundle.facet_tags
    found = tags.find(tag)
    local = int(np.sum(found < bundle.mesh.topology.index_map(dim).size_local))
    return bundle.comm.allreduce(local, op=MPI.SUM)


def names(bundle: MeshBundle) -> tuple[dict, dict, dict]:
    return bundle.regions, bundle.interfaces, bundle.boundaries


@pytest.mark.mpi
@pytest.mark.parametrize(("dimension", "times"), [(2, 2), (3, 1)])
def test_refinement_keeps_tags_measures_and_shared_facet_ghosts(make_bundle, dimension, times):
    coarse = make_bundle(layered(dimension))
    fine = refine_bundle(coarse, times)
    assert names(fine) == names(coarse)
    d, axis = dimension, dimension - 1
    for tag in coarse.regions.values():
        assert owned(fine, d, tag) == 2 ** (d * times) * owned(coarse, d, tag)
    for tag in (coarse.interfaces | coarse.boundaries).values():
        assert owned(fine, d - 1, tag) == 2 ** ((d - 1) * times) * owned(coarse, d - 1, tag)
    # exact measures: flat faces are split, not moved
    lateral = WIDTH ** (d - 1)
    for region in ("a", "b"):
        assert fine.volume(region) == pytest.approx(lateral * LAYER, rel=1e-12)
    for name, area in (("a_b", lateral), ("bottom", lateral), ("top", lateral)):
        assert fine.area(name) == pytest.approx(area, rel=1e-12)
    assert fine.area("sides") == pytest.approx(2 * (d - 1) * WIDTH ** (d - 2) * 2 * LAYER)
    # every local (owned and ghost) cell and facet carries the right tag
    msh = fine.mesh
    cells = msh.topology.index_map(d)
    assert np.array_equal(fine.cell_tags.indices, np.arange(cells.size_local + cells.num_ghosts))
    mid = mesh.compute_midpoints(msh, d, fine.cell_tags.indices)
    assert np.array_equal(fine.cell_tags.values == fine.regions["a"], mid[:, axis] < LAYER)
    for name, level in (("a_b", LAYER), ("bottom", 0.0), ("top", 2 * LAYER)):
        at = mesh.compute_midpoints(msh, d - 1, fine.facets(name))[:, axis]
        assert np.allclose(at, level, rtol=0, atol=1e-12)
    sides = mesh.compute_midpoints(msh, d - 1, fine.facets("sides"))[:, :axis]
    on_side = np.isclose(sides, 0, rtol=0, atol=1e-12) | np.isclose(
        sides, WIDTH, rtol=0, atol=1e-12
    )
    assert np.all(np.any(on_side, axis=1))
    # shared-facet ghosting: an owned cell's facet with one local cell is on the boundary
    msh.topology.create_connectivity(d - 1, d)
    links = np.diff(msh.topology.connectivity(d - 1, d).offsets)
    c2f = msh.topology.connectivity(d, d - 1).array.reshape(-1, d + 1)[: cells.size_local]
    lone = np.unique(c2f[links[c2f] == 1])
    boundary = np.concatenate([fine.facets(n) for n in fine.boundaries])
    assert np.isin(lone, boundary).all()
    info = fine.info["mesh_refinement"]
    assert info["refinements"] == times
    assert info["cells"] == 2 ** (d * times) * info["coarse_cells"]


@pytest.mark.mpi
def test_refinement_keeps_the_element_quality(make_bundle):
    """Octahedra cut along their shortest diagonal: the worst element of the gmsh mesh stays
    the worst after two refinements (the longest-edge bisection of ``dolfinx.mesh.refine``
    loses 24 % of it on a jiggled box), and triangles split into four similar ones."""
    for dimension in (2, 3):
        coarse = make_bundle(layered(dimension))
        worst = [quality_report(refine_bundle(coarse, n).mesh)["quality_min"] for n in range(3)]
        assert worst[1] >= 0.9 * worst[0] and worst[2] >= worst[1] - 1e-12
        if dimension == 2:
            assert worst == pytest.approx([worst[0]] * 3, rel=1e-12)


@pytest.mark.mpi
def test_refinements_key_meshes_coarser_and_refines(make_bundle):
    direct = make_bundle(layered(3))
    refined = make_bundle(layered(3, refinements=1))
    assert names(refined) == names(direct)
    info = refined.info["mesh_refinement"]
    # gmsh meshed at twice the size: about 1/8 of the elements, refined back to about as many
    assert 0.5 < 8 * info["coarse_cells"] / direct.mesh.topology.index_map(3).size_global < 2
    assert refined.mesh.topology.index_map(3).size_global == 8 * info["coarse_cells"]
    # the estimate (checked against max_elements) counts the refined mesh
    assert refined.info["estimated_elements"] == direct.info["estimated_elements"]
    assert refined.area("a_b") == pytest.approx(WIDTH**2, rel=1e-12)


@pytest.mark.mpi
def test_refined_void_interface_keeps_its_groups(make_bundle):
    """Curved boundaries: names kept; the contact length is as exact as the coarse mesh's."""
    data = {
        "type": "metal_se_interface",
        "dimension": 2,
        "width": "30 um",
        "metal_thickness": "10 um",
        "electrolyte_thickness": "10 um",
        "voids": {"count": 3, "radius": "3 um"},
        "mesh": {"size": "2 um", "refinements": 1},
    }
    refined = make_bundle(data)
    assert names(refined) == names(make_bundle(data | {"mesh": {"size": "2 um"}}))
    # flat contact: the chords of the void rims end on the interface line, exact length
    exact = refined.info["interface_area_m"]
    assert refined.area("metal_electrolyte") == pytest.approx(exact, rel=1e-12)
    assert refined.area("void_surface") > 0


@pytest.mark.mpi
@pytest.mark.parametrize("dimension", [2, 3])
def test_refined_symmetric_cell_gives_the_exact_voltage(dimension, shared_tmp):
    case = symmetric_case(dimension, size="25 um" if dimension == 3 else "10 um")
    case.geometry.mesh.refinements = 1
    summary = Run(case, outdir=str(shared_tmp)).execute()
    assert summary["status"] == "ok"
    sigma = get_material("LLZO_Ta").get("ionic_conductivity")
    exact = symmetric_voltage(10.0, 100e-6, sigma, 10.0, 298.15, contact=1e-9)
    assert summary["results"]["conduction.voltage_V"] == pytest.approx(exact, rel=1e-6)
    done = summary["mesh"]["builder"]["mesh_refinement"]
    assert done["refinements"] == 1
    assert summary["mesh"]["cells"] == done["cells"] == 2**dimension * done["coarse_cells"]


@pytest.mark.parametrize(
    ("dimension", "refinements", "message"),
    [
        (1, 1, "geometry.mesh: refinements must be 0 for 1D geometries"),
        (2, 5, "geometry.mesh.refinements: Input should be less than or equal to 4"),
        (2, -1, "geometry.mesh.refinements: Input should be greater than or equal to 0"),
    ],
)
def test_refinements_are_checked_with_the_case(dimension, refinements, message):
    data = yaml.safe_load(SYMMETRIC.read_text())
    data["geometry"]["dimension"] = dimension
    data["geometry"]["mesh"]["refinements"] = refinements
    with pytest.raises(CaseError, match=message):
        validate_case(data)


def test_voxel_images_cannot_be_refined(make_geometry):
    data = {
        "type": "from_image",
        "dimension": 2,
        "file": "img.npy",
        "labels": {0: "se"},
        "voxel_size": "1 um",
        "mesh": {"refinements": 1},
    }
    with pytest.raises(ValueError, match="refinements must be 0 for voxel meshes"):
        make_geometry(data)


def cap_distance(points: np.ndarray, info: dict, zi: float) -> np.ndarray:
    """Distance [m] of points from the nearest hemispherical void (centre on the plane z = zi)."""
    r = np.asarray(info["void_radii_m"])
    centres = np.column_stack([np.asarray(info["void_centres_m"]), np.full(r.size, zi)])
    return np.abs(np.linalg.norm(points[:, None] - centres[None], axis=2) - r[None]).min(axis=1)


@pytest.mark.mpi
def test_refined_void_vertices_are_put_back_on_the_caps(make_bundle):
    """Vertices of curved void facets lie on the exact hemispheres (the same on every rank);
    without it they would sit on the coarse chords, up to ~12 % of the radius inside."""
    data = {
        "type": "metal_se_interface",
        "dimension": 3,
        "width": "12 um",
        "metal_thickness": "4 um",
        "electrolyte_thickness": "4 um",
        "voids": {"count": 2, "radius": "2 um", "placement": "regular"},
        "mesh": {"size": "1.5 um", "refinements": 1},
    }
    b = make_bundle(data)
    zi, msh = 4e-6, b.mesh
    done = b.info["mesh_refinement"]
    assert done["snapped_group"] == "void_surface"
    assert 0 < done["snap_max_displacement_m"] < 0.15 * 2e-6
    nodes = mesh.entities_to_geometry(msh, 2, b.facets("void_surface"))
    x = msh.geometry.x[nodes]
    curved = np.any(x[:, :, 2] > zi + 1e-12, axis=1)
    assert np.all(cap_distance(x[curved].reshape(-1, 3), b.info, zi) < 1e-12)
    # a ghost vertex has its owner's coordinates
    vec = la.vector(msh.geometry.index_map(), bs=3)
    vec.array[:] = msh.geometry.x.ravel()
    vec.scatter_forward()
    assert np.array_equal(vec.array.reshape(-1, 3), msh.geometry.x)
    assert quality_report(msh)["quality_min"] > 0.1
    # flat contact: exact area (the rim vertices are on the rim circles)
    assert b.area("metal_electrolyte") == pytest.approx(b.info["interface_area_m"], rel=2e-3)


def test_void_surfaces_pick_the_void_whose_surface_is_nearest(make_geometry):
    """A rim point of a big void can be nearer a small neighbour's centre than its own."""
    cfg = make_geometry(
        {
            "type": "metal_se_interface",
            "dimension": 3,
            "width": "12 um",
            "metal_thickness": "4 um",
            "electrolyte_thickness": "4 um",
            "voids": {"count": 2, "radius": "2 um", "shape": "ellipse", "height": "1 um"},
        }
    )
    report = {"void_radii_m": [3e-6, 1e-6], "void_centres_m": [[3.2e-6, 5e-6], [7.5e-6, 5e-6]]}
    group, move = void_surfaces(cfg, report)
    assert group == "void_surface"
    zi = 4e-6
    # one curved facet of the big void: a rim chord midpoint (facing the small void), a rim
    # vertex and a point inside the half-ellipsoid (semi-axes 3, 3, 1 um)
    facet = np.array([[[6.19e-6, 5e-6, zi], [6.2e-6, 5e-6, zi], [3.2e-6, 5e-6, zi + 0.9e-6]]])
    flat = np.array([[[3e-6, 5e-6, zi], [3.5e-6, 5e-6, zi], [3.2e-6, 5.5e-6, zi]]])
    out = move(np.concatenate([facet, flat]))
    assert out[0, 0] == pytest.approx([6.2e-6, 5e-6, zi], abs=1e-15)
    assert out[0, 1] == pytest.approx([6.2e-6, 5e-6, zi], abs=1e-15)
    assert out[0, 2] == pytest.approx([3.2e-6, 5e-6, zi + 1e-6], abs=1e-15)
    assert np.isnan(out[1]).all()  # the SE under the void: flat, no opinion


def test_gmsh_meshes_at_the_coarse_size_and_a_failure_says_so(make_geometry, monkeypatch):
    import gmsh

    import sse_fem.geometry

    factors = []

    def fail(cfg):
        factors.append(gmsh.option.getNumber("Mesh.MeshSizeFactor"))
        raise Exception("HXT 3D mesh failed")

    monkeypatch.setitem(sse_fem.geometry.GMSH_BUILDERS, "layered_cell", fail)
    case = SimpleNamespace(
        mesh=None, geometry=make_geometry(layered(3, 2)), case=SimpleNamespace(name="t")
    )
    with pytest.raises(CaseError) as err:
        build_mesh(case)
    assert factors == [4.0]
    assert str(err.value) == (
        "geometry: gmsh could not mesh this geometry: HXT 3D mesh failed (at 4 times the "
        "element sizes, for geometry.mesh.refinements = 2: use fewer refinements)"
    )


@pytest.mark.mpi
def test_a_rank_without_cells_refines_too():
    """Every cell on rank 0 (the others hold none): the collective split must not stop there."""
    import basix.ufl
    import ufl
    from dolfinx import cpp, fem

    from sse_fem.mesh.refine import _split

    comm = MPI.COMM_WORLD
    box = mesh.create_unit_cube(MPI.COMM_SELF, 2, 2, 2)
    here = comm.rank == 0
    cells = box.geometry.dofmaps[0].astype(np.int64) if here else np.zeros((0, 4), np.int64)
    x = box.geometry.x if here else np.zeros((0, 3))
    element = basix.ufl.element("Lagrange", "tetrahedron", 1, shape=(3,))

    def to_rank_0(comm, parts, types, local):
        return cpp.graph.AdjacencyList_int32(np.zeros(local[0].size // 4, dtype=np.int32))

    whole = mesh.create_mesh(comm, cells, ufl.Mesh(element), x, partitioner=to_rank_0)
    assert whole.topology.index_map(3).size_local == (48 if here else 0)
    fine, parent, _ = _split(whole)
    assert fine.topology.index_map(3).size_global == 8 * 48
    volume = fem.assemble_scalar(fem.form(fem.Constant(fine, 1.0) * ufl.dx))
    assert comm.allreduce(volume) == pytest.approx(1.0, rel=1e-12)
    assert parent.size == (8 * 48 if here else 0)
