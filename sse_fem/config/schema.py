"""The case-file schema: one pydantic model per block of the design brief.

Values with units arrive as strings and are stored in SI. Cross-block consistency (regions
name materials, interfaces and boundaries exist in the geometry, ...) is checked in
``check_consistency``; everything raises ``CaseError`` through ``sse_fem.config.loader``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_serializer, model_validator

from sse_fem.config.geometry import geometry_union
from sse_fem.config.petsc_policy import PetscOptions
from sse_fem.config.types import NonNegative, Positive, Quantity, Strict
from sse_fem.errors import CaseError
from sse_fem.materials.properties import PROPERTIES
from sse_fem.materials.registry import CATEGORIES, check_property_name


class CaseInfo(Strict):
    #: case name (letters, digits, _ . -): names the default output folder results/<name>
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    #: free text about the case, shown in report.html
    description: str = ""
    #: operating temperature [K]: the shared quantity ``temperature`` wherever no physics
    #: solves for it (and the initial temperature of a physics that does)
    temperature: Positive("temperature") = 298.15


class MeshFile(Strict):
    """``mesh:`` block: a mesh file instead of a generated geometry."""

    #: .msh (gmsh) or any meshio format; relative to the case file
    file: str = Field(min_length=1)
    #: spatial dimension of the mesh: 1, 2 or 3
    dimension: Literal[1, 2, 3]
    #: length of one mesh unit, e.g. "1 um"
    scale: Positive("length") = 1.0


class MaterialSpec(Strict):
    """A case material: a library ``base`` plus inline property overrides (strings with units)."""

    model_config = Strict.model_config | {"extra": "allow"}
    #: library material to start from (`sse-fem materials` lists them); none: a new material
    base: str | None = None
    #: kind of a new material (without base): solid_electrolyte, polymer_electrolyte, metal,
    #: active_material, coating, conductive_additive or current_collector; ignored with base
    category: Literal[CATEGORIES] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> MaterialSpec:
        if self.base is None and self.category is None:
            raise ValueError("give `base` (a library material) or `category` for a new one")
        for key in self.model_extra or {}:
            try:
                check_property_name(key, key)
            except CaseError as err:
                raise ValueError(str(err)) from None
        return self

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Region(Strict):
    #: region name: a gmsh physical group of the geometry or mesh file
    name: str = Field(min_length=1)
    #: case material or library material name
    material: str = Field(min_length=1)
    #: charge carriers conducted; default from the material category; [] = insulating
    carriers: list[Literal["ionic", "electronic"]] | None = None


def _unit_string(value: object, dimension: str | None) -> object:
    """An SI value (or a list of them) written with its unit (``case.resolved.yaml``)."""
    from sse_fem.units import format_si

    if dimension is None or value is None:
        return value
    if isinstance(value, list):
        return [_unit_string(v, dimension) for v in value]
    return format_si(float(value), dimension)  # type: ignore[arg-type]


def _moved(old: str, new: str) -> ValueError:
    return ValueError(f"`{old}` has moved: write it as `{new}`")


class ConductionPhysics(Strict):
    """Electroneutral Ohmic conduction of ions and electrons (cell and microstructure scale)."""

    #: sigma(T) from activation_energy and reference_temperature (ionic conductivities with an
    #: activation energy); false: every conductivity at its reference value
    arrhenius: bool = True

    @model_validator(mode="before")
    @classmethod
    def _old_layout(cls, data: Any) -> Any:
        if isinstance(data, dict) and "temperature" in data:
            raise _moved("physics.conduction.temperature", "case.temperature")
        return data


class HeatSources(Strict):
    """Heat sources, each switchable (all on by default)."""

    #: Joule heat sigma |grad phi|^2 in every conductor
    joule: bool = True
    #: irreversible reaction heat i eta at interfaces
    interface: bool = True
    #: i^2 R_film of interface films
    film: bool = True
    #: entropic heat i T dU/dT
    reversible: bool = True
    #: j^2 R_c of the terminal contact
    contact: bool = True


class VolumetricHeatSource(Strict):
    """A given heat source [W/m^3] in some regions."""

    #: regions that get the source
    regions: list[str] = Field(min_length=1)
    #: heat per volume [W/m^3]
    value: Quantity("power_density")


class HeatPhysics(Strict):
    """Transient heat conduction with electrochemical sources (``sse_fem.physics.heat``)."""

    #: two_way: the temperature feeds sigma(T), i0(T), RT/F and U(T) (monolithic);
    #: one_way: sources only, electrical properties at the initial temperature
    coupling: Literal["two_way", "one_way"] = "two_way"
    #: switches of the electrochemical heat sources (all on by default)
    sources: HeatSources = HeatSources()
    #: given heat sources in some regions, added to the others
    volumetric_sources: list[VolumetricHeatSource] = Field(default_factory=list)


class ChemicalStrain(Strict):
    """A prescribed chemical (lithiation) eigenstrain in some regions: a linear ``strain``, or a
    ``concentration_change`` turned into Omega dc / 3 with the region material's
    ``partial_molar_volume``."""

    #: regions with this eigenstrain
    regions: list[str] = Field(min_length=1)
    #: linear (isotropic) eigenstrain, e.g. 0.01; or concentration_change
    strain: float | None = Field(default=None, gt=-0.5, lt=0.5)
    #: change of concentration dc [mol/m^3], giving the strain Omega dc / 3; or strain
    concentration_change: Quantity("concentration") | None = None

    @model_validator(mode="after")
    def _one(self) -> ChemicalStrain:
        if (self.strain is None) == (self.concentration_change is None):
            raise ValueError("give exactly one of `strain` and `concentration_change`")
        return self


class MechanicsPhysics(Strict):
    """Small-strain linear elasticity with thermal and chemical eigenstrain
    (``sse_fem.physics.mechanics``)."""

    #: 2D only: plane strain (thick, constrained out of plane) or plane stress (thin)
    formulation: Literal["plane_strain", "plane_stress"] = "plane_strain"
    #: stress-free temperature of the thermal strain alpha (T - T_ref); default case.temperature
    reference_temperature: Positive("temperature") | None = None
    #: prescribed chemical (lithiation) eigenstrains; entries on one region add up
    chemical_strain: list[ChemicalStrain] = Field(default_factory=list)
    #: monolithic: stress and temperature cross between the physics within the step (one
    #: Newton solve); staggered: each sees the other's value of the previous step (transient)
    coupling: Literal["monolithic", "staggered"] = "monolithic"
    #: hold the rigid-body modes by the minimal point constraints (3-2-1 in 3D, 2-1 in 2D):
    #: for free bodies such as RVEs loaded by eigenstrain, without over-constraining
    hold_rigid_modes: bool = False


class SolidDiffusionPhysics(Strict):
    """Fickian diffusion of the working ion in active-material particles
    (``sse_fem.physics.solid_diffusion``): the stoichiometry x = c / c_max is the unknown."""

    #: active-material regions; default every region whose material is an active material
    regions: list[str] | None = Field(default=None, min_length=1)
    #: 1D only: the interval is the radius of a sphere centred at its lower end (r^2 weight)
    symmetry: Literal["none", "spherical"] = "none"
    #: charge number of the working ion (1: Li+, Na+, K+; 2: Mg2+, Zn2+, Ca2+; 3: Al3+)
    charge_number: int = Field(default=1, ge=1, le=3)
    #: the working ion drifts up the hydrostatic stress of physics.mechanics
    #: (mu = RT ln x - Omega sigma_h, Omega the material's partial_molar_volume)
    stress_driven_flux: bool = False


#: an ion's name: letters and digits, then its charge signs (Li+, Mg2+, TFSI-, PF6-)
SPECIES_NAME = r"^[A-Za-z][A-Za-z0-9]*[+-]*$"


class Species(Strict):
    """A mobile ion of Nernst-Planck transport. Its properties are one value, or one per
    region (``{cathode: ..., electrolyte: ...}``, every region of the species): a species in
    two regions is in equilibrium across their interface (its electrochemical potential is
    continuous; the step of standard chemical potential between the phases builds the
    space-charge layers there)."""

    #: ion name: letters and digits, then its charge signs (Li+, Mg2+, TFSI-)
    name: str = Field(pattern=SPECIES_NAME)
    #: z: +1 Li+, +2 Mg2+, +3 Al3+, -1 TFSI- (not 0)
    charge_number: int = Field(ge=-3, le=3)
    #: D [m^2/s]: one value, or one per region
    diffusivity: Positive("diffusivity") | dict[str, Positive("diffusivity")]
    #: uniform per region [mol/m^3]
    initial_concentration: Positive("concentration") | dict[str, Positive("concentration")]
    #: lattice saturation (Bikerman / lattice gas): mu = mu0 + RT ln(c / (c_max - c)); none:
    #: dilute, mu = mu0 + RT ln(c / c_ref)
    max_concentration: (
        Positive("concentration") | dict[str, Positive("concentration") | None] | None
    ) = None
    #: mu0 per region (J/mol or eV per ion); only differences between regions matter
    standard_chemical_potential: Quantity("molar_energy") | dict[str, Quantity("molar_energy")] = (
        0.0
    )
    #: Omega: couples the ion to the hydrostatic stress of physics.mechanics,
    #: mu = mu0 + RT ln(...) - Omega sigma_h (tension > 0 draws ions in); none: uncoupled
    partial_molar_volume: (
        Quantity("molar_volume") | dict[str, Quantity("molar_volume") | None] | None
    ) = None
    #: regions where it moves; default the regions of physics.nernst_planck
    regions: list[str] | None = Field(default=None, min_length=1)

    #: the per-region properties
    PER_REGION: ClassVar[tuple[str, ...]] = (
        "diffusivity",
        "initial_concentration",
        "max_concentration",
        "standard_chemical_potential",
        "partial_molar_volume",
    )

    def value(self, key: str, region: str) -> float | None:
        """Property ``key`` in ``region`` (SI)."""
        v = getattr(self, key)
        return v.get(region) if isinstance(v, dict) else v

    @model_validator(mode="after")
    def _consistent(self) -> Species:
        if self.charge_number == 0:
            raise ValueError("charge_number 0: a neutral species carries no current here")
        for key in self.PER_REGION:
            per_region = getattr(self, key)
            if isinstance(per_region, dict) and self.regions is not None:
                missing = sorted(set(self.regions) - set(per_region))
                extra = sorted(set(per_region) - set(self.regions))
                if missing or extra:
                    raise ValueError(
                        f"{key}: give one value per region of the species {self.regions}"
                        + (f"; missing {missing}" if missing else "")
                        + (f"; not a region of the species: {extra}" if extra else "")
                    )
        for region in self.regions or [None]:
            c0 = self.value("initial_concentration", region) if region else None
            c_max = self.value("max_concentration", region) if region else None
            if not isinstance(self.initial_concentration, dict):
                c0 = self.initial_concentration
            if not isinstance(self.max_concentration, dict):
                c_max = self.max_concentration
            if c0 is not None and c_max is not None and c0 >= c_max:
                raise ValueError(
                    f"initial_concentration ({c0:g} mol/m^3) must be below max_concentration "
                    f"({c_max:g} mol/m^3)" + (f" in {region}" if region else "")
                )
        return self


class FixedCharge(Strict):
    """An immobile background charge z_fix c_fix in some regions (the anion framework of a
    single-ion conductor, dopants)."""

    #: regions with this background charge
    regions: list[str] = Field(min_length=1)
    #: c_fix [mol/m^3] of the immobile charged sites
    concentration: Positive("concentration")
    #: z_fix of the immobile charge, e.g. -1 for an anion framework (not 0)
    charge_number: int = Field(ge=-3, le=3)

    @model_validator(mode="after")
    def _charged(self) -> FixedCharge:
        if self.charge_number == 0:
            raise ValueError("charge_number 0 adds no charge: remove this entry")
        return self


class SaltPropertyExpression(Strict):
    """A property of a binary salt as an expression of its concentration ``c`` (in
    ``concentration_unit``), e.g. ``{expression: '0.05*c*exp(-0.6*c)', unit: S/m,
    concentration_unit: mol/L}`` (``sse_fem.expressions``: arithmetic and exp, log, sqrt,
    tanh, ...; nothing else)."""

    #: the property as an expression of c
    expression: str = Field(min_length=1, max_length=1000)
    #: the unit the expression's value is in (e.g. S/m, m^2/s; 1 for dimensionless)
    unit: str = "1"
    #: the unit c is given in
    concentration_unit: str = "mol/m^3"


class SaltPropertyTable(Strict):
    """A property of a binary salt as a table of the concentration ``c`` (in
    ``concentration_unit``), piecewise linear between the points and extended linearly
    beyond them, e.g. ``{c: [0.5, 1, 1.5], values: [0.3, 0.1, -0.2], concentration_unit:
    mol/L}``."""

    #: concentrations, strictly increasing (at least 2, at most 200)
    c: list[float] = Field(min_length=2, max_length=200)
    #: the property at each concentration
    values: list[float] = Field(min_length=2, max_length=200)
    #: the unit of the values (e.g. S/m, m^2/s; 1 for dimensionless)
    unit: str = "1"
    #: the unit c is given in
    concentration_unit: str = "mol/m^3"

    @model_validator(mode="after")
    def _table(self) -> SaltPropertyTable:
        if len(self.values) != len(self.c):
            raise ValueError(f"give one value per concentration ({len(self.c)})")
        if any(b <= a for a, b in zip(self.c, self.c[1:], strict=False)):
            raise ValueError("the concentrations must increase strictly")
        return self


def _salt_property_kind(value: Any) -> str:
    """The form a salt property takes, from its keys (so that errors come from that form):
    a mapping with ``c`` or ``values`` is a table, any other mapping an expression."""
    if isinstance(value, SaltPropertyExpression | SaltPropertyTable):
        return "table" if isinstance(value, SaltPropertyTable) else "expression"
    if isinstance(value, dict):
        return "table" if "c" in value or "values" in value else "expression"
    return "value"


def SaltProperty(value: Any):  # noqa: N802 - reads as a type in models
    """A salt property: one ``value`` (a quantity type), an expression or a table of the
    concentration; the form chosen by its keys."""
    return Annotated[
        Annotated[value, Tag("value")]
        | Annotated[SaltPropertyExpression, Tag("expression")]
        | Annotated[SaltPropertyTable, Tag("table")],
        Discriminator(_salt_property_kind),
    ]


class ConcentratedSalt(Strict):
    """A binary salt (one cation, one anion) transported by concentrated-solution theory
    (Newman) in electroneutral regions: the salt concentration c evolves by

        dc/dt = div(D grad c) - i . grad t+ / (z+ nu+ F),
        i = -kappa grad Phi + kappa nu RT (1 + dln f/dln c) t- / (z+ nu+ F) grad ln c,

    with Phi the potential of a reference electrode of the cation's metal, conductivity
    kappa, salt diffusivity D, cation transference number t+ = 1 - t- and thermodynamic
    factor 1 + dln f/dln c, each one value, an expression or a table of c."""

    #: the salt's cation (a species of physics.nernst_planck)
    cation: str
    #: the salt's anion (a species of physics.nernst_planck)
    anion: str
    #: electroneutral regions where these properties apply; default every electroneutral
    #: region of the two ions
    regions: list[str] | None = Field(default=None, min_length=1)
    #: kappa [S/m]
    conductivity: SaltProperty(Positive("conductivity"))
    #: D [m^2/s], the salt's chemical diffusivity
    diffusivity: SaltProperty(Positive("diffusivity"))
    #: t+ [-], the cation's transference number (may be negative in concentrated salts)
    transference_number: SaltProperty(float)
    #: 1 + dln f/dln c [-] (> 0); 1: an ideal solution
    thermodynamic_factor: SaltProperty(Positive("dimensionless")) = 1.0


class NernstPlanckPhysics(Strict):
    """Nernst-Planck transport of every mobile ion with Poisson's equation for the potential
    (``sse_fem.physics.nernst_planck``): space charge is resolved, except in electroneutral
    regions."""

    #: regions where the potential is solved; default every region
    regions: list[str] | None = Field(default=None, min_length=1)
    #: the mobile ions (at least one)
    species: list[Species] = Field(min_length=1)
    #: immobile background charges; default none
    fixed_charge: list[FixedCharge] = Field(default_factory=list)
    #: regions solved in the electroneutral limit (lambda_D -> 0): Poisson's equation is
    #: replaced by local electroneutrality, so a single mobile ion on a fixed background
    #: conducts Ohmically (sigma = z^2 F^2 D c / RT) and a salt polarises by concentration
    #: without double layers; beside a resolved region they embed a thin space-charge layer
    #: in an Ohmic bulk (potential and ionic current continuous). Default none
    electroneutral_regions: list[str] = Field(default_factory=list)
    #: concentrated-solution properties of a binary salt in electroneutral regions; default
    #: none (each ion moves by its own diffusivity: the dilute limit)
    salt: ConcentratedSalt | None = None


class PhysicsBlock(Strict):
    #: electroneutral Ohmic conduction of ions and electrons; present (`{}`: defaults) = enabled
    conduction: ConductionPhysics | None = None
    #: transient heat conduction with electrochemical sources; present = enabled
    heat: HeatPhysics | None = None
    #: small-strain linear elasticity; present = enabled
    mechanics: MechanicsPhysics | None = None
    #: diffusion of the working ion in active-material particles; present = enabled
    solid_diffusion: SolidDiffusionPhysics | None = None
    #: Nernst-Planck/Poisson transport of ions (space charge resolved); present = enabled
    nernst_planck: NernstPlanckPhysics | None = None

    @model_validator(mode="after")
    def _some(self) -> PhysicsBlock:
        if not any(getattr(self, k) is not None for k in type(self).model_fields):
            raise ValueError(f"enable at least one physics: {list(type(self).model_fields)}")
        return self

    def enabled(self) -> list[str]:
        """Names of the enabled physics, in block order."""
        return [k for k in type(self).model_fields if getattr(self, k) is not None]


class ConductionInterface(Strict):
    """Kinetics on a named interface (facet group) between an electrode and an electrolyte."""

    #: interface name: an interface (facet group) of the geometry or mesh
    name: str = Field(min_length=1)
    #: rate law: butler_volmer, linear (its small-overpotential limit) or blocking (no faradaic
    #: current)
    kinetics: Literal["butler_volmer", "linear", "blocking"] = "butler_volmer"
    #: i0 [A/m^2] at 298.15 K; needed unless kinetics is blocking
    exchange_current_density: Positive("current_density") | None = None
    #: anodic transfer coefficient
    alpha_a: float = Field(default=0.5, gt=0, le=1)
    #: cathodic transfer coefficient
    alpha_c: float = Field(default=0.5, gt=0, le=1)
    #: z, electrons per reacting ion; default: electrode metal's z (its charge_number, else 1)
    charge_number: int | None = Field(default=None, ge=1, le=3)
    #: at 298.15 K; follows the temperature through the entropic coefficient
    open_circuit_potential: Quantity("potential") = 0.0
    #: dU/dT [V/K] (reversible heat i T dU/dT); default: the electrode material's, else 0
    entropic_coefficient: Quantity("potential_per_temperature") | None = None
    #: Arrhenius activation energy of the exchange current (given at 298.15 K); 0: none
    activation_energy: NonNegative("activation_energy") = 0.0
    #: area-specific resistance of a film in series with the kinetics [Ohm m^2]; 0: no film
    film_resistance: NonNegative("area_resistance") = 0.0
    #: double-layer capacitance in parallel with the faradaic current [F/m^2]; 0: none
    double_layer_capacitance: NonNegative("area_capacitance") = 0.0
    #: stress -> kinetics (needs physics.mechanics): monroe_newman shifts the overpotential by
    #: -Omega_M sigma_n / (z F) (sigma_n the normal stress on the metal, tension > 0)
    stress_coupling: Literal["none", "monroe_newman"] = "none"
    #: Omega_M of the metal [m^3/mol]; default the electrode material's molar_volume
    metal_molar_volume: Positive("molar_volume") | None = None

    @model_validator(mode="after")
    def _need_i0(self) -> ConductionInterface:
        if self.kinetics != "blocking" and self.exchange_current_density is None:
            raise ValueError(f"{self.kinetics} kinetics needs exchange_current_density")
        return self


class BoundaryElectrode(Strict):
    """A metal electrode that is not meshed (e.g. a Li counter electrode): Butler-Volmer
    kinetics between the metal, at the condition's potential, and the ionic potential at the
    boundary. Current into the cell i(eta), eta = phi_metal - phi_ionic - U."""

    #: i0 [A/m^2] at the case temperature
    exchange_current_density: Positive("current_density")
    #: anodic transfer coefficient
    alpha_a: float = Field(default=0.5, gt=0, le=1)
    #: cathodic transfer coefficient
    alpha_c: float = Field(default=0.5, gt=0, le=1)
    #: z, electrons per reacting ion
    charge_number: int = Field(default=1, ge=1, le=3)
    #: U of the metal [V] against the reference of the case's potentials (Li/Li+: 0)
    open_circuit_potential: Quantity("potential") = 0.0


class ConductionBoundaryCondition(Strict):
    """An electrical condition on a named boundary (facet group).

    ``potential``/``ground`` fix the potential; ``current`` (A) or ``current_density`` (A/m^2,
    averaged over the boundary) fix the total current into the cell through an equipotential
    terminal whose potential is solved for; ``terminal`` is driven by ``time.protocol``.
    """

    #: boundary group name
    name: str = Field(min_length=1)
    #: ground, potential, current, current_density, terminal or insulated (see above)
    type: Literal["ground", "potential", "current", "current_density", "terminal", "insulated"]
    #: potential [V], current [A] or current density [A/m^2] for those types; none for the others
    value: str | float | None = None
    #: terminal <-> conductor contact resistance [Ohm m^2] (current, current_density, terminal)
    contact_resistance: Positive("area_resistance") = 1e-9
    #: field the condition acts on where the boundary touches both kinds of conductor
    #: (default: electronic there, else whichever conducts)
    carrier: Literal["ionic", "electronic"] | None = None
    #: ground/potential on the ionic carrier: the potential is that of a metal electrode that
    #: is not meshed, joined to the electrolyte by Butler-Volmer kinetics (e.g. Li metal)
    electrode: BoundaryElectrode | None = None

    @property
    def si_value(self) -> float:
        """The value in SI units (0 when the type takes none)."""
        return float(self.value or 0.0)

    @model_validator(mode="after")
    def _electrode_on_a_fixed_potential(self) -> ConductionBoundaryCondition:
        if self.electrode is not None and self.type not in ("ground", "potential"):
            raise ValueError(
                f"an electrode goes with type ground or potential (the metal's potential), not "
                f"{self.type!r}: drive the cell at its other terminal"
            )
        if self.electrode is not None and self.carrier == "electronic":
            raise ValueError("an electrode joins a metal to the ionic potential: carrier ionic")
        return self

    @field_serializer("value", when_used="json")
    def _with_unit(self, value: object) -> object:
        dims = {
            "potential": "potential",
            "current": "current",
            "current_density": "current_density",
        }
        return _unit_string(value, dims.get(self.type))

    @model_validator(mode="after")
    def _value(self) -> ConductionBoundaryCondition:
        dims = {
            "potential": "potential",
            "current": "current",
            "current_density": "current_density",
        }
        if self.type in dims:
            if self.value is None:
                raise ValueError(f"type {self.type!r} needs a value")
            from sse_fem.units import to_si

            try:
                self.__dict__["value"] = to_si(self.value, dims[self.type])
            except CaseError as err:
                raise ValueError(str(err)) from None
        elif self.value is not None:
            raise ValueError(f"type {self.type!r} takes no value")
        return self


class HeatBoundaryCondition(Strict):
    """A thermal condition on a named boundary: ``temperature`` (value [K]), ``convection``
    (h (T - T_ambient) leaves the cell), ``heat_flux`` (value [W/m^2] into the cell) or
    ``adiabatic`` (the default on every boundary)."""

    #: boundary group name
    name: str = Field(min_length=1)
    #: temperature, convection, heat_flux or adiabatic (see above)
    type: Literal["temperature", "convection", "heat_flux", "adiabatic"]
    #: temperature [K] or heat flux into the cell [W/m^2] for those types; none for the others
    value: str | float | None = None
    #: h [W/(m^2 K)]; required by type convection
    heat_transfer_coefficient: Positive("heat_transfer_coefficient") | None = None
    #: T_ambient [K] of type convection; default case.temperature
    ambient_temperature: Positive("temperature") | None = None

    @property
    def si_value(self) -> float:
        """The value in SI units (0 when the type takes none)."""
        return float(self.value or 0.0)

    @field_serializer("value", when_used="json")
    def _with_unit(self, value: object) -> object:
        dims = {"temperature": "temperature", "heat_flux": "heat_flux"}
        return _unit_string(value, dims.get(self.type))

    @model_validator(mode="after")
    def _value(self) -> HeatBoundaryCondition:
        dims = {"temperature": "temperature", "heat_flux": "heat_flux"}
        if self.type in dims:
            if self.value is None:
                raise ValueError(f"type {self.type!r} needs a value")
            from sse_fem.units import to_si

            try:
                si = to_si(self.value, dims[self.type])
            except CaseError as err:
                raise ValueError(str(err)) from None
            if self.type == "temperature" and si <= 0:
                raise ValueError(f"{self.value!r} is not a temperature (must be > 0 K)")
            self.__dict__["value"] = si
        elif self.value is not None:
            raise ValueError(f"type {self.type!r} takes no value")
        convection = self.type == "convection"
        if convection and self.heat_transfer_coefficient is None:
            raise ValueError("type 'convection' needs heat_transfer_coefficient")
        if not convection and (
            self.heat_transfer_coefficient is not None or self.ambient_temperature is not None
        ):
            raise ValueError(
                "heat_transfer_coefficient and ambient_temperature belong to type 'convection'"
            )
        return self


class MechanicsBoundaryCondition(Strict):
    """A mechanical condition on a named boundary: ``fixed`` (u = 0), ``roller`` / ``symmetry``
    (normal displacement 0 on a boundary perpendicular to an axis), ``displacement`` (a list of
    one length per axis, null = free), ``traction`` (a list of one pressure per axis, the force
    per area on the cell), ``pressure`` (normal pressure pushing on the cell, e.g. stack
    pressure), ``free`` (the default)."""

    #: boundary group name
    name: str = Field(min_length=1)
    #: fixed, roller, symmetry, displacement, traction, pressure or free (see above)
    type: Literal["fixed", "roller", "symmetry", "displacement", "traction", "pressure", "free"]
    #: displacement: one length per axis (null: free); traction: one pressure per axis;
    #: pressure: one pressure; none for the other types
    value: str | float | list[str | float | None] | None = None

    @property
    def si_value(self) -> float:
        """The pressure in SI units (type ``pressure``)."""
        return float(self.value)  # type: ignore[arg-type]

    @property
    def si_vector(self) -> list[float | None]:
        """One SI value per axis (types ``displacement``, ``traction``; None: free)."""
        assert isinstance(self.value, list)
        return [None if v is None else float(v) for v in self.value]

    @field_serializer("value", when_used="json")
    def _with_unit(self, value: object) -> object:
        dims = {"displacement": "length", "traction": "pressure", "pressure": "pressure"}
        return _unit_string(value, dims.get(self.type))

    @model_validator(mode="after")
    def _value(self) -> MechanicsBoundaryCondition:
        from sse_fem.units import to_si

        vector = {"displacement": "length", "traction": "pressure"}
        try:
            if self.type in vector:
                if not isinstance(self.value, list) or not 1 <= len(self.value) <= 3:
                    raise ValueError(
                        f"type {self.type!r} needs a list with one value per axis, e.g. "
                        + (
                            "[null, null, '-1 um']"
                            if self.type == "displacement"
                            else "['0 Pa', '0 Pa', '-1 MPa']"
                        )
                    )
                if self.type == "traction" and None in self.value:
                    raise ValueError("a traction needs a value on every axis (0 Pa where none)")
                self.__dict__["value"] = [
                    None if v is None else to_si(v, vector[self.type]) for v in self.value
                ]
            elif self.type == "pressure":
                if self.value is None or isinstance(self.value, list):
                    raise ValueError("type 'pressure' needs one value, e.g. '5 MPa'")
                self.__dict__["value"] = to_si(self.value, "pressure")
            elif self.value is not None:
                raise ValueError(f"type {self.type!r} takes no value")
        except CaseError as err:
            raise ValueError(str(err)) from None
        return self


class SolidDiffusionBoundaryCondition(Strict):
    """A given molar flux of the working ion INTO the particles [mol/(m^2 s)] on a named
    boundary (e.g. a single particle under constant current); other boundaries are closed
    and interfaces take the current of the conduction kinetics."""

    #: boundary group name
    name: str = Field(min_length=1)
    #: flux (the only type)
    type: Literal["flux"] = "flux"
    #: molar flux of the working ion into the particles [mol/(m^2 s)]
    value: Quantity("molar_flux")


class _TerminalPotential(Strict):
    """A ``potential``: a value with its unit, or ``terminal`` (driven by the protocol)."""

    #: a fixed potential [V] (e.g. "0 V"), or terminal: driven by time.protocol
    potential: str | float | None = None

    @property
    def terminal(self) -> bool:
        return isinstance(self.potential, str) and self.potential.strip() == "terminal"

    @field_serializer("potential", when_used="json")
    def _with_unit(self, value: object) -> object:
        return value if self.terminal else _unit_string(value, "potential")

    @model_validator(mode="after")
    def _potential_si(self) -> _TerminalPotential:
        if self.potential is not None and not self.terminal:
            from sse_fem.units import to_si

            try:
                self.__dict__["potential"] = to_si(self.potential, "potential")
            except CaseError as err:
                raise ValueError(f"potential: {err} (or `terminal`)") from None
        return self


class NernstPlanckElectrode(_TerminalPotential):
    """A metal electrode on a boundary of Nernst-Planck/Poisson: the reacting ion (the
    metal's cation) crosses it at the Butler-Volmer rate

        i = i0 [exp(alpha_a z f eta) - (c_s / c_ref) exp(-alpha_c z f eta)],
        eta = V - phi_s - U,  f = F / RT   (anodic > 0: the ion enters the electrolyte)

    with c_s and phi_s on the electrolyte's side of a Stern (compact) layer of capacitance
    C_S, eps dphi/dn = C_S (V - phi_s): the diffuse layer is resolved, so the rate carries the
    Frumkin correction. The metal's potential V is fixed (``potential``), set by a current
    density (``current_density``, faradaic plus double-layer charging) or ``terminal``
    (driven by ``time.protocol``: voltage, current, current_density or rest = open circuit)."""

    #: name of the species that crosses the electrode (the metal's cation, e.g. Li+)
    reacting_ion: str
    #: i0 [A/m^2] of the rate
    exchange_current_density: Positive("current_density")
    #: c_ref of the rate; default the ion's initial concentration in the touching region
    reference_concentration: Positive("concentration") | None = None
    #: anodic transfer coefficient
    alpha_a: float = Field(default=0.5, gt=0, le=1)
    #: cathodic transfer coefficient
    alpha_c: float = Field(default=0.5, gt=0, le=1)
    #: U at c_ref, against the potential's reference
    open_circuit_potential: Quantity("potential") = 0.0
    #: compact-layer capacitance; default 0.2 F/m^2 (20 uF/cm^2, typical of metal surfaces)
    #: on a resolved region, none on an electroneutral one (no diffuse layer to hold it)
    stern_capacitance: Positive("area_capacitance") | None = None
    #: set current density out of the metal [A/m^2] (anodic > 0), faradaic plus double-layer
    #: charging; give this or potential
    current_density: Quantity("current_density") | None = None

    @model_validator(mode="after")
    def _control(self) -> NernstPlanckElectrode:
        if (self.potential is None) == (self.current_density is None):
            raise ValueError(
                "give the electrode exactly one of `potential` (a value or `terminal`) and "
                "`current_density`"
            )
        return self


class NernstPlanckBoundaryCondition(_TerminalPotential):
    """Conditions of Nernst-Planck/Poisson on a named boundary, any combination of: the
    ``potential`` (a value, or ``terminal``: driven by ``time.protocol``'s voltage steps),
    ``concentration`` per species (a reservoir) and ``flux`` per species (molar flux into the
    domain); or an ``electrode`` (Butler-Volmer with a Stern layer). Species without a
    condition are blocked there (no flux); a boundary without a potential or electrode has
    no surface charge (zero normal field)."""

    #: boundary group name
    name: str = Field(min_length=1)
    #: fixed concentration per species (a reservoir), e.g. {Li+: "1000 mol/m^3"}
    concentration: dict[str, Positive("concentration")] = Field(default_factory=dict)
    #: molar flux into the domain per species [mol/(m^2 s)]
    flux: dict[str, Quantity("molar_flux")] = Field(default_factory=dict)
    #: a metal electrode (Butler-Volmer through a Stern layer); none: no electrode
    electrode: NernstPlanckElectrode | None = None

    @property
    def driven(self) -> bool:
        """Driven by the protocol (a terminal potential or electrode)."""
        return self.terminal or (self.electrode is not None and self.electrode.terminal)

    @model_validator(mode="after")
    def _value(self) -> NernstPlanckBoundaryCondition:
        both = sorted(set(self.concentration) & set(self.flux))
        if both:
            raise ValueError(f"give a concentration or a flux for {both}, not both")
        if self.electrode is not None:
            if self.potential is not None:
                raise ValueError(
                    "an electrode sets the potential itself (through its Stern layer): give "
                    "`electrode.potential`, not `potential`"
                )
            ion = self.electrode.reacting_ion
            if ion in self.concentration or ion in self.flux:
                raise ValueError(f"{ion} reacts at the electrode: no concentration or flux too")
        return self


class SolidDiffusionInitialCondition(Strict):
    """Initial stoichiometry x0 = c / c_max of the particles (uniform)."""

    #: initial x0 = c / c_max, between 0 and 1
    stoichiometry: float = Field(gt=0, lt=1)


class HeatInitialCondition(Strict):
    #: initial temperature [K]; default case.temperature
    temperature: Positive("temperature") | None = None


class _ByPhysics(Strict):
    """A block with one entry per physics (conditions belong to the physics applying them).

    An entry for a physics that is not enabled is an error (``check_consistency``)."""

    block_key: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _old_layout(cls, data: Any) -> Any:
        block = cls.block_key
        if isinstance(data, list):
            raise ValueError(
                f"`{block}` is keyed by physics now: write `{block}: {{conduction: [...]}}` "
                f"(e.g. `{block}.conduction`)"
            )
        if isinstance(data, dict) and "temperature" in data:
            raise _moved(f"{block}.temperature", "case.temperature")
        return data

    def given(self) -> list[str]:
        """Physics with an entry in this block."""
        return [k for k in type(self).model_fields if getattr(self, k)]


class BoundaryConditionsBlock(_ByPhysics):
    block_key = "boundary_conditions"
    #: electrical conditions of physics.conduction
    conduction: list[ConductionBoundaryCondition] = Field(default_factory=list)
    #: thermal conditions of physics.heat (adiabatic where none)
    heat: list[HeatBoundaryCondition] = Field(default_factory=list)
    #: mechanical conditions of physics.mechanics (free where none)
    mechanics: list[MechanicsBoundaryCondition] = Field(default_factory=list)
    #: given fluxes of physics.solid_diffusion (closed where none)
    solid_diffusion: list[SolidDiffusionBoundaryCondition] = Field(default_factory=list)
    #: conditions of physics.nernst_planck (where none: ions blocked, no surface charge)
    nernst_planck: list[NernstPlanckBoundaryCondition] = Field(default_factory=list)


class InterfacesBlock(_ByPhysics):
    block_key = "interfaces"
    #: kinetics of physics.conduction per interface (no current crosses one without)
    conduction: list[ConductionInterface] = Field(default_factory=list)


class InitialConditionsBlock(_ByPhysics):
    """Initial states of the physics that have one (conduction starts from its rest state)."""

    block_key = "initial_conditions"
    #: initial temperature of physics.heat
    heat: HeatInitialCondition | None = None
    #: initial stoichiometry of physics.solid_diffusion (required with it)
    solid_diffusion: SolidDiffusionInitialCondition | None = None


#: a C-rate as a current: "1 C", "-0.5C", "2 C-rate" (C is not coulomb here: a step's
#: current is never a charge)
_C_RATE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*C(?:-rate)?\s*$")


class ProtocolStep(Strict):
    """One step of a cycling protocol applied to the ``terminal`` boundary.

    A ``current`` may be given as a C-rate (``"-1 C"``): that multiple of the 1C current of
    the active material in the mesh (its capacity over one hour; needs
    ``physics.solid_diffusion``), with the sign of the terminal current (into the cell:
    charging when the terminal is on the cathode, so a discharge is negative)."""

    #: current [A], current_density [A/m^2], voltage [V] or rest (open circuit)
    mode: Literal["current", "current_density", "voltage", "rest"]
    #: the set current, current density or voltage (a current may be a C-rate, "-1 C"); none for
    #: rest
    value: str | float | None = None
    #: length of the step [s]; a cut-off may end it earlier
    duration: Positive("time")
    #: cut-off: the step ends once the terminal voltage rises above this [V]
    until_voltage_above: Quantity("potential") | None = None
    #: cut-off: the step ends once the terminal voltage falls below this [V]
    until_voltage_below: Quantity("potential") | None = None
    #: cut-off: the step ends once |terminal current density| falls below this [A/m^2]
    until_current_below: NonNegative("current_density") | None = None

    @property
    def c_rate(self) -> float | None:
        """The C-rate of a current given as one (None otherwise)."""
        if isinstance(self.value, str):
            match = _C_RATE.match(self.value)
            assert match is not None  # validated
            return float(match.group(1))
        return None

    @property
    def si_value(self) -> float | None:
        """The value in SI units (None for rest and for a C-rate: see ``c_rate``)."""
        if self.value is None or isinstance(self.value, str):
            return None
        return float(self.value)

    @field_serializer("value", when_used="json")
    def _with_unit(self, value: object) -> object:
        if isinstance(value, str):
            return value
        dims = {"current": "current", "current_density": "current_density", "voltage": "potential"}
        return _unit_string(value, dims.get(self.mode))

    @model_validator(mode="after")
    def _value(self) -> ProtocolStep:
        dims = {"current": "current", "current_density": "current_density", "voltage": "potential"}
        if self.mode in dims:
            if self.value is None:
                raise ValueError(f"mode {self.mode!r} needs a value")
            if isinstance(self.value, str) and _C_RATE.match(self.value):
                if self.mode != "current":
                    raise ValueError(
                        f"a C-rate ({self.value!r}) is a current: use it with mode 'current'"
                    )
                self.__dict__["value"] = " ".join(self.value.split())
                return self
            from sse_fem.units import to_si

            try:
                self.__dict__["value"] = to_si(self.value, dims[self.mode])
            except CaseError as err:
                raise ValueError(str(err)) from None
        elif self.value is not None:
            raise ValueError("mode 'rest' takes no value")
        return self


class TimeBlock(Strict):
    #: steady (one solve) or transient (time stepping)
    mode: Literal["steady", "transient"] = "steady"
    #: end time [s] of a transient run without a protocol (a protocol's steps set their own)
    t_end: Positive("time") | None = None
    #: first time step [s] (required in transient runs)
    dt: Positive("time") | None = None
    #: smallest step [s]: a step cut below it fails the run; default dt * 1e-6
    dt_min: Positive("time") | None = None
    #: largest step [s] the adaptive control may take; default t_end (else dt * 1e6)
    dt_max: Positive("time") | None = None
    #: bdf1 (backward Euler) or bdf2 (second order; bdf1 for the first step after a change of
    #: drive)
    scheme: Literal["bdf1", "bdf2"] = "bdf2"
    #: grow the step when Newton needs few iterations, shrink it when many; false: keep dt
    adaptive: bool = True
    #: Newton iterations per step the adaptive control aims at
    target_newton_iterations: int = Field(default=4, ge=1, le=50)
    #: halvings of a failing step (or load step in steady runs) before the run fails
    max_step_cuts: int = Field(default=6, ge=0, le=30)
    #: steps applied in order to the terminal (needs mode: transient)
    protocol: list[ProtocolStep] | None = Field(default=None, min_length=1)
    #: how many times the protocol is run
    cycles: int = Field(default=1, ge=1)
    #: steps between restart checkpoints
    checkpoint_every: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _transient(self) -> TimeBlock:
        if self.mode == "transient":
            if self.dt is None:
                raise ValueError("transient runs need dt")
            if self.t_end is None and self.protocol is None:
                raise ValueError("transient runs need t_end or a protocol")
        if self.dt_min is not None and self.dt_max is not None and self.dt_min > self.dt_max:
            raise ValueError(f"dt_min ({self.dt_min:g} s) exceeds dt_max ({self.dt_max:g} s)")
        if self.dt_min is not None and self.dt is not None and self.dt < self.dt_min:
            raise ValueError(f"dt ({self.dt:g} s) is below dt_min ({self.dt_min:g} s)")
        return self


class SolverBlock(Strict):
    #: auto (direct for 1D and small 2D problems, else iterative), direct (Newton + MUMPS LU) or
    #: iterative (Newton + GMRES with GAMG)
    preset: Literal["auto", "direct", "iterative"] = "auto"
    #: Newton converges when the Jacobi-scaled residual or the update, per dof and relative
    #: to the unknown's scale (1 V for potentials), is below this (sse_fem.solvers.convergence)
    newton_tolerance: Positive("dimensionless") = 1e-10
    #: most Newton iterations per solve before it counts as failed
    newton_max_it: int = Field(default=30, ge=1)
    #: relative tolerance of the Krylov linear solves
    linear_rtol: Positive("dimensionless") = 1e-10
    #: largest accepted imbalance of a conserved quantity (current, energy, charge) relative
    #: to its driving flux; a step beyond it ends the run with status failed
    balance_tolerance: Positive("dimensionless") = 1e-6
    #: raw PETSc options (no prefix); options that view, log, monitor, debug or touch files
    #: are refused (``sse_fem.config.petsc_policy``)
    petsc_options: PetscOptions = Field(default_factory=dict)


class OutputsBlock(Strict):
    #: output folder; default results/<case name> (`-o` overrides it)
    directory: str | None = None
    #: write the field files for ParaView (potentials, temperature, ...)
    fields: bool = True
    #: vtx (.bp, compact) or xdmf (.xdmf/.h5, keeps the interface jumps of DG1 fields exactly)
    field_format: Literal["vtx", "xdmf"] = "vtx"
    #: draw the PNG pictures (maps, profiles, time series)
    plots: bool = True
    #: report.html: one self-contained page with figures and pictures
    report: bool = True
    #: write fields every n steps
    every: int = Field(default=1, ge=1)
    #: k of the interface figure area_fraction_above_k_mean: area fraction above k * mean of the
    #: current density
    current_threshold_factor: Positive("dimensionless") = 2.0


class Case(Strict):
    """A whole case file."""

    #: name, description and operating temperature of the case
    case: CaseInfo
    #: a generated geometry, selected by type; give this or mesh
    geometry: geometry_union() | None = None  # type: ignore[valid-type]
    #: a mesh file instead of a generated geometry
    mesh: MeshFile | None = None
    #: case materials by name: a library base with inline overrides, or new ones
    materials: dict[str, MaterialSpec] = Field(default_factory=dict)
    #: the regions of the mesh with their materials
    regions: list[Region] = Field(min_length=1)
    #: the physics to solve (at least one)
    physics: PhysicsBlock
    #: interface conditions, per physics
    interfaces: InterfacesBlock = InterfacesBlock()
    #: boundary conditions, per physics
    boundary_conditions: BoundaryConditionsBlock = BoundaryConditionsBlock()
    #: initial states, per physics
    initial_conditions: InitialConditionsBlock = InitialConditionsBlock()
    #: steady or transient run: time stepping and protocol
    time: TimeBlock = TimeBlock()
    #: Newton and linear solver settings
    solver: SolverBlock = SolverBlock()
    #: what is written, and where
    outputs: OutputsBlock = OutputsBlock()

    @model_validator(mode="after")
    def _geometry_xor_mesh(self) -> Case:
        if (self.geometry is None) == (self.mesh is None):
            raise ValueError("give exactly one of `geometry` (generated) or `mesh` (a file)")
        return self

    @property
    def dimension(self) -> int:
        return (self.geometry or self.mesh).dimension


def _check_alias_overlap(items: list, aliases: dict[str, list[str]], block: str) -> None:
    """A face named on its own and through an alias (``sides`` and ``x0``) would get two
    conditions: refused."""
    names = [i.name for i in items]
    for k, name in enumerate(names):
        for face in aliases.get(name, []):
            if face in names:
                raise CaseError(
                    f"{name!r} includes {face!r}, which has its own condition "
                    f"({block}[{names.index(face)}]); name the faces one by one instead",
                    f"{block}[{k}].name",
                )


def _unique(items: list, block: str) -> None:
    names = [i.name for i in items]
    for k, n in enumerate(names):
        if names.index(n) != k:
            raise CaseError(f"name {n!r} appears twice", f"{block}[{k}].name")


def check_consistency(case: Case) -> None:
    """Cross-block checks that need no mesh: names resolve, controls are complete."""
    from sse_fem.materials.registry import get_material, resolve_case_materials

    _unique(case.regions, "regions")
    enabled = case.physics.enabled()
    for block in (case.interfaces, case.boundary_conditions, case.initial_conditions):
        for physics in block.given():
            if physics not in enabled:
                raise CaseError(
                    f"physics {physics!r} is not enabled (enabled: {enabled}); "
                    f"add `physics.{physics}` or remove this entry",
                    f"{block.block_key}.{physics}",
                )
    for physics in enabled:
        for block in (case.interfaces, case.boundary_conditions):
            items = getattr(block, physics, None)
            if isinstance(items, list):
                _unique(items, f"{block.block_key}.{physics}")
    for name, spec in case.materials.items():
        if spec.base is not None:
            get_material(spec.base, f"materials.{name}.base")
    resolve_case_materials(case)  # checks every inline value and its unit
    if case.geometry is not None:
        groups = case.geometry.group_names()
        named = [("regions", case.regions, "regions")]
        for physics in enabled:
            named += [
                (f"interfaces.{physics}", getattr(case.interfaces, physics, []), "interfaces"),
                (
                    f"boundary_conditions.{physics}",
                    getattr(case.boundary_conditions, physics, []),
                    "boundaries",
                ),
            ]
        singular = {"regions": "a region", "interfaces": "an interface", "boundaries": "a boundary"}
        for block, items, kind in named:
            allowed = groups[kind]
            if kind == "boundaries":
                allowed = allowed + list(groups.get("aliases", {}))
            for k, item in enumerate(items):
                if item.name not in allowed:
                    raise CaseError(
                        f"{item.name!r} is not {singular[kind]} of this geometry; "
                        f"allowed: {allowed}",
                        f"{block}[{k}].name",
                    )
            if kind == "boundaries":
                _check_alias_overlap(items, groups.get("aliases", {}), block)
    if case.physics.heat is not None:
        _check_heat(case)
    if case.physics.mechanics is not None:
        _check_mechanics(case)
    if case.physics.solid_diffusion is not None:
        _check_solid_diffusion(case)
    for k, step in enumerate(case.time.protocol or []):
        if step.c_rate is not None and case.physics.solid_diffusion is None:
            raise CaseError(
                f"{step.value!r} is a C-rate: 1C is the capacity of the active material over "
                "one hour, which needs physics.solid_diffusion; give the current in A instead",
                f"time.protocol[{k}].value",
            )
    if case.physics.nernst_planck is not None:
        _check_nernst_planck(case)
    _resolve_debye_sizes(case)
    if case.physics.conduction is not None:
        _check_conduction_controls(case)
    elif case.time.protocol is not None and not any(
        b.driven for b in case.boundary_conditions.nernst_planck
    ):
        raise CaseError(
            "time.protocol drives a terminal: a conduction boundary of type 'terminal' or a "
            "nernst_planck boundary with `potential: terminal`",
            "time.protocol",
        )


def _known_regions(case: Case, names: list[str], path: str) -> None:
    """CaseError at ``path[k]`` for the first of ``names`` that is not a case region."""
    regions = [r.name for r in case.regions]
    for k, name in enumerate(names):
        if name not in regions:
            raise CaseError(f"{name!r} is not a region; regions: {regions}", f"{path}[{k}]")


def _check_heat(case: Case) -> None:
    heat = case.physics.heat
    assert heat is not None
    for k, src in enumerate(heat.volumetric_sources):
        _known_regions(case, src.regions, f"physics.heat.volumetric_sources[{k}].regions")
    bcs = case.boundary_conditions.heat
    anchored = any(b.type in ("temperature", "convection") for b in bcs)
    if case.time.mode == "steady" and not anchored:
        raise CaseError(
            "a steady heat problem needs a boundary of type 'temperature' or 'convection' "
            "(with adiabatic boundaries only, the temperature is undetermined)",
            "boundary_conditions.heat",
        )
    if heat.coupling == "one_way" and case.physics.conduction is None:
        raise CaseError("coupling one_way needs physics.conduction", "physics.heat.coupling")


def _check_mechanics(case: Case) -> None:
    mech = case.physics.mechanics
    assert mech is not None
    if mech.coupling == "staggered" and case.time.mode != "transient":
        raise CaseError(
            "staggered coupling passes values from one time step to the next: it needs "
            "time.mode: transient (a steady run is coupled monolithically)",
            "physics.mechanics.coupling",
        )
    for k, src in enumerate(mech.chemical_strain):
        _known_regions(case, src.regions, f"physics.mechanics.chemical_strain[{k}].regions")
    for k, bc in enumerate(case.boundary_conditions.mechanics):
        if isinstance(bc.value, list) and len(bc.value) != case.dimension:
            raise CaseError(
                f"{len(bc.value)} values for a {case.dimension}D case: give one per axis",
                f"boundary_conditions.mechanics[{k}]({bc.name}).value",
            )
    if not mech.hold_rigid_modes and not any(
        b.type in ("fixed", "displacement", "roller", "symmetry")
        for b in case.boundary_conditions.mechanics
    ):
        raise CaseError(
            "mechanics needs supports: a boundary of type fixed, roller, symmetry or "
            "displacement, or `physics.mechanics.hold_rigid_modes: true` (otherwise the body "
            "floats: rigid motions are undetermined)",
            "boundary_conditions.mechanics",
        )


def _check_solid_diffusion(case: Case) -> None:
    sd = case.physics.solid_diffusion
    assert sd is not None
    path = "physics.solid_diffusion"
    if case.time.mode != "transient":
        raise CaseError(
            "solid diffusion stores the working ion: it needs time.mode: transient (a steady "
            "particle with a net flux has no solution)",
            "time.mode",
        )
    if sd.symmetry == "spherical" and case.dimension != 1:
        raise CaseError(
            f"spherical symmetry is for 1D meshes (the radius); this case is {case.dimension}D",
            f"{path}.symmetry",
        )
    if case.initial_conditions.solid_diffusion is None:
        raise CaseError(
            "give the initial stoichiometry x0 = c/c_max of the particles, e.g. "
            "`initial_conditions: {solid_diffusion: {stoichiometry: 0.4}}`",
            "initial_conditions.solid_diffusion",
        )
    _known_regions(case, sd.regions or [], f"{path}.regions")


def _check_nernst_planck(case: Case) -> None:
    np_ = case.physics.nernst_planck
    assert np_ is not None
    path = "physics.nernst_planck"
    if case.physics.conduction is not None:
        raise CaseError(
            "nernst_planck and conduction in one case is not available: for a resolved "
            "layer in an Ohmic bulk, list the bulk in physics.nernst_planck."
            "electroneutral_regions (solved Ohmically there)",
            "physics",
        )
    _known_regions(case, np_.regions or [], f"{path}.regions")
    _unique(np_.species, f"{path}.species")
    domain = set(np_.regions or [r.name for r in case.regions])
    for k, sp in enumerate(np_.species):
        _known_regions(case, sp.regions or [], f"{path}.species[{k}].regions")
        outside = sorted(set(sp.regions or []) - domain)
        if outside:
            raise CaseError(
                f"{outside} are outside the potential's regions {sorted(domain)}",
                f"{path}.species[{k}].regions",
            )
        regions = set(sp.regions or domain)
        for key in sp.PER_REGION:
            per_region = getattr(sp, key)
            if isinstance(per_region, dict) and set(per_region) != regions:
                raise CaseError(
                    f"give one value per region of the species {sorted(regions)} (got "
                    f"{sorted(per_region)})",
                    f"{path}.species[{k}].{key}",
                )
    for k, fc in enumerate(np_.fixed_charge):
        _known_regions(case, fc.regions, f"{path}.fixed_charge[{k}].regions")
    _known_regions(case, np_.electroneutral_regions, f"{path}.electroneutral_regions")
    outside = sorted(set(np_.electroneutral_regions) - domain)
    if outside:
        raise CaseError(
            f"{outside} are outside the potential's regions {sorted(domain)}",
            f"{path}.electroneutral_regions",
        )
    names = [sp.name for sp in np_.species]
    if np_.salt is not None:
        _check_salt(case, np_, domain, f"{path}.salt")
    bcs = case.boundary_conditions.nernst_planck
    for k, bc in enumerate(bcs):
        if bc.electrode is not None and bc.electrode.reacting_ion not in names:
            raise CaseError(
                f"{bc.electrode.reacting_ion!r} is not a species; species: {names}",
                f"boundary_conditions.nernst_planck[{k}]({bc.name}).electrode.reacting_ion",
            )
        for key in ("concentration", "flux"):
            for species in getattr(bc, key):
                if species not in names:
                    raise CaseError(
                        f"{species!r} is not a species; species: {names}",
                        f"boundary_conditions.nernst_planck[{k}]({bc.name}).{key}",
                    )
    if not any(b.potential is not None or b.electrode is not None for b in bcs):
        raise CaseError(
            "Poisson's equation needs a reference: give one boundary a `potential` (e.g. "
            "'0 V'), `potential: terminal` or an `electrode`",
            "boundary_conditions.nernst_planck",
        )
    if sum(b.driven for b in bcs) > 1:
        raise CaseError("at most one terminal (potential or electrode)", "boundary_conditions")
    terminal = any(b.driven for b in bcs)
    if terminal and case.time.protocol is None:
        raise CaseError("`potential: terminal` needs time.protocol", "time.protocol")
    electrode_terminal = any(b.electrode is not None and b.electrode.terminal for b in bcs)
    for k, step in enumerate(case.time.protocol or []):
        if step.mode != "voltage" and not electrode_terminal:
            raise CaseError(
                f"a nernst_planck potential terminal is driven by voltage steps (got "
                f"{step.mode!r}): current steps and rest need an `electrode` terminal",
                f"time.protocol[{k}].mode",
            )
    if case.time.protocol is not None and case.time.mode != "transient":
        raise CaseError("a protocol needs mode: transient", "time.mode")


def _check_salt(case: Case, np_: NernstPlanckPhysics, domain: set[str], path: str) -> None:
    """The salt's ions are species of opposite charge that share its regions, which are
    electroneutral and hold no other mobile ion or fixed charge."""
    salt = np_.salt
    assert salt is not None
    by_name = {sp.name: sp for sp in np_.species}
    names = list(by_name)
    for key in ("cation", "anion"):
        if getattr(salt, key) not in by_name:
            raise CaseError(
                f"{getattr(salt, key)!r} is not a species; species: {names}", f"{path}.{key}"
            )
    cation, anion = by_name[salt.cation], by_name[salt.anion]
    if cation.charge_number <= 0 or anion.charge_number >= 0:
        raise CaseError(
            f"the cation needs z > 0 and the anion z < 0 (got {cation.charge_number} and "
            f"{anion.charge_number})",
            path,
        )
    if salt.regions is not None:
        _known_regions(case, salt.regions, f"{path}.regions")
    neutral = set(np_.electroneutral_regions)
    both = set(cation.regions or domain) & set(anion.regions or domain)
    regions = set(salt.regions) if salt.regions is not None else both & neutral
    if not regions:
        raise CaseError(
            "no electroneutral region holds both ions: list the salt's regions in "
            "physics.nernst_planck.electroneutral_regions (concentrated-solution theory "
            "assumes electroneutrality)",
            f"{path}.regions",
        )
    for region in sorted(regions):
        if region not in neutral:
            raise CaseError(
                f"{region!r} is not electroneutral: concentrated-solution theory holds where "
                "the solution is neutral; add it to electroneutral_regions",
                f"{path}.regions",
            )
        if region not in both:
            raise CaseError(
                f"{salt.cation} and {salt.anion} do not both move in {region!r}", f"{path}.regions"
            )
        others = [
            sp.name
            for sp in np_.species
            if sp.name not in (salt.cation, salt.anion) and region in (sp.regions or domain)
        ]
        if others or any(region in fc.regions for fc in np_.fixed_charge):
            raise CaseError(
                f"{region!r} holds {others or 'a fixed charge'} besides the salt: "
                "concentrated-solution theory here is for a binary salt alone",
                f"{path}.regions",
            )
        for sp in (cation, anion):
            if sp.value("max_concentration", region) is not None:
                raise CaseError(
                    f"{sp.name} has a lattice saturation in {region!r}: the salt's activity "
                    "is its thermodynamic factor; drop max_concentration there",
                    f"{path}.regions",
                )


def smallest_debye_length(case: Case) -> float:
    """The smallest Debye length [m] of the regions of physics.nernst_planck, from the
    species' initial concentrations, the materials' relative_permittivity and
    case.temperature: sqrt(eps0 eps_r RT / (F^2 sum z^2 c0))."""
    import math

    from sse_fem.materials.registry import resolve_case_materials

    np_ = case.physics.nernst_planck
    assert np_ is not None
    materials = resolve_case_materials(case)
    domain = np_.regions or [r.name for r in case.regions]
    paths = {r.name: f"materials.{r.material}" for r in case.regions}
    lengths = []
    for region in domain:
        if region in np_.electroneutral_regions:
            continue
        strength = sum(
            sp.charge_number**2 * float(sp.value("initial_concentration", region) or 0.0)
            for sp in np_.species
            if region in (sp.regions or domain)
        )
        if strength > 0:
            eps = 8.8541878128e-12 * materials[region].require(
                "relative_permittivity", paths[region]
            )
            rt = 8.314462618 * case.case.temperature
            lengths.append(math.sqrt(eps * rt / (96485.33212**2 * strength)))
    if not lengths:
        raise CaseError(
            "no resolved (not electroneutral) region of physics.nernst_planck has mobile "
            "ions: no Debye length",
            "physics.nernst_planck.species",
        )
    return min(lengths)


def _resolve_debye_sizes(case: Case) -> None:
    """Mesh sizes given in Debye lengths ("0.3 lambda_D") become lengths [m]."""
    from sse_fem.config.geometry import DEBYE_SIZE

    mesh = case.geometry.mesh if case.geometry is not None else None
    if mesh is None:
        return
    keys = [
        k
        for k in ("size", "interface_size", "size_growth_distance")
        if isinstance(getattr(mesh, k), str)
    ]
    if not keys:
        return
    if case.physics.nernst_planck is None:
        raise CaseError(
            "a mesh size in Debye lengths needs physics.nernst_planck (its ions set the Debye "
            "length); give a length instead",
            f"geometry.mesh.{keys[0]}",
        )
    length = smallest_debye_length(case)
    for key in keys:
        match = DEBYE_SIZE.match(getattr(mesh, key))
        assert match is not None  # validated
        mesh.__dict__[key] = float(match.group(1)) * length


def _check_conduction_controls(case: Case) -> None:
    path = "boundary_conditions.conduction"
    bcs = case.boundary_conditions.conduction
    controlled = [b for b in bcs if b.type in ("current", "current_density", "terminal")]
    if len(controlled) > 1:
        raise CaseError("at most one current-controlled or terminal boundary", path)
    if not any(b.type in ("ground", "potential") for b in bcs):
        raise CaseError(
            "conduction needs a reference: one boundary of type 'ground' or 'potential'", path
        )
    terminal = [b for b in bcs if b.type == "terminal"]
    if terminal and case.time.protocol is None:
        raise CaseError("a 'terminal' boundary needs time.protocol", "time.protocol")
    if case.time.protocol is not None and not terminal:
        raise CaseError("time.protocol drives a boundary of type 'terminal'; none given", path)
    if case.time.protocol is not None and case.time.mode != "transient":
        raise CaseError("a protocol needs mode: transient", "time.mode")


__all__ = ["Case", "check_consistency", "PROPERTIES"]
