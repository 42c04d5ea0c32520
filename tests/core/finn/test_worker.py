"""FinnWorker: estimates equal finn-plus run directly; protocol survives FINN's stdout takeover; cancel; crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from foldwise.core.errors import Cancelled, FoldwiseError, InputError
from foldwise.core.finn import build
from foldwise.core.finn.worker import FinnWorker

from .conftest import DIRECT_FINN, Recorder

REPORTS = ("estimate_network_performance.json", "estimate_layer_cycles.json", "estimate_layer_resources.json",
           "op_and_param_counts.json", "auto_folding_config.json")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie awaiting its reaper counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def test_tfc_estimate_equals_direct_finn(finn_worker, tfc_model, tmp_path, recorder: Recorder) -> None:
    report = build.estimate(tfc_model, board="Pynq-Z2", clock_mhz=100, target_fps=100_000,
                            build_dir=tmp_path / "foldwise", worker=finn_worker, ctx=recorder.ctx)
    direct = subprocess.run(
        [sys.executable, str(DIRECT_FINN), str(tfc_model), str(tmp_path / "direct"), "Pynq-Z2", "10.0",
         "--target-fps", "100000"], capture_output=True, text=True, timeout=240,
    )
    assert direct.returncode == 0, direct.stdout[-2000:] + direct.stderr[-2000:]
    for name in REPORTS:
        ours = json.loads((tmp_path / "foldwise" / "report" / name).read_text())
        theirs = json.loads((tmp_path / "direct" / "report" / name).read_text())
        assert ours == theirs, name
    perf = json.loads((tmp_path / "direct" / "report" / REPORTS[0]).read_text())
    assert report.fps is not None and report.fps.source == "estimated"
    assert report.fps.value == pytest.approx(perf["estimated_throughput_fps"])
    assert report.bottleneck == perf["max_cycles_node_name"]
    assert report.utilization_pct["LUT"] == pytest.approx(100 * report.resources["LUT"].value / 53_200)
    # progress came from FINN's "Running step: <name> [i/N]" lines, in order
    steps = [m for _, m in recorder.progress if m.startswith("step_")]
    assert steps[0].startswith("step_qonnx_to_finn [1/11]") and steps[-1].endswith("[11/11]")
    fractions = [f for f, _ in recorder.progress]
    assert fractions == sorted(fractions)
    assert any("Running step" in line for line in recorder.lines)
    # the build dir keeps reports, log, timing and what Foldwise asked for; not the intermediate models
    assert (tmp_path / "foldwise" / "build_dataflow.log").is_file()
    assert (tmp_path / "foldwise" / "report" / "time_per_step.json").is_file()
    assert not (tmp_path / "foldwise" / "intermediate_models").exists()
    assert json.loads((tmp_path / "foldwise" / "foldwise_build.json").read_text())["target_fps"] == 100_000


def test_protocol_survives_prints_and_fd1_output(tmp_path, recorder: Recorder) -> None:
    with FinnWorker(state_dir=tmp_path, env={"FOLDWISE_FINN_WORKER_LIGHT": "1"}) as worker:
        result = worker.request("debug", {"action": "print", "text": '{"event": "result"} not json'},
                                recorder.ctx)
        assert result["echo"]["action"] == "print"
        time.sleep(0.2)  # the fd-1 line arrives on the log pipe, asynchronously
        assert any("not json" in line for line in recorder.lines)
        assert "raw fd1 output" in (tmp_path / "worker.log").read_text()


def test_cancel_kills_the_worker_process_tree_and_restarts(tmp_path) -> None:
    recorder = Recorder()
    with FinnWorker(state_dir=tmp_path, env={"FOLDWISE_FINN_WORKER_LIGHT": "1"}) as worker:
        worker.request("debug", {"action": "echo"})
        worker_pid = worker.pid
        threading.Timer(1.0, recorder.ctx.cancel).start()
        with pytest.raises(Cancelled):
            worker.request("debug", {"action": "sleep", "seconds": 60}, recorder.ctx)
        grandchild = int(next(line for line in recorder.lines if "grandchild pid" in line).split()[-1])
        deadline = time.monotonic() + 5
        while (_alive(grandchild) or _alive(worker_pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker_pid)
        assert not _alive(grandchild)
        assert worker.request("debug", {"action": "echo"})["echo"] == {"action": "echo"}
        assert worker.starts == 2 and worker.pid != worker_pid


def test_crash_raises_with_log_kept_then_restarts(tmp_path) -> None:
    with FinnWorker(state_dir=tmp_path, env={"FOLDWISE_FINN_WORKER_LIGHT": "1"}) as worker:
        with pytest.raises(FoldwiseError, match=r"died \(exit code 3\).*log kept") as info:
            worker.request("debug", {"action": "crash", "code": 3})
        assert not isinstance(info.value, Cancelled)
        assert "about to crash" in (tmp_path / "worker.log").read_text()
        assert worker.request("debug", {"action": "echo"})["echo"]["action"] == "echo"
        with pytest.raises(InputError, match="needs FINN"):
            worker.request("estimate", {})


def test_missing_model_is_an_input_error(finn_worker, tmp_path) -> None:
    with pytest.raises(InputError, match="not found"):
        build.estimate(tmp_path / "nope.onnx", worker=finn_worker)
    with pytest.raises(InputError, match="not found"):
        finn_worker.request("estimate", {"model": str(tmp_path / "nope.onnx"), "output_dir": str(tmp_path)})


@pytest.mark.slow
def test_the_worker_keeps_at_most_four_prepared_models_least_recently_used_out(finn_worker, tfc_model,
                                                                                tmp_path) -> None:
    import onnx

    from foldwise.core.hashing import sha256_file

    paths = []
    for i in range(5):  # the same graph, other bytes: five models to the worker
        model = onnx.load(str(tfc_model))
        model.doc_string = f"copy {i}"
        paths.append(tmp_path / f"tfc-{i}.onnx")
        onnx.save(model, str(paths[-1]))
    for path in paths[:4]:
        build.hw_nodes(path, worker=finn_worker)
    build.hw_nodes(paths[0], worker=finn_worker)  # used again: now the most recent
    build.hw_nodes(paths[4], worker=finn_worker)  # a fifth: copy 1, the least recently used, goes
    cached = finn_worker.request("info", {})["cached"]
    assert len(cached) == 4
    assert cached[-2:] == [sha256_file(paths[0]), sha256_file(paths[4])]
    assert sha256_file(paths[1]) not in cached
