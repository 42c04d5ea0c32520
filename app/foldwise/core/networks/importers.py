"""Bringing a network in from a file, with a report of every problem before any time is spent on it.

Supported files (recognised by content, not only by extension):

- a Foldwise network file (:mod:`.store`), or a whole pickled ``nn.Module`` (``torch.save(model)``);
- a state dict (``.pt``/``.pth``, also nested under ``state_dict``/``model_state_dict``) for a zoo
  architecture given by name; key or shape mismatches are listed per key;
- TorchScript (``torch.jit.save``): exported to ONNX in memory, then converted like an ONNX file, because a
  ScriptModule can be neither inspected with hooks, pickled, pruned nor quantized;
- plain ONNX: converted to a torch.fx module with onnx2torch (:mod:`._onnx_torch`) when every node is in the
  supported op set, so it goes through the whole pipeline like a zoo network;
- QONNX (Brevitas-quantized ONNX with ``Quant``/``BipolarQuant``/``Trunc`` nodes): already quantized, it
  goes to FINN as it is. It is wrapped in :class:`OnnxNetwork`, executed with qonnx (evaluation only).

Pickled files run code when loaded: only import files you trust.
"""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks import _onnx_torch
from foldwise.core.networks._state_dict import extract_state_dict, load_zoo_state
from foldwise.core.networks.onnx_network import OnnxNetwork, is_qonnx, read_onnx
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.store import FORMAT, LoadedModel, load_model
from foldwise.core.networks.zoo import ZOO

_SHOWN_PROBLEMS = 20
#: the largest input (values per image) an import checks with a forward pass: 3×1024×1024. A network's memory
#: during the check grows with its input (an 8192×8192 image needed ~17 GB), and FINN dataflow networks take
#: far smaller images, so a larger input is refused with the reason before any time is spent on it.
MAX_INPUT_VALUES = 3 * 1024 * 1024


def input_size_problem(shape: tuple[int, ...] | None) -> str | None:
    """Why an input of ``shape`` (C×H×W) is too large to import, or None."""
    if shape is None:
        return None
    values = 1
    for size in shape:
        values *= int(size)
    if values <= MAX_INPUT_VALUES:
        return None
    return (f"input {'×'.join(map(str, shape))} is {values / 1e6:,.1f} M values per image, more than the "
            f"{MAX_INPUT_VALUES / 1e6:.1f} M (3×1024×1024) Foldwise imports: checking it would need memory in "
            "proportion (~17 GB at 3×8192×8192) and FPGA dataflow networks take far smaller images; give a "
            "smaller input shape, or re-export the network for a smaller input")
KINDS = ("foldwise", "module", "state_dict", "torchscript", "onnx", "qonnx")


@dataclass
class ImportReport:
    """What a file is and whether it can be imported; ``problems`` are ``(layer or node, reason)`` (``""``: the
    whole file); ``needs`` what the user has to say for it to import: ``"arch"`` (the zoo architecture of a
    state dict) and/or ``"input_shape"`` (C,H,W, for a file that does not record it). Each front end says where
    to give them (the CLI's options, the import dialog's fields)."""

    path: str
    kind: str | None
    ok: bool
    problems: list[tuple[str, str]] = field(default_factory=list)
    input_shape: tuple[int, ...] | None = None
    ops: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "ok": self.ok,
                "problems": [list(p) for p in self.problems],
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "ops": dict(self.ops), "notes": list(self.notes), "needs": list(self.needs)}

    def message(self) -> str:
        """One paragraph for the user: the verdict, then one line per problem (or note, when it can be imported)."""
        head = f"{Path(self.path).name} ({self.kind or 'unknown format'}): "
        if self.ok:
            return head + "can be imported" + "".join(f"\n  note: {note}" for note in self.notes)
        lines = [f"  {where}: {why}" if where else f"  {why}" for where, why in self.problems[:_SHOWN_PROBLEMS]]
        if len(self.problems) > _SHOWN_PROBLEMS:
            lines.append(f"  … and {len(self.problems) - _SHOWN_PROBLEMS} more")
        return head + "cannot be imported:\n" + "\n".join(lines)


class ImportRefused(InputError):
    """A file that cannot be imported as it is; ``report`` says why and what the user has to give (``needs``)."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(report.message())
        self.report = report


def _torch_kind(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        return "torchscript"
    return "pickle"


def _read(path: Path) -> tuple[ImportReport, Any]:
    """Identify ``path`` and load what can be loaded; corrupt files raise InputError naming the file."""
    report = ImportReport(str(path), None, False)
    if not path.is_file():
        raise InputError(f"network file not found: {path}")
    head = path.read_bytes()[:4]
    if zipfile.is_zipfile(path):
        try:
            kind = _torch_kind(path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"{path} is a damaged archive: {exc}") from exc
        if kind == "torchscript":
            report.kind = "torchscript"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return report, torch.jit.load(str(path), map_location="cpu")
            except Exception as exc:  # torch.jit.load raises bare RuntimeErrors
                raise InputError(f"{path} is a damaged TorchScript file: {exc}") from exc
        return _read_pickle(path, report)
    if head[:2] == b"\x80\x02" or path.suffix.lower() in (".pt", ".pth"):
        return _read_pickle(path, report)
    model = read_onnx(path)  # raises InputError for anything that is not a readable ONNX protobuf
    report.kind = "qonnx" if is_qonnx(model) else "onnx"
    return report, model


def _read_pickle(path: Path, report: ImportReport) -> tuple[ImportReport, Any]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # not plain tensors: a pickled module, our format, or damage
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise InputError(f"{path} could not be read (corrupt, truncated or not a torch file): "
                             f"{type(exc).__name__}: {exc}") from exc
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        report.kind = "foldwise"
        return report, load_model(path)
    if isinstance(obj, nn.Module):
        report.kind = "module"
        return report, obj
    state = extract_state_dict(obj)
    if state is None:
        raise InputError(f"{path} holds a {type(obj).__name__}, not a network or a state dict")
    report.kind = "state_dict"
    return report, state


NO_BATCHNORM = ("no BatchNormalization in the graph: torch.onnx.export folds BatchNorm into the convolutions by "
                "default (constant folding in eval mode). Trained weights fine-tune well; an untrained network "
                "exported this way trains without BatchNorm and may not converge (export it trained, or with "
                "do_constant_folding=False, which keeps BatchNorm)")


def _onnx_problems(report: ImportReport, model: Any, spec: InputSpec | None, convert: bool) -> None:
    import onnx

    graph = model.graph
    report.ops = dict(Counter(n.op_type for n in graph.node))
    inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if len(inputs) != 1 or len(graph.output) != 1:
        report.problems.append(("", f"the graph needs exactly one input and one output, has {len(inputs)} and "
                                           f"{len(graph.output)}"))
        return
    dims = inputs[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
    names = "NCHW" if len(shape) == 4 else "NF"
    dynamic = [f"{names[i] if i < len(names) else i} ({dims[i].dim_param or '?'})"
               for i, v in enumerate(shape) if v is None and i > 0]
    declared_too_big = None if dynamic or len(shape) != 4 else input_size_problem(tuple(shape[1:]))
    if declared_too_big is not None:  # said first: no other shape could make this file importable
        report.problems.append((inputs[0].name, declared_too_big))
        return
    if len(shape) != 4:
        report.problems.append((inputs[0].name, f"input must be N×C×H×W images, got rank {len(shape)}"))
    elif dynamic and spec is None:
        report.problems.append((inputs[0].name, f"dynamic input size: {', '.join(dynamic)}; give the input shape "
                                                f"(C,H,W)"))
        report.needs.append("input_shape")
    elif spec is not None and not dynamic and tuple(shape[1:]) != spec.shape:
        report.problems.append((inputs[0].name, f"input is {'×'.join(map(str, shape[1:]))}, not the given "
                                                f"{'×'.join(map(str, spec.shape))}"))
    else:
        report.input_shape = spec.shape if spec is not None else tuple(shape[1:])
    too_big = input_size_problem(report.input_shape)
    if too_big is not None:
        report.problems.append((inputs[0].name, too_big))
        return  # the checks below would allocate tensors of that size
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # the checker raises ValidationError and others
        report.notes.append(f"ONNX checker: {str(exc).splitlines()[0]}")
    if convert:
        report.problems.extend(_onnx_torch.unsupported(model, report.input_shape))
        if report.ops.get("Conv") and not report.ops.get("BatchNormalization"):
            report.notes.append(NO_BATCHNORM)


def _torchscript_to_onnx(script: Any, spec: InputSpec, report: ImportReport) -> Any:
    import onnx

    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(script.eval(), (torch.zeros(1, *spec.shape),), buffer, dynamo=False,
                              opset_version=13, input_names=["input"], output_names=["output"],
                              do_constant_folding=False)  # keeps BatchNorm as BatchNormalization nodes
    except Exception as exc:  # the exporter fails in many ways: all mean "not convertible"
        report.problems.append(("", f"the TorchScript network could not be traced to ONNX on a "
                                                 f"{'×'.join(map(str, spec.shape))} input: {exc}"))
        return None
    return onnx.load_from_string(buffer.getvalue())


def _raw_pixel_input(model: Any) -> bool:
    """True if the graph input is annotated UINT8, as a FINN-ready QONNX export is: it takes raw 0..255 pixels
    (qonnx's executor refuses 0..1 floats for it)."""
    name = model.graph.input[0].name if model.graph.input else None
    for annotation in model.graph.quantization_annotation:
        if annotation.tensor_name == name:
            return any(p.key == "finn_datatype" and p.value == "UINT8" for p in annotation.quant_parameter_tensor_names)
    return False


def _inspect(path: str | os.PathLike[str], arch: str | None, spec: InputSpec | None,
             num_classes: int | None) -> tuple[ImportReport, Any, InputSpec | None]:
    report, obj = _read(Path(path))
    too_big = input_size_problem(spec.shape if spec is not None else None)
    if too_big is not None and report.kind != "foldwise":
        report.problems.append(("input shape", too_big))
        return report, None, spec
    if report.kind == "foldwise":
        report.input_shape = obj.spec.shape
        return report, obj, obj.spec
    if report.kind == "state_dict":
        if arch is None:
            report.problems.append(("", "a state dict holds only weights, not the network they belong to: give its "
                                        f"architecture (one of {', '.join(ZOO)})"))
            report.needs.append("arch")
            return report, None, spec
        model, problems, spec = load_zoo_state(obj, arch, spec, num_classes)
        report.problems.extend(problems)
        report.input_shape = spec.shape
        return report, model, spec
    if report.kind == "torchscript":
        if spec is None:
            report.problems.append(("", "TorchScript files do not record their input shape: give it (C,H,W)"))
            report.needs.append("input_shape")
            return report, None, spec
        obj = _torchscript_to_onnx(obj, spec, report)
        if obj is None:
            return report, None, spec
    if report.kind in ("torchscript", "onnx", "qonnx"):
        _onnx_problems(report, obj, spec, convert=report.kind != "qonnx")
        if spec is None and report.input_shape is not None:
            spec = InputSpec(report.input_shape)
        if spec is not None and spec.pixel_range == (0.0, 1.0) and _raw_pixel_input(obj):
            spec = replace(spec, pixel_range=(0.0, 255.0))
        return report, obj, spec
    # A whole pickled module: only the input shape is missing.
    if spec is None:
        report.problems.append(("", "a pickled module does not record its input shape: give it (C,H,W)"))
        report.needs.append("input_shape")
    report.input_shape = None if spec is None else spec.shape
    return report, obj, spec


def check_importable(path: str | os.PathLike[str], arch: str | None = None, spec: InputSpec | None = None,
                     num_classes: int | None = None) -> ImportReport:
    """Identify ``path`` and list everything that stops it from being imported (nothing is kept).

    Corrupt or truncated files raise InputError naming the file; everything else is a report problem.
    """
    report, _, _ = _inspect(path, arch, spec, num_classes)
    report.ok = not report.problems
    return report


def import_network(path: str | os.PathLike[str], arch: str | None = None, spec: InputSpec | None = None,
                   num_classes: int | None = None) -> LoadedModel:
    """Load ``path`` as a network (see the module doc for formats); InputError lists the report's problems.

    ``arch`` is required for state dicts; ``spec`` for TorchScript, pickled modules and ONNX files whose
    input size is dynamic. The network is checked with one forward pass on ``spec.shape``.
    """
    report, obj, spec = _inspect(path, arch, spec, num_classes)
    if report.problems:
        raise ImportRefused(report)
    if report.kind == "foldwise":
        return obj
    if spec is None:  # every kind without a shape reports a problem above; kept as a guard
        raise InputError(f"{Path(path).name}: give the input shape")
    extra: dict[str, Any] = {"imported_from": str(path), "import_kind": report.kind, "import_notes": report.notes}
    if report.kind == "qonnx":
        model: nn.Module = OnnxNetwork(obj)
    elif report.kind in ("onnx", "torchscript"):
        model = _onnx_torch.to_torch(obj, spec.shape)
    else:
        model = obj
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *spec.shape))
    except Exception as exc:  # any failure means the network does not take this input
        raise InputError(f"{Path(path).name}: the network does not accept a "
                         f"{'×'.join(map(str, spec.shape))} input: {type(exc).__name__}: {exc}") from exc
    return LoadedModel(model, spec, arch or report.kind or "imported", extra)
