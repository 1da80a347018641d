"""The compiled table parser the BVH and CSV readers try first: the bits Python's float() gives, or None for
anything that is not plainly a table (the readers' own parsers then name the problem)."""

from __future__ import annotations

import numpy as np
import pytest

from mimicdata import kernels
from mimicdata.errors import BuildError


def test_a_plain_table_parses_to_the_bits_python_reads():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(50, 7)) * 10.0 ** rng.integers(-8, 8, size=(50, 7))
    cells = [[repr(float(v)) for v in row] for row in values]
    cells[0][0], cells[1][1], cells[2][2] = "+1.5", "-.25", "3."
    spaced = "\n".join(" \t".join(row) for row in cells).encode() + b"\r\n\n"
    commas = "\r\n".join(" , ".join(row) for row in cells).encode()
    expected = np.array([[float(c) for c in row] for row in cells])
    for text, sep in ((spaced, " "), (commas, ",")):
        got = kernels.parse_table(text, 7, sep, 50)
        assert got is not None and got.shape == (50, 7)
        assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("text", "sep"),
    [
        (b"1 2\n", " "),  # a short line
        (b"1 2 3 4\n", " "),  # a long one
        (b"1 x 3\n", " "),
        (b"nan 1 2\n", " "),  # non-finite values are the readers' to report
        (b"inf 1 2\n", " "),
        (b"0x10 1 2\n", " "),
        (b"1e 2 3\n", " "),
        (b"1,,2\n", ","),
        (b"1,2,3,\n", ","),
        (b"1 2,3\n", ","),
        (b"1 2 3\n" * 4, " "),  # more rows than asked for
    ],
)
def test_anything_but_a_plain_table_is_left_to_the_careful_reader(text, sep):
    assert kernels.parse_table(text, 3, sep, 3) is None


def test_kernels_that_were_never_built_are_named_with_the_command_that_builds_them(monkeypatch):
    monkeypatch.setattr(kernels.importlib.util, "find_spec", lambda name: None)
    kernels._library.cache_clear()
    try:
        with pytest.raises(BuildError, match=r"not built .*pip install -e \."):
            kernels.parse_table(b"1 2 3\n", 3, " ", 1)
    finally:
        monkeypatch.undo()
        kernels._library.cache_clear()


def test_angular_velocity_is_the_rotation_between_neighbouring_frames_over_their_time():
    """Against the formula written out in numpy, on tracks with sign flips between frames (one orientation)."""
    from mimicdata.geometry.rotations import angular_velocity, quat_conjugate, quat_continuity, quat_multiply

    rng = np.random.default_rng(1)
    dt = 0.05
    t = dt * np.arange(40)[:, None]
    axis = rng.normal(size=(5, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    rate = rng.uniform(0.5, 6.0, 5)
    quat = np.concatenate([np.cos(0.5 * rate * t)[..., None], np.sin(0.5 * rate * t)[..., None] * axis], axis=-1)
    quat[::3] *= -1.0
    got = angular_velocity(quat, dt)
    np.testing.assert_allclose(got, np.broadcast_to(rate[:, None] * axis, got.shape), atol=1e-9)  # a steady turn
    q = quat_continuity(quat)
    nxt, prv = np.concatenate([q[1:], q[-1:]]), np.concatenate([q[:1], q[:-1]])
    rel = quat_multiply(nxt, quat_conjugate(prv))
    rel *= np.where(rel[..., :1] < 0, -1.0, 1.0)
    sin_half = np.linalg.norm(rel[..., 1:], axis=-1)
    span = np.full(len(q), 2 * dt)
    span[[0, -1]] = dt
    expected = rel[..., 1:] * (2 * np.arctan2(sin_half, rel[..., 0]) / sin_half / span[:, None])[..., None]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert np.array_equal(angular_velocity(quat[:1], dt), np.zeros((1, 5, 3)))
