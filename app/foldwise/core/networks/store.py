"""Saving and loading whole networks with their input spec, architecture name and free-form metadata.

The whole module is pickled (``torch.save``), not a state dict: pruned networks no longer match their zoo
architecture's shapes. Loading therefore unpickles (``weights_only=False``) and must only be used on files
the user trusts, like any pickle. Brevitas-quantized networks pickle through
:mod:`foldwise.core.networks._pickle`. The file is a torch zip holding one dict with a format name and
version, so a foreign or newer file is refused with a clear message instead of half-loading.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from foldwise.core.atomic import atomic_write_bytes
from foldwise.core.errors import InputError
from foldwise.core.networks._pickle import pickle_module
from foldwise.core.networks.spec import InputSpec

FORMAT = "foldwise-network"
VERSION = 1


@dataclass
class LoadedModel:
    """A network read back from disk (``model`` is in eval mode)."""

    model: nn.Module
    spec: InputSpec
    arch: str
    extra: dict[str, Any] = field(default_factory=dict)


def save_model(
    path: str | os.PathLike[str],
    model: nn.Module,
    spec: InputSpec,
    arch: str,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` with its spec, architecture name and ``extra`` (JSON-able values) atomically to ``path``.

    ``arch`` is the zoo name the network came from (kept after pruning, for the record) or a free label.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot save network to {target}: folder {target.parent} does not exist")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": str(arch),
        "spec": spec.to_dict(),
        "extra": dict(extra or {}),
        "torch": torch.__version__,
        "model": model,
    }
    buffer = io.BytesIO()
    try:
        torch.save(payload, buffer, pickle_module=pickle_module)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InputError(f"network {arch!r} cannot be saved (not picklable): {exc}") from exc
    atomic_write_bytes(target, buffer.getvalue())
    return target


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Read a file written by :func:`save_model`; InputError naming the file if it is missing, corrupt or foreign."""
    source = Path(path)
    if not source.is_file():
        raise InputError(f"network file not found: {source}")
    if not zipfile.is_zipfile(source):
        raise InputError(f"{source} is not a Foldwise network file (corrupt, truncated or another format)")
    try:
        payload = torch.load(source, map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, ImportError) as exc:
        raise InputError(f"{source} needs code that is not installed: {exc}") from exc
    except Exception as exc:
        raise InputError(f"{source} could not be read (corrupt or truncated?): {type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{source} is a torch file but not a Foldwise network file")
    version = payload.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(f"{source} was written by a newer Foldwise (format version {version}, this reads {VERSION})")
    model = payload.get("model")
    if not isinstance(model, nn.Module):
        raise InputError(f"{source} holds no network")
    model.eval()
    return LoadedModel(
        model=model,
        spec=InputSpec.from_dict(payload.get("spec") or {}),
        arch=str(payload.get("arch", "")),
        extra=dict(payload.get("extra") or {}),
    )

