"""``foldwise build``: local and remote (over the test sshd on 127.0.0.1) estimates agree; resume; clear errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.finn.tools import what_is_missing
from tests.core.remote.conftest import tfc_once
from tests.preconditions import NO_XILINX
from tests.sshd import SshServer, _skip_or_fail, sshd_available, start_sshd

#: FINN's estimate reports that must be byte-identical between a local and a remote build
SAME_REPORTS = ("estimate_network_performance.json", "estimate_layer_cycles.json", "estimate_layer_resources.json",
                "estimate_layer_config_alternatives.json", "auto_folding_config.json", "op_and_param_counts.json")


@pytest.fixture(scope="module")
def build_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    why = sshd_available()
    if why:
        _skip_or_fail(why)
    server = start_sshd(tmp_path_factory.mktemp("sshd"), password=None, shell="/bin/sh" if os.geteuid() == 0 else None)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tfc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tfc_once(tmp_path_factory)


def _remote_args(server: SshServer, tmp: Path) -> list[str]:
    return ["--remote", server.spec, "--remote-python", sys.executable, "--remote-dir", str(tmp / "remote"),
            "--identity", str(server.client_key), "--known-hosts", str(server.known_hosts)]


def _json_run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    return json.loads(captured.out)


def test_remote_estimate_equals_local(build_host: SshServer, tfc: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    common = ["build", str(tfc), "--outputs", "estimate", "--target-fps", "100000", "--keep-intermediate", "--json"]
    local = _json_run([*common, "--out", str(tmp_path / "local")], capsys)
    remote = _json_run([*common, "--out", str(tmp_path / "remote-build"), *_remote_args(build_host, tmp_path)],
                       capsys)
    assert remote["remote"] == f"{build_host.user}@127.0.0.1:{build_host.port}" and local["remote"] is None
    for key in ("fps", "latency_ns", "bottleneck", "max_cycles", "node_cycles", "resources", "board", "clock_ns"):
        assert remote[key] == local[key], key
    for name in SAME_REPORTS:
        assert (tmp_path / "remote-build" / "report" / name).read_bytes() == (
            tmp_path / "local" / "report" / name).read_bytes(), name
    assert not (tmp_path / "remote-build" / "intermediate_models").exists()  # kept on the host only
    meta = json.loads((tmp_path / "remote-build" / "foldwise_build.json").read_text())
    assert meta["model"] == str(tfc.resolve()) and meta["remote"]["host"] == remote["remote"]

    # (resuming runs FINN again: tests/core/remote covers it.) A remote build is not resumed locally, nor the
    # local one remotely
    assert (tmp_path / "local" / "intermediate_models" / "step_minimize_bit_width.onnx").is_file()
    assert main(["build", str(tfc), "--out", str(tmp_path / "remote-build"), "--start-step", "step_tidy_up"]) == 1
    assert "resume it there" in capsys.readouterr().err
    assert main(["build", str(tfc), "--out", str(tmp_path / "local"), "--start-step", "step_tidy_up",
                 *_remote_args(build_host, tmp_path)]) == 1
    assert "holds no remote build" in capsys.readouterr().err


def test_local_bitfile_without_vivado_offers_the_estimate(tfc: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert not what_is_missing("Pynq-Z2")["outputs"]["bitfile"]["available"], NO_XILINX
    assert main(["build", str(tfc), "--outputs", "estimate", "bitfile", "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "a bitfile build for Pynq-Z2 needs vivado" in err
    assert "--outputs estimate" in err and "--remote" in err
    assert not (tmp_path / "b").exists()


def test_unknown_host_key_is_shown_with_the_flag_to_trust_it(build_host: SshServer, tfc: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    args = _remote_args(build_host, tmp_path)
    args[args.index("--known-hosts") + 1] = str(tmp_path / "fresh_known_hosts")
    assert main(["build", str(tfc), "--out", str(tmp_path / "b"), *args]) == 1
    err = capsys.readouterr().err
    assert "is not a known host" in err and "--trust-host-key SHA256:" in err
    assert (tmp_path / "fresh_known_hosts").read_text() == ""


def test_bad_remote_arguments(tfc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["build", str(tfc), "--identity", str(tmp_path / "k")]) == 1
    assert "--identity only applies with --remote" in capsys.readouterr().err
    assert main(["build", str(tfc), "--remote", "u@h", "--remote-env", "1BAD=x"]) == 1
    assert "NAME=VALUE" in capsys.readouterr().err
    closed = ["--remote", "me@127.0.0.1:1", "--known-hosts", str(tmp_path / "kh"), "--connect-timeout", "2"]
    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "x")
    assert main(["build", str(tfc), "--out", str(tmp_path / "b"), *closed]) == 1
    assert "cannot reach 127.0.0.1:1: connection refused" in capsys.readouterr().err
    assert os.environ["FOLDWISE_SSH_PASSWORD"] == "x"


def test_saved_build_host_is_used_by_name(tfc: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from foldwise.core.finn.hosts import find_host

    closed = ["--known-hosts", str(tmp_path / "kh"), "--connect-timeout", "2", "--remote-python", "/opt/finn/py"]
    assert main(["build", str(tfc), "--out", str(tmp_path / "b"), "--remote", "me@127.0.0.1:1", "--save-host",
                 "lab", *closed]) == 1
    assert "cannot reach 127.0.0.1:1" in capsys.readouterr().err
    saved = find_host("lab")
    assert (saved.display, saved.python, saved.target.known_hosts) == ("me@127.0.0.1:1", "/opt/finn/py",
                                                                      tmp_path / "kh")
    assert main(["build", str(tfc), "--out", str(tmp_path / "b"), "--remote", "lab"]) == 1  # the list the panel uses
    assert "cannot reach 127.0.0.1:1: connection refused" in capsys.readouterr().err
    assert main(["build", str(tfc), "--save-host"]) == 1
    assert "--save-host only applies with --remote" in capsys.readouterr().err
