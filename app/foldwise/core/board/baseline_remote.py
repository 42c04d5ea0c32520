"""Time one exported model on a device: the script a baseline runs there (numpy + standard library, 3.6+).

``python baseline_remote.py --model model.onnx --inputs inputs.npy [--runtime auto|onnxruntime|numpy]
[--runs N] [--warmup W] [--threads T] [--sysfs-root /sys] [--power-seconds S] [--qdq-as-written]`` prints one
JSON object: the runtime used (ONNX Runtime if importable, else the numpy fallback of ``onnx_numpy.py``, which
says so), the per-run times, the power the device's sensor read over the timed loop (``power_sensors.py``; none
if it has no sensor) and the outputs for the inputs (so the host can check the device computed what it did).
The two helper modules sit next to this file on the device. ``--qdq-as-written``: ONNX Runtime without QDQ
fusion, as the host runs a QCDQ model (see ``foldwise.core.quantize.export.qcdq_session``).

The host imports :func:`time_loop` from here too, so host and device runs are timed by the same loop.
"""

import argparse
import json
import os
import platform
import sys
import time

NO_RUNTIME = 3  # exit code: the runtime asked for is not there


def percentile(values, q):
    """The ``q``-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def time_loop(run_one, inputs, runs, warmup, meter=None, power_seconds=0.0):
    """Run ``run_one(inputs[i % len])`` ``warmup`` times, then ``runs`` timed times (batch as given).

    With a ``meter`` the loop goes on untimed until ``power_seconds`` have passed, so a sampled sensor gets
    enough readings for a fast model. Returns times in ms, median, p95, mean and the meter's reading.
    """
    count = len(inputs)
    for i in range(warmup):
        run_one(inputs[i % count])
    times = []
    started = time.perf_counter()
    if meter is not None:
        meter.start()
    for i in range(runs):
        x = inputs[i % count]
        t0 = time.perf_counter()
        run_one(x)
        times.append((time.perf_counter() - t0) * 1000.0)
        if meter is not None:
            meter.tick()
    extra = 0
    while meter is not None and time.perf_counter() - started < power_seconds:
        run_one(inputs[extra % count])
        extra += 1
        meter.tick()
    power = meter.stop() if meter is not None else None
    if power is not None:
        power["loop_runs"] = runs + extra
        power["loop_seconds"] = time.perf_counter() - started
    return {"times_ms": times, "median_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "mean_ms": sum(times) / len(times), "power": power}


QDQ_AS_WRITTEN = ("session.disable_quant_qdq", "1")  # as foldwise.core.quantize.export.qcdq_session


def _runner(path, runtime, threads, qdq_as_written=False):
    """(run(x) -> outputs, runtime name, why this one) for the runtime asked for."""
    ort = None
    if runtime in ("auto", "onnxruntime"):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            if runtime == "onnxruntime":
                raise LookupError(f"onnxruntime is not installed for {sys.executable} ({exc})") from None
    if ort is not None:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = int(threads)
        if qdq_as_written:
            options.add_session_config_entry(*QDQ_AS_WRITTEN)
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return (lambda x: session.run(None, {name: x})[0]), "onnxruntime " + ort.__version__, "installed"
    import onnx_numpy

    model = onnx_numpy.load_model(path)
    name = model.inputs[0]
    why = "asked for" if runtime == "numpy" else "fallback: onnxruntime is not installed"
    return (lambda x: model.run({name: x})[0]), f"numpy {_numpy_version()} (fallback)", why


def _numpy_version():
    import numpy

    return numpy.__version__


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "numpy"])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sysfs-root", default="/sys")
    parser.add_argument("--power-seconds", type=float, default=1.0)
    parser.add_argument("--qdq-as-written", action="store_true", help="no QDQ fusion (a QCDQ model)")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import numpy
    import power_sensors

    try:
        run_one, runtime, why = _runner(args.model, args.runtime, args.threads, args.qdq_as_written)
    except LookupError as exc:
        json.dump({"error": str(exc), "python": sys.executable}, sys.stdout)
        sys.stdout.write("\n")
        return NO_RUNTIME
    inputs = numpy.load(args.inputs)
    batches = [inputs[i:i + 1] for i in range(len(inputs))]
    outputs = numpy.concatenate([run_one(x) for x in batches]).tolist()
    meter = power_sensors.open_meter(args.sysfs_root)
    result = time_loop(run_one, batches, args.runs, args.warmup, meter, args.power_seconds)
    result.update(runtime=runtime, runtime_why=why, outputs=outputs, threads=args.threads,
                  python=sys.executable, python_version=platform.python_version(), machine=platform.machine(),
                  hostname=platform.node())
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
