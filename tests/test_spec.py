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
        (BASE.replace("type: pkl", "type: bvh\n    bvh_format: lafan2"), ["sources[0].bvh_format", "lafan2", "auto"]),
        (BASE + "preprocess:\n  ground_align: feet\n", ["preprocess.ground_align", "feet"]),
        (BASE + "preprocess:\n  min_frame: 3\n", ["preprocess.min_frame", "did you mean 'min_frames'"]),
        (BASE.replace("    input: motions\n", "    input: motions\n    weight: 0\n"), ["sources[0].weight", "greater than 0"]),
        (BASE + "split:\n  group_pattern: '(['\n", ["split.group_pattern", "regular expression"]),
        (BASE + "preprocess:\n  max_self_collision_frames: 5\n", ["preprocess.max_self_collision_frames", "1"]),
        (BASE + "preprocess:\n  max_self_colision_frames: 0.1\n",
         ["preprocess.max_self_colision_frames", "did you mean 'max_self_collision_frames'"]),
        (BASE + "preprocess:\n  fall_height_fraction: 1.5\n", ["preprocess.fall_height_fraction", "less than 1"]),
        (BASE.replace("    input: motions\n", "    input: motions\n    mirror: sometimes\n"), ["sources[0].mirror", "bool"]),
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


@pytest.mark.parametrize(
    "extra, needles",
    [
        ("    root_pos_key: pos\n", ["sources[0].root_pos_key", "does not apply to pkl sources", "hdf5"]),
        ("    bvh_format: lafan1\n", ["sources[0].bvh_format", "does not apply to pkl sources", "bvh"]),
        ("    metadata_csv: meta.csv\n", ["sources[0].metadata_csv", "seed_csv"]),
        ("    fps: 1001\n", ["sources[0].fps", "less than or equal to 1000"]),
    ],
)
def test_a_field_its_source_type_does_not_use_is_refused(tmp_path, extra, needles):
    with pytest.raises(SpecError) as err:
        load_spec(_write(tmp_path, BASE + extra))
    for needle in needles:
        assert needle in str(err.value), (needle, str(err.value))


def test_reader_options_come_from_the_spec_unchanged(tmp_path):
    spec = load_spec(_write(tmp_path, BASE + "    fps: 60\n"))
    assert spec.sources[0].reader_options() == {"fps": 60.0}  # a pkl fps is honoured, not dropped
    spec = load_spec(_write(tmp_path, BASE.replace("target_fps: 30", "target_fps: 1000") + "    fps: 1000\n"))
    assert spec.target_fps == 1000 and spec.sources[0].reader_options() == {"fps": 1000.0}


def test_csv_without_fps_says_why(tmp_path):
    with pytest.raises(SpecError, match=r"sources\[0\]\.fps: required field is missing \(Unitree-layout CSV"):
        load_spec(_write(tmp_path, BASE.replace("type: pkl", "type: csv")))


def test_robot_name_selects_the_robot_or_must_agree(tmp_path):
    spec = load_spec(_write(tmp_path, BASE + "    robot_name: my_robot.urdf\n"))
    assert spec.robot == str((tmp_path / "my_robot.urdf").resolve())
    with pytest.raises(SpecError, match=r"sources\[0\]\.robot_name: 'booster_t1' disagrees with the dataset's robot"):
        load_spec(_write(tmp_path, "robot: unitree_g1\n" + BASE + "    robot_name: booster_t1\n"))


def test_a_format_file_is_a_bvh_format_resolved_from_the_spec_folder(tmp_path):
    text = BASE.replace("type: pkl", "type: bvh") + "    bvh_format: formats/mine.yaml\n"
    spec = load_spec(_write(tmp_path, text))
    assert spec.sources[0].format_file() == (tmp_path / "formats" / "mine.yaml").resolve()
    (tmp_path / "motions").mkdir()
    with pytest.raises(SpecError, match=r"sources\[0\] \(a\)\.bvh_format: skeleton format file .*mine.yaml does not exist"):
        check_inputs(spec, tmp_path / "spec.yaml")
