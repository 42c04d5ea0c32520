"""Project bundles: export → import gives the same files; broken and malicious bundles are refused with the
reason, leaving nothing behind; a project another process has open is not bundled."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from foldwise.core.bundle import BundleError, BundleOptions, export_bundle, import_bundle
from foldwise.core.bundle.format import BUNDLE_JSON, FORMAT_VERSION, tool_versions
from foldwise.core.errors import Cancelled, ProjectLockedError
from foldwise.core.jobs import JobContext
from foldwise.core.project import LOCK_NAME, IterationKind, Project

REPO = Path(__file__).resolve().parents[2]


def tree(folder: Path) -> dict[str, str]:
    """Every file's sha256 by its path under ``folder`` (the lock file aside: opening a project writes it)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and p.name != LOCK_NAME}


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def bundled(archive: Path) -> dict:
    with zipfile.ZipFile(archive) as zf:
        return json.loads(zf.read(BUNDLE_JSON))


# ----------------------------------------------------------------------------------------------- round trips
def test_round_trip_of_a_quantized_project_gives_identical_files(quantized_lenet: Path, tmp_path: Path) -> None:
    (quantized_lenet / "cache").mkdir(exist_ok=True)
    (quantized_lenet / "cache" / "generated.npy").write_bytes(b"x" * 100)
    archive = tmp_path / "lenet.foldwise.zip"
    exported = export_bundle(quantized_lenet, archive)
    imported = import_bundle(archive, tmp_path / "copy")

    original = {k: v for k, v in tree(quantized_lenet).items() if not k.startswith("cache/")}
    assert tree(tmp_path / "copy") == original
    assert exported.files == imported.files == len(original)
    assert exported.bytes_out == archive.stat().st_size
    meta = bundled(archive)
    assert meta["version"] == FORMAT_VERSION
    assert set(meta["versions"]) == {"foldwise", "torch", "brevitas", "qonnx", "finn-plus"}
    assert meta["versions"] == tool_versions() and meta["versions"]["torch"]
    assert {f["path"]: f["sha256"] for f in meta["files"]} == original
    assert {f["path"]: f["size"] for f in meta["files"]} == {
        k: (quantized_lenet / k).stat().st_size for k in original}
    assert {item["path"] for item in meta["left_out"]} == {LOCK_NAME, "cache"}
    assert any(name.endswith("calibration/stats.npz") for name in original)  # calibration statistics
    assert any(name.endswith("model.qonnx.onnx") for name in original)
    with Project.open(tmp_path / "copy") as project:  # an ordinary project: opens for editing
        assert [it.id for it in project.iterations] == ["0001", "0002"]
        assert project.current_id == "0002"
    assert imported.version_notes == []


def test_builds_and_bitfiles(estimated_defect: Path, tmp_path: Path) -> None:
    with Project.open(estimated_defect) as project:
        build = next((project.current.folder / "builds").iterdir())
    (build / "intermediate_models").mkdir()
    (build / "intermediate_models" / "step_x.onnx").write_bytes(b"onnx")
    (build / "package" / "bitfile").mkdir(parents=True)
    (build / "package" / "bitfile" / "finn-accel.bit").write_bytes(os.urandom(4096))
    rel = str(build.relative_to(estimated_defect))

    export_bundle(estimated_defect, tmp_path / "plain.zip")
    meta = bundled(tmp_path / "plain.zip")
    files = {f["path"] for f in meta["files"]}
    assert f"{rel}/report/estimate_network_performance.json" in files
    assert f"{rel}/build_dataflow.log" in files
    assert not any("/package/" in f or "/emulation/" in f or "intermediate_models" in f for f in files)
    reasons = {item["path"]: item["reason"] for item in meta["left_out"]}
    assert "--with-bitfiles" in reasons[f"{rel}/package"]
    assert "running the build again" in reasons[f"{rel}/intermediate_models"]
    # the data set is an image folder outside the project: its setting is recorded, the images are not copied
    assert [item["setting"] for item in meta["external"]] == ["dataset.path"]
    assert not any(f.endswith(".png") for f in files)

    export_bundle(estimated_defect, tmp_path / "bitfiles.zip", BundleOptions(with_bitfiles=True))
    import_bundle(tmp_path / "bitfiles.zip", tmp_path / "copy")
    copied = tree(tmp_path / "copy")
    assert f"{rel}/package/bitfile/finn-accel.bit" in copied
    assert f"{rel}/emulation/dataflow_partition.onnx" in copied
    original = {k: v for k, v in tree(estimated_defect).items()
                if not k.startswith("cache/") and "intermediate_models" not in k}
    assert copied == original


def test_what_never_goes_in(project_path: Path, tmp_path: Path) -> None:
    Project.create(project_path).close()
    it = project_path / "iterations"
    (it / "0007-orphan").mkdir()
    (project_path / ".manifest.json.x1.tmp").write_bytes(b"{")
    for secret in ("known_hosts", "id_ed25519", "board.pem", "boards.json"):
        (project_path / secret).write_text("secret")
    (project_path / "notes.txt").write_text("kept")
    (project_path / "link.txt").symlink_to(project_path / "notes.txt")
    os.mkfifo(project_path / "pipe")
    recording = project_path / "demo" / "run1"
    recording.mkdir(parents=True)
    for name in ("demo.avi", "frames.csv", "stats.json"):
        (recording / name).write_bytes(b"r")
    other_recording = project_path / "elsewhere"
    other_recording.mkdir()
    for name in ("demo.avi", "frames.csv"):
        (other_recording / name).write_bytes(b"r")

    with Project.open(project_path) as project:  # opening sweeps stale drafts: this one is being written
        (it / ".draft-1234abcd").mkdir()
        (it / ".draft-1234abcd" / "model.pt").write_bytes(b"half")
        export_bundle(project, tmp_path / "b.zip")
    files = {f["path"] for f in bundled(tmp_path / "b.zip")["files"]}
    assert files == {"manifest.json", "notes.txt"}
    reasons = {item["path"]: item["reason"] for item in bundled(tmp_path / "b.zip")["left_out"]}
    assert "symbolic link" in reasons["link.txt"] and "not a regular file" in reasons["pipe"]
    assert "credentials" in reasons["known_hosts"] and "credentials" in reasons["id_ed25519"]
    assert "unfinished" in reasons["iterations/.draft-1234abcd"]
    assert "manifest.json does not list" in reasons["iterations/0007-orphan"]

    export_bundle(project_path, tmp_path / "r.zip", BundleOptions(with_recordings=True))
    files = {f["path"] for f in bundled(tmp_path / "r.zip")["files"]}
    assert {"demo/run1/demo.avi", "demo/run1/stats.json", "elsewhere/frames.csv"} <= files
    import_bundle(tmp_path / "r.zip", tmp_path / "copy")
    assert (tmp_path / "copy" / "iterations").is_dir()  # empty folders come back too


def test_a_large_almost_empty_file_is_stored_so_its_import_passes_the_ratio_check(project_path: Path,
                                                                                  tmp_path: Path) -> None:
    Project.create(project_path).close()
    (project_path / "padded.bin").write_bytes(b"\0" * (3 * 1024**2))
    export_bundle(project_path, tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        assert zf.getinfo("padded.bin").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("manifest.json").compress_type == zipfile.ZIP_DEFLATED
    import_bundle(tmp_path / "b.zip", tmp_path / "copy")
    assert tree(tmp_path / "copy") == tree(project_path)


# ----------------------------------------------------------------------------------------------- export refusals
def test_a_project_open_in_another_process_is_not_bundled(project_path: Path, tmp_path: Path) -> None:
    Project.create(project_path).close()
    code = ("import sys, time; sys.path.insert(0, sys.argv[2]); from foldwise.core.project import Project; "
            "p = Project.open(sys.argv[1]); print('locked', flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code, str(project_path), str(REPO / "app")],
                             stdout=subprocess.PIPE, text=True)
    out = tmp_path / "out"
    out.mkdir()
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectLockedError, match=rf"pid {child.pid}\b.*not bundled half-way"):
            export_bundle(project_path, out / "b.zip")
    finally:
        child.kill()
        child.wait()
    assert names_in(out) == []
    export_bundle(project_path, out / "b.zip")  # the lock went with the process


def test_a_read_only_project_that_someone_holds_is_not_bundled(project_path: Path, tmp_path: Path) -> None:
    Project.create(project_path).close()
    with Project.open(project_path):  # the lock is held ...
        project_path.chmod(0o555)  # ... and this reader cannot write the folder (falls back to reading)
        try:
            with pytest.raises(ProjectLockedError):
                export_bundle(Project.open(project_path, read_only=True), tmp_path / "b.zip")
        finally:
            project_path.chmod(0o755)
    assert not (tmp_path / "b.zip").exists()


def test_an_open_project_holding_its_lock_is_bundled_in_place(project_path: Path, tmp_path: Path) -> None:
    with Project.create(project_path) as project:
        result = export_bundle(project, tmp_path / "b.zip")
        assert project.holds_lock  # still open for the window that exported it
    assert result.files == 1


def test_a_file_changing_during_the_export_fails_it(trained_lenet: Path, tmp_path: Path) -> None:
    grown = []

    def grow(_fraction: float, message: str) -> None:
        if message.endswith("model.pt") and not grown:
            grown.append(message)
            with open(trained_lenet / message.split(" ", 1)[1], "ab") as handle:
                handle.write(b"more")

    with pytest.raises(BundleError, match="changed while it was being bundled"):
        export_bundle(trained_lenet, tmp_path / "b.zip", ctx=JobContext(on_progress=grow))
    assert names_in(tmp_path) == ["lenet"]


def test_an_iteration_made_during_the_export_is_left_out_whole(trained_lenet: Path, tmp_path: Path) -> None:
    with Project.open(trained_lenet) as project:
        made = []

        def new_iteration(_fraction: float, message: str) -> None:
            if message.startswith("bundling") and not made:  # the manifest is already bundled
                with project.new_iteration(IterationKind.TRAINED, "later") as draft:
                    (draft.folder / "model.pt").write_bytes(b"w")
                made.append(project.current)

        export_bundle(project, tmp_path / "b.zip", ctx=JobContext(on_progress=new_iteration))
    assert made and made[0].folder.is_dir()
    import_bundle(tmp_path / "b.zip", tmp_path / "copy")
    with Project.open(tmp_path / "copy") as copy:
        assert [it.id for it in copy.iterations] == ["0001"] and all(not it.missing for it in copy.iterations)
    assert sorted(p.name for p in (tmp_path / "copy" / "iterations").iterdir()) == ["0001-trained-3ep"]


def test_export_refuses_an_existing_file_and_a_place_inside_the_project(project_path: Path, tmp_path: Path) -> None:
    Project.create(project_path).close()
    (tmp_path / "b.zip").write_bytes(b"mine")
    with pytest.raises(BundleError, match="already exists"):
        export_bundle(project_path, tmp_path / "b.zip")
    assert (tmp_path / "b.zip").read_bytes() == b"mine"
    with pytest.raises(BundleError, match="inside the project"):
        export_bundle(project_path, project_path / "b.zip")
    export_bundle(project_path, tmp_path / "b.zip", overwrite=True)
    assert zipfile.is_zipfile(tmp_path / "b.zip")


def test_cancelled_export_and_import_leave_nothing(trained_lenet: Path, tmp_path: Path) -> None:
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        export_bundle(trained_lenet, tmp_path / "b.zip", ctx=ctx)
    assert names_in(tmp_path) == ["lenet"]
    export_bundle(trained_lenet, tmp_path / "b.zip")
    with pytest.raises(Cancelled):
        import_bundle(tmp_path / "b.zip", tmp_path / "copy", ctx=ctx)
    assert names_in(tmp_path) == ["b.zip", "lenet"]


# ----------------------------------------------------------------------------------------------- bad bundles
MANIFEST = json.dumps({"format": "foldwise-project", "version": 1, "name": "p", "settings": {},
                       "iterations": [], "current": None}).encode()


def make_bundle(path: Path, files: dict[str, bytes] | None = None, *, meta: Callable[[dict], None] | None = None,
                extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> Path:
    """A bundle of ``files`` (default: a valid manifest) listed truthfully, then edited by ``meta`` and given
    the ``extra`` entries (unlisted unless ``meta`` lists them)."""
    files = {"manifest.json": MANIFEST} if files is None else files
    record = {"format": "foldwise-bundle", "version": FORMAT_VERSION, "versions": tool_versions(),
              "files": [{"path": k, "size": len(v), "sha256": hashlib.sha256(v).hexdigest()}
                        for k, v in files.items()], "folders": ["iterations"], "left_out": [], "external": []}
    if meta:
        meta(record)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data)
        if record is not None:
            zf.writestr(BUNDLE_JSON, json.dumps(record))
    return path


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def listing(*names_and_data: tuple[str, bytes]) -> Callable[[dict], None]:
    def edit(record: dict) -> None:
        record["files"] += [{"path": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                            for n, d in names_and_data]
    return edit


def _bomb(w: Path) -> Path:
    info = zipfile.ZipInfo("iterations/zeros.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    zeros = b"\0" * (8 * 1024**2)
    return make_bundle(w / "b.zip", extra=[(info, zeros)], meta=listing(("iterations/zeros.bin", zeros)))


def _truncated(w: Path) -> Path:
    make_bundle(w / "whole.zip", {"manifest.json": MANIFEST, "big.bin": os.urandom(200_000)})
    data = (w / "whole.zip").read_bytes()
    (w / "whole.zip").unlink()
    (w / "b.zip").write_bytes(data[: len(data) // 2])
    return w / "b.zip"


def _cut_member(w: Path) -> Path:
    """The table of contents intact, a member's bytes damaged (CRC and hash no longer match)."""
    payload = os.urandom(50_000)
    make_bundle(w / "b.zip", {"manifest.json": MANIFEST, "big.bin": payload})
    data = bytearray((w / "b.zip").read_bytes())
    at = data.find(payload[:64])
    data[at + 1000: at + 1010] = bytes(10)
    (w / "b.zip").write_bytes(bytes(data))
    return w / "b.zip"


def _tar_with_hard_link(w: Path) -> Path:
    with tarfile.open(w / "b.zip", "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(MANIFEST)
        tar.addfile(info, io.BytesIO(MANIFEST))
        link = tarfile.TarInfo("iterations/passwd")
        link.type, link.linkname = tarfile.LNKTYPE, "/etc/passwd"
        tar.addfile(link)
    return w / "b.zip"


def _set(key: str, value: object) -> Callable[[dict], None]:
    return lambda record: record.__setitem__(key, value)


BAD: dict[str, tuple[Callable[[Path], Path], str]] = {
    "dotdot": (lambda w: make_bundle(w / "b.zip", extra=[(zipfile.ZipInfo("../evil.txt"), b"x")],
                                     meta=listing(("../evil.txt", b"x"))), r"'\.\./evil.txt' climbs out"),
    "dotdot-inside": (lambda w: make_bundle(w / "b.zip", extra=[(zipfile.ZipInfo("iterations/../../evil"), b"x")]),
                      r"climbs out of the project"),
    "absolute": (lambda w: make_bundle(w / "b.zip", extra=[(zipfile.ZipInfo("/tmp/evil.txt"), b"x")],
                                       meta=listing(("/tmp/evil.txt", b"x"))), r"is an absolute path"),
    "listed-absolute": (lambda w: make_bundle(w / "b.zip", meta=listing(("/etc/evil", b"x"))), r"absolute path"),
    "symlink": (lambda w: make_bundle(w / "b.zip", extra=[(unix_entry("iterations/l", stat.S_IFLNK | 0o777),
                                                           b"/etc/passwd")]), r"is a symbolic link"),
    "fifo": (lambda w: make_bundle(w / "b.zip", extra=[(unix_entry("iterations/f", stat.S_IFIFO | 0o644), b"")]),
             r"is a FIFO"),
    "device": (lambda w: make_bundle(w / "b.zip", extra=[(unix_entry("dev", stat.S_IFCHR | 0o644), b"")]),
               r"is a device file"),
    "hard-link": (_tar_with_hard_link, r"is a tar archive: Foldwise bundles are zip files"),
    "zip-bomb": (_bomb, r"expands [\d,]+:1 \(over 100:1: a zip bomb\?\)"),
    "truncated": (_truncated, r"truncated"),
    "damaged-member": (_cut_member, r"big.bin is damaged in the archive|does not match its sha256"),
    "random-bytes": (lambda w: (w / "b.zip").write_bytes(os.urandom(3000)) and w / "b.zip", r"not a zip archive"),
    "empty-file": (lambda w: (w / "b.zip").write_bytes(b"") or w / "b.zip", r"not a zip archive"),
    "wrong-hash": (lambda w: make_bundle(w / "b.zip", meta=lambda r: r["files"][0].__setitem__("sha256", "0" * 64)),
                   r"manifest.json does not match its sha256"),
    "wrong-size": (lambda w: make_bundle(w / "b.zip", meta=lambda r: r["files"][0].__setitem__("size", 3)),
                   r"manifest.json is \d+ bytes, its bundle.json says 3"),
    "no-bundle-json": (lambda w: make_bundle(w / "b.zip", meta=lambda r: r.clear()), r"not a Foldwise bundle"),
    "missing-bundle-json": (lambda w: _without_bundle_json(w), r"has no bundle.json"),
    "unreadable-bundle-json": (lambda w: _bundle_json_bytes(w, b"{not json"), r"bundle.json is unreadable"),
    "missing-manifest": (lambda w: make_bundle(w / "b.zip", {"notes.txt": b"n"}), r"holds no manifest.json"),
    "corrupt-manifest": (lambda w: make_bundle(w / "b.zip", {"manifest.json": b"{"}),
                         r"does not hold a project Foldwise can open: .*corrupt"),
    "newer-format": (lambda w: make_bundle(w / "b.zip", meta=_set("version", FORMAT_VERSION + 1)),
                     r"made by a newer Foldwise \(bundle format 2; this version reads up to 1\)"),
    "unknown-format-version": (lambda w: make_bundle(w / "b.zip", meta=_set("version", "one")),
                               r"unknown bundle format version 'one'"),
    "unlisted-file": (lambda w: make_bundle(w / "b.zip", extra=[(zipfile.ZipInfo("iterations/x.pt"), b"x")]),
                      r"holds files its bundle.json does not list: iterations/x.pt"),
    "listed-but-missing": (lambda w: make_bundle(w / "b.zip", meta=listing(("iterations/gone.pt", b"x"))),
                           r"lacks files its bundle.json lists: iterations/gone.pt"),
    "duplicate-entry": (lambda w: make_bundle(w / "b.zip", extra=[(zipfile.ZipInfo("manifest.json"), b"{}")]),
                        r"appears twice"),
    "folder-outside": (lambda w: make_bundle(w / "b.zip", meta=_set("folders", ["../up"])),
                       r"lists a folder '../up' outside the project"),
}


def _without_bundle_json(w: Path) -> Path:
    with zipfile.ZipFile(w / "b.zip", "w") as zf:
        zf.writestr("manifest.json", MANIFEST)
    return w / "b.zip"


def _bundle_json_bytes(w: Path, data: bytes) -> Path:
    with zipfile.ZipFile(w / "b.zip", "w") as zf:
        zf.writestr("manifest.json", MANIFEST)
        zf.writestr(BUNDLE_JSON, data)
    return w / "b.zip"


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_bundles_are_refused_leaving_nothing(case: str, tmp_path: Path) -> None:
    make, reason = BAD[case]
    work = tmp_path / "work"
    work.mkdir()
    bundle = make(work)
    outside = tmp_path.parent / "evil.txt"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(BundleError, match=reason):
        import_bundle(bundle, work / "dest")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before, "a refused import left files behind"
    assert not outside.exists() and not Path("/tmp/evil.txt").exists()


def test_an_existing_destination_is_never_touched(project_path: Path, tmp_path: Path) -> None:
    make_bundle(tmp_path / "b.zip")
    for dest in (tmp_path / "full", tmp_path / "empty"):
        dest.mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    for dest in (tmp_path / "full", tmp_path / "empty"):
        with pytest.raises(BundleError, match="already exists: Foldwise never overwrites"):
            import_bundle(tmp_path / "b.zip", dest)
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep" and names_in(tmp_path / "empty") == []
    assert names_in(tmp_path) == ["b.zip", "empty", "full"]


def test_an_entry_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path / "b.zip", {"manifest.json": MANIFEST, "big.bin": os.urandom(5000)})
    with pytest.raises(BundleError, match=r"big.bin' is 0.0 GB, over the 0.0 GB limit"):
        import_bundle(tmp_path / "b.zip", tmp_path / "dest", max_entry_bytes=4096)
    assert names_in(tmp_path) == ["b.zip"]
    assert import_bundle(tmp_path / "b.zip", tmp_path / "dest").files == 2


def test_a_full_disk_leaves_nothing_either_way(project_path: Path, tmp_path: Path, tiny_disk: Path) -> None:
    """A bundle export onto a disk that fills up mid-archive raises ENOSPC and leaves no partial archive; an
    import that would not fit is refused up front, naming the size and the free space, leaving nothing."""
    Project.create(project_path).close()
    (project_path / "weights.bin").write_bytes(os.urandom(2 * 1024**2))  # incompressible, over the 1 MiB disk
    with pytest.raises(OSError) as raised:
        export_bundle(project_path, tiny_disk / "b.zip")
    assert raised.value.errno == errno.ENOSPC
    assert names_in(tiny_disk) == []
    export_bundle(project_path, tmp_path / "b.zip")
    with pytest.raises(BundleError, match=r"unpacks to 0.00 GB, but .* has only 0.00 GB free"):
        import_bundle(tmp_path / "b.zip", tiny_disk / "copy")
    assert names_in(tiny_disk) == []
