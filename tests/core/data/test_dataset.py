import numpy as np
import pytest

from foldwise.core.data.dataset import ImageDataset, Splits
from foldwise.core.errors import InputError


def _toy(n: int = 6, name: str = "toy") -> ImageDataset:
    images = np.arange(n * 3 * 4 * 4, dtype=np.int64).reshape(n, 3, 4, 4).astype(np.uint8)
    labels = np.arange(n) % 2
    kinds = np.array([f"k{i}" for i in range(n)])
    return ImageDataset(images, labels, ["ok", "defect"], {"kind": kinds}, name)


def test_dataset_is_read_only_and_counts_classes():
    ds = _toy()
    assert len(ds) == 6 and ds.input_shape == (3, 4, 4)
    assert ds.labels.dtype == np.int64
    assert ds.class_counts() == {"ok": 3, "defect": 3}
    with pytest.raises(ValueError):
        ds.images[0, 0, 0, 0] = 1
    with pytest.raises(ValueError):
        ds.meta["kind"][0] = "x"


def test_subset_keeps_meta_in_order():
    ds = _toy()
    sub = ds.subset([4, 1])
    assert list(sub.labels) == [0, 1]
    assert list(sub.meta["kind"]) == ["k4", "k1"]
    np.testing.assert_array_equal(sub.images[0], ds.images[4])
    with pytest.raises(InputError, match="out of range"):
        ds.subset([6])


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((2, 3, 4, 4), np.float32), [0, 1], "uint8"),
        (np.zeros((2, 2, 4, 4), np.uint8), [0, 1], "C 1 or 3"),
        (np.zeros((2, 3, 4, 4), np.uint8), [0], "one integer label"),
        (np.zeros((2, 3, 4, 4), np.uint8), [0, 2], "labels outside"),
    ],
)
def test_bad_arrays_are_input_errors(images, labels, match):
    with pytest.raises(InputError, match=match):
        ImageDataset(images, np.array(labels), ["a", "b"], name="bad")


def test_save_load_round_trip(tmp_path):
    ds = _toy()
    path = ds.save(tmp_path / "sub" / "toy.npz")
    assert [p.name for p in path.parent.iterdir()] == ["toy.npz"]  # no temp file left behind
    back = ImageDataset.load(path)
    np.testing.assert_array_equal(back.images, ds.images)
    np.testing.assert_array_equal(back.labels, ds.labels)
    np.testing.assert_array_equal(back.meta["kind"], ds.meta["kind"])
    assert back.class_names == ds.class_names and back.name == "toy"


def test_load_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ImageDataset.load(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"junk\.npz"):
        ImageDataset.load(junk)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(InputError, match="not a Foldwise dataset"):
        ImageDataset.load(tmp_path / "other.npz")


def test_to_tensors_scales_to_unit_range():
    ds = ImageDataset(np.full((2, 1, 2, 2), 255, np.uint8), np.array([0, 1]), ["a", "b"])
    x, y = ds.to_tensors()
    assert str(x.dtype) == "torch.float32" and str(y.dtype) == "torch.int64"
    assert float(x.max()) == 1.0 and tuple(x.shape) == (2, 1, 2, 2)


def test_splits_save_load(tmp_path):
    splits = Splits(_toy(6, "tr"), _toy(4, "va"), _toy(2, "te"))
    splits.save(tmp_path / "s")
    back = Splits.load(tmp_path / "s")
    assert [len(ds) for _, ds in back] == [6, 4, 2]
    assert back.class_names == ["ok", "defect"]
    (tmp_path / "s" / "val.npz").unlink()
    with pytest.raises(InputError, match=r"val\.npz"):
        Splits.load(tmp_path / "s")
