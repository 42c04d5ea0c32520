"""Foldwise's runner ON THE BOARD, pushed in every deployment package as ``foldwise_runner.py``.

Standard library only at import (Python 3.7+; a PYNQ v3 image has 3.10), so it starts on any board. It checks the
package against its record (every file's sha256), then hands the work to the package's accelerator and prints
JSON-lines events on stdout: ``progress`` (fraction, message), ``result`` and ``error`` (code, message, fix):

- ``dataflow-model`` (a package built without Vivado: FINN's dataflow model instead of a bitfile): only an
  emulated board runs it. Such a board says where its emulator lives in ``FOLDWISE_EMULATOR`` (a Python with
  Foldwise and finn-plus); the runner execs ``python -m foldwise.core.board.emulator``. A real board has none
  and refuses the package with that reason.
- ``bitfile``: finn-plus's runtime, the ``finn-plus-driver`` command in the board's venv, runs
  ``throughput_test`` under a timeout (it polls the output DMA forever when the bitfile does not match: the
  runner kills it and says so). Not run on hardware here (no Vivado to make a bitfile); the emulated path is.

``python3 foldwise_runner.py check|throughput|validate|serve [--batch N ...] [--images N] [--timeout S]``.
``serve`` (the live demo) reads requests from stdin — a JSON line ``{"n": N, "id": K}`` then N×C×H×W uint8
bytes — and answers each, in order, with a ``scores`` event carrying the same id (the host keeps several
requests in flight).
Foldwise's emulator imports this module for the event format, so both print the same events.
"""

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys

PACKAGE_RECORD = "foldwise_package.json"
DATA_IMAGES = "data/images.npy"
DATA_LABELS = "data/labels.npy"
EMULATOR_ENV = "FOLDWISE_EMULATOR"
#: where the emulator's Foldwise lives, when it is not installed in that Python (a development checkout)
EMULATOR_PATH_ENV = "FOLDWISE_EMULATOR_PYTHONPATH"
STAGES = ("pack_input", "copy_input_data_to_device", "compute", "copy_output_data_from_device", "unpack_output")


def emit(event, **fields):
    sys.stdout.write(json.dumps(dict(event=event, **fields)) + "\n")
    sys.stdout.flush()


def throughput_row(batch, runtime_s, stage_s, in_bytes, out_bytes):
    """One batch's figures, named as FINN's runtime names them (``runtime[ms]``, ``throughput[images/s]``, ...)."""
    row = {"batch_size": batch, "runtime[ms]": 1000.0 * runtime_s,
           "throughput[images/s]": batch / runtime_s if runtime_s > 0 else 0.0,
           "DRAM_in_bandwidth[MB/s]": in_bytes / 1e6 / runtime_s if runtime_s > 0 else 0.0,
           "DRAM_out_bandwidth[MB/s]": out_bytes / 1e6 / runtime_s if runtime_s > 0 else 0.0}
    for name in STAGES:
        row[name + "[ms]"] = 1000.0 * stage_s.get(name, 0.0)
    return row


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_package(folder):
    """The package record, or an error event's fields if a file is missing or damaged."""
    try:
        with open(os.path.join(folder, PACKAGE_RECORD), encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        return None, {"code": "package-damaged", "message": f"{PACKAGE_RECORD} is unreadable: {exc}",
                      "fix": "push the deployment again"}
    bad = []
    for name, digest in sorted(record.get("files", {}).items()):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            bad.append(name + " (missing)")
        elif _sha256(path) != digest:
            bad.append(name + " (wrong sha256)")
    if bad:
        return None, {"code": "package-damaged", "message": "the deployment package is damaged: " + ", ".join(bad),
                      "fix": "push the deployment again (the push re-sends damaged files)"}
    return record, None


def _emulated(folder, args):
    python = os.environ.get(EMULATOR_ENV)
    if not python:
        emit("error", code="no-bitfile",
             message="this package carries FINN's dataflow model instead of a bitfile (it was built without "
                     "Vivado): only an emulated board runs it, and this board is not one",
             fix="build a bitfile where Vivado is installed, or deploy to an emulated board "
                 "(`foldwise board emulate NAME`)")
        return 2
    if not os.path.isfile(python):
        emit("error", code="emulator-missing", message=f"{EMULATOR_ENV}={python} is not a file on this board",
             fix="restart the emulated board (`foldwise board emulate NAME`)")
        return 2
    argv = [python, "-m", "foldwise.core.board.emulator", folder, args.mode]
    for batch in args.batch or []:
        argv += ["--batch", str(batch)]
    if args.images:
        argv += ["--images", str(args.images)]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the board venv's path is not the emulator's (it may even shadow numpy)
    if os.environ.get(EMULATOR_PATH_ENV):
        env["PYTHONPATH"] = os.environ[EMULATOR_PATH_ENV]
    sys.stdout.flush()
    os.execve(python, argv, env)
    return 0  # not reached


def _bitfile(folder, record, args):
    driver = shutil.which("finn-plus-driver")
    if not driver:
        emit("error", code="runtime-missing", message="finn-plus-driver (finn-plus's runtime) is not installed",
             fix="install it into the PYNQ venv: sudo pip3 install --no-deps finn-plus-driver, then its "
                 "dependencies except h5py (no armv7l wheel); see the probe's fixes")
        return 2
    if args.mode != "throughput":
        emit("error", code="unsupported", message=f"{args.mode} with a bitfile package is not supported yet",
             fix="run the throughput test")
        return 2
    rows = []
    for batch in args.batch or [1]:
        command = [driver, "-b", record["bitfile"], "-s", record["settings"], "-f", "throughput_test",
                   "-ck", f"batch_size={batch}", "Int"]
        try:
            done = subprocess.run(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=args.timeout, text=True)
        except subprocess.TimeoutExpired:
            emit("error", code="dma-timeout",
                 message=f"the accelerator gave no output within {args.timeout:g} s and was stopped: the FINN "
                         "runtime waits on the output DMA forever when the bitfile does not match",
                 fix="check that the .bit and .hwh come from the same build and that the PYNQ image matches the "
                     "Vivado version it was built with")
            return 3
        metrics = None
        for line in reversed(done.stdout.splitlines()):
            if line.strip().startswith("{"):
                try:
                    metrics = ast.literal_eval(line.strip())
                    break
                except (ValueError, SyntaxError):
                    continue
        if done.returncode != 0 or not isinstance(metrics, dict):
            emit("error", code="runtime-failed", message=f"finn-plus-driver failed (exit {done.returncode}): "
                 f"{done.stdout[-500:]}", fix="see the run log")
            return 3
        rows.append(metrics)
        emit("progress", fraction=len(rows) / len(args.batch or [1]), message=f"batch {batch} done")
    emit("result", mode="throughput", rows=rows, accelerator="bitfile")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="foldwise_runner")
    parser.add_argument("mode", choices=("check", "throughput", "validate", "serve"))
    parser.add_argument("--batch", type=int, action="append")
    parser.add_argument("--images", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    folder = os.path.dirname(os.path.abspath(__file__))
    record, problem = check_package(folder)
    if problem:
        emit("error", **problem)
        return 2
    accelerator = record.get("accelerator")
    if args.mode == "check":
        emit("result", mode="check", accelerator=accelerator, emulator=os.environ.get(EMULATOR_ENV),
             python=sys.version.split()[0])
        return 0
    if accelerator == "dataflow-model":
        return _emulated(folder, args)
    if accelerator == "bitfile":
        return _bitfile(folder, record, args)
    emit("error", code="package-damaged", message=f"unknown accelerator {accelerator!r} in the package",
         fix="push the deployment again")
    return 2


if __name__ == "__main__":
    sys.exit(main())
