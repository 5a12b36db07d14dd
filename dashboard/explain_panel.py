"""Explanations, the alarm threshold and report downloads, shown on the Analyze and Compare pages.

Thin over :mod:`core.explain`, :mod:`core.threshold` and :mod:`core.report`. Heavy results (permutation
importance, per-class profiles, curves, reports) are cached per model folder and modification time and
per data identity, so moving a slider only redraws. Widget keys start with ``analyze_explain_``,
``analyze_alarm_`` or ``compare_report_``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core import explain
from core import report as core_report
from core import threshold as th
from core.errors import CoreError
from core.figures import (
    attribution_figure,
    class_profile_figure,
    importance_figure,
    precision_recall_figure,
    roc_figure,
)
from core.glossary import IMPORTANCE_WORDS, MACRO_F1_WORDS, SPREAD_SCALE
from core.loading import UNLABELLED, Dataset
from core.pipeline import Predictions, TrainedModel
from core.taxonomy import BENIGN, CLASSES_2
from core.words import counted, sentence
from dashboard import auth, components, loaders
from dashboard.escape import md

IMPORTANCE_ROWS = 2000  # rows sampled for permutation importance (bounded, so the page stays responsive)
IMPORTANCE_REPEATS = 3
KEY_ALARM_MODEL = "analyze_alarm_model"  # (model path, mtime) the threshold slider was last set for
KEY_EXPLAIN_AT = "analyze_explain_at"  # (model path, mtime, data, file) the flow to explain was last set for

# What each section answers and how to read it, in a line each for a reader who does not program (a hospital manager
# read "the more macro-F1 drops", "Method: occlusion" and "in training standard deviations" and learnt nothing).
THRESHOLD_HELP = ("The model gives each flow a probability of being an attack, from 0 to 1; a flow at or above this "
                  "threshold raises an alarm. 0.50 unless another is saved with the model.")  # fmt: skip
CURVES_WORDS = ("The curves show every threshold at once; the red cross is the slider's. ROC: attacks caught against "
                "false alarms (benign flows flagged as attacks), the nearer the top-left corner, the better. "
                "Precision-recall: attacks caught against the share of alarms that are real attacks, the nearer the "
                "top-right corner, the better.")  # fmt: skip


def profile_words(reference: str, only: str | None = None) -> str:
    """How to read "What marks each attack", its bars measured from ``reference`` ("Benign" or "all other rows");
    ``only``: the one attack class shown, where there is no other to choose (a 2-class model's "Attack")."""
    against = "benign traffic" if reference == BENIGN else reference
    flows = "the chosen attack's flows" if only is None else f"the {_class_words(only)} flows"
    return (f"How {flows} differ from {against} on average, feature by feature (right: higher, left: lower): the "
            "longest bars are its clearest signs. Bars are in standard deviations (the usual spread of a feature in the "
            f"training data): {SPREAD_SCALE}.")  # fmt: skip


def _class_words(cls: str) -> str:
    """A class as a sentence names it: a 2-class model's "Attack" in lower case ("the attack flows"), others as they
    are ("the Recon flows")."""
    return cls.lower() if cls == CLASSES_2[1] else cls


def row_words(predicted: str, benign: bool = True) -> str:
    """How to read the bars of "Why this flow"; ``benign`` False: the values compared with are not benign traffic's
    (:attr:`core.explain.RowExplanation.baseline_benign`)."""
    against = "typical benign traffic" if benign else "the typical value of the model's training rows"
    return (f"red bars pushed it towards {predicted}, blue bars away from it; the longer the bar, the more that "
            f"feature weighed. Each compares the flow's value with {against}.")  # fmt: skip


# ---------------------------------------------------------------------------------- cached work


_IMPORTANCE: OrderedDict = OrderedDict()  # (path, mtime, data_key, rows, repeats) -> FeatureImportance, 16 kept
_IMPORTANCE_LOCK = threading.Lock()


def _importance(path: str, mtime: float, data_key, model: TrainedModel, data: Dataset,
                bar=None) -> explain.FeatureImportance:  # fmt: skip
    """Permutation importance, cached as ``st.cache_resource`` would be (shared by sessions, 16 entries), but by hand
    so that ``bar`` (an ``st.progress``) can follow the features as they are shuffled when it is computed."""
    key = (path, mtime, data_key, IMPORTANCE_ROWS, IMPORTANCE_REPEATS)
    with _IMPORTANCE_LOCK:
        if key in _IMPORTANCE:
            _IMPORTANCE.move_to_end(key)
            return _IMPORTANCE[key]

    def progress(done: int, total: int, message: str) -> None:
        if bar is not None:
            bar.progress(done / max(total, 1), text=f"Measuring which features matter: {message} "
                                                    f"({done} of {total} features)")  # fmt: skip

    imp = explain.permutation_importance(model, data, max_rows=IMPORTANCE_ROWS, repeats=IMPORTANCE_REPEATS,
                                         progress=progress)  # fmt: skip
    with _IMPORTANCE_LOCK:
        _IMPORTANCE[key] = imp
        while len(_IMPORTANCE) > 16:
            _IMPORTANCE.popitem(last=False)
    return imp


@st.cache_resource(show_spinner=False, max_entries=16)
def _baseline(path: str, mtime: float, data_key, _model: TrainedModel, _data: Dataset) -> explain.Baseline:
    return explain.benign_baseline(_model, _data)


@st.cache_resource(show_spinner=False, max_entries=64)
def _row(path: str, mtime: float, data_key, index: int, _model, _data, _baseline) -> explain.RowExplanation:
    return explain.explain_row(_model, _data, index, baseline=_baseline)


@st.cache_resource(show_spinner=False, max_entries=16)
def _profiles(path: str, mtime: float, data_key, _model, _data, _labels) -> pd.DataFrame:
    return explain.class_profiles(_model, _data, _labels, top=8)


@st.cache_resource(show_spinner=False, max_entries=16)
def _curves(path: str, mtime: float, data_key, _is_attack, _p_attack) -> th.Curves:
    return th.curves(_is_attack, _p_attack)


@st.cache_resource(show_spinner=False, max_entries=8)
def _analysis_report(path: str, mtime: float, data_key, _model, _data, _pred, _evaluation) -> core_report.Report:
    labelled = _evaluation is not None
    importance = _importance(path, mtime, data_key, _model, _data) if labelled else None
    return core_report.analysis_report(_model, _data, predictions=_pred, evaluation=_evaluation,
                                       importance=importance, compute_importance=False)  # fmt: skip


# ---------------------------------------------------------------------------------- Analyze


def render(meta: dict, data_key, data: Dataset, pred: Predictions, evaluation, frame: pd.DataFrame) -> None:
    """The explanation, threshold and report sections of the Analyze page."""
    try:
        path = meta["path"]
        mtime = loaders.model_mtime(path)
        model = loaders.load_model(path)
        ids = (path, mtime, data_key)
        st.header("Why the model decides as it does", divider="gray")
        _importance_section(ids, model, data, evaluation)
        _row_section(ids, model, data, frame)
        _profiles_section(ids, model, data, frame)
        if model.task == 2:
            _threshold_section(ids, model, data, pred)
        _report_downloads(ids, model, data, pred, evaluation)
    except CoreError as exc:
        loaders.show_error(exc)


def _importance_section(ids, model: TrainedModel, data: Dataset, evaluation) -> None:
    st.subheader("Which features matter")
    if evaluation is None:
        st.info("Measuring which features matter needs rows whose true class is known (official file names or a "
                "label column).", icon=":material/help:")  # fmt: skip
        return
    st.caption(IMPORTANCE_WORDS + " Hover a bar for what the feature means.",
               help=f"How it is measured: each feature's values are shuffled among up to {IMPORTANCE_ROWS:,} of "
               f"these flows ({IMPORTANCE_REPEATS} times) and the flows scored again; a bar is how much macro-F1 "
               f"({MACRO_F1_WORDS}) drops.")  # fmt: skip
    if not st.toggle("Measure which features matter (a few seconds)", key="analyze_explain_importance"):
        return
    bar = st.progress(0.0, text="Shuffling each feature and rescoring…")
    imp = _importance(*ids, model, data, bar=bar)
    bar.empty()
    top = imp.frame[imp.frame["importance"] > 0].head(5)
    if len(top):  # no chart of empty rows where no feature's shuffling lowered macro-F1 (one flow, say): said below
        st.plotly_chart(importance_figure(imp.frame), key="analyze_explain_importance_chart")
    if imp.task is not None and imp.task < model.task:
        st.caption(f"Measured as macro-F1 at {imp.task} classes, not {model.task}: some of these flows' labels say "
                   "no more (see the evaluation's notes).")  # fmt: skip
    if len(top):
        st.markdown("The features this model relies on most:\n"
                    + "\n".join(f"- **{md(r.feature)}**: {md(r.meaning)}" for r in top.itertuples()))  # fmt: skip
    else:  # every bar at 0 (or below): not "no feature matters", but nothing measurable on these rows
        st.info(f"Shuffling no feature lowered macro-F1 on the {counted(imp.n_rows, 'flow')} measured (macro-F1 "
                f"{imp.baseline_macro_f1:.3f} unshuffled): too few flows, or too few of them classed right, to tell "
                "which features the model relies on. Analyse more labelled flows.", icon=":material/help:")  # fmt: skip
    with st.expander("All features, with their meaning"):
        st.dataframe(
            imp.frame.round({"importance": 4, "std": 4}), hide_index=True, key="analyze_explain_importance_table"
        )


def _row_section(ids, model: TrainedModel, data: Dataset, frame: pd.DataFrame) -> None:
    st.subheader("Why this flow")
    flagged = np.flatnonzero(frame["predicted"].to_numpy() != BENIGN)
    start = int(flagged[0]) if len(flagged) else 0
    # Picked as the table numbers them: a file, then its row (the rows of several files used to be counted
    # together here, so a row seen in the table had to be found by adding up the earlier files' rows).
    # The files' rows follow one another in the table (read_files' order), so each file's first row is the sum of
    # the earlier files' rows: from the file list, not from scanning the table on every rerun.
    files = [f.name for f in data.files]
    first = dict(zip(files, np.concatenate([[0], np.cumsum([f.rows for f in data.files])[:-1]]).tolist()))
    if len(files) > 1:
        file = st.selectbox("File of the flow to explain", files, index=files.index(frame["file"].iloc[start]),
                            key="analyze_explain_file")  # fmt: skip
    else:
        file = files[0]
    n = data.files[files.index(file)].rows
    # Other rows, model or file: start again from the first flagged flow in the file (set through the session
    # state, so that the widget is given no default of its own to clash with it). In the file chosen, not of all
    # the files: another file started at its row 1, benign or not, though flows of it were flagged.
    if st.session_state.get(KEY_EXPLAIN_AT) != (*ids, file):
        st.session_state[KEY_EXPLAIN_AT] = (*ids, file)
        mine = flagged[(flagged >= first[file]) & (flagged < first[file] + n)]
        st.session_state["analyze_explain_row"] = int(mine[0]) - first[file] + 1 if len(mine) else 1
    row = int(st.number_input(f"Row in {md(file)} (1 to {n:,}, as numbered in the table above)", 1, n,
                              key="analyze_explain_row", help="The first flow flagged as an attack is chosen to "
                              "start.")) - 1  # fmt: skip
    index = first[file] + row
    r = frame.iloc[index]
    truth = f"; true class **{r['true']}**" if "true" in frame and pd.notna(r.get("true")) else ""
    baseline = _baseline(*ids, model, data)
    with st.spinner("Explaining this flow…"):
        ex = _row(*ids, index, model, data, baseline)
    # A model trained without Benign (the real v1 sample has none) is explained against the median of its training
    # rows, all attacks: not called "typical benign" (each bar read "(benign ~68.9)", an attack's value).
    typical = "typical benign" if ex.baseline_benign else "typical"
    at = "typical benign values" if ex.baseline_benign else "typical values of the model's training rows"
    method = (f"integrated gradients (exact share of the change in probability from {typical} values to this "
              "flow)" if ex.method == "integrated gradients" else
              f"occlusion: each feature alone set back to its {typical} value")  # fmt: skip
    # A saved alarm threshold decides, not the larger probability: "classed as Attack with probability 0.400" (or as
    # Benign with 0.300) read as a mistake where the page did not say so.
    decided = ""
    if model.task == 2 and model.metadata.get("alarm_threshold") is not None:
        decided = (" A flow is classed as an attack when its probability of attack reaches "
                   f"{th.threshold_text(th.model_threshold(model.metadata))}, the alarm threshold saved with the "
                   "model.")  # fmt: skip
    st.markdown(f"Row {int(r['row']):,} of {md(r['file'])}: classed as **{ex.predicted}** with probability "
                f"{ex.probability:.3f}{truth}.{decided} At {at} its probability of {ex.predicted} would be "
                f"{ex.baseline_probability:.3f}.")  # fmt: skip
    st.caption(f"What made the model call this flow {ex.predicted}: {row_words(ex.predicted, ex.baseline_benign)} "
               f"{typical.capitalize()} values: {ex.baseline_source}.", help=f"Method: {method}.")  # fmt: skip
    st.plotly_chart(attribution_figure(ex.frame, ex.predicted, reference="benign" if ex.baseline_benign else "typical"),
                    key="analyze_explain_row_chart")  # fmt: skip
    with st.expander(f"This flow's values beside {typical} values"):
        shown = ex.frame[["feature", "meaning", "value", "typical_benign", "contribution"]]
        if not ex.baseline_benign:
            shown = shown.rename(columns={"typical_benign": "typical"})
        st.dataframe(shown, hide_index=True, key="analyze_explain_row_table",
                     column_config={"contribution": st.column_config.NumberColumn(format="%+.4f")})  # fmt: skip
    for note in ex.notes:  # a note that starts with a feature keeps its name as written ("fin_flag_number was NaN")
        named = any(note.startswith(f"{f} ") for f in model.layout.features)
        st.caption(md(note if named else sentence(note)))


def _profiles_section(ids, model: TrainedModel, data: Dataset, frame: pd.DataFrame) -> None:
    labelled = "true" in frame and frame["true"].notna().any()
    labels = frame["true"].to_numpy(dtype=object) if labelled else frame["predicted"].to_numpy(dtype=object)
    prof = _profiles(*ids, model, data, labels)
    classes = list(dict.fromkeys(prof["class"]))
    basis = "true classes" if labelled else "predicted classes, the true class being unknown"
    # One attack class (a 2-class model's "Attack", or one attack's files beside benign ones): its chart alone, under
    # words for it (a select box "Attack class" of one choice, under "the chosen attack", read as a choice to make).
    only = classes[0] if len(classes) == 1 else None
    st.subheader("What marks each attack" if only is None else f"What marks {_class_words(only)} traffic")
    if not classes:
        attacks = sorted({c for c in pd.unique(labels[pd.notna(labels)]) if c != BENIGN})
        if not attacks:
            st.info(f"No attack rows (by their {basis}) to compare with benign traffic.", icon=":material/help:")
        else:  # one attack class and no benign rows: nothing to compare it with
            st.info(f"All these rows are {attacks[0]} (by their {basis}), with no benign rows to compare them with. "
                    "Add benign traffic (e.g. the official Benign file) to see what marks this attack.",
                    icon=":material/help:")  # fmt: skip
        return
    grouped = f"Grouped by their {basis}."
    if only is not None:
        st.caption(profile_words(str(prof["reference"].iloc[0]), only), help=grouped)
        cls = only
    else:
        st.caption(profile_words(str(prof["reference"].iloc[0])))
        cls = st.selectbox("Attack class", classes, key="analyze_explain_class", help=grouped)
    st.plotly_chart(class_profile_figure(prof, cls), key="analyze_explain_class_chart")


def _threshold_section(ids, model: TrainedModel, data: Dataset, pred: Predictions) -> None:
    st.subheader("Where to set the alarm")
    known = data.y != UNLABELLED
    if not known.any():
        st.info("Choosing an alarm threshold needs rows whose true class is known.", icon=":material/help:")
        return
    is_attack = th.is_attack_truth(data)
    p_attack = th.attack_probability(pred.classes, pred.proba)[known]
    if is_attack.all() or not is_attack.any():
        st.info("Choosing an alarm threshold needs both benign and attack rows whose true class is known.",
                icon=":material/help:")  # fmt: skip
        return
    saved = th.model_threshold(model.metadata)
    # Another model, its threshold just saved, or the slider not shown on the last run: start from the saved value.
    if st.session_state.get(KEY_ALARM_MODEL) != ids[:2] or "analyze_alarm_threshold" not in st.session_state:
        st.session_state[KEY_ALARM_MODEL] = ids[:2]
        st.session_state["analyze_alarm_threshold"] = float(saved)
    st.caption("A flow raises an alarm when the model's probability that it is an attack reaches the threshold. "
               "Lower it to miss fewer attacks, raise it for fewer false alarms. Counted on these flows.")  # fmt: skip
    _validation_threshold(model.metadata)
    # The command line saves any threshold in (0, 1]: one below 0.01 (the slider's start, which took the page down)
    # gives a finer slider from 0.001, whose steps still reach 0.50 and the other two-decimal thresholds.
    step = 0.001 if saved < 0.01 else 0.01
    t = st.slider("Alarm threshold (probability of attack)", min(step, float(saved)), 1.0, step=step,
                  format="%.2f" if step == 0.01 and th.on_grid(saved) else "%.3f",
                  key="analyze_alarm_threshold", help=THRESHOLD_HELP)  # fmt: skip
    cost = th.cost_at(is_attack, p_attack, t)
    row = components.metric_row()
    row.metric("False alarms per 10,000 benign flows", f"{cost.false_alarms_per_10k:,.1f}", border=True,
               help=f"{cost.false_alarms:,} of {cost.n_benign:,} benign flows flagged")  # fmt: skip
    row.metric("Attacks missed", f"{cost.missed:,} ({cost.missed_rate:.1%})", border=True,
               help=f"of {cost.n_attack:,} attack flows")  # fmt: skip
    caught = f" ({1 - cost.missed_rate:.1%})" if cost.n_attack else ""  # as the attacks missed are given
    row.metric("Attacks caught", f"{cost.detected:,}{caught}", border=True, help=f"of {cost.n_attack:,} attack flows")
    cv = th.with_operating_point(_curves(*ids, is_attack, p_attack), is_attack, p_attack, t)
    # Two halves, side by side where the page is wide and one under the other where it is not: in one figure at 800
    # pixels the two curves' axis titles ran into each other and the second curve's title was cut off.
    st.caption(CURVES_WORDS)
    roc, pr = components.growing_halves("analyze_half_roc", "analyze_half_pr")
    roc.plotly_chart(roc_figure(cv), key="analyze_alarm_curves")
    pr.plotly_chart(precision_recall_figure(cv), key="analyze_alarm_pr")
    # The button under its caption, not in a third of the page beside it: there it read "Save this thre…" at 800
    # pixels.
    st.caption(f"Saved with the model now: {md(th.state_text(model.metadata))}. Saving makes every later scoring "
               "with this model (here and on the command line) use the new threshold, and its evaluations say on "
               "which flows it was chosen: choose it on flows other than those you will judge the model by.")  # fmt: skip
    if st.button("Save this threshold with the model", key="analyze_alarm_save", icon=":material/save:",
                 disabled=abs(t - saved) < 1e-9):  # fmt: skip
        suggested = model.metadata.get("alarm_threshold_validation") or {}
        on_validation = abs(t - suggested.get("threshold", -1.0)) < 1e-9
        # expected: the model this page loaded; another saved under its name since is refused, not re-thresholded
        th.save_threshold(ids[0], t, chosen_on=th.validation_rows_label(suggested) if on_validation
                          else data_label(None, data), expected=model.metadata)  # fmt: skip
        auth.log("threshold saved", model=model.name, threshold=round(t, 4))
        loaders.refresh_models()
        st.toast(f"Alarm threshold {th.threshold_text(t)} saved with {model.name}.", icon=":material/check:")
        st.rerun()


def _validation_threshold(meta: dict) -> None:
    """The threshold chosen at training on the model's validation rows, with a button that moves the slider to it:
    a choice made on rows that no score here is computed on."""
    text = th.validation_text(meta)
    if not text:
        return
    suggested = meta["alarm_threshold_validation"]
    st.caption(f"{sentence(text)}. A threshold chosen there is fair to judge on these flows; one chosen on these "
               "flows is not.")  # fmt: skip
    if st.button(f"Start from {suggested['threshold']:.2f}", key="analyze_alarm_validation",
                 icon=":material/straighten:", help="Moves the slider; nothing is saved until you save it."):  # fmt: skip
        st.session_state["analyze_alarm_threshold"] = float(suggested["threshold"])


def _report_downloads(ids, model: TrainedModel, data: Dataset, pred: Predictions, evaluation) -> None:
    st.subheader("Report")
    st.caption("A report for someone who does not use this tool: what was analysed, with which model, the results in "
               "plain words, the charts and the caveats. The HTML file opens in any browser without internet.")  # fmt: skip
    user = auth.current_user()

    def build(kind: str):
        def make() -> bytes:
            rep = _analysis_report(*ids, model, data, pred, evaluation)
            auth.audit.record("exported", user=user, via="dashboard", model=model.name, rows=len(data),
                              what=f"analysis report ({kind})")  # fmt: skip
            return rep.to_html().encode() if kind == "html" else rep.to_pdf()

        return make

    left, right = st.columns(2)
    stem = f"report-{Path(ids[0]).name}"
    left.download_button("Download report (HTML)", build("html"), f"{stem}.html", "text/html",
                         key="analyze_report_html", icon=":material/download:", on_click="ignore")  # fmt: skip
    right.download_button("Download report (PDF)", build("pdf"), f"{stem}.pdf", "application/pdf",
                          key="analyze_report_pdf", icon=":material/picture_as_pdf:", on_click="ignore")  # fmt: skip


# ---------------------------------------------------------------------------------- Compare


def data_label(folder: Path | None, data: Dataset) -> str:
    """What was scored, in words: the folder's test split, or the file names."""
    if folder is not None:
        return f"{folder}/test"
    names = [f.name for f in data.files]
    more = len(names) - 3
    return ", ".join(names[:3]) + (f" and {more} more file{'s' * (more != 1)}" if more > 0 else "")


def comparison_downloads(scores: list, data_label: str, n_rows: int | None = None, *,
                         metadata: dict[str, dict] | None = None) -> None:  # fmt: skip
    """'Download report (HTML)' and '(PDF)' buttons for the models compared on the Compare page; ``metadata``: the
    saved models' metadata by name, for the report to say, as the page does, when they learnt from other rows."""
    st.subheader("Report")
    st.caption("The comparison as a report for someone who does not use this tool (HTML opens without internet).")
    user = auth.current_user()

    def build(kind: str):
        def make() -> bytes:
            rep = core_report.comparison_report(scores, data_label=data_label, n_rows=n_rows, metadata=metadata)
            auth.audit.record("exported", user=user, via="dashboard", model=", ".join(s.name for s in scores),
                              what=f"comparison report ({kind})")  # fmt: skip
            return rep.to_html().encode() if kind == "html" else rep.to_pdf()

        return make

    left, right = st.columns(2)
    left.download_button("Download report (HTML)", build("html"), "comparison-report.html", "text/html",
                         key="compare_report_html", icon=":material/download:", on_click="ignore")  # fmt: skip
    right.download_button("Download report (PDF)", build("pdf"), "comparison-report.pdf", "application/pdf",
                          key="compare_report_pdf", icon=":material/picture_as_pdf:", on_click="ignore")  # fmt: skip
    auth.unrecorded_downloads_notice()
