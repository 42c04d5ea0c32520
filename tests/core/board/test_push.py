"""Push a folder to a PYNQ-shaped test sshd: hashes, skip unchanged, resume after a cut, keep-last-N."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

from foldwise.core.board.manifest import MANIFEST_NAME
from foldwise.core.board.push import push_to_board
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext
from foldwise.core.remote.target import SshError
from tests.pynq_board import profile_for


def _package(folder: Path, big: int = 0) -> Path:
    (folder / "bitfile").mkdir(parents=True)
    (folder / "driver").mkdir()
    (folder / "bitfile" / "finn-accel.bit").write_bytes(os.urandom(big or 300_000))
    (folder / "bitfile" / "finn-accel.hwh").write_text("<hwh/>\n")
    (folder / "driver" / "settings.json").write_text('{"fclk_mhz": 100}\n')
    return folder


def _on_board(server, remote: str) -> Path:
    return server.path(remote)


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_push_then_repush_skips_unchanged_files_and_keeps_last_n(pynq_board, tmp_path) -> None:
    server = pynq_board()
    board = profile_for(server)
    pkg = _package(tmp_path / "deploy")
    progress: list[float] = []
    first = push_to_board(board, pkg, JobContext(on_progress=lambda f, m: progress.append(f)), group="0003-int4",
                          keep=2, password="xilinx")
    assert sorted(first.uploaded) == ["bitfile/finn-accel.bit", "bitfile/finn-accel.hwh", "driver/settings.json"]
    assert first.bytes_sent == first.bytes_total and progress[-1] == 1.0 and progress == sorted(progress)
    landed = _on_board(server, first.deployment)
    assert {k: v for k, v in _tree(landed).items() if k != MANIFEST_NAME} == _tree(pkg)
    assert (landed.parent / "latest").resolve() == landed.resolve()

    again = push_to_board(board, pkg, group="0003-int4", keep=2, password="xilinx")
    assert again.unchanged and again.deployment == first.deployment and again.bytes_sent == 0

    (pkg / "driver" / "settings.json").write_text('{"fclk_mhz": 125}\n')
    second = push_to_board(board, pkg, group="0003-int4", keep=2, password="xilinx")
    assert second.uploaded == ["driver/settings.json"]
    assert sorted(second.copied_on_board) == ["bitfile/finn-accel.bit", "bitfile/finn-accel.hwh"]
    assert second.bytes_sent < 100
    (pkg / "driver" / "settings.json").write_text('{"fclk_mhz": 150}\n')
    third = push_to_board(board, pkg, group="0003-int4", keep=2, password="xilinx")
    assert third.removed == [Path(first.deployment).name]
    kept = sorted(p.name for p in landed.parent.iterdir() if not p.name.startswith("latest"))
    assert kept == sorted([Path(second.deployment).name, Path(third.deployment).name])
    assert (landed.parent / "latest").resolve().name == Path(third.deployment).name


def test_a_cut_connection_resumes_with_no_half_written_file_in_place(pynq_board, tmp_path) -> None:
    """The SSH connection cut mid-push (the board's sshd session killed while the bitfile uploads): one clear
    SshError saying the push resumes, no deployment appears on the board (only `.part` files in the incoming
    folder), and the next push sends only what is missing and lands the whole package, hashes equal."""
    server = pynq_board()
    board = profile_for(server)
    pkg = _package(tmp_path / "deploy", big=12_000_000)
    cut = []

    def kill_mid_upload(fraction: float, message: str) -> None:
        if not cut and "uploading bitfile/finn-accel.bit" in message and fraction > 0.3:
            cut.append(fraction)
            for pid in server.session_pids():  # the connection's sshd child (and its sftp) die, as on a cable cut
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(SshError, match=r"connection was lost.*resumes"):
        push_to_board(board, pkg, JobContext(on_progress=kill_mid_upload), group="g", password="xilinx")
    group = server.path(f"{server.home}/foldwise/deployments/g")
    assert not [p for p in group.iterdir() if not p.name.startswith(".incoming-")]  # no deployment yet
    parts = list(group.rglob("*.part"))
    assert parts and 0 < parts[0].stat().st_size < 12_000_000

    done = push_to_board(board, pkg, group="g", password="xilinx")
    assert done.bytes_sent < 12_000_000 and "bitfile/finn-accel.bit" in done.uploaded
    landed = server.path(done.deployment)
    assert {k: v for k, v in _tree(landed).items() if k != MANIFEST_NAME} == _tree(pkg)
    assert not list(group.rglob("*.part")) and not list(group.glob(".incoming-*"))


def test_push_refuses_bad_input_before_connecting(tmp_path) -> None:
    from foldwise.core.board.profiles import BoardProfile

    board = BoardProfile.create("z", "127.0.0.1", port=1)
    with pytest.raises(InputError, match="is not a folder"):
        push_to_board(board, tmp_path / "none", group="g", password="x")
    with pytest.raises(InputError, match="keep must be at least 1"):
        push_to_board(board, tmp_path, group="g", keep=0, password="x")


def test_cancel_mid_push_leaves_no_deployment_and_the_next_push_resumes(pynq_board, tmp_path) -> None:
    from foldwise.core.errors import Cancelled

    server = pynq_board()
    board = profile_for(server)
    pkg = _package(tmp_path / "deploy", big=6_000_000)
    ctx = JobContext(on_progress=lambda f, m: f > 0.4 and "finn-accel.bit" in m and ctx.cancel())
    with pytest.raises(Cancelled):
        push_to_board(board, pkg, ctx, group="g", password="xilinx")
    group = server.path(f"{server.home}/foldwise/deployments/g")
    assert [p.name for p in group.iterdir()] == [next(group.glob(".incoming-*")).name]
    done = push_to_board(board, pkg, group="g", password="xilinx")
    assert 0 < done.bytes_sent < 6_000_000
    assert {k: v for k, v in _tree(server.path(done.deployment)).items() if k != MANIFEST_NAME} == _tree(pkg)


@pytest.fixture
def board_tiny_disk():
    """A 1 MiB tmpfs every user may write, under /tmp (which the board sees), mounted before the board starts."""
    import subprocess
    import tempfile

    assert os.geteuid() == 0, "the full-disk tests mount a tmpfs: run the suite as root (as CI does)"
    mount = Path(tempfile.mkdtemp(prefix="foldwise-tiny-", dir="/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)
        mount.rmdir()


def test_a_full_board_disk_is_a_clear_error_and_leaves_no_deployment(board_tiny_disk, pynq_board, tmp_path) -> None:
    """The board's disk full mid-push: one SshError saying there is no space left on the board, no deployment
    left, and a push that fits works next."""
    from foldwise.core.remote.target import SshError

    server = pynq_board()
    board = profile_for(server)
    root = str(board_tiny_disk / "deployments")
    with pytest.raises(SshError, match="no space left on the board"):
        push_to_board(board, _package(tmp_path / "big", big=3_000_000), group="g", password="xilinx", root=root)
    group = board_tiny_disk / "deployments" / "g"
    assert not [p for p in group.iterdir() if not p.name.startswith(".incoming-")]
    small = push_to_board(board, _package(tmp_path / "small", big=200_000), group="g", password="xilinx",
                          root=root)
    assert Path(small.deployment).is_dir() and not list(group.glob(".incoming-*"))
