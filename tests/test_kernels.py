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
