"""The three kinds of FINN build, one name each: ``estimate`` < ``hls`` < ``bitfile``.

Each kind includes the previous one's outputs. The FINN worker names its requests differently
(``estimate``, ``hls_codegen``, ``full_build``), and builds made before the names were unified call HLS builds
``codegen`` (Build panel folders) or ``hls_codegen`` (``foldwise_build.json``): :meth:`BuildKind.parse` reads
all of them. Standard library only: the worker on a build host imports this module too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from foldwise.core.errors import InputError

#: a build's copy of FINN's dataflow model (parent graph + its partition), run by the emulated board
EMULATION_DIR = "emulation"
DATAFLOW_PARENT = "dataflow_parent.onnx"
DATAFLOW_PARTITION = "dataflow_partition.onnx"
#: Foldwise's file beside FINN's estimate reports: bytes per frame of each weight stream read from DRAM
EXTERNAL_WEIGHTS_REPORT = "foldwise_external_weights.json"


class BuildKind(str, enum.Enum):
    """What a build produces (str-valued, so it is its own JSON and CLI name)."""

    ESTIMATE = "estimate"
    HLS = "hls"
    BITFILE = "bitfile"

    @property
    def request(self) -> str:
        """The FINN worker's request kind for this build."""
        return _REQUESTS[self]

    @property
    def output(self) -> str:
        """The name :func:`foldwise.core.finn.tools.what_is_missing` gives this build's output."""
        return "hls_codegen" if self is BuildKind.HLS else self.value

    @classmethod
    def parse(cls, name: str | BuildKind) -> BuildKind:
        """The kind called ``name``, including the worker's request names and the old ``codegen``."""
        if isinstance(name, BuildKind):
            return name
        kind = _ALIASES.get(str(name).strip().lower())
        if kind is None:
            raise InputError(f"unknown build kind {name!r}; choose from {', '.join(k.value for k in cls)}")
        return kind

    @classmethod
    def for_outputs(cls, outputs: Sequence[str | BuildKind]) -> BuildKind:
        """The build that produces all of ``outputs`` (the largest of them)."""
        if not outputs:
            raise InputError(f"unknown build output (none); choose from {', '.join(k.value for k in cls)}")
        unknown = [str(o) for o in outputs if str(getattr(o, "value", o)) not in _BY_VALUE]
        if unknown:
            raise InputError(f"unknown build output {', '.join(unknown)}; choose from "
                             f"{', '.join(k.value for k in cls)}")
        order = list(cls)
        return max((cls.parse(o) for o in outputs), key=order.index)

    def __str__(self) -> str:
        return self.value


_REQUESTS = {BuildKind.ESTIMATE: "estimate", BuildKind.HLS: "hls_codegen", BuildKind.BITFILE: "full_build"}
_BY_VALUE = {k.value: k for k in BuildKind}
#: every name a build kind has had: its own, the worker's request kind, the Build panel's old ``codegen``
_ALIASES = {**_BY_VALUE, **{v: k for k, v in _REQUESTS.items()}, "codegen": BuildKind.HLS}
