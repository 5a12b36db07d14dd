"""Scoring while a model trains: what a dashboard training run does to another user's scoring on the same server.

The Analyze page parses an upload (``core.loading.read_files`` on its bytes) and scores it
(``TrainedModel.predict``) in the Streamlit server's own process, while a Train or Compare page's run trains in a
worker process (``dashboard.train_jobs.TrainJob``). This times that parse + score in-process (median of ``--runs``)
alone, then while a ``TrainJob`` fits a cnn, a gbt or a rf (long enough to outlast the scoring; cancelled after),
each with the worker at the niceness given (``--nice``: one value per A/B arm, run back to back, the same job
settings). Before the first scoring of each arm the worker must be in its fit (a progress message of epochs, trees or
boosting rounds). Printed per arm: the worker's niceness (every thread's, read from ``/proc``), its threads and
thread-pool variables, the worker's CPU seconds during the scorings (how far training went on meanwhile), and the
times. ``--idle`` instead times fixed trainings to the end with nothing else running, at each niceness.

    .venv/bin/python bench/score_while_training.py --models-dir /tmp/hc/models --data /tmp/hc/demo
        [--rows 250000] [--runs 3] [--trainers cnn,gbt,rf] [--nice 0,10] [--score demo-cnn-19class,demo-rf-19class]
        [--threads1] [--idle]

``--models-dir`` must hold the 19-class models named by ``--score`` (e.g. ``python -m core setup-demo --data D
--models-dir M``, or ``core.training.train_from_folder``); ``--data`` is a folder in the official layout to train on.
``--threads1`` adds an arm with the worker's thread pools set to one thread (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS`` in its
environment) at niceness 0.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from analyze_page import rows_per_class  # noqa: E402 (the same captures as the browser bench)

#: A progress message of a fit under way (not reading files or starting TensorFlow).
IN_FIT = re.compile(r"epoch \d|\d/[\d,]+ trees|boosting round|fitting gbt")
#: What each trainer fits: long enough to outlast every scoring of an arm (the run is cancelled after).
TRAINERS = {
    "cnn": {"epochs": 500},
    "gbt": {"max_iter": 100_000, "early_stopping": False},
    "rf": {"n_estimators": 1_500},  # 2 MB a tree on the demo data: 3 GB
}
IDLE_TRAINERS = {"cnn": {"epochs": 3}, "rf": {"n_estimators": 60}, "gbt": {"max_iter": 60, "early_stopping": False}}
POOL_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
             "TF_NUM_INTEROP_THREADS")  # fmt: skip


def write_capture(rows: int, folder: Path) -> tuple[str, bytes]:
    """A ``rows``-row synthetic capture (v2, a label column, benign the majority) as an upload: (name, bytes)."""
    from core.demo import write_demo_csv

    path = folder / f"capture-{rows}.csv"
    write_demo_csv(path, "v2", rows_per_class(rows), seed=1, with_label_column=True)
    return path.name, path.read_bytes()


def score_once(upload: tuple[str, bytes], model) -> tuple[float, float]:
    """Seconds to parse the upload and to score it, as the Analyze page does in the server."""
    from core.loading import read_files

    t0 = time.perf_counter()
    data = read_files([upload])
    t1 = time.perf_counter()
    model.predict(data)
    return t1 - t0, time.perf_counter() - t1


def worker_state(pid: int) -> dict:
    """The worker's threads, the niceness of each (``/proc/PID/task/*/stat``), and its thread-pool variables."""
    nices = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        nices.append(int(fields[16]))  # field 19 of stat; fields[0] is field 3 (state)
    env = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in kv)
    return {"threads": len(nices), "nice": sorted(set(nices)), "pools": {v: env.get(v, "unset") for v in POOL_VARS}}


def cpu_seconds(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def start_job(family: str, params: dict, data: str, models_dir: Path, nice: int, threads1: bool):
    from dashboard.train_jobs import TrainJob, TrainRequest

    request = TrainRequest(family, 19, dict(params), models_dir, name=f"hc-{family}-{nice}-{time.time_ns()}",
                           data_dir=data)  # fmt: skip
    job = TrainJob(request, None)
    job.niceness = nice
    saved = {v: os.environ.get(v) for v in POOL_VARS}
    if threads1:
        os.environ.update(dict.fromkeys(POOL_VARS, "1"))  # the spawned worker takes this environment
    try:
        job.start()
        deadline = time.monotonic() + 180
        while job.worker_pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for v, value in saved.items():
            if value is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = value
    return job


def wait_in_fit(job, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while job.running and not IN_FIT.search(job.message) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not job.running:
        raise SystemExit(f"{job.name} ended before its fit began: {job.state} {job.error}")
    time.sleep(2)  # past the first batches: TensorFlow's threads are all started


def run_arm(label: str, upload, models: dict, runs: int, job=None) -> dict:
    """Score each model ``runs`` times (after one untimed warm-up scoring); medians."""
    out = {"arm": label}
    if job is not None:
        out["worker"] = worker_state(job.worker_pid)
        cpu0, t0 = cpu_seconds(job.worker_pid), time.perf_counter()
    for name, model in models.items():
        score_once(upload, model)  # warm-up: buffers, thread pools
        parse, predict = zip(*(score_once(upload, model) for _ in range(runs)), strict=True)
        out[name] = (statistics.median(parse), statistics.median(predict),
                     statistics.median(a + b for a, b in zip(parse, predict, strict=True)))  # fmt: skip
    if job is not None:
        wall = time.perf_counter() - t0
        out["worker_cpu_share"] = (cpu_seconds(job.worker_pid) - cpu0) / wall  # cores the training used
        out["outlasted"] = job.running
        job.cancel()
        job.wait(60)
    return out


def show(result: dict) -> None:
    line = f"{result['arm']:<28}"
    for key, value in result.items():
        if isinstance(value, tuple):
            line += f" | {key}: parse {value[0]:.2f} + score {value[1]:.2f} = {value[2]:.2f} s"
    if "worker" in result:
        w = result["worker"]
        line += (f" | worker nice {w['nice']}, {w['threads']} threads, pools {w['pools']}, "
                 f"training used {result['worker_cpu_share']:.2f} cores, outlasted {result['outlasted']}")  # fmt: skip
    print(line, flush=True)


def idle(args, models_dir: Path) -> None:
    """Fixed trainings to the end, nothing else running: job wall seconds at each niceness, alternated."""
    for family in args.trainers.split(","):
        for rep in range(args.runs):
            for nice in [int(n) for n in args.nice.split(",")]:
                job = start_job(family, IDLE_TRAINERS[family], args.data, models_dir, nice, False)
                job.wait()
                print(f"idle {family} {IDLE_TRAINERS[family]} nice {nice} run {rep + 1}: {job.state}, "
                      f"{job.elapsed:.1f} s", flush=True)  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", required=True, type=Path)
    p.add_argument("--data", required=True)
    p.add_argument("--rows", type=int, default=250_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--trainers", default="cnn,gbt,rf")
    p.add_argument("--nice", default="0,10")
    p.add_argument("--score", default="demo-cnn-19class,demo-rf-19class")
    p.add_argument("--threads1", action="store_true")
    p.add_argument("--idle", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("IOMT_DATA_ROOTS", str(Path(args.data).resolve()))
    with tempfile.TemporaryDirectory(prefix="hc-") as tmp:
        scratch = Path(tmp) / "models"
        scratch.mkdir()
        if args.idle:
            idle(args, scratch)
            return 0
        from core.pipeline import TrainedModel

        models = {n.split("-")[1]: TrainedModel.load(args.models_dir / n) for n in args.score.split(",")}
        upload = write_capture(args.rows, Path(tmp))
        print(f"{args.rows:,} rows, {len(upload[1]) / 1e6:.1f} MB; {os.cpu_count()} cores; load "
              f"{os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        show(run_arm("alone", upload, models, args.runs))
        for family in args.trainers.split(","):
            arms = [(f"nice {n}", int(n), False) for n in args.nice.split(",")]
            if args.threads1:
                arms.append(("nice 0, pools of 1 thread", 0, True))
            for label, nice, threads1 in arms:
                job = start_job(family, TRAINERS[family], args.data, scratch, nice, threads1)
                wait_in_fit(job)
                show(run_arm(f"{family} training, {label}", upload, models, args.runs, job))
        show(run_arm("alone, again", upload, models, args.runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
