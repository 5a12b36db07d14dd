"""Explanations: the glossary, permutation importance, per-row attributions (integrated gradients and
occlusion) and per-class profiles, on real small models trained on the demo data."""

from __future__ import annotations

import numpy as np
import pytest

from core import explain
from core.glossary import FEATURE_MEANINGS, meaning, missing_meanings
from core.loading import UNLABELLED, load_split
from core.pipeline import TrainedModel
from core.schema import FEATURES_V1, FEATURES_V2
from core.taxonomy import codes_for_task


def test_every_feature_of_both_layouts_has_a_plain_meaning():
    assert missing_meanings() == []
    for feature in set(FEATURES_V1) | set(FEATURES_V2):
        text = FEATURE_MEANINGS[feature]
        assert len(text) > 15 and text != feature, feature
    assert "SYN" in meaning("syn_count")
    assert "between packets" in meaning("IAT")
    assert meaning("not-a-feature") == "not-a-feature"


@pytest.fixture(scope="module")
def test_split(demo_dir):
    return load_split(demo_dir, "test")


def model(models_dir, name) -> TrainedModel:
    return TrainedModel.load(models_dir / name)


def test_stratified_sample_keeps_small_classes_and_the_budget():
    y = np.array([0] * 1000 + [1] * 30 + [2] * 500)
    idx = explain.sample_rows(y, 300, seed=1)
    assert len(idx) == 300 and len(np.unique(idx)) == 300
    counts = np.bincount(y[idx])
    assert counts[1] == 30, "a class smaller than its share keeps all its rows"
    assert counts[0] == counts[2] == 135
    np.testing.assert_array_equal(idx, explain.sample_rows(y, 300, seed=1))


def test_permutation_importance_ranks_features_with_meanings(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-rf-6class")
    imp = explain.permutation_importance(m, test_split, max_rows=600, repeats=2, seed=0)
    frame = imp.frame
    assert list(frame["feature"].sort_values()) == sorted(m.layout.features)
    assert frame["importance"].is_monotonic_decreasing
    assert frame["importance"].iloc[0] > 0.01, "shuffling the most used feature must hurt macro-F1"
    assert (frame["meaning"] == frame["feature"].map(meaning)).all()
    assert imp.n_rows == 600 and imp.repeats == 2
    assert 0.5 < imp.baseline_macro_f1 <= 1.0
    # A constant feature (every row the same value) can carry nothing: its importance is exactly 0.
    const = [f for j, f in enumerate(m.layout.features) if np.ptp(test_split.X[:, j]) == 0]
    for f in const:
        assert frame.set_index("feature").loc[f, "importance"] == 0.0
    again = explain.permutation_importance(m, test_split, max_rows=600, repeats=2, seed=0)
    np.testing.assert_allclose(again.frame["importance"], frame["importance"])


def test_permutation_importance_needs_labels(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-rf-6class")
    unlabelled = test_split.subset(np.arange(50))
    unlabelled.y[:] = UNLABELLED
    with pytest.raises(explain.CoreError, match="true class"):
        explain.permutation_importance(m, unlabelled)


def test_benign_baseline_is_the_median_of_benign_rows(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-rf-2class")
    base = explain.benign_baseline(m, test_split)
    benign = codes_for_task(test_split.y, 2) == 0
    np.testing.assert_allclose(base.raw, np.median(test_split.X[benign].astype(np.float64), axis=0), rtol=1e-6)
    np.testing.assert_allclose(base.preprocessed, m.preprocessor.transform(base.raw[None].astype(np.float32))[0][0])
    assert "benign rows" in base.source


def test_without_benign_rows_the_baseline_is_the_training_datas_benign_median(demo_models_dir, demo_dir):
    """It used to be the median of every training row, attacks included, still called "typical benign"."""
    m = model(demo_models_dir, "test-rf-6class")
    train = load_split(demo_dir, "train")
    benign = codes_for_task(train.y, 2) == 0
    attacks_only = train.subset(np.flatnonzero(~benign))
    base = explain.benign_baseline(m, attacks_only)
    want = np.median(explain._repair_only(m.preprocessor, train.X[benign]), axis=0)
    np.testing.assert_allclose(base.raw, want, rtol=1e-6)
    assert not np.allclose(want, m.preprocessor.median_), "the benign median differs from the all-rows one"
    assert base.source == (f"median of the {int(benign.sum()):,} benign rows of the model's training data (none "
                           "among the rows analysed)")  # fmt: skip
    del m.metadata["data"]["benign_median"]  # a model saved before it was stored
    legacy = explain.benign_baseline(m, None)
    np.testing.assert_allclose(legacy.raw, m.preprocessor.median_)
    assert legacy.source.startswith("median of all the model's training rows, attacks included")


def _attack_row(data) -> int:
    return int(np.flatnonzero(codes_for_task(data.y, 2) == 1)[7])


def test_integrated_gradients_add_up_to_the_prediction_difference(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-paper-cnn-6class")
    i = _attack_row(test_split)
    ex = explain.explain_row(m, test_split, i, steps=128)
    assert ex.method == "integrated gradients"
    # Completeness: sum of attributions == f(x) - f(baseline) for the predicted class (up to the quadrature).
    assert ex.frame["contribution"].sum() == pytest.approx(ex.probability - ex.baseline_probability, abs=0.01)
    assert ex.completeness_gap < 0.01
    proba = m.predict(test_split.subset(np.array([i]))).proba[0]
    assert ex.probability == pytest.approx(float(proba.max()), abs=1e-5)
    assert ex.predicted == m.classes[int(np.argmax(proba))]
    # Sorted by absolute contribution, with the raw value and the typical benign value of each feature.
    assert ex.frame["contribution"].abs().is_monotonic_decreasing
    row = ex.frame.set_index("feature")
    for j, f in enumerate(m.layout.features):
        assert row.loc[f, "value"] == pytest.approx(float(test_split.X[i, j]), rel=1e-6)
    # A row equal to the baseline has nothing to explain: every attribution is 0.
    base = explain.benign_baseline(m, test_split)
    zero = explain.integrated_gradients(m, base.preprocessed, base.preprocessed, 0, steps=8)
    np.testing.assert_array_equal(zero, 0.0)


@pytest.mark.parametrize("family", ["dnn", "cnn"])  # cnn: our default network, piecewise-linear encoding included
def test_integrated_gradients_on_our_other_networks(demo_dir, test_split, family):
    from core.training import train_model

    train = load_split(demo_dir, "train", max_rows_per_class=100)
    m, _ = train_model(family, 2, train, params={"epochs": 2, "batch_size": 128})
    assert family != "cnn" or m.detector.params["ple_bins"] > 0
    i = _attack_row(test_split)
    ex = explain.explain_row(m, test_split, i, steps=128)
    assert ex.method == "integrated gradients"
    assert ex.frame["contribution"].sum() == pytest.approx(ex.probability - ex.baseline_probability, abs=0.01)


def test_occlusion_for_a_forest_measures_each_feature_alone(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-rf-2class")
    i = _attack_row(test_split)
    ex = explain.explain_row(m, test_split, i)
    assert ex.method == "occlusion" and ex.completeness_gap is None
    top = ex.frame.iloc[0]
    # Setting the top feature alone to its benign value changes the probability by exactly its contribution.
    j = list(m.layout.features).index(top["feature"])
    base = explain.benign_baseline(m, test_split)
    x = m.preprocessor.transform(test_split.X[i : i + 1])[0]
    x2 = x.copy()
    x2[0, j] = base.preprocessed[j]
    c = m.classes.index(ex.predicted)
    p = m.detector.predict_proba(np.vstack([x, x2]))[:, c]
    assert top["contribution"] == pytest.approx(p[0] - p[1], abs=1e-6)
    assert top["typical_benign"] == pytest.approx(base.raw[j])
    with pytest.raises(explain.CoreError, match="out of range"):
        explain.explain_row(m, test_split, len(test_split.X))


def test_class_profiles_find_what_sets_each_attack_apart(demo_models_dir, test_split):
    m = model(demo_models_dir, "test-rf-6class")
    prof = explain.class_profiles(m, test_split, top=5)
    assert set(prof["class"]) == {"Spoofing", "MQTT", "Recon", "DDoS", "DoS"}
    assert (prof.groupby("class").size() == 5).all()
    assert (prof["reference"] == "Benign").all()
    ddos = prof[prof["class"] == "DDoS"]
    assert ddos["difference"].abs().is_monotonic_decreasing
    # The difference is of means in preprocessed space (training standard deviations).
    f = ddos["feature"].iloc[0]
    j = list(m.layout.features).index(f)
    X = m.preprocessor.transform(test_split.X)[0][:, j]
    cat = np.asarray(codes_for_task(test_split.y, 6))
    expected = X[cat == 4].mean() - X[cat == 0].mean()  # 4 = DDoS, 0 = Benign in the 6-class order
    assert ddos["difference"].iloc[0] == pytest.approx(expected, rel=1e-4)
