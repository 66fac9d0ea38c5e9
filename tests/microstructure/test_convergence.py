"""Richardson extrapolation over sub-voxel levels (exact on model sequences)."""

from __future__ import annotations

import pytest

from sse_fem.microstructure.convergence import LEVELS, extrapolate


@pytest.mark.parametrize("order", [0.8, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_a_power_law_sequence_gives_its_order_and_limit(order, sign):
    limit = 0.566
    values = tuple(limit + sign * 0.03 * (1.0 / n) ** order for n in LEVELS)
    fit = extrapolate(values)
    assert fit.order == pytest.approx(order, rel=1e-9)
    assert fit.estimate == pytest.approx(limit, rel=1e-12)
    assert fit.error_bar == pytest.approx(1.25 * abs(values[-1] - limit), rel=1e-9)


def test_a_settled_sequence_has_no_error_and_an_oscillating_one_no_order():
    settled = extrapolate((2.0, 2.0, 2.0))
    assert (settled.order, settled.estimate, settled.error_bar) == (None, 2.0, 0.0)
    wobble = extrapolate((1.0, 1.1, 1.05))
    assert wobble.order is None and wobble.estimate == 1.05
    assert wobble.error_bar == pytest.approx(0.1)
