"""The demo's board backend against the emulated PYNQ-shaped sshd: one persistent board process, labelled
emulated, the same classes as the host's quantized network (one batch, and batches streamed two in flight),
and a clean stop when the board process dies mid-batch, the recording so far kept."""

from __future__ import annotations

import csv
import subprocess
import threading
import time
from pathlib import Path

import numpy as np

from foldwise.core.board.profiles import save_board
from foldwise.core.demo.backends import open_backend
from foldwise.core.demo.pipeline import DemoSpec, run_demo
from foldwise.core.jobs import JobContext
from foldwise.core.project import Project
from tests.core.demo._helpers import video_frames
from tests.pynq_board import profile_for


def _serving_pids() -> set[int]:
    found = subprocess.run(["pgrep", "-f", "foldwise.core.board.emulator .* serve"], capture_output=True, text=True)
    return {int(p) for p in found.stdout.split()}


def test_board_backend_classifies_like_the_host_and_is_labelled_emulated(estimated_defect: Path,
                                                                           pynq_board) -> None:
    from foldwise.core.iterations import load_splits

    save_board(profile_for(pynq_board(emulated=True), "emu"))
    with Project.open(estimated_defect, read_only=True) as project:
        crops = load_splits(project).test.images[:6]
        host = open_backend(project, "host-quantized")
        board = open_backend(project, "board:emu", password="xilinx")
        try:
            assert board.label == "emulated" and board.name == "board:emu"
            labels, confidences = board.infer(crops)
            assert np.array_equal(labels, host.infer(crops)[0])
            assert np.all((confidences > 0) & (confidences <= 1))
            assert set(board.last_stages) == {"transfer", "inference"} and board.last_stages["inference"] > 0
            # Streamed: two batches of 3 in flight on the one channel, answers mapped back to their frames.
            board.stream(threading.Event(), window=2, batch=3)
            board.submit(crops[:3], [0, 1, 2])
            board.submit(crops[3:6], [3, 4, 5])
            assert board.pending == 2
            answers = []
            deadline = time.monotonic() + 120
            while len(answers) < 2 and time.monotonic() < deadline:
                done = board.poll()
                if done is None:
                    time.sleep(0.05)
                else:
                    answers.append(done)
            assert [t for d in answers for t in d.tags] == [0, 1, 2, 3, 4, 5]
            assert np.array_equal(np.concatenate([d.labels for d in answers]), labels)
            first, second = list(board.history)[-2:]
            assert second.sent < first.arrived and board.max_in_flight == 2  # sent ahead of the first answer
        finally:
            board.close()
            host.close()
    deadline = time.monotonic() + 15
    while _serving_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _serving_pids()  # closing the channel ends the board process


def test_demo_on_the_board_stops_cleanly_when_the_board_process_dies(estimated_defect: Path, pynq_board,
                                                                      tmp_path: Path) -> None:
    save_board(profile_for(pynq_board(emulated=True), "emu"))
    before = _serving_pids()
    running = threading.Event()

    def kill_once_running() -> None:
        running.wait(180)
        for pid in _serving_pids() - before:
            subprocess.run(["kill", "-9", str(pid)], check=False)

    def on_progress(_fraction: float, message: str) -> None:
        if " frames, " in message and not message.startswith("0 frames"):
            running.set()

    killer = threading.Thread(target=kill_once_running)
    killer.start()
    with Project.open(estimated_defect, read_only=True) as project:
        result = run_demo(project, DemoSpec(source="synthetic", backend="board:emu", seconds=60.0, password="xilinx",
                                            record=str(tmp_path / "rec"), window=2, batch=4),
                          JobContext(on_progress=on_progress))
    killer.join()
    assert "board process ended" in result.reason
    assert result.backend["label"] == "emulated"
    assert result.stats["frames_processed"]["value"] >= 1
    assert result.stats["stage_ms"]["transfer"]["source"] == "emulated"
    assert result.recording and all(Path(p).is_file() for p in result.recording.values())
    assert result.backend["batch"] == 4 and result.backend["max_requests_in_flight"] == 2  # killed mid-batch
    rows = list(csv.DictReader(Path(result.recording["csv"]).read_text(encoding="utf-8").splitlines()))
    count = video_frames(result.recording["video"])
    assert len(rows) == count == result.stats["frames_processed"]["value"]  # the recording so far plays
