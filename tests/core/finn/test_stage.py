"""The Build stage without FINN: build kinds and their old names, the config's checks, build folders picked
in core, kept builds read from their records (also those the Build panel made as ``codegen``), saved hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foldwise.core.errors import InputError
from foldwise.core.finn import hosts
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.stage import BuildRecord, build_folder, builds_for, list_builds, new_build_dir
from foldwise.core.project import IterationKind, Project


def test_one_name_per_kind_and_the_old_names_are_read() -> None:
    assert [k.value for k in BuildKind] == ["estimate", "hls", "bitfile"]
    assert BuildKind.parse("codegen") is BuildKind.parse("hls_codegen") is BuildKind.HLS
    assert BuildKind.parse("full_build") is BuildKind.BITFILE and BuildKind.HLS.request == "hls_codegen"
    assert BuildConfig(kind="codegen").kind is BuildKind.HLS
    with pytest.raises(InputError, match="unknown build kind 'gds'"):
        BuildKind.parse("gds")


def test_config_checks_and_keeps_long_builds_resumable() -> None:
    assert not BuildConfig().keep and BuildConfig(kind=BuildKind.HLS).keep
    assert BuildConfig(start_step="step_tidy_up").keep and not BuildConfig(kind="bitfile", keep_intermediate=False).keep
    for bad, match in (({"folding": {"Defaults": {}}, "target_fps": 10}, "not both"),
                       ({"clock_mhz": 5000}, "out of range"), ({"target_fps": 0}, "positive"),
                       ({"board": "nope"}, "nope")):
        with pytest.raises(InputError, match=match):
            BuildConfig(**bad).check()
    host = RemoteBuildHost.parse("me@h:2200", password="secret")
    data = json.loads(json.dumps(BuildConfig(kind="hls", host=host, out_dir=Path("/b")).to_dict()))
    assert "secret" not in json.dumps(data)
    again = BuildConfig.from_dict(data)
    assert (again.kind, again.host.display, again.out_dir) == (BuildKind.HLS, "me@h:2200", Path("/b"))


def _project_with_builds(tmp_path: Path) -> tuple[Project, Path]:
    project = Project.create(tmp_path / "proj", name="p")
    with project.new_iteration("quantized", "w1a1", change={"stage": "quantize"}) as draft:
        (draft.folder / "model.qonnx.onnx").write_bytes(b"onnx")
    builds = project.current.folder / "builds"
    gui_hls = builds / "20261101-101010-codegen-Pynq-Z2-100MHz"  # made by the Build panel before the rename
    (gui_hls / "report").mkdir(parents=True)
    (gui_hls / "report" / "estimate_network_performance.json").write_text(json.dumps(
        {"estimated_throughput_fps": 1234.5}))
    (gui_hls / "foldwise_build.json").write_text(json.dumps({"kind": "hls_codegen", "board": "Pynq-Z2",
                                                            "clock_ns": 10.0}))
    cancelled = builds / "20261101-111111-estimate-Pynq-Z2-200MHz"
    cancelled.mkdir()
    (cancelled / "foldwise_remote.json").write_text(json.dumps(
        {"host": {"host": "127.0.0.1", "port": 2222, "user": "me"}, "python": "/opt/py", "remote_dir": "/r",
         "kind": "estimate", "board": "Pynq-Z2", "clock_mhz": 200.0, "status": "cancelled"}))
    (cancelled / "remote_build.log").write_text("Running step: step_qonnx_to_finn [1/11]\n"
                                                "Running step: step_tidy_up [2/11]\n")
    return project, gui_hls


def test_kept_builds_are_read_in_core_old_names_included(tmp_path: Path) -> None:
    project, gui_hls = _project_with_builds(tmp_path)
    try:
        newest, old = list_builds(project.current)
        assert (old.folder, old.kind, old.board, old.clock_mhz, old.fps, old.ok) == (
            gui_hls, BuildKind.HLS, "Pynq-Z2", 100.0, 1234.5, True)
        assert (newest.kind, newest.clock_mhz, newest.status, newest.ok, newest.host) == (
            BuildKind.ESTIMATE, 200.0, "cancelled", False, "me@127.0.0.1:2222")
        assert newest.resume_step == "step_tidy_up" and old.resume_step is None
        host = newest.build_host()
        assert (host.display, host.python, host.remote_dir) == ("me@127.0.0.1:2222", "/opt/py", "/r")
        # `build --start-step` finds the HLS build the Build panel made as "codegen"
        config = BuildConfig(kind=BuildKind.HLS, start_step="step_hw_codegen")
        assert build_folder(project.current.folder / "model.qonnx.onnx", project.current, config) == gui_hls
        with pytest.raises(InputError, match="no bitfile build for Pynq-Z2 at 100 MHz to resume"):
            build_folder(Path("m.onnx"), project.current, config.with_(kind=BuildKind.BITFILE))
        fresh = build_folder(Path("m.onnx"), project.current, BuildConfig(kind="hls"))
        assert fresh.parent == gui_hls.parent and fresh.name.endswith("-hls-Pynq-Z2-100MHz")
    finally:
        project.close()


def test_a_model_files_builds_sit_next_to_it(tmp_path: Path) -> None:
    model = tmp_path / "tfc.onnx"
    model.write_bytes(b"onnx")
    assert build_folder(model, None, BuildConfig(kind="hls", clock_mhz=125)) == tmp_path / "tfc.finn" / (
        "hls-Pynq-Z2-125MHz")
    assert build_folder(model, None, BuildConfig(out_dir=tmp_path / "x")) == tmp_path / "x"
    with pytest.raises(InputError, match="no build to resume"):
        build_folder(model, None, BuildConfig(start_step="step_tidy_up"))
    (tmp_path / "tfc.finn" / "estimate-Pynq-Z2-100MHz").mkdir(parents=True)
    assert [b.kind for b in builds_for(model)] == [BuildKind.ESTIMATE]
    assert BuildRecord.read(tmp_path / "tfc.finn" / "estimate-Pynq-Z2-100MHz").status == "failed"


def test_saved_hosts_round_trip_without_passwords(tmp_path: Path) -> None:
    assert hosts.saved_hosts() == []
    first = RemoteBuildHost.parse("me@h:2200", python="/p", env={"A": "1"}, password="secret", name="lab")
    hosts.save_host(first)
    hosts.save_host(RemoteBuildHost.parse("you@other"))
    assert "secret" not in hosts.hosts_path().read_text()
    assert [h.name for h in hosts.saved_hosts()] == ["lab", "you@other:22"]
    found = hosts.find_host("lab")
    assert (found.display, found.python, found.env, found.target.password) == ("me@h:2200", "/p", {"A": "1"}, None)
    assert hosts.find_host("me@h:2200").name == "lab" and hosts.find_host("nobody") is None
    hosts.save_host(RemoteBuildHost.parse("me@h:2201", name="lab"))  # same name: replaced
    assert [h.display for h in hosts.saved_hosts()] == ["you@other:22", "me@h:2201"]
    assert hosts.remove_host("lab") and not hosts.remove_host("lab")
    hosts.hosts_path().write_text("{not json")
    with pytest.raises(InputError, match="cannot be read"):
        hosts.saved_hosts()


def test_a_local_build_records_its_config_and_resumes_through_the_same_call(finn_worker, tfc_model,
                                                                            tmp_path: Path) -> None:
    from foldwise.core.finn.stage import build

    config = BuildConfig(target_fps=100_000, keep_intermediate=True, out_dir=tmp_path / "b")
    report = build(tfc_model, config)
    record = BuildRecord.read(tmp_path / "b")
    assert record.ok and record.kind is BuildKind.ESTIMATE and record.record["kind"] == "estimate"
    again = record.config()
    assert (again.target_fps, again.keep_intermediate, again.host) == (100_000, True, None)
    resumed = build(tfc_model, again.with_(start_step="step_generate_estimate_reports"))
    assert resumed.fps.value == pytest.approx(report.fps.value)
    assert "step_generate_estimate_reports" in (tmp_path / "b" / "resume_build.log").read_text()


def test_builds_started_in_the_same_second_get_folders_of_their_own(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Two estimates (two processes, or the GUI and the CLI) started in one second never share a build folder:
    each gets its own, made atomically (issue #15, reproduction 2)."""
    import multiprocessing
    import time

    with Project.create(tmp_path / "p") as project, project.new_iteration(IterationKind.QUANTIZED, "w4a4"):
        pass
    with Project.open(tmp_path / "p", read_only=True) as project:
        iteration = project.current
    assert iteration is not None
    monkeypatch.setattr(time, "strftime", lambda _fmt: "20261201-210643")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        folders = pool.starmap(new_build_dir, [(iteration, "estimate", "Pynq-Z2", 100.0)] * 8)
    assert len(set(folders)) == 8 and all(Path(f).is_dir() for f in folders)
    assert sorted(Path(f).name for f in folders)[:2] == ["20261201-210643-estimate-Pynq-Z2-100MHz",
                                                          "20261201-210643-estimate-Pynq-Z2-100MHz-2"]


@pytest.mark.parametrize(("files", "exc", "kept"), [
    (["foldwise_config.json"], RuntimeError("worker did not start"), False),  # FINN never started
    (["foldwise_config.json", "build_dataflow.log"], KeyboardInterrupt(), False),  # stopped, nothing to resume
    (["foldwise_config.json", "intermediate_models/step_tidy_up.onnx"], OSError(28, "No space left on device"),
     False),  # a full disk: the space is worth more than half a build
    (["foldwise_config.json", "intermediate_models/step_tidy_up.onnx"], RuntimeError("FINN failed"), True),
])
def test_a_failed_build_leaves_its_folder_only_when_it_holds_something_to_read_or_resume(
        tmp_path: Path, files: list[str], exc: BaseException, kept: bool) -> None:
    """A fresh build that fails (issue #15: 'a failed estimate leaves a partial build folder') is removed unless
    FINN kept a model to resume from and the failure was not a full disk; a kept one says failed and why."""
    from foldwise.core.finn.stage import FAILURE_RECORD, record_failure

    folder = tmp_path / "b"
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("x")
    record_failure(folder, exc, remove_if_empty=True)
    assert folder.exists() is kept
    if kept:
        record = json.loads((folder / FAILURE_RECORD).read_text())
        assert record["status"] == "failed" and record["error"] == "FINN failed"
        assert BuildRecord.read(folder).status == "failed"
