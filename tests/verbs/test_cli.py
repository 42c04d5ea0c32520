import json
import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.project import MANIFEST_NAME, IterationKind, Project

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "foldwise", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO / "app"), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("foldwise ")


def test_new_then_info_json(tmp_path: Path) -> None:
    path = tmp_path / "p"
    assert run_cli("new", str(path)).returncode == 0
    result = run_cli("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["format"] == "foldwise-project" and info["iterations"] == []
    assert info["path"] == str(path)


def test_new_chooses_the_data_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["new", str(tmp_path / "d"), "--arch", "lenet5", "--data", "digits", "--json"]) == 0
    with Project.open(tmp_path / "d", read_only=True) as project:
        assert project.settings["dataset"] == {"name": "digits", "seed": 0}
        assert project.settings["network"] == {"arch": "lenet5"}
    import cv2
    import numpy as np

    images = tmp_path / "imgs"
    for cls in ("a", "b"):
        (images / cls).mkdir(parents=True)
        for i in range(2):
            cv2.imwrite(str(images / cls / f"{i}.png"), np.full((12, 12), 60 * i, np.uint8))
    assert main(["new", str(tmp_path / "f"), "--arch", "defectnet", "--data", f"folder:{images}"]) == 0
    with Project.open(tmp_path / "f", read_only=True) as project:
        assert project.settings["dataset"]["name"] == "folder"
        assert project.settings["dataset"]["path"] == str(images)


def test_new_from_example(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["new", str(tmp_path / "d"), "--example", "defect-demo", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["settings"]["network"]["arch"] == "defectnet"
    assert info["settings"]["example"] == "defect-demo"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p.mkdir(), "is not a Foldwise project"),
        (lambda p: (p.mkdir(), (p / MANIFEST_NAME).write_text("{oops")), "is corrupt"),
        (lambda p: (p.mkdir(), (p / MANIFEST_NAME).write_text('{"format":"foldwise-project","version":5}')),
         "newer Foldwise"),
    ],
)
def test_bad_projects_give_one_line_and_nonzero_exit(tmp_path: Path, setup, message: str) -> None:
    path = tmp_path / "bad"
    setup(path)
    before = sorted((p.name, p.read_bytes()) for p in path.iterdir())
    result = run_cli("info", str(path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted((p.name, p.read_bytes()) for p in path.iterdir()) == before


def test_new_refuses_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    result = run_cli("new", str(tmp_path))
    assert result.returncode == 1 and "not an empty folder" in result.stderr


def test_info_text_lists_iterations(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with Project.create(tmp_path / "p") as project, project.new_iteration(IterationKind.TRAINED, "base") as draft:
        draft.metrics["accuracy"] = {"value": 0.971, "source": "measured"}
    assert main(["info", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "* 0001 base [trained]" in out and "accuracy: 0.971 (measured)" in out


@pytest.mark.parametrize("args", [(), ("gui",)])
def test_gui_without_a_display_says_how_to_get_one(args: tuple[str, ...]) -> None:
    """Qt would abort the process (exit 134) with no screen; the CLI explains instead (run_cli has no DISPLAY)."""
    result = run_cli(*args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("foldwise: error: no display to open the window on")
    assert "xvfb-run" in result.stderr and "Traceback" not in result.stderr


def test_new_and_info_show_the_weights_fit_before_training(tmp_path: Path) -> None:
    result = run_cli("new", str(tmp_path / "r"), "--arch", "resnet18")
    assert result.returncode == 0, result.stderr
    assert "network resnet18: 11,160,258 weights, 5.58 MB at 4 bits" in result.stdout
    assert "does not fit" in result.stdout and "data set: defects (the network's own)" in result.stdout
    info = json.loads(run_cli("info", str(tmp_path / "r"), "--json").stdout)
    assert info["fit"]["weights"] == 11_160_258 and info["fit"]["fits"] is False
    small = run_cli("new", str(tmp_path / "s"), "--arch", "resnet8-0.25x", "--data", "defects")
    assert ": fits (computed)" in small.stdout and "data set: defects" in small.stdout


def test_data_verb_shows_and_changes_the_data_set(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "p"
    assert main(["new", str(path), "--arch", "lenet5"]) == 0
    assert main(["data", str(path)]) == 0
    assert "data set: none set" in capsys.readouterr().out
    assert main(["data", str(path), "digits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dataset"] == {"name": "digits", "seed": 0}
    assert main(["data", str(path), "defects"]) == 1  # 3×64×64 images for a 1×32×32 network
    assert "data set 'defects' holds 3×64×64 images but the project's network takes 1×32×32" in \
        capsys.readouterr().err
    with Project.open(path, read_only=True) as project:
        assert project.settings["dataset"]["name"] == "digits"  # the refused change changed nothing
