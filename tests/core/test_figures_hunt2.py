"""Figures of the Explain panel, from a third visual hunt at 800 pixels (about 470 for the page's content), each
checked on the real Plotly figure (and failing before its fix):

- one figure held the ROC and precision-recall curves side by side: at 800 pixels their axis titles ran into each
  other and the second curve's title was cut off ("Precision-recall (average precision 0.9");
- the axis titles of the explanations were one line too long for a narrow page: "Contribution to the probability of
  Attack (+ towards it, - aw", cut off at the chart's edge.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import figures as F
from core import threshold as th
from core.taxonomy import CLASSES_19

LONGEST = max(CLASSES_19, key=len)  # MQTT-DDoS-Publish_Flood


def _lines(text: str) -> list[str]:
    return text.split("<br>")


def _curves(threshold: float = 0.5):
    is_attack = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    p = np.array([0.1, 0.2, 0.6, 0.3, 0.4, 0.7, 0.8, 0.9])
    return th.with_operating_point(th.curves(is_attack, p), is_attack, p, threshold)


def _explanation_figures(reference: str = "Benign"):
    frame = pd.DataFrame({"feature": ["Rate", "IAT"], "meaning": ["pps", "gap"], "value": [1.0, 2.0],
                          "typical_benign": [0.0, 1.0], "contribution": [0.3, -0.1]})  # fmt: skip
    importance = pd.DataFrame({"feature": ["Rate"], "meaning": ["pps"], "importance": [0.2], "std": [0.01]})
    profile = pd.DataFrame({"class": [LONGEST], "feature": ["Rate"], "meaning": ["pps"], "difference": [1.5],
                            "class_median": [3.0], "reference_median": [1.0], "reference": [reference]})  # fmt: skip
    cv = _curves()
    return [F.attribution_figure(frame, LONGEST), F.importance_figure(importance),
            F.class_profile_figure(profile, LONGEST), F.roc_figure(cv), F.precision_recall_figure(cv)]  # fmt: skip


@pytest.mark.parametrize("reference", ["Benign", "all other rows"])
def test_axis_titles_of_the_explanations_fit_a_narrow_page(reference):
    for fig in _explanation_figures(reference):
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            for line in _lines(axis.title.text or ""):
                assert len(line) <= F.NARROW_AXIS_TITLE, f"{fig.layout.title.text}: {line!r}"
    attribution = _explanation_figures()[0]
    assert _lines(attribution.layout.xaxis.title.text) == ["Change in the probability of",
                                                           f"{LONGEST} (+ towards, - away)"]  # fmt: skip


def test_roc_and_precision_recall_are_figures_of_their_own():
    """Each drawn in a half of the page: side by side where it is wide, one under the other where it is narrow."""
    cv = _curves()
    roc, pr = F.roc_figure(cv), F.precision_recall_figure(cv)
    np.testing.assert_allclose(roc.data[0].x, cv.fpr)
    np.testing.assert_allclose(roc.data[0].y, cv.tpr)
    assert list(roc.data[1].x) == [0.25] and list(roc.data[1].y) == [0.75], "1 of 4 benign flagged, 3 of 4 caught"
    np.testing.assert_allclose(pr.data[0].x, cv.recall)
    assert list(pr.data[1].x) == [0.75] and list(pr.data[1].y) == [0.75], "3 of 4 alarms are attacks"
    assert roc.layout.title.text == f"ROC (area {cv.roc_auc:.3f})"
    assert pr.layout.title.text == f"Precision-recall (average precision {cv.average_precision:.3f})"
    for fig in (roc, pr):
        (named,) = [t for t in fig.data if t.showlegend is not False]
        assert named.name == "alarm threshold 0.50 (the slider)", "the cross says what it is"
        legend = fig.layout.legend
        assert legend.orientation == "h" and legend.yref == "container" and legend.y == 0, "at the foot, not beside"
    assert F.roc_figure(_curves(0.005)).data[1].name == "alarm threshold 0.005 (the slider)"


def test_importance_bars_are_only_of_features_that_lowered_macro_f1():
    """On one class's flows (a DDoS-UDP file), 7 features lowered macro-F1 and the 'top 15' drew 8 more: empty rows
    at 0, and whiskers around negative means with no bar, read as features that matter."""
    frame = pd.DataFrame({"feature": ["ack_count", "Std", "TCP", "Header_Length"], "meaning": ["a", "b", "c", "d"],
                          "importance": [8e-4, 5e-4, -3e-4, 0.0], "std": [2e-4, 1e-5, 6e-4, 0.0]})  # fmt: skip
    fig = F.importance_figure(frame)
    assert list(fig.data[0].y) == ["ack_count", "Std"]
    assert fig.layout.title.text == "Which features matter most (top 2)"
    none = F.importance_figure(frame.assign(importance=[0.0, -1e-4, -3e-4, 0.0]))
    assert len(none.data) == 0 and none.layout.annotations[0].text == "shuffling no feature lowered macro-F1"
