"""Analyze traffic in a real browser: time from uploading one large CSV to the confusion matrix.

Generates a synthetic capture (``core.demo.write_demo_csv``, v2 layout, a ``label`` column with the
true class, benign the majority), serves the dashboard with ``streamlit run`` on a free port, and
drives Debian's Chromium through Playwright: open /analyze, choose the 19-class task and the model,
then start the clock at ``set_input_files`` and stop it when the confusion matrix is drawn and the
headline Macro-F1 is shown. Each run is a fresh browser context and a file with its own seed (other
bytes, another upload), so every run really parses and scores; the first run also pays for loading
the model in the server. With ``--same-file`` every run uploads the first run's bytes in a fresh context (another
session), so the runs after the first time the page on a capture already read and scored. Then the same work is timed in-process without the browser
(``core.loading.read_csv`` + ``TrainedModel.predict`` + ``TrainedModel.evaluate``), so the browser
and Streamlit overhead is visible. While the browser runs, the server's process tree (``streamlit run`` and its
children) is sampled with psutil every 0.1 s: its resident memory before each upload and at its peak.

    .venv/bin/python bench/analyze_page.py --models-dir /tmp/demo_models [--rows 100000] [--model NAME]
        [--runs 3] [--demo-data /tmp/demo_setup] [--screenshot /tmp/analyze-100k.png]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Same browser set-up as tests/dashboard/test_browser.py (copied: that module needs pytest).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}
STARTUP_S = 60  # the server must answer its health check within this
PAGE_MS = 60_000  # a page's first draw
SCORE_MS = 600_000  # upload, parse, score and draw: generous, the figure is what we want
MODEL_LABEL = "Model (best test macro-F1 first)"
BENIGN_SHARE = 0.55  # benign is the majority; the rest is split evenly over the 18 attacks


# ---------------------------------------------------------------------------------- the data


def rows_per_class(total: int) -> dict[str, int]:
    """``total`` rows: 18 equal attack bursts and benign (the majority) making up the rest."""
    from core.taxonomy import CLASSES_19

    attacks = [c for c in CLASSES_19 if c != "Benign"]
    per_attack = int(total * (1 - BENIGN_SHARE)) // len(attacks)
    return {"Benign": total - per_attack * len(attacks), **dict.fromkeys(attacks, per_attack)}


def models_19(models_dir: Path) -> dict[str, dict]:
    """Name -> metadata of the saved 19-class models (as the dashboard lists them)."""
    from core.pipeline import list_models

    found = {m["name"]: m for m in list_models(models_dir) if "error" not in m and int(m["task"]) == 19}
    if not found:
        raise SystemExit(f"no 19-class model in {models_dir}")
    return found


# ---------------------------------------------------------------------------------- the server


@contextmanager
def streamlit_app(models_dir: Path, demo_dir: Path, log_path: Path) -> Iterator[str]:
    """Serve the app (``dashboard.serve``); a failed start ends the benchmark with the server's log."""
    from dashboard.serve import serve

    try:
        with serve(models_dir, demo_dir, log_path, startup_s=STARTUP_S) as url:
            yield url
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


class ServerMemory:
    """Resident memory of the ``streamlit run`` process tree (this process's child), sampled in a thread."""

    INTERVAL_S = 0.1

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        servers = [c for c in psutil.Process().children(recursive=True) if "streamlit" in " ".join(c.cmdline())]
        if not servers:
            raise SystemExit("no streamlit process to sample")
        self.server = servers[0]
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        """Bytes resident now, the server and its children together."""
        total = 0
        for proc in [self.server, *self.server.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except self._psutil.Error:  # a child that ended between listing and reading
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.INTERVAL_S):
            self.peak = max(self.peak, self.rss())

    def reset(self) -> int:
        """Start a new peak from now; the resident bytes now."""
        now = self.rss()
        self.peak = now
        return now

    def __enter__(self) -> ServerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def gb(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


# ---------------------------------------------------------------------------------- the browser


def expect(locator_or_page):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator_or_page)


def idle(page):
    """The app root once the script run has ended."""
    return page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')


def choose(page, label: str, option: str | re.Pattern) -> None:
    """Pick the option matching ``option`` in the select box labelled ``label``."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    page.get_by_role("option").filter(has_text=option).first.click()
    expect(box).to_have_value(option if isinstance(option, re.Pattern) else re.compile(re.escape(option)))


def metric(page, label: str):
    return (
        page.locator('[data-testid="stMetric"]')
        .filter(has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
        .first
    )


def confusion_matrix(page):
    """The confusion-matrix Plotly chart."""
    return page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text="Confusion matrix")).first


def errors(page) -> list[str]:
    texts = []
    for testid in ("stException", "stAlertContentError"):
        texts += page.locator(f'[data-testid="{testid}"]').all_inner_texts()
    return texts


def screenshot(page, path: Path) -> None:
    """The whole page (the app scrolls inside its main pane, so the viewport is stretched to fit)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 15000))})
    idle(page).wait_for(state="attached", timeout=SCORE_MS)
    page.evaluate("() => document.activeElement?.blur()")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)  # let charts re-lay out to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def _named(names: list[str]) -> re.Pattern:
    """A model select box's text naming one of ``names``."""
    return re.compile("^(" + "|".join(re.escape(n) for n in names) + ") ·")


def browser_run(browser, url: str, model: str, task_models: list[str], csv: Path, shot: Path | None) -> dict:
    """One fresh page: choose task and model, upload ``csv``, time until the evaluation is drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_MS)
    page = context.new_page()
    try:
        page.goto(url + "/analyze")
        expect(page.get_by_role("heading", name="Analyze traffic", exact=True)).to_be_visible()
        expect(idle(page)).to_have_count(1)
        choose(page, "Task", "19 classes")
        # The app may still read "not running" just after the click, before the rerun starts: wait until
        # the model box lists this task's models, or opening it races the rerun that replaces it.
        expect(page.get_by_role("combobox", name=MODEL_LABEL, exact=True)).to_have_value(_named(task_models))
        expect(idle(page)).to_have_count(1)
        choose(page, MODEL_LABEL, _named([model]))
        expect(idle(page)).to_have_count(1)
        upload = page.locator('[data-testid="stFileUploader"] input[type="file"]')
        done = page.get_by_text(re.compile(rf"Read and scored [\d,]+ rows with {re.escape(model)}$"))
        cm = confusion_matrix(page)

        started = time.perf_counter()
        upload.set_input_files(str(csv))
        # Locator.wait_for waits inside the page (no coarse polling interval), so these stamps are tight.
        done.first.wait_for(state="visible", timeout=SCORE_MS)
        scored = time.perf_counter() - started
        metric(page, "Macro-F1").wait_for(state="visible", timeout=SCORE_MS)
        cm.wait_for(state="visible", timeout=SCORE_MS)
        cm.locator(".hm").first.wait_for(state="attached", timeout=SCORE_MS)  # the heatmap itself is drawn
        shown = time.perf_counter() - started
        idle(page).wait_for(state="attached", timeout=SCORE_MS)
        finished = time.perf_counter() - started

        problems = errors(page)
        if problems:
            raise SystemExit("the page shows an error:\n" + "\n---\n".join(problems))
        macro_f1 = metric(page, "Macro-F1").locator('[data-testid="stMetricValue"]').inner_text().strip()
        rows = metric(page, "Rows scored").locator('[data-testid="stMetricValue"]').inner_text().strip()
        if shot is not None:
            screenshot(page, shot)
        return {"scored": scored, "shown": shown, "finished": finished, "macro_f1": macro_f1,
                "rows": int(rows.replace(",", ""))}  # fmt: skip
    except Exception:
        failed = Path(tempfile.gettempdir()) / "bench-analyze-FAILED.png"
        page.screenshot(path=str(failed), full_page=True)
        print(f"failed; the page as it was: {failed}", file=sys.stderr)
        raise
    finally:
        context.close()


# ---------------------------------------------------------------------------------- without the browser


def core_alone(model_path: Path, files: list[Path]) -> dict:
    """The same work in this process: load once, then parse, score and evaluate each file."""
    from core.loading import read_csv
    from core.pipeline import TrainedModel

    started = time.perf_counter()
    model = TrainedModel.load(model_path)
    out = {"load": time.perf_counter() - started, "parse": [], "score": [], "evaluate": [], "macro_f1": []}
    for f in files:
        t0 = time.perf_counter()
        data = read_csv(f)
        t1 = time.perf_counter()
        pred = model.predict(data)
        t2 = time.perf_counter()
        report = model.evaluate(data, predictions=pred)
        t3 = time.perf_counter()
        out["parse"].append(t1 - t0)
        out["score"].append(t2 - t1)
        out["evaluate"].append(t3 - t2)
        out["macro_f1"].append(report.macro_f1)
    return out


# ---------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", required=True, type=Path, help="model registry served by the dashboard")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in each uploaded CSV")
    parser.add_argument("--model", help="19-class model name (default: demo-cnn-19class, else the first one)")
    parser.add_argument("--runs", type=int, default=3, help="fresh page loads, each with its own file")
    parser.add_argument("--demo-data", type=Path, default=Path("/tmp/demo_setup"), help="$IOMT_DEMO_DATA_DIR")
    parser.add_argument("--screenshot", type=Path, help="save the last run's page here (PNG)")
    parser.add_argument("--same-file", action="store_true",
                        help="every run uploads the first run's file (the same bytes, as another session or a "
                        "second upload would): the runs after the first find its parse and scoring cached")  # fmt: skip
    args = parser.parse_args()
    if args.rows < 19 * 10 or args.runs < 1:
        parser.error("--rows must be at least 190 and --runs at least 1")

    task_models = models_19(args.models_dir)
    default = "demo-cnn-19class" if "demo-cnn-19class" in task_models else sorted(task_models)[0]
    model = args.model or default
    if model not in task_models:
        raise SystemExit(f"no 19-class model named {model} in {args.models_dir}; there are {sorted(task_models)}")
    meta = task_models[model]
    model_path = Path(meta["path"])
    if meta["layout"] != "v2":
        raise SystemExit(f"{model} reads the {meta['layout']} layout; this bench uploads v2 files")
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        raise SystemExit("chromium not found (Debian: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    from core.demo import write_demo_csv

    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        counts = rows_per_class(args.rows)
        files = []
        started = time.perf_counter()
        for run in range(1 if args.same_file else args.runs):
            path = Path(tmp) / f"capture-{args.rows}-seed{run + 1}.csv"
            write_demo_csv(path, "v2", counts, run + 1, with_label_column=True)
            files.append(path)
        if args.same_file:
            files *= args.runs
        mb = statistics.mean(f.stat().st_size for f in files) / 1e6
        print(f"generated {len(set(files))} file(s) of {args.rows:,} rows ({counts['Benign']:,} benign, "
              f"{counts[next(c for c in counts if c != 'Benign')]:,} per attack), {mb:.1f} MB each, "
              f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

        runs = []
        log = Path(tmp) / "streamlit.log"
        with (
            streamlit_app(args.models_dir, args.demo_data, log) as url,
            ServerMemory() as memory,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                for i, f in enumerate(files):
                    shot = args.screenshot if i == len(files) - 1 else None
                    before = memory.reset()
                    r = browser_run(browser, url, model, sorted(task_models), f, shot)
                    r["rss_before"], r["rss_peak"] = before, memory.peak
                    runs.append(r)
                    print(f"run {i + 1}: {r['shown']:.1f} s upload->confusion matrix (status 'Read and scored' "
                          f"at {r['scored']:.1f} s, script finished at {r['finished']:.1f} s); "
                          f"{r['rows']:,} rows, Macro-F1 {r['macro_f1']}; server memory {gb(before)} before "
                          f"the upload, peak {gb(r['rss_peak'])}", flush=True)  # fmt: skip
                    if r["rows"] != args.rows:
                        print(f"  WARNING: the page scored {r['rows']:,} rows, expected {args.rows:,}")
            finally:
                browser.close()
        if args.screenshot:
            print(f"screenshot of the last run: {args.screenshot}")

        unique = list(dict.fromkeys(files))  # --same-file: the one file, worked out once here
        core = core_alone(model_path, unique)
    for i, (a, b, c, f1) in enumerate(zip(core["parse"], core["score"], core["evaluate"], core["macro_f1"])):
        said = {r["macro_f1"] for r, f in zip(runs, files) if f == unique[i]} - {f"{f1:.3f}"}
        agree = f" (the page said {', '.join(sorted(said))}!)" if said else ""
        print(f"core alone, file {i + 1}: parse {a:.2f} s + score {b:.2f} s + evaluate {c:.2f} s; "
              f"Macro-F1 {f1:.3f}{agree}")  # fmt: skip
    print(f"core alone: model load {core['load']:.2f} s (once)")

    med = statistics.median
    shown = [r["shown"] for r in runs]
    print(f"\nanalyze page, {args.rows:,} rows ({mb:.1f} MB), {model}: median {med(shown):.1f} s upload->confusion "
          f"matrix (runs: {', '.join(f'{s:.1f}' for s in shown)} s); core alone: parse {med(core['parse']):.1f} s + "
          f"score {med(core['score']):.1f} s + evaluate {med(core['evaluate']):.1f} s; server peak resident memory "
          f"{gb(max(r['rss_peak'] for r in runs))}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
