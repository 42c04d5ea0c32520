"""finn-plus's ``DataflowBuildConfig`` as form fields: its JSON schema, fetched from the FINN worker.

The schema is built inside the worker (mashumaro's ``build_json_schema`` on the installed finn-plus, with each
field's ``#:`` doc comment as its description), so a new finn-plus brings its new settings without code here.
:func:`fields_from_schema` turns it into :class:`SettingField` s a GUI can render; fields Foldwise sets
itself (board, clock, folding, outputs, steps, ...) or that hold callables/nested objects are left out.
Chosen values travel with build requests as ``params["settings"]`` (``BuildConfig.settings``) and the worker
applies them to its config (:func:`apply_settings`). This module never imports FINN at import time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from foldwise.core.errors import InputError

if TYPE_CHECKING:
    from foldwise.core.jobs import JobContext

#: set by Foldwise from the panel's own controls or needed by the worker protocol
MANAGED = frozenset({
    "config_path", "model_path", "output_dir", "synth_clk_period_ns", "generate_outputs", "folding_config_file",
    "target_fps", "board", "fpga_part", "shell_flow_type", "steps", "start_step", "stop_step",
    "save_intermediate_models", "enable_build_pdb_debug",
})

#: display groups, first match wins; fields no rule matches go to "Other"
GROUPS: tuple[tuple[str, str], ...] = (
    ("Verification", r"^verif"),
    ("FIFOs", r"fifo"),
    ("Folding & data types", r"^(folding_|mvau_|standalone_thresholds|requant_|minimize_bit_width|"
                             r"max_multithreshold|infer_|specialize_|layouts_|mlo)"),
    ("Synthesis & platform", r"^(hls_clk|vitis_|fpga_memory|stitched_ip|vivado_|cpp_driver|signature)"),
    ("Debug & instrumentation", r"^(enable_|instrumentation_|verbose|console_log|debug_)"),
)


@dataclass
class SettingField:
    """One editable DataflowBuildConfig field.

    ``kind``: ``bool``, ``int``, ``float``, ``str``, ``enum`` (one of ``choices``) or ``enum_list`` (any subset
    of ``choices``); ``nullable``: None is allowed (an empty entry means None).
    """

    name: str
    kind: str
    default: Any = None
    nullable: bool = False
    choices: list[str] = field(default_factory=list)
    description: str = ""
    group: str = "Other"

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def group_of(name: str) -> str:
    return next((group for group, rx in GROUPS if re.search(rx, name)), "Other")


def _field(name: str, prop: dict[str, Any]) -> SettingField | None:
    options = prop.get("anyOf") or [prop]
    nullable = any(o.get("type") == "null" for o in options)
    real = [o for o in options if o.get("type") != "null"]
    if not real:
        return None
    first = real[0]
    types = {o.get("type") for o in real}
    kind: str | None = None
    choices: list[str] = []
    if "enum" in first:
        kind, choices = "enum", [str(c) for c in first["enum"]]
    elif first.get("type") == "array" and "enum" in (first.get("items") or {}):
        kind, choices = "enum_list", [str(c) for c in first["items"]["enum"]]
    elif types == {"boolean"}:
        kind = "bool"
    elif types == {"integer"}:
        kind = "int"
    elif types == {"number"}:
        kind = "float"
    elif types == {"string"}:
        kind = "str"
    if kind is None:
        return None
    default = prop.get("default")
    if kind == "bool" and default is None and not nullable:
        default = False
    return SettingField(name, kind, default, nullable, choices, str(prop.get("description", "")).strip(),
                        group_of(name))


def fields_from_schema(schema: dict[str, Any]) -> tuple[list[SettingField], list[str]]:
    """(editable fields in schema order, names left out because they are nested objects, callables, ...)."""
    fields, skipped = [], []
    for name, prop in (schema.get("properties") or {}).items():
        if name in MANAGED:
            continue
        made = _field(name, prop)
        if made is None:
            skipped.append(name)
        else:
            fields.append(made)
    return fields, skipped


def changed_settings(values: dict[str, Any], fields: list[SettingField]) -> dict[str, Any]:
    """Only the values that differ from FINN's defaults (what a build needs to be told)."""
    defaults = {f.name: f.default for f in fields}
    return {k: v for k, v in values.items() if k in defaults and v != defaults[k]}


def settings_digest(settings: dict[str, Any] | None) -> str:
    """A short key for a settings dict ('' for none): builds with settings keep their own worker cache entry."""
    if not settings:
        return ""
    return ":" + hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------- parent side
def fetch_schema(worker: Any = None, ctx: JobContext | None = None) -> dict[str, Any]:
    """The installed finn-plus's DataflowBuildConfig JSON schema (with descriptions), from the FINN worker."""
    from foldwise.core.finn.worker import get_worker

    return (worker or get_worker()).request("config_schema", {}, ctx)["schema"]


# ------------------------------------------------------------------------------------------- worker side
_DOC_RE = re.compile(r"((?:^[ \t]*#:.*\n)+)[ \t]*(\w+)\s*:", re.MULTILINE)


def field_docs(source: str) -> dict[str, str]:
    """``{field: text}`` from Sphinx ``#:`` comments placed above dataclass fields in ``source``."""
    docs = {}
    for block, name in _DOC_RE.findall(source):
        text = " ".join(line.strip()[2:].strip() for line in block.strip().splitlines())
        docs.setdefault(name, text)
    return docs


def worker_request(params: dict[str, Any]) -> dict[str, Any]:
    """The ``config_schema`` worker request (runs in the worker, where FINN is imported)."""
    import inspect

    from finn.builder.build_dataflow_config import DataflowBuildConfig
    from mashumaro.jsonschema import build_json_schema

    schema = build_json_schema(DataflowBuildConfig).to_dict()
    try:
        docs = field_docs(inspect.getsource(DataflowBuildConfig))
    except (OSError, TypeError):
        docs = {}
    for name, prop in schema.get("properties", {}).items():
        if docs.get(name):
            prop.setdefault("description", docs[name])
    return {"schema": json.loads(json.dumps(schema, default=str))}


def apply_settings(cfg: Any, settings: dict[str, Any] | None) -> Any:
    """Set ``settings`` (JSON values, e.g. enum strings) on a DataflowBuildConfig, typed by FINN's own parser."""
    if not settings:
        return cfg
    managed = sorted(set(settings) & MANAGED)
    if managed:
        raise InputError(f"FINN settings {', '.join(managed)} are set by Foldwise itself, not as advanced settings")
    try:
        typed = type(cfg).from_dict(dict(settings))
    except Exception as exc:  # mashumaro names the bad field and value
        raise InputError(f"invalid FINN build setting: {exc}") from exc
    for name in settings:
        setattr(cfg, name, getattr(typed, name))
    return cfg
