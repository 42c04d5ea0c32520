"""One module per ``foldwise <verb>``; ``foldwise.cli`` discovers them.

Each module defines ``HELP`` (one line), ``configure(parser)`` and ``run(args) -> int``. User errors are raised
as :class:`foldwise.core.errors.FoldwiseError`; the CLI prints them as one line and exits non-zero.
"""

from foldwise.verbs._progress import open_progress

__all__ = ["open_progress"]
