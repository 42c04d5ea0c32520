"""The packaged app's entry point: ``foldwise`` as usual, and also the Python command lines Foldwise starts.

Foldwise runs some work in child processes started as ``sys.executable -m MODULE ...`` or ``-c CODE`` (the
FINN worker and one-shot runner, the board emulator, netron). In the PyInstaller package ``sys.executable`` is
the packaged program itself, not a Python, so this entry point understands those command lines too: the same
program is the GUI, the CLI and the interpreter of its own subprocesses. A normal install keeps
``foldwise.cli:main`` as its entry point; this module only adds the interpreter forms in front of it.
"""

from __future__ import annotations

import io
import multiprocessing
import runpy
import sys
from collections.abc import Sequence

# Interpreter options the child command lines use (or may), accepted and, where it matters, honoured.
_IGNORED_OPTIONS = frozenset({"-B", "-E", "-s", "-S", "-I", "-O", "-OO", "-q"})


def python_form(argv: Sequence[str]) -> tuple[str, str, list[str], bool] | None:
    """``("-m", module, args, unbuffered)`` or ``("-c", code, args, unbuffered)`` when ``argv`` (without the
    program name) is a Python command line, else None (a ``foldwise`` command line: no verb starts with ``-``
    and the CLI has no ``-m``/``-c``/``-u`` option)."""
    unbuffered = False
    for i, arg in enumerate(argv):
        if arg == "-u":
            unbuffered = True
        elif arg in _IGNORED_OPTIONS:
            continue
        elif arg in ("-m", "-c") and i + 1 < len(argv):
            return arg, argv[i + 1], list(argv[i + 2 :]), unbuffered
        else:
            return None
    return None


def _unbuffer() -> None:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(line_buffering=True, write_through=True)


def run_python_form(form: str, target: str, args: list[str], unbuffered: bool) -> int:
    """Run ``-m target args`` or ``-c target args`` in this process, as ``python`` would."""
    if unbuffered:
        _unbuffer()
    if form == "-m":
        sys.argv = [target, *args]  # runpy replaces argv[0] with the module's file
        runpy.run_module(target, run_name="__main__", alter_sys=True)
    else:
        sys.argv = ["-c", *args]
        exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    multiprocessing.freeze_support()  # a spawned multiprocessing child of the frozen app runs its task and exits
    found = python_form(argv)
    if found is not None:
        return run_python_form(*found)
    from foldwise.cli import main as cli_main

    return cli_main(argv)


def is_frozen() -> bool:
    """True inside the PyInstaller package (``sys.executable`` is then the packaged program)."""
    return bool(getattr(sys, "frozen", False))


def runtime_description() -> str:
    """What this process runs as, and so what its worker processes run in (shown in Help → About)."""
    if is_frozen():
        return (
            f"packaged app {sys.executable}: FINN's worker and the board emulator run in this same program "
            "(multi-FPGA partitioning, which needs mip's CBC solver, is left out of the package)"
        )
    return f"Python {sys.executable}: FINN's worker and the board emulator run in this Python"


if __name__ == "__main__":
    sys.exit(main())
