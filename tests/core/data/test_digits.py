import numpy as np
import pytest

from foldwise.core.data.digits import load_digits_splits
from foldwise.core.errors import InputError


def test_digits_splits_shapes_range_and_stratification():
    splits = load_digits_splits(seed=0)
    sizes = [len(ds) for _, ds in splits]
    assert sum(sizes) == 1797 and sizes[0] == pytest.approx(0.7 * 1797, abs=10)
    train = splits.train
    assert train.images.shape[1:] == (1, 32, 32) and train.images.dtype == np.uint8
    assert train.images.max() == 255 and train.images.min() == 0
    for _, ds in splits:
        counts = np.array(list(ds.class_counts().values()))
        assert len(counts) == 10 and counts.min() >= 0.8 * counts.max() - 2
    all_images = np.concatenate([ds.images for _, ds in splits]).reshape(1797, -1)
    assert len(np.unique(all_images, axis=0)) > 1700  # no sample lands in two splits


def test_digits_seed_changes_the_split_only():
    a, b = load_digits_splits(seed=0), load_digits_splits(seed=1)
    assert not np.array_equal(a.test.labels, b.test.labels)
    np.testing.assert_array_equal(load_digits_splits(seed=0).test.images, a.test.images)


def test_bad_fractions():
    with pytest.raises(InputError, match="fractions"):
        load_digits_splits(fractions=(0.5, 0.5, 0.5))
