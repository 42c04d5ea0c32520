"""Which Xilinx tools and FINN pieces this machine has, and what each FINN output therefore needs.

Pure file-system and PATH look-ups: finn-plus is located with ``importlib`` metadata, never imported.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SUPPORTED_VIVADO = ("2022.2", "2024.2")
SEARCH_ROOTS = (Path("/tools/Xilinx"), Path("/opt/Xilinx"))
_VERSION_RE = re.compile(r"20\d\d\.\d")


@dataclass(frozen=True)
class Tool:
    """One found tool: its install directory, the executable and the version read from the path."""

    name: str
    root: Path
    executable: Path
    version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def _version_of(path: Path) -> str | None:
    found = _VERSION_RE.findall(str(path))
    return found[-1] if found else None


def _tool_from_root(name: str, root: Path, exe: str) -> Tool | None:
    executable = root / "bin" / exe
    if executable.is_file() and os.access(executable, os.X_OK):
        return Tool(name, root, executable, _version_of(root))
    return None


def _candidate_roots(product: str, env_var: str) -> list[Path]:
    roots: list[Path] = []
    if os.environ.get(env_var):
        roots.append(Path(os.environ[env_var]))
    for base in SEARCH_ROOTS:
        if not base.is_dir():
            continue
        # <= 2024.2 layout: /tools/Xilinx/Vivado/2022.2; 2025.x layout: /tools/Xilinx/2025.1/Vivado
        roots += sorted((base / product).glob("20*"), reverse=True)
        roots += sorted((p / product for p in base.glob("20*")), reverse=True)
    return roots


def find_tool(name: str, product: str, env_var: str, exe: str) -> Tool | None:
    """Find ``exe`` on PATH, under ``$env_var``, or in the usual install roots."""
    on_path = shutil.which(exe)
    if on_path:
        exe_path = Path(on_path).resolve()
        return Tool(name, exe_path.parent.parent, exe_path, _version_of(exe_path))
    for root in _candidate_roots(product, env_var):
        tool = _tool_from_root(name, root, exe)
        if tool is not None:
            return tool
    return None


def find_vivado() -> Tool | None:
    """Vivado (synthesis, XSI simulator, bitfiles)."""
    return find_tool("vivado", "Vivado", "XILINX_VIVADO", "vivado")


def find_vitis_hls() -> Tool | None:
    """Vitis HLS (HLS IP generation), or Vitis 2024.2+'s ``v++``-era ``vitis_hls``."""
    return find_tool("vitis_hls", "Vitis_HLS", "XILINX_HLS", "vitis_hls") or find_tool(
        "vitis_hls", "Vitis", "XILINX_VITIS", "vitis_hls"
    )


def finn_version() -> str | None:
    """Installed finn-plus version, or None."""
    try:
        return importlib.metadata.version("finn-plus")
    except importlib.metadata.PackageNotFoundError:
        return None


def finn_package_dir() -> Path | None:
    """Directory of the installed ``finn`` package (found, not imported)."""
    spec = importlib.util.find_spec("finn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def finn_deps_dir() -> Path | None:
    """Where ``finn deps update`` puts finn-hlslib and board files ($FINN_DEPS, else finn-plus's default)."""
    if os.environ.get("FINN_DEPS"):
        return Path(os.environ["FINN_DEPS"])
    pkg = finn_package_dir()
    return pkg / "finn_deps" if pkg else None


def finn_deps_state() -> dict[str, Any]:
    """What ``finn deps update`` has installed: finn-hlslib (HLS builds) and board files (bitfiles)."""
    deps = finn_deps_dir()
    present = deps is not None and deps.is_dir()
    board_files = sorted(p.name for p in (deps / "board_files").iterdir()) if present and (
        deps / "board_files"
    ).is_dir() else []
    return {
        "dir": str(deps) if deps else None,
        "present": present,
        "finn_hlslib": bool(present and (deps / "finn-hlslib").is_dir()),
        "board_files": board_files,
    }


def what_is_missing(board: str | None = None) -> dict[str, Any]:
    """For each FINN output (estimate, hls_codegen, rtlsim, bitfile): what it needs and what is missing.

    Returns ``{"tools": {...}, "outputs": {name: {"available", "needs", "missing", "note"}}}``.
    """
    vivado, hls, finn = find_vivado(), find_vitis_hls(), finn_version()
    deps = finn_deps_state()
    board_ok = board is None or any(board.lower().replace("-", "") in b.lower().replace("-", "")
                                    for b in deps["board_files"])
    checks = {
        "finn-plus": finn is not None,
        "vivado": vivado is not None,
        "vitis_hls": hls is not None,
        "finn deps (finn-hlslib)": deps["finn_hlslib"],
        f"board files{f' for {board}' if board else ''}": board_ok and bool(deps["board_files"]),
    }
    board_key = next(k for k in checks if k.startswith("board files"))
    outputs = {
        "estimate": (["finn-plus"], "FINN's analytical cycles and resources; seconds, no Xilinx tools"),
        "hls_codegen": (["finn-plus"], "HLS C++ and filled RTL templates (step_hw_codegen); no Xilinx tools"),
        "rtlsim": (
            ["finn-plus", "vivado", "vitis_hls", "finn deps (finn-hlslib)"],
            "cycle-accurate throughput of the stitched IP (XSI simulator)",
        ),
        "bitfile": (
            ["finn-plus", "vivado", "vitis_hls", "finn deps (finn-hlslib)", board_key],
            "bitfile + driver for the board; 15 min to hours",
        ),
    }
    report = {
        name: {
            "available": all(checks[n] for n in needs),
            "needs": needs,
            "missing": [n for n in needs if not checks[n]],
            "note": note,
        }
        for name, (needs, note) in outputs.items()
    }
    if vivado and vivado.version and vivado.version not in SUPPORTED_VIVADO:
        for name in ("rtlsim", "bitfile"):
            report[name]["note"] += f" (Vivado {vivado.version} found; finn-plus supports {SUPPORTED_VIVADO})"
    return {
        "tools": {
            "finn_plus": finn,
            "vivado": vivado.to_dict() if vivado else None,
            "vitis_hls": hls.to_dict() if hls else None,
            "finn_deps": deps,
        },
        "outputs": report,
    }
