"""The board backend's send-ahead channel against a scripted board on a socket pair: two requests in flight,
a batch mapped back to its frames, answers out of order, and a board lost mid-batch (clean stop, recording kept)."""

from __future__ import annotations

import csv
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from foldwise.core.demo.board_backend import BackendLost, BoardBackend
from foldwise.core.demo.pipeline import DemoSpec, run_pipeline
from foldwise.core.demo.record import Recorder
from foldwise.core.demo.roi import Roi
from tests.core.demo._helpers import video_frames
from tests.core.demo.test_stream import Stripes

SHAPE = (3, 4, 4)


class Channel:
    """The host's end of a socket pair, shaped like the paramiko channel the board backend uses."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.status_event = threading.Event()
        self.status_event.set()

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def settimeout(self, seconds: float) -> None:
        self.sock.settimeout(seconds)

    def shutdown_write(self) -> None:
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()


class ScriptedBoard:
    """The board's end: answers each request with scores (class 1 for bright crops) after ``compute`` s;
    ``swap`` answers with the wrong id, ``die_after`` closes the connection once it has read that many
    requests (mid-batch, its answer never sent)."""

    def __init__(self, compute: float = 0.02, swap: bool = False, die_after: int | None = None) -> None:
        self.host, self.board = socket.socketpair()
        self.compute, self.swap, self.die_after = compute, swap, die_after
        self.requests: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.board.sendall(b"loading...\n" + json.dumps({"event": "ready"}).encode() + b"\n")
        self._thread.start()

    def _serve(self) -> None:
        stream = self.board.makefile("rb")
        size = int(np.prod(SHAPE))
        try:
            while line := stream.readline():
                request = json.loads(line)
                crops = np.frombuffer(stream.read(request["n"] * size), np.uint8).reshape(request["n"], -1)
                self.requests.append(request)
                if self.die_after is not None and len(self.requests) > self.die_after:
                    return
                time.sleep(self.compute)
                scores = [[0.0, 3.0] if c.mean() > 127 else [3.0, 0.0] for c in crops]
                ident = request["id"] + 1 if self.swap else request["id"]
                event = {"event": "scores", "id": ident, "scores": scores, "board_ms": self.compute * 1000}
                self.board.sendall(json.dumps(event).encode() + b"\n")
        except OSError:
            pass
        finally:
            self.board.close()

    def backend(self, window: int = 2, batch: int | None = None) -> BoardBackend:
        backend = BoardBackend(None, "", SHAPE, "board:scripted", emulated=True, channel=Channel(self.host))
        return backend.stream(threading.Event(), window, batch)


def _drain(backend: BoardBackend, expected: int) -> list[Any]:
    answers: list[Any] = []
    deadline = time.monotonic() + 10
    while len(answers) < expected and time.monotonic() < deadline:
        done = backend.poll()
        if done is None:
            time.sleep(0.005)
        else:
            answers.append(done)
    return answers


def test_the_board_backend_sends_ahead_and_maps_a_batch_to_its_frames() -> None:
    board = ScriptedBoard()
    backend = board.backend(window=2, batch=3)
    try:
        values = [0, 255, 255, 0, 255, 0]
        crops = np.stack([np.full(SHAPE, v, np.uint8) for v in values])
        backend.submit(crops[:3], ["f0", "f1", "f2"])
        backend.submit(crops[3:], ["f3", "f4", "f5"])
        assert backend.pending == 2
        answers = _drain(backend, 2)
        tags = [t for d in answers for t in d.tags]
        labels = [int(v) for d in answers for v in d.labels]
        assert tags == ["f0", "f1", "f2", "f3", "f4", "f5"] and labels == [int(v > 127) for v in values]
        assert [r["id"] for r in board.requests] == [0, 1] and [r["n"] for r in board.requests] == [3, 3]
        first, second = list(backend.history)[-2:]
        assert second.sent < first.arrived  # sent ahead: on its way while the first was computed
        assert backend.max_in_flight == 2 and set(answers[0].stages) == {"transfer", "inference"}
    finally:
        backend.close()


def test_an_answer_out_of_order_ends_the_run() -> None:
    board = ScriptedBoard(swap=True)
    backend = board.backend()
    try:
        backend.submit(np.zeros((1, *SHAPE), np.uint8), ["f0"])
        deadline = time.monotonic() + 10
        with pytest.raises(BackendLost, match="out of order"):
            while time.monotonic() < deadline:
                backend.poll()
                time.sleep(0.01)
    finally:
        backend.close()


def test_a_board_lost_mid_batch_stops_the_demo_cleanly_and_keeps_the_recording(tmp_path: Path) -> None:
    board = ScriptedBoard(die_after=3)
    recorder = Recorder(tmp_path / "rec", 25.0, (8, 8))
    backend = BoardBackend(None, "", SHAPE, "board:scripted", emulated=True, channel=Channel(board.host))
    result = run_pipeline(
        Stripes(), backend, Roi(0, 0, 1, 1), DemoSpec(seconds=20, window=2, batch=4), 2000.0, recorder=recorder
    )
    assert "board process ended" in result.reason
    processed = result.stats["frames_processed"]["value"]
    # Answered: the warm-up, a first request sent at once (the board was idle), a batch of 4; the board died
    # reading the next batch of 4, whose frames never come back.
    answered = board.requests[1:-1]
    assert board.requests[-1]["n"] == 4 and any(r["n"] == 4 for r in answered)
    assert processed == sum(r["n"] for r in answered)
    assert result.backend["batch"] == 4 and result.backend["batch_rule"] == "fixed"
    rows = list(csv.DictReader((tmp_path / "rec" / "frames.csv").open()))
    assert len(rows) == processed
    count = video_frames(result.recording["video"])
    assert count == processed
