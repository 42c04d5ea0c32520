"""``foldwise compare``: the table as text, JSON and CSV, the diff and the story, all read-only (it runs while
another Foldwise holds the project and leaves every file as it was)."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.compare import COLUMN_KEYS
from foldwise.core.project import LOCK_NAME, Project


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


@pytest.fixture
def lenet(quantized_lenet: Path) -> Path:
    """The W4A4 lenet with a target of 120 FPS and one measured throughput run of its quantized iteration."""
    with Project.open(quantized_lenet) as project:
        project.update_settings(target_fps=120)
        it = project.get("0002")
        save_run(new_run_dir(it, "z2", "throughput"),
                 RunRecord("throughput", "z2", "pynq", {"fps": Figure(480.0, "images/s", "measured")}))
    return quantized_lenet


def test_compare_json_lists_every_iteration_with_labelled_figures_while_the_gui_holds_the_lock(
        lenet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(lenet)
    with open(lenet / LOCK_NAME, "a+") as handle:  # another instance has it open: compare only reads
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["compare", str(lenet), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert _files(lenet) == before
    assert data["target_fps"] == 120 and [c["key"] for c in data["columns"]] == list(COLUMN_KEYS)
    first, second = data["iterations"]
    assert (first["id"], second["id"], second["parent"], second["current"]) == ("0001", "0002", "0001", True)
    assert second["figures"]["board_fps"] == {"value": 480.0, "source": "measured", "unit": "frames/s",
                                              "note": second["figures"]["board_fps"]["note"]}
    assert second["figures"]["quant_accuracy"]["source"] == "measured"
    assert second["figures"]["fps_estimated"] is None
    assert second["verdict"]["keeps_up"] is True and second["verdict"]["text"] == "keeps up (×4.0)"


def test_compare_text_and_csv(lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "compare.csv"
    assert main(["compare", str(lenet), "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "* 0002 w4a4 [quantized] <- 0001  quantized W4A4" in text
    assert "board fps 480 (measured)" in text and "keeps up (×4.0) against 120 FPS" in text
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["0001", "0002"]
    assert (rows[1]["board_fps"], rows[1]["board_fps_source"], rows[1]["keeps_up"]) == ("480.0", "measured", "True")
    assert rows[0]["board_fps"] == rows[0]["board_fps_source"] == ""  # missing stays empty, never 0
    assert float(rows[1]["weight_mb"]) < float(rows[0]["weight_mb"]) and rows[1]["weight_mb_source"] == "computed"


def test_compare_diff_and_story(lenet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(lenet), "--diff", "0001", "0002", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["a"]["id"] == "0001" and data["b"]["id"] == "0002"
    assert data["bits"] and all(r["a"] is None and r["b"] == {"weights": 4, "acts": 4} for r in data["bits"])
    assert main(["compare", str(lenet), "--diff", "0001", "0002"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("0001 trained-3ep → 0002 w4a4") and "features.conv1: float → W4A4" in text
    assert main(["compare", str(lenet), "--story"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert " MB → " in lines[0] and lines[1] == "480 FPS (measured), target 120 FPS: keeps up (×4.0)"
    assert main(["compare", str(lenet), "--story", "--json"]) == 0
    story = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in story["steps"]] == ["0001", "0002"] and story["target_fps"] == 120


def test_compare_of_a_project_without_iterations(project_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Project.create(project_path).close()
    assert main(["compare", str(project_path)]) == 0
    assert "no iterations yet" in capsys.readouterr().out
