"""The demo pipeline: capture → region of interest → resize as trained → backend → annotate → output.

Capture runs on its own thread and hands frames over through a one-slot :class:`Mailbox`: a frame that arrives
while the previous one is still unread replaces it and is counted as dropped, so nothing queues without bound
and the drop count says whether the pipeline keeps up. Processing runs in the caller (a job thread in the GUI,
the main thread in the CLI). ``ctx.partial`` gets a :class:`DemoUpdate` (the annotated frame and live figures)
at most ``display_fps`` times a second. The run ends on a frame or time limit, on cancel (Stop: the run
returns its figures, reason "stopped"), or when the source ends or fails (its one-line reason).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from foldwise.core.demo.backends import Backend, open_backend
from foldwise.core.demo.board_backend import BackendLost
from foldwise.core.demo.roi import Roi, load_roi
from foldwise.core.demo.sources import Frame, Source, open_source
from foldwise.core.demo.stats import DEFAULT_TARGET_FPS, FrameTiming, RunStats
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

if TYPE_CHECKING:  # OpenCV loads with the first run, not with the GUI
    from foldwise.core.demo.record import Recorder

LIVE_WINDOW = 512  # frames the live figures are computed over


class Mailbox:
    """A one-slot, latest-frame hand-over between the capture thread and the pipeline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Frame | None = None
        self.closed = False
        self.reason = ""

    def put(self, item: Frame) -> bool:
        """Leave ``item`` for the reader; True when it replaced a frame nobody read (a dropped frame)."""
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
            return replaced

    def get(self, timeout: float) -> Frame | None:
        """The latest frame, waiting up to ``timeout`` s; None if none came (or the box is closed and empty)."""
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self, reason: str) -> None:
        with self._cond:
            self.closed, self.reason = True, reason
            self._cond.notify()


@dataclass
class DemoSpec:
    """What to run: ``source`` (see :func:`~.sources.open_source`), ``backend``, limits, target rate and outputs.

    ``target_fps`` None takes the project's ``settings.target_fps`` (else 120); ``source_fps`` None runs the
    conveyor and folders at the target rate. ``roi`` None takes the project's saved ROI (else the default).
    """

    source: str = "synthetic"
    backend: str = "host-float"
    seconds: float | None = None
    frames: int | None = None
    target_fps: float | None = None
    source_fps: float | None = None
    record: str | None = None
    roi: Roi | None = None
    threshold: float = 0.5
    display_fps: float = 25.0
    iteration: str | None = None
    #: a source that delivers no frame for this long (a stalled stream, a frozen camera) ends the run
    stall_timeout: float = 5.0
    password: str | None = field(default=None, repr=False)  # for a board backend that logs in by password


@dataclass
class DemoUpdate:
    """A live view: the annotated RGB frame (the pipeline does not touch it again) and the figures so far."""

    image: np.ndarray
    frame: int
    defect: bool
    confidence: float
    stats: dict[str, Any]


@dataclass
class DemoResult:
    """The end of a run: its figures (:meth:`RunStats.snapshot`), why it ended, and what it ran on."""

    stats: dict[str, Any]
    reason: str
    source: dict[str, Any]
    backend: dict[str, Any]
    roi: list[float]
    recording: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def preprocess(image: np.ndarray, roi: tuple[int, int, int, int], shape: tuple[int, int, int]) -> np.ndarray:
    """The ROI of an RGB frame as the network's training data: uint8 1×C×H×W (resized, converted as image
    folders are; each backend then scales it as its training or quantization did)."""
    from foldwise.core.data.folders import fit_image

    x, y, w, h = roi
    return fit_image(image[y:y + h, x:x + w], shape[1], shape[2], shape[0])[None]


def truth_in_roi(frame: Frame, roi: tuple[int, int, int, int]) -> int | None:
    """The label of the known part centred in the ROI (within a quarter of its size), or None."""
    if frame.boxes is None or frame.labels is None or not len(frame.boxes):
        return None
    x, y, w, h = roi
    cx, cy = (frame.boxes[:, 0] + frame.boxes[:, 2]) / 2, (frame.boxes[:, 1] + frame.boxes[:, 3]) / 2
    near = (np.abs(cx - (x + w / 2)) <= w / 4) & (np.abs(cy - (y + h / 2)) <= h / 4)
    return int(frame.labels[np.flatnonzero(near)[0]]) if near.any() else None


def run_pipeline(source: Source, backend: Backend, roi: Roi, spec: DemoSpec, target_fps: float,
                 ctx: JobContext | None = None, recorder: Recorder | None = None,
                 defect_class: int = 1) -> DemoResult:
    """Run ``source`` through ``backend`` until a limit, a cancel or the source's end; closes source and recorder.

    ``defect_class`` is the network's class index meaning DEFECT (see :func:`defect_class_of`).
    """
    from foldwise.core.demo.annotate import annotate

    ctx = ctx or null_context()
    if spec.frames is not None and spec.frames < 1:
        raise InputError(f"--frames must be at least 1, got {spec.frames}")
    if spec.seconds is not None and not spec.seconds > 0:
        raise InputError(f"--seconds must be positive, got {spec.seconds}")
    width, height = source.size
    box = roi.pixels(width, height)
    stats = RunStats(float(target_fps), backend.label)
    mailbox = Mailbox()
    stop = threading.Event()

    def capture() -> None:
        try:
            while not stop.is_set():
                frame = source.read()
                if frame is None:
                    mailbox.close(source.end_reason or f"{source.name} ended")
                    return
                stats.captured_frame(frame.timestamp, mailbox.put(frame))
        except Exception as exc:  # the source failing mid-run ends the run with its reason, never a crash
            mailbox.close(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    # Warm-up: first calls import and allocate; that is start-up, not the run's figures.
    blank = np.zeros((height, width, 3), np.uint8)
    backend.infer(preprocess(blank, box, backend.shape))
    annotate(blank, box, False, 1.0, 0)
    thread = threading.Thread(target=capture, name="demo-capture", daemon=True)
    reason, last_live, last_progress = "", 0.0, 0.0
    started = time.perf_counter()
    thread.start()
    try:
        while True:
            elapsed = time.perf_counter() - started
            if ctx.cancelled:
                reason = "stopped"
                break
            if spec.frames is not None and len(stats.timings) >= spec.frames:
                reason = f"{spec.frames} frames processed"
                break
            if spec.seconds is not None and elapsed >= spec.seconds:
                reason = f"{spec.seconds:g} s elapsed"
                break
            frame = mailbox.get(0.1)
            if frame is None:
                if mailbox.closed:
                    reason = mailbox.reason
                    break
                waited = time.perf_counter() - (stats.last_capture or started)
                if waited > spec.stall_timeout:
                    reason = (f"{source.name} stalled: no frame for {spec.stall_timeout:g} s (a stream that stopped "
                              "sending, or a frozen camera)")
                    break
                continue
            t0 = time.perf_counter()
            batch = preprocess(frame.image, box, backend.shape)
            t1 = time.perf_counter()
            try:
                labels, confidences = backend.infer(batch)
            except BackendLost as exc:  # a clean stop with the reason; the recording so far stays
                reason = str(exc)
                break
            t2 = time.perf_counter()
            defect, confidence = _decision(int(labels[0]), float(confidences[0]), spec.threshold, defect_class)
            truth = truth_in_roi(frame, box)
            annotate(frame.image, box, defect, confidence, stats.result(defect, truth))
            t3 = time.perf_counter()
            split = getattr(backend, "last_stages", None) or {}  # a board backend splits off the transfer
            if recorder is not None:
                t4 = time.perf_counter()
                recorder.write(frame.image, _row(frame, defect, confidence, truth, t4 - frame.timestamp, {
                    "capture": frame.capture_s, "preprocess": t1 - t0, "inference": t2 - t1, "annotate": t3 - t2,
                    "output": t4 - t3, **split}))
            now = time.perf_counter()
            if now - last_live >= 1.0 / spec.display_fps:
                last_live = now
                ctx.partial(DemoUpdate(frame.image, frame.index, defect, confidence,
                                       stats.snapshot(now, LIVE_WINDOW)))
            done = time.perf_counter()
            stats.timed(FrameTiming(frame.timestamp, {
                "capture": frame.capture_s, "preprocess": t1 - t0, "inference": t2 - t1, "annotate": t3 - t2,
                "output": done - t3, **split}, done))
            if now - last_progress >= 0.25:
                last_progress = now
                _progress(ctx, spec, stats, elapsed)
    finally:
        stop.set()
        thread.join(timeout=2.0)
        source.close()
        backend.close()
        final = stats.snapshot()
        if recorder is not None:  # also on Ctrl+C or an error: the recording so far stays playable
            recorder.close({"reason": reason or "interrupted", **final})
    ctx.progress(1.0, f"{reason}: {final['verdict']}")
    return DemoResult(final, reason, {"name": source.name, "fps": source.fps, "size": list(source.size)},
                      {"name": backend.name, "label": backend.label}, roi.to_list(),
                      recorder.paths() if recorder is not None else None)


def _decision(label: int, confidence: float, threshold: float, defect_class: int) -> tuple[bool, float]:
    """DEFECT when the defect class has at least ``threshold`` probability; the confidence shown is that of
    the verdict shown. (For more than two classes the probability of "not the predicted class" is spread over
    several, so only the top class is used there.)"""
    p_defect = confidence if label == defect_class else 1.0 - confidence
    defect = p_defect >= threshold
    return defect, p_defect if defect else 1.0 - p_defect


def defect_class_of(project: Project) -> int:
    """The class index of "defect" in the project's data set (image folders list classes by sorted name)."""
    from foldwise.core.data.registry import DATASETS

    settings = project.settings.get("dataset", {})
    if settings.get("name") == "folder" and settings.get("path"):
        from pathlib import Path

        folder = Path(settings["path"])
        names = sorted(d.name for d in folder.iterdir() if d.is_dir()) if folder.is_dir() else []
    else:
        names = list(DATASETS.get(settings.get("name"), {}).get("class_names", []))
    return names.index("defect") if "defect" in names else 1


def _row(frame: Frame, defect: bool, confidence: float, truth: int | None, latency_s: float,
         stages: dict[str, float]) -> dict[str, Any]:
    return {"frame": frame.index, "timestamp_s": round(frame.timestamp, 6), "label": "DEFECT" if defect else "OK",
            "confidence": round(confidence, 4), "truth": "" if truth is None else ("DEFECT" if truth else "OK"),
            "latency_ms": round(latency_s * 1000, 3), **{f"{k}_ms": round(v * 1000, 3) for k, v in stages.items()}}


def _progress(ctx: JobContext, spec: DemoSpec, stats: RunStats, elapsed: float) -> None:
    fractions = [len(stats.timings) / spec.frames if spec.frames else 0.0,
                 elapsed / spec.seconds if spec.seconds else 0.0]
    ctx.progress(max(fractions), f"{len(stats.timings)} frames, {stats.dropped} dropped")


def target_rate(project: Project, spec: DemoSpec) -> float:
    """The rate the run is judged against: the spec's, else the project's ``target_fps``, else 120."""
    value = spec.target_fps or project.settings.get("target_fps") or DEFAULT_TARGET_FPS
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"target FPS must be a number, got {value!r}") from exc
    if not 0 < value < 1e6:
        raise InputError(f"target FPS must be positive, got {value:g}")
    return value


def run_demo(project: Project, spec: DemoSpec, ctx: JobContext | None = None) -> DemoResult:
    """The demo stage: open the source and backend ``spec`` names on ``project`` and run the pipeline."""
    ctx = ctx or null_context()
    target = target_rate(project, spec)
    if spec.source_fps is not None and not spec.source_fps > 0:
        raise InputError(f"source FPS must be positive, got {spec.source_fps:g}")
    iteration = project.get(spec.iteration) if spec.iteration else None
    roi = spec.roi or load_roi(project)
    ctx.progress(0.0, "opening the source")
    source = open_source(spec.source, fps=spec.source_fps or target)
    recorder = None
    try:
        ctx.progress(0.0, f"loading the {spec.backend} backend")
        backend = open_backend(project, spec.backend, iteration, password=spec.password)
        if spec.record:
            from foldwise.core.demo.record import Recorder

            recorder = Recorder(spec.record, source.fps, source.size)
    except BaseException:
        source.close()
        raise
    return run_pipeline(source, backend, roi or Roi.default(*source.size), spec, target, ctx, recorder,
                        defect_class_of(project))
