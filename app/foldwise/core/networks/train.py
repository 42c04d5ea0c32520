"""CPU training and evaluation of a classifier, as a cancellable job with a live per-epoch history.

``train`` works on a deep copy: the caller's network is never changed, even when the job is cancelled.
Runs are reproducible: ``seed`` fixes weight-independent randomness (data order, augmentation, dropout).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.networks.batches import as_tensors, check_classes, check_shape, logits_of, to_input
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.train_config import (  # noqa: F401 - re-exported: callers import them from here
    Optimizer,
    TrainConfig,
    recommended_config,
)


@dataclass
class EpochRecord:
    """One epoch of history (val values are None without a validation set)."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float


@dataclass
class TrainResult:
    """The trained copy (best epoch's weights when validating, eval mode) and how it got there."""

    model: nn.Module
    history: list[EpochRecord]
    best_epoch: int
    best_val_acc: float | None
    stopped_early: bool
    seconds: float
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Everything but the model, JSON-able."""
        return {"history": [asdict(r) for r in self.history], "best_epoch": self.best_epoch,
                "best_val_acc": self.best_val_acc, "stopped_early": self.stopped_early, "seconds": self.seconds,
                "threads": self.threads}


@dataclass
class EvalResult:
    """Accuracy, mean cross-entropy and ``confusion[true][predicted]`` counts."""

    accuracy: float
    loss: float
    confusion: list[list[int]] = field(default_factory=list)
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise InputError("the network has no trainable parameters")
    if config.optimizer is Optimizer.SGD:
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def _augment(x: torch.Tensor, config: TrainConfig, gen: torch.Generator) -> torch.Tensor:
    """Random flips and H↔W transposes, each on half the batch (all three together: the 8 symmetries)."""
    steps = [(config.hflip, lambda t: t.flip(-1)), (config.vflip, lambda t: t.flip(-2)),
             (config.transpose and x.shape[-1] == x.shape[-2], lambda t: t.transpose(-1, -2))]
    for wanted, op in steps:
        if wanted:
            mask = torch.rand(x.shape[0], generator=gen) < 0.5
            x = torch.where(mask.view(-1, 1, 1, 1), op(x), x)
    return x


def _auto_threads() -> int:
    """All cores on a quiet machine, one on a busy one.

    torch's worker threads spin while they wait: on a shared, loaded machine two threads measured 4×
    slower per epoch than one.
    """
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return cores
    return cores if load < cores - 0.5 else 1


def train(
    model: nn.Module,
    train_ds: Any,
    val_ds: Any | None,
    config: TrainConfig | None = None,
    ctx: JobContext | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    spec: InputSpec | None = None,
) -> TrainResult:
    """Train a copy of ``model``; datasets are ImageDataset-like objects or ``(images, labels)`` pairs.

    ``spec`` (if given) checks the image shape and maps 0..1 pixels to the network's input range.
    ``on_epoch(record)`` is called after each epoch from the training thread. Raises Cancelled between
    batches when ``ctx`` is cancelled, and InputError for unusable data or a config that does not fit.
    """
    config = config or TrainConfig()
    ctx = ctx or null_context()
    images, labels = as_tensors(train_ds, "training set")
    check_shape(images, spec, "training set")
    if images.shape[0] < 2:
        raise InputError("the training set needs at least 2 images")
    val = None
    if val_ds is not None:
        val = as_tensors(val_ds, "validation set")
        check_shape(val[0], spec, "validation set")

    previous_threads = torch.get_num_threads()
    threads = config.threads or _auto_threads()
    torch.set_num_threads(threads)
    ctx.log(f"training on {threads} CPU thread(s)")
    try:
        result = _fit(copy.deepcopy(model), images, labels, val, config, ctx, on_epoch, spec)
        result.threads = threads
        return result
    finally:
        torch.set_num_threads(previous_threads)


def _fit(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
         val: tuple[torch.Tensor, torch.Tensor] | None, config: TrainConfig, ctx: JobContext,
         on_epoch: Callable[[EpochRecord], None] | None, spec: InputSpec | None) -> TrainResult:
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    # channels_last makes CPU convolutions about a third faster; the weights are put back at the end.
    model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    loss_fn = nn.CrossEntropyLoss()
    n = images.shape[0]
    batches = max(1, n // config.batch_size if n % config.batch_size == 1 else math.ceil(n / config.batch_size))
    total_steps = config.epochs * batches
    history: list[EpochRecord] = []
    best_acc, best_loss, best_epoch, best_state, stale, stopped_early = -1.0, math.inf, 0, None, 0, False
    started = time.monotonic()
    step = 0
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.monotonic()
        model.train()
        order = torch.randperm(n, generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        lr = optimizer.param_groups[0]["lr"]
        for b in range(batches):
            ctx.check_cancelled()
            # A last batch of one image would break BatchNorm; it is folded into the previous one.
            idx = order[b * config.batch_size:] if b == batches - 1 else \
                order[b * config.batch_size:(b + 1) * config.batch_size]
            x = _augment(to_input(images[idx], spec), config, gen).contiguous(memory_format=torch.channels_last)
            y = labels[idx]
            logits = logits_of(model(x))
            check_classes(logits, y, "the training set")
            loss = loss_fn(logits, y)
            if not math.isfinite(float(loss.detach())):
                raise InputError(f"training diverged (loss is {float(loss.detach())} at epoch {epoch}, batch {b + 1}): "
                                 f"try a smaller learning rate than {config.lr:g}; no iteration was made")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if config.cosine_schedule:
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            ctx.progress(step / total_steps, f"epoch {epoch}/{config.epochs}, batch {b + 1}/{batches}")
        record = EpochRecord(epoch, loss_sum / seen, correct / seen, None, None, lr, 0.0)
        if val is not None:
            result = evaluate(model, val, config.batch_size * 4, spec=spec, ctx=ctx)
            record.val_loss, record.val_acc = result.loss, result.accuracy
        record.seconds = time.monotonic() - epoch_start
        history.append(record)
        val_text = "" if record.val_acc is None else f", val loss {record.val_loss:.4f}, val acc {record.val_acc:.4f}"
        ctx.log(f"epoch {epoch}: train loss {record.train_loss:.4f}, train acc {record.train_acc:.4f}"
                f"{val_text} ({record.seconds:.1f} s)")
        if on_epoch is not None:
            on_epoch(record)
        # Ties in accuracy (common on small validation sets) go to the lower validation loss.
        if record.val_acc is not None and (record.val_acc, -record.val_loss) > (best_acc, -best_loss):
            best_acc, best_loss, best_epoch, stale = record.val_acc, record.val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if val is not None and config.patience is not None and stale >= config.patience and epoch < config.epochs:
            stopped_early = True
            ctx.log(f"early stop: no better val accuracy for {stale} epochs; keeping epoch {best_epoch}")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(history)
    model.to(memory_format=torch.contiguous_format)
    model.eval()
    return TrainResult(model, history, best_epoch, best_acc if val is not None else None, stopped_early,
                       time.monotonic() - started)


def evaluate(model: nn.Module, dataset: Any, batch_size: int = 256, spec: InputSpec | None = None,
             ctx: JobContext | None = None) -> EvalResult:
    """Accuracy, loss and confusion matrix of ``model`` on ``dataset`` (the model's mode is restored)."""
    ctx = ctx or null_context()
    images, labels = as_tensors(dataset, "evaluation set")
    check_shape(images, spec, "evaluation set")
    was_training = model.training
    model.eval()
    loss_sum, confusion = 0.0, None
    try:
        with torch.no_grad():
            for start in range(0, images.shape[0], max(1, batch_size)):
                ctx.check_cancelled()
                y = labels[start:start + batch_size]
                logits = logits_of(model(to_input(images[start:start + batch_size], spec)))
                check_classes(logits, y, "the evaluation set")
                if confusion is None:
                    confusion = torch.zeros(logits.shape[1], logits.shape[1], dtype=torch.long)
                loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
                pred = logits.argmax(1)
                confusion.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    finally:
        model.train(was_training)
    n = images.shape[0]
    correct = int(confusion.diagonal().sum())
    return EvalResult(correct / n, loss_sum / n, confusion.tolist(), n)
