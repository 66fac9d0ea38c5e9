"""Current constriction: an equipotential disk contact (radius a) on a flux tube of radius b and
height H. R = rho/(4a) psi(a/b) + rho H/(pi b^2), psi = 1 - 1.40925 e + 0.29591 e^3 + ... the
flux-tube correction to the half-space value rho/(4a) (Holm; Kennedy). Also read from a .msh
file (mesh block)."""

from __future__ import annotations

import math

from mpi4py import MPI

import gmsh
import pytest

from sse_fem.config import validate_case
from sse_fem.driver import Run

A, B, H = 10e-6, 50e-6, 100e-6  # contact radius, tube radius, height [m]
SIGMA = 0.1  # S/m


def _write_msh(path, fine: float, coarse: float) -> None:
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    occ = gmsh.model.occ
    um = 1e6
    cyl = occ.addCylinder(0, 0, 0, 0, 0, H * um, B * um)
    disk = occ.addDisk(0, 0, H * um, A * um, A * um)
    occ.fragment([(3, cyl)], [(2, disk)])
    occ.synchronize()
    top, bottom, contact = [], [], []
    for _, s in gmsh.model.getEntities(2):
        z = gmsh.model.occ.getCenterOfMass(2, s)[2]
        r = gmsh.model.occ.getMass(2, s)
        if abs(z - H * um) < 1e-6 and r < math.pi * (A * um) ** 2 * 1.01:
            contact.append(s)
        elif abs(z - H * um) < 1e-6:
            top.append(s)
        elif abs(z) < 1e-6:
            bottom.append(s)
    vols = [v for _, v in gmsh.model.getEntities(3)]
    gmsh.model.addPhysicalGroup(3, vols, 1, name="electrolyte")
    gmsh.model.addPhysicalGroup(2, contact, 2, name="contact")
    gmsh.model.addPhysicalGroup(2, bottom, 3, name="bottom")
    edge = [c for _, c in gmsh.model.getBoundary([(2, s) for s in contact], oriented=False)]
    f = gmsh.model.mesh.field.add("Distance")
    gmsh.model.mesh.field.setNumbers(f, "CurvesList", edge)
    t = gmsh.model.mesh.field.add("Threshold")
    gmsh.model.mesh.field.setNumber(t, "InField", f)
    gmsh.model.mesh.field.setNumber(t, "SizeMin", fine * um)
    gmsh.model.mesh.field.setNumber(t, "SizeMax", coarse * um)
    gmsh.model.mesh.field.setNumber(t, "DistMin", 0.0)
    gmsh.model.mesh.field.setNumber(t, "DistMax", 4 * A * um)
    gmsh.model.mesh.field.setAsBackgroundMesh(t)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.model.mesh.generate(3)
    gmsh.write(str(path))
    gmsh.finalize()


@pytest.mark.mpi
def test_disk_contact_constriction_resistance(shared_tmp):
    msh = shared_tmp / "constriction.msh"
    if MPI.COMM_WORLD.rank == 0:
        _write_msh(msh, fine=A / 60, coarse=B / 8)
    MPI.COMM_WORLD.barrier()
    case = validate_case(
        {
            "case": {"name": "constriction"},
            "mesh": {"file": str(msh), "dimension": 3, "scale": "1 um"},
            "materials": {
                "se": {"category": "solid_electrolyte", "ionic_conductivity": f"{SIGMA} S/m"}
            },
            "regions": [{"name": "electrolyte", "material": "se"}],
            "physics": {"conduction": {"arrhenius": False}},
            "boundary_conditions": {
                "conduction": [
                    {"name": "contact", "type": "potential", "value": "1 V"},
                    {"name": "bottom", "type": "ground"},
                ]
            },
            "solver": {"linear_rtol": 1e-12},
            "outputs": {"fields": False, "plots": False},
        }
    )
    summary = Run(case, outdir=str(shared_tmp / "out")).execute()
    assert summary["status"] == "ok"
    resistance = 1.0 / summary["results"]["conduction.current_A"]
    rho, e = 1 / SIGMA, A / B
    psi = 1 - 1.40925 * e + 0.29591 * e**3 + 0.05254 * e**5 + 0.02105 * e**7
    exact = rho / (4 * A) * psi + rho * H / (math.pi * B**2)
    assert resistance == pytest.approx(exact, rel=0.02)
