"""The promise of a project write: a stage's iteration appears whole with its manifest entry, or not at all —
on a full disk, a failed manifest write, SIGTERM or SIGKILL (mid-training and mid-save) — and the next command
needs no manual clean-up. Each fault test states the promise it checks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.core import project as project_mod
from foldwise.core.project import MANIFEST_NAME, IterationKind, Project
from tests.core.test_project import snapshot
from tests.faults import fill_disk, run_cli, sigkill_once

REPO = Path(__file__).resolve().parents[2]


def _one_iteration(path: Path) -> None:
    with Project.create(path) as project, project.new_iteration(IterationKind.TRAINED, "first") as draft:
        (draft.folder / "model.pt").write_bytes(b"w" * 100)


def test_a_failed_manifest_write_leaves_no_orphan_and_the_next_commit_works(project_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest write failing (disk full) after the iteration's folder was renamed into place: the folder
    goes back and is removed, the project is byte for byte as before, and the same commit works next (issue #15,
    reproduction 1: the orphan '0002-finetuned-1ep' and then '[Errno 39] Directory not empty')."""
    _one_iteration(project_path)
    before = snapshot(project_path)
    real_write = project_mod.atomic_write_json

    def full_disk(path: Path, data: object) -> None:
        if Path(path).name == MANIFEST_NAME:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_write(path, data)

    with Project.open(project_path) as project:
        monkeypatch.setattr(project_mod, "atomic_write_json", full_disk)
        with pytest.raises(OSError, match="No space left"), \
                project.new_iteration(IterationKind.FINE_TUNED, "second") as draft:
            (draft.folder / "model.pt").write_bytes(b"x" * 100)
        assert [it.id for it in project.iterations] == ["0001"] and project.current_id == "0001"
        monkeypatch.setattr(project_mod, "atomic_write_json", real_write)
    assert snapshot(project_path) == before  # byte for byte: no orphan folder, no draft, same manifest
    with Project.open(project_path) as project, project.new_iteration(IterationKind.FINE_TUNED, "second") as draft:
        (draft.folder / "model.pt").write_bytes(b"x" * 100)
    with Project.open(project_path) as project:
        assert [it.folder_name for it in project.iterations] == ["0001-first", "0002-second"]


def test_an_orphan_folder_on_disk_is_never_reused(project_path: Path) -> None:
    """A numbered folder the manifest does not list (left by an older version) is never reused: new ids skip it."""
    _one_iteration(project_path)
    (project_path / "iterations" / "0002-left-by-an-old-version").mkdir()
    with Project.open(project_path) as project, project.new_iteration(IterationKind.PRUNED, "next") as draft:
        (draft.folder / "model.pt").write_bytes(b"p")
    with Project.open(project_path) as project:
        assert project.current.folder_name == "0003-next" and project.current.id == "0003"


def test_a_draft_left_by_a_killed_process_is_swept_on_open(project_path: Path) -> None:
    """A `.draft-*` a killed process left is removed by the next writable open, never by a read-only look."""
    _one_iteration(project_path)
    stale = project_path / "iterations" / ".draft-deadbeef"
    stale.mkdir()
    (stale / "model.pt").write_bytes(b"half")
    Project.open(project_path, read_only=True).close()
    assert stale.exists()  # a read-only look never deletes
    Project.open(project_path).close()
    assert not stale.exists()


def test_a_really_full_disk_leaves_the_project_as_it_was(tiny_disk: Path) -> None:
    """A stage's files filling a real (tmpfs) disk mid-write: OSError out of the block, the project byte for byte
    as before, and the same write works once space is freed."""
    path = tiny_disk / "p"
    _one_iteration(path)
    before = snapshot(path)
    filler = fill_disk(tiny_disk)
    with Project.open(path) as project:
        with pytest.raises(OSError), project.new_iteration(IterationKind.FINE_TUNED, "big") as draft:
            (draft.folder / "model.pt").write_bytes(b"m" * 200_000)
        assert len(project.iterations) == 1
    assert snapshot(path) == before
    filler.unlink()
    with Project.open(path) as project, project.new_iteration(IterationKind.FINE_TUNED, "big") as draft:
        (draft.folder / "model.pt").write_bytes(b"m" * 200_000)
    with Project.open(path) as project:
        assert [it.id for it in project.iterations] == ["0001", "0002"]


def test_sigterm_mid_training_cleans_up_like_ctrl_c(trained_lenet: Path) -> None:
    """`foldwise train` stopped by SIGTERM: exit 143, one line, no draft, the project byte for byte as before."""
    before = snapshot(trained_lenet)
    proc = subprocess.Popen([sys.executable, "-m", "foldwise", "train", str(trained_lenet), "--epochs", "500",
                             "--patience", "0"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO / "app")})
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it trains (500 epochs without early stopping: minutes, never done here)
        if "epoch " in line:
            break
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err, err
    assert not list((trained_lenet / "iterations").glob(".draft-*"))
    Project.open(trained_lenet).close()  # the lock went with the process
    assert snapshot(trained_lenet) == before


_WRITES_A_DRAFT_THEN_WAITS = """
import sys, time
from foldwise.core.project import Project

with Project.open(sys.argv[1]) as project, project.new_iteration("fine-tuned", "slow") as draft:
    (draft.folder / "model.pt").write_bytes(b"half")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigkill_mid_write_leaves_a_draft_the_next_open_sweeps(project_path: Path) -> None:
    """SIGKILL while a stage writes its draft: only the draft is left (SIGKILL cannot be caught), the lock goes
    with the process, and the next open sweeps the draft: the project is byte for byte as before."""
    _one_iteration(project_path)
    before = snapshot(project_path)
    proc = subprocess.Popen([sys.executable, "-c", _WRITES_A_DRAFT_THEN_WAITS, str(project_path)],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "app")})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    proc.kill()
    proc.wait(timeout=30)
    assert len(list((project_path / "iterations").glob(".draft-*"))) == 1  # SIGKILL cannot be caught
    Project.open(project_path).close()  # the lock went with the process; the draft is swept
    assert snapshot(project_path) == before


def test_the_cli_turns_a_full_disk_into_one_line(tiny_disk: Path) -> None:
    """`foldwise new` on a full disk: exit 1 with one 'disk is full' line, no traceback, and no folder left
    without a manifest."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "app")}
    fill_disk(tiny_disk)
    result = subprocess.run([sys.executable, "-m", "foldwise", "new", str(tiny_disk / "p")], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("foldwise: error: ") and "disk is full" in result.stderr
    assert not (tiny_disk / "p").exists()  # `new` leaves no folder without a manifest


def test_sigkill_mid_training_leaves_only_a_draft_the_next_command_sweeps(trained_lenet: Path) -> None:
    """`foldwise train` killed with SIGKILL mid-epoch: no iteration, no manifest change, no lock held; at most a
    `.draft-*` is left, which the next command sweeps (the project is then byte for byte as before), and the next
    train works."""
    sigkill_once(trained_lenet, "train", str(trained_lenet), "--epochs", "500", "--patience", "0", after="epoch ")
    again = run_cli("train", str(trained_lenet), "--epochs", "1")
    assert again.returncode == 0, again.stderr
    with Project.open(trained_lenet, read_only=True) as project:
        assert [it.id for it in project.iterations] == ["0001", "0002"]


# `foldwise train` whose commit pauses inside the real atomic manifest write: the temp file is written and
# fsynced, the iteration's folder already renamed into place, the rename over manifest.json not yet done.
_TRAIN_PAUSED_IN_SAVE = """
import os, sys, time
from pathlib import Path
import foldwise.core.atomic as atomic
from foldwise.cli import main

class PausingReplace:
    def __getattr__(self, name):
        return getattr(os, name)

    def replace(self, src, dst):
        if Path(dst).name == "manifest.json" and list((Path(dst).parent / "iterations").glob(".commit-*")):
            print("saving", flush=True)
            time.sleep(60)
        return os.replace(src, dst)

atomic.os = PausingReplace()
sys.exit(main(["train", sys.argv[1], "--epochs", "1"]))
"""


def _train_paused_in_save(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN_PAUSED_IN_SAVE, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "app")})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "saving", proc.communicate(timeout=60)[1]
    return proc


def test_sigkill_mid_save_leaves_the_old_manifest_and_the_next_open_removes_the_unrecorded_iteration(
        trained_lenet: Path) -> None:
    """SIGKILL while a new iteration is being saved (its folder renamed into place, the manifest's temp file
    written, not yet renamed): manifest.json is the old one, whole; the next open removes the unrecorded folder
    (its commit note names it) and the temp file, so the project is byte for byte as before, and the next train
    makes 0002 again."""
    before = snapshot(trained_lenet)
    proc = _train_paused_in_save(trained_lenet)
    assert (trained_lenet / "iterations" / "0002-finetuned-1ep").is_dir()  # renamed, not recorded
    proc.kill()
    proc.communicate(timeout=30)
    assert (trained_lenet / MANIFEST_NAME).read_bytes() == before[MANIFEST_NAME]
    assert list(trained_lenet.glob(f".{MANIFEST_NAME}.*.tmp"))  # SIGKILL cannot be caught
    Project.open(trained_lenet).close()
    assert snapshot(trained_lenet) == before
    again = run_cli("train", str(trained_lenet), "--epochs", "1")
    assert again.returncode == 0, again.stderr
    with Project.open(trained_lenet, read_only=True) as project:
        assert [it.folder_name for it in project.iterations][1:] == ["0002-finetuned-1ep"]


def test_sigterm_mid_save_undoes_the_commit_at_once(trained_lenet: Path) -> None:
    """SIGTERM while a new iteration is being saved: exit 143 with one line and no traceback, and the project is
    byte for byte as before right away (the folder renamed back and removed, no commit note, no temp manifest),
    before any other command runs."""
    before = snapshot(trained_lenet)
    proc = _train_paused_in_save(trained_lenet)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143 and "terminated" in err and "Traceback" not in err, err
    assert snapshot(trained_lenet) == before
    assert not list(trained_lenet.glob(f".{MANIFEST_NAME}.*.tmp"))
    assert sorted(p.name for p in (trained_lenet / "iterations").iterdir()) == [
        Path(name).parts[1] for name in before if name.startswith("iterations/") and name.endswith("metrics.json")]
