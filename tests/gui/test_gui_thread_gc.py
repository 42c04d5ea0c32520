"""Garbage holding Qt objects is collected on the GUI thread, never in a job's worker thread (where destroying a
widget deadlocked the suite: see foldwise.gui.gui_thread_gc)."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import pytest
from PySide6.QtWidgets import QWidget

from foldwise.gui import gui_thread_gc
from foldwise.gui.gui_thread_gc import INTERVAL_MS, collect_garbage_on_gui_thread


def test_a_widget_cycle_dropped_while_a_worker_allocates_is_collected_on_the_gui_thread(qtbot) -> None:
    collect_garbage_on_gui_thread()
    assert not gc.isenabled()
    collected_in: list[str] = []

    class Panel(QWidget):
        pass

    panel = Panel()
    panel.itself = panel  # a cycle: only the cyclic collector can free it
    weakref.finalize(panel, lambda: collected_in.append(threading.current_thread().name))
    del panel

    def allocate() -> None:  # far past every generation's threshold: CPython would collect here
        for _ in range(50):
            _cycles = [[i] for i in range(20_000)]
            for item in _cycles:
                item.append(item)

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert collected_in == []

    qtbot.waitUntil(lambda: bool(collected_in), timeout=20 * INTERVAL_MS)
    assert collected_in == [threading.main_thread().name]


def _every_generation_due() -> list[object]:
    """Counts past all three thresholds (each gen-0/gen-1 collection adds one to the next generation's count)."""
    gc.collect()
    for generation in (1, 0):
        for _ in range(gc.get_threshold()[generation + 1] + 1):
            gc.collect(generation)
    return [[] for _ in range(gc.get_threshold()[0] + 100)]  # the caller holds them: gen-0 count past threshold


def test_a_full_collection_waits_until_the_heap_has_grown_by_a_quarter(qapp, monkeypatch) -> None:
    collect_garbage_on_gui_thread()
    collector = gui_thread_gc._collector
    collector.timer.stop()  # this test drives it
    collected: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            collected.append(info["generation"])

    gc.callbacks.append(record)
    try:
        _held = _every_generation_due()
        collector.blocks_after_full = sys.getallocatedblocks()  # just collected in full, no growth since
        collected.clear()
        collector.collect_due()
        assert collected == [1]

        del _held  # freeing them would lower the gen-0 count again below
        _held = _every_generation_due()
        collector.blocks_after_full = int(sys.getallocatedblocks() / (gui_thread_gc.FULL_GROWTH + 0.05))
        collected.clear()
        collector.collect_due()
        assert collected == [2] and collector.blocks_after_full == pytest.approx(sys.getallocatedblocks(), rel=0.01)
    finally:
        gc.callbacks.remove(record)
        collector.timer.start()
