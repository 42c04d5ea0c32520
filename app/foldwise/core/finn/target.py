"""Does the design keep up? The project's target frame rate (``settings.target_fps`` in its manifest) against
an estimated (or measured) FPS: the verdict and its margin, for the Build panel, the Iterations dock and verbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.project import Project

TARGET_KEY = "target_fps"


@dataclass(frozen=True)
class TargetVerdict:
    """``fps`` against ``target``: ``keeps_up`` when fps ≥ target; ``margin`` = fps / target."""

    fps: float
    target: float
    source: str = "estimated"

    @property
    def keeps_up(self) -> bool:
        return self.fps >= self.target

    @property
    def margin(self) -> float:
        return self.fps / self.target

    @property
    def margin_text(self) -> str:
        """``×45``, ``×1.3``, ``×0.18``, ``×1,200``: the margin to read at a glance."""
        m = self.margin
        return f"×{m:,.0f}" if m >= 100 else f"×{m:.2g}" if m < 1 else f"×{m:.1f}"

    @property
    def text(self) -> str:
        """``keeps up (×45)`` / ``too slow (×0.18)``."""
        return f"{'keeps up' if self.keeps_up else 'too slow'} ({self.margin_text})"

    def to_dict(self) -> dict[str, Any]:
        return {"keeps_up": self.keeps_up, "margin": self.margin, "fps": self.fps, "target_fps": self.target,
                "source": self.source}


def target_verdict(fps: float | None, target_fps: float | None, source: str = "estimated") -> TargetVerdict | None:
    """The verdict, or None when either side is unknown (no estimate yet, no target set)."""
    if fps is None or not target_fps or target_fps <= 0:
        return None
    return TargetVerdict(float(fps), float(target_fps), source)


def project_target_fps(project: Project | None) -> int | None:
    """The project's target frame rate, or None when it has none (or a value that is not a positive number)."""
    value = project.settings.get(TARGET_KEY) if project is not None else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return int(value)


def set_target_fps(project: Project, fps: int) -> None:
    """Save a new target frame rate in the project's manifest (its ``changed`` event tells the views)."""
    if isinstance(fps, bool) or not isinstance(fps, int) or fps <= 0:
        raise InputError(f"the target frame rate must be a positive whole number of frames per second, not {fps!r}")
    if project.settings.get(TARGET_KEY) != fps:
        project.update_settings(**{TARGET_KEY: fps})
