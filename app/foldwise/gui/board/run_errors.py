"""What each way a board run fails means on a PYNQ, in plain words, and what to do about it.

Keyed by :class:`~foldwise.core.board.deploy.BoardRunError`'s ``code`` (the runner on the board reports it).
:data:`foldwise.gui.errors.ERROR_TABLE` words the error dialog of those errors from here; the Board panel shows
the same text under its Deploy form.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunExplanation:
    title: str
    what: str  # what went wrong, on a PYNQ
    todo: str  # what to do

    @property
    def text(self) -> str:
        return f"{self.what}\n\nWhat to do: {self.todo}"


EXPLANATIONS: dict[str, RunExplanation] = {
    "no-bitfile": RunExplanation(
        "No bitfile for a real board",
        "This build was made without Vivado (an estimate or HLS build), so its package carries FINN's dataflow "
        "model instead of a bitfile. A real PYNQ can only run a bitfile; only an emulated board runs the model.",
        "Build a bitfile on a machine with Vivado (Build panel: a synthesis build), or start an emulated board "
        "(Start emulated…) and deploy this build there."),
    "dma-timeout": RunExplanation(
        "The accelerator never answered",
        "The FINN runtime waited on the output DMA and no result came back, so Foldwise stopped it. On a PYNQ "
        "this means the loaded overlay is not the design the driver expects: a .bit and .hwh from different "
        "builds, or a PYNQ image that does not match the Vivado version the bitfile was made with.",
        "Deploy the .bit and .hwh of the same build again; check the PYNQ image version (Probe) against the "
        "Vivado version of the build, and rebuild with a matching one."),
    "runtime-missing": RunExplanation(
        "The runtime is not installed on the board",
        "finn-plus-driver, the program that loads a bitfile and runs it, is not in the board's PYNQ venv.",
        "Probe the board and follow its fixes: install finn-plus-driver with the board's own pip "
        "(--no-deps, then its dependencies except h5py, which has no armv7l wheel)."),
    "runtime-failed": RunExplanation(
        "The runtime failed on the board",
        "finn-plus-driver started but stopped with an error (the run log has its output): often a settings.json "
        "that does not match the bitfile, or pynq missing pieces (numpy 2 on the board, no bitstring).",
        "Read the log below, probe the board for missing pieces, then deploy again."),
    "command-missing": RunExplanation(
        "A program is missing on the board",
        "The board's shell could not find a program the run needs (python3, or sudo for a bitfile run). A PYNQ "
        "image has both; a board set up by hand may not.",
        "Install it on the board (the message names it), probe the board, then deploy again."),
    "package-damaged": RunExplanation(
        "The package on the board is damaged",
        "A file of the deployment is missing on the board or its sha256 does not match what was pushed (a "
        "dropped connection, a full SD card, or an edit on the board).",
        "Run again: the push checks every file and re-sends the damaged ones. If it repeats, free space on "
        "the board's SD card."),
    "runner-died": RunExplanation(
        "The run stopped on the board",
        "The runner on the board ended without a result: it was killed (out of memory, a reboot, someone "
        "stopped it) or the connection dropped.",
        "Run again: the board is left as it was. If it repeats, probe the board for free memory."),
    "emulator-missing": RunExplanation(
        "The emulated board lost its emulator",
        "The emulated board points at a Python that is no longer there (Foldwise was moved or reinstalled).",
        "Stop the emulated board and start it again."),
    "emulator-failed": RunExplanation(
        "The emulator failed",
        "FINN's dataflow model could not be executed on the emulated board (the run log has the error).",
        "Run the estimate of this iteration again (it rewrites the dataflow model), then deploy again."),
    "unsupported": RunExplanation(
        "Not supported on this board",
        "This run is not supported for a bitfile package yet (validation runs on the emulated board only).",
        "Run the throughput test on the board; validate on an emulated board."),
}


def explanation_for(exc: BaseException) -> RunExplanation | None:
    """The explanation for a board run error's code, if it has one."""
    return EXPLANATIONS.get(str(getattr(exc, "code", "") or ""))

