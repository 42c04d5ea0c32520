"""lazy_module: imports on the first name looked up, then keeps the module (no import machinery per lookup)."""

from __future__ import annotations

import importlib
import sys

from foldwise.core.lazy_import import lazy_module


def test_imports_on_first_use_then_keeps_the_module(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    calls: list[str] = []
    real = importlib.import_module

    def counting(name: str, *args, **kwargs):
        calls.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", counting)
    colorsys = lazy_module("colorsys")
    assert "colorsys" not in sys.modules and calls == []
    assert colorsys.rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert colorsys.hsv_to_rgb(0.0, 0.0, 1.0) == (1.0, 1.0, 1.0)
    assert calls == ["colorsys"] and "colorsys" in sys.modules
