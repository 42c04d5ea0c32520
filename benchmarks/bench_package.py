"""The packaged app next to `foldwise` from the venv, measured in one run: size on disk, `--version` and GUI cold
start (launch to the main window shown, median of 5 after one warm-up, alternating the two).

Needs `make package` first (dist/foldwise/, or the folder given as the first argument); without it the figure
is reported as not measured. Runs under Xvfb when `xvfb-run` exists, as bench_cold_start.py does.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from _common import REPO, report
from bench_cold_start import launch_once

sys.path.insert(0, str(REPO))

from tools.package_check import DIST, clean_env, folder_bytes

RUNS = 5


def version_seconds(program: tuple[str, ...], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([*program, "--version"], check=True, env=env, capture_output=True, timeout=120)
    return time.perf_counter() - started


def main() -> None:
    dist = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DIST
    if not (dist / "foldwise").is_file():
        report(
            "packaged app size and cold start vs the venv",
            None,
            "measured (run `make package` first)",
            False,
            error=f"no packaged app at {dist}",
        )
        return
    venv = Path(sys.prefix)
    site = Path(sysconfig.get_paths()["purelib"])
    use_xvfb = shutil.which("xvfb-run") is not None and not os.environ.get("DISPLAY")
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-package-") as tmp:
        work = Path(tmp)
        env = clean_env(work)
        if use_xvfb:
            env.pop("QT_QPA_PLATFORM")
        venv_env = {**env, "PYTHONPATH": str(REPO / "app")}  # this checkout's foldwise, as the package has it
        programs = {"venv": ((sys.executable, "-m", "foldwise"), venv_env), "package": ((str(dist / "foldwise"),), env)}
        project = work / "defect-demo"
        subprocess.run(
            [*programs["package"][0], "new", str(project), "--example", "defect-demo"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        times: dict[str, dict[str, list[float]]] = {name: {"gui": [], "version": []} for name in programs}
        for program, program_env in programs.values():  # warm the OS file cache: "cold" = a new process
            launch_once(project, program_env, use_xvfb, program)
        for _ in range(RUNS):
            for name, (program, program_env) in programs.items():
                times[name]["gui"].append(launch_once(project, program_env, use_xvfb, program))
                times[name]["version"].append(version_seconds(program, program_env))
    figures = {
        name: {
            "gui_cold_start_s": round(statistics.median(t["gui"]), 3),
            "version_s": round(statistics.median(t["version"]), 3),
            "gui_runs_s": [round(x, 3) for x in t["gui"]],
        }
        for name, t in times.items()
    }
    figures["package"]["size_mb"] = round(folder_bytes(dist) / 1e6, 1)
    figures["venv"]["size_mb"] = round(folder_bytes(venv) / 1e6, 1)
    figures["venv"]["site_packages_mb"] = round(folder_bytes(site) / 1e6, 1)
    report(
        "packaged app vs venv: size and GUI cold start",
        {name: {k: f[k] for k in ("size_mb", "gui_cold_start_s")} for name, f in figures.items()},
        "reported (the package starts and opens a project)",
        True,
        details=figures,
        dist=str(dist),
        venv=str(venv),
        display="xvfb" if use_xvfb else "offscreen",
        measured="wall clock on this machine; sizes are bytes of regular files (du-like, links not followed)",
    )


if __name__ == "__main__":
    main()
