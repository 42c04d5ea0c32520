"""Epoch axes tick whole epochs only, and accuracy axes read in % like the cards beside them (issue #14, 9)."""

from __future__ import annotations

import pytest

from foldwise.gui.panels.prune_panel import SensitivityPlot
from foldwise.gui.quantize.qat_curves import QatCurves
from foldwise.gui.widgets.train_curves import TrainCurves
from tests.gui.ticks import tick_texts


def _shown(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(700, 300)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.wait(20)
    return widget


def _whole_numbers(texts: list[str]) -> bool:
    return bool(texts) and all(t.lstrip("-").isdigit() for t in texts)


def _percentages(texts: list[str]) -> bool:
    return bool(texts) and all(t.endswith(" %") and float(t[:-2]) <= 100 for t in texts)


@pytest.mark.parametrize("epochs", [1, 2, 3, 7])
def test_training_curves_tick_whole_epochs_and_accuracy_in_percent(qtbot, epochs: int) -> None:
    curves = _shown(qtbot, TrainCurves())
    curves.set_history([{"epoch": e, "train_loss": 1 / e, "train_acc": 0.9 + e / 100, "val_loss": 1.1 / e,
                         "val_acc": 0.89 + e / 100} for e in range(1, epochs + 1)])
    qtbot.wait(20)
    for plot in (curves.loss_plot, curves.acc_plot):
        texts = tick_texts(plot.getAxis("bottom"))
        assert _whole_numbers(texts), texts
    assert _percentages(tick_texts(curves.acc_plot.getAxis("left")))


def test_qat_curves_tick_whole_epochs_and_accuracy_in_percent(qtbot) -> None:
    curves = _shown(qtbot, QatCurves())
    curves.set_history([{"epoch": e, "loss": 0.5 / e, "train_accuracy": 0.95, "val_accuracy": 0.94 + e / 100}
                        for e in (1, 2)])
    qtbot.wait(20)
    assert _whole_numbers(tick_texts(curves.loss_plot.getAxis("bottom")))
    assert _whole_numbers(tick_texts(curves.acc_plot.getAxis("bottom")))
    assert _percentages(tick_texts(curves.acc_plot.getAxis("left")))


def test_the_pruning_sensitivity_plot_reads_in_percent(qtbot) -> None:
    plot = _shown(qtbot, SensitivityPlot())
    plot.add_point({"layer": "features.conv1", "ratio": 0.5, "accuracy": 0.93, "baseline": 0.97})
    qtbot.wait(20)
    assert _percentages(tick_texts(plot.plot.getAxis("left")))
    assert _percentages(tick_texts(plot.plot.getAxis("bottom")))  # the share of channels pruned
