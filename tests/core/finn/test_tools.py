"""Tool detection and the what-is-missing report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from foldwise.core.finn.tools import find_vivado, what_is_missing


def test_what_is_missing_shape() -> None:
    report = what_is_missing("Pynq-Z2")
    assert set(report["tools"]) == {"finn_plus", "vivado", "vitis_hls", "finn_deps"}
    assert set(report["outputs"]) == {"estimate", "hls_codegen", "rtlsim", "bitfile"}
    for entry in report["outputs"].values():
        assert set(entry) == {"available", "needs", "missing", "note"}
        assert entry["available"] == (not entry["missing"])
        assert set(entry["missing"]) <= set(entry["needs"])
    assert "vivado" in report["outputs"]["bitfile"]["needs"]
    if report["tools"]["vivado"] is None:
        assert not report["outputs"]["bitfile"]["available"]


def test_vivado_found_from_its_versioned_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "Xilinx" / "Vivado" / "2022.2"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "vivado").write_text("#!/bin/sh\n")
    os.chmod(root / "bin" / "vivado", 0o755)
    monkeypatch.setenv("XILINX_VIVADO", str(root))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    tool = find_vivado()
    assert tool is not None and tool.version == "2022.2" and tool.root == root
    monkeypatch.setenv("XILINX_VIVADO", str(tmp_path / "fake" / "Vivado" / "2022.2"))  # no bin/vivado
    assert find_vivado() is None or find_vivado().root != tmp_path / "fake" / "Vivado" / "2022.2"
