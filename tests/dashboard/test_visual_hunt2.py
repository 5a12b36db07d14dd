"""A second visual hunt at 800 pixels (Chromium; about 470 pixels for the page's content with the sidebar open) and at
1400, on the Analyze and Compare pages with 19-class models.

Found: in ``st.columns(2)`` the Analyze page's two charts were 226 pixels wide each (class names in a heap, the axis
title cut off), its model box cut the model's macro-F1 off and its filter row read "Onl…"; 19 x 19 confusion matrices
named only every second or third class and ran two-line numbers in a fixed font into each other; the per-class F1
heatmap had 15-pixel cells for 4-character numbers; the comparison bars' legend took 180 of the 470 pixels.

Checked on the figures of :mod:`core.figures` and the element tree of AppTest, and once in a real browser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from core import figures as F
from core.compare import ModelScore
from core.evaluation import evaluate
from core.taxonomy import CLASSES_6, CLASSES_19
from tests.dashboard.test_browser import (  # noqa: F401 (browser, page, app_url: fixtures)
    SCORE_MS,
    app_url,
    browser,
    choose,
    expect,
    go_to,
    open_app,
    page,
    plot_titled,
    wait_idle,
)
from tests.dashboard.test_visual_hunt import analyze_demo, is_column, pixel_width, placed, wrapping_row

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _report(task_classes, n: int = 2_000, seed: int = 0):
    """A report with every class true and predicted, most rows right, some cells empty."""
    rng = np.random.default_rng(seed)
    k = len(task_classes)
    y_true = np.arange(n) % k
    y_pred = np.where(rng.random(n) < 0.8, y_true, rng.integers(0, k, n))
    return evaluate(y_true, y_pred, task=k, task_classes=task_classes)


# ---------------------------------------------------------------------------------- figures


@pytest.mark.parametrize("normalize", [None, "true"])
def test_a_19_class_confusion_matrix_names_every_class_and_fits_its_numbers(normalize):
    report = _report(CLASSES_19)
    fig = F.confusion_figure(report, normalize)
    heat = fig.data[0]
    # Every class named on both axes (Plotly's own ticks named one class in two or three at 800 pixels).
    assert fig.layout.xaxis.tickmode == "linear" and fig.layout.xaxis.dtick == 1
    assert fig.layout.xaxis.tickangle is None, "Plotly turns the labels as far as the width drawn needs"
    assert list(fig.layout.yaxis.tickvals) == list(CLASSES_19)
    ticktext = list(fig.layout.yaxis.ticktext)
    assert ticktext[CLASSES_19.index("MQTT-DDoS-Connect_Flood")] == "MQTT-DDoS-<br>Connect_Flood"
    assert ticktext[CLASSES_19.index("Benign")] == "Benign"
    # One short number per cell, at a legible smallest size (test_visual_hunt4); nothing in empty cells; all of it in
    # the hover.
    assert heat.textfont.size == F.CELL_FONT_MIN
    text = np.asarray(heat.text, dtype=object)
    counts = np.asarray(report.confusion_matrix)
    assert not any("<br>" in t for t in text.ravel())
    assert (text[counts == 0] == "").all() and (counts == 0).any()
    i, j = np.argwhere(counts > 0)[0]
    pct = 100 * counts[i, j] / counts[i].sum()
    assert text[i, j] == (f"{counts[i, j]:,}" if normalize is None else f"{pct:.0f}")
    assert heat.customdata[i][j] == f"{counts[i, j]:,}<br>{pct:.1f}%"
    assert "%{customdata}" in heat.hovertemplate
    assert heat.colorbar.orientation == "h", "above the matrix, not beside it"


def test_a_6_class_confusion_matrix_keeps_counts_and_shares_in_its_cells():
    fig = F.confusion_figure(_report(CLASSES_6))
    heat = fig.data[0]
    assert heat.textfont.size == 12 and "<br>" in heat.text[0][0]
    assert heat.colorbar.orientation is None and fig.layout.xaxis.dtick is None


def test_6_class_names_are_turned_as_far_as_the_width_drawn_needs():
    """At 0 degrees, fixed, "Benign", "Spoofing" and "MQTT" ran together under a heatmap at 800 pixels."""
    scores = [ModelScore(name=n, family=n, task=6, report=_report(CLASSES_6, seed=s), rows_per_second=1.0,
                         fit_seconds=None) for s, n in enumerate(("rf", "lr"))]  # fmt: skip
    for fig in (F.per_class_f1_heatmap(scores), F.confusion_figure(scores[0].report),
                F.class_counts_figure({c: 10 for c in CLASSES_6}), F.prediction_error_figure(scores[0].report)):  # fmt: skip
        assert fig.layout.xaxis.tickangle is None, fig.layout.title.text


def test_per_class_f1_of_19_classes_has_the_classes_as_rows():
    scores = [ModelScore(name=n, family=n, task=19, report=_report(CLASSES_19, seed=s), rows_per_second=1.0,
                         fit_seconds=None) for s, n in enumerate(("rf", "lr", "cnn"))]  # fmt: skip
    fig = F.per_class_f1_heatmap(scores)
    heat = fig.data[0]
    assert list(heat.y) == list(CLASSES_19) and list(heat.x) == ["rf", "lr", "cnn"]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (19, 3)
    assert z[CLASSES_19.index("DoS-UDP"), 1] == pytest.approx(scores[1].report.per_class["DoS-UDP"]["f1"])
    assert heat.text[0][2] == f"{z[0, 2]:.2f}"
    assert fig.layout.yaxis.dtick == 1, "every class named"
    assert fig.layout.height >= 19 * 28


def test_class_counts_of_19_classes_name_every_bar():
    counts = {c: 100 + i for i, c in enumerate(CLASSES_19)}
    fig = F.class_counts_figure(counts)
    assert fig.layout.xaxis.tickmode == "linear" and fig.layout.xaxis.dtick == 1
    assert fig.layout.uniformtext.mode == "hide", "a count too small to read is left to the hover"


def test_comparison_legend_sits_above_the_bars_not_beside_them():
    scores = [ModelScore(name=f"model-{i}", family="rf", task=6, report=_report(CLASSES_6, seed=i),
                         rows_per_second=1.0, fit_seconds=None) for i in range(4)]  # fmt: skip
    fig = F.comparison_bars(scores)
    legend = fig.layout.legend  # hung from under the title, at the top of the figure
    assert legend.orientation == "h" and legend.yref == "container" and legend.yanchor == "top" and legend.y > 0.9
    assert fig.layout.uniformtext.mode == "hide"


def test_class_prediction_error_of_19_classes_keeps_its_legend_under_the_bars():
    fig = F.prediction_error_figure(_report(CLASSES_19))
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0, "under the chart, in rows"
    assert fig.layout.xaxis.dtick == 1, "every true class named"
    small = F.prediction_error_figure(_report(CLASSES_6))
    assert small.layout.legend.orientation is None, "6 names fit beside the bars"


def test_per_class_bars_put_their_legend_under_the_title_not_at_its_end():
    fig = F.per_class_metrics_figure(_report(CLASSES_19))
    assert fig.layout.legend.x == 0 and fig.layout.legend.xanchor == "left"
    # Hung from under the title, in the figure's pixels (a fixed top margin of 100 left a blank band: test_visual_hunt6).
    assert fig.layout.title.yref == "container" and fig.layout.legend.yref == "container"
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y == 1 - F.TITLE_ROOM / fig.layout.height


# ---------------------------------------------------------------------------------- the page's layout


def test_analyze_halves_wrap_instead_of_being_squeezed(registry_env):
    """The traffic and detector choices, the two charts, and the filters: rows that wrap, not fixed columns."""
    at = analyze_demo("test-rf-19class", 19)
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    charts = {user_key_from_element_id(c.proto.id): parents for c, parents in placed(at, "plotly_chart")}
    widgets = {getattr(w, "key", None): parents for kind in ("selectbox", "multiselect", "slider", "checkbox")
               for w, parents in placed(at, kind)}  # fmt: skip
    for key, parents in [*((k, charts[k]) for k in ("analyze_counts", "analyze_confidence")),
                         *((k, widgets[k]) for k in ("analyze_task", "analyze_model"))]:  # fmt: skip
        assert not any(is_column(b) for b in parents), f"{key} in a column"
        assert pixel_width(parents[-1]), f"{key} in a half of fixed width"
        assert wrapping_row(parents[-2]), f"{key}: the halves in a row that wraps"
    for key in ("analyze_filter_classes", "analyze_filter_confidence", "analyze_filter_wrong"):
        assert not any(is_column(b) for b in widgets[key]), f"{key} in a column"
        assert wrapping_row(widgets[key][-1]), f"{key} not in a row that wraps"
    # The per-class table: the class names pinned and wide enough to read ("MQTT-DDoS-Pul" at 800 pixels).
    (table,) = [d for d in at.dataframe if "precision" in d.value.columns and "support" in d.value.columns]
    config = json.loads(table.proto.columns)["class"]
    assert config["pinned"] is True and config["width"] == "medium"


# ---------------------------------------------------------------------------------- in a real browser


def _corners(locator) -> list[list[tuple[float, float]]]:
    """The four corners on screen of each SVG text of ``locator``, turned as drawn (a label at -45 degrees has an
    upright bounding box far larger than itself, so boxes alone would find overlaps where there are none)."""
    return locator.evaluate_all("""els => els.map(e => { const b = e.getBBox(), m = e.getScreenCTM();
        return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
            .map(([x, y]) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x, p.y]; }); })""")


def _apart(a, b, slack: float) -> bool:
    """Whether two convex quadrilaterals are apart (by more than ``-slack`` pixels) along one of their edges' normals
    (the separating axis theorem)."""
    for poly in (a, b):
        for (x1, y1), (x2, y2) in zip(poly, poly[1:] + poly[:1]):
            nx, ny = y1 - y2, x2 - x1
            norm = (nx * nx + ny * ny) ** 0.5 or 1.0
            pa = [(x * nx + y * ny) / norm for x, y in a]
            pb = [(x * nx + y * ny) / norm for x, y in b]
            if max(pa) - slack <= min(pb) or max(pb) - slack <= min(pa):
                return True
    return False


def _overlapping(locator, slack: float = 1.0) -> list[tuple[int, int]]:
    """Pairs of the texts of ``locator`` that overlap on screen by more than ``slack`` pixels."""
    shapes = _corners(locator)
    return [(i, j) for i, a in enumerate(shapes) for j, b in enumerate(shapes[i + 1 :], i + 1)
            if not _apart(a, b, slack)]  # fmt: skip


@pytest.mark.browser
def test_analyze_19_classes_at_800_then_1400_pixels(page, app_url):  # noqa: F811
    open_app(page, app_url)
    page.set_viewport_size({"width": 800, "height": 1000})
    go_to(page, "Analyze traffic", "Analyze traffic")
    page.get_by_text("Demo traffic (synthetic)", exact=True).click()
    wait_idle(page)
    choose(page, "Task", "19 classes")
    label = "Model (v2 models, best test macro-F1 first)"
    expect(page.get_by_role("combobox", name=label, exact=True)).to_have_value(
        # the whole label, macro-F1 included: in a half column it was cut off after the layout
        re.compile(r"^test-\S+-19class · \S+ · v2 · macro-F1 \d\.\d{3}$"),
        timeout=SCORE_MS,
    )
    wait_idle(page)
    choose(page, label, "test-rf-19class")
    expect(page.get_by_role("heading", name="How good were these predictions?")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)

    counts = plot_titled(page, "Rows per predicted class").first
    confidence = plot_titled(page, "Confidence of each prediction").first
    a, b = counts.bounding_box(), confidence.bounding_box()
    assert b["y"] >= a["y"] + a["height"] - 1, f"one under the other at 800 pixels: {a} {b}"
    assert a["width"] >= 400 and b["width"] >= 400
    bar_names = counts.locator(".xtick text")
    expect(bar_names).to_have_count(19)
    assert not (pairs := _overlapping(bar_names)), f"class names run into each other: {pairs[:5]}"

    matrix = plot_titled(page, "Confusion matrix").first
    matrix.scroll_into_view_if_needed()
    for axis in (".xtick text", ".ytick text"):
        names = matrix.locator(axis)
        expect(names).to_have_count(19)
        assert not (pairs := _overlapping(names)), f"{axis}: {pairs[:5]}"
    numbers = matrix.locator(".heatmap-label text")
    assert numbers.count() > 19, "the cells' numbers are drawn"
    assert not (pairs := _overlapping(numbers)), f"numbers run into each other: {pairs[:5]}"
    assert (
        not page.locator('[data-testid="stCheckbox"]')
        .filter(has_text="Only mistakes")
        .evaluate("e => { const p = e.querySelector('p'); return p.scrollWidth > p.clientWidth; }")
    ), "'Only mistakes' cut off"

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(500)  # the layout and the charts follow the new width
    a, b = counts.bounding_box(), confidence.bounding_box()
    assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"], f"side by side at 1400 pixels: {a} {b}"
