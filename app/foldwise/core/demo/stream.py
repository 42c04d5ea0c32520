"""Frames in flight between the pipeline and a backend: requests sent ahead, answers read back in order.

A request is one batch of crops and the frames they came from (``tags``); a :class:`Stream` holds at most
``window`` requests in flight and wants ``batch`` frames per request. The pipeline cuts and sends the next
frames while the backend works on earlier ones, then annotates each answer as it comes (:class:`Done`, in
the order sent), so a host backend's inference overlaps the pipeline's own work and a board's transfer
overlaps its compute. Nothing queues without bound: with the window full the pipeline takes no frame, and
the source's next frames are dropped and counted.

- :class:`HostStream`: with window 1 the backend's ``infer`` runs in the caller; with 2 its ``run`` on one
  worker thread (ONNX Runtime and PyTorch release the GIL while they compute, so it runs beside the pipeline's
  capture, resize and annotate, and its ``prepare`` in the caller, see ``backends``); with another process on
  the second core the two threads share one and the hand-overs can cost more than the overlap gains, so the
  pipeline measures).
- A board backend streams over its one SSH channel itself (``board_backend.BoardBackend``).

:class:`SizeTuner` is the measured rule for the batch: it doubles it while that lowers the backend's
measured time per frame by at least ``gain`` (alternating the two sizes while it measures).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from foldwise.core.lazy_import import lazy_module

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

#: requests in flight on a host backend at most: two, so one frame is inferred while the next is cut and the
#: last annotated; the pipeline measures whether that beats one at a time on this machine (``SizeTuner``)
HOST_WINDOW = 2


@dataclass
class Done:
    """One answered request: per frame (``tags``, in the order sent) a class, its confidence, and the seconds
    per frame the backend spent (``inference``; a board also ``transfer``)."""

    tags: list[Any]
    labels: np.ndarray
    confidences: np.ndarray
    stages: dict[str, float] = field(default_factory=dict)


class Stream(Protocol):
    """What the pipeline drives: ``submit`` while ``pending < window``, ``poll`` for answers in order."""

    window: int
    batch: int
    pending: int

    def submit(self, crops: np.ndarray, tags: list[Any]) -> None:
        """Send one request (uint8 N×C×H×W crops, one tag per crop) without waiting for its answer."""
        ...

    def poll(self) -> Done | None:
        """The oldest request's answer if it has come (raises ``BackendLost`` if it never will), else None."""
        ...

    def close(self) -> None: ...


class HostStream:
    """Requests to a host backend: inline in the caller while the window is 1 (nothing else to overlap, no
    hand-over), on one worker thread when it is larger (the backend's ``prepare`` still in the caller, its
    ``run`` on the worker; a backend without them is ``infer``'d there). The window may change between requests
    (the pipeline measures which one is faster, see :class:`SizeTuner`); answers stay in the order sent."""

    batch = 1

    def __init__(self, backend: Any, wake: threading.Event, window: int = HOST_WINDOW) -> None:
        self.window = max(1, int(window))
        self.pending = 0
        self._backend = backend
        self._wake = wake
        # A host backend's prepare runs here in the caller, its run on the worker (see backends.py, why).
        self._prepare = getattr(backend, "prepare", None)
        self._run = backend.run if self._prepare is not None else backend.infer
        self._jobs: deque[tuple[Any, list[Any], float] | None] = deque()
        self._ready = threading.Condition()
        self._done: deque[Done | BaseException] = deque()  # appended by the worker, popped by the pipeline
        self._thread: threading.Thread | None = None

    def _infer(self, tensor: Any, tags: list[Any], prepared_s: float) -> Done | BaseException:
        started = time.perf_counter()
        try:
            labels, confidences = self._run(tensor)
        except BaseException as exc:  # handed to the pipeline, which stops with it
            return exc
        seconds = prepared_s + time.perf_counter() - started  # the backend's whole work, as infer() would be
        return Done(tags, labels, confidences, {"inference": seconds / len(tags)})

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._jobs:
                    self._ready.wait()
                job = self._jobs.popleft()
            if job is None:
                return
            self._done.append(self._infer(*job))
            self._wake.set()

    def submit(self, crops: np.ndarray, tags: list[Any]) -> None:
        if self.pending >= self.window:
            raise RuntimeError(f"{self.window} requests already in flight")
        started = time.perf_counter()
        tensor = crops if self._prepare is None else self._prepare(crops)
        prepared_s = time.perf_counter() - started
        self.pending += 1
        if self.window == 1 and self.pending == 1:  # nothing in flight: inline, in order by construction
            self._done.append(self._infer(tensor, tags, prepared_s))
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="demo-inference", daemon=True)
            self._thread.start()
        with self._ready:
            self._jobs.append((tensor, tags, prepared_s))
            self._ready.notify()

    def poll(self) -> Done | None:
        if not self._done:
            return None
        done = self._done.popleft()
        self.pending -= 1
        if isinstance(done, BaseException):
            raise done
        return done

    def close(self) -> None:
        if self._thread is None:
            return
        with self._ready:
            self._jobs.clear()
            self._jobs.append(None)
            self._ready.notify()
        self._thread.join(timeout=10.0)


def open_stream(backend: Any, wake: threading.Event, window: int | None = None,
                batch: int | None = None) -> Stream:
    """The stream for ``backend``: its own if it has one (a board), else a :class:`HostStream`."""
    if hasattr(backend, "stream"):
        return backend.stream(wake, window, batch)
    if batch not in (None, 1):
        from foldwise.core.errors import InputError

        raise InputError(f"the {backend.name} backend infers one frame per request (batch {batch} is for boards)")
    return HostStream(backend, wake, HOST_WINDOW if window is None else int(window))


class SizeTuner:
    """A size chosen by measurement on the running backend: a board's frames per request, a host's window.

    From ``start``, the size alternates between the current b and 2b (per request, or per chunk of frames:
    alternating, so a change in the machine's load hits both alike) until ``probe`` timings of each are in;
    2b is kept if its median time per frame is at least ``gain`` (10 %) lower, and then 2b is tried against
    4b, and so on up to ``most``; otherwise b is kept for the rest of the run. Only samples of the size tried
    count: a partial request (sent because the backend was idle) says nothing about it.
    """

    def __init__(self, start: int = 1, most: int = 8, probe: int = 3, gain: float = 0.10) -> None:
        self.base = max(1, int(start))
        self.most = max(self.base, int(most))
        self.probe = max(1, int(probe))
        self.gain = float(gain)
        self.settled = self.base * 2 > self.most
        self.measured: dict[int, float] = {}  # batch size -> median seconds per frame, as decided on
        self._samples: dict[int, list[float]] = {}
        self._turn = 0

    @property
    def batch(self) -> int:
        """The size the next request should have."""
        return self.base if self.settled or self._turn % 2 == 0 else self.base * 2

    def submitted(self, frames: int) -> None:
        """A request of ``frames`` went out: the next full one takes the other size."""
        if frames == self.batch:
            self._turn += 1

    def observe(self, frames: int, seconds_per_frame: float) -> None:
        """One answered request of ``frames`` frames that took the backend ``seconds_per_frame`` each."""
        if self.settled or frames not in (self.base, self.base * 2):
            return
        self._samples.setdefault(frames, []).append(seconds_per_frame)
        small, large = (self._samples.get(self.base, []), self._samples.get(self.base * 2, []))
        if len(small) < self.probe or len(large) < self.probe:
            return
        self.measured[self.base] = statistics.median(small)
        self.measured[self.base * 2] = statistics.median(large)
        self._samples, self._turn = {}, 0
        if self.measured[self.base * 2] <= self.measured[self.base] * (1 - self.gain):
            self.base *= 2
            self.settled = self.base * 2 > self.most
        else:
            self.settled = True
