"""Rounding ties vs wrong values: explain_mismatch over a real W8A8 LeNet5, its QONNX and qonnx's execution
context, where one activation of one image is moved by hand the way a tie (or a bug) would move it."""

from __future__ import annotations

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper

from foldwise.core.quantize._ties import explain_mismatch
from foldwise.core.quantize.export import _run_qonnx, export_qonnx_file


@pytest.fixture(scope="module")
def executed(w8a8, digits, tmp_path_factory):
    path = export_qonnx_file(w8a8.network, tmp_path_factory.mktemp("ties") / "model.qonnx.onnx")
    model = ModelWrapper(str(path))
    batch = digits["test_x"][:4].float()
    return model, batch, _run_qonnx(model, batch.numpy(), full=True)


def _act_quant(model, index: int):
    inits = {i.name for i in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type == "Quant" and n.input[0] not in inits][index]


def _nudge(context: dict, node, input_level: float, steps: float) -> dict:
    """Row 1, first positive element of ``node``'s output: its input set to ``input_level`` steps, output moved."""
    changed = {k: np.array(v, copy=True) for k, v in context.items()}
    out, scale = changed[node.output[0]], float(np.asarray(changed[node.input[1]]).reshape(-1)[0])
    flat = np.flatnonzero(out[1] > 0)[0]
    index = (1, *np.unravel_index(flat, out[1].shape))
    changed[node.input[0]][index] = input_level * scale
    out[index] += steps * scale
    return changed


def test_a_tie_at_a_high_level_is_one_whole_step_despite_float32_rounding(w8a8, executed):
    # A dequantized k·scale in float32 is off the grid by up to ~6e-8·k steps, so at an 8-bit ReLU's levels
    # (in the hundreds) two neighbours held in float32 are not exactly one step apart: find the element where
    # the file's value one step up lands farthest from that.
    model, batch, context = executed
    node = _act_quant(model, 1)
    out = context[node.output[0]][1]
    scale = float(np.asarray(context[node.input[1]]).reshape(-1)[0])
    levels = np.rint(out / scale)
    moved = ((levels + 1) * scale).astype(np.float32)
    error = np.abs((moved.astype(np.float64) - out) / scale - 1.0)
    flat = int(np.argmax(np.where(out > 0, error, 0)))
    index = (1, *np.unravel_index(flat, out.shape))
    assert error.flat[flat] > 1e-6, "this network has no level where float32 rounding shows"
    changed = {k: np.array(v, copy=True) for k, v in context.items()}
    changed[node.input[0]][index] = np.float32((levels.flat[flat] + 0.5 + 4e-6) * scale)
    changed[node.output[0]][index] = moved.flat[flat]
    (found,) = explain_mismatch(w8a8.network, model, batch, changed, [1])
    assert found["tie"] and found["steps_apart"] == 1.0 and found["layer"] == "features.relu2", found


def test_agreeing_images_have_nothing_to_explain(w8a8, executed):
    model, batch, context = executed
    (found,) = explain_mismatch(w8a8.network, model, batch, context, [1])
    assert not found["tie"] and "agrees" in found["note"]


def test_a_value_on_a_rounding_boundary_one_step_apart_is_a_tie(w8a8, executed):
    model, batch, context = executed
    node = _act_quant(model, 1)
    (found,) = explain_mismatch(w8a8.network, model, batch, _nudge(context, node, 7.5 + 4e-6, 1.0), [1])
    assert found["tie"] and found["node"] == node.name and found["layer"] == "features.relu2"
    assert found["elements"] == 1 and found["steps_apart"] == pytest.approx(1.0)


@pytest.mark.parametrize("level, steps", [(7.2, 1.0), (7.5, 2.0)])
def test_off_boundary_or_two_steps_is_not_a_tie(w8a8, executed, level, steps):
    model, batch, context = executed
    node = _act_quant(model, 0)
    (found,) = explain_mismatch(w8a8.network, model, batch, _nudge(context, node, level, steps), [1])
    assert not found["tie"] and found["layer"] == "features.relu1"
