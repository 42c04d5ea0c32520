"""Probe a PYNQ-shaped test sshd: image, board, versions, memory, CMA, temperature, runtime, fixes."""

from __future__ import annotations

import subprocess

import pytest

from foldwise.core.board.probe import probe_board
from foldwise.core.jobs import JobContext
from foldwise.core.remote.target import AuthFailedError, HostKeyMismatchError
from tests.pynq_board import FAKE_IIO, profile_for


def test_probe_reads_a_pynq_image_in_one_command(pynq_board) -> None:
    server = pynq_board()
    steps: list[str] = []
    report = probe_board(profile_for(server), JobContext(on_progress=lambda f, m: steps.append(m)),
                         password="xilinx", iio_root=FAKE_IIO)
    assert report.item("image").value == "Release 2022_10_25 6a7ec6b"
    assert report.item("board").value == "Pynq-Z2"
    assert report.item("pynq").value == "3.0.1" and report.item("pynq").status == "ok"
    assert report.item("numpy").status == "ok" and report.item("bitstring").status == "ok"
    assert report.raw["python_executable"].startswith("/usr/bin/python3")
    assert report.raw["xilinx_xrt"] == "/usr"  # the profile.d scripts were sourced
    assert report.item("temperature").value == pytest.approx((2620 - 2219) * 123.040771484 / 1000, abs=0.1)
    assert report.item("memory").value > 0 and report.item("disk").value > 0
    assert all(item.source == "measured" for item in report.items)
    # no finn-plus-driver for a bitfile: the one thing missing, with its fix
    assert not report.ready and report.runtime is None
    assert [i.key for i in report.items if i.status == "missing"] == ["runtime"]
    assert "finn-plus-driver==1.6.1" in report.item("runtime").fix
    assert report.item("sudo").value is True
    assert report.to_dict()["fixes"] and "xilinx" not in str(report.to_dict().get("password"))
    assert len([line for line in server.log().splitlines() if "Starting session: command" in line]) == 1


def test_probe_says_how_to_fix_numpy_2_and_missing_bitstring(pynq_board) -> None:
    server = pynq_board(packages={"pynq": "3.0.1", "numpy": "2.1.0", "finn-plus-driver": "1.6.1"})
    report = probe_board(profile_for(server), password="xilinx", iio_root=FAKE_IIO)
    assert report.runtime == "finn-plus-driver"
    missing = {i.key: i.fix for i in report.items if i.status == "missing"}
    assert set(missing) == {"numpy", "bitstring"}
    assert "numpy<2" in missing["numpy"] and "pip install bitstring" in missing["bitstring"]
    assert report.item("temperature").value is not None


def test_wrong_password_and_changed_host_key_are_refused(pynq_board, tmp_path) -> None:
    server = pynq_board()
    with pytest.raises(AuthFailedError, match="authentication failed"):
        probe_board(profile_for(server), password="wrong")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    fake = (tmp_path / "k.pub").read_text().split()[1]  # a known_hosts that holds another key for the board
    other = tmp_path / "known_hosts"
    other.write_text(f"[{server.host}]:{server.port} ssh-ed25519 {fake}\n")
    with pytest.raises(HostKeyMismatchError, match="HOST KEY MISMATCH"):
        probe_board(profile_for(server, known_hosts=other), password="xilinx")
    assert other.read_text().split()[2] == fake  # never silently replaced


def test_an_emulated_board_is_ready_without_pynq_and_says_so(pynq_board) -> None:
    server = pynq_board(packages={}, emulated=True)
    report = probe_board(profile_for(server), password="xilinx", iio_root=FAKE_IIO)
    assert report.ready and report.runtime == "foldwise-emulator"
    assert report.item("accelerator").value == "emulated" and "dataflow model" in report.item("accelerator").text
    assert report.item("pynq").status == "info" and report.item("pynq").fix  # still says how to get it
