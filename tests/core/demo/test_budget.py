"""The frame budget before a run: host stages measured, inference from FINN's estimate, a board run or a backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.demo.budget import FrameBudget, StageCost, frame_budget
from foldwise.core.errors import InputError
from foldwise.core.finn.build_state import estimate_record, save_build_state
from foldwise.core.finn.stage import list_builds
from foldwise.core.project import Project


def test_budget_verdict_arithmetic() -> None:
    over = FrameBudget(120.0, "estimate", [StageCost("preprocess", 0.5, "measured"),
                                           StageCost("inference", 16.2, "estimated"),
                                           StageCost("annotate", 0.3, "measured")])
    assert over.budget_ms == pytest.approx(8.3333, abs=1e-3) and not over.keeps_up
    assert over.drop_fraction == pytest.approx(1 - over.budget_ms / 17.0)
    assert over.slowest.stage == "inference" and "about 51 % of frames" in over.verdict
    assert "fix inference first" in over.verdict
    fine = FrameBudget(60.0, "host-float", [StageCost("inference", 5.0, "measured")])
    assert fine.keeps_up and fine.drop_fraction == 0.0 and fine.verdict.startswith("keeps up")


def test_budget_from_the_estimate_a_board_run_and_a_host_backend(estimated_defect: Path) -> None:
    with Project.open(estimated_defect) as project:
        build = list_builds(project.current)[0]
        estimate = frame_budget(project, "estimate", frames=3)
        inference = next(s for s in estimate.stages if s.stage == "inference")
        assert inference.source == "estimated" and inference.ms == pytest.approx(1000.0 / build.fps)
        assert {s.stage: s.source for s in estimate.stages} == {"preprocess": "measured", "inference": "estimated",
                                                                "annotate": "measured"}
        # the folding kept in the Build stage (auto-fitted, say) is what the Build panel shows: the budget follows it
        save_build_state(project.current, estimate=estimate_record(5425.0, "Pynq-Z2", 100.0))
        kept = next(s for s in frame_budget(project, "estimate", frames=3).stages if s.stage == "inference")
        assert kept.ms == pytest.approx(1000.0 / 5425.0) and "kept in the Build stage" in kept.note
        with pytest.raises(InputError, match="deploy it first"):
            frame_budget(project, "board:emu", frames=3)
        folder = new_run_dir(project.current, "emu", "throughput")
        save_run(folder, RunRecord("throughput", "emu", "emulated-board",
                                   {"latency_ms": Figure(412.0, "ms", "emulated")}))
        board = frame_budget(project, "board:emu", frames=3, target_fps=2.0)
        assert next(s for s in board.stages if s.stage == "inference").source == "emulated"
        assert board.keeps_up == (board.total_ms <= 500.0)
        host = frame_budget(project, "host-quantized", frames=3)
        assert next(s for s in host.stages if s.stage == "inference").source == "measured"
        with pytest.raises(InputError, match="unknown inference source"):
            frame_budget(project, "gpu", frames=3)
