"""Compare models: several saved models of one task scored on the same rows, side by side.

Each model's score is cached (model folder and modification time, data files and times,
duplicate removal), so changing a view option or adding one model recomputes nothing else.
An expander trains and scores chosen families for the three tasks (by default the paper's comparison, five
families), in a worker process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.compare import (
    ALL_FAMILIES,
    PAPER_FAMILIES,
    ModelScore,
    Results,
    bench_model_name,
    read_results,
    results_markdown,
    score_model,
    task_notes,
)
from core.compare import training_data_note as core_training_data_note
from core.errors import CoreError
from core.figures import comparison_bars, confusion_figure, per_class_f1_heatmap, speed_figure
from core.glossary import ACCURACY_NOTE, MACRO_F1_HELP, MACRO_F1_WORDS, WEIGHTED_F1_HELP
from core.loading import header_layout, split_files
from core.models import FAMILIES
from core.pipeline import TrainRows, scoring_notes, train_rows
from core.report import absent_classes_sentence, leaders
from core.taxonomy import TASKS
from core.training import describe_seconds
from core.words import listed
from dashboard import auth, explain_panel, loaders
from dashboard.components import CAVEAT, show_note, show_uploaded_names, task_box
from dashboard.escape import md
from dashboard.train_jobs import BenchmarkJob, resolve_folder

SOURCES = ("Test split of a data folder", "Uploaded CSV files")
KEY_BENCH = "compare_bench_result"  # the last benchmark run of this session; "job" in it: stopped before its end
KEY_BENCH_JOB = "compare_bench_job"  # the benchmark running (or last run) in a worker process


def render() -> None:
    st.title("Compare models")
    st.caption(f"Score several saved models of one task on exactly the same rows. Macro-F1 comes first: in it, "
               f"{MACRO_F1_WORDS}.")  # fmt: skip
    task = task_box("compare_task", st.session_state.get(loaders.KEY_TASK, 6))
    st.session_state[loaders.KEY_TASK] = task
    saved = loaders.saved_models(task)
    names = {m["name"]: m["path"] for m in saved}
    # One selection per task (its own key), so switching task starts from all of that task's models.
    key = f"compare_models_{task}"
    gone = [n for n in st.session_state.get(key) or [] if n not in names]
    if gone:  # deleted since (perhaps in another session): said, not silently dropped from the comparison
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
        st.warning(f"No longer saved, so left out of the comparison: {md(', '.join(gone))} (deleted, perhaps in "
                   "another session).", icon=":material/delete:")  # fmt: skip
    chosen = st.multiselect("Models", list(names), default=list(names), key=key,
                            placeholder="choose two or more saved models")  # fmt: skip
    folder, data_key, data = _choose_data()
    # Uploads have no train/ to compare with: an unticked, greyed box of its own. The folder's box keeps its
    # choice meanwhile (Streamlit forgets the state of a widget not drawn in a run unless it is set again).
    if "compare_dedup" in st.session_state:
        st.session_state["compare_dedup"] = st.session_state["compare_dedup"]
    dedup = st.checkbox("Leave out test rows that also occur in train", key="compare_dedup" if folder else
                        "compare_dedup_uploads", disabled=folder is None,
                        help="About 40% of CICIoMT2024 test rows are exact copies of training rows; they make "
                        "scores look better than on new traffic. Needs a data folder with train/.")  # fmt: skip
    if len(names) < 2:
        st.info(f"Comparing needs at least two saved {task}-class models; train some on the *Train* page.")
    elif len(chosen) < 2:
        st.info("Choose at least two models.")
    elif data is not None:
        try:
            train = _train_split(folder) if dedup and folder else None
            layouts = {m["name"]: m["layout"] for m in saved}
            other = [n for n in chosen if layouts.get(n) != data.layout.name]
            if other:
                st.info(f"Left out: {md(', '.join(other))}, trained on the other release; these rows are of the "
                        f"{data.layout.name} layout ({data.layout.n_features} features).", icon=":material/info:")  # fmt: skip
            kept = [n for n in chosen if n not in other]
            if len(kept) < 2:  # one model is no comparison, and must not be declared the best
                st.info(f"Comparing needs at least two {data.layout.name} models: choose more, or data of the other "
                        "release." + (f" Only **{md(kept[0])}** is of this release." if kept else ""))  # fmt: skip
                kept = []
            scores = _score_all([names[n] for n in kept], data_key, data, train) if kept else []
            if len(scores) == 1:  # the others could not be scored (said above): one model is no comparison
                st.info(f"Comparing needs at least two models scored on these rows: only **{md(scores[0].name)}** "
                        "could be scored.", icon=":material/info:")  # fmt: skip
                scores = []
            if scores:
                _audit(folder, data_key, sorted(s.name for s in scores), len(data))  # those scored, not left out
                metas = {m["name"]: m for m in saved}
                _show_scores(scores, len(data), training_data_note(metas, [s.name for s in scores]))
                explain_panel.comparison_downloads(scores, explain_panel.data_label(folder, data), len(data),
                                                   metadata=metas)  # fmt: skip
        except CoreError as exc:
            loaders.show_error(exc)
    _benchmark(folder)
    _saved_results()


def _audit(folder: Path | None, data_key, chosen: list[str], rows: int) -> None:
    """Once per session and (data, models): the files by name, size and SHA-256, and the models compared."""

    def files() -> list[dict]:  # hashed only when the event is written (auth.log_once), not on every rerun
        if folder is not None:
            return [auth.audit.file_info(path) for path, _mtime in data_key]
        return auth.upload_infos(st.session_state.get("compare_uploads") or [])

    auth.log_once("evaluated", (data_key, tuple(chosen)), model=", ".join(chosen), files=files, rows=rows,
                  compared=len(chosen))  # fmt: skip


def _choose_data() -> tuple[Path | None, tuple, object]:
    """(folder or None, cheap data identity, Dataset or None) for the rows to score."""
    source = st.radio("Data to score", SOURCES, key="compare_source", horizontal=True)
    try:
        if source == SOURCES[1]:
            uploads = st.file_uploader("Labelled CSV files (official names or a 'label' column)", type="csv",
                                       accept_multiple_files=True, key="compare_uploads")  # fmt: skip
            show_uploaded_names(uploads)
            if not uploads:
                return None, (), None
            return None, loaders.upload_key(uploads), loaders.parse_uploads(uploads)
        text = st.text_input("Data folder (its test/ split is scored)", str(loaders.DEMO_DATA_DIR), key="compare_folder",
                             help="The demo data, data/…, or the folder of the real dataset holding train/ and test/.")  # fmt: skip
        folder = resolve_folder(text)
        notes: list[str] = []
        files = split_files(folder, "test", notes=notes)
        for note in notes:  # what the folder holds besides CSV files, left out
            st.caption(md(note))
        return folder, tuple((str(f), f.stat().st_mtime) for f in files), loaders.parse_paths(files)
    except CoreError as exc:
        loaders.show_error(exc)
        return None, (), None


def _train_split(folder: Path) -> tuple[tuple, TrainRows]:
    """The folder's train/ files as a cache key (paths, times, sizes), and their rows hashed."""
    files = split_files(folder, "train")
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)
    return key, _hashed_train(str(folder), key)


@st.cache_resource(show_spinner="Reading the training rows…", max_entries=4)
def _hashed_train(folder: str, key: tuple) -> TrainRows:
    """The rows of ``folder``/train hashed once (``key``: :func:`_train_split`'s, only to key the cache), read file by
    file: the server holds 17 bytes a row, not the rows, and no model hashes them again."""
    return train_rows(folder)


@st.cache_data(show_spinner=False, max_entries=64)
def _score_one(path: str, mtime: float, data_key: tuple, train_key: tuple | None, _data, _train) -> ModelScore:
    return score_model(loaders.load_model(path), _data, exclude_rows_in=_train)


def _score_all(paths: list[str], data_key: tuple, data, train: tuple | None) -> list[ModelScore]:
    """Score each model (cached), with a progress bar; a model that cannot score this data is reported.

    ``train``: the (key, rows) of :func:`_train_split` whose copies are left out, or None. Its key is part of the
    cache's: keyed by whether rows were left out only, a train/ that changed went on with the old count and scores.
    """
    train_key, train_rows = train if train is not None else (None, None)
    bar = st.progress(0.0, text="Scoring…")
    scores, failed = [], {}
    for i, path in enumerate(paths):
        bar.progress(i / len(paths), text=f"Scoring {Path(path).name} ({i + 1} of {len(paths)})…")
        try:
            scores.append(_score_one(path, Path(path).stat().st_mtime, data_key, train_key, data, train_rows))
        except CoreError as exc:  # one message per cause (unlabelled rows fail every model alike), naming the models
            failed.setdefault((str(exc), exc.hint), (exc, []))[1].append(Path(path).name)
    bar.empty()
    for exc, models in failed.values():
        if len(models) < len(paths):
            st.caption(f"Not scored: {md(', '.join(models))}")
        loaders.show_error(exc)
    return scores


def _show_scores(scores: list[ModelScore], n_data: int, train_note: str | None = None) -> None:
    ranked = sorted(scores, key=lambda s: s.report.macro_f1, reverse=True)
    best = ranked[0]
    removed = best.report.duplicates_removed
    if removed:
        st.info(f"{removed:,} of {n_data:,} test rows also occur in train and were left out; "
                f"{best.report.n_rows:,} rows scored.", icon=":material/filter_alt:")  # fmt: skip
    elif removed == 0:
        st.info(f"No test row also occurs in train: none was left out, all {best.report.n_rows:,} rows scored.",
                icon=":material/filter_alt:")  # fmt: skip
    for s in ranked:  # a 2-class model at its saved alarm threshold, the others at 0.5
        for note in scoring_notes(s.report):
            st.info(f"**{md(s.name)}** was {md(note)}.", icon=":material/tune:")
    absent = absent_classes_sentence(best.report)
    if absent:  # e.g. benign flows alone: macro-F1 is then the benign class's F1
        st.info(absent, icon=":material/info:")
    if train_note:  # trained on other rows: the ranking below is not of like with like
        st.warning(train_note, icon=":material/dataset:")
    level = leaders(ranked)  # several level at the 3 decimals shown: none is said to be ahead of another
    rest = ranked[len(level) :]
    ahead = f", ahead of **{md(rest[0].name)}** ({rest[0].report.macro_f1:.3f})" if rest else ""
    who = (f"**{md(best.name)}** ({best.family}) detects best" if len(level) == 1 else
           listed([f"**{md(s.name)}** ({s.family})" for s in level]) + " detect equally well")  # fmt: skip
    st.success(f"On these {best.report.n_rows:,} rows, {who}: macro-F1 {best.report.macro_f1:.3f}{ahead}.",
               icon=":material/emoji_events:")  # fmt: skip
    st.plotly_chart(comparison_bars(scores), key="compare_bars")
    st.plotly_chart(per_class_f1_heatmap(scores), key="compare_heatmap")
    st.subheader("Confusion matrices")
    normalize = st.toggle("Show shares of each true class", key="compare_normalize")
    # One colour scale for every matrix: side by side, the same shade is the same count in each (each matrix's own
    # scale made 2,760 rows look as dark in one as 3,604 in another).
    zmax = max((int(np.max(s.report.confusion_matrix, initial=0)) for s in scores), default=0) or None
    # Side by side where the page is wide enough, one under the other where it is not: in two fixed columns, at 800
    # pixels the cells' numbers ran into each other. 19 x 19 cells need the full width to stay readable.
    width = CM_WIDTH.get(len(best.report.labels))
    grid = st.container(horizontal=True, gap="medium") if width else st.container()
    for i, s in enumerate(scores):
        cell = grid.container(width=width or "stretch")
        cell.markdown(f"**{md(s.name)}** · macro-F1 {s.report.macro_f1:.3f}")
        cell.plotly_chart(confusion_figure(s.report, normalize="true" if normalize else None, zmax=zmax),
                          key=f"compare_cm_{i}")  # fmt: skip
    st.subheader("Speed")
    st.plotly_chart(speed_figure(scores), key="compare_speed")
    st.caption(SPEED_NOTE)
    st.dataframe(_score_table(scores), hide_index=True, column_config=_SCORE_COLUMNS)
    st.caption(CAVEAT)


def training_data_note(metas: dict[str, dict], names: list[str]) -> str | None:
    """:func:`core.compare.training_data_note` for the page: names in bold, names and folders escaped."""
    return core_training_data_note(metas, names, name=lambda n: f"**{md(n)}**", text=md)


#: Width in pixels of one confusion matrix on this page, by its number of classes: two fit side by side on a wide
#: page, and they go one under the other on a narrow one. None: the full width (19 x 19 cells).
CM_WIDTH = {2: 380, 6: 440, 19: None}

#: How the speed chart was measured, under it.
SPEED_NOTE = (
    "Scoring speed: rows of this data scored per second on this server, repairs and input transforms included, timed after "
    "a warm-up on the first rows so that the order of the models does not matter. On a few thousand rows fixed "
    "costs per call weigh more than on a whole capture file; compare models measured on the same data."
)


#: Scores to four decimals (0.7590, not 0.759), each with the tooltip the Models and Analyze pages give it, seconds to
#: a tenth, speeds with thousands separators (display only).
_SCORE_HELP = {"macro-F1": MACRO_F1_HELP, "weighted-F1": WEIGHTED_F1_HELP, "accuracy": ACCURACY_NOTE}
_SCORE_COLUMNS = {**{c: st.column_config.NumberColumn(format="%.4f", help=h) for c, h in _SCORE_HELP.items()},
                  "training time (s)": st.column_config.NumberColumn(format="%.1f"),
                  "rows scored per second": st.column_config.NumberColumn(format="localized")}  # fmt: skip


def _score_table(scores: list[ModelScore]) -> pd.DataFrame:
    return pd.DataFrame([{"model": s.name, "family": s.family, "macro-F1": round(s.report.macro_f1, 4),
                          "weighted-F1": round(s.report.weighted_f1, 4), "accuracy": round(s.report.accuracy, 4),
                          "training time (s)": s.fit_seconds, "rows scored per second": round(s.rows_per_second)}
                         for s in scores])  # fmt: skip


def _benchmark(folder: Path | None) -> None:
    with st.expander("Run a comparison: model families × the three tasks", icon=":material/science:",
                     expanded=st.session_state.get(KEY_BENCH_JOB) is not None):  # fmt: skip
        st.markdown("Trains the chosen **model families** for each of the **3 tasks** on the data folder's train/ "
                    "split and scores them on its test/ split; by default the paper's comparison (its CNN and four "
                    "baselines). Cap the rows and epochs for a quick run: on the demo data, 1,000 rows per class and 3 "
                    "epochs take a few minutes; the full dataset takes hours (better from a terminal: `python -m core "
                    "benchmark-models`). It runs in a worker process: other pages stay usable meanwhile, and it can "
                    "be cancelled. A family that fails is reported and the others go on.")  # fmt: skip
        if folder is None:
            st.info("Choose a data folder above (uploaded files cannot be used here).")
            return
        job: BenchmarkJob | None = st.session_state.get(KEY_BENCH_JOB)
        busy = job is not None and job.running
        families = st.multiselect("Model families", ALL_FAMILIES, default=PAPER_FAMILIES, key="compare_bench_families",
                                  format_func=lambda f: FAMILIES[f].title, disabled=busy,
                                  help="The paper's comparison is its CNN (Paper's CNN) against logistic regression, "
                                  "AdaBoost, a dense network and a random forest. Add ours (Improved CNN, and it "
                                  "with a forest) and gradient-boosted trees, the strongest baseline measured.")  # fmt: skip
        left, mid, right = st.columns(3)
        cap = left.number_input("Rows per class (0 = all)", 0, 10_000_000, 1000, step=500, key="compare_bench_cap",
                                disabled=busy)  # fmt: skip
        epochs = mid.number_input("Epochs of the networks", 1, 100, 3, key="compare_bench_epochs", disabled=busy,
                                  help="At most this many epochs for each network (Improved CNN stops earlier when "
                                  "its validation macro-F1 stops improving).")  # fmt: skip
        dedup = right.checkbox("Leave out test rows also in train", key="compare_bench_dedup", disabled=busy)
        save = right.checkbox(f"Save the {len(families) * 3} models to the registry", key="compare_bench_save",
                              disabled=busy)  # fmt: skip
        taken = _saved_already(folder, families) if save else []
        replace = False
        if taken:
            st.warning(f"The registry already holds models of the names this comparison saves its models under: "
                       f"{md(', '.join(taken))}. They would be lost.", icon=":material/warning:")  # fmt: skip
            replace = st.checkbox("Replace saved models of the same names", key="compare_bench_replace",
                                  disabled=busy)  # fmt: skip
        if st.button("Run the comparison", key="compare_bench_run", type="primary", icon=":material/play_arrow:",
                     disabled=busy or not families or bool(taken and not replace)):  # fmt: skip
            _start_benchmark(folder, tuple(families), int(cap) or None, int(epochs), dedup, save, replace)
        if job is not None and job.running:
            _benchmark_progress(job)
        elif job is not None:
            _benchmark_outcome(job)
        result = st.session_state.get(KEY_BENCH)
        if result and result.get("job") is not None and not busy:  # a stopped comparison
            st.button("Continue this comparison", key="compare_bench_continue", icon=":material/resume:",
                      on_click=_continue_benchmark, args=(result["job"], result["results"]),
                      help="Runs the jobs it had not finished, with its own settings (not those above); the jobs "
                      "shown below are kept, not trained again.")  # fmt: skip
        if result:
            _show_benchmark(result)


def _saved_already(folder: Path, families: list[str]) -> list[str]:
    """The models of the registry a comparison of ``families`` on ``folder`` would replace (its release is read
    from the header of its first training file)."""
    try:
        first = split_files(folder, "train")[0]
        with open(first, "rb") as fh:
            layout = header_layout(fh.read(1 << 16), first.name)
    except (CoreError, OSError):
        return []  # the run itself says what is wrong with the folder
    if layout is None:
        return []
    registry = loaders.models_dir()
    return [name for f in families for t in TASKS
            if (registry / (name := bench_model_name(f, t, layout.name))).exists()]  # fmt: skip


def _start_benchmark(folder: Path, families: tuple[str, ...], cap: int | None, epochs: int, dedup: bool,
                     save: bool, replace: bool = False) -> None:  # fmt: skip
    names = "Paper comparison" if families == PAPER_FAMILIES else ", ".join(FAMILIES[f].title for f in families)
    title = f"{names} on {folder} (rows per class: {cap or 'all'}, epochs: {epochs})"
    networks = [f for f in families if FAMILIES[f].uses_epochs]
    job = BenchmarkJob(folder, title, families=families, params={f: {"epochs": epochs} for f in networks},
                       max_rows_per_class=cap, drop_train_duplicates=dedup,
                       models_dir=str(loaders.models_dir()) if save else None, replace_models=replace)  # fmt: skip
    job.user = auth.current_user()
    st.session_state[KEY_BENCH_JOB] = job.start()
    st.rerun()


def _continue_benchmark(job: BenchmarkJob, finished: Results) -> None:
    """Start the stopped comparison again with its settings, keeping the jobs it had finished."""
    again = BenchmarkJob(job.data_dir, job.title, **{**job.kwargs, "resume": finished})
    again.user = auth.current_user()
    st.session_state[KEY_BENCH_JOB] = again.start()


@st.fragment(run_every=1.0)
def _benchmark_progress(job: BenchmarkJob) -> None:
    """Redrawn every second while the worker runs; a full rerun once it has ended."""
    if not job.running:
        st.rerun()
    st.progress(job.fraction, text=job.progress_text())
    if job.cancel_requested:
        st.warning("Stopping…", icon=":material/hourglass_top:")
    else:
        st.button("Cancel", key="compare_bench_cancel", icon=":material/stop:", on_click=job.cancel)


def _benchmark_outcome(job: BenchmarkJob) -> None:
    if not job.seen_by_page:
        job.seen_by_page = True
        if job.kwargs.get("models_dir"):
            loaders.refresh_models()
        if job.state == "done":
            st.session_state[KEY_BENCH] = {"title": job.title, "results": job.result}
        elif (finished := job.finished) is not None:  # cancelled or failed: what it had finished
            done = len(finished.scores) + len(finished.failures)
            st.session_state[KEY_BENCH] = {"title": f"{job.title}: the {done} job{'s' * (done != 1)} finished before "
                                           f"it stopped", "results": finished, "job": job}  # fmt: skip
    if job.state == "failed":
        loaders.show_error(job.error)
    elif job.state == "cancelled":
        kept = " Models already trained and saved stay in the registry." if job.kwargs.get("models_dir") else ""
        shown = (" The jobs it had finished are shown below; *Continue this comparison* runs the others."
                 if job.finished is not None else "")  # fmt: skip
        st.info(f"The comparison was cancelled after {describe_seconds(job.elapsed)}.{kept}{shown}",
                icon=":material/block:")  # fmt: skip
    else:
        failed = len(job.result.failures) if job.result else 0
        if failed:
            st.warning(f"Done in {describe_seconds(job.elapsed)}, but {failed} of the jobs failed: each task's tab "
                       "says which and what to do.", icon=":material/warning:")  # fmt: skip
        else:
            st.success(f"Done in {describe_seconds(job.elapsed)}.", icon=":material/check_circle:")


def _saved_results() -> None:
    """Show a comparison run elsewhere: the results.json of ``python -m core benchmark-models`` (on the full
    dataset it runs for hours, better from a terminal) or one downloaded from this page."""
    with st.expander("Open saved comparison results", icon=":material/folder_open:"):
        st.markdown("Shows a comparison run earlier: the `results.json` that `python -m core benchmark-models "
                    "--data DIR --out OUT` writes into OUT, or one downloaded from this page.")  # fmt: skip
        upload = st.file_uploader("results.json", type="json", key="compare_saved_upload")
        if upload is None:
            return
        try:
            results = read_results(upload.getvalue(), upload.name)
        except CoreError as exc:
            loaders.show_error(exc)
            return
        _show_benchmark({"title": f"Saved results: {upload.name}", "results": results}, key="compare_saved", saved=True)


def _show_benchmark(result: dict, key: str = "compare_bench", *, saved: bool = False) -> None:
    """Tables, charts and data notes per task, the jobs that failed, and downloads; ``key`` prefixes the widgets'
    keys; ``saved``: the results come from a file (a missing task is then not one the data could not train);
    ``result["job"]``: those of a run stopped before its end, that job (a missing task had not been run)."""
    results: Results = result["results"]
    st.markdown(f"**{md(result['title'])}**")
    tasks = results.tasks
    missing = [f"{t}-class" for t in TASKS if t not in tasks]
    skipped = f"{listed(missing)} {'task' if len(missing) == 1 else 'tasks'}" if missing else ""
    if skipped and result.get("job") is not None:
        st.info(f"The {skipped} had not been run when the comparison stopped.", icon=":material/info:")
    elif skipped and saved:
        st.info(f"The file holds no results for the {skipped}.", icon=":material/info:")
    else:  # each task the run skipped, with why (its labels too coarse for it, or only one of its classes)
        for t, why in sorted(results.skipped.items()):
            st.info(f"Skipped the {t}-class task: {md(why)}.", icon=":material/info:")
    if not tasks:
        return
    for tab, task in zip(st.tabs([f"{t} classes" for t in tasks]), tasks):
        task_scores, failed = results.of_task(task)
        with tab:
            for f in failed:
                st.error(f"**{md(f.family)} failed:** {md(f.message)}" + (f"\n\n**What to do:** {md(f.hint)}"
                         if f.hint else ""), icon="⚠️")  # fmt: skip
            if task_scores:
                absent = absent_classes_sentence(task_scores[0].report)  # as results.md says above its table
                if absent:
                    st.info(md(absent), icon=":material/info:")
                st.dataframe(_score_table(task_scores), hide_index=True, column_config=_SCORE_COLUMNS)
                st.plotly_chart(comparison_bars(task_scores), key=f"{key}_bars_{task}")
                st.plotly_chart(per_class_f1_heatmap(task_scores), key=f"{key}_heatmap_{task}")
            for note in task_notes(task_scores):
                show_note(note)
    left, right = st.columns(2)
    left.download_button("Download results (Markdown)", results_markdown(results, result["title"]), "results.md",
                         "text/markdown", key=f"{key}_md", on_click="ignore")  # fmt: skip
    right.download_button("Download results (JSON)", results.to_json(), "results.json", "application/json",
                          key=f"{key}_json", on_click="ignore")  # fmt: skip


render()
