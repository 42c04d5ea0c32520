"""The test cluster itself: a real array job runs two tasks at once on its 2 CPUs, listening on loopback only."""

from __future__ import annotations

import time
from pathlib import Path

from tests.slurm_cluster import SlurmCluster


def test_an_array_job_runs_on_the_one_node_cluster(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    script = tmp_path / "job.sh"
    script.write_text(
        f"#!/bin/sh\n#SBATCH --output={tmp_path}/out-%a.txt\n"
        f"date +%s.%N > {tmp_path}/start-$SLURM_ARRAY_TASK_ID; sleep 1; echo task $SLURM_ARRAY_TASK_ID\n"
    )
    job = slurm_cluster.run(
        "sbatch", "--parsable", "--array=0-3", "--cpus-per-task=1", "--mem=100M", str(script)
    ).stdout.strip()
    deadline = time.monotonic() + 60
    while slurm_cluster.run("squeue", "-h", "-j", job).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    states = slurm_cluster.run("scontrol", "show", "job", job, "-o").stdout
    assert states.count("JobState=COMPLETED") == 4, states
    assert [(tmp_path / f"out-{i}.txt").read_text().strip() for i in range(4)] == [f"task {i}" for i in range(4)]
    starts = sorted(float((tmp_path / f"start-{i}").read_text()) for i in range(4))
    assert starts[1] - starts[0] < 0.9, f"two tasks did not run at once on {slurm_cluster.cpus} CPUs: {starts}"
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:]
    ports = {
        int(line.split()[1].split(":")[1], 16): line.split()[1].split(":")[0]
        for line in listening
        if line.split()[3] == "0A"
    }  # LISTEN
    conf = slurm_cluster.conf.read_text()
    for key in ("SlurmctldPort", "SlurmdPort"):
        port = int(conf.split(f"{key}=")[1].split()[0])
        assert ports.get(port) == "0100007F", f"{key} {port} listens on {ports.get(port)}, not 127.0.0.1"
