"""Batch results: a ``python -m core score-many`` output folder, summary and per-file charts.

Reads ``summary.json`` and statistics of the Parquet predictions gathered batch by batch
(:func:`core.distributed.prediction_statistics`): the predictions are never loaded whole.
"""

from __future__ import annotations

import os
import time
from itertools import pairwise
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from core import threshold as th
from core.distributed import (
    FILE_HEADINGS,
    PREDICTIONS_DIR,
    SUMMARY_FILE,
    failure_parts,
    prediction_statistics,
    read_summary,
    staging_folders,
    summary_notes,
    workers_text,
)
from core.errors import CoreError
from core.figures import class_color
from core.glossary import CONFIDENCE_SHORT, CONFIDENCE_WORDS
from core.paths import confine, roots_text
from core.preprocess import IMPLAUSIBLE_TEXT, RepairCounts, repair_rule
from core.taxonomy import BENIGN
from core.words import counted, probability_text, time_text
from dashboard import components, loaders
from dashboard.escape import md

KEY_PATH = "batch_path"


def result_folder(text: str) -> Path:
    """The result folder a typed path names (the one place that decides which paths are allowed)."""
    text = (text or "").strip().strip('"')
    if not text:
        raise CoreError("no folder given", hint="type the --out folder of a score-many run")
    folder = confine(text)  # only under the configured data roots; '..' and links out are refused
    if not folder.is_dir():
        raise CoreError(f"{folder} is not a folder", hint="type the --out folder of a score-many run")
    return folder


def _stamp(folder: Path) -> float:
    summary = folder / SUMMARY_FILE
    return summary.stat().st_mtime if summary.exists() else 0.0


def _parts_stamp(folder: Path) -> tuple:
    """What identifies the Parquet files now in ``folder`` (name, size, time of each): the statistics are read again
    when a part is deleted, added or rewritten after the run, not only when the summary changes."""
    parts = []
    root = folder / PREDICTIONS_DIR
    try:
        if root.is_dir():
            for sub in sorted(os.scandir(root), key=lambda e: e.name):
                if sub.is_dir():
                    for part in sorted(os.scandir(sub.path), key=lambda e: e.name):
                        info = part.stat()
                        parts.append((sub.name, part.name, info.st_size, info.st_mtime_ns))
    except OSError:  # changing as it is listed: nothing cached matches
        return (("changing", time.time_ns()),)
    return tuple(parts)


@st.cache_data(show_spinner=False, max_entries=8)
def _summary(folder: str, stamp: float) -> dict:
    return read_summary(folder)


@st.cache_data(show_spinner="Reading prediction statistics…", max_entries=8)
def _statistics(folder: str, stamp: tuple) -> dict:
    try:
        return prediction_statistics(folder)
    except (OSError, pa.ArrowException) as exc:  # a part half-written, damaged or deleted while it was read
        raise CoreError(
            f"the predictions in {Path(folder) / PREDICTIONS_DIR} cannot be read: {str(exc).splitlines()[0]}",
            hint="the folder is damaged or was being written: run score-many again",
        ) from None


def render() -> None:
    st.title("Batch results")
    st.caption(
        "The output folder of `python -m core score-many --out DIR` (Parquet predictions partitioned by "
        "file, and summary.json). Charts come from the summary and from statistics read from the Parquet "
        "files in batches."
    )
    text = st.text_input(
        "Result folder",
        key=KEY_PATH,
        placeholder="data/results/2026-11",
        help="A folder under the data folders this dashboard may read: " + roots_text(),
    )
    if not text:
        st.info(
            "Type the folder a score-many run wrote to, e.g. after `python -m core score-many --model models/NAME "
            "data/demo/test --out data/results/demo`.",
            icon=":material/lightbulb:",
        )
        return
    try:
        folder = result_folder(text)
        writing = run_in_progress_text(folder)
        if writing and not (folder / SUMMARY_FILE).exists():  # a first run: nothing to show yet, and no error
            st.info(writing, icon=":material/hourglass_top:")
            return
        summary = _summary(str(folder), _stamp(folder))
        stats = _statistics(str(folder), (_stamp(folder), _parts_stamp(folder)))
    except CoreError as exc:
        loaders.show_error(exc)
        return
    if writing:  # --overwrite: these are the earlier results until the new ones move in
        st.info(writing, icon=":material/hourglass_top:")
    model = summary["model"]
    st.markdown(
        f"**Model:** {md(model['name'])} ({model['task']} classes, {md(model['family'])}, "
        f"{md(model['layout'])}) · **Scored:** {md(time_text(summary.get('started_at'), missing='?'))} on "
        f"{workers_text(summary.get('workers'))} in {summary.get('seconds', 0):.1f} s"
    )
    row = components.metric_row()
    row.metric("Rows", f"{summary['rows']:,}", border=True)
    row.metric("Files scored", f"{summary['files_scored']:,}", border=True)
    row.metric("Files failed", f"{summary['files_failed']:,}", border=True)
    share = summary["attack_share"]
    row.metric("Attack share", "–" if share is None else f"{100 * share:.1f}%", border=True,
               help=_attack_help(summary.get("alarm_threshold")))  # fmt: skip
    row.metric(
        "Low-confidence rows",
        f"{summary['low_confidence']:,}",
        border=True,
        help=f"{CONFIDENCE_WORDS} Rows whose confidence is below {low_text(summary)} are counted as "
        "low-confidence: worth a look by hand.",
    )
    row.metric("Repaired cells", f"{summary['repaired_cells']['total']:,}", border=True)
    if summary["repaired_cells"]["total"]:  # which columns, and cells of 3e38 taken as inf, as the command says
        st.info(repairs_text(summary["repaired_cells"]), icon=":material/build:")
    for note in summary_notes(summary):  # what reading left out or could not know, as the command prints it
        st.caption(md(note))
    if summary["failed"]:
        st.error(failed_text(summary["failed"]), icon=":material/error:")
    if not summary["files"]:
        return
    table = files_table(summary, stats)
    if (table["rows on disk"] != table["rows"]).any() or set(stats["rows_on_disk"]) - set(table["file"]):
        st.warning("The Parquet files do not hold the rows the summary counts: the folder changed after the run.")
    shown = files_table_columns(table)
    st.dataframe(table, key="batch_files", hide_index=True, column_order=shown,
                 column_config=files_table_config(summary, shown))  # fmt: skip
    if len(summary["files"]) > MAX_FILES_CHARTED:
        st.caption(charted_caption(len(summary["files"])))
    st.plotly_chart(classes_by_file_figure(summary), key="batch_classes")
    files = ["All files"] + [f["file"] for f in summary["files"]]
    chosen = st.selectbox("Confidence of", files, key="batch_confidence_file")
    st.plotly_chart(confidence_figure(stats, None if chosen == files[0] else chosen, files[1:]), key="batch_confidence")


def run_in_progress_text(folder: Path) -> str | None:
    """What the page says of the score-many runs writing into ``folder`` now (their hidden staging folders), or
    None: a first run's folder has no summary yet, and was called "not a score-many result folder: run score-many
    first" while that very run was scoring."""
    running, stopped = [], []
    for staging in staging_folders(folder):
        try:
            begun = sum(1 for p in (staging.path / PREDICTIONS_DIR).iterdir() if p.is_dir())
            started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(staging.path.stat().st_mtime))
        except OSError:  # moved in or removed as it was looked at
            continue
        (stopped if staging.abandoned else running).append((started, begun, staging.host))
    if running:
        started, begun, host = running[0]
        new = (
            "its results appear here"
            if not (folder / SUMMARY_FILE).exists()
            else "its results replace those shown below"
        )
        return (f"A score-many run is writing into {md(str(folder))} now (started {started} on {md(host)}, "
                f"{counted(begun, 'file')} begun so far): {new} when it has finished. Reload the page then.")  # fmt: skip
    if stopped and not (folder / SUMMARY_FILE).exists():
        started, begun, _ = stopped[0]
        return (f"A score-many run began writing into {md(str(folder))} at {started} but was stopped before it "
                f"finished ({counted(begun, 'file')} begun): it left no results. Run score-many again with this "
                "--out folder (it removes what the stopped run left).")  # fmt: skip
    return None


#: The most files the chart of predicted classes draws (28 pixels each): the bars of 1,500 files made a chart 42,000
#: pixels tall, with the confidence chart under it out of reach.
MAX_FILES_CHARTED = 40


def charted_files(files: list[dict]) -> list[dict]:
    """The files the chart draws: all, or the :data:`MAX_FILES_CHARTED` with the most rows predicted as attacks
    (then the most rows), in the summary's order."""
    if len(files) <= MAX_FILES_CHARTED:
        return files

    def attack_rows(f):
        return f["rows"] - f["predicted"].get(BENIGN, 0)

    ranked = sorted(range(len(files)), key=lambda i: (-attack_rows(files[i]), -files[i]["rows"], i))
    return [files[i] for i in sorted(ranked[:MAX_FILES_CHARTED])]


def charted_caption(n_files: int) -> str:
    return (f"The chart draws the {MAX_FILES_CHARTED} files with the most rows predicted as attacks, of "
            f"{counted(n_files, 'file')}: the table above lists every file (click a column's name to sort by it).")  # fmt: skip


def repairs_text(repaired: dict) -> str:
    """The summary's repaired cells in words: which columns held what, those beyond the bound, and the rule."""
    return (f"Repaired before scoring: {md(RepairCounts.from_dict(repaired).summary())}. Rule, fitted on the model's "
            f"training data: {md(repair_rule())}. No row was dropped for it; the table gives each file's count.")  # fmt: skip


#: Failed files listed on the page; the others are counted, and summary.json lists them all.
MAX_FAILED_SHOWN = 20


def failed_text(failed: list[dict]) -> str:
    """The files a run could not score, in one list (not one box each: 300 failed files made 300 boxes), each name
    said once, with what to do."""
    lines = [f"{counted(len(failed), 'file')} could not be scored:"]
    for f in failed[:MAX_FAILED_SHOWN]:
        name, rest = failure_parts(f)
        lines.append(f"- **{md(name)}**{md(rest)}" + (f" — {md(f['hint'])}" if f.get("hint") else ""))
    if len(failed) > MAX_FAILED_SHOWN:
        lines.append(f"- and {counted(len(failed) - MAX_FAILED_SHOWN, 'more file')}: `summary.json` lists them all")
    return "\n".join(lines)


def files_table(summary: dict, stats: dict) -> pd.DataFrame:
    """One row per scored file: attack share, rows, low-confidence, repaired and rows on disk (the attack share first,
    beside the name: at 800 pixels the last columns are reached by scrolling sideways)."""
    return pd.DataFrame(
        {
            "file": [f["file"] for f in summary["files"]],
            "attack %": [
                None if f["attack_share"] is None else round(100 * f["attack_share"], 2) for f in summary["files"]
            ],
            "rows": [f["rows"] for f in summary["files"]],
            "low-confidence": [f["low_confidence"] for f in summary["files"]],
            "repaired cells": [f["repaired_cells"] for f in summary["files"]],
            "rows on disk": [stats["rows_on_disk"].get(f["file"], 0) for f in summary["files"]],
        }
    )


#: Widths of the files table's number columns, each its short heading's (or its largest count's, 1,614,182).
FILES_TABLE_WIDTHS = {"attack %": 68, "rows": 72, "low-confidence": 70, "repaired cells": 68, "rows on disk": 64}
#: The columns shown only where they say something: rows on disk differ from rows only where the folder changed after
#: the run (the page warns then); otherwise a copy of rows, it pushed the table past 800 pixels.
ROWS_ON_DISK = "rows on disk"


def low_text(summary: dict) -> str:
    """The run's low-confidence threshold as the Analyze page's slider and the command line write it ("0.60"; it read
    "0.6" here)."""
    return probability_text(summary["low_confidence_threshold"])


def files_table_columns(table: pd.DataFrame) -> list[str]:
    """The columns of :func:`files_table` shown: rows on disk only where they differ from the rows counted."""
    return [c for c in table.columns if c != ROWS_ON_DISK or (table[ROWS_ON_DISK] != table["rows"]).any()]


def files_table_config(summary: dict, shown: list[str] | None = None) -> dict:
    """The files table's columns: the name pinned (it stays in sight as the table scrolls sideways) and as wide as the
    longest, but leaving the number columns ``shown`` in sight beside it at 800 pixels with the sidebar open
    (:func:`components.name_column`); short headings, each said in full in its help."""
    number = st.column_config.NumberColumn
    widths = FILES_TABLE_WIDTHS
    shown = [c for c in widths if c != ROWS_ON_DISK] if shown is None else shown
    beside = sum(w for c, w in widths.items() if c in shown)
    return {
        "file": components.name_column("file", [f["file"] for f in summary["files"]], beside=beside),
        "attack %": number(FILE_HEADINGS["attack %"], width=widths["attack %"], format="%.2f",
                           help="Share of the file's rows predicted as attacks."),
        "rows": number(FILE_HEADINGS["rows"], width=widths["rows"], format="localized", help="Rows scored, as the summary counts them."),
        "low-confidence": number(FILE_HEADINGS["low-confidence"], width=widths["low-confidence"], format="localized",
                                 help=f"Rows whose confidence is below {low_text(summary)}."),
        "repaired cells": number(FILE_HEADINGS["repaired cells"], width=widths["repaired cells"], format="localized",
                                 help=f"Cells repaired before scoring (inf, NaN or beyond {IMPLAUSIBLE_TEXT}; see above)."),
        ROWS_ON_DISK: number("on disk", width=widths[ROWS_ON_DISK], format="localized",
                             help="Rows in the file's Parquet predictions: the same as rows unless the folder "
                             "changed after the run (shown only then)."),
    }  # fmt: skip


#: Pixels between the x axis's line and the legend (room for its numbers), and Plotly's top and bottom margins.
LEGEND_GAP, _PLOT_MARGINS = 40, 180


def classes_by_file_figure(summary: dict) -> go.Figure:
    """Stacked horizontal bars: rows per predicted class in each file (classes in the model's order).

    The end the files' names share (``_test.pcap.csv``) is said once in the axis title rather than on every bar, and
    the legend lies below the bars: on a phone the names and the legend used to leave the bars a sliver."""
    files = charted_files(summary["files"])
    names = [f["file"] for f in files]
    suffix = shared_ending(names)
    labels = [_plotly_text(n[: len(n) - len(suffix)]) for n in names]
    full = [_plotly_text(n) for n in names]
    fig = go.Figure()
    for cls in summary["model"]["classes"]:
        counts = [f["predicted"].get(cls, 0) for f in files]
        if any(counts):
            fig.add_bar(y=labels, x=counts, name=cls, orientation="h", marker_color=class_color(cls), customdata=full,
                        hovertemplate="%{customdata}<br>" + _plotly_text(cls) + ": %{x:,} rows<extra></extra>")  # fmt: skip
    height = max(360, 160 + 28 * len(names)) + 22 * ((len(fig.data) + 2) // 3)
    fig.update_layout(
        barmode="stack",
        title="Rows per predicted class, in each file"
        if len(files) == len(summary["files"])
        else f"Rows per predicted class, in {len(files)} of {len(summary['files']):,} files",
        yaxis_title=f"file (each name ends in {_plotly_text(suffix)})" if suffix else "file",
        height=height,
        yaxis={"autorange": "reversed", "type": "category", "automargin": True},
        # LEGEND_GAP pixels under the bars whatever their number: a share of the plot's height (0.08) put the legend
        # of 228 files 520 pixels below the last bar, past a blank screenful
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -LEGEND_GAP / (height - _PLOT_MARGINS),
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        },
    )
    if max((f["rows"] for f in files), default=0) < 10:  # files of a few rows: ticks at whole rows, not 0.2, 0.4...
        fig.update_xaxes(dtick=1, tickformat=",d")
    return fig


def shared_ending(names: list[str]) -> str:
    """The end every name shares, from a separator on (``_test.pcap.csv``, never half a word), or ''; '' too where a
    name would be left empty or there is one name only."""
    if len(names) < 2:
        return ""
    ending = os.path.commonprefix([n[::-1] for n in names])[::-1]  # noqa: RUF071 (characters, not path parts)
    cut = min((ending.find(c) for c in "_-. " if c in ending), default=-1)
    ending = ending[cut:] if cut >= 0 else ""
    return ending if ending and all(len(n) > len(ending) for n in names) else ""


def confidence_figure(stats: dict, file: str | None = None, files: list[str] | None = None) -> go.Figure:
    """Histogram of the confidence (:data:`core.glossary.CONFIDENCE_WORDS`), over ``files`` (default: all on disk) or
    one, from the binned statistics."""
    edges = stats["bin_edges"]
    per_file = stats["confidence"]
    if file:
        counts = per_file.get(file, [0] * (len(edges) - 1))
    else:  # ``files``: those of the summary, not others found on disk (the page warns of those)
        chosen = per_file.values() if files is None else [per_file[f] for f in files if f in per_file]
        counts = [sum(c) for c in zip(*chosen)]
    fig = go.Figure(
        go.Bar(
            x=[(a + b) / 2 for a, b in pairwise(edges)],
            y=list(counts),
            width=edges[1] - edges[0],
            marker_color="#4c78a8",
        )
    )
    fig.update_layout(
        title=f"Confidence, {_plotly_text(file or 'all files')}",
        xaxis_title=f"Confidence ({CONFIDENCE_SHORT})",
        yaxis_title="rows",
        bargap=0.05,
    )
    return fig


def _attack_help(threshold: float | None) -> str:
    if threshold is None:
        return "Share of rows predicted as an attack (not Benign)."
    other = "" if threshold == th.DEFAULT_THRESHOLD else f" (not the default {th.threshold_text(th.DEFAULT_THRESHOLD)})"
    return (f"Share of rows predicted as an attack, flagged at the alarm threshold {th.threshold_text(threshold)} "
            f"saved with the model{other}.")  # fmt: skip


def _plotly_text(text: str) -> str:
    """``text`` as Plotly shows it literally: Plotly reads tags such as ``<a href=...>``, ``<b>`` or
    ``<span style=...>`` in labels, titles and hovers, so a hostile file name could draw a link or hide the chart."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


render()
