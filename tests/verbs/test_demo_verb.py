"""``foldwise demo``: headless runs print the figures; recordings land where asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foldwise.cli import main


def test_demo_json_on_the_synthetic_conveyor(defect_project: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", str(defect_project), "--backend", "host-quantized", "--frames", "40", "--fps", "90",
                 "--record", str(tmp_path / "rec"), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["reason"] == "40 frames processed"
    stats = out["stats"]
    assert stats["frames_processed"]["value"] == 40 and stats["target_fps"]["value"] == 90
    assert {"p50", "p95", "p99"} == set(stats["latency_ms"]) and isinstance(stats["keeps_up"], bool)
    assert stats["agreement"]["frames"] >= 1 and 0 <= stats["agreement"]["value"] <= 1  # float vs quantized
    assert Path(out["recording"]["video"]).stat().st_size > 0
    assert len((tmp_path / "rec" / "frames.csv").read_text().splitlines()) == 41


def test_demo_takes_the_issues_spellings(defect_project: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np

    video = tmp_path / "line.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 60.0, (640, 480))
    for i in range(8):
        writer.write(np.full((480, 640, 3), 30 * i, np.uint8))
    writer.release()
    for source, backend, want in ((str(video), "host-quant", "video file line.avi"),
                                  ("conveyor", "host", "synthetic conveyor")):
        code = main(["demo", str(defect_project), "--source", source, "--backend", backend, "--frames", "6",
                     "--fps", "60", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["source"]["name"] == want and out["stats"]["frames_processed"]["value"] == 6
        assert out["backend"]["name"] == {"host": "host-float", "host-quant": "host-quantized"}[backend]
    with pytest.raises(SystemExit):
        main(["demo", str(defect_project), "--backend", "gpu"])
    assert "unknown backend 'gpu'" in capsys.readouterr().err


def test_demo_text_on_a_lenet_project_and_a_folder(trained_lenet: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import cv2
    import numpy as np

    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 48, 3), 40 * i, np.uint8))
    code = main(["demo", str(trained_lenet), "--source", f"folder:{tmp_path}", "--seconds", "20"])
    out = capsys.readouterr().out
    assert code == 0
    assert "ended: end of image folder" in out and "after 5 images" in out
    assert "keeps up?" in out and "(all figures measured)" in out and "latency ms p50" in out


def test_demo_budget_before_a_run(estimated_defect: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", str(estimated_defect), "--budget", "estimate", "--fps", "120", "--json"]) == 0
    budget = json.loads(capsys.readouterr().out)
    assert budget["budget_ms"] == pytest.approx(1000 / 120)
    assert [s["stage"] for s in budget["stages"]] == ["preprocess", "inference", "annotate"]
    assert budget["stages"][1]["source"] == "estimated"
    assert main(["demo", str(estimated_defect), "--budget", "--backend", "host-quantized"]) == 0
    out = capsys.readouterr().out
    assert "inference from host-quantized" in out and "(measured)" in out and out.strip().splitlines()[-1].startswith(
        ("keeps up", "does not keep up"))
