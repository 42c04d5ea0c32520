"""`make screenshots`: open the app on an example project and save a PNG of every stage panel.

Run under Xvfb (``xvfb-run python -m foldwise.gui.screenshots OUT_DIR [PROJECT]``); the README shows them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from foldwise.core.examples import create_from_example
from foldwise.gui.app import create_app, make_settings
from foldwise.gui.main_window import MainWindow


def settle(app: QApplication, rounds: int = 20) -> None:
    for _ in range(rounds):
        app.processEvents()


def wait_for_jobs(window: MainWindow, app: QApplication, timeout_s: float = 300.0) -> None:
    """Let the stage's own jobs (e.g. the Build panel's first estimate) finish, so the picture shows results."""
    deadline = time.monotonic() + timeout_s
    while window.jobs.running and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.05)
    settle(app)


def grab_all(window: MainWindow, out_dir: Path) -> list[Path]:
    app = QApplication.instance()
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for index, panel in enumerate(window.panels):
        window.show_stage(index)
        settle(app)
        show_results(panel)
        settle(app)
        wait_for_jobs(window, app)
        path = out_dir / f"{index + 1:02d}-{panel.title.lower()}.png"
        screen = window.screen()
        pixmap = screen.grabWindow(window.winId()) if screen else window.grab()
        if pixmap.isNull():
            pixmap = window.grab()
        pixmap.save(str(path))
        saved.append(path)
    return saved


def show_results(panel: object) -> None:
    """Panels show their results: the Board panel its first board's profile, the Demo panel its frame budget."""
    board_list = getattr(panel, "board_list", None)
    tabs = getattr(panel, "tabs", None)
    if board_list is not None and board_list.count():
        board_list.setCurrentRow(0)
    check_budget = getattr(panel, "check_budget", None)
    if check_budget is not None:
        check_budget()
    if tabs is not None and board_list is not None:
        for i in range(tabs.count()):
            if tabs.tabText(i) == "Profile":
                tabs.setCurrentIndex(i)


def prepare_example(path: Path, epochs: int = 4) -> None:
    """A defect-demo project with a briefly trained DefectNet, so the panels have something to show."""
    from foldwise.core.networks.train import TrainConfig
    from foldwise.core.training import TrainSpec, train_iteration

    with create_from_example(path, "defect-demo") as project:
        print(f"training DefectNet for {epochs} epochs for the screenshots…", file=sys.stderr)
        train_iteration(project, TrainSpec(TrainConfig(epochs=epochs, patience=None)))


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else Path("docs/screenshots")
    app = create_app()
    window = MainWindow(make_settings(), auto_prepare=False)
    window.resize(1280, 800)  # the smallest screen every panel must work on (issue #14)
    window.show()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(argv[1]) if len(argv) > 1 else None
        if project is None:
            project = Path(tmp) / "defect-demo"
            prepare_example(project)
        window.open_project(project)
        settle(app)
        for path in grab_all(window, out_dir):
            print(path)
        window.jobs.cancel_all()  # e.g. the Build panel's FINN worker start: close without asking
        for job in window.jobs.registry.jobs:
            job.wait(30)
        settle(app)
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
