"""Agreement between the float model and the device during a demo run, on sampled frames.

Every ``interval`` seconds at most, the pipeline offers one processed frame's crop and the device's class to
an :class:`AgreementCheck`; the float network (``host-float``) classifies the same crop on the check's own
thread and the two classes are counted as the same or not. A frame offered while the last one is still being
checked is not sampled, so the check never holds up the pipeline nor queues crops: at DefectNet's few
milliseconds a float inference, two a second cost the pipeline about one per cent of a core.
"""

from __future__ import annotations

import threading
from typing import Any

from foldwise.core.demo.stats import RunStats

DEFAULT_INTERVAL = 0.5  # s between sampled frames


class AgreementCheck:
    """Counts into ``stats`` (``agreement_checked``, ``agreement_same``) whether ``reference`` (a backend,
    usually host-float) gives the device's class on sampled crops."""

    def __init__(self, reference: Any, stats: RunStats, interval: float = DEFAULT_INTERVAL) -> None:
        self.reference = reference
        self.interval = float(interval)
        self._stats = stats
        self._cond = threading.Condition()
        self._item: tuple[Any, int] | None = None
        self._busy = False
        self._stop = False
        self._last: float | None = None
        self.error = ""  # why checking stopped early (the float model failed), else ""
        self._thread = threading.Thread(target=self._work, name="demo-agreement", daemon=True)
        self._thread.start()

    def offer(self, now: float, crop: Any, label: int) -> bool:
        """Sample this frame (uint8 1×C×H×W ``crop``, the device's class ``label``) if one is due and the last
        is done; returns whether it was taken."""
        if self._last is not None and now - self._last < self.interval:
            return False
        with self._cond:
            if self._busy or self._stop or self.error:
                return False
            self._last, self._item, self._busy = now, (crop, int(label)), True
            self._cond.notify()
        return True

    def _work(self) -> None:
        while True:
            with self._cond:
                while self._item is None and not self._stop:
                    self._cond.wait()
                if self._item is None:
                    return
                crop, label = self._item
            try:
                labels, _confidences = self.reference.infer(crop)
            except Exception as exc:  # the run goes on without the check; the result says why
                self.error = f"the float model failed on a sampled frame: {exc}"
                labels = None
            if labels is not None:
                self._stats.agreement_checked += 1
                self._stats.agreement_same += int(int(labels[0]) == label)
            with self._cond:
                self._item, self._busy = None, False

    def close(self, timeout: float = 5.0) -> None:
        """Finish the frame being checked (up to ``timeout`` s), stop the thread, close the reference."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)
        self.reference.close()
