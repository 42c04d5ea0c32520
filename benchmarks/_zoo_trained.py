"""Shared by the W4A4 quantization-option benchmarks: a zoo network trained once on its shipped data set."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NETWORKS = ("resnet8-0.25x", "defectnet", "lenet5")  # a residual network and two chains


def arguments(description: str) -> argparse.Namespace:
    """``--arch`` (default NETWORKS) and ``--epochs`` (default 8)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--arch", nargs="+", default=list(NETWORKS))
    parser.add_argument("--epochs", type=int, default=8)
    return parser.parse_args()


def accuracy_line(row: dict[str, Any]) -> str:
    """One network's float and W4A4 test accuracies in words."""
    cells = ", ".join(f"{key} {value:.1%}" for key, value in row["w4a4"].items())
    return f"{row['arch']}: float {row['float']:.1%}; W4A4 {cells} (measured, {row['images']:,} test images)"


@dataclass
class Trained:
    """A zoo network trained with its recommended settings, its data splits and what training measured."""

    entry: Any
    splits: Any
    model: Any
    row: dict[str, Any]

    def w4a4_accuracy(self, calib: int, **options: Any) -> float:
        """Test accuracy after W4A4 PTQ with ``options`` (QuantConfig fields) on the first ``calib`` training
        images."""
        from foldwise.core.quantize.config import QuantConfig
        from foldwise.core.quantize.ptq import quantize_network
        from foldwise.core.quantize.validate import accuracy

        config = QuantConfig(weight_bits=4, act_bits=4, calib_images=calib, **options)
        network = quantize_network(self.model, self.splits.train.images[:calib], config, spec=self.entry.spec,
                                   collect_stats=False).network
        return round(accuracy(network, self.splits.test.images, self.splits.test.labels), 4)


def train_zoo(arch: str, epochs: int, cache: Path) -> Trained:
    """``arch`` trained for ``epochs`` (seed 0) on defects or digits; ``row`` holds arch, epochs, test images,
    training seconds and float test accuracy."""
    import torch

    from foldwise.core.data.defects import load_or_generate
    from foldwise.core.data.digits import load_digits_splits
    from foldwise.core.networks.train import evaluate, recommended_config, train
    from foldwise.core.networks.zoo import get_entry

    entry = get_entry(arch)
    splits = load_digits_splits(seed=0) if entry.spec.dataset == "digits" else load_or_generate(cache, seed=0)
    torch.manual_seed(0)
    t0 = time.monotonic()
    config = recommended_config(arch, epochs=epochs, patience=None)
    model = train(entry.build().eval(), splits.train, splits.val, config, spec=entry.spec).model.eval()
    row = {"arch": arch, "epochs": epochs, "images": len(splits.test.labels),
           "train_s": round(time.monotonic() - t0, 1),
           "float": round(evaluate(model, splits.test, spec=entry.spec).accuracy, 4)}
    return Trained(entry, splits, model, row)
