"""Shipped files (icons, style sheet, example projects) are package data: a built wheel carries them and
``foldwise.core.paths`` finds them from the installed package, not from a checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from foldwise.core import paths
from tools import wheel_check

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("resources", "projects")


def _shipped_files() -> set[str]:
    return {str(p.relative_to(ROOT)) for name in SHIPPED for p in (ROOT / name).rglob("*") if p.is_file()}


def test_the_checkout_finds_the_top_level_folders() -> None:
    assert paths.resources_dir().resolve() == ROOT / "resources"
    assert paths.examples_dir().resolve() == ROOT / "projects"
    assert (paths.resources_dir() / "styles" / "foldwise.qss").is_file()


def test_foldwise_root_overrides(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FOLDWISE_ROOT", str(tmp_path))
    assert paths.resources_dir() == tmp_path / "resources" and paths.examples_dir() == tmp_path / "projects"


def test_the_wheel_carries_and_finds_the_shipped_files(tmp_path: Path) -> None:
    wheel = wheel_check.build_wheel(tmp_path / "build")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    expected = {f"foldwise/{name}" for name in _shipped_files()}
    assert expected <= names, sorted(expected - names)
    assert "foldwise/projects/defect-demo/manifest.json" in names

    # The unpacked wheel goes first on the path, before any editable install of a checkout.
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from foldwise.core import paths, examples; "
        "print(json.dumps({'module': paths.__file__, 'resources': str(paths.resources_dir()), "
        "'examples': sorted(examples.list_examples()), "
        "'qss': (paths.resources_dir() / 'styles' / 'foldwise.qss').is_file()}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FOLDWISE_ROOT")}
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "site")], check=True, capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=60)
    found = json.loads(out.stdout)
    assert Path(found["module"]) == tmp_path / "site" / "foldwise" / "core" / "paths.py"
    assert Path(found["resources"]) == tmp_path / "site" / "foldwise" / "resources"
    assert found["examples"] == sorted(p.name for p in (ROOT / "projects").iterdir() if p.is_dir())
    assert found["qss"]
