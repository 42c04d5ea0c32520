"""Figure: residual networks written and trained in plain PyTorch, exported to ONNX and taken through Foldwise's
verbs as a user would — ``new --data defects``, ``import``, ``train`` (one fine-tuning epoch), ``quantize``
W4A4, ``estimate`` on the Pynq-Z2: every layer on hardware, QONNX export bit-exact, within the board.

Two networks for 3×64×64 defect patches, neither built with Foldwise or Brevitas: a one-block ResNet (a skip
by addition: conv-bn-relu-conv-bn + the block's input) and a DenseNet-style block (a skip by concatenation of
the block's input and its ReLU branch), each after a two-conv stride-2 stem. They are trained ``--epochs``
(default 8) in the script's own PyTorch loop first: an ONNX export folds batch norm into the convolutions, and
trained from scratch in Foldwise without it these networks stayed at chance (loss ln 2 for 5 epochs, seen).
Each verb runs as its own ``foldwise`` process with ``--json``; the figures are read from that output. Passes
when nothing but the input's NCHW→NHWC Transpose is left on the CPU, the export is bit-exact and LUT and BRAM18
stay within the board.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path


def _networks() -> dict:
    import torch
    from torch import nn

    def conv(cin: int, cout: int, stride: int = 1, relu: bool = True) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                *([nn.ReLU()] if relu else [])]

    class OneBlockResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(*conv(3, 16, 2), *conv(16, 32, 2))  # 64×64 → 16×16
            self.branch = nn.Sequential(*conv(32, 32), *conv(32, 32, relu=False))
            self.relu, self.pool, self.fc = nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Linear(32, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            return self.fc(torch.flatten(self.pool(self.relu(x + self.branch(x))), 1))

    class DenseBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(*conv(3, 16, 2), *conv(16, 32, 2))
            self.branch = nn.Sequential(*conv(32, 32))
            self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(64, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.stem(x)
            return self.fc(torch.flatten(self.pool(torch.cat([x, self.branch(x)], 1)), 1))

    return {"one-block ResNet (add)": OneBlockResNet, "DenseNet-style block (concat)": DenseBlock}


def _verb(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "foldwise", *args, "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"foldwise {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def _train_in_pytorch(model: object, epochs: int, tmp: Path) -> float:
    """What the user did before Foldwise: train the network in their own loop (Adam, batch 64, flips), on the
    shipped defect set as Foldwise generates it. The test accuracy it reached."""
    import numpy as np
    import torch

    from foldwise.core.data.defects import load_or_generate

    splits = load_or_generate(tmp / "cache", seed=0)
    x = torch.from_numpy(np.array(splits.train.images, dtype=np.float32)) / 255
    y = torch.as_tensor(np.asarray(splits.train.labels)).long()
    optimizer = torch.optim.Adam(model.parameters(), 2e-3)
    generator = torch.Generator().manual_seed(0)
    for _epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), 64):
            batch = x[order[i:i + 64]]
            if torch.rand(1, generator=generator) < 0.5:
                batch = batch.flip(3)
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(batch), y[order[i:i + 64]]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        test_x = torch.from_numpy(np.array(splits.test.images, dtype=np.float32)) / 255
        predicted = model(test_x).argmax(1).numpy()
    return float((predicted == np.asarray(splits.test.labels)).mean())


def run_one(label: str, network: type, epochs: int, tmp: Path) -> dict:
    import torch

    slug = label.split(" (")[0].replace(" ", "-").lower()
    onnx_path = tmp / f"{slug}.onnx"
    torch.manual_seed(0)
    model = network()
    pytorch_accuracy = _train_in_pytorch(model, epochs, tmp)
    torch.onnx.export(model.eval(), torch.rand(1, 3, 64, 64), onnx_path, dynamo=False, opset_version=13)
    project = tmp / slug
    t0 = time.monotonic()
    _verb("new", str(project), "--data", "defects")
    _verb("import", str(project), str(onnx_path), "--input-shape", "3,64,64")
    _verb("train", str(project), "--epochs", "1", "--lr", "2e-4")  # fine-tune one epoch, as the issue did
    quantized = _verb("quantize", str(project), "--weights", "4", "--acts", "4", "--calib", "512")
    estimate = _verb("estimate", str(project), "--target-fps", "1000")
    seconds = time.monotonic() - t0
    cpu = [n["op_type"] for n in estimate["cpu_nodes"]]
    util = {name: figure["pct_of_board"] for name, figure in estimate["resources"].items()}
    exact = bool(quantized["qonnx_check"]["bit_exact"])
    return {
        "network": label, "epochs_in_pytorch": epochs,
        "pytorch_test_accuracy": {"value": round(pytorch_accuracy, 4), "source": "measured"},
        "accuracy": quantized["accuracy"], "qonnx_bit_exact": exact,
        "shared_quantizers": quantized.get("shared_quantizers"),
        "fps": estimate["fps"], "utilization_pct": util, "cpu_nodes": cpu,
        "hw_ops": sorted({name.rsplit("_", 2)[0] for name in estimate["node_cycles"]}),
        "seconds": round(seconds, 1),
        "pass": cpu == ["Transpose"] and exact and all((util.get(k) or 0) <= 100 for k in ("LUT", "BRAM_18K")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-imported-residual-"))
    rows = [run_one(label, network, args.epochs, tmp) for label, network in _networks().items()]

    def line(r: dict) -> str:
        acc, util = r["accuracy"], r["utilization_pct"]
        return (f"{r['network']}: test accuracy {r['pytorch_test_accuracy']['value']:.1%} in PyTorch, after import "
                f"and 1 fine-tuning epoch {acc['float']:.1%} float / {acc['quantized']:.1%} W4A4 (measured), "
                f"{r['fps']['value']:,.0f} FPS ({r['fps']['source']}), LUT {util.get('LUT'):.1f} %, "
                f"BRAM18 {util.get('BRAM_18K'):.1f} %, on the CPU: {', '.join(r['cpu_nodes']) or 'nothing'}, "
                f"hardware: {', '.join(r['hw_ops'])}; QONNX bit-exact {r['qonnx_bit_exact']}")

    report(f"Plain-PyTorch residual networks trained {args.epochs} epochs on defects, imported from ONNX, W4A4, "
           "FINN SetFolding for 1,000 FPS on the Z2 @ 100 MHz (verbs as separate processes)",
           [r["fps"]["value"] for r in rows], "only the input Transpose on the CPU, bit-exact, within the Z2",
           all(r["pass"] for r in rows), measured="; ".join(line(r) for r in rows), networks=rows)


if __name__ == "__main__":
    main()
