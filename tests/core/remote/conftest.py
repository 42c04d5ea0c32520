"""Fixtures for SSH and remote-build tests: the real test sshd (tests/sshd.py) and TFC-w1a1 exported once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sshd import SshServer, _skip_or_fail, sshd, sshd_available, sshd_factory, start_sshd  # noqa: F401

_exported: dict[str, Path] = {}


def tfc_once(factory: pytest.TempPathFactory) -> Path:
    """TFC-w1a1 as QONNX, exported once per test process (also used by tests/verbs/test_build_verb.py)."""
    if "tfc" not in _exported:
        from foldwise.core.finn.zoo import export_zoo_model

        _exported["tfc"] = export_zoo_model("tfc_1w1a", factory.mktemp("zoo-remote") / "tfc_w1a1.onnx")
    return _exported["tfc"]


@pytest.fixture(scope="session")
def tfc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tfc_once(tmp_path_factory)


@pytest.fixture(scope="module")
def build_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A test sshd whose user runs commands with /bin/sh (no slow ~/.bashrc per command), for FINN builds."""
    why = sshd_available()
    if why:
        _skip_or_fail(why)
    root = os.geteuid() == 0
    server = start_sshd(tmp_path_factory.mktemp("sshd"), password=None, shell="/bin/sh" if root else None)
    yield server
    server.stop()


def target_for(server: SshServer, **kwargs: object):
    """An SshTarget for ``server`` with its client key and known_hosts unless overridden."""
    from foldwise.core.remote.ssh import SshTarget

    defaults: dict[str, object] = {"identity": server.client_key, "known_hosts": server.known_hosts,
                                   "connect_timeout": 5.0}
    return SshTarget.parse(server.spec, **{**defaults, **kwargs})
