"""What the FINN worker does per request kind. Imported only inside the worker process (it imports FINN).

Builds go through FINN's own ``build_dataflow_cfg`` with the builder's step lists; what-ifs call the same step
functions and FINN's analysis passes on a post-specialization model cached per (model hash, FPGA part).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path
from typing import Any

from finn.analysis.fpgadataflow.dataflow_performance import dataflow_performance
from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer
from finn.analysis.fpgadataflow.res_estimation import res_estimation
from finn.builder.build_dataflow import build_dataflow_cfg
from finn.builder.build_dataflow_config import (
    DataflowBuildConfig,
    DataflowOutputType,
    ShellFlowType,
    default_build_dataflow_steps,
    estimate_only_dataflow_steps,
    hw_codegen_dataflow_steps,
)
from finn.builder.build_dataflow_steps import build_dataflow_step_lookup
from finn.transformation.fpgadataflow.annotate_cycles import AnnotateCycles
from finn.util.basic import part_map
from finn.util.exception import FINNUserError
from qonnx.core.modelwrapper import ModelWrapper

from foldwise.core.errors import (
    DiskFullError,
    FoldwiseError,
    InputError,
    ToolMissingError,
    is_disk_full,
    os_error_message,
)
from foldwise.core.finn import _worker_legal as legal
from foldwise.core.finn import _worker_topology as topology
from foldwise.core.finn import config_schema
from foldwise.core.finn.kinds import (
    DATAFLOW_PARENT,
    DATAFLOW_PARTITION,
    EMULATION_DIR,
    EXTERNAL_WEIGHTS_REPORT,
    BuildKind,
)
from foldwise.core.finn.tools import find_vitis_hls, find_vivado, finn_version

_PREP_STEPS = estimate_only_dataflow_steps[: estimate_only_dataflow_steps.index("step_specialize_layers") + 1]

_channel: Any = None
_scratch = Path(".")
#: (model sha256, part) -> {"spec": post-specialization model, "base": + minimize_bit_width, "cpu_nodes",
#: described nodes and option tables}; the least recently used beyond _CACHE_SIZE are dropped (``_entry``)
_cache: dict[tuple[str, str], dict[str, Any]] = {}
_CACHE_SIZE = 4


def _entry(key: tuple[str, str]) -> dict[str, Any]:
    """The cache entry of ``key``, now the most recently used; a CNV-w1a1 entry holds ~15 MB of graphs."""
    entry = _cache.pop(key, None)
    _cache[key] = entry = {} if entry is None else entry
    while len(_cache) > _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    return entry


def init(channel: Any, scratch: Path) -> None:
    global _channel, _scratch
    _channel, _scratch = channel, scratch


def _progress(fraction: float, message: str) -> None:
    _channel.progress(fraction, message)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model_path(params: dict[str, Any]) -> Path:
    path = Path(params["model"])
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    return path


def _part(params: dict[str, Any]) -> str:
    if params.get("part"):
        return str(params["part"])
    board = params.get("board") or "Pynq-Z2"
    if board not in part_map:
        raise InputError(f"FINN does not know board {board!r}; it knows: {', '.join(part_map)}")
    return part_map[board]


def _cfg(params: dict[str, Any], output_dir: Path, **extra: Any) -> DataflowBuildConfig:
    board = params.get("board") or "Pynq-Z2"
    cfg = DataflowBuildConfig(
        output_dir=str(output_dir),
        board=board,
        fpga_part=_part(params),
        synth_clk_period_ns=float(params.get("clock_ns", 10.0)),
        generate_outputs=[DataflowOutputType.ESTIMATE_REPORTS],
        enable_build_pdb_debug=False,
        **extra,
    )
    return config_schema.apply_settings(cfg, params.get("settings"))  # advanced settings (build kinds only)


def _record_step(step: Callable, failures: dict[str, Any]) -> Callable:
    """Wrap a FINN step, keeping its name, so the exception FINN's builder swallows can be re-raised typed."""

    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        try:
            return step(model, cfg)
        except BaseException as exc:
            failures.setdefault("step", step.__name__)
            failures.setdefault("error", exc)
            raise

    return run


def _raise_failure(failures: dict[str, Any], build_dir: Path, cpu_nodes: list[dict[str, str]]) -> None:
    exc = failures.get("error")
    step = failures.get("step", "?")
    log = build_dir / "build_dataflow.log"
    if isinstance(exc, FoldwiseError):
        raise exc
    if exc is not None and is_disk_full(exc):
        raise DiskFullError(f"FINN's {step} stopped: {os_error_message(exc)}")
    if step == "step_create_dataflow_partition" and cpu_nodes:
        raise InputError(f"FINN cannot convert this model to hardware. Nodes left on the CPU: "
                         f"{_cpu_listing(cpu_nodes)}")
    if isinstance(exc, FINNUserError):
        raise InputError(f"FINN rejected the model in {step}: {exc} (log: {log})")
    raise FoldwiseError(f"FINN failed in {step}: {type(exc).__name__}: {exc} (log: {log})")


def _steps_with_hooks(names: list[str], key: tuple[str, str], params: dict, failures: dict) -> list[Callable]:
    """FINN's steps, each recorded; specialization also fills the what-if cache, folding is validated first."""
    steps = []
    for name in names:
        fn = topology.CUSTOM_STEPS.get(name) or build_dataflow_step_lookup[name]
        if name == "step_create_dataflow_partition":
            fn = _with_cpu_nodes(_with_dataflow_copy(fn), key, bool(params.get("allow_cpu_compute")))
        elif name == "step_specialize_layers":
            fn = _with_capture(fn, key)
        elif name == "step_apply_folding_config" and params.get("folding"):
            fn = _with_validation(fn, key, params)
        elif name == "step_generate_estimate_reports":
            fn = _with_external_weights(fn)
        steps.append(_record_step(fn, failures))
    return steps


def _cpu_listing(nodes: list[dict[str, str]]) -> str:
    return "; ".join(f"{n['name']} ({n['op_type']}): {n['why']}" for n in nodes)


def _with_cpu_nodes(step: Callable, key: tuple[str, str], allow_cpu_compute: bool) -> Callable:
    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        nodes = legal.cpu_nodes(model)
        _entry(key)["cpu_nodes"] = nodes
        # FINN would estimate only the part it converted and silently leave the compute to the host
        if not allow_cpu_compute and any(n["op_type"] in legal.COMPUTE_OPS for n in nodes):
            raise InputError(f"FINN cannot convert this model to hardware. Nodes left on the CPU: "
                             f"{_cpu_listing(nodes)}")
        return step(model, cfg)

    return run


def _with_dataflow_copy(step: Callable) -> Callable:
    """Keep FINN's dataflow model (the parent graph and its one partition of generic hardware layers, before
    specialization) in ``<build>/emulation/``: the emulated board executes it in place of a bitfile."""

    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        saving = cfg.save_intermediate_models
        cfg.save_intermediate_models = True  # the step writes the parent graph only when saving
        try:
            partition = step(model, cfg)
        finally:
            cfg.save_intermediate_models = saving
        target = Path(cfg.output_dir) / EMULATION_DIR
        target.mkdir(exist_ok=True)
        parent = ModelWrapper(str(cfg.get_intermediate_models_directory() / "dataflow_parent.onnx"))
        for node in parent.get_nodes_by_op_type("StreamingDataflowPartition"):
            for attr in node.attribute:
                if attr.name == "model":  # an absolute path into this build: the package carries the file
                    attr.s = DATAFLOW_PARTITION.encode()
        parent.save(str(target / DATAFLOW_PARENT))
        partition.save(str(target / DATAFLOW_PARTITION))
        return partition

    return run


def _with_capture(step: Callable, key: tuple[str, str]) -> Callable:
    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        model = step(model, cfg)
        _entry(key)["spec"] = copy.deepcopy(model)
        return model

    return run


def _with_external_weights(step: Callable) -> Callable:
    """Beside FINN's estimate reports: the bytes per frame of each weight stream read from DRAM (FINN's
    reports count those layers' weight memory as none and say nothing of the stream)."""

    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        model = step(model, cfg)
        path = Path(cfg.output_dir) / "report" / EXTERNAL_WEIGHTS_REPORT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(legal.external_weight_streams(model), indent=2), encoding="utf-8")
        return model

    return run


def _with_validation(step: Callable, key: tuple[str, str], params: dict) -> Callable:
    @wraps(step)
    def run(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
        legal.validate(model, params["folding"], key[1])
        return step(model, cfg)

    return run


def _write_meta(build_dir: Path, **meta: Any) -> None:
    (build_dir / "foldwise_build.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")


def _build(params: dict[str, Any], step_names: list[str], outputs: list[DataflowOutputType], kind: str) -> dict:
    model = _model_path(params)
    out = Path(params["output_dir"]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    part = _part(params)
    settings = params.get("settings") or {}
    # a build with advanced settings may prepare another graph: keep it out of the what-if cache
    key = (_sha256(model) + config_schema.settings_digest(settings), part)
    folding = params.get("folding")
    extra: dict[str, Any] = {}
    if folding:
        cached = _cache.get(key, {}).get("spec")
        if cached is not None:  # reject an illegal folding before anything runs
            legal.validate(cached, folding, part, _described(_cache[key], part))
        folding_file = out / "folding_config.json"
        folding_file.write_text(json.dumps(folding, indent=2), encoding="utf-8")
        extra["folding_config_file"] = folding_file
    if params.get("target_fps"):
        extra["target_fps"] = int(params["target_fps"])
    if params.get("start_step"):  # resume: FINN reloads the previous step's intermediate model
        extra["start_step"] = params["start_step"]
    board = params.get("board") or "Pynq-Z2"
    if kind == "full_build":
        zynq = board not in ("U50", "U200", "U250", "U280", "U55C")
        extra["shell_flow_type"] = ShellFlowType.VIVADO_ZYNQ if zynq else ShellFlowType.VITIS_ALVEO
    failures: dict[str, Any] = {}
    step_names, streamlining = topology.dataflow_steps(ModelWrapper(str(model)), step_names)
    cfg = _cfg(params, out, steps=_steps_with_hooks(step_names, key, params, failures),
               save_intermediate_models=bool(params.get("keep_intermediate")), **extra)
    cfg.generate_outputs = outputs
    _channel.span = (0.0, 0.98)
    started = time.time()
    rc = build_dataflow_cfg(str(model), cfg)
    cpu = _cache.get(key, {}).get("cpu_nodes", [])
    if rc != 0:
        _raise_failure(failures, out, cpu)
    if not params.get("keep_intermediate"):
        shutil.rmtree(out / "intermediate_models", ignore_errors=True)
    seconds = time.time() - started
    _write_meta(out, kind=BuildKind.parse(kind).value, model=str(model), model_sha256=key[0][:64], board=board,
                part=part, settings=settings,
                clock_ns=cfg.synth_clk_period_ns, target_fps=cfg.target_fps,
                folding_file=str(extra.get("folding_config_file") or "") or None, cpu_nodes=cpu,
                finn_version=finn_version(), seconds=seconds, steps=[s.__name__ for s in cfg.steps],
                streamlining=streamlining)
    return {"build_dir": str(out), "seconds": seconds, "cpu_nodes": cpu, "model_sha256": key[0],
            "streamlining": streamlining}


def estimate(params: dict[str, Any]) -> dict[str, Any]:
    return _build(params, list(estimate_only_dataflow_steps), [DataflowOutputType.ESTIMATE_REPORTS], "estimate")


def hls_codegen(params: dict[str, Any]) -> dict[str, Any]:
    from finn.util.settings import get_settings

    settings = get_settings()
    previous = settings.finn_build_dir
    # generated code lands in FINN_BUILD_DIR: point it into the build dir so the code is kept with it
    codegen = Path(params["output_dir"]).resolve() / "codegen"
    codegen.mkdir(parents=True, exist_ok=True)
    settings.finn_build_dir = codegen
    try:
        result = _build(params, list(hw_codegen_dataflow_steps), [DataflowOutputType.ESTIMATE_REPORTS],
                        "hls_codegen")
    finally:
        settings.finn_build_dir = previous
    result["codegen_dir"] = str(codegen)
    return result


def full_build(params: dict[str, Any]) -> dict[str, Any]:
    missing = [name for name, tool in (("Vivado", find_vivado()), ("Vitis HLS", find_vitis_hls())) if tool is None]
    if missing:
        raise ToolMissingError(
            f"a full FINN build needs {' and '.join(missing)} (2022.2 or 2024.2), not found on this machine; "
            "FINN's estimates (foldwise estimate) need no Xilinx tools"
        )
    outputs = [DataflowOutputType.ESTIMATE_REPORTS, DataflowOutputType.STITCHED_IP,
               DataflowOutputType.RTLSIM_PERFORMANCE, DataflowOutputType.BITFILE,
               DataflowOutputType.PYNQ_DRIVER, DataflowOutputType.DEPLOYMENT_PACKAGE]
    return _build(params, list(default_build_dataflow_steps), outputs, "full_build")


def _prepared(params: dict[str, Any]) -> tuple[tuple[str, str], dict[str, Any]]:
    """The cached post-specialization (``spec``) and bit-width-minimized (``base``) models, built if needed."""
    model_path = _model_path(params)
    part = _part(params)
    key = (_sha256(model_path), part)
    entry = _entry(key)
    cfg = _cfg(params, _scratch / "prep" / key[0][:12])
    if entry.get("spec") is None:
        failures: dict[str, Any] = {}
        model = ModelWrapper(str(model_path))
        names, entry["streamlining"] = topology.dataflow_steps(model, _PREP_STEPS)
        steps = _steps_with_hooks(names, key, params, failures)
        for i, step in enumerate(steps):
            _progress(0.6 * i / len(steps), f"{step.__name__} [{i + 1}/{len(steps)}]")
            try:
                model = step(model, cfg)
            except Exception:
                _raise_failure(failures, Path(cfg.output_dir), entry.get("cpu_nodes", []))
    if entry.get("base") is None:
        _progress(0.6, "step_minimize_bit_width")
        entry["base"] = build_dataflow_step_lookup["step_minimize_bit_width"](copy.deepcopy(entry["spec"]), cfg)
    return key, entry


def _described(entry: dict[str, Any], part: str) -> list[dict[str, Any]]:
    """The cached ``describe_nodes`` of a prepared model (legal values do not depend on the folding)."""
    which = "base" if entry.get("base") is not None else "spec"
    if ("nodes", which) not in entry:  # base (bit widths minimized) gives the estimates a build would
        entry[("nodes", which)] = legal.describe_nodes(entry[which], part)
    return entry[("nodes", which)]


def _analyse(model: ModelWrapper, part: str, clock_ns: float) -> dict[str, Any]:
    """FINN's estimate analyses, as step_generate_estimate_reports runs them (without writing files)."""
    cycles = model.analysis(exp_cycles_per_layer)
    resources = model.analysis(partial(res_estimation, fpgapart=part))
    model = model.transform(AnnotateCycles())
    perf = dict(model.analysis(dataflow_performance))
    perf["estimated_throughput_fps"] = (10**9 / clock_ns) / perf["max_cycles"]
    perf["estimated_latency_ns"] = perf["critical_path_cycles"] * clock_ns
    return {"node_cycles": cycles, "node_resources": resources, "performance": perf,
            "external_weights": legal.external_weight_streams(model)}


def _folded(spec: ModelWrapper, params: dict[str, Any], cfg: DataflowBuildConfig) -> tuple[ModelWrapper, dict]:
    """Apply a folding (or SetFolding for ``target_fps``) with FINN's own steps, as an estimate build does."""
    model = copy.deepcopy(spec)
    report_dir = cfg.get_report_directory()
    if params.get("target_fps"):
        cfg.target_fps = int(params["target_fps"])
        model = build_dataflow_step_lookup["step_target_fps_parallelization"](model, cfg)
        applied = report_dir / "auto_folding_config.json"
    else:
        folding_file = Path(cfg.output_dir) / "folding_config.json"
        folding_file.write_text(json.dumps(params.get("folding") or {"Defaults": {}}), encoding="utf-8")
        cfg.folding_config_file = folding_file
        applied = report_dir / "applied_folding_config.json"
    model = build_dataflow_step_lookup["step_apply_folding_config"](model, cfg)
    model = build_dataflow_step_lookup["step_minimize_bit_width"](model, cfg)
    return model, json.loads(applied.read_text(encoding="utf-8"))


def reestimate(params: dict[str, Any]) -> dict[str, Any]:
    key, entry = _prepared(params)
    folding = params.get("folding") or {}
    legal.validate(entry["spec"], folding, key[1], _described(entry, key[1]))
    _progress(0.8, "re-estimating")
    cfg = _cfg(params, _scratch / "reestimate")
    model, applied = _folded(entry["spec"], {"folding": folding}, cfg)
    return {**_analyse(model, key[1], cfg.synth_clk_period_ns), "folding": applied, "model_sha256": key[0]}


def setfolding_sweep(params: dict[str, Any]) -> dict[str, Any]:
    """FINN's SetFolding for each ``target_fps`` in turn; stops after N results in a row over ``budget``."""
    key, entry = _prepared(params)
    budget: dict[str, float] = params.get("budget") or {}
    targets = [int(t) for t in params.get("target_fps_list", [])]
    results, over_in_a_row = [], 0
    for i, target in enumerate(targets):
        _progress(0.65 + 0.35 * i / max(len(targets), 1), f"SetFolding target {target} fps")
        cfg = _cfg(params, _scratch / "setfolding")
        model, applied = _folded(entry["spec"], {"target_fps": target}, cfg)
        res = {**_analyse(model, key[1], cfg.synth_clk_period_ns), "folding": applied, "target_fps": target}
        results.append(res)
        totals = legal.totals(res["node_resources"])
        over = any(totals.get(k, 0) > v for k, v in budget.items())
        over_in_a_row = over_in_a_row + 1 if over else 0
        if budget and over_in_a_row >= int(params.get("stop_after_over", 3)):
            break
    return {"results": results, "model_sha256": key[0]}


def hw_nodes(params: dict[str, Any]) -> dict[str, Any]:
    key, entry = _prepared(params)
    _progress(0.8, "legal folding values")
    nodes = _described(entry, key[1])
    return {"nodes": nodes, "cpu_nodes": entry.get("cpu_nodes", []), "model_sha256": key[0], "part": key[1]}


def options(params: dict[str, Any]) -> dict[str, Any]:
    """Per node (or tied group), every legal PE/SIMD x memory-knob choice with FINN's cycles and resources."""
    key, entry = _prepared(params)
    _progress(0.7, "estimating every legal folding per node")
    knobs = bool(params.get("knobs", True))
    if ("options", knobs) not in entry:
        entry[("options", knobs)] = legal.option_tables(entry["base"], key[1], knobs=knobs)
    groups = entry[("options", knobs)]
    return {"groups": groups, "model_sha256": key[0], "part": key[1]}


def info(params: dict[str, Any]) -> dict[str, Any]:
    return {"finn_version": finn_version(), "part_map": dict(part_map), "cached_models": len(_cache),
            "cached": [sha for sha, _part in _cache]}  # least recently used first


KINDS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "estimate": estimate,
    "hw_nodes": hw_nodes,
    "reestimate": reestimate,
    "setfolding_sweep": setfolding_sweep,
    "options": options,
    "hls_codegen": hls_codegen,
    "full_build": full_build,
    "info": info,
    "config_schema": config_schema.worker_request,
}


def dispatch(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise InputError(f"unknown FINN worker request {kind!r}; known: {', '.join(KINDS)}")
    try:
        return KINDS[kind](params)
    finally:
        _channel.span = (0.0, 1.0)
