"""How frames get from a source to the pipeline, counting the ones the pipeline had no room for as dropped.

Two feeds, one interface (``start``, ``poll`` without blocking, ``due_in``, ``stalled``, ``closed``/``reason``):

- :class:`PushFeed` for devices, streams and video files: a capture thread reads as the device delivers and
  leaves each frame in a one-slot :class:`Mailbox`; a frame that replaces one nobody read is dropped. The
  thread blocks in the device, so it costs what capture costs.
- :class:`PullFeed` for sources that make frames on demand (the synthetic conveyor, image folders): frames come
  due on the source's clock (frame k at start + k/fps) and the pipeline takes the newest due frame when it has
  room; the ones that came due meanwhile are skipped unmade and counted as dropped, as a camera's driver
  overwrites a buffer nobody read. A capture thread drawing every frame of a fast conveyor spent a core (and
  the GIL: every hand-over waited on it) on frames that were then dropped unseen: the pipeline ran at 0.27–0.5×
  the bare backend; a pulled frame is drawn only when it is used.

Both set ``wake`` when something changed, so the pipeline waits on one event for frames and results alike.
"""

from __future__ import annotations

import math
import threading
import time

from foldwise.core.demo.sources import Frame, Source
from foldwise.core.demo.stats import RunStats


class Mailbox:
    """A one-slot, latest-frame hand-over between the capture thread and the pipeline."""

    def __init__(self, wake: threading.Event | None = None) -> None:
        self._cond = threading.Condition()
        self._item: Frame | None = None
        self._wake = wake
        self.closed = False
        self.reason = ""

    def put(self, item: Frame) -> bool:
        """Leave ``item`` for the reader; True when it replaced a frame nobody read (a dropped frame)."""
        with self._cond:
            replaced = self._item is not None
            self._item = item
            self._cond.notify()
        if self._wake is not None:
            self._wake.set()
        return replaced

    def get(self, timeout: float) -> Frame | None:
        """The latest frame, waiting up to ``timeout`` s; None if none came (or the box is closed and empty)."""
        with self._cond:
            if self._item is None and not self.closed and timeout > 0:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self, reason: str) -> None:
        with self._cond:
            self.closed, self.reason = True, reason
            self._cond.notify()
        if self._wake is not None:
            self._wake.set()


class PushFeed:
    """A capture thread reading ``source`` as it delivers, through a :class:`Mailbox`."""

    def __init__(self, source: Source, stats: RunStats, wake: threading.Event) -> None:
        self.source = source
        self._stats = stats
        self._box = Mailbox(wake)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._capture, name="demo-capture", daemon=True)
        self._started = 0.0

    def _capture(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    self._box.close(self.source.end_reason or f"{self.source.name} ended")
                    return
                self._stats.captured_frame(frame.timestamp, int(self._box.put(frame)))
        except Exception as exc:  # the source failing mid-run ends the run with its reason, never a crash
            self._box.close(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def start(self, now: float) -> None:
        self._started = now
        self._thread.start()

    def poll(self) -> Frame | None:
        return self._box.get(0.0)

    def due_in(self, now: float) -> float:
        """How long until a frame may come: unknown for a device (the capture thread wakes the pipeline)."""
        return math.inf

    @property
    def closed(self) -> bool:
        return self._box.closed

    @property
    def reason(self) -> str:
        return self._box.reason

    def stalled(self, now: float, timeout: float) -> bool:
        return now - (self._stats.last_capture or self._started) > timeout

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


class PullFeed:
    """Frames made on demand by ``source`` (``source.on_demand``) on its own clock; no thread."""

    def __init__(self, source: Source, stats: RunStats) -> None:
        self.source = source
        self._stats = stats
        self.closed = False
        self.reason = ""

    def start(self, now: float) -> None:
        self.source.start_clock(now)

    def poll(self) -> Frame | None:
        """The newest due frame (skipping, as dropped, those that came due before it), or None if none is due."""
        if self.closed:
            return None
        source = self.source
        due = source.due_index(time.perf_counter())
        missed = due - source.next_index
        if missed < 0:
            return None
        try:
            skipped = source.skip(missed) if missed else 0
            frame = source.read()
        except Exception as exc:  # as in the capture thread: the run ends with the source's reason
            self._close(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return None
        if frame is None:
            self._close(source.end_reason or f"{source.name} ended")
            return None
        frame.timestamp = source.due_time(frame.index)  # when a camera would have exposed it
        self._stats.captured_frame(frame.timestamp, skipped, count=skipped + 1)
        return frame

    def due_in(self, now: float) -> float:
        return 0.0 if self.closed else max(0.0, self.source.due_time(self.source.next_index) - now)

    def _close(self, reason: str) -> None:
        self.closed, self.reason = True, reason

    def stalled(self, now: float, timeout: float) -> bool:
        return False  # frames are made when asked for

    def stop(self) -> None:
        pass


def open_feed(source: Source, stats: RunStats, wake: threading.Event) -> PushFeed | PullFeed:
    """A :class:`PullFeed` for sources that make frames on demand, else a :class:`PushFeed`."""
    return PullFeed(source, stats) if source.on_demand else PushFeed(source, stats, wake)
