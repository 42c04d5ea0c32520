"""FINN folding configs: load/save FINN's JSON format and check one against the model's legal values.

Format (what FINN's ``ApplyConfig`` reads and ``auto_folding_config.json`` holds)::

    {"Defaults": {}, "MVAU_hls_0": {"PE": 16, "SIMD": 49, "ram_style": "block", ...}, ...}

Node names are those after FINN's layer specialization, so a config belongs to one model. Legal values come
from the worker's ``hw_nodes`` request (``FinnWorker.request("hw_nodes", ...)`` / :func:`finn.build.hw_nodes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError

FOLD_ATTRS = ("PE", "SIMD", "parallel_window")


@dataclass
class FoldingConfig:
    """Per-node attribute settings plus FINN's ``Defaults`` block."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FoldingConfig:
        if not isinstance(data, dict):
            raise InputError("a folding config is a JSON object {node name: {attribute: value}}")
        nodes = {}
        for name, attrs in data.items():
            if name == "Defaults":
                continue
            if not isinstance(attrs, dict):
                raise InputError(f"folding config entry {name!r} must be an object of attributes, got {attrs!r}")
            nodes[name] = dict(attrs)
        return cls(nodes=nodes, defaults=dict(data.get("Defaults") or {}))

    def to_dict(self) -> dict[str, Any]:
        return {"Defaults": dict(self.defaults), **{k: dict(v) for k, v in self.nodes.items()}}

    def set(self, node: str, attr: str, value: Any) -> None:
        self.nodes.setdefault(node, {})[attr] = value


def load_folding(path: str | Path) -> FoldingConfig:
    """Read a FINN folding JSON file; InputError if missing or not valid JSON."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"folding config not found: {path}") from exc
    except ValueError as exc:
        raise InputError(f"folding config {path} is not valid JSON: {exc}") from exc
    return FoldingConfig.from_dict(data)


def save_folding(config: FoldingConfig | dict[str, Any], path: str | Path) -> Path:
    """Write ``config`` in FINN's format."""
    data = config.to_dict() if isinstance(config, FoldingConfig) else config
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def check_against(folding: FoldingConfig | dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    """Raise InputError listing every problem: unknown node, unknown attribute, illegal value, broken tie.

    ``nodes`` is the ``nodes`` list of a ``hw_nodes`` result (name, legal, attrs, other_attrs, tied_to).
    """
    config = folding if isinstance(folding, FoldingConfig) else FoldingConfig.from_dict(folding)
    by_name = {n["name"]: n for n in nodes}
    problems: list[str] = []
    for name, attrs in config.nodes.items():
        node = by_name.get(name)
        if node is None:
            problems.append(f"no hardware node {name!r} in this model (nodes: {_fmt(by_name)})")
            continue
        for attr, value in attrs.items():
            legal = node["legal"].get(attr)
            if legal is None:
                if attr not in node.get("other_attrs", ()) and attr not in node["attrs"]:
                    problems.append(f"{name}: {node['op_type']} has no attribute {attr!r}")
                continue
            if value not in legal:
                problems.append(f"{name}.{attr}={value!r} is not legal; legal values: {_fmt(legal)}")
    for node in nodes:
        tie = node.get("tied_to")
        if not tie:
            continue
        mine = config.nodes.get(node["name"], {}).get("SIMD", node["attrs"].get("SIMD"))
        consumer = by_name[tie["node"]]
        theirs = config.nodes.get(tie["node"], {}).get(tie["attr"], consumer["attrs"].get(tie["attr"]))
        if mine != theirs:
            problems.append(
                f"{node['name']}.SIMD ({mine}) must equal {tie['node']}.{tie['attr']} ({theirs}): a depthwise "
                "sliding window feeds it (use apply_ties to set it)"
            )
    if problems:
        raise InputError("illegal folding: " + "; ".join(problems))


def apply_ties(folding: FoldingConfig, nodes: list[dict[str, Any]]) -> FoldingConfig:
    """Set each depthwise sliding window's SIMD to its consumer's PE (from ``folding`` or current)."""
    by_name = {n["name"]: n for n in nodes}
    for node in nodes:
        tie = node.get("tied_to")
        if tie:
            consumer = by_name[tie["node"]]
            value = folding.nodes.get(tie["node"], {}).get(tie["attr"], consumer["attrs"].get(tie["attr"]))
            folding.set(node["name"], "SIMD", value)
    return folding


def current_folding(nodes: list[dict[str, Any]]) -> FoldingConfig:
    """The folding a ``hw_nodes`` result describes (each node's current attributes)."""
    return FoldingConfig(nodes={n["name"]: dict(n["attrs"]) for n in nodes})


FoldingLike = FoldingConfig | dict[str, Any] | str | Path | None


def folding_dict(folding: FoldingLike) -> dict[str, Any] | None:
    """FINN's JSON form of a folding given as a config, a dict or a JSON file path (None stays None)."""
    if folding is None:
        return None
    if isinstance(folding, str | Path):
        folding = load_folding(folding)
    if isinstance(folding, dict):
        folding = FoldingConfig.from_dict(folding)
    return folding.to_dict()
