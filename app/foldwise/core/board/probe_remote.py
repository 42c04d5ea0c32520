"""Runs ON THE BOARD (sent over SSH on stdin, Python 3.6+, standard library only): prints one JSON object.

``python3 - IIO_ROOT`` reports what the board has; the host side (:mod:`.probe`) judges it. Never
imported by Foldwise itself.
"""

import glob
import json
import os
import platform
import shutil
import sys


def _read(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return default


def _version(dist):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        return None
    try:
        return metadata.version(dist)
    except Exception:
        return None


def _meminfo():
    found = {}
    for line in (_read("/proc/meminfo", "") or "").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            found[name] = int(parts[0]) * 1024
    return found


def _environment_board():
    for line in (_read("/etc/environment", "") or "").splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "BOARD":
            return value.strip().strip('"')
    return None


def _temperature(root):
    for device in sorted(glob.glob(os.path.join(root, "iio:device*"))):
        raw = _read(os.path.join(device, "in_temp0_raw"))
        if raw is None:
            continue
        offset = _read(os.path.join(device, "in_temp0_offset"), "0")
        scale = _read(os.path.join(device, "in_temp0_scale"), "1")
        try:
            return {"celsius": (float(raw) + float(offset)) * float(scale) / 1000.0, "device": device,
                    "name": _read(os.path.join(device, "name"))}
        except ValueError:
            continue
    return None


def main():
    iio_root = sys.argv[1] if len(sys.argv) > 1 else "/sys/bus/iio/devices"
    home = os.path.expanduser("~")
    disk = os.statvfs(home)
    mem = _meminfo()
    revision = _read(os.path.join(home, "REVISION")) or _read("/home/xilinx/REVISION")
    try:
        import grp

        groups = sorted({grp.getgrgid(g).gr_name for g in os.getgroups()})
    except (ImportError, KeyError, OSError):
        groups = []
    facts = {
        "image_revision": revision.splitlines()[0] if revision else None,
        "board": os.environ.get("BOARD") or _environment_board(),
        "model": (_read("/proc/device-tree/model") or "").strip("\x00") or None,
        "machine": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "virtual_env": os.environ.get("VIRTUAL_ENV") or os.environ.get("PYNQ_VENV"),
        "xilinx_xrt": os.environ.get("XILINX_XRT"),
        "packages": {name: _version(name) for name in ("pynq", "numpy", "bitstring", "finn-plus-driver")},
        "finn_plus_driver_cli": shutil.which("finn-plus-driver"),
        # set by an emulated board's sshd: the Python that runs FINN's dataflow model in place of a bitfile
        "emulator": os.environ.get("FOLDWISE_EMULATOR"),
        "mem_total": mem.get("MemTotal"),
        "mem_available": mem.get("MemAvailable", mem.get("MemFree")),
        "cma_total": mem.get("CmaTotal"),
        "cma_free": mem.get("CmaFree"),
        "disk_free": disk.f_bavail * disk.f_frsize,
        "disk_total": disk.f_blocks * disk.f_frsize,
        "home": home,
        "temperature": _temperature(iio_root),
        "groups": groups,
    }
    json.dump(facts, sys.stdout)
    sys.stdout.write("\n")


main()
