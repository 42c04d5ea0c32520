"""Install check of the wheel: build it, pip-install it into a fresh venv, run what a user runs first.

``python -m tools.wheel_check`` (``make check-wheel``): a fresh venv gets the pinned stack from
requirements.lock (plus the --no-deps pins, as ``make setup`` installs them), then the wheel; the timings are
printed as one JSON object. ``--stack borrow`` gives the fresh venv the stack of the Python running this
instead (a .pth line naming its site-packages, whose own .pth files, the editable install among them, are then
not read), so only the wheel is installed: what the test suite runs, in seconds instead of minutes.

Either way the venv's ``foldwise`` must be the wheel's (its module file inside the venv), answer
``--version``, create a project from a shipped example and open the window offscreen on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("resources", "projects")
EXAMPLE = "defect-demo"
# Installed with --no-deps after requirements.lock, as the Makefile's setup does (see the comments there).
NO_DEPS = ROOT / "requirements-nodeps.txt"


def _run(
    cmd: list[str], *, timeout: float, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{(done.stderr or done.stdout)[-3000:]}")
    return done


def build_wheel(out: Path, pyproject: str | None = None) -> Path:
    """The checkout's wheel, built from a copy (the checkout gets no build/ or egg-info folders);
    ``pyproject``: other text for the copy's pyproject.toml (the tests break the package that way)."""
    source = out / "src"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    if pyproject is not None:
        (source / "pyproject.toml").write_text(pyproject)
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("app", *SHIPPED):
        shutil.copytree(ROOT / name, source / name, symlinks=True, ignore=skip)
    dist = out / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)],
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (wheel,) = dist.glob("foldwise-*.whl")
    return wheel


def _site_packages(venv: Path) -> Path:
    (site,) = (venv / "lib").glob("python3*/site-packages")
    return site


def make_venv(venv: Path, stack: str) -> dict[str, float]:
    """A fresh venv holding the stack: ``lock`` installs requirements.lock, ``borrow`` links this Python's."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    python = str(venv / "bin" / "python")
    if stack == "lock":
        pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run([*pip, "-r", str(ROOT / "requirements.lock")], timeout=1800)
        _run([*pip, "--no-deps", "-r", str(NO_DEPS)], timeout=600)
    else:
        own = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (_site_packages(venv) / "_foldwise_borrowed_stack.pth").write_text("\n".join(sorted(own)) + "\n")
    seconds["venv_and_stack_s"] = time.perf_counter() - started
    return seconds


def smoke(venv: Path, wheel: Path, work: Path) -> dict[str, object]:
    """Install ``wheel`` into ``venv`` and run --version, new --example, gui offscreen; return timings."""
    found: dict[str, object] = {}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FOLDWISE_ROOT", "VIRTUAL_ENV")}
    env.update(FOLDWISE_CONFIG_DIR=str(work / "config"), QT_QPA_PLATFORM="offscreen", PIP_DISABLE_PIP_VERSION_CHECK="1")
    python, foldwise = str(venv / "bin" / "python"), str(venv / "bin" / "foldwise")

    def timed(name: str, cmd: list[str], timeout: float) -> str:
        started = time.perf_counter()
        out = _run(cmd, timeout=timeout, env=env, cwd=work).stdout
        found[f"{name}_s"] = round(time.perf_counter() - started, 2)
        return out

    timed("pip_install_wheel", [python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], 300)
    module = timed("import", [python, "-c", "import foldwise; print(foldwise.__file__)"], 60).strip()
    if not Path(module).resolve().is_relative_to(venv.resolve()):
        raise RuntimeError(f"the venv imports foldwise from {module}, not from the installed wheel")
    version = timed("version", [foldwise, "--version"], 120).strip()
    if not re.fullmatch(r"foldwise \d+\.\d+\.\d+\S*", version):
        raise RuntimeError(f"`foldwise --version` printed {version!r}")
    project = work / "project"
    timed("new_example", [foldwise, "new", str(project), "--example", EXAMPLE], 300)
    if not (project / "manifest.json").is_file():
        raise RuntimeError(f"`foldwise new --example {EXAMPLE}` made no manifest.json in {project}")
    shown = timed("gui_offscreen", [foldwise, "gui", str(project), "--quit-after-shown"], 300)
    if "window shown" not in shown:
        raise RuntimeError(f"the window was not shown; it printed: {shown[-1000:]!r}")
    found.update(module=module, version=version, project=str(project))
    return found


def check(stack: str, work: Path) -> dict[str, object]:
    started = time.perf_counter()
    wheel = build_wheel(work / "build")
    built = time.perf_counter() - started
    venv = work / "venv"
    figures: dict[str, object] = {
        "stack": stack,
        "wheel": wheel.name,
        "wheel_mb": round(wheel.stat().st_size / 1e6, 2),
        "build_wheel_s": round(built, 1),
    }
    figures.update({k: round(v, 1) for k, v in make_venv(venv, stack).items()})
    (work / "run").mkdir()
    figures.update(smoke(venv, wheel, work / "run"))
    figures["total_s"] = round(time.perf_counter() - started, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.wheel_check", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack",
        choices=("lock", "borrow"),
        default="lock",
        help="lock: install requirements.lock into the fresh venv (minutes); borrow: use this "
        "Python's packages (seconds)",
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=False)
        figures = check(args.stack, work)
    else:
        with tempfile.TemporaryDirectory(prefix="foldwise-wheel-check-") as tmp:
            figures = check(args.stack, Path(tmp))
    print(
        json.dumps(
            {"check": "wheel install", "ok": True, "measured": "wall clock on this machine", **figures}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
