"""Figure: folding edit -> updated figures from the option tables (median over 20 random legal edits), and
whether those instant figures equal FINN's re-estimate of the same foldings (DefectNet W4A4 and CNV-w1a1,
Pynq-Z2 @ 100 MHz; "estimated" by finn-plus either way). Goal: <= 50 ms median, equal on every edit.

Each edit changes one node's PE or SIMD (or a tied pair, as FINN requires) to a random legal value, starting
from FINN's SetFolding at 1,000 fps. The instant figures are FPS, bottleneck node and the LUT/BRAM18/URAM/DSP
totals; the re-estimate is FINN's folding step and estimate analyses in the warm worker.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from _common import report
from bench_finn_foldwise_models import qonnx
from foldwise.core.errors import InputError
from foldwise.core.finn import build
from foldwise.core.finn.instant import InstantTables
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.finn.zoo import export_zoo_model

EDITS = 20
CLOCK_MHZ = 100.0


def random_edit(folding: dict, nodes: dict, rng: random.Random) -> dict:
    editable = [(name, attr) for name, node in nodes.items() if not node.get("tied_to")
                for attr in ("PE", "SIMD") if len(node["legal"].get(attr, [])) > 1]
    name, attr = rng.choice(editable)
    value = rng.choice([v for v in nodes[name]["legal"][attr] if v != folding.get(name, {}).get(attr)])
    edited = {**folding, name: {**folding.get(name, {}), attr: value}}
    for other, node in nodes.items():  # a depthwise window generator follows its consumer's PE
        tie = node.get("tied_to")
        if tie and tie["node"] == name and attr == tie["attr"]:
            edited[other] = {**edited.get(other, {}), "SIMD": value}
    return edited


def run(name: str, model: Path, worker: FinnWorker, rng: random.Random) -> dict:
    base = build.estimate(model, target_fps=1000, worker=worker, build_dir=model.parent / f"{name}-base")
    nodes = {n["name"]: n for n in build.hw_nodes(model, worker=worker).nodes}
    start = time.perf_counter()
    tables = InstantTables(build.option_tables(model, worker=worker),
                           {n: node["attrs"] for n, node in nodes.items()})
    tables_s = time.perf_counter() - start
    folding, instant_ms, equal, missing, mismatches, rejected = dict(base.folding), [], 0, 0, [], 0
    while len(instant_ms) < EDITS:
        edited = random_edit(folding, nodes, rng)
        start = time.perf_counter()
        figures = tables.figures(edited, CLOCK_MHZ)
        seconds = time.perf_counter() - start
        try:
            finn = build.reestimate(model, edited, worker=worker, clock_mhz=CLOCK_MHZ)
        except InputError:  # FINN rejects the combination: the tables must not have offered it either
            rejected += 1
            if figures is not None:
                mismatches.append({"rejected_by_finn_but_tabulated": edited})
            continue
        folding = edited
        instant_ms.append(seconds * 1000.0)
        if figures is None:
            missing += 1
            continue
        finn_res = {k: f.value for k, f in finn.resources.items()}
        same = (abs(figures.fps - finn.fps.value) <= 1e-6 * finn.fps.value and figures.bottleneck == finn.bottleneck
                and all(abs(figures.resources[k] - finn_res.get(k, 0.0)) <= 1e-6 for k in figures.resources))
        equal += same
        if not same:
            mismatches.append({"instant_fps": figures.fps, "finn_fps": finn.fps.value, "instant": figures.resources,
                               "finn": finn_res, "bottleneck": [figures.bottleneck, finn.bottleneck]})
    return {"median_ms": round(statistics.median(instant_ms), 3), "max_ms": round(max(instant_ms), 3),
            "equal": equal, "no_instant_figures": missing, "edits": EDITS, "tables_s": round(tables_s, 2),
            "illegal_edits_refused": rejected,
            "mismatches": mismatches[:3]}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-instant-"))
    rng = random.Random(0)
    models = {"DefectNet-W4A4": qonnx("defectnet", tmp), "CNV-w1a1": export_zoo_model("cnv_1w1a", tmp / "cnv.onnx")}
    with FinnWorker(state_dir=tmp / "worker") as worker:
        rows = {name: run(name, model, worker, rng) for name, model in models.items()}
    worst = max(r["median_ms"] for r in rows.values())
    ok = worst <= 50.0 and all(r["equal"] == r["edits"] and not r["mismatches"] for r in rows.values())
    medians = " / ".join(f"{r['median_ms']:.2f}" for r in rows.values())
    equal = sum(r["equal"] for r in rows.values())
    edits = sum(r["edits"] for r in rows.values())
    report("Folding edit → figures from the option tables, 20 random legal edits each ("
           + " / ".join(rows) + ")", worst, "≤ 50 ms median, equal to FINN's re-estimate", ok,
           measured=f"{medians} ms median; equal to FINN's re-estimate on {equal} of {edits} edits",
           networks=rows, how="InstantTables look-up in the option tables vs build.reestimate in the warm worker")


if __name__ == "__main__":
    main()
