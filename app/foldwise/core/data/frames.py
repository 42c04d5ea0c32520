"""Whole conveyor camera frames (several parts, with boxes and labels) for the camera demo."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from foldwise.core.data._render import KINDS_FOR_PART, PART_TYPES, background, draw_part, finish_batch
from foldwise.core.errors import InputError


@dataclass(frozen=True)
class ConveyorFrame:
    """A rendered camera frame: RGB ``image`` H×W×3 uint8 and one entry per part.

    ``boxes`` are K×4 int (x0, y0, x1, y1) in pixels, x1/y1 exclusive; ``labels`` 0 ok / 1 defect.
    """

    image: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    parts: list[str]
    kinds: list[str]


def render_conveyor_frame(
    seed: int | np.random.Generator = 0,
    width: int = 320,
    height: int = 240,
    n_parts: tuple[int, int] = (3, 6),
    defect_rate: float = 0.5,
    crop_size: int = 64,
) -> ConveyorFrame:
    """A belt seen from above with ``n_parts`` (inclusive range) parts, drawn at the scale of the training crops.

    A ``crop_size`` window centred on a box looks like a training crop, so :func:`crop_parts` feeds a classifier.
    Parts that do not fit without overlapping are left out.
    """
    if width < crop_size or height < crop_size:
        raise InputError(f"conveyor frame {width}×{height} is smaller than one {crop_size}-px part crop")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    img = background(rng, height, width)
    rail = max(2, int(0.07 * height))
    for y0, y1 in ((0, rail), (height - rail, height)):
        img[y0:y1] = np.float32(rng.uniform(0.35, 0.5))
        img[y1 - 1 if y0 == 0 else y0] *= 0.5
    placed: list[tuple[float, float, float]] = []
    boxes, labels, parts, kinds = [], [], [], []
    for _ in range(int(rng.integers(n_parts[0], n_parts[1] + 1))):
        r = float(rng.uniform(0.3, 0.42) * crop_size)
        reach = 1.15 * r
        for _attempt in range(50):
            cx = float(rng.uniform(reach + 1, width - reach - 1))
            cy = float(rng.uniform(rail + reach + 1, height - rail - reach - 1))
            if all(np.hypot(cx - x, cy - y) > reach + q + 2 for x, y, q in placed):
                break
        else:
            continue
        placed.append((cx, cy, reach))
        part = str(PART_TYPES[rng.integers(len(PART_TYPES))])
        defect = bool(rng.random() < defect_rate)
        kind = str(rng.choice(KINDS_FOR_PART[part])) if defect else "none"
        half = int(np.ceil(reach)) + 3
        x0, y0 = max(0, int(cx) - half), max(0, int(cy) - half)
        x1, y1 = min(width, int(cx) + half + 1), min(height, int(cy) + half + 1)
        patch, alpha = draw_part(img[y0:y1, x0:x1], cx - x0, cy - y0, r, rng.uniform(0, 2 * np.pi), part, kind, rng)
        img[y0:y1, x0:x1] = patch
        ys, xs = np.nonzero(alpha > 0.5)
        boxes.append((x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
        labels.append(int(defect))
        parts.append(part)
        kinds.append(kind)
    image = finish_batch(img[None], rng)[0]
    return ConveyorFrame(image, np.array(boxes, np.int64).reshape(-1, 4), np.array(labels, np.int64), parts, kinds)


def crop_parts(image: np.ndarray, boxes: np.ndarray, size: int = 64) -> np.ndarray:
    """size×size crops centred on each box of an H×W×3 RGB frame (edges replicated); uint8 K×3×size×size."""
    padded = cv2.copyMakeBorder(image, size, size, size, size, cv2.BORDER_REPLICATE)
    out = np.empty((len(boxes), 3, size, size), np.uint8)
    for i, (x0, y0, x1, y1) in enumerate(np.asarray(boxes).reshape(-1, 4)):
        left = round((x0 + x1) / 2 - size / 2) + size
        top = round((y0 + y1) / 2 - size / 2) + size
        out[i] = padded[top : top + size, left : left + size].transpose(2, 0, 1)
    return out
