"""Boards FINN can target: their FPGA part (as in FINN's ``finn.util.basic`` part maps) and fabric capacity.

Part names are copied from finn-plus 1.6.1 (``pynq_part_map``, ``alveo_part_map``) so this module never
imports FINN; ``tests/core/finn`` checks them against the installed FINN through the worker. Capacities are
from AMD's product tables (DS190 Zynq-7000, DS891 Zynq UltraScale+, DS926 RFSoC, DS987 Kria K26, Alveo data
sheets). BRAM is counted in 18 Kb halves, as FINN's estimates are (``BRAM_18K``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from foldwise.core.errors import InputError

RESOURCE_KEYS = ("LUT", "FF", "BRAM_18K", "URAM", "DSP")


@dataclass(frozen=True)
class Board:
    """A FINN board name, its part, its shell flow and what its fabric holds."""

    name: str
    part: str
    flow: str  # "zynq" (vivado_zynq shell) or "alveo" (vitis_alveo shell)
    lut: int
    ff: int
    bram18: int
    uram: int
    dsp: int
    #: peak DRAM bandwidth in MB/s (weights streamed from DRAM share it with the CPU and the input/output DMA);
    #: None where Foldwise has no figure for the board
    dram_mb_s: float | None = None

    def capacity(self) -> dict[str, int]:
        """Capacity keyed like FINN's resource reports."""
        return {"LUT": self.lut, "FF": self.ff, "BRAM_18K": self.bram18, "URAM": self.uram, "DSP": self.dsp}

    def to_dict(self) -> dict:
        return asdict(self)


def _b(name: str, part: str, flow: str, lut: int, ff: int, bram36: int, uram: int, dsp: int,
       dram_mb_s: float | None = None) -> Board:
    return Board(name, part, flow, lut, ff, 2 * bram36, uram, dsp, dram_mb_s)


#: PYNQ-Z1 and PYNQ-Z2 reference manuals: 512 MB DDR3 on a 16-bit bus at 1,050 Mb/s per pin
_PYNQ_Z_DRAM_MB_S = 16 / 8 * 1050


_Z7020 = (53_200, 106_400, 140, 0, 220)
_ZU3EG = (70_560, 141_120, 216, 0, 360)
_ZU28DR = (425_280, 850_560, 1_080, 80, 4_272)

BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        _b("Pynq-Z1", "xc7z020clg400-1", "zynq", *_Z7020, _PYNQ_Z_DRAM_MB_S),
        _b("Pynq-Z2", "xc7z020clg400-1", "zynq", *_Z7020, _PYNQ_Z_DRAM_MB_S),
        _b("Ultra96", "xczu3eg-sbva484-1-e", "zynq", *_ZU3EG),
        _b("Ultra96-V2", "xczu3eg-sbva484-1-i", "zynq", *_ZU3EG),
        _b("AUP-ZU3_8GB", "xczu3eg-sfvc784-2-e", "zynq", *_ZU3EG),
        _b("ZCU102", "xczu9eg-ffvb1156-2-e", "zynq", 274_080, 548_160, 912, 0, 2_520),
        _b("ZCU104", "xczu7ev-ffvc1156-2-e", "zynq", 230_400, 460_800, 312, 96, 1_728),
        _b("ZCU111", "xczu28dr-ffvg1517-2-e", "zynq", *_ZU28DR),
        _b("RFSoC2x2", "xczu28dr-ffvg1517-2-e", "zynq", *_ZU28DR),
        _b("RFSoC4x2", "xczu48dr-ffvg1517-2-e", "zynq", *_ZU28DR),
        _b("KV260_SOM", "xck26-sfvc784-2LV-c", "zynq", 117_120, 234_240, 144, 64, 1_248),
        _b("U50", "xcu50-fsvh2104-2L-e", "alveo", 872_000, 1_743_000, 1_344, 640, 5_952),
        _b("U200", "xcu200-fsgd2104-2-e", "alveo", 1_182_000, 2_364_000, 2_160, 960, 6_840),
        _b("U250", "xcu250-figd2104-2L-e", "alveo", 1_728_000, 3_456_000, 2_688, 1_280, 12_288),
        _b("U280", "xcu280-fsvh2892-2L-e", "alveo", 1_304_000, 2_607_000, 2_016, 960, 9_024),
        _b("U55C", "xcu55c-fsvh2892-2L-e", "alveo", 1_304_000, 2_607_000, 2_016, 960, 9_024),
    )
}

DEFAULT_BOARD = "Pynq-Z2"


def get_board(name: str) -> Board:
    """The board called ``name`` (case-insensitive); InputError listing the known boards otherwise."""
    if name in BOARDS:
        return BOARDS[name]
    for board in BOARDS.values():
        if board.name.lower() == name.lower():
            return board
    raise InputError(f"unknown board {name!r}; known boards: {', '.join(BOARDS)}")


def board_for_part(part: str) -> Board | None:
    """The first board using FPGA ``part``, for capacities when only a part is known."""
    return next((b for b in BOARDS.values() if b.part == part), None)


def utilization(totals: dict[str, float], board: Board) -> dict[str, float | None]:
    """Percent of the board's capacity per resource in ``totals`` (None where the board has none)."""
    capacity = board.capacity()
    out: dict[str, float | None] = {}
    for key, value in totals.items():
        cap = capacity.get(key)
        if cap is None:
            continue
        out[key] = (100.0 * float(value) / cap) if cap else (None if value else 0.0)
    return out
