"""Quantize settings edits as undo commands: a bit width in the table, a network default, per-layer settings
loaded or cleared. Each sets one field of the evented QuantConfig (its events refresh the views)."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

EDIT_ID = 0x5154  # QUndoCommand.id() of config edits, so steps of one field merge


class ConfigEdit(QUndoCommand):
    """``config.<name> = after``, and back to the value before on undo. Edits of the same field in a row (a spin
    box stepped from 8 to 4 bits) merge into one; merged back to where it started, the edit disappears."""

    def __init__(self, config: Any, name: str, after: Any, text: str) -> None:
        super().__init__(text)
        self.config = config
        self.name = name
        self.before = copy.deepcopy(getattr(config, name))
        self.after = copy.deepcopy(after)

    def redo(self) -> None:
        setattr(self.config, self.name, copy.deepcopy(self.after))

    def undo(self) -> None:
        setattr(self.config, self.name, copy.deepcopy(self.before))

    def id(self) -> int:
        return EDIT_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ConfigEdit) or other.config is not self.config or other.name != self.name \
                or other.text() != self.text():
            return False
        self.after = other.after
        self.setObsolete(self.after == self.before)
        return True


def set_config(config: Any, name: str, value: Any, text: str, stack: QUndoStack | None) -> None:
    """Set ``config.<name>`` as an undoable edit on ``stack`` (directly without one)."""
    if stack is None:
        setattr(config, name, value)
    else:
        stack.push(ConfigEdit(config, name, value, text))
