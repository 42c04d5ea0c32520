from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

from foldwise.gui.main_window import MainWindow
from foldwise.gui.new_project_dialog import NewProjectDialog


def _image_folder(root: Path, classes: dict[str, int]) -> Path:
    for label, n in classes.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            (root / label / f"{i}.png").write_bytes(b"")
    return root


def test_image_folder_is_checked_as_it_is_typed(qtbot, tmp_path: Path) -> None:
    dialog = NewProjectDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled() and dialog.data_folder() is None  # shipped data by default

    dialog.data_edit.setText(str(_image_folder(tmp_path / "one", {"good": 4})))
    assert not ok.isEnabled()
    assert "only 'good' holds images" in dialog.data_status.text()

    dialog.data_edit.setText(str(_image_folder(tmp_path / "two", {"good": 4, "dent": 1200})))
    assert ok.isEnabled()
    assert dialog.data_status.text().startswith("2 classes, 1,204 images")

    dialog.path_edit.setText("  ")
    assert not ok.isEnabled()


def test_new_project_with_own_images_and_network(main_window: MainWindow, tmp_path: Path) -> None:
    images = _image_folder(tmp_path / "imgs", {"good": 2, "bad": 2})
    assert main_window.create_project(tmp_path / "p", arch="lenet5", data_folder=str(images))
    settings = main_window.project.settings
    assert settings["network"] == {"arch": "lenet5"}
    assert settings["dataset"] == {"name": "folder", "path": str(images), "seed": 0}


def test_new_project_with_a_bad_folder_creates_nothing(main_window: MainWindow, tmp_path: Path, monkeypatch) -> None:
    shown = []
    monkeypatch.setattr("foldwise.gui.main_window.show_error", lambda _parent, title, exc: shown.append(str(exc)))
    assert not main_window.create_project(tmp_path / "p", arch="nonet", data_folder=str(tmp_path))
    assert "unknown network 'nonet'" in shown[0]
    assert not main_window.create_project(tmp_path / "p", data_folder=str(tmp_path))
    assert "no class sub-folder holds" in shown[1]
    assert not (tmp_path / "p").exists() and main_window.project is None
    assert not list(Path(tmp_path).glob("p*"))


def test_network_fit_and_shipped_data_set(qtbot, main_window: MainWindow, tmp_path: Path) -> None:
    dialog = NewProjectDialog()
    qtbot.addWidget(dialog)
    dialog.arch_combo.setCurrentIndex(dialog.arch_combo.findData("resnet18"))
    assert "does not fit" in dialog.fit_status.text() and "(computed)" in dialog.fit_status.text()
    dialog.arch_combo.setCurrentIndex(dialog.arch_combo.findData("resnet18-0.25x"))
    assert ": fits (computed)" in dialog.fit_status.text()
    dialog.dataset_combo.setCurrentIndex(dialog.dataset_combo.findData("defects"))
    assert dialog.dataset() == "defects"
    assert main_window.create_project(tmp_path / "p", arch=dialog.arch(), data=dialog.dataset())
    assert main_window.project.settings["dataset"] == {"name": "defects", "seed": 0}
