import itertools

import pytest

from foldwise.gui.build.cycles_chart import CyclesChart, labelled_rows
from foldwise.gui.build.folding_table import short_name
from tests.gui.ticks import tick_labels


def test_every_row_is_named_when_they_fit() -> None:
    assert labelled_rows([5, 1, 9], bottleneck=2, capacity=3) == [0, 1, 2]


def test_crowded_rows_name_the_bottleneck_and_the_slowest_apart() -> None:
    values = [10, 900, 20, 1000, 30, 40, 800, 5, 5, 700]
    named = labelled_rows(values, bottleneck=3, capacity=5)
    assert 3 in named and len(named) <= 5
    assert all(b - a >= 2 for a, b in itertools.pairwise(named))  # gap = ceil(10 / 5)
    assert {6, 9} <= set(named)  # the next slowest that keep the gap


def test_chart_names_only_what_fits_its_height(qtbot) -> None:
    chart = CyclesChart()
    qtbot.addWidget(chart)
    chart.resize(600, 160)
    chart.show()
    qtbot.waitExposed(chart)
    names = [f"MVAU_hls_{i}" for i in range(40)]
    cycles = [100 * (i + 1) for i in range(40)]
    chart.set_data(names, cycles, "MVAU_hls_39")
    ticks = chart.plot.getAxis("left")._tickLevels[0]
    assert 1 <= len(ticks) < 40 and (39, "MVAU_hls_39") in [(int(p), t) for p, t in ticks]
    chart.resize(600, 2000)
    qtbot.waitUntil(lambda: len(chart.plot.getAxis("left")._tickLevels[0]) == 40, timeout=3000)


def _rects_apart(rects) -> bool:
    return not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))


@pytest.mark.parametrize(("size", "nodes"), [((560, 260), 60), ((300, 260), 60), ((400, 200), 120), ((900, 600), 25),
                                              ((400, 150), 1)])
@pytest.mark.parametrize("log", [False, True])
def test_labels_never_overlap_or_leave_the_plot_with_many_nodes(qtbot, size, nodes: int, log: bool) -> None:
    """#14 point 9: with many nodes the value labels ran into each other and past the plot's right edge."""
    chart = CyclesChart()
    qtbot.addWidget(chart)
    chart.resize(*size)
    chart.show()
    qtbot.waitExposed(chart)
    names = [f"MVAU_hls_{i}" if i % 3 else f"ConvolutionInputGenerator_rtl_{i}" for i in range(nodes)]
    cycles = [(7919 * (i + 1)) % 99_991 + 100 for i in range(nodes)]
    chart.set_data(names, cycles, names[cycles.index(max(cycles))], target_cycles=0.8 * max(cycles), target_fps=120)
    chart.log_box.setChecked(log)

    def value_labels() -> list:
        return [label.sceneBoundingRect() for label in chart.labels if label.isVisible()]

    def settled() -> None:  # the axis widens to its names and the plot narrows: a repaint or two later
        plot = chart.plot.getViewBox().sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
        outside = [r for r in value_labels() if not plot.contains(r)]
        assert value_labels() and not outside, (plot, outside)
        drawn = {text for text, _rect in tick_labels(chart.plot.getAxis("left"))}
        assert short_name(chart.bottleneck) in drawn, drawn

    qtbot.waitUntil(settled, timeout=3000)
    values = value_labels()
    assert chart.target_line is not None
    assert _rects_apart([*values, chart.target_line.label.sceneBoundingRect()])
    names_drawn = tick_labels(chart.plot.getAxis("left"))
    assert _rects_apart([r for _t, r in names_drawn])
    assert _rects_apart([r for _t, r in tick_labels(chart.plot.getAxis("bottom"))])
