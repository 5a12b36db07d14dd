"""A fifth visual hunt, in Chromium at 800 pixels (about 470 for the page's content with the sidebar open): the
Overview and Models pages.

Found: on the Overview's bars of each saved model's test scores, a label such as "0.990", drawn outside its bar, ran
past the plot's right edge; the training curves' 12 epoch numbers were turned sideways (each plot has about 150
pixels); on a model card's "Settings and versions" tab, the parameters, timing and library versions in three columns
were each 145 pixels wide: the parameters' values were cut off ("Fals", "cos") and the timing's were out of sight.

The figures are drawn by Plotly in Chromium on their own (seconds), the page in the served app.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from core import figures as F
from tests.dashboard import test_browser as B
from tests.dashboard.test_browser import app_url, browser, page  # noqa: F401 (fixtures)

#: The width of a chart on a page 800 pixels wide with the sidebar open.
NARROW = 470

SCORES = [{"name": "demo-rf-2class", "macro_f1": 0.942, "weighted_f1": 0.990},
          {"name": "demo-paper-cnn-2class", "macro_f1": 0.908, "weighted_f1": 0.984},
          {"name": "demo-lr-2class", "macro_f1": 0.02, "weighted_f1": None}]  # fmt: skip


def _history(epochs: int) -> dict[str, list[float]]:
    return {"loss": [1 / (e + 1) for e in range(epochs)], "val_loss": [1.1 / (e + 1) for e in range(epochs)],
            "accuracy": [1 - 1 / (e + 2) for e in range(epochs)], "val_accuracy": [0.9 - 1 / (e + 3) for e in range(epochs)]}  # fmt: skip


def _draw(page, fig, width: int = NARROW) -> None:  # noqa: F811
    """``fig`` drawn by Plotly in the browser, ``width`` pixels wide."""
    page.set_viewport_size({"width": width + 40, "height": 900})
    page.set_content(fig.to_html(include_plotlyjs=True, full_html=True, default_width=f"{width}px"))
    page.wait_for_selector(".js-plotly-plot .main-svg")


# ---------------------------------------------------------------------------------- figures


def test_score_labels_sit_inside_their_bars():
    """Outside its bar, a score near 1 had to fit in the axis' 0.08 beyond 1: about 20 pixels at 800 pixels."""
    fig = F.model_scores_figure(SCORES)
    for bars in fig.data:
        assert bars.textposition == "auto" and bars.insidetextanchor == "end", "inside, outside only a short bar"
        assert bars.textfont.color is None and bars.insidetextfont.color is None, "Plotly's colour against the bar"
    assert list(fig.layout.xaxis.range) == [0, 1]
    assert list(fig.data[0].text) == ["0.942", "0.908", "0.020"] and fig.data[1].text[2] == ""


@pytest.mark.parametrize("epochs", [1, 3, 6, 7, 12, 30, 31, 100, 1000])
def test_epoch_numbers_are_level_whole_and_few(epochs):
    fig = F.training_curves(_history(epochs))
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert axis.tickangle == 0 and axis.tick0 == 0 and isinstance(axis.dtick, int)
        assert epochs / axis.dtick <= F.EPOCH_TICKS
        assert axis.dtick == 1 or epochs / (axis.dtick // 2 or 1) > F.EPOCH_TICKS, "the smallest step that fits"
        assert str(axis.dtick).rstrip("0") in {"1", "2", "5"}, "1, 2 or 5 times a power of ten"


@pytest.mark.browser
def test_score_labels_stay_in_the_plot_at_800_pixels(page):  # noqa: F811
    fig = F.model_scores_figure(SCORES)
    _draw(page, fig)
    plot = page.locator(".nsewdrag").first.bounding_box()
    labels = page.locator(".bartext")
    texts, boxes = labels.all_text_contents(), [b.bounding_box() for b in labels.all()]
    assert "0.990" in texts
    out = [t for t, b in zip(texts, boxes) if b["x"] + b["width"] > plot["x"] + plot["width"] + 0.5]
    assert not out, f"past the plot's right edge at {plot['x'] + plot['width']:.0f} pixels: {out}"


@pytest.mark.browser
@pytest.mark.parametrize("epochs", [12, 40])
def test_epoch_numbers_are_level_and_apart_at_800_pixels(page, epochs):  # noqa: F811
    _draw(page, F.training_curves(_history(epochs)))
    for axis in ("xtick", "x2tick"):
        ticks = page.locator(f".{axis} text")
        assert ticks.count() >= 2
        turned = ticks.evaluate_all("ts => ts.filter(t => /rotate\\((?!0[,)])/.test(t.getAttribute('transform') || ''))"
                                    ".map(t => t.textContent)")  # fmt: skip
        assert not turned, f"turned sideways: {turned}"
        boxes = sorted((b["x"], b["x"] + b["width"]) for b in (t.bounding_box() for t in ticks.all()))
        assert all(right + 4 <= left for (_, right), (left, _) in pairwise(boxes)), f"too close: {boxes}"


# ---------------------------------------------------------------------------------- the Models page


@pytest.mark.browser
def test_settings_tables_show_their_values_at_800_pixels(page, app_url):  # noqa: F811
    B.open_app(page, app_url)
    page.set_viewport_size({"width": 800, "height": 1000})
    B.go_to(page, "Models", "Saved models")
    page.get_by_role("tab", name="Settings and versions").click()
    B.wait_idle(page)
    panel = page.get_by_role("tabpanel", name="Settings and versions")
    tables = panel.locator('[data-testid="stDataFrame"]')
    B.expect(tables).to_have_count(3)
    widths = [t.bounding_box()["width"] for t in tables.all()]
    assert min(widths) >= 400, f"each table the page's width at 800 pixels, one under the other: {widths}"
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(500)  # the layout follows the new width
    a, b = (t.bounding_box() for t in tables.all()[:2])
    assert abs(a["y"] - b["y"]) < 1 and b["x"] > a["x"] + a["width"], "side by side on a wide page"


def test_curves_are_named_in_words():
    """The legend read "loss, val_loss, accuracy, val_accuracy": Keras' names, code to someone who does not program."""
    fig = F.training_curves({**_history(3), "val_sparse_categorical_accuracy": [0.5, 0.6, 0.7]})
    assert [t.name for t in fig.data] == ["training loss", "validation loss", "training accuracy",
                                          "validation accuracy", "validation sparse categorical accuracy"]  # fmt: skip
    assert all(t.showlegend is not False for t in fig.data)


def test_the_card_says_what_the_training_curves_show(registry_env):
    """Loss, epoch and validation were left unexplained under the curves on a network's model card."""
    from tests.dashboard.test_models_page import models_page

    at = models_page("test-paper-cnn-19class")
    notes = [c.value for c in at.caption if "epoch is one pass over the training rows" in c.value]
    assert len(notes) == 1, [c.value for c in at.caption]
    assert all(words in notes[0] for words in ("loss", "lower is better", "*validation* curves", "memorising"))
