"""A fourth hunt on the comparison: its report and its charts.

Found: the Compare page warned that the models compared had learnt from other training rows, but the comparison
report (HTML and PDF) said nothing of it, so a report handed on ranked them as like with like.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from core.compare import score_model
from core.loading import load_split
from core.pipeline import TrainedModel
from core.report import comparison_report
from core.taxonomy import CLASSES_6

PAIR = ("test-rf-6class", "test-lr-6class")


@pytest.fixture(scope="module")
def pair(demo_models_dir, demo_dir):
    """The pair scored on the demo test split, and their saved metadata by name."""
    test = load_split(demo_dir, "test")
    models = [TrainedModel.load(demo_models_dir / n) for n in PAIR]
    return [score_model(m, test) for m in models], {m.name: m.metadata for m in models}


def _text(report) -> str:
    return "\n".join(p for s in report.sections for p in [*s.paragraphs, *s.bullets])


def test_a_comparison_report_says_the_models_learnt_from_other_rows(pair):
    scores, metas = pair
    other = copy.deepcopy(metas)
    other[PAIR[1]]["data"].update(description="/data/other", train_rows=600, train_fingerprint_sha256="ab" * 32)
    report = comparison_report(scores, data_label="demo", metadata=other)
    text = _text(report)
    assert "These models were not trained on the same training data" in text
    assert f"{PAIR[1]}: /data/other, 600 training rows, fingerprint abababab" in text, text
    assert "**" not in text, "plain words, no Markdown"
    assert "not trained on the same training data" in report.to_html()
    # Said beside the ranking it qualifies, in the introduction.
    intro = report.sections[0].paragraphs
    assert any("detects best" in p or "equally well" in p for p in intro[:1]) and "not trained on the same" in intro[1]


def test_a_comparison_of_models_of_the_same_rows_gets_no_such_note(pair):
    scores, metas = pair
    assert metas[PAIR[0]]["data"]["train_fingerprint_sha256"] == metas[PAIR[1]]["data"]["train_fingerprint_sha256"]
    text = _text(comparison_report(scores, data_label="demo", metadata=metas))
    assert "training data" not in text and "fingerprint" not in text, text


def test_an_unrecorded_fingerprint_is_said_not_recorded_in_the_report(pair):
    scores, metas = pair
    unknown = copy.deepcopy(metas)
    del unknown[PAIR[1]]["data"]["train_fingerprint_sha256"]
    text = _text(comparison_report(scores, data_label="demo", metadata=unknown))
    assert f"The training data of {PAIR[1]} is not recorded in its metadata" in text, text


def test_the_note_is_plain_text_and_the_caller_marks_names():
    from core.compare import training_data_note  # the page's own words, moved to core for the reports

    metas = {"a_b": {"data": {"train_fingerprint_sha256": "1" * 64, "description": "x_y", "train_rows": 1}},
             "c": {"data": {"train_fingerprint_sha256": "2" * 64, "train_rows": 2}}}  # fmt: skip
    plain = training_data_note(metas, ["a_b", "c"])
    assert "a_b: x_y, 1 training row, fingerprint 11111111; c: 2 training rows, fingerprint 22222222" in plain
    marked = training_data_note(metas, ["a_b", "c"], name=lambda n: f"**{n}**", text=str.upper)
    assert "**a_b**: X_Y, 1 training row" in marked


# ---------------------------------------------------------------------------------- the per-class F1 heatmap


def _scores(n: int, classes: list[str]) -> list:
    """``n`` models' scores on 2,000 rows of ``classes``, most of them right."""
    from core.compare import ModelScore
    from core.evaluation import evaluate

    def report(seed: int):
        rng = np.random.default_rng(seed)
        y_true = np.arange(2000) % len(classes)
        y_pred = np.where(rng.random(2000) < 0.8, y_true, rng.integers(0, len(classes), 2000))
        return evaluate(y_true, y_pred, task=len(classes), task_classes=classes)

    return [ModelScore(name=f"rf-{len(classes)}class-v2-20261207-06{i:02d}{i:02d}", family="rf", task=len(classes),
                       report=report(i), rows_per_second=1.0, fit_seconds=None) for i in range(n)]  # fmt: skip


def test_eighteen_19_class_models_keep_their_f1_in_the_hover_not_in_cells_too_narrow_for_it():
    """At 800 pixels 18 model columns are 18 pixels wide and "0.84" 20: the numbers ran into each other, unreadable.
    Up to 16 models each cell is written; beyond, the colour and the hover tell the F1, and the figure says so."""
    from core import figures as F
    from core.taxonomy import CLASSES_19

    many = F.per_class_f1_heatmap(_scores(18, CLASSES_19))
    (heat,) = many.data
    assert heat.texttemplate is None, "no number in cells too narrow for it"
    assert "%{text}" in heat.hovertemplate and heat.text[0][0] == f"{heat.z[0][0]:.2f}", "the hover gives each F1"
    assert many.layout.title.text.startswith("Per-class F1 by model")
    assert many.layout.title.subtitle.text == "18 models: hover a cell for its F1"
    fitting = F.per_class_f1_heatmap(_scores(16, CLASSES_19))
    assert fitting.data[0].texttemplate == "%{text}" and not fitting.layout.title.subtitle.text
    # 6 classes: a row per model, as many rows as there are models, each cell wide enough for its number.
    six = F.per_class_f1_heatmap(_scores(18, CLASSES_6))
    assert six.data[0].texttemplate == "%{text}" and len(six.data[0].y) == 18


def test_the_comparison_report_says_what_macro_f1_is_in_the_glossarys_words(pair):
    """It said "Macro-F1 weighs every class equally, so rare attacks count as much as floods", words of its own."""
    from core.glossary import MACRO_F1_WORDS

    scores, metas = pair
    first = comparison_report(scores, data_label="demo", metadata=metas).sections[0].paragraphs[0]
    assert first.endswith(f". In macro-F1, {MACRO_F1_WORDS}."), first
    assert "floods" not in first, first
