"""The prune stage's plain records: a request (checked before any work starts) and a sensitivity scan's
result. No torch import: the GUI loads this at start-up."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from foldwise.core.errors import InputError, only_fields

CRITERIA = {
    "l1": "L1 magnitude of each channel's weights (sum of |w|)",
    "l2": "L2 magnitude of each channel's weights",
    "fpgm": "geometric median (FPGM): channels closest to the others are redundant",
    "taylor": "first-order Taylor: |weight × gradient| on a few training images",
    "random": "random channels (a baseline for comparing criteria)",
}


def check_ratio(ratio: float, what: str = "channel ratio") -> float:
    """``ratio`` as a float strictly between 0 and 1, else InputError."""
    try:
        value = float(ratio)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number between 0 and 1, got {ratio!r}") from None
    if not 0.0 < value < 1.0 or math.isnan(value):
        raise InputError(f"{what} must be between 0 and 1 (exclusive: the share of channels to remove), got {ratio}")
    return value


class QuantizedIterationError(InputError):
    """Pruning was asked of a quantized iteration; ``float_parent`` is the nearest float ancestor's id."""

    def __init__(self, message: str, iteration_id: str, float_parent: str | None) -> None:
        super().__init__(message)
        self.iteration_id = iteration_id
        self.float_parent = float_parent


@dataclass
class PruneSpec:
    """What to prune. ``remove`` (layer or container names, or patterns like ``features.*5``) is applied
    first, then channel pruning if ``ratio`` or ``layer_ratios`` is given; ``finetune_epochs`` fine-tunes
    after removal or after each of ``steps`` channel-pruning steps."""

    remove: list[str] = field(default_factory=list)
    ratio: float | None = None
    layer_ratios: dict[str, float] = field(default_factory=dict)
    criterion: str = "l1"
    global_ranking: bool = False
    protect_input: bool = True
    protected: list[str] = field(default_factory=list)
    steps: int = 1
    round_to: int | None = None
    finetune_epochs: int = 0
    finetune_lr: float | None = None
    iteration: str | None = None  # the iteration to prune; None: the current one
    name: str | None = None  # the new iteration's name; None: :meth:`default_name`

    def __post_init__(self) -> None:
        self.remove = [n.strip() for n in self.remove if n and n.strip()]
        if self.ratio is not None:
            self.ratio = check_ratio(self.ratio)
        self.layer_ratios = {k: check_ratio(v, f"channel ratio for {k}") for k, v in self.layer_ratios.items()}
        self.criterion = str(self.criterion).lower()
        if self.criterion not in CRITERIA:
            raise InputError(f"unknown pruning criterion {self.criterion!r}; use one of {', '.join(CRITERIA)}")
        if not self.remove and self.ratio is None and not self.layer_ratios:
            raise InputError("nothing to prune: name layers to remove, or give a channel ratio")
        if int(self.steps) < 1:
            raise InputError(f"steps must be at least 1, got {self.steps}")
        if int(self.finetune_epochs) < 0:
            raise InputError(f"fine-tune epochs cannot be negative, got {self.finetune_epochs}")
        if self.finetune_lr is not None and not self.finetune_lr > 0:
            raise InputError(f"fine-tune learning rate must be positive, got {self.finetune_lr}")
        if self.round_to is not None and int(self.round_to) < 1:
            self.round_to = None

    @property
    def prunes_channels(self) -> bool:
        return self.ratio is not None or bool(self.layer_ratios)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PruneSpec:
        return cls(**only_fields(cls, data, "prune settings"))

    def default_name(self) -> str:
        parts = []
        if self.remove:
            short = [n.rpartition(".")[2] for n in self.remove]
            parts.append("remove-" + "-".join(short[:4]) + ("-etc" if len(short) > 4 else ""))
        if self.ratio is not None:
            parts.append(f"channels-{round(self.ratio * 100)}pct-{self.criterion}")
        elif self.layer_ratios:
            parts.append(f"channels-{len(self.layer_ratios)}layers-{self.criterion}")
        if self.finetune_epochs:
            parts.append(f"ft{self.finetune_epochs}")
        return re.sub(r"[^A-Za-z0-9.-]+", "-", "-".join(parts))


@dataclass
class ScanSpec:
    """A sensitivity scan of ``iteration`` (None: the current one): each of ``layers`` (None: every prunable
    one) pruned alone at each of ``ratios`` (None: 10-90 %) by ``criterion``, on up to ``max_images`` images."""

    iteration: str | None = None
    criterion: str = "l1"
    ratios: list[float] | None = None
    max_images: int | None = None
    layers: list[str] | None = None


@dataclass
class SensitivityResult:
    """Accuracy (measured, on ``images`` images of ``split``) per layer and ratio, plus the unpruned baseline."""

    baseline: float
    ratios: list[float]
    curves: dict[str, list[float]] = field(default_factory=dict)
    widths: dict[str, int] = field(default_factory=dict)
    criterion: str = "l1"
    images: int = 0
    split: str = "val"
    seconds: float = 0.0
    protocol: str = "scan"  # see foldwise.core.protocol

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SensitivityResult:
        return cls(**data)

    def tolerated(self, max_drop: float = 0.02) -> dict[str, float]:
        """Per layer, the largest scanned ratio whose accuracy stays within ``max_drop`` of the baseline
        (layers that tolerate none are left out): a starting point for per-layer ratios."""
        out: dict[str, float] = {}
        for layer, accs in self.curves.items():
            ok = [r for r, a in zip(self.ratios, accs, strict=False) if a >= self.baseline - max_drop]
            if ok:
                out[layer] = max(ok)
        return out
