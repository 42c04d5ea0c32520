"""A generated industrial-inspection set: nuts, bolts and washers on a conveyor, ``ok`` or ``defect``.

Defect kinds (``meta["kind"]``): crack, chipped_edge, scratch, rust, missing_thread (bolts only); ok samples
have kind ``"none"``. ``meta["part"]`` holds nut / bolt / washer. Pose, scale, position, belt texture,
lighting, blur and noise vary so that a linear model on raw pixels stays weak while a small CNN learns it.
The same seed gives identical arrays. Nothing is downloaded: the belt textures ship in scikit-image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from foldwise.core.atomic import atomic_write_json
from foldwise.core.data._render import (
    KINDS_FOR_PART,
    PART_TYPES,
    background,
    draw_part,
    finish_batch,
)
from foldwise.core.data.dataset import SPLIT_NAMES, ImageDataset, Splits
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context

CLASS_NAMES = ["ok", "defect"]
DEFAULT_SIZES = (4000, 1000, 1000)
# Bump whenever the drawing changes so cached sets are regenerated.
GENERATOR_VERSION = 2
_MANIFEST = "defects.json"
_BATCH = 100


def render_crops(rng: np.random.Generator, parts: np.ndarray, kinds: np.ndarray, size: int = 64) -> np.ndarray:
    """One part per crop (kind a defect kind or ``"none"``), roughly centred; uint8 B×3×size×size."""
    batch = np.empty((len(parts), size, size, 3), np.float32)
    # Defects draw from their own stream, so one seed gives the same parts and poses whatever the defects.
    defect_rng = np.random.default_rng(int(rng.integers(1 << 62)))
    for i, (part, kind) in enumerate(zip(parts, kinds, strict=True)):
        bg = background(rng, size, size)
        r = rng.uniform(0.3, 0.42) * size
        cx, cy = size / 2 + rng.uniform(-0.1, 0.1, 2) * size
        batch[i], _ = draw_part(bg, cx, cy, r, rng.uniform(0, 2 * np.pi), str(part), str(kind), rng, defect_rng)
    return finish_batch(batch, rng).transpose(0, 3, 1, 2)


def _plan(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels exactly half defect, parts balanced within each class, kinds balanced within each part."""
    n_defect = n // 2
    labels = np.r_[np.zeros(n - n_defect, np.int64), np.ones(n_defect, np.int64)]
    parts = np.empty(n, dtype="<U8")
    kinds = np.full(n, "none", dtype="<U16")
    for label, count in ((0, n - n_defect), (1, n_defect)):
        idx = np.flatnonzero(labels == label)
        parts[idx] = np.resize(np.array(PART_TYPES), count)[rng.permutation(count)]
        if label == 1:
            for part in PART_TYPES:
                sel = idx[parts[idx] == part]
                kinds[sel] = np.resize(np.array(KINDS_FOR_PART[part]), len(sel))[rng.permutation(len(sel))]
    order = rng.permutation(n)
    return labels[order], parts[order], kinds[order]


def generate_defect_set(
    n: int,
    seed: int | np.random.SeedSequence = 0,
    size: int = 64,
    name: str = "defects",
    ctx: JobContext | None = None,
) -> ImageDataset:
    """``n`` crops of size×size RGB, about half ``defect``; deterministic for ``seed``."""
    if n < 2 or size < 16:
        raise InputError(f"defect set {name!r}: need at least 2 images of at least 16×16, got {n} of {size}")
    ctx = ctx or null_context()
    rng = np.random.default_rng(seed)
    labels, parts, kinds = _plan(n, rng)
    images = np.empty((n, 3, size, size), np.uint8)
    for i in range(0, n, _BATCH):
        ctx.check_cancelled()
        ctx.progress(i / n, f"rendering {name} {i}/{n}")
        images[i : i + _BATCH] = render_crops(rng, parts[i : i + _BATCH], kinds[i : i + _BATCH], size)
    ctx.progress(1.0, f"rendered {name}")
    return ImageDataset(images, labels, list(CLASS_NAMES), {"part": parts, "kind": kinds}, name)


def generate_defect_splits(
    seed: int = 0,
    sizes: tuple[int, int, int] = DEFAULT_SIZES,
    size: int = 64,
    ctx: JobContext | None = None,
) -> Splits:
    """Train / val / test defect sets (default 4,000 / 1,000 / 1,000 at 64×64); each split has its own stream."""
    if len(sizes) != 3:
        raise InputError(f"defect splits need three sizes (train, val, test), got {sizes!r}")
    ctx = ctx or null_context()
    total = float(sum(sizes))
    streams = np.random.SeedSequence(seed).spawn(3)
    done = 0.0
    sets = []
    for split, n, stream in zip(SPLIT_NAMES, sizes, streams, strict=True):
        sub = ctx.sub(done / total, (done + n) / total)
        sets.append(generate_defect_set(n, stream, size, f"defects-{split}", sub))
        done += n
    return Splits(*sets)


def cache_folder(cache_dir: str | os.PathLike[str], seed: int, size: int) -> Path:
    return Path(cache_dir) / f"defects-{seed}-{size}"


def load_or_generate(
    cache_dir: str | os.PathLike[str],
    seed: int = 0,
    sizes: tuple[int, int, int] = DEFAULT_SIZES,
    size: int = 64,
    ctx: JobContext | None = None,
) -> Splits:
    """The splits cached under ``cache_dir/defects-<seed>-<size>/``, generating and saving them if needed.

    A cache written with other split sizes or an older generator, or one that cannot be read, is replaced.
    """
    ctx = ctx or null_context()
    folder = cache_folder(cache_dir, seed, size)
    wanted = {"version": GENERATOR_VERSION, "seed": int(seed), "size": int(size), "sizes": [int(n) for n in sizes]}
    manifest = folder / _MANIFEST
    if manifest.is_file():
        try:
            found = json.loads(manifest.read_text(encoding="utf-8"))
            if found == wanted:
                splits = Splits.load(folder)
                ctx.log(f"loaded defect set from {folder}")
                ctx.progress(1.0, "loaded cached defect set")
                return splits
            ctx.log(f"cached defect set in {folder} is for {found}; regenerating")
        except (OSError, ValueError, InputError) as exc:
            ctx.log(f"cached defect set in {folder} unreadable ({exc}); regenerating")
    splits = generate_defect_splits(seed, sizes, size, ctx.sub(0.0, 0.95))
    ctx.check_cancelled()
    manifest.unlink(missing_ok=True)
    splits.save(folder)
    atomic_write_json(manifest, wanted)
    ctx.log(f"saved defect set to {folder}")
    ctx.progress(1.0, "saved defect set")
    return splits
