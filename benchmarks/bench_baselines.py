"""A Table-1-style baseline for LeNet5 and DefectNet: host PyTorch, host ONNX Runtime, and the loopback device.

Two small trained projects are made in a temp dir (lenet-digits, 3 epochs; defect-demo on 320 generated crops,
as tests/defect_project.py), each quantized W4A4. The float and the W4A4 iteration of each are timed with
``foldwise.core.board.baseline.run_baseline`` (batch 1, median and p95 of ``RUNS`` runs after a warm-up):
on the host (torch + ONNX Runtime) and on a test sshd on 127.0.0.1 registered as a device (ONNX Runtime, and
the numpy fallback). This machine has no power sensor (no RAPL, INA3221 or PMBus) and no power is entered, so
power and energy are none here: the table says so rather than guessing. Goal: every row measured, and the
device computes what the host computes (top-1 agreement 1.0 with the same runtime on the host).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from _common import REPO, report

sys.path.insert(0, str(REPO))
RUNS, WARMUP = 100, 10


def _projects(root: Path) -> dict[str, Path]:
    from foldwise.core.examples import create_from_example
    from foldwise.core.networks.train import TrainConfig
    from foldwise.core.quantize.config import QuantConfig, QuantizeSpec
    from foldwise.core.quantize.stage import quantize_iteration
    from foldwise.core.training import TrainSpec, train_iteration
    from tests.defect_project import make_defect_project

    lenet = root / "lenet"
    with create_from_example(lenet, "lenet-digits") as project:
        train_iteration(project, TrainSpec(TrainConfig(epochs=3, patience=None)))
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=64)))
    return {"lenet5": lenet, "defectnet": make_defect_project(root / "defects", root / "crops", quantize=True)}


def _row(row) -> dict:
    def value(fig):
        return None if fig is None else round(fig.value, 4)

    return {"model": row.model, "device": row.device, "runtime": row.runtime,
            "time_ms": value(row.time_ms), "time_p95_ms": value(row.time_p95_ms), "time_source": row.time_ms.source,
            "power_w": value(row.power_w), "energy_mj": value(row.energy_mj),
            "power_source": row.power_w.source if row.power_w else "none (no sensor, none entered)"}


def main() -> None:
    from foldwise.core.board.baseline import BaselineSpec, run_baseline
    from foldwise.core.board.baseline_table import baseline_rows, format_table
    from foldwise.core.board.profiles import BoardProfile, save_board
    from foldwise.core.project import Project
    from tests.sshd import start_sshd

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        projects = _projects(root)
        server = start_sshd(root / "sshd", password=None, shell="/bin/sh" if os.geteuid() == 0 else None)
        rows, tables, agreements, exports = [], [], [], []
        try:
            save_board(BoardProfile.create("loopback", server.host, user=server.user, port=server.port,
                                           key=server.client_key, known_hosts=server.known_hosts,
                                           python=sys.executable))
            for path in projects.values():
                with Project.open(path, read_only=True) as project:
                    for iteration in project.iterations:
                        for device, runtime in (("host", "auto"), ("loopback", "auto"), ("loopback", "numpy")):
                            record = run_baseline(project, BaselineSpec(device=device, runtime=runtime, runs=RUNS,
                                                                        warmup=WARMUP, iteration=iteration.id))
                            if device == "host":
                                exports.append({"model": record.info["model"], **record.info["export_vs_torch"],
                                                "what": "host ONNX Runtime vs the network in PyTorch"})
                            else:
                                agreements.append({"model": record.info["model"], "runtime": record.info["runtime"],
                                                   **record.info["agreement_with_host"]})
                        found = baseline_rows(iteration)
                        rows += [_row(r) for r in found]
                        tables.append(format_table(found))
        finally:
            server.stop()
    passed = len(rows) == 16 and all(r["time_source"] == "measured" for r in rows) \
        and all(a["top1"] == 1.0 for a in agreements)
    report("baseline table (LeNet5, DefectNet; float and W4A4; host torch/ORT, loopback ORT/numpy)", len(rows),
           "every row measured; the device's outputs agree with the same runtime on the host (top-1 1.0)", passed,
           rows=rows, agreement=agreements, export_vs_torch=exports, runs=RUNS, warmup=WARMUP, batch=1, threads=1,
           load_average=[round(v, 2) for v in os.getloadavg()],
           table="\n\n".join(tables))


if __name__ == "__main__":
    main()
