"""Figures for a folding edit at once, looked up in the worker's option tables, before FINN's re-estimate.

The tables (``build.option_tables``) hold, for every legal choice of every node, FINN's own per-node cycles
and resources from the node's ``get_exp_cycles`` and ``node_res_estimation``. FINN's estimated FPS is the
clock over the slowest node's cycles and its resource estimate is the sum over nodes, so a folding whose every
node matches a table entry has its figures at once — the same numbers FINN's re-estimate then confirms
(``benchmarks/bench_finn_instant.py`` checks this on random edits). A folding that names an attribute value
the tables were not probed with (a memory mode, a threshold RAM style) has no instant figures: FINN's
re-estimate alone answers it. Attributes outside FINN's folding set (``FOLDING_ATTRS``) are not compared.
Latency (FINN's critical path through the graph) comes from the re-estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foldwise.core.finn.reports import ESTIMATED, BuildReport, Figure, finish_report

RESOURCES = ("LUT", "BRAM_18K", "URAM", "DSP")


@dataclass
class InstantFigures:
    """FINN's per-node estimates for one folding, combined the way FINN's own estimate report combines them."""

    fps: float
    max_cycles: int
    bottleneck: str
    node_cycles: dict[str, int]
    resources: dict[str, float]


class InstantTables:
    """Option tables indexed for look-ups; ``defaults`` are each node's own attribute values (the
    ``attrs`` of ``build.hw_nodes``), which every option was probed with where it names no value."""

    def __init__(self, tables: list[dict[str, Any]], defaults: dict[str, dict[str, Any]]) -> None:
        self._groups = []
        for table in tables:
            index: dict[tuple, dict[str, Any]] = {}
            keys: dict[str, tuple[str, ...]] = {}
            for option in table["options"]:
                for node, attrs in option["attrs"].items():
                    keys.setdefault(node, tuple(sorted(attrs)))
                index.setdefault(self._key(option["attrs"], keys), option)
            self._groups.append((keys, index))
        self._defaults = {node: dict(attrs) for node, attrs in defaults.items()}

    @staticmethod
    def _key(attrs: dict[str, dict[str, Any]], keys: dict[str, tuple[str, ...]]) -> tuple:
        return tuple((node, tuple(attrs.get(node, {}).get(a) for a in names)) for node, names in sorted(keys.items()))

    def figures(self, folding: dict[str, Any], clock_mhz: float) -> InstantFigures | None:
        """The figures for ``folding`` (FINN's folding dict), or None if some node's setting is not tabulated."""
        node_cycles: dict[str, int] = {}
        totals = dict.fromkeys(RESOURCES, 0.0)
        for keys, index in self._groups:
            effective: dict[str, dict[str, Any]] = {}
            for node, names in keys.items():
                own = self._defaults.get(node, {})
                wanted = {**own, **(folding.get(node) or {})}
                if any(wanted[a] != own[a] for a in own if a not in names):
                    return None  # a setting the options were not probed with
                effective[node] = {a: wanted.get(a) for a in names}
            option = index.get(self._key(effective, keys))
            if option is None:
                return None
            node_cycles.update({n: int(c) for n, c in option["node_cycles"].items()})
            for k in RESOURCES:
                totals[k] += float(option["res"].get(k, 0.0))
        if not node_cycles:
            return None
        bottleneck = max(node_cycles, key=node_cycles.__getitem__)
        max_cycles = node_cycles[bottleneck]
        return InstantFigures(fps=clock_mhz * 1e6 / max_cycles, max_cycles=max_cycles, bottleneck=bottleneck,
                              node_cycles=node_cycles, resources=totals)


def instant_report(figures: InstantFigures, clock_mhz: float, board: str | None = None) -> BuildReport:
    """A report holding the instant figures, labelled estimated (they are FINN's per-node estimates); it has no
    latency and no per-node resources until FINN's re-estimate arrives."""
    rep = BuildReport(clock_ns=1000.0 / clock_mhz)
    rep.node_cycles = dict(figures.node_cycles)
    rep.max_cycles, rep.bottleneck = figures.max_cycles, figures.bottleneck
    rep.fps_estimated = Figure(figures.fps, ESTIMATED, "frames/s")
    rep.resources_estimated = {k: Figure(v, ESTIMATED) for k, v in figures.resources.items()}
    finish_report(rep, board)
    return rep
