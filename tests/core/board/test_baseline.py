"""Baselines: the host (torch + ONNX Runtime) on LeNet5, and a device over SSH (a test sshd) with ONNX Runtime,
the numpy fallback, a fake INA3221 for measured power, and the failures a real device gives."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from foldwise.core.board.baseline import BaselineError, BaselineSpec, run_baseline
from foldwise.core.board.baseline_table import baseline_rows, format_table
from foldwise.core.board.profiles import BoardProfile, save_board
from foldwise.core.board.runs import Figure, list_runs
from foldwise.core.errors import InputError
from foldwise.core.project import Project
from foldwise.core.remote.target import HostUnreachableError
from tests.core.board.test_power_sensors import jetson_hwmon_tree
from tests.pynq_board import profile_for

FAKE_SYS = "/usr/local/share/fake-sys"  # /sys cannot be overlaid: the device's sysfs root in tests
NO_ORT = "/usr/local/share/no-ort"  # a Python with numpy but no onnxruntime, like a PYNQ image's


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "runs" not in p.relative_to(folder).parts}


def test_host_baseline_of_quantized_lenet(quantized_lenet) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        iteration = project.current
        before = _files(iteration.folder)
        steps: list[str] = []
        from foldwise.core.jobs import JobContext

        record = run_baseline(project, BaselineSpec(runs=20, warmup=3, power_w=2.5),
                              JobContext(on_progress=lambda f, m: steps.append(m)))
        assert _files(iteration.folder) == before  # the iteration itself is never changed
        assert record.kind == "baseline" and record.device == "host" and record.device_kind == "host"
        assert record.folder.parent == iteration.folder / "runs" / "host"
        assert (record.folder / "model.onnx").is_file() and (record.folder / "inputs.npy").is_file()
        assert [r["runtime"].split()[0] for r in record.rows] == ["torch", "onnxruntime"]
        assert record.info["model"] == "lenet5 W4A4" and record.info["quantized"] is True
        assert record.info["runtime"].startswith("onnxruntime") and record.info["runs"] == 20
        time = record.figures["time_ms"]
        assert time.source == "measured" and time.unit == "ms" and 0 < time.value < 1000
        assert record.figures["time_p95_ms"].value >= time.value
        assert record.figures["power_w"] == Figure(2.5, "W", "entered")
        assert record.figures["energy_mj"].value == pytest.approx(2.5 * time.value)
        assert record.figures["energy_mj"].source == "entered"
        assert record.info["export_vs_torch"]["top1"] >= 0.9
        assert any("timing torch" in s for s in steps) and steps[-1].endswith("ms per inference")
        rows = baseline_rows(iteration)
        assert [(r.device, r.runtime.split()[0]) for r in rows] == [("host", "torch"), ("host", "onnxruntime")]
        table = format_table(rows)
        assert "lenet5 W4A4" in table and "(entered)" in table and "(measured)" in table


def test_host_baseline_of_a_float_iteration_with_a_sensor_and_the_numpy_runtime(trained_lenet, tmp_path) -> None:
    sysfs = jetson_hwmon_tree(tmp_path / "sys")  # 5 V × 1.2 A on the input rail
    with Project.open(trained_lenet, read_only=True) as project:
        record = run_baseline(project, BaselineSpec(runtime="numpy", runs=10, warmup=2, power_w=99.0,
                                                    sysfs_root=str(sysfs), power_seconds=0.05))
    assert record.info["model"] == "lenet5 float" and record.info["quantized"] is False
    assert record.info["runtime"].startswith("numpy") and "(fallback)" in record.info["runtime"]
    assert record.figures["power_w"] == Figure(pytest.approx(6.0), "W", "measured")  # the sensor wins
    assert "INA3221 VDD_IN" in record.info["power_source"]
    assert record.figures["energy_mj"].value == pytest.approx(6.0 * record.figures["time_ms"].value)
    assert record.info["export_vs_torch"]["max_abs_diff"] < 1e-4  # the fallback computes the float net


def test_refusals_come_before_anything_is_written(quantized_lenet, tmp_path) -> None:
    save_board(BoardProfile.create("gone", "127.0.0.1", port=1, connect_timeout=3.0, agent=True))
    with Project.open(quantized_lenet, read_only=True) as project:
        for spec, error in ((BaselineSpec(power_w=-1.0), "--power-w must be a positive"),
                            (BaselineSpec(power_w=float("nan")), "--power-w must be a positive"),
                            (BaselineSpec(runs=0), "--runs must be at least 1"),
                            (BaselineSpec(runtime="tflite"), "unknown runtime 'tflite'"),
                            (BaselineSpec(device="nope"), "no board named 'nope'"),
                            (BaselineSpec(iteration="0099"), "no iteration '0099'")):
            with pytest.raises(InputError, match=error):
                run_baseline(project, spec)
        with pytest.raises(HostUnreachableError, match="connection refused"):
            run_baseline(project, BaselineSpec(device="gone"))
        assert list_runs(project.current) == []
    with Project.create(tmp_path / "empty") as empty, pytest.raises(InputError, match="no trained network yet"):
        run_baseline(empty, BaselineSpec())


def _no_ort_python() -> str:
    return f"#!/bin/sh\nPYTHONPATH={NO_ORT} exec {sys.executable} \"$@\"\n"


@pytest.fixture
def device(sshd_factory):
    """A Linux device on loopback (this machine's own account, root in the tests) with a Jetson-like INA3221
    under FAKE_SYS and, at NO_ORT, a Python that has numpy but not ONNX Runtime."""
    server = sshd_factory(overlays=["/usr/local/share"], files={
        f"{NO_ORT}/onnxruntime.py": "raise ImportError('No module named onnxruntime')\n",
        f"{NO_ORT}/python": _no_ort_python(),
    })
    server.path(f"{NO_ORT}/python").chmod(0o755)
    jetson_hwmon_tree(server.path(FAKE_SYS))
    board = BoardProfile.create("loop", server.host, user=server.user, port=server.port, key=server.client_key,
                                known_hosts=server.known_hosts, connect_timeout=5.0, python=sys.executable)
    save_board(board)
    return server


def test_device_baseline_with_onnxruntime_and_measured_power(device, quantized_lenet) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        record = run_baseline(project, BaselineSpec(device="loop", runs=20, warmup=2, sysfs_root=FAKE_SYS,
                                                    power_seconds=0.05))
    assert record.device == "loop" and record.device_kind == "linux" and record.status == "done"
    assert record.info["runtime"].startswith("onnxruntime") and record.info["runtime_why"] == "installed"
    assert record.info["python"] == sys.executable
    assert record.info["agreement_with_host"] == {"top1": 1.0, "max_abs_diff": 0.0, "against": "host onnxruntime"}
    assert record.figures["power_w"].source == "measured" and record.figures["power_w"].value == pytest.approx(6.0)
    assert record.figures["energy_mj"].value == pytest.approx(6.0 * record.figures["time_ms"].value)
    assert (record.folder / "remote.log").is_file()
    # one connection: the folder made, the files sent over SFTP, one command run; the folder removed after
    starts = [line for line in device.log().splitlines() if "Starting session: command" in line]
    assert len(starts) == 2 and "Accepted publickey" in device.log()
    assert not [p for p in device.home.glob("foldwise/baselines/*") if p.name.endswith(record.folder.name)]


def test_device_without_onnxruntime_falls_back_to_numpy_and_says_so(device, quantized_lenet) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        fallback = run_baseline(project, BaselineSpec(device="loop", runs=10, warmup=1, python=f"{NO_ORT}/python"))
        with pytest.raises(BaselineError, match=r"onnxruntime is not installed .*use --runtime numpy"):
            run_baseline(project, BaselineSpec(device="loop", runtime="onnxruntime", python=f"{NO_ORT}/python"))
        rows = baseline_rows(project.current)
    assert fallback.info["runtime"].startswith("numpy") and fallback.info["runtime"].endswith("(fallback)")
    assert fallback.info["runtime_why"] == "fallback: onnxruntime is not installed"
    assert "power_w" not in fallback.figures  # no sensor under /sys here, nothing entered: no power at all
    # checked against the same fallback on the host, on the same inputs
    assert fallback.info["agreement_with_host"] == {"top1": 1.0, "max_abs_diff": 0.0, "against": "host numpy fallback"}
    assert [(r.device, r.runtime.split()[0], r.power_w) for r in rows] == [("loop", "numpy", None)]
    assert "none" in format_table(rows)


def test_a_device_without_numpy_gets_the_fix_and_the_failure_is_recorded(pynq_board, quantized_lenet) -> None:
    server = pynq_board()  # the fake PYNQ's venv python is this machine's /usr/bin/python3: no numpy
    save_board(profile_for(server))
    with Project.open(quantized_lenet, read_only=True) as project:
        with pytest.raises(BaselineError, match=r"no Python with numpy \(tried /usr/local/share/pynq-venv/bin/"
                                                r"python3, python3\).*--python PATH"):
            run_baseline(project, BaselineSpec(device="z2"), password="xilinx")
        failed = list_runs(project.current)
        assert [(r.device, r.status) for r in failed] == [("z2", "failed")]
        assert "no Python with numpy" in failed[0].error
        assert baseline_rows(project.current) == []  # a failed run is no row of the table
    assert list(server.path("/home/xilinx").glob("foldwise/baselines/*")) == []


def test_a_run_past_its_timeout_is_killed_and_cleaned_up(device, quantized_lenet) -> None:
    from foldwise.core.remote.target import SshError

    with Project.open(quantized_lenet, read_only=True) as project:
        with pytest.raises(SshError, match="timed out after 6 s"):
            run_baseline(project, BaselineSpec(device="loop", runs=10**8, warmup=0, timeout=6.0))
        failed = list_runs(project.current)
    assert [(r.device, r.status) for r in failed] == [("loop", "failed")] and "timed out" in failed[0].error
    name = failed[0].folder.name
    assert not [p for p in device.home.glob("foldwise/baselines/*") if p.name.endswith(name)]
    import psutil

    left = [psutil.Process(pid).cmdline() for pid in device.session_pids() if psutil.pid_exists(pid)]
    assert not [c for c in left if any("baseline_remote.py" in part for part in c)]
