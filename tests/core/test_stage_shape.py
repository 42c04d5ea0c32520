"""Every stage function has one shape, ``stage(project, spec, ctx=None)``, so the CLI calls it in the caller
and a panel hands it to ``StagePanel.run_stage`` without an adapter."""

from __future__ import annotations

import inspect

import pytest

from foldwise.core.board.baseline import run_baseline
from foldwise.core.board.deploy import deploy
from foldwise.core.demo.pipeline import run_demo
from foldwise.core.finn.stage import build
from foldwise.core.importing import import_iteration
from foldwise.core.prune.stage import prune_iteration, scan_iteration
from foldwise.core.quantize.inspect import export_qcdq, preview, sensitivity
from foldwise.core.quantize.stage import export_iteration, quantize_iteration
from foldwise.core.training import train_iteration

STAGES = [train_iteration, import_iteration, prune_iteration, scan_iteration, quantize_iteration, export_iteration,
          preview, sensitivity, export_qcdq, build, run_demo, run_baseline, deploy]
# The Build stage also takes a model file or an iteration, so its first two are named for what they hold.
NAMES = {build: ["target", "config", "ctx"]}


@pytest.mark.parametrize("stage", STAGES, ids=lambda f: f.__name__)
def test_stage_takes_project_spec_ctx(stage) -> None:
    params = list(inspect.signature(stage).parameters.values())
    positional = [p for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert [p.name for p in positional] == NAMES.get(stage, ["project", "spec", "ctx"])
    assert positional[2].default is None
    # Anything else is keyword-only with a default (pre-loaded data for tests and benchmarks).
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
               for p in params[3:])
