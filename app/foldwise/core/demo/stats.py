"""Demo figures, live and at the end: rates, latency percentiles, drops, per-stage times and the verdict.

The figures carry the backend's label: ``measured`` by this run (on the host or a real board), ``emulated`` on
the emulated board. "Keeps up" means the processed rate reaches the target (within 5 %) with no frame
dropped; otherwise the verdict names the slowest stage against the frame budget (1000 / target ms).
``agreement`` is the share of sampled frames on which the float model gave the device's class.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import figure

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

STAGES = ("capture", "preprocess", "transfer", "inference", "annotate", "output")  # transfer: board backends
TARGET_SHARE = 0.95  # the processed rate must reach 95 % of the target to keep up
DEFAULT_TARGET_FPS = 120.0


@dataclass
class FrameTiming:
    """One processed frame: its capture time stamp, seconds per stage, and when its output was done."""

    timestamp: float
    stages: dict[str, float]
    done: float


@dataclass
class RunStats:
    """Collects every processed frame of a run and every frame captured or dropped."""

    target_fps: float = DEFAULT_TARGET_FPS
    label: str = "measured"
    started: float = field(default_factory=time.perf_counter)
    captured: int = 0
    dropped: int = 0
    first_capture: float | None = None
    last_capture: float | None = None
    timings: list[FrameTiming] = field(default_factory=list)
    scored: int = 0
    agreement_checked: int = 0  # sampled frames the float model also classified (``agreement.AgreementCheck``)
    agreement_same: int = 0  # of them, those where it gave the device's class
    correct: int = 0
    defects: int = 0  # parts judged defective: runs of consecutive DEFECT frames
    _last_defect: bool = False

    def captured_frame(self, timestamp: float, dropped: int = 0, count: int = 1) -> None:
        """``count`` frames captured up to ``timestamp``, ``dropped`` of them never processed."""
        self.captured += count
        self.dropped += int(dropped)
        self.first_capture = timestamp if self.first_capture is None else self.first_capture
        self.last_capture = timestamp

    def result(self, defect: bool, truth: int | None) -> int:
        """Count one frame's decision (against ``truth`` when known); returns the running defect count."""
        if defect and not self._last_defect:
            self.defects += 1
        self._last_defect = defect
        if truth is not None:
            self.scored += 1
            self.correct += int(int(defect) == truth)
        return self.defects

    def timed(self, timing: FrameTiming) -> None:
        """One processed frame's times (after its output is done)."""
        self.timings.append(timing)

    def snapshot(self, now: float | None = None, window: int | None = None) -> dict[str, Any]:
        """Every figure so far, each ``{"value", "source", "unit"}``, plus ``keeps_up`` and a one-line ``verdict``.

        ``window`` limits rates, latency and stage times to the last so many frames (the live view); counts
        are always the whole run's.
        """
        now = time.perf_counter() if now is None else now
        timings = self.timings[-window:] if window else self.timings
        n = len(timings)
        src_span = (self.last_capture or 0.0) - (self.first_capture or 0.0)
        source_fps = (self.captured - 1) / src_span if self.captured > 1 and src_span > 0 else 0.0
        span = timings[-1].done - timings[0].timestamp if n else 0.0
        processed_fps = n / span if n > 1 and span > 0 else 0.0
        latency = np.array([t.done - t.timestamp for t in timings]) * 1000 if n else np.zeros(1)
        stage_ms = {s: float(np.mean([t.stages.get(s, 0.0) for t in timings]) * 1000) if n else 0.0
                    for s in STAGES if s != "transfer" or any(s in t.stages for t in timings)}
        budget = 1000.0 / self.target_fps
        busy = sum(v for s, v in stage_ms.items() if s != "capture")
        short = max(0, round(self.target_fps * span) - n) if n > 1 else 0
        keeps_up = n > 1 and self.dropped == 0 and processed_fps >= TARGET_SHARE * self.target_fps
        m = self.label
        out = {
            "frames_captured": figure(self.captured, m),
            "frames_processed": figure(len(self.timings), m),
            "frames_dropped": figure(self.dropped, m),
            "drop_rate": figure(round(self.dropped / self.captured, 4) if self.captured else 0.0, m),
            "short_of_target": figure(short, m, unit="frames"),
            "source_fps": figure(round(source_fps, 2), m, unit="FPS"),
            "processed_fps": figure(round(processed_fps, 2), m, unit="FPS"),
            # What the processing stages alone could sustain (capture runs on its own thread).
            "capacity_fps": figure(round(1000.0 / busy, 1) if busy > 0 else None, m, unit="FPS"),
            "target_fps": figure(self.target_fps, "computed", unit="FPS"),
            "budget_ms": figure(round(budget, 3), "computed", unit="ms"),
            "latency_ms": {f"p{q}": figure(round(float(np.percentile(latency, q)), 3), m, unit="ms")
                           for q in (50, 95, 99)},
            "stage_ms": {s: figure(round(v, 3), m, unit="ms") for s, v in stage_ms.items()},
            "defects": figure(self.defects, m, unit="parts"),
            "accuracy": figure(round(self.correct / self.scored, 4) if self.scored else None, m,
                               frames=self.scored),
            "agreement": figure(round(self.agreement_same / self.agreement_checked, 4)
                                if self.agreement_checked else None, m, frames=self.agreement_checked),
            "seconds": figure(round(now - self.started, 3), m, unit="s"),
            "keeps_up": keeps_up,
        }
        out["verdict"] = verdict(keeps_up, processed_fps, source_fps, self.target_fps, self.dropped,
                                 self.captured, stage_ms, n)
        return out


def verdict(keeps_up: bool, processed_fps: float, source_fps: float, target: float, dropped: int,
            captured: int, stage_ms: dict[str, float], frames: int) -> str:
    """One line: keeps up, or how far it falls short and which stage to fix."""
    if frames < 2:
        return "not enough frames yet"
    budget = 1000.0 / target
    if keeps_up:
        return f"keeps up: {processed_fps:.1f} FPS processed against the {target:g} FPS target, no frame dropped"
    work = {s: v for s, v in stage_ms.items() if s != "capture"}
    slowest = max(work, key=work.get)
    busy = sum(work.values())
    if dropped == 0 and source_fps < TARGET_SHARE * target:
        return (f"cannot tell: the source delivers only {source_fps:.1f} FPS of the {target:g} FPS target "
                f"(the pipeline used {busy:.2f} ms of the {budget:.2f} ms budget per frame)")
    share = 100.0 * dropped / captured if captured else 0.0
    if busy < budget:
        return (f"does not keep up: drops {share:.0f} % of frames ({processed_fps:.1f} of {target:g} FPS) although "
                f"the stages take {busy:.2f} ms of the {budget:.2f} ms budget: frames arrive unevenly or the "
                f"machine is busy with other work")
    return (f"does not keep up: drops {share:.0f} % of frames, {processed_fps:.1f} of {target:g} FPS; "
            f"{slowest} takes {work[slowest]:.2f} ms of the {budget:.2f} ms budget (all stages {busy:.2f} ms)")
