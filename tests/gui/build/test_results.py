"""The Build panel's result texts say what each accuracy was measured on (issue #14, point 5)."""

from __future__ import annotations

from foldwise.core.protocol import SELECT
from foldwise.gui.build.results import bitfit_text


def _side(accuracy: float, fps: float) -> dict:
    return {"accuracy": {"value": accuracy, "source": "measured", **SELECT.fields(1000)},
            "fps": {"value": fps, "source": "estimated"}}


def test_the_bit_search_names_the_split_it_chose_on() -> None:
    result = {"start": _side(0.970, 100.0), "final": _side(0.966, 180.0), "gain": 1.8, "max_loss_points": 1.0,
              "trials": [{"layer": "features.conv2", "kind": "W", "bits": 3, "accepted": True}]}
    text = bitfit_text(result, 0.85)
    assert "97.0 → 96.6 %" in text
    assert "val, 1,000 images" in text and "not the test split" in text  # not the cards' test accuracy


def test_the_bit_search_says_how_long_it_took_and_that_finn_agreed() -> None:
    result = {"start": _side(0.970, 100.0), "final": _side(0.966, 180.0), "gain": 1.8, "max_loss_points": 1.0,
              "trials": [{"layer": "features.conv2", "kind": "W", "bits": 3, "accepted": True}],
              "seconds": 41.6, "method": "per-layer tables",
              "confirmed": {"equal": True, "fps_finn": 180.0, "resources_finn": {"LUT": 1.0}}}
    text = bitfit_text(result, 0.85)
    assert "searched in 42 s (per-layer tables)" in text and "re-estimate of the chosen design agrees" in text
    result["confirmed"]["equal"] = False
    assert "differed" in bitfit_text(result, 0.85)
