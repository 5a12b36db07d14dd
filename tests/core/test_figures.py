"""The pure Plotly figure builders, checked on the values they put in each figure."""

from __future__ import annotations

import colorsys
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from core import figures as F
from core.compare import ModelScore
from core.evaluation import EvaluationReport, evaluate
from core.taxonomy import CATEGORY, CLASSES_2, CLASSES_6, CLASSES_19

ROOT = Path(__file__).resolve().parents[2]

# 6-class truth: Benign x2, Spoofing x2, MQTT x1; Recon is predicted but never true.
Y_TRUE_6 = np.array([0, 0, 1, 1, 2])
Y_PRED_6 = np.array([0, 1, 1, 3, 2])
# Rows Benign, Spoofing, MQTT, Recon (Recon absent from the truth) over the same four columns.
EXPECTED_CM_6 = [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]]


@pytest.fixture()
def report6() -> EvaluationReport:
    return evaluate(Y_TRUE_6, Y_PRED_6, task=6, task_classes=CLASSES_6)


@pytest.fixture()
def report19() -> EvaluationReport:
    rng = np.random.default_rng(0)
    y_true = np.repeat(np.arange(19), 5)
    y_pred = np.where(rng.random(len(y_true)) < 0.8, y_true, rng.integers(0, 19, len(y_true)))
    return evaluate(y_true, y_pred, task=19, task_classes=CLASSES_19)


def _score(name: str, report: EvaluationReport, rows_per_second: float = 1000.0, fit: float | None = 2.0) -> ModelScore:
    return ModelScore(name=name, family=name, task=report.task, report=report, rows_per_second=rows_per_second,
                      fit_seconds=fit)  # fmt: skip


def _hue_degrees(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def _assert_styled(fig: go.Figure) -> None:
    assert fig.layout.template == pio.templates["plotly_white"]
    assert fig.layout.title.text


# ---------------------------------------------------------------------------------------------- colours


@pytest.mark.parametrize("classes", [CLASSES_19, CLASSES_6, CLASSES_2], ids=["19", "6", "2"])
def test_every_class_of_each_task_has_its_own_colour(classes):
    colours = [F.CLASS_COLORS[c] for c in classes]
    assert all(len(c) == 7 and c.startswith("#") for c in colours)
    assert len(set(colours)) == len(classes)
    # Distinct enough to tell apart, not only different strings.
    assert min(np.linalg.norm(_rgb(a) - _rgb(b)) for a, b in itertools.combinations(colours, 2)) > 20


def test_benign_is_calm_green_or_blue_never_red():
    hue = _hue_degrees(F.class_color("Benign"))
    assert 90 <= hue <= 250, hue
    assert _hue_distance(hue, 0) > 60


def test_attack_is_red():
    assert _hue_distance(_hue_degrees(F.class_color("Attack")), 0) < 20


def test_19_class_colours_are_shades_of_their_family_hue():
    for label in CLASSES_19:
        family = CATEGORY[label]
        assert _hue_distance(_hue_degrees(F.class_color(label)), _hue_degrees(F.class_color(family))) < 4, label


def test_unknown_label_is_grey():
    colour = F.class_color("not-a-class")
    r, g, b = _rgb(colour)
    assert r == g == b
    assert colour == F.UNKNOWN_COLOR


def test_module_never_imports_streamlit():
    code = "import sys, core.figures; assert 'streamlit' not in sys.modules, 'streamlit imported'"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ---------------------------------------------------------------------------------------------- one report


def test_confusion_counts_match_known_matrix(report6):
    fig = F.confusion_figure(report6)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    np.testing.assert_array_equal(np.asarray(heat.z), EXPECTED_CM_6)
    assert list(heat.x) == ["Benign", "Spoofing", "MQTT", "Recon"]
    assert list(heat.y) == ["Benign", "Spoofing", "MQTT"]  # Recon has no true rows: no row of zeros
    assert fig.layout.xaxis.title.text == "Predicted class"
    assert fig.layout.yaxis.title.text == "True class"
    _assert_styled(fig)


def test_confusion_row_percentages_sum_to_100(report6):
    fig = F.confusion_figure(report6, normalize="true")
    z = np.asarray(fig.data[0].z, dtype=float)
    np.testing.assert_allclose(z.sum(axis=1), 100.0)
    np.testing.assert_allclose(z[0], [50, 50, 0, 0])
    assert fig.data[0].zmax == 100


def test_confusion_text_shows_count_and_row_percent(report6):
    text = F.confusion_figure(report6).data[0].text
    assert text[0][0] == "1<br>50.0%"
    assert text[2][2] == "1<br>100.0%"
    assert text[0][2] == "0"


def test_confusion_rejects_unknown_normalize(report6):
    with pytest.raises(ValueError, match="'pred'"):
        F.confusion_figure(report6, normalize="pred")


def test_confusion_grows_with_classes(report6, report19):
    small = F.confusion_figure(report6)
    big = F.confusion_figure(report19)
    assert np.asarray(big.data[0].z).shape == (19, 19)
    assert np.asarray(big.data[0].z).sum() == report19.n_rows
    assert big.layout.height > small.layout.height


def test_per_class_table_worst_first_and_only_supported(report6):
    table = F.per_class_table(report6)
    assert list(table.columns) == ["class", "precision", "recall", "f1", "support"]
    assert list(table["class"]) == ["Spoofing", "Benign", "MQTT"]
    assert table["f1"].is_monotonic_increasing
    assert "Recon" not in set(table["class"])
    benign = table.set_index("class").loc["Benign"]
    assert benign["precision"] == 1.0 and benign["recall"] == 0.5 and benign["support"] == 2
    assert table["f1"].iloc[1] == pytest.approx(2 / 3)


def test_per_class_metrics_bars(report6):
    fig = F.per_class_metrics_figure(report6)
    assert [t.name for t in fig.data] == ["Precision", "Recall", "F1"]
    for trace, key in zip(fig.data, ("precision", "recall", "f1")):
        assert list(trace.y) == report6.scored_labels
        assert list(trace.x) == pytest.approx([report6.per_class[c][key] for c in report6.scored_labels])
    assert fig.layout.barmode == "group"
    _assert_styled(fig)


def test_prediction_error_stacks_to_support(report6):
    fig = F.prediction_error_figure(report6)
    assert fig.layout.barmode == "stack"
    assert {t.name for t in fig.data} == {"Benign", "Spoofing", "MQTT", "Recon"}
    for t in fig.data:
        assert list(t.x) == ["Benign", "Spoofing", "MQTT"]
        assert t.marker.color == F.class_color(t.name)
    totals = np.sum([np.asarray(t.y) for t in fig.data], axis=0)
    np.testing.assert_array_equal(totals, [2, 2, 1])
    recon = next(t for t in fig.data if t.name == "Recon")
    np.testing.assert_array_equal(recon.y, [0, 1, 0])  # one Spoofing row taken for Recon
    _assert_styled(fig)


# ---------------------------------------------------------------------------------------------- data and predictions


def test_class_counts_heights_and_colours():
    counts = {"Benign": 500, "DDoS-UDP": 20, "Recon-VulScan": 3}
    fig = F.class_counts_figure(counts, title="Training rows")
    bar = fig.data[0]
    assert list(bar.x) == list(counts)
    assert list(bar.y) == [500, 20, 3]
    assert list(bar.marker.color) == [F.class_color(c) for c in counts]
    assert fig.layout.title.text == "Training rows"
    series_fig = F.class_counts_figure(pd.Series(counts))
    assert list(series_fig.data[0].y) == [500, 20, 3]
    assert series_fig.layout.title.text == "Rows per class"


def test_timeline_short_input_keeps_every_row():
    predicted = ["Benign", "Benign", "DDoS", "DDoS", "Benign"]
    fig = F.timeline_figure(predicted, CLASSES_6)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"Benign", "DDoS"}
    assert list(by_name["DDoS"].x) == [3, 4]  # rows counted from 1, like the page's table
    assert list(by_name["Benign"].x) == [1, 2, 5]
    assert set(by_name["DDoS"].y) == {"DDoS"}
    assert by_name["DDoS"].marker.color == F.class_color("DDoS")
    assert list(fig.layout.yaxis.categoryarray) == list(CLASSES_6)
    assert tuple(fig.layout.yaxis.range) == (5.5, -0.5)  # every class lane shown, first on top
    _assert_styled(fig)


def test_timeline_buckets_rows_and_marks_every_class_present_in_each_bucket():
    n = 10_001
    predicted = np.array(["Benign"] * n, dtype=object)
    predicted[4000:7000] = "DoS"  # rows 4,001-7,000
    predicted[::7] = "Recon"  # sprinkled minority: never the majority of a bucket, yet in every bucket
    fig = F.timeline_figure(list(predicted), CLASSES_6, max_points=100)
    size = math.ceil(n / (100 // 3))  # 3 classes present: 33 buckets of 304 rows keep 3 x 33 marks within 100
    n_buckets = math.ceil(n / size)
    xs = np.concatenate([np.asarray(t.x) for t in fig.data])
    assert len(xs) <= 100
    assert {t.name for t in fig.data} == {"Benign", "DoS", "Recon"}
    by_name = {t.name: t for t in fig.data}
    starts = np.arange(1, n + 1, size)  # x stays the true (1-based) row number of the bucket's first row
    for label, trace in by_name.items():  # a mark wherever the bucket holds a row of the class, however few
        present = [(predicted[s - 1 : s - 1 + size] == label).any() for s in starts]
        np.testing.assert_array_equal(trace.x, starts[present], err_msg=label)
    np.testing.assert_array_equal(by_name["Recon"].x, starts)
    dos = np.asarray(by_name["DoS"].x)
    np.testing.assert_array_equal(dos, starts[(starts + size - 1 >= 4001) & (starts <= 7000)])
    assert len(starts) == n_buckets
    recon = np.asarray(by_name["Recon"].customdata)
    assert recon[:, 0].sum() == int((predicted == "Recon").sum())
    assert f"{size:,} rows" in fig.layout.title.text and "bucket" in fig.layout.title.text
    # a mark shows the class's share of its bucket, not only that it occurs: Recon's one row in 7 is faint, the
    # buckets wholly inside the DoS run are full
    rows = np.minimum(starts + size - 1, n) - starts + 1
    np.testing.assert_allclose(recon[:, 3], recon[:, 0] / rows)
    np.testing.assert_allclose(by_name["Recon"].marker.opacity, 0.25 + 0.75 * recon[:, 3])
    assert max(by_name["Recon"].marker.opacity) < 0.4 < max(by_name["DoS"].marker.opacity)
    assert "of the bucket" in by_name["Recon"].hovertemplate and "share" in fig.layout.title.text


def test_timeline_rejects_unknown_class():
    with pytest.raises(ValueError, match="Nope"):
        F.timeline_figure(["Benign", "Nope"], CLASSES_2)


def test_timeline_empty():
    fig = F.timeline_figure([], CLASSES_2)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "no rows to show"


def test_confidence_histogram_values_and_threshold():
    conf = np.array([0.1, 0.4, 0.6, 0.95, np.nan])
    fig = F.confidence_histogram(conf, threshold=0.5)
    bar = fig.data[0]
    assert len(bar.x) == 50 and sum(bar.y) == 4, "pre-binned: one count per bin, NaN left out"
    assert [round(x, 2) for x, y in zip(bar.x, bar.y) if y] == [0.11, 0.41, 0.61, 0.95]
    assert len(F.confidence_histogram(np.random.default_rng(0).random(100_000)).data[0].y) == 50
    line = fig.layout.shapes[0]
    assert line.x0 == line.x1 == 0.5
    assert "2 of 4 rows" in fig.layout.title.text
    assert len(F.confidence_histogram(conf).layout.shapes) == 0
    _assert_styled(fig)


# ---------------------------------------------------------------------------------------------- several models


def test_comparison_bars_metric_order_and_values(report6, report19):
    other = evaluate(Y_TRUE_6, Y_TRUE_6, task=6, task_classes=CLASSES_6)
    fig = F.comparison_bars([_score("rf", report6), _score("perfect", other)])
    expected_x = ["macro-F1", "weighted-F1", "accuracy", "macro precision", "macro recall",
                  "weighted precision", "weighted recall"]  # fmt: skip
    assert [t.name for t in fig.data] == ["rf", "perfect"]
    for t in fig.data:
        assert list(t.x) == expected_x
    assert list(fig.data[0].y) == pytest.approx([report6.macro_f1, report6.weighted_f1, report6.accuracy,
                                                  report6.macro_precision, report6.macro_recall,
                                                  report6.weighted_precision, report6.weighted_recall])  # fmt: skip
    assert list(fig.data[1].y) == pytest.approx([1.0] * 7)
    assert fig.data[0].text[0] == f"{report6.macro_f1:.2f}"
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    assert fig.layout.barmode == "group"
    _assert_styled(fig)
    mixed = F.comparison_bars([_score("rf", report6), _score("rf", report19)])
    assert [t.name for t in mixed.data] == ["rf (6 classes)", "rf (19 classes)"]
    many = F.comparison_bars([_score(f"m{i}", report6) for i in range(F.BAR_LABELS_UP_TO + 1)])
    assert all(t.text is None and "%{y:.4f}" in t.hovertemplate for t in many.data), "too many bars to label"


def test_per_class_f1_heatmap_nan_for_unsupported_class(report6):
    # Second model scored on rows without MQTT: its MQTT cell must be NaN, not 0.
    no_mqtt = evaluate(np.array([0, 1, 1, 3]), np.array([0, 1, 0, 3]), task=6, task_classes=CLASSES_6)
    fig = F.per_class_f1_heatmap([_score("a", report6), _score("b", no_mqtt)])
    heat = fig.data[0]
    assert list(heat.y) == ["a", "b"]
    assert list(heat.x) == ["Benign", "Spoofing", "MQTT", "Recon"]  # canonical task order
    z = np.asarray(heat.z, dtype=float)
    assert np.isnan(z[1, 2])
    assert np.isnan(z[0, 3])  # Recon had no support in report6
    assert z[0, 0] == pytest.approx(2 / 3)
    assert z[1, 3] == pytest.approx(1.0)
    assert heat.text[0][0] == "0.67"
    assert heat.text[1][2] == ""
    _assert_styled(fig)


def test_per_class_f1_heatmap_rejects_mixed_tasks(report6, report19):
    with pytest.raises(ValueError, match="one task"):
        F.per_class_f1_heatmap([_score("a", report6), _score("b", report19)])


def test_speed_figure_values(report6):
    fig = F.speed_figure([_score("rf", report6, 5000.0, 3.5), _score("lr", report6, 20000.0, None)])
    fit, speed = fig.data
    assert list(fit.x) == ["rf", "lr"]
    assert fit.y[0] == 3.5 and math.isnan(fit.y[1])
    assert list(speed.y) == [5000.0, 20000.0]
    assert fit.xaxis == "x" and speed.xaxis == "x2"
    assert [a.text for a in fig.layout.annotations] == ["Training time (s)", "Scoring speed (rows/s)"]
    _assert_styled(fig)


@pytest.mark.parametrize("history", [{}, None, {"loss": []}, {"learning_rate": [0.001]}])
def test_training_curves_without_history(history):
    fig = F.training_curves(history)
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "no epoch history (not a neural network)"


def test_training_curves_full_and_partial_history():
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.2, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
               "val_accuracy": [0.4, 0.7, 0.85], "learning_rate": [1e-3] * 3}  # fmt: skip
    fig = F.training_curves(history)
    by_name = {t.name.replace("validation ", "val_").removeprefix("training "): t for t in fig.data}  # in words
    assert set(by_name) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert list(by_name["loss"].x) == [1, 2, 3]
    assert list(by_name["val_accuracy"].y) == [0.4, 0.7, 0.85]
    assert by_name["loss"].xaxis == "x" and by_name["accuracy"].xaxis == "x2"
    assert by_name["val_loss"].line.dash == "dash"
    # Training and validation in different colours, the same in both plots (dashes alone were hard to tell apart).
    assert by_name["loss"].line.color != by_name["val_loss"].line.color
    assert by_name["loss"].line.color == by_name["accuracy"].line.color
    assert by_name["val_loss"].line.color == by_name["val_accuracy"].line.color
    _assert_styled(fig)
    partial = F.training_curves({"loss": [0.9, 0.4]})
    assert [t.name for t in partial.data] == ["training loss"]


def test_model_scores_figure_values():
    rows = [{"name": "rf-19", "macro_f1": 0.71, "weighted_f1": 0.98}, {"name": "lr-19", "macro_f1": 0.4}]
    fig = F.model_scores_figure(rows)
    macro, weighted = fig.data
    assert macro.orientation == "h"
    assert list(macro.y) == ["rf-19", "lr-19"]
    assert list(macro.x) == [0.71, 0.4]
    assert weighted.x[0] == 0.98 and math.isnan(weighted.x[1])
    _assert_styled(fig)
    empty = F.model_scores_figure([])
    assert len(empty.data) == 0 and empty.layout.annotations[0].text == "no saved models"


def test_no_models_gives_annotated_empty_figures():
    for build in (F.comparison_bars, F.per_class_f1_heatmap, F.speed_figure):
        fig = build([])
        assert len(fig.data) == 0
        assert fig.layout.annotations[0].text == "no models to compare"


# ---------------------------------------------------------------------------------- explanations and threshold


def test_importance_figure_values():
    frame = pd.DataFrame({"feature": ["IAT", "Rate", "syn_count"], "meaning": ["time between", "pps", "SYNs"],
                          "importance": [0.3, 0.1, 0.0], "std": [0.02, 0.01, 0.0]})  # fmt: skip
    fig = F.importance_figure(frame, top=2)
    (bar,) = fig.data
    assert list(bar.y) == ["IAT", "Rate"] and list(bar.x) == [0.3, 0.1]
    assert list(bar.error_x.array) == [0.02, 0.01]
    assert list(bar.customdata) == ["time between", "pps"], "meanings shown on hover"
    assert fig.layout.yaxis.autorange == "reversed", "most important on top"
    _assert_styled(fig)
    assert len(F.importance_figure(frame.iloc[:0]).data) == 0


def test_attribution_figure_colours_and_labels():
    frame = pd.DataFrame({"feature": ["Rate", "IAT", "UDP"], "meaning": ["pps", "gap", "udp"],
                          "value": [12345.6, 0.5, 1.0], "typical_benign": [10.0, 80.0, 0.0],
                          "contribution": [0.4, -0.1, 0.0]})  # fmt: skip
    fig = F.attribution_figure(frame, "DDoS-UDP")
    (bar,) = fig.data
    assert list(bar.x) == [0.4, -0.1]
    assert list(bar.y) == ["Rate = 12,346 (benign ~10)", "IAT = 0.5 (benign ~80)"]
    assert list(bar.marker.color) == [F._PUSH_UP, F._PUSH_DOWN]
    assert "DDoS-UDP" in fig.layout.title.text
    _assert_styled(fig)
    assert len(F.attribution_figure(frame.iloc[2:], "DDoS-UDP").data) == 0, "only zero contributions: nothing to show"


def test_class_profile_figure_values():
    prof = pd.DataFrame({"class": ["DDoS", "DDoS", "DoS"], "feature": ["Rate", "IAT", "Rate"],
                         "meaning": ["pps", "gap", "pps"], "difference": [2.5, -1.0, 1.0],
                         "class_median": [1e5, 0.01, 10.0], "reference_median": [10.0, 80.0, 10.0],
                         "reference": ["Benign"] * 3})  # fmt: skip
    fig = F.class_profile_figure(prof, "DDoS")
    (bar,) = fig.data
    assert list(bar.y) == ["Rate", "IAT"] and list(bar.x) == [2.5, -1.0]
    assert list(bar.marker.color) == [F.class_color("DDoS"), F.UNKNOWN_COLOR]
    assert fig.layout.title.text == "What sets DDoS apart from Benign traffic"
    assert len(F.class_profile_figure(prof, "Recon").data) == 0
    others = F.class_profile_figure(prof.assign(reference="all other rows"), "DDoS")
    assert others.layout.title.text == "What sets DDoS apart from all other rows", "not '... all other rows traffic'"


def test_core_never_imports_the_dashboard_or_streamlit():
    """core/ stands alone: no module of it imports dashboard/ or Streamlit (read from the source, every import)."""
    import ast

    offenders = []
    for path in sorted((ROOT / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("dashboard", "streamlit")]
    assert offenders == []
