import pytest

from foldwise.core.data.registry import DATASETS, get_dataset_splits
from foldwise.core.errors import InputError


def test_known_sets_describe_themselves():
    assert set(DATASETS) == {"defects", "digits"}
    for info in DATASETS.values():
        assert info["description"] and len(info["input_shape"]) == 3


def test_digits_by_name_matches_its_shape(tmp_path):
    splits = get_dataset_splits("digits", tmp_path)
    assert splits.train.input_shape == DATASETS["digits"]["input_shape"]


def test_defects_by_name_uses_the_cache(tmp_path, monkeypatch):
    from foldwise.core.data import defects

    calls = []
    monkeypatch.setattr(defects, "load_or_generate", lambda cache, seed, ctx: calls.append((cache, seed)) or "s")
    assert get_dataset_splits("defects", tmp_path, seed=4) == "s"
    assert calls == [(tmp_path, 4)]


def test_unknown_name_lists_the_choices(tmp_path):
    with pytest.raises(InputError, match=r"unknown data set 'cifar'.*defects, digits"):
        get_dataset_splits("cifar", tmp_path)
