"""Helpers shared by the verb modules: JSON output and the job context that reports to the console."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext
from foldwise.core.remote.target import UnknownHostKeyError
from foldwise.verbs._progress import for_args

PASSWORD_ENV = "FOLDWISE_SSH_PASSWORD"


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
    """A context reporting to the run's console progress on stderr (:mod:`._progress`), quiet with --json."""
    return for_args(args).context()


def ask_password(where: str) -> str:
    """Prompt on the terminal for an SSH password (never read from a pipe or the command line)."""
    if not sys.stdin.isatty():  # getpass would read a pipe, or wait on a terminal nobody watches
        raise InputError(f"--ask-password needs a terminal to type into; without one, set ${PASSWORD_ENV}")
    return getpass.getpass(f"SSH password for {where}: ")


def with_trust_hint(exc: UnknownHostKeyError) -> UnknownHostKeyError:
    """The same first-contact error, saying which flag trusts the key."""
    return UnknownHostKeyError(
        f"{exc} To trust it, run again with --trust-host-key {exc.fingerprint}", host=exc.host,
        key_type=exc.key_type, fingerprint=exc.fingerprint, known_hosts=exc.known_hosts,
    )


@contextlib.contextmanager
def build_target(arg: str) -> Iterator[Any]:
    """What a build verb builds: a project folder opened with its lock held for the whole build (a second
    command on it is refused with the holder's name), or a model file as it is."""
    from foldwise.core.finn.stage import is_project
    from foldwise.core.project import Project

    if is_project(arg):
        with Project.open(arg) as project:
            yield project
    else:
        yield arg
