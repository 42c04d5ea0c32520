"""The demo's board backend: one persistent process on the board, fed crops over a single SSH channel.

``open_board_backend(project, iteration, name)`` pushes the iteration's deployment package (the Deploy stage's
own package and push, so a board that already has it gets nothing new), starts Foldwise's runner in ``serve``
mode and keeps it: each :meth:`BoardBackend.infer` writes one batch (a JSON header line, then the raw uint8
crops) and reads one ``scores`` line. On an emulated board the accelerator is FINN's dataflow model and the
figures are labelled ``emulated``; on a real one ``measured``. A lost connection or a dead board process ends
the demo with :class:`BackendLost` (the pipeline stops cleanly and keeps the recording).
"""

from __future__ import annotations

import json
import time
from typing import Any

from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

READY_TIMEOUT = 180.0  # the board process imports FINN before it answers
BATCH_TIMEOUT = 60.0


class BackendLost(FoldwiseError):
    """The backend stopped answering mid-run (connection lost, board process killed)."""


class BoardBackend:
    """Crops in, classes out, through the runner's ``serve`` mode on an open board session."""

    def __init__(self, session: Any, deployment: str, shape: tuple[int, int, int], name: str, emulated: bool,
                 ready_timeout: float = READY_TIMEOUT) -> None:
        from foldwise.core.board.deploy import runner_command

        self.name = name
        self.label = "emulated" if emulated else "measured"
        self.shape = tuple(int(v) for v in shape)
        self._session = session
        self._chan = session.open_exec(runner_command(deployment, "serve", [], False))
        self._out = self._chan.makefile("rb")
        self.last_stages: dict[str, float] = {}
        self._chan.settimeout(ready_timeout)
        self._expect("ready")
        self._chan.settimeout(BATCH_TIMEOUT)

    def _expect(self, kind: str) -> dict[str, Any]:
        while True:
            try:
                line = self._out.readline()
            except (OSError, EOFError) as exc:  # socket.timeout is an OSError
                raise BackendLost(f"{self.name}: no answer from the board ({type(exc).__name__}: {exc})") from None
            if not line:
                raise BackendLost(f"{self.name}: the board process ended (connection lost or killed on the board)")
            try:
                event = json.loads(line)
            except ValueError:
                continue  # anything else the board prints
            if event.get("event") == "error":
                raise BackendLost(f"{self.name}: {event.get('message')}. {event.get('fix', '')}".strip())
            if event.get("event") == kind:
                return event

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = np.ascontiguousarray(batch, dtype=np.uint8)
        started = time.perf_counter()
        try:
            self._chan.sendall(json.dumps({"n": len(batch)}).encode() + b"\n" + batch.tobytes())
        except OSError as exc:
            raise BackendLost(f"{self.name}: the connection to the board was lost ({exc})") from None
        answer = self._expect("scores")
        round_trip = time.perf_counter() - started
        board_s = float(answer.get("board_ms", 0.0)) / 1000.0
        self.last_stages = {"transfer": max(round_trip - board_s, 0.0), "inference": board_s}
        from foldwise.core.demo.backends import decide

        return decide(np.asarray(answer["scores"], dtype=np.float64))

    def close(self) -> None:
        try:
            self._chan.shutdown_write()  # the board process sees the end of its input and exits
            self._chan.status_event.wait(10.0)
            self._chan.close()
        except OSError:
            pass  # the connection is already gone
        finally:
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
