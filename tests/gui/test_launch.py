"""`make run` in miniature: the real entry point opens a real X window under Xvfb (installed by .ci/run)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gui_opens_on_a_project_under_xvfb(tmp_path: Path) -> None:
    assert shutil.which("xvfb-run"), "xvfb-run is missing: .ci/run installs Debian's xvfb"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env.update(PYTHONPATH=str(REPO / "app"), FOLDWISE_CONFIG_DIR=str(tmp_path / "config"))
    project = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "foldwise", "new", str(project), "--example", "defect-demo"],
                   check=True, env=env, capture_output=True)
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
         sys.executable, "-m", "foldwise", "gui", str(project), "--quit-after-shown"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "window shown after" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (project / ".foldwise.lock").read_text().strip(), "the lock was not released on quit"
