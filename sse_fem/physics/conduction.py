"""Electroneutral conduction: Ohmic ionic transport (single-ion conductor, t+ = 1) with
Arrhenius sigma(T), electronic conduction in electrode phases, and interface kinetics.

Fields: ``phi_ionic`` [V] on the submesh of ion-conducting regions, ``phi_electronic`` [V] on
the submesh of electron-conducting regions; they are discontinuous across interfaces, coupled
by the rate law at every declared interface (``'+'`` side forced to the electrode). Optional:
``phi_film`` (electrode-side film potential, interfaces with film resistance), ``V_terminal``
(global unknown: potential of a current-controlled, equipotential terminal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mpi4py import MPI

import basix.ufl
import numpy as np
import ufl
from dolfinx import fem
from petsc4py import PETSc

from sse_fem.errors import CaseError
from sse_fem.logs import get_logger
from sse_fem.physics.kinetics import GAS_CONSTANT, RateLaw

IONIC_CATEGORIES = ("solid_electrolyte", "polymer_electrolyte", "coating")
CARRIER_FIELD = {"ionic": "phi_ionic", "electronic": "phi_electronic"}


def arrhenius(sigma_ref: float, t_ref: float, e_a: float, temperature: float) -> float:
    """sigma(T) = sigma_ref (T_ref/T) exp(-E_a/R (1/T - 1/T_ref)) (E_a in J/mol)."""
    return (
        sigma_ref
        * (t_ref / temperature)
        * np.exp(-e_a / GAS_CONSTANT * (1.0 / temperature - 1.0 / t_ref))
    )


@dataclass
class InterfaceModel:
    name: str
    tag: int
    electrode: str  # region name on the '+' side
    electrolyte: str
    law: RateLaw
    film_resistance: float  # Ohm m^2
    capacitance: float  # F/m^2
    ocp: fem.Constant
    domains: np.ndarray  # (cell+, lf+, cell-, lf-) owned facets, '+' = electrode


@dataclass
class Terminal:
    """Equipotential terminal on a boundary: contact law j = (V - phi) / R_c into the cell."""

    boundary: str
    carrier: str
    area: float  # m^2 (length in 2D, 1 in 1D)
    contact_resistance: float
    potential: fem.Function  # global unknown V [V]
    current: fem.Constant  # set current [A] (current mode)
    voltage: fem.Constant  # set potential [V] (voltage mode)
    current_mode: fem.Constant  # 1: current control, 0: voltage control


class Conduction:
    """Ohmic conduction of ions and electrons with interface kinetics."""

    name = "conduction"

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.log = get_logger()

    # --- setup ---------------------------------------------------------------------------
    def declare(self, problem: Any) -> None:
        case, bundle = problem.case, problem.bundle
        self.temperature = case.initial_conditions.temperature or self.cfg.temperature
        self.carriers: dict[str, list[str]] = {}
        for region in case.regions:
            mat = problem.materials[region.name]
            default = ["ionic"] if mat.category in IONIC_CATEGORIES else ["electronic"]
            self.carriers[region.name] = list(
                default if region.carriers is None else region.carriers
            )
        self.fields: dict[str, dict] = {}
        for carrier, fname in CARRIER_FIELD.items():
            regions = tuple(r for r, c in self.carriers.items() if carrier in c)
            if not regions:
                continue
            sub = bundle.submesh(regions)
            V = fem.functionspace(sub.mesh, ("Lagrange", 1))
            sigma = fem.Function(fem.functionspace(sub.mesh, ("DG", 0)), name=f"sigma_{carrier}")
            self.fields[carrier] = {
                "name": fname,
                "sub": sub,
                "regions": regions,
                "u": problem.add_unknown(fname, V, sub.cell_map),
                "sigma": sigma,
            }
        self._set_conductivities(problem, self.temperature)
        self._setup_interfaces(problem)
        self._setup_boundaries(problem)

    def _region_value(self, problem: Any, region: str, carrier: str, temperature: float) -> float:
        mat = problem.materials[region]
        k = [r.name for r in problem.case.regions].index(region)
        path = f"materials.{problem.case.regions[k].material}"
        if carrier == "electronic":
            return mat.require("electronic_conductivity", path)
        sigma = mat.require("ionic_conductivity", path)
        if not self.cfg.arrhenius or mat.get("activation_energy") is None:
            return sigma
        t_ref = mat.get("reference_temperature", 298.15)
        return float(arrhenius(sigma, t_ref, mat.get("activation_energy"), temperature))

    def _set_conductivities(self, problem: Any, temperature: float) -> None:
        """Cellwise conductivity [S/m] on each submesh at ``temperature`` [K]."""
        bundle = problem.bundle
        tag_of = _cell_tag_array(bundle)
        for carrier, f in self.fields.items():
            sub, sigma = f["sub"], f["sigma"]
            n = sub.mesh.topology.index_map(sub.mesh.topology.dim)
            cells = np.arange(n.size_local + n.num_ghosts, dtype=np.int32)
            parent = sub.cell_map.sub_topology_to_topology(cells, inverse=False)
            for region in f["regions"]:
                value = self._region_value(problem, region, carrier, temperature)
                sigma.x.array[cells[tag_of[parent] == bundle.regions[region]]] = value

    def _setup_interfaces(self, problem: Any) -> None:
        case, bundle = problem.case, problem.bundle
        pairs = _interface_region_pairs(bundle)
        self.interfaces: list[InterfaceModel] = []
        declared = {i.name for i in case.interfaces}
        for k, spec in enumerate(case.interfaces):
            path = f"interfaces[{k}]({spec.name})"
            regions = pairs.get(spec.name, set())
            el = [
                r
                for r in regions
                if "electronic" in self.carriers[r] and "ionic" not in self.carriers[r]
            ]
            io = [r for r in regions if "ionic" in self.carriers[r]]
            if len(el) != 1 or len(io) != 1:
                raise CaseError(
                    f"interface must separate one electron-conducting region from "
                    f"one ion-conducting region; it touches {sorted(regions)} "
                    f"with carriers {[self.carriers[r] for r in sorted(regions)]}",
                    path,
                )
            mat = problem.materials[el[0]]
            z = spec.charge_number or int(mat.get("charge_number", 1) or 1)
            law = RateLaw(
                spec.kinetics, spec.exchange_current_density or 0.0, spec.alpha_a, spec.alpha_c, z
            )
            domains = bundle.interface_domains(spec.name, self.fields["electronic"]["sub"])
            ocp = fem.Constant(bundle.mesh, PETSc.ScalarType(spec.open_circuit_potential))
            self.interfaces.append(
                InterfaceModel(
                    spec.name,
                    bundle.interfaces[spec.name],
                    el[0],
                    io[0],
                    law,
                    spec.film_resistance,
                    spec.double_layer_capacitance,
                    ocp,
                    domains,
                )
            )
        for name, regions in pairs.items():
            kinds = {c for r in regions for c in self.carriers[r]}
            if name not in declared and len(kinds) > 1 and len(regions) == 2:
                self.log.warning(
                    "interface %r between %s has no kinetics: no current crosses it",
                    name,
                    sorted(regions),
                )
        self.dS = ufl.Measure(
            "dS",
            domain=bundle.mesh,
            subdomain_data=[(i.tag, i.domains) for i in self.interfaces],
            metadata={"quadrature_degree": 4},
        )
        self.film = None
        if any(i.film_resistance > 0 for i in self.interfaces):
            f = self.fields["electronic"]
            V = f["u"].function_space
            self.film = problem.add_unknown("phi_film", V, f["sub"].cell_map)
            fdim = bundle.dim - 1
            on_film = np.unique(
                np.concatenate(
                    [
                        fem.locate_dofs_topological(V, fdim, f["sub"].facet_tags.find(i.tag))
                        for i in self.interfaces
                        if i.film_resistance > 0
                    ]
                )
            )
            n = V.dofmap.index_map
            others = np.setdiff1d(
                np.arange(n.size_local + n.num_ghosts, dtype=np.int32), on_film
            ).astype(np.int32)
            self._film_bc = fem.dirichletbc(PETSc.ScalarType(0.0), others, V)

    def _field_on_boundary(self, bundle: Any, bc: Any, path: str) -> str:
        """The carrier whose field a boundary condition acts on."""
        tag = bundle.boundaries[bc.name]
        touches = {}
        for carrier, f in self.fields.items():
            n = f["sub"].facet_tags.find(tag).size if f["sub"].facet_tags is not None else 0
            touches[carrier] = bundle.comm.allreduce(n, op=MPI.SUM) > 0
        if bc.carrier is not None:
            if not touches.get(bc.carrier):
                raise CaseError(
                    f"boundary {bc.name!r} touches no {bc.carrier}-conducting region; it "
                    f"touches {sorted(c for c, t in touches.items() if t) or 'none'}",
                    f"{path}.carrier",
                )
            return bc.carrier
        for carrier in ("electronic", "ionic"):
            if touches.get(carrier):
                return carrier
        raise CaseError(f"boundary {bc.name!r} touches no conducting region", path)

    def validate(self, problem: Any) -> None:
        """Every field must reach a fixed potential (a Dirichlet condition of the problem)
        directly or through interface kinetics; otherwise the system is singular."""
        constrained = {id(bc.function_space) for bc in problem.bcs}
        fixed = {
            carrier
            for carrier, f in self.fields.items()
            if id(f["u"].function_space._cpp_object) in constrained
        }
        coupled = any(
            i.law.kind != "blocking" or (i.capacitance > 0 and problem.transient)
            for i in self.interfaces
        )
        if coupled and fixed:
            fixed = set(self.fields)
        for carrier, f in self.fields.items():
            if carrier not in fixed:
                raise CaseError(
                    f"the {carrier} potential ({f['name']} in regions {list(f['regions'])}) is "
                    "undetermined: no ground/potential condition acts on it and no interface "
                    "kinetics couple it to one. Add one (a boundary condition's `carrier` "
                    "picks the field), or make those regions insulating with `carriers: []`",
                    "boundary_conditions",
                )

    def _setup_boundaries(self, problem: Any) -> None:
        case, bundle = problem.case, problem.bundle
        msh, fdim = bundle.mesh, bundle.dim - 1
        self.dirichlet_bcs: list[fem.DirichletBC] = []
        self.fixed: list[tuple[str, str, fem.Constant, float]] = []  # (boundary, carrier, c, v)
        self.terminal: Terminal | None = None
        for k, bc in enumerate(case.boundary_conditions):
            path = f"boundary_conditions[{k}]({bc.name})"
            if bc.type == "insulated":
                continue
            carrier = self._field_on_boundary(bundle, bc, path)
            f = self.fields[carrier]
            if bc.type in ("ground", "potential"):
                value = 0.0 if bc.type == "ground" else float(bc.value)
                c = fem.Constant(f["sub"].mesh, PETSc.ScalarType(value))
                V = f["u"].function_space
                dofs = fem.locate_dofs_topological(
                    V, fdim, f["sub"].facet_tags.find(bundle.boundaries[bc.name])
                )
                self.dirichlet_bcs.append(fem.dirichletbc(c, dofs, V))
                self.fixed.append((bc.name, carrier, c, value))
                continue
            sub = f["sub"].mesh
            R = fem.functionspace(
                sub, basix.ufl.real_element(sub.basix_cell(), value_shape=(), dtype=np.float64)
            )
            V_t = problem.add_unknown("V_terminal", R, f["sub"].cell_map, is_global=True)
            area = bundle.area(bc.name)
            current = {"current": bc.value, "current_density": (bc.value or 0.0) * area}
            self.terminal = Terminal(
                bc.name,
                carrier,
                area,
                bc.contact_resistance,
                V_t,
                fem.Constant(msh, PETSc.ScalarType(current.get(bc.type, 0.0))),
                fem.Constant(msh, PETSc.ScalarType(0.0)),
                fem.Constant(msh, PETSc.ScalarType(1.0)),
            )

    # --- forms ---------------------------------------------------------------------------
    def _interface_current(self, problem: Any, i: InterfaceModel, level: int = 0):
        """(electrode-side current, electrolyte-side current, film residual) on dS('+'/'-')."""
        phi_s = problem.state("phi_electronic", level)
        phi_e = problem.state("phi_ionic", level)
        if i.film_resistance > 0:
            psi = problem.state("phi_film", level)
            return psi("+") - phi_e("-") - i.ocp, (phi_s("+") - psi("+")) / i.film_resistance
        return phi_s("+") - phi_e("-") - i.ocp, None

    def residual(self, problem: Any) -> ufl.Form:
        dx = problem.bundle.dx()
        F = 0
        for f in self.fields.values():
            v = problem.test(f["name"])
            tags = tuple(problem.bundle.regions[r] for r in f["regions"])
            F += f["sigma"] * ufl.inner(ufl.grad(f["u"]), ufl.grad(v)) * dx(tags)
        self.temperature_c = fem.Constant(problem.bundle.mesh, PETSc.ScalarType(self.temperature))
        for i in self.interfaces:
            eta, i_film = self._interface_current(problem, i)
            i_ct = i.law.current(eta, self.temperature_c, ufl.exp)
            if i.capacitance > 0:
                i_ct = i_ct + i.capacitance * problem.ddt(
                    lambda lvl, i=i: self._interface_current(problem, i, lvl)[0]
                )
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
            tags = tuple(problem.bundle.regions[r] for r in self.fields["electronic"]["regions"])
            F += 1e-30 * self.film * w * dx(tags)
        t = self.terminal
        if t is not None:
            f = self.fields[t.carrier]
            u, v = f["u"], problem.test(f["name"])
            ds = problem.bundle.measure(t.boundary)
            j = (t.potential - u) / t.contact_resistance
            w = problem.test("V_terminal")
            set_j = (
                t.current_mode * (j - problem.load * t.current / t.area)
                + (1 - t.current_mode)
                * (t.potential - problem.load * t.voltage)
                / t.contact_resistance
            )
            F += -j * v * ds + set_j * w * ds
        self._flux_forms = None
        return F

    def dirichlet(self, problem: Any) -> list[fem.DirichletBC]:
        return self.dirichlet_bcs + ([self._film_bc] if self.film is not None else [])

    def set_load(self, factor: float) -> None:
        """Scale fixed potentials by ``factor`` (steady continuation)."""
        for _, _, c, value in self.fixed:
            c.value = factor * value

    def set_drive(self, mode: str, value: float | None) -> None:
        t = self.terminal
        if t is None:
            raise CaseError("the protocol needs a terminal boundary", "boundary_conditions")
        if mode == "voltage":
            t.current_mode.value, t.voltage.value = 0.0, value
        else:
            current = {"current": value, "current_density": (value or 0.0) * t.area, "rest": 0.0}[
                mode
            ]
            t.current_mode.value, t.current.value = 1.0, current

    # --- outputs -------------------------------------------------------------------------
    def _boundary_currents(self, problem: Any) -> dict[str, float]:
        """Current [A] into the cell through each fixed-potential boundary (discrete flux)."""
        if self._flux_forms is None:
            self._flux_forms = []
            names = [uk.name for uk in problem.unknowns]
            for bname, carrier, _, _ in self.fixed:
                f = self.fields[carrier]
                V = f["u"].function_space
                g = fem.Function(V)
                dofs = fem.locate_dofs_topological(
                    V,
                    problem.bundle.dim - 1,
                    f["sub"].facet_tags.find(problem.bundle.boundaries[bname]),
                )
                g.x.array[dofs] = 1.0
                block = problem.blocks[names.index(f["name"])]
                form = fem.form(
                    ufl.replace(block, {problem.test(f["name"]): g}),
                    entity_maps=problem.entity_maps,
                )
                self._flux_forms.append((bname, form, g))
        return {
            b: problem.comm.allreduce(fem.assemble_scalar(form), op=MPI.SUM)
            for b, form, _ in self._flux_forms
        }

    def observe(self, problem: Any) -> dict[str, float]:
        from sse_fem.postprocess.interfaces import interface_statistics

        row: dict[str, float] = {}
        currents = self._boundary_currents(problem)
        t = self.terminal
        if t is not None:
            v_t = float(t.potential.x.array[0])
            row["voltage_V"] = v_t - self._reference_potential()
            row["current_A"] = (
                float(t.current.value) * float(problem.load.value)
                if float(t.current_mode.value) == 1.0
                else -sum(currents.values())
            )
            row["terminal_area_m2"] = t.area
        else:
            drive = [(b, v) for b, _, _, v in self.fixed if v != self._reference_potential()]
            if drive:
                b, v = drive[0]
                row["voltage_V"] = v * float(problem.load.value) - self._reference_potential()
                row["current_A"] = currents[b]
                row["terminal_area_m2"] = problem.bundle.area(b)
        if "current_A" in row:
            row["current_density_A_m2"] = row["current_A"] / row["terminal_area_m2"]
        for b, cur in currents.items():
            row[f"current_{b}_A"] = cur
        ct_total = 0.0
        for i in self.interfaces:
            stats = interface_statistics(
                self, problem, i, problem.case.outputs.current_threshold_factor
            )
            for key, value in stats.items():
                row[f"{i.name}.{key}"] = value
            ct_total += abs(stats["mean_overpotential_V"])
        if "voltage_V" in row:
            row["charge_transfer_overpotential_V"] = ct_total
            row["ohmic_overpotential_V"] = abs(row["voltage_V"]) - ct_total
            if row.get("current_density_A_m2"):
                row["area_specific_resistance_ohm_m2"] = (
                    row["voltage_V"] / row["current_density_A_m2"]
                )
        return row

    def _reference_potential(self) -> float:
        grounds = [v for b, _, _, v in self.fixed]
        return min(grounds, key=abs) if grounds else 0.0

    def output_functions(self, problem: Any) -> dict[str, list[fem.Function]]:
        """Potentials (DG1) and current densities (DG0 vectors) on the parent mesh."""
        if not hasattr(self, "_out"):
            msh = problem.bundle.mesh
            gdim = msh.geometry.dim
            self._out = {"potentials": [], "currents": []}
            self._transfers = []
            for carrier, f in self.fields.items():
                pot = fem.Function(fem.functionspace(msh, ("DG", 1)), name=f["name"])
                cur = fem.Function(
                    fem.functionspace(msh, ("DG", 0, (gdim,))), name=f"current_density_{carrier}"
                )
                sub = f["sub"].mesh
                Vq = fem.functionspace(sub, ("DG", 0, (gdim,)))
                expr = fem.Expression(
                    -f["sigma"] * ufl.grad(f["u"]), Vq.element.interpolation_points
                )
                qsub = fem.Function(Vq)
                self._out["potentials"].append(pot)
                self._out["currents"].append(cur)
                self._transfers.append((f, pot, cur, expr, qsub))
        for f, pot, cur, expr, qsub in self._transfers:
            sub = f["sub"]
            imap = sub.mesh.topology.index_map(sub.mesh.topology.dim)
            cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
            parent = sub.cell_map.sub_topology_to_topology(cells, inverse=False)
            pot.interpolate(f["u"], cells0=cells, cells1=parent)
            qsub.interpolate(expr)
            cur.interpolate(qsub, cells0=cells, cells1=parent)
            pot.x.scatter_forward()
            cur.x.scatter_forward()
        return self._out


def _cell_tag_array(bundle: Any) -> np.ndarray:
    """Region tag of every local cell (owned + ghost)."""
    imap = bundle.mesh.topology.index_map(bundle.dim)
    tags = np.zeros(imap.size_local + imap.num_ghosts, dtype=np.int32)
    tags[bundle.cell_tags.indices] = bundle.cell_tags.values
    return tags


def _interface_region_pairs(bundle: Any) -> dict[str, set[str]]:
    """Interface name -> names of the regions on its two sides (global)."""
    tdim = bundle.dim
    bundle.mesh.topology.create_connectivity(tdim - 1, tdim)
    f2c = bundle.mesh.topology.connectivity(tdim - 1, tdim)
    tag_of = _cell_tag_array(bundle)
    name_of = {t: n for n, t in bundle.regions.items()}
    out: dict[str, set[str]] = {}
    for name in bundle.interfaces:
        local = set()
        for facet in bundle.facets(name):
            local.update(name_of.get(int(tag_of[c]), "?") for c in f2c.links(facet))
        out[name] = set().union(*bundle.comm.allgather(local))
    return out


__all__ = ["Conduction", "arrhenius"]
