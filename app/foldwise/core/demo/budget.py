"""The demo's "keeps up?" budget, answered before a run: each stage's time per frame against 1000/target ms.

The host stages (pre-process: ROI crop and resize; annotate) are timed here on a conveyor frame with the
pipeline's own functions (``measured``). Inference comes from where the network will run:

- ``estimate``: FINN's estimate of the folding kept in the Build stage, else of the newest finished build,
  1000 / estimated FPS per frame (the dataflow accelerator's steady-state interval when frames are streamed to
  it), labelled ``estimated``;
- ``board:NAME``: the newest throughput run on that board (its batch-1 time per image), ``emulated`` or
  ``measured`` as the run was, plus the transfer time of the newest demo run on it when there was one;
- ``host-float`` / ``host-quantized``: the backend timed here on the same crop (``measured``).

The frames are processed one at a time, so a pipeline whose stages sum to more than the budget processes
1000/total frames a second and drops the rest: about ``1 - budget/total`` of them. The verdict names the
stage that takes most of the budget.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from foldwise.core.demo.stats import DEFAULT_TARGET_FPS
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

SOURCES = ("estimate", "host-float", "host-quantized", "board:NAME")
TIMED_FRAMES = 30


@dataclass
class StageCost:
    stage: str
    ms: float
    source: str
    note: str = ""


@dataclass
class FrameBudget:
    target_fps: float
    inference_from: str
    stages: list[StageCost] = field(default_factory=list)

    @property
    def budget_ms(self) -> float:
        return 1000.0 / self.target_fps

    @property
    def total_ms(self) -> float:
        return sum(s.ms for s in self.stages)

    @property
    def keeps_up(self) -> bool:
        return self.total_ms <= self.budget_ms

    @property
    def drop_fraction(self) -> float:
        return 0.0 if self.keeps_up else 1.0 - self.budget_ms / self.total_ms

    @property
    def slowest(self) -> StageCost:
        return max(self.stages, key=lambda s: s.ms)

    @property
    def verdict(self) -> str:
        worst = self.slowest
        if self.keeps_up:
            return (f"keeps up: {self.total_ms:.2f} ms of the {self.budget_ms:.2f} ms budget per frame at "
                    f"{self.target_fps:g} FPS; {worst.stage} takes most ({worst.ms:.2f} ms, {worst.source})")
        return (f"does not keep up: the stages take {self.total_ms:.2f} ms of the {self.budget_ms:.2f} ms budget, so "
                f"about {100 * self.drop_fraction:.0f} % of frames would be dropped at {self.target_fps:g} FPS; "
                f"fix {worst.stage} first ({worst.ms:.2f} ms, {worst.source})")

    def to_dict(self) -> dict[str, Any]:
        return {"target_fps": self.target_fps, "budget_ms": self.budget_ms, "inference_from": self.inference_from,
                "stages": [asdict(s) for s in self.stages], "total_ms": self.total_ms, "keeps_up": self.keeps_up,
                "drop_fraction": self.drop_fraction, "verdict": self.verdict}


def _median_ms(fn: Any, frames: int) -> float:
    times = []
    for _ in range(frames):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000.0 * float(np.median(times))


def _host_stages(shape: tuple[int, int, int], frames: int) -> tuple[list[StageCost], np.ndarray]:
    from foldwise.core.demo.annotate import annotate
    from foldwise.core.demo.pipeline import preprocess
    from foldwise.core.demo.roi import Roi
    from foldwise.core.demo.sources import ConveyorSource

    source = ConveyorSource()
    try:
        frame = source.read()
    finally:
        source.close()
    if frame is None:
        raise InputError("the synthetic conveyor gave no frame to time the host stages on")
    box = Roi.default(*source.size).pixels(*source.size)
    crop = preprocess(frame.image, box, shape)
    image = frame.image.copy()
    stages = [StageCost("preprocess", _median_ms(lambda: preprocess(frame.image, box, shape), frames), "measured",
                        f"ROI crop and resize of a {source.size[0]}×{source.size[1]} frame, here"),
              StageCost("annotate", _median_ms(lambda: annotate(image, box, False, 0.9, 0), frames), "measured",
                        "label, colour and count drawn on the frame, here")]
    return stages, crop


def _estimate_inference(iteration: Iteration) -> StageCost:
    """FINN's estimate of the folding the iteration keeps (as edited or auto-fitted in the Build stage, the
    figure the Build panel and the Iterations dock show), else of its newest finished build."""
    from foldwise.core.finn.build_state import kept_fps
    from foldwise.core.finn.stage import list_builds

    kept = kept_fps(iteration)
    if kept is not None:
        fps, source = kept
        return StageCost("inference", 1000.0 / fps, source, f"FINN's estimate {fps:,.1f} FPS of the folding kept "
                         "in the Build stage, frames streamed to the accelerator")
    build = next((b for b in list_builds(iteration) if b.ok and b.fps), None)
    if build is None:
        raise InputError(f"iteration {iteration.label} has no finished FINN build: run an estimate first")
    return StageCost("inference", 1000.0 / float(build.fps), "estimated",
                     f"FINN's estimate {build.fps:,.1f} FPS ({build.name}), frames streamed to the accelerator")


def _board_inference(iteration: Iteration, board: str) -> list[StageCost]:
    from foldwise.core.board.runs import list_runs

    runs = [r for r in list_runs(iteration, board) if r.kind == "throughput" and r.status == "done"]
    if not runs or "latency_ms" not in runs[0].figures:
        raise InputError(f"no throughput run of iteration {iteration.label} on {board} yet: deploy it first "
                         f"(`foldwise deploy PATH --board {board}`)")
    latency = runs[0].figures["latency_ms"]
    return [StageCost("inference", latency.value, latency.source,
                      f"batch-1 time per image of the newest throughput run on {board}")]


def _host_inference(project: Project, iteration: Iteration, name: str, crop: np.ndarray, frames: int) -> StageCost:
    from foldwise.core.demo.backends import open_backend

    backend = open_backend(project, name, iteration)
    try:
        backend.infer(crop)  # warm-up
        ms = _median_ms(lambda: backend.infer(crop), frames)
    finally:
        backend.close()
    return StageCost("inference", ms, "measured", f"{name} backend on this machine, batch 1")


def frame_budget(project: Project, inference_from: str, iteration: Iteration | None = None,
                 target_fps: float | None = None, ctx: JobContext | None = None,
                 frames: int = TIMED_FRAMES) -> FrameBudget:
    """The budget of one frame with inference from ``inference_from`` (one of :data:`SOURCES`)."""
    from foldwise.core.iterations import float_source, load_network

    ctx = ctx or null_context()
    iteration = iteration or project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no network yet: train or import one first")
    target = float(target_fps or project.settings.get("target_fps") or DEFAULT_TARGET_FPS)
    if not target > 0:
        raise InputError(f"the target rate must be positive, got {target:g}")
    ctx.progress(0.1, "timing the host stages")
    shape = tuple(int(v) for v in load_network(project, float_source(project, iteration) or iteration).spec.shape)
    stages, crop = _host_stages(shape, frames)
    ctx.progress(0.5, f"inference from {inference_from}")
    if inference_from == "estimate":
        stages.insert(1, _estimate_inference(iteration))
    elif inference_from.startswith("board:") and inference_from[len("board:"):]:
        stages[1:1] = _board_inference(iteration, inference_from[len("board:"):])
    elif inference_from in ("host-float", "host-quantized"):
        stages.insert(1, _host_inference(project, iteration, inference_from, crop, frames))
    else:
        raise InputError(f"unknown inference source {inference_from!r}: use {', '.join(SOURCES)}")
    ctx.progress(1.0, "budget ready")
    return FrameBudget(target, inference_from, stages)
