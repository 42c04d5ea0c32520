"""Remote FINN builds over the test sshd: the "build host" is this machine reached through 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from foldwise.core.errors import Cancelled, InputError, ToolMissingError
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.remote_build import REMOTE_RECORD, check_build_host, runtime_id
from foldwise.core.finn.stage import build
from foldwise.core.jobs import JobContext
from tests.core.remote.conftest import target_for
from tests.preconditions import NO_XILINX
from tests.sshd import SshServer


@pytest.fixture
def dummy_model(tmp_path: Path) -> Path:
    """A one-node ONNX model: it passes the parent-side checks; for tests that stop before FINN reads it."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "dummy", [x], [y])
    path = tmp_path / "dummy.onnx"
    onnx.save(helper.make_model(graph), str(path))
    return path


def _host(server: SshServer, tmp_path: Path, python: str = sys.executable) -> RemoteBuildHost:
    return RemoteBuildHost(target_for(server), python=python, remote_dir=str(tmp_path / "remote"))


@pytest.fixture(scope="module")
def python_without_finn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A venv of this Python without finn-plus (its base interpreter has none)."""
    venv = tmp_path_factory.mktemp("nofinn") / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    has_finn = subprocess.run([str(python), "-c", "import finn"], capture_output=True).returncode == 0
    assert not has_finn, "this test needs a base interpreter without finn-plus (install it only in the venv)"
    return str(python)


def test_build_kind_is_the_largest_output() -> None:
    assert BuildKind.for_outputs(["estimate"]) == "estimate"
    assert BuildKind.for_outputs(["hls", "estimate"]) == "hls"
    assert BuildKind.for_outputs(["estimate", "bitfile", "hls"]) == "bitfile"
    with pytest.raises(InputError, match="unknown build output"):
        BuildKind.for_outputs(["gds"])


def test_round_trip_of_host_settings() -> None:
    host = RemoteBuildHost.parse("me@h:2200", python=". ~/f/bin/activate && python", env={"FINN_DEPS": "/x"},
                                 password="secret", identity=Path("/k"))
    data = json.loads(json.dumps(host.to_dict()))
    assert "secret" not in json.dumps(data)
    again = RemoteBuildHost.from_dict(data)
    assert (again.target.display, again.python, again.env, again.target.identity) == (
        "me@h:2200", host.python, {"FINN_DEPS": "/x"}, Path("/k"))


def test_host_check_finds_finn_and_ships_the_runner_once(build_sshd: SshServer, tmp_path: Path) -> None:
    host = _host(build_sshd, tmp_path)
    check = check_build_host(host)
    assert check.ok and check.finn_version == "1.6.1"
    assert check.home == str(build_sshd.home) and check.host_fingerprint
    assert check.can_build("estimate") and check.can_build("hls")
    assert check.outputs["bitfile"]["available"] is False or check.can_build("bitfile")
    runtime = tmp_path / "remote" / f"runtime-{runtime_id()}"
    assert (runtime / ".complete").is_file()
    assert (runtime / "foldwise" / "core" / "finn" / "runner.py").is_file()
    assert not (runtime / "foldwise" / "core" / "remote").exists()  # SSH stays on this side
    stamp = (runtime / ".complete").stat().st_mtime_ns
    check_build_host(host)
    assert (runtime / ".complete").stat().st_mtime_ns == stamp  # not shipped again


def test_host_without_finn_is_reported_clearly(build_sshd: SshServer, tmp_path: Path, python_without_finn: str,
                                               dummy_model: Path) -> None:
    host = _host(build_sshd, tmp_path, python=python_without_finn)
    check = check_build_host(host)
    assert not check.ok and "No module named 'finn'" in (check.finn_error or "")
    with pytest.raises(ToolMissingError) as info:
        build(dummy_model, BuildConfig(host=host, out_dir=tmp_path / "b"))
    message = str(info.value)
    assert f"finn-plus is not usable with `{python_without_finn}` on build host {build_sshd.user}@127.0.0.1" in message
    assert "--remote-python" in message and not (tmp_path / "b").exists()
    missing = check_build_host(_host(build_sshd, tmp_path, python="/nonexistent/python3"))
    assert not missing.ok and "`/nonexistent/python3` did not run" in (missing.finn_error or "")


def test_remote_bitfile_without_vivado_is_refused_before_building(build_sshd: SshServer, tmp_path: Path,
                                                                  dummy_model: Path) -> None:
    host = _host(build_sshd, tmp_path)
    assert not check_build_host(host).outputs["bitfile"]["available"], NO_XILINX
    with pytest.raises(ToolMissingError, match="cannot build a bitfile for Pynq-Z2: it lacks vivado"):
        build(dummy_model, BuildConfig(kind=BuildKind.BITFILE, host=host, out_dir=tmp_path / "b"))


def test_start_step_checks(tmp_path: Path) -> None:
    from foldwise.core.finn.runner import check_resumable

    def step_a() -> None: ...

    def step_b() -> None: ...

    def step_c() -> None: ...

    steps = [step_a, step_b, step_c]
    with pytest.raises(InputError, match="step_x is not a step of this build; its steps are: step_a, step_b"):
        check_resumable("step_x", steps, tmp_path)
    with pytest.raises(InputError, match="first step"):
        check_resumable("step_a", steps, tmp_path)
    with pytest.raises(InputError, match="kept no intermediate models"):
        check_resumable("step_c", steps, tmp_path)
    (tmp_path / "intermediate_models").mkdir()
    (tmp_path / "intermediate_models" / "step_a.onnx").write_bytes(b"")
    with pytest.raises(InputError, match=r"model saved after step_b .* \(it kept: step_a\)"):
        check_resumable("step_c", steps, tmp_path)
    check_resumable("step_b", steps, tmp_path)


def test_resume_needs_a_kept_build(build_sshd: SshServer, tmp_path: Path, dummy_model: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no remote build"):
        build(dummy_model, BuildConfig(host=_host(build_sshd, tmp_path), out_dir=empty, start_step="step_tidy_up"))
    with pytest.raises(InputError, match="kept no intermediate models"):
        build(dummy_model, BuildConfig(out_dir=empty, start_step="step_tidy_up"))
    (empty / REMOTE_RECORD).write_text(json.dumps({"host": {"host": "127.0.0.1", "port": 22}}))
    with pytest.raises(InputError, match="resume it there"):
        build(dummy_model, BuildConfig(out_dir=empty, start_step="step_tidy_up"))


def test_local_runner_streams_events_and_cancel_kills_its_tree(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner transport resumed local builds use, in the worker's FINN-free protocol mode."""
    import psutil

    from foldwise.core.finn.runner_client import run_local

    monkeypatch.setenv("FOLDWISE_FINN_WORKER_LIGHT", "1")
    lines: list[str] = []
    result = run_local({"action": "print", "text": "hello"}, "debug", tmp_path, sys.executable,
                           JobContext(on_log=lines.append), timeout=60)
    assert result["echo"] == {"action": "print", "text": "hello"}
    assert "hello" in lines and "raw fd1 output" in lines  # Python-level and C-level output both arrive
    ctx = JobContext(on_log=lines.append)

    def cancel_when_sleeping() -> None:
        while not any(ln.startswith("grandchild pid") for ln in lines):
            time.sleep(0.02)
        ctx.cancel()

    threading.Thread(target=cancel_when_sleeping, daemon=True).start()
    with pytest.raises(Cancelled):
        run_local({"action": "sleep", "seconds": 120}, "debug", tmp_path, sys.executable, ctx, timeout=60)
    grandchild = int(next(ln for ln in lines if ln.startswith("grandchild pid")).split()[2])
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(grandchild)
    assert "hello" in (tmp_path / "resume_build.log").read_text()


def test_cancel_mid_build_kills_the_remote_runner_then_resume(build_sshd: SshServer, tmp_path: Path,
                                                              tfc: Path) -> None:
    import psutil

    lines: list[str] = []
    steps: list[str] = []
    ctx = JobContext(on_progress=lambda _f, m: steps.append(m), on_log=lines.append)
    resume_at = "step_convert_to_hw"

    def cancel_at_step_4() -> None:
        while not any(m.startswith(resume_at) for m in steps):
            time.sleep(0.02)
        ctx.cancel()

    threading.Thread(target=cancel_at_step_4, daemon=True).start()
    host, build_dir = _host(build_sshd, tmp_path), tmp_path / "b"
    with pytest.raises(Cancelled):
        build(tfc, BuildConfig(host=host, target_fps=100_000, out_dir=build_dir, keep_intermediate=True,
                               timeout=120), ctx)
    runner_pid = int(next(ln for ln in lines if ln.startswith("--- FINN runner pid")).split()[4])
    deadline = time.monotonic() + 10
    while (psutil.pid_exists(runner_pid) or build_sshd.session_pids()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(runner_pid), "the remote FINN runner survived the cancel"
    assert build_sshd.session_pids() == [], "processes were left behind on the build host"
    record = json.loads((build_dir / REMOTE_RECORD).read_text())
    assert record["status"] == "cancelled"
    assert "Running step: step_tidy_up [2/11]" in (build_dir / "remote_build.log").read_text()
    assert not (build_dir / "report").exists()

    # FINN resumes at the step that was cut off, from the model it saved after the step before
    resumed_steps: list[str] = []
    report = build(tfc, BuildConfig(host=host, target_fps=100_000, out_dir=build_dir, start_step=resume_at),
                   JobContext(on_progress=lambda _f, m: resumed_steps.append(m)))
    assert next(m for m in resumed_steps if m.startswith("step_")) == f"{resume_at} [1/8]"
    assert report.fps is not None and report.fps.value == pytest.approx(111_607.14, rel=1e-6)
    again = json.loads((build_dir / REMOTE_RECORD).read_text())
    assert (again["status"], again["remote_build_dir"], again["start_step"]) == (
        "done", record["remote_build_dir"], resume_at)
