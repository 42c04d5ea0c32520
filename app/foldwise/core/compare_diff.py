"""The difference between two iterations: layers removed or resized, bit widths per layer (``quant.json``),
the folding of their newest builds, and every figure of the table side by side.

Read-only like :mod:`foldwise.core.compare`: layer tables come from ``summary.json``, bit widths from the
quantize stage's ``quant.json``, folding from the builds' applied folding config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from foldwise.core.compare import COLUMNS, Row, cell_text, iteration_row, newest_report
from foldwise.core.errors import InputError
from foldwise.core.iterations import QUANT_FILE, read_summary
from foldwise.core.project import Iteration, Project


@dataclass
class IterationDiff:
    """``a`` → ``b``: what changed. Each list holds only what differs (``bits`` lists every weight layer of
    either network, with ``None`` for a float layer, so the precision of both reads at a glance)."""

    a: Row
    b: Row
    layers_removed: list[str] = field(default_factory=list)
    layers_added: list[str] = field(default_factory=list)
    layers_changed: list[dict[str, Any]] = field(default_factory=list)  # name, params a/b, shape a/b
    bits: list[dict[str, Any]] = field(default_factory=list)  # layer, a/b: {"weights", "acts"} or None
    folding: list[dict[str, Any]] = field(default_factory=list)  # node, attribute, a, b
    folding_builds: dict[str, str | None] = field(default_factory=dict)  # a/b: the build compared, or None
    figures: list[dict[str, Any]] = field(default_factory=list)  # key, title, a/b cells, ratio b/a

    @property
    def bits_changed(self) -> list[dict[str, Any]]:
        return [row for row in self.bits if row["a"] != row["b"]]

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a.to_dict(), "b": self.b.to_dict(), "layers_removed": self.layers_removed,
                "layers_added": self.layers_added, "layers_changed": self.layers_changed, "bits": self.bits,
                "folding": self.folding, "folding_builds": self.folding_builds, "figures": self.figures}

    @property
    def text(self) -> str:
        lines = [f"{self.a.label} → {self.b.label}"]
        if self.layers_removed:
            lines.append("layers removed: " + ", ".join(self.layers_removed))
        if self.layers_added:
            lines.append("layers added: " + ", ".join(self.layers_added))
        for row in self.layers_changed:
            lines.append(f"  {row['name']}: {row['params_a']:,} → {row['params_b']:,} params")
        for row in self.bits_changed:
            lines.append(f"  {row['layer']}: {bits_text(row['a'])} → {bits_text(row['b'])}")
        missing = [row.label for row, side in ((self.a, "a"), (self.b, "b")) if not self.folding_builds.get(side)]
        if missing:
            lines.append(f"folding: not compared ({' and '.join(missing)} without a finished build)")
        for row in self.folding:
            lines.append(f"  folding {row['node']}.{row['attribute']}: {folding_text(row['a'])} → "
                         f"{folding_text(row['b'])}")
        for row in self.figures:
            a, b = row["a"], row["b"]
            if a is None and b is None:
                continue
            ratio = f"  (×{row['ratio']:.3g})" if row["ratio"] is not None else ""
            lines.append(f"  {row['title']}: {cell_text(row['key'], a)} → {cell_text(row['key'], b)}{ratio}")
        return "\n".join(lines)


def bits_text(bits: dict[str, Any] | None) -> str:
    """``W4A4``, ``W8A?`` or ``float`` for one layer's precision."""
    if bits is None:
        return "float"
    return f"W{bits.get('weights') or '?'}A{bits.get('acts') or '?'}"


def folding_text(value: Any) -> str:
    """A folding attribute's value; ``default`` where the build left it to FINN."""
    return "default" if value is None else str(value)


def layer_bits(iteration: Iteration) -> dict[str, dict[str, Any] | None]:
    """Per weight layer, its weight and activation bit widths from ``quant.json`` (None: left float); {} for a
    float iteration, whose layers the caller takes from its layer table."""
    path = iteration.folder / QUANT_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config = data["config"]
        overrides = config.get("layers") or {}
        acts = {site["layer"]: site for site in data.get("act_sites") or []}
        out: dict[str, dict[str, Any] | None] = {}
        for name in data["weight_layers"]:
            override = overrides.get(name) or {}
            if override.get("quantize") is False:
                out[name] = None
                continue
            act = override.get("act_bits") or config["act_bits"]
            out[name] = {"weights": override.get("weight_bits") or config["weight_bits"],
                         "acts": act if name in acts or not acts else None}
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"iteration {iteration.label}: {QUANT_FILE} is damaged ({exc}); re-quantize it") from exc


def _layers(iteration: Iteration) -> dict[str, dict[str, Any]]:
    if iteration.missing:
        raise InputError(f"{iteration.missing} (deleted or moved by hand?)")
    summary = read_summary(iteration) or {}
    return {str(row["name"]): row for row in summary.get("layers", []) if isinstance(row, dict) and "name" in row}


def _folding(iteration: Iteration) -> dict[str, dict[str, Any]]:
    """The folding the newest build applied (its report's copy, else the one it was started with); {} when it
    ran with FINN's defaults, which the diff shows as ``default``."""
    found = newest_report(iteration)
    if found is None:
        return {}
    config = found[0].config()
    folding = found[1].folding or (config.folding_dict() if config is not None else None) or {}
    return {node: attrs for node, attrs in folding.items() if isinstance(attrs, dict) and node != "Defaults"}


def _figures(a: Row, b: Row) -> list[dict[str, Any]]:
    out = []
    for column in COLUMNS:
        ca, cb = a.cells[column.key], b.cells[column.key]
        ratio = cb.value / ca.value if ca is not None and cb is not None and ca.value else None
        out.append({"key": column.key, "title": column.title, "a": ca.to_dict() if ca else None,
                    "b": cb.to_dict() if cb else None, "ratio": ratio})
    return out


def diff(project: Project, a: str, b: str) -> IterationDiff:
    """What changed from iteration ``a`` to iteration ``b`` (ids; either order, any two of the project)."""
    it_a, it_b = project.get(a), project.get(b)
    layers_a, layers_b = _layers(it_a), _layers(it_b)
    result = IterationDiff(iteration_row(project, it_a), iteration_row(project, it_b))
    result.layers_removed = [name for name in layers_a if name not in layers_b]
    result.layers_added = [name for name in layers_b if name not in layers_a]
    for name in (n for n in layers_a if n in layers_b):
        ra, rb = layers_a[name], layers_b[name]
        if ra.get("params") != rb.get("params") or ra.get("output_shape") != rb.get("output_shape"):
            result.layers_changed.append({"name": name, "params_a": ra.get("params", 0),
                                          "params_b": rb.get("params", 0), "shape_a": ra.get("output_shape"),
                                          "shape_b": rb.get("output_shape")})
    bits_a, bits_b = layer_bits(it_a), layer_bits(it_b)
    weighted = [n for n in dict.fromkeys([*layers_a, *layers_b, *bits_a, *bits_b]) if n in bits_a or n in bits_b]
    result.bits = [{"layer": n, "a": bits_a.get(n), "b": bits_b.get(n)} for n in weighted]
    result.folding_builds = {"a": result.a.build, "b": result.b.build}
    fold_a, fold_b = (_folding(it_a), _folding(it_b)) if result.a.build and result.b.build else ({}, {})
    for node in dict.fromkeys([*fold_a, *fold_b]):
        attrs_a, attrs_b = fold_a.get(node, {}), fold_b.get(node, {})
        for attribute in dict.fromkeys([*attrs_a, *attrs_b]):
            if attrs_a.get(attribute) != attrs_b.get(attribute):
                result.folding.append({"node": node, "attribute": attribute, "a": attrs_a.get(attribute),
                                       "b": attrs_b.get(attribute)})
    result.figures = _figures(result.a, result.b)
    return result
