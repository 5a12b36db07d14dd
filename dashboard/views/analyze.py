"""Analyze traffic: score uploaded CSV files (or the built-in demo capture) with a saved model.

Reading and scoring are cached (upload identity, model folder and time), so moving a filter or
the confidence threshold only redraws. When the true class is known (official file name or a
label column), the page also measures the model on these rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.distributed import LOW_CONFIDENCE
from core.figures import class_counts_figure, confidence_histogram, counts_need_log_scale, timeline_figure
from core.glossary import CONFIDENCE_WORDS, DEMO_SCORES_WORDS, SCORE_SCALE, score_yardstick
from core.loading import Dataset
from core.pipeline import Predictions, scoring_notes
from core.preprocess import IMPLAUSIBLE_TEXT, repair_rule
from core.schema import LAYOUTS, Layout
from core.taxonomy import BENIGN, CLASSES_2, TASK_CHOICES, TASKS, class_from_filename, wrong_by_label
from core.words import counted, listed, sentence, share_text
from dashboard import auth, components, explain_panel, loaders
from dashboard.escape import md, spreadsheet_text

SOURCES = ("Upload CSV files", "Demo traffic (synthetic)")
MAX_SHOWN = 5_000  # rows drawn in the table; the download has every matching row
FILTER_WIDTH = 300  # pixels of the class and confidence filters: side by side on a wide page, wrapped on a narrow one

#: What to do about the alerts, for a reader who is not a security analyst.
NEXT_STEPS = ("What to do: look at these rows in the table below (filter by class), and send the report at the bottom "
              "of this page to whoever looks after the network's security. A model's alert is a lead to check, not a "
              "proof of attack.")  # fmt: skip

KEY_GONE = "analyze_model_gone"  # what became of the chosen model (deleted, replaced or damaged since), in words
KEY_CHOSEN_FOR = "analyze_model_for"  # (task, layout) the chosen model was offered for


def render() -> None:
    st.title("Analyze traffic")
    st.caption("Score network-flow CSV files with a saved model: which rows look like attacks, which kind, and how "
               "sure the model is. Nothing leaves this computer.")  # fmt: skip
    # Side by side where the page is wide, one under the other where it is not: in two columns at 800 pixels the
    # model box cut its label (and the model's macro-F1) off after "demo-rf-19class · rf · v2 · m".
    choices = components.side_by_side()
    data_col, model_col = (choices.container(width=components.HALF_WIDTH) for _ in range(2))
    with data_col:
        loaded = _choose_data()
    with model_col:
        meta = _choose_model(loaded[2] if loaded else None)
    if loaded is None or meta is None:
        return
    scored = _read_and_score(*loaded[:2], meta)
    if scored is None:
        return
    data, pred, report, frame = scored
    _data_quality(data, pred)
    ids = (meta["path"], loaders.model_mtime(meta["path"]), loaded[0])  # one scoring: what its caches are keyed on
    _alerts(ids, data, pred, frame)
    _predictions_table(ids, frame, pred, meta["name"])
    st.subheader("How good were these predictions?")
    if report is None:
        st.info("The true class of these rows is not known (no official CICIoMT2024 file name and no label column), "
                "so the model cannot be measured here; the alerts above are all there is.",
                icon=":material/help:")  # fmt: skip
    else:
        sources = sorted({f.label_source for f in data.files if f.label_source})
        st.caption(f"Predictions compared with the true class, taken from the {' and the '.join(sources)}. "
                   f"{_score_meaning(report, _is_demo(data))}")  # fmt: skip
        for note in scoring_notes(report):  # above the scores they qualify: a coarser task, a saved threshold
            components.show_note(note, label="Note: ")
        components.show_report(report, "analyze", notes=False)  # the page says the others in its own words
    explain_panel.render(meta, loaded[0], data, pred, report, frame)  # why, alarm threshold, report downloads


def _is_demo(data: Dataset) -> bool:
    """Whether ``data`` is the synthetic demo capture: chosen as *Demo traffic*, or its CSV (downloaded from the
    Overview) uploaded under its own name."""
    return bool(data.files) and all(f.name == loaders.DEMO_TRAFFIC_NAME for f in data.files)


def _score_meaning(report, demo: bool = False) -> str:
    """How good the scores are, in plain words: the scale, the published yardstick of the report's task (on the
    synthetic ``demo`` traffic, that such scores say nothing of a real network instead: no yardstick compares them),
    and the class the model does worst (where its verdicts need the most checking)."""
    scored = report.scored_labels
    worst = min(scored, key=lambda c: report.per_class[c]["f1"]) if len(scored) > 1 else None
    weak = "" if worst is None else (f" Weakest here: **{md(worst)}** (F1 {report.per_class[worst]['f1']:.2f}): "
                                     f"treat the model's {md(worst)} verdicts with the most care.")  # fmt: skip
    return (f"{SCORE_SCALE} {DEMO_SCORES_WORDS}" if demo else score_yardstick(report.task)) + weak


def _choose_data():
    """``(data_key, loader, layout)`` for the chosen traffic (``layout`` from the header, None when not
    recognised), or None while there is nothing to read."""
    st.markdown("**1. Traffic to analyze**")
    source = st.radio("Traffic to analyze", SOURCES, key="analyze_source", horizontal=True,
                      label_visibility="collapsed")  # fmt: skip
    if source == SOURCES[1]:
        st.caption("A synthetic capture of 2,800 rows: benign traffic with a burst of each of the 18 attacks, and a "
                   "`label` column with the true class. Not real traffic.")  # fmt: skip
        if kept := st.session_state.get("analyze_uploads"):
            # Streamlit forgets the files of an uploader not drawn in a run: drawn here, folded away, they are
            # still there when the analyst switches back (they had to be uploaded again).
            with st.expander(f"Your uploaded files ({len(kept)}), kept for when you switch back"):
                _uploader()
        return ("demo", loaders.DEMO_TRAFFIC_NAME), loaders.parse_demo_traffic, loaders.DEMO_TRAFFIC_LAYOUT
    uploads = _uploader()
    if not uploads:
        st.info("Upload one or more CSV files, or choose *Demo traffic* to try the tool.", icon=":material/upload:")
        return None
    return loaders.upload_key(uploads), lambda: loaders.parse_uploads(uploads), loaders.upload_layout(uploads)


def _uploader():
    """The analyst's CSV files (one widget, drawn by either source so that its files are kept)."""
    uploads = st.file_uploader("CICIoMT2024 flow CSV files (one release: 45 or 39 features)", type="csv",
                               accept_multiple_files=True, key="analyze_uploads",
                               help="The class is read from an official file name (e.g. "
                               "TCP_IP-DDoS-UDP1_test.pcap.csv) or a 'label' column, when there is one.")  # fmt: skip
    components.show_uploaded_names(uploads)
    return uploads


def _choose_model(layout: Layout | None) -> dict | None:
    """The chosen saved model; with the traffic's ``layout`` known, only models of that layout are offered (a
    model of the other release cannot read it)."""
    st.markdown("**2. Detector**")
    task = components.task_box("analyze_task", st.session_state.get(loaders.KEY_TASK, 6))
    st.session_state[loaders.KEY_TASK] = task
    every = sorted(loaders.saved_models(task), key=components.ranking_key)
    models = [m for m in every if layout is None or m["layout"] == layout.name]
    if not models:
        st.info(_no_model_text(task, layout, len(every)), icon=":material/model_training:")
        components.link_to_page("train.py", "Train a model", ":material/model_training:")
        return None
    by_path = {m["path"]: m for m in models}
    chosen = st.session_state.get("analyze_model")
    offered_for = (task, layout.name if layout else None)
    if chosen is not None and chosen not in by_path:
        # Deleted, or (the task and the traffic's release being those it was chosen for) replaced by a model of
        # another task or release, or no longer readable, perhaps in another session: say so, and score nothing
        # until another is chosen, rather than let the list fall back to its first model and show that detector's
        # results under the analyst's eyes. A model left out because the analyst changed the task or the traffic
        # gives way to the list's best, as when the page opens.
        name = md(Path(chosen).name)
        if not Path(chosen).exists():
            st.session_state[KEY_GONE] = (f"The model **{name}** you were using no longer exists: it was deleted, "
                                          "perhaps in another session. Choose another model to go on.")  # fmt: skip
            st.session_state["analyze_model"] = None
        elif st.session_state.get(KEY_CHOSEN_FOR) == offered_for:
            damaged = chosen in {m["path"] for m in loaders.damaged_models()}
            how = "can no longer be read (its folder is damaged)" if damaged else (
                "was replaced by a model of another task or release")  # fmt: skip
            st.session_state[KEY_GONE] = (f"The model **{name}** you were using has changed since you chose it: it "
                                          f"{how}, perhaps in another session. Choose a model to go on.")  # fmt: skip
            st.session_state["analyze_model"] = None
    which = f"{layout.name} models, best" if layout else "best"
    path = st.selectbox(f"Model ({which} test macro-F1 first)", list(by_path), key="analyze_model",
                        format_func=lambda p: components.model_label(by_path[p]), placeholder="Choose a model",
                        help=_model_choice_help(models, task))  # fmt: skip
    if path is None:
        st.warning(st.session_state.get(KEY_GONE) or "Choose a model.", icon=":material/delete:")
        return None
    st.session_state.pop(KEY_GONE, None)
    st.session_state[KEY_CHOSEN_FOR] = offered_for
    meta = by_path[path]
    _warn_unseen_classes(meta)
    return meta


def _model_choice_help(models: list[dict], task: int) -> str:
    """What each part of a model's line in the box means ('name · rf · v2 · macro-F1 0.912'), for the kinds and
    releases offered, and how good a macro-F1 is at ``task``."""
    kinds = "; ".join(f"{md(f)}: {components.family_words(f)}" for f in sorted({m["family"] for m in models}))
    layouts = sorted({m["layout"] for m in models} & set(LAYOUTS))
    releases = "; ".join(f"{n}: {LAYOUTS[n].description}" for n in layouts)
    return (f"Each line in the box: name · kind of model · data release it reads · macro-F1 on its test data. Kinds: "
            f"{kinds}. Releases: {md(releases)}. {score_yardstick(task)}")  # fmt: skip


def _no_model_text(task: int, layout: Layout | None, of_task: int) -> str:
    """Why no model is offered (``of_task``: the saved models of ``task``, none of which reads ``layout``), and what to
    do: first the other tasks whose saved models read the traffic (a choice in the box above, where training one
    takes minutes), then training."""
    release = f"{layout.name} " if layout else ""
    if not of_task:
        why = f"No saved {task}-class model yet."
    elif of_task == 1:
        why = (f"The saved {task}-class model does not read this traffic's {layout.name} layout ({layout.n_features} "
               "features): it was trained on the other release.")  # fmt: skip
    else:
        why = (f"None of the {counted(of_task, f'saved {task}-class model')} reads this traffic's {layout.name} layout "
               f"({layout.n_features} features): they were trained on the other release.")  # fmt: skip
    fitting = [m for m in loaders.saved_models() if layout is None or m["layout"] == layout.name]
    tasks = {t: sum(int(m["task"]) == t for m in fitting) for t in TASKS if t != task}
    others = [counted(n, f"saved {t}-class {release}model") for t, n in tasks.items() if n]
    train = f"train a {task}-class model{f' on {layout.name} data' if layout else ''} on the Train page"
    if not others:
        return f"{why} {sentence(train)}."
    choices = listed([f"**{TASK_CHOICES[t]}**" for t, n in tasks.items() if n], "or")
    return (f"{why} There {'is' if sum(tasks.values()) == 1 else 'are'} {listed(others)}: choose the task {choices} "
            f"above to analyze this traffic now, or {train}.")  # fmt: skip


def _warn_unseen_classes(meta: dict) -> None:
    """A model that never saw some classes of its task in training can never predict them: said where it is used,
    above all when Benign is one of them (every flow would be called an attack)."""
    absent = (meta.get("data") or {}).get("classes_absent_from_training") or []
    if not absent:
        return
    worst = " " + components.never_saw_benign("It") if BENIGN in absent else ""
    st.warning(f"This model never saw {len(absent)} of the task's {meta['task']} classes in training, so it can "
               f"never predict them: {md(', '.join(absent))}.{worst} Its test macro-F1 is over the classes it "
               "was tested on.", icon=":material/warning:")  # fmt: skip


@loaders.budgeted
def _frame(model_path: str, mtime: float, data_key, task: int, _pred: Predictions, _data: Dataset) -> pd.DataFrame:
    frame = _pred.to_frame(_data, task)
    first = [c for c in ("file", "row", "predicted", "probability", "true") if c in frame]
    return frame[first + [c for c in frame if c not in first]]


def _read_and_score(data_key, load, meta: dict):
    """Parse and score with visible progress; ``(data, predictions, report, frame)`` or None on bad input."""
    error = None
    with st.status("Reading the traffic…", expanded=False) as status:
        try:
            data = load()
            st.write(f"Read {counted(len(data.files), 'file')}: {len(data):,} rows in the {data.layout.name} layout "
                     f"({data.layout.n_features} features).")  # fmt: skip
            scoring = f"Scoring {len(data):,} rows with {md(meta['name'])}"
            status.update(label=f"{scoring}…")

            def progress(done: int, total: int) -> None:  # a few million rows take the cnn a minute: say how far
                # At the end, the scores against the true classes and the table take seconds more for a million rows.
                status.update(label=f"{scoring}: {done:,} done ({100 * done / max(total, 1):.0f}%)…" if done < total
                              else f"{scoring}: every row scored; preparing the results…")  # fmt: skip

            pred, report = loaders.score(meta["path"], data_key, data, progress)
            mtime = loaders.model_mtime(meta["path"])
            frame = _frame(meta["path"], mtime, data_key, int(meta["task"]), pred, data)
            st.write(f"Scored with {md(meta['name'])} ({meta['family']}, {meta['task']} classes).")
        except Exception as exc:  # bad input must never show a traceback
            error = exc
            status.update(label="Could not analyze this traffic", state="error")
        else:
            status.update(label=f"Read and scored {len(data):,} rows with {md(meta['name'])}", state="complete")
            _audit_scoring(data_key, data, meta, mtime, pred, report)
    if error is not None:
        loaders.show_error(error)
        return None
    return data, pred, report, frame


def _audit_scoring(data_key, data: Dataset, meta: dict, mtime: float, pred: Predictions, report) -> None:
    """One audit event per session for each (data, model) scored: files by name, size and SHA-256. A model changed
    since (an alarm threshold saved on this page, a model retrained under the same name) scores anew, and that
    scoring is recorded too, with the threshold it decided at."""

    def files() -> list[dict]:  # hashed only when the event is written (auth.log_once), not on every rerun
        if isinstance(data_key, loaders.UploadKey):
            return auth.upload_infos(st.session_state.get("analyze_uploads") or [])
        return [auth.audit.file_info(loaders.DEMO_TRAFFIC_NAME, loaders.demo_traffic_csv())]

    details = {"rows": len(data), "task": int(meta["task"])}
    if pred.threshold is not None:
        details["alarm_threshold"] = float(pred.threshold)
    if report is not None:
        details["macro_f1"] = round(float(report.macro_f1), 4)
    auth.log_once("scored", (data_key, meta["path"], mtime), model=meta["name"], files=files, **details)


def _completeness(f) -> str:
    if f.complete is None:
        return "unknown"
    return "yes" if f.complete else f"no: the official file has {f.expected_rows:,} rows"


#: The files table's column of the cells repaired before scoring (core.loading.count_nonfinite counts them), and
#: what it counts in words: the cells the repair rule replaces, of which those beyond the bound are taken as inf.
REPAIRED_COLUMN = "cells repaired"
REPAIRED_HELP = ("Cells of the file that held inf, -inf, NaN or nothing (an empty cell), or a number beyond "
                 f"{IMPLAUSIBLE_TEXT}, far beyond any real flow's value, taken as infinite. Each is replaced before "
                 f"scoring by the rule fitted on the model's training data: {repair_rule()}. No row is dropped for it.")  # fmt: skip


#: The mark a browser or a file manager adds to a copy's name, before ".csv": "name (1).csv", "name(2).csv",
#: "name - Copy.csv", "name - Copy (2).csv", "name copy.csv".
COPY_MARK = re.compile(r"(?:\s*\(\d+\)|\s*-\s*copy(?:\s*\(\d+\))?|\s+copy(?:\s*\d+)?)(?=\.csv$)", re.IGNORECASE)


def _copied_official_name(name: str) -> str | None:
    """The official CICIoMT2024 file name of which ``name`` is a copy ('Benign_test.pcap.csv' for
    'Benign_test.pcap (1).csv'), or None: such a file has no class from its name (the name is not official)."""
    official = COPY_MARK.sub("", name)
    return official if official != name and class_from_filename(official) else None


def _data_quality(data: Dataset, pred: Predictions) -> None:
    rows = [{"file": f.name, "rows": f.rows, "true class from": f.label_source or "unknown",
             "class (from name)": f.label or "", "blank labels": f.blank_labels, REPAIRED_COLUMN: f.nonfinite_cells,
             "complete": _completeness(f)} for f in data.files]  # fmt: skip
    with st.expander(f"Files read: {len(data.files)}, {len(data):,} rows, {data.layout.name} layout"):
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="analyze_files",
                     column_config={REPAIRED_COLUMN: st.column_config.NumberColumn(help=REPAIRED_HELP)})  # fmt: skip
        st.caption("'complete' compares a file with the official file of the same name; official row counts are "
                   "known for the 45-feature release only.")  # fmt: skip
    unlabelled = [f.name for f in data.files if f.label_source is None]
    if unlabelled and len(unlabelled) < len(data.files):
        st.caption(f"No true class for {', '.join(md(n) for n in unlabelled)}: scored, but left out of the evaluation.")
    for f in data.files:
        if f.label_source is None and (official := _copied_official_name(f.name)):
            st.info(f"**{md(f.name)}** has no true class, yet its name is that of the official file **{md(official)}** "
                    "with a copy's mark added (as a browser adds one to a file downloaded twice). Rename it "
                    f"{md(official)} and upload it again to have the model measured on its rows.",
                    icon=":material/drive_file_rename_outline:")  # fmt: skip
    for note in data.notes:  # rows left out as blank, blank labels, label-like columns not read
        st.caption(md(f"Note: {note}."))
    partial = [f for f in data.files if f.complete is False]
    if partial:
        st.warning("Only part of an official file: " + "; ".join(
            f"{md(f.name)} has {f.rows:,} of its {f.expected_rows:,} rows" for f in partial) + ".")  # fmt: skip
    if pred.repairs.total:
        st.info(f"Repaired before scoring: {pred.repairs.summary()}. These values were infinite (inf), missing "
                f"(NaN) or beyond {IMPLAUSIBLE_TEXT}, which no model can use, so each was replaced by a value from the "
                f"model's training data ({repair_rule()}). No row was dropped. Common in CICIoMT2024 captures: nothing "
                "to do.",
                icon=":material/build:")  # fmt: skip
    else:
        st.caption(f"No cell needed repair: none held inf, NaN or a number beyond {IMPLAUSIBLE_TEXT}.")


def _alerts(ids: tuple, data: Dataset, pred: Predictions, frame: pd.DataFrame) -> None:
    st.subheader("What the model found")
    threshold = st.slider("Low-confidence threshold", 0.0, 1.0, LOW_CONFIDENCE, 0.05, key="analyze_threshold",
                          help=f"{CONFIDENCE_WORDS} A row whose confidence is below this threshold is counted as "
                          "low-confidence: worth a look by hand.")  # fmt: skip
    attack = frame["predicted"] != BENIGN
    counts = frame["predicted"].value_counts().reindex(pred.classes).dropna().astype(int)
    attacks = counts.drop(BENIGN, errors="ignore")
    low = int((frame["probability"] < threshold).sum())
    row = components.metric_row()
    row.metric("Rows scored", f"{len(frame):,}", border=True)
    n_attack = int(attack.sum())
    share = share_text(n_attack / len(frame))
    row.metric("Attack traffic", share, border=True, help=counted(n_attack, "row"))
    two_class = tuple(pred.classes) == CLASSES_2  # its one attack class is no kind of attack: "1" read as one kind
    if two_class:
        row.metric("Attack types seen", "—", border=True,
                   help="A 2-class model tells attack from benign traffic, not which kind of attack: choose a "
                   "6- or 19-class model to see the kinds.")  # fmt: skip
    else:
        row.metric("Attack types seen", f"{len(attacks)}", border=True, help=", ".join(attacks.index) or None)
    row.metric("Low-confidence rows", f"{low:,}", border=True,
               help=f"Rows the model is unsure of: their confidence is below {threshold:g} (the threshold above). "
               "Check them by hand: set *Confidence between* in the table below.")  # fmt: skip
    if attacks.empty:
        st.success("No attack traffic found: every row looks benign.", icon=":material/verified_user:")
    else:
        top = attacks.sort_values(ascending=False).head(3)
        look = "looks like an attack" if n_attack == 1 else "look like attacks"
        kinds = ("" if two_class else " Most often: " + ", ".join(
            f"{c} ({counted(n, 'row')})" for c, n in top.items()) + ".")  # fmt: skip
        st.warning(f"**{counted(n_attack, 'row')} ({share}) {look}.**{kinds}", icon=":material/crisis_alert:")
        st.caption(NEXT_STEPS)
    # Halves that grow on a wide page (at 440 pixels each, half of a 1,920-pixel screen stayed empty).
    left, right = components.growing_halves("analyze_half_counts", "analyze_half_confidence")
    # 3 rows next to 268,000 have no visible bar on a linear axis.
    bars = class_counts_figure(counts, "Rows per predicted class", log_y=counts_need_log_scale(counts))
    left.plotly_chart(bars, key="analyze_counts")
    # The metric above gives the count; a short title fits the chart's width.
    histogram = confidence_histogram(pred.confidence, threshold).update_layout(
        title_text="Confidence of each prediction"
    )
    right.plotly_chart(histogram, key="analyze_confidence")
    i = None
    if len(data.files) > 1:
        names = [f.name for f in data.files]
        i = st.selectbox("Timeline of file", range(len(names)), format_func=names.__getitem__,
                         key="analyze_timeline_file")  # fmt: skip
    st.plotly_chart(_timeline(*ids, i, frame, data, tuple(pred.classes)), key="analyze_timeline")


@st.cache_resource(show_spinner=False, max_entries=8)
def _timeline(model_path: str, mtime: float, data_key, file: int | None, _frame: pd.DataFrame, _data: Dataset,
              classes: tuple) -> go.Figure:  # fmt: skip
    """The timeline of one file (``file``: its index; None: the only one), built once per scoring and file, not on
    every rerun (a filter moved, a slider): 0.4 s for 300,000 rows, 1.8 s for 3 million."""
    predicted = _frame["predicted"].to_numpy()
    return timeline_figure(predicted if file is None else predicted[_data.source == file], classes)


@loaders.budgeted
def _mistakes(model_path: str, mtime: float, data_key, _frame: pd.DataFrame) -> np.ndarray:
    """Where the prediction differs from the known true class, once per scoring (1 s a rerun for a million rows when
    worked out on every rerun, with *Only mistakes* ticked)."""
    return wrong_by_label(_frame["predicted"].to_numpy(), _frame["true"].to_numpy())


def _predictions_table(ids: tuple, frame: pd.DataFrame, pred: Predictions, model_name: str) -> None:
    classes = pred.classes
    st.subheader("Predictions, row by row")
    # A row that wraps: in three fixed columns, at 800 pixels the box read "Onl…" instead of "Only mistakes".
    filters = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    chosen = filters.multiselect("Predicted class", [c for c in classes if (frame["predicted"] == c).any()],
                              key="analyze_filter_classes", placeholder="all classes", width=FILTER_WIDTH)  # fmt: skip
    low, high = filters.slider("Confidence between", 0.0, 1.0, (0.0, 1.0), 0.01, key="analyze_filter_confidence",
                               width=FILTER_WIDTH, help="Only the rows whose confidence (the table's *confidence* "
                               "column) lies in this range.")  # fmt: skip
    known = "true" in frame
    wrong = filters.checkbox("Only mistakes", key="analyze_filter_wrong", disabled=not known,
                           help="Rows whose true class is known and differs from the prediction (where a label says "
                           "only a family or Attack, from the prediction's family, or attack).")  # fmt: skip
    mask = frame["probability"].between(low, high).to_numpy()
    if chosen:
        mask = mask & frame["predicted"].isin(chosen).to_numpy()
    if wrong and known:  # a label saying only a family (DDoS) or Attack is compared with the prediction grouped so
        mask = mask & _mistakes(*ids, frame)
    shown = frame[mask]
    more = f"; the first {MAX_SHOWN:,} are shown, the download has them all" if len(shown) > MAX_SHOWN else ""
    decided = ("" if pred.threshold is None else f" A flow is called an attack when its probability of attack "
               f"reaches the alarm threshold saved with the model, {pred.threshold:.2f}: below 0.50 the predicted "
               "class can be the less probable one.")  # fmt: skip
    st.caption(f"{len(shown):,} of {len(frame):,} rows match{more}. "
               f"Rows are numbered within each file, 1 being the first after the header.{decided}")  # fmt: skip
    st.dataframe(_readable(shown.head(MAX_SHOWN)), hide_index=True, key="analyze_table",
                 column_config=_column_labels(frame, len(classes)))  # fmt: skip
    st.download_button(f"Download these {len(shown):,} predictions (CSV)", _csv(shown, model_name, auth.current_user()),
                       f"predictions-{model_name}.csv",
                       "text/csv", key="analyze_download", icon=":material/download:", on_click="ignore",
                       disabled=shown.empty)  # fmt: skip
    auth.unrecorded_downloads_notice()


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as shown on screen: an empty cell (no runner-up with any probability, a row without a known
    class) reads "—", not "None". The download keeps such cells empty."""
    text = [c for c in frame if c == "true" or (c.startswith("top") and not c.endswith("probability"))]
    return frame.assign(**{c: frame[c].astype(object).where(frame[c].notna(), "—") for c in text}) if text else frame


def _column_labels(frame: pd.DataFrame, n_classes: int) -> dict:
    """Plain headings for the predictions table (the download keeps the short column names). With two classes the
    runner-up is simply the other class (under an alarm threshold it may even be the more probable one)."""
    second = "other class" if n_classes == 2 else "2nd likeliest class"
    labels = {"row": "row in file", "predicted": "predicted class", "probability": "confidence",
              "true": "true class", "top2": second, "top2_probability": f"{second}: probability",
              "top3": "3rd likeliest class", "top3_probability": "3rd likeliest: probability"}  # fmt: skip
    helps = {"probability": CONFIDENCE_WORDS}
    return {c: st.column_config.NumberColumn(labels.get(c, c), format="%.3f", help=helps.get(c))
            if c.endswith("probability") else st.column_config.Column(labels.get(c, c)) for c in frame}  # fmt: skip


def _csv(frame: pd.DataFrame, model_name: str | None = None, user: str | None = None):
    """The rows as CSV, built (and recorded in the audit log) only when the download is clicked.

    A file name starting with ``=``, ``+``, ``-`` or ``@`` is prefixed with ``'`` so that a spreadsheet
    opening the download shows it as text instead of running it as a formula."""

    def build() -> bytes:
        auth.audit.record("exported", user=user, via="dashboard", model=model_name, rows=len(frame),
                          what="predictions CSV")  # fmt: skip
        out = frame.copy()
        if "file" in out:
            out["file"] = [spreadsheet_text(v) for v in out["file"]]
        return out.to_csv(index=False).encode()

    return build


render()
