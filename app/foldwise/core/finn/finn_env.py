"""The process environment finn-plus needs without Vivado (see FACTS.md): set it up, then import FINN.

Used by the processes that import FINN (the FINN worker, the emulated board's accelerator), never by the GUI or
CLI process itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def setup_environment(scratch: Path) -> dict[str, Any]:
    """Environment FINN needs before import; a versioned fake XILINX_VIVADO only when Vivado is absent."""
    from foldwise.core.finn.tools import find_vivado

    os.environ.setdefault("FINN_BUILD_DIR", str(scratch / "finn_build"))
    Path(os.environ["FINN_BUILD_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NUM_DEFAULT_WORKERS", "1")
    vivado = find_vivado()
    if vivado is None:
        # finn-plus only reads it to write report/metadata_builder.json (see FACTS.md)
        fake = scratch / "no-vivado" / "Vivado" / "2022.2"
        fake.mkdir(parents=True, exist_ok=True)
        os.environ["XILINX_VIVADO"] = str(fake)
    else:
        os.environ["XILINX_VIVADO"] = str(vivado.root)
    return {"vivado": vivado.to_dict() if vivado else None}


def import_finn(has_vivado: bool) -> None:
    import finn.xsi

    if not has_vivado:
        finn.xsi.SimEngine = None  # stops the import-time XSI (Vivado simulator) check
    import finn.builder.build_dataflow
