"""``foldwise``: the GUI when called bare, else one verb per stage over the same core functions.

Verbs live in :mod:`foldwise.verbs`, one module each (``HELP``, ``configure(parser)``, ``run(args)``). A user
error prints one line on stderr and exits 1; a cancel (Ctrl+C) exits 130, SIGTERM 143 after the same clean-up.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from typing import Any

from foldwise import __version__
from foldwise.core.errors import Cancelled, FoldwiseError, os_error_message


def verb_names() -> dict[str, str]:
    """Each verb and the module that holds it, found without importing any verb."""
    import foldwise.verbs as verbs_pkg

    names = {}
    for info in sorted(pkgutil.iter_modules(verbs_pkg.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            names[info.name.rstrip("_").replace("_", "-")] = info.name  # import_ (a keyword) is `import`
    return names


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every verb, or only of verb ``only``: importing every verb module pulls in most of the core
    (paramiko, the FINN stage: about 1 s), which the GUI's start and a single verb do not need."""
    parser = argparse.ArgumentParser(
        prog="foldwise",
        description="Prototype deep-learning networks on FPGAs. Without a verb, opens the GUI.",
    )
    parser.add_argument("--version", action="version", version=f"foldwise {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, module_name in verb_names().items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"foldwise.verbs.{module_name}")
        verb_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(verb_parser)
        verb_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["gui"]
    # Library deprecation chatter (torch, brevitas) is not the user's business on the command line.
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")
    # A known verb first needs only its own parser; anything else (--help, a typo) gets them all.
    only = argv[0] if argv[0] in verb_names() else None
    args = build_parser(only).parse_args(argv)
    if args.verb is None:
        build_parser().print_help()
        return 2
    from foldwise.verbs import open_progress

    previous_sigterm = _terminate_like_ctrl_c()
    try:
        with open_progress(args):
            return int(args._run(args) or 0)
    except Terminated:
        print("foldwise: terminated (SIGTERM); the project is left as it was before this command", file=sys.stderr)
        return 143
    except Cancelled:
        print("foldwise: cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("foldwise: interrupted", file=sys.stderr)
        return 130
    except FoldwiseError as exc:
        print(f"foldwise: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"foldwise: error: {os_error_message(exc)}", file=sys.stderr)
        return 1
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so every clean-up that Ctrl+C runs also runs for it."""


def _terminate_like_ctrl_c() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(_signum: int, _frame: Any) -> None:
        raise Terminated()

    return signal.signal(signal.SIGTERM, handler)


if __name__ == "__main__":
    sys.exit(main())
