from pathlib import Path

import cv2
import numpy as np
import pytest

from foldwise.core.data.folders import load_image_folder
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext


def _write(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    root = tmp_path / "parts"
    rng = np.random.default_rng(0)
    _write(root / "bad" / "big_rgb.png", rng.integers(0, 255, (120, 90, 3), dtype=np.uint8))
    _write(root / "bad" / "gray.jpg", np.full((30, 40), 200, np.uint8))
    _write(root / "bad" / "deep" / "nested.bmp", np.zeros((10, 10, 3), np.uint8))
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 2] = 255  # red in BGRA order
    _write(root / "good" / "rgba.png", rgba)
    _write(root / "good" / "sixteen.png", np.full((20, 20), 65535, np.uint16))
    (root / "good" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    (root / "good" / "empty.jpg").write_bytes(b"")
    (root / "good" / "notes.txt").write_text("hello")
    (root / "unused").mkdir()
    (root / "README.md").write_text("stray file")
    return root


def test_mixed_folder_loads_and_reports_skips(mixed: Path):
    messages: list[str] = []
    ds, report = load_image_folder(mixed, size=(32, 48), ctx=JobContext(on_progress=lambda _f, m: messages.append(m)))
    assert ds.images.shape == (5, 3, 32, 48) and ds.images.dtype == np.uint8
    assert ds.class_names == ["bad", "good"] and report.counts == {"bad": 3, "good": 2}
    reasons = {path.name: reason for path, reason in report.skipped}
    assert reasons == {
        "corrupt.png": "unreadable or corrupt image",
        "empty.jpg": "empty file",
        "notes.txt": "not an image (.txt)",
        "README.md": "not inside a class sub-folder",
    }
    assert report.empty_classes == ["unused"]
    assert "skipped good/notes.txt" in report.summary()
    # The one line a CLI user sees names the skipped files, not just the count read.
    assert messages[-1].startswith("read 5 images; skipped 4 files: ") and "and 1 more (see the log)" in messages[-1]
    files = list(ds.meta["file"])
    red = ds.images[files.index("good/rgba.png")]
    assert red[0].min() == 255 and red[1:].max() == 0  # BGRA read as RGB, alpha dropped
    assert ds.images[files.index("good/sixteen.png")].min() == 255  # 16-bit white stays white
    assert (ds.images[files.index("bad/gray.jpg")] > 190).all()


def test_channel_modes(mixed: Path):
    gray, _ = load_image_folder(mixed, size=(16, 16), channels=1)
    assert gray.input_shape == (1, 16, 16)
    auto, _ = load_image_folder(mixed, size=(16, 16), channels=None)
    assert auto.input_shape == (3, 16, 16)  # some images are colour
    for path in mixed.rglob("*.png"):
        path.unlink()
    for path in mixed.rglob("*.bmp"):
        path.unlink()
    _write(mixed / "good" / "g.png", np.zeros((8, 8), np.uint8))
    only_gray, _ = load_image_folder(mixed, size=(16, 16), channels=None)
    assert only_gray.input_shape == (1, 16, 16)


def test_missing_and_empty_folders(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(InputError, match="no class sub-folders"):
        load_image_folder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(InputError, match=f"{tmp_path}.*no class folder has readable images"):
        load_image_folder(tmp_path)


def test_one_class_with_images_is_refused(tmp_path: Path):
    _write(tmp_path / "ok" / "1.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "defect").mkdir()
    (tmp_path / "defect" / "broken.png").write_bytes(b"nope")
    with pytest.raises(InputError, match="only class 'ok' has readable images"):
        load_image_folder(tmp_path)


def test_bad_parameters(tmp_path: Path):
    with pytest.raises(InputError, match="channels"):
        load_image_folder(tmp_path, channels=2)
    with pytest.raises(InputError, match="size"):
        load_image_folder(tmp_path, size=(0, 4))


def test_survey_counts_images_per_class_without_reading_them(tmp_path: Path) -> None:
    from foldwise.core.data.folders import survey_image_folder

    for label, n in (("ok", 3), ("scratch", 2)):
        (tmp_path / label).mkdir()
        for i in range(n):
            (tmp_path / label / f"{i}.PNG").write_bytes(b"")  # counted by extension only
    (tmp_path / "ok" / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert survey_image_folder(tmp_path) == {"ok": 3, "scratch": 2}


@pytest.mark.parametrize("layout, message", [
    ({}, "no class sub-folder holds"),
    ({"only": 2}, "only 'only' holds"),
])
def test_survey_rejects_folders_that_are_not_datasets(tmp_path: Path, layout: dict, message: str) -> None:
    from foldwise.core.data.folders import survey_image_folder

    for label, n in layout.items():
        (tmp_path / label).mkdir()
        for i in range(n):
            (tmp_path / label / f"{i}.jpg").write_bytes(b"")
    with pytest.raises(InputError, match=message):
        survey_image_folder(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        survey_image_folder(tmp_path / "missing")
