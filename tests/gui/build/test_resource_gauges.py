"""The DRAM gauge: shown only when a layer's weights stream in from DRAM, judged against the board's peak."""

from __future__ import annotations

from foldwise.core.finn.boards import get_board
from foldwise.core.finn.reports import report_from_estimates
from foldwise.gui.build.resource_gauges import ResourceGauges

PERF = {"max_cycles": 1000, "critical_path_cycles": 3000, "max_cycles_node_name": "MVAU_hls_0"}
RESOURCES = {"MVAU_hls_0": {"LUT": 1000, "BRAM_18K": 0, "URAM": 0, "DSP": 0}}


def _report(external: dict[str, int] | None):
    return report_from_estimates({"MVAU_hls_0": 1000}, RESOURCES, PERF, 10.0, "Pynq-Z2", external)


def test_the_dram_gauge_appears_with_external_weights_and_says_when_the_stream_exceeds_the_peak(qtbot) -> None:
    gauges = ResourceGauges()
    qtbot.addWidget(gauges)
    gauges.show()
    board = get_board("Pynq-Z2")
    capacity = {**board.capacity(), "DRAM": int(board.dram_mb_s)}
    gauges.set_report(_report(None), capacity)
    assert not gauges.gauges["DRAM"].isVisible() and gauges.worst() == "ok"

    gauges.set_report(_report({"MVAU_hls_0": 10_000}), capacity)  # 10 kB a frame at 100,000 fps: 1,000 MB/s
    dram = gauges.gauges["DRAM"]
    assert dram.isVisible() and dram.used == 1000.0 and dram.state == "ok" and "of 2,100" in dram.text()
    gauges.set_report(_report({"MVAU_hls_0": 30_000}), capacity)  # 3,000 MB/s
    assert dram.state == "over_capacity" and gauges.worst() == "over_capacity"

    gauges.set_report(_report({"MVAU_hls_0": 30_000}), {**capacity, "DRAM": 0})  # a board without a figure
    assert not dram.isVisible() and gauges.worst() == "ok"
