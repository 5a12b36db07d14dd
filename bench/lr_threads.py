"""Logistic regression's fit with BLAS on its default threads against one thread (what ``core.models`` now does).

Trains ``lr`` (``core.training.train_model``, refit included) on the demo data's train split, capped at
``--rows-per-class`` rows per class, for the 19-class task, ``--runs`` times each way, alternating, and prints the
median seconds. ``--busy N`` starts N processes that spin on a core meanwhile (a machine shared with other work).
"BLAS default" undoes the product's limit for the run by patching ``core.inference.single_threaded_blas`` into a
no-op, so both arms run the same code otherwise.

    .venv/bin/python bench/lr_threads.py --data data/demo [--rows-per-class 1000] [--runs 3] [--busy 0]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a folder in the official layout (e.g. the demo data)")
    ap.add_argument("--rows-per-class", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--busy", type=int, default=0, help="processes spinning on a core meanwhile")
    args = ap.parse_args(argv)

    from threadpoolctl import threadpool_info

    import core.inference
    from core.loading import load_split
    from core.training import train_model

    warnings.simplefilter("ignore")
    train = load_split(args.data, "train", max_rows_per_class=args.rows_per_class, seed=0)
    blas = [(p["internal_api"], p["num_threads"]) for p in threadpool_info() if p["user_api"] == "blas"]
    print(f"{len(train):,} training rows; BLAS libraries and their threads: {blas}; busy processes: {args.busy}")
    limited = core.inference.single_threaded_blas
    times: dict[str, list[float]] = {"BLAS default": [], "BLAS one thread": []}
    busy = [multiprocessing.Process(target=spin, args=(3600,), daemon=True) for _ in range(args.busy)]
    for p in busy:
        p.start()
    try:
        for _ in range(args.runs):
            for arm in times:
                core.inference.single_threaded_blas = limited if arm == "BLAS one thread" else contextlib.nullcontext
                started = time.perf_counter()
                train_model("lr", 19, train, seed=0)
                times[arm].append(time.perf_counter() - started)
    finally:
        core.inference.single_threaded_blas = limited
        for p in busy:
            p.terminate()
    for arm, seconds in times.items():
        print(f"{arm}: median {statistics.median(seconds):.2f} s ({', '.join(f'{s:.2f}' for s in seconds)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
