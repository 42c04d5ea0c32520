import itertools

from foldwise.gui.build.cycles_chart import CyclesChart, labelled_rows


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
