"""score-many as a user stops it, third hunt: each test failed before its fix."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core import distributed as dist
from tests.conftest import ROOT


def _start_in_a_terminal(args: list[str], log) -> subprocess.Popen:
    """``python -m core ARGS`` as a terminal starts it: the leader of its own process group, Ctrl-C not ignored (a
    shell's background job would ignore it), so that a signal can go to the whole group as a terminal sends it."""

    def as_a_terminal_job():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.setsid()

    return subprocess.Popen([sys.executable, "-m", "core", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=as_a_terminal_job)  # fmt: skip


def stop_score_many(args: list[str], out, log_path, signum: int) -> tuple[int, str]:
    """``score-many ARGS --out OUT`` (one worker, 1 KB ranges) started as from a terminal, sent ``signum`` once it has
    scored a range: its exit status and what it printed."""
    with open(log_path, "wb") as log:
        proc = _start_in_a_terminal(["score-many", *args, "--out", str(out), "--workers", "1", "--partition-size",
                                     "1KB", "--quiet"], log)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while not any(out.glob(f"{dist.STAGING_PREFIX}*/{dist.PREDICTIONS_DIR}/*/*.parquet")):
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "nothing scored after 5 minutes"
                time.sleep(0.1)
            os.killpg(proc.pid, signum)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, log_path.read_text()


@pytest.mark.parametrize(("signum", "status", "said"), [(signal.SIGINT, 130, "interrupted"),
                                                         (signal.SIGHUP, 129, "stopped by SIGHUP")])  # fmt: skip
def test_a_run_stopped_from_the_terminal_says_so_in_one_line(signum, status, said, model_path, v2_sample, tmp_path):
    """Ctrl-C (SIGINT to the terminal's whole process group) killed the local cluster's worker processes too: the
    user got a hundred lines of KeyboardInterrupt and heartbeat tracebacks from the workers, Dask restarting workers
    and killing them, and the command took twice as long to stop. A closed terminal (SIGHUP) also killed
    multiprocessing's resource tracker, which printed a KeyError traceback for each of the cluster's resources."""
    capture = v2_sample / "test" / "Recon-Port_Scan_test.pcap.csv"
    out = tmp_path / "out"
    returncode, text = stop_score_many(["--model", str(model_path), str(capture)], out, tmp_path / "log", signum)
    assert returncode == status, text
    assert "Traceback" not in text and "WARNING" not in text and "ERROR" not in text, text
    assert text.splitlines()[-1] == said, text
    assert not out.exists(), "the run's staging folder is removed, and the --out folder the run made"


def test_a_file_deleted_during_the_run_fails_in_one_line_without_worker_tracebacks(model_path, v2_sample, tmp_path,
                                                                                     caplog):  # fmt: skip
    """A capture moved or deleted while score-many ran (a share that dropped, a clean-up job): each of its ranges
    raised FileNotFoundError in a worker, which logged 'Compute Failed' with a traceback for every one (dozens of
    screens for a large file), and the summary said "b.csv: FileNotFoundError: [Errno 2] ..." with no hint."""
    import logging
    import shutil

    from distributed import Client, LocalCluster

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(v2_sample / "test" / "Benign_test.pcap.csv", folder / "a.csv")
    shutil.copy(v2_sample / "test" / "Recon-Port_Scan_test.pcap.csv", folder / "b.csv")

    def delete_b(done: int, total: int) -> None:
        if (folder / "b.csv").exists():  # at the first range scored: b's many ranges are not all read yet
            (folder / "b.csv").unlink()

    caplog.set_level(logging.WARNING)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:  # in this process, so that what the worker logs is seen here
            summary = dist.score_many(model_path, [str(folder)], tmp_path / "out", client=client, partition_bytes=2048,
                                      progress=False, echo=None, on_progress=delete_b)  # fmt: skip
            logged = [r for r in caplog.records if r.levelno >= logging.ERROR]  # during the run, not the test's own
            # cluster closing: its worker's heartbeat can meet the scheduler already closed (an error logged by Dask)
    assert [f["file"] for f in summary["files"]] == ["a.csv"]
    (failed,) = summary["failed"]
    assert failed["file"] == "b.csv" and failed["error"] == "b.csv: cannot read the file: No such file or directory"
    assert "moved, deleted or made unreadable during the run" in failed["hint"]
    assert not logged, [r.getMessage() for r in logged]
