"""A sixth visual hunt: blank bands around the legends of core.figures' charts, measured in Chromium.

Each figure is drawn by Plotly on a plain page (no Streamlit) at the width a chart has on a page 800, 1,400 and 1,920
pixels wide with the sidebar open (about 470, 1,070 and 1,590 pixels), one browser and one page for the file.

Found: the Analyze page's per-class bars kept a top margin of 100 pixels with their legend at the plot's top edge: a
blank band of 43 to 52 pixels between the title and a legend that is always one line. The ROC and precision-recall
curves and the training curves kept a bottom margin of 110-120 pixels with their legend at the figure's foot: 48
blank pixels between the precision-recall curve's axis title and its legend, 38 under the training curves'.
"""

from __future__ import annotations

import numpy as np
import pytest

from core import figures as F
from core import threshold as th
from core.evaluation import evaluate
from core.taxonomy import CLASSES_2, CLASSES_19
from tests.dashboard.test_browser import ARTIFACTS, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

#: A chart's width on a page 800, 1,400 and 1,920 pixels wide, with the sidebar open.
WIDTHS = (470, 1070, 1590)
#: The most blank pixels between a legend and what it sits next to: about a line of text.
BAND = 25


def _report(classes, n: int = 600):
    rng = np.random.default_rng(0)
    y_true = np.arange(n) % len(classes)
    y_pred = np.where(rng.random(n) < 0.8, y_true, rng.integers(0, len(classes), n))
    return evaluate(y_true, y_pred, task=len(classes), task_classes=classes)


def _curves():
    is_attack = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    p = np.array([0.1, 0.2, 0.6, 0.3, 0.4, 0.7, 0.8, 0.9])
    return th.with_operating_point(th.curves(is_attack, p), is_attack, p, 0.5)


def _history(epochs: int = 12) -> dict[str, list[float]]:
    return {"loss": [1 / (e + 1) for e in range(epochs)], "val_loss": [1.1 / (e + 1) for e in range(epochs)],
            "accuracy": [1 - 1 / (e + 2) for e in range(epochs)], "val_accuracy": [0.9 - 1 / (e + 3) for e in range(epochs)]}  # fmt: skip


# The boxes, in pixels from the figure's top: [top, bottom] of each element drawn.
_BOXES = """() => {
  const svg = document.querySelector('.js-plotly-plot .main-svg');
  const top = svg.getBoundingClientRect().top;
  const boxes = s => [...document.querySelectorAll(s)].map(e => e.getBoundingClientRect())
    .filter(r => r.height > 0).map(r => [r.top - top, r.bottom - top, r.left, r.right]);
  return {height: svg.getBoundingClientRect().height, title: boxes('.gtitle'), legend: boxes('.legend'),
          plot: boxes('.nsewdrag'), ticks: boxes('.xtick text, .x2tick text, .ytick text, .y2tick text'),
          axis_titles: boxes('.xtitle, .x2title, .ytitle, .y2title'), annotations: boxes('.annotation')};
}"""


@pytest.fixture(scope="module")
def plain_page(browser):  # noqa: F811
    """One tab for the whole file: each figure is set as its content in turn."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _measure(page, fig, name: str, width: int) -> dict:
    page.set_viewport_size({"width": width + 40, "height": 900})
    page.set_content(fig.to_html(include_plotlyjs=True, full_html=True, default_width=f"{width}px"))
    page.wait_for_selector(".js-plotly-plot .main-svg")
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / f"visual-hunt6-{name}-{width}.png"))
    boxes = page.evaluate(_BOXES)
    assert len(boxes["legend"]) == 1 and boxes["title"], f"{name}: a title and a legend drawn"
    return boxes


def _overlap(a, b) -> bool:
    return a[0] < b[1] - 0.5 and b[0] < a[1] - 0.5 and a[2] < b[3] - 0.5 and b[2] < a[3] - 0.5


@pytest.mark.parametrize("classes", [CLASSES_2, CLASSES_19], ids=["2-class", "19-class"])
def test_the_per_class_legend_sits_close_under_the_title(plain_page, classes):
    fig = F.per_class_metrics_figure(_report(classes))
    for width in WIDTHS:
        b = _measure(plain_page, fig, f"per-class-{len(classes)}", width)
        title, legend, plot = b["title"][0], b["legend"][0], b["plot"][0]
        above, below = legend[0] - title[1], plot[0] - legend[1]
        assert above >= 0, f"{width} pixels: the legend runs under the title"
        assert below >= 0, f"{width} pixels: the legend runs into the bars"
        # A top margin of 100 pixels left 43 to 52 blank pixels between the title and the legend's one line.
        assert above < BAND and below < BAND, f"{width} pixels: blank bands of {above:.0f} and {below:.0f} pixels"
        assert not [t for t in b["ticks"] if _overlap(t, legend)], f"{width} pixels: a tick label under the legend"
        assert plot[1] - plot[0] >= 30 * len(classes), f"{width} pixels: bars of {plot[1] - plot[0]:.0f} pixels"


@pytest.mark.parametrize("name", ["roc", "precision-recall", "training-curves"])
def test_a_legend_at_the_foot_sits_close_under_the_axis_title(plain_page, name):
    fig = {"roc": lambda: F.roc_figure(_curves()), "precision-recall": lambda: F.precision_recall_figure(_curves()),
           "training-curves": lambda: F.training_curves(_history())}[name]()  # fmt: skip
    for width in WIDTHS:
        b = _measure(plain_page, fig, name, width)
        legend = b["legend"][0]
        axes = [box for box in b["ticks"] + b["axis_titles"] + b["plot"] if box[0] < legend[0]]
        lowest = max(box[1] for box in axes)
        above, below = legend[0] - lowest, b["height"] - legend[1]
        assert not [t for t in b["ticks"] + b["axis_titles"] if _overlap(t, legend)], f"{width}: under the legend"
        # A bottom margin of 110-120 pixels left up to 48 blank pixels between the axis title and the legend.
        assert 0 <= above < BAND, f"{width} pixels: {above:.0f} blank pixels between the axis title and the legend"
        assert below < BAND, f"{width} pixels: {below:.0f} blank pixels under the legend"
        heights = [p[1] - p[0] for p in b["plot"]]
        assert min(heights) >= 240, f"{width} pixels: plots of {heights} pixels high"
