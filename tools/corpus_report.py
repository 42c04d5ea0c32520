"""The bad-input corpus's counts: ``python -m tools.corpus_report [-k EXPR] [--out DIR]``.

Runs ``tests/verbs/test_bad_input_corpus.py`` under pytest (as root: its read-only and full-disk cases mount a
tmpfs), which classifies every case's outcome and writes ``corpus-report.json``; prints that summary as JSON:
cases, clear messages, unclear ones, tracebacks, crashes, hangs, silently wrong results and damaged projects,
by kind of bad input and by verb. Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = "tests/verbs/test_bad_input_corpus.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", metavar="EXPR", help="only the cases pytest's -k selects (the report still runs)")
    parser.add_argument("--out", metavar="DIR", help="keep corpus-report.json here (default: a temp folder)")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="foldwise-corpus-"))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CORPUS]
    if args.k:
        command += ["-k", f"({args.k}) or zz_corpus_report"]
    env = {**os.environ, "FOLDWISE_CORPUS_REPORT": str(out), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "app"), str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    report = out / "corpus-report.json"
    if not report.is_file():
        sys.stderr.write(done.stdout)
        print(f"corpus_report: pytest wrote no {report.name} (exit {done.returncode})", file=sys.stderr)
        return done.returncode or 1
    summary = json.loads(report.read_text())
    print(json.dumps({**summary, "report": str(report), "pytest_exit": done.returncode}, indent=2))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
