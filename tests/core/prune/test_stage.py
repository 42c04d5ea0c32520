import json
from pathlib import Path

import pytest

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.project import IterationKind, Project
from foldwise.core.prune.stage import (
    PruneSpec,
    QuantizedIterationError,
    ScanSpec,
    check_prunable,
    prune_iteration,
    read_scan,
    scan_iteration,
)
from tests.core.prune._fixtures import digits_splits, make_project


@pytest.fixture
def project(tmp_path: Path):
    with make_project(tmp_path / "p", quantized_child=True) as project:
        project.set_current("0001")
        yield project


def folders(project: Project) -> list[str]:
    return sorted(p.name for p in (project.path / "iterations").iterdir())


def test_removing_layers_makes_an_iteration_with_before_and_after(project):
    spec = PruneSpec(remove=["classifier.fc2", "classifier.relu2"], finetune_epochs=1)
    it = prune_iteration(project, spec, splits=digits_splits())
    assert (it.kind, it.parent, project.current_id) == (IterationKind.PRUNED, "0001", it.id)
    change = it.change
    assert change["removed"] == ["classifier.fc2", "classifier.relu2"]
    assert change["recreated"] == ["classifier.fc3"] and "120" in change["recreated_why"]["classifier.fc3"]
    for side in ("before", "after"):
        assert change[side]["params"]["source"] == "computed"
        assert change[side]["accuracy"]["source"] == "measured"
    assert change["after"]["params"]["value"] < change["before"]["params"]["value"]
    assert it.metrics["accuracy"] == change["after"]["accuracy"]
    assert it.metrics["pruned_accuracy"]["source"] == "measured"
    for name in ("model.pt", "summary.json", "prune.json", "history.json", "metrics.json"):
        assert (it.folder / name).is_file()
    assert len(json.loads((it.folder / "history.json").read_text())["history"]) == 1


def test_channel_pruning_iteration_records_widths(project):
    it = prune_iteration(project, PruneSpec(ratio=0.5), splits=digits_splits())
    assert it.change["channels"]["widths"]["features.conv2"] == [16, 8]
    assert it.name == "channels-50pct-l1"
    assert it.change["after"]["accuracy"] == it.change["pruned_accuracy"] or it.change["finetune_epochs"] == 0


def test_a_quantized_iteration_names_its_float_parent(project):
    before = folders(project)
    with pytest.raises(QuantizedIterationError) as err:
        prune_iteration(project, PruneSpec(ratio=0.5, iteration="0002"), splits=digits_splits())
    assert err.value.float_parent == "0001"
    assert "0002 int8 is quantized" in str(err.value) and "0001 trained-4ep" in str(err.value)
    assert "only a float network can be pruned" in str(err.value)
    assert "torch-pruning" not in str(err.value) and "quantize()" not in str(err.value)  # the user's words
    assert folders(project) == before and len(project.iterations) == 2


def test_an_iteration_storing_a_quantized_network_is_refused_whatever_its_kind(project):
    (project.get("0001").folder / "quant.json").write_text("{}")
    with pytest.raises(QuantizedIterationError, match=r"it holds quantization settings") as err:
        check_prunable(project, project.get("0001"))
    assert err.value.float_parent is None


@pytest.mark.parametrize(("spec", "words"), [
    ({"ratio": 1.5}, "between 0 and 1"),
    ({"ratio": 0}, "between 0 and 1"),
    ({}, "nothing to prune"),
    ({"criterion": "loud", "ratio": 0.5}, "unknown pruning criterion"),
    ({"steps": 0, "ratio": 0.5}, "steps"),
])
def test_bad_specs_are_refused(spec, words):
    with pytest.raises(InputError, match=words):
        PruneSpec(**spec)


@pytest.mark.parametrize(("spec", "words"), [
    (PruneSpec(remove=["features.conv1"]), "input layer"),
    (PruneSpec(remove=["nope"]), "no layer named 'nope'"),
    (PruneSpec(layer_ratios={"classifier.fc3": 0.5}), "output layer"),
])
def test_bad_layers_change_nothing(project, spec, words):
    before = folders(project)
    with pytest.raises(InputError, match=words):
        prune_iteration(project, spec, splits=digits_splits())
    assert folders(project) == before and project.current_id == "0001"


def test_cancel_leaves_the_project_unchanged(project):
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        prune_iteration(project, PruneSpec(ratio=0.5), ctx, splits=digits_splits())
    assert len(project.iterations) == 2 and not any(p.startswith(".draft") for p in folders(project))


def test_scan_is_kept_in_the_cache(project):
    result = scan_iteration(project, ScanSpec(ratios=[0.5], max_images=50), splits=digits_splits())
    again = read_scan(project, project.current)
    assert again is not None and again.curves == result.curves and again.ratios == [0.5]
    with pytest.raises(QuantizedIterationError):
        scan_iteration(project, ScanSpec(iteration="0002"), splits=digits_splits())
