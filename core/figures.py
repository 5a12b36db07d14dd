"""Pure Plotly figure builders shared by the dashboard and the reports (core.report).

Every function takes plain data (an :class:`~core.evaluation.EvaluationReport`, a list of
:class:`~core.compare.ModelScore`, arrays, dicts) and returns a ``plotly.graph_objects.Figure``.
Nothing here imports Streamlit, reads files or keeps state, so each builder can be tested
on the values it puts in the figure (``fig.data[0].z``, bar heights, colours).

Class names never appear as literals: they come from the report or from :mod:`core.taxonomy`.
Colours are fixed per class (:data:`CLASS_COLORS`): a 19-class label is a shade of its
6-class family's hue, Benign is always the same calm bluish green, and only attacks are red. They stay apart
for the common colour-vision deficiencies too (tests/core/test_colour_access.py measures them).
"""

from __future__ import annotations

import colorsys
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.glossary import CONFIDENCE_SHORT, SPREAD_SCALE
from core.taxonomy import CATEGORY, CLASSES_2, CLASSES_6, CLASSES_19, classes_for_task

if TYPE_CHECKING:
    from core.compare import ModelScore
    from core.evaluation import EvaluationReport

__all__ = [
    "CELL_FONT_MIN",
    "CELL_NOTE",
    "CLASS_COLORS",
    "COMPARISON_METRICS",
    "DENSE_CLASSES",
    "EPOCH_TICKS",
    "LOG_SCALE_RATIO",
    "UNKNOWN_COLOR",
    "class_color",
    "class_counts_figure",
    "comparison_bars",
    "confidence_histogram",
    "confusion_figure",
    "counts_need_log_scale",
    "model_scores_figure",
    "per_class_f1_heatmap",
    "per_class_metrics_figure",
    "per_class_table",
    "prediction_error_figure",
    "speed_figure",
    "timeline_figure",
    "training_curves",
]

TEMPLATE = "plotly_white"
MARGIN = {"l": 60, "r": 30, "t": 70, "b": 60}
UNKNOWN_COLOR = "#9e9e9e"

# ----------------------------------------------------------------------------------------------
# Colours
# ----------------------------------------------------------------------------------------------

#: Hue (degrees) of each attack family of the 6-class task: blue, violet, magenta, red and orange, so that
#: neighbouring families stay apart. MQTT sits at 324, not 318: there a protanope hardly told it from Spoofing's violet.
_FAMILY_HUE: dict[str, float] = {
    "Recon": 208.0,
    "Spoofing": 268.0,
    "MQTT": 324.0,
    "DDoS": 356.0,
    "DoS": 26.0,
}
_SATURATION = 0.62
_FAMILY_LIGHTNESS = 0.42
# 19-class shades of a family run from dark to light within this lightness range. Up to 0.66, the lightest red and
# orange (DDoS-UDP, DoS-UDP) read as Benign to a deuteranope or protanope.
_SHADE_LIGHTNESS = (0.24, 0.64)
# Benign is Okabe and Ito's bluish green: the first release's green (hue 150) read as the light red of DDoS-UDP and
# the light orange of DoS-UDP to a red-green colour-blind analyst (about 1 man in 12).
_BENIGN_COLOR = "#009e73"
_ATTACK_COLOR = "#d62728"


def _hls_hex(hue_deg: float, lightness: float, saturation: float = _SATURATION) -> str:
    r, g, b = colorsys.hls_to_rgb((hue_deg % 360.0) / 360.0, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _build_class_colors() -> dict[str, str]:
    colors: dict[str, str] = {family: _hls_hex(hue, _FAMILY_LIGHTNESS) for family, hue in _FAMILY_HUE.items()}
    for family, hue in _FAMILY_HUE.items():
        members = [c for c in CLASSES_19 if CATEGORY[c] == family and c != family]
        if len(members) == 1:
            lightness = [_FAMILY_LIGHTNESS + 0.08]
        else:
            lightness = np.linspace(*_SHADE_LIGHTNESS, num=len(members)).tolist()
        for label, light in zip(members, lightness):
            colors[label] = _hls_hex(hue, light)
    colors[CLASSES_2[0]] = _BENIGN_COLOR
    colors[CLASSES_2[1]] = _ATTACK_COLOR
    missing = set(CLASSES_19) | set(CLASSES_6) | set(CLASSES_2)
    missing -= colors.keys()
    if missing:  # pragma: no cover - guards a taxonomy change
        raise RuntimeError(f"no colour for classes {sorted(missing)}")
    return colors


#: One fixed colour per class of the 19-, 6- and 2-class tasks (hex ``#rrggbb``).
CLASS_COLORS: dict[str, str] = _build_class_colors()

#: Colours of the metric series (not classes) in per-class bar charts.
# F1 is teal, not green: a green F1 beside the orange recall read as the same colour to a protanope.
_METRIC_COLORS = {"precision": "#4c78a8", "recall": "#f58518", "f1": "#72b7b2"}


def class_color(label: str) -> str:
    """Return the fixed colour of ``label``.

    Parameters
    ----------
    label : str
        A class of the 19-, 6- or 2-class task.

    Returns
    -------
    str
        Hex colour ``#rrggbb``; :data:`UNKNOWN_COLOR` (grey) for an unknown label.
    """
    return CLASS_COLORS.get(label, UNKNOWN_COLOR)


# ----------------------------------------------------------------------------------------------
# Shared layout helpers
# ----------------------------------------------------------------------------------------------


def _style(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None,
           height: int | None = None, **layout) -> go.Figure:  # fmt: skip
    layout.setdefault("margin", MARGIN)
    fig.update_layout(template=TEMPLATE, title={"text": title, "x": 0.0, "xanchor": "left"}, **layout)
    if height is not None:
        fig.update_layout(height=height)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title, automargin=True)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title, automargin=True)
    return fig


def _empty_figure(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _style(fig, title, height=300)


def _rows_height(n_rows: int, per_row: int = 28, base: int = 160, minimum: int = 360) -> int:
    return max(minimum, base + per_row * n_rows)


#: Classes from which a heatmap is "dense" (the 19-class task): its cells are too narrow on a laptop's half screen for
#: two lines of text and a fixed font, and Plotly's automatic ticks would label only every second or third class.
DENSE_CLASSES = 9


#: The smallest font of a number in a dense heatmap's cells: left to Plotly, which fits the longest number to the
#: narrowest cell, 19 columns at 800 pixels had numbers of 8 pixels, too small to read.
CELL_FONT_MIN = 10
#: The most characters of a number in a dense heatmap's cell: a 19-class matrix at 800 pixels has cells of about 18
#: pixels, which hold three digits at :data:`CELL_FONT_MIN` (a longer number is left to the hover).
CELL_CHARS = 3
#: The most models a dense per-class F1 heatmap (a column per model) writes each F1 in: at 800 pixels 16 columns are
#: 20 pixels wide, as wide as "0.84" at :data:`CELL_FONT_MIN`; 18 models' numbers ran into each other, unreadable.
#: With more, the cells keep their colour and the hover its F1, and the figure says so under its title.
F1_TEXT_MODELS = 16
#: The figure's own note when numbers of a dense matrix are rounded to fit their cells.
CELL_NOTE = "Rounded to fit the cells (2k: about 2,000; .3M: about 300,000): hover a cell for its exact count."


def _cell_count(n: int) -> str:
    """A count in at most :data:`CELL_CHARS` characters: ``"387"``, ``"2k"``, ``"16k"``, ``".3M"`` (about 300,000:
    the full dataset's diagonal cells), ``"4M"``; ``""`` for none, or beyond 999 million (the hover has it)."""
    if not n:
        return ""
    if n < 1000:
        return f"{n}"
    if n < 99_500:
        return f"{n / 1000:.0f}k"
    if n < 950_000:
        return f".{n / 100_000:.0f}M"
    return f"{n / 1_000_000:.0f}M" if n < 999_500_000 else ""


def _cell_share(n: int, pct: float) -> str:
    """A row share in whole percent (``"100"``, ``"7"``), ``"<1"`` for a cell with rows but under half a percent."""
    return "" if not n else ("<1" if pct < 0.5 else f"{pct:.0f}")


def _label_every_category(fig: go.Figure, axis: str) -> None:
    """Name every category on ``axis`` ("x" or "y"). Plotly picks its ticks from the axis length: at 800 pixels a
    19-class axis named only every third class. The angle is left to Plotly, which turns the labels (0, 30 or 90
    degrees) as far as they need not to overlap at the width they are drawn at."""
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(type="category", tickmode="linear", tick0=0, dtick=1)


def _wrapped_label(label: str, longest: int = 14) -> str:
    """A class name over ``longest`` characters on two lines, broken after its last hyphen
    (``MQTT-DDoS-<br>Connect_Flood``); shorter names, and names without a hyphen, as they are."""
    head, dash, tail = label.rpartition("-")
    return f"{head}{dash}<br>{tail}" if len(label) > longest and head else label


def _wrapped_name(name: str, longest: int = 20) -> str:
    """A model name on lines of at most ``longest`` characters, broken after hyphens, underscores and dots
    (``paper-cnn-19class-v2-<br>20261207-0602``); a part without one, longer than that, stays whole."""
    lines = [""]
    for part in filter(None, re.findall(r"[^-_.]*[-_.]?", name)):
        if lines[-1] and len(lines[-1]) + len(part) > longest:
            lines.append("")
        lines[-1] += part
    return "<br>".join(lines)


def _top_colorbar(title: str) -> dict:
    """A horizontal colour bar above the plot: beside it, the bar and its labels took about 80 of the 470 pixels a
    narrow page has for a 19-column heatmap."""
    return {"title": {"text": title, "side": "right"}, "orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0,
            "yanchor": "bottom", "yref": "paper", "len": 0.5, "thickness": 10}  # fmt: skip


def _canonical_order(labels: Sequence[str], task: int | None) -> list[str]:
    """``labels`` in the task's canonical order; unknown labels keep their order at the end."""
    unique = list(dict.fromkeys(labels))
    try:
        canonical = classes_for_task(task) if task is not None else ()
    except ValueError:
        canonical = ()
    known = [c for c in canonical if c in unique]
    return known + [c for c in unique if c not in known]


# ----------------------------------------------------------------------------------------------
# One report
# ----------------------------------------------------------------------------------------------


def confusion_figure(report: EvaluationReport, normalize: str | None = None, *, zmax: float | None = None) -> go.Figure:
    """Confusion-matrix heatmap: rows are true classes, columns predicted classes.

    Parameters
    ----------
    report : EvaluationReport
    normalize : {None, "true"}
        ``None`` colours and reports counts; ``"true"`` shows each row as percentages of
        that true class (each row sums to 100).
    zmax : float, optional
        Count at the dark end of the colour scale (counts only; row % always ends at 100). Figures
        drawn side by side pass the same value, so that one shade is one count in each of them; by
        default the scale ends at this matrix's largest count.

    Returns
    -------
    go.Figure
        One ``Heatmap`` whose ``z`` has shape (n_true_classes, n_labels). Only classes with
        support are rows; every class of ``report.labels`` is a column. Cell text is
        ``count<br>row %`` (zero cells show ``0``). From :data:`DENSE_CLASSES` classes on, one
        number per cell (the count, or the rounded row % with ``normalize="true"``), nothing in
        empty cells, a font fitted to the cells by Plotly, and every class named on both axes;
        ``customdata`` holds ``count<br>row %`` for the hover in every case.
    """
    if normalize not in (None, "true"):
        raise ValueError(f"normalize must be None or 'true', got {normalize!r}")
    labels = list(report.labels)
    cm = np.asarray(report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    rows = [i for i, c in enumerate(labels) if report.per_class[c]["support"] > 0]
    counts = cm[rows]
    row_sums = counts.sum(axis=1, keepdims=True)
    pct = np.divide(counts * 100.0, row_sums, out=np.zeros(counts.shape), where=row_sums > 0)
    full = [[f"{n:,}<br>{p:.1f}%" if n else "0" for n, p in zip(c_row, p_row)] for c_row, p_row in zip(counts, pct)]
    y_labels = [labels[i] for i in rows]
    if normalize == "true":
        z, zmax, bar_title, title = pct, 100.0, "% of true class", "Confusion matrix (row %)"
    else:
        z, bar_title, title = counts, "rows", "Confusion matrix (counts)"
    dense = max(len(labels), len(y_labels)) >= DENSE_CLASSES
    if dense:
        # One short number per cell, the one the colour shows, and none in empty cells (361 zeros were noise); the
        # font is left to Plotly, which fits it to the cells at the width drawn (a fixed size ran numbers into their
        # neighbours at 800 pixels). The hover has the count and the row share.
        # At a fixed smallest size, numbers that fit a cell of a narrow page (the font Plotly fitted to the longest
        # number was 8 pixels at 800). Counts are rounded ("2k") or left to the hover when they would not fit.
        text = [[_cell_count(n) if normalize is None else _cell_share(n, p) for n, p in zip(c_row, p_row)]
                for c_row, p_row in zip(counts, pct)]  # fmt: skip
        textfont = {"size": CELL_FONT_MIN}
    else:
        text, textfont = full, {"size": 12}
    heat = go.Heatmap(
        z=z,
        x=labels,
        y=y_labels,
        text=text,
        texttemplate="%{text}",
        textfont=textfont,
        customdata=full,
        colorscale="Blues",
        zmin=0,
        zmax=zmax,
        colorbar=_top_colorbar(bar_title) if dense else {"title": {"text": bar_title}},
        hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata}<extra></extra>",
        xgap=1,
        ygap=1,
    )
    fig = go.Figure(heat)
    n = max(len(labels), len(y_labels))
    _style(fig, title, "Predicted class", "True class", height=_rows_height(n, per_row=34 if n > 8 else 60, base=220),
           margin={**MARGIN, "l": 10, "r": 10, "t": 100} if dense else MARGIN)  # fmt: skip
    if dense and normalize is None and any(t != f"{n:,}" for t, n in zip(np.ravel(text), counts.ravel()) if n):
        fig.update_layout(title={"subtitle": {"text": CELL_NOTE, "font": {"size": 11}}})
    fig.update_xaxes(type="category", side="bottom")
    fig.update_yaxes(type="category", autorange="reversed")
    if dense:
        _label_every_category(fig, "x")
        fig.update_xaxes(tickfont={"size": 11})
        # Every row named, the longest names on two lines: on one, they took a third of a narrow page's width.
        fig.update_yaxes(tickmode="array", tickvals=y_labels, ticktext=[_wrapped_label(c) for c in y_labels],
                         tickfont={"size": 11})  # fmt: skip
    return fig


def per_class_table(report: EvaluationReport) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support, worst F1 first.

    Returns
    -------
    pd.DataFrame
        Columns ``class, precision, recall, f1, support``; one row per class with support > 0,
        sorted by ``f1`` ascending (ties keep the report's class order).
    """
    records = [
        {
            "class": c,
            "precision": float(report.per_class[c]["precision"]),
            "recall": float(report.per_class[c]["recall"]),
            "f1": float(report.per_class[c]["f1"]),
            "support": int(report.per_class[c]["support"]),
        }
        for c in report.labels
        if report.per_class[c]["support"] > 0
    ]
    table = pd.DataFrame.from_records(records, columns=["class", "precision", "recall", "f1", "support"])
    return table.sort_values("f1", kind="mergesort").reset_index(drop=True)


def per_class_metrics_figure(report: EvaluationReport) -> go.Figure:
    """Grouped horizontal bars of precision, recall and F1 for each class with support.

    Returns
    -------
    go.Figure
        Three ``Bar`` traces (precision, recall, F1) with ``y`` = classes in report order and
        ``x`` = the metric in 0..1.
    """
    classes = report.scored_labels
    fig = go.Figure()
    for key, name in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1")):
        fig.add_bar(
            name=name,
            y=classes,
            x=[float(report.per_class[c][key]) for c in classes],
            orientation="h",
            marker_color=_METRIC_COLORS[key],
            hovertemplate=f"%{{y}}<br>{name} %{{x:.3f}}<extra></extra>",
        )
    # The legend under the title, not at its right end: there the two ran into each other at 800 pixels. It hangs from
    # a fixed distance under the title (in the figure's pixels) and Plotly moves the bars down below it, as in
    # comparison_bars: a top margin of 100 pixels with the legend on the bars' top edge left a blank band of 43 to 52
    # pixels between the title and the legend's one line, at any width.
    height = _rows_height(len(classes), per_row=54, base=160)
    _style(fig, f"Per-class precision, recall and F1 (macro-F1 {report.macro_f1:.3f})", "Score", "Class",
           height=height, barmode="group", margin={**MARGIN, "t": LEGEND_GAP},
           legend={"orientation": "h", "x": 0.0, "xanchor": "left", "yref": "container", "y": 1 - TITLE_ROOM / height,
                   "yanchor": "top"})  # fmt: skip
    fig.update_layout(title={"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}})
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def prediction_error_figure(report: EvaluationReport) -> go.Figure:
    """Class prediction error: one stacked bar per true class, split by predicted class.

    Returns
    -------
    go.Figure
        One ``Bar`` trace per predicted class that occurs (``name`` = that class, coloured with
        :func:`class_color`); ``x`` = true classes with support, ``y`` = counts. The stacked
        height of each bar is that class's support.
    """
    labels = list(report.labels)
    cm = np.asarray(report.confusion_matrix, dtype=np.int64).reshape(len(labels), len(labels))
    rows = [i for i, c in enumerate(labels) if report.per_class[c]["support"] > 0]
    true_classes = [labels[i] for i in rows]
    dense = len(labels) >= DENSE_CLASSES
    fig = go.Figure()
    for j, predicted in enumerate(labels):
        heights = cm[rows, j]
        if not heights.any():
            continue
        fig.add_bar(
            name=predicted,
            x=true_classes,
            y=heights,
            marker_color=class_color(predicted),
            hovertemplate=f"true %{{x}}<br>predicted {predicted}: %{{y:,}}<extra></extra>",
            # 19 classes: one legend entry per family (its classes are shades of its hue), which shows or hides them
            # all; 19 entries took 390 of the 850 pixels of the figure at 800 pixels, the bars 190.
            **({"legendgroup": CATEGORY.get(predicted, predicted), "showlegend": False} if dense else {}),
        )
    legend = {"title": {"text": "Predicted class"}}
    if dense:
        families = list(dict.fromkeys(t.legendgroup for t in fig.data))
        for family in families:  # legend entries only: no bars
            fig.add_bar(name=family, x=[None], y=[None], legendgroup=family, marker_color=class_color(family),
                        hoverinfo="skip")  # fmt: skip
        legend.update(orientation="h", yref="container", y=0.0, yanchor="bottom", x=0.0, xanchor="left",
                      traceorder="normal", title={"text": "Predicted family (its classes in shades; hover names "
                                                          "each)", "side": "top"})  # fmt: skip
    _style(fig, "Class prediction error", "True class", "Rows (stacked by predicted class)",
           height=_rows_height(len(labels), per_row=12, base=420) + (90 if dense else 0), barmode="stack",
           legend=legend)  # fmt: skip
    fig.update_xaxes(type="category")  # the angle left to Plotly: as far as the labels need at the width drawn
    if dense:
        _label_every_category(fig, "x")
    return fig


# ----------------------------------------------------------------------------------------------
# Data and predictions
# ----------------------------------------------------------------------------------------------


def class_counts_figure(counts: Mapping[str, int] | pd.Series, title: str = "", *, log_y: bool = False) -> go.Figure:
    """One bar per class, coloured with :data:`CLASS_COLORS`, in the order given.

    Parameters
    ----------
    counts : dict or pd.Series
        ``class -> number of rows``.
    title : str
        Figure title; ``"Rows per class"`` when empty.
    log_y : bool
        Logarithmic y axis (CICIoMT2024's largest class is over 2,000 times its smallest).
    """
    series = counts if isinstance(counts, pd.Series) else pd.Series(dict(counts), dtype="int64")
    classes = [str(c) for c in series.index]
    values = series.to_numpy(dtype=np.int64)
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=values,
            marker_color=[class_color(c) for c in classes],
            text=[f"{v:,}" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:,} rows<extra></extra>",
            showlegend=False,
        )
    )
    _style(fig, title or "Rows per class", "Class", "Rows (log scale)" if log_y else "Rows", height=420)
    if len(classes) >= DENSE_CLASSES:
        # Every bar named (Plotly's own ticks named one bar in three at half a narrow page), its count shown only
        # where it fits above the bar at a legible size (the hover has it always).
        _label_every_category(fig, "x")
        fig.update_layout(uniformtext={"minsize": 9, "mode": "hide"})
    else:
        fig.update_xaxes(type="category")  # turned by Plotly as far as the labels need at the width drawn
    if log_y:
        # Ticks at 1, 10, 100, 1,000... only: Plotly's default log axis also labels 2 and 5 in each decade, which
        # read "5, 2, 1000, 5, 2, 100" up the axis.
        fig.update_yaxes(type="log", dtick=1, tickformat=",d")
    return fig


#: Largest / smallest non-zero count from which :func:`counts_need_log_scale` asks for a log axis.
LOG_SCALE_RATIO = 100


def counts_need_log_scale(counts: Mapping[str, int] | pd.Series) -> bool:
    """Whether bars of ``counts`` need a log axis: the largest count is at least
    :data:`LOG_SCALE_RATIO` times the smallest non-zero one (on a linear axis the small bar
    would be a few pixels high or none, e.g. 3 rows next to 268,000)."""
    series = counts if isinstance(counts, pd.Series) else pd.Series(dict(counts), dtype="int64")
    values = series.to_numpy(dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    return bool(len(values)) and values.max() >= LOG_SCALE_RATIO * values.min()


def _class_codes(predicted: Sequence[str] | np.ndarray, classes: list[str]) -> np.ndarray:
    """Index of each row's class in ``classes`` (vectorised); a value not in ``classes`` is an error."""
    values = np.asarray(predicted, dtype=object)
    codes = pd.Categorical(values, categories=classes).codes.astype(np.int64)
    if (codes < 0).any():
        unknown = sorted({str(v) for v in pd.unique(values[codes < 0])})
        raise ValueError(f"predicted classes {unknown} are not in classes {classes}")
    return codes


def timeline_figure(predicted: Sequence[str], classes: Sequence[str], max_points: int = 5000) -> go.Figure:
    """Predicted class along the file's row order, to see where an attack starts and stops.

    Rows are numbered from 1, like the "row in file" of the Analyze page's table. Up to
    ``max_points`` rows, each row is one mark in its class's lane. Above, rows are grouped into
    buckets of equal runs of consecutive rows, and each bucket gets one mark in the lane of
    **every** class that occurs in it, however few of its rows that class has: a class with a
    single row is never hidden behind the bucket's majority. A mark's opacity grows with the
    class's share of its bucket (from 0.25 for a single row to 1 for all of them); the hover says
    how many rows of the class the bucket holds, their share, and which rows the bucket spans.

    Parameters
    ----------
    predicted : sequence of str, length n
        Predicted class of each row, in file order.
    classes : sequence of str
        The task's classes, in the order of the y axis (top to bottom).
    max_points : int
        Budget of marks for the whole figure. Above this many rows, the bucket size is
        chosen so that (number of buckets) x (number of classes that occur) stays within it
        (at least one bucket, so never fewer marks than classes that occur).

    Returns
    -------
    go.Figure
        One ``Scatter`` trace per class that occurs (``name`` = class, coloured with
        :func:`class_color`; no legend: the y axis names each lane); ``x`` = first row of each
        mark's bucket (1-based), ``y`` = the class, ``customdata`` = ``(rows of the class in the
        bucket, first row, last row, share of the bucket)`` per mark (for one row per mark:
        ``(1, row, row, 1)``). The traces hold at most
        ``max(max_points, classes that occur)`` marks, however many rows there are.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points!r}")
    classes = list(classes)
    title = "Predicted class along the file"
    n = len(predicted)
    if n == 0:
        return _empty_figure(title, "no rows to show")
    codes = _class_codes(predicted, classes)
    k = len(classes)
    if n <= max_points:
        size = 1
    else:
        present = int(np.count_nonzero(np.bincount(codes, minlength=k)))
        size = math.ceil(n / max(1, max_points // present))
    n_buckets = math.ceil(n / size)
    # tally[b, c] = rows of class c in bucket b, in one pass over the rows.
    bucket = np.arange(n, dtype=np.int64) // size
    tally = np.bincount(bucket * k + codes, minlength=n_buckets * k).reshape(n_buckets, k)
    first = np.arange(n_buckets, dtype=np.int64) * size + 1
    last = np.minimum(first + size - 1, n)
    if size == 1:
        x_title = f"Row in file (of {n:,})"
    else:
        title += f" (each mark: a class present in a bucket of {size:,} rows; the darker, the larger its share)"
        x_title = f"Row in file (of {n:,}; buckets of {size:,} rows)"
    fig = go.Figure()
    for code, label in enumerate(classes):
        where = np.flatnonzero(tally[:, code])
        if not len(where):
            continue
        marker = {"color": class_color(label), "symbol": "line-ns-open", "size": 12, "line": {"width": 2}}
        share = tally[where, code] / (last[where] - first[where] + 1)
        if size == 1:
            hover = f"row %{{x:,}}<br>{label}<extra></extra>"
        else:
            hover = (f"{label} rows: %{{customdata[0]:,}} (%{{customdata[3]:.1%}} of the bucket)<br>in rows "
                     "%{customdata[1]:,}–%{customdata[2]:,}<extra></extra>")  # fmt: skip
            marker["opacity"] = 0.25 + 0.75 * share  # a faint mark: a few of the bucket's rows; a full one: most
        fig.add_scatter(
            x=first[where],
            y=[label] * len(where),
            customdata=np.column_stack([tally[where, code], first[where], last[where], share]),
            mode="markers",
            name=label,
            marker=marker,
            hovertemplate=hover,
        )
    # No legend: each lane is named on the y axis already, and a legend of 19 names took half the width of a
    # narrow page from the rows it was meant to show.
    _style(fig, title, x_title, "Predicted class", showlegend=False,
           height=_rows_height(len(classes), per_row=26, base=180, minimum=300))  # fmt: skip
    # An explicit range keeps every class lane visible, also those never predicted.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=classes, range=[len(classes) - 0.5, -0.5])
    pad = max(0.5, 0.01 * n)
    fig.update_xaxes(range=[1 - pad, n + pad])
    return fig


def confidence_histogram(confidence: np.ndarray, threshold: float | None = None, *, bins: int = 50) -> go.Figure:
    """Histogram of the model's confidence per row (:data:`core.glossary.CONFIDENCE_WORDS`: the probability of
    the predicted class).

    Parameters
    ----------
    confidence : ndarray of shape (n,)
        Values in 0..1; non-finite values are left out.
    threshold : float, optional
        Drawn as a dashed vertical line; the title then says how many rows fall below it.
    bins : int
        Number of equal-width bins over 0..1.

    Returns
    -------
    go.Figure
        One ``Bar`` trace of pre-binned counts (bin centres in ``x``): the browser receives
        ``bins`` numbers, not one value per row.
    """
    # In the probabilities' own precision, as the pages' metrics and filters compare them: a forest's float32 0.9 (18
    # of 20 trees) is 0.89999998 in float64, counted below a threshold of 0.9 and drawn in the bin before its line.
    values = np.asarray(confidence).ravel()
    values = values if values.dtype.kind == "f" else values.astype(np.float64)
    values = values[np.isfinite(values)]
    title = "Confidence of each prediction"
    if threshold is not None and len(values):
        below = int((values < values.dtype.type(threshold)).sum())
        title += f": {below:,} of {len(values):,} rows ({below / len(values):.1%}) below {threshold:g}"
    counts, edges = np.histogram(np.clip(values, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    fig = go.Figure(
        go.Bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts,
            width=1.0 / bins,
            marker_color="#4c78a8",
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            hovertemplate="confidence %{customdata[0]:.2f}–%{customdata[1]:.2f}<br>%{y:,} rows<extra></extra>",
            showlegend=False,
        )
    )
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#d62728",
                      annotation_text=f"threshold {threshold:g}", annotation_position="top left")  # fmt: skip
    _style(fig, title, f"Confidence ({CONFIDENCE_SHORT})", "Rows", height=360)
    fig.update_xaxes(range=[0, 1.0])
    return fig


# ----------------------------------------------------------------------------------------------
# Several models
# ----------------------------------------------------------------------------------------------

#: The comparison metrics, macro-F1 first: ``(label, EvaluationReport attribute)``.
COMPARISON_METRICS: tuple[tuple[str, str], ...] = (
    ("macro-F1", "macro_f1"),
    ("weighted-F1", "weighted_f1"),
    ("accuracy", "accuracy"),
    ("macro precision", "macro_precision"),
    ("macro recall", "macro_recall"),
    ("weighted precision", "weighted_precision"),
    ("weighted recall", "weighted_recall"),
)


def _model_names(scores: Sequence[ModelScore]) -> list[str]:
    """Model names, with the task appended when the scores mix tasks."""
    mixed = len({s.task for s in scores}) > 1
    return [f"{s.name} ({s.task} classes)" if mixed else s.name for s in scores]


#: Models up to which the comparison bars carry their values as text (beyond, 7 groups of more bars are too narrow).
BAR_LABELS_UP_TO = 4
#: Pixels from the top of the comparison bars to their legend (the title's line above it), and from the legend's last
#: line to the bars (room for a value over a bar near 1).
TITLE_ROOM = 40
LEGEND_GAP = 36


def _model_colours(n: int) -> list[str]:
    """A colour of its own for each of ``n`` models: the 10 colours of Carto's "Safe" up to 10 models (its 11th, grey,
    reads as its teal to a deuteranope), then Plotly's 24 darker ones, then hues evenly apart. Plotly's own cycle gave
    the 11th model the 1st one's colour: two models, one colour in the legend; and its 10 colours gave the 1st and 4th
    models the same blue to a protanope or deuteranope."""
    if n <= 10:
        return list(pc.qualitative.Safe[:n])
    if n <= len(pc.qualitative.Dark24):
        return list(pc.qualitative.Dark24[:n])
    return [f"hsl({round(360 * i / n)},{65 if i % 2 else 80}%,{35 if i % 2 else 50}%)" for i in range(n)]


def comparison_bars(scores: list[ModelScore]) -> go.Figure:
    """Grouped bars comparing models on every headline metric, macro-F1 first.

    Returns
    -------
    go.Figure
        One ``Bar`` trace per model (``name`` = model name); ``x`` = the metric labels of
        :data:`COMPARISON_METRICS` in order; ``y`` in 0..1; values as text on the bars for up to
        :data:`BAR_LABELS_UP_TO` models, in the hover always.
    """
    title = "Model comparison (macro-F1 first: every class counts the same)"
    if not scores:
        return _empty_figure(title, "no models to compare")
    metric_labels = [label for label, _ in COMPARISON_METRICS]
    fig = go.Figure()
    labelled = len(scores) <= BAR_LABELS_UP_TO  # more bars than that: too narrow for a readable value (hover has it)
    for name, score, colour in zip(_model_names(scores), scores, _model_colours(len(scores))):
        values = [float(getattr(score.report, attr)) for _, attr in COMPARISON_METRICS]
        fig.add_bar(
            name=name,
            marker_color=colour,
            x=metric_labels,
            y=values,
            text=[f"{v:.2f}" for v in values] if labelled else None,
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"{name}<br>%{{x}} %{{y:.4f}}<extra></extra>",
        )
    # The legend between the title and the bars, not beside them: beside, four model names took 180 of a narrow
    # page's 470 pixels. A value too small to read on its bar at the width drawn is left out (the hover has it).
    # The legend hangs from a fixed distance under the title (in the figure's pixels, "container"), and Plotly moves
    # the bars down below however many lines it wraps to at the width drawn: a top margin fixed for the most lines
    # (130 pixels, more past four models) left a blank band of 70 to 190 pixels above a one-line legend at 1,400
    # pixels. The margin left under it holds the values of bars near 1. The figure grows 20 pixels a model past the
    # fourth, for the legend's lines at 800 pixels, so that the bars keep their height.
    height = 480 + 20 * max(0, len(scores) - 4)
    _style(fig, title, "Metric", "Score", height=height, barmode="group", uniformtext={"minsize": 9, "mode": "hide"},
           margin={**MARGIN, "t": LEGEND_GAP}, legend={"orientation": "h", "x": 0.0, "xanchor": "left",
                                                       "yref": "container", "y": 1 - TITLE_ROOM / height,
                                                       "yanchor": "top"})  # fmt: skip
    fig.update_layout(title={"yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 10}})
    fig.update_yaxes(range=[0, 1])
    fig.update_xaxes(type="category")
    return fig


def per_class_f1_heatmap(scores: list[ModelScore]) -> go.Figure:
    """Per-class F1 of each model: models as rows, classes as columns; from :data:`DENSE_CLASSES` classes on (the
    19-class task), classes as rows and models as columns.

    Nineteen class columns left cells about 15 pixels wide at 800 pixels, too narrow for a legible F1; as rows,
    the class names read across and each model's column stays wide enough for its numbers at any width.

    Returns
    -------
    go.Figure
        One ``Heatmap``; ``y`` = model names, ``x`` = the union of the models' scored classes
        in the task's canonical order, ``z`` = F1 (NaN where the class had no support for that
        model), ``text`` = F1 with two decimals (empty for NaN). Transposed from
        :data:`DENSE_CLASSES` classes on: ``x`` = model names, ``y`` = classes, ``z[class, model]``.
    """
    title = "Per-class F1 by model"
    if not scores:
        return _empty_figure(title, "no models to compare")
    tasks = {s.task for s in scores}
    if len(tasks) > 1:
        raise ValueError(f"per-class F1 needs models of one task, got tasks {sorted(tasks)}")
    classes = _canonical_order([c for s in scores for c in s.report.scored_labels], next(iter(tasks)))
    z = np.full((len(scores), len(classes)), np.nan)
    for i, score in enumerate(scores):
        for j, c in enumerate(classes):
            stats = score.report.per_class.get(c)
            if stats is not None and stats["support"] > 0:
                z[i, j] = float(stats["f1"])
    names = _model_names(scores)
    dense = len(classes) >= DENSE_CLASSES
    if dense:
        z, x, y, x_title, y_title = z.T, names, classes, None, "Class"  # the model names say what they are
        hover = "%{x}<br>%{y}: F1 %{text}<extra></extra>"
    else:
        x, y, x_title, y_title = classes, names, "Class", "Model"
        hover = "%{y}<br>%{x}: F1 %{text}<extra></extra>"
    text = [["" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
    written = not dense or len(scores) <= F1_TEXT_MODELS  # beyond, in the hover only: too narrow to write in
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=y,
            text=text,
            texttemplate="%{text}" if written else None,
            textfont={"size": CELL_FONT_MIN if dense else 12},  # a column per model: 12 of them at 800 pixels
            # Dark blue (low F1) to yellow (high), lighter all the way for every colour vision: red-yellow-green
            # was dark at both ends, and a deuteranope saw F1 0 and F1 1 as the same brown.
            colorscale="Cividis",
            zmin=0,
            zmax=1,
            colorbar=_top_colorbar("") if dense else {"title": {"text": "F1"}},  # the title says F1
            hovertemplate=hover,
            xgap=1,
            ygap=1,
        )
    )
    # Dense: rows high enough for a class name on two lines, and room below them for the model names, turned (6
    # pixels a character: without it, 36-character names took 200 pixels from the rows, whose names then overlapped).
    height = _rows_height(len(classes), per_row=32, base=220) + 6 * max(map(len, names)) if dense else (
        _rows_height(len(scores), per_row=40, base=260, minimum=320))  # fmt: skip
    _style(fig, title, x_title, y_title, height=height, margin={**MARGIN, "l": 10} if dense else MARGIN)
    if not written:
        fig.update_layout(title_subtitle_text=f"{len(scores)} models: hover a cell for its F1")
    fig.update_yaxes(type="category", autorange="reversed")
    # On one line, a model name (default ones are about 36 characters) as a row's label, or a long class name, took
    # half of a narrow page's 470 pixels, and the F1 numbers of the cells ran into each other.
    if dense:
        # Model names across the top of their columns would be cut; below, Plotly turns them as far as they need (on
        # one line each: turned, names of several lines ran into their neighbours' at 12 models). The longest class
        # names on two lines.
        _label_every_category(fig, "x")
        _label_every_category(fig, "y")
        fig.update_yaxes(tickmode="array", tickvals=classes, ticktext=[_wrapped_label(c) for c in classes],
                         tickfont={"size": 11})  # fmt: skip
    else:
        fig.update_xaxes(type="category")  # turned by Plotly as far as the labels need at the width drawn
        fig.update_yaxes(tickmode="array", tickvals=names, ticktext=[_wrapped_name(n) for n in names])
    return fig


def speed_figure(scores: list[ModelScore]) -> go.Figure:
    """Training time and scoring speed per model, side by side.

    Returns
    -------
    go.Figure
        Two subplots with one ``Bar`` trace each: ``fig.data[0]`` training seconds (NaN where
        unknown), ``fig.data[1]`` rows scored per second; ``x`` = model names.
    """
    title = "Training time and scoring speed"
    if not scores:
        return _empty_figure(title, "no models to compare")
    names = _model_names(scores)
    fit = [float(s.fit_seconds) if s.fit_seconds is not None else float("nan") for s in scores]
    speed = [float(s.rows_per_second) for s in scores]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training time (s)", "Scoring speed (rows/s)"),
                        horizontal_spacing=0.12)  # fmt: skip
    fig.add_bar(x=names, y=fit, marker_color="#4c78a8", name="training time (s)", row=1, col=1,
                text=["n/a" if math.isnan(v) else f"{v:,.1f}" for v in fit], textposition="outside",
                cliponaxis=False, hovertemplate="%{x}<br>%{y:,.1f} s<extra></extra>")  # fmt: skip
    fig.add_bar(x=names, y=speed, marker_color="#f58518", name="rows/s", row=1, col=2,
                text=[f"{v:,.0f}" for v in speed], textposition="outside", cliponaxis=False,
                hovertemplate="%{x}<br>%{y:,.0f} rows/s<extra></extra>")  # fmt: skip
    # Room under the bars for the names, turned at 800 pixels (6 pixels a character): they took 250 of 440 pixels and
    # left the bars 50. A value too small to read on its bar at the width drawn is left to the hover.
    _style(fig, title, height=max(440, 300 + 6 * max(map(len, names))), showlegend=False,
           margin={**MARGIN, "t": 100}, uniformtext={"minsize": 9, "mode": "hide"})  # fmt: skip
    fig.update_xaxes(title_text="Model", automargin=True)
    # Every bar named: at 800 pixels Plotly named one bar in two of 12 (the others could not be told apart). The units
    # are in the subplots' titles: the right plot's axis title ran over the left plot's bars at 800 pixels.
    _label_every_category(fig, "x")
    fig.update_yaxes(automargin=True)
    return fig


def training_curves(history: Mapping[str, Sequence[float]] | None) -> go.Figure:
    """Loss and accuracy per epoch from a Keras-style history.

    Parameters
    ----------
    history : dict or None
        ``metric -> one value per epoch``; keys ending in ``loss`` go to the left subplot,
        keys containing ``acc`` to the right one, ``val_*`` keys are dashed. Other keys
        (``learning_rate``) are ignored.

    Returns
    -------
    go.Figure
        Two subplots, one ``Scatter`` trace per key drawn (``x`` = epochs from 1), named in words:
        ``"training loss"`` for ``loss``, ``"validation accuracy"`` for ``val_accuracy`` (:func:`_curve_name`).
        With no epoch values, a figure with the annotation
        ``"no epoch history (not a neural network)"`` and no traces.
    """
    title = "Training curves"
    series = {str(k): [float(v) for v in vals] for k, vals in (history or {}).items() if vals is not None and len(vals)}
    loss_keys = [k for k in series if k.endswith("loss")]
    acc_keys = [k for k in series if "acc" in k and k not in loss_keys]
    if not loss_keys and not acc_keys:
        return _empty_figure(title, "no epoch history (not a neural network)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"), horizontal_spacing=0.1)
    palette = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"]
    for col, keys in ((1, loss_keys), (2, acc_keys)):
        bases = list(dict.fromkeys(k.removeprefix("val_") for k in keys))
        for key in keys:
            base = key.removeprefix("val_")
            values = series[key]
            fig.add_scatter(
                x=list(range(1, len(values) + 1)),
                y=values,
                mode="lines+markers",
                name=_curve_name(key),
                # Training and validation told apart by colour as well as by dash (dashes alone were hard to see).
                line={
                    "color": palette[(2 * bases.index(base) + key.startswith("val_")) % len(palette)],
                    "dash": "dash" if key.startswith("val_") else "solid",
                },
                row=1,
                col=col,
            )
    # The legend under the plots, in rows: beside them it took a third of the figure's width at 800 pixels. Plotly
    # makes room for it under the axis titles, for as many rows as it wraps to at the width drawn: a bottom margin of
    # 110 pixels, for two rows, left 38 blank pixels over a legend of one.
    _style(fig, title, height=460, margin={**MARGIN, "t": 100}, legend={"orientation": "h", "yref": "container",
           "y": 0.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"})  # fmt: skip
    # Level epoch numbers, a whole number apart and few enough to fit: every epoch named (dtick 1, 12 epochs), a
    # half of an 800-pixel page had about 150 pixels per plot, and Plotly turned the numbers sideways to fit them.
    epochs = max(len(v) for v in series.values())
    fig.update_xaxes(title_text="Epoch", automargin=True, tickangle=0, tick0=0, dtick=_epoch_step(epochs))
    fig.update_yaxes(title_text="Loss", automargin=True, row=1, col=1)
    fig.update_yaxes(title_text="Accuracy", automargin=True, row=1, col=2)
    return fig


def _curve_name(key: str) -> str:
    """A history key in words, for the legend: ``"validation loss"`` for ``val_loss`` (which read as code to someone
    who does not program), ``"training accuracy"`` for ``accuracy``."""
    base = key.removeprefix("val_")
    return f"{'validation' if base != key else 'training'} {base.replace('_', ' ')}"


#: The most epoch numbers on a training curve's axis: six fit level in the 150 pixels a plot has at 800 pixels.
EPOCH_TICKS = 6


def _epoch_step(epochs: int) -> int:
    """The step between the epoch numbers on the axis: 1, 2 or 5 times a power of ten, the smallest that names at most
    :data:`EPOCH_TICKS` of ``epochs`` (1 up to 6 epochs, 2 up to 12, 5 up to 30, 10 up to 60...)."""
    power = 1
    while True:
        for step in (power, 2 * power, 5 * power):
            if math.ceil(epochs / step) <= EPOCH_TICKS:
                return step
        power *= 10


def model_scores_figure(rows: list[dict]) -> go.Figure:
    """Horizontal bars of each saved model's test macro-F1 and weighted-F1.

    Parameters
    ----------
    rows : list of dict
        Each with ``name``, ``macro_f1`` and ``weighted_f1`` (missing or None scores are NaN).
        Drawn top to bottom in the order given.

    Returns
    -------
    go.Figure
        ``fig.data[0]`` macro-F1 and ``fig.data[1]`` weighted-F1, ``y`` = model names, ``x`` in 0..1.
    """
    title = "Saved models: test macro-F1 and weighted-F1"
    if not rows:
        return _empty_figure(title, "no saved models")

    def value(row: dict, key: str) -> float:
        v = row.get(key)
        return float("nan") if v is None else float(v)

    names = [str(r["name"]) for r in rows]
    fig = go.Figure()
    for key, label, color in (("macro_f1", "macro-F1", "#4c78a8"), ("weighted_f1", "weighted-F1", "#9ecae9")):
        vals = [value(r, key) for r in rows]
        fig.add_bar(
            name=label,
            y=names,
            x=vals,
            orientation="h",
            marker_color=color,
            text=["" if math.isnan(v) else f"{v:.3f}" for v in vals],
            # At the bar's end inside it (in a colour that stands out from the bar's), outside only a bar too short
            # for it: outside, "0.990" ran past the plot's right edge at 800 pixels.
            textposition="auto",
            insidetextanchor="end",
            cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{label} %{{x:.4f}}<extra></extra>",
        )
    _style(fig, title, "Score on the test set", "Model", height=_rows_height(len(rows), per_row=44, base=160),
           barmode="group", legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1.0, "xanchor": "right"})  # fmt: skip
    fig.update_xaxes(range=[0, 1.0])
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


# ----------------------------------------------------------------------------------------------
# Explanations and the alarm threshold (core.explain, core.threshold)
# ----------------------------------------------------------------------------------------------

__all__ += [
    "attribution_figure",
    "class_profile_figure",
    "importance_figure",
    "precision_recall_figure",
    "roc_figure",
]

_PUSH_UP = "#d62728"  # towards the predicted class
_PUSH_DOWN = "#4c78a8"  # away from it
#: What a permutation-importance bar means, and the expert's measure of it: the chart's x-axis and its hover say both
#: (the axis said only "Drop in macro-F1 when the feature's values are shuffled"; the hover "macro-F1 drops by 0.0123
#: when shuffled"). The PDF report's chart says the axis on one line.
IMPORTANCE_MEANS = "How much the model's verdicts depend on it"
IMPORTANCE_MEASURE = "drop in macro-F1 when it is shuffled"
IMPORTANCE_AXIS = f"{IMPORTANCE_MEANS}<br>({IMPORTANCE_MEASURE})"


def importance_figure(frame: pd.DataFrame, top: int = 15, title: str | None = None) -> go.Figure:
    """Ranked horizontal bars of permutation importance, most important on top.

    Parameters
    ----------
    frame : DataFrame
        ``feature``, ``meaning``, ``importance`` (drop in macro-F1 when shuffled), ``std``; most important
        first (:attr:`core.explain.FeatureImportance.frame`).

    Returns
    -------
    go.Figure
        ``fig.data[0]``: ``y`` = features, ``x`` = importance, ``error_x`` = std, meanings in ``customdata``; only
        the features whose shuffling lowered macro-F1 (at most ``top``): on one class's flows, a top 15 of 7 such
        features and 8 at 0 or below drew empty rows and whiskers that a reader took for features that matter.
    """
    rows = frame[frame["importance"] > 0].head(top) if frame is not None and len(frame) else pd.DataFrame()
    title = title or f"Which features matter most (top {len(rows)})"
    if frame is None or frame.empty:
        return _empty_figure(title, "no feature importance")
    if rows.empty:
        return _empty_figure(title, "shuffling no feature lowered macro-F1")
    # In the axis's words, to 3 decimals as the reports' scores (it said "macro-F1 drops by 0.0123 when shuffled").
    hover = (f"<b>%{{y}}</b>: %{{customdata}}<br>{IMPORTANCE_MEANS}: %{{x:.3f}}<br>({IMPORTANCE_MEASURE})"
             "<extra></extra>")  # fmt: skip
    fig = go.Figure(
        go.Bar(
            y=rows["feature"].tolist(),
            x=rows["importance"].to_numpy(dtype=float),
            error_x={"type": "data", "array": rows["std"].to_numpy(dtype=float), "visible": True},
            orientation="h",
            marker_color="#4c78a8",
            customdata=rows["meaning"].tolist(),
            hovertemplate=hover,
            showlegend=False,
        )
    )
    _style(fig, title, IMPORTANCE_AXIS, None,
           height=_rows_height(len(rows), per_row=26, base=140, minimum=300))  # fmt: skip
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def attribution_figure(frame: pd.DataFrame, predicted: str, top: int = 12, title: str | None = None,
                       reference: str = "benign") -> go.Figure:  # fmt: skip
    """Horizontal bars: how much each feature pushed one row towards (red, +) or away from (blue, -) its
    predicted class; the row's value and the typical benign value in each label and hover.

    Parameters
    ----------
    frame : DataFrame
        ``feature``, ``meaning``, ``value``, ``typical_benign``, ``contribution``, largest absolute first
        (:attr:`core.explain.RowExplanation.frame`).
    reference : str
        What the ``typical_benign`` values are called in the labels: "benign", or "typical" where they are not benign
        traffic's (:attr:`core.explain.RowExplanation.baseline_benign` False: a model trained without Benign).

    Returns
    -------
    go.Figure
        ``fig.data[0]``: ``y`` = features (largest on top), ``x`` = contributions, red for positive.
    """
    title = title or f"Why this flow was classed as {predicted}"
    if frame is None or frame.empty:
        return _empty_figure(title, "no explanation")
    rows = frame[frame["contribution"] != 0].head(top)  # a feature that changed nothing explains nothing
    if rows.empty:
        return _empty_figure(title, "no single feature changes this prediction")
    contrib = rows["contribution"].to_numpy(dtype=float)
    labels = [f"{f} = {_short(v)} ({reference} ~{_short(b)})"
              for f, v, b in zip(rows["feature"], rows["value"], rows["typical_benign"])]  # fmt: skip
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=contrib,
            orientation="h",
            marker_color=[_PUSH_UP if c >= 0 else _PUSH_DOWN for c in contrib],
            customdata=rows["meaning"].tolist(),
            hovertemplate="<b>%{y}</b><br>%{customdata}<br>pushes the probability by %{x:+.3f}<extra></extra>",
            showlegend=False,
        )
    )
    _style(fig, title, f"Change in the probability of<br>{predicted} (+ towards, - away)", None,
           height=_rows_height(len(rows), per_row=28, base=140, minimum=300))  # fmt: skip
    fig.update_yaxes(type="category", autorange="reversed")
    fig.add_vline(x=0, line_color="#555", line_width=1)
    return fig


def _short(v: float) -> str:
    """A raw feature value, short: 3 significant digits, thousands separated."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
        return f"{v:.2e}"
    return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def class_profile_figure(profiles: pd.DataFrame, cls: str, title: str | None = None) -> go.Figure:
    """Bars of the features that most set one class apart from the reference (benign) traffic.

    Parameters
    ----------
    profiles : DataFrame
        :func:`core.explain.class_profiles` output (``class``, ``feature``, ``meaning``, ``difference``,
        ``class_median``, ``reference_median``, ``reference``).
    cls : str
        The class to draw.

    Returns
    -------
    go.Figure
        ``fig.data[0]``: ``y`` = features, ``x`` = difference in training standard deviations, coloured
        with the class's colour when higher than the reference and grey when lower.
    """
    rows = profiles[profiles["class"] == cls] if profiles is not None and len(profiles) else pd.DataFrame()
    reference = str(rows["reference"].iloc[0]) if len(rows) else "Benign"
    # "Benign traffic", but "all other rows" (where there was no benign traffic to compare with), not "... rows traffic"
    title = title or f"What sets {cls} apart from " + (f"{reference} traffic" if reference == "Benign" else reference)
    if rows.empty:
        return _empty_figure(title, f"no rows of {cls}")
    diff = rows["difference"].to_numpy(dtype=float)
    medians = [_short(v) for v in rows["class_median"]]
    reference_medians = [_short(v) for v in rows["reference_median"]]
    hover = (f"<b>%{{y}}</b>: %{{customdata[0]}}<br>median {cls}: %{{customdata[1]}}, {reference}: "
             "%{customdata[2]}<br>difference %{x:+.2f} standard deviations<extra></extra>")  # fmt: skip
    fig = go.Figure(
        go.Bar(
            y=rows["feature"].tolist(),
            x=diff,
            orientation="h",
            marker_color=[class_color(cls) if d >= 0 else UNKNOWN_COLOR for d in diff],
            customdata=np.column_stack([rows["meaning"].tolist(), medians, reference_medians]),
            hovertemplate=hover,
            showlegend=False,
        )
    )
    # The axis says how big a difference is in the glossary's words, as the Analyze page's caption does
    # (profile_words), broken into lines that fit a narrow page; the subtitle what the two colours are (nothing said
    # it: a reader took the grey bars for features that do not count).
    axis = _narrow_lines(f"Difference from {reference}, in standard deviations: {SPREAD_SCALE}")
    _style(fig, title, axis, None, height=_rows_height(len(rows), per_row=26, base=160, minimum=300),
           margin={**MARGIN, "t": 95})  # fmt: skip
    key = (f"<span style='color:{class_color(cls)}'>■</span> higher than {reference}   "
           f"<span style='color:{UNKNOWN_COLOR}'>■</span> lower than {reference}")  # fmt: skip
    fig.update_layout(title={"subtitle": {"text": key, "font": {"size": 12}}})
    fig.update_yaxes(type="category", autorange="reversed")
    fig.add_vline(x=0, line_color="#555", line_width=1)
    return fig


#: Characters of an axis title's line that fit under a plot at 800 pixels (about 470 for the page's content, less the
#: features' names): a longer one was cut off ("Contribution to the probability of Attack (+ towards it, - aw").
NARROW_AXIS_TITLE = 44


def _narrow_lines(text: str, width: int = NARROW_AXIS_TITLE) -> str:
    """``text`` broken at spaces into lines of at most ``width`` characters, joined by ``<br>``."""
    return "<br>".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False))


def _operating_marker(x: float, y: float, threshold: float, hover: str) -> go.Scatter:
    """The threshold on the slider, as a red cross named in the legend."""
    on_grid = abs(threshold * 100 - round(threshold * 100)) < 1e-9  # 0.50 as the slider shows it; 0.005 whole
    shown = f"{threshold:.2f}" if on_grid else f"{threshold:.3f}"
    return go.Scatter(x=[x], y=[y], mode="markers", name=f"alarm threshold {shown} (the slider)",
                      marker={"color": _PUSH_UP, "size": 12, "symbol": "x"},
                      hovertemplate=f"threshold {threshold:.3f}<br>{hover}<extra></extra>")  # fmt: skip


def _curve_layout(fig: go.Figure, title: str) -> go.Figure:
    # The legend at the foot of the figure, under the axis title's two lines (just under the plot, it ran into them).
    # The bottom margin is left to Plotly, which makes room for the tick labels, the axis title and the legend's lines
    # at the width drawn: a margin of 120 pixels for two lines of axis title left 48 blank pixels over the legend under
    # an axis title of one line.
    _style(fig, title, height=460, legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom",
                                           "x": 0.0, "xanchor": "left"})  # fmt: skip
    return fig.update_xaxes(automargin=True).update_yaxes(automargin=True)


def roc_figure(curves, title: str | None = None) -> go.Figure:
    """The ROC curve (false-alarm rate across, detection rate up) with the operating point marked.

    Returns
    -------
    go.Figure
        ``fig.data[0]`` the curve (``x`` = false-alarm rate, ``y`` = detection rate), ``fig.data[1]`` the operating
        point. Half a page wide: drawn beside :func:`precision_recall_figure` where the page is wide, under it where
        it is narrow (side by side in one figure, at 800 pixels their axis titles ran into each other).
    """
    op = curves.operating
    fig = go.Figure()
    fig.add_scatter(x=curves.fpr, y=curves.tpr, mode="lines", line={"color": "#4c78a8"}, name="ROC curve",
                    customdata=curves.roc_thresholds, showlegend=False,
                    hovertemplate="false alarms %{x:.2%}<br>attacks caught %{y:.2%}<br>threshold %{customdata:.3f}"
                    "<extra></extra>")  # fmt: skip
    fig.add_trace(_operating_marker(op.false_alarm_rate, 1 - op.missed_rate, op.threshold,
                                    "false alarms %{x:.2%}<br>attacks caught %{y:.2%}"))  # fmt: skip
    _curve_layout(fig, title or f"ROC (area {curves.roc_auc:.3f})")
    fig.update_xaxes(title_text="False-alarm rate<br>(share of benign flows flagged)", range=[-0.01, 1.01])
    fig.update_yaxes(title_text="Detection rate (share of attacks caught)", range=[-0.01, 1.01])
    return fig


def precision_recall_figure(curves, title: str | None = None) -> go.Figure:
    """The precision-recall curve with the operating point marked.

    Returns
    -------
    go.Figure
        ``fig.data[0]`` the curve (``x`` = recall, ``y`` = precision), ``fig.data[1]`` the operating point.
    """
    op = curves.operating
    fig = go.Figure()
    fig.add_scatter(x=curves.recall, y=curves.precision, mode="lines", line={"color": "#54a24b"},
                    name="precision-recall curve", customdata=np.append(curves.pr_thresholds, np.nan),
                    showlegend=False, hovertemplate="attacks caught %{x:.2%}<br>alarms that are real %{y:.2%}<br>"
                    "threshold %{customdata:.3f}<extra></extra>")  # fmt: skip
    fig.add_trace(_operating_marker(1 - op.missed_rate, curves.operating_precision, op.threshold,
                                    "attacks caught %{x:.2%}<br>alarms that are real %{y:.2%}"))  # fmt: skip
    _curve_layout(fig, title or f"Precision-recall (average precision {curves.average_precision:.3f})")
    fig.update_xaxes(title_text="Recall (share of attacks caught)", range=[-0.01, 1.01])
    fig.update_yaxes(title_text="Precision (share of alarms<br>that are attacks)", range=[-0.01, 1.01])
    return fig
