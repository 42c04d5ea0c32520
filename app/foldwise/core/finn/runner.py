"""One-shot FINN runner: ``python -m foldwise.core.finn.runner --event-fd N [--scratch DIR]``.

It is the FINN worker (``foldwise.core.finn._worker_main``, same protocol, same build code) plus FINN's
``start_step``: a request's ``params["start_step"]`` resumes a build in its ``output_dir`` from that step,
loading the intermediate model FINN saved after the step before it. It runs on a remote build host (shipped
there with the worker modules, see ``foldwise.core.finn.remote_build``) and for resumed local builds; its
parent side is :mod:`foldwise.core.finn.runner_client`. Only the standard library and finn-plus are needed on
the host.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def check_resumable(step: str, steps: list[Any], output_dir: Path) -> None:
    """InputError unless FINN can start at ``step``: a known, not-first step whose previous model was kept."""
    from foldwise.core.errors import InputError

    names = [getattr(s, "__name__", str(s)) for s in steps]
    if step not in names:
        raise InputError(f"{step} is not a step of this build; its steps are: {', '.join(names)}")
    index = names.index(step)
    if index == 0:
        raise InputError(f"{step} is the first step of this build: run it without a start step")
    previous = Path(output_dir) / "intermediate_models" / f"{names[index - 1]}.onnx"
    if not previous.is_file():
        kept = sorted(p.stem for p in previous.parent.glob("*.onnx")) if previous.parent.is_dir() else []
        raise InputError(
            f"cannot resume at {step}: FINN needs the model saved after {names[index - 1]} ({previous}), which "
            "this build did not keep" + (f" (it kept: {', '.join(kept)})" if kept else
                                         " (it kept no intermediate models: run builds that may be resumed "
                                         "with intermediate models kept)")
        )


def _add_start_step() -> None:
    """Route ``params["start_step"]`` into the DataflowBuildConfig the worker's builds create."""
    from foldwise.core.finn import _worker_ops as ops

    original = ops._cfg

    def cfg_with_start_step(params: dict[str, Any], output_dir: Path, **extra: Any) -> Any:
        step = params.get("start_step")
        if step and "steps" in extra:  # only whole builds pass their step list; what-ifs never resume
            check_resumable(step, extra["steps"], output_dir)
            extra.setdefault("start_step", step)
        return original(params, output_dir, **extra)

    ops._cfg = cfg_with_start_step


def main() -> int:
    from foldwise.core.finn import _worker_main as worker

    serve = worker.serve

    def serve_with_start_step(channel: Any, requests: Any, scratch: Path, light: bool = False) -> None:
        if not light:  # FINN is imported by now (after the worker's no-Vivado set-up)
            _add_start_step()
        serve(channel, requests, scratch, light)

    worker.serve = serve_with_start_step
    return worker.main()


if __name__ == "__main__":
    sys.exit(main())
