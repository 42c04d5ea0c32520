import numpy as np
import pytest

from foldwise.core.data.calibration import calibration_subset
from foldwise.core.data.dataset import ImageDataset
from foldwise.core.errors import InputError


def _imbalanced() -> ImageDataset:
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    images = np.arange(100, dtype=np.uint8)[:, None, None, None].repeat(2, axis=2).repeat(2, axis=3)
    return ImageDataset(images, labels, ["a", "b", "c"], name="imb")


def test_stratified_subset_keeps_class_proportions():
    sub = calibration_subset(_imbalanced(), 20, seed=1)
    assert sub.class_counts() == {"a": 14, "b": 4, "c": 2}
    assert len(set(sub.images[:, 0, 0, 0].tolist())) == 20  # distinct samples


def test_rounding_still_gives_exactly_n_and_every_big_class():
    sub = calibration_subset(_imbalanced(), 7, seed=0)
    counts = sub.class_counts()
    assert sum(counts.values()) == 7 and counts["a"] >= 4 and counts["b"] >= 1


def test_same_seed_same_subset_other_seed_differs():
    ds = _imbalanced()
    a, b = calibration_subset(ds, 10, seed=3), calibration_subset(ds, 10, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, calibration_subset(ds, 10, seed=4).images)


def test_unstratified_and_whole_set():
    ds = _imbalanced()
    assert len(calibration_subset(ds, 5, stratified=False)) == 5
    assert calibration_subset(ds, 100).class_counts() == ds.class_counts()


@pytest.mark.parametrize(
    ("n", "match"), [(0, "zero calibration images"), (-3, "zero"), (101, "only 100"), (2.5, "whole number")]
)
def test_bad_counts_are_input_errors(n, match):
    with pytest.raises(InputError, match=match):
        calibration_subset(_imbalanced(), n)


def test_package_exports_calibration_subset():
    from foldwise.core import data

    assert data.calibration_subset is calibration_subset
