"""Board push over SFTP vs OpenSSH's scp, to the loopback test sshd. Goal: push throughput >= 1.0x scp's.

A 16 MB deployment-like folder (one 15 MB bitfile, small driver files) is pushed as a new deployment (hash,
upload through .part files, sha256 check on the board, rename) and copied with `scp -r` on the same link; also
the per-command overhead of a remote step on the reused connection (mean of 20 `true`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report

sys.path.insert(0, str(REPO))
MB = 1_000_000


def _package(folder: Path) -> Path:
    (folder / "bitfile").mkdir(parents=True)
    (folder / "driver").mkdir()
    (folder / "bitfile" / "finn-accel.bit").write_bytes(os.urandom(15 * MB))
    (folder / "bitfile" / "finn-accel.hwh").write_bytes(os.urandom(900_000))
    (folder / "driver" / "settings.json").write_text('{"fclk_mhz": 100}\n')
    return folder


def main() -> None:
    from foldwise.core.board.push import push_folder
    from foldwise.core.remote.ssh import SshSession, SshTarget
    from tests.sshd import start_sshd

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(tmp_path / "config")
        server = start_sshd(tmp_path / "sshd", password=None, shell="/bin/sh" if os.geteuid() == 0 else None)
        try:
            pkg = _package(tmp_path / "deploy")
            size = sum(p.stat().st_size for p in pkg.rglob("*") if p.is_file())
            remote = tmp_path / "remote"
            remote.mkdir()
            target = SshTarget.parse(server.spec, identity=server.client_key, known_hosts=server.known_hosts)
            scp = ["scp", "-q", "-r", "-i", str(server.client_key), "-P", str(server.port), "-o",
                   f"UserKnownHostsFile={server.known_hosts}", "-o", "BatchMode=yes"]
            scp_times, push_times, upload_mb_s = [], [], []
            with SshSession(target) as session:
                per_command = []
                for _ in range(20):
                    started = time.perf_counter()
                    session.run("true", check=True)
                    per_command.append(time.perf_counter() - started)
                for i in range(3):
                    started = time.perf_counter()
                    subprocess.run([*scp, str(pkg), f"{server.user}@127.0.0.1:{remote}/scp{i}"], check=True)
                    scp_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    result = push_folder(session, pkg, group=f"g{i}", keep=1, root=str(remote / "push"))
                    push_times.append(time.perf_counter() - started)
                    upload_mb_s.append(result.mb_per_s)
        finally:
            server.stop()
            shutil.rmtree(tmp_path / "remote", ignore_errors=True)
    scp_mb_s = size / MB / min(scp_times)
    push_mb_s = size / MB / min(push_times)
    ratio = push_mb_s / scp_mb_s
    report("SFTP push of a 16 MB package to the loopback sshd vs OpenSSH `scp`", round(ratio, 2), "≥ 1.0×",
           ratio >= 1.0, measured=f"{push_mb_s:.1f} vs {scp_mb_s:.1f} MB/s ({ratio:.2f}×)",
           push_mb_s=round(push_mb_s, 1), push_upload_only_mb_s=round(max(upload_mb_s), 1),
           scp_mb_s=round(scp_mb_s, 1), package_bytes=size,
           per_command_ms=round(1000 * sum(per_command) / len(per_command), 1), source="measured")


if __name__ == "__main__":
    main()
