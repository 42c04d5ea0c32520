"""A named list of settings saved in the user's config dir (build hosts, boards): one JSON file per list.

Records are written atomically; an unreadable file is an :class:`InputError` that says which file to fix.
Nothing secret is ever in a record: callers keep passwords in memory only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.user_config import config_dir

T = TypeVar("T")
_FORMAT = 1


class SavedList(Generic[T]):
    """``<config dir>/<filename>`` holding ``{"format": 1, key: [record, ...]}`` in the order added."""

    def __init__(self, filename: str, key: str, what: str, from_dict: Callable[[dict[str, Any]], T],
                 to_dict: Callable[[T], dict[str, Any]], name_of: Callable[[T], str]) -> None:
        self.filename, self.key, self.what = filename, key, what
        self._from_dict, self._to_dict, self._name_of = from_dict, to_dict, name_of

    def path(self) -> Path:
        return config_dir() / self.filename

    def load(self) -> list[T]:
        path = self.path()
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [self._from_dict(d) for d in data.get(self.key, [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"the saved {self.what} in {path} cannot be read ({exc}): fix or delete the file") \
                from exc

    def _write(self, items: list[T]) -> None:
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"format": _FORMAT, self.key: [self._to_dict(i) for i in items]})

    def save(self, item: T) -> T:
        """Add ``item``, replacing one of the same name."""
        name = self._name_of(item)
        self._write([*(i for i in self.load() if self._name_of(i) != name), item])
        return item

    def remove(self, name: str) -> bool:
        """Drop the item called ``name``; False if there was none."""
        items = self.load()
        kept = [i for i in items if self._name_of(i) != name]
        if len(kept) == len(items):
            return False
        self._write(kept)
        return True

    def find(self, name: str) -> T | None:
        return next((i for i in self.load() if self._name_of(i) == name), None)
