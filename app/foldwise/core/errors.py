"""Typed errors the GUI and CLI turn into one clear message (never a traceback)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


class FoldwiseError(Exception):
    """A problem the user can act on; ``str(error)`` is the message shown to them."""


class InputError(FoldwiseError):
    """Bad input from the user: a file, a layer name, a parameter out of range."""


def only_fields(cls: type, data: dict[str, Any], what: str) -> dict[str, Any]:
    """``data`` if each key is a field of dataclass ``cls``; InputError naming the unknown ``what`` otherwise."""
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise InputError(f"unknown {what}: {', '.join(unknown)}")
    return data


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


class DiskFullError(ProjectError):
    """The disk filled up mid-write (raised where an OSError would lose what was being written)."""


class ToolMissingError(FoldwiseError):
    """An external tool (Vivado, vitis_hls, finn-plus, ssh) that a request needs is not available."""


class SshError(FoldwiseError):
    """Something went wrong talking to a remote machine over SSH (subclasses in ``core.remote.target``)."""


class Cancelled(FoldwiseError):
    """The user cancelled a job; raised from ``JobContext.check_cancelled``."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


def is_disk_full(exc: BaseException) -> bool:
    import errno

    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def os_error_message(exc: OSError) -> str:
    """One line for an OS-level failure, saying what to do; the project is left as it was by every stage."""
    import errno

    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    if exc.errno == errno.ENOSPC:
        return f"the disk is full{where}: free some space and run the command again (nothing was changed)"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write{where}: the folder is read-only or not yours (nothing was changed)"
    if exc.errno == errno.EISDIR:
        return f"{exc.filename or 'that path'} is a folder: give a file name"
    if exc.errno == errno.ENOENT:
        return f"no such file or folder{where}"
    return f"{exc.strerror or exc}{where}"
