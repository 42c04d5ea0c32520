import json
from pathlib import Path

import pytest

from foldwise import cli
from foldwise.core import iterations
from foldwise.core.project import Project
from tests.core.prune._fixtures import digits_splits, make_project


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch) -> Path:
    make_project(tmp_path / "p", quantized_child=True).close()
    monkeypatch.setattr(iterations, "load_splits", lambda *a, **k: digits_splits())
    return tmp_path / "p"


def test_remove_json_gives_before_and_after(project_dir, capsys):
    code = cli.main(["prune", str(project_dir), "--iteration", "0001", "--remove",
                     "classifier.fc2,classifier.relu2", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for side in ("before", "after"):
        assert set(out[side]) >= {"params", "macs", "mb", "accuracy"}
    assert out["after"]["params"] < out["before"]["params"]
    assert out["recreated"] == ["classifier.fc3"] and out["parent"] == "0001"


def test_channels_text_output(project_dir, capsys):
    assert cli.main(["prune", str(project_dir), "--iteration", "0001", "--channels", "0.5"]) == 0
    text = capsys.readouterr().out
    assert "parameters" in text and "accuracy" in text


@pytest.mark.parametrize(("args", "words"), [
    (["--channels", "1.5"], "between 0 and 1"),
    (["--remove", "features.conv1"], "input layer"),
    (["--remove", "features.conv9"], "no layer named"),
    ([], "say what to prune"),
    (["--channels", "0.5", "--iteration", "0002"], "float parent, iteration 0001"),
])
def test_bad_input_is_one_line_and_changes_nothing(project_dir, capsys, args, words):
    default = [] if "--iteration" in args else ["--iteration", "0001"]
    assert cli.main(["prune", str(project_dir), *default, *args]) == 1
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    with Project.open(project_dir, read_only=True) as project:
        assert [it.id for it in project.iterations] == ["0001", "0002"]
