"""The filters along time (mimicdata.timeseries) agree with scipy.ndimage's, whose import they spare every
retargeting process."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from mimicdata.timeseries import gaussian_smooth, running_max


@pytest.mark.parametrize("frames", [1, 2, 5, 300])
@pytest.mark.parametrize("mode", ["nearest", "constant"])
def test_the_filters_are_scipys(frames, mode):
    x = np.random.default_rng(frames).normal(size=(frames, 4, 3))
    for sigma, truncate in ((0.9, 4.0), (2.4, 3.0), (12.0, 4.0)):
        np.testing.assert_allclose(gaussian_smooth(x, sigma, mode, truncate),
                                   gaussian_filter1d(x, sigma, axis=0, mode=mode, truncate=truncate), atol=1e-12)
    for width in (1, 3, 13):
        np.testing.assert_array_equal(running_max(x, width, mode), maximum_filter1d(x, width, axis=0, mode=mode))


def test_no_smoothing_is_a_copy_and_an_empty_clip_stays_empty():
    x = np.arange(6.0).reshape(3, 2)
    out = gaussian_smooth(x, 0.0)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    assert gaussian_smooth(np.zeros((0, 3)), 2.0).shape == (0, 3)
    assert running_max(np.zeros((0, 3)), 5).shape == (0, 3)


def test_retargeting_does_not_import_scipy():
    """scipy.ndimage took a fifth of a second of ingest-motion's start-up; a 30 fps take needs no scipy at all."""
    import subprocess
    import sys

    code = ("import sys; import mimicdata.commands.ingest_motion, mimicdata.retarget.pipeline, "
            "mimicdata.retarget.physical; print(sorted(m for m in sys.modules if m.startswith('scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_runs_of_flags_are_found_at_both_ends_and_in_order():
    from mimicdata.timeseries import true_runs

    flags = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert true_runs(flags) == [(0, 2), (4, 5), (6, 9)]
    assert true_runs(np.zeros(4, dtype=bool)) == [] and true_runs(np.ones(3, dtype=bool)) == [(0, 3)]
    assert true_runs(np.zeros(0, dtype=bool)) == []


def test_smoothstep_goes_from_0_to_1_with_flat_ends():
    from mimicdata.timeseries import smoothstep

    x = np.linspace(0.0, 1.0, 1001)
    g = smoothstep(x)
    assert g[0] == 0.0 and g[-1] == 1.0 and np.isclose(g[500], 0.5) and np.all(np.diff(g) >= 0)
    velocity = np.gradient(g, x)
    assert abs(velocity[0]) < 1e-4 and abs(velocity[-1]) < 1e-4  # no kink where a change starts or ends
    acceleration = np.gradient(velocity, x)
    assert abs(acceleration[1]) < 0.1 and abs(acceleration[-2]) < 0.1
