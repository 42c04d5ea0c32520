"""From design points to builds: the iteration each point builds and its :class:`BuildConfig`.

A point with bit widths builds a quantized sibling of the sweep's iteration: the float parent re-quantized
with the iteration's own quantization settings (calibration, scaling) and the point's bits. Points asking
for the same bits share one such iteration, and an existing one made the same way is reused (a resumed sweep
never quantizes twice). Quantizing makes the new iteration current; the sweep's iteration is made current
again afterwards. The folding of an ``autofit`` point is searched in a FINN worker on this machine (FINN's
estimates, seconds) and then built like a given folding; ``target_fps`` is FINN's own SetFolding in the build.
"""

from __future__ import annotations

import contextlib
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.stage import iteration_qonnx
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.iterations import float_source, is_quantized
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, Project
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.sweep.grid import DesignPoint, bits_name

SWEEP_MARK = "sweep_bits"


def saved_quant_config(iteration: Iteration) -> QuantConfig | None:
    """The quantization settings a quantized ``iteration`` was made with (older records gain the defaults of
    fields added since), or None."""
    return QuantConfig.from_saved((iteration.change or {}).get("config")) if is_quantized(iteration) else None


def base_quant_config(iteration: Iteration) -> QuantConfig:
    """The quantization settings ``iteration`` was made with (a float iteration: the defaults)."""
    return saved_quant_config(iteration) or QuantConfig()


def point_quant_config(base: Iteration, bits: dict[str, Any]) -> QuantConfig:
    data = base_quant_config(base).to_dict()
    data.update(weight_bits=bits["weights"], act_bits=bits["acts"], layers=bits.get("layers") or {})
    return QuantConfig.from_dict(data)


def check_points(project: Project, base: Iteration, points: list[DesignPoint]) -> None:
    """InputError (naming the point) for points this iteration cannot build: bits without a float parent,
    layers the network does not have, no QONNX to build as is."""
    with_bits = [p for p in points if p.bits is not None]
    if any(p.bits is None for p in points):
        try:
            iteration_qonnx(base)
        except InputError as exc:
            first = next(p for p in points if p.bits is None)
            raise InputError(f"sweep grid, {first.label}: {exc} (or give every point bits)") from None
    if not with_bits:
        return
    parent = float_source(project, base)
    if parent is None:
        raise InputError(f"sweep grid, {with_bits[0].label}: iteration {base.label} has no float parent to re-quantize")
    named = [p for p in with_bits if p.bits and p.bits.get("layers")]
    if named:
        from foldwise.core.iterations import load_network

        network = load_network(project, parent)
        known = {name for name, _ in network.model.named_modules() if name}
        for point in named:
            unknown = sorted(set(point.bits["layers"]) - known)
            if unknown:
                raise InputError(
                    f"sweep grid, {point.label}: unknown layers {', '.join(unknown)}; the network's "
                    f"layers are: {', '.join(sorted(known))}"
                )


def _matching(project: Project, parent: Iteration, config: QuantConfig) -> Iteration | None:
    wanted = config.to_dict()
    for it in project.iterations:
        change = it.change or {}
        saved = saved_quant_config(it)
        if (
            it.parent == parent.id
            and saved is not None
            and saved.to_dict() == wanted
            and not change.get("qat_epochs")
            and (it.folder / "model.qonnx.onnx").is_file()
        ):
            return it
    return None


def point_iterations(
    project: Project, base: Iteration, points: list[DesignPoint], ctx: JobContext | None = None
) -> dict[int, str]:
    """The iteration id each point builds (quantizing where needed); the base stays the current iteration."""
    ctx = ctx or null_context()
    out: dict[int, str] = {}
    made: dict[str, str] = {}
    todo = [p for p in points if p.bits is not None]
    if todo:  # Brevitas and torch load in seconds: only a sweep that re-quantizes needs them
        from foldwise.core.quantize.config import QuantizeSpec
        from foldwise.core.quantize.stage import quantize_iteration
    current = project.current_id
    try:
        for n, point in enumerate(todo):
            ctx.check_cancelled()
            parent = float_source(project, base)
            assert parent is not None  # check_points refused it
            config = point_quant_config(base, point.bits or {})
            key = repr(sorted(config.to_dict().items()))
            if key not in made:
                found = _matching(project, parent, config)
                if found is None:
                    ctx.progress(n / max(len(todo), 1), f"re-quantizing {parent.label} as {bits_name(point.bits)}")
                    found = quantize_iteration(
                        project,
                        QuantizeSpec(config, iteration=parent.id, name=f"sweep-{bits_name(point.bits)}"),
                        ctx.sub(n / len(todo), (n + 1) / len(todo)),
                    )
                made[key] = found.id
            out[point.index] = made[key]
    finally:
        if project.current_id != current:
            with contextlib.suppress(Exception):
                project.set_current(current)
    for point in points:
        out.setdefault(point.index, base.id)
    return out


def build_config(
    point: DesignPoint, model: Any, worker: FinnWorker | None = None, ctx: JobContext | None = None
) -> BuildConfig:
    """The build of ``point`` (its autofit folding searched now, in ``worker``)."""
    folding = point.folding
    config = BuildConfig(kind=point.kind, board=point.board, clock_mhz=point.clock_mhz)
    if folding["mode"] == "target_fps":
        config.target_fps = int(folding["target_fps"])
    elif folding["mode"] == "file":
        config.folding = folding["path"]
    elif folding["mode"] == "autofit":
        from foldwise.core.finn.autofit import autofit

        fit = autofit(
            model,
            board=point.board,
            clock_mhz=point.clock_mhz,
            budget_lut=folding["lut"],
            budget_bram=folding["bram"],
            baseline=False,
            worker=worker,
            ctx=ctx,
        )
        config.folding = fit.folding
    return config.check()
