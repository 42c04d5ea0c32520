"""Figure: an 8-point FINN estimate sweep of DefectNet (W4A4) on a one-node Slurm cluster (2 tasks at once on 2
CPUs) vs the same 8 builds one after another in one local FINN worker; plus Slurm's per-point overhead.

Side by side in one run, on one quantized project: (a) one FinnWorker, the 8 builds through the Build stage one
after another (FINN imported once); (b) ``foldwise sweep --executor slurm`` with 4 points per array task (two
tasks, each importing FINN once); (c) the same with 1 point per task (8 tasks, 2 at a time: each pays FINN's
import and Slurm's scheduling). Wall times from the call to the last point's reports in the project. Per-point
overhead of submission + staging: the time from the call until sbatch accepted the job, divided by the points;
per-task overhead: (c)'s wall time × 2 CPUs minus the builds' own seconds (reported by the FINN runner), per
point. Goal: (b) ≤ 0.65 × (a). Needs root (the cluster's munged and slurmd), like the tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report

sys.path.insert(0, str(REPO))

GRID = {"grid": {"clock_mhz": [100, 150, 200, 250], "folding": ["default", {"target_fps": 120}]}}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-sweep-") as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        from foldwise.core.finn.stage import build
        from foldwise.core.finn.worker import FinnWorker
        from foldwise.core.project import Project
        from foldwise.core.sweep.grid import parse_grid
        from foldwise.core.sweep.prepare import build_config
        from foldwise.core.sweep.slurm import SlurmExecutor
        from foldwise.core.sweep.stage import SweepSpec, follow, sweep
        from tests.defect_project import make_defect_project
        from tests.slurm_cluster import running_cluster

        path = make_defect_project(root / "defects", root / "crops", quantize=True, epochs=2)
        points = parse_grid(GRID).points
        with Project.open(path) as project:
            started = time.monotonic()
            with FinnWorker() as worker:
                local_fps = []
                for point in points:
                    config = build_config(point, None)
                    local_fps.append(round(build(project.current, config, worker=worker).fps.value, 1))
            sequential = time.monotonic() - started
            with running_cluster() as cluster:
                os.environ.update(cluster.env)
                runs = {}
                for per_task in (4, 1):
                    grid = parse_grid({**GRID, "slurm": {"cpus": 1, "mem": "3G", "points_per_task": per_task}})
                    started = time.monotonic()
                    record = sweep(project, SweepSpec(grid, executor="slurm", wait=False))
                    submitted = time.monotonic() - started
                    follow(project, record, SlurmExecutor.from_record(record))
                    wall = time.monotonic() - started
                    assert record.status == "done", [p.error for p in record.points]
                    runs[per_task] = {
                        "wall_s": round(wall, 2),
                        "submit_and_stage_s": round(submitted, 2),
                        "build_s": round(sum(p.seconds or 0.0 for p in record.points), 2),
                        "tasks": len(record.submissions[0]["tasks"]),
                        "fps": [round(_fps(project, p.build), 1) for p in record.points],
                    }
    ratio = runs[4]["wall_s"] / sequential
    per_point_submit = runs[1]["submit_and_stage_s"] / len(points)
    per_task_overhead = (runs[1]["wall_s"] * 2 - runs[1]["build_s"]) / len(points)
    same = local_fps == runs[4]["fps"] == runs[1]["fps"]
    report(
        "8-point DefectNet estimate sweep: one-node Slurm cluster (2 tasks at once) / one local worker, wall time",
        round(ratio, 3),
        "<= 0.65",
        ratio <= 0.65 and same,
        sequential_one_worker_s=round(sequential, 2),
        slurm_4_points_per_task=runs[4],
        slurm_1_point_per_task=runs[1],
        per_point_submit_and_stage_s=round(per_point_submit, 3),
        per_point_task_overhead_s=round(per_task_overhead, 2),
        local_fps=local_fps,
        same_fps_as_local=same,
        fps_source="estimated (FINN)",
        how=__doc__.split("\n\n")[1].replace("\n", " "),
    )


def _fps(project: object, build: str | None) -> float:
    from foldwise.core.finn.stage import BuildRecord

    return BuildRecord.read(project.path / str(build)).fps or 0.0  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
