"""The downloadable reports, the explanation charts and the threshold note, in the plain words a ward's head nurse or a
hospital manager reads (the Analyze page's own words where it has them), the technical term kept for an expert."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core import figures as F
from core import threshold as th
from core.glossary import MACRO_F1_WORDS

IMPORTANCE_PLAIN = "the longer a bar, the more its verdicts depend on that feature"


@pytest.fixture(scope="module")
def rf6_report(demo_dir, tmp_path_factory):
    """A real report of a small real random forest on demo flows, with permutation importance measured."""
    from core.loading import read_files
    from core.pipeline import TrainedModel
    from core.report import analysis_report
    from core.training import train_from_folder

    models = tmp_path_factory.mktemp("hm-models")
    train_from_folder("rf", 6, str(demo_dir), params={"n_estimators": 10}, models_dir=str(models), name="hm-rf6")
    model = TrainedModel.load(models / "hm-rf6")
    files = sorted((demo_dir / "test").glob("*.csv"))[:6]
    return analysis_report(model, read_files([str(f) for f in files]), importance_rows=300)


def _section(report, title: str):
    (sec,) = [s for s in report.sections if s.title == title]
    return sec


def test_the_report_says_what_the_importance_bars_mean_before_how_they_are_measured(rf6_report):
    """The report opened with 'Each feature's values were shuffled among 2,000 labelled flows (3 times) and the drop in
    macro-F1 measured': the recipe, not what a bar means. Now it says it as the Analyze page does, the method after."""
    sec = _section(rf6_report, "Which features the model relies on")
    html = rf6_report.to_html()
    assert "Each feature&#x27;s values were shuffled" not in html and "Each feature's values were shuffled" not in html
    assert IMPORTANCE_PLAIN in sec.paragraphs[0] and IMPORTANCE_PLAIN in html, sec.paragraphs
    from core.glossary import IMPORTANCE_WORDS

    assert sec.paragraphs[0].startswith(IMPORTANCE_WORDS), sec.paragraphs
    method = " ".join(sec.paragraphs[1:])
    assert "shuffled" in method and f"macro-F1 ({MACRO_F1_WORDS})" in method, "the expert's term kept, explained"


def test_the_dashboard_caption_and_the_report_share_one_wording():
    from core.glossary import IMPORTANCE_WORDS
    from dashboard import explain_panel

    assert explain_panel.IMPORTANCE_WORDS is IMPORTANCE_WORDS


def _lines(text: str) -> list[str]:
    return re.sub(r"<[^>]+>", "\n", text or "").split("\n")


def test_the_importance_chart_axis_says_what_a_bar_means():
    """The x-axis said 'Drop in macro-F1 when the feature's values are shuffled'."""
    frame = pd.DataFrame({"feature": ["Rate", "IAT"], "meaning": ["pps", "gap"], "importance": [0.2, 0.05],
                          "std": [0.01, 0.01]})  # fmt: skip
    title = F.importance_figure(frame).layout.xaxis.title.text
    assert not title.startswith("Drop in macro-F1"), title
    assert "verdicts depend" in title and "macro-F1" in title, title
    assert all(len(line) <= F.NARROW_AXIS_TITLE for line in _lines(title)), title


@pytest.mark.parametrize("reference", ["Benign", "all other rows"])
def test_the_profile_chart_says_what_its_colours_and_its_units_mean(reference):
    """'What marks each attack': the x-axis said only 'in standard deviations', and nothing said what its red and grey
    bars were. Now the colours are named above the bars and the axis says how big a difference is."""
    prof = pd.DataFrame({"class": ["DDoS", "DDoS"], "feature": ["Rate", "IAT"], "meaning": ["pps", "gap"],
                         "difference": [2.5, -1.0], "class_median": [1e5, 0.01], "reference_median": [10.0, 80.0],
                         "reference": [reference] * 2})  # fmt: skip
    fig = F.class_profile_figure(prof, "DDoS")
    key = fig.layout.title.subtitle.text or ""
    assert f"higher than {reference}" in key and f"lower than {reference}" in key, key
    assert F.class_color("DDoS") in key and F.UNKNOWN_COLOR in key, "each colour shown beside its meaning"
    axis = fig.layout.xaxis.title.text
    assert "standard" in axis and "3" in axis and "striking" in axis, axis
    assert all(len(line) <= F.NARROW_AXIS_TITLE for line in _lines(axis)), axis
    assert " SD<" not in fig.data[0].hovertemplate, "no bare abbreviation in the hover"


STORED = {"threshold": 0.51, "rows": 760, "macro_f1": 0.89221, "macro_f1_at_default": 0.88912, "of_first_fit": False}


def test_the_validation_threshold_note_is_in_plain_words():
    """It said 'At training, macro-F1 on its validation rows (760 flows it was not fitted on) was highest at 0.51:
    0.8922, against 0.8891 at 0.50': four decimals, and jargon a manager does not read."""
    text = th.validation_text({"alarm_threshold_validation": STORED})
    assert not re.search(r"\d\.\d{4}", text), text
    assert "760 flows held back to test it" in text and "validation rows" in text, text
    assert MACRO_F1_WORDS in text and "alarm threshold" in text, text
    assert "was highest at 0.51 (0.892, against 0.889 at the default 0.50)" in text, text
    assert "fitted on" not in text, text


def test_the_validation_threshold_note_says_when_the_difference_is_below_what_is_shown():
    """Three decimals where they differ; where they do not, it says the difference is under 0.001 (not '0.892, against
    0.892')."""
    text = th.validation_text({"alarm_threshold_validation": {**STORED, "macro_f1_at_default": 0.89201}})
    assert "0.892, against 0.892" not in text and "by under 0.001" in text, text
    default = th.validation_text({"alarm_threshold_validation": {**STORED, "threshold": 0.5, "of_first_fit": True,
                                                                 "macro_f1_at_default": 0.89221}})  # fmt: skip
    assert not re.search(r"\d\.\d{4}", default) and "0.892" in default and "the default" in default, default
    assert "retrained on all rows" in default, default
