"""A small DefectNet project made quickly: a few hundred generated crops as an image folder, one epoch."""

from __future__ import annotations

from pathlib import Path


def make_defect_project(path: Path, crops: Path, quantize: bool = False, n: int = 320, epochs: int = 8) -> Path:
    """``path``: a defect-demo project over ``crops`` (``n`` generated crops, ok/ and defect/), trained
    ``epochs`` epochs; with ``quantize`` its W4A4 quantization (64 calibration images) is the current iteration."""
    import cv2

    from foldwise.core.data.defects import generate_defect_set
    from foldwise.core.examples import create_from_example
    from foldwise.core.networks.train import TrainConfig
    from foldwise.core.training import TrainSpec, train_iteration

    data = generate_defect_set(n, seed=5)
    for i, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
        folder = crops / data.class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{i:04d}.png"), cv2.cvtColor(image.transpose(1, 2, 0), cv2.COLOR_RGB2BGR))
    with create_from_example(path, "defect-demo") as project:
        project.update_settings(dataset={"name": "folder", "path": str(crops), "seed": 0})
        # Small batches: a few hundred crops then make enough Adam steps for a network whose output depends on
        # its input (one epoch of 64-image batches left every ReLU dead and the output constant).
        train_iteration(project, TrainSpec(TrainConfig(epochs=epochs, batch_size=16, patience=None)))
        if quantize:
            from foldwise.core.quantize.config import QuantConfig, QuantizeSpec
            from foldwise.core.quantize.stage import quantize_iteration

            quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=64)))
    return path
