"""Small sources and backends for the demo tests."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from foldwise.core.demo.sources import Frame, Source, SourceLost


def video_frames(path: str | Path) -> int:
    """How many frames OpenCV reads from a video file (a recording is playable to its end)."""
    video = cv2.VideoCapture(str(path))
    count = 0
    while video.read()[0]:
        count += 1
    video.release()
    return count


def write_video(path: Path, frames: int, fps: float = 50.0, size: tuple[int, int] = (160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8))
    writer.release()
    return path


class FailingSource(Source):
    """Delivers ``good`` frames at ``fps``, then raises as an unplugged camera would."""

    def __init__(self, good: int, fps: float = 200.0) -> None:
        super().__init__("flaky camera", fps, (96, 96))
        self.good = good
        self.closed = False

    def read(self) -> Frame | None:
        self._wait_due()
        if self._count >= self.good:
            raise SourceLost("flaky camera stopped delivering frames (unplugged?)")
        return self._frame(np.zeros((96, 96, 3), np.uint8), time.perf_counter())

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Says DEFECT for bright crops; ``delay`` seconds per call stand for a slow network."""

    name = "fake"
    label = "measured"
    shape = (3, 16, 16)

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        bright = batch.reshape(len(batch), -1).mean(axis=1) > 127
        return bright.astype(np.int64), np.full(len(batch), 0.9, np.float32)

    def close(self) -> None:
        pass


class StallingSource(Source):
    """Delivers ``good`` frames, then blocks in ``read`` as a stream that stopped sending does (until closed)."""

    def __init__(self, good: int, fps: float = 100.0) -> None:
        import threading

        super().__init__("stream rtsp://127.0.0.1/stalls", fps, (96, 96))
        self.good = good
        self.released = threading.Event()

    def read(self) -> Frame | None:
        self._wait_due()
        if self._count >= self.good:
            self.released.wait(60)
            return None
        return self._frame(np.zeros((96, 96, 3), np.uint8), time.perf_counter())

    def close(self) -> None:
        self.released.set()
