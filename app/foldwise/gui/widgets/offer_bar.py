"""A bar across the top of a panel that offers to do something the user has not asked for yet (train an
example's network, ...): a sentence, a button that does it and one that says "not now". Nothing starts on
its own; the bar only asks."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class OfferBar(QFrame):
    """``offer(text, action_text, action)`` shows the bar; either button hides it again."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(f"QFrame#{name} {{ background: #eef4fb; border: 1px solid #9dbbe0; border-radius: 4px; }}")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.accept_button = QPushButton()
        self.accept_button.setObjectName(f"{name}Accept")
        self.dismiss_button = QPushButton("Not now")
        self.dismiss_button.setObjectName(f"{name}Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.accept_button)
        layout.addWidget(self.dismiss_button)
        self._action: Callable[[], object] | None = None
        self.accept_button.clicked.connect(self._accept)
        self.dismiss_button.clicked.connect(self.withdraw)
        self.hide()

    def offer(self, text: str, action_text: str, action: Callable[[], object]) -> None:
        self.text.setText(text)
        self.accept_button.setText(action_text)
        self._action = action
        self.show()

    def withdraw(self) -> None:
        self._action = None
        self.hide()

    def _accept(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()
