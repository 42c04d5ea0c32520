"""``foldwise board``: add/list/remove, probe and push against the PYNQ-shaped test sshd, key install."""

from __future__ import annotations

import json
from pathlib import Path

from foldwise.cli import main
from foldwise.core.board.profiles import boards_path, get_board


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _add(server, capsys, name: str = "z2", *extra: str) -> None:
    code, _, err = _run(capsys, "board", "add", name, "--host", server.host, "--port", str(server.port),
                        "--user", "xilinx", "--known-hosts", str(server.known_hosts), *extra)
    assert code == 0, err


def test_add_list_probe_push_remove(pynq_board, capsys, tmp_path, monkeypatch) -> None:
    server = pynq_board()
    _add(server, capsys)
    code, out, _ = _run(capsys, "board", "list", "--json")
    assert code == 0 and [b["name"] for b in json.loads(out)] == ["z2"]
    assert "xilinx" not in boards_path().read_text().replace('"user": "xilinx"', "")  # no password on disk

    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "xilinx")
    code, out, err = _run(capsys, "board", "probe", "z2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["runtime"] is None and not report["ready"]
    assert {i["key"]: i["value"] for i in report["items"]}["pynq"] == "3.0.1"
    code, out, _ = _run(capsys, "board", "probe", "z2")
    assert "Free memory:" in out and "(measured)" in out and "finn-plus-driver==1.6.1" in out

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.bin").write_bytes(b"x" * 1000)
    code, out, err = _run(capsys, "board", "push", "z2", str(tmp_path / "pkg"), "--keep", "1", "--json")
    assert code == 0, err
    pushed = json.loads(out)
    assert pushed["uploaded"] == ["a.bin"] and pushed["mb_per_s_source"] == "measured"
    assert server.path(pushed["deployment"]).joinpath("a.bin").read_bytes() == b"x" * 1000
    code, out, _ = _run(capsys, "board", "push", "z2", str(tmp_path / "pkg"))
    assert code == 0 and out.startswith("unchanged:")

    code, out, _ = _run(capsys, "board", "remove", "z2")
    assert code == 0 and "removed" in out
    assert _run(capsys, "board", "list")[1].startswith("no boards saved")


def test_install_key_then_log_in_by_key(pynq_board, capsys, monkeypatch) -> None:
    # only ~/.ssh/authorized_keys counts for xilinx, so the key works only once --install-key has put it there
    server = pynq_board(extra_config=["Match User xilinx", "AuthorizedKeysFile .ssh/authorized_keys"])
    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "xilinx")
    _add(server, capsys, "z2", "--key", str(server.client_key), "--install-key")
    public = Path(f"{server.client_key}.pub").read_text().strip()
    assert server.path("/home/xilinx/.ssh/authorized_keys").read_text().strip() == public
    assert get_board("z2").auth.value == "key"
    monkeypatch.delenv("FOLDWISE_SSH_PASSWORD")
    code, _, err = _run(capsys, "board", "probe", "z2", "--json")
    assert code == 0, err
    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "xilinx")
    code, out, err = _run(capsys, "board", "add", "z2", "--host", server.host, "--port", str(server.port),
                          "--known-hosts", str(server.known_hosts), "--key", str(server.client_key),
                          "--install-key", "--json")
    assert code == 0 and json.loads(out)["key_installed"] is False, err  # already there: not added twice
    assert server.path("/home/xilinx/.ssh/authorized_keys").read_text().count("ssh-ed25519") == 1


def test_first_contact_shows_the_fingerprint_and_trusts_it_only_when_asked(pynq_board, capsys, tmp_path,
                                                                          monkeypatch) -> None:
    server = pynq_board()
    fresh = tmp_path / "known_hosts"
    code, _, err = _run(capsys, "board", "add", "z2", "--host", server.host, "--port", str(server.port),
                        "--known-hosts", str(fresh))
    assert code == 0, err
    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "xilinx")
    code, _, err = _run(capsys, "board", "probe", "z2")
    assert code == 1 and "is not a known host" in err and "--trust-host-key SHA256:" in err
    fingerprint = err.split("--trust-host-key ")[1].split()[0]
    assert not fresh.read_text().strip()
    code, _, err = _run(capsys, "board", "probe", "z2", "--trust-host-key", fingerprint)
    assert code == 0, err
    assert str(server.port) in fresh.read_text()
