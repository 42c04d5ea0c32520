"""The Board panel's Deploy tab: which build, the runs to make, Run; the runner's log and what a failure means.

The form only collects a :class:`~foldwise.core.board.deploy.DeploySpec`; the panel runs it as a job
(:meth:`BoardPanel.deploy`). Builds that cannot be deployed stay listed, disabled, with the reason.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.board.deploy import DEFAULT_BATCHES, DeploySpec, choose_build
from foldwise.core.board.package import accelerator_of
from foldwise.core.errors import InputError
from foldwise.core.finn.stage import BuildRecord, list_builds
from foldwise.core.project import Iteration
from foldwise.gui.board.run_errors import explanation_for
from foldwise.gui.build.build_log import LogView
from foldwise.gui.fields import FieldGate, NumberField, field_row, with_messages

_ACCELERATOR = {"bitfile": "bitfile", "dataflow-model": "no bitfile: emulated boards only"}


def build_choice(build: BuildRecord) -> tuple[str, str | None]:
    """(what a package of ``build`` carries, why it cannot be deployed or None)."""
    if not build.ok:
        return "", f"did not finish ({build.status})"
    try:
        return accelerator_of(build), None
    except InputError as exc:
        return "", str(exc)


def parse_batches(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise InputError(f"batch sizes are whole numbers separated by commas, got {text!r}") from None
    if not sizes:
        raise InputError("give at least one batch size, e.g. 1,10,100")
    return sizes


class DeployForm(QWidget):
    """``run_requested`` when Run is clicked; :meth:`spec` reads the form (InputError says what is wrong)."""

    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deployForm")
        self.build = QComboBox()
        self.build.setObjectName("deployBuild")
        self.build.setMinimumContentsLength(20)
        self.build.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.throughput = QCheckBox("throughput test, batch sizes")
        self.throughput.setChecked(True)
        self.batches = QLineEdit(",".join(map(str, DEFAULT_BATCHES)))
        self.batches.setObjectName("deployBatches")
        self.batches.setToolTip("The FINN runtime's throughput test runs once per batch size")
        self.validate = QCheckBox("validation, test images")
        self.images = NumberField(0, 1_000_000, 200)
        self.images.setObjectName("deployImages")
        self.images.setSpecialValueText("all")
        self.images.setToolTip("Images of the project's test split (0: all); the host's quantized network "
                               "classifies the same ones for comparison")
        self.timeout = NumberField(5, 24 * 3600, 900)
        self.timeout.setObjectName("deployTimeout")
        self.timeout.setSuffix(" s")
        self.fields = FieldGate([self.images, self.timeout], self)  # Run waits while one is invalid
        self.timeout.setToolTip("Each remote run is stopped after this long (a wrong bitfile hangs the runtime)")
        self.run_button = QPushButton("Run on board")
        self.run_button.setObjectName("deployRun")
        self.build_note = QLabel()  # why no build of the iteration can be deployed
        self.build_note.setObjectName("deployBuildNote")
        self.build_note.setWordWrap(True)
        self.build_note.hide()
        self.note = QLabel()  # what the last deploy ran
        self.note.setObjectName("deployNote")
        self.note.setWordWrap(True)
        self.explanation = QLabel()
        self.explanation.setObjectName("deployExplanation")
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setStyleSheet("QLabel { background: #fbeeee; border: 1px solid #d9a3a3; padding: 6px; }")
        self.explanation.hide()
        self.log = LogView()
        self.log.text.setObjectName("deployLog")
        form = QFormLayout()
        form.addRow("Build:", self.build)
        form.addRow(self.build_note)
        form.addRow(self.throughput, self.batches)
        form.addRow(self.validate, with_messages(self.images))
        last = field_row(self.timeout)
        last.addStretch(1)
        last.addWidget(self.run_button)
        form.addRow("Timeout per run:", with_messages(last, self.timeout))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.explanation)
        layout.addWidget(QLabel("Runner log (streamed from the board):"))
        layout.addWidget(self.log, 1)
        self.run_button.clicked.connect(self.run_requested.emit)
        self.throughput.toggled.connect(self.batches.setEnabled)
        self.validate.toggled.connect(self.images.setEnabled)
        self.images.setEnabled(False)

    def set_iteration(self, iteration: Iteration | None) -> None:
        """List ``iteration``'s builds, choose_build's default selected; unusable ones disabled with the reason."""
        keep = self.build.currentData()
        self.build.clear()
        builds = list_builds(iteration) if iteration is not None else []
        model = self.build.model()
        default, why = None, ""
        if iteration is not None:
            try:
                default = choose_build(iteration).name
            except InputError as exc:
                why = str(exc)
        self.build_note.setText(html.escape(why))
        self.build_note.setVisible(bool(why))
        for build in builds:
            carries, reason = build_choice(build)
            kind = build.kind.value if build.kind is not None else "build"
            text = f"{build.name}  ({kind}; {_ACCELERATOR.get(carries, reason)})"
            self.build.addItem(text, build.name)
            index = self.build.count() - 1
            self.build.setItemData(index, reason or f"carries a {carries}", Qt.ItemDataRole.ToolTipRole)
            if reason is not None and isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)
        chosen = keep if keep is not None and self._usable(keep) else default
        if chosen is not None:
            self.build.setCurrentIndex(self.build.findData(chosen))

    def _usable(self, name: str) -> bool:
        model = self.build.model()
        index = self.build.findData(name)
        return index >= 0 and (not isinstance(model, QStandardItemModel) or model.item(index).isEnabled())

    @property
    def has_build(self) -> bool:
        name = self.build.currentData()
        return name is not None and self._usable(name)

    def why_not(self) -> str:
        """Why Run must wait ('' when it can run): an invalid field, or no deployable build selected."""
        return self.fields.reason() or ("" if self.has_build else "No build of this iteration can be deployed")

    def spec(self, board: str) -> DeploySpec:
        if not self.fields.ok:
            raise InputError(self.fields.reason())
        if not self.has_build:
            raise InputError("no deployable build is selected: run an estimate of this iteration first")
        spec = DeploySpec(board, throughput=self.throughput.isChecked(),
                          batches=parse_batches(self.batches.text()) if self.throughput.isChecked() else
                          DEFAULT_BATCHES, validate=self.validate.isChecked(), images=self.images.value(),
                          build=str(self.build.currentData()), timeout=float(self.timeout.value()))
        spec.check()
        return spec

    def show_failure(self, exc: BaseException | None) -> None:
        """Under the form: what went wrong on the board and what to do (hidden for None or a plain error)."""
        found = explanation_for(exc) if exc is not None else None
        if found is None:
            self.explanation.hide()
            self.explanation.setText("")
            return
        self.explanation.setText(f"<b>{html.escape(found.title)}</b><br>{html.escape(found.what)}"
                                 f"<br><b>What to do:</b> {html.escape(found.todo)}")
        self.explanation.show()
