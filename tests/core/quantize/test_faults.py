"""Fault injection around `foldwise quantize`: SIGTERM, SIGKILL and a full disk mid-stage. Each test states the
promise it checks; the project is compared byte for byte (tests.faults.snapshot)."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from foldwise.core.project import Project
from tests.faults import Cli, fill_disk, run_cli, sigkill_once, snapshot

QUANTIZE = ["--weights", "4", "--acts", "4", "--calib", "64"]


def _iterations(path: Path) -> list[str]:
    with Project.open(path, read_only=True) as project:
        return [it.folder_name for it in project.iterations]


def test_sigterm_mid_quantize_cleans_up_like_ctrl_c(trained_lenet: Path) -> None:
    """`foldwise quantize` stopped by SIGTERM while calibrating: exit 143 with one line, no draft left, the
    project byte for byte as before, and the next quantize works."""
    before = snapshot(trained_lenet)
    cli = Cli("quantize", str(trained_lenet), *QUANTIZE)
    cli.wait_for("digits ready")
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.finish(60) == 143
    assert "terminated" in cli.stderr and "Traceback" not in cli.stderr, cli.stderr
    assert not list((trained_lenet / "iterations").glob(".draft-*"))
    assert snapshot(trained_lenet) == before
    again = run_cli("quantize", str(trained_lenet), *QUANTIZE)
    assert again.returncode == 0, again.stderr
    assert len(_iterations(trained_lenet)) == 2


def test_sigkill_mid_quantize_leaves_only_a_draft_the_next_command_sweeps(trained_lenet: Path) -> None:
    """`foldwise quantize` killed with SIGKILL mid-stage: at most a `.draft-*` folder is left (no iteration, no
    manifest change, no lock held); the next command sweeps it (the project is then byte for byte as before)
    and the next quantize works."""
    # "quantized": past calibration, so validating, exporting or checking
    sigkill_once(trained_lenet, "quantize", str(trained_lenet), *QUANTIZE, after="quantized")
    again = run_cli("quantize", str(trained_lenet), *QUANTIZE)
    assert again.returncode == 0, again.stderr
    assert len(_iterations(trained_lenet)) == 2


def test_a_full_disk_mid_quantize_is_one_line_and_the_project_is_unchanged(trained_lenet: Path,
                                                                           tiny_disk: Path) -> None:
    """`foldwise quantize` on a project whose disk fills up: one line saying the disk is full, exit 1, the
    project byte for byte as before (no draft), and the same command works once space is freed."""
    path = tiny_disk / "lenet"
    shutil.copytree(trained_lenet, path)
    before = snapshot(path)
    filler = fill_disk(tiny_disk)
    full = run_cli("quantize", str(path), *QUANTIZE)
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("foldwise: error: ") and "disk is full" in last, full.stderr
    assert snapshot(path) == before
    filler.unlink()
    again = run_cli("quantize", str(path), *QUANTIZE)
    assert again.returncode == 0, again.stderr
    assert len(_iterations(path)) == 2
