"""Loading a state dict into a zoo architecture, with every key or shape mismatch named."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.zoo import get_entry

_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net")


def extract_state_dict(obj: Any) -> dict[str, torch.Tensor] | None:
    """The tensor dict inside a checkpoint (top level or under a usual key), or None."""
    if not isinstance(obj, dict):
        return None
    for key in _NESTED_KEYS:
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not obj or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        return None
    # Saved from nn.DataParallel: every key starts with "module.".
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def _shape(t: torch.Tensor) -> str:
    return "×".join(map(str, t.shape)) or "scalar"


def _infer_classes(default: nn.Module, state: dict[str, torch.Tensor]) -> int | None:
    # The last 2-D weight is the classifier; its row count in the file is the file's class count.
    matrices = [k for k, v in default.state_dict().items() if k.endswith("weight") and v.dim() == 2]
    if not matrices or matrices[-1] not in state or state[matrices[-1]].dim() != 2:
        return None
    return int(state[matrices[-1]].shape[0])


def load_zoo_state(
    state: dict[str, torch.Tensor], arch: str, spec: InputSpec | None, num_classes: int | None
) -> tuple[nn.Module | None, list[tuple[str, str]], InputSpec]:
    """(model with the weights loaded or None, problems as (key, reason), spec used)."""
    entry = get_entry(arch)
    spec = spec or entry.spec
    if num_classes is None:
        num_classes = _infer_classes(entry.build(), state) or entry.num_classes
    model = entry.builder(spec, num_classes)
    expected = model.state_dict()
    problems: list[tuple[str, str]] = []
    for key, tensor in expected.items():
        if key not in state:
            problems.append((key, f"missing from the file ({arch} has {_shape(tensor)})"))
        elif state[key].shape != tensor.shape:
            problems.append((key, f"shape {_shape(state[key])} in the file, {_shape(tensor)} in {arch}"))
    problems += [(key, f"in the file but not in {arch}") for key in state if key not in expected]
    if problems:
        return None, problems, spec
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, problems, spec
