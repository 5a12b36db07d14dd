"""Display pieces shared by the pages: an evaluation report, saved-model labels and tables.

The ``show_*`` functions draw with Streamlit; the other functions are small and pure (plain
data in, plain data out) so that pages and tests can use them without a browser. Every
widget key a function creates starts with the ``key_prefix`` it is given.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from core.evaluation import WARNING, EvaluationReport
from core.figures import confusion_figure, per_class_metrics_figure, per_class_table, prediction_error_figure
from core.glossary import ACCURACY_NOTE, MACRO_F1_HELP, WEIGHTED_F1_HELP
from core.models import FAMILIES
from core.pipeline import COARSER_NOTE, scored_at, scored_classes, test_set_of
from core.preprocess import repair_rule
from core.report import absent_classes_sentence
from core.schema import LAYOUTS
from core.taxonomy import BENIGN, TASK_CHOICES, TASK_DESCRIPTIONS, TASKS
from core.threshold import saved_since_training, threshold_text
from core.words import counted, listed, share_text, size_text, was_were
from dashboard.escape import md

__all__ = [
    "ACCURACY_NOTE",
    "CAVEAT",
    "HALF_WIDTH",
    "link_to_page",
    "metric_row",
    "model_label",
    "model_scores",
    "models_frame",
    "predicted_absent_sentences",
    "show_headline",
    "show_models_table",
    "show_note",
    "show_report",
    "show_uploaded_names",
    "side_by_side",
    "task_box",
    "top_confusions",
    "uploaded_names",
]

# ACCURACY_NOTE (why macro-F1 comes first) is core.glossary's, offered here too for the pages that use it.
#: The known weakness of CICIoMT2024's test split, shown wherever results are.
CAVEAT = (
    "Each non-DoS class of CICIoMT2024 comes from one recording split about 80/20 into train and test, and timing "
    "features partly identify that recording: test scores of those classes are likely optimistic for new traffic."
)
_CM_MODES = ("Counts", "Row %")
#: Folder of the page files (the router, ``dashboard/app.py``, registers each with ``st.Page``).
PAGES_DIR = Path(__file__).resolve().parent / "views"


# ---------------------------------------------------------------------------------- pure helpers


def model_scores(meta: dict) -> tuple[dict | None, str | None]:
    """The stored scores of a saved model: its test metrics, else its validation metrics.

    Returns
    -------
    (metrics, split)
        ``metrics`` is the stored report dict (``macro_f1``, ``weighted_f1``...) and ``split`` is
        ``"test"`` or ``"validation"``; ``(None, None)`` when the model has neither.
    """
    metrics = meta.get("metrics") or {}
    for split in ("test", "validation"):
        if metrics.get(split):
            return metrics[split], split
    return None, None


def model_label(meta: dict) -> str:
    """One line naming a saved model for a select box: name, family, layout and macro-F1."""
    scores, split = model_scores(meta)
    if scores is None:
        score = "not scored"
    else:
        where = ([] if split == "test" else [split]) + ([coarser] if (coarser := _scored_coarser(meta)) else [])
        score = f"macro-F1 {scores['macro_f1']:.3f}" + (f" ({', '.join(where)})" if where else "")
    return f"{meta['name']} · {meta['family']} · {meta['layout']} · {score}"


def _scored_coarser(meta: dict) -> str | None:
    """``at N classes`` where a model's stored scores were taken at a coarser task than its own, else None."""
    task = scored_at(meta)
    return f"at {task} classes" if task else None


def _date(text: str | None) -> str:
    if not text:
        return ""
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(text)


def models_frame(models: list[dict]) -> pd.DataFrame:
    """One row per saved model: what it is, what it learned from, and how good it is.

    Parameters
    ----------
    models : list of dict
        Metadata as returned by :func:`core.pipeline.list_models` (damaged entries left out).

    Returns
    -------
    pd.DataFrame
        Columns ``name, task, family, macro-F1, weighted-F1, scored on, test set, layout, created, data,
        size (MB)``; sorted by task, then the models scored on test data before those scored only on their
        validation rows (a validation figure is not a test figure and must not outrank one), then by the rows
        they were scored on (``test set``: a letter each, the same letter for the same rows; models scored on
        other rows do not rank against each other), then macro-F1 (best first). The set whose best model
        scores highest comes first.
    """
    rows = []
    for m in models:
        scores, split = model_scores(m)
        data = m.get("data") or {}
        rows.append({
            "name": m["name"],
            "task": int(m["task"]),
            "family": m["family"],
            "layout": m["layout"],
            "created": _date(m.get("created_at") or m.get("saved_at")),
            "data": Path(str(data.get("description") or "")).name or "",
            "macro-F1": scores["macro_f1"] if scores else np.nan,
            "weighted-F1": scores["weighted_f1"] if scores else np.nan,
            "scored on": " ".join(filter(None, [split or "not scored", _scored_coarser(m)])),
            "test set": test_set_of(m) or "",
            "size (MB)": round(m.get("size_bytes", 0) / 1e6, 3),
        })  # fmt: skip
    # The scores next to the name: after the dates and data, at 800 pixels they were out of sight to the right.
    columns = ["name", "task", "family", "macro-F1", "weighted-F1", "scored on", "test set", "layout", "created",
               "data", "size (MB)"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    frame["_untested"] = ~frame["scored on"].str.startswith("test")
    frame["_set_best"] = frame.groupby(["task", "test set"])["macro-F1"].transform("max")
    order = frame.sort_values(["task", "_untested", "_set_best", "test set", "macro-F1"],
                              ascending=[True, True, False, True, False], kind="mergesort")  # fmt: skip
    letters = {key: _set_letter(i) for i, key in enumerate(dict.fromkeys(k for k in order["test set"] if k))}
    order["test set"] = order["test set"].map(lambda key: letters.get(key, ""))
    return order.drop(columns=["_untested", "_set_best"]).reset_index(drop=True)


def _set_letter(i: int) -> str:
    """A, B, ... Z, then AA, AB, ..."""
    return _set_letter(i // 26 - 1) + chr(65 + i % 26) if i >= 26 else chr(65 + i)


def test_sets_caption(frame: pd.DataFrame) -> str | None:
    """What the ``test set`` column of a :func:`models_frame` table means, when its models were scored on more than
    one set of test rows (None when they all were scored on the same rows)."""
    sets = sorted({s for s in frame["test set"] if s})
    if len(sets) < 2:
        return None
    return (f"These models were scored on {len(sets)} different sets of test rows (column *test set*: the same letter, "
            "the same rows). Compare their scores only within one letter: a model scored on easier rows is not a "
            "better model. The Compare page scores several models on the same rows.")  # fmt: skip


def saved_thresholds_caption(models: list[dict]) -> str | None:
    """Which of ``models`` (metadata dicts) have had an alarm threshold saved since they were trained, whose listed
    scores (measured at training, at the default 0.50) are therefore not what they flag now; None when none has."""
    saved = [(m["name"], m["alarm_threshold"]) for m in models if saved_since_training(m)]
    if not saved:
        return None
    names = listed([f"{md(n)} ({threshold_text(t)})" for n, t in saved])
    it, its = ("it", "its") if len(saved) == 1 else ("they", "their")
    return (f"Scores are measured when a model is trained, at the default alarm threshold 0.50. An alarm threshold "
            f"has been saved since for {names}: {it} now flag{'s' if it == 'it' else ''} flows at {its} threshold, "
            f"so {its} scores listed here are not what {it} do{'es' if it == 'it' else ''} now (the Analyze page "
            "scores with the saved threshold).")  # fmt: skip


def never_saw_benign(subject: str, one: bool = True) -> str:
    """What a model trained without Benign rows (the real v1 sample has none) does, said of ``subject`` (one model, or
    several with ``one`` False): where it is used (Analyze) and beside its scores (Overview, Models)."""
    return f"{subject} never saw **Benign** traffic, so {'it calls' if one else 'they call'} every flow an attack."


def partial_scores_caption(models: list[dict]) -> str | None:
    """Which of ``models`` (metadata dicts) were scored on only some of their task's classes (the real v1 sample has
    8 of the 19), and which of them never saw Benign traffic; None when every model was scored on every class. Their
    macro-F1 stood beside the published results and other models' scores without a word."""
    some = [(m, n) for m in models if (n := scored_classes(m))]
    if not some:
        return None
    names = listed([f"**{md(m['name'])}** ({n[0]} of {n[1]})" for m, n in some])
    one = len(some) == 1
    text = (f"Scored on only some of the task's classes: {names}. {'Its' if one else 'Their'} test rows held no "
            f"other class, so {'its' if one else 'their'} macro-F1 is the average over the classes tested alone and "
            "says nothing of the rest: compare it only with scores on the same classes.")  # fmt: skip
    blind = [m["name"] for m, _ in some if BENIGN in ((m.get("data") or {}).get("classes_absent_from_training") or [])]
    if blind:
        text += " " + never_saw_benign(listed(["**" + md(n) + "**" for n in blind]), one=len(blind) == 1)
    return text


def ranking_key(meta: dict) -> tuple[bool, float]:
    """Sort key of saved models, best first: test-scored models by macro-F1, then validation-only ones, then
    models without scores (the order of :func:`models_frame`)."""
    scores, split = model_scores(meta)
    return split != "test", -(scores["macro_f1"] if scores else -1.0)


def predicted_absent_sentences(report: EvaluationReport) -> list[str]:
    """In words, the classes the model predicted that have no row in the data. Benign among them is said apart:
    rows called Benign where no row is benign are attacks the model missed, not false alarms."""
    labels = list(report.labels)
    cm = np.asarray(report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    extra = [c for c in labels if report.per_class[c]["support"] == 0]
    out = []
    if BENIGN in extra:
        n = int(cm[:, labels.index(BENIGN)].sum())
        out.append(f"No row of this data is benign, yet the model called {counted(n, 'row')} Benign: "
                   f"{'it is an attack' if n == 1 else 'they are attacks'} it missed.")  # fmt: skip
    attacks = [c for c in extra if c != BENIGN]
    if attacks:
        out.append(f"The model also predicted {listed(attacks)}, which {'does' if len(attacks) == 1 else 'do'} not "
                   "occur in this data: those rows are false alarms (or attacks of another kind) and lower the recall "
                   "of the classes they were taken from.")  # fmt: skip
    return out


def top_confusions(report: EvaluationReport, n: int = 5) -> list[tuple[str, str, int, float]]:
    """The ``n`` most frequent mistakes: ``(true class, predicted class, rows, share of the true class)``."""
    labels = list(report.labels)
    cm = np.asarray(report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    support = cm.sum(axis=1)
    order = np.argsort(-off, axis=None, kind="stable")[:n]
    out = []
    for flat in order:
        i, j = divmod(int(flat), len(labels))
        if off[i, j] == 0:
            break
        out.append((labels[i], labels[j], int(off[i, j]), float(off[i, j] / support[i])))
    return out


# ---------------------------------------------------------------------------------- Streamlit


#: Uploaded files named under an uploader: more are counted, not named (a folder of 72 files made a wall of text).
NAMED_UPLOADS = 12


def uploaded_names(uploads) -> str | None:
    """The uploaded files' whole names as one Markdown line, or None for none: Streamlit's uploader cuts a name in
    its middle to fit its chip ("MQTT-DD…t.pcap.csv" at 800 pixels), and offers no way to show it whole."""
    if not uploads:
        return None
    names = upload_names(uploads, sizes=True)
    if len(uploads) > NAMED_UPLOADS:
        names[-1] = f"and {names[-1]}"
    return f"{counted(len(uploads), 'file')} uploaded: " + ", ".join(names)


def upload_names(uploads, sizes: bool = False) -> list[str]:
    """The first :data:`NAMED_UPLOADS` uploads' whole names (Markdown-safe; with their sizes in the uploader's units),
    then how many more there are ("3 more files")."""
    names = [md(u.name) + (f" ({size_text(u.size)})" if sizes else "") for u in uploads[:NAMED_UPLOADS]]
    if len(uploads) > NAMED_UPLOADS:
        names.append(counted(len(uploads) - NAMED_UPLOADS, "more file"))
    return names


def show_uploaded_names(uploads) -> None:
    """Name the uploaded files in full under their uploader (:func:`uploaded_names`)."""
    if text := uploaded_names(uploads):
        st.caption(text)


def link_to_page(page: str, label: str, icon: str | None = None) -> None:
    """A link to another page of the app, by its file name in :data:`PAGES_DIR` (e.g. ``"train.py"``).

    Falls back to plain text when the page runs on its own, outside the app's navigation.
    """
    try:
        st.page_link(PAGES_DIR / page, label=label, icon=icon)
    except Exception:  # StreamlitPageNotFoundError and the like: no navigation registered
        st.markdown(f"→ the **{label}** page")


#: What the models table's *family* column means, each family in words (its description in :mod:`core.models`).
FAMILY_HELP = "The kind of model, how it learns: " + "; ".join(f"{f}: {c.description}" for f, c in FAMILIES.items())
#: What the models table's *layout* column means: a model scores only files with the columns it was trained on.
LAYOUT_HELP = ("The columns the model reads, from one release of the CICIoMT2024 dataset; it scores only files with "
               "those columns. " + "; ".join(f"{n}: {layout.description}" for n, layout in LAYOUTS.items()))  # fmt: skip


def family_words(family: str) -> str:
    """A model family in a few words ('Random forest' for rf), or its name where this version does not know it."""
    return FAMILIES[family].description.split(" (")[0] if family in FAMILIES else family


def layout_words(meta: dict) -> str:
    """A model's layout in words, e.g. 'v2, the columns of the CICIoMT2024 later release (39 features)'."""
    layout, n = meta["layout"], len(meta.get("features") or ())
    release = LAYOUTS[layout].description.split(",")[0] if layout in LAYOUTS else "dataset"
    return f"{md(layout)}, the columns of the {release} ({n} features)"


#: Pixels for a table's columns at 800 pixels with the sidebar open, the narrowest window a page must read whole at:
#: the table is 468 pixels wide there, its borders included (a few pixels spare: the last column's edge in sight).
TABLE_ROOM = 460
#: Pixels a letter of a name takes in a table (Source Sans at 14 pixels: 6.1 to 6.7 for the dataset's file names and
#: model names), and a cell's padding, both sides.
LETTER_PX, CELL_PADDING = 6.7, 16
#: The narrowest a column of names is made, whatever else the table must show.
NAME_MIN = 120


def name_column(label: str, names, beside: int = 0) -> dict:
    """A table's column of names, pinned (in sight as the table scrolls sideways) and as wide as the longest of
    ``names``, but no wider than leaves ``beside`` pixels in sight next to it at 800 pixels with the sidebar open
    (:data:`TABLE_ROOM`): the columns a reader needs there, each given a fixed width by its table. A longer name is
    cut at the column's edge, and the column's help says how to read it whole.

    One rule for every table of names: at 200 pixels for any name, a model's name of 36 letters was cut and left
    weighted-F1 out of sight beside it, and the batch files table's last columns needed sideways scrolling."""
    longest = max((len(str(n)) for n in names), default=0)
    room = max(NAME_MIN, TABLE_ROOM - beside)
    width = min(room, round(LETTER_PX * longest) + CELL_PADDING)
    help_ = None
    if width < round(LETTER_PX * longest) + CELL_PADDING:
        letters = int((width - CELL_PADDING) / LETTER_PX)
        help_ = (f"A {label} longer than about {letters} letters is cut here, to keep the columns beside it in sight "
                 f"on a narrow window: double-click it to read it whole.")  # fmt: skip
    return st.column_config.TextColumn(label, width=width, pinned=True, help=help_)


def show_models_table(frame: pd.DataFrame, key: str) -> None:
    """A :func:`models_frame` table: scores with three decimals; the 'scored on' column only when some
    model has no test scores (then its scores are validation scores, and the table says so); the 'test set'
    column, and what it means, only when the models were scored on different rows."""
    # Fixed widths, each its heading's: at 800 pixels (sidebar open) the name, task, family and both scores are in
    # sight without scrolling sideways; the name's column takes what they leave (:func:`name_column`), and a longer
    # name is cut there (double-clicked, it shows whole; the Models page's card names it whole). Sized to its heading, family read "paper-c".
    widths = {"task": 40, "family": 90, "macro-F1": 72, "weighted-F1": 90}
    config = {c: st.column_config.NumberColumn(c, format="%.3f", width=widths[c]) for c in ("macro-F1", "weighted-F1")}
    config["name"] = name_column("name", frame["name"], beside=sum(w for c, w in widths.items() if c in frame))
    config["task"] = st.column_config.NumberColumn("task", width=widths["task"])
    config["family"] = st.column_config.TextColumn("family", width=widths["family"], help=FAMILY_HELP)
    config["layout"] = st.column_config.TextColumn("layout", help=LAYOUT_HELP)
    config["size (MB)"] = st.column_config.NumberColumn("MB", format="%.2f", help="Size on disk")
    config["created"] = st.column_config.Column("created", help="When the model was trained (UTC)")
    config["test set"] = st.column_config.Column("test set", help="The rows the scores were measured on: the same "
                                                 "letter, the same rows. Scores rank only within one letter.")  # fmt: skip
    caption = test_sets_caption(frame)
    shown = {"scored on": (frame["scored on"] != "test").any(), "test set": caption is not None}
    order = [c for c in frame.columns if shown.get(c, True)]
    st.dataframe(frame, hide_index=True, key=key, column_config=config, column_order=order)
    if caption:
        st.caption(caption)


def metric_row():
    """A row of metric cards that wraps onto further lines where the page is narrow. In ``st.columns`` each card kept
    its share of the width however narrow: at 800 pixels with the sidebar open, four cards showed "Macro…" and
    "0.…" instead of the label and the score."""
    return st.container(horizontal=True, gap="small")


#: Width in pixels of a half of a :func:`side_by_side` row: two fit side by side on a page 1,400 pixels wide with the
#: sidebar open (about 940 pixels for the page's content), even beside a scroll bar.
HALF_WIDTH = 440


def side_by_side():
    """A row for two halves, each a ``container(width=HALF_WIDTH)``, that go one under the other where the page is
    narrow. In ``st.columns(2)`` at 800 pixels with the sidebar open each half was 226 pixels wide: a chart's class
    names ran into each other, its axis title was cut off, and a select box cut its choice off."""
    return metric_row()  # the same row that wraps, holding halves instead of cards


def growing_halves(*keys: str) -> list:
    """Containers of a :func:`side_by_side` row, one per key, at least :data:`HALF_WIDTH` wide, that grow to share a
    wide page (fixed at 440 pixels, two charts left 580 of a 1,920-pixel screen's 1,460 empty) and go one under
    the other, each the page's width, where it is narrow. Streamlit gives a container a fixed width or a share of the
    row that never wraps, so the row's wrappers are given ``flex: 1 1 440px`` by a style of the containers' keys."""
    row = side_by_side()
    wrappers = ", ".join(f'[data-testid="stLayoutWrapper"]:has(> .st-key-{k})' for k in keys)
    st.html(f"<style>{wrappers} {{flex: 1 1 {HALF_WIDTH}px !important; width: auto !important}} "
            f"{', '.join(f'.st-key-{k}' for k in keys)} {{width: 100% !important}}</style>")  # fmt: skip
    return [row.container(width=HALF_WIDTH, key=k) for k in keys]


def task_box(key: str, task: int = 6, **kwargs) -> int:
    """The task select box of the Analyze, Compare and Train pages, on ``task``: short names that fit a narrow box
    (:data:`core.taxonomy.TASK_CHOICES`; the long ones were cut off), the full descriptions in its help."""
    return st.selectbox("Task", TASKS, index=TASKS.index(task), key=key, format_func=TASK_CHOICES.get,
                        help="\n\n".join(TASK_DESCRIPTIONS.values()), **kwargs)  # fmt: skip


def show_headline(report: EvaluationReport) -> None:
    """Macro-F1 first, then weighted-F1, accuracy and the rows evaluated (known true class), as four metrics."""
    row = metric_row()
    row.metric("Macro-F1", f"{report.macro_f1:.3f}", border=True, help=MACRO_F1_HELP)
    row.metric("Weighted-F1", f"{report.weighted_f1:.3f}", border=True, help=WEIGHTED_F1_HELP)
    row.metric("Accuracy", f"{report.accuracy:.3f}", border=True, help=ACCURACY_NOTE)
    classes = counted(len(report.scored_labels), "class", "classes")
    row.metric("Rows evaluated", f"{report.n_rows:,}", border=True,
               help=f"Rows with a known true class, over {classes}.")  # fmt: skip


def show_note(note: str, *, label: str = "") -> None:
    """One note of a report: a warning about the model (it starts with :data:`core.evaluation.WARNING`, e.g. its
    boosting diverged) as a warning box, that it was scored at a coarser task than its own as an info box, any
    other as a caption after ``label``; all shown as plain text."""
    if note.startswith(WARNING):
        st.warning(md(note.removeprefix(WARNING)), icon=":material/warning:")
    elif note.startswith(COARSER_NOTE):  # the scores are not at the model's task: not a detail to miss
        st.info(md(note[0].upper() + note[1:]) + ".", icon=":material/info:")
    else:
        st.caption(label + md(note))


#: A report's note of repaired cells (:meth:`core.preprocess.RepairCounts.summary`: '193 cells repaired (inf in
#: Rate: 193)'), which :data:`REPAIR_WORDS` follows.
_REPAIR_NOTE = re.compile(r"\bcells? repaired \(")
#: The repair in plain words, for someone who does not know what inf and NaN are.
REPAIR_WORDS = (f"A cell is one value of one row. An infinite value (inf, written for instance for a rate over a time "
                f"of zero) or a missing one (NaN) is no number a model can use, so each such cell was replaced before "
                f"scoring, feature by feature, by a value of the rows the model was trained on: {repair_rule()}. No "
                "row was left out.")  # fmt: skip


def show_report(report: EvaluationReport, key_prefix: str, *, caveat: bool = True, notes: bool = True) -> None:
    """Everything about one evaluation: headline metrics, absent classes, confusion matrix,
    per-class table and chart, and where the errors go.

    Parameters
    ----------
    report : EvaluationReport
    key_prefix : str
        Prefix of every widget and chart key (e.g. ``"analyze"`` gives ``analyze_cm_mode``,
        ``analyze_confusion``, ``analyze_per_class``, ``analyze_errors``); use distinct prefixes
        to show several reports on one page.
    caveat : bool
        Add the note on CICIoMT2024's optimistic test split.
    notes : bool
        Show the report's notes (cells repaired, unlabelled rows left out...); a page that already
        says the same in its own words passes False.
    """
    show_headline(report)
    st.caption(ACCURACY_NOTE)
    absent = absent_classes_sentence(report)
    if absent:
        st.info(absent, icon=":material/info:")
    for sentence_ in predicted_absent_sentences(report):
        st.info(sentence_, icon=":material/info:")
    if report.duplicates_removed:
        st.info(f"{report.duplicates_removed:,} test rows that also occur in the training data were left out.")
    for note in report.notes if notes else ():
        if _REPAIR_NOTE.search(note) and not note.startswith((WARNING, COARSER_NOTE)):  # the counts, then in words
            st.caption(f"Note: {md(note)}. {REPAIR_WORDS}")
        else:
            show_note(note, label="Note: ")
    cm_tab, class_tab, error_tab = st.tabs(["Confusion matrix", "Per class", "Where the errors go"])
    with cm_tab:
        mode = st.segmented_control("Show", _CM_MODES, default=_CM_MODES[0], required=True,
                                    key=f"{key_prefix}_cm_mode",
                                    help="Counts: rows in each cell. Row %: share of each true class, so small "
                                    "classes are as visible as large ones.")  # fmt: skip
        normalize = "true" if mode == _CM_MODES[1] else None
        st.plotly_chart(confusion_figure(report, normalize=normalize), key=f"{key_prefix}_confusion")
        st.caption("Rows are the true classes, columns what the model said. A cell where the row's and the "
                   "column's class are the same counts correct predictions; every other cell is a mistake.")  # fmt: skip
    with class_tab:
        table = per_class_table(report)
        # The class pinned and wide enough for its name: at 800 pixels the table's five equal columns read
        # "MQTT-DDoS-Pul"; now the scores scroll sideways beside the names instead.
        st.dataframe(table, hide_index=True, key=f"{key_prefix}_per_class_table",
                     column_config={"class": st.column_config.TextColumn("class", width="medium", pinned=True),
                                    **{c: st.column_config.NumberColumn(c, format="%.3f") for c in
                                       ("precision", "recall", "f1")}})  # fmt: skip
        st.caption("Worst-detected classes first. Precision: of the rows flagged as this class, the share that "
                   "were. Recall: of this class's rows, the share found.")  # fmt: skip
        st.plotly_chart(per_class_metrics_figure(report), key=f"{key_prefix}_per_class")
    with error_tab:
        mistakes = top_confusions(report)
        if mistakes:
            st.markdown("**Most frequent mistakes**\n\n" + "\n".join(
                f"- {counted(n, t + ' row')} ({share_text(share)} of them) {was_were(n)} taken for "
                f"**{p}**" for t, p, n, share in mistakes))  # fmt: skip
        else:
            st.success("No mistakes: every row was given its true class.")
        st.plotly_chart(prediction_error_figure(report), key=f"{key_prefix}_errors")
    if caveat:
        st.caption(CAVEAT)
