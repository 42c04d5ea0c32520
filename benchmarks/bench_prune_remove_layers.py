"""Removing DefectNet's last conv block: parameters cut and accuracy lost after fine-tuning.

Goal (the classic demo's claim, scaled to DefectNet): ≥ 40 % fewer parameters with ≤ 2 points test accuracy
lost after ≤ 2 epochs of fine-tuning. Runs the real stage (``prune_iteration``) on a temporary project holding
DefectNet trained on the generated defect set with the training defaults; the trained network and the data set
are cached under ``~/.cache/foldwise-bench`` (``FOLDWISE_BENCH_CACHE``) so later runs skip training.
Prints one JSON object.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import report

CACHE = Path(os.environ.get("FOLDWISE_BENCH_CACHE", Path.home() / ".cache" / "foldwise-bench"))
REMOVE = ["features.*5"]  # conv5, bn5, relu5, pool5
FINETUNE_EPOCHS = 2


def defect_splits() -> Any:
    from foldwise.core.data.defects import load_or_generate

    return load_or_generate(CACHE / "data", seed=0)


def trained_defectnet(splits: Any) -> tuple[Any, dict[str, Any]]:
    """DefectNet trained with the training defaults (cached), and how it was trained."""
    import hashlib

    from foldwise.core.data.defects import GENERATOR_VERSION
    from foldwise.core.networks.store import load_model, save_model
    from foldwise.core.networks.train import evaluate, recommended_config, train
    from foldwise.core.networks.zoo import ZOO, build

    # A cached network is reused only for the same data generator and the same architecture.
    arch = hashlib.sha256(repr(build("defectnet")).encode()).hexdigest()[:10]
    model_path = CACHE / f"defectnet-seed0-data{GENERATOR_VERSION}-{arch}.pt"
    if model_path.is_file():
        loaded = load_model(model_path)
        return loaded.model, {**loaded.extra, "cached": str(model_path)}
    spec = ZOO["defectnet"].spec
    config = recommended_config("defectnet")
    result = train(build("defectnet"), splits.train, splits.val, config, spec=spec,
                   on_epoch=lambda r: print(r, file=sys.stderr))
    test = evaluate(result.model, splits.test, spec=spec)
    extra = {"config": config.to_dict(), "epochs_run": len(result.history), "train_seconds": round(result.seconds, 1),
             "test_accuracy": round(test.accuracy, 4)}
    CACHE.mkdir(parents=True, exist_ok=True)
    save_model(model_path, result.model, spec, "defectnet", extra=extra)
    return result.model, {**extra, "cached": None}


def project_with(model: Any, folder: Path) -> Any:
    """A temporary project whose iteration 0001 is ``model`` (DefectNet on the defect set)."""
    from foldwise.core.iterations import ProjectNetwork, network_figures, write_network_files
    from foldwise.core.networks.summary import summarize
    from foldwise.core.networks.zoo import ZOO
    from foldwise.core.project import IterationKind, Project

    spec = ZOO["defectnet"].spec
    project = Project.create(folder, name="bench", settings={"network": {"arch": "defectnet"},
                                                             "dataset": {"name": "defects"}})
    summary = summarize(model, spec)
    with project.new_iteration(IterationKind.TRAINED, "defectnet", change={"stage": "train"}) as draft:
        write_network_files(draft.folder, ProjectNetwork(model, spec, "defectnet", None), model, summary)
        draft.metrics.update(network_figures(summary))
    return project


def figures(iteration: Any) -> dict[str, Any]:
    from foldwise.core.prune.stage import plain

    change = iteration.change
    return {"before": plain(change["before"]), "after": plain(change["after"]),
            "accuracy_before_finetune": change["pruned_accuracy"]["value"]}


def main() -> None:
    import torch

    from foldwise.core.prune.stage import PruneSpec, prune_iteration

    splits = defect_splits()
    model, trained = trained_defectnet(splits)
    with tempfile.TemporaryDirectory() as tmp, project_with(model, Path(tmp) / "bench") as project:
        started = time.monotonic()
        iteration = prune_iteration(project, PruneSpec(remove=REMOVE, finetune_epochs=FINETUNE_EPOCHS), splits=splits)
        seconds = time.monotonic() - started
        numbers = figures(iteration)
        removed, recreated = iteration.change["removed"], iteration.change["recreated"]
    before, after = numbers["before"], numbers["after"]
    cut = 1 - after["params"] / before["params"]
    loss_points = (before["accuracy"] - after["accuracy"]) * 100
    report(
        "defectnet_remove_last_block",
        {"params_cut": round(cut, 4), "accuracy_loss_points": round(loss_points, 2)},
        "params cut >= 40 % and accuracy loss <= 2 points after <= 2 fine-tune epochs",
        cut >= 0.40 and loss_points <= 2.0,
        removed=removed,
        recreated=recreated,
        finetune_epochs=FINETUNE_EPOCHS,
        **numbers,
        macs_cut=round(1 - after["macs"] / before["macs"], 4),
        prune_and_finetune_seconds=round(seconds, 1),
        trained=trained,
        test_images=len(splits.test),
        threads=torch.get_num_threads(),
        load_avg_1min=round(os.getloadavg()[0], 2),
    )


if __name__ == "__main__":
    main()
