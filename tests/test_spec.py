import textwrap

import pytest

from mimicdata.build.discover import check_inputs
from mimicdata.errors import SpecError
from mimicdata.spec import load_spec


def _write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


BASE = """\
name: demo
target_fps: 30
val_percent: 10
sources:
  - name: a
    type: pkl
    input: motions
"""


def test_valid_spec_resolves_inputs_against_spec_dir(tmp_path):
    (tmp_path / "motions").mkdir()
    spec = load_spec(_write(tmp_path, BASE))
    assert spec.sources[0].input == (tmp_path / "motions").resolve()
    assert spec.preprocess.min_frames == 1 and spec.hash_salt == ""
    check_inputs(spec, tmp_path / "spec.yaml")


@pytest.mark.parametrize(
    "text, needles",
    [
        (BASE + "colour: red\n", ["spec.yaml", "colour", "unknown key"]),
        (BASE.replace("val_percent: 10", "val_percent: 100"), ["val_percent", "less than or equal to 99", "100"]),
        (BASE.replace("target_fps: 30", "target_fps: fast"), ["target_fps", "integer", "fast"]),
        (BASE + "  - name: a\n    type: npz\n    input: x\n", ["sources", "unique", "'a'"]),
        (BASE.replace("type: pkl", "type: fbx"), ["sources[0].type", "fbx"]),
        (BASE.replace("name: demo", "name: ../escape"), ["name", "path separators"]),
        (BASE.replace("type: pkl", "type: csv"), ["sources[0]", "fps"]),
        (BASE.replace("type: pkl", "type: bvh"), ["sources[0]", "bvh_format"]),
        (BASE + "preprocess:\n  ground_align: feet\n", ["preprocess.ground_align", "feet"]),
        (BASE + "preprocess:\n  min_frame: 3\n", ["preprocess.min_frame", "did you mean 'min_frames'"]),
        (BASE.replace("    input: motions\n", "    input: motions\n    weight: 0\n"), ["sources[0].weight", "greater than 0"]),
        (BASE + "split:\n  group_pattern: '(['\n", ["split.group_pattern", "regular expression"]),
    ],
)
def test_errors_name_file_field_and_expectation(tmp_path, text, needles):
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, text))
    message = str(err.value)
    for needle in needles:
        assert needle in message, (needle, message)


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    with pytest.raises(SpecError, match=r"spec.yaml: YAML syntax error at line 3, column 16: mapping values"):
        load_spec(_write(tmp_path, "name: x\ntarget_fps: 30\nval_percent: 10: 5\n"))


def test_missing_inputs_are_all_listed(tmp_path):
    text = BASE + "  - name: b\n    type: npz\n    input: elsewhere\n"
    path = _write(tmp_path, text)
    spec = load_spec(path)
    with pytest.raises(SpecError) as err:
        check_inputs(spec, path)
    assert "2 input(s) missing" in str(err.value)
    assert "sources[0] (a).input" in str(err.value) and "sources[1] (b).input" in str(err.value)
