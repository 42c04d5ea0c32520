"""PySide6 6.12.0 lost a reference to True on every Python-side emit and aborted the app after a few thousand
(progress and log lines are emits). This guards the pinned version: it fails if the leak comes back."""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    progressed = Signal(float, str)
    finished = Signal()
    partial = Signal(object)


def test_emits_do_not_leak_references_to_true(qapp) -> None:
    emitter = _Emitter()
    emitter.progressed.connect(lambda fraction, message: None)
    emitter.finished.connect(lambda: None)
    emitter.partial.connect(lambda value: None)
    before = sys.getrefcount(True)
    for _ in range(200):
        emitter.progressed.emit(0.5, "step")
        emitter.finished.emit()
        emitter.partial.emit({"epoch": 1})
    assert abs(sys.getrefcount(True) - before) < 20
