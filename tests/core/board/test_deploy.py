"""Deploy to a PYNQ-shaped test sshd: the emulated board runs FINN's dataflow model; a real one refuses it."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from foldwise.core.board.deploy import BoardRunError, DeploySpec, deploy
from foldwise.core.board.package import PACKAGE_DIR, make_package
from foldwise.core.board.profiles import save_board
from foldwise.core.board.runs import list_runs
from foldwise.core.errors import InputError
from foldwise.core.finn.stage import list_builds
from foldwise.core.project import Project
from tests.pynq_board import profile_for


def _emulator_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-f", "foldwise.core.board.emulator"], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def test_emulated_board_validates_like_the_host_and_profiles_against_the_estimate(
        estimated_defect: Path, pynq_board) -> None:
    save_board(profile_for(pynq_board(emulated=True), "emu"))
    with Project.open(estimated_defect) as project:
        result = deploy(project, DeploySpec("emu", batches=(1, 3), validate=True, images=24, password="xilinx"))
        runs = list_runs(project.current, "emu")
    assert result.emulated and result.accelerator == "dataflow-model"
    throughput, validation = result.runs
    assert [r["batch_size"] for r in throughput.rows] == [1, 3]
    figures = throughput.figures
    assert figures["fps"].source == "emulated" and figures["fps"].value > 0
    assert figures["fps_estimated"].source == "estimated"
    assert figures["fps_ratio"].value == pytest.approx(figures["fps"].value / figures["fps_estimated"].value)
    assert figures["compute_ms"].value > 0 and figures["compute_ms"].source == "emulated"
    # FINN's dataflow model computes what the quantized network computes: same classes on every image
    assert validation.info["images"] == 24
    assert validation.figures["agreement"].value == 1.0
    assert validation.figures["accuracy"].value == validation.figures["host_accuracy"].value
    assert validation.figures["accuracy"].source == "emulated"
    assert {r.kind for r in runs} == {"throughput", "validate"}
    assert all((r.folder / "run.log").is_file() for r in runs)


def test_a_real_board_refuses_a_package_without_a_bitfile_before_anything_is_pushed(
        estimated_defect: Path, pynq_board) -> None:
    server = pynq_board()
    save_board(profile_for(server, "real"))
    with Project.open(estimated_defect) as project, pytest.raises(InputError, match=r"real board.*no bitfile"):
        deploy(project, DeploySpec("real", password="xilinx"))
    assert not server.path("/home/xilinx/foldwise").exists()


def test_a_damaged_deployment_is_reported_then_repaired_by_the_next_push(estimated_defect: Path,
                                                                          pynq_board) -> None:
    server = pynq_board(emulated=True)
    save_board(profile_for(server, "emu"))
    spec = DeploySpec("emu", batches=(1,), password="xilinx")
    with Project.open(estimated_defect) as project:
        first = deploy(project, spec)
        on_board = server.path(first.push.deployment) / "emulation" / "dataflow_parent.onnx"
        on_board.write_bytes(b"damaged")
        again = deploy(project, spec)  # the push checks every file on the board and re-sends the bad one
    assert not again.push.unchanged and again.runs[0].status == "done"
    assert json.loads((Path(again.package) / "foldwise_package.json").read_text())["accelerator"] == \
        "dataflow-model"


def test_runner_killed_on_the_board_is_a_clear_error_and_the_next_run_works(estimated_defect: Path,
                                                                             pynq_board) -> None:
    save_board(profile_for(pynq_board(emulated=True), "emu"))
    before = set(_emulator_pids())
    errors: list[BaseException] = []

    def run() -> None:
        with Project.open(estimated_defect) as project:
            try:
                deploy(project, DeploySpec("emu", throughput=False, validate=True, images=0, password="xilinx"))
            except BaseException as exc:
                errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while not (set(_emulator_pids()) - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    for pid in set(_emulator_pids()) - before:
        subprocess.run(["kill", "-9", str(pid)], check=False)
    thread.join(120)
    assert errors and isinstance(errors[0], BoardRunError) and "without a result" in str(errors[0])
    with Project.open(estimated_defect) as project:
        failed = [r for r in list_runs(project.current, "emu") if r.status == "failed"]
        assert failed and failed[0].kind == "validate"
        ok = deploy(project, DeploySpec("emu", batches=(1,), password="xilinx"))
    assert ok.runs[0].status == "done"


def test_a_run_past_its_timeout_is_stopped_on_the_board(estimated_defect: Path, pynq_board) -> None:
    from foldwise.core.remote.target import SshError

    save_board(profile_for(pynq_board(emulated=True), "emu"))
    before = set(_emulator_pids())
    with Project.open(estimated_defect) as project, pytest.raises(SshError, match="timed out"):
        deploy(project, DeploySpec("emu", batches=(200,), timeout=4.0, password="xilinx"))
    time.sleep(1.0)
    assert not set(_emulator_pids()) - before


def test_package_is_reused_when_unchanged_and_remade_when_damaged(estimated_defect: Path) -> None:
    from foldwise.core.iterations import load_splits

    with Project.open(estimated_defect, read_only=True) as project:
        build = list_builds(project.current)[0]
        test = load_splits(project).test
    images, labels = test.images[:4], test.labels[:4]
    folder = make_package(build, images, labels)
    stamp = (folder / "foldwise_package.json").stat().st_mtime_ns
    assert make_package(build, images, labels) == folder
    assert (folder / "foldwise_package.json").stat().st_mtime_ns == stamp
    np.save(folder / "data" / "labels.npy", np.zeros(4, dtype=np.int64) + 7)
    make_package(build, images, labels)
    assert np.array_equal(np.load(folder / "data" / "labels.npy"), labels)
    assert folder.name == PACKAGE_DIR and not list(folder.parent.glob(".package-*"))


def test_bad_deploy_specs_are_refused() -> None:
    for spec, match in ((DeploySpec("b", throughput=False), "nothing to run"),
                        (DeploySpec("b", batches=(0,)), "batch sizes"),
                        (DeploySpec("b", images=-1), "validation images"),
                        (DeploySpec("b", timeout=0), "timeout")):
        with pytest.raises(InputError, match=match):
            spec.check()


HWH = """<?xml version="1.0"?>
<EDKSYSTEM><MODULES><MODULE MODTYPE="processing_system7" INSTANCE="zynq_ps">
<PARAMETERS><PARAMETER NAME="PCW_FPGA0_PERIPHERAL_FREQMHZ" VALUE="125"/>
<PARAMETER NAME="PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ" VALUE="125.000000"/></PARAMETERS>
</MODULE></MODULES></EDKSYSTEM>
"""


def _fake_bitfile_build(project_path: Path) -> None:
    """Give the estimate build the deploy/ folder a Vivado build writes (no Vivado here: the files are stand-ins
    the runner never loads, since the board has no finn-plus-driver)."""
    with Project.open(project_path, read_only=True) as project:
        build = list_builds(project.current)[0]
    (build.folder / "deploy" / "bitfile").mkdir(parents=True)
    (build.folder / "deploy" / "driver").mkdir()
    (build.folder / "deploy" / "bitfile" / "finn-accel.bit").write_bytes(b"\0" * 4096)
    (build.folder / "deploy" / "bitfile" / "finn-accel.hwh").write_text(HWH)
    (build.folder / "deploy" / "driver" / "settings.json").write_text('{"driver_information": {}}')


def test_a_bitfile_package_reads_its_clock_from_the_hwh_and_a_board_without_the_runtime_says_how_to_fix_it(
        estimated_defect: Path, pynq_board) -> None:
    _fake_bitfile_build(estimated_defect)
    server = pynq_board()  # a real (not emulated) PYNQ image without finn-plus-driver
    save_board(profile_for(server, "real"))
    with Project.open(estimated_defect) as project, pytest.raises(BoardRunError) as caught:
        deploy(project, DeploySpec("real", batches=(1,), password="xilinx"))
    assert caught.value.code == "runtime-missing" and "--no-deps finn-plus-driver" in caught.value.fix
    package = json.loads((list_builds(Project.open(estimated_defect, read_only=True).current)[0].folder
                          / PACKAGE_DIR / "foldwise_package.json").read_text())
    assert package["accelerator"] == "bitfile" and package["clock_mhz"] == 125.0
    assert package["clock_source"] == "the bitfile's .hwh"
    # the runner ran as root through sudo (the error came from it), the password on stdin only: never logged
    with Project.open(estimated_defect, read_only=True) as project:
        failed = list_runs(project.current, "real")[0]
    assert failed.status == "failed" and "xilinx" not in (failed.folder / "run.log").read_text()
