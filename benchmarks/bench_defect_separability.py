"""How linearly separable is the generated defect set? Logistic regression on raw pixels must stay weak.

Generates the default splits (4,000 / 1,000 / 1,000 at 64×64 RGB, seed 0), fits scikit-learn's
LogisticRegression on the standardised raw pixels of the training split and reports its test accuracy
(goal ≤ 0.80: position, pose, texture and lighting should defeat a linear model), with the generation time
and, for reference, the same model on 16×16 downscaled pixels. Prints one JSON object.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from _common import report

GOAL = 0.80


def _logreg_accuracy(train, test, side: int | None = None) -> tuple[float, float]:
    import cv2
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    def features(ds):
        images = ds.images
        if side is not None:
            images = np.stack(
                [cv2.resize(im.transpose(1, 2, 0), (side, side), interpolation=cv2.INTER_AREA) for im in images]
            )
        return images.reshape(len(images), -1).astype(np.float32) / 255.0

    scaler = StandardScaler().fit(features(train))
    x_train, x_test = scaler.transform(features(train)), scaler.transform(features(test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # capped iterations: a weak fit is the point
        model = LogisticRegression(C=0.01, max_iter=200).fit(x_train, train.labels)
    return float(model.score(x_train, train.labels)), float(model.score(x_test, test.labels))


def main() -> None:
    from foldwise.core.data.defects import GENERATOR_VERSION, generate_defect_splits

    start, cpu = time.perf_counter(), time.process_time()
    splits = generate_defect_splits(seed=0)
    gen_s, gen_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    train_acc, test_acc = _logreg_accuracy(splits.train, splits.test)
    fit_s = time.perf_counter() - start
    _, small_acc = _logreg_accuracy(splits.train, splits.test, side=16)
    report(
        "Logistic regression on raw defect pixels",
        round(test_acc, 4),
        f"≤ {100 * GOAL:.0f} %",
        test_acc <= GOAL,
        measured=f"{100 * test_acc:.1f} %",
        logreg_train_accuracy=round(train_acc, 4),
        logreg_16px_test_accuracy=round(small_acc, 4),
        fit_seconds=round(fit_s, 1),
        generation_seconds=round(gen_s, 2),
        generation_cpu_seconds=round(gen_cpu, 2),
        images=sum(len(ds) for _, ds in splits),
        generator_version=GENERATOR_VERSION,
        load_avg_1min=round(__import__("os").getloadavg()[0], 2),
    )


if __name__ == "__main__":
    main()
