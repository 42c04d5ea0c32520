"""``foldwise baseline``: the host and a loopback device (a board added with --python), the table of all the
iteration's baselines, JSON output, and the refusals."""

from __future__ import annotations

import json
import sys

from foldwise.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_host_then_device_fill_one_table(quantized_lenet, sshd_factory, capsys) -> None:
    code, out, err = _run(capsys, "baseline", str(quantized_lenet), "--device", "host", "--power-w", "2.2",
                          "--runs", "10", "--warmup", "1", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["run"]["kind"] == "baseline" and result["run"]["figures"]["power_w"]["source"] == "entered"
    assert [(r["device"], r["runtime"].split()[0]) for r in result["table"]] == [("host", "torch"),
                                                                                 ("host", "onnxruntime")]

    server = sshd_factory(password=None)
    code, _, err = _run(capsys, "board", "add", "loop", "--host", server.host, "--port", str(server.port),
                        "--user", server.user, "--key", str(server.client_key), "--known-hosts",
                        str(server.known_hosts), "--python", sys.executable)
    assert code == 0, err
    code, out, err = _run(capsys, "baseline", str(quantized_lenet), "--device", "loop", "--runtime", "numpy",
                          "--runs", "5", "--warmup", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Model", "Device", "Runtime"]
    loop = next(line for line in lines if " loop " in line)
    assert "numpy" in loop and "(fallback)" in loop and "ms (measured)" in loop and loop.rstrip().endswith("none")
    host = [line for line in lines if " host " in line]
    assert len(host) == 2 and all("W (entered)" in line and "mJ (entered)" in line for line in host)
    assert "host: entered by the user" in out and lines[-1].startswith("saved: ")


def test_refusals_name_the_problem(trained_lenet, capsys, monkeypatch) -> None:
    code, _, err = _run(capsys, "baseline", str(trained_lenet), "--device", "nope")
    assert code == 1 and "no board named 'nope'" in err
    code, _, err = _run(capsys, "baseline", str(trained_lenet), "--device", "host", "--power-w", "0")
    assert code == 1 and "--power-w must be a positive number of watts (got 0)" in err
    code, _, err = _run(capsys, "board", "add", "pw", "--host", "127.0.0.1", "--port", "1")
    assert code == 0, err
    monkeypatch.delenv("FOLDWISE_SSH_PASSWORD", raising=False)
    code, _, err = _run(capsys, "baseline", str(trained_lenet), "--device", "pw")
    assert code == 1 and "logs in with a password: set $FOLDWISE_SSH_PASSWORD" in err
    assert not list((trained_lenet / "iterations").glob("*/runs"))  # nothing written for a refusal
