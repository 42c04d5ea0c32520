"""Where demo frames come from. Every source states its frame rate and timestamps each frame it delivers.

``open_source(text)`` parses what the CLI and the panel accept: ``synthetic`` or ``conveyor`` (the built-in
conveyor), ``camera:N`` or ``camera:/dev/videoN``, a video file (``PATH`` or ``file:PATH``), ``folder:PATH``
and ``rtsp://…``/``http(s)://…`` URLs.
Files, folders and the conveyor play at their own rate (a frame is not delivered before it is due), like a
camera would; cameras and streams deliver as fast as the device does. ``read()`` returns None at the end (its
``end_reason`` says why) and raises :class:`SourceLost` when the device goes away.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.lazy_import import lazy_module

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

DEFAULT_SIZE = (640, 480)
SOURCE_FORMS = ("synthetic (or conveyor), camera:N, camera:/dev/videoN, a video file (PATH or file:PATH), "
                "folder:PATH or an rtsp:// / http(s):// URL")


class SourceLost(FoldwiseError):
    """The source failed mid-run (camera unplugged, stream broken): the run ends with this reason."""


@dataclass
class Frame:
    """One captured frame: RGB H×W×3 uint8, its number, when it was captured (``time.perf_counter``) and how
    long the capture itself took; synthetic frames also carry the parts in view (``boxes`` K×4 x0,y0,x1,y1 and
    ``labels`` 0 ok / 1 defect)."""

    index: int
    image: np.ndarray
    timestamp: float
    capture_s: float = 0.0
    boxes: np.ndarray | None = None
    labels: np.ndarray | None = None


@dataclass
class Source:
    """Base of the sources: ``name``, ``fps`` (the rate it states), ``size`` (W, H) and ``end_reason``."""

    name: str
    fps: float
    size: tuple[int, int] = DEFAULT_SIZE
    end_reason: str = ""
    _count: int = field(default=0, init=False)
    _start: float | None = field(default=None, init=False)

    def read(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file (safe to call twice)."""

    #: frames are made when asked for (the conveyor, a folder): the pipeline pulls the newest due frame and
    #: skips the rest unmade (``feed.PullFeed``); otherwise a capture thread reads as the device delivers
    on_demand = False

    def start_clock(self, now: float | None = None) -> None:
        """Frame k is due at ``now + k / fps`` (the first call fixes the clock; reading starts it too)."""
        if self._start is None:
            self._start = time.perf_counter() if now is None else now

    def due_time(self, index: int) -> float:
        self.start_clock()
        return self._start + index / self.fps  # type: ignore[operator]

    def due_index(self, now: float) -> int:
        """The newest frame due at ``now`` (-1 before the first)."""
        self.start_clock(now)
        return math.floor((now - self._start) * self.fps)  # type: ignore[operator]

    @property
    def next_index(self) -> int:
        """The index the next frame read (or skipped) gets."""
        return self._count

    def skip(self, count: int) -> int:
        """Pass over ``count`` due frames without delivering them; returns how many were passed over."""
        done = 0
        while done < count and self.read() is not None:
            done += 1
        return done

    def _wait_due(self) -> None:
        """Sleep until the next frame is due at this source's rate (paced sources)."""
        now = time.perf_counter()
        self.start_clock(now)  # the first frame is due now, not a moment later (no sleep for it)
        due = self.due_time(self._count)
        if due > now:
            time.sleep(due - now)

    def _frame(self, image: np.ndarray, started: float, **truth: np.ndarray) -> Frame:
        frame = Frame(self._count, image, time.perf_counter(), 0.0, **truth)
        frame.capture_s = frame.timestamp - started
        self._count += 1
        return frame


class ConveyorSource(Source):
    """The built-in conveyor: defect-set parts in one lane sliding past at ``speed`` px/s, ``fps`` frames a second.

    The parts are drawn once by the defect-set generator (``defects.render_crops``, ``scale``× its 64-px crops)
    over a belt from ``frames.render_conveyor_frame``; a frame is a window into that looping belt, so capture
    costs a copy. About ``defect_rate`` of the parts are defective, and each frame knows which parts it shows.
    """

    on_demand = True

    def __init__(self, fps: float = 120.0, size: tuple[int, int] = DEFAULT_SIZE, speed: float = 480.0,
                 parts: int = 12, defect_rate: float = 0.4, seed: int = 0, scale: int = 2) -> None:
        super().__init__("synthetic conveyor", float(fps), (int(size[0]), int(size[1])))
        self.speed = float(speed)
        width, height = self.size
        self.tile = 64 * int(scale)
        if height < self.tile + 16 or width < self.tile:
            raise InputError(f"conveyor frames {width}×{height} are too small for {self.tile}-px parts")
        self._belt, self._centres, self._labels = _draw_belt(parts, defect_rate, seed, width, height, scale)
        self.length = self._belt.shape[1] - width

    def skip(self, count: int) -> int:
        self._count += max(0, count)  # a frame is a window into the belt: nothing to make for a skipped one
        return max(0, count)

    def read(self) -> Frame | None:
        self._wait_due()
        started = time.perf_counter()
        width, height = self.size
        offset = round(self.speed * self._count / self.fps) % self.length
        image = self._belt[:, offset:offset + width].copy()
        xs = (self._centres - offset) % self.length
        near = xs < width + self.tile
        half = self.tile // 2
        boxes = np.stack([xs[near] - half, np.full(near.sum(), height // 2 - half),
                          xs[near] + half, np.full(near.sum(), height // 2 + half)], axis=1)
        return self._frame(image, started, boxes=boxes.astype(np.int64), labels=self._labels[near].copy())


def _draw_belt(n: int, defect_rate: float, seed: int, width: int, height: int,
               scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A looping belt image (the first ``width`` columns repeated at the end), part centres and labels."""
    import cv2

    from foldwise.core.data.defects import KINDS_FOR_PART, PART_TYPES, render_crops
    from foldwise.core.data.frames import render_conveyor_frame

    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < defect_rate).astype(np.int64)
    parts = np.array(PART_TYPES)[rng.integers(0, len(PART_TYPES), n)]
    kinds = np.array(["none"] * n, dtype="<U16")
    for i in np.flatnonzero(labels):
        options = KINDS_FOR_PART[str(parts[i])]
        kinds[i] = options[rng.integers(len(options))]
    crops = render_crops(rng, parts, kinds)
    tile = 64 * scale
    pitch = tile + tile // 4
    length = max(n * pitch, width)
    belt = render_conveyor_frame(rng, length, height, (0, 0), crop_size=64).image.astype(np.float32)
    # Feather the outer pixels of each crop so its own background blends into the belt.
    ramp = np.clip(np.minimum(np.arange(tile), np.arange(tile)[::-1]) / (2.0 * scale), 0, 1)
    alpha = np.minimum.outer(ramp, ramp)[:, :, None]
    top = height // 2 - tile // 2
    centres = np.empty(n, np.int64)
    for i, crop in enumerate(crops):
        x0 = i * pitch + (pitch - tile) // 2
        big = cv2.resize(crop.transpose(1, 2, 0), (tile, tile), interpolation=cv2.INTER_NEAREST)
        region = belt[top:top + tile, x0:x0 + tile]
        belt[top:top + tile, x0:x0 + tile] = alpha * big + (1 - alpha) * region
        centres[i] = x0 + tile // 2
    belt = np.clip(belt, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.concatenate([belt, belt[:, :width]], axis=1)), centres, labels


class VideoSource(Source):
    """A camera, a stream URL or a video file through OpenCV's ``VideoCapture``.

    Files play at their own frame rate (``paced``); cameras and streams deliver as the device does.
    """

    def __init__(self, target: int | str, name: str, paced: bool, fallback_fps: float) -> None:
        import cv2

        self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(f"{name}: OpenCV cannot open it (not a video, unsupported codec, or unreachable)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"{name}: no frame could be read (empty, truncated or not a video)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        super().__init__(name, fps if 0 < fps < 10_000 else float(fallback_fps), (first.shape[1], first.shape[0]))
        self._first: np.ndarray | None = first
        self._paced = paced
        self._live = not paced
        stated = self._cap.get(cv2.CAP_PROP_FRAME_COUNT) if paced else 0
        self._stated = int(stated) if 0 < stated < 1e9 else 0  # frames the file says it holds (0: unknown)

    def read(self) -> Frame | None:
        import cv2

        if self._cap is None:
            return None
        if self._paced:
            self._wait_due()
        started = time.perf_counter()
        if self._first is not None:
            bgr, self._first = self._first, None
        else:
            try:
                ok = self._cap.grab()
                started = time.perf_counter()  # a camera's grab waits for the exposure: not capture work
                ok, bgr = self._cap.retrieve() if ok else (False, None)
            except cv2.error as exc:
                raise SourceLost(f"{self.name} failed: {exc}") from exc
            if not ok or bgr is None:
                if self._live:
                    raise SourceLost(f"{self.name} stopped delivering frames (unplugged or closed?)")
                self.end_reason = f"end of {self.name} after {self._count} frames"
                if self._stated > self._count:
                    self.end_reason += (f" of the {self._stated} it states: the file is truncated or damaged "
                                        "(the frames before the damage were shown)")
                return None
        return self._frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), started)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderSource(Source):
    """The images of a folder (sorted by name), played once at ``fps``; unreadable files are skipped."""

    on_demand = True

    def __init__(self, folder: Path, fps: float) -> None:
        from foldwise.core.data.folders import IMAGE_EXTENSIONS

        if not folder.is_dir():
            raise InputError(f"image folder {folder} does not exist or is not a folder")
        self._files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self._files:
            raise InputError(f"image folder {folder} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        first = self._load(0)
        if first is None:
            raise InputError(f"image folder {folder}: {self._files[0].name} is unreadable")
        super().__init__(f"image folder {folder.name}", float(fps), (first.shape[1], first.shape[0]))
        self.skipped = 0
        self._next = 0

    def skip(self, count: int) -> int:
        count = max(0, min(count, len(self._files) - self._next))  # skipped images are not even read
        self._next += count
        self._count += count
        return count

    def _load(self, i: int) -> np.ndarray | None:
        import cv2

        from foldwise.core.data.folders import read_image

        image, _reason = read_image(self._files[i])
        if image is None:
            return None
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image

    def read(self) -> Frame | None:
        self._wait_due()
        while self._next < len(self._files):
            started = time.perf_counter()
            image = self._load(self._next)
            self._next += 1
            if image is not None:
                return self._frame(image, started)
            self.skipped += 1
        self.end_reason = f"end of {self.name} after {self._count} images" + (
            f" ({self.skipped} unreadable skipped)" if self.skipped else "")
        return None


_URL = re.compile(r"^(rtsp|rtsps|http|https)://", re.IGNORECASE)


def open_source(text: str, fps: float = 120.0, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0) -> Source:
    """The source ``text`` names (see the module docstring); ``fps`` is the rate of the conveyor and folders and
    the fallback for videos that do not state one. Raises :class:`InputError` with a clear line when it cannot."""
    text = (text or "").strip()
    if text in ("synthetic", "conveyor"):
        return ConveyorSource(fps, size, seed=seed)
    if _URL.match(text):
        return VideoSource(text, f"stream {text}", paced=False, fallback_fps=fps)
    kind, _, rest = text.partition(":")
    if kind == "camera" and rest:
        return _camera(rest, fps)
    if kind == "file" and rest:
        return _video_file(Path(rest).expanduser(), fps)
    if kind == "folder" and rest:
        return FolderSource(Path(rest).expanduser(), fps)
    path = Path(text).expanduser()
    if path.is_file() or (path.suffix and not path.is_dir()):  # a bare PATH is a video file
        return _video_file(path, fps)
    raise InputError(f"unknown source {text!r}: use {SOURCE_FORMS}")


def _video_file(path: Path, fps: float) -> Source:
    if not path.is_file():
        raise InputError(f"video file {path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise InputError(f"video file {path} is empty (0 bytes)")
    return VideoSource(str(path), f"video file {path.name}", paced=True, fallback_fps=fps)


def _camera(rest: str, fps: float) -> Source:
    # Checked before OpenCV is asked: a missing device would otherwise only print OpenCV warnings.
    device = f"/dev/video{rest}" if rest.isdigit() else rest
    if not os.path.exists(device):
        raise InputError(f"camera {rest} not found ({device} does not exist): is it plugged in?")
    target: int | str = int(rest) if rest.isdigit() else device
    return VideoSource(target, f"camera {rest}", paced=False, fallback_fps=fps)
