"""Reference: run finn-plus's estimate build directly, in a plain process, without Foldwise.

``python direct_finn.py MODEL OUT_DIR BOARD CLOCK_NS [--target-fps N] [--folding FILE]``. Sets up the
no-Vivado environment as FACTS.md says; used by the equality test and bench_finn_estimate_equality.py.
"""

import argparse
import os
import sys
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("out")
parser.add_argument("board")
parser.add_argument("clock_ns", type=float)
parser.add_argument("--target-fps", type=int)
parser.add_argument("--folding")
args = parser.parse_args()

scratch = tempfile.mkdtemp(prefix="direct-finn-")
os.environ.setdefault("FINN_BUILD_DIR", os.path.join(scratch, "build"))
os.environ.setdefault("XILINX_VIVADO", os.path.join(scratch, "Vivado", "2022.2"))
import finn.xsi  # noqa: E402

finn.xsi.SimEngine = None
from finn.builder.build_dataflow import build_dataflow_cfg  # noqa: E402
from finn.builder.build_dataflow_config import (  # noqa: E402
    DataflowBuildConfig,
    DataflowOutputType,
    estimate_only_dataflow_steps,
)

cfg = DataflowBuildConfig(
    output_dir=args.out,
    board=args.board,
    synth_clk_period_ns=args.clock_ns,
    target_fps=args.target_fps,
    folding_config_file=args.folding,
    steps=estimate_only_dataflow_steps,
    generate_outputs=[DataflowOutputType.ESTIMATE_REPORTS],
)
sys.exit(0 if build_dataflow_cfg(args.model, cfg) == 0 else 1)
