"""Image datasets in memory and on disk: uint8 N×C×H×W pixels, int64 labels, class names and per-sample meta."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from foldwise.core.errors import InputError

if TYPE_CHECKING:
    import torch

_META_PREFIX = "meta__"
SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """An immutable set of images with integer labels.

    Attributes
    ----------
    images : uint8 array, N×C×H×W, pixels 0..255 (C is 1 or 3, RGB order).
    labels : int64 array, N, each in ``0..len(class_names) - 1``.
    class_names : one name per label value.
    meta : per-sample arrays of length N (e.g. ``"kind"`` → defect kind strings).
    name : shown in messages and the GUI.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    meta: Mapping[str, np.ndarray] = field(default_factory=dict)
    name: str = "dataset"

    def __post_init__(self) -> None:
        images = np.asarray(self.images)
        labels = np.asarray(self.labels)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise InputError(
                f"dataset {self.name!r}: images must be uint8 N×C×H×W with C 1 or 3, got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise InputError(f"dataset {self.name!r}: need one integer label per image, got {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(self.class_names)):
            raise InputError(f"dataset {self.name!r}: labels outside 0..{len(self.class_names) - 1}")
        meta = {}
        for key, values in dict(self.meta).items():
            values = np.asarray(values)
            if len(values) != len(images):
                raise InputError(f"dataset {self.name!r}: meta {key!r} has {len(values)} values, not {len(images)}")
            meta[key] = _frozen(values)
        object.__setattr__(self, "images", _frozen(images))
        object.__setattr__(self, "labels", _frozen(labels.astype(np.int64, copy=False)))
        object.__setattr__(self, "class_names", [str(c) for c in self.class_names])
        object.__setattr__(self, "meta", meta)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """C, H, W of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> ImageDataset:
        """The samples at ``indices`` (in that order), same class names."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise InputError(f"dataset {self.name!r}: subset index out of range 0..{len(self) - 1}")
        return ImageDataset(
            self.images[idx],
            self.labels[idx],
            list(self.class_names),
            {key: values[idx] for key, values in self.meta.items()},
            name or self.name,
        )

    def class_counts(self) -> dict[str, int]:
        """Class name → number of samples (every class listed, zeros included)."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, counts, strict=True)}

    def to_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)``: float32 N×C×H×W scaled to 0..1 and int64 labels."""
        import torch

        x = torch.from_numpy(self.images.astype(np.float32) / np.float32(255.0))
        y = torch.from_numpy(self.labels.copy())
        return x, y

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write one uncompressed ``.npz`` atomically (temp file, then rename); returns the path."""
        target = Path(path)
        arrays: dict[str, Any] = {"images": self.images, "labels": self.labels}
        for key, values in self.meta.items():
            arrays[_META_PREFIX + key] = values
        header = {"name": self.name, "class_names": self.class_names}
        arrays["header"] = np.array(json.dumps(header))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ImageDataset:
        """Read a file written by :meth:`save`; :class:`InputError` if it is missing or not one."""
        source = Path(path)
        if not source.is_file():
            raise InputError(f"dataset file {source} does not exist")
        try:
            with np.load(source, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                meta = {key[len(_META_PREFIX) :]: data[key] for key in data.files if key.startswith(_META_PREFIX)}
                return cls(data["images"], data["labels"], header["class_names"], meta, header["name"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise InputError(f"dataset file {source} is not a Foldwise dataset: {exc}") from exc


@dataclass(frozen=True)
class Splits:
    """Train / validation / test datasets sharing one set of class names."""

    train: ImageDataset
    val: ImageDataset
    test: ImageDataset

    def __iter__(self):
        return iter((name, getattr(self, name)) for name in SPLIT_NAMES)

    @property
    def class_names(self) -> list[str]:
        return self.train.class_names

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``train.npz``, ``val.npz`` and ``test.npz`` into ``folder`` (created if needed)."""
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        for name, dataset in self:
            dataset.save(target / f"{name}.npz")
        return target

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Splits:
        """Read a folder written by :meth:`save`; :class:`InputError` names a missing split file."""
        source = Path(folder)
        missing = [name for name in SPLIT_NAMES if not (source / f"{name}.npz").is_file()]
        if missing:
            raise InputError(f"split folder {source} lacks {', '.join(m + '.npz' for m in missing)}")
        return cls(*(ImageDataset.load(source / f"{name}.npz") for name in SPLIT_NAMES))


def _frozen(array: np.ndarray) -> np.ndarray:
    # A read-only view keeps the dataset immutable without copying large pixel arrays.
    view = array.view()
    view.flags.writeable = False
    return view
