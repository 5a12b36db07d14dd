"""Blank bands around legends, on the figures' layouts (the bands themselves are measured in Chromium in
tests/dashboard/test_visual_hunt6.py): a margin fixed for the most room a legend could need left blank pixels around
the legend it had.

- The per-class bars kept a top margin of 100 pixels over a one-line legend: 43 to 52 blank pixels under the title.
- The ROC, precision-recall and training curves kept a bottom margin of 110-120 pixels for a legend at the figure's
  foot: up to 48 blank pixels between the axis title and the legend.
"""

from __future__ import annotations

import numpy as np
import pytest

from core import figures as F
from core import threshold as th
from core.evaluation import evaluate
from core.taxonomy import CLASSES_2, CLASSES_6, CLASSES_19


def _report(classes):
    y = np.arange(60) % len(classes)
    return evaluate(y, np.roll(y, 1), task=len(classes), task_classes=classes)


def _curves():
    is_attack = np.array([0, 0, 1, 1], dtype=bool)
    p = np.array([0.1, 0.6, 0.4, 0.9])
    return th.with_operating_point(th.curves(is_attack, p), is_attack, p, 0.5)


@pytest.mark.parametrize("classes", [CLASSES_2, CLASSES_6, CLASSES_19])
def test_the_per_class_legend_hangs_under_the_title_and_the_bars_follow_it(classes):
    fig = F.per_class_metrics_figure(_report(classes))
    legend, title = fig.layout.legend, fig.layout.title
    assert legend.yref == "container" and legend.yanchor == "top" and legend.orientation == "h"
    assert legend.y * fig.layout.height == pytest.approx(fig.layout.height - F.TITLE_ROOM), "a fixed distance down"
    assert title.yref == "container" and title.y == 1 and title.yanchor == "top"
    assert fig.layout.margin.t <= F.LEGEND_GAP, "the room over the bars is Plotly's, for the lines drawn"


@pytest.mark.parametrize("build", [lambda: F.roc_figure(_curves()), lambda: F.precision_recall_figure(_curves()),
                                   lambda: F.training_curves({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})])  # fmt: skip
def test_a_legend_at_the_foot_leaves_the_room_under_the_axis_to_plotly(build):
    fig = build()
    legend = fig.layout.legend
    assert legend.yref == "container" and legend.y == 0 and legend.yanchor == "bottom"
    assert fig.layout.margin.b == F.MARGIN["b"], "no margin fixed for the most lines of axis title and legend"
    assert fig.layout.xaxis.automargin and fig.layout.height == 460
