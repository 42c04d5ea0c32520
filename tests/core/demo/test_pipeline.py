"""The demo pipeline without a trained network: hand-over, drops, limits, ends, recording, preprocessing."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from foldwise.core.demo.pipeline import DemoSpec, DemoUpdate, Mailbox, preprocess, run_pipeline, truth_in_roi
from foldwise.core.demo.record import COLUMNS, Recorder
from foldwise.core.demo.roi import Roi
from foldwise.core.demo.sources import ConveyorSource, Frame, open_source
from foldwise.core.jobs import JobContext
from tests.core.demo._helpers import FailingSource, FakeBackend, video_frames, write_video


def test_mailbox_keeps_only_the_latest_frame_and_counts_the_replaced_one() -> None:
    box = Mailbox()
    frames = [Frame(i, np.zeros((1, 1, 3), np.uint8), float(i)) for i in range(3)]
    assert box.put(frames[0]) is False
    assert box.put(frames[1]) is True  # frame 0 was never read: dropped
    assert box.get(0.01) is frames[1]
    assert box.get(0.01) is None
    box.close("end")
    assert box.closed and box.reason == "end" and box.get(1.0) is None


def test_frame_limit_stats_and_live_updates() -> None:
    updates: list[DemoUpdate] = []
    source = ConveyorSource(fps=60, size=(320, 240), parts=4)
    result = run_pipeline(source, FakeBackend(), Roi.default(320, 240), DemoSpec(frames=20, display_fps=1000),
                          60.0, JobContext(on_partial=updates.append))
    stats = result.stats
    assert result.reason == "20 frames processed"
    assert stats["frames_processed"]["value"] == 20
    assert stats["frames_captured"]["value"] >= 20
    for key in ("source_fps", "processed_fps", "frames_dropped"):
        assert stats[key]["source"] == "measured"
    assert set(stats["stage_ms"]) == {"capture", "preprocess", "inference", "annotate", "output"}
    assert all(f["source"] == "measured" for f in stats["latency_ms"].values())
    assert stats["latency_ms"]["p50"]["value"] <= stats["latency_ms"]["p99"]["value"]
    assert 40 < stats["source_fps"]["value"] < 70
    assert stats["accuracy"]["frames"] > 0  # the conveyor knows which part is in the inspection window
    assert updates and updates[-1].image.shape == (240, 320, 3) and "verdict" in updates[-1].stats


def test_a_slow_backend_drops_frames_and_the_verdict_names_inference() -> None:
    source = ConveyorSource(fps=100, size=(320, 240), parts=4)
    result = run_pipeline(source, FakeBackend(delay=0.04), Roi.default(320, 240), DemoSpec(seconds=1.0), 100.0)
    stats = result.stats
    assert stats["frames_dropped"]["value"] > 20
    assert stats["keeps_up"] is False
    assert "does not keep up" in stats["verdict"] and "inference takes" in stats["verdict"]
    assert stats["processed_fps"]["value"] < 40


def test_a_fast_backend_below_its_capacity_drops_nothing() -> None:
    source = ConveyorSource(fps=30, size=(320, 240), parts=4)
    result = run_pipeline(source, FakeBackend(), Roi.default(320, 240), DemoSpec(frames=30), 30.0)
    assert result.stats["frames_dropped"]["value"] == 0
    assert result.stats["keeps_up"] is True and result.stats["verdict"].startswith("keeps up")


def test_a_source_lost_mid_run_ends_cleanly_with_stats_reason_and_a_playable_recording(tmp_path: Path) -> None:
    """The camera gone mid-demo (the source raises SourceLost after 8 frames): the run ends with the reason, no
    exception; the figures count the frames it did process, the source is closed and the recording holds
    exactly those frames and plays to its end."""
    source = FailingSource(good=8)
    recorder = Recorder(tmp_path / "rec", 25.0, source.size)
    result = run_pipeline(source, FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(seconds=10), 200.0, recorder=recorder)
    assert result.reason == "flaky camera stopped delivering frames (unplugged?)"
    processed = result.stats["frames_processed"]["value"]
    assert 1 <= processed <= 8 and source.closed
    count = video_frames(result.recording["video"])
    assert count == processed == len((tmp_path / "rec" / "frames.csv").read_text().splitlines()) - 1


def test_a_video_file_that_ends_ends_the_run_and_keeps_a_playable_recording(tmp_path: Path) -> None:
    source = open_source(f"file:{write_video(tmp_path / 'in.avi', 15, fps=100)}")
    recorder = Recorder(tmp_path / "rec", source.fps, source.size)
    result = run_pipeline(source, FakeBackend(), Roi(0.25, 0.25, 0.5, 0.5), DemoSpec(seconds=30), 100.0,
                          recorder=recorder)
    assert result.reason == "end of video file in.avi after 15 frames"
    processed = result.stats["frames_processed"]["value"]
    rows = list(csv.DictReader((tmp_path / "rec" / "frames.csv").open()))
    assert len(rows) == processed and tuple(rows[0]) == COLUMNS
    assert {r["label"] for r in rows} <= {"OK", "DEFECT"} and float(rows[-1]["latency_ms"]) > 0
    count = video_frames(result.recording["video"])
    assert count == processed
    assert (tmp_path / "rec" / "stats.json").is_file()


def test_preprocessing_equals_the_image_folder_loader(tmp_path: Path) -> None:
    from foldwise.core.data.folders import load_image_folder

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "d" / label).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "d" / label / "0.png"), rng.integers(0, 255, (90, 70, 3), dtype=np.uint8))
    dataset, _ = load_image_folder(tmp_path / "d", size=(32, 32), channels=3)
    source = open_source(f"folder:{tmp_path / 'd'}")
    for want in dataset.images:
        frame = source.read()
        got = preprocess(frame.image, Roi(0, 0, 1, 1).pixels(*source.size), (3, 32, 32))
        assert got.shape == (1, 3, 32, 32) and np.array_equal(got[0], want)


def test_the_default_roi_on_a_centred_part_sees_the_training_crop() -> None:
    source = ConveyorSource(fps=1000, parts=6, seed=1)
    frame = next(f for f in iter(source.read, None) if abs((f.boxes[:, 0] + f.boxes[:, 2]) / 2 - 320).min() < 1)
    box = Roi.default(640, 480).pixels(640, 480)
    assert truth_in_roi(frame, box) in (0, 1)
    crop = preprocess(frame.image, box, (3, 64, 64))[0]
    assert crop.shape == (3, 64, 64) and crop[:, 8:-8, 8:-8].std() > 5  # a part, not empty belt


def test_limits_are_checked() -> None:
    with pytest.raises(Exception, match="at least 1"):
        run_pipeline(FailingSource(1), FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(frames=0), 120.0)


def test_a_stream_that_stalls_ends_the_run_after_its_timeout_with_a_message(tmp_path: Path) -> None:
    from tests.core.demo._helpers import StallingSource

    source = StallingSource(good=5)
    started = time.perf_counter()
    result = run_pipeline(source, FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(seconds=30, stall_timeout=1.0), 100.0,
                          recorder=Recorder(tmp_path / "rec", source.fps, source.size))
    assert "stalled: no frame for 1 s" in result.reason
    assert time.perf_counter() - started < 10 and result.stats["frames_processed"]["value"] == 5
    assert video_frames(result.recording["video"]) == 5  # the recording so far, playable
    assert len(Path(result.recording["csv"]).read_text().splitlines()) == 1 + 5
    assert source.released.is_set()  # closed: the blocked read is released


def test_annotation_draws_the_verdict_in_its_colour_with_the_running_count() -> None:
    from foldwise.core.demo.annotate import DEFECT_COLOUR, OK_COLOUR, annotate

    box = (100, 60, 120, 120)
    images = {key: np.zeros((240, 320, 3), np.uint8) for key in ("defect", "ok", "count")}
    annotate(images["defect"], box, True, 0.9, 3)
    annotate(images["ok"], box, False, 0.9, 3)
    annotate(images["count"], box, True, 0.9, 4)
    assert tuple(images["defect"][120, 100]) == DEFECT_COLOUR and tuple(images["ok"][120, 100]) == OK_COLOUR
    status = slice(200, 240), slice(0, 160)  # "defects: N" at the bottom left
    assert images["defect"][status].any() and not np.array_equal(images["defect"][status], images["count"][status])
    label = slice(0, 60), slice(100, 220)  # "DEFECT 90%" above the box, in a filled colour tag
    assert not np.array_equal(images["defect"][label], images["ok"][label])


def test_a_truncated_video_plays_what_is_intact_then_stops_with_a_message_and_a_playable_recording(
        tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.avi", 30, fps=100)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.55)])
    source = open_source(f"file:{cut}")
    recorder = Recorder(tmp_path / "rec", source.fps, source.size)
    result = run_pipeline(source, FakeBackend(), Roi(0.25, 0.25, 0.5, 0.5), DemoSpec(seconds=30), 100.0,
                          recorder=recorder)
    assert "of the 30 it states: the file is truncated or damaged" in result.reason
    processed = result.stats["frames_processed"]["value"]
    assert 1 <= processed < 30
    count = video_frames(result.recording["video"])
    assert count == processed == len((tmp_path / "rec" / "frames.csv").read_text().splitlines()) - 1


@pytest.mark.parametrize(("roi", "note"), [
    (Roi(0.0, 0.4, 0.9, 0.2), "is stretched to the network's 16×16 input"),  # 288×48 px: aspect 6
    (Roi(0.5, 0.5, 0.03, 0.04), "is enlarged to the network's 16×16 input"),  # 10×10 px
    (Roi(0.25, 0.2, 0.5, 0.6), None),  # 160×144 px: close enough to square, larger than the input
])
def test_a_roi_that_does_not_fit_the_network_input_runs_resized_with_a_note(roi: Roi, note: str | None) -> None:
    seen: list[tuple[int, ...]] = []

    class Recording(FakeBackend):
        def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            seen.append(batch.shape)
            return super().infer(batch)

    source = ConveyorSource(fps=200, size=(320, 240), parts=4)
    result = run_pipeline(source, Recording(), roi, DemoSpec(frames=5), 200.0)
    assert result.reason == "5 frames processed" and set(seen) == {(1, 3, 16, 16)}
    notes = result.extra["notes"]
    assert (notes == []) if note is None else (len(notes) == 1 and note in notes[0])
