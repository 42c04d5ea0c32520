import threading

import numpy as np
import pytest

from foldwise.core.data import defects
from foldwise.core.data.dataset import Splits
from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext

SIZES = (40, 12, 12)


def test_same_seed_same_arrays_other_seed_differs():
    a = defects.generate_defect_set(30, seed=7)
    b = defects.generate_defect_set(30, seed=7)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.meta["kind"], b.meta["kind"])
    assert not np.array_equal(a.images, defects.generate_defect_set(30, seed=8).images)


def test_shapes_dtypes_balance_and_kinds():
    ds = defects.generate_defect_set(120, seed=1, size=48)
    assert ds.images.shape == (120, 3, 48, 48) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64 and ds.class_names == ["ok", "defect"]
    assert ds.class_counts() == {"ok": 60, "defect": 60}
    kinds, parts = ds.meta["kind"], ds.meta["part"]
    assert set(kinds[ds.labels == 0]) == {"none"}
    assert set(kinds[ds.labels == 1]) == {"crack", "chipped_edge", "scratch", "rust", "missing_thread"}
    assert set(parts[kinds == "missing_thread"]) == {"bolt"}
    assert {p: int((parts == p).sum()) for p in ("nut", "bolt", "washer")} == {"nut": 40, "bolt": 40, "washer": 40}
    # Pixels use the range and vary from crop to crop (not one constant image).
    assert ds.images.max() > 200 and ds.images.min() < 40
    assert ds.images.reshape(120, -1).std(axis=0).mean() > 10


@pytest.mark.parametrize(
    ("part", "kind"),
    [("nut", "crack"), ("washer", "chipped_edge"), ("nut", "scratch"), ("washer", "rust"), ("bolt", "missing_thread")],
)
def test_each_defect_is_a_visible_local_change(part, kind):
    # One stream, one part and pose: the defect is the only difference, so it must show, and only locally.
    ok = defects.render_crops(np.random.default_rng(5), np.array([part]), np.array(["none"])).astype(int)
    bad = defects.render_crops(np.random.default_rng(5), np.array([part]), np.array([kind])).astype(int)
    changed = np.abs(bad - ok).max(axis=1) > 40
    assert 15 <= changed.sum() <= 0.3 * changed.size, changed.sum()


def test_splits_are_stratified_and_independent():
    splits = defects.generate_defect_splits(seed=0, sizes=SIZES, size=32)
    assert [len(ds) for _, ds in splits] == list(SIZES)
    for _, ds in splits:
        counts = ds.class_counts()
        assert abs(counts["ok"] - counts["defect"]) <= 1
    assert not np.array_equal(splits.val.images, splits.test.images)


def test_cache_is_reused_and_replaced_when_sizes_change(tmp_path, monkeypatch):
    first = defects.load_or_generate(tmp_path, seed=2, sizes=SIZES, size=32)
    folder = tmp_path / "defects-2-32"
    assert sorted(p.name for p in folder.iterdir()) == ["defects.json", "test.npz", "train.npz", "val.npz"]

    def boom(*args, **kwargs):
        raise AssertionError("regenerated although cached")

    with monkeypatch.context() as m:
        m.setattr(defects, "generate_defect_splits", boom)
        again = defects.load_or_generate(tmp_path, seed=2, sizes=SIZES, size=32)
    np.testing.assert_array_equal(again.train.images, first.train.images)
    other = defects.load_or_generate(tmp_path, seed=2, sizes=(10, 4, 4), size=32)
    assert len(other.train) == 10 and len(Splits.load(folder).train) == 10


def test_corrupt_cache_is_regenerated(tmp_path):
    defects.load_or_generate(tmp_path, seed=0, sizes=SIZES, size=32)
    (tmp_path / "defects-0-32" / "train.npz").write_bytes(b"garbage")
    lines = []
    splits = defects.load_or_generate(tmp_path, seed=0, sizes=SIZES, size=32, ctx=JobContext(on_log=lines.append))
    assert len(splits.train) == SIZES[0] and any("unreadable" in line for line in lines)


def test_progress_reported_and_cancel_raises():
    seen = []
    ctx = JobContext(on_progress=lambda f, m: seen.append(f))
    defects.generate_defect_splits(seed=0, sizes=(250, 10, 10), size=32, ctx=ctx)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) >= 4

    cancel = threading.Event()
    ctx = JobContext(on_progress=lambda f, m: cancel.set() if f > 0 else None, cancel_event=cancel)
    with pytest.raises(Cancelled):
        defects.generate_defect_set(400, seed=0, size=32, ctx=ctx)


def test_bad_arguments():
    with pytest.raises(InputError, match="at least 2"):
        defects.generate_defect_set(1)
    with pytest.raises(InputError, match="three sizes"):
        defects.generate_defect_splits(sizes=(10, 10))
