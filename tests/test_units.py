import numpy as np
import pytest

from tact.data.units import MU_AIR, MU_MAX, MU_WATER, hu_to_normalised, normalised_to_hu


def test_lodopab_constants():
    assert pytest.approx(81.35858, abs=1e-5) == MU_MAX
    assert hu_to_normalised(np.array([3071.0]))[0] == pytest.approx(1.0)
    assert hu_to_normalised(np.array([0.0]))[0] == pytest.approx(MU_WATER / MU_MAX)
    assert hu_to_normalised(np.array([-1000.0]))[0] == pytest.approx(MU_AIR / MU_MAX)


def test_clipped_to_unit_interval():
    out = hu_to_normalised(np.array([-3000.0, 5000.0]))
    assert out.tolist() == [0.0, 1.0]


def test_round_trip_hu_normalised():
    hu = np.random.default_rng(0).uniform(-1000, 3071, size=10_000)
    back = normalised_to_hu(hu_to_normalised(hu, dtype=np.float64))
    np.testing.assert_allclose(back, hu, atol=1e-9)
    # float32 storage keeps HU to well under 1 HU
    assert np.abs(normalised_to_hu(hu_to_normalised(hu)) - hu).max() < 0.5
