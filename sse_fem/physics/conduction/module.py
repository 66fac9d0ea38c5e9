"""Electroneutral conduction: Ohmic ionic transport (single-ion conductor, t+ = 1) with
Arrhenius sigma(T), electronic conduction in electrode phases, interface kinetics, and the
cell's terminal (the controller of protocol steps).

Fields: ``phi_ionic`` [V] on the submesh of ion-conducting regions, ``phi_electronic`` [V] on
the submesh of electron-conducting regions; they are discontinuous across interfaces, coupled
by the rate law at every declared interface (``'+'`` side forced to the electrode). Optional:
``phi_film`` (electrode-side film potential, interfaces with film resistance), ``V_terminal``
(global unknown: potential of a current-controlled, equipotential terminal).

Requires ``temperature``; provides ``potential.<carrier>``, ``current_density.<carrier>``,
``joule_heat.<carrier>``, per interface ``interface_current_density.<name>`` and its heat
(``interface_heat``, ``film_heat``, ``reversible_heat``), ``contact_heat.<terminal>`` and the
scalar ``electrical_power`` (``sse_fem.quantities``). Every heat source is integrated with the
quadrature of the residual, so that they add up to the electrical power exactly (Galerkin).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from mpi4py import MPI

import numpy as np
import ufl
from dolfinx import fem

from sse_fem.errors import CaseError
from sse_fem.mesh.bundle import parent_cells
from sse_fem.physics.base import Physics
from sse_fem.physics.conduction.fields import (
    CarrierField,
    boundary_facets,
    declare_fields,
    region_carriers,
)
from sse_fem.physics.conduction.interfaces import (
    InterfaceModel,
    build_interfaces,
    electrode_stoichiometry,
    exchange_current_factor,
    film_unknown,
    interface_measure,
    interface_temperature,
    overpotential,
)
from sse_fem.physics.conduction.islands import find_clusters
from sse_fem.physics.conduction.outputs import ConductionOutputs
from sse_fem.physics.conduction.terminals import (
    BoundaryElectrode,
    FixedPotential,
    Terminal,
    build_boundaries,
)

#: largest change of a Butler-Volmer overpotential in one Newton step [V] (~10 V_T)
MAX_OVERPOTENTIAL_STEP_V = 0.25

if TYPE_CHECKING:
    from sse_fem.config.schema import ConductionPhysics, ProtocolStep
    from sse_fem.physics.base import Problem


class Conduction(ConductionOutputs, Physics):
    """Ohmic conduction of ions and electrons with interface kinetics and a terminal."""

    name = "conduction"
    #: cell voltage at rest [V] (open-circuit potentials of the electrodes on the path from the
    #: ground to the terminal, at the case temperature); 0 without open-circuit potentials
    open_circuit_voltage = 0.0

    def __init__(self, cfg: ConductionPhysics) -> None:
        self.cfg = cfg

    # --- setup ---------------------------------------------------------------------------
    def declare(self, problem: Problem) -> None:
        case = problem.case
        self.carriers = region_carriers(problem)
        self.fields: dict[str, CarrierField] = declare_fields(
            problem, self.name, self.carriers, self.cfg.arrhenius
        )
        specs = case.interfaces.conduction
        self.interfaces: list[InterfaceModel] = (
            build_interfaces(problem, specs, self.carriers, self.fields) if specs else []
        )
        self.dS = interface_measure(problem.bundle, self.interfaces)
        film = (
            film_unknown(problem, self.name, self.interfaces, self.fields["electronic"])
            if self.interfaces
            else None
        )
        self.film: fem.Function | None = film[0] if film else None
        self._film_bc: fem.DirichletBC | None = film[1] if film else None
        self.fixed: list[FixedPotential]
        self.electrodes: list[BoundaryElectrode]
        self.terminal: Terminal | None
        self.fixed, self.electrodes, self.terminal = build_boundaries(
            problem, self.name, case.boundary_conditions.conduction, self.fields
        )
        if self.electrodes and case.physics.heat is not None:
            raise CaseError(
                "boundary electrodes (not meshed) have no heat model yet: mesh the metal and "
                "give its interface kinetics to run with physics.heat",
                "boundary_conditions.conduction",
            )
        self.clusters = {
            carrier: find_clusters(
                problem, f, self.fixed, self.terminal, self.interfaces, self.electrodes
            )
            for carrier, f in self.fields.items()
        }
        self.bundle_tags = {
            e.boundary: problem.bundle.boundary_tags(e.boundary) for e in self.electrodes
        }
        self._provide(problem)

    def electrolyte_level(self) -> float:
        """Equilibrium ionic potential [V]: metal potential - U of the first boundary
        electrode (0 without: the electrolyte is the reference)."""
        if not self.electrodes:
            return 0.0
        e = self.electrodes[0]
        return float(e.potential.value) - float(e.ocp.value)

    def _equilibrium_guess(self, problem: Problem, set_state: bool = True) -> None:
        """Start from equilibrium: every group of touching electron conductors that holds
        the electrode of an interface starts at that interface's open-circuit potential (the
        electrolyte at 0 V), so that no interface starts volts away from equilibrium; the
        cell's open-circuit voltage follows (``set_state=False``: only that, for electrodes
        whose U follows a provided stoichiometry). Collective."""
        if "electronic" not in self.fields or not self.interfaces:
            return
        f = self.fields["electronic"]
        group = {r: r for r in f.regions}

        def root(r: str) -> str:
            while group[r] != r:
                r = group[r]
            return r

        for regions in problem.bundle.interface_regions().values():
            touching = [r for r in regions if r in group]
            if len(touching) == 2:
                group[root(touching[0])] = root(touching[1])
        level: dict[str, float] = {}
        for i in self.interfaces:
            level.setdefault(root(i.electrode), self._rest_potential(problem, i))
        if not any(level.values()) and not self.electrodes:
            return
        bundle = problem.bundle
        cells, parents = parent_cells(f.sub)
        tags = bundle.cell_region_tags()[parents]
        V = f.u.function_space
        electrolyte = self.electrolyte_level()
        for region in f.regions if set_state else ():
            value = level.get(root(region), 0.0) + electrolyte
            sub_cells = cells[tags == bundle.regions[region]]
            dofs = fem.locate_dofs_topological(V, bundle.dim, sub_cells)
            f.u.x.array[dofs] = value
            if self.film is not None:
                self.film.x.array[dofs] = value
        f.sub.mesh.topology.create_connectivity(bundle.dim - 1, bundle.dim)
        f2c = f.sub.mesh.topology.connectivity(bundle.dim - 1, bundle.dim)
        names = {tag: r for r, tag in bundle.regions.items()}

        def level_at(boundary: str) -> float:
            """Equilibrium potential of the conductors touching ``boundary`` [V]."""
            facets = boundary_facets(f.sub, bundle.boundary_tags(boundary))
            values = [
                level.get(root(names[int(tags[f2c.links(facet)[0]])]), 0.0) for facet in facets
            ]
            value = problem.comm.allreduce(max(values, key=abs) if values else 0.0, op=MPI.SUM)
            return value / max(problem.comm.allreduce(1 if values else 0, op=MPI.SUM), 1)

        t = self.terminal
        grounds = [fp for fp in self.fixed if fp.carrier == "electronic"]
        if t is not None and t.carrier == "electronic":
            if set_state:
                t.potential.x.array[:] = level_at(t.boundary) + electrolyte
            if grounds:
                self.open_circuit_voltage = level_at(t.boundary) - level_at(grounds[0].boundary)
            elif self.electrodes:  # against the metal of the boundary electrode
                metal = float(self.electrodes[0].potential.value)
                self.open_circuit_voltage = level_at(t.boundary) + electrolyte - metal
            elif self.fixed:  # an electrolyte reference (an ideal counter electrode) at 0 V
                self.open_circuit_voltage = level_at(t.boundary)
        elif t is None:  # driven by a fixed electrode potential (as ``observe`` reports it)
            reference = self._reference_potential()
            drive = [fp for fp in grounds if fp.value != reference]
            rest = [fp for fp in grounds if fp.value == reference]
            if drive and rest:
                self.open_circuit_voltage = level_at(drive[0].boundary) - level_at(rest[0].boundary)
            elif drive and self.electrodes:
                metal = float(self.electrodes[0].potential.value)
                self.open_circuit_voltage = level_at(drive[0].boundary) + electrolyte - metal

    def _rest_potential(self, problem: Problem, i: InterfaceModel) -> float:
        """U [V] of interface ``i`` at the case temperature, at the interface-mean
        stoichiometry of its electrode where a physics provides one (collective)."""
        temperature = problem.case.case.temperature
        forms = self.__dict__.setdefault("_stoichiometry_forms", {})
        x = electrode_stoichiometry(problem, i)
        if x is None or i.ocp_curve is None:
            return float(i.numeric().open_circuit_potential(temperature))
        if i.name not in forms:
            forms[i.name] = fem.form(x * self.dS(i.tag), entity_maps=problem.entity_maps)
        total = problem.comm.allreduce(fem.assemble_scalar(forms[i.name]), op=MPI.SUM)
        mean = total / self._interface_area(problem, i)
        return float(i.numeric().open_circuit_potential(temperature, np.array([mean]))[0])

    def _provide(self, problem: Problem) -> None:
        """Share potentials, current densities and Joule heat per carrier, the current
        density and heats of every interface (each at any history level), the terminal's
        contact heat and the electrical power."""
        for carrier, f in self.fields.items():
            for name, unit, value in (
                ("potential", "V", self._potential),
                ("current_density", "A/m^2", self._current_density),
                ("joule_heat", "W/m^3", self._joule_heat),
            ):
                problem.provide(
                    f"{name}.{carrier}",
                    partial(value, problem, f),
                    unit,
                    self.name,
                    partial(self._bulk_measure, problem, f),
                )
        for i in self.interfaces:
            sources = [
                ("interface_current_density", "A/m^2", self._faradaic),
                ("interface_heat", "W/m^2", self._interface_heat),
                ("reversible_heat", "W/m^2", self._reversible_heat),
            ]
            if i.film_resistance is not None:
                sources.append(("film_heat", "W/m^2", self._film_heat))
            for name, unit, iface_value in sources:
                problem.provide(
                    f"{name}.{i.name}",
                    partial(iface_value, problem, i),
                    unit,
                    self.name,
                    self.dS(i.tag),
                )
        t = self.terminal
        if t is not None:
            problem.provide(
                f"contact_heat.{t.boundary}",
                partial(self._contact_heat, problem),
                "W/m^2",
                self.name,
                t.ds,
            )
        problem.provide_scalar(
            "electrical_power", partial(self.electrical_power, problem), "W", self.name
        )

    def _bulk_measure(self, problem: Problem, f: CarrierField) -> ufl.Measure:
        """dx over the regions of ``f`` with the quadrature of the residual."""
        degree = self._bulk_degree(problem, self._temperature(problem)[1])
        tags = tuple(problem.bundle.regions[r] for r in f.regions)
        return problem.bundle.dx()(tags, metadata={"quadrature_degree": degree})

    @staticmethod
    def _potential(problem: Problem, f: CarrierField, level: int = 0) -> ufl.core.expr.Expr:
        return problem.state(f.name, level)

    def _current_density(
        self, problem: Problem, f: CarrierField, level: int = 0
    ) -> ufl.core.expr.Expr:
        """-sigma(T) grad(phi) [A/m^2]."""
        return -self._sigma(problem, f, level) * ufl.grad(problem.state(f.name, level))

    def _joule_heat(self, problem: Problem, f: CarrierField, level: int = 0) -> ufl.core.expr.Expr:
        """sigma(T) |grad(phi)|^2 [W/m^3]."""
        grad = ufl.grad(problem.state(f.name, level))
        return self._sigma(problem, f, level) * ufl.inner(grad, grad)

    def _temperature(self, problem: Problem, level: int = 0) -> tuple[ufl.core.expr.Expr, bool]:
        q = problem.require("temperature", self.name)
        return q(level), q.is_constant

    def _sigma(self, problem: Problem, f: CarrierField, level: int = 0) -> ufl.core.expr.Expr:
        return f.sigma(self._temperature(problem, level)[0])

    def _faradaic(self, problem: Problem, i: InterfaceModel, level: int = 0) -> ufl.core.expr.Expr:
        """Faradaic current density [A/m^2] (electrode to electrolyte, anodic > 0)."""
        eta, _ = overpotential(problem, i, level)
        return i.law.current(
            eta,
            interface_temperature(problem, level),
            ufl.exp,
            exchange_current_factor(problem, i, level),
        )

    def _crossing(self, problem: Problem, i: InterfaceModel) -> ufl.core.expr.Expr:
        """Current density [A/m^2] crossing ``i``: faradaic + double-layer charging."""
        i_ct = self._faradaic(problem, i)
        if i.capacitance is not None:
            i_ct = i_ct + i.capacitance * problem.ddt(lambda lvl: overpotential(problem, i, lvl)[0])
        return i_ct

    def _interface_heat(
        self, problem: Problem, i: InterfaceModel, level: int = 0
    ) -> ufl.core.expr.Expr:
        """Irreversible reaction heat i eta [W/m^2]."""
        return self._faradaic(problem, i, level) * overpotential(problem, i, level)[0]

    def _film_heat(self, problem: Problem, i: InterfaceModel, level: int = 0) -> ufl.core.expr.Expr:
        """Joule heat of the film, i_film^2 R_film [W/m^2]."""
        i_film = overpotential(problem, i, level)[1]
        assert i_film is not None and i.film_resistance is not None
        return i_film**2 * i.film_resistance

    def _reversible_heat(
        self, problem: Problem, i: InterfaceModel, level: int = 0
    ) -> ufl.core.expr.Expr:
        """Reversible (entropic) heat i T dU/dT [W/m^2] (anodic i > 0)."""
        T = interface_temperature(problem, level)
        return self._faradaic(problem, i, level) * T * i.entropic

    def _contact_heat(self, problem: Problem, level: int = 0) -> ufl.core.expr.Expr:
        """Joule heat of the terminal contact, (V - phi)^2 / R_c [W/m^2]."""
        t = self.terminal
        assert t is not None
        phi = problem.state(self.fields[t.carrier].name, level)
        v = problem.state("V_terminal", level)
        return (v - phi) ** 2 / t.contact_resistance

    def validate(self, problem: Problem) -> None:
        """Every field must reach a fixed potential (a Dirichlet condition of the problem)
        directly or through interface kinetics; otherwise the system is singular. An
        electrode whose stoichiometry is solved takes U(x) from its material's curve."""
        for k, i in enumerate(self.interfaces):
            if electrode_stoichiometry(problem, i) is None:
                continue
            path = f"interfaces.conduction[{k}]({i.name}).open_circuit_potential"
            if i.ocp_curve is None:
                raise CaseError(
                    f"the stoichiometry of {i.electrode!r} is solved, but its material has no "
                    "open_circuit_potential curve U(x): give one in the material "
                    "(open_circuit_potential: {x: [...], values: [...], unit: V})",
                    path,
                )
            if float(i.ocp.value) != 0.0:
                raise CaseError(
                    f"the open-circuit potential of {i.electrode!r} follows its stoichiometry "
                    "(the material's curve U(x)); remove this constant",
                    path,
                )
        held = [id(c.bc) for c in self.clusters.values() if c.bc is not None]
        constrained = {id(bc.function_space) for bc in problem.bcs if id(bc) not in held}
        fixed = {
            carrier
            for carrier, f in self.fields.items()
            if id(f.u.function_space._cpp_object) in constrained
        } | {e.carrier for e in self.electrodes}
        coupled = any(
            i.law.kind != "blocking" or (i.capacitance is not None and problem.transient)
            for i in self.interfaces
        )
        if coupled and fixed:
            fixed = set(self.fields)
        for carrier, f in self.fields.items():
            if carrier not in fixed:
                raise CaseError(
                    f"the {carrier} potential ({f.name} in regions {list(f.regions)}) is "
                    "undetermined: no ground/potential condition acts on it and no interface "
                    "kinetics couple it to one. Add one (a boundary condition's `carrier` "
                    "picks the field), or make those regions insulating with `carriers: []`",
                    "boundary_conditions.conduction",
                )

    # --- forms ---------------------------------------------------------------------------
    def initial_guess(self, problem: Problem) -> None:
        """Start from equilibrium (the open-circuit potentials may follow the initial
        fields of other modules, e.g. the particles' stoichiometry; a boundary electrode
        sets the electrolyte's level)."""
        for e in self.electrodes:
            self.fields[e.carrier].u.x.array[:] = self.electrolyte_level()
        t = self.terminal
        if self.electrodes and t is not None and t.carrier == self.electrodes[0].carrier:
            t.potential.x.array[:] = self.electrolyte_level()  # ionic terminal vs the metal
            self.open_circuit_voltage = -float(self.electrodes[0].ocp.value)
        self._equilibrium_guess(problem)
        for carrier, clusters in self.clusters.items():
            if clusters.held is not None:  # floating clusters stay where they start
                clusters.held.x.array[:] = self.fields[carrier].u.x.array

    def residual(self, problem: Problem) -> ufl.Form:
        T, constant_t = self._temperature(problem)
        dx = problem.bundle.dx()(
            metadata={"quadrature_degree": self._bulk_degree(problem, constant_t)}
        )
        F = 0
        for f in self.fields.values():
            v = problem.test(f.name)
            tags = tuple(problem.bundle.regions[r] for r in f.regions)
            F += f.sigma(T) * ufl.inner(ufl.grad(f.u), ufl.grad(v)) * dx(tags)
        for i in self.interfaces:
            _, i_film = overpotential(problem, i)
            i_ct = self._crossing(problem, i)
            vs = problem.test("phi_electronic")
            ve = problem.test("phi_ionic")
            dS = self.dS(i.tag)
            if i_film is None:
                F += i_ct * vs("+") * dS - i_ct * ve("-") * dS
            else:
                w = problem.test("phi_film")
                F += i_film * vs("+") * dS - i_ct * ve("-") * dS + (i_ct - i_film) * w("+") * dS
        if self.film is not None:
            # negligible mass term: gives the constrained (non-interface) film dofs their
            # diagonal entries in the sparsity pattern
            w = problem.test("phi_film")
            tags = tuple(problem.bundle.regions[r] for r in self.fields["electronic"].regions)
            F += 1e-30 * self.film * w * dx(tags)
        for e in self.electrodes:  # current into the cell through the metal's kinetics
            f = self.fields[e.carrier]
            F += -e.current_density(f.u, T) * problem.test(f.name) * e.ds
        t = self.terminal
        if t is not None:
            f = self.fields[t.carrier]
            u, v = f.u, problem.test(f.name)
            ds = t.ds
            j = (t.potential - u) / t.contact_resistance
            w = problem.test("V_terminal")
            set_j = (
                t.current_mode * (j - problem.load * t.current / t.contact_area)
                + (1 - t.current_mode)
                * (t.potential - problem.load * t.voltage)
                / t.contact_resistance
            )
            F += -j * v * ds + set_j * w * ds
        return F

    @staticmethod
    def _bulk_degree(problem: Problem, constant_temperature: bool) -> int:
        """Quadrature degree of sigma(T) grad(phi) . grad(v): exact for P1 on affine
        simplices (0) and Q1 on affine boxes (2) with cellwise sigma; +2 where sigma follows
        a temperature field (UFL would count exp() as degree + 2 and multiply through)."""
        simplex = problem.bundle.mesh.topology.cell_name() in (
            "interval",
            "triangle",
            "tetrahedron",
        )
        return (0 if simplex else 2) + (0 if constant_temperature else 2)

    def dirichlet(self, problem: Problem) -> list[fem.DirichletBC]:
        held = [c.bc for c in self.clusters.values() if c.bc is not None]
        return [fp.bc for fp in self.fixed] + ([self._film_bc] if self._film_bc else []) + held

    def step_fraction(self, problem: Problem, step: dict[str, fem.Function]) -> float:
        """Newton steps change no Butler-Volmer overpotential by more than
        ``MAX_OVERPOTENTIAL_STEP_V``: from rest, slow kinetics linearise to a near-singular
        system whose full step overflows exp(); limited steps climb the exponential."""
        largest = 0.0
        for i in self.interfaces:
            if i.law.kind != "butler_volmer":
                continue
            side, ionic = self._facet_dofs(i)
            electrode = "phi_film" if i.film_resistance is not None else "phi_electronic"
            if len(side):
                d_eta = step[electrode].x.array[side].mean(axis=1) - step["phi_ionic"].x.array[
                    ionic
                ].mean(axis=1)
                largest = max(largest, float(np.abs(d_eta).max()))
        for e in self.electrodes:  # eta = phi_metal - phi_ionic - U
            dofs = self._electrode_dofs(e)
            if len(dofs):
                d_phi = step[self.fields[e.carrier].name].x.array[dofs]
                largest = max(largest, float(np.abs(d_phi).max()))
        largest = problem.comm.allreduce(largest, op=MPI.MAX)
        return min(1.0, MAX_OVERPOTENTIAL_STEP_V / largest) if largest > 0 else 1.0

    def _electrode_dofs(self, e: BoundaryElectrode) -> np.ndarray:
        """Local dofs of the ionic field on the boundary of electrode ``e``."""
        cache = self.__dict__.setdefault("_electrode_dof_cache", {})
        if e.boundary not in cache:
            f = self.fields[e.carrier]
            V = f.u.function_space
            facets = boundary_facets(f.sub, self.bundle_tags[e.boundary])
            cache[e.boundary] = fem.locate_dofs_topological(V, V.mesh.topology.dim - 1, facets)
        return cache[e.boundary]

    def _facet_dofs(self, i: InterfaceModel) -> tuple[np.ndarray, np.ndarray]:
        """(electrode-side, electrolyte-side) dofs of every owned facet of ``i``, one row
        per facet (local indices, ghosts included)."""
        cache = self.__dict__.setdefault("_facet_dof_cache", {})
        if i.name not in cache:
            d = i.domains.reshape(-1, 4)
            out = []
            for field, cells, local in (
                (self.fields["electronic"], d[:, 0], d[:, 1]),
                (self.fields["ionic"], d[:, 2], d[:, 3]),
            ):
                V = field.u.function_space
                fdim = V.mesh.topology.dim - 1
                sub_cells = field.sub.cell_map.sub_topology_to_topology(cells, inverse=True)
                layout = V.dofmap.dof_layout
                per_facet = len(layout.entity_closure_dofs(fdim, 0))
                out.append(
                    np.array(
                        [
                            V.dofmap.cell_dofs(c)[layout.entity_closure_dofs(fdim, lf)]
                            for c, lf in zip(sub_cells, local, strict=True)
                        ],
                        dtype=np.int32,
                    ).reshape(len(d), per_facet)  # a rank may own no facet of it
                )
            cache[i.name] = (out[0], out[1])
        return cache[i.name]

    # --- controller ----------------------------------------------------------------------
    def set_load(self, factor: float) -> None:
        """Scale fixed potentials by ``factor`` (steady continuation; the terminal's set
        value is scaled in the form through ``problem.load``)."""
        for fp in self.fixed:
            fp.potential.value = factor * fp.value
        for e in self.electrodes:
            e.potential.value = factor * e.value

    def set_drive(self, mode: str, value: float | None) -> None:
        if self.terminal is None:
            raise CaseError(
                "the protocol needs a terminal boundary", "boundary_conditions.conduction"
            )
        self.terminal.drive(mode, value)

    @contextmanager
    def at_rest(self) -> Iterator[None]:
        t = self.terminal
        if t is None:
            yield
            return
        saved = (float(t.current_mode.value), float(t.current.value))
        t.drive("rest", None)
        try:
            yield
        finally:
            t.current_mode.value, t.current.value = saved

    def cutoff_margin(self, step: ProtocolStep, row: dict[str, float]) -> float | None:
        """Smallest distance to the voltage [V] or current-density [A/m^2] cut-offs of
        ``step`` (<= 0: reached)."""
        v = row.get("voltage_V")
        j = row.get("current_density_A_m2")
        margins = []
        if v is not None and step.until_voltage_above is not None:
            margins.append(step.until_voltage_above - v)
        if v is not None and step.until_voltage_below is not None:
            margins.append(v - step.until_voltage_below)
        if j is not None and step.until_current_below is not None:
            margins.append(abs(j) - step.until_current_below)
        return min(margins) if margins else None
