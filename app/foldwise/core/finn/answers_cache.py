"""FINN worker answers kept on disk per model: hardware nodes and option tables, so a reopened project's Build
panel has its folding editor and instant figures at once, without waiting for FINN's import and preparation.

An answer depends only on the model file's bytes, the FPGA part, the finn-plus version and the worker's
answer format (``FORMAT``, raised whenever the worker changes what it returns); the key hashes them all.
The folder is bounded: the least recently used answers beyond ``limit`` files are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.finn.boards import get_board
from foldwise.core.finn.tools import finn_version
from foldwise.core.hashing import sha256_file

FORMAT = 2  # 2: option tables carry node_cycles and keep a node's own "auto" style
LIMIT = 24


def answer_key(kind: str, model: str | Path, board: str, **extra: Any) -> str:
    parts = {"kind": kind, "model": sha256_file(Path(model)), "part": get_board(board).part,
             "finn": finn_version(), "format": FORMAT, **extra}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _path(folder: Path, kind: str, model: str | Path, board: str, **extra: Any) -> Path:
    return folder / f"{kind}-{answer_key(kind, model, board, **extra)}.json"


def saved_answer(folder: Path | None, kind: str, model: str | Path, board: str, **extra: Any) -> dict[str, Any] | None:
    """The saved answer for this model, part and kind, or None (nothing saved, or the model cannot be read)."""
    if folder is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        path = _path(folder, kind, model, board, **extra)
        answer = json.loads(path.read_text(encoding="utf-8"))
        os.utime(path)  # recently used
        return answer
    return None


def cached_answer(folder: Path | None, kind: str, model: str | Path, board: str,
                  compute: Callable[[], dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The saved answer for this model, part and kind, else ``compute()``'s, saved (``folder`` None: no cache)."""
    if folder is None:
        return compute()
    answer = saved_answer(folder, kind, model, board, **extra)
    if answer is not None:
        return answer
    path = _path(folder, kind, model, board, **extra)
    answer = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, answer)
        _trim(folder)
    except OSError:
        pass  # a cache that cannot be written (read-only project, full disk) only costs time
    return answer


def _trim(folder: Path, limit: int = LIMIT) -> None:
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[limit:]:
        with contextlib.suppress(OSError):
            old.unlink()
