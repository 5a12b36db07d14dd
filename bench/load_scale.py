"""Loading at full scale: the official layout's 72 files with their official row counts (8,775,013 rows).

Generates the files once (synthetic, streamed to disk), then times ``core.loading.load_split`` for
train and test in a fresh process and reports rows/s and peak memory (RSS), next to the paper's
loader (``pandas.read_csv`` with defaults, float64) when ``--paper`` is given.

    .venv/bin/python bench/load_scale.py --out /tmp/ciciomt-full --layout v1 [--scale 1.0] [--paper] [--overlap]

``--overlap`` also times the check ``benchmark-models`` makes before its jobs (test rows that also occur in train).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_both(data: str):
    """Train and test as the product reads them (``core.loading.load_split``)."""
    sys.path.insert(0, str(ROOT))
    from core.loading import load_split

    train = load_split(data, "train")
    return train, load_split(data, "test", layout=train.layout)


def measure_ours(data: str) -> dict:
    started = time.perf_counter()
    train, test = _load_both(data)
    elapsed = time.perf_counter() - started
    rows = len(train) + len(test)
    return {"loader": "core.loading.load_split (pyarrow, float32)", "rows": rows, "seconds": round(elapsed, 2),
            "rows_per_second": round(rows / elapsed), "peak_rss_mb": round(_peak_rss_mb()),
            "matrix_mb": round((train.X.nbytes + test.X.nbytes) / 2**20)}  # fmt: skip


def measure_overlap(data: str) -> dict:
    """The check ``benchmark-models`` (and ``evaluate --drop-train-duplicates``) makes before any job: which test
    rows also occur in train, per task. Peak RSS is that of the whole process (the data loaded, then the check)."""
    train, test = _load_both(data)
    from core.compare import overlap_notes
    from core.taxonomy import TASKS

    loaded = _peak_rss_mb()
    started = time.perf_counter()
    notes = overlap_notes(train, test, TASKS)
    elapsed = time.perf_counter() - started
    return {"loader": "overlap check (core.compare.overlap_notes, 3 tasks) after loading", "rows": len(train) + len(test),
            "seconds": round(elapsed, 2), "rows_per_second": round((len(train) + len(test)) / elapsed),
            "peak_rss_mb": round(_peak_rss_mb()), "matrix_mb": round((train.X.nbytes + test.X.nbytes) / 2**20),
            "peak_rss_loading_mb": round(loaded), "notes": len(notes)}  # fmt: skip


def measure_paper(data: str) -> dict:
    import pandas as pd

    started = time.perf_counter()
    frames = [pd.read_csv(f) for split in ("train", "test") for f in sorted(Path(data, split).glob("*.csv"))]
    full = pd.concat(frames, ignore_index=True)
    elapsed = time.perf_counter() - started
    return {"loader": "pandas.read_csv defaults + concat (float64)", "rows": len(full), "seconds": round(elapsed, 2),
            "rows_per_second": round(len(full) / elapsed), "peak_rss_mb": round(_peak_rss_mb()),
            "matrix_mb": round(full.memory_usage(deep=False).sum() / 2**20)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the generated files (reused when present)")
    parser.add_argument("--layout", choices=["v1", "v2"], default="v1")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the official row counts")
    parser.add_argument("--paper", action="store_true", help="also measure the paper's pandas loader")
    parser.add_argument("--overlap", action="store_true", help="also measure the check for test rows that also "
                        "occur in train (after loading, in its own process)")  # fmt: skip
    parser.add_argument("--measure", choices=["ours", "paper", "overlap"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        result = {"ours": measure_ours, "paper": measure_paper, "overlap": measure_overlap}[args.measure](args.out)
        print(json.dumps(result))
        return 0
    out = Path(args.out)
    if not (out / "train").is_dir():
        sys.path.insert(0, str(ROOT))
        from core.demo import write_demo_dataset

        started = time.perf_counter()
        manifest = write_demo_dataset(out, layout=args.layout, rows_per_class="official", scale=args.scale, seed=0)
        print(f"generated {manifest['total_rows']:,} rows in {time.perf_counter() - started:.0f} s into {out}")
    results = []
    for which in ["ours"] + (["paper"] if args.paper else []) + (["overlap"] if args.overlap else []):
        proc = subprocess.run([sys.executable, __file__, "--out", str(out), "--measure", which],
                              capture_output=True, text=True, check=True)  # fmt: skip
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    for r in results:
        print(f"{r['loader']}: {r['rows']:,} rows in {r['seconds']} s ({r['rows_per_second']:,} rows/s), "
              f"peak RSS {r['peak_rss_mb']:,} MB, matrix {r['matrix_mb']:,} MB"
              + (f" (peak {r['peak_rss_loading_mb']:,} MB after loading)" if "peak_rss_loading_mb" in r else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
