"""What a network expects as input: shape, pixel range, normalisation and the dataset it is meant for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from foldwise.core.errors import InputError


@dataclass(frozen=True)
class InputSpec:
    """The input a network takes, for one image (no batch dimension).

    ``shape`` is C×H×W. ``pixel_range`` is the range the network sees after the dataset's ``/255``
    (``(0, 1)`` for every zoo network). ``mean``/``std`` (one value per channel) are applied after
    scaling when given. ``dataset`` names the shipped data set the network is meant for, if any.
    """

    shape: tuple[int, int, int]
    pixel_range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    dataset: str | None = None

    def __post_init__(self) -> None:
        shape = tuple(int(v) for v in self.shape)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"input shape must be C×H×W with positive sizes, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        low, high = (float(v) for v in self.pixel_range)
        if not high > low:
            raise InputError(f"pixel range must be (low, high) with high > low, got {self.pixel_range!r}")
        object.__setattr__(self, "pixel_range", (low, high))
        for field in ("mean", "std"):
            values = getattr(self, field)
            if values is None:
                continue
            values = tuple(float(v) for v in values)
            if len(values) not in (1, shape[0]):
                raise InputError(f"{field} needs 1 or {shape[0]} values (one per channel), got {len(values)}")
            if field == "std" and min(values) <= 0:
                raise InputError(f"std must be positive, got {values!r}")
            object.__setattr__(self, field, values)

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def height(self) -> int:
        return self.shape[1]

    @property
    def width(self) -> int:
        return self.shape[2]

    def prepare(self, images: Any) -> Any:
        """Map float 0..1 images (N×C×H×W tensor or array) to what the network expects.

        Returns ``images`` itself when the spec asks for plain 0..1 input.
        """
        low, high = self.pixel_range
        out = images
        if (low, high) != (0.0, 1.0):
            out = out * (high - low) + low
        if self.mean is not None or self.std is not None:
            stats = []
            for values, default in ((self.mean, 0.0), (self.std, 1.0)):
                values = values or (default,)
                values = values * self.channels if len(values) == 1 else values
                if hasattr(out, "new_tensor"):
                    stats.append(out.new_tensor(values).view(1, -1, 1, 1))
                else:
                    stats.append(np.asarray(values, dtype=out.dtype).reshape(1, -1, 1, 1))
            out = (out - stats[0]) / stats[1]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "pixel_range": list(self.pixel_range),
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "dataset": self.dataset,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        if not isinstance(data, dict) or "shape" not in data:
            raise InputError(f"not an input spec (needs at least 'shape'): {data!r}")
        try:
            return cls(
                shape=tuple(data["shape"]),
                pixel_range=tuple(data.get("pixel_range") or (0.0, 1.0)),
                mean=None if data.get("mean") is None else tuple(data["mean"]),
                std=None if data.get("std") is None else tuple(data["std"]),
                dataset=data.get("dataset"),
            )
        except (TypeError, ValueError) as exc:
            raise InputError(f"bad input spec {data!r}: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> InputSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"input spec is not valid JSON: {exc}") from exc
        return cls.from_dict(data)
