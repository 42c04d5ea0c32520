"""The README's Figures table is what tools/figures_table.py makes of benchmarks/results.json, and `make bench`
with names updates only those entries."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tools import figures_table

REPO = Path(__file__).resolve().parents[2]


def _run_all():
    spec = importlib.util.spec_from_file_location("run_all", REPO / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_figures_table_is_generated_from_the_committed_results() -> None:
    results = figures_table.load_results()
    generated = figures_table.render(results)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert figures_table.section(readme) == generated, "run: python -m tools.figures_table"
    assert figures_table.RESULTS_MD.read_text(encoding="utf-8") == figures_table.results_markdown(generated)


def test_every_results_entry_has_the_figure_shape_and_a_date() -> None:
    results = figures_table.load_results()
    scripts = {p.stem for p in (REPO / "benchmarks").glob("bench_*.py")}
    for stem, entry in results["benchmarks"].items():
        assert stem in scripts, f"results.json names a benchmark that does not exist: {stem}"
        assert entry["date"] and entry["figures"], stem
        for fig in entry["figures"]:
            assert {"figure", "goal", "measured", "pass"} <= set(fig), (stem, fig)
    generated = figures_table.render(results)
    rows = [line for line in generated.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == sum(len(e["figures"]) for e in results["benchmarks"].values()) + len(results["other"])
    assert all(line.count(" | ") == 5 for line in rows), "a cell's '|' must be escaped"


FAKE = '''import sys
sys.path.insert(0, {benchmarks!r})
from _common import figure, report
report("a fake figure", {value}, "≤ 2", {value} <= 2, figures={figures})
'''


def _fake(folder: Path, name: str, value: float, figures: str = "None") -> None:
    (folder / f"{name}.py").write_text(FAKE.format(benchmarks=str(REPO / "benchmarks"), value=value,
                                                   figures=figures))


def test_bench_with_names_updates_only_their_entries(tmp_path: Path) -> None:
    run_all = _run_all()
    _fake(tmp_path, "bench_a", 1.5)
    _fake(tmp_path, "bench_b", 3.0, figures='[figure("b one", "g", "3 s", False), figure("b two", "g", "x", True)]')
    (tmp_path / "bench_broken.py").write_text("raise SystemExit('no model here')\n")
    results = tmp_path / "results.json"
    kept = {"script": "bench_old.py", "status": "carried over", "date": "2026-11-23", "load": None,
            "machine": {"description": "dev"}, "figures": [{"figure": "old", "goal": "g", "measured": "1",
                                                            "pass": True}]}
    results.write_text(json.dumps({"benchmarks": {"bench_old": kept}, "other": []}))

    code = run_all.main(["bench_a", "bench_b.py", "--results", str(results), "--no-readme", "--folder", str(tmp_path)])
    data = json.loads(results.read_text())
    assert code == 1  # bench_b's first figure did not pass
    assert data["benchmarks"]["bench_old"] == kept
    a, b = data["benchmarks"]["bench_a"], data["benchmarks"]["bench_b"]
    assert a["status"] == "measured" and a["figures"] == [
        {"figure": "a fake figure", "goal": "≤ 2", "measured": "1.5", "pass": True}]
    assert a["machine"]["cores"] and a["machine"]["cpu"] and len(a["load"]["before"]) == 3
    assert a["rerun"] == "make bench ONLY=bench_a"
    assert [f["figure"] for f in b["figures"]] == ["b one", "b two"]

    previous = data["benchmarks"]["bench_a"]
    assert run_all.main(["bench_broken", "--results", str(results), "--no-readme", "--folder", str(tmp_path)]) == 1
    data = json.loads(results.read_text())
    broken = data["benchmarks"]["bench_broken"]
    assert broken["status"] == "failed" and "no model here" in broken["error"]
    assert broken["figures"][0]["pass"] is False
    assert data["benchmarks"]["bench_a"] == previous
    text = figures_table.render(data)
    assert "**failed**" in text and "carried over" in text


def test_unknown_benchmark_name_is_refused(tmp_path: Path) -> None:
    run_all = _run_all()
    with pytest.raises(SystemExit, match="unknown benchmark"):
        run_all.main(["bench_nope", "--results", str(tmp_path / "r.json"), "--folder", str(tmp_path)])
    assert not (tmp_path / "r.json").exists()


def test_replace_section_needs_the_markers() -> None:
    text = f"a\n{figures_table.START}\nold\n{figures_table.END}\nb\n"
    assert figures_table.replace_section(text, "new\n") == f"a\n{figures_table.START}\nnew\n{figures_table.END}\nb\n"
    with pytest.raises(ValueError, match="markers"):
        figures_table.replace_section("no markers", "x")
