"""Plain-language explanations of known FINN build failures, read from a build log (and the error message).

``explain(log_text)`` scans the text for the signatures of failures users actually hit -- Xilinx tools missing
or of an unsupported version, a design too big for the device at placement, out of memory, layers FINN left
on the CPU, missing board files, timing not met, an illegal folding -- and returns one
:class:`Explanation` per kind found: what happened, what to do, and the line that shows it. Unknown failures
give an empty list (the log is then the only guide). Pure text processing: no FINN, no Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.finn.tools import SUPPORTED_VIVADO

#: (name, op_type) of a model's ONNX nodes in graph order, to name the user's layer behind a FINN node
Layers = Sequence[tuple[str, str]]

_SUPPORTED = " or ".join(SUPPORTED_VIVADO)
_SETUP = (f"Install Vivado and Vitis HLS {_SUPPORTED}, source their settings64.sh (or set XILINX_VIVADO / "
          "XILINX_HLS) before starting Foldwise, then run `finn deps update` once. Estimates and HLS code "
          "generation need none of these tools.")


@dataclass
class Explanation:
    """One recognised failure: a short title, what it means, what to do, and the log line showing it."""

    kind: str
    title: str
    detail: str
    fix: str
    evidence: str = ""
    line: int | None = None  # 1-based line of ``evidence`` in the text given to :func:`explain`
    names: list[str] = field(default_factory=list)  # tools, resources or nodes involved

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "detail": self.detail, "fix": self.fix,
                "evidence": self.evidence, "line": self.line, "names": list(self.names)}


@dataclass
class _Hit:
    match: re.Match[str]
    line_no: int
    line: str


def _hits(lines: list[str], patterns: Sequence[str]) -> list[_Hit]:
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns]
    out = []
    for i, line in enumerate(lines):
        for rx in compiled:
            m = rx.search(line)
            if m:
                out.append(_Hit(m, i + 1, line.strip()))
                break
    return out


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# ---------------------------------------------------------------------------------------------- rules
_TOOL_PATTERNS = (
    r"\b(vitis_hls|vitis-run|vivado|v\+\+|xelab|xsim)\b:? (?:command )?not found",
    r"\b(vitis_hls|vitis-run|vivado|v\+\+|xelab)\b not found in PATH",
    r"No such file or directory: '(vitis_hls|vivado|vitis-run|v\+\+|xelab)'",
    r"(XILINX_VIVADO) (?:was not set|must be set)",
    r"Environment variable (XILINX_VIVADO) must be set",
    r"Path to the (vivado|vitis|vitis_hls) tool could not be resolved",
    r"needs? (?:Vivado|Vitis HLS)\b.*not found",
    r"a (?:bitfile|full FINN) build (?:for \S+ )?needs ([\w ,()-]+?), not found",
)


def _tools_missing(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _TOOL_PATTERNS)
    if not hits:
        return None
    names = _unique([h.match.group(1) if h.match.groups() else "" for h in hits])
    tools = ", ".join(names) or "the Xilinx tools"
    return Explanation(
        "tools_missing", "Vivado / Vitis HLS not found",
        f"This step needs {tools}, which this machine does not have (or which was not on PATH when "
        "Foldwise started). FINN calls Vitis HLS to turn each layer into IP and Vivado to stitch, simulate "
        "and place it.",
        _SETUP, hits[0].line, hits[0].line_no, names)


_VERSION_PATTERNS = (
    r"\*{4,}\s*Vivado v(20\d\d\.\d)",
    r"\*{4,}\s*Vitis(?: HLS)?[^\n]*?v(20\d\d\.\d)",
    r"Vivado v(20\d\d\.\d) \(64-bit\)",
    r"Vitis HLS - High-Level Synthesis[^\n]*?v(20\d\d\.\d)",
    r"\bVivado (20\d\d\.\d) found",
)


def _wrong_version(lines: list[str], _layers: Layers | None) -> Explanation | None:
    bad = [h for h in _hits(lines, _VERSION_PATTERNS) if h.match.group(1) not in SUPPORTED_VIVADO]
    if not bad:
        return None
    versions = _unique([h.match.group(1) for h in bad])
    return Explanation(
        "wrong_version", f"Unsupported Xilinx tool version ({', '.join(versions)})",
        f"finn-plus 1.6.1 generates HLS and Tcl for Vivado/Vitis HLS {_SUPPORTED}; other versions fail in "
        "IP generation or stitching with errors that look unrelated (missing IP, renamed Tcl commands).",
        f"Install {_SUPPORTED} next to the version you have and point XILINX_VIVADO / XILINX_HLS (or PATH) at "
        "it before starting Foldwise.", bad[0].line, bad[0].line_no, versions)


_UTIL_PATTERNS = (
    r"\[DRC UTLZ-1\] Resource utilization: (.+?) over-utilized",
    r"This design requires more (.+?) cells than are available",
    r"\[Place 30-640\]",
    r"\[Place 30-99\] Placer failed",
    r"over-utilized in Top Level Design",
)
_REQUIRES = re.compile(r"requires (\d+) of such cell types but only (\d+) compatible sites", re.IGNORECASE)


def _over_utilization(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _UTIL_PATTERNS)
    if not hits:
        return None
    names = _unique([h.match.group(1).strip() for h in hits if h.match.groups()])
    need = next((m for m in (_REQUIRES.search(line) for line in lines) if m), None)
    amount = f" (needs {int(need.group(1)):,}, the device has {int(need.group(2)):,})" if need else ""
    what = ", ".join(names) or "some resource"
    return Explanation(
        "over_utilization", f"The design does not fit the FPGA: {what} over-utilized",
        f"Vivado could not place the design because it needs more {what} than the device has{amount}. "
        "FINN's estimates are approximate; synthesis can come out larger, especially for LUT-based weight "
        "memories and thresholds.",
        "Lower PE/SIMD on the biggest nodes (or run Auto-fit with a smaller budget, e.g. 70 %), move weights "
        "to BRAM (ram_style=block) or multiplications to DSPs (resType=dsp), or target a bigger board.",
        hits[0].line, hits[0].line_no, names)


_OOM_PATTERNS = (
    r"\bMemoryError\b",
    r"std::bad_alloc",
    r"\bout of memory\b",
    r"Cannot allocate memory",
    r"\boom[-_ ]kill",
    r"^Killed\b",
    r"exit code (?:-9|137)\b",
)


def _out_of_memory(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _OOM_PATTERNS)
    if not hits:
        return None
    return Explanation(
        "out_of_memory", "Out of memory",
        "The build (FINN, Vitis HLS or Vivado) ran out of RAM and was stopped; the operating system kills the "
        "largest process, which shows up as 'Killed' or exit code -9/137.",
        "Close other programs or build on a machine with more RAM (Vivado wants 8-16 GB for a Zynq-7000 "
        "design, more for UltraScale+), keep NUM_DEFAULT_WORKERS low, and avoid huge LUT-based memories "
        "(ram_style=distributed on big layers).", hits[0].line, hits[0].line_no)


_CPU_PATTERNS = (
    r"Nodes left on the CPU: (.+)",
    r"Only a single StreamingDataflowPartition supported",
    r'The Quant node with name: "([^"]+)" was not converted',
    r"cannot convert this model to hardware",
)
_CPU_ENTRY = re.compile(r"([^;:()]+?) \((\w+)\)(?:: ([^;]*))?")


def torch_layer(node_name: str) -> str | None:
    """The PyTorch module path in an exported node name (``/features/features.0/Conv`` -> ``features.0``)."""
    parts = [p for p in node_name.split("/") if p]
    if node_name.startswith("/") and len(parts) >= 2:
        return parts[-2]
    return None


def layer_hint(finn_name: str, op_type: str, layers: Layers | None) -> str | None:
    """Which of the user's layers a FINN node name (``MatMul_1``) probably is.

    FINN names nodes ``<OpType>_<k>`` in graph order during tidy-up, so the k-th node of that op type in the
    exported model is usually the layer (a convolution becomes a MatMul after lowering, hence the fallback).
    """
    own = torch_layer(finn_name)
    if own:
        return own
    if not layers:
        return None
    m = re.fullmatch(r"(\w+?)_(\d+)", finn_name)
    if not m:
        return None
    k = int(m.group(2))
    for kinds in ((op_type,), ("MatMul", "Gemm", "Conv") if op_type in ("MatMul", "Gemm", "Conv") else ()):
        same = [name for name, op in layers if op in kinds]
        if k < len(same):
            return torch_layer(same[k]) or same[k]
    return None


def _cpu_nodes(lines: list[str], layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _CPU_PATTERNS)
    if not hits:
        return None
    entries: list[tuple[str, str, str]] = []
    for hit in hits:
        if hit.match.re.pattern.startswith("Nodes left"):
            listing = re.sub(r"\s*\(log: [^)]*\)\s*$", "", hit.match.group(1))
            entries += [(m.group(1).strip(), m.group(2), (m.group(3) or "").strip())
                        for m in _CPU_ENTRY.finditer(listing)]
        elif hit.match.re.pattern.startswith("The Quant"):
            entries.append((hit.match.group(1), "Quant", "bit width above max_multithreshold_bit_width"))
    entries = list(dict.fromkeys(entries))
    described = []
    for name, op, why in entries:
        hint = layer_hint(name, op, layers)
        text = f"{name} ({op}{f', probably your layer {hint}' if hint and hint != name else ''})"
        described.append(text + (f": {why}" if why else ""))
    listing = "; ".join(described) if described else "(see the log)"
    return Explanation(
        "cpu_nodes", "Some layers were not converted to FPGA hardware",
        f"FINN could not map every layer to a hardware block, so they would stay on the CPU: {listing}. "
        "FINN only builds one contiguous dataflow partition and only converts integer (quantized) compute.",
        "Quantize those layers and their inputs (weights and activations, typically 1-8 bit), use layers FINN "
        "supports (Conv, Linear, ReLU/quantized activations, MaxPool, BatchNorm folded into thresholds), and "
        "end the network with logits or TopK rather than Softmax.",
        hits[0].line, hits[0].line_no, [e[0] for e in entries])


_BOARD_PATTERNS = (
    r"\[Board 49-71\]",
    r"board_part definition was not found for (\S+)",
    r"board_part (\S+) (?:is not valid|not found|is not installed)",
    r"set_property board_part (\S+).*(?:ERROR|invalid)",
    r"board files for ([\w-]+)",
    r"No board files? (?:found|installed)",
)


def _board_files(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _BOARD_PATTERNS)
    if not hits:
        return None
    names = _unique([h.match.group(1) for h in hits if h.match.groups()])
    return Explanation(
        "board_files", "Board files missing",
        f"Vivado needs the board definition{f' ({names[0]})' if names else ''} to create the block design "
        "(PS configuration, clocks, DDR) for a Zynq board; it is not installed.",
        "Run `finn deps update` (it downloads the PYNQ-Z1/Z2, Ultra96, ZCU and KV260 board files into "
        "finn_deps/board_files), or copy the vendor's board files into Vivado's data/boards/board_files.",
        hits[0].line, hits[0].line_no, names)


_TIMING_PATTERNS = (
    r"Timing constraints are not met",
    r"\[Timing 38-282\]",
    r"\bWNS\b\s*[:=]\s*-\d",
)


def _timing(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, _TIMING_PATTERNS)
    if not hits:
        return None
    return Explanation(
        "timing", "Timing not met at the chosen clock",
        "Some path in the design is slower than the clock period (negative slack), so the bitfile would not "
        "work reliably at that frequency.",
        "Lower the clock (e.g. 100 MHz on a Zynq-7000), or reduce SIMD on the widest MVAU so its adder trees "
        "get shorter.", hits[0].line, hits[0].line_no)


def _illegal_folding(lines: list[str], _layers: Layers | None) -> Explanation | None:
    hits = _hits(lines, (r"illegal folding: (.+)",))
    if not hits:
        return None
    return Explanation(
        "illegal_folding", "Folding not accepted",
        f"The folding asks for values FINN does not allow: {hits[0].match.group(1)}",
        "Pick values from the folding editor's lists (PE must divide the output channels, SIMD the input "
        "channels), or press Auto-fit.", hits[0].line, hits[0].line_no)


_RULES: tuple[Callable[[list[str], Layers | None], Explanation | None], ...] = (
    _tools_missing, _wrong_version, _board_files, _over_utilization, _out_of_memory, _cpu_nodes, _timing,
    _illegal_folding,
)


def explain(log_text: str, layers: Layers | None = None) -> list[Explanation]:
    """Every known failure found in ``log_text`` (a build log, plus the error message if there was one).

    ``layers``: the exported model's ``(node name, op type)`` in graph order (see :func:`model_layers`), used
    to name the user's layer behind a FINN node such as ``MatMul_1``.
    """
    lines = log_text.splitlines()
    return [e for rule in _RULES if (e := rule(lines, layers)) is not None]


def model_layers(model: str | Path) -> list[tuple[str, str]]:
    """``(name, op_type)`` of the nodes of an ONNX/QONNX file, in graph order (weights are not loaded)."""
    import onnx

    proto = onnx.load(str(model), load_external_data=False)
    return [(n.name, n.op_type) for n in proto.graph.node]


def read_build_log(build_dir: str | Path, max_chars: int = 2_000_000) -> str:
    """FINN's ``build_dataflow.log`` of a build folder (its tail if very long), or '' if there is none.

    A remote build cancelled before its log came back has only the lines streamed from the build host
    (``remote_build.log``): those are read then.
    """
    for name in ("build_dataflow.log", "remote_build.log"):
        try:
            text = (Path(build_dir) / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        return text[-max_chars:]
    return ""
