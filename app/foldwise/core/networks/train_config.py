"""Training settings (TrainConfig) and the zoo networks' tuned defaults, without torch.

The GUI fills its training fields from these when a project opens; importing ``train`` (torch, 1.5-5 s on the
GUI thread) just for them kept every other panel waiting after the window was shown.
"""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass
from typing import Any

from foldwise.core.errors import InputError, only_fields

# Parts lie at any angle, so all 8 flips/transposes of a defect patch keep its label.
_ANY_ANGLE = {"hflip": True, "vflip": True, "transpose": True}

# TrainConfig fields tuned for each zoo network on its default data set.
ZOO_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "lenet5": {"epochs": 30, "batch_size": 32, "lr": 2e-3, "patience": 10},
    "defectnet": {"epochs": 8, "batch_size": 32, "lr": 3e-3, **_ANY_ANGLE},
}
# ... and for each zoo family (resnet8-0.25x, mobilenet-0.5x, ...), on the defect set (2026-12-03, test accuracy):
# resnet8-0.25x reached 96.4 % with the TrainConfig defaults and 8 epochs (95.8 % with batch 32, lr 3e-3 and flips);
# mobilenet-0.25x reached 78-84 % in 8 epochs at lr 2e-3 to 3e-3, and 96.5 % with the settings below.
_FAMILY_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "resnet": {"epochs": 8},
    "mobilenet": {"epochs": 12, "batch_size": 32, "lr": 1e-2, **_ANY_ANGLE},
}


def zoo_train_defaults(arch: str | None) -> dict[str, Any]:
    """The tuned TrainConfig fields of zoo network ``arch`` (its own, else its family's); {} for anything else."""
    if arch in ZOO_TRAIN_DEFAULTS:
        return dict(ZOO_TRAIN_DEFAULTS[arch])
    family = next((f for f in _FAMILY_TRAIN_DEFAULTS if (arch or "").startswith(f)), None)
    return dict(_FAMILY_TRAIN_DEFAULTS[family]) if family else {}


class Optimizer(str, enum.Enum):
    ADAM = "adam"
    SGD = "sgd"


@dataclass
class TrainConfig:
    """Training settings; ``patience`` (epochs without a better val accuracy) enables early stopping.

    ``threads`` None picks all cores on a quiet machine and one on a busy one (see ``_auto_threads``).
    """

    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: Optimizer = Optimizer.ADAM
    momentum: float = 0.9
    weight_decay: float = 0.0
    cosine_schedule: bool = True
    patience: int | None = 4
    hflip: bool = False
    vflip: bool = False
    transpose: bool = False
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        try:
            self.optimizer = Optimizer(self.optimizer)
        except ValueError as exc:
            raise InputError(f"optimizer must be one of {[o.value for o in Optimizer]}, got {self.optimizer!r}") \
                from exc
        if self.epochs < 1 or self.batch_size < 1:
            raise InputError(f"epochs and batch size must be at least 1 (got {self.epochs}, {self.batch_size})")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise InputError(f"learning rate must be a positive finite number, got {self.lr}")
        if self.patience is not None and self.patience < 1:
            raise InputError(f"patience must be at least 1 epoch (or None to disable), got {self.patience}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["optimizer"] = self.optimizer.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**only_fields(cls, data, "training settings"))


def recommended_config(arch: str | None = None, **overrides: Any) -> TrainConfig:
    """TrainConfig with the zoo network's tuned defaults (if ``arch`` is a zoo name), then ``overrides``."""
    return TrainConfig.from_dict({**zoo_train_defaults(arch), **overrides})
