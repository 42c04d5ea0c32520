"""The story: the chain from the root to the current iteration, its weights shrinking and its FPS against the
target, as the classic demo tells it (140 MB → 84 MB → 68 MB) with this project's own numbers."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from foldwise.core.compare import Story, cell_text, story
from foldwise.core.errors import FoldwiseError
from foldwise.core.project import Project


def story_html(chain: Story) -> str:
    rows = []
    for step in chain.steps:
        verdict = step.verdict["text"] if step.verdict else "–"
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in (
            step.label, step.change or step.kind, cell_text("weight_mb", step.cell("weight_mb")),
            cell_text("accuracy", step.cell("accuracy")), cell_text("fps", step.cell("fps")), verdict)) + "</tr>")
    head = "".join(f"<th align='left'>{h}</th>" for h in ("iteration", "what changed", "weights", "accuracy", "FPS",
                                                          "keeps up?"))
    return f"<table cellspacing='0' cellpadding='3' border='1'><tr>{head}</tr>{''.join(rows)}</table>"


class StoryView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headline = QLabel()
        self.headline.setObjectName("storyHeadline")
        self.headline.setWordWrap(True)
        self.fps_line = QLabel()
        self.fps_line.setObjectName("storyFps")
        self.fps_line.setWordWrap(True)
        self.steps = QTextBrowser()
        self.steps.setObjectName("storySteps")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.headline)
        layout.addWidget(self.fps_line)
        layout.addWidget(self.steps, 1)
        self.story: Story | None = None

    def set_project(self, project: Project | None) -> None:
        self.story = None
        if project is None or project.current is None:
            self.headline.setText("No iterations yet: train or import a network.")
            self.fps_line.clear()
            self.steps.clear()
            return
        try:
            self.story = story(project)
        except FoldwiseError as exc:
            self.headline.setText(f"Cannot tell the story: {exc}")
            self.fps_line.clear()
            self.steps.clear()
            return
        self.headline.setText(f"<span style='font-size:16pt'><b>{html.escape(self.story.size_line or '–')}"
                              "</b></span>")
        self.fps_line.setText(f"<span style='font-size:12pt'>{html.escape(self.story.fps_line)}</span>")
        self.steps.setHtml(story_html(self.story))
