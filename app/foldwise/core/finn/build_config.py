"""One FINN build's configuration: what to build, for which board and clock, with which folding, and where.

:class:`BuildConfig` is what the Build stage call (:func:`foldwise.core.finn.stage.build`) takes from the CLI
verbs and the Build panel alike, in place of a dozen keyword arguments threaded through each layer. It says
nothing about how the work is run (the worker, a job context): only what is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.finn.boards import DEFAULT_BOARD, get_board
from foldwise.core.finn.folding import FoldingLike, folding_dict
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.core.finn.kinds import BuildKind


@dataclass
class BuildConfig:
    """A FINN build.

    Attributes
    ----------
    kind
        What to build: estimate, hls (HLS C++ / RTL sources) or bitfile (needs Vivado where it runs).
    board, clock_mhz
        FINN board name and target clock.
    folding, target_fps
        The folding to apply (config, dict or JSON path; validated), or a frame rate for FINN's SetFolding to
        fold for; neither: FINN's defaults (PE = SIMD = 1). Not both.
    host
        The build host to run on over SSH; None builds on this machine.
    start_step
        Resume the build in ``out_dir`` (or the target's newest matching build) from this FINN step.
    keep_intermediate
        Keep FINN's intermediate models so the build can be resumed; None: kept for hls and bitfile builds
        and for resumed ones.
    out_dir
        The build folder; None lets the stage pick it (a new folder under the iteration's ``builds/``, or
        ``<model stem>.finn/<kind>-<board>-<MHz>MHz`` next to a model file).
    settings
        Advanced finn-plus ``DataflowBuildConfig`` fields (see :mod:`foldwise.core.finn.config_schema`).
    allow_cpu_compute
        Build even when FINN leaves compute nodes (MatMul, Conv) on the CPU.
    trust_fingerprint
        Trust a build host whose key is not yet known if its fingerprint is exactly this.
    timeout
        Seconds a remote or resumed build may take (None: no limit).
    """

    kind: BuildKind = BuildKind.ESTIMATE
    board: str = DEFAULT_BOARD
    clock_mhz: float = 100.0
    folding: FoldingLike = None
    target_fps: int | None = None
    host: RemoteBuildHost | None = None
    start_step: str | None = None
    keep_intermediate: bool | None = None
    out_dir: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    allow_cpu_compute: bool = False
    trust_fingerprint: str | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        self.kind = BuildKind.parse(self.kind)
        if self.out_dir is not None:
            self.out_dir = Path(self.out_dir)
        self.settings = dict(self.settings or {})

    def check(self) -> BuildConfig:
        """InputError for a configuration no build can run (checked before anything starts)."""
        get_board(self.board)
        if not 1.0 <= float(self.clock_mhz) <= 1000.0:
            raise InputError(f"clock {self.clock_mhz} MHz is out of range (1..1000 MHz)")
        if self.target_fps is not None and self.target_fps <= 0:
            raise InputError(f"target FPS must be positive, got {self.target_fps}")
        if self.folding is not None and self.target_fps is not None:
            raise InputError("give either a folding or a target FPS, not both")
        return self

    @property
    def keep(self) -> bool:
        """Whether FINN's intermediate models are kept (long and resumed builds keep them by default)."""
        if self.keep_intermediate is not None:
            return self.keep_intermediate
        return self.kind is not BuildKind.ESTIMATE or bool(self.start_step)

    @property
    def where(self) -> str:
        """``this machine`` or the build host's ``user@host:port``."""
        return self.host.display if self.host else "this machine"

    def folding_dict(self) -> dict[str, Any] | None:
        return folding_dict(self.folding)

    def with_(self, **changes: Any) -> BuildConfig:
        """A copy with ``changes`` (dataclasses.replace)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for build records and replay (the host without its password)."""
        return {"kind": self.kind.value, "board": self.board, "clock_mhz": self.clock_mhz,
                "folding": self.folding_dict(), "target_fps": self.target_fps,
                "host": self.host.to_dict() if self.host else None, "start_step": self.start_step,
                "keep_intermediate": self.keep_intermediate, "out_dir": str(self.out_dir) if self.out_dir else None,
                "settings": dict(self.settings), "allow_cpu_compute": self.allow_cpu_compute,
                "timeout": self.timeout}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        data = dict(data)
        host = data.pop("host", None)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known, host=RemoteBuildHost.from_dict(host) if host else None)
