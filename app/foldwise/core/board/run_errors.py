"""The errors of a run on a board (kept apart from :mod:`.deploy`, so the GUI's error table imports no numpy)."""

from __future__ import annotations

from foldwise.core.errors import FoldwiseError, InputError


class BoardRunError(FoldwiseError):
    """The runner on the board stopped with an error it explained (``code``, ``fix``)."""

    def __init__(self, message: str, code: str = "", fix: str = "") -> None:
        super().__init__(f"{message}. {fix}" if fix else message)
        self.code, self.fix = code, fix


class NoBitfileError(BoardRunError, InputError):
    """A real board was asked to run a package without a bitfile: refused before anything is pushed."""
