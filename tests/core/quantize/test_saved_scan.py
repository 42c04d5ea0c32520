"""The kept sensitivity scan: found again for the same settings, also when an older Foldwise wrote them."""

from __future__ import annotations

import json
from pathlib import Path

from foldwise.core.project import Project
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.saved_scan import SCAN_NAME, load_sensitivity, save_sensitivity

ROWS = [{"layer": "features.conv1", "accuracy": 0.9, "drop_points": 1.0}]


def test_a_scan_is_found_for_its_settings_only_and_survives_new_setting_fields(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet) as project:
        iteration = project.current
        config = QuantConfig(weight_bits=4, act_bits=4, calib_images=64).to_dict()
        save_sensitivity(iteration, ROWS, images=100, config=config)
        assert load_sensitivity(iteration, config)["rows"] == ROWS
        assert load_sensitivity(iteration, {**config, "act_range": "mse"}) is None
        # written before act_range existed: read with its default, the percentile the scan was measured with
        path = iteration.folder / SCAN_NAME
        record = json.loads(path.read_text())
        del record["config"]["act_range"]
        path.write_text(json.dumps(record))
        assert load_sensitivity(iteration, config)["rows"] == ROWS
        path.write_text(json.dumps({**record, "config": {"weight_bits": 99}}))
        assert load_sensitivity(iteration, config) is None  # damaged settings read as "no scan"
