"""The training worker runs below the server's CPU priority, so that scoring in the server is not slowed by it."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _niceness_inside(progress, commit):
    """Run in the job worker: its niceness, and that of every thread it has once it has started one of its own
    (TensorFlow, OpenMP and BLAS start theirs after the worker has begun)."""
    started = threading.Event()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (started.set(), done.wait(10)), daemon=True)
    thread.start()
    started.wait(10)
    nices = []
    for task in Path("/proc/self/task").iterdir():
        fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        nices.append(int(fields[16]))  # field 19 of /proc/PID/task/TID/stat: the thread's niceness
    done.set()
    return os.getpriority(os.PRIO_PROCESS, 0), nices


def test_the_worker_and_every_thread_it_starts_run_at_a_lower_cpu_priority():
    """Before, the worker ran at the server's niceness, and so did OpenBLAS's and jemalloc's threads, started as it
    imported its modules, under ``os.nice`` alone: a training slowed another user's parse + score of a 250,000-row
    capture in the server from 2.0 s to 4.1-9.1 s on 2 cores (bench/RESULTS.md, "Scoring while a model trains")."""
    from dashboard.train_jobs import WorkerJob

    class Probe(WorkerJob):
        def _work(self):
            return _niceness_inside, ()

    job = Probe("probe").start()
    assert job.wait(120), "the worker did not end"
    assert job.state == "done", (job.state, job.error)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    process_nice, thread_nices = job.result
    assert process_nice >= min(own + 5, 19), f"worker niceness {process_nice}, the server's (this test's) {own}"
    assert len(thread_nices) >= 2 and set(thread_nices) == {process_nice}, thread_nices


def test_training_and_comparison_jobs_start_their_worker_the_same_way():
    """Both kinds of job the pages start inherit the worker's start (and its niceness) from WorkerJob."""
    from dashboard.train_jobs import BenchmarkJob, TrainJob, WorkerJob

    for kind in (TrainJob, BenchmarkJob):
        assert kind._run is WorkerJob._run and kind.niceness == WorkerJob.niceness
