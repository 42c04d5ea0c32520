"""Recording a demo run: the annotated video (OpenCV ``VideoWriter``) and a CSV of per-frame results and timings.

Rows and frames are written as they come and the files are closed however the run ends, so a run stopped or
cut short by a lost camera leaves a playable video and the CSV so far.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from foldwise.core.demo.stats import STAGES
from foldwise.core.errors import InputError

VIDEO_FILE = "demo.avi"
CSV_FILE = "frames.csv"
STATS_FILE = "stats.json"
COLUMNS = ("frame", "timestamp_s", "label", "confidence", "truth", "latency_ms", *(f"{s}_ms" for s in STAGES))


class Recorder:
    """Writes ``demo.avi`` (MJPG, the source's rate), ``frames.csv`` and, at the end, ``stats.json`` into ``folder``."""

    def __init__(self, folder: str | os.PathLike[str], fps: float, size: tuple[int, int]) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot record into {self.folder}: {exc.strerror or exc}") from exc
        self.video_path = self.folder / VIDEO_FILE
        self._video = cv2.VideoWriter(str(self.video_path), cv2.VideoWriter_fourcc(*"MJPG"), float(fps),
                                      (int(size[0]), int(size[1])))
        if not self._video.isOpened():
            raise InputError(f"OpenCV cannot write a video to {self.video_path}")
        self.size = (int(size[0]), int(size[1]))
        self.csv_path = self.folder / CSV_FILE
        self._csv_file = open(self.csv_path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close)
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(COLUMNS)
        self.frames = 0

    def write(self, image: np.ndarray, row: dict[str, Any]) -> None:
        """One annotated RGB frame and its CSV row (keys: :data:`COLUMNS`)."""
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)
        self._video.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self._csv.writerow([row.get(c, "") for c in COLUMNS])
        self.frames += 1

    def close(self, stats: dict[str, Any] | None = None) -> None:
        """Finish the files (safe to call twice); ``stats`` is written as ``stats.json``."""
        if self._video is not None:
            self._video.release()
            self._video = None
        if not self._csv_file.closed:
            self._csv_file.close()
        if stats is not None:
            (self.folder / STATS_FILE).write_text(json.dumps(stats, indent=2), encoding="utf-8")

    def paths(self) -> dict[str, str]:
        return {"video": str(self.video_path), "csv": str(self.csv_path), "stats": str(self.folder / STATS_FILE)}
