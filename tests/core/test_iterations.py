"""Iteration concepts shared by the stages: quantized or float, the float ancestor, stored network files."""

import json
from pathlib import Path

import pytest

from foldwise.core import iterations
from foldwise.core.errors import InputError
from foldwise.core.project import IterationKind, Project


@pytest.fixture
def lineage(tmp_path: Path):
    """0001 trained → 0002 pruned → 0003 quantized → 0004 quantized (re-quantized from 0003's settings)."""
    with Project.create(tmp_path / "p") as project:
        with project.new_iteration(IterationKind.TRAINED, "float"):
            pass
        with project.new_iteration(IterationKind.PRUNED, "half", parent="0001"):
            pass
        with project.new_iteration(IterationKind.QUANTIZED, "w4a4", parent="0002"):
            pass
        with project.new_iteration(IterationKind.QUANTIZED, "w2a2", parent="0003"):
            pass
        yield project


def test_quantized_by_kind_or_by_its_quantized_network(lineage: Project) -> None:
    assert [iterations.is_quantized(it) for it in lineage.iterations] == [False, False, True, True]
    assert not iterations.is_quantized(None)
    # A float-kind iteration that stores a quantized network (quant.json) is quantized too.
    (lineage.get("0002").folder / iterations.QUANT_FILE).write_text("{}")
    assert iterations.is_quantized(lineage.get("0002"))


def test_float_ancestor_skips_quantized_iterations(lineage: Project) -> None:
    ancestor = iterations.float_ancestor
    assert ancestor(lineage, lineage.get("0004")).id == "0002"
    assert ancestor(lineage, lineage.get("0003")).id == "0002"
    assert ancestor(lineage, lineage.get("0002")).id == "0001"  # never the iteration itself
    assert ancestor(lineage, lineage.get("0001")) is None


def test_float_source_is_the_iteration_itself_when_float(lineage: Project) -> None:
    assert iterations.float_source(lineage, lineage.get("0002")).id == "0002"
    assert iterations.float_source(lineage, lineage.get("0004")).id == "0002"
    assert iterations.float_source(lineage, None) is None


def test_read_summary_and_a_missing_network(lineage: Project) -> None:
    first = lineage.get("0001")
    assert iterations.read_summary(first) is None
    (first.folder / iterations.SUMMARY_FILE).write_text(json.dumps({"layers": [{"name": "fc"}]}))
    assert iterations.read_summary(first) == {"layers": [{"name": "fc"}]}
    with pytest.raises(InputError, match="has no network"):
        iterations.load_network(lineage, first)


def test_no_data_set_is_an_input_error(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project, pytest.raises(InputError, match="no data set"):
        iterations.dataset_name(project)


def test_planned_summary_is_the_untrained_zoo_network(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project:
        assert iterations.planned_summary(project) is None  # no network named yet: an import is expected
        project.update_settings(network={"arch": "no-such-net"})
        assert iterations.planned_summary(project) is None
        project.update_settings(network={"arch": "lenet5"})
        summary = iterations.planned_summary(project)
        names = [row.name for row in summary.rows]
        assert names[0] == "features.conv1" and summary.total_params > 0
        assert iterations.network_figures(summary)["params"]["source"] == "computed"
