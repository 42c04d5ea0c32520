"""Network → Import network…: the file, the zoo architecture a bare state dict belongs to, and the input shape
of a file that does not record one. A file refused for want of either comes back here with the reason."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QFileDialog, QLineEdit, QWidget

from foldwise.core.errors import InputError
from foldwise.core.importing import ImportSpec, parse_input_shape
from foldwise.gui.form_dialog import CheckedFormDialog, with_browse

FILE_FILTER = "Networks (*.pt *.pth *.onnx);;All files (*)"
AS_THE_FILE_SAYS = "As the file says (TorchScript, ONNX, QONNX, a Foldwise network)"
# what each front end calls the fields an importer asks for (ImportReport.needs); the CLI names its options
FIELD_NAMES = {"arch": "the Architecture", "input_shape": "the Input shape"}


class ImportDialog(CheckedFormDialog):
    """``project_arch``: the project's zoo network, offered first for a ``.pt``/``.pth`` state dict."""

    def __init__(self, start_dir: Path, project_arch: str | None = None, spec: ImportSpec | None = None,
                 problem: str = "", parent: QWidget | None = None) -> None:
        from foldwise.core.networks.zoo import ZOO

        super().__init__("Import network", "importDialog", parent)
        self._start_dir, self._project_arch, self._arch_chosen = start_dir, project_arch, spec is not None
        self.path = QLineEdit(str(spec.path) if spec is not None else "")
        self.path.setObjectName("importPath")
        self.path.setPlaceholderText("a TorchScript .pt, a state dict .pt/.pth, an ONNX or QONNX .onnx file")
        row = with_browse(self.path, self._browse)
        self.arch = QComboBox()
        self.arch.setObjectName("importArch")
        self.arch.addItem(AS_THE_FILE_SAYS, None)
        for name, entry in ZOO.items():
            self.arch.addItem(f"{name}: {entry.description}", name)
        self.arch.setToolTip("A state dict holds only weights: pick the zoo network they were saved from")
        self.shape = QLineEdit()
        self.shape.setObjectName("importShape")
        self.shape.setPlaceholderText("C,H,W, e.g. 3,64,64: only for a file that does not record it")
        if spec is not None:
            self.arch.setCurrentIndex(max(self.arch.findData(spec.arch), 0))
            self.shape.setText(",".join(map(str, spec.input_shape)) if spec.input_shape else "")
        self.arch.activated.connect(self._arch_picked)
        self.path.textChanged.connect(self._path_changed)
        self.add_rows([("Network file:", row), ("Architecture:", self.arch), ("Input shape:", self.shape)])
        self.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).setText("Import")
        if problem:
            self.error.setText(problem)
            self.error.show()
        self.resize(max(self.sizeHint().width(), 640), self.sizeHint().height())

    def _arch_picked(self) -> None:
        self._arch_chosen = True

    def _path_changed(self, text: str) -> None:
        """A .pt/.pth file may be a state dict of the project's network: offer that until the user picks."""
        if self._arch_chosen:
            return
        weights = Path(text.strip()).suffix.lower() in (".pt", ".pth")
        self.arch.setCurrentIndex(max(self.arch.findData(self._project_arch), 0) if weights else 0)

    def _browse(self) -> None:
        start = self.path.text().strip() or str(self._start_dir)
        path, _ = QFileDialog.getOpenFileName(self, "Import network", start, FILE_FILTER)
        if path:
            self.path.setText(path)

    def spec(self) -> ImportSpec:
        """The import asked for; InputError says what is wrong with the fields."""
        text = self.path.text().strip()
        if not text:
            raise InputError("pick the network file to import")
        path = Path(text).expanduser()
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file")
        shape = parse_input_shape(self.shape.text().strip()) if self.shape.text().strip() else None
        return ImportSpec(str(path), self.arch.currentData(), shape)

    def check(self) -> None:
        self.spec()


def refusal_text(message: str, needs: list[str]) -> str:
    """The importer's reason, then which of this dialog's fields give what it needs."""
    fields = [FIELD_NAMES[n] for n in needs if n in FIELD_NAMES]
    return message + (f"\nGive it with {' and '.join(fields)} above." if fields else "")
