"""``foldwise bundle export`` / ``foldwise bundle import``: the round trip on the command line, --json, the
options, and refusals as one line with exit code 1."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from foldwise.cli import main
from foldwise.core.project import LOCK_NAME


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != LOCK_NAME}


def test_export_then_import_on_the_command_line(estimated_defect: Path, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "story.foldwise.zip"
    code, out, err = _run(capsys, "bundle", "export", str(estimated_defect), str(archive), "--json")
    assert code == 0, err
    exported = json.loads(out)
    assert exported["path"] == str(archive) and exported["bytes_out"] == archive.stat().st_size
    assert any(item["path"].endswith("/emulation") for item in exported["left_out"])
    assert exported["external"][0]["setting"] == "dataset.path"

    code, out, err = _run(capsys, "bundle", "import", str(archive), str(tmp_path / "copy"))
    assert code == 0, err
    assert "every sha256 checked" in out and "dataset.path names" in out
    with zipfile.ZipFile(archive) as zf:
        listed = {f["path"] for f in json.loads(zf.read("bundle.json"))["files"]}
    assert set(_tree(tmp_path / "copy")) == listed
    assert all(_tree(tmp_path / "copy")[k] == v for k, v in _tree(estimated_defect).items() if k in listed)

    code, out, err = _run(capsys, "info", str(tmp_path / "copy"), "--json")
    assert code == 0, err
    assert [it["id"] for it in json.loads(out)["iterations"]] == ["0001", "0002"]


def test_with_bitfiles_adds_the_deployment_files(estimated_defect: Path, tmp_path: Path, capsys) -> None:
    code, out, err = _run(capsys, "bundle", "export", str(estimated_defect), str(tmp_path / "b.zip"),
                          "--with-bitfiles", "--with-recordings")
    assert code == 0, err
    assert f"left out {LOCK_NAME}" in out and "/emulation" not in out
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        meta = json.loads(zf.read("bundle.json"))
    assert meta["options"] == {"with_bitfiles": True, "with_recordings": True}
    assert any("/emulation/" in f["path"] for f in meta["files"])


def test_refusals_are_one_line(quantized_lenet: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").mkdir()
    assert _run(capsys, "bundle", "export", str(quantized_lenet), str(tmp_path / "b.zip"))[0] == 0
    code, _out, err = _run(capsys, "bundle", "import", str(tmp_path / "b.zip"), str(tmp_path / "taken"))
    assert code == 1 and err.count("\n") == 1 and "already exists" in err
    code, _out, err = _run(capsys, "bundle", "export", str(quantized_lenet), str(tmp_path / "b.zip"))
    assert code == 1 and "already exists: remove it or pick another name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.zip", "lenet-w4a4", "taken"]
