"""score-many on a local Dask cluster against single-process ``predict``, and worker memory on one large file.

1. Throughput: ``--rows`` generated rows (synthetic, ``core.demo.write_demo_csv``) in ``--files`` capture
   files, scored by ``python -m core predict`` (one process, CSV out) and by ``python -m core score-many
   --workers N`` (local cluster, Parquet out). Rows/s from the wall time of each command (process start,
   model loading and cluster start included) and, for score-many, from its own summary (scoring only).
2. Memory: one file of about ``--big-gb`` GB (the generated files repeated), scored by score-many with
   64 MB partitions; the peak resident memory of every worker process is sampled from outside (psutil).

    .venv/bin/python bench/score_many.py --work /tmp/score-many-bench [--model PATH] [--rows 2000000]
        [--files 8] [--workers 2] [--big-gb 2]

Without ``--model`` a random forest (100 trees) is trained on the shared v2 sample first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
V2_SAMPLE = ROOT.parent / "shared" / "data" / "ciciomt2024-v2-sample"


def run_sampled(cmd: list[str], interval: float = 0.2) -> dict:
    """Run ``cmd``; return wall seconds, output and the peak RSS of each process of its tree."""
    import psutil

    peaks: dict[int, dict] = {}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def sample():
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    rss = p.memory_info().rss
                    cpu = p.cpu_times()
                    entry = peaks.setdefault(p.pid, {"cmd": " ".join(p.cmdline())[:160], "peak_rss_mb": 0.0})
                    entry["peak_rss_mb"] = max(entry["peak_rss_mb"], rss / 2**20)
                    entry["cpu_s"] = cpu.user + cpu.system  # last sample: about the process's total
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{output[-3000:]}")
    return {"wall_s": round(wall, 2), "output": output, "processes": peaks}


def cpu_seconds(run: dict) -> float:
    """CPU seconds (user + system) used by the whole process tree, as last sampled."""
    return round(sum(p.get("cpu_s", 0.0) for p in run["processes"].values()), 1)


def workers_of(run: dict) -> list[float]:
    """Peak RSS (MB) of the Dask worker processes (spawned children running distributed)."""
    return sorted(round(p["peak_rss_mb"]) for p in run["processes"].values() if "spawn_main" in p["cmd"])


def make_files(work: Path, rows: int, n_files: int) -> list[Path]:
    sys.path.insert(0, str(ROOT))
    from core.demo import write_demo_csv
    from core.taxonomy import CLASSES_19

    folder = work / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    per_file = rows // n_files
    rpc = {c: (per_file // 2 if c == "Benign" else per_file // 36) for c in CLASSES_19}
    rpc["Benign"] += per_file - sum(rpc.values())
    files = []
    for i in range(n_files):
        path = folder / f"site{i:02d}.csv"
        if not path.exists():
            write_demo_csv(path, rows_per_class=rpc, seed=i)
        files.append(path)
    return files


def make_big_file(work: Path, files: list[Path], gigabytes: float) -> Path:
    """One CSV of about ``gigabytes`` GB: the generated files' rows repeated, one header."""
    path = work / f"big-{gigabytes:g}GB.csv"
    if path.exists():
        return path
    target = gigabytes * 1e9
    with open(path, "wb") as out:
        out.write(files[0].open("rb").readline())
        while out.tell() < target:
            for f in files:
                with f.open("rb") as fh:
                    fh.readline()
                    shutil.copyfileobj(fh, out, 16 << 20)
                if out.tell() >= target:
                    break
    return path


def measure_score_many(model: Path, files: list[Path], out: Path, workers: int, n_rows: int) -> dict:
    cmd = [
        PY,
        "-m",
        "core",
        "score-many",
        "--model",
        str(model),
        *map(str, files),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--overwrite",
        "--quiet",
    ]
    run = run_sampled(cmd)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == n_rows, summary["rows"]
    return {
        "workers": workers,
        "wall_s": run["wall_s"],
        "rows_per_s": round(n_rows / run["wall_s"]),
        "after_cluster_start_s": summary["seconds"],
        "model_load_s": summary["model_load_seconds"],
        "scoring_rows_per_s": round(n_rows / (summary["seconds"] - summary["model_load_seconds"])),
        "partitions": sum(f["partitions"] for f in summary["files"]),
        "worker_peak_rss_mb": workers_of(run),
        "cpu_s": cpu_seconds(run),
        "worker_busy_s": summary["worker_busy_seconds"],
    }


def train_model(work: Path) -> Path:
    model = work / "models" / "rf-19class-bench"
    if not model.exists():
        subprocess.run(
            [
                PY,
                "-m",
                "core",
                "train",
                "--task",
                "19",
                "--model",
                "rf",
                "--data",
                str(V2_SAMPLE),
                "--param",
                "n_estimators=100",
                "--models-dir",
                str(model.parent),
                "--name",
                model.name,
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
        )
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, help="folder for generated inputs and outputs (reused)")
    parser.add_argument("--model", help="model folder (default: train a 100-tree forest on the v2 sample)")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--big-gb", type=float, default=2.0, help="size of the one large file (0: skip)")
    parser.add_argument("--skip-predict", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true", help="only the large-file run")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else train_model(work)
    files = make_files(work, args.rows, args.files)
    n_rows = args.files * (args.rows // args.files)
    mb = sum(f.stat().st_size for f in files) / 1e6
    results: dict = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "model": str(model),
        "rows": n_rows,
        "files": len(files),
        "input_mb": round(mb, 1),
    }
    print(f"{n_rows:,} rows in {len(files)} files ({mb:,.0f} MB), model {model.name}", flush=True)

    if not args.skip_predict and not args.skip_throughput:
        run = run_sampled(
            [PY, "-m", "core", "predict", "--model", str(model), *map(str, files), "--out", str(work / "predict.csv")]
        )
        results["predict"] = {
            "wall_s": run["wall_s"],
            "rows_per_s": round(n_rows / run["wall_s"]),
            "peak_rss_mb": round(max(p["peak_rss_mb"] for p in run["processes"].values())),
            "cpu_s": cpu_seconds(run),
        }
        load = run_sampled([PY, "-c", f"from core.pipeline import TrainedModel; TrainedModel.load({str(model)!r})"])
        results["predict"]["start_and_model_load_s"] = load["wall_s"]
        results["predict"]["start_and_model_load_cpu_s"] = cpu_seconds(load)
        results["predict"]["scoring_rows_per_s"] = round(n_rows / (run["wall_s"] - load["wall_s"]))
        print(f"predict (1 process): {results['predict']}", flush=True)

    if not args.skip_throughput:
        results["score_many"] = measure_score_many(model, files, work / "score-many", args.workers, n_rows)
        print(f"score-many ({args.workers} workers): {results['score_many']}", flush=True)

    if args.big_gb > 0:
        big = make_big_file(work, files, args.big_gb)
        out = work / "score-many-big"
        run = run_sampled(
            [
                PY,
                "-m",
                "core",
                "score-many",
                "--model",
                str(model),
                str(big),
                "--out",
                str(out),
                "--workers",
                str(args.workers),
                "--partition-size",
                "64MB",
                "--overwrite",
                "--quiet",
            ]
        )
        summary = json.loads((out / "summary.json").read_text())
        results["big_file"] = {
            "gb": round(big.stat().st_size / 1e9, 2),
            "rows": summary["rows"],
            "wall_s": run["wall_s"],
            "scoring_rows_per_s": summary["rows_per_second"],
            "partitions": summary["files"][0]["partitions"] if summary["files"] else 0,
            "failed": summary["failed"],
            "worker_peak_rss_mb": workers_of(run),
            "client_peak_rss_mb": round(
                max(p["peak_rss_mb"] for p in run["processes"].values() if "score-many" in p["cmd"])
            ),
        }
        print(f"one large file: {results['big_file']}", flush=True)
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
