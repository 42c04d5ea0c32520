"""The "keeps up?" budget as bars: one per stage against the frame budget (1000/target ms), and the verdict.

Filled from a :class:`~foldwise.core.demo.budget.FrameBudget` before a run, and from the live figures during
one (their ``stage_ms``); each bar says where its time came from (measured, estimated, emulated).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from foldwise.core.demo.budget import FrameBudget

_OVER = "QProgressBar::chunk { background: #c0392b; }"
_UNDER = "QProgressBar::chunk { background: #27ae60; }"
LIVE_STAGES = ("preprocess", "transfer", "inference", "annotate", "output")


class BudgetBars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid = QGridLayout()
        self._rows: list[tuple[QLabel, QProgressBar, QLabel]] = []
        self.title = QLabel("Frame budget: check it before a run")
        self.title.setObjectName("budgetTitle")
        self.verdict = QLabel("")
        self.verdict.setObjectName("budgetVerdict")
        self.verdict.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(self._grid)
        layout.addWidget(self.verdict)

    def _set_rows(self, rows: list[tuple[str, float, str, str]], budget_ms: float) -> None:
        while len(self._rows) < len(rows):
            name, bar, text = QLabel(), QProgressBar(), QLabel()
            bar.setRange(0, 1000)
            bar.setTextVisible(False)
            bar.setMaximumHeight(14)
            i = len(self._rows)
            self._grid.addWidget(name, i, 0)
            self._grid.addWidget(bar, i, 1)
            self._grid.addWidget(text, i, 2)
            self._rows.append((name, bar, text))
        for i, (name, bar, text) in enumerate(self._rows):
            visible = i < len(rows)
            for widget in (name, bar, text):
                widget.setVisible(visible)
            if not visible:
                continue
            stage, ms, source, note = rows[i]
            share = ms / budget_ms if budget_ms > 0 else 0.0
            name.setText(stage)
            bar.setValue(int(min(share, 1.0) * 1000))
            bar.setStyleSheet(_OVER if share > 1.0 else _UNDER)
            bar.setToolTip(note)
            text.setText(f"{ms:,.2f} ms · {100 * share:,.0f} % ({source})")
            text.setObjectName(f"budget_{stage}")

    def show_budget(self, budget: FrameBudget) -> None:
        self.title.setText(f"Frame budget at {budget.target_fps:g} FPS: {budget.budget_ms:.2f} ms per frame "
                           f"(inference from {budget.inference_from})")
        self._set_rows([(s.stage, s.ms, s.source, s.note) for s in budget.stages], budget.budget_ms)
        self.verdict.setText(budget.verdict)
        self.verdict.setStyleSheet(f"color: {'#27ae60' if budget.keeps_up else '#c0392b'}; font-weight: bold")

    def show_live(self, stats: dict[str, Any]) -> None:
        """The running demo's per-stage means (its live window) against the same budget."""
        budget = float(stats["budget_ms"]["value"])
        stages = stats.get("stage_ms") or {}
        rows = [(name, float(stages[name]["value"]), str(stages[name]["source"]), "this run, live")
                for name in LIVE_STAGES if name in stages and (stages[name]["value"] or name == "inference")]
        self.title.setText(f"Frame budget at {stats['target_fps']['value']:g} FPS: {budget:.2f} ms per frame (live)")
        self._set_rows(rows, budget)
        self.verdict.setText(str(stats.get("verdict", "")))
        self.verdict.setStyleSheet(f"color: {'#27ae60' if stats.get('keeps_up') else '#c0392b'}; font-weight: bold")
