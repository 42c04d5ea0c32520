from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.train import TrainConfig, evaluate, train

SPEC = InputSpec((1, 8, 8))


def _data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 1 has a bright left half, class 0 a bright right half, both under noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.rand(n, 1, 8, 8, generator=g) * 0.6
    x[y == 1, :, :, :4] += 0.3
    x[y == 0, :, :, 4:] += 0.3
    return x, y


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(1, 4, 3, padding=1)), ("relu", nn.ReLU()), ("pool", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc", nn.Linear(4 * 4 * 4, 2)),
    ]))


TRAIN, VAL = _data(256, 1), _data(128, 2)
FAST = {"batch_size": 32, "lr": 0.01, "patience": None}


def test_two_epochs_improve_accuracy_and_leave_the_callers_model_alone():
    model = _net()
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before = evaluate(model, VAL)
    records = []
    result = train(model, TRAIN, VAL, TrainConfig(epochs=2, **FAST), spec=SPEC, on_epoch=records.append)
    after = evaluate(result.model, VAL)
    assert after.accuracy > before.accuracy + 0.2
    assert after.accuracy >= 0.9
    assert [r.epoch for r in records] == [1, 2] and records == result.history
    assert records[1].train_loss < records[0].train_loss
    assert all(r.val_acc is not None and r.seconds > 0 for r in records)
    assert after.accuracy == pytest.approx(result.best_val_acc)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before_state.items())
    assert result.model is not model and not result.model.training


def test_same_seed_same_history():
    config = TrainConfig(epochs=2, **FAST)
    a = train(_net(), TRAIN, VAL, config)
    b = train(_net(), TRAIN, VAL, config)
    strip = [(r.train_loss, r.val_loss, r.val_acc) for r in a.history]
    assert strip == [(r.train_loss, r.val_loss, r.val_acc) for r in b.history]


def test_cancel_between_batches_raises_and_keeps_the_model():
    model = _net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = JobContext()
    seen = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if len(seen) == 3:
            ctx.cancel()

    ctx._on_progress = progress
    with pytest.raises(Cancelled):
        train(model, TRAIN, VAL, TrainConfig(epochs=5, **FAST), ctx=ctx)
    assert len(seen) == 3 and "batch 3/8" in seen[-1]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_early_stopping_stops_and_keeps_the_best_epoch():
    # A learning rate this small leaves predictions (hence val accuracy) unchanged after epoch 1.
    config = TrainConfig(epochs=10, batch_size=64, lr=1e-12, patience=2, cosine_schedule=False)
    result = train(_net(), TRAIN, VAL, config)
    assert result.stopped_early
    assert len(result.history) == 3 and result.best_epoch == 1


def test_progress_reaches_one_and_logs_each_epoch():
    fractions, lines = [], []
    ctx = JobContext(lambda f, m: fractions.append(f), lines.append)
    train(_net(), TRAIN, None, TrainConfig(epochs=2, **FAST), ctx=ctx)
    assert fractions[-1] == pytest.approx(1.0) and fractions == sorted(fractions)
    assert len([line for line in lines if line.startswith("epoch")]) == 2


class _UintSet:
    """Looks like foldwise.core.data's ImageDataset: read-only uint8 images 0..255, int64 labels."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.images = (x.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        self.images.flags.writeable = False
        self.labels = y.numpy()

    def to_tensors(self):
        return torch.from_numpy(self.images.astype(np.float32) / 255), torch.from_numpy(self.labels)


def test_dataset_objects_with_uint8_images_train_like_tensors():
    # vflip keeps the left/right cue (hflip would swap the classes).

    result = train(_net(), _UintSet(*TRAIN), _UintSet(*VAL), TrainConfig(epochs=2, vflip=True, **FAST))
    assert evaluate(result.model, _UintSet(*VAL)).accuracy >= 0.8


def test_evaluate_confusion_matrix():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    nn.init.zeros_(model[1].weight)
    model[1].bias.data = torch.tensor([0.0, 1.0])  # always predicts class 1
    x, y = VAL
    result = evaluate(model, (x, y), batch_size=50)
    n1 = int(y.sum())
    assert result.confusion == [[0, len(y) - n1], [0, n1]]
    assert result.accuracy == pytest.approx(n1 / len(y)) and result.count == len(y)


def test_bad_inputs_are_input_errors():
    with pytest.raises(InputError, match="8×8 but the network takes 1×16×16"):
        train(_net(), TRAIN, VAL, TrainConfig(epochs=1), spec=InputSpec((1, 16, 16)))
    x, y = TRAIN
    with pytest.raises(InputError, match="labels up to 5"):
        train(_net(), (x, y * 5), None, TrainConfig(epochs=1))
    with pytest.raises(InputError, match="one label per image"):
        train(_net(), (x, y[:10]), None, TrainConfig(epochs=1))
    with pytest.raises(InputError, match="N×C×H×W"):
        evaluate(_net(), (x[:, 0], y))
    with pytest.raises(InputError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(InputError, match="unknown training settings"):
        TrainConfig.from_dict({"epochs": 2, "epoks": 3})


def test_config_round_trip():
    config = TrainConfig(epochs=3, optimizer="sgd", hflip=True)
    data = config.to_dict()
    assert data["optimizer"] == "sgd"
    assert TrainConfig.from_dict(data) == config


@pytest.mark.parametrize("lr", [float("inf"), float("nan"), -1.0, 0.0])
def test_a_learning_rate_that_is_not_positive_and_finite_is_refused(lr):
    with pytest.raises(InputError, match="learning rate must be a positive finite number"):
        TrainConfig(lr=lr)


def test_training_that_diverges_stops_and_says_so():
    """A loss that turns inf/NaN stops training with the reason instead of returning NaN weights."""
    model = _net()
    with torch.no_grad():
        model.fc.weight[0, 0] = float("inf")  # what a blown-up step leaves behind
    with pytest.raises(InputError, match=r"training diverged .*smaller learning rate"):
        train(model, TRAIN, VAL, TrainConfig(epochs=1, **FAST), spec=SPEC)
