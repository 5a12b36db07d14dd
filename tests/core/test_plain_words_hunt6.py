"""The analysis report's headline, the importance chart's hover and table, and the class-profile chart's scale in the
glossary's words: each test failed before its fix.

Found: the report's headline said what macro-F1 is in words of its own ("which weighs every class equally so that
rare attacks count as much as floods ... (1 is perfect)") beside ``core.glossary``'s; the importance hover said
"macro-F1 drops by 0.0123 when shuffled", an expert's words at 4 decimals, under an axis in plain words, and the
report's importance table kept 4 decimals where its other scores keep 3; "What marks each attack" said its scale twice,
"about 1 modest, 3+ striking" on the chart and "about 1 is a modest difference, 3 or more a striking one" on the page.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from core import figures as F
from core import glossary as G
from core.explain import FeatureImportance
from core.glossary import MACRO_F1_WORDS, SCORE_SCALE, WEIGHTED_F1_WORDS


def _lines(text: str) -> list[str]:
    return re.sub(r"<[^>]+>", "\n", text or "").split("\n")


def test_the_reports_headline_says_what_its_scores_are_in_the_glossarys_words():
    from core.evaluation import evaluate
    from core.report import headline_sentences

    report = evaluate(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), task=2, task_classes=("Benign", "Attack"))
    first = headline_sentences(report)[0]
    assert f"The macro-F1 score, in which {MACRO_F1_WORDS}, is {report.macro_f1:.3f}" in first, first
    assert f"the weighted-F1, in which {WEIGHTED_F1_WORDS}, is {report.weighted_f1:.3f}" in first, first
    assert first.endswith(SCORE_SCALE), first
    assert "weighs every class equally" not in first and "(1 is perfect)" not in first, first


FRAME = pd.DataFrame({"feature": ["Rate", "IAT"], "meaning": ["Packets per second", "Time between packets"],
                      "importance": [0.01234, 0.0021], "std": [0.001, 0.0005]})  # fmt: skip


def test_the_importance_hover_speaks_as_the_axis_does_at_3_decimals():
    fig = F.importance_figure(FRAME)
    hover = fig.data[0].hovertemplate
    axis = fig.layout.xaxis.title.text
    assert "%{x:.3f}" in hover and ".4f" not in hover, hover
    assert F.IMPORTANCE_MEANS in hover and F.IMPORTANCE_MEANS in axis, (hover, axis)
    assert "drops by" not in hover, hover
    assert all(len(line) <= F.NARROW_AXIS_TITLE for line in _lines(axis)), axis


def test_the_reports_importance_table_keeps_3_decimals(demo_dir, tmp_path):
    from core.loading import read_files, split_files
    from core.pipeline import TrainedModel
    from core.report import analysis_report
    from core.training import train_from_folder

    train_from_folder("rf", 6, str(demo_dir), params={"n_estimators": 3}, models_dir=str(tmp_path), name="rf6")
    model = TrainedModel.load(tmp_path / "rf6")
    data = read_files(split_files(demo_dir, "test")[:2])
    imp = FeatureImportance(frame=FRAME, baseline_macro_f1=0.9, n_rows=100, repeats=3, task=6)
    report = analysis_report(model, data, importance=imp)
    (section,) = [s for s in report.sections if s.title == "Which features the model relies on"]
    assert section.table["importance"].tolist() == [0.012, 0.002], section.table


@pytest.mark.parametrize("reference", ["Benign", "all other rows"])
def test_the_profile_charts_scale_is_the_glossarys_and_fits_a_narrow_page(reference):
    prof = pd.DataFrame({"class": ["DDoS", "DDoS"], "feature": ["Rate", "IAT"], "meaning": ["pps", "gap"],
                         "difference": [2.5, -1.0], "class_median": [1e5, 0.01], "reference_median": [10.0, 80.0],
                         "reference": [reference] * 2})  # fmt: skip
    axis = F.class_profile_figure(prof, "DDoS").layout.xaxis.title.text
    assert G.SPREAD_SCALE in " ".join(_lines(axis)), axis
    assert f"Difference from {reference}" in axis and "standard deviations" in " ".join(_lines(axis)), axis
    assert all(len(line) <= F.NARROW_AXIS_TITLE for line in _lines(axis)), axis
