"""The demo's board backend: one persistent process on the board, fed crops over a single SSH channel.

``open_board_backend(project, iteration, name)`` pushes the iteration's deployment package (the Deploy stage's
own package and push, so a board that already has it gets nothing new), starts Foldwise's runner in ``serve``
mode and keeps it. A request is a JSON header line ``{"n": N, "id": K}`` and the raw uint8 crops; the board
answers each, in order, with a ``scores`` event carrying the same id. The backend sends ahead: up to
``window`` requests are in flight on the channel (the next batch crosses the network while the board computes
the last), and a reader thread matches the answers to the requests in order (an answer with the wrong id ends
the run). The frames per request are measured, not guessed (:class:`~.stream.SizeTuner`: doubled while that
lowers the board's time per frame by 10 %), unless the run fixes them.

On an emulated board the accelerator is FINN's dataflow model and the figures are labelled ``emulated``; on a
real one ``measured``. A lost connection, a dead board process or an unanswered request ends the demo with
:class:`BackendLost` (the pipeline stops cleanly and keeps the recording).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

READY_TIMEOUT = 180.0  # the board process imports FINN before it answers
BATCH_TIMEOUT = 60.0  # the longest an answer may take once its request is the board's next
BOARD_WINDOW = 2  # requests in flight: one computing, one on its way
MAX_BATCH = 8
_POLL = 0.5  # s: the reader's socket timeout, to notice a close and unanswered requests


class BackendLost(FoldwiseError):
    """The backend stopped answering mid-run (connection lost, board process killed)."""


@dataclass
class Request:
    """One request on the channel: its id, frames, tags, when it was sent and (once answered) its figures."""

    id: int
    n: int
    tags: list[Any]
    sent: float
    arrived: float = 0.0
    board_s: float = 0.0
    service_s: float = 0.0  # the board's time for it: from when it could start (sent, or the last answer)
    untimed: bool = False  # a synchronous ``infer`` (warm-up, checks): not a sample for the tuner


class BoardBackend:
    """Crops in, classes out, through the runner's ``serve`` mode on an open board session.

    ``infer`` answers one batch synchronously (warm-up, agreement checks); ``stream`` makes the backend the
    pipeline's :class:`~.stream.Stream` (``submit``/``poll`` with ``window`` requests in flight).
    """

    def __init__(self, session: Any, deployment: str, shape: tuple[int, int, int], name: str, emulated: bool,
                 ready_timeout: float = READY_TIMEOUT, channel: Any = None) -> None:
        from foldwise.core.demo.stream import SizeTuner

        self.name = name
        self.label = "emulated" if emulated else "measured"
        self.shape = tuple(int(v) for v in shape)
        self.window = BOARD_WINDOW
        self.tuner: SizeTuner | None = SizeTuner(most=MAX_BATCH)
        self._fixed_batch = 1
        self.max_in_flight = 0
        self.last_stages: dict[str, float] = {}  # the last ``infer``'s per-frame transfer and inference
        self.history: deque[Request] = deque(maxlen=1000)  # answered requests, newest last
        self._session = session
        if channel is None:
            from foldwise.core.board.deploy import runner_command

            channel = session.open_exec(runner_command(deployment, "serve", [], False))
        self._chan = channel
        self._buffer = b""
        self._next_id = 0
        self._sent: deque[Request] = deque()  # in flight, oldest first
        self._answers: deque[tuple[Request, dict[str, Any]]] = deque()
        self._cond = threading.Condition()
        self._lost = ""
        self._closed = False
        self._wake: threading.Event | None = None
        self._chan.settimeout(ready_timeout)
        self._read_ready()
        self._chan.settimeout(_POLL)
        self._reader = threading.Thread(target=self._read, name=f"{name}-answers", daemon=True)
        self._reader.start()

    # --- the channel -------------------------------------------------------------------------------------------

    def _lines(self, data: bytes) -> list[bytes]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        return lines

    def _event(self, line: bytes) -> dict[str, Any] | None:
        try:
            event = json.loads(line)
        except ValueError:
            return None  # anything else the board prints
        if not isinstance(event, dict):
            return None
        if event.get("event") == "error":
            raise BackendLost(f"{self.name}: {event.get('message')}. {event.get('fix', '')}".strip())
        return event

    def _read_ready(self) -> None:
        while True:
            try:
                data = self._chan.recv(65536)
            except (OSError, EOFError) as exc:  # socket.timeout is an OSError
                raise BackendLost(f"{self.name}: no answer from the board ({type(exc).__name__}: {exc})") from None
            if not data:
                raise BackendLost(f"{self.name}: the board process ended (connection lost or killed on the board)")
            for line in self._lines(data):
                event = self._event(line)
                if event is not None and event.get("event") == "ready":
                    return

    def _read(self) -> None:
        """The reader thread: answers to their requests in order, until the channel ends or is closed."""
        try:
            while not self._closed:
                try:
                    data = self._chan.recv(65536)
                except TimeoutError:
                    self._check_overdue()
                    continue
                except (OSError, EOFError) as exc:
                    raise BackendLost(f"{self.name}: the connection to the board was lost ({exc})") from None
                if not data:
                    raise BackendLost(f"{self.name}: the board process ended (connection lost or killed on the "
                                      "board)")
                for line in self._lines(data):
                    event = self._event(line)
                    if event is not None and event.get("event") == "scores":
                        self._answered(event)
        except BackendLost as exc:
            self._lose(str(exc))
        except Exception as exc:  # a malformed answer: the run cannot trust the mapping any more
            self._lose(f"{self.name}: unreadable answer from the board ({type(exc).__name__}: {exc})")

    def _check_overdue(self) -> None:
        with self._cond:
            oldest = self._sent[0] if self._sent else None
            last = self.history[-1].arrived if self.history else 0.0
        if oldest is not None and time.perf_counter() - max(oldest.sent, last) > BATCH_TIMEOUT:
            raise BackendLost(f"{self.name}: no answer from the board for {BATCH_TIMEOUT:g} s")

    def _answered(self, event: dict[str, Any]) -> None:
        now = time.perf_counter()
        with self._cond:
            if not self._sent:
                raise BackendLost(f"{self.name}: the board answered a request that was never sent")
            request = self._sent.popleft()
            if event.get("id") != request.id or len(event.get("scores", ())) != request.n:
                raise BackendLost(f"{self.name}: the board answered request {event.get('id')} with "
                                  f"{len(event.get('scores', ()))} scores where request {request.id} of "
                                  f"{request.n} frames was next: answers out of order")
            previous = self.history[-1].arrived if self.history else 0.0
            request.arrived = now
            request.board_s = float(event.get("board_ms", 0.0)) / 1000.0
            request.service_s = now - max(request.sent, previous)
            self.history.append(request)
            self._answers.append((request, event))
            self._cond.notify_all()
        if self.tuner is not None and not request.untimed:
            self.tuner.observe(request.n, request.service_s / request.n)
        if self._wake is not None:
            self._wake.set()

    def _lose(self, reason: str) -> None:
        with self._cond:
            if not self._closed:
                self._lost = self._lost or reason
            self._cond.notify_all()
        if self._wake is not None:
            self._wake.set()

    # --- the stream the pipeline drives -------------------------------------------------------------------------

    def stream(self, wake: threading.Event, window: int | None = None, batch: int | None = None) -> BoardBackend:
        """This backend as the pipeline's stream: ``window`` requests in flight (default 2) of ``batch`` frames
        (default: measured by the tuner)."""
        self._wake = wake
        self.window = BOARD_WINDOW if window is None else max(1, int(window))
        if batch is not None:
            self.tuner, self._fixed_batch = None, max(1, int(batch))
        return self

    @property
    def batch(self) -> int:
        return self.tuner.batch if self.tuner is not None else self._fixed_batch

    @property
    def pending(self) -> int:
        return len(self._sent) + len(self._answers)

    def submit(self, crops: np.ndarray, tags: list[Any]) -> None:
        self._send(crops, tags, tuned=True)

    def report(self) -> dict[str, Any]:
        """How the run used the channel: the most requests in flight, and how the batch was chosen."""
        rule = "fixed" if self.tuner is None else "measured"
        measured = {} if self.tuner is None else {str(b): round(s * 1000, 3) for b, s in self.tuner.measured.items()}
        return {"max_requests_in_flight": self.max_in_flight, "batch_rule": rule, "ms_per_frame_by_batch": measured}

    def _send(self, crops: np.ndarray, tags: list[Any], tuned: bool) -> None:
        crops = np.ascontiguousarray(crops, dtype=np.uint8)
        with self._cond:
            if self._lost:
                raise BackendLost(self._lost)
            request = Request(self._next_id, len(crops), list(tags), 0.0, untimed=not tuned)
            self._next_id += 1
            self._sent.append(request)
            self.max_in_flight = max(self.max_in_flight, self.pending)
        if tuned and self.tuner is not None:
            self.tuner.submitted(request.n)
        header = json.dumps({"n": request.n, "id": request.id}).encode() + b"\n"
        request.sent = time.perf_counter()
        try:
            self._chan.sendall(header + crops.tobytes())
        except OSError as exc:
            self._lose(f"{self.name}: the connection to the board was lost ({exc})")
            raise BackendLost(self._lost) from None

    def poll(self) -> Any:
        """The oldest answer as a :class:`~.stream.Done` (raises :class:`BackendLost` once none will come)."""
        from foldwise.core.demo.backends import decide
        from foldwise.core.demo.stream import Done

        with self._cond:
            if not self._answers:
                if self._lost:
                    raise BackendLost(self._lost)
                return None
            request, event = self._answers.popleft()
        labels, confidences = decide(np.asarray(event["scores"], dtype=np.float64))
        transfer = max(request.service_s - request.board_s, 0.0)
        return Done(request.tags, labels, confidences,
                    {"transfer": transfer / request.n, "inference": request.board_s / request.n})

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One batch, answered before this returns (no other request may be in flight)."""
        if self.pending:
            raise RuntimeError("infer while streamed requests are in flight")
        self._send(batch, [None] * len(batch), tuned=False)
        with self._cond:
            self._cond.wait_for(lambda: self._answers or self._lost)
        done = self.poll()
        self.last_stages = done.stages
        return done.labels, done.confidences

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._chan.shutdown_write()  # the board process sees the end of its input and exits
            self._chan.status_event.wait(10.0)
            self._chan.close()
        except (OSError, AttributeError):
            pass  # the connection is already gone
        finally:
            self._reader.join(timeout=2 * _POLL + 1)
            if self._session is not None:
                self._session.close()


def open_board_backend(project: Project, iteration: Iteration, board_name: str, password: str | None = None,
                       ctx: JobContext | None = None) -> BoardBackend:
    """Push ``iteration``'s newest deployable build to ``board_name`` and start its serving process there."""
    from foldwise.core.board.deploy import DeploySpec, choose_build, package_for, push_package, validation_images
    from foldwise.core.board.profiles import get_board

    ctx = ctx or null_context()
    board = get_board(board_name)
    build = choose_build(iteration)
    images, labels = validation_images(project, DeploySpec(board.name).images)
    package = package_for(project, iteration, build, images, labels)
    session = board.session(password).connect()
    try:
        pushed, emulated = push_package(session, project, iteration, build, package, board.name, 3, ctx)
        return BoardBackend(session, pushed.deployment, tuple(images.shape[1:]), f"board:{board.name}", emulated)
    except BaseException:
        session.close()
        raise
