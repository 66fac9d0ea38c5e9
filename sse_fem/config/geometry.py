"""``geometry:`` block: one model per builder, selected by ``type``.

Each model lists the physical-group names its builder creates (``group_names``) so that a case
can be checked against them without meshing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from sse_fem.config.types import NonNegative, Positive, Strict

#: a mesh size in Debye lengths, "0.3 lambda_D": the smallest Debye length of the case's
#: Nernst-Planck regions (``sse_fem.config.schema``); replaced by its value before meshing
DEBYE_SIZE = re.compile(r"^\s*((?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*lambda_D\s*$")
DebyeMultiple = Annotated[str, StringConstraints(pattern=DEBYE_SIZE.pattern)]


class MeshControl(Strict):
    """Mesh sizes (gmsh characteristic lengths; each a length, or a multiple of the Debye
    length such as "0.3 lambda_D" in Nernst-Planck cases), parallel refinement and a guard
    against huge meshes."""

    #: global element size; default: builder's choice
    size: Positive("length") | DebyeMultiple | None = None
    #: size on interfaces (refinement)
    interface_size: Positive("length") | DebyeMultiple | None = None
    #: distance over which the size grows from interface_size to size
    size_growth_distance: Positive("length") | DebyeMultiple | None = None
    #: geometry order of the mesh cells: 1 (straight-sided cells; curved cells are not
    #: supported yet, so only 1 is accepted)
    order: Literal[1] = 1
    #: gmsh meshes with every size times 2^refinements (1/8 of the tetrahedra per level), then
    #: dolfinx splits every cell into 2^dim, ``refinements`` times, in parallel: about the mesh
    #: of the sizes above in a fraction of the meshing time (2D and 3D gmsh geometries). New
    #: vertices are edge midpoints, put back on exactly known surfaces (the voids of
    #: ``metal_se_interface``); other curved surfaces (particles) keep the coarse mesh's chords,
    #: and small features (narrow contact necks) may not mesh at the coarse size
    refinements: int = Field(default=0, ge=0, le=4)
    #: refuse (before meshing) a geometry whose estimated element count, from its measure and
    #: the sizes above (voxel count for images), exceeds this; raise it for very large runs
    max_elements: float = Field(default=2e7, gt=0)


class GeometryBase(Strict):
    #: whether ``mesh.refinements`` applies (simplex meshes made by gmsh)
    REFINABLE: ClassVar[bool] = True

    #: spatial dimension of the geometry: 1, 2 or 3
    dimension: Literal[1, 2, 3]
    #: mesh control: element sizes, parallel refinements, element-count guard
    mesh: MeshControl = MeshControl()
    #: seed of the random numbers of the builder (void, bump, particle and grain placement):
    #: the same seed gives the same geometry
    seed: int = 0

    @field_validator("mesh")
    @classmethod
    def _refinable(cls, mesh: MeshControl, info: ValidationInfo) -> MeshControl:
        if mesh.refinements and (info.data.get("dimension") == 1 or not cls.REFINABLE):
            what = "voxel meshes (one cell a voxel)" if not cls.REFINABLE else "1D geometries"
            raise ValueError(f"refinements must be 0 for {what}")
        return mesh

    def group_names(self) -> dict[str, list[str]]:
        """{'regions': [...], 'interfaces': [...], 'boundaries': [...]} created by the builder."""
        raise NotImplementedError


class Layer(Strict):
    #: region name of the layer (interfaces are named <lower>_<upper> from it)
    name: str = Field(min_length=1)
    #: thickness of the layer along the stacking axis [m]
    thickness: Positive("length")
    #: elements across the layer (overrides mesh.size); applied in 1D only
    cells: int | None = Field(default=None, ge=1)


class LayeredCell(GeometryBase):
    """Stack of layers along the last axis (x in 1D, y in 2D, z in 3D).

    Regions: the layer names. Interfaces between consecutive layers: ``<lower>_<upper>``.
    Boundaries: ``bottom`` (first layer's outer face), ``top`` (last layer's), ``sides`` (2D/3D).
    """

    #: selects this builder: "layered_cell"
    type: Literal["layered_cell"]
    #: the layers from bottom (first) to top (last), names unique
    layers: list[Layer] = Field(min_length=1)
    #: lateral size (2D, 3D) [m]; default the total thickness of the stack
    width: Positive("length") | None = None
    #: second lateral size (3D) [m]; default width
    depth: Positive("length") | None = None
    #: interfaces and boundaries (``bottom``, ``top``) where ``mesh.interface_size`` applies,
    #: growing linearly with distance (geometric cell sizes) to ``mesh.size`` over
    #: ``mesh.size_growth_distance``; default every interface. Space-charge layers need
    #: cells of about a third of the Debye length there
    refine_at: list[str] | None = None

    @field_validator("layers")
    @classmethod
    def _unique(cls, layers: list[Layer]) -> list[Layer]:
        names = [layer.name for layer in layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"layer names must be unique, repeated: {sorted(dup)}")
        return layers

    def group_names(self) -> dict[str, list[str]]:
        names = [layer.name for layer in self.layers]
        ifaces = [f"{a}_{b}" for a, b in zip(names[:-1], names[1:], strict=True)]
        bnds = ["bottom", "top"] + (["sides"] if self.dimension > 1 else [])
        return {"regions": names, "interfaces": ifaces, "boundaries": bnds}

    @model_validator(mode="after")
    def _refine_targets(self) -> LayeredCell:
        groups = self.group_names()
        allowed = groups["interfaces"] + ["bottom", "top"]
        for name in self.refine_at or []:
            if name not in allowed:
                raise ValueError(f"refine_at: {name!r} is none of {allowed}")
        if self.refine_at and self.mesh.interface_size is None:
            raise ValueError("refine_at needs mesh.interface_size (the size there)")
        return self


def box_faces(dim: int) -> tuple[list[str], dict[str, list[str]]]:
    """The outer faces of a box-shaped domain, ``x0 x1 y0 y1 [z0 z1]`` (low and high face
    normal to each axis), and their aliases: ``bottom``/``top`` the faces normal to the last
    axis, ``sides`` all the others."""
    axes = "xyz"[:dim]
    faces = [f"{a}{side}" for a in axes for side in "01"]
    last = axes[-1]
    aliases = {
        "bottom": [f"{last}0"],
        "top": [f"{last}1"],
        "sides": [f for f in faces if f[0] != last],
    }
    return faces, aliases


def _pairs(names: list[str]) -> list[str]:
    """``<a>_<b>`` for every pair, in the order of ``names`` (``a`` before ``b``)."""
    return [f"{a}_{b}" for k, a in enumerate(names) for b in names[k + 1 :]]


class Voids(Strict):
    """Voids at the metal | SE interface, cut out of the metal (holes: no cells)."""

    #: number of voids; give this or contact_fraction
    count: int | None = Field(default=None, ge=1)
    #: fraction of the interface area left in contact (the radii are scaled to reach it);
    #: give this or count
    contact_fraction: float | None = Field(default=None, gt=0, lt=1)
    #: footprint radius of a void on the interface (mean) [m]
    radius: Positive("length")
    #: standard deviation of the footprint radii [m] (normal distribution, clipped to 0.3-3 x
    #: radius); 0: all voids of one radius
    radius_std: NonNegative("length") = 0.0
    #: cap (spherical cap) or ellipse (half-ellipsoid; half-ellipse in 2D)
    shape: Literal["cap", "ellipse"] = "cap"
    #: depth of a void into the metal [m]; default radius (hemisphere)
    height: Positive("length") | None = None
    #: random (seeded, non-overlapping) or regular (evenly spaced)
    placement: Literal["random", "regular"] = "random"

    @model_validator(mode="after")
    def _one(self) -> Voids:
        if (self.count is None) == (self.contact_fraction is None):
            raise ValueError("give exactly one of `count` or `contact_fraction`")
        if self.shape == "cap" and self.height is not None and self.height > self.radius:
            raise ValueError("a cap is at most a hemisphere: height <= radius")
        return self


class Asperities(Strict):
    """Roughness of the interface: the SE surface bulges into the metal.

    2D: a sinusoid (or a seeded sum of sinusoids, ``random``) of amplitude ``amplitude``.
    3D: bumps (half-ellipsoids, height ``amplitude``, footprint diameter ``wavelength / 2``)
    on a square grid of pitch ``wavelength`` (``sinusoidal``) or placed at random.
    """

    #: sinusoidal (regular) or random (seeded)
    kind: Literal["sinusoidal", "random"] = "sinusoidal"
    #: amplitude of the 2D profile, height of the 3D bumps [m]
    amplitude: Positive("length")
    #: period of the 2D sinusoid (shortest period when random), grid pitch of the 3D bumps [m]
    wavelength: Positive("length")


class Filament(Strict):
    """A metal filament (or an empty crack) from the interface into the SE, tapered to a tip."""

    #: how far it reaches from the interface into the SE [m]
    length: Positive("length")
    #: width at the interface [m]
    width: Positive("length")
    #: radius of the rounded tip [m] (at most width / 2)
    tip_radius: Positive("length")
    #: lateral position of its axis, fraction of width
    position: float = Field(default=0.5, gt=0, lt=1)
    #: true: a metal-filled filament; false: an empty crack (its surface is void)
    filled: bool = True

    @model_validator(mode="after")
    def _tip(self) -> Filament:
        if 2 * self.tip_radius > self.width:
            raise ValueError("tip_radius must be <= width / 2")
        if self.length <= self.tip_radius:
            raise ValueError("length must exceed tip_radius")
        return self


class MetalSEInterface(GeometryBase):
    """A metal slab (top) on an SE layer (bottom), with interface voids, asperities, filament.

    Regions ``metal``, ``electrolyte``; interface ``metal_electrolyte`` (contacting part only);
    boundaries ``metal_terminal`` (outer metal face), ``electrolyte_terminal`` (outer SE face),
    ``sides`` and ``void_surface`` (voids or crack).
    """

    #: selects this builder: "metal_se_interface"
    type: Literal["metal_se_interface"]
    #: spatial dimension: 2 or 3
    dimension: Literal[2, 3]
    #: lateral size along x [m]
    width: Positive("length")
    #: lateral size along y (3D) [m]; default width
    depth: Positive("length") | None = None
    #: thickness of the metal slab (top) [m]
    metal_thickness: Positive("length")
    #: thickness of the SE layer (bottom) [m]
    electrolyte_thickness: Positive("length")
    #: voids at the interface; none: full contact (not with asperities)
    voids: Voids | None = None
    #: roughness of the interface; none: flat (not with voids)
    asperities: Asperities | None = None
    #: a metal filament or empty crack into the SE; none: no filament
    filament: Filament | None = None

    @model_validator(mode="after")
    def _fits(self) -> MetalSEInterface:
        if self.filament is not None and self.filament.length >= self.electrolyte_thickness:
            raise ValueError("filament.length must be < electrolyte_thickness")
        if self.voids is not None and self.asperities is not None:
            raise ValueError("give voids or asperities, not both")
        v = self.voids
        if v is not None and (v.height or v.radius) >= self.metal_thickness:
            raise ValueError("voids must be shallower than metal_thickness")
        return self

    def group_names(self) -> dict[str, list[str]]:
        bnds = ["metal_terminal", "electrolyte_terminal", "sides"]
        if self.voids is not None or (self.filament is not None and not self.filament.filled):
            bnds.append("void_surface")
        return {
            "regions": ["metal", "electrolyte"],
            "interfaces": ["metal_electrolyte"],
            "boundaries": bnds,
        }


class ParticlePhase(Strict):
    """Spherical (3D) or circular (2D) particles of one phase."""

    #: volume fraction of the composite layer taken by this phase
    volume_fraction: float = Field(gt=0, lt=0.7)
    #: mean particle radius [m] (volume-equivalent radius of spheroids)
    radius: Positive("length")
    #: particle sizes: monodisperse (one radius), normal or lognormal (need radius_std)
    distribution: Literal["monodisperse", "normal", "lognormal"] = "monodisperse"
    #: standard deviation of the radius [m]
    radius_std: NonNegative("length") = 0.0

    @model_validator(mode="after")
    def _std(self) -> ParticlePhase:
        if self.distribution != "monodisperse" and self.radius_std <= 0:
            raise ValueError(f"distribution {self.distribution!r} needs radius_std > 0")
        return self


class CompositeCathode(GeometryBase):
    """RVE of active particles (+ optional carbon, pores, coating) in an SE matrix.

    The composite layer spans the last axis (y in 2D, z in 3D), optionally between a
    current collector (below) and a separator (above). Particles are packed in a periodic
    box by collective rearrangement, then cut by the box faces.
    Regions: ``active``, ``electrolyte`` and those enabled; interfaces ``<a>_<b>`` between
    them in the order of ``PHASE_ORDER`` (``active_active``: contact necks).
    Boundaries: the outer faces ``x0 x1 y0 y1 [z0 z1]``; aliases ``bottom``, ``top`` (the
    faces normal to the last axis) and ``sides`` (the others).
    """

    PHASE_ORDER: ClassVar[tuple[str, ...]] = (
        "current_collector",
        "active",
        "carbon",
        "coating",
        "pores",
        "electrolyte",
        "separator",
    )

    #: selects this builder: "composite_cathode"
    type: Literal["composite_cathode"]
    #: spatial dimension: 2 or 3
    dimension: Literal[2, 3]
    #: lateral size(s) of the RVE [m]
    width: Positive("length")
    #: thickness of the composite layer along the last axis [m]
    thickness: Positive("length")
    #: the active-material particles (region active)
    active: ParticlePhase
    #: conductive-additive particles (region carbon); none: no carbon
    carbon: ParticlePhase | None = None
    #: pores, packed like particles (region pores); none: no pores
    pores: ParticlePhase | None = None
    #: coating shell on the active particles [m] (region coating); 0: uncoated
    coating_thickness: NonNegative("length") = 0.0
    #: > 1: spheroids of equal volume, long axis along x (all phases; packed in a scaled box)
    aspect_ratio: float = Field(default=1.0, ge=1.0, le=3.0)
    #: current-collector layer below the composite [m] (region current_collector); 0: none
    current_collector_thickness: NonNegative("length") = 0.0
    #: separator layer above the composite [m] (region separator); 0: none
    separator_thickness: NonNegative("length") = 0.0
    #: contact necks: touching particles overlap by this fraction of the smaller radius
    contact_overlap: float = Field(default=0.05, gt=0, le=0.3)
    #: gaps below this fraction of the smaller radius are closed into contacts
    min_gap: float = Field(default=0.05, gt=0, le=0.5)
    #: keep the circles where particles meet each other and the box faces off tangency, the
    #: CAD poles and seams off them, and each phase's volume despite the necks, and in 3D
    #: remesh finer around any tetrahedron still below quality 0.1 (worst tetrahedron >= 0.1
    #: where it was ~0.003); false: the earlier policy (gaps and face clearance only, no
    #: remeshing), which reproduces runs and case READMEs made with it
    cap_clearance: bool = True
    #: most particles one phase may need (a guard): more is a case error (raise it or the radius)
    max_particles: int = Field(default=2000, ge=1)

    @model_validator(mode="after")
    def _total(self) -> CompositeCathode:
        total = sum(p.volume_fraction for p in (self.active, self.carbon, self.pores) if p)
        if total > 0.62:
            raise ValueError(f"particle volume fractions add up to {total:.2f} > 0.62")
        return self

    def regions(self) -> list[str]:
        """Region names in ``PHASE_ORDER``."""
        on = {
            "current_collector": self.current_collector_thickness > 0,
            "active": True,
            "carbon": self.carbon is not None,
            "coating": self.coating_thickness > 0,
            "pores": self.pores is not None,
            "electrolyte": True,
            "separator": self.separator_thickness > 0,
        }
        return [p for p in self.PHASE_ORDER if on[p]]

    def group_names(self) -> dict[str, Any]:
        regions = self.regions()
        particles = [r for r in regions if r in ("active", "carbon", "coating", "pores")]
        ifaces = [p for p in _pairs(regions) if p != "current_collector_separator"]
        faces, aliases = box_faces(self.dimension)
        return {
            "regions": regions,
            "interfaces": ifaces + [f"{p}_{p}" for p in particles],
            "boundaries": faces,
            "aliases": aliases,
        }


class Polycrystal(GeometryBase):
    """Voronoi grains in a box; a grain-boundary phase of given thickness or tagged facets.

    Regions ``grains`` (+ ``grain_boundary`` when ``gb_thickness`` > 0); interface
    ``grain_boundaries`` (grain | grain facets) or ``grains_grain_boundary``;
    boundaries ``x0 x1 y0 y1 [z0 z1]``, aliases ``bottom``, ``top`` (last axis), ``sides``.
    """

    #: selects this builder: "polycrystal"
    type: Literal["polycrystal"]
    #: spatial dimension: 2 or 3
    dimension: Literal[2, 3]
    #: box size along x [m]
    width: Positive("length")
    #: box size along y (3D) [m]; default width
    depth: Positive("length") | None = None
    #: box size along the last axis [m]
    thickness: Positive("length")
    #: number of Voronoi grains (seeds in the box)
    grains: int = Field(ge=2, le=500)
    #: thickness of the grain-boundary phase [m] (region grain_boundary); 0: no such phase,
    #: the grain | grain facets are the interface grain_boundaries
    gb_thickness: NonNegative("length") = 0.0

    def group_names(self) -> dict[str, Any]:
        faces, aliases = box_faces(self.dimension)
        if self.gb_thickness > 0:
            regions, interfaces = ["grains", "grain_boundary"], ["grains_grain_boundary"]
        else:
            regions, interfaces = ["grains"], ["grain_boundaries"]
        return {
            "regions": regions,
            "interfaces": interfaces,
            "boundaries": faces,
            "aliases": aliases,
        }


def _image_groups(labels: dict[int, str], dimension: int) -> dict[str, Any]:
    """Groups of a voxel image: its regions, an interface per pair, the six (four) faces."""
    regions = sorted(set(labels.values()))
    faces, aliases = box_faces(dimension)
    return {
        "regions": regions,
        "interfaces": _pairs(regions),
        "boundaries": faces,
        "aliases": aliases,
    }


class FromImage(GeometryBase):
    """Segmented voxel image -> hexahedral (3D) / quadrilateral (2D) mesh, one cell a voxel.

    Array axes are (x, y[, z]). Regions: the values of ``labels``; interfaces ``<a>_<b>``
    (names sorted alphabetically) for every pair; boundaries ``bottom``, ``top`` (last axis),
    ``sides``.
    """

    REFINABLE: ClassVar[bool] = False

    #: selects this builder: "from_image"
    type: Literal["from_image"]
    #: number of image axes: 2 or 3
    dimension: Literal[2, 3]
    #: the segmented image: .npy, .tif/.tiff (tifffile), .raw (needs shape, dtype); relative to
    #: the case file
    file: str = Field(min_length=1)
    #: voxel label -> region name (labels may share a region; every label in the image needs one)
    labels: dict[int, str] = Field(min_length=1)
    #: edge length of one voxel [m]
    voxel_size: Positive("length")
    #: .raw only: the array shape, (x, y[, z])
    shape: list[int] | None = None
    #: .raw only: the numpy data type of a voxel, e.g. uint8, uint16
    dtype: str = "uint8"
    #: elements (finite volumes) per voxel edge: each voxel becomes n^dimension of them, all
    #: with its label (sub-voxel refinement: results converge as n grows); 1: one per voxel
    subdivisions: int = Field(default=1, ge=1, le=8)

    def group_names(self) -> dict[str, Any]:
        return _image_groups(self.labels, self.dimension)


class VoxelPacking(GeometryBase):
    """A voxel image of packed particles: spheres (disks) of the ``phases``, packed in a
    periodic box by collective rearrangement as in composite cathodes (particles of one phase
    in contact joined by a neck of the radius of the lens two equal spheres overlapping by
    ``contact_overlap`` of their radius would have, like pressed particles), then voxelised:
    a voxel takes the phase of a particle holding its centre (the first phase listed where
    they overlap), else ``matrix``. Treated like a ``from_image`` image (labels 0: matrix,
    1, 2, ...: the phases in order), e.g. a dry-mixed cathode of NMC and SE particles
    with pores. Regions: the phase names and ``matrix``; faces ``x0 x1 y0 y1 [z0 z1]``.
    """

    REFINABLE: ClassVar[bool] = False

    #: selects this builder: "voxel_packing"
    type: Literal["voxel_packing"]
    #: number of image axes: 2 or 3
    dimension: Literal[2, 3]
    #: lateral size(s) of the box [m]
    width: Positive("length")
    #: size along the last axis [m]
    thickness: Positive("length")
    #: edge length of one voxel [m]
    voxel_size: Positive("length")
    #: region name -> its particles (volume fraction of the box, radius, distribution)
    phases: dict[str, ParticlePhase] = Field(min_length=1)
    #: region name of the space between the particles
    matrix: str = Field(default="pores", min_length=1)
    #: contact necks: touching particles overlap by this fraction of the smaller radius
    contact_overlap: float = Field(default=0.2, gt=0, le=0.5)
    #: gaps below this fraction of the smaller radius are closed into contacts
    min_gap: float = Field(default=0.05, gt=0, le=0.5)
    #: most particles one phase may need (a guard)
    max_particles: int = Field(default=5000, ge=1)
    #: elements (finite volumes) per voxel edge, as for images
    subdivisions: int = Field(default=1, ge=1, le=8)

    @model_validator(mode="after")
    def _phases(self) -> VoxelPacking:
        total = sum(p.volume_fraction for p in self.phases.values())
        if total > 0.62:
            raise ValueError(f"phases: volume fractions add up to {total:.2f} > 0.62")
        if self.matrix in self.phases:
            raise ValueError(f"matrix: {self.matrix!r} is also a phase")
        for name, size in (("width", self.width), ("thickness", self.thickness)):
            if size < 4 * self.voxel_size:
                raise ValueError(f"{name} is less than 4 voxels")
        box = min(self.width, self.thickness)
        for name, ph in self.phases.items():
            if 2 * (ph.radius + 3 * ph.radius_std) >= box:
                raise ValueError(f"phases.{name}: particles as wide as the box; enlarge the box")
        return self

    @property
    def labels(self) -> dict[int, str]:
        """Voxel label -> region: 0 the matrix, then the phases in order."""
        return {0: self.matrix} | {k + 1: name for k, name in enumerate(self.phases)}

    def group_names(self) -> dict[str, Any]:
        return _image_groups(self.labels, self.dimension)


#: Registry of geometry models; builders of further types add theirs here.
GEOMETRY_MODELS: list[type[GeometryBase]] = [
    LayeredCell,
    MetalSEInterface,
    CompositeCathode,
    Polycrystal,
    FromImage,
    VoxelPacking,
]

#: geometry types that are voxel images (labels per voxel, ``subdivisions``)
IMAGE_TYPES = ("from_image", "voxel_packing")


def is_image(geometry: Any) -> bool:
    """Whether ``geometry`` (a geometry model or None) is a voxel image."""
    return geometry is not None and geometry.type in IMAGE_TYPES


def geometry_union():
    """Discriminated union over all registered geometry models (discriminator ``type``)."""
    models = tuple(GEOMETRY_MODELS)
    if len(models) == 1:
        return models[0]
    from typing import Union

    return Annotated[Union[models], Field(discriminator="type")]  # noqa: UP007
