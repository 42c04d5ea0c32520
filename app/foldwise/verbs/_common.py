"""Helpers shared by the verb modules: JSON output and a console progress reporter."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from foldwise.core.jobs import JobContext


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")


def emit(result: Any, args: argparse.Namespace, text: str | None = None) -> None:
    """Print ``result`` as JSON with ``--json``, else ``text`` (or a key: value listing)."""
    if getattr(args, "json", False):
        json.dump(result, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)
    elif isinstance(result, dict):
        for key, value in result.items():
            print(f"{key}: {value}")
    else:
        print(result)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def console_context(args: argparse.Namespace) -> JobContext:
    """A context printing progress to stderr (a single updating line on a terminal), quiet with --json."""
    quiet = getattr(args, "json", False) or getattr(args, "quiet", False)
    tty = sys.stderr.isatty()
    last = {"text": ""}

    def on_progress(fraction: float, message: str) -> None:
        if quiet:
            return
        text = f"[{fraction * 100:5.1f}%] {message}"
        if text == last["text"]:
            return
        last["text"] = text
        if tty:
            sys.stderr.write("\r\033[K" + text)
            if fraction >= 1.0:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    return JobContext(on_progress=on_progress)
