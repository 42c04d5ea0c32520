"""The region of interest (kept per project) and the verdict's wording."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.core.demo.roi import Roi, load_roi, save_roi
from foldwise.core.demo.stats import verdict
from foldwise.core.errors import InputError
from foldwise.core.project import Project


def test_roi_is_saved_in_the_project_settings(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        assert load_roi(project) is None
        save_roi(project, Roi.from_pixels(100, 50, 200, 100, 400, 200))
    with Project.open(tmp_path / "p") as project:
        roi = load_roi(project)
        assert roi == Roi(0.25, 0.25, 0.5, 0.5)
        assert roi.pixels(800, 600) == (200, 150, 400, 300)
        save_roi(project, None)
        assert load_roi(project) is None


def test_roi_drawn_backwards_or_past_the_edge_is_clipped() -> None:
    assert Roi.from_pixels(300, 200, -100, -100, 400, 200) == Roi(0.5, 0.5, 0.25, 0.5)
    assert Roi.from_pixels(350, -10, 100, 60, 400, 200).pixels(400, 200) == (350, 0, 50, 50)


@pytest.mark.parametrize(("args", "message"), [
    ((0.1, 0.1, 0.0, 0.2), "zero size"),
    ((0.9, 0.1, 0.5, 0.2), "outside the frame"),
    ((-0.1, 0.1, 0.5, 0.2), "outside the frame"),
])
def test_bad_rois_are_refused(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Roi(*args)
    with pytest.raises(InputError, match="zero size"):
        Roi.from_pixels(10, 10, 1, 40, 100, 100)


def test_default_roi_is_a_centred_square() -> None:
    x, y, w, h = Roi.default(640, 480).pixels(640, 480)
    assert (w, h) == (128, 128) and (x + w / 2, y + h / 2) == (320, 240)


def test_verdicts_name_the_stage_to_fix_or_the_source() -> None:
    stages = {"capture": 0.5, "preprocess": 0.3, "inference": 12.0, "annotate": 0.4, "output": 0.2}
    assert verdict(True, 120.0, 120.0, 120, 0, 500, stages, 500).startswith("keeps up")
    slow = verdict(False, 70.0, 120.0, 120, 200, 500, stages, 300)
    assert "drops 40 %" in slow and "inference takes 12.00 ms of the 8.33 ms budget" in slow
    assert "source delivers only 30.0 FPS" in verdict(False, 30.0, 30.0, 120, 0, 100, stages, 100)
