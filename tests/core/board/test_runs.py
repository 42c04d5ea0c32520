"""Run records: unique folders, round trip, damaged records left out of listings."""

from __future__ import annotations

import pytest

from foldwise.core.board.runs import Figure, RunRecord, list_runs, new_run_dir, read_run, save_run
from foldwise.core.errors import InputError


def _iteration(tmp_path):
    from types import SimpleNamespace

    folder = tmp_path / "iterations" / "0001-x"
    folder.mkdir(parents=True)
    return SimpleNamespace(folder=folder)


def test_run_folders_are_unique_and_records_round_trip(tmp_path):
    it = _iteration(tmp_path)
    first, second = new_run_dir(it, "z2", "throughput"), new_run_dir(it, "z2", "throughput")
    assert first != second and first.parent == second.parent == it.folder / "runs" / "z2"
    record = RunRecord("throughput", "z2", "emulated-board", {"fps": Figure(812.5, "1/s", "emulated")},
                       rows=[{"batch": 1, "fps": 800.0}], build="b1")
    save_run(first, record)
    back = read_run(first)
    assert back.figures["fps"] == Figure(812.5, "1/s", "emulated") and back.rows == record.rows
    assert back.build == "b1" and back.folder == first
    (second / "run.json").write_text("{not json", encoding="utf-8")
    assert [r.folder for r in list_runs(it)] == [first]
    assert list_runs(it, "other") == []


def test_bad_names_and_sources_are_refused(tmp_path):
    it = _iteration(tmp_path)
    with pytest.raises(InputError, match="device name"):
        new_run_dir(it, "../up", "baseline")
    with pytest.raises(InputError, match="run kind"):
        new_run_dir(it, "z2", "Bad Kind")
    with pytest.raises(ValueError, match="source"):
        Figure(1.0, "ms", "guessed")
    (it.folder / "runs" / "z2" / "r").mkdir(parents=True)
    (it.folder / "runs" / "z2" / "r" / "run.json").write_text('{"kind": "x"}', encoding="utf-8")
    with pytest.raises(InputError, match="damaged"):
        read_run(it.folder / "runs" / "z2" / "r")
