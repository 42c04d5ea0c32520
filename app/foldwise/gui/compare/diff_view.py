"""The diff of two iterations (A → B): layers removed or resized, bit widths, folding, every figure."""

from __future__ import annotations

import html

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from foldwise.core.compare import Row, cell_text
from foldwise.core.compare_diff import IterationDiff, bits_text, diff, folding_text
from foldwise.core.errors import FoldwiseError
from foldwise.core.project import Project


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table cellspacing='0' cellpadding='3' border='1'><tr>{head}</tr>{body}</table>"


def diff_html(result: IterationDiff) -> str:
    a, b = result.a, result.b
    parts = [f"<h3>{html.escape(a.label)} → {html.escape(b.label)}</h3>",
             f"<p>{html.escape(b.change or b.kind)}</p>", "<h4>Layers</h4>"]
    if result.layers_removed or result.layers_added or result.layers_changed:
        rows = [[n, "removed", ""] for n in result.layers_removed] + [[n, "added", ""] for n in result.layers_added]
        rows += [[r["name"], "resized", f"{r['params_a']:,} → {r['params_b']:,} params"] for r in result.layers_changed]
        parts.append(_table(["layer", "change", "params"], rows))
    else:
        parts.append("<p>same layers</p>")
    parts.append("<h4>Bit widths</h4>")
    if result.bits:
        parts.append(_table(["layer", a.id, b.id], [[r["layer"], bits_text(r["a"]), bits_text(r["b"])]
                                                     for r in result.bits]))
    else:
        parts.append("<p>both float</p>")
    parts.append("<h4>Folding</h4>")
    builds = result.folding_builds
    if not (builds.get("a") and builds.get("b")):
        without = [r.label for r, side in ((a, "a"), (b, "b")) if not builds.get(side)]
        parts.append(f"<p>not compared: {html.escape(' and '.join(without))} without a finished build</p>")
    elif result.folding:
        parts.append(_table(["node", "attribute", a.id, b.id],
                            [[r["node"], r["attribute"], folding_text(r["a"]), folding_text(r["b"])]
                             for r in result.folding]))
    else:
        parts.append("<p>same folding</p>")
    parts.append("<h4>Figures and board results</h4>")
    parts.append(_table(["figure", a.id, b.id, "B / A"],
                        [[r["title"], cell_text(r["key"], r["a"]), cell_text(r["key"], r["b"]),
                          f"×{r['ratio']:.3g}" if r["ratio"] is not None else ""] for r in result.figures]))
    return "".join(parts)


class DiffView(QWidget):
    """Two iteration pickers and the diff between them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.a = QComboBox()
        self.a.setObjectName("diffA")
        self.b = QComboBox()
        self.b.setObjectName("diffB")
        for combo in (self.a, self.b):
            combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.text = QTextBrowser()
        self.text.setObjectName("diffText")
        top = QHBoxLayout()
        top.addWidget(QLabel("A:"))
        top.addWidget(self.a, 1)
        top.addWidget(QLabel("→ B:"))
        top.addWidget(self.b, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        self.result: IterationDiff | None = None

    def set_rows(self, project: Project | None, rows: list[Row]) -> None:
        self.project = project
        keep = (self.a.currentData(), self.b.currentData())
        for combo, kept in zip((self.a, self.b), keep, strict=True):
            with QSignalBlocker(combo):
                combo.clear()
                for row in rows:
                    combo.addItem(row.label, row.id)
                index = combo.findData(kept)
                combo.setCurrentIndex(index if index >= 0 else -1)
        self.refresh()

    def set_pair(self, a: str | None, b: str | None) -> None:
        for combo, wanted in ((self.a, a), (self.b, b)):
            with QSignalBlocker(combo):
                combo.setCurrentIndex(combo.findData(wanted))
        self.refresh()

    def refresh(self) -> None:
        a, b = self.a.currentData(), self.b.currentData()
        self.result = None
        if self.project is None or not a or not b:
            self.text.setHtml("<p>Pick two iterations to compare (A and B).</p>")
            return
        if a == b:
            self.text.setHtml("<p>A and B are the same iteration: pick another one.</p>")
            return
        try:
            self.result = diff(self.project, a, b)
        except FoldwiseError as exc:
            self.text.setHtml(f"<p><b>Cannot compare:</b> {html.escape(str(exc))}</p>")
            return
        self.text.setHtml(diff_html(self.result))
