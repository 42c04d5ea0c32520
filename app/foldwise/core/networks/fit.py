"""Does a network's weight memory fit a board's on-chip memory? Computed from the layer table, before training.

FINN keeps each layer's weights next to its compute unit in BRAM (``mem_mode`` internal); a network whose
weights at the chosen precision exceed the board's BRAM cannot be built that way. Only weight layers count
(convolutions and fully connected layers: the rows with MACs); batch-norm parameters end up in thresholds.
Activations' buffers, FIFOs and BRAM packing losses come on top, so a network near 100 % will not fit either:
FINN's estimate after quantization is the figure to trust.
"""

from __future__ import annotations

import functools
from typing import Any

from foldwise.core.finn.boards import DEFAULT_BOARD, get_board

BRAM18_BYTES = 18 * 1024 // 8


def weight_fit(summary: Any, bits: int = 4, board: str = DEFAULT_BOARD) -> dict[str, Any]:
    """Weights of ``summary`` (NetworkSummary or its dict) at ``bits`` against ``board``'s BRAM.

    Returns ``{"weights", "bits", "weight_mb", "board", "on_chip_mb", "bram18", "fraction", "fits", "source"}``
    (MB are 10^6 bytes, as in the layer table); ``source`` is ``computed``.
    """
    rows = summary.to_dict()["layers"] if hasattr(summary, "to_dict") else summary.get("layers", [])
    weights = sum(int(row["params"]) for row in rows if int(row.get("macs") or 0) > 0)
    target = get_board(board)
    on_chip = target.bram18 * BRAM18_BYTES
    weight_bytes = weights * bits / 8
    return {"weights": weights, "bits": bits, "weight_mb": weight_bytes / 1e6, "board": target.name,
            "on_chip_mb": on_chip / 1e6, "bram18": target.bram18, "fraction": weight_bytes / on_chip,
            "fits": weight_bytes <= on_chip, "source": "computed"}


def fit_line(fit: dict[str, Any]) -> str:
    """One line for the CLI and the GUI: weights, MB at the precision, the board's BRAM and the verdict."""
    verdict = "fits" if fit["fits"] else "does not fit: pick a smaller width or depth, or prune"
    return (f"{fit['weights']:,} weights, {fit['weight_mb']:.3g} MB at {fit['bits']} bits = {fit['fraction']:.0%} "
            f"of the {fit['board']}'s on-chip memory ({fit['on_chip_mb']:.3g} MB in {fit['bram18']} BRAM18): "
            f"{verdict} (computed)")


@functools.lru_cache(maxsize=32)
def zoo_fit(arch: str, bits: int = 4, board: str = DEFAULT_BOARD) -> dict[str, Any]:
    """:func:`weight_fit` of zoo network ``arch`` as built untrained (the architecture is all it needs)."""
    from foldwise.core.networks import zoo
    from foldwise.core.networks.summary import summarize

    entry = zoo.get_entry(arch)
    return weight_fit(summarize(entry.build(), entry.spec), bits, board)
