"""The region of interest: the part of the frame the network classifies, kept per project.

Stored as fractions of the frame (``settings.demo.roi = [x, y, w, h]``, each 0..1), so one ROI fits every
source whatever its resolution. The default is a centred square ``DEFAULT_SIDE`` of the frame height: the
inspection window the built-in conveyor's parts pass through.
"""

from __future__ import annotations

from dataclasses import dataclass

from foldwise.core.errors import InputError
from foldwise.core.project import Project

DEFAULT_SIDE = 128 / 480  # the conveyor's parts (2× the 64-px training crops) on a 480-line frame


@dataclass(frozen=True)
class Roi:
    """x, y, w, h as fractions of the frame width and height."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.w, self.h)
        if not all(isinstance(v, (int, float)) for v in values):
            raise InputError(f"region of interest must be four numbers, got {values!r}")
        if self.w <= 0 or self.h <= 0:
            raise InputError(f"region of interest has zero size ({self.w:g}×{self.h:g} of the frame)")
        if self.x < 0 or self.y < 0 or self.x + self.w > 1 + 1e-9 or self.y + self.h > 1 + 1e-9:
            raise InputError(f"region of interest {self.to_list()} lies outside the frame (fractions 0..1)")

    @classmethod
    def default(cls, width: int = 640, height: int = 480) -> Roi:
        side = DEFAULT_SIDE * height
        return cls(0.5 - side / width / 2, 0.5 - DEFAULT_SIDE / 2, side / width, DEFAULT_SIDE)

    @classmethod
    def from_pixels(cls, x: float, y: float, w: float, h: float, width: int, height: int) -> Roi:
        """From a rectangle drawn on a ``width``×``height`` frame, clipped to the frame."""
        x0, y0 = max(0.0, min(x, x + w)), max(0.0, min(y, y + h))
        x1, y1 = min(float(width), max(x, x + w)), min(float(height), max(y, y + h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise InputError("region of interest has zero size: drag a rectangle on the preview")
        fractions = (x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)
        return cls(*(round(v, 6) for v in fractions))  # as saved, so a saved ROI equals the drawn one

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels of a ``width``×``height`` frame, at least 1×1 and inside it."""
        x, y = round(self.x * width), round(self.y * height)
        w = max(1, min(width - x, round(self.w * width)))
        h = max(1, min(height - y, round(self.h * height)))
        return min(x, width - 1), min(y, height - 1), w, h

    def to_list(self) -> list[float]:
        return [round(float(v), 6) for v in (self.x, self.y, self.w, self.h)]


def load_roi(project: Project) -> Roi | None:
    """The project's saved ROI, or None (use the default)."""
    value = project.settings.get("demo", {}).get("roi")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4:
        raise InputError(f"project {project.name}: settings.demo.roi must be [x, y, w, h], got {value!r}")
    return Roi(*value)


def save_roi(project: Project, roi: Roi | None) -> None:
    """Keep ``roi`` (None: back to the default) in the project's settings."""
    demo = dict(project.settings.get("demo", {}))
    if roi is None:
        demo.pop("roi", None)
    else:
        demo["roi"] = roi.to_list()
    project.update_settings(demo=demo)
