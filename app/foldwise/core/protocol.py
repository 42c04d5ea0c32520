"""One accuracy protocol: which split, and how many of its images, every accuracy figure is measured on.

The same float network used to show 97.40 % in Prune (the whole test split), 97.20 % in the Quantize preview
(the first 500 test images) and 97.0 % in the bit search (validation): three honest numbers that read as one
number changing. Every stage now measures through one of three named protocols, stores the protocol with the
figure (``protocol``, ``split``, ``images``) and every view shows it ("test, 1,000 images"):

- ``report``: the whole test split. Every accuracy an iteration reports (train, prune, quantize, its preview,
  the board's validation): the figures that are compared with each other.
- ``select``: the whole validation split. What a stage picks by measuring (the best epoch, the bit widths a
  search keeps), so that no choice is made on the test split that reports the result.
- ``scan``: the first 500 validation images. Sensitivity scans, one measurement per layer and ratio: cheap
  enough to see at a glance which layers are fragile, never reported as an iteration's accuracy.

A caller may ask for fewer images (``protocol.limit(n)``, e.g. a quick board validation); the figure then says
so. The split objects are :class:`~foldwise.core.data.dataset.Splits` (or anything with ``train``/``val``/``test``
datasets holding ``images`` and ``labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.project import figure

SPLITS = ("val", "test")


@dataclass(frozen=True)
class Protocol:
    """A named way of measuring accuracy: ``split`` and at most ``images`` of it (None: all of it)."""

    name: str
    split: str
    images: int | None = None

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"a protocol measures on one of {SPLITS}, not {self.split!r}")

    def limit(self, images: int | None) -> Protocol:
        """The same protocol on at most ``images`` images (None or 0: this protocol's own count)."""
        if not images:
            return self
        if images < 1:
            raise InputError(f"an accuracy needs at least one image, got {images}")
        return replace(self, images=min(images, self.images) if self.images else int(images))

    def dataset(self, splits: Any) -> Any:
        return getattr(splits, self.split)

    def take(self, splits: Any) -> tuple[Any, Any]:
        """(images, labels) this protocol measures on: the first ``images`` of its split (the splits are
        shuffled when they are made, so the first images are a fair sample)."""
        data = self.dataset(splits)
        n = self.count(splits)
        return data.images[:n], data.labels[:n]

    def count(self, splits: Any) -> int:
        total = len(self.dataset(splits).labels)
        return min(total, self.images) if self.images else total

    def fields(self, count: int) -> dict[str, Any]:
        """What a figure measured this way stores next to its value."""
        return {"protocol": self.name, "split": self.split, "images": int(count)}


REPORT = Protocol("report", "test")
SELECT = Protocol("select", "val")
SCAN = Protocol("scan", "val", 500)
PROTOCOLS = {p.name: p for p in (REPORT, SELECT, SCAN)}


def where(figure: Any) -> str:
    """"test, 1,000 images" for a figure that stores its split (and count); "" for one that does not."""
    if not isinstance(figure, dict) or not figure.get("split"):
        return ""
    images = figure.get("images")
    return f"{figure['split']}, {images:,} images" if isinstance(images, int) else str(figure["split"])


def accuracy_figure(value: float | None, protocol: Protocol, count: int, **extra: Any) -> dict[str, Any]:
    """A measured accuracy (0–1, rounded to 6 digits) with the protocol it was measured by."""
    return figure(None if value is None else round(float(value), 6), "measured", **protocol.fields(count), **extra)
