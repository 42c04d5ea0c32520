"""Garbage holding Qt objects is collected on the GUI thread, never in a job's worker thread (where destroying a
widget deadlocked the suite: see foldwise.gui.gui_thread_gc)."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtWidgets import QWidget

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
