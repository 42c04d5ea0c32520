"""Shared test set-up: Qt offscreen, settings in a temp dir, no user config touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLDWISE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return tmp_path / "proj"
