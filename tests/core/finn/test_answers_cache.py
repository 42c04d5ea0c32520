"""FINN worker answers kept per model on disk: reused without a worker, keyed by the model's bytes, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.core.finn import answers_cache, build


def test_an_answer_is_computed_once_per_model_and_part(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model one")
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"nodes": [{"name": "MVAU_hls_0"}], "n": len(calls)}

    folder = tmp_path / "cache"
    first = answers_cache.cached_answer(folder, "hw_nodes", model, "Pynq-Z2", compute)
    again = answers_cache.cached_answer(folder, "hw_nodes", model, "Pynq-Z2", compute)
    assert first == again == {"nodes": [{"name": "MVAU_hls_0"}], "n": 1} and len(calls) == 1
    answers_cache.cached_answer(folder, "hw_nodes", model, "ZCU104", compute)  # another part
    model.write_bytes(b"model two")  # another model at the same path
    assert answers_cache.cached_answer(folder, "hw_nodes", model, "Pynq-Z2", compute)["n"] == 3
    assert answers_cache.cached_answer(None, "hw_nodes", model, "Pynq-Z2", compute)["n"] == 4  # no cache


def test_a_damaged_answer_is_recomputed_and_the_folder_stays_bounded(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    for i in range(answers_cache.LIMIT + 5):
        model = tmp_path / f"m{i}.onnx"
        model.write_bytes(f"model {i}".encode())
        answers_cache.cached_answer(folder, "options", model, "Pynq-Z2", lambda i=i: {"groups": [i]})
    assert len(list(folder.glob("*.json"))) == answers_cache.LIMIT
    newest = max(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    newest.write_text("{", encoding="utf-8")
    model = tmp_path / f"m{answers_cache.LIMIT + 4}.onnx"
    assert answers_cache.cached_answer(folder, "options", model, "Pynq-Z2", lambda: {"groups": ["again"]}) \
        == {"groups": ["again"]}


class _NoWorker:
    def request(self, *args, **kwargs):
        raise AssertionError("the FINN worker was asked although the answer was on disk")


@pytest.mark.slow
def test_a_second_build_panel_open_needs_no_worker(finn_worker, tfc_model, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    nodes = build.hw_nodes(tfc_model, worker=finn_worker, cache=folder)
    tables = build.option_tables(tfc_model, worker=finn_worker, cache=folder)
    assert build.hw_nodes(tfc_model, worker=_NoWorker(), cache=folder).nodes == nodes.nodes
    assert build.option_tables(tfc_model, worker=_NoWorker(), cache=folder) == tables
