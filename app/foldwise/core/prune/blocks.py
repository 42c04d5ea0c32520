"""Blocks of layers (a conv and its BatchNorm, ReLU and pool) from a stored layer table: what the GUI selects
and the CLI's patterns name when removing "a block". Pure Python over summary rows: no torch import."""

from __future__ import annotations

from typing import Any


def layer_blocks(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Layer rows (``name``, ``type``, in order) grouped into blocks: a Conv or Linear layer and the layers
    that follow it in the same container up to the next Conv or Linear (e.g. conv5, bn5, relu5, pool5)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    current_parent = None
    for row in rows:
        name, kind = str(row["name"]), str(row.get("type", ""))
        parent = name.rpartition(".")[0]
        starts = "Conv" in kind or "Linear" in kind
        if starts or parent != current_parent or not current:
            if current:
                blocks.append(current)
            current = [name]
            current_parent = parent
        else:
            current.append(name)
    if current:
        blocks.append(current)
    return blocks


def block_of(rows: list[dict[str, Any]], name: str) -> list[str]:
    """The block holding layer ``name`` (see :func:`layer_blocks`); ``[name]`` if it is in none."""
    for block in layer_blocks(rows):
        if name in block:
            return block
    return [name]
