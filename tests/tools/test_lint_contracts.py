"""The private-module contract: lint-imports over a small package with and without a cross-package private
import, and the rule it applies to module names."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.lint_contracts import private_owner

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

CONFIG = """\
[importlinter]
root_package = pkg
contract_types =
    private_modules: tools.lint_contracts.PrivateModulesContract

[importlinter:contract:private]
name = no private imports across packages
type = private_modules
"""


@pytest.mark.parametrize(("module", "owner"), [
    ("foldwise.core.remote._sftp", "foldwise.core.remote"),
    ("foldwise.core.remote._sftp.inner", "foldwise.core.remote"),
    ("foldwise._private.public", "foldwise"),
    ("foldwise.core.remote.ssh", None),
    ("foldwise.__main__", None),
    ("_toplevel", None),
])
def test_private_owner(module: str, owner: str | None) -> None:
    assert private_owner(module) == owner


def _package(tmp_path: Path, gui_imports: str) -> Path:
    files = {
        "pkg/__init__.py": "",
        "pkg/core/__init__.py": "",
        "pkg/core/remote/__init__.py": "",
        "pkg/core/remote/_sftp.py": "VALUE = 1\n",
        "pkg/core/remote/ssh.py": "from pkg.core.remote._sftp import VALUE\n",  # its own package: allowed
        "pkg/core/remote/sub/__init__.py": "from pkg.core.remote import _sftp\n",  # a descendant: allowed
        "pkg/gui/__init__.py": "",
        "pkg/gui/panel.py": gui_imports,
        ".importlinter": CONFIG,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]), "NO_COLOR": "1"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)


def test_a_cross_package_private_import_breaks_the_contract(tmp_path: Path) -> None:
    result = _lint(_package(tmp_path, "def f():\n    from pkg.core.remote._sftp import VALUE\n    return VALUE\n"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pkg.gui.panel -> pkg.core.remote._sftp (l.2): private to pkg.core.remote" in result.stdout
    assert "remote.ssh ->" not in result.stdout and "remote.sub ->" not in result.stdout


def test_public_imports_keep_the_contract(tmp_path: Path) -> None:
    result = _lint(_package(tmp_path, "from pkg.core.remote.ssh import VALUE\n"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
