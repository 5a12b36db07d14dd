"""Memory the dashboard keeps between uploads: one session of the Analyze page, captures uploaded one after another.

Generates ``--captures`` synthetic captures of ``--rows`` rows each (v2 layout, a ``label`` column, benign the
majority: ``bench/analyze_page.py``'s ``rows_per_class`` and ``core.demo.write_demo_csv``, each file its own seed),
then drives the Analyze page (``dashboard/views/analyze.py``) in this process with Streamlit's AppTest, as
``tests/dashboard/test_analyze_page.py`` does: the 19-class task, the model, then each capture set on the uploader
in place of the last (one session throughout). After each upload it prints the resident memory of this process
(psutil; the AppTest runs the page in it, so this is the server's memory), the bytes the memory-bounded cache
``dashboard.loaders.HEAVY`` counts and its number of entries, and the seconds the upload took (the page's run
after the uploader was set: parse, score, tables, charts). One table at the end.

The model: ``--models-dir DIR --model NAME`` (a saved 19-class model of the v2 layout), or, without them, a
random forest trained here as ``python -m core setup-demo`` trains ``demo-rf-19class`` (demo data, 100 trees,
1,000 rows per class; seconds), into a temporary folder. ``--cache-mb N`` sets ``$IOMT_CACHE_MB`` for the
run (else the dashboard's default budget: a quarter of this machine's memory, between 512 MB and 4 GB).

``--census`` adds, after each upload, where the memory is: the arrays, frames and large byte strings reachable from
each cache of the dashboard (``HEAVY``, Streamlit's ``st.cache_resource`` and ``st.cache_data`` stores, the
permutation-importance cache of ``dashboard/explain_panel.py``, the session's state), each counted once, those
outside ``HEAVY`` apart; the bytes Python and numpy hold (``tracemalloc``, started before the first upload: the run
is slower) and the lines of code that allocated what it traced since the last upload; and how much the resident
memory drops when glibc hands back the free memory it kept (``malloc_trim``: allocator slack). The trim changes what
it measures, so the RSS of a census run is not that of a plain run. ``--rerun`` runs the page once more after each
upload before measuring, as moving any widget would (the upload's seconds are still those of its own run).

    .venv/bin/python bench/cache_memory.py [--captures 5] [--rows 1000000] [--cache-mb 1024]
        [--models-dir DIR --model NAME] [--census] [--rerun]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import io
import os
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from analyze_page import models_19, rows_per_class  # noqa: E402 (the same captures as the browser bench)

APP = ROOT / "dashboard" / "app.py"
TIMEOUT_S = 1800  # one page run: parse and score a capture
DEMO_MODEL = "demo-rf-19class"
TOP_SITES = 8  # allocation sites listed by --census


def gib(n: float) -> str:
    return f"{n / 2**30:.2f}"


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


# ---------------------------------------------------------------------------------- the model


def train_demo_rf(work: Path) -> tuple[Path, str]:
    """``demo-rf-19class`` as ``python -m core setup-demo`` trains it, into ``work/models``; demo data in ``work``."""
    from core.cli import DEMO_MODELS, DEMO_ROWS_PER_CLASS
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    data, models = work / "demo", work / "models"
    started = time.perf_counter()
    write_demo_dataset(data, layout="v2", seed=0)
    params = dict(DEMO_MODELS)["rf"]
    train_from_folder("rf", 19, str(data), params=params, models_dir=str(models), name=DEMO_MODEL,
                      max_rows_per_class=DEMO_ROWS_PER_CLASS)  # fmt: skip
    print(f"no --models-dir given: trained {DEMO_MODEL} (rf, {params}, {DEMO_ROWS_PER_CLASS:,} rows per class of "
          f"generated demo data, as `python -m core setup-demo` does) in {time.perf_counter() - started:.0f} s",
          flush=True)  # fmt: skip
    return models, DEMO_MODEL


# ---------------------------------------------------------------------------------- the census


def _base(a):
    while a.base is not None and hasattr(a.base, "nbytes") and not isinstance(a.base, (bytes, memoryview)):
        a = a.base
    return a


def held(root, depth: int = 12) -> dict[int, int]:
    """Arrays, frames' blocks and byte strings over 1 MB reachable from ``root``: {id of the owning buffer: bytes}.
    Functions are followed into their closures and defaults only (not their module's globals)."""
    import numpy as np
    import pandas as pd

    out: dict[int, int] = {}
    seen: set[int] = set()
    stack = [(root, depth)]
    while stack:
        obj, d = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            b = _base(obj)
            out[id(b)] = int(b.nbytes)
            continue
        if isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            mgr = getattr(obj, "_mgr", None)
            arrays = [blk.values for blk in mgr.blocks] if mgr is not None else [obj._values]
            for a in arrays:
                if isinstance(a, np.ndarray):
                    stack.append((a, 0))
                else:  # an extension array (pandas' own strings, Arrow-backed): its buffers, by the array
                    out[id(a)] = int(a.nbytes)
            if not isinstance(obj, pd.Index):
                stack.append((obj.index, 1))
            continue
        if isinstance(obj, (bytes, bytearray, memoryview)):
            size = obj.nbytes if isinstance(obj, memoryview) else len(obj)
            if size > 1 << 20:
                out[id(obj)] = size
            continue
        if isinstance(obj, io.BytesIO):  # an uploaded file: its bytes, shared with whoever else holds them, or its own
            value = obj.getvalue()  # the shared bytes object itself; a copy of its own buffer otherwise
            if sys.getsizeof(obj) >= len(value):
                out[id(obj)] = len(value)
            elif len(value) > 1 << 20:
                out[id(value)] = len(value)
            del value
            continue
        if d <= 0 or isinstance(obj, (str, int, float, bool, type, types.ModuleType, types.CodeType, types.FrameType)):
            continue
        if isinstance(obj, types.FunctionType):
            children = [c.cell_contents for c in obj.__closure__ or () if c.cell_contents is not None]
            children += list(obj.__defaults__ or ())
        elif isinstance(obj, types.MethodType):
            children = [obj.__self__]
        else:
            children = gc.get_referents(obj)
        stack.extend((c, d - 1) for c in children)
    return out


def census(at) -> dict[str, int]:
    """Bytes reachable from each cache (each buffer counted once per line); ``outside HEAVY``: reachable from the
    others and not from ``HEAVY``."""
    from streamlit.runtime.caching.cache_data_api import _data_caches
    from streamlit.runtime.caching.cache_resource_api import _resource_caches

    from dashboard import explain_panel
    from dashboard.loaders import HEAVY

    roots = {
        "HEAVY": HEAVY._entries,
        "st.cache_resource": _resource_caches._function_caches,
        "st.cache_data": _data_caches._function_caches,
        "importance cache": explain_panel._IMPORTANCE,
        "session state": at.session_state._state,
    }
    found = {name: held(root) for name, root in roots.items()}
    heavy = found["HEAVY"]
    others: dict[int, int] = {}
    for name, ids in found.items():
        if name != "HEAVY":
            others.update(ids)
    out = {name: sum(ids.values()) for name, ids in found.items()}
    out["outside HEAVY"] = sum(n for i, n in others.items() if i not in heavy)
    return out


def trimmed() -> int:
    """Resident bytes handed back by glibc's ``malloc_trim`` (free memory it kept); 0 where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return 0
    gc.collect()
    before = rss()
    libc.malloc_trim(0)
    return before - rss()


# ---------------------------------------------------------------------------------- the page


def analyze_page(models_dir: Path, model: str):
    """The Analyze page with the 19-class task and ``model`` chosen (as tests/dashboard/test_analyze_page.py)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S).run()
    at = at.switch_page("views/analyze.py").run()
    at.selectbox(key="analyze_task").set_value(19).run()
    at.selectbox(key="analyze_model").set_value(str(models_dir / model))
    return at.run()


def upload(at, name: str, payload: bytes):
    at.file_uploader(key="analyze_uploads").set_value([(name, payload, "text/csv")])
    return at.run()


def check(at, rows: int) -> None:
    if at.exception:
        raise SystemExit("the page failed:\n" + "\n---\n".join(e.message for e in at.exception))
    errors = [e.value for e in at.error]
    if errors:
        raise SystemExit("the page shows an error:\n" + "\n---\n".join(errors))
    shown = next((m.value for m in at.metric if m.label == "Rows scored"), None)
    if shown != f"{rows:,}":
        raise SystemExit(f"the page says {shown!r} rows scored, not {rows:,}")


# ---------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captures", type=int, default=5, help="captures uploaded one after another")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each capture")
    parser.add_argument("--cache-mb", type=int, help="$IOMT_CACHE_MB for the run (default: the dashboard's own)")
    parser.add_argument("--models-dir", type=Path, help="model registry holding --model")
    parser.add_argument("--model", help="a saved 19-class model of the v2 layout in --models-dir")
    parser.add_argument("--rerun", action="store_true", help="run the page once more after each upload, unchanged")
    parser.add_argument("--census", action="store_true", help="also say where the memory is (slower)")
    args = parser.parse_args()
    if args.rows < 19 * 10 or args.captures < 1:
        parser.error("--rows must be at least 190 and --captures at least 1")
    if (args.models_dir is None) != (args.model is None):
        parser.error("give both --models-dir and --model, or neither (a demo rf is then trained)")
    if args.cache_mb is not None:
        os.environ["IOMT_CACHE_MB"] = str(args.cache_mb)

    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        work = Path(tmp)
        for name, sub in (("IOMT_AUDIT_DIR", "audit"), ("IOMT_LOCK_DIR", "locks")):  # not the real audit log
            os.environ[name] = str(work / sub)
        if args.models_dir is None:
            models_dir, model = train_demo_rf(work)
            os.environ["IOMT_DEMO_DATA_DIR"] = str(work / "demo")
        else:
            models_dir, model = args.models_dir.resolve(), args.model
            task_models = models_19(models_dir)
            if model not in task_models:
                raise SystemExit(f"no 19-class model named {model} in {models_dir}; there are {sorted(task_models)}")
            if task_models[model]["layout"] != "v2":
                raise SystemExit(f"{model} reads the {task_models[model]['layout']} layout; this bench uploads v2")
        os.environ["IOMT_MODELS_DIR"] = str(models_dir)

        from core.demo import write_demo_csv
        from dashboard.loaders import HEAVY, cache_budget_bytes

        counts = rows_per_class(args.rows)
        files = []
        started = time.perf_counter()
        for i in range(args.captures):
            path = work / f"capture-{args.rows}-seed{i + 1}.csv"
            write_demo_csv(path, "v2", counts, i + 1, with_label_column=True)
            files.append(path)
        mb = sum(f.stat().st_size for f in files) / len(files) / 1e6
        print(f"generated {args.captures} capture(s) of {args.rows:,} rows, {mb:.1f} MB each, in "
              f"{time.perf_counter() - started:.0f} s; model {model}; cache budget "
              f"{cache_budget_bytes() / 2**20:,.0f} MB ({'$IOMT_CACHE_MB' if args.cache_mb else 'default'})",
              flush=True)  # fmt: skip

        if args.census:
            import tracemalloc

            tracemalloc.start()
        at = analyze_page(models_dir, model)
        check_start = [e.message for e in at.exception]
        if check_start:
            raise SystemExit("the page failed before any upload:\n" + "\n".join(check_start))
        gc.collect()
        rows = [{"after": "page open", "rss": rss(), "cached": HEAVY.total(), "entries": len(HEAVY.keys()),
                 "seconds": None}]  # fmt: skip
        print(f"page open: RSS {gib(rows[0]['rss'])} GiB", flush=True)
        previous = None  # the last tracemalloc snapshot (--census)
        for i, path in enumerate(files):
            payload = path.read_bytes()
            t0 = time.perf_counter()
            at = upload(at, path.name, payload)
            seconds = time.perf_counter() - t0
            del payload  # the page holds it now; a reference kept here would keep it alive after the next upload
            check(at, args.rows)
            if args.rerun:  # as a widget moved would (Streamlit lets go of the uploader's previous files then)
                at = at.run()
                check(at, args.rows)
            gc.collect()
            row = {"after": str(i + 1), "rss": rss(), "cached": HEAVY.total(), "entries": len(HEAVY.keys()),
                   "seconds": seconds}  # fmt: skip
            line = (f"upload {i + 1}: {seconds:.1f} s; RSS {gib(row['rss'])} GiB; HEAVY counts "
                    f"{gib(row['cached'])} GiB in {row['entries']} entries")  # fmt: skip
            if args.census:
                import tracemalloc

                where = census(at)
                row["traced"] = tracemalloc.get_traced_memory()[0]
                row["outside"] = where["outside HEAVY"]
                row["slack"] = trimmed()
                line += ("; reachable from: " + ", ".join(f"{k} {gib(v)}" for k, v in where.items())
                         + f"; traced by tracemalloc {gib(row['traced'])} GiB; malloc_trim handed back "
                         f"{gib(row['slack'])} GiB")  # fmt: skip
                snapshot = tracemalloc.take_snapshot()
                if previous is not None:  # where the bytes traced since the last upload were allocated
                    grown = snapshot.compare_to(previous, "lineno")[:TOP_SITES]
                    line += "\n  traced since the last upload, by the line that allocated it:\n" + "\n".join(
                        f"    {s.size_diff / 2**20:+8.1f} MB ({s.count_diff:+,} blocks) {s.traceback[0]}" for s in grown
                    )
                previous = snapshot
            rows.append(row)
            print(line, flush=True)

    extra = args.census
    head = "| after upload | RSS (GiB) | RSS grew (GiB) | HEAVY counts (GiB) | entries | upload (s) |"
    head += " outside HEAVY (GiB) | tracemalloc (GiB) | trim gave back (GiB) |" if extra else ""
    print("\n" + head)
    print("|" + "---|" * head.count(" |"))
    for prev, r in zip([None, *rows], rows):
        grew = "" if prev is None else gib(r["rss"] - prev["rss"])
        secs = "" if r["seconds"] is None else f"{r['seconds']:.1f}"
        line = f"| {r['after']} | {gib(r['rss'])} | {grew} | {gib(r['cached'])} | {r['entries']} | {secs} |"
        if extra:
            line += (" | | |" if r["seconds"] is None else
                     f" {gib(r['outside'])} | {gib(r['traced'])} | {gib(r['slack'])} |")  # fmt: skip
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
