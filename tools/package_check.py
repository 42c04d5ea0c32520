"""Smoke check of the packaged app (`make package` runs it after PyInstaller): the program in dist/foldwise/
answers ``--version``, makes a project from a shipped example and opens the window offscreen on it; with
``--finn`` it also trains that project one epoch, quantizes it W4A4 and runs FINN's estimate, which starts the
FINN worker as ``<the packaged program> -m foldwise.core.finn._worker_main`` (see foldwise.frozen), then deploys
it to an emulated board (sshd on 127.0.0.1), whose runner starts ``<the packaged program> -m
foldwise.core.board.emulator`` and validates 10 test images on FINN's dataflow model.

``python -m tools.package_check [DIST] [--finn]`` prints one JSON object: the folder's size and each step's time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist" / "foldwise"
EXAMPLE = "lenet-digits"


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links not followed, not counted twice)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def clean_env(work: Path) -> dict[str, str]:
    """The environment a user's shell gives the packaged app: none of this checkout's Python settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "FOLDWISE_ROOT", "VIRTUAL_ENV")}
    env.update(FOLDWISE_CONFIG_DIR=str(work / "config"), QT_QPA_PLATFORM="offscreen")
    return env


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{(done.stderr or done.stdout)[-3000:]}")
    return done.stdout, seconds


def check(dist: Path, work: Path, finn: bool) -> dict[str, object]:
    program = dist / "foldwise"
    if not program.is_file():
        raise RuntimeError(f"no packaged program at {program}: run `make package` first")
    env, figures = clean_env(work), {"dist": str(dist), "size_mb": round(folder_bytes(dist) / 1e6, 1)}
    out, figures["version_s"] = run([str(program), "--version"], env, work, 120)
    if not re.fullmatch(r"foldwise \d+\.\d+\.\d+\S*", out.strip()):
        raise RuntimeError(f"`foldwise --version` printed {out!r}")
    figures["version"] = out.strip()
    project = work / EXAMPLE
    _, figures["new_example_s"] = run([str(program), "new", str(project), "--example", EXAMPLE], env, work, 300)
    out, figures["gui_offscreen_s"] = run([str(program), "gui", str(project), "--quit-after-shown"], env, work, 300)
    if "window shown" not in out:
        raise RuntimeError(f"the window was not shown; it printed {out[-1000:]!r}")
    if finn:
        _, figures["train_1_epoch_s"] = run([str(program), "train", str(project), "--epochs", "1"], env, work, 900)
        _, figures["quantize_w4a4_s"] = run(
            [str(program), "quantize", str(project), "--weights", "4", "--acts", "4", "--calib", "64"], env, work, 900
        )
        out, figures["finn_estimate_s"] = run([str(program), "estimate", str(project), "--json"], env, work, 900)
        estimate = json.loads(out)
        fps = (estimate.get("fps") or {}).get("value")
        if not fps or fps <= 0:
            raise RuntimeError(f"FINN's estimate gave no throughput: {out[-1000:]}")
        figures["finn_estimated_fps"] = round(fps, 1)
        board = f"package-check-{os.getpid()}"
        run([str(program), "board", "emulate", board], env, work, 120)
        try:
            out, figures["emulated_deploy_s"] = run(
                [
                    str(program),
                    "deploy",
                    str(project),
                    "--board",
                    board,
                    "--validate",
                    "--images",
                    "10",
                    "--batch",
                    "1",
                ],
                env,
                work,
                900,
            )
        finally:
            run([str(program), "board", "emulate", board, "--stop"], env, work, 120)
        if "agreement 100.00 %" not in out:
            raise RuntimeError(f"the emulated board did not agree with the host on all 10 images:\n{out[-2000:]}")
        figures["emulated_deploy"] = [line.strip() for line in out.splitlines() if "(emulated)" in line][:2]
    for key, value in figures.items():
        if key.endswith("_s") and isinstance(value, float):
            figures[key] = round(value, 2)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package_check", description=__doc__.splitlines()[0])
    parser.add_argument("dist", nargs="?", type=Path, default=DIST, help=f"the app folder (default {DIST})")
    parser.add_argument("--finn", action="store_true", help="also train, quantize and estimate with FINN (minutes)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="foldwise-package-check-") as tmp:
        figures = check(args.dist.resolve(), Path(tmp), args.finn)
    print(
        json.dumps({"check": "packaged app", "ok": True, "measured": "wall clock on this machine", **figures}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
