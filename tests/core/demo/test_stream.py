"""Frames in flight: the batch tuner's measured rule, the threaded host stream, and the pipeline keeping its
window of requests in flight with each answer annotated on its own frame."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from foldwise.core.demo.pipeline import DemoSpec, run_pipeline
from foldwise.core.demo.record import Recorder
from foldwise.core.demo.roi import Roi
from foldwise.core.demo.sources import Frame, Source
from foldwise.core.demo.stream import HostStream, SizeTuner, open_stream
from tests.core.demo._helpers import FakeBackend

SHAPE = (3, 4, 4)


def test_the_tuner_doubles_while_it_pays_alternating_the_two_sizes() -> None:
    tuner = SizeTuner(most=8, probe=3)
    cost = {1: 10.0, 2: 6.0, 4: 5.8, 8: 5.0}  # per frame: 2 pays (-40 %), 4 not against 2 (-3 %)
    sizes = []
    while not tuner.settled:
        size = tuner.batch
        sizes.append(size)
        tuner.submitted(size)
        tuner.observe(size, cost[size])
    assert sizes[:6] == [1, 2, 1, 2, 1, 2]  # alternating while 1 and 2 are measured
    assert tuner.batch == 2 and tuner.measured == {1: 10.0, 2: 6.0, 4: 5.8}


def test_the_tuner_stays_at_one_when_batching_does_not_pay_and_ignores_partial_requests() -> None:
    tuner = SizeTuner(most=8, probe=2)
    tuner.observe(3, 1.0)  # a partial request of another size: no sample
    for size in (1, 2, 1, 2):
        tuner.submitted(size)
        tuner.observe(size, 1.0 if size == 1 else 0.97)
    assert tuner.settled and tuner.batch == 1 and tuner.measured == {1: 1.0, 2: 0.97}


def answers_of(stream: HostStream, wake: threading.Event, count: int) -> list:
    """The stream's next ``count`` answers, waiting on ``wake`` as the pipeline does."""
    answers = []
    while len(answers) < count:
        wake.wait(1.0)
        wake.clear()
        while (done := stream.poll()) is not None:
            answers.append(done)
    return answers


def test_the_threaded_stream_keeps_two_requests_in_flight_and_answers_in_order() -> None:
    wake = threading.Event()
    stream = HostStream(FakeBackend(delay=0.05), wake, window=2)
    try:
        crops = [np.full((1, *SHAPE), v, np.uint8) for v in (0, 255)]
        stream.submit(crops[0], ["dark"])
        stream.submit(crops[1], ["bright"])
        assert stream.pending == 2
        with pytest.raises(RuntimeError):
            stream.submit(crops[0], ["third"])  # never more than the window
        answers = answers_of(stream, wake, 2)
        assert [(d.tags[0], int(d.labels[0])) for d in answers] == [("dark", 0), ("bright", 1)]
        assert all(d.stages["inference"] >= 0.04 for d in answers) and stream.pending == 0
    finally:
        stream.close()


class SplitBackend(FakeBackend):
    """A host backend in two halves, noting the thread each ran on (``delay`` s in each half)."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.threads: dict[str, set[int]] = {"prepare": set(), "run": set()}

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        self.threads["prepare"].add(threading.get_ident())
        time.sleep(self.delay)
        return batch.astype(np.float32)

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.threads["run"].add(threading.get_ident())
        assert tensor.dtype == np.float32  # prepared before it got here
        return FakeBackend.infer(self, tensor)


def test_the_stream_prepares_in_the_callers_thread_and_runs_on_the_worker() -> None:
    wake, backend = threading.Event(), SplitBackend(delay=0.02)
    stream = HostStream(backend, wake, window=2)
    try:
        for value, tag in ((0, "dark"), (255, "bright")):
            stream.submit(np.full((1, *SHAPE), value, np.uint8), [tag])
        answers = answers_of(stream, wake, 2)
    finally:
        stream.close()
    assert backend.threads["prepare"] == {threading.get_ident()}
    assert backend.threads["run"] and threading.get_ident() not in backend.threads["run"]
    assert [(d.tags[0], int(d.labels[0])) for d in answers] == [("dark", 0), ("bright", 1)]
    assert all(d.stages["inference"] >= 0.04 for d in answers)  # both halves are the backend's time


def test_the_host_backends_infer_is_prepare_then_run(defect_project: Path) -> None:
    from foldwise.core.demo.backends import open_backend
    from foldwise.core.project import Project

    crops = np.random.default_rng(0).integers(0, 256, (4, 3, 64, 64), dtype=np.uint8)
    with Project.open(defect_project, read_only=True) as project:
        for name in ("host-float", "host-quantized"):
            backend = open_backend(project, name)
            labels, confidences = backend.infer(crops)
            split_labels, split_confidences = backend.run(backend.prepare(crops))
            backend.close()
            assert np.array_equal(labels, split_labels) and np.allclose(confidences, split_confidences), name


def test_a_host_backend_refuses_a_batch() -> None:
    with pytest.raises(Exception, match="one frame per request"):
        open_stream(FakeBackend(), threading.Event(), batch=4)


class Stripes(Source):
    """Frames alternating dark and bright (the fake backend says DEFECT for bright), made on demand."""

    on_demand = True

    def __init__(self, fps: float = 2000.0, delay: float = 0.0) -> None:
        super().__init__("stripes", fps, (8, 8))
        self.delay = delay  # seconds to make a frame (in the pipeline's thread: pulled)

    def skip(self, count: int) -> int:
        self._count += count
        return count

    def read(self) -> Frame | None:
        if self.delay:
            time.sleep(self.delay)
        value = 255 if self._count % 2 else 0
        return self._frame(np.full((8, 8, 3), value, np.uint8), time.perf_counter())


@pytest.mark.parametrize("window", [1, 2, 3])
def test_the_pipeline_keeps_the_window_in_flight_and_maps_answers_to_their_frames(window: int, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec", 25.0, (8, 8))
    result = run_pipeline(
        Stripes(),
        FakeBackend(delay=0.01),
        Roi(0, 0, 1, 1),
        DemoSpec(frames=30, window=window),
        2000.0,
        recorder=recorder,
    )
    assert result.backend["window"] == window and result.backend["max_requests_in_flight"] == window
    rows = list(csv.DictReader((tmp_path / "rec" / "frames.csv").open()))
    assert len(rows) == 30
    assert all(r["label"] == ("DEFECT" if int(r["frame"]) % 2 else "OK") for r in rows)
    assert [int(r["frame"]) for r in rows] == sorted(int(r["frame"]) for r in rows)  # in capture order


def test_the_pipeline_measures_whether_two_in_flight_beat_one_on_this_machine() -> None:
    # Making a frame and inferring it each take 2 ms and release the GIL: with two in flight they overlap.
    overlap = run_pipeline(Stripes(fps=1e6, delay=0.002), FakeBackend(delay=0.002), Roi(0, 0, 1, 1),
                           DemoSpec(frames=900), 1000.0)
    assert overlap.backend["window_rule"] == "measured" and overlap.backend["window"] == 2
    by_window = overlap.backend["ms_per_frame_by_window"]
    assert by_window["2"] < 0.95 * by_window["1"]
    # A source slower than the backend: the pipeline waits for frames, measures nothing, keeps one in flight.
    paced = run_pipeline(Stripes(fps=100), FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(frames=150), 100.0)
    assert paced.backend["window"] == 1 and paced.backend["ms_per_frame_by_window"] == {}


def test_the_threshold_decides_defect_and_is_checked() -> None:
    # The fake backend gives bright frames the defect class at 0.9: DEFECT at 0.5, OK at 0.95.
    def defects(threshold: float) -> int:
        spec = DemoSpec(frames=20, threshold=threshold, save=False)
        return run_pipeline(Stripes(), FakeBackend(), Roi(0, 0, 1, 1), spec, 2000.0).stats["defects"]["value"]

    assert defects(0.5) > 0 and defects(0.95) == 0
    with pytest.raises(Exception, match="threshold must lie between 0 and 1"):
        run_pipeline(Stripes(), FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(frames=5, threshold=1.5), 2000.0)


class SaysOk(FakeBackend):
    """A reference that calls every crop class 0 (it agrees with the fake device on dark frames only)."""

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time.sleep(0.002)
        return np.zeros(len(batch), np.int64), np.full(len(batch), 0.9, np.float32)


def test_the_float_reference_is_sampled_for_agreement_beside_the_run() -> None:
    same = run_pipeline(Stripes(fps=200), FakeBackend(), Roi(0, 0, 1, 1),
                        DemoSpec(frames=60, agreement_every=0.02), 200.0, reference=FakeBackend()).stats
    assert same["agreement"]["value"] == 1.0 and 5 <= same["agreement"]["frames"] <= 30  # 1 in 4 frames at most
    assert same["agreement"]["source"] == "measured"
    half = run_pipeline(Stripes(fps=200), FakeBackend(), Roi(0, 0, 1, 1),
                        DemoSpec(frames=100, agreement_every=0.01), 200.0, reference=SaysOk()).stats
    assert 0.2 < half["agreement"]["value"] < 0.8  # dark and bright frames both sampled
    none = run_pipeline(Stripes(fps=200), FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(frames=10), 200.0).stats
    assert none["agreement"]["value"] is None and none["agreement"]["frames"] == 0
