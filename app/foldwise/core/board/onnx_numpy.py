"""A small ONNX interpreter in numpy: the fallback a device runs when it has no ONNX Runtime.

Runs ON THE DEVICE as well as on the host, so it needs only numpy and the standard library (Python 3.6+, as on
a Jetson Nano's JetPack 4; no ``onnx`` package either): :func:`load_model` reads the ONNX protobuf itself (the
few messages a model needs), constant subgraphs (QCDQ weights: an INT8 initializer through
DequantizeLinear) are computed once at load, and :meth:`NumpyModel.run` executes the rest node by node.

It covers what Foldwise's zoo exports, float and QCDQ: Conv, Relu, MaxPool, AveragePool, Global*Pool, Gemm,
MatMul, Add/Sub/Mul/Div, Flatten, Reshape, Transpose, BatchNormalization, QuantizeLinear, DequantizeLinear,
Clip, Softmax and a few shape ops. Anything else raises :class:`UnsupportedOp` naming it. Float results match
ONNX Runtime up to summation order (about 1e-6 relative), so a value next to a rounding boundary of a
QuantizeLinear may land one step away; the host test pins how close it is.
"""

import struct

import numpy as np

# ruff: noqa: B905 (zip(strict=) needs Python 3.10; this file runs on the device's Python, 3.6 and up)


class OnnxFormatError(ValueError):
    """The file is not an ONNX model this reader understands."""


class UnsupportedOp(ValueError):
    """The model uses an operator (or attribute) the numpy fallback does not implement."""


# ------------------------------------------------------------------------------------------ protobuf reading
def _varint(buf, pos):
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise OnnxFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """Yield (field number, wire type, value) of one message: ints for varints, memoryviews otherwise."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise OnnxFormatError(f"unsupported protobuf wire type {wire}")
        if pos > end:
            raise OnnxFormatError("truncated message")
        yield number, wire, value


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def _ints(wire, value):
    """A repeated integer field's elements (packed or not)."""
    if wire == 0:
        return [_signed(value)]
    out, pos = [], 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(_signed(item))
    return out


def _text(value):
    return bytes(value).decode("utf-8", "replace")


_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
           9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def _tensor(buf):
    dims, dtype_id, name, raw = [], 1, "", None
    floats, ints, doubles = [], [], []
    for number, wire, value in _fields(buf):
        if number == 1:
            dims.extend(_ints(wire, value))
        elif number == 2:
            dtype_id = value
        elif number == 4:
            floats.append(np.frombuffer(bytes(value), "<f4") if wire == 2 else
                          np.array(struct.unpack("<f", bytes(value)), np.float32))
        elif number in (5, 7, 11):
            ints.extend(_ints(wire, value))
        elif number == 8:
            name = _text(value)
        elif number == 9:
            raw = bytes(value)
        elif number == 10:
            doubles.append(np.frombuffer(bytes(value), "<f8") if wire == 2 else
                           np.array(struct.unpack("<d", bytes(value))))
        elif number == 14 and value == 1:
            raise OnnxFormatError(f"tensor {name!r} keeps its data in an external file: save the model as one file")
    if dtype_id not in _DTYPES:
        raise OnnxFormatError(f"tensor {name!r} has an unsupported data type {dtype_id}")
    dtype = np.dtype(_DTYPES[dtype_id])
    if raw is not None:
        data = np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype)
    elif floats:
        data = np.concatenate(floats).astype(dtype)
    elif doubles:
        data = np.concatenate(doubles).astype(dtype)
    elif dtype == np.float16:
        data = np.array(ints, np.uint16).view(np.float16)
    else:
        data = np.array(ints, np.int64).astype(dtype)
    return name, data.reshape([int(d) for d in dims])


def _attribute(buf):
    name, kind, fields = "", None, {}
    for number, wire, value in _fields(buf):
        if number == 1:
            name = _text(value)
        elif number == 20:
            kind = value
        elif number == 2:
            fields["f"] = struct.unpack("<f", bytes(value))[0]
        elif number == 3:
            fields["i"] = _signed(value)
        elif number == 4:
            fields["s"] = _text(value)
        elif number == 5:
            fields["t"] = _tensor(value)[1]
        elif number == 7:
            fields.setdefault("floats", []).extend(
                np.frombuffer(bytes(value), "<f4").tolist() if wire == 2 else struct.unpack("<f", bytes(value)))
        elif number == 8:
            fields.setdefault("ints", []).extend(_ints(wire, value))
        elif number == 9:
            fields.setdefault("strings", []).append(_text(value))
    by_kind = {1: "f", 2: "i", 3: "s", 4: "t", 6: "floats", 7: "ints", 8: "strings"}
    key = by_kind.get(kind) if kind else next(iter(fields), None)
    return name, fields.get(key, [] if key in ("floats", "ints", "strings") else None)


def _node(buf):
    node = {"inputs": [], "outputs": [], "name": "", "op": "", "attrs": {}, "domain": ""}
    for number, _wire, value in _fields(buf):
        if number == 1:
            node["inputs"].append(_text(value))
        elif number == 2:
            node["outputs"].append(_text(value))
        elif number == 3:
            node["name"] = _text(value)
        elif number == 4:
            node["op"] = _text(value)
        elif number == 5:
            key, attr = _attribute(value)
            node["attrs"][key] = attr
        elif number == 7:
            node["domain"] = _text(value)
    return node


def _value_name(buf):
    for number, _wire, value in _fields(buf):
        if number == 1:
            return _text(value)
    return ""


def _graph(buf):
    graph = {"nodes": [], "initializers": {}, "inputs": [], "outputs": []}
    for number, _wire, value in _fields(buf):
        if number == 1:
            graph["nodes"].append(_node(value))
        elif number == 5:
            name, array = _tensor(value)
            graph["initializers"][name] = array
        elif number == 11:
            graph["inputs"].append(_value_name(value))
        elif number == 12:
            graph["outputs"].append(_value_name(value))
    return graph


def load_model(path):
    """The :class:`NumpyModel` of the ONNX file at ``path``."""
    with open(path, "rb") as handle:
        data = memoryview(handle.read())
    graph, opset = None, 13
    try:
        for number, _wire, value in _fields(data):
            if number == 7:
                graph = _graph(value)
            elif number == 8:
                domain, version = "", None
                for n, _w, v in _fields(value):
                    if n == 1:
                        domain = _text(v)
                    elif n == 2:
                        version = v
                if domain in ("", "ai.onnx") and version:
                    opset = int(version)
    except (IndexError, ValueError, struct.error) as exc:
        raise OnnxFormatError(f"{path} is not a readable ONNX model: {exc}") from None
    if graph is None or not graph["nodes"]:
        raise OnnxFormatError(f"{path} holds no ONNX graph")
    return NumpyModel(graph, opset)


# ------------------------------------------------------------------------------------------------- the ops
def _pair(attrs, key, default, n=2):
    value = attrs.get(key)
    return list(value) if value else [default] * n


def _windows(x, kernel, strides, dilations):
    """A strided view (N, C, oH, oW, kH, kW) of the already padded ``x``."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    oh, ow = (h - (kh - 1) * dh - 1) // sh + 1, (w - (kw - 1) * dw - 1) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw), writeable=False)


def _check_auto_pad(op, attrs):
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise UnsupportedOp("{} with auto_pad={} (only explicit pads)".format(op, attrs["auto_pad"]))


def _pad(x, pads, value):
    top, left, bottom, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value)


def _conv(attrs, x, weight, bias=None):
    _check_auto_pad("Conv", attrs)
    if x.ndim != 4:
        raise UnsupportedOp(f"Conv on {x.ndim - 2}-D input (only 2-D images)")
    groups = int(attrs.get("group", 1))
    m, cg, kh, kw = weight.shape
    cols = _windows(_pad(x, _pair(attrs, "pads", 0, 4), 0), (kh, kw), _pair(attrs, "strides", 1),
                    _pair(attrs, "dilations", 1))
    n, _c, oh, ow = cols.shape[:4]
    out = np.empty((n, m, oh, ow), np.result_type(x, weight))
    mg = m // groups
    for g in range(groups):
        part = cols[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, cg * kh * kw)
        res = part @ weight[g * mg:(g + 1) * mg].reshape(mg, -1).T
        out[:, g * mg:(g + 1) * mg] = res.reshape(n, oh, ow, mg).transpose(0, 3, 1, 2)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def _pool_pads(attrs, x, kernel, strides, dilations):
    pads = _pair(attrs, "pads", 0, 4)
    if int(attrs.get("ceil_mode", 0)):
        for axis, (k, s, d) in enumerate(zip(kernel, strides, dilations)):
            length = x.shape[2 + axis] + pads[axis]
            size, span = length + pads[axis + 2], (k - 1) * d + 1
            out = -(-(size - span) // s) + 1
            if (out - 1) * s >= length:  # the last window may not start in the end padding
                out -= 1
            pads[axis + 2] += max((out - 1) * s + span - size, 0)
    return pads


def _max_pool(attrs, x):
    _check_auto_pad("MaxPool", attrs)
    kernel = list(attrs["kernel_shape"])
    strides, dilations = _pair(attrs, "strides", 1), _pair(attrs, "dilations", 1)
    pads = _pool_pads(attrs, x, kernel, strides, dilations)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    return _windows(_pad(x, pads, low), kernel, strides, dilations).max(axis=(4, 5))


def _average_pool(attrs, x):
    _check_auto_pad("AveragePool", attrs)
    kernel, strides = list(attrs["kernel_shape"]), _pair(attrs, "strides", 1)
    pads = _pool_pads(attrs, x, kernel, strides, [1, 1])
    sums = _windows(_pad(x, pads, 0), kernel, strides, [1, 1]).sum(axis=(4, 5))
    if int(attrs.get("count_include_pad", 0)):
        return (sums / float(kernel[0] * kernel[1])).astype(x.dtype)
    ones = _pad(np.ones((1, 1, *x.shape[2:]), x.dtype), pads, 0)
    counts = _windows(ones, kernel, strides, [1, 1]).sum(axis=(4, 5))
    return (sums / counts).astype(x.dtype)


def _gemm(attrs, a, b, c=None):
    a = a.T if int(attrs.get("transA", 0)) else a
    b = b.T if int(attrs.get("transB", 0)) else b
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    y = a @ b
    if alpha != 1.0:
        y = y * np.asarray(alpha, y.dtype)
    if c is not None:
        y = y + (c if beta == 1.0 else c * np.asarray(beta, c.dtype))
    return y


def _along(values, axis, ndim):
    """A per-axis scale or zero point shaped to broadcast along ``axis`` of an ``ndim``-D tensor."""
    if values.ndim == 0 or values.size == 1:
        return values.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = values.size
    return values.reshape(shape)


def _quantize(attrs, x, scale, zero_point=None):
    dtype = zero_point.dtype if zero_point is not None else np.dtype(np.uint8)
    axis = int(attrs.get("axis", 1))
    scaled = np.rint(x.astype(np.float32) / _along(scale.astype(np.float32), axis, x.ndim))
    if zero_point is not None:
        scaled = scaled + _along(zero_point.astype(np.float32), axis, x.ndim)
    info = np.iinfo(dtype)
    return np.clip(scaled, info.min, info.max).astype(dtype)


def _dequantize(attrs, x, scale, zero_point=None):
    axis = int(attrs.get("axis", 1))
    ints = x.astype(np.int32)
    if zero_point is not None:
        ints = ints - _along(zero_point.astype(np.int32), axis, x.ndim)
    return ints.astype(np.float32) * _along(scale.astype(np.float32), axis, x.ndim)


def _clip(attrs, x, low=None, high=None):
    low = attrs.get("min") if low is None else low
    high = attrs.get("max") if high is None else high
    if low is not None:
        x = np.maximum(x, np.asarray(low, x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high, x.dtype))
    return x


def _reshape(attrs, x, shape):
    target = [int(v) for v in shape]
    if not int(attrs.get("allowzero", 0)):
        target = [x.shape[i] if v == 0 else v for i, v in enumerate(target)]
    return x.reshape(target)


def _batch_norm(attrs, x, scale, bias, mean, var):
    eps = attrs.get("epsilon", 1e-5)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    factor = (scale / np.sqrt(var + np.asarray(eps, var.dtype))).astype(x.dtype)
    return (x - mean.reshape(shape)) * factor.reshape(shape) + bias.reshape(shape)


def _softmax(attrs, x, opset):
    if opset < 13:  # the old form: flatten from ``axis`` (default 1) and softmax over that
        axis = int(attrs.get("axis", 1)) % x.ndim
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return _softmax({"axis": -1}, flat, 13).reshape(x.shape)
    axis = int(attrs.get("axis", -1))
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _axes(attrs, given):
    return [int(a) for a in (given if given is not None else attrs.get("axes") or [])]


def _squeeze(attrs, x, axes=None):
    found = _axes(attrs, axes)
    return np.squeeze(x, axis=tuple(found)) if found else np.squeeze(x)


def _unsqueeze(attrs, x, axes=None):
    out = x
    for axis in sorted(a % (x.ndim + len(_axes(attrs, axes))) for a in _axes(attrs, axes)):
        out = np.expand_dims(out, axis)
    return out


def _flatten(attrs, x):
    axis = int(attrs.get("axis", 1)) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


OPS = {
    "Conv": _conv,
    "Relu": lambda a, x: np.maximum(x, np.zeros((), x.dtype)),
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": lambda a, x: x.mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype),
    "GlobalMaxPool": lambda a, x: x.max(axis=tuple(range(2, x.ndim)), keepdims=True),
    "Gemm": _gemm,
    "MatMul": lambda a, x, y: np.matmul(x, y),
    "Add": lambda a, x, y: x + y,
    "Sub": lambda a, x, y: x - y,
    "Mul": lambda a, x, y: x * y,
    "Div": lambda a, x, y: x / y if x.dtype.kind == "f" else np.trunc(x / y).astype(x.dtype),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": lambda a, x: np.transpose(x, a.get("perm") or None),
    "BatchNormalization": _batch_norm,
    "QuantizeLinear": _quantize,
    "DequantizeLinear": _dequantize,
    "Clip": _clip,
    "Identity": lambda a, x: x,
    "Dropout": lambda a, x, *rest: x,
    "Sigmoid": lambda a, x: (1.0 / (1.0 + np.exp(-x))).astype(x.dtype),
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda a, *xs: np.concatenate(xs, axis=int(a["axis"])),
    "Shape": lambda a, x: np.array(x.shape, np.int64),
    "Cast": lambda a, x: x.astype(_DTYPES[int(a["to"])]),
}
NEEDS_OPSET = {"Softmax": _softmax}
SUPPORTED_OPS = tuple(sorted(set(OPS) | set(NEEDS_OPSET) | {"Constant"}))


class NumpyModel:
    """An ONNX graph ready to run with numpy: ``run({input name: array})`` returns the outputs in order."""

    def __init__(self, graph, opset=13):
        self.opset = opset
        self.outputs = list(graph["outputs"])
        known = dict(graph["initializers"])
        self.inputs = [name for name in graph["inputs"] if name not in known]
        missing = sorted({n["op"] for n in graph["nodes"]
                          if n["op"] not in SUPPORTED_OPS or n["domain"] not in ("", "ai.onnx")})
        if missing:
            raise UnsupportedOp("the numpy fallback does not implement {} (it runs: {}); install ONNX Runtime "
                                "on the device".format(", ".join(missing), ", ".join(SUPPORTED_OPS)))
        self.steps = []
        for node in graph["nodes"]:  # ONNX stores nodes in topological order
            if node["op"] == "Constant":
                known[node["outputs"][0]] = node["attrs"].get("value")
            elif all(name in known for name in node["inputs"] if name):
                for name, value in zip(node["outputs"], self._call(node, known)):
                    known[name] = value
            else:
                self.steps.append(node)
        self.constants = known
        self.folded = len(graph["nodes"]) - len(self.steps)

    def _call(self, node, values):
        args = [values[name] if name else None for name in node["inputs"]]
        while args and args[-1] is None:  # trailing optional inputs left out
            args.pop()
        if node["op"] in NEEDS_OPSET:
            result = NEEDS_OPSET[node["op"]](node["attrs"], *args, opset=self.opset)
        else:
            try:
                result = OPS[node["op"]](node["attrs"], *args)
            except KeyError as exc:
                raise UnsupportedOp(f"{node['op']} {node['name']!r} needs attribute {exc}") from None
        return result if isinstance(result, tuple) else (result,)

    def run(self, feeds):
        """Run the graph on ``feeds`` ({input name: array}); returns the list of graph outputs."""
        values = dict(self.constants)
        for name in self.inputs:
            if name not in feeds:
                raise ValueError(f"missing input {name!r}")
            values[name] = feeds[name]
        for node in self.steps:
            for name, value in zip(node["outputs"], self._call(node, values)):
                values[name] = value
        return [values[name] for name in self.outputs]
