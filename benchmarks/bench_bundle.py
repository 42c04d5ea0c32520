"""Bundle export and import: time and archive size for a story-like project.

A defect-demo project over 600 generated crops (DefectNet trained 8 epochs), channel-pruned 50 % with one
fine-tune epoch, W4A4 PTQ on 64 images, one FINN estimate build of that, then the deploy package made for 200
validation images (as a deploy leaves it). Exported without and with ``--with-bitfiles``, each imported into a
fresh folder; the goal: every bundled file comes back identical (sha256) and the import opens as a project.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report

sys.path.insert(0, str(REPO))


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".foldwise.lock"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-bundle-") as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        from foldwise.core.board.deploy import package_for, validation_images
        from foldwise.core.bundle import BundleOptions, export_bundle, import_bundle
        from foldwise.core.finn.build_config import BuildConfig
        from foldwise.core.finn.stage import build, list_builds
        from foldwise.core.project import Project
        from foldwise.core.prune.config import PruneSpec
        from foldwise.core.prune.stage import prune_iteration
        from foldwise.core.quantize.config import QuantConfig, QuantizeSpec
        from foldwise.core.quantize.stage import quantize_iteration
        from tests.defect_project import make_defect_project

        started = time.perf_counter()
        path = make_defect_project(root / "story", root / "crops", n=600)
        with Project.open(path) as project:
            prune_iteration(project, PruneSpec(ratio=0.5, finetune_epochs=1))
            quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=64)))
            build(project, BuildConfig())
            images, labels = validation_images(project, 200)
            package_for(project, project.current, list_builds(project.current)[0], images, labels)
        prepared = time.perf_counter() - started

        figures, identical = {}, True
        for label, options in (("default", BundleOptions()), ("with_bitfiles", BundleOptions(with_bitfiles=True))):
            archive = root / f"story-{label}.foldwise.zip"
            exported = export_bundle(path, archive, options)
            imported = import_bundle(archive, root / f"imported-{label}")
            Project.open(imported.path).close()
            copied, original = _tree(imported.path), _tree(path)
            identical &= all(original[name] == digest for name, digest in copied.items())
            figures[label] = {"export_s": round(exported.seconds, 3), "import_s": round(imported.seconds, 3),
                              "archive_mb": round(exported.bytes_out / 1e6, 3),
                              "files_mb": round(exported.bytes_in / 1e6, 3), "files": exported.files,
                              "project_mb": round(sum((path / n).stat().st_size for n in original) / 1e6, 3),
                              "left_out": [item["path"] for item in exported.left_out]}
    report("bundle export/import of the story project (trained, pruned, W4A4, one estimate)",
           {label: {k: f[k] for k in ("export_s", "import_s", "archive_mb")} for label, f in figures.items()},
           "every bundled file identical after export -> import (sha256)", identical,
           details=figures, setup_seconds=round(prepared, 1), measured="wall clock on this machine")


if __name__ == "__main__":
    main()
