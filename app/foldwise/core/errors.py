"""Typed errors the GUI and CLI turn into one clear message (never a traceback)."""

from __future__ import annotations


class FoldwiseError(Exception):
    """A problem the user can act on; ``str(error)`` is the message shown to them."""


class InputError(FoldwiseError):
    """Bad input from the user: a file, a layer name, a parameter out of range."""


class ProjectError(FoldwiseError):
    """A project folder that cannot be opened or written."""


class NotAProjectError(ProjectError):
    pass


class CorruptManifestError(ProjectError):
    pass


class NewerFormatError(ProjectError):
    pass


class ProjectLockedError(ProjectError):
    pass


class ReadOnlyProjectError(ProjectError):
    pass


class ToolMissingError(FoldwiseError):
    """An external tool (Vivado, vitis_hls, finn-plus, ssh) that a request needs is not available."""


class SshError(FoldwiseError):
    """Something went wrong talking to a remote machine over SSH (subclasses in ``core.remote.target``)."""


class Cancelled(FoldwiseError):
    """The user cancelled a job; raised from ``JobContext.check_cancelled``."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
