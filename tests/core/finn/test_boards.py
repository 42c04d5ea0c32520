"""Boards: part names agree with the installed FINN, capacities from AMD's tables."""

from __future__ import annotations

import pytest

from foldwise.core.errors import InputError
from foldwise.core.finn.boards import BOARDS, get_board, utilization


def test_boards_match_finn_part_map(finn_worker) -> None:
    part_map = finn_worker.request("info")["part_map"]
    for board in BOARDS.values():
        assert part_map[board.name] == board.part, board.name
    z2 = get_board("pynq-z2")
    assert (z2.lut, z2.ff, z2.bram18, z2.dsp, z2.uram) == (53_200, 106_400, 280, 220, 0)
    with pytest.raises(InputError, match="known boards"):
        get_board("Nexys")


def test_utilization_percentages() -> None:
    z2 = get_board("Pynq-Z2")
    pct = utilization({"LUT": 26600, "BRAM_18K": 140, "URAM": 0, "DSP": 0}, z2)
    assert pct == {"LUT": 50.0, "BRAM_18K": 50.0, "URAM": 0.0, "DSP": 0.0}
    assert utilization({"URAM": 4}, z2) == {"URAM": None}  # the Z2 has none: no percentage

