"""The demo pipeline: capture → region of interest → resize as trained → backend → annotate → output.

Frames come through a feed (:mod:`.feed`: a capture thread and a one-slot mailbox for devices, streams and
files; made on demand for the conveyor and folders) and go to the backend through a stream (:mod:`.stream`)
that keeps up to ``window`` requests of ``batch`` frames in flight, so the backend works on one frame while
the pipeline cuts the next and annotates the last. A frame that comes while there is no room is dropped and
counted, never queued without bound. Processing runs in the caller (a job thread in the GUI, the main thread
in the CLI). ``ctx.partial`` gets a :class:`DemoUpdate` (the annotated frame and live figures) at most
``display_fps`` times a second. The run ends on a frame or time limit, on cancel (Stop: the run returns its
figures, reason "stopped"), when the source ends or fails (its one-line reason), or when the backend is lost.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from foldwise.core.demo.agreement import DEFAULT_INTERVAL, AgreementCheck
from foldwise.core.demo.backends import Backend, open_backend
from foldwise.core.demo.board_backend import BackendLost
from foldwise.core.demo.feed import Mailbox, open_feed
from foldwise.core.demo.roi import Roi, load_roi
from foldwise.core.demo.sources import Frame, Source, open_source
from foldwise.core.demo.stats import DEFAULT_TARGET_FPS, FrameTiming, RunStats
from foldwise.core.demo.stream import Done, HostStream, SizeTuner, open_stream
from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

if TYPE_CHECKING:  # OpenCV loads with the first run, not with the GUI
    from foldwise.core.demo.record import Recorder

__all__ = ["DemoResult", "DemoSpec", "DemoUpdate", "Mailbox", "preprocess", "run_demo", "run_pipeline"]

LIVE_WINDOW = 512  # frames the live figures are computed over
IDLE_WAIT = 0.1  # s: the longest the loop sleeps before it looks at limits, cancel and stalls again
WINDOW_CHUNK = 64  # frames timed per sample when the pipeline measures a host backend's window
WINDOW_SETTLE = 8  # frames after a change of window that are not timed (the requests in flight drain or fill)


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
    #: requests in flight at the backend (None: a board's 2; on the host 1 or 2, whichever the run measures
    #: faster) and frames per request (None: the backend's choice; a board measures it, ``stream.SizeTuner``)
    window: int | None = None
    batch: int | None = None
    password: str | None = field(default=None, repr=False)  # for a board backend that logs in by password
    #: keep the finished run as a demo run record of its iteration (Compare shows its FPS and verdict)
    save: bool = True
    #: seconds between frames the float model also classifies, for the agreement figure (None or 0: none;
    #: a host-float run has nothing to compare)
    agreement_every: float | None = DEFAULT_INTERVAL


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
                 defect_class: int = 1, reference: Backend | None = None) -> DemoResult:
    """Run ``source`` through ``backend`` until a limit, a cancel or the source's end; closes source, recorder
    and ``reference``.

    ``defect_class`` is the network's class index meaning DEFECT (see :func:`defect_class_of`); ``reference``
    (the float network) classifies a frame every ``spec.agreement_every`` s for the agreement figure.
    """
    from foldwise.core.demo.annotate import annotate

    ctx = ctx or null_context()
    check_spec(spec)
    width, height = source.size
    box = roi.pixels(width, height)
    stats = RunStats(float(target_fps), backend.label)
    check = AgreementCheck(reference, stats, spec.agreement_every) if reference is not None \
        and spec.agreement_every else None
    if check is None and reference is not None:
        reference.close()
    wake = threading.Event()
    feed = open_feed(source, stats, wake)
    # Warm-up: first calls import and allocate; that is start-up, not the run's figures.
    blank = np.zeros((height, width, 3), np.uint8)
    try:
        backend.infer(preprocess(blank, box, backend.shape))
        stream = open_stream(backend, wake, spec.window, spec.batch)
    except BaseException:
        source.close()
        backend.close()
        if check is not None:
            check.close()
        raise
    annotate(blank, box, False, 1.0, 0)
    live = ctx.wants_partials
    reason, last_live, last_progress = "", 0.0, 0.0
    gathered: list[tuple[Frame, np.ndarray, float]] = []  # cut, waiting to fill a request
    in_flight = 0  # frames sent and not answered
    most_pending = 0  # the most requests in flight at once
    # On the host, one request in flight or two, whichever this run measures faster (while it is the
    # bottleneck: chunks in which it waited for the source say nothing), alternating chunks of frames.
    tuner = SizeTuner(1, stream.window, probe=3, gain=0.05) if spec.window is None \
        and isinstance(stream, HostStream) and stream.window > 1 else None
    chunk = {"start": 0.0, "frames": -WINDOW_SETTLE, "waited": False}
    if tuner is not None:
        stream.window = tuner.batch

    def timed_chunk(end: float) -> None:
        chunk["frames"] += 1
        if chunk["frames"] == 0:  # settled: the timing starts here
            chunk.update(start=end, waited=False)
        if tuner is None or chunk["frames"] < WINDOW_CHUNK:
            return
        if not chunk["waited"]:
            tuner.observe(stream.window, (end - chunk["start"]) / chunk["frames"])
            tuner.submitted(stream.window)
        settle = WINDOW_SETTLE if tuner.batch != stream.window else 0
        stream.window = tuner.batch
        chunk.update(start=end, frames=-settle, waited=False)

    def finish(done: Done) -> None:
        nonlocal last_live
        for (frame, crop, cut_s), label, p in zip(done.tags, done.labels, done.confidences, strict=True):
            t2 = time.perf_counter()
            if check is not None:
                check.offer(t2, crop, int(label))
            defect, confidence = _decision(int(label), float(p), spec.threshold, defect_class)
            truth = truth_in_roi(frame, box)
            annotate(frame.image, box, defect, confidence, stats.result(defect, truth))
            t3 = time.perf_counter()
            stages = {"capture": frame.capture_s, "preprocess": cut_s, **done.stages, "annotate": t3 - t2}
            if recorder is not None:
                t4 = time.perf_counter()
                recorder.write(frame.image, _row(frame, defect, confidence, truth, t4 - frame.timestamp,
                                                 {**stages, "output": t4 - t3}))
            if live and t3 - last_live >= 1.0 / spec.display_fps:
                last_live = t3
                ctx.partial(DemoUpdate(frame.image, frame.index, defect, confidence,
                                       stats.snapshot(t3, LIVE_WINDOW)))
            end = time.perf_counter()
            stats.timed(FrameTiming(frame.timestamp, {**stages, "output": end - t3}, end))
            timed_chunk(end)

    started = time.perf_counter()
    chunk["start"] = started
    feed.start(started)
    try:
        while True:
            wake.clear()  # before looking: whatever comes after this wakes the wait below
            now = time.perf_counter()
            elapsed = now - started
            processed = len(stats.timings)
            if ctx.cancelled:
                reason = "stopped"
                break
            if spec.frames is not None and processed >= spec.frames:
                reason = f"{spec.frames} frames processed"
                break
            if spec.seconds is not None and elapsed >= spec.seconds:
                reason = f"{spec.seconds:g} s elapsed"
                break
            if now - last_progress >= 0.25:
                last_progress = now
                _progress(ctx, spec, stats, elapsed)
            try:
                done = stream.poll()
            except BackendLost as exc:  # a clean stop with the reason; the recording so far stays
                reason = str(exc)
                break
            if done is not None:
                in_flight -= len(done.tags)
                finish(done)
                continue
            wanted = (spec.frames - processed - in_flight - len(gathered)) if spec.frames else math.inf
            room = stream.pending < stream.window
            while room and wanted > 0 and len(gathered) < stream.batch:
                frame = feed.poll()
                if frame is None:
                    chunk["waited"] = True
                    break
                t0 = time.perf_counter()
                crop = preprocess(frame.image, box, backend.shape)
                gathered.append((frame, crop, time.perf_counter() - t0))
                wanted -= 1
            # A full request goes out, and a partial one rather than leave the backend idle or the run unfinished.
            if gathered and room and (len(gathered) >= stream.batch or stream.pending == 0 or wanted <= 0
                                      or feed.closed):
                try:
                    stream.submit(np.concatenate([crop for _f, crop, _s in gathered]), gathered)
                except BackendLost as exc:
                    reason = str(exc)
                    break
                in_flight += len(gathered)
                most_pending = max(most_pending, stream.pending)
                gathered = []
                continue
            if feed.closed and not gathered and stream.pending == 0:
                reason = feed.reason
                break
            if stream.pending == 0 and feed.stalled(now, spec.stall_timeout):
                reason = (f"{source.name} stalled: no frame for {spec.stall_timeout:g} s (a stream that stopped "
                          "sending, or a frozen camera)")
                break
            wait = feed.due_in(now) if room and wanted > 0 else math.inf
            wake.wait(min(wait, IDLE_WAIT))
    finally:
        feed.stop()
        source.close()
        try:
            stream.close()
        finally:
            backend.close()
            if check is not None:
                check.close()  # the frame being checked counts
            final = stats.snapshot()
            if recorder is not None:  # also on Ctrl+C or an error: the recording so far stays playable
                recorder.close({"reason": reason or "interrupted", **final})
    ctx.progress(1.0, f"{reason}: {final['verdict']}")
    notes = [note] if (note := roi_fit_note(box, backend.shape)) else []
    if check is not None and check.error:
        notes.append(check.error)
    return DemoResult(final, reason, {"name": source.name, "fps": source.fps, "size": list(source.size)},
                      {"name": backend.name, "label": backend.label, "window": stream.window,
                       "batch": stream.batch, "max_requests_in_flight": most_pending,
                       **(stream.report() if hasattr(stream, "report") else {}), **_window_report(tuner)},
                      roi.to_list(),
                      recorder.paths() if recorder is not None else None, {"notes": notes})


def check_spec(spec: DemoSpec) -> None:
    """Refuse limits and settings no run can have, with the line the CLI and the panel show."""
    if spec.frames is not None and spec.frames < 1:
        raise InputError(f"--frames must be at least 1, got {spec.frames}")
    if spec.seconds is not None and not spec.seconds > 0:
        raise InputError(f"--seconds must be positive, got {spec.seconds}")
    if not 0 < spec.threshold < 1:
        raise InputError(f"the defect threshold must lie between 0 and 1, got {spec.threshold:g}")
    for name in ("window", "batch"):
        if getattr(spec, name) is not None and getattr(spec, name) < 1:
            raise InputError(f"{name} must be at least 1, got {getattr(spec, name)}")


def roi_fit_note(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> str:
    """A line when the ROI does not fit the network's input: stretched to another aspect, or enlarged.

    The crop is always resized to the input (as the image-folder loader does for training), so a mismatch runs;
    but a part squashed or blown up is not what the network was trained on, and its verdicts suffer."""
    _x, _y, w, h = box
    height, width = int(shape[-2]), int(shape[-1])
    roi_aspect, net_aspect = w / h, width / height
    if max(roi_aspect, net_aspect) / min(roi_aspect, net_aspect) > 1.25:
        return (f"the ROI ({w}×{h} px, aspect {roi_aspect:.2f}) is stretched to the network's {width}×{height} "
                f"input (aspect {net_aspect:.2f}): parts look squashed; draw it closer to the input's shape")
    if w < width or h < height:
        return (f"the ROI ({w}×{h} px) is enlarged to the network's {width}×{height} input: draw it larger, "
                "or the parts look blurred to the network")
    return ""


def _window_report(tuner: SizeTuner | None) -> dict[str, Any]:
    if tuner is None:
        return {}
    return {"window_rule": "measured", "ms_per_frame_by_window": {str(w): round(s * 1000, 4)
                                                                   for w, s in tuner.measured.items()}}


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
    check_spec(spec)  # before a camera, a board or a model is opened
    target = target_rate(project, spec)
    if spec.source_fps is not None and not spec.source_fps > 0:
        raise InputError(f"source FPS must be positive, got {spec.source_fps:g}")
    iteration = project.get(spec.iteration) if spec.iteration else None
    roi = spec.roi or load_roi(project)
    ctx.progress(0.0, "opening the source")
    source = open_source(spec.source, fps=spec.source_fps or target)
    recorder = backend = reference = None
    try:
        ctx.progress(0.0, f"loading the {spec.backend} backend")
        backend = open_backend(project, spec.backend, iteration, password=spec.password)
        reference, note = _reference(project, spec, iteration)
        if spec.record:
            from foldwise.core.demo.record import Recorder

            recorder = Recorder(spec.record, source.fps, source.size)
    except BaseException:
        source.close()
        for opened in (backend, reference):
            if opened is not None:
                opened.close()
        raise
    result = run_pipeline(source, backend, roi or Roi.default(*source.size), spec, target, ctx, recorder,
                          defect_class_of(project), reference)
    if note:
        result.extra["notes"].append(note)
    if spec.save and result.stats["frames_processed"]["value"]:
        _save(iteration or project.current, result)
    return result


def _reference(project: Project, spec: DemoSpec, iteration: Iteration | None) -> tuple[Backend | None, str]:
    """The float network to sample agreement against, or None and why not (a host-float run needs none)."""
    if not spec.agreement_every or spec.backend == "host-float":
        return None, ""
    try:
        return open_backend(project, "host-float", iteration), ""
    except FoldwiseError as exc:
        return None, f"no agreement with the float model: {exc}"


def _save(iteration: Iteration | None, result: DemoResult) -> None:
    """Keep the run in the project; a project on read-only media or a full disk only loses this record."""
    from foldwise.core.demo.results import save_demo_run

    if iteration is None:
        return
    try:
        record = save_demo_run(iteration, result)
    except (OSError, FoldwiseError) as exc:
        result.extra["notes"].append(f"the run was not saved in the project: {exc}")
        return
    result.extra["run"] = str(record.folder)
