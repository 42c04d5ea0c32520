"""Figure: full-width ResNet-18 (the zoo's ``resnet18``, 11.2 M weights) through the same W4A4 recipe and FINN
estimate as ``bench_finn_residual.py`` (SetFolding for 1,000 FPS on the Pynq-Z2 @ 100 MHz, untrained): every
layer reaches hardware, and the estimate's verdict is "does not fit" with what to change. Passes when the
verdict says so (LUT or BRAM18 over the board) and the estimate printed by ``foldwise estimate`` names the fixes.
About 4.5 minutes here.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import report  # also puts app/ on sys.path
from bench_finn_residual import run_one
from foldwise.core.finn.worker import FinnWorker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-fps", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-resnet18-"))
    with FinnWorker(state_dir=tmp / "worker") as worker:
        row = run_one("resnet18", 0, args.target_fps, tmp, worker)
    util = row["utilization_pct"]
    over = {k: util[k] for k in ("LUT", "BRAM_18K") if (util.get(k) or 0) > 100}
    fit = row["weights_fit"]
    report(f"Full-width ResNet-18 (zoo resnet18, {fit['weights']:,} weights = {fit['weight_mb']:.2f} MB at 4 bits vs "
           f"the Z2's {fit['on_chip_mb']:.3f} MB of BRAM, computed before training), W4A4, SetFolding for "
           f"{args.target_fps:,} FPS", [util.get("LUT"), util.get("BRAM_18K")],
           'verdict "does not fit" with what to change',
           bool(over) and row["cpu_nodes"] == ["Transpose"] and "lower --target-fps" in (row["verdict"] or ""),
           measured=(f"every layer on hardware but {row['resources']['LUT']:,.0f} LUT ({util.get('LUT')} %) and "
                     f"{row['resources']['BRAM_18K']:,.0f} BRAM18 ({util.get('BRAM_18K')} %) for "
                     f"{row['fps']['value']:,.0f} FPS (estimated); QONNX bit-exact {row['qonnx_bit_exact']}; "
                     f"`foldwise estimate` prints: verdict {row['verdict']}"), network=row)


if __name__ == "__main__":
    main()
