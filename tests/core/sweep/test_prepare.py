"""Which iteration a sweep's bit-width point builds: one already quantized with the same settings is reused."""

from __future__ import annotations

import json
from pathlib import Path

from foldwise.core.project import Project
from foldwise.core.sweep.grid import DesignPoint
from foldwise.core.sweep.prepare import point_iterations


def test_an_iteration_saved_before_a_setting_existed_is_reused_by_its_defaults(quantized_lenet: Path) -> None:
    # 0002 (W4A4, 64 calibration images) as an older Foldwise recorded it: no activation-range field yet
    manifest = quantized_lenet / "manifest.json"
    data = json.loads(manifest.read_text())
    record = next(it for it in data["iterations"] if it["id"] == "0002")
    del record["change"]["config"]["act_range"]
    manifest.write_text(json.dumps(data))
    with Project.open(quantized_lenet) as project:
        base = project.get("0002")
        same = DesignPoint(0, bits={"weights": 4, "acts": 4})
        assert point_iterations(project, base, [same]) == {0: "0002"}
        assert [it.id for it in project.iterations] == ["0001", "0002"]  # nothing re-quantized
