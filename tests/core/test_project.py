import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.core.errors import (
    CorruptManifestError,
    InputError,
    NewerFormatError,
    NotAProjectError,
    ProjectLockedError,
    ReadOnlyProjectError,
)
from foldwise.core.project import FORMAT_VERSION, MANIFEST_NAME, IterationKind, Project, figure


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_create_open_roundtrip(project_path: Path) -> None:
    with Project.create(project_path, name="demo", settings={"network": {"arch": "lenet5"}}) as project:
        assert project.name == "demo"
        assert project.iterations == []
    with Project.open(project_path) as project:
        assert project.settings["network"]["arch"] == "lenet5"
        data = json.loads((project_path / MANIFEST_NAME).read_text())
        assert data["version"] == FORMAT_VERSION


def test_new_iteration_is_atomic_and_becomes_current(project_path: Path) -> None:
    with Project.create(project_path) as project:
        with project.new_iteration(IterationKind.TRAINED, "Trained!", change={"epochs": 3}) as draft:
            (draft.folder / "model.pt").write_bytes(b"weights")
            draft.metrics["accuracy"] = figure(0.97, "measured")
        it = project.current
        assert it is not None and it.id == "0001" and it.folder.name == "0001-trained"
        assert (it.folder / "model.pt").read_bytes() == b"weights"
        assert json.loads((it.folder / "metrics.json").read_text())["accuracy"]["source"] == "measured"
        with (pytest.raises(RuntimeError, match="mid-way"),
              project.new_iteration(IterationKind.PRUNED, "half", parent=it) as draft):
            (draft.folder / "partial").write_text("x")
            raise RuntimeError("cancelled mid-way")
        assert [i.id for i in project.iterations] == ["0001"]
        assert not any(p.name.startswith(".draft") for p in (project_path / "iterations").iterdir())
    with Project.open(project_path) as project:
        assert project.current_id == "0001"
        assert project.lineage(project.current)[0].id == "0001"


def test_parent_must_exist(project_path: Path) -> None:
    with (
        Project.create(project_path) as project,
        pytest.raises(InputError, match="no iteration"),
        project.new_iteration(IterationKind.PRUNED, "x", parent="0042"),
    ):
        pass


def test_kinds_are_stored_as_the_manifest_strings(project_path: Path) -> None:
    assert [k.value for k in IterationKind] == ["trained", "fine-tuned", "imported", "pruned", "quantized"]
    with Project.create(project_path) as project:
        with project.new_iteration(IterationKind.TRAINED, "a"):
            pass
        assert type(project.current.kind) is str and project.current.kind == "trained"
        with pytest.raises(ValueError, match="trainned"), project.new_iteration("trainned", "typo"):  # type: ignore[arg-type]
            pass
        assert [it.kind for it in project.iterations] == ["trained"]
    on_disk = json.loads((project_path / MANIFEST_NAME).read_text())
    assert on_disk["iterations"][0]["kind"] == "trained"
    # A kind this version does not know (a newer Foldwise's) still opens, as a plain string.
    on_disk["iterations"][0]["kind"] = "distilled"
    (project_path / MANIFEST_NAME).write_text(json.dumps(on_disk))
    with Project.open(project_path, read_only=True) as project:
        assert project.current.kind == "distilled" and project.current.kind not in list(IterationKind)


def test_edits_are_saved_at_once(project_path: Path) -> None:
    with Project.create(project_path) as project:
        project.rename("Renamed")
        with project.new_iteration(IterationKind.TRAINED, "a"):
            pass
        project.set_note("0001", "first try")
        project.set_hidden("0001", True)
        assert project.current_id is None
    on_disk = json.loads((project_path / MANIFEST_NAME).read_text())
    assert on_disk["name"] == "Renamed"
    assert on_disk["iterations"][0]["note"] == "first try"
    assert on_disk["iterations"][0]["hidden"] is True


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(NotAProjectError, match=r"no manifest\.json"):
        Project.open(tmp_path)
    with pytest.raises(NotAProjectError, match="does not exist"):
        Project.open(tmp_path / "missing")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        ("{not json", CorruptManifestError, "line 1"),
        ('{"format": "something-else", "version": 1}', CorruptManifestError, "not a Foldwise manifest"),
        ('{"format": "foldwise-project", "version": 99}', NewerFormatError, "newer Foldwise"),
        (
            '{"format": "foldwise-project", "version": 1, "iterations": [{"x": 1}]}',
            CorruptManifestError,
            "malformed",
        ),
    ],
)
def test_bad_manifests_change_nothing(tmp_path: Path, content: str, error: type, match: str) -> None:
    (tmp_path / MANIFEST_NAME).write_text(content)
    before = snapshot(tmp_path)
    with pytest.raises(error, match=match):
        Project.open(tmp_path)
    assert snapshot(tmp_path) == before


def test_lock_stops_a_second_editor(project_path: Path) -> None:
    with Project.create(project_path):
        with pytest.raises(ProjectLockedError, match="another Foldwise instance"):
            Project.open(project_path)
        # a reader is fine while the editor holds the lock
        assert Project.open(project_path, read_only=True).name == "proj"
    Project.open(project_path).close()  # released on close


def test_lock_held_by_another_process(project_path: Path) -> None:
    Project.create(project_path).close()
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from foldwise.core.project import Project; p = Project.open(sys.argv[1]);"
        "print('locked', flush=True); time.sleep(30)"
    )
    app_dir = str(Path(__file__).resolve().parents[2] / "app")
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(project_path), app_dir], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectLockedError, match=rf"pid {child.pid}\b"):
            Project.open(project_path)
    finally:
        child.kill()
        child.wait()
    Project.open(project_path).close()  # the OS dropped the dead process's lock


def test_read_only_folder(project_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root in CI, where chmod does not stop writes: simulate what os.access reports.
    Project.create(project_path).close()
    before = snapshot(project_path)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if mode == os.W_OK and Path(p) == project_path else real_access(p, mode)
    )
    with pytest.raises(ReadOnlyProjectError, match="read-only"):
        Project.open(project_path)
    assert snapshot(project_path) == before


def test_read_only_open_refuses_edits(project_path: Path) -> None:
    Project.create(project_path).close()
    project = Project.open(project_path, read_only=True)
    with pytest.raises(ReadOnlyProjectError):
        project.rename("x")


def test_create_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("keep me")
    with pytest.raises(InputError, match="not an empty folder"):
        Project.create(tmp_path)
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_figure_rejects_unknown_source() -> None:
    with pytest.raises(ValueError, match="unknown figure source"):
        figure(1, "guessed")
