import pytest

from sse_fem.errors import CaseError
from sse_fem.units import to_si


@pytest.mark.parametrize(
    ("text", "dimension", "si"),
    [
        ("0.5 mS/cm", "conductivity", 0.05),
        ("1 mA/cm^2", "current_density", 10.0),
        ("10 um", "length", 1e-5),
        ("25 degC", "temperature", 298.15),
        ("100 Ohm cm^2", "area_resistance", 0.01),
        ("30 kJ/mol", "activation_energy", 3.0e4),
        ("1 eV", "activation_energy", 96485.332),
        ("2 h", "time", 7200.0),
        ("50 %", "dimensionless", 0.5),
        ("1.55e-5 1/K", "thermal_expansion", 1.55e-5),
        ("1 MPa*m^0.5", "stress_intensity", 1e6),
        ("2 W/(m*K)", "thermal_conductivity", 2.0),
        ("1 m^(1/2)*Pa", "stress_intensity", 1.0),
        ("3.5", "dimensionless", 3.5),
        (1e-10, "dimensionless", 1e-10),
        (0, "length", 0.0),
    ],
)
def test_conversion_to_si(text, dimension, si):
    assert to_si(text, dimension) == pytest.approx(si, rel=1e-6)


@pytest.mark.parametrize(
    ("text", "dimension", "fragment"),
    [
        ("0.5 m", "conductivity", "is not a conductivity"),
        ("abc", "length", "cannot read"),
        ("1 mA", "current_density", "is not a current density"),
        (True, "length", "expected a length"),
        ([1], "length", "expected a length"),
        (3.5, "length", "bare number 3.5 for a length: give a unit, e.g. '3.5 m'"),
        (0, "temperature", "give a unit, e.g. '298.15 K' or '25 degC'"),
    ],
)
def test_bad_quantities_name_the_path(text, dimension, fragment):
    with pytest.raises(CaseError) as err:
        to_si(text, dimension, "materials.llzo.ionic_conductivity")
    assert str(err.value).startswith("materials.llzo.ionic_conductivity: ")
    assert fragment in str(err.value)
