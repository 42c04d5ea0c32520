"""Quantization-aware training: fine-tune a calibrated network with quantization in the loop."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.quantize.ptq import QuantizedNetwork, check_images
from foldwise.core.quantize.validate import _labels, accuracy


@dataclass
class QATEpoch:
    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "loss": self.loss, "train_accuracy": self.train_accuracy,
                "val_accuracy": self.val_accuracy, "seconds": self.seconds, "source": "measured"}


@dataclass
class QATResult:
    history: list[QATEpoch] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"history": [e.to_dict() for e in self.history], "best_epoch": self.best_epoch,
                "stopped_early": self.stopped_early}


def qat(network: QuantizedNetwork, images: Any, labels: Any, epochs: int, ctx: JobContext | None = None,
        val: tuple[Any, Any] | None = None, lr: float = 1e-4, batch_size: int = 64, seed: int = 0,
        patience: int | None = None, on_epoch: Callable[[QATEpoch], None] | None = None) -> QATResult:
    """Train ``network`` in place for ``epochs`` on raw-pixel ``images``; cancellable between batches.

    ``on_epoch`` gets each :class:`QATEpoch` (for live curves). With ``val`` and ``patience``, training stops
    after ``patience`` epochs without a better validation accuracy, and the best weights are kept.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InputError(f"QAT needs at least 1 epoch, got {epochs!r}")
    if not network.calibrated:
        raise InputError("calibrate the network before QAT (its activation scales start from calibration)")
    ctx = ctx or null_context()
    x = check_images(images, network.input_shape, "training")
    y = torch.from_numpy(_labels(labels, len(x)))
    model = network.model
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    result, best_acc, best_state, stale = QATResult(), -1.0, None, 0
    batches = -(-len(x) // batch_size)
    for epoch in range(1, epochs + 1):
        start, total_loss, correct = time.perf_counter(), 0.0, 0
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for b in range(batches):
            ctx.check_cancelled()
            idx = order[b * batch_size:(b + 1) * batch_size]
            out = model(x[idx])
            logits = out.value if hasattr(out, "value") and not isinstance(out, torch.Tensor) else out
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
            ctx.progress(((epoch - 1) + (b + 1) / batches) / epochs, f"QAT epoch {epoch}/{epochs}")
        model.eval()
        val_acc = accuracy(network, *val) if val is not None else None
        record = QATEpoch(epoch, total_loss / len(x), correct / len(x), val_acc, time.perf_counter() - start)
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if val_acc is not None and val_acc > best_acc:
            best_acc, best_state, stale, result.best_epoch = val_acc, copy.deepcopy(model.state_dict()), 0, epoch
        elif val_acc is not None:
            stale += 1
            if patience is not None and stale >= patience:
                result.stopped_early = True
                break
    if best_state is not None and patience is not None:
        model.load_state_dict(best_state)
    model.eval()
    return result
