"""What the explanations and reports cost: permutation importance, one row's attribution, class profiles,
threshold curves and the HTML/PDF report, per model, on a labelled data folder's test split.

    .venv/bin/python bench/explain_cost.py --model models/NAME [--model ...] --data DIR [--rows 2000] [--repeats 3]
        [--gap-rows 150]

Prints one line per step with its wall time (median of ``--runs``), on this machine as it is loaded; first, for each
model, the first row explained in the process (its time, the resident memory it added, whether TensorFlow was
imported).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import explain, threshold  # noqa: E402
from core.loading import load_split  # noqa: E402
from core.pipeline import TrainedModel  # noqa: E402
from core.report import analysis_report  # noqa: E402


def timed(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument(
        "--gap-rows",
        type=int,
        default=0,
        help="for the networks: integrated gradients of this many random "
        "test rows at 128 steps, and how far they miss what they explain (the completeness gap)",
    )
    args = ap.parse_args(argv)
    test = load_split(args.data, "test")
    print(f"data: {args.data}/test, {len(test):,} rows, {test.layout.n_features} features")
    for path in args.model:
        bench_model(path, test, args)
    return 0


def bench_model(path: str, test, args) -> None:
    import psutil

    model = TrainedModel.load(path)
    model.predict(test.subset(list(range(10))))  # load lazily-built weights, warm up the graph
    print(f"\n{model.name} ({model.family}, {model.task} classes)")
    # The first row explained in this process, as the dashboard's server meets it: what it loads (TensorFlow?)
    rss, t0 = psutil.Process().memory_info().rss, time.perf_counter()
    first = explain.explain_row(model, test, len(test) // 3)
    print(f"  first row explained in this process ({first.method}): {time.perf_counter() - t0:.2f} s, resident "
          f"memory {(psutil.Process().memory_info().rss - rss) / 2**20:+.0f} MB, TensorFlow imported: "
          f"{'yes' if 'tensorflow' in sys.modules else 'no'}")  # fmt: skip
    t, imp = timed(lambda: explain.permutation_importance(model, test, max_rows=args.rows, repeats=args.repeats),
                   args.runs)  # fmt: skip
    print(f"  permutation importance ({imp.n_rows:,} rows x {args.repeats} repeats x "
          f"{test.layout.n_features} features): {t:.2f} s")  # fmt: skip
    base = explain.benign_baseline(model, test)
    t, ex = timed(lambda: explain.explain_row(model, test, len(test) // 2, baseline=base), args.runs)
    gap = f", completeness gap {ex.completeness_gap:.2e}" if ex.completeness_gap is not None else ""
    print(f"  one row ({ex.method}{gap}): {t * 1000:.0f} ms")
    if args.gap_rows and ex.completeness_gap is not None:
        print(f"  {gaps(model, test, base, args.gap_rows)}")
    t, _ = timed(lambda: explain.class_profiles(model, test), args.runs)
    print(f"  class profiles: {t:.2f} s")
    pred = model.predict(test)
    if model.task == 2:
        p = threshold.attack_probability(pred.classes, pred.proba)
        t, _ = timed(lambda: threshold.curves(threshold.is_attack_truth(test), p), args.runs)
        print(f"  ROC + PR curves ({len(p):,} rows): {t:.2f} s")
    t, rep = timed(lambda: analysis_report(model, test, predictions=pred, importance=imp), 1)
    print(f"  report built (importance reused): {t:.2f} s")
    t, html = timed(rep.to_html, 1)
    print(f"  HTML: {t:.2f} s, {len(html) / 1e6:.1f} MB")
    t, pdf = timed(rep.to_pdf, 1)
    print(f"  PDF: {t:.2f} s, {len(pdf) / 1e3:.0f} kB")


def gaps(model, test, base, rows: int, steps: int = 128) -> str:
    """Integrated gradients of ``rows`` random test rows (seed 1) at ``steps`` steps, without the refinement
    :func:`core.explain.explain_row` adds: the completeness gaps, against ``IG_TOLERANCE``."""
    import numpy as np

    picked = np.random.default_rng(1).choice(len(test), min(rows, len(test)), replace=False)
    X = model.preprocessor.transform(test.X[picked])[0]
    p_rows, p_base = model.detector.predict_proba(X), model.detector.predict_proba(base.preprocessed[None, :])[0]
    found = []
    for x, p in zip(X, p_rows, strict=True):
        c = int(p.argmax())
        found.append(abs(explain.integrated_gradients(model, x, base.preprocessed, c, steps=steps).sum()
                         - (p[c] - p_base[c])))  # fmt: skip
    found = np.array(found)
    return (
        f"completeness gap of {len(found)} rows at {steps} steps: median {np.median(found):.1e}, largest "
        f"{found.max():.1e}, {(found > explain.IG_TOLERANCE).sum()} above {explain.IG_TOLERANCE}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
