"""Memory: peak RSS of the GUI process with the story project open, and of the FINN worker with CNV-w1a1
estimated; the worker's model cache stays bounded.

(a) The story project (DefectNet trained with the defaults, cached as for bench_prune_remove_layers; block 5
removed with 2 fine-tune epochs; W4A4 PTQ on 256 images) is opened in a new GUI process (offscreen Qt) that shows
every stage panel in turn and waits until the Build panel has FINN's confirmed figures and its option tables:
peak RSS (``ru_maxrss``) of that process, and the peak (``VmHWM``) of the FINN worker it started.
(b) A FINN worker of its own estimates CNV-w1a1 (Brevitas zoo, random weights; Pynq-Z2 @ 100 MHz), reads its
hardware nodes, tabulates its option tables and re-estimates once: its peak RSS. Then it reads the hardware
nodes of 6 more models (TFC-w1a1 copies that differ only in their doc string, so each hashes differently): the
worker keeps at most ``_CACHE_SIZE`` (4) prepared models, least recently used dropped, and its RSS after the
6 is reported next to the peak. Goal: reported, with the cache bounded (cached_models ≤ 4).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report, with_bytecode

TIMEOUT_S = 600.0
EXTRA_MODELS = 6


def _kib(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _mb(kib: int | None) -> float | None:
    return round(kib / 1024, 1) if kib is not None else None


def gui_trial(project_path: Path) -> dict:
    """In this process: open the project, show every stage, wait for the Build panel; print peak RSS."""
    from PySide6.QtWidgets import QApplication

    from foldwise.core.finn.worker import get_worker
    from foldwise.gui.app import make_settings
    from foldwise.gui.main_window import MainWindow
    from foldwise.gui.panels.build_panel import BuildPanel

    app = QApplication.instance() or QApplication(sys.argv)
    window = MainWindow(make_settings(), auto_prepare=False)
    window.resize(1280, 800)
    window.show()
    assert window.open_project(project_path)
    panel = next(p for p in window.panels if isinstance(p, BuildPanel))
    deadline = time.monotonic() + TIMEOUT_S

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    for index in range(len(window.panels)):
        window.show_stage(index)
        spin(1.0)
    window.show_stage(window.panels.index(panel))
    while time.monotonic() < deadline and not (panel.instant is not None and panel.report is not None
                                                and not panel.live.busy and not window.jobs.running):
        spin(0.2)
    worker = get_worker()
    worker_pid = worker.pid
    out = {"gui_peak_mb": _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
           "gui_rss_mb": _mb(_kib("self", "VmRSS")),
           "worker_peak_mb": _mb(_kib(worker_pid, "VmHWM")) if worker_pid else None,
           "worker_rss_mb": _mb(_kib(worker_pid, "VmRSS")) if worker_pid else None,
           "build_ready": panel.instant is not None and panel.report is not None,
           "imported": sorted(m for m in ("torch", "brevitas", "pyqtgraph", "numpy", "onnxruntime", "finn")
                              if m in sys.modules)}
    window.jobs.cancel_all()
    window.close_project(ask=False)
    window.close()
    worker.close()
    return out


def _story_project(root: Path) -> Path:
    from bench_prune_remove_layers import FINETUNE_EPOCHS, REMOVE, defect_splits, project_with, trained_defectnet
    from foldwise.core.prune.stage import PruneSpec, prune_iteration
    from foldwise.core.quantize import QuantConfig, QuantizeSpec
    from foldwise.core.quantize.stage import quantize_iteration

    splits = defect_splits()
    model, _ = trained_defectnet(splits)
    project = project_with(model, root / "story")
    with project:
        prune_iteration(project, PruneSpec(remove=REMOVE, finetune_epochs=FINETUNE_EPOCHS), splits=splits)
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=256)))
        return project.path


def _worker_figures(root: Path) -> dict:
    import onnx

    from foldwise.core.finn import build
    from foldwise.core.finn.worker import FinnWorker
    from foldwise.core.finn.zoo import export_zoo_model

    cnv = export_zoo_model("cnv_1w1a", root / "cnv_w1a1.onnx")
    tfc = export_zoo_model("tfc_1w1a", root / "tfc_w1a1.onnx")
    others = []
    for i in range(EXTRA_MODELS):
        model = onnx.load(str(tfc))
        model.doc_string = f"copy {i}"
        others.append(root / f"tfc-{i}.onnx")
        onnx.save(model, str(others[-1]))
    with FinnWorker(state_dir=root / "worker") as worker:
        started = time.perf_counter()
        rep = build.estimate(cnv, build_dir=root / "cnv-estimate", worker=worker)
        nodes = build.hw_nodes(cnv, worker=worker)
        tables = build.option_tables(cnv, worker=worker)
        build.reestimate(cnv, rep.folding, worker=worker)
        cnv_seconds = time.perf_counter() - started
        pid = worker.pid
        cnv_peak, cnv_rss = _kib(pid, "VmHWM"), _kib(pid, "VmRSS")
        sizes = []
        for path in others:
            build.hw_nodes(path, worker=worker)
            sizes.append(_mb(_kib(pid, "VmRSS")))
        cached = worker.request("info", {})["cached_models"]
        after_peak, after_rss = _kib(pid, "VmHWM"), _kib(pid, "VmRSS")
    return {"cnv_peak_mb": _mb(cnv_peak), "cnv_rss_mb": _mb(cnv_rss), "cnv_seconds": round(cnv_seconds, 1),
            "cnv_nodes": len(nodes.nodes), "cnv_choices": sum(len(t["options"]) for t in tables),
            "rss_after_each_extra_model_mb": sizes, "cached_models_after": cached,
            "peak_after_extra_models_mb": _mb(after_peak), "rss_after_extra_models_mb": _mb(after_rss),
            "fps_estimated": round(rep.fps.value, 1) if rep.fps else None}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-memory-") as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        sys.path.insert(0, str(REPO))
        path = _story_project(root)
        env = with_bytecode({**os.environ, "QT_QPA_PLATFORM": "offscreen",
                             "PYTHONPATH": os.pathsep.join([str(REPO / "app"), str(REPO)])}, root / "pycache")
        proc = subprocess.run([sys.executable, __file__, "--gui", str(path)], capture_output=True, text=True,
                              env=env, timeout=TIMEOUT_S + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"GUI trial failed:\n{proc.stderr[-3000:]}")
        gui = json.loads(proc.stdout[proc.stdout.index("{"):])
        worker = _worker_figures(root)
    from foldwise.core.finn.answers_cache import LIMIT

    bounded = worker["cached_models_after"] <= 4
    report(
        "Peak RSS: GUI with the story project open (every stage shown, Build ready) / its FINN worker; "
        "a FINN worker with CNV-w1a1 estimated and tabulated",
        {"gui_peak_mb": gui["gui_peak_mb"], "gui_worker_peak_mb": gui["worker_peak_mb"],
         "cnv_worker_peak_mb": worker["cnv_peak_mb"]},
        "reported; the worker's caches bounded", bounded and gui["build_ready"],
        measured=f"GUI {gui['gui_peak_mb']:.0f} MB, its worker {gui['worker_peak_mb']:.0f} MB; CNV-w1a1 worker "
                 f"{worker['cnv_peak_mb']:.0f} MB peak; after {EXTRA_MODELS} more models it keeps "
                 f"{worker['cached_models_after']} (≤ 4) at {worker['rss_after_extra_models_mb']:.0f} MB RSS",
        gui=gui, worker=worker, answers_on_disk_limit_files=LIMIT, source="measured",
        how=__doc__.split("\n\n")[1].replace("\n", " "))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--gui":
        print(json.dumps(gui_trial(Path(sys.argv[2]))))
    else:
        main()
