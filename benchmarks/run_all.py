"""`make bench [ONLY="bench_a bench_b"]`: run the benchmarks, keep their figures in benchmarks/results.json,
write benchmarks/results.md and regenerate the README's Figures table from them (tools/figures_table.py).

With names (script stems, with or without ``.py``) only those scripts run and only their entries change; every
other entry keeps its own date, load and machine. A script that fails or prints no JSON gets an entry saying
so (with its previous figures kept under ``previous``), never a figure it did not measure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from _common import FIGURE_KEYS, load_average, machine, shaped  # noqa: E402
from tools.figures_table import RESULTS, load_results, save_results, write_outputs  # noqa: E402


def scripts(only: list[str], folder: Path = HERE) -> list[Path]:
    """The benchmark scripts to run: all, or those named (unknown names are an error)."""
    every = {p.stem: p for p in sorted(folder.glob("bench_*.py"))}
    names = [n.removesuffix(".py") for n in only]
    unknown = [n for n in names if n not in every]
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(every)}")
    return [every[n] for n in names] if names else list(every.values())


def _parse(stdout: str) -> dict[str, Any] | None:
    """The last JSON object the script printed (some print progress lines before it)."""
    decoder = json.JSONDecoder()
    found = None
    for i, char in enumerate(stdout):
        if char == "{" and (i == 0 or stdout[i - 1] == "\n"):
            try:
                found, _ = decoder.raw_decode(stdout[i:])
            except ValueError:
                continue
    return found if isinstance(found, dict) else None


def run_one(script: Path, previous: dict[str, Any] | None, timeout: float | None = None) -> dict[str, Any]:
    """Run ``script`` and make its results.json entry."""
    load_before, started, when = load_average(), time.perf_counter(), machine()
    try:
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=script.parent,
                              timeout=timeout)
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, stderr, code = str(exc.stdout or ""), f"timed out after {timeout} s", -1
    seconds = round(time.perf_counter() - started, 1)
    raw = _parse(stdout) if code == 0 else None
    entry: dict[str, Any] = {"script": script.name, "status": "measured", "date": when["date"],
                             "load": {"before": load_before, "after": load_average()}, "machine": when,
                             "seconds": seconds, "rerun": f"make bench ONLY={script.stem}"}
    if raw is None:
        why = (stderr or stdout).strip().splitlines()[-12:]
        entry.update(status="failed", error="\n".join(why) or f"exit code {code}, no JSON printed",
                     figures=[{"figure": script.stem, "goal": "", "measured": f"failed (exit code {code})",
                               "pass": False}])
        if previous:
            entry["previous"] = {k: v for k, v in previous.items() if k != "previous"}
        return entry
    raw = shaped(raw, script.stem)
    entry["figures"] = raw.get("figures") or [{k: raw[k] for k in FIGURE_KEYS}]
    entry["details"] = {k: v for k, v in raw.items() if k not in (*FIGURE_KEYS, "figures", "machine")}
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="benchmark names (e.g. bench_cold_start); default: all")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to update")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (default: none)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md and results.md unchanged")
    parser.add_argument("--folder", type=Path, default=HERE, help=argparse.SUPPRESS)  # tests' own scripts
    args = parser.parse_args(argv)
    chosen = scripts(args.only, args.folder)
    results = load_results(args.results)
    ok = True
    for script in chosen:
        print(f"{script.name}: running (load {' '.join(map(str, load_average()))})", file=sys.stderr, flush=True)
        entry = run_one(script, results["benchmarks"].get(script.stem), args.timeout)
        results["benchmarks"][script.stem] = entry
        passed = entry["status"] == "measured" and all(f["pass"] for f in entry["figures"])
        ok &= passed
        print(f"{script.name}: {entry['status']}, pass={passed} in {entry['seconds']} s", file=sys.stderr,
              flush=True)
        save_results(results, args.results)  # after each script: a long run interrupted keeps what it measured
    if not args.no_readme:
        write_outputs(results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
