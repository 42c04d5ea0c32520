"""Help and hand-offs (#14 point 8): F1 opens a user guide (it opened About), Open in Netron shows its address and
opens the browser, the Build panel names its real tools tab, the import dialog picks a state dict's
architecture, and messages speak the user's words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from foldwise.core.paths import resources_dir
from foldwise.gui.about import AboutDialog
from foldwise.gui.guide import GuideDialog
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import show_panel
from tests.gui.test_main_window import STAGES

SOURCES = ("computed", "estimated", "simulated", "synthesized", "emulated", "measured")


def dialogs(kind: type) -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def test_f1_opens_the_user_guide(main_window: MainWindow, qtbot) -> None:
    qtbot.keyClick(main_window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: bool(dialogs(GuideDialog)), timeout=3000)
    assert not dialogs(AboutDialog)
    guide = dialogs(GuideDialog)[0]
    text = guide.text.toPlainText()
    assert (resources_dir() / "guide.md").is_file()  # package data, found as the icons are
    assert "120 FPS" in text and "remove block 5" in text and "W4A4" in text  # the story
    for panel in STAGES:
        assert f"{panel}:" in text, panel
    for source in SOURCES:
        assert source in text, source
    assert "The guide could not be read" not in text
    guide.close()
    main_window.about_action.trigger()  # About is still in the Help menu, without F1
    qtbot.waitUntil(lambda: bool(dialogs(AboutDialog)), timeout=3000)
    dialogs(AboutDialog)[0].close()


class FakeNetron:
    """Stands in for the netron process (tests/core/test_netron_view.py starts the real one)."""

    def __init__(self, model_file) -> None:
        self.model_file, self.url, self.stopped = model_file, "http://127.0.0.1:8765/", False

    def start(self) -> str:
        return self.url

    def stop(self) -> None:
        self.stopped = True


def test_open_in_netron_shows_the_address_and_opens_the_browser(float_window: MainWindow, qtbot, tmp_path,
                                                                monkeypatch) -> None:
    from PySide6.QtGui import QDesktopServices

    import foldwise.core.netron_view as netron_view

    opened: list[str] = []
    monkeypatch.setattr(netron_view, "onnx_for_viewing", lambda project, iteration: tmp_path / "net.onnx")
    monkeypatch.setattr(netron_view, "NetronServer", FakeNetron)
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()) or True)
    network = show_panel(float_window, "Network")
    assert not network.netron_link.isVisibleTo(network)
    network.netron_button.click()
    qtbot.waitUntil(lambda: opened != [], timeout=10_000)
    assert opened == ["http://127.0.0.1:8765/"]
    link = network.netron_link
    assert link.isVisibleTo(network) and "http://127.0.0.1:8765/" in link.text() and "href=" in link.text()
    assert "0001" in link.text() and "no browser" not in link.text()

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)  # no browser on this machine
    network.netron_button.click()
    qtbot.waitUntil(lambda: "no browser could be opened" in link.text(), timeout=10_000)
    assert "http://127.0.0.1:8765/" in link.text()
    float_window.close_project()  # closing stops the server and takes the address away
    assert not link.isVisibleTo(network) and link.text() == ""


def test_the_build_panel_names_its_tools_tab_as_it_is_called(main_window: MainWindow) -> None:
    build = show_panel(main_window, "Build")
    tab = build.tabs.tabText(build._tools_tab)
    assert tab == "What's missing"  # no Vivado on this machine (tests/gui/panels/test_build_panel.py checks it)
    reason = build.full_build_reason
    assert reason.isVisibleTo(build) and "vivado" in reason.text()
    assert reason.text().endswith(f"See the <a href='#tools'>{tab}</a> tab.")  # it said "See the Tools tab."
    build.tabs.setCurrentIndex(0)
    reason.linkActivated.emit("#tools")  # what clicking the tab's name does
    assert build.tabs.currentIndex() == build._tools_tab


def test_the_import_dialog_picks_a_state_dicts_architecture(main_window: MainWindow, trained_lenet, tmp_path,
                                                            qtbot) -> None:
    """The state-dict import could not name its architecture, and said so with a CLI placeholder (`<file>`)."""
    import torch

    from foldwise.core.networks.zoo import ZOO, build
    from foldwise.gui.import_dialog import AS_THE_FILE_SAYS, ImportDialog

    assert main_window.open_project(trained_lenet)
    network = show_panel(main_window, "Network")
    torch.save(build("lenet5", num_classes=10).state_dict(), tmp_path / "weights.pth")
    network.import_button.click()
    dialog = main_window.findChild(ImportDialog)
    assert dialog is not None and dialog.isVisible()
    archs = [dialog.arch.itemData(i) for i in range(dialog.arch.count())]
    assert archs == [None, *ZOO] and dialog.arch.itemText(0) == AS_THE_FILE_SAYS
    dialog.path.setText(str(tmp_path / "weights.pth"))
    assert dialog.arch.currentData() == "lenet5"  # a .pth next to a LeNet project: its architecture, offered
    dialog.arch.setCurrentIndex(0)
    dialog.arch.activated.emit(0)  # the user says "as the file says": the file cannot say
    dialog.accept()
    qtbot.waitUntil(lambda: not network.busy, timeout=60_000)
    qtbot.waitUntil(lambda: main_window.findChild(ImportDialog) not in (None, dialog), timeout=5000)
    again = main_window.findChild(ImportDialog)
    problem = again.error.text()
    assert again.isVisible() and again.error.isVisibleTo(again)
    assert "a state dict holds only weights" in problem and "Give it with the Architecture above." in problem
    assert "<file>" not in problem and "--arch" not in problem and "foldwise import" not in problem
    assert again.path.text() == str(tmp_path / "weights.pth") and again.arch.currentData() is None
    assert [it.id for it in main_window.project.iterations] == ["0001"]

    again.arch.setCurrentIndex(again.arch.findData("lenet5"))
    again.shape.setText("1,32")
    again.accept()  # a shape that is no C,H,W stays in the dialog with the reason
    assert again.isVisible() and "C,H,W with three positive sizes" in again.error.text()
    again.shape.setText("")
    again.accept()
    qtbot.waitUntil(lambda: main_window.project.current_id == "0002", timeout=60_000)
    assert main_window.project.current.kind == "imported"
