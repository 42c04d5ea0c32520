"""The deployment package of one build: what is pushed to a board and run there.

``<iteration>/builds/<build>/package/``::

    foldwise_package.json   what it is: accelerator, iteration, build, clock, FINN's estimate, sha256 per file
    foldwise_runner.py      Foldwise's on-board runner (core/board/runner_remote.py)
    driver/settings.json    finn-plus's driver settings (a bitfile build's own; else written in its layout)
    bitfile/finn-accel.{bit,hwh}            a bitfile build (Vivado): the real accelerator
    emulation/dataflow_{parent,partition}.onnx   otherwise: FINN's dataflow model, which only the emulated
                                             board runs (a real board refuses it, saying why)
    data/images.npy, data/labels.npy        the project's test images (uint8 N×C×H×W) for validation

The package is regenerable: it is made into a temporary folder and renamed into place, and a package whose
files no longer match its record is made again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from foldwise.core.board import runner_remote
from foldwise.core.errors import InputError
from foldwise.core.finn.kinds import DATAFLOW_PARENT, DATAFLOW_PARTITION, EMULATION_DIR
from foldwise.core.finn.reports import read_build_reports
from foldwise.core.finn.stage import BuildRecord
from foldwise.core.hashing import sha256_file
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

PACKAGE_DIR = "package"
RUNNER_NAME = "foldwise_runner.py"
SETTINGS = "driver/settings.json"
BITFILE = "bitfile/finn-accel.bit"
FORMAT = 1
NO_BITFILE_REASON = ("built without Vivado: the package carries FINN's dataflow model in place of a bitfile, "
                     "so only an emulated board runs it")


def accelerator_of(build: BuildRecord) -> str:
    """``bitfile`` or ``dataflow-model``: what a package of ``build`` would carry; InputError if neither."""
    if (build.folder / "deploy" / BITFILE).is_file():
        return "bitfile"
    if all((build.folder / EMULATION_DIR / name).is_file() for name in (DATAFLOW_PARENT, DATAFLOW_PARTITION)):
        return "dataflow-model"
    raise InputError(f"build {build.name} holds neither a bitfile nor FINN's dataflow model (builds made before "
                     "Foldwise kept it do not): run the estimate again, then deploy that build")


_HWH_CLOCKS = ("PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ", "PCW_FPGA0_PERIPHERAL_FREQMHZ")


def hwh_clock_mhz(hwh: Path) -> float | None:
    """The fabric clock the bitfile was built for, from its .hwh (the Zynq PS's FCLK0): on Zynq the FINN runtime
    reports 100 MHz whatever the design runs at."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(hwh).getroot()
    except (OSError, ET.ParseError):
        return None
    found = {p.get("NAME"): p.get("VALUE") for p in root.iter("PARAMETER") if p.get("NAME") in _HWH_CLOCKS}
    for name in _HWH_CLOCKS:
        try:
            return float(found[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _io_settings(partition: Path, clock_mhz: float | None) -> dict[str, Any]:
    """finn-plus's ``driver_information`` for the partition's input and output (normal shapes, datatypes)."""
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(partition))
    inp, out = model.graph.input[0].name, model.graph.output[0].name
    io = {"num_inputs": 1, "num_outputs": 1,
          "ishape_normal": [list(model.get_tensor_shape(inp))], "idt": [str(model.get_tensor_datatype(inp))],
          "oshape_normal": [list(model.get_tensor_shape(out))], "odt": [str(model.get_tensor_datatype(out))]}
    return {"driver_information": {"driver_type": "FINNDMAOverlay", "platform": "zynq-iodma",
                                   "fclk_mhz": clock_mhz, "io_shape_dict": io, "external_weights": [],
                                   "runtime_weights": []},
            "experiment_information": {"written_by": "Foldwise, in finn-plus 1.6.1's layout (no bitfile)"}}


def _estimate(build: BuildRecord) -> dict[str, Any]:
    try:
        report = read_build_reports(build.folder)
    except Exception:  # a package can still run; the profile then has no estimate to compare with
        return {}
    fps = report.fps_estimated or report.fps
    latency = report.latency_ns_estimated or report.latency_ns
    return {"fps": fps.value if fps else None, "latency_ms": latency.value / 1e6 if latency else None,
            "bottleneck": report.bottleneck, "source": "estimated"}


def _write(folder: Path, build: BuildRecord, accelerator: str, images: np.ndarray, labels: np.ndarray,
           info: dict[str, Any]) -> None:
    if accelerator == "bitfile":
        shutil.copytree(build.folder / "deploy" / "bitfile", folder / "bitfile")
        shutil.copytree(build.folder / "deploy" / "driver", folder / "driver")
    else:
        shutil.copytree(build.folder / EMULATION_DIR, folder / EMULATION_DIR)
        (folder / "driver").mkdir()
        (folder / SETTINGS).write_text(json.dumps(
            _io_settings(folder / EMULATION_DIR / DATAFLOW_PARTITION, build.clock_mhz), indent=2), encoding="utf-8")
    shutil.copyfile(runner_remote.__file__, folder / RUNNER_NAME)
    (folder / "data").mkdir()
    np.save(folder / runner_remote.DATA_IMAGES, np.ascontiguousarray(images, dtype=np.uint8))
    np.save(folder / runner_remote.DATA_LABELS, np.asarray(labels, dtype=np.int64))
    files = {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
    clock, clock_source = build.clock_mhz, "the build's target clock"
    if accelerator == "bitfile":
        from_hwh = hwh_clock_mhz((folder / BITFILE).with_suffix(".hwh"))
        if from_hwh is not None:
            clock, clock_source = from_hwh, "the bitfile's .hwh"
    record = {"format": FORMAT, "accelerator": accelerator, "build": build.name, "board": build.board,
              "clock_mhz": clock, "clock_source": clock_source, "estimate": _estimate(build), "settings": SETTINGS,
              "bitfile": BITFILE if accelerator == "bitfile" else None,
              "reason": None if accelerator == "bitfile" else NO_BITFILE_REASON,
              "images": len(images), **info, "files": files}
    (folder / runner_remote.PACKAGE_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def read_package(folder: Path) -> dict[str, Any] | None:
    """The package record if every file it lists is there with its sha256, else None."""
    record, problem = runner_remote.check_package(str(folder))
    return None if problem else record


def make_package(build: BuildRecord, images: np.ndarray, labels: np.ndarray, info: dict[str, Any] | None = None,
                 ctx: JobContext | None = None) -> Path:
    """``build``'s package with these validation images (reused when it already holds exactly them)."""
    ctx = ctx or null_context()
    accelerator = accelerator_of(build)
    target = build.folder / PACKAGE_DIR
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise InputError(f"validation images must be uint8 N×C×H×W, got {images.dtype} {images.shape}")
    existing = read_package(target) if target.is_dir() else None
    if existing is not None and existing.get("images") == len(images) and existing.get("accelerator") == accelerator:
        same = np.array_equal(np.load(target / runner_remote.DATA_IMAGES), images)
        if same:
            ctx.progress(1.0, "deployment package unchanged")
            return target
    ctx.progress(0.0, "making the deployment package")
    staging = Path(tempfile.mkdtemp(prefix=".package-", dir=build.folder))
    try:
        _write(staging, build, accelerator, images, labels, info or {})
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=".package-old-", dir=build.folder))
            target.rename(old / PACKAGE_DIR)
            shutil.rmtree(old, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    ctx.progress(1.0, f"deployment package ready ({accelerator})")
    return target
