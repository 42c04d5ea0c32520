"""``foldwise board emulate`` and ``foldwise deploy``: a software board of this account on 127.0.0.1, end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.board.emulate import running


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def emulated(capsys):
    code, out, err = _run(capsys, "board", "emulate", "emu", "--json")
    assert code == 0, err
    yield json.loads(out)
    _run(capsys, "board", "emulate", "emu", "--stop")


def test_emulate_probe_deploy_then_stop(emulated, estimated_defect: Path, capsys) -> None:
    assert emulated["profile"]["host"] == "127.0.0.1" and emulated["profile"]["auth"] == "key"
    code, out, err = _run(capsys, "board", "emulate", "emu", "--json")  # already running: the same board
    assert code == 0 and json.loads(out)["pid"] == emulated["pid"]
    code, out, err = _run(capsys, "board", "probe", "emu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ready"] and report["runtime"] == "foldwise-emulator"

    code, out, err = _run(capsys, "deploy", str(estimated_defect), "--board", "emu", "--batch", "1,2",
                          "--validate", "--images", "12")  # --batch asks for the throughput test too
    assert code == 0, err
    assert "emulated board emu" in out and "(emulated)" in out and "(estimated)" in out
    assert "agreement 100.00 %" in out
    runs = list((estimated_defect / "iterations").glob("*/runs/emu/*/run.json"))
    assert len(runs) == 2

    code, out, err = _run(capsys, "demo", str(estimated_defect), "--backend", "board:emu", "--frames", "3",
                          "--json")
    assert code == 0, err
    demo = json.loads(out)
    assert {k: demo["backend"][k] for k in ("name", "label")} == {"name": "board:emu", "label": "emulated"}
    assert demo["stats"]["frames_processed"]["value"] >= 3 and "transfer" in demo["stats"]["stage_ms"]

    code, out, _ = _run(capsys, "board", "emulate", "emu", "--stop")
    assert code == 0 and "stopped" in out and running("emu") is None
    code, _, err = _run(capsys, "deploy", str(estimated_defect), "--board", "emu")
    assert code != 0 and "Traceback" not in err and "emu" in err


def test_emulated_board_state_lives_in_the_config_dir() -> None:
    from foldwise.core.board.emulate import emulated_dir

    assert str(emulated_dir("emu")).startswith(os.environ["FOLDWISE_CONFIG_DIR"])
