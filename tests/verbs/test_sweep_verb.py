"""``foldwise sweep``: a local sweep end to end, and on the real one-node Slurm cluster the refusals (a partition
that does not exist, more memory than the node has, a controller nobody answers) and submit → status → cancel."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from foldwise.cli import main
from tests.conftest import REPO
from tests.slurm_cluster import SlurmCluster, _free_port
from tests.verbs.test_bad_input_corpus import snapshot


def _grid(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yml"
    path.write_text(text)
    return path


def test_a_local_sweep_builds_each_point_as_a_build_record(
    quantized_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = _grid(tmp_path, "points:\n  - {clock_mhz: 100}\n  - {clock_mhz: 100, folding: {target_fps: 3000}}\n")
    assert main(["sweep", str(quantized_lenet), "--grid", str(grid), "--workers", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "done" and data["executor"]["kind"] == "local"
    assert [p["fps"]["source"] for p in data["points"]] == ["estimated", "estimated"]
    assert data["points"][1]["fps"]["value"] >= 3000
    assert [p["lut_pct"]["source"] for p in data["points"]] == ["estimated", "estimated"]
    assert [p["accuracy"]["source"] for p in data["points"]] == ["measured", "measured"]
    assert data["best"] in (0, 1) and sum(p["best"] for p in data["points"]) == 1
    for point in data["points"]:
        assert (quantized_lenet / point["build"] / "report" / "estimate_network_performance.json").is_file()
    assert main(["sweep", str(quantized_lenet), "--status"]) == 0
    text = capsys.readouterr().out
    assert re.search(
        r"p1 as is estimate Pynq-Z2 100MHz target 3000 FPS\s+done\s+[\d,]+ FPS \(estimated\) "
        r"LUT\s+[\d.]+% \(estimated\) acc [\d.]+% \(measured\)",
        text,
    ), text
    assert main(["sweep", str(quantized_lenet), "--resume"]) == 1
    assert "has no unfinished points to run again (2 done)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "grid", "message"),
    [
        (["--partition", "nope"], "points: [{}]\n", r"refuses the sweep's tasks .*--partition=nope.*invalid partition"),
        ([], "points: [{}]\nslurm: {mem: 900G}\n", r"refuses the sweep's tasks .*--mem=900G.*node configuration"),
        ([], "points: [{}]\nslurm: {cpus: 64}\n", r"refuses the sweep's tasks .*--cpus-per-task=64"),
        (["--mem", "900G"], "points: [{}]\nslurm: {mem: 1G}\n", r"--mem=900G.*node configuration"),  # overrides
        (["--time", "soon"], "points: [{}]\n", r"slurm time must be like 01:00:00"),
    ],
)
def test_slurm_refusals_name_the_reason_and_leave_the_project_as_it_was(
    slurm_cluster: SlurmCluster,
    quantized_lenet: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    grid: str,
    message: str,
) -> None:
    before = snapshot(quantized_lenet)
    code = main(["sweep", str(quantized_lenet), "--grid", str(_grid(tmp_path, grid)), "--executor", "slurm", *args])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert snapshot(quantized_lenet) == before


def test_slurm_limits_are_refused_where_they_do_not_apply(
    quantized_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(quantized_lenet)
    grid = str(_grid(tmp_path, "points: [{}]\n"))
    assert main(["sweep", str(quantized_lenet), "--status", "--mem", "2G"]) == 1
    assert "--mem apply to a new sweep, --resume or --requeue, not to --status" in capsys.readouterr().err
    assert main(["sweep", str(quantized_lenet), "--grid", grid, "--time", "5", "--cpus", "2"]) == 1
    assert "--time, --cpus are Slurm limits: use them with --executor slurm" in capsys.readouterr().err
    assert snapshot(quantized_lenet) == before


def test_an_unreachable_cluster_is_named(
    slurm_cluster: SlurmCluster,
    quantized_lenet: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dead = tmp_path / "slurm.conf"
    conf = slurm_cluster.conf.read_text()
    dead.write_text(re.sub(r"SlurmctldPort=\d+", f"SlurmctldPort={_free_port()}", conf) + "MessageTimeout=2\n")
    monkeypatch.setenv("SLURM_CONF", str(dead))
    before = snapshot(quantized_lenet)
    code = main(
        ["sweep", str(quantized_lenet), "--grid", str(_grid(tmp_path, "points: [{}]\n")), "--executor", "slurm"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err, err
    assert re.search(r"Slurm on this machine refuses the sweep's tasks .*(contact|connect)", err, re.I), err
    assert snapshot(quantized_lenet) == before


def test_submit_then_status_then_cancel_from_the_command_line(
    slurm_cluster: SlurmCluster, quantized_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = _grid(tmp_path, "grid: {clock_mhz: [100, 125, 150]}\nslurm: {mem: 1G, time: '5'}\n")
    assert main(["sweep", str(quantized_lenet), "--grid", str(grid), "--executor", "slurm", "--no-wait", "--json"]) == 0
    submitted = json.loads(capsys.readouterr().out)
    assert submitted["status"] == "running" and len(submitted["submissions"]) == 1
    assert {p["status"] for p in submitted["points"]} <= {"queued", "running"}
    assert main(["sweep", str(quantized_lenet), "--status"]) == 0
    assert "on this machine: running" in capsys.readouterr().out
    assert main(["sweep", str(quantized_lenet), "--cancel", "--json"]) == 0
    cancelled = json.loads(capsys.readouterr().out)
    assert cancelled["status"] == "cancelled"
    assert {p["status"] for p in cancelled["points"]} == {"cancelled"}
    assert not slurm_cluster.run("squeue", "-h").stdout.strip()


def test_cancel_from_another_terminal_stops_a_local_sweep(
    quantized_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grid = _grid(tmp_path, "grid: {clock_mhz: [100, 110, 120, 130]}\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "app"), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_CURRENT_TEST", None)
    running = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "foldwise",
            "sweep",
            str(quantized_lenet),
            "--grid",
            str(grid),
            "--workers",
            "1",
            "--json",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((quantized_lenet / "sweeps").glob("*/sweep.json")):
            time.sleep(0.2)
        assert main(["sweep", str(quantized_lenet), "--cancel"]) == 0  # the project is locked by the sweep
        assert "showing the sweep without fetching" in capsys.readouterr().err
        out, err = running.communicate(timeout=120)
    finally:
        running.kill()
    data = json.loads(out)
    assert running.returncode == 0, err
    assert data["status"] == "cancelled" and data["counts"]["cancelled"] >= 3, data["counts"]
