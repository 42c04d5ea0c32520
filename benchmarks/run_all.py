"""`make bench`: run every benchmarks/bench_*.py and print their JSON figures as one list."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = set(sys.argv[1:])
    results = []
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem not in only:
            continue
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=HERE)
        seconds = round(time.perf_counter() - start, 1)
        try:
            figure = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            figure = {"figure": script.stem, "error": (proc.stderr or proc.stdout)[-2000:]}
        figure["script"] = script.name
        figure["script_seconds"] = seconds
        figure.setdefault("pass", figure.get("ok", False))
        print(f"{script.name}: pass={figure['pass']} in {seconds} s", file=sys.stderr)
        results.append(figure)
    print(json.dumps(results, indent=2))
    return 0 if all(r.get("pass", False) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
