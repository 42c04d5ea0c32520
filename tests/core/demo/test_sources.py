"""Demo sources: stated rates, time stamps, ends and clear refusals (local files and folders only)."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from foldwise.core.demo.sources import ConveyorSource, FolderSource, VideoSource, open_source
from foldwise.core.errors import InputError
from tests.core.demo._helpers import write_video


def test_conveyor_states_its_rate_paces_and_knows_its_parts() -> None:
    source = open_source("synthetic", fps=100.0, size=(320, 240))
    assert isinstance(source, ConveyorSource) and source.fps == 100.0 and source.size == (320, 240)
    frames = [source.read() for _ in range(11)]
    stamps = [f.timestamp for f in frames]
    assert all(b > a for a, b in itertools.pairwise(stamps))
    assert stamps[-1] - stamps[0] >= 0.095  # 10 intervals at 100 FPS, never faster
    assert [f.index for f in frames] == list(range(11))
    first = frames[0]
    assert first.image.shape == (240, 320, 3) and first.image.dtype == np.uint8
    assert len(first.boxes) == len(first.labels) >= 1 and set(first.labels) <= {0, 1}
    # Parts slide: the same part is further left one frame later (speed / fps px).
    assert frames[1].boxes[0, 0] == first.boxes[0, 0] - round(source.speed / source.fps)


def test_conveyor_is_deterministic_and_has_defects() -> None:
    a, b = ConveyorSource(parts=10, seed=3), ConveyorSource(parts=10, seed=3)
    assert np.array_equal(a.read().image, b.read().image)
    assert 0 < a._labels.sum() < len(a._labels)


def test_video_file_plays_at_its_own_rate_then_ends(tmp_path: Path) -> None:
    source = open_source(f"file:{write_video(tmp_path / 'v.avi', 12, fps=50)}", fps=120)
    assert source.fps == pytest.approx(50) and source.size == (160, 120)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert len(frames) == 12 and source.end_reason == "end of video file v.avi after 12 frames"
    assert frames[-1].timestamp - frames[0].timestamp >= 11 / 50 * 0.95
    source.close()


def test_the_issues_spellings_a_bare_video_path_and_conveyor(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", 3, fps=25)
    source = open_source(str(video), fps=120)  # FILE without file:
    assert isinstance(source, VideoSource) and source.name == "video file clip.avi" and source.fps == pytest.approx(25)
    source.close()
    assert isinstance(open_source("conveyor", fps=60), ConveyorSource)
    with pytest.raises(InputError, match=r"video file .*missing\.mp4 does not exist"):
        open_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(InputError, match="unknown source"):
        open_source(str(tmp_path))  # a folder is folder:DIR


def test_stream_form_is_live_video_capture(tmp_path: Path) -> None:
    # A stream URL opens through the same VideoCapture path, unpaced; a local file stands in for the network.
    video = write_video(tmp_path / "s.avi", 5)
    source = VideoSource(str(video), "stream test", paced=False, fallback_fps=30)
    assert source.read() is not None


def test_an_http_stream_on_localhost_plays_and_its_end_is_a_lost_source(tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    from foldwise.core.demo.pipeline import DemoSpec, run_pipeline
    from foldwise.core.demo.roi import Roi
    from tests.core.demo._helpers import FakeBackend

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    write_video(tmp_path / "line.avi", 20, fps=50)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/line.avi"
        source = open_source(url)
        assert isinstance(source, VideoSource) and source.name == f"stream {url}" and source.size == (160, 120)
        result = run_pipeline(source, FakeBackend(), Roi(0, 0, 1, 1), DemoSpec(seconds=20, save=False), 50.0)
    finally:
        server.shutdown()
        server.server_close()
    assert result.stats["frames_captured"]["value"] == 20
    assert "stopped delivering frames" in result.reason  # a live stream that ends is a lost stream


def test_folder_plays_images_and_skips_unreadable(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((40, 50, 3), 60 * i, np.uint8))
    (tmp_path / "3.png").write_bytes(b"not an image")
    source = open_source(f"folder:{tmp_path}", fps=500)
    assert isinstance(source, FolderSource) and source.fps == 500 and source.size == (50, 40)
    assert [source.read() is not None for _ in range(4)] == [True, True, True, False]
    assert "3 images (1 unreadable skipped)" in source.end_reason


@pytest.mark.parametrize(("text", "message"), [
    ("bogus", "unknown source 'bogus'"),
    ("camera:97", r"camera 97 not found \(/dev/video97 does not exist\)"),
    ("camera:/dev/nocam", "camera /dev/nocam not found"),
    ("file:/no/such.mp4", "does not exist"),
    ("folder:/no/such", "does not exist or is not a folder"),
])
def test_bad_sources_are_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_source(text)


def test_unreadable_and_empty_videos_are_refused(tmp_path: Path) -> None:
    (tmp_path / "r.mp4").write_bytes(bytes(range(256)) * 16)
    (tmp_path / "z.mp4").write_bytes(b"")
    with pytest.raises(InputError, match=r"OpenCV cannot open it|no frame could be read"):
        open_source(f"file:{tmp_path / 'r.mp4'}")
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        open_source(f"file:{tmp_path / 'z.mp4'}")
