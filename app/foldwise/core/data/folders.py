"""A user's image folder as a dataset: one sub-folder per class, images of any size and colour mode."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from foldwise.core.data.dataset import ImageDataset
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class LoadReport:
    """What :func:`load_image_folder` read and what it skipped (with the reason for each file)."""

    folder: Path
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return sum(self.counts.values())

    def skipped_note(self, show: int = 3) -> str:
        """``"; skipped 7 files: a.txt (not an image), ... and 4 more"`` for the one progress line, or ``""``."""
        if not self.skipped:
            return ""
        named = [f"{path.relative_to(self.folder)} ({reason})" for path, reason in self.skipped[:show]]
        more = f" and {len(self.skipped) - show} more (see the log)" if len(self.skipped) > show else ""
        return f"; skipped {len(self.skipped)} file{'s' * (len(self.skipped) != 1)}: {', '.join(named)}{more}"

    def summary(self) -> str:
        """A few lines for the log: counts per class, then each skipped file and why."""
        per_class = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        lines = [f"{self.folder}: {self.loaded} images ({per_class})"]
        if self.empty_classes:
            lines.append(f"class folders without images (ignored): {', '.join(self.empty_classes)}")
        lines += [f"skipped {path.relative_to(self.folder)}: {reason}" for path, reason in self.skipped]
        return "\n".join(lines)


def survey_image_folder(path: str | os.PathLike[str]) -> dict[str, int]:
    """Image files per class sub-folder, counted by extension without reading them (fast, for forms).

    Raises :class:`InputError` with the reason if ``path`` cannot be a dataset: missing, no class
    sub-folders, or fewer than two of them holding image files.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise InputError(f"image folder {root} does not exist or is not a folder")
    counts: dict[str, int] = {}
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        n = sum(1 for item in class_dir.rglob("*") if item.suffix.lower() in IMAGE_EXTENSIONS and item.is_file())
        if n:
            counts[class_dir.name] = n
    if len(counts) < 2:
        found = f"only {next(iter(counts))!r} holds" if counts else "no class sub-folder holds"
        raise InputError(f"image folder {root}: {found} images; expected one sub-folder per class, "
                         f"at least two ({', '.join(IMAGE_EXTENSIONS)})")
    return counts


def load_image_folder(
    path: str | os.PathLike[str],
    size: tuple[int, int] = (64, 64),
    channels: int | None = 3,
    ctx: JobContext | None = None,
) -> tuple[ImageDataset, LoadReport]:
    """Read ``path/<class>/**/*.{png,jpg,jpeg,bmp}`` into an :class:`ImageDataset` of ``size`` (H, W).

    ``channels`` 3 gives RGB, 1 grayscale, ``None`` grayscale only if every image is. Alpha is dropped and
    16-bit images are scaled to 8 bits. Unreadable files and other extensions are skipped and reported.
    Raises :class:`InputError` if the folder is missing, has no class sub-folders, or fewer than two classes
    hold images.
    """
    ctx = ctx or null_context()
    root = Path(path)
    if channels not in (1, 3, None):
        raise InputError(f"image folder {root}: channels must be 1, 3 or None, got {channels!r}")
    height, width = (int(v) for v in size)
    if height < 1 or width < 1:
        raise InputError(f"image folder {root}: image size must be positive, got {size!r}")
    if not root.is_dir():
        raise InputError(f"image folder {root} does not exist or is not a folder")
    report = LoadReport(root)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    report.skipped += [(p, "not inside a class sub-folder") for p in sorted(root.iterdir()) if p.is_file()]
    if not class_dirs:
        raise InputError(f"image folder {root} has no class sub-folders (expected one folder per class)")
    files: list[tuple[str, Path]] = []
    for class_dir in class_dirs:
        for item in sorted(class_dir.rglob("*")):
            if not item.is_file():
                continue
            if item.suffix.lower() in IMAGE_EXTENSIONS:
                files.append((class_dir.name, item))
            else:
                report.skipped.append((item, f"not an image ({item.suffix or 'no extension'})"))

    images: list[np.ndarray] = []
    names: list[str] = []
    kept: list[str] = []
    for i, (class_name, item) in enumerate(files):
        if i % 50 == 0:
            ctx.check_cancelled()
            ctx.progress(i / max(len(files), 1), f"reading {class_name}/{item.name}")
        image, reason = read_image(item)
        if image is None:
            report.skipped.append((item, reason))
            continue
        images.append(_resize(image, height, width))
        names.append(class_name)
        kept.append(item.relative_to(root).as_posix())

    present = sorted(set(names))
    report.empty_classes = [d.name for d in class_dirs if d.name not in present]
    report.counts = {name: names.count(name) for name in present}
    if len(present) < 2:
        found = f"only class {present[0]!r} has" if present else "no class folder has"
        raise InputError(f"image folder {root}: {found} readable images; a classifier needs at least two classes")

    want = channels if channels is not None else (1 if all(im.ndim == 2 for im in images) else 3)
    stacked = np.stack([_to_channels(im, want) for im in images])
    labels = np.array([present.index(n) for n in names], dtype=np.int64)
    ctx.progress(1.0, f"read {len(labels)} images" + report.skipped_note())
    dataset = ImageDataset(stacked, labels, present, {"file": np.array(kept)}, root.name)
    return dataset, report


def read_image(item: Path) -> tuple[np.ndarray | None, str]:
    """An image file as uint8 RGB H×W×3 or gray H×W, or ``(None, reason)`` when it cannot be read."""
    if item.stat().st_size == 0:
        return None, "empty file"
    image = cv2.imread(str(item), cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        return None, "unreadable or corrupt image"
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim != 2:
        return None, f"unsupported pixel layout {image.shape}"
    return image, ""


def fit_image(image: np.ndarray, height: int, width: int, channels: int) -> np.ndarray:
    """One RGB/gray image resized and converted as image folders are for training: uint8 C×H×W."""
    return _to_channels(_resize(image, height, width), channels)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    shrink = h > height or w > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def _to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    if channels == 1:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return gray[None]
    rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return rgb.transpose(2, 0, 1)
