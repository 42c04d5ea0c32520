"""The bad-input corpus: every stage's verb fed broken files, damaged projects, wrong arguments, a busy,
read-only or full disk. Each case asserts the exit code, the one-line message, that no traceback reaches the user
and that the project is byte for byte as it was (only the lock file's holder line may differ).

Cases are generated here (no binary blobs): `prep` builds the bad input inside the case's folder.

Each case's outcome is also classified (:func:`classify`: clear, traceback, crash, hang, silently wrong, damaged,
unclear) before it is asserted, and the last test writes the counts to ``corpus-report.json`` (in
``$FOLDWISE_CORPUS_REPORT`` if set, else pytest's temp folder) and requires the five bad ones at 0.
``python -m tools.corpus_report`` runs the corpus and prints that summary.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from foldwise.cli import main
from foldwise.core.project import LOCK_NAME, MANIFEST_NAME
from tests.faults import cli_env

Prep = Callable[[Path, Path], None]  # (project folder, case folder)


@dataclass
class Case:
    id: str
    project: str | None  # None, "empty", "trained" or "quantized": a fresh copy of that template
    argv: list[str]  # {p}: the project folder, {w}: the case's folder
    code: int
    message: str  # a regex searched in stderr
    prep: list[Prep] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # set for the case ({w}: the case's folder)
    absent: list[str] = field(default_factory=list)  # paths ({p}, {w}) a refused command must not leave
    process: bool = False  # run as `python -m foldwise` (a crash or Qt abort is seen as a signal exit)
    env_drop: list[str] = field(default_factory=list)  # variables unset for a process case


def _manifest_edit(edit: Callable[[dict], None]) -> Prep:
    def prep(p: Path, _w: Path) -> None:
        data = json.loads((p / MANIFEST_NAME).read_text())
        edit(data)
        (p / MANIFEST_NAME).write_text(json.dumps(data))

    return prep


def _write(name: str, content: bytes) -> Prep:
    def prep(_p: Path, w: Path) -> None:
        (w / name).parent.mkdir(parents=True, exist_ok=True)
        (w / name).write_bytes(content)

    return prep


def _first_iteration(p: Path) -> Path:
    return next((p / "iterations").glob("0001-*"))


def _in_first_iteration(name: str, content: bytes) -> Prep:
    return lambda p, _w: (_first_iteration(p) / name).write_bytes(content)


def _delete_first_iteration(p: Path, _w: Path) -> None:
    shutil.rmtree(_first_iteration(p))


def _image_folder(classes: dict[str, int]) -> Prep:
    def prep(_p: Path, w: Path) -> None:
        import cv2

        for label, n in classes.items():
            (w / "d" / label).mkdir(parents=True)
            for i in range(n):
                cv2.imwrite(str(w / "d" / label / f"{i}.png"), np.full((12, 12), 40 * i % 255, np.uint8))

    return prep


def _folder_project(then: str) -> Prep:
    """A LeNet5 project on an image folder ``{w}/d`` (two classes of 12), whose images are then all made
    unreadable (``then="corrupt"``) or whose folder is removed (``then="remove"``)."""

    def prep(p: Path, w: Path) -> None:
        _image_folder({"a": 12, "b": 12})(p, w)
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            assert main(["new", str(p), "--arch", "lenet5", "--data-folder", str(w / "d")]) == 0
        if then == "remove":
            shutil.rmtree(w / "d")
        else:
            for image in (w / "d").rglob("*.png"):
                image.write_bytes(b"not a png")

    return prep


def _state_dict(name: str) -> Prep:
    def prep(_p: Path, w: Path) -> None:
        import torch

        torch.save({"w": torch.zeros(2)}, w / name)

    return prep


def _huge_input_onnx(name: str) -> Prep:
    """A tiny ONNX file (one Relu, no weights) declaring a 3×8192×8192 input."""

    def prep(_p: Path, w: Path) -> None:
        import onnx
        from onnx import TensorProto, helper

        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8192, 8192])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8192, 8192])
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(w / name))

    return prep


_MOUNTS: list[Path] = []


def _read_only(p: Path, w: Path) -> None:
    """The project on a read-only file system (a tmpfs remounted ro: modes alone do not stop root)."""
    assert os.geteuid() == 0, "the read-only case mounts a tmpfs: run the suite as root (as CI does)"
    original = w / "p.orig"
    p.rename(original)
    p.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(p)], check=True)
    _MOUNTS.append(p)
    shutil.copytree(original, p, dirs_exist_ok=True)
    subprocess.run(["mount", "-o", "remount,ro", str(p)], check=True)


@pytest.fixture(autouse=True)
def _unmount() -> Iterator[None]:
    yield
    while _MOUNTS:
        subprocess.run(["umount", "-l", str(_MOUNTS.pop())], check=True)


def _full_disk(free_kib: int, at: str = "p") -> Prep:
    """A 4 MiB tmpfs at ``{w}/at`` (for "p": the project moved onto it) filled to ``free_kib`` KiB free by
    ``.filler`` (unchanged by any command, so the project's hashes still compare)."""

    def prep(p: Path, w: Path) -> None:
        assert os.geteuid() == 0, "the full-disk cases mount a tmpfs: run the suite as root (as CI does)"
        mount = w / at
        original = w / "p.orig"
        if at == "p":
            p.rename(original)
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
        _MOUNTS.append(mount)
        if at == "p":
            shutil.copytree(original, mount, dirs_exist_ok=True)
        fd = os.open(mount / ".filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - free_kib * 1024))
        os.close(fd)

    return prep


def _small_onnx(name: str) -> Prep:
    """A plain ONNX network for the 1×32×32, 10-class digits (what lenet-digits imports)."""

    def prep(_p: Path, w: Path) -> None:
        import warnings

        import torch
        from torch import nn

        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 32 * 32, 10))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net.eval(), (torch.zeros(1, 1, 32, 32),), str(w / name), dynamo=False,
                              opset_version=13)

    return prep


def _skip_qonnx(name: str, kind: str) -> Prep:
    """A quantized QONNX file FINN cannot map: a concatenation of a signed skip and a ReLU ("concat"), or an add
    of two shapes ("broadcast")."""

    def prep(_p: Path, w: Path) -> None:
        from foldwise.core.quantize.export import export_qonnx_file
        from tests.core.finn import test_residual as residual

        model = residual.DenseSkip(signed_skip=True) if kind == "concat" else residual.Broadcast()
        export_qonnx_file(residual._quantized(model), w / name)

    return prep


def _folder(key: str, value: str) -> Prep:
    def edit(m: dict) -> None:
        m["iterations"][0][key] = value

    return _manifest_edit(edit)


def _board(name: str, port: int, password: bool = True) -> Prep:
    """A saved board profile at 127.0.0.1:port (password auth; $FOLDWISE_SSH_PASSWORD set unless not)."""
    def prep(_p: Path, _w: Path) -> None:
        from foldwise.core.board.profiles import BoardProfile, save_board

        save_board(BoardProfile.create(name, "127.0.0.1", port=port, connect_timeout=3.0))
        if password:
            os.environ["FOLDWISE_SSH_PASSWORD"] = "pw"
        else:
            os.environ.pop("FOLDWISE_SSH_PASSWORD", None)

    return prep


TIMEOUT = r"connect-timeout: must be a positive number of seconds"
def _zip(extra: dict[str, bytes], *, mode: int | None = None, meta: bool = True, version: int = 1) -> Prep:
    """A bundle of a valid manifest, each of whose ``extra`` entries is listed truthfully but broken by its
    name, its ``mode`` (Unix type bits) or its size; ``meta=False``: without bundle.json."""
    import zipfile

    def prep(_p: Path, w: Path) -> None:
        manifest = json.dumps({"format": "foldwise-project", "version": 1, "name": "b", "iterations": []}).encode()
        files = {MANIFEST_NAME: manifest, **extra}
        record = {"format": "foldwise-bundle", "version": version, "files": [
            {"path": k, "size": len(v), "sha256": hashlib.sha256(v).hexdigest()} for k, v in files.items()]}
        with zipfile.ZipFile(w / "b.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                info = zipfile.ZipInfo(name)
                info.compress_type = zipfile.ZIP_DEFLATED
                if mode is not None and name != MANIFEST_NAME:
                    info.create_system, info.external_attr = 3, mode << 16
                zf.writestr(info, data)
            if meta:
                zf.writestr("bundle.json", json.dumps(record))

    return prep


RANDOM = bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8))

CASES = [
    # new
    Case("new-existing-nonempty", "trained", ["new", "{p}"], 1, r"already exists and is not an empty folder"),
    Case("new-path-is-a-file", None, ["new", "{w}/f"], 1, r"already exists and is not an empty folder",
         [_write("f", b"")]),
    Case("new-unknown-example", None, ["new", "{w}/n", "--example", "nope"], 2, r"invalid choice: 'nope'"),
    Case("new-unknown-arch", None, ["new", "{w}/n", "--arch", "resnet999"], 1, r"unknown network 'resnet999'"),
    Case("new-data-folder-missing", None, ["new", "{w}/n", "--arch", "lenet5", "--data-folder", "{w}/nodata"], 1,
         r"does not exist or is not a folder"),
    Case("new-data-folder-empty", None, ["new", "{w}/n", "--arch", "lenet5", "--data-folder", "{w}/d"], 1,
         r"no class sub-folder holds images", [lambda _p, w: (w / "d").mkdir()]),
    Case("new-data-folder-one-class", None, ["new", "{w}/n", "--arch", "lenet5", "--data-folder", "{w}/d"], 1,
         r"only .a. holds images; expected one sub-folder per class, at least two", [_image_folder({"a": 3})]),
    Case("new-data-unknown", None, ["new", "{w}/n", "--arch", "lenet5", "--data", "cifar"], 1,
         r"unknown data set 'cifar'; choose one of: defects, digits, or folder:DIR"),
    Case("new-data-folder-no-path", None, ["new", "{w}/n", "--data", "folder:"], 1,
         r"an image folder needs its path: --data folder:DIR"),
    Case("new-data-wrong-size", None, ["new", "{w}/n", "--arch", "defectnet", "--data", "digits"], 1,
         r"data set 'digits' holds 1×32×32 images but defectnet takes 3×64×64"),
    Case("new-data-twice", None, ["new", "{w}/n", "--data", "digits", "--data-folder", "{w}"], 1,
         r"give the data set once"),
    # info
    Case("info-not-a-project", None, ["info", "{w}"], 1, r"is not a Foldwise project"),
    Case("info-missing-folder", None, ["info", "{w}/none"], 1, r"does not exist"),
    Case("info-corrupt-manifest", "trained", ["info", "{p}"], 1, r"manifest.json is corrupt",
         [lambda p, _w: (p / MANIFEST_NAME).write_bytes(b"{")]),
    Case("info-newer-format", "trained", ["info", "{p}"], 1, r"saved by a newer Foldwise",
         [_manifest_edit(lambda m: m.update(version=99))]),
    Case("info-metrics-not-a-dict", "trained", ["info", "{p}"], 1, r"manifest.json is corrupt .*metrics",
         [_folder("metrics", "oops")]),
    Case("info-iterations-not-a-list", "trained", ["info", "{p}"], 1, r"manifest.json is corrupt",
         [_manifest_edit(lambda m: m.update(iterations=5))]),
    Case("info-summary-corrupt", "trained", ["info", "{p}"], 1, r"summary.json .*corrupt",
         [_in_first_iteration("summary.json", b"{")]),
    Case("info-current-folder-deleted", "trained", ["info", "{p}"], 0, r"warning: iteration 0001 .*folder .*is missing",
         [_delete_first_iteration]),
    Case("info-folder-outside-project", "trained", ["info", "{p}"], 1, r"corrupt .*outside the project",
         [_folder("folder", "../../victim/iterations/0002-w4a4")]),
    # train
    Case("train-epochs-0", "trained", ["train", "{p}", "--epochs", "0"], 1, r"epochs and batch size must be"),
    Case("train-epochs-negative", "trained", ["train", "{p}", "--epochs", "-5"], 1, r"must be at least 1 \(got -5"),
    Case("train-lr-inf", "trained", ["train", "{p}", "--lr", "inf"], 1, r"positive finite number, got inf"),
    Case("train-lr-nan", "trained", ["train", "{p}", "--lr", "nan"], 1, r"positive finite number, got nan"),
    Case("train-lr-not-a-number", "trained", ["train", "{p}", "--lr", "abc"], 2, r"invalid float value: 'abc'"),
    Case("train-batch-0", "trained", ["train", "{p}", "--batch-size", "0"], 1, r"batch size must be at least 1"),
    Case("train-patience-negative", "trained", ["train", "{p}", "--patience", "-1"], 1, r"patience must be"),
    Case("train-quantized-iteration", "quantized", ["train", "{p}", "--epochs", "1"], 1,
         r"is quantized.*foldwise quantize .*--qat"),
    Case("train-read-only-project", "trained", ["train", "{p}", "--epochs", "1"], 1, r"is read-only", [_read_only]),
    Case("train-current-folder-deleted", "trained", ["train", "{p}", "--epochs", "1"], 1,
         r"iteration 0001 .*folder .*is missing", [_delete_first_iteration]),
    Case("train-folder-outside-project", "trained", ["train", "{p}", "--epochs", "1"], 1, r"outside the project",
         [_folder("folder", "../../victim/iterations/0001-trained-2ep")]),
    Case("train-diverges", "trained", ["train", "{p}", "--epochs", "1", "--lr", "1e30"], 1,
         r"training diverged \(loss is (nan|inf) .*smaller learning rate.*no iteration was made"),
    Case("train-data-folder-all-corrupt", None, ["train", "{p}", "--epochs", "1"], 1,
         r"no class folder has readable images", [_folder_project("corrupt")]),
    Case("train-data-folder-gone", None, ["train", "{p}", "--epochs", "1"], 1,
         r"image folder .*d does not exist or is not a folder", [_folder_project("remove")]),
    Case("train-locked", "trained", ["train", "{p}", "--epochs", "1"], 1, r"is open in another Foldwise instance"),
    # import
    Case("import-missing-file", "trained", ["import", "{p}", "{w}/nofile.onnx"], 1, r"does not exist or is not a file"),
    Case("import-zero-bytes", "trained", ["import", "{p}", "{w}/z.onnx"], 1, r"not a readable ONNX file",
         [_write("z.onnx", b"")]),
    Case("import-random-bytes", "trained", ["import", "{p}", "{w}/r.onnx"], 1, r"not a readable ONNX file",
         [_write("r.onnx", RANDOM)]),
    Case("import-text-as-pt", "trained", ["import", "{p}", "{w}/r.pt"], 1, r"could not be read",
         [_write("r.pt", b"hello\n")]),
    Case("import-a-folder", "trained", ["import", "{p}", "{w}"], 1, r"does not exist or is not a file"),
    Case("import-state-dict-without-arch", "empty", ["import", "{p}", "{w}/sd.pt"], 1, r"state dict",
         [_state_dict("sd.pt")]),
    Case("import-state-dict-unknown-arch", "trained", ["import", "{p}", "{w}/sd.pt", "--arch", "nope"], 1,
         r"unknown network 'nope'", [_state_dict("sd.pt")]),
    Case("import-huge-input", "empty", ["import", "{p}", "{w}/huge.onnx"], 1,
         r"3×8192×8192 is 201.3 M values per image, more than the 3.1 M", [_huge_input_onnx("huge.onnx")]),
    Case("import-input-shape-two-sizes", "empty", ["import", "{p}", "{w}/huge.onnx", "--input-shape", "28,28"], 1,
         r"input shape must be C,H,W with three positive sizes", [_huge_input_onnx("huge.onnx")]),
    Case("import-input-shape-too-big", "empty", ["import", "{p}", "{w}/sd.pt", "--arch", "lenet5",
                                                 "--input-shape", "3,4096,4096"], 1, r"more than the 3.1 M",
         [_state_dict("sd.pt")]),
    # prune
    Case("prune-unknown-layer", "trained", ["prune", "{p}", "--remove", "nope"], 1, r"no layer named 'nope'"),
    Case("prune-ratio-above-1", "trained", ["prune", "{p}", "--channels", "1.5"], 1, r"between 0 and 1.*got 1.5"),
    Case("prune-ratio-negative", "trained", ["prune", "{p}", "--channels", "-0.1"], 1, r"between 0 and 1.*got -0.1"),
    Case("prune-nothing-asked", "trained", ["prune", "{p}"], 1, r"say what to prune"),
    Case("prune-quantized", "quantized", ["prune", "{p}", "--channels", "0.5"], 1, r"is quantized"),
    Case("prune-unknown-iteration", "trained", ["prune", "{p}", "--channels", "0.5", "--iteration", "0099"], 1,
         r"no iteration '0099'"),
    Case("prune-steps-0", "trained", ["prune", "{p}", "--channels", "0.5", "--steps", "0"], 1, r"steps must be"),
    Case("prune-finetune-negative", "trained", ["prune", "{p}", "--channels", "0.5", "--finetune", "-1"], 1,
         r"cannot be negative"),
    Case("prune-layer-ratio-not-a-number", "trained", ["prune", "{p}", "--layer-ratio", "conv1=abc"], 1,
         r"'abc' is not a number"),
    Case("prune-no-network-yet", "empty", ["prune", "{p}", "--channels", "0.5"], 1, r"has no network to prune yet"),
    # quantize
    Case("quantize-weights-0", "trained", ["quantize", "{p}", "--weights", "0"], 1, r"bit width must be from 1 to 8"),
    Case("quantize-weights-99", "trained", ["quantize", "{p}", "--weights", "99"], 1, r"must be from 1 to 8, got 99"),
    Case("quantize-acts-not-a-number", "trained", ["quantize", "{p}", "--acts", "abc"], 2, r"invalid int value"),
    Case("quantize-calib-0", "trained", ["quantize", "{p}", "--calib", "0"], 1, r"at least 1 image"),
    Case("quantize-per-layer-missing", "trained", ["quantize", "{p}", "--per-layer", "{w}/none.json"], 1,
         r"per-layer file not found"),
    Case("quantize-per-layer-bad-json", "trained", ["quantize", "{p}", "--per-layer", "{w}/b.json"], 1,
         r"is not valid JSON", [_write("b.json", b"{")]),
    Case("quantize-per-layer-bad-keys", "trained", ["quantize", "{p}", "--per-layer", "{w}/b.json"], 1,
         r"unknown override keys", [_write("b.json", b'{"conv1": {"weights": 4}}')]),
    Case("quantize-no-network-yet", "empty", ["quantize", "{p}"], 1, r"has no network to quantize yet"),
    Case("quantize-qat-negative", "trained", ["quantize", "{p}", "--qat", "-1"], 1, r"QAT epochs cannot be negative"),
    Case("quantize-a-quantized-iteration", "quantized", ["quantize", "{p}", "--iteration", "0002"], 1,
         r"0002 .* is already quantized: quantize its float network 0001 .* instead"),
    Case("quantize-unknown-iteration", "quantized", ["quantize", "{p}", "--iteration", "0099"], 1,
         r"no iteration '0099'"),
    # export
    Case("export-to-a-folder", "quantized", ["export", "{p}", "--qonnx", "{w}"], 1, r"is a folder: give a file name"),
    Case("export-float-iteration", "trained", ["export", "{p}", "--qonnx", "{w}/o.onnx"], 1, r"is not quantized"),
    Case("export-missing-parent-folder", "quantized", ["export", "{p}", "--qonnx", "{w}/no/dir/o.onnx"], 1,
         r"does not exist"),
    Case("export-images-0", "quantized", ["export", "{p}", "--qonnx", "{w}/o.onnx", "--images", "0"], 1,
         r"at least one image"),
    # estimate
    Case("estimate-random-bytes", None, ["estimate", "{w}/r.onnx"], 1,
         r"r.onnx is not a readable ONNX model \(corrupt or truncated\?\)",
         [_write("r.onnx", RANDOM)]),
    Case("estimate-zero-bytes", None, ["estimate", "{w}/z.onnx"], 1, r"z.onnx is empty \(0 bytes\)",
         [_write("z.onnx", b"")]),
    Case("estimate-missing-file", None, ["estimate", "{w}/none.onnx"], 1, r"neither a QONNX file nor a Foldwise"),
    Case("estimate-float-iteration", "trained", ["estimate", "{p}"], 1, r"is not quantized, so FINN cannot build it"),
    Case("estimate-signed-concat", None, ["estimate", "{w}/c.onnx"], 1,
         r"Quant_\d+ after Relu_1 \(Relu\) is signed, sharing the sign of the other inputs of Concat_0",
         [_skip_qonnx("c.onnx", "concat")]),
    Case("estimate-broadcast-add", None, ["estimate", "{w}/b.onnx"], 1,
         r"Add_0 \(Add\) adds 1×4×16×16 and 1×1×16×16: FINN adds two streams of one shape only",
         [_skip_qonnx("b.onnx", "broadcast")]),
    Case("estimate-unknown-board", "quantized", ["estimate", "{p}", "--board", "ZCU999"], 2, r"invalid choice"),
    Case("estimate-locked", "quantized", ["estimate", "{p}"], 1, r"is open in another Foldwise instance"),
    Case("build-locked", "quantized", ["build", "{p}"], 1, r"is open in another Foldwise instance"),
    Case("estimate-clock-0", "quantized", ["estimate", "{p}", "--clock-mhz", "0"], 1, r"out of range"),
    Case("estimate-clock-negative", "quantized", ["estimate", "{p}", "--clock-mhz", "-100"], 1, r"out of range"),
    Case("estimate-folding-missing", "quantized", ["estimate", "{p}", "--folding", "{w}/none.json"], 1,
         r"folding config not found"),
    Case("estimate-folding-bad-json", "quantized", ["estimate", "{p}", "--folding", "{w}/f.json"], 1,
         r"is not valid JSON", [_write("f.json", b"[")]),
    Case("estimate-target-fps-negative", "quantized", ["estimate", "{p}", "--target-fps", "-1"], 1,
         r"target FPS must be positive"),
    Case("estimate-read-only-project", "quantized", ["estimate", "{p}"], 1, r"read-only", [_read_only]),
    # autofit
    Case("autofit-budget-above-1", "quantized", ["autofit", "{p}", "--budget-lut", "2"], 1, r"LUT budget must be"),
    Case("autofit-budget-0", "quantized", ["autofit", "{p}", "--budget-lut", "0"], 1,
         r"even the slowest legal folding exceeds the resource budget"),
    Case("autofit-float-iteration", "trained", ["autofit", "{p}"], 1, r"is not quantized"),
    Case("autofit-min-bits-0", "quantized", ["autofit", "{p}", "--bits", "--min-bits", "0"], 1, r"min.bits must be"),
    # auto-fit only reads a project: on read-only media it works and leaves the project as it was
    Case("autofit-read-only-project", "quantized", ["autofit", "{p}", "--no-baseline"], 0, r"reestimate done",
         [_read_only]),
    # build
    Case("build-bad-remote-spec", "quantized", ["build", "{p}", "--remote", "@@:x"], 1, r"expected user@host"),
    Case("build-connect-timeout-0", "quantized",
         ["build", "{p}", "--remote", "u@127.0.0.1:1", "--connect-timeout", "0"], 2, TIMEOUT),
    Case("build-connect-timeout-negative", "quantized",
         ["build", "{p}", "--remote", "u@127.0.0.1:1", "--connect-timeout", "-5"], 2, TIMEOUT),
    Case("build-ask-password-without-terminal", "quantized",
         ["build", "{p}", "--remote", "u@127.0.0.1:1", "--ask-password"], 1,
         r"--ask-password needs a terminal to type into"),
    Case("build-resume-without-build", "quantized", ["build", "{p}", "--start-step", "step_tidy_up"], 1,
         r"to resume"),
    # board (profiles live in the test's own config dir; nothing listens on 127.0.0.1:1)
    Case("board-probe-unknown", None, ["board", "probe", "nope"], 1, r"no board named 'nope' \(saved boards: none"),
    Case("board-push-unknown", None, ["board", "push", "nope", "{w}"], 1, r"no board named 'nope'"),
    Case("board-remove-unknown", None, ["board", "remove", "nope"], 1, r"no board named 'nope'"),
    Case("board-add-bad-key-file", None, ["board", "add", "z", "--host", "127.0.0.1", "--key", "{w}/none"], 1,
         r"SSH key file not found"),
    Case("board-add-bad-name", None, ["board", "add", "a b", "--host", "127.0.0.1"], 1, r"board name 'a b'"),
    Case("board-add-bad-port", None, ["board", "add", "z", "--host", "127.0.0.1", "--port", "70000"], 1,
         r"port 70000 is out of range"),
    Case("board-add-install-private-key", None,
         ["board", "add", "z", "--host", "127.0.0.1", "--port", "1", "--install-key", "{w}/id"], 1,
         r"is a private key: give its .pub file", [_write("id", b"-----BEGIN OPENSSH PRIVATE KEY-----\nx\n")]),
    Case("board-probe-unreachable", None, ["board", "probe", "z"], 1,
         r"cannot reach 127.0.0.1:1: connection refused", [_board("z", 1)]),
    Case("board-probe-no-password", None, ["board", "probe", "z"], 1,
         r"logs in with a password: set \$FOLDWISE_SSH_PASSWORD", [_board("z", 1, password=False)]),
    Case("board-push-not-a-folder", None, ["board", "push", "z", "{w}/none"], 1, r"is not a folder to push",
         [_board("z", 1)]),
    Case("board-push-keep-0", None, ["board", "push", "z", "{w}", "--keep", "0"], 1, r"keep must be at least 1",
         [_board("z", 1)]),
    Case("board-push-bad-group", None, ["board", "push", "z", "{w}", "--group", "../x"], 1,
         r"deployment group '../x'", [_board("z", 1)]),
    Case("board-emulate-bad-port", None, ["board", "emulate", "e", "--port", "70000"], 1,
         r"port 70000 is out of range"),
    Case("board-emulate-bad-name", None, ["board", "emulate", "a b"], 1, r"board name 'a b'"),
    # deploy
    Case("deploy-unknown-board", "quantized", ["deploy", "{p}", "--board", "nope"], 1, r"no board named 'nope'"),
    Case("deploy-batch-zero", "quantized", ["deploy", "{p}", "--board", "z", "--batch", "0"], 2,
         r"batch sizes must be 1 or more"),
    Case("deploy-batch-not-a-number", "quantized", ["deploy", "{p}", "--board", "z", "--batch", "1,a"], 2,
         r"batch sizes are whole numbers"),
    Case("deploy-negative-images", "quantized", ["deploy", "{p}", "--board", "z", "--images", "-1"], 1,
         r"--images must be 0 \(all\) or more", [_board("z", 1)]),
    Case("deploy-no-build", "quantized", ["deploy", "{p}", "--board", "z"], 1,
         r"has no build to deploy: run an estimate first", [_board("z", 1)]),
    Case("deploy-unknown-build", "quantized", ["deploy", "{p}", "--board", "z", "--build", "nope"], 1,
         r"has no build 'nope'", [_board("z", 1)]),
    Case("build-bitfile-without-vivado", "quantized", ["build", "{p}", "--outputs", "bitfile"], 1, r"needs vivado"),
    # baseline (nothing is written before the device answers and the network is found)
    Case("baseline-unknown-device", "quantized", ["baseline", "{p}", "--device", "nope"], 1,
         r"no board named 'nope' \(saved boards: none"),
    Case("baseline-unreachable", "quantized", ["baseline", "{p}", "--device", "z"], 1,
         r"cannot reach 127.0.0.1:1: connection refused", [_board("z", 1)]),
    Case("baseline-no-password", "quantized", ["baseline", "{p}", "--device", "z"], 1,
         r"logs in with a password: set \$FOLDWISE_SSH_PASSWORD", [_board("z", 1, password=False)]),
    Case("baseline-no-network-yet", "empty", ["baseline", "{p}", "--device", "host"], 1,
         r"has no trained network yet"),
    Case("baseline-model-missing", "trained", ["baseline", "{p}", "--device", "host"], 1,
         r"has no network to time \(no model.pt\)", [lambda p, _w: (_first_iteration(p) / "model.pt").unlink()]),
    Case("baseline-power-negative", "quantized", ["baseline", "{p}", "--device", "host", "--power-w", "-3"], 1,
         r"--power-w must be a positive number of watts \(got -3\)"),
    Case("baseline-power-nan", "quantized", ["baseline", "{p}", "--device", "host", "--power-w", "nan"], 1,
         r"--power-w must be a positive number of watts \(got nan\)"),
    Case("baseline-power-not-a-number", "quantized", ["baseline", "{p}", "--device", "host", "--power-w", "2W"], 2,
         r"invalid float value: '2W'"),
    Case("baseline-runs-0", "quantized", ["baseline", "{p}", "--device", "host", "--runs", "0"], 1,
         r"--runs must be at least 1"),
    Case("baseline-unknown-runtime", "quantized", ["baseline", "{p}", "--device", "host", "--runtime", "tvm"], 2,
         r"invalid choice: 'tvm'"),
    Case("baseline-unknown-iteration", "quantized", ["baseline", "{p}", "--device", "host", "--iteration", "0099"],
         1, r"no iteration '0099'"),
    # bundle
    Case("bundle-export-locked", "trained", ["bundle", "export", "{p}", "{w}/b.zip"], 1,
         r"is open in another Foldwise instance .*not bundled half-way"),
    Case("bundle-export-not-a-project", None, ["bundle", "export", "{w}", "{w}/b.zip"], 1,
         r"is not a Foldwise project"),
    Case("bundle-export-into-the-project", "trained", ["bundle", "export", "{p}", "{p}/b.zip"], 1,
         r"is inside the project"),
    Case("bundle-export-out-exists", "trained", ["bundle", "export", "{p}", "{w}/b.zip"], 1, r"already exists",
         [_write("b.zip", b"mine")]),
    Case("bundle-export-out-is-a-folder", "trained", ["bundle", "export", "{p}", "{w}"], 1, r"is a folder"),
    Case("bundle-import-missing", None, ["bundle", "import", "{w}/none.zip", "{w}/dest"], 1, r"does not exist"),
    Case("bundle-import-random-bytes", None, ["bundle", "import", "{w}/r.zip", "{w}/dest"], 1,
         r"not a zip archive, or it is truncated", [_write("r.zip", RANDOM)]),
    Case("bundle-import-dotdot", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1,
         r"'\.\./escaped' climbs out of the project", [_zip({"../escaped": b"x"})]),
    Case("bundle-import-absolute", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1,
         r"'/tmp/escaped' is an absolute path", [_zip({"/tmp/escaped": b"x"})]),
    Case("bundle-import-symlink", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1, r"is a symbolic link",
         [_zip({"iterations/l": b"/etc/passwd"}, mode=0o120777)]),
    Case("bundle-import-zip-bomb", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1, r"a zip bomb",
         [_zip({"iterations/zeros": bytes(4 * 1024**2)})]),
    Case("bundle-import-no-bundle-json", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1,
         r"has no bundle.json", [_zip({}, meta=False)]),
    Case("bundle-import-newer-format", None, ["bundle", "import", "{w}/b.zip", "{w}/dest"], 1,
         r"made by a newer Foldwise", [_zip({}, version=99)]),
    Case("bundle-import-over-a-project", "trained", ["bundle", "import", "{w}/b.zip", "{p}"], 1,
         r"already exists: Foldwise never overwrites", [_zip({})]),
    # demo
    Case("demo-unknown-source", "trained", ["demo", "{p}", "--source", "bogus"], 1, r"unknown source 'bogus': use"),
    Case("demo-camera-missing", "trained", ["demo", "{p}", "--source", "camera:97"], 1,
         r"camera 97 not found \(/dev/video97 does not exist\)"),
    Case("demo-camera-path-missing", "trained", ["demo", "{p}", "--source", "camera:/dev/nocam"], 1,
         r"camera /dev/nocam not found"),
    Case("demo-file-missing", "trained", ["demo", "{p}", "--source", "file:{w}/none.mp4"], 1,
         r"video file .*none.mp4 does not exist"),
    Case("demo-file-empty", "trained", ["demo", "{p}", "--source", "file:{w}/z.mp4"], 1, r"is empty \(0 bytes\)",
         [_write("z.mp4", b"")]),
    Case("demo-file-random-bytes", "trained", ["demo", "{p}", "--source", "file:{w}/r.mp4"], 1,
         r"r.mp4: (OpenCV cannot open it|no frame could be read)", [_write("r.mp4", RANDOM)]),
    Case("demo-folder-missing", "trained", ["demo", "{p}", "--source", "folder:{w}/none"], 1,
         r"does not exist or is not a folder"),
    Case("demo-folder-no-images", "trained", ["demo", "{p}", "--source", "folder:{w}/d"], 1, r"holds no images",
         [_write("d/notes.txt", b"hello")]),
    Case("demo-quantized-backend-on-float", "trained", ["demo", "{p}", "--backend", "host-quantized"], 1,
         r"is not quantized: quantize it first"),
    Case("demo-unknown-backend", "trained", ["demo", "{p}", "--backend", "fpga"], 2, r"unknown backend 'fpga'"),
    Case("demo-board-unknown", "quantized", ["demo", "{p}", "--backend", "board:nope"], 1, r"no board named 'nope'"),
    Case("demo-no-network-yet", "empty", ["demo", "{p}"], 1, r"has no trained network yet"),
    Case("demo-frames-0", "trained", ["demo", "{p}", "--frames", "0"], 1, r"--frames must be at least 1"),
    Case("demo-window-0", "trained", ["demo", "{p}", "--window", "0"], 1, r"window must be at least 1"),
    Case("demo-batch-on-host", "trained", ["demo", "{p}", "--batch", "4"], 1, r"infers one frame per request"),
    Case("demo-seconds-negative", "trained", ["demo", "{p}", "--seconds", "-1"], 1, r"--seconds must be positive"),
    Case("demo-fps-negative", "trained", ["demo", "{p}", "--fps", "-5"], 1, r"target FPS must be positive"),
    Case("demo-threshold-above-1", "trained", ["demo", "{p}", "--threshold", "1.5"], 1,
         r"defect threshold must lie between 0 and 1, got 1.5"),
    Case("demo-bare-file-missing", "trained", ["demo", "{p}", "--source", "{w}/none.mp4"], 1,
         r"video file .*none.mp4 does not exist"),
    Case("demo-unknown-iteration", "trained", ["demo", "{p}", "--iteration", "0099"], 1, r"no iteration '0099'"),
    # compare
    Case("compare-not-a-project", None, ["compare", "{w}"], 1, r"is not a Foldwise project"),
    Case("compare-corrupt-manifest", "trained", ["compare", "{p}"], 1, r"manifest.json is corrupt",
         [lambda p, _w: (p / MANIFEST_NAME).write_text("{")]),
    Case("compare-diff-unknown-iteration", "quantized", ["compare", "{p}", "--diff", "0001", "0099"], 1,
         r"no iteration '0099'"),
    Case("compare-diff-same-iteration", "quantized", ["compare", "{p}", "--diff", "0002", "0002"], 1,
         r"--diff needs two different iterations"),
    Case("compare-diff-one-id", "quantized", ["compare", "{p}", "--diff", "0001"], 2, r"expected 2 arguments"),
    Case("compare-diff-with-story", "quantized", ["compare", "{p}", "--diff", "0001", "0002", "--story"], 2,
         r"not allowed with argument"),
    Case("compare-diff-summary-corrupt", "quantized", ["compare", "{p}", "--diff", "0001", "0002"], 1,
         r"summary.json is corrupt", [_in_first_iteration("summary.json", b"{")]),
    Case("compare-diff-quant-json-damaged", "quantized", ["compare", "{p}", "--diff", "0001", "0002"], 1,
         r"quant.json is damaged",
         [lambda p, _w: (next((p / "iterations").glob("0002-*")) / "quant.json").write_text('{"config": 3}')]),
    Case("compare-diff-deleted-iteration", "quantized", ["compare", "{p}", "--diff", "0001", "0002"], 1,
         r"iterations/0001-.* is missing", [_delete_first_iteration]),
    Case("compare-story-no-iterations", "empty", ["compare", "{p}", "--story"], 1, r"has no iterations yet"),
    Case("compare-csv-folder-missing", "trained", ["compare", "{p}", "--csv", "{w}/none/out.csv"], 1,
         r"the folder .*none does not exist"),
    Case("compare-csv-is-a-folder", "trained", ["compare", "{p}", "--csv", "{w}"], 1, r"is a folder: give a file"),
    # sweep
    Case("sweep-not-a-project", None, ["sweep", "{w}", "--status"], 1, r"is not a Foldwise project"),
    Case("sweep-no-action", "quantized", ["sweep", "{p}"], 2, r"one of the arguments --grid --status"),
    Case("sweep-grid-missing", "quantized", ["sweep", "{p}", "--grid", "{w}/none.yml"], 1, r"none.yml does not exist"),
    Case("sweep-grid-empty", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1, r"the sweep grid is empty",
         [_write("g.yml", b"")]),
    Case("sweep-grid-no-points", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1,
         r"grid clock_mhz is an empty list, so the grid has no points", [_write("g.yml", b"grid: {clock_mhz: []}\n")]),
    Case("sweep-grid-not-yaml", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1, r"is not valid YAML/JSON",
         [_write("g.yml", b"points: [unclosed\n")]),
    Case("sweep-grid-bits-out-of-range", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1,
         r"point 1: weights: bit width must be from 1 to 8, got 9",
         [_write("g.yml", b"points: [{bits: w4a4}, {bits: w9a4}]\n")]),
    Case("sweep-grid-unknown-layer", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1,
         r"p0 w2a4-mixed .*: unknown layers features.nope; the network's layers are: .*features.conv1",
         [_write("g.yml", b"points: [{bits: {weights: 2, acts: 4, layers: {features.nope: {weight_bits: 3}}}}]\n")]),
    Case("sweep-float-iteration", "trained", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1,
         r"p0 as is .*is not quantized, so FINN cannot build it.*or give every point bits",
         [_write("g.yml", b"points: [{clock_mhz: 100}]\n")]),
    Case("sweep-unknown-executor", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml", "--executor", "pbs"], 1,
         r"unknown executor 'pbs'", [_write("g.yml", b"points: [{clock_mhz: 100}]\n")]),
    Case("sweep-sbatch-missing", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml", "--executor", "slurm"], 1,
         r"Slurm's sbatch, squeue, scontrol, scancel not found on PATH", [_write("g.yml", b"points: [{}]\n")],
         env={"PATH": "{w}"}),
    Case("sweep-unknown-login-host", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml", "--executor",
         "slurm:nohost"], 1, r"no saved build host 'nohost'", [_write("g.yml", b"points: [{}]\n")]),
    Case("sweep-status-no-sweeps", "quantized", ["sweep", "{p}", "--status"], 1, r"has no sweeps yet"),
    Case("sweep-resume-no-sweeps", "quantized", ["sweep", "{p}", "--resume"], 1, r"has no sweeps yet"),
    Case("sweep-workers-zero", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml", "--workers", "0"], 1,
         r"--workers must be at least 1", [_write("g.yml", b"points: [{}]\n")]),
    Case("sweep-locked", "quantized", ["sweep", "{p}", "--grid", "{w}/g.yml"], 1,
         r"is open in another Foldwise instance", [_write("g.yml", b"points: [{}]\n")]),
    # more damaged projects: each stage reads the manifest's paths and figures, never trusts them
    Case("train-metrics-not-a-dict", "trained", ["train", "{p}", "--epochs", "1"], 1, r"manifest.json is corrupt",
         [_folder("metrics", "oops")]),
    Case("estimate-current-folder-deleted", "quantized", ["estimate", "{p}"], 1,
         r"iteration 0002 .*folder .*is missing",
         [lambda p, _w: shutil.rmtree(next((p / "iterations").glob("0002-*")))]),
    Case("estimate-folder-outside-project", "quantized", ["estimate", "{p}"], 1, r"outside the project",
         [_manifest_edit(lambda m: m["iterations"][1].update(folder="../../victim/iterations/0002-w4a4"))]),
    # full disks (a small tmpfs made by the case): one line, nothing changed, nothing half-written left
    Case("train-full-disk", "trained", ["train", "{p}", "--epochs", "1"], 1, r"the disk is full", [_full_disk(0)]),
    Case("train-nearly-full-disk", "trained", ["train", "{p}", "--epochs", "1"], 1, r"the disk is full",
         [_full_disk(270)]),
    Case("quantize-full-disk", "trained", ["quantize", "{p}", "--calib", "8"], 1, r"the disk is full",
         [_full_disk(0)]),
    Case("quantize-nearly-full-disk", "trained", ["quantize", "{p}", "--calib", "8"], 1, r"the disk is full",
         [_full_disk(100)]),
    Case("prune-full-disk", "trained", ["prune", "{p}", "--channels", "0.5"], 1, r"the disk is full",
         [_full_disk(0)]),
    Case("import-full-disk", "trained", ["import", "{p}", "{w}/n.onnx"], 1, r"the disk is full",
         [_small_onnx("n.onnx"), _full_disk(0)]),
    Case("import-nearly-full-disk", "trained", ["import", "{p}", "{w}/n.onnx"], 1, r"the disk is full",
         [_small_onnx("n.onnx"), _full_disk(40)]),
    Case("estimate-full-disk", "quantized", ["estimate", "{p}"], 1, r"the disk is full", [_full_disk(0)]),
    Case("estimate-nearly-full-disk", "quantized", ["estimate", "{p}"], 1, r"FINN's estimate stopped: the disk is full",
         [_full_disk(200)]),
    Case("new-full-disk", None, ["new", "{w}/disk/n", "--example", "lenet-digits"], 1, r"the disk is full",
         [_full_disk(0, at="disk")], absent=["{w}/disk/n"]),
    Case("export-full-disk", "quantized", ["export", "{p}", "--qonnx", "{w}/disk/o.onnx"], 1, r"the disk is full",
         [_full_disk(8, at="disk")], absent=["{w}/disk/o.onnx"]),
    Case("bundle-export-full-disk", "trained", ["bundle", "export", "{p}", "{w}/disk/b.zip"], 1,
         r"the disk is full", [_full_disk(16, at="disk")], absent=["{w}/disk/b.zip"]),
    Case("compare-csv-full-disk", "quantized", ["compare", "{p}", "--csv", "{w}/disk/c.csv"], 1, r"the disk is full",
         [_full_disk(0, at="disk")], absent=["{w}/disk/c.csv"]),
    # concurrency: a stage that writes refuses, naming the holder; what only reads works beside it
    Case("prune-locked", "trained", ["prune", "{p}", "--channels", "0.5"], 1, r"is open in another Foldwise instance"),
    Case("quantize-locked", "trained", ["quantize", "{p}", "--calib", "8"], 1, r"is open in another Foldwise instance"),
    Case("import-locked", "trained", ["import", "{p}", "{w}/n.onnx"], 1, r"is open in another Foldwise instance",
         [_small_onnx("n.onnx")]),
    Case("compare-while-locked", "quantized", ["compare", "{p}", "--json"], 0, r""),
    # read-only media: each writing stage says so in one line
    Case("quantize-read-only-project", "trained", ["quantize", "{p}", "--calib", "8"], 1, r"is read-only",
         [_read_only]),
    Case("prune-read-only-project", "trained", ["prune", "{p}", "--channels", "0.5"], 1, r"is read-only",
         [_read_only]),
    Case("import-read-only-project", "trained", ["import", "{p}", "{w}/n.onnx"], 1, r"is read-only",
         [_small_onnx("n.onnx"), _read_only]),
    # the GUI verb as a process with no display: Qt would abort (exit 134); the CLI says how to get one
    Case("gui-no-display", "trained", ["gui", "{p}"], 1, r"no display to open the window on.*xvfb-run",
         process=True, env_drop=["DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"]),
]


def snapshot(folder: Path) -> dict[str, str] | None:
    """Every file's sha256 (the lock file's holder line is the one thing a refused command may write)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory, _trained_lenet_template: Path) -> dict[str, Path]:
    """An example project with no network yet, one trained (2 epochs), and one trained then W4A4-quantized."""
    root = tmp_path_factory.mktemp("corpus-templates")
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        assert main(["new", str(root / "empty"), "--example", "lenet-digits"]) == 0
        shutil.copytree(_trained_lenet_template, root / "trained")
        shutil.copytree(root / "trained", root / "quantized")
        assert main(["quantize", str(root / "quantized"), "--weights", "4", "--acts", "4", "--calib", "64"]) == 0
    return {"empty": root / "empty", "trained": root / "trained", "quantized": root / "quantized"}


HOLDER = "pid 1 on the-other-desk"


@contextlib.contextmanager
def _held_lock(project: Path) -> Iterator[None]:
    with open(project / LOCK_NAME, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(f"{HOLDER} since 2026-12-01T00:00:00+00:00\n")
        handle.flush()
        yield


HANG_S = 240  # a case still running after this is a hang (the slowest, a full FINN estimate, takes ~30 s)
# the bad outcomes and their keys in the summary (the closing note's counts, all to be 0)
BAD = {"traceback": "tracebacks", "crash": "crashes", "hang": "hangs", "silently wrong": "silently_wrong",
       "damaged": "damaged_projects"}
OUTCOMES: dict[str, dict[str, object]] = {}  # case id -> outcome, kind, code (filled as the cases run)


class _Hung(BaseException):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hung


def kind_of(case: Case) -> str:
    """What a case breaks: the disk, the project's files, the lock, an input file or folder, or an argument."""
    preps = {getattr(p, "__qualname__", "").split(".")[0] for p in case.prep}
    if "_full_disk" in preps:
        return "full disk"
    if "_read_only" in preps:
        return "read-only disk"
    if case.id.endswith("-locked"):
        return "concurrency"
    if preps & {"_manifest_edit", "_folder", "_in_first_iteration", "_delete_first_iteration"} \
            or any(word in case.id for word in ("corrupt", "damaged", "deleted", "model-missing")):
        return "damaged project"
    if "_image_folder" in preps or "data-folder" in case.id or case.id.startswith("demo-folder"):
        return "data folder"
    if (case.argv[0] == "bundle" and case.argv[1] == "import") or preps & {"_write", "_state_dict",
                                                                            "_huge_input_onnx", "_small_onnx"}:
        return "input file"
    if case.process:
        return "environment"
    return "argument"


def manifest_ok(project: Path) -> bool:
    from foldwise.core.project import Project

    try:
        Project.open(project, read_only=True).close()
    except Exception:  # any failure to open counts
        return False
    return True


def classify(case: Case, code: object, err: str, hung: bool, changed: bool, broke_manifest: bool,
             left: list[str]) -> str:
    """One outcome per case, the worst first: a hang, a crash (killed by a signal, or a Qt abort's exit 134), a
    traceback on stderr, a damaged project (hashes changed, the manifest made unreadable, or half a file left),
    a silently wrong result (exit 0 where a refusal is due), an unclear message (other code or text), clear."""
    if hung:
        return "hang"
    if not isinstance(code, int) or code < 0 or code > 128:
        return "crash"
    if "Traceback" in err:
        return "traceback"
    if changed or broke_manifest or left:
        return "damaged"
    if code == 0 and case.code != 0:
        return "silently wrong"
    if code != case.code or not re.search(case.message, err):
        return "unclear"
    if case.code != 0 and case.id.endswith("-locked") and HOLDER not in err:
        return "unclear"  # a refusal on the lock names who holds it
    return "clear"


def _run_in_process(argv: list[str]) -> tuple[object, bool]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        return main(argv), False
    except SystemExit as exc:  # argparse's own refusals: exit 2 with a usage line
        return exc.code, False
    except _Hung:
        return None, True
    except Exception:  # an exception escaping main is what the user would see as a traceback
        import traceback

        sys.stderr.write(traceback.format_exc())
        return 1, False
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run_process(case: Case, argv: list[str]) -> tuple[object, bool, str]:
    env = cli_env(FOLDWISE_CONFIG_DIR=os.environ["FOLDWISE_CONFIG_DIR"])
    for name in case.env_drop:
        env.pop(name, None)
    try:
        done = subprocess.run([sys.executable, "-m", "foldwise", *argv], capture_output=True, text=True, env=env,
                              timeout=HANG_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return None, True, str(exc.stderr or "")
    return done.returncode, False, done.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, templates: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: nothing may wait for typing
    monkeypatch.delenv("FOLDWISE_SSH_PASSWORD", raising=False)  # a prep may set it; monkeypatch restores it
    project = tmp_path / "p"
    if case.project:
        shutil.copytree(templates[case.project], project)
    for prep in case.prep:
        prep(project, tmp_path)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(w=tmp_path))
    before = snapshot(project)
    opened_before = (project / MANIFEST_NAME).is_file() and manifest_ok(project)
    argv = [a.format(p=project, w=tmp_path) for a in case.argv]
    if case.process:
        code, hung, err = _run_process(case, argv)
    else:
        with _held_lock(project) if case.id.endswith("-locked") else contextlib.nullcontext():
            code, hung = _run_in_process(argv)
        err = capsys.readouterr().err
    changed = snapshot(project) != before
    broke_manifest = opened_before and not manifest_ok(project)
    siblings = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith((".finn", ".partial"))
                      or ".bundle-import-" in p.name or p.name == "dest")
    left = siblings + [a for a in (x.format(p=project, w=tmp_path) for x in case.absent) if Path(a).exists()]
    outcome = classify(case, code, err, hung, changed, broke_manifest, left)
    OUTCOMES[case.id] = {"outcome": outcome, "kind": kind_of(case), "verb": case.argv[0], "code": code}
    assert not hung, f"still running after {HANG_S} s"
    assert "Traceback" not in err, err
    assert code == case.code, err
    assert re.search(case.message, err), err
    assert case.code == 0 or not case.id.endswith("-locked") or HOLDER in err, err
    assert not changed, "the project changed"
    assert not broke_manifest, "the project no longer opens"
    assert not left, f"a refused command left {left}"


def corpus_summary(outcomes: dict[str, dict[str, object]]) -> dict[str, object]:
    """The counts the closing note of issue #15 asks for, and where each kind of case and each verb stands."""
    counts = Counter(str(o["outcome"]) for o in outcomes.values())
    return {
        "cases": len(outcomes),
        "clear": counts["clear"],
        "unclear": counts["unclear"],
        **{key: counts[name] for name, key in BAD.items()},
        "by_kind": dict(sorted(Counter(str(o["kind"]) for o in outcomes.values()).items())),
        "by_verb": dict(sorted(Counter(str(o["verb"]) for o in outcomes.values()).items())),
        "not_clear": {k: o["outcome"] for k, o in sorted(outcomes.items()) if o["outcome"] != "clear"},
    }


def test_the_corpus_is_large_and_covers_every_verb() -> None:
    verbs = {c.argv[0] for c in CASES}
    assert len(CASES) >= 60
    assert verbs >= {"new", "info", "train", "import", "prune", "quantize", "export", "estimate", "autofit", "build",
                     "board", "demo", "baseline", "compare", "deploy", "bundle", "sweep"}


def test_every_kind_of_bad_input_is_in_the_corpus() -> None:
    kinds = Counter(kind_of(c) for c in CASES)
    assert set(kinds) >= {"argument", "input file", "data folder", "damaged project", "concurrency",
                          "read-only disk", "full disk"}, kinds
    assert min(n for k, n in kinds.items() if k != "environment") >= 3, kinds


def test_the_classifier_sees_each_bad_outcome() -> None:
    case = Case("x", "trained", ["info", "{p}"], 1, r"is not")
    assert classify(case, 1, "foldwise: error: it is not", False, False, False, []) == "clear"
    assert classify(case, None, "", True, False, False, []) == "hang"
    assert classify(case, -11, "", False, False, False, []) == "crash"
    assert classify(case, 134, "", False, False, False, []) == "crash"
    assert classify(case, 1, "Traceback (most recent call last):", False, False, False, []) == "traceback"
    assert classify(case, 1, "it is not", False, True, False, []) == "damaged"
    assert classify(case, 1, "it is not", False, False, True, []) == "damaged"
    assert classify(case, 1, "it is not", False, False, False, ["o.onnx"]) == "damaged"
    assert classify(case, 0, "", False, False, False, []) == "silently wrong"
    assert classify(case, 1, "something else", False, False, False, []) == "unclear"
    locked = Case("x-locked", "trained", ["train", "{p}"], 1, r"is open")
    assert classify(locked, 1, f"it is open ({HOLDER} since …)", False, False, False, []) == "clear"
    assert classify(locked, 1, "it is open", False, False, False, []) == "unclear"


def test_zz_corpus_report(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Runs after the cases (pytest keeps file order): the counts, written as JSON, the bad five at 0."""
    summary = corpus_summary(OUTCOMES)
    folder = Path(os.environ.get("FOLDWISE_CORPUS_REPORT") or tmp_path_factory.getbasetemp())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus-report.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, dict)}))
    assert all(summary[key] == 0 for key in BAD.values()), summary
