"""A PYNQ-shaped test sshd (tests/sshd.py): user xilinx/xilinx with sudo, the venv, profile scripts, an XADC.

The ``pynq_board`` fixture is registered in tests/conftest.py for core, verb and GUI tests alike.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sshd import SshServer

FAKE_IIO = "/usr/local/share/fake-sys/iio"  # the probe's iio_root in tests: /sys cannot be overlaid


def _dist(name: str, version: str, module: str) -> dict[str, str]:
    site = "/usr/local/share/pynq-venv/lib/site-packages"
    return {f"{site}/{module}/__init__.py": f"__version__ = {version!r}\n",
            f"{site}/{name.replace('-', '_')}-{version}.dist-info/METADATA":
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"}


def pynq_files(packages: dict[str, str]) -> dict[str, str]:
    """Files of a fake PYNQ v3 image: venv python (this machine's /usr/bin/python3), profile scripts, REVISION."""
    venv = "/usr/local/share/pynq-venv"
    files = {
        "/etc/profile.d/pynq_venv.sh": f"export PYNQ_VENV={venv}\nexport VIRTUAL_ENV={venv}\n",
        "/etc/profile.d/xrt_setup.sh": "export XILINX_XRT=/usr\n",
        "/etc/environment": 'BOARD=Pynq-Z2\nPATH="/usr/local/bin:/usr/bin:/bin"\n',
        "/home/xilinx/REVISION": "Release 2022_10_25 6a7ec6b\nBoard: Pynq-Z2\n",
        f"{venv}/bin/python3": f"#!/bin/sh\nPYTHONPATH={venv}/lib/site-packages exec /usr/bin/python3 \"$@\"\n",
        f"{FAKE_IIO}/iio:device0/name": "xadc\n",
        f"{FAKE_IIO}/iio:device0/in_temp0_raw": "2620\n",
        f"{FAKE_IIO}/iio:device0/in_temp0_offset": "-2219\n",
        f"{FAKE_IIO}/iio:device0/in_temp0_scale": "123.040771484\n",
    }
    for name, version in packages.items():
        files.update(_dist(name, version, name.replace("-", "_")))
    return files


def emulated_board_setenv() -> str:
    """sshd's ``SetEnv`` line that makes a board emulated: FINN's dataflow model runs in this checkout's Python."""
    import foldwise
    from foldwise.core.board.runner_remote import EMULATOR_ENV, EMULATOR_PATH_ENV

    return f"SetEnv {EMULATOR_ENV}={sys.executable} {EMULATOR_PATH_ENV}={Path(foldwise.__file__).parents[1]}"


def closed_ancestors(*paths: Path) -> list[str]:
    """The folders above ``paths`` that other users cannot pass through (e.g. ``/root`` holding pyenv)."""
    found = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent != Path("/") and not parent.stat().st_mode & 0o001:
                found.append(str(parent))
    return list(dict.fromkeys(found))


@pytest.fixture
def pynq_board(sshd_factory: Callable[..., SshServer]) -> Callable[..., SshServer]:
    """``pynq_board(packages={...}, emulated=False)`` starts a PYNQ-shaped sshd (default: pynq, numpy 1.26,
    bitstring); ``emulated``: its accelerator is FINN's dataflow model, run by this checkout."""

    def make(packages: dict[str, str] | None = None, emulated: bool = False, **kwargs: object) -> SshServer:
        pk = {"pynq": "3.0.1", "numpy": "1.26.4", "bitstring": "4.1.4"} if packages is None else packages
        extra = list(kwargs.pop("extra_config", ()))  # type: ignore[call-overload]
        if emulated:
            extra.append(emulated_board_setenv())
            import foldwise

            kwargs["traversable"] = closed_ancestors(Path(sys.executable).resolve(), Path(foldwise.__file__))
        server = sshd_factory(user="xilinx", password="xilinx", overlays=["/usr/local/share"],
                              files=pynq_files(pk), sudo=True, shell="/bin/sh", extra_config=extra,
                              **kwargs)
        server.path("/usr/local/share/pynq-venv/bin/python3").chmod(0o755)
        return server

    return make


def profile_for(server: SshServer, name: str = "z2", **kwargs: object):
    from foldwise.core.board.profiles import BoardProfile

    defaults: dict[str, object] = {"known_hosts": server.known_hosts, "connect_timeout": 5.0}
    return BoardProfile.create(name, server.host, user=server.user, port=server.port, **{**defaults, **kwargs})
