"""Python's cyclic garbage collector, run only on the GUI thread.

CPython collects in whichever thread happens to allocate past the threshold. When that is a job's worker
thread and the garbage holds Qt widgets (a closed panel's cycle), their C++ destructors run off the GUI thread:
seen in the suite as a deadlock, the worker in ``~QObject`` waiting for the GIL while the GUI thread held it and
waited for Qt's connection lock. So automatic collection is switched off and a GUI-thread timer collects
instead, generation by generation with CPython's own thresholds (the approach of pyqtgraph's
``util/garbage_collector.py``). A collection holds the GIL in any thread, so this moves no stall onto the GUI.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer

#: how often the GUI thread looks at the allocation counts; garbage waits at most this long
INTERVAL_MS = 250
#: A full collection (~200 ms with torch and Brevitas loaded) only once the heap has grown by a quarter since
#: the last: CPython's own rule (long-lived objects pending > a quarter of the total), with pymalloc's block count
#: standing in for the object counts CPython keeps to itself.
FULL_GROWTH = 1.25

_collector: _GuiThreadCollector | None = None


class _GuiThreadCollector(QObject):
    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.blocks_after_full = 0
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.collect_due)
        gc.disable()
        self.timer.start()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold (and the younger ones with it)."""
        counts = gc.get_count()
        due = -1
        for generation, (count, threshold) in enumerate(zip(counts, self.thresholds, strict=True)):
            if count <= threshold:
                break
            due = generation
        if due == 2 and sys.getallocatedblocks() < self.blocks_after_full * FULL_GROWTH:
            due = 1
        if due < 0:
            return 0
        found = gc.collect(due)
        if due == 2:
            self.blocks_after_full = sys.getallocatedblocks()
        return found

    def release(self) -> None:
        self.timer.stop()
        gc.enable()


def collect_garbage_on_gui_thread() -> None:
    """Switch automatic collection to the GUI thread for the application's life (idempotent; needs a
    QApplication, and must be called on its thread)."""
    global _collector
    app = QCoreApplication.instance()
    if _collector is not None or app is None:
        return
    _collector = _GuiThreadCollector(app)
    app.aboutToQuit.connect(collect_garbage_anywhere)


def collect_garbage_anywhere() -> None:
    """Give collection back to CPython (when the application quits, or after the GUI tests)."""
    global _collector
    if _collector is not None:
        _collector.release()
        _collector = None
