"""Turning the datasets training accepts into tensors, and batches into network input."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec


def as_tensors(dataset: Any, what: str = "dataset") -> tuple[torch.Tensor, torch.Tensor]:
    """(images N×C×H×W, labels N int64) from an ImageDataset-like object or an ``(images, labels)`` pair.

    uint8 images stay uint8 (0..255) until :func:`to_input` scales a batch, which saves 4× memory on
    large sets; anything else becomes float32, expected in 0..1.
    """
    if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
        images, labels = dataset
    elif isinstance(getattr(dataset, "images", None), np.ndarray) and hasattr(dataset, "labels"):
        images, labels = dataset.images, dataset.labels
    elif hasattr(dataset, "to_tensors"):
        images, labels = dataset.to_tensors()
    else:
        raise InputError(f"{what}: expected an image dataset or an (images, labels) pair, got "
                         f"{type(dataset).__name__}")
    images, labels = _tensor(images), _tensor(labels)
    if images.dim() != 4:
        raise InputError(f"{what}: images must be N×C×H×W, got shape {tuple(images.shape)}")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise InputError(f"{what}: need one label per image, got {tuple(labels.shape)} labels for "
                         f"{images.shape[0]} images")
    if images.shape[0] == 0:
        raise InputError(f"{what} is empty")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise InputError(f"{what}: labels must be integers, got {labels.dtype}")
    if images.dtype != torch.uint8:
        images = images.float()
    return images, labels.long()


def _tensor(values: Any) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        return values
    array = np.asarray(values)
    # torch warns on read-only arrays (ImageDataset's are): copy those instead of sharing.
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def check_shape(images: torch.Tensor, spec: InputSpec | None, what: str) -> None:
    if spec is not None and tuple(images.shape[1:]) != spec.shape:
        raise InputError(f"{what}: images are {'×'.join(map(str, images.shape[1:]))} but the network takes "
                         f"{'×'.join(map(str, spec.shape))}")


def to_input(batch: torch.Tensor, spec: InputSpec | None) -> torch.Tensor:
    """A batch as float network input: uint8 scaled to 0..1, then the spec's range and normalisation."""
    x = batch.float().div_(255.0) if batch.dtype == torch.uint8 else batch
    return spec.prepare(x) if spec is not None else x


def logits_of(output: Any) -> torch.Tensor:
    # Brevitas layers can return a QuantTensor; training and metrics want the plain values.
    if isinstance(output, torch.Tensor):
        return output
    value = getattr(output, "value", None)
    if isinstance(value, torch.Tensor):
        return value
    raise InputError(f"the network's output is a {type(output).__name__}, not a tensor of class scores")


def check_classes(logits: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    if logits.dim() != 2:
        raise InputError(f"the network outputs shape {tuple(logits.shape[1:])} per image; a classifier "
                         f"must output one score per class")
    top = int(labels.max())
    if top >= logits.shape[1] or int(labels.min()) < 0:
        raise InputError(f"{what} has labels up to {top} but the network outputs {logits.shape[1]} classes")
