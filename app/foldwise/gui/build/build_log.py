"""A build as it runs and afterwards: FINN's steps with their times, the log with search, and plain-language
explanations of known failures (from :mod:`foldwise.core.finn.failures`)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QShowEvent, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.finn.failures import Explanation
from foldwise.core.finn.stage import BuildRecord

STEP_RE = re.compile(r"(?:Running step: )?(step_\w+) \[(\d+)/(\d+)\]")
ISSUE_RE = re.compile(r"\b(ERROR|CRITICAL|WARNING|Traceback|Exception|Error:|failed)\b", re.IGNORECASE)
STATE_TEXT = {"running": "running…", "done": "done", "failed": "failed", "cancelled": "cancelled"}
STATE_COLOUR = {"running": "#1f5f99", "done": "#1e7e34", "failed": "#b03a2e", "cancelled": "#7f8c8d"}


class StepList(QTreeWidget):
    """FINN's build steps in order: state and seconds (live, from progress lines; FINN's own afterwards)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepList")
        self.setColumnCount(3)
        self.setHeaderLabels(["Step", "State", "Time"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.total = 0
        self._current: QTreeWidgetItem | None = None
        self._started = 0.0
        self.steps: dict[str, QTreeWidgetItem] = {}

    def start(self) -> None:
        self.clear()
        self.setHeaderLabels(["Step", "State", "Time"])
        self.steps, self._current, self.total = {}, None, 0

    def _set(self, item: QTreeWidgetItem, state: str, seconds: float | None = None) -> None:
        item.setText(1, STATE_TEXT.get(state, state))
        item.setForeground(1, QColor(STATE_COLOUR.get(state, "#333333")))
        item.setData(1, Qt.ItemDataRole.UserRole, state)
        if seconds is not None:
            item.setText(2, f"{seconds:.1f} s")
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight)

    def _item(self, name: str, number: int) -> QTreeWidgetItem:
        item = QTreeWidgetItem([f"{number:>2}. {name.removeprefix('step_')}", "", ""])
        item.setToolTip(0, name)
        self.addTopLevelItem(item)
        self.steps[name] = item
        return item

    def on_progress(self, message: str) -> bool:
        """Feed a progress message (``step_x [i/N]``); True if it started a new step."""
        match = STEP_RE.search(message)
        if not match:
            return False
        name, i, n = match.group(1), int(match.group(2)), int(match.group(3))
        if name in self.steps:
            return False
        now = time.monotonic()
        if self._current is not None:
            self._set(self._current, "done", now - self._started)
        self.total = n
        item = self._item(name, i)
        self._set(item, "running")
        self.scrollToItem(item)
        self._current, self._started = item, now
        return True

    def finish(self, state: str, time_per_step: dict[str, float] | None = None) -> None:
        """End the build (``done``/``failed``/``cancelled``); FINN's own step times fill gaps."""
        if self._current is not None:
            self._set(self._current, "done" if state == "done" else state, time.monotonic() - self._started)
            self._current = None
        times = dict(time_per_step or {})
        total = times.pop("total_build_time", None)
        for name, seconds in times.items():
            item = self.steps.get(name)
            if item is None:
                item = self._item(name, len(self.steps) + 1)
                self._set(item, "done", float(seconds))
            item.setToolTip(2, f"FINN's time_per_step.json: {seconds:g} s (whole seconds)")
        if total is not None:
            self.setHeaderLabels(["Step", "State", f"Time (total {float(total):g} s)"])

    def states(self) -> dict[str, str]:
        return {name: item.data(1, Qt.ItemDataRole.UserRole) for name, item in self.steps.items()}


class LogView(QWidget):
    """The build log with search (all matches highlighted, next/previous) and an errors-and-warnings filter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines: list[str] = []
        self._left_pending = False
        self.text = QPlainTextEdit()
        self.text.setObjectName("buildLog")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(50_000)
        font = self.text.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.text.setFont(font)
        self.search = QLineEdit()
        self.search.setObjectName("logSearch")
        self.search.setPlaceholderText("Search the log (Enter: next)")
        self.search.setMinimumWidth(120)
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._highlight)
        self.search.returnPressed.connect(self.find_next)
        self.prev_button = QPushButton("▲")
        self.prev_button.setToolTip("Previous match")
        self.prev_button.setFixedWidth(30)
        self.prev_button.clicked.connect(lambda: self.find_next(backward=True))
        self.next_button = QPushButton("▼")
        self.next_button.setToolTip("Next match")
        self.next_button.setFixedWidth(30)
        self.next_button.clicked.connect(self.find_next)
        self.matches = QLabel("")
        self.matches.setMinimumWidth(50)
        self.issues_only = QCheckBox("issues only")
        self.issues_only.setToolTip("Show only errors and warnings")
        self.issues_only.toggled.connect(self._rerender)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.matches)
        bar.addWidget(self.issues_only)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)

    def clear(self) -> None:
        self.lines = []
        self.text.clear()
        self._highlight()

    def set_text(self, text: str) -> None:
        self.lines = text.splitlines()
        self._rerender()

    def append(self, line: str) -> None:
        self.lines.append(line)
        if not self.issues_only.isChecked() or ISSUE_RE.search(line):
            self.text.appendPlainText(line)
            self._scroll_left()

    def plain_text(self) -> str:
        return "\n".join(self.lines)

    def _rerender(self) -> None:
        shown = [ln for ln in self.lines if ISSUE_RE.search(ln)] if self.issues_only.isChecked() else self.lines
        self.text.setPlainText("\n".join(shown))
        self._scroll_left()
        self._highlight()

    def _scroll_left(self) -> None:
        # appending a long line scrolls the view sideways once the document is laid out: undo that afterwards
        if not self._left_pending:
            self._left_pending = True
            QTimer.singleShot(0, self, self._do_scroll_left)

    def _do_scroll_left(self) -> None:
        self._left_pending = False
        self.text.horizontalScrollBar().setValue(0)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._scroll_left()

    def _highlight(self) -> None:
        needle = self.search.text()
        selections = []
        if needle:
            fmt = QTextCharFormat()
            fmt.setBackground(QColor("#fff2a8"))
            doc = self.text.document()
            cursor = doc.find(needle, 0)
            while not cursor.isNull() and len(selections) < 5000:
                sel = QTextEdit.ExtraSelection()
                sel.cursor, sel.format = cursor, fmt
                selections.append(sel)
                cursor = doc.find(needle, cursor)
            self.matches.setText(f"{len(selections)} match{'es' if len(selections) != 1 else ''}")
        else:
            self.matches.setText("")
        self.text.setExtraSelections(selections)

    def find_next(self, backward: bool = False) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        flags = QTextDocument.FindFlag.FindBackward if backward else QTextDocument.FindFlag(0)
        if self.text.find(needle, flags):
            return True
        cursor = self.text.textCursor()  # wrap around
        cursor.movePosition(QTextCursor.MoveOperation.End if backward else QTextCursor.MoveOperation.Start)
        self.text.setTextCursor(cursor)
        return self.text.find(needle, flags)

    def go_to_line(self, line: int) -> None:
        """Show 1-based ``line`` of the full log (the filter is switched off)."""
        if self.issues_only.isChecked():
            self.issues_only.setChecked(False)
        block = self.text.document().findBlockByLineNumber(max(line - 1, 0))
        cursor = QTextCursor(block)
        cursor.select(QTextCursor.SelectionType.LineUnderCursor)
        self.text.setTextCursor(cursor)
        self.text.centerCursor()


class ExplanationsView(QFrame):
    """Cards for recognised failures: title, what it means, what to do, and a link to the line in the log."""

    line_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("failureExplanations")
        self.setStyleSheet("QFrame#failureExplanations { background: #fdf3f2; border: 1px solid #e6b0aa; "
                           "border-radius: 4px; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.label.linkActivated.connect(lambda href: self.line_clicked.emit(int(href.split(":")[1])))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label)
        self.explanations: list[Explanation] = []
        self.hide()

    def set_explanations(self, explanations: list[Explanation], error: str = "") -> None:
        self.explanations = list(explanations)
        if not explanations and not error:
            self.hide()
            return
        parts = []
        if error and not explanations:
            parts.append(f"<b>The build failed.</b> {html.escape(error)}<br><i>No known cause recognised; the "
                         "log below has the details.</i>")
        for e in explanations:
            where = f" <a href='line:{e.line}'>log line {e.line}</a>" if e.line else ""
            parts.append(f"<b>{html.escape(e.title)}</b><br>{html.escape(e.detail)}<br>"
                         f"<span style='color:#1e4d2b'><b>What to do:</b> {html.escape(e.fix)}</span>"
                         f"<br><small><code>{html.escape(e.evidence[:180])}</code>{where}</small>")
        self.label.setText("<br><br>".join(parts))
        self.show()


class BuildsList(QTreeWidget):
    """Builds kept for this model (newest first), as core reads them; double-click (or Open) reopens one."""

    reopen = Signal(object)  # Path
    COLUMNS = ("When", "Kind", "Board", "Clock", "FPS (est.)", "On", "Result")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("buildsList")
        self.setHeaderLabels(list(self.COLUMNS))
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        for col in range(len(self.COLUMNS)):
            self.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)
        self.records: dict[str, BuildRecord] = {}
        self.itemDoubleClicked.connect(lambda item, _col: self.reopen.emit(item.data(0, Qt.ItemDataRole.UserRole)))

    def set_builds(self, builds: list[BuildRecord]) -> None:
        self.clear()
        self.records = {str(b.folder): b for b in builds}
        for b in builds:
            fps = b.fps
            when = time.strftime("%d %b %H:%M:%S", time.localtime(b.modified)) if b.modified else b.name
            item = QTreeWidgetItem([when, b.kind.value if b.kind else "–", b.board or "–",
                                    f"{b.clock_mhz:g} MHz" if b.clock_mhz else "–",
                                    f"{fps:,.0f}" if fps else "–", b.host or "here",
                                    "ok" if b.ok else b.status])
            item.setData(0, Qt.ItemDataRole.UserRole, str(b.folder))  # a str: no PyObject in a QVariant
            item.setForeground(6, QColor("#1e7e34" if b.ok else "#b03a2e"))
            item.setToolTip(0, f"{b.name}\n{b.folder}")
            if b.resume_step:
                item.setToolTip(6, f"stopped in {b.resume_step}")
            self.addTopLevelItem(item)

    def selected_folder(self) -> Any:
        item = self.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def selected_record(self) -> BuildRecord | None:
        folder = self.selected_folder()
        return self.records.get(str(folder)) if folder is not None else None
