"""FINN's option tables for weight-bit candidates, asked for once per bit width and combined per candidate.

A layer's weight bits reach FINN through that layer's MVAU (or VVAU) only: its weights, accumulator and
fused thresholds. The thresholds come from the activation scales, which Brevitas calibrates with the
quantizers off (see ``core.quantize.incremental``), and the other nodes read activations whose bits do not
change. So the option table of a weight layer's node group at ``b`` bits is the same in every model that
has that layer at ``b`` bits, whatever the other layers hold. The bit search therefore asks FINN (the
worker's ``options``, cached on disk per model hash) for one model per bit width, every lowerable layer at
that width, and builds each candidate's tables from the per-(layer, bits) entries: no FINN call per
candidate. The k-th weight-node group belongs to the k-th quantized weight layer (both in graph order);
:meth:`LayerTables.add` checks this against the layer shapes and checks that the other groups did not change,
and the chosen design is re-estimated by FINN on its own exported model, which must give the same figures.
"""

from __future__ import annotations

from typing import Any

from foldwise.core.errors import FoldwiseError

WEIGHT_OPS = ("MVAU", "VVAU")


class TablesMismatch(FoldwiseError):
    """The per-layer tables cannot be combined for this network (the search then asks FINN per candidate)."""


def _is_weight_group(table: dict[str, Any]) -> bool:
    return any(str(node).startswith(WEIGHT_OPS) for node in table["nodes"])


def _max_attr(table: dict[str, Any], node: str, attr: str) -> int | None:
    values = [o["attrs"].get(node, {}).get(attr) for o in table["options"]]
    values = [int(v) for v in values if v is not None]
    return max(values) if values else None


class LayerTables:
    """Option tables per (weight layer, bits), from whole-model tables of FINN's ``options`` request.

    ``start``: the tables of the model at the search's start bits ``start_bits`` ({layer: bits}, the
    quantized weight layers in graph order). ``shapes``: {layer: (MH, MW)} (output, input x kernel) to check
    the group-to-layer map by the largest PE/SIMD FINN offers.
    """

    def __init__(self, start: list[dict[str, Any]], start_bits: dict[str, int],
                 shapes: dict[str, tuple[int, int]] | None = None) -> None:
        self._start = start
        self.start_bits = dict(start_bits)
        weight_groups = [i for i, table in enumerate(start) if _is_weight_group(table)]
        layers = list(start_bits)
        if len(weight_groups) != len(layers):
            raise TablesMismatch(f"FINN has {len(weight_groups)} weight node groups for {len(layers)} quantized "
                                 "weight layers")
        self.layer_of = dict(zip(weight_groups, layers, strict=True))
        for group, layer in self.layer_of.items():
            self._check_shape(start[group], layer, (shapes or {}).get(layer))
        self._tables: dict[tuple[str, int], dict[str, Any]] = {
            (layer, start_bits[layer]): start[group] for group, layer in self.layer_of.items()}
        self.models = 1  # whole-model tables asked for

    @staticmethod
    def _check_shape(table: dict[str, Any], layer: str, shape: tuple[int, int] | None) -> None:
        if shape is None:
            return
        node = next(n for n in table["nodes"] if str(n).startswith(WEIGHT_OPS))
        pe, simd = _max_attr(table, node, "PE"), _max_attr(table, node, "SIMD")
        if str(node).startswith("MVAU") and (pe, simd) != tuple(shape) and pe is not None and simd is not None:
            raise TablesMismatch(f"FINN node {node} (PE up to {pe}, SIMD up to {simd}) does not match layer "
                                 f"{layer} ({shape[0]} outputs, {shape[1]} inputs)")

    def has(self, layer: str, bits: int) -> bool:
        return (layer, bits) in self._tables

    def add(self, tables: list[dict[str, Any]], bits: dict[str, int]) -> None:
        """Keep the weight groups of a model whose layers hold ``bits``; the other groups must equal the start's."""
        if [t["nodes"] for t in tables] != [t["nodes"] for t in self._start]:
            raise TablesMismatch("FINN made other hardware nodes for other weight bits")
        for i, (table, start) in enumerate(zip(tables, self._start, strict=True)):
            if i in self.layer_of:
                self._tables.setdefault((self.layer_of[i], bits[self.layer_of[i]]), table)
            elif table["options"] != start["options"]:
                raise TablesMismatch(f"FINN's options for {', '.join(table['nodes'])} changed with weight bits "
                                     "elsewhere")
        self.models += 1

    def missing(self, bits: dict[str, int]) -> set[int]:
        """Bit widths of ``bits`` with no table yet (one model at each of them answers all its layers)."""
        return {b for layer, b in bits.items() if layer in self.start_bits and not self.has(layer, b)}

    def tables(self, bits: dict[str, int]) -> list[dict[str, Any]]:
        """The option tables of the model whose weight layers hold ``bits`` (others: their start bits)."""
        out = []
        for i, table in enumerate(self._start):
            layer = self.layer_of.get(i)
            if layer is None:
                out.append(table)
                continue
            key = (layer, bits.get(layer, self.start_bits[layer]))
            if key not in self._tables:
                raise KeyError(f"no FINN table for {layer} at {key[1]} bits")
            out.append(self._tables[key])
        return out
