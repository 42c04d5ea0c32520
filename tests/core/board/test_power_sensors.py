"""Power sensors read from fake sysfs trees (the root is a parameter) and a fake pynq with PMBus rails."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from foldwise.core.board import power_sensors
from foldwise.core.board.power_sensors import open_meter


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    return root


def jetson_nano_tree(root: Path) -> Path:
    """JetPack 4's INA3221 (iio): the input rail and two of its parts, in mW."""
    device = "bus/i2c/drivers/ina3221x/6-0040/iio:device0"
    return _write(root, {f"{device}/rail_name_0": "POM_5V_IN", f"{device}/in_power0_input": "4120",
                         f"{device}/rail_name_1": "POM_5V_GPU", f"{device}/in_power1_input": "1500",
                         f"{device}/rail_name_2": "POM_5V_CPU", f"{device}/in_power2_input": "900"})


def jetson_hwmon_tree(root: Path, labelled_input: bool = True) -> Path:
    """JetPack 5's INA3221 (hwmon): mV and mA per channel."""
    files = {"class/hwmon/hwmon3/name": "ina3221", "class/hwmon/hwmon0/name": "cpu_thermal",
             "class/hwmon/hwmon3/in1_label": "VDD_IN" if labelled_input else "VDD_SOC",
             "class/hwmon/hwmon3/in1_input": "5000", "class/hwmon/hwmon3/curr1_input": "1200",
             "class/hwmon/hwmon3/in2_label": "VDD_CPU_GPU_CV", "class/hwmon/hwmon3/in2_input": "5000",
             "class/hwmon/hwmon3/curr2_input": "400"}
    return _write(root, files)


def test_jetson_nano_input_rail_is_the_board(tmp_path) -> None:
    meter = open_meter(str(jetson_nano_tree(tmp_path)), use_pynq=False)
    meter.start()
    meter.tick()
    reading = meter.stop()
    assert reading["watts"] == pytest.approx(4.12) and reading["sensor"] == "INA3221 POM_5V_IN"
    assert reading["samples"] >= 2


def test_hwmon_channels_multiply_volts_by_amps_and_sum_without_an_input_rail(tmp_path) -> None:
    meter = open_meter(str(jetson_hwmon_tree(tmp_path / "a")), use_pynq=False)
    meter.start()
    assert meter.stop()["watts"] == pytest.approx(6.0)
    meter = open_meter(str(jetson_hwmon_tree(tmp_path / "b", labelled_input=False)), use_pynq=False)
    meter.start()
    reading = meter.stop()
    assert reading["watts"] == pytest.approx(6.0 + 2.0) and "VDD_SOC + VDD_CPU_GPU_CV" in reading["sensor"]


def test_sampled_sensor_averages_readings_during_the_loop(tmp_path) -> None:
    root = jetson_nano_tree(tmp_path)
    value = root / "bus/i2c/drivers/ina3221x/6-0040/iio:device0/in_power0_input"
    meter = open_meter(str(root), use_pynq=False)
    meter.interval = 0.0
    meter.start()
    value.write_text("6120\n")
    meter.tick()
    reading = meter.stop()
    assert reading["samples"] == 3 and reading["watts"] == pytest.approx((4.12 + 6.12 + 6.12) / 3)


def rapl_tree(root: Path, energies: dict[int, int], max_range: int = 262143328850) -> Path:
    files = {}
    for n, uj in energies.items():
        zone = f"class/powercap/intel-rapl:{n}"
        files.update({f"{zone}/name": f"package-{n}", f"{zone}/energy_uj": str(uj),
                      f"{zone}/max_energy_range_uj": str(max_range),
                      f"{zone}/intel-rapl:{n}:0/name": "core", f"{zone}/intel-rapl:{n}:0/energy_uj": "5"})
    return _write(root, files)


def test_rapl_is_energy_over_time_across_packages_and_wraps(tmp_path, monkeypatch) -> None:
    root = rapl_tree(tmp_path, {0: 1_000_000, 1: 262143000000}, max_range=262143328850)
    clock = iter([10.0, 12.0])
    monkeypatch.setattr(power_sensors.time, "monotonic", lambda: next(clock))
    meter = open_meter(str(root), use_pynq=False)
    assert meter.name == "RAPL package-0 + package-1"  # the sub-zones (core) are parts of a package
    meter.start()
    (root / "class/powercap/intel-rapl:0/energy_uj").write_text("31000000\n")  # +30 J
    (root / "class/powercap/intel-rapl:1/energy_uj").write_text("9671150\n")  # wrapped: +10 J
    reading = meter.stop()
    assert reading["watts"] == pytest.approx((30.0 + 10.0) / 2.0)


def test_pynq_pmbus_rails_prefer_the_12v_input(tmp_path, monkeypatch) -> None:
    rails = {name: types.SimpleNamespace(power=types.SimpleNamespace(value=watts))
             for name, watts in (("12V", 9.5), ("VCCINT", 2.0), ("PSINT_FP", 1.0))}
    fake = types.ModuleType("pynq")
    fake.get_rails = lambda: rails
    monkeypatch.setitem(sys.modules, "pynq", fake)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if name == "pynq" else None)
    meter = open_meter(str(tmp_path))
    meter.start()
    reading = meter.stop()
    assert reading["sensor"] == "PMBus 12V" and reading["watts"] == pytest.approx(9.5)
    rails.pop("12V")
    meter = open_meter(str(tmp_path))
    meter.start()
    assert meter.stop()["watts"] == pytest.approx(3.0)
    assert open_meter(str(tmp_path), use_pynq=False) is None


def test_no_sensor_and_an_empty_pynq_give_none(tmp_path, monkeypatch) -> None:
    assert open_meter(str(tmp_path)) is None  # this tree (and this host) has no sensor
    fake = types.ModuleType("pynq")
    fake.get_rails = lambda: {}  # the PYNQ-Z2: pynq is there, but no PMBus
    monkeypatch.setitem(sys.modules, "pynq", fake)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object() if name == "pynq" else None)
    assert open_meter(str(tmp_path)) is None
