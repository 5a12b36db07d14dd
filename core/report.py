"""Reports a manager can read: one self-contained HTML file (interactive charts, no internet needed)
and a PDF, for one model on some traffic (:func:`analysis_report`) or several models on the same rows
(:func:`comparison_report`).

A report is a list of :class:`Section` s, each with plain-language paragraphs, bullet points, an
optional table and an optional chart. The HTML draws each chart with Plotly (plotly.js inlined once);
the PDF draws the same numbers with matplotlib (no browser needed). Every name that comes from a file
or a column is escaped in the HTML.

The Plotly builders are the dashboard's own (:mod:`core.figures`: Plotly only, no Streamlit), imported
lazily so that the rest of ``core`` needs no Plotly to load.
"""

from __future__ import annotations

import html
import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .glossary import IMPORTANCE_WORDS, MACRO_F1_WORDS, SCORE_SCALE, WEIGHTED_F1_WORDS
from .loading import UNLABELLED, Dataset
from .preprocess import repair_rule
from .words import counted, listed, share_text, time_text, was_were

if TYPE_CHECKING:
    from .compare import ModelScore
    from .evaluation import EvaluationReport
    from .explain import FeatureImportance
    from .pipeline import Predictions, TrainedModel

SINGLE_RECORDING_CAVEAT = (
    "Each non-DoS class of CICIoMT2024 (ARP spoofing, MQTT, reconnaissance, benign) comes from a single recording, "
    "split about 80/20 into the training and test files, and timing features (Duration/Time_To_Live, Rate, IAT) "
    "partly identify that recording: scores for those classes are likely better than on new traffic from another "
    "network."
)
DUPLICATES_CAVEAT = (
    "About 37% of the official training rows and 45% of the test rows are exact copies of other rows (DDoS-ICMP "
    "most of all); test rows that also occur in training make scores look better than they would be on new "
    "traffic. python -m core evaluate and benchmark-models can leave them out (--drop-train-duplicates), as the "
    "Compare page can, and say how many."
)


# ---------------------------------------------------------------------------------- structure


@dataclass
class Section:
    """One part of a report. ``draw(ax)`` draws the chart for the PDF (matplotlib); ``figure`` is the
    interactive Plotly chart for the HTML."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figure: object | None = None  # plotly.graph_objects.Figure
    draw: Callable | None = None  # draw(ax) for the PDF
    chart_height: float = 3.2  # inches in the PDF


@dataclass
class Report:
    """A titled list of sections, rendered to HTML or PDF."""

    title: str
    subtitle: str
    sections: list[Section]
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))

    def to_html(self) -> str:
        return render_html(self)

    def to_pdf(self) -> bytes:
        return render_pdf(self)

    def documents(self, html_path=None, pdf_path=None) -> list[tuple[str, bytes]]:
        """``(path, content)`` of the HTML and/or PDF files, both made before either is written (a PDF that fails
        does not leave the HTML alone behind)."""
        return ([(html_path, self.to_html().encode("utf-8"))] if html_path else []) + (
            [(pdf_path, self.to_pdf())] if pdf_path else [])  # fmt: skip

    def write(self, html_path=None, pdf_path=None) -> None:
        """Write the HTML and/or PDF files, each whole or not at all."""
        from .paths import write_bytes_atomic

        for path, content in self.documents(html_path, pdf_path):
            write_bytes_atomic(path, content)


# ---------------------------------------------------------------------------------- words


def headline_sentences(report: EvaluationReport, max_classes: int = 19) -> list[str]:
    """The results in plain words, one sentence per true class, e.g. 'Of 98,432 DoS-ICMP flows, 97,990 were
    correctly recognised as DoS-ICMP; 442 were mistaken for DDoS-ICMP.'"""
    labels = list(report.labels)
    cm = np.asarray(report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    correct = int(np.trace(cm))
    # Rows whose true class is not known are not in n_rows: said, so that it does not contradict the flow count.
    out = [f"Of {report.n_rows:,} flows whose true class is known, {correct:,} "
           f"({share_text(correct / report.n_rows)}) {was_were(correct)} recognised as "
           f"their true class. The macro-F1 score, in which {MACRO_F1_WORDS}, is {report.macro_f1:.3f}; the "
           f"weighted-F1, in which {WEIGHTED_F1_WORDS}, is {report.weighted_f1:.3f}. {SCORE_SCALE}"]  # fmt: skip
    for i, c in enumerate(labels[:max_classes]):
        n = int(cm[i].sum())
        if n == 0:
            continue
        ok = int(cm[i, i])
        wrong = [(labels[j], int(cm[i, j])) for j in np.argsort(-cm[i], kind="stable") if j != i and cm[i, j] > 0]
        text = f"Of {n:,} {c} flows, {ok:,} {was_were(ok)} correctly recognised as {c}"
        if wrong:
            shown = wrong[:2]
            text += "; " + " and ".join(f"{k:,} {was_were(k)} mistaken for {other}" for other, k in shown)
            rest = sum(k for _, k in wrong[2:])
            if rest:
                text += f", {rest:,} for other classes"
        out.append(text + ".")
    return out


def absent_classes_sentence(report: EvaluationReport) -> str | None:
    """In words, the task's classes with no row in the data (None when every class is there): the report, the
    comparison report and the dashboard's pages say it alike."""
    absent = list(report.absent_classes)
    if not absent:
        return None
    scored = len(report.scored_labels)
    one = len(absent) == 1
    return (f"{len(absent)} of the task's {scored + len(absent)} classes {'has' if one else 'have'} no rows in this "
            f"data, so {'it' if one else 'they'} could not be scored and {'is' if one else 'are'} left out of the "
            f"averages: {', '.join(absent)}.")  # fmt: skip


def _file_table(data: Dataset) -> pd.DataFrame:
    return pd.DataFrame([{"file": f.name, "rows": f.rows, "true class from": f.label_source or (
        "unknown (every label blank)" if f.blank_labels else "unknown")} for f in data.files])  # fmt: skip


def _duplicate_rows(X: np.ndarray) -> int:
    """Rows that are exact copies of an earlier row (float32 bytes)."""
    if len(X) < 2:
        return 0
    view = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * X.shape[1]))).ravel()
    return int(len(view) - len(np.unique(view)))


def _task_fact(model: TrainedModel) -> str:
    """The task and the classes the model can predict: fewer than the task's where it was trained without some (the
    real v1 sample has 8 of the 19), said so ("Task: 19 classes (8 names)" read as if those were the task's)."""
    names = ", ".join(model.classes)
    if len(model.classes) < model.task:
        return f"Task: {model.task} classes; it can predict {len(model.classes)} of them: {names}"
    return f"Task: {model.task} classes ({names})"


def _model_facts(model: TrainedModel) -> list[str]:
    from .threshold import saved_since_training, threshold_text

    meta = model.metadata
    data = meta.get("data") or {}
    facts = [f"Model: {model.name} ({model.family}: {meta.get('description') or model.family})",
             _task_fact(model),
             f"Data layout: {model.layout.name} ({model.layout.n_features} features)"]  # fmt: skip
    if data.get("description"):
        facts.append(f"Trained on: {data['description']} ({data.get('train_rows', 0):,} rows"
                     + (f", created {time_text(meta['created_at'])}" if meta.get("created_at") else "") + ")")  # fmt: skip
    test = (meta.get("metrics") or {}).get("test")
    if test:
        since = (" (at the default alarm threshold 0.50, before the threshold below was saved)"
                 if saved_since_training(meta) else "")  # fmt: skip
        facts.append(f"Its own test score when trained{since}: macro-F1 {test['macro_f1']:.3f}, "
                     f"weighted-F1 {test['weighted_f1']:.3f} on {test['n_rows']:,} rows")  # fmt: skip
    if meta.get("alarm_threshold") is not None:
        chosen = meta.get("alarm_threshold_chosen_on")
        facts.append(f"Alarm threshold: a flow is an attack when its attack probability is at least "
                     f"{threshold_text(meta['alarm_threshold'])}" + (f" (chosen on {chosen})" if chosen else ""))  # fmt: skip
    absent = data.get("classes_absent_from_training") or []
    if absent:
        facts.append(f"Classes it never saw in training (it cannot predict them): {', '.join(absent)}")
    return facts


# ---------------------------------------------------------------------------------- one model


def _coarser(task: int | None, model_task: int) -> str:
    """`` at N classes`` where a measure was taken at a coarser task than the model's (labels saying only a
    family or Attack); empty otherwise."""
    return f" at {task} classes (the labels say no more)" if task is not None and task < model_task else ""


def analysis_report(model: TrainedModel, data: Dataset, *, predictions: Predictions | None = None,
                    evaluation: EvaluationReport | None = None, importance: FeatureImportance | None = None,
                    compute_importance: bool = True, importance_rows: int = 2000, data_label: str | None = None,
                    top_features: int = 12) -> Report:  # fmt: skip
    """What one model found in ``data``, and how good it was where the truth is known.

    Parameters
    ----------
    predictions, evaluation, importance : optional
        Reuse what the caller already computed (the dashboard's caches); otherwise computed here.
    compute_importance : bool
        Compute permutation importance (bounded to ``importance_rows`` rows) when the data is labelled
        and ``importance`` is not given.
    data_label : str, optional
        What was analysed, in words (e.g. the folder); by default the file names.
    """
    from . import figures

    if predictions is None:
        predictions = model.predict(data)
    labelled = bool((data.y != UNLABELLED).any())
    if evaluation is None and labelled:
        evaluation = model.evaluate(data, predictions=predictions)
    if importance is None and labelled and compute_importance:
        from .explain import permutation_importance

        importance = permutation_importance(model, data, max_rows=importance_rows)
    names = [f.name for f in data.files]
    what = data_label or (", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else ""))
    sections = []
    summary = Section("What was analysed", bullets=[
        f"Traffic: {what}: {len(data):,} flows from {counted(len(data.files), 'file')}, {data.layout.name} layout",
        *_model_facts(model)])  # fmt: skip
    summary.table = _file_table(data)
    sections.append(summary)

    counts = pd.Series(predictions.labels).value_counts().reindex(predictions.classes).dropna().astype(int)
    attacks = counts.drop("Benign", errors="ignore")
    found = Section("What the model found")
    n_attack = int(attacks.sum())
    found.paragraphs.append(
        f"The model classed {n_attack:,} of {len(data):,} flows ({share_text(n_attack / max(len(data), 1))}) as "
        "attacks"
        # a 2-class model's only attack class is 'Attack': 'most often Attack (N)' repeated the count
        + (": most often " + ", ".join(f"{c} ({k:,})" for c, k in attacks.sort_values(ascending=False).head(3).items())
           if n_attack and model.task != 2 else "") + ".")  # fmt: skip
    found.table = pd.DataFrame({"predicted class": counts.index, "flows": counts.to_numpy()})
    found.figure = figures.class_counts_figure(
        counts, "Flows per predicted class", log_y=figures.counts_need_log_scale(counts)
    )  # 3 flows beside 268,000
    found.draw = _bars_drawer(list(counts.index), counts.to_numpy(dtype=float), "flows", colors=[
        figures.class_color(c) for c in counts.index])  # fmt: skip
    found.chart_height = 0.35 * len(counts) + 1.0
    sections.append(found)

    if evaluation is not None:
        sections.extend(_evaluation_sections(evaluation, figures))
    else:
        # A label column whose every cell is blank is not "no label column" (the report said so of one)
        blank = [f for f in data.files if f.blank_labels]
        why = ("every cell of their label column is blank" if len(blank) == len(data.files) else
               "no official CICIoMT2024 file names, and no label column or only blank labels" if blank else
               "no official CICIoMT2024 file names and no label column")  # fmt: skip
        sections.append(Section("How good were these predictions?", paragraphs=[
            f"The true class of these flows is not known ({why}), so the model could not be measured on them; the "
            "counts above are what it predicts."]))  # fmt: skip

    if importance is not None:
        top = importance.top(top_features)
        # What a bar means first, in the Analyze page's words; the method after, for an expert (it opened with the
        # method: "Each feature's values were shuffled ... and the drop in macro-F1 measured").
        sec = Section("Which features the model relies on", paragraphs=[
            IMPORTANCE_WORDS + " The table says what each feature measures.",
            f"How it is measured: each feature's values were shuffled among {importance.n_rows:,} labelled flows "
            f"({counted(importance.repeats, 'time')}) and the flows scored again; a bar is how much macro-F1 "
            f"({MACRO_F1_WORDS}){_coarser(importance.task, model.task)} drops, from "
            f"{importance.baseline_macro_f1:.3f}."])  # fmt: skip
        sec.table = top[["feature", "meaning", "importance"]].round({"importance": 3})  # as the other scores
        sec.figure = figures.importance_figure(importance.frame, top=top_features)
        sec.draw = _bars_drawer(top["feature"].tolist(), top["importance"].to_numpy(dtype=float),
                                figures.IMPORTANCE_AXIS.replace("<br>", " "))  # fmt: skip
        sec.chart_height = 0.3 * len(top) + 1.0
        sections.append(sec)

    sections.append(_caveats(data, predictions, evaluation, importance))
    return Report(title=f"Traffic analysis with {model.name}",
                  subtitle=f"{len(data):,} flows, {model.task}-class model ({model.family})", sections=sections)  # fmt: skip


def _sentence_of(note: str) -> str:
    """A note as a sentence: capital first, full stop last."""
    return note[:1].upper() + note[1:] + ("" if note.endswith(".") else ".")


def _evaluation_sections(evaluation: EvaluationReport, figures) -> list[Section]:
    from .pipeline import COARSER_NOTE

    # Scored at a coarser task than the model's (labels saying only a family, or Attack): said first, not only among
    # the caveats at the end, since every figure below is of that task.
    coarser = [_sentence_of(n) for n in evaluation.notes if n.startswith(COARSER_NOTE)]
    out = [Section("The results in plain words", paragraphs=coarser + headline_sentences(evaluation))]
    if absent := absent_classes_sentence(evaluation):
        out[0].paragraphs.append(absent)
    if evaluation.task == 2 and "Attack" in evaluation.per_class and "Benign" in evaluation.per_class:
        labels = list(evaluation.labels)
        cm = np.asarray(evaluation.confusion_matrix)
        b, a = labels.index("Benign"), labels.index("Attack")
        n_benign, n_attack = int(cm[b].sum()), int(cm[a].sum())
        fa = int(cm[b, a])
        # Attacks alone (the real v1 sample has no benign flow) gave "0 of 0 benign flows ... (0.0 per 10,000)": a
        # rate where there was nothing to count; benign flows alone, "Missed attacks: 0 of 0".
        alarms = (f"{fa:,} of {n_benign:,} benign flows were flagged as attacks ({10_000 * fa / n_benign:,.1f} per "
                  "10,000 benign flows)" if n_benign else "none to count, since no flow here is benign")  # fmt: skip
        missed = (f"{int(cm[a, b]):,} of {n_attack:,}" if n_attack else
                  "none to count, since no flow here is an attack")  # fmt: skip
        out[0].paragraphs.append(f"False alarms: {alarms}. Missed attacks: {missed}.")
    labels = list(evaluation.labels)
    cm = np.asarray(evaluation.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    conf = Section("Confusion matrix", paragraphs=[
        "Rows are the true classes, columns what the model predicted; the diagonal holds the correct predictions."])  # fmt: skip
    conf.figure = figures.confusion_figure(evaluation)
    conf.draw = _confusion_drawer(labels, cm)
    conf.chart_height = min(7.5, 0.32 * len(labels) + 2.2)
    out.append(conf)
    table = figures.per_class_table(evaluation).sort_values("class", key=lambda s: s.map(labels.index))
    per = Section("Per-class scores", paragraphs=[
        "Precision: of the flows given this class, the share that really were. Recall: of the flows of this class, "
        "the share found. F1 combines both. Support: flows of the class in the data."])  # fmt: skip
    per.table = table.round({"precision": 3, "recall": 3, "f1": 3}).reset_index(drop=True)
    per.figure = figures.per_class_metrics_figure(evaluation)
    per.draw = _bars_drawer(table["class"].tolist(), table["f1"].to_numpy(dtype=float), "F1", xlim=(0, 1))
    per.chart_height = 0.3 * len(table) + 1.0
    out.append(per)
    return out


def _caveats(data: Dataset, predictions: Predictions, evaluation, importance) -> Section:
    bullets = [SINGLE_RECORDING_CAVEAT]
    if evaluation is not None and evaluation.duplicates_removed is not None:
        bullets.append(f"{evaluation.duplicates_removed:,} test flows that also occur in the training data were left "
                       "out of the scores.")  # fmt: skip
    else:
        bullets.append(DUPLICATES_CAVEAT)
    dup = _duplicate_rows(data.X)
    if dup:
        bullets.append(f"Within the analysed data, {dup:,} of {len(data):,} flows ({share_text(dup / len(data))}) "
                       "are exact copies of another flow.")  # fmt: skip
    if predictions.repairs.total:
        bullets.append(f"Repaired before scoring: {predictions.repairs.summary()} ({repair_rule('->')}; no flow was "
                       "dropped).")  # fmt: skip
    else:
        bullets.append("No inf or NaN cells needed repair.")
    bullets.extend(data.notes)
    if evaluation is not None:
        from .pipeline import COARSER_NOTE  # said with the results instead

        bullets.extend(n for n in evaluation.notes if n not in data.notes and "repaired" not in n
                       and not n.startswith(COARSER_NOTE))  # fmt: skip
    if importance is not None:
        bullets.append(f"Feature importance was measured on a sample of {importance.n_rows:,} labelled flows "
                       "(each class equally represented where possible); small differences between features are "
                       "not meaningful.")  # fmt: skip
    return Section("Caveats about the data", bullets=bullets)


# ---------------------------------------------------------------------------------- several models


def _duplicates_left_out(removed: int) -> str:
    """What leaving out the test rows also in train did to a comparison, in words."""
    if not removed:
        return "No test flow also occurs in training: none was left out of the scores."
    return (
        f"{counted(removed, 'test flow')} that also {'occurs' if removed == 1 else 'occur'} in training "
        f"{was_were(removed)} left out of every model's scores."
    )


def leaders(ranked: list[ModelScore]) -> list[ModelScore]:
    """The models of ``ranked`` (best macro-F1 first) level with the best at the 3 decimals shown: the best alone,
    or several that tie (none is 'ahead' of another there)."""
    top = round(ranked[0].report.macro_f1, 3)
    return [s for s in ranked if round(s.report.macro_f1, 3) == top]


def comparison_report(scores: list[ModelScore], *, data_label: str, n_rows: int | None = None,
                      metadata: dict[str, dict] | None = None) -> Report:  # fmt: skip
    """Several models of one task scored on the same rows, best macro-F1 first.

    ``metadata``: the saved models' metadata by name. When given, the report says, as the Compare page does, which
    models learnt from other training rows (:func:`core.compare.training_data_note`): the ranking is then not of
    like with like.
    """
    from . import figures
    from .compare import training_data_note

    if not scores:
        raise ValueError("no scores to report")
    ranked = sorted(scores, key=lambda s: s.report.macro_f1, reverse=True)
    best = ranked[0]
    n = best.report.n_rows
    intro = Section("What was compared", bullets=[
        f"Data: {data_label}" + (f" ({n_rows:,} flows)" if n_rows else ""),
        f"Task: {best.task} classes; {len(scores)} models: " + ", ".join(f"{s.name} ({s.family})" for s in ranked)])  # fmt: skip
    level = leaders(ranked)
    if len(level) > 1:
        words = (f"On these {n:,} flows, {listed([f'{s.name} ({s.family})' for s in level])} detect equally well: "
                 f"macro-F1 {best.report.macro_f1:.3f}")  # fmt: skip
    else:
        words = f"On these {n:,} flows, {best.name} ({best.family}) detects best: macro-F1 {best.report.macro_f1:.3f}"
    if len(ranked) > len(level):
        runner = ranked[len(level)]
        words += f", ahead of {runner.name} ({runner.report.macro_f1:.3f})"
    intro.paragraphs.append(f"{words}. In macro-F1, {MACRO_F1_WORDS}.")
    if metadata is not None and (note := training_data_note(metadata, [s.name for s in ranked])):
        intro.paragraphs.append(note)
    if best.report.duplicates_removed is not None:
        intro.paragraphs.append(_duplicates_left_out(best.report.duplicates_removed))
    # The same rows for every model: the same classes absent (benign flows alone: each macro-F1 is Benign's F1).
    if absent := absent_classes_sentence(best.report):
        intro.paragraphs.append(absent)
    from .pipeline import scoring_notes

    intro.paragraphs += [f"{s.name}: {note}." for s in ranked for note in scoring_notes(s.report)]
    table = pd.DataFrame([{"model": s.name, "family": s.family, "macro-F1": round(s.report.macro_f1, 4),
                           "weighted-F1": round(s.report.weighted_f1, 4), "accuracy": round(s.report.accuracy, 4),
                           "flows per second": round(s.rows_per_second)} for s in ranked])  # fmt: skip
    intro.table = table
    intro.figure = figures.comparison_bars(scores)
    intro.draw = _bars_drawer([s.name for s in ranked], np.array([s.report.macro_f1 for s in ranked]), "macro-F1",
                              xlim=(0, 1))  # fmt: skip
    intro.chart_height = 0.35 * len(ranked) + 1.0
    sections = [intro]
    per = Section("Per-class F1 of each model", paragraphs=["Which classes each model finds well (1 is perfect)."])
    classes = best.report.scored_labels
    # "traffic class": with a space, so that no model's name (core.pipeline.MODEL_NAME_RE) can replace the column
    per.table = pd.DataFrame({"traffic class": classes, **{s.name: [round(s.report.per_class[c]["f1"], 3)
                                                            if c in s.report.per_class else None for c in classes]
                                                   for s in ranked}})  # fmt: skip
    per.figure = figures.per_class_f1_heatmap(scores)
    sections.append(per)
    for s in ranked:
        sec = Section(f"{s.name}: results in plain words", paragraphs=headline_sentences(s.report))
        labels = list(s.report.labels)
        cm = np.asarray(s.report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
        sec.figure = figures.confusion_figure(s.report)
        sec.draw = _confusion_drawer(labels, cm)
        sec.chart_height = min(7.5, 0.32 * len(labels) + 2.2)
        sections.append(sec)
    removed = best.report.duplicates_removed  # left out: said as in the introduction, not offered as an option
    sections.append(Section("Caveats about the data", bullets=[SINGLE_RECORDING_CAVEAT] + (
        [DUPLICATES_CAVEAT] if removed is None else [_duplicates_left_out(removed)])))  # fmt: skip
    return Report(title=f"Comparison of {len(scores)} {best.task}-class models", subtitle=data_label,
                  sections=sections)  # fmt: skip


def read_report_data(paths: list[str], layout=None) -> tuple[Dataset, str]:
    """The rows a report is about, and their description: a folder in the official layout (its ``test/``
    split), a folder of CSV files, or CSV files."""
    from pathlib import Path

    from .errors import DataError
    from .loading import csv_files_in, display_names, load_split, read_files

    if len(paths) == 1 and Path(paths[0]).is_dir():
        folder = Path(paths[0])
        if (folder / "test").is_dir():
            return load_split(folder, "test", layout=layout), f"{folder}/test"
        files, left_out = csv_files_in(folder)
        if not files:
            raise DataError("no CSV files in this folder" + "".join(f"; {n}" for n in left_out), file=str(folder),
                            hint="pass a folder holding test/*.csv, a folder of CSV files, or CSV files")  # fmt: skip
        data = read_files(files, layout=layout)
        data.notes.extend(left_out)
        return data, str(folder)
    return read_files(paths, layout=layout), ", ".join(display_names(paths))


# ---------------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em}.sub{color:#555;margin-top:0}h2{border-bottom:2px solid #eee;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
th{background:#f4f6f8}td.num{text-align:right}.foot{color:#777;font-size:.85em;margin-top:3em}
"""


def render_html(report: Report) -> str:
    """One self-contained HTML page: plotly.js inlined once, no external resource."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(report.title)}</title>", f"<style>{_CSS}</style>",
             f'<script type="text/javascript">{get_plotlyjs()}</script>', "</head><body>",
             f"<h1>{e(report.title)}</h1>", f'<p class="sub">{e(report.subtitle)} &middot; generated '
             f"{e(report.generated_at)}</p>"]  # fmt: skip
    for i, sec in enumerate(report.sections):
        parts.append(f"<section><h2>{e(sec.title)}</h2>")
        parts.extend(f"<p>{e(p)}</p>" for p in sec.paragraphs)
        if sec.bullets:
            parts.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in sec.bullets) + "</ul>")
        if sec.figure is not None:
            parts.append(pio.to_html(sec.figure, full_html=False, include_plotlyjs=False, div_id=f"chart-{i}",
                                     config={"displaylogo": False, "responsive": True}))  # fmt: skip
        if sec.table is not None and len(sec.table):
            parts.append(_html_table(sec.table))
        parts.append("</section>")
    parts.append(f'<p class="foot">IoMT attack detection on CICIoMT2024. {e(report.generated_at)}. This file needs '
                 "no internet connection; charts are interactive (hover, zoom, click a legend entry).</p>")  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(frame: pd.DataFrame) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, (int, np.integer)):
                cells.append(f'<td class="num">{int(v):,}</td>')
            elif isinstance(v, (float, np.floating)):
                cells.append(f'<td class="num">{"" if np.isnan(v) else f"{float(v):g}"}</td>')
            else:
                cells.append(f"<td>{e('' if v is None else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ---------------------------------------------------------------------------------- PDF

_PAGE = (8.27, 11.69)  # A4, inches
_MARGIN = 0.6
_LINE = 0.19  # inches per line of 9-pt text


def _bars_drawer(labels: list[str], values: np.ndarray, xlabel: str, colors=None, xlim=None) -> Callable:
    def draw(ax):
        y = np.arange(len(labels))
        ax.barh(y, values, color=colors or "#4c78a8")
        # wrapped, not shortened: shorten() drew a name of over 40 characters with no space (a model's) as '[...]'
        ax.set_yticks(y, ["\n".join(textwrap.wrap(str(s), 40)) or str(s) for s in labels], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        if xlim:
            ax.set_xlim(*xlim)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)

    return draw


def _confusion_drawer(labels: list[str], cm: np.ndarray) -> Callable:
    def draw(ax):
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
        ticks = np.arange(len(labels))
        size = 7 if len(labels) <= 8 else 5
        ax.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=size)
        ax.set_yticks(ticks, labels, fontsize=size)
        ax.set_xlabel("predicted class", fontsize=8)
        ax.set_ylabel("true class", fontsize=8)
        if len(labels) <= 12:
            for i in range(len(labels)):
                for j in range(len(labels)):
                    if cm[i, j]:
                        ax.text(j, i, f"{cm[i, j]:,}", ha="center", va="center", fontsize=size,
                                color="white" if share[i, j] > 0.6 else "#222")  # fmt: skip

    return draw


class _PdfWriter:
    """Lays text, tables and charts down A4 pages, top to bottom."""

    def __init__(self, pdf):
        self.pdf = pdf
        self.fig = None
        self.y = 0.0  # inches from the top

    def _new_page(self):
        from matplotlib.figure import Figure  # not pyplot: no global state, safe in the dashboard's threads

        self.flush()
        self.fig = Figure(figsize=_PAGE)
        self.y = _MARGIN

    def flush(self):
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    def _room(self, height: float):
        if self.fig is None or self.y + height > _PAGE[1] - _MARGIN:
            self._new_page()

    def text(self, text: str, size: float = 9, weight: str = "normal", width: int = 105, indent: float = 0.0,
             family: str = "sans-serif") -> None:  # fmt: skip
        lines = textwrap.wrap(text, width=width) or [""]
        step = _LINE * size / 9
        for line in lines:
            self._room(step)
            self.fig.text((_MARGIN + indent) / _PAGE[0], 1 - (self.y + step * 0.8) / _PAGE[1], line, fontsize=size,
                          weight=weight, family=family, va="baseline")  # fmt: skip
            self.y += step
        self.y += step * 0.3

    def table(self, frame: pd.DataFrame, max_rows: int = 40) -> None:
        shown = frame.head(max_rows).copy()
        for c in shown.columns:
            shown[c] = [_cell(v) for v in shown[c]]
        widths = [min(max(len(str(c)), *(len(v) for v in shown[c])) if len(shown) else len(str(c)), 48)
                  for c in shown.columns]  # fmt: skip

        def wide(cols) -> int:
            return sum(widths[i] for i in cols) + 2 * (len(cols) - 1)

        if wide(range(len(widths))) > _TABLE_CHARS:  # shrink the widest column (the meanings) to fit the page, but
            widest = int(np.argmax(widths))  # not below its heading (a model's name heads its column)
            floor = min(widths[widest], max(len(str(shown.columns[widest])), 12))
            widths[widest] = max(widths[widest] - (wide(range(len(widths))) - _TABLE_CHARS), floor)
        # Columns that still do not fit (one per model, say) go into further blocks below, each led by the first
        # column: a row longer than the page was cut off at its edge, losing the last models.
        groups: list[list[int]] = [[0]]
        for i in range(1, len(widths)):
            if len(groups[-1]) > 1 and wide([*groups[-1], i]) > _TABLE_CHARS:
                groups.append([0])
            groups[-1].append(i)

        def row(cells, cols):
            return "  ".join(_clip(str(cells[i]), widths[i]).ljust(widths[i]) for i in cols)

        for k, cols in enumerate(groups):
            if k:
                self.y += _LINE * 0.5
            self.text(row(list(shown.columns), cols), size=7.5, weight="bold", width=200, family="monospace")
            self.y -= _LINE * 0.3
            for rec in shown.itertuples(index=False):
                self.text(row(rec, cols), size=7.5, width=200, family="monospace")
                self.y -= _LINE * 0.3 * 7.5 / 9
        if len(frame) > max_rows:
            self.text(f"... and {len(frame) - max_rows} more rows (see the HTML report)", size=7.5)

    def chart(self, draw: Callable, height: float) -> None:
        height = min(height, _PAGE[1] - 2 * _MARGIN)
        self._room(height)
        left = 2.2 / _PAGE[0]
        bottom = 1 - (self.y + height - 0.45) / _PAGE[1]
        ax = self.fig.add_axes((left, bottom, 1 - left - _MARGIN / _PAGE[0], (height - 0.6) / _PAGE[1]))
        draw(ax)
        self.y += height + 0.1


#: Characters of 7.5-point monospace text across an A4 page within its margins.
_TABLE_CHARS = 110


def _clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: cut at a word where it has words, else (a name) in its middle,
    keeping both ends (textwrap.shorten made a single word too long into '…' alone)."""
    if len(text) <= width:
        return text
    if " " in text.strip():
        short = textwrap.shorten(text, width, placeholder="…")
        if short != "…":
            return short
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _cell(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes (matplotlib, A4): text, tables and static charts of the same numbers."""
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": report.title, "Creator": "IoMT attack detection"}) as pdf:
        w = _PdfWriter(pdf)
        w.text(report.title, size=16, weight="bold", width=60)
        w.text(f"{report.subtitle} - generated {report.generated_at}", size=9, width=110)
        for sec in report.sections:
            w.y += 0.1
            # Keep a heading with its text and chart when they fit on one page, else at least with some text.
            lines = sum(len(p) // 100 + 1 for p in sec.paragraphs + sec.bullets)
            need = 0.5 + _LINE * 1.3 * lines + (sec.chart_height if sec.draw is not None else 0.0)
            w._room(need if need < _PAGE[1] - 2 * _MARGIN else 1.2)
            w.text(sec.title, size=12, weight="bold", width=80)
            for p in sec.paragraphs:
                w.text(p)
            for b in sec.bullets:
                w.text("- " + b, width=100)
            if sec.draw is not None:
                w.chart(sec.draw, sec.chart_height)
            if sec.table is not None and len(sec.table):
                w.table(sec.table)
        w.flush()
    return buf.getvalue()
