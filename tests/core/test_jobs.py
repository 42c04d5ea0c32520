import sys
import threading
import time

import pytest

from foldwise.core.errors import Cancelled, FoldwiseError, InputError
from foldwise.core.jobs import Job, JobContext, JobRegistry, JobState, run_subprocess


def test_job_reports_progress_log_and_result() -> None:
    seen: list[tuple[float, str]] = []

    def work(ctx: JobContext, n: int) -> int:
        for i in range(n):
            ctx.check_cancelled()
            ctx.progress((i + 1) / n, f"step {i + 1}")
            ctx.log(f"line {i}")
        return n * 2

    job = Job("double", work, 4)
    job.progressed.connect(lambda f, m: seen.append((f, m)))
    assert job.run() == 8
    assert job.state == JobState.DONE
    assert seen[0] == (0.25, "step 1") and seen[-1] == (1.0, "done")
    assert job.log_lines == ["line 0", "line 1", "line 2", "line 3"]


def test_sub_context_maps_progress() -> None:
    seen: list[float] = []
    ctx = JobContext(on_progress=lambda f, m: seen.append(f))
    ctx.sub(0.5, 1.0).sub(0.0, 0.5).progress(1.0)
    assert seen == [0.75]


def test_cancel_a_threaded_job() -> None:
    started = threading.Event()

    def work(ctx: JobContext) -> None:
        started.set()
        while True:
            ctx.check_cancelled()
            time.sleep(0.01)

    job = JobRegistry().submit(Job("forever", work))
    assert started.wait(5)
    job.cancel()
    assert job.wait(5)
    assert job.state == JobState.CANCELLED
    assert isinstance(job.error, Cancelled)


def test_failures_are_kept_with_a_message() -> None:
    def bad(ctx: JobContext) -> None:
        raise InputError("layer 'fc9' does not exist")

    def crash(ctx: JobContext) -> None:
        raise ZeroDivisionError("boom")

    job = Job("bad", bad)
    with pytest.raises(InputError):
        job.run()
    assert job.state == JobState.FAILED and job.error_message == "layer 'fc9' does not exist"
    job = Job("crash", crash).start()
    job.wait(5)
    assert job.error_message == "ZeroDivisionError: boom"
    assert "Traceback" in job.log_lines[-1]


def test_run_subprocess_streams_lines(tmp_path) -> None:
    lines: list[str] = []
    ctx = JobContext(on_log=lines.append)
    code = "import sys\nfor i in range(3): print('Running step: s%d [%d/3]' % (i, i + 1), flush=True)\nsys.exit(3)"
    rc = run_subprocess([sys.executable, "-c", code], ctx, log_file=tmp_path / "log.txt")
    assert rc == 3
    assert lines == ["Running step: s0 [1/3]", "Running step: s1 [2/3]", "Running step: s2 [3/3]"]
    assert (tmp_path / "log.txt").read_text().count("Running step") == 3


def test_run_subprocess_cancel_kills_the_process_tree(tmp_path) -> None:
    marker = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    ctx = JobContext()
    ctx_lines: list[str] = []

    def on_line(line: str) -> None:
        ctx_lines.append(line)
        if line == "ready":
            ctx.cancel()

    with pytest.raises(Cancelled):
        run_subprocess([sys.executable, "-c", code], ctx, on_line=on_line, kill_grace=1)
    grandchild = int(marker.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_run_subprocess_missing_program() -> None:
    with pytest.raises(FoldwiseError, match="could not start"):
        run_subprocess(["/nonexistent/tool"], JobContext())


def test_run_subprocess_timeout() -> None:
    with pytest.raises(FoldwiseError, match="timed out"):
        run_subprocess([sys.executable, "-c", "import time; time.sleep(30)"], JobContext(), timeout=0.5, kill_grace=1)


def test_eta_is_the_time_left_at_the_rate_so_far_and_silent_while_it_says_nothing() -> None:
    from foldwise.core.jobs import eta, format_duration

    assert eta(0.25, 60.0) == 180.0
    assert eta(0.5, 2.0) is None  # too early to tell
    assert eta(0.01, 60.0) is None  # too little done to tell
    assert eta(1.0, 60.0) is None
    assert [format_duration(s) for s in (42, 185, 4320)] == ["42 s", "3 min 05 s", "1 h 12 min"]


def test_pace_turns_a_time_left_into_the_fraction_eta_reads_back() -> None:
    from foldwise.core.jobs import JobContext, Pace, eta

    now = [100.0]
    seen: list[float] = []
    pace = Pace(JobContext(on_progress=lambda f, _m: seen.append(f)), clock=lambda: now[0])
    now[0] += 10.0
    pace.report(30.0, "a quarter done")
    assert seen[-1] == pytest.approx(0.25) and eta(seen[-1], pace.elapsed) == pytest.approx(30.0)
    now[0] += 10.0
    pace.report(100.0, "the estimate grew")  # the bar never goes back
    assert seen[-1] == pytest.approx(0.25)
    pace.done()
    assert seen[-1] == 1.0
