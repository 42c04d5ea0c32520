"""Power sensors a device may have, read while a timed loop runs (device side: standard library only, 3.6+).

- **INA3221** (NVIDIA Jetson): the board's input rail, either the old iio form
  ``bus/i2c/drivers/ina3221x/*/iio:device*/in_power<N>_input`` (mW, rail names in ``rail_name_<N>``) or the
  hwmon form ``class/hwmon/hwmon*/`` with ``name`` = ina3221, ``in<N>_label``, ``in<N>_input`` (mV) and
  ``curr<N>_input`` (mA). The rail named like the input (``POM_5V_IN``, ``VDD_IN``) is the whole board; the
  others are parts of it, so they are summed only when no input rail is labelled. Sampled during the loop.
- **PMBus through pynq** (``pynq.get_rails()``; the ZCU104 has it, the PYNQ-Z2 none): the 12 V input rail if
  there is one, else the sum of all rails. Sampled.
- **RAPL** (Linux powercap, x86): ``class/powercap/intel-rapl:<N>/energy_uj`` of each CPU package, read before
  and after the loop; the power is the energy difference over the time (wrap-around handled). It is the whole
  package's power, idle cores included.

``root`` is the sysfs root (``/sys`` on a real device; tests lay a fake tree elsewhere). :func:`open_meter`
returns the first sensor found, or None. A meter's ``stop()`` returns ``{"watts", "sensor", "samples"}``.
"""

import glob
import os
import re
import time

# ruff: noqa: B905 (zip(strict=) needs Python 3.10; this file runs on the device's Python, 3.6 and up)
SYSFS = "/sys"
SAMPLE_INTERVAL = 0.01  # s between readings of a sampled sensor (an INA3221 updates every few ms)


def _read_number(path):
    try:
        with open(path) as handle:
            return float(handle.read().strip())
    except (OSError, ValueError):
        return None


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _is_input_rail(label):
    return bool(label) and bool(re.search(r"(^|_)(5V_)?IN$|VDD_IN|^12V$|VIN", label.upper()))


class _Sampled:
    """Average of readings taken at start, every ``interval`` s of ticks, and at stop."""

    def __init__(self, name, read, interval=SAMPLE_INTERVAL):
        self.name, self._read, self.interval = name, read, interval
        self._samples, self._last = [], 0.0

    def _sample(self):
        value = self._read()
        if value is not None:
            self._samples.append(value)
        self._last = time.monotonic()

    def start(self):
        self._samples = []
        self._sample()

    def tick(self):
        if time.monotonic() - self._last >= self.interval:
            self._sample()

    def stop(self):
        self._sample()
        if not self._samples:
            return None
        return {"watts": sum(self._samples) / len(self._samples), "sensor": self.name,
                "samples": len(self._samples)}


class _Energy:
    """RAPL: energy counters read at start and stop."""

    def __init__(self, zones):
        self.zones = zones  # [(folder, name)]
        self.name = "RAPL " + " + ".join(name for _folder, name in zones)
        self._start = None

    def _energy(self):
        return [_read_number(os.path.join(folder, "energy_uj")) for folder, _name in self.zones]

    def start(self):
        self._start = (time.monotonic(), self._energy())

    def tick(self):
        pass

    def stop(self):
        t1, after = time.monotonic(), self._energy()
        t0, before = self._start
        if t1 <= t0 or None in before or None in after:
            return None
        joules = 0.0
        for (folder, _name), e0, e1 in zip(self.zones, before, after):
            if e1 < e0:  # the counter wrapped
                e1 += _read_number(os.path.join(folder, "max_energy_range_uj")) or 0.0
            joules += (e1 - e0) / 1e6
        return {"watts": joules / (t1 - t0), "sensor": self.name, "samples": 2}


def _ina3221_iio(root):
    channels = []
    for device in sorted(glob.glob(os.path.join(root, "bus/i2c/drivers/ina3221x/*/iio:device*"))):
        for path in sorted(glob.glob(os.path.join(device, "in_power*_input"))):
            index = path.rsplit("in_power", 1)[1].split("_")[0]
            label = _read_text(os.path.join(device, "rail_name_" + index)) or "channel " + index
            channels.append((label, lambda p=path: (_read_number(p) or 0.0) / 1000.0))
    return channels


def _ina3221_hwmon(root):
    channels = []
    for device in sorted(glob.glob(os.path.join(root, "class/hwmon/hwmon*"))):
        if (_read_text(os.path.join(device, "name")) or "") != "ina3221":
            continue
        for path in sorted(glob.glob(os.path.join(device, "curr*_input"))):
            index = path.rsplit("curr", 1)[1].split("_")[0]
            volts = os.path.join(device, f"in{index}_input")
            if not os.path.exists(volts):
                continue
            label = _read_text(os.path.join(device, f"in{index}_label")) or "channel " + index

            def read(v=volts, c=path):
                mv, ma = _read_number(v), _read_number(c)
                return None if mv is None or ma is None else mv * ma / 1e6

            channels.append((label, read))
    return channels


def _summed(kind, channels):
    """One reading: the input rail alone if one is labelled so, else the sum of the channels."""
    inputs = [c for c in channels if _is_input_rail(c[0])]
    chosen = inputs[:1] or channels

    def read():
        values = [r() for _label, r in chosen]
        return None if any(v is None for v in values) else sum(values)

    return _Sampled("{} {}".format(kind, " + ".join(label for label, _r in chosen)), read)


def _pynq_rails():
    try:
        import importlib.util

        if importlib.util.find_spec("pynq") is None:
            return []
        import pynq

        rails = pynq.get_rails() or {}
    except Exception:  # pynq not usable here (no board, no permission): no PMBus sensor
        return []
    channels = []
    for name, rail in sorted(rails.items()):
        sensor = getattr(rail, "power", None)
        if sensor is not None:
            channels.append((str(name), lambda s=sensor: float(s.value)))
    return channels


def _rapl(root):
    zones = []
    for folder in sorted(glob.glob(os.path.join(root, "class/powercap/intel-rapl:*"))):
        if re.search(r"intel-rapl:\d+$", folder) and os.path.exists(os.path.join(folder, "energy_uj")):
            zones.append((folder, _read_text(os.path.join(folder, "name")) or os.path.basename(folder)))
    return zones


def open_meter(root=SYSFS, use_pynq=True):
    """The device's power meter (INA3221, then PMBus through pynq, then RAPL), or None if it has none."""
    for kind, channels in (("INA3221", _ina3221_iio(root) or _ina3221_hwmon(root)),
                           ("PMBus", _pynq_rails() if use_pynq else [])):
        if channels:
            return _summed(kind, channels)
    zones = _rapl(root)
    if zones and all(_read_number(os.path.join(f, "energy_uj")) is not None for f, _n in zones):
        return _Energy(zones)
    return None
