"""`make run` in miniature: the real entry point opens a real X window under Xvfb (installed by `make test`)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gui_opens_on_a_project_under_xvfb(tmp_path: Path) -> None:
    assert shutil.which("xvfb-run"), "xvfb-run is missing: `make test` installs Debian's xvfb (packaging/system-deps)"
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


# Runs the real start-up and, when the window says it is shown, lists the heavy libraries already imported.
_HEAVY_PROBE = """
import sys
from foldwise.gui import app
from foldwise.gui.main_window import MainWindow

HEAVY = ("torch", "brevitas", "finn", "qonnx", "onnx", "onnxruntime", "cv2", "sklearn")
init = MainWindow.__init__

def probing_init(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.shown.connect(lambda: print("heavy at shown:", [m for m in HEAVY if m in sys.modules], flush=True))

MainWindow.__init__ = probing_init
sys.exit(app.run_gui(sys.argv[1], quit_after_shown=True))
"""


def test_no_heavy_library_is_imported_before_the_window_is_shown(tmp_path: Path) -> None:
    """Cold start stays fast: torch, Brevitas, FINN and friends load after the window is on screen."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "app"), "FOLDWISE_CONFIG_DIR": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    project = tmp_path / "demo"
    subprocess.run([sys.executable, "-m", "foldwise", "new", str(project), "--example", "defect-demo"],
                   check=True, env=env, capture_output=True)
    result = subprocess.run([sys.executable, "-c", _HEAVY_PROBE, str(project)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "heavy at shown: []" in result.stdout, result.stdout
