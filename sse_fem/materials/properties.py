"""Catalogue of material properties: canonical name -> (dimension, description).

Every property in a library YAML file and every inline override in a case file must be named
here; the dimension (a key of ``sse_fem.units.DIMENSIONS``) fixes the SI unit it converts to.
"""

from __future__ import annotations

import math

PROPERTIES: dict[str, tuple[str, str]] = {
    # charge transport
    "charge_number": ("dimensionless", "charge number z of the mobile ion (or of the metal ion)"),
    "ionic_conductivity": ("conductivity", "ionic conductivity at reference_temperature"),
    "ionic_conductivity_bulk": ("conductivity", "bulk (grain) ionic conductivity"),
    "ionic_conductivity_grain_boundary": ("conductivity", "specific grain-boundary conductivity"),
    "reference_temperature": ("temperature", "temperature at which conductivities are given"),
    "activation_energy": ("activation_energy", "Arrhenius activation energy of ionic transport"),
    "electronic_conductivity": ("conductivity", "electronic conductivity"),
    "transference_number": ("dimensionless", "cation transference number t+"),
    "mobile_ion_concentration": ("concentration", "concentration of mobile ions"),
    "total_ion_concentration": ("concentration", "total concentration of the mobile species"),
    "salt_concentration": ("concentration", "salt concentration (binary electrolytes)"),
    "cation_diffusivity": ("diffusivity", "cation diffusivity D+"),
    "anion_diffusivity": ("diffusivity", "anion diffusivity D-"),
    "nernst_einstein_diffusivity": (
        "diffusivity",
        "D = sigma R T / (z^2 F^2 c), consistency value",
    ),
    "relative_permittivity": ("dimensionless", "relative permittivity eps_r"),
    "vft_prefactor": ("vft_prefactor", "VFT prefactor A in sigma = A T^-1/2 exp(-B/(T - T0))"),
    "vft_pseudo_activation": ("temperature", "VFT B parameter"),
    "vft_ideal_glass_temperature": ("temperature", "VFT T0"),
    # electrochemistry of electrodes
    "standard_potential": ("potential", "standard electrode potential vs SHE"),
    "open_circuit_potential": ("potential", "representative open-circuit potential vs Li/Li+"),
    "entropic_coefficient": (
        "potential_per_temperature",
        "entropic coefficient dU/dT of the open-circuit potential",
    ),
    "stability_window_low": ("potential", "lower edge of the electrochemical window vs metal"),
    "stability_window_high": ("potential", "upper edge of the electrochemical window vs metal"),
    "thermodynamic_window_low": ("potential", "lower edge of the DFT (thermodynamic) window"),
    "thermodynamic_window_high": ("potential", "upper edge of the DFT (thermodynamic) window"),
    "specific_capacity": ("specific_capacity", "(practical or theoretical) specific capacity"),
    "max_concentration": ("concentration", "maximum Li concentration in the host c_max"),
    "solid_diffusivity": ("diffusivity", "chemical diffusivity of the inserted ion"),
    "partial_molar_volume": ("molar_volume", "partial molar volume Omega (chemical strain)"),
    "molar_mass": ("molar_mass", "molar mass"),
    "molar_volume": ("molar_volume", "molar volume M/rho"),
    # thermal
    "density": ("density", "mass density"),
    "thermal_conductivity": ("thermal_conductivity", "thermal conductivity"),
    "specific_heat": ("specific_heat", "specific heat capacity c_p"),
    "thermal_conductivity_temperature_coefficient": (
        "per_temperature",
        "beta in k(T) = k [1 + beta (T - 298.15 K)]",
    ),
    "thermal_expansion": ("thermal_expansion", "linear thermal expansion coefficient"),
    "melting_temperature": ("temperature", "melting temperature"),
    # mechanics
    "youngs_modulus": ("pressure", "Young's modulus E"),
    "shear_modulus": ("pressure", "shear modulus G"),
    "poissons_ratio": ("dimensionless", "Poisson's ratio"),
    "yield_strength": ("pressure", "yield strength"),
    "fracture_toughness": ("stress_intensity", "fracture toughness K_IC"),
    "surface_energy": ("surface_energy", "surface energy gamma"),
}

_POSITIVE = (0.0, math.inf)

#: Open interval (low, high) of physically possible SI values; properties not listed take any
#: finite value (potentials, thermal expansion, partial molar volume, transference number).
LIMITS: dict[str, tuple[float, float]] = {
    "charge_number": _POSITIVE,
    "ionic_conductivity": _POSITIVE,
    "ionic_conductivity_bulk": _POSITIVE,
    "ionic_conductivity_grain_boundary": _POSITIVE,
    "reference_temperature": _POSITIVE,
    "activation_energy": _POSITIVE,
    "electronic_conductivity": _POSITIVE,
    "mobile_ion_concentration": _POSITIVE,
    "total_ion_concentration": _POSITIVE,
    "salt_concentration": _POSITIVE,
    "cation_diffusivity": _POSITIVE,
    "anion_diffusivity": _POSITIVE,
    "nernst_einstein_diffusivity": _POSITIVE,
    "relative_permittivity": _POSITIVE,
    "vft_prefactor": _POSITIVE,
    "vft_pseudo_activation": _POSITIVE,
    "vft_ideal_glass_temperature": _POSITIVE,
    "specific_capacity": _POSITIVE,
    "max_concentration": _POSITIVE,
    "solid_diffusivity": _POSITIVE,
    "molar_mass": _POSITIVE,
    "molar_volume": _POSITIVE,
    "density": _POSITIVE,
    "thermal_conductivity": _POSITIVE,
    "specific_heat": _POSITIVE,
    "melting_temperature": _POSITIVE,
    "youngs_modulus": _POSITIVE,
    "shear_modulus": _POSITIVE,
    "poissons_ratio": (-1.0, 0.5),
    "yield_strength": _POSITIVE,
    "fracture_toughness": _POSITIVE,
    "surface_energy": _POSITIVE,
}

#: Properties that may also be given as a function of the stoichiometry x = c_s / c_max in
#: [0, 1] of the host (a table or an expression, ``sse_fem.materials.curves``):
#: name -> (dimension, description). A material may have both the scalar property (a
#: representative value) and the curve of the same name.
CURVES: dict[str, tuple[str, str]] = {
    "open_circuit_potential": (
        "potential",
        "open-circuit potential U(x) vs Li/Li+ as a function of the stoichiometry x",
    ),
    "entropic_coefficient": (
        "potential_per_temperature",
        "entropic coefficient dU/dT(x) as a function of the stoichiometry x",
    ),
    "solid_diffusivity": (
        "diffusivity",
        "chemical diffusivity D(x) of the inserted ion as a function of the stoichiometry x",
    ),
}
