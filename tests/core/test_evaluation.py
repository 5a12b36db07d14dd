"""Evaluation reports and preprocessing: values checked against hand-computed results."""

import itertools

import numpy as np
import pytest

from core.evaluation import EvaluationReport, evaluate
from core.preprocess import Preprocessor
from core.taxonomy import CLASSES_6


def test_report_values_by_hand():
    # classes: 0 Benign, 4 DDoS, 5 DoS
    y_true = np.array([0, 0, 0, 0, 4, 4, 4, 5, 5, 5])
    y_pred = np.array([0, 0, 0, 4, 4, 4, 5, 5, 5, 4])
    r = evaluate(y_true, y_pred, task=6, task_classes=CLASSES_6)
    assert r.labels == ["Benign", "DDoS", "DoS"]
    assert r.confusion_matrix == [[3, 1, 0], [0, 2, 1], [0, 1, 2]]
    assert r.accuracy == pytest.approx(0.7)
    assert r.per_class["Benign"] == pytest.approx({"precision": 1.0, "recall": 0.75, "f1": 6 / 7, "support": 4})
    assert r.per_class["DDoS"]["precision"] == pytest.approx(0.5)
    f1s = [6 / 7, 4 / 7, 2 / 3]
    assert r.macro_f1 == pytest.approx(np.mean(f1s))
    assert r.weighted_f1 == pytest.approx(np.average(f1s, weights=[4, 3, 3]))
    assert r.absent_classes == ["Spoofing", "MQTT", "Recon"]
    assert EvaluationReport.from_dict(r.to_dict()) == r


def test_predicted_only_class_is_listed_but_not_averaged():
    y_true = np.array([0, 0, 4, 4])
    y_pred = np.array([0, 3, 4, 4])  # one Benign row predicted as Recon, absent from the truth
    r = evaluate(y_true, y_pred, task=6, task_classes=CLASSES_6)
    assert r.labels == ["Benign", "Recon", "DDoS"]
    assert r.per_class["Recon"]["support"] == 0
    assert r.scored_labels == ["Benign", "DDoS"]
    assert r.macro_recall == pytest.approx((0.5 + 1.0) / 2), "the false alarm lowers Benign's recall"


def test_headline_counts_and_one_class_without_a_warning(recwarn):
    """'(31 rows, 1 classes)', '2874 test rows' without separators, nothing said when none were removed, and a
    scikit-learn warning printed among the results when the test rows hold one class."""
    one = evaluate(np.full(1, 4), np.full(1, 4), task=6, task_classes=CLASSES_6)
    assert one.headline().endswith("(1 row, 1 class)")
    assert not [w for w in recwarn if "single label" in str(w.message)]
    y = np.zeros(2874, dtype=int)
    assert evaluate(y, y, task=6, task_classes=CLASSES_6, duplicates_removed=2874).headline().endswith(
        "(2,874 rows, 1 class, 2,874 test rows also in train removed)")  # fmt: skip
    assert evaluate(y, y, task=6, task_classes=CLASSES_6, duplicates_removed=0).headline().endswith(
        ", 0 test rows also in train removed)"), "asked for and none found: said"  # fmt: skip
    assert "removed" not in evaluate(y, y, task=6, task_classes=CLASSES_6).headline()


def test_evaluate_refuses_empty_and_mismatched():
    with pytest.raises(ValueError):
        evaluate(np.array([]), np.array([]), task=6, task_classes=CLASSES_6)
    with pytest.raises(ValueError):
        evaluate(np.array([0, 1]), np.array([0]), task=6, task_classes=CLASSES_6)


def test_repair_rule_and_counts():
    features = ["a", "b", "c"]
    X_train = np.array([[1, 10, 5], [2, 20, np.nan], [3, np.inf, 7], [4, 40, 9]], dtype=np.float32)
    pre = Preprocessor(features, scale=False).fit(X_train)
    assert pre.max_.tolist() == [4, 40, 9] and pre.min_.tolist() == [1, 10, 5]
    assert pre.median_[2] == 7
    X = np.array([[np.inf, -np.inf, np.nan], [0, 0, 0]], dtype=np.float32)
    out, counts = pre.transform(X)
    assert out[0].tolist() == [4, 10, 7], "+inf -> train max, -inf -> train min, NaN -> train median"
    assert out[1].tolist() == [0, 0, 0]
    assert counts.to_dict() == {"total": 3, "pos_inf": {"a": 1}, "neg_inf": {"b": 1}, "nan": {"c": 1}}
    assert np.isinf(X[0, 0]), "transform copies by default"


def test_scaling_log_and_roundtrip():
    rng = np.random.default_rng(0)
    X = rng.lognormal(3, 2, size=(1000, 3)).astype(np.float32)
    X[:, 2] = 5.0  # constant column
    pre = Preprocessor(["a", "b", "c"], log_features=["a"]).fit(X)
    Z, _ = pre.transform(X)
    assert np.allclose(Z[:, :2].mean(axis=0), 0, atol=1e-4) and np.allclose(Z[:, :2].std(axis=0), 1, atol=1e-3)
    assert np.all(Z[:, 2] == 0), "a constant column is centred, not divided by zero"
    assert np.corrcoef(np.log1p(X[:, 0]), Z[:, 0])[0, 1] > 0.9999
    again = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_array_equal(again.transform(X)[0], Z)
    with pytest.raises(RuntimeError, match="not fitted"):
        Preprocessor(["a"]).transform(X[:, :1])


def test_quantile_transform_keeps_order_and_spreads_plateaus():
    rng = np.random.default_rng(0)
    # A per-recording plateau (two constant values far apart) and a heavy tail.
    X = np.column_stack([rng.choice([8.5e7, 1.7e8], size=2000), rng.pareto(1.0, size=2000)]).astype(np.float32)
    pre = Preprocessor(["iat", "rate"], quantiles=100).fit(X)
    Z, _ = pre.transform(X)
    low, high = Z[X[:, 0] == 8.5e7, 0], Z[X[:, 0] == 1.7e8, 0]
    assert np.ptp(low) == 0 and np.ptp(high) == 0 and high[0] - low[0] > 1.5, "plateaus land far apart"
    order = np.argsort(X[:, 1], kind="stable")
    assert np.all(np.diff(Z[order, 1]) >= -1e-6), "the transform keeps the order of values"
    assert abs(Z[:, 1].std() - 1) < 0.05
    out, _ = pre.transform(np.array([[np.inf, 1e12]], dtype=np.float32))
    assert np.isfinite(out).all(), "values beyond the training range are clipped, not infinite"
    again = Preprocessor.from_dict(pre.to_dict())
    np.testing.assert_allclose(again.transform(X)[0], Z, atol=1e-6)


def test_transform_in_pieces_on_threads_counts_every_repair(monkeypatch):
    """Inputs are transformed in equal pieces shared by threads: same rows out whatever the pieces and threads,
    repairs counted in every piece."""
    from core import preprocess

    rng = np.random.default_rng(3)
    n = 5 * preprocess._TRANSFORM_ROWS + 123
    X = rng.lognormal(2, 2, size=(n, 3)).astype(np.float32)
    bad_rows = [0, preprocess._TRANSFORM_ROWS - 1, 2 * preprocess._TRANSFORM_ROWS + 7, n - 1]
    X[bad_rows, 0] = np.inf
    X[bad_rows[1:3], 2] = np.nan
    pre = Preprocessor(["a", "b", "c"], quantiles=50).fit(X[1:-1])
    Z, counts = pre.transform(X)
    assert counts.to_dict() == {"total": 6, "pos_inf": {"a": 4}, "neg_inf": {}, "nan": {"c": 2}}
    # In small, oddly sized slices (each cut in pieces of its own): the same values.
    cuts = [0, 1, 777, preprocess._TRANSFORM_ROWS + 5, 3 * preprocess._TRANSFORM_ROWS, n]
    np.testing.assert_array_equal(Z, np.concatenate([pre.transform(X[a:b])[0] for a, b in itertools.pairwise(cuts)]))
    # On one thread (one piece per _TRANSFORM_ROWS) and on three (pieces a multiple of three): the same again.
    for threads in ("1", "3"):
        monkeypatch.setenv("IOMT_THREADS", threads)
        Z_threads, counts_threads = pre.transform(X)
        np.testing.assert_array_equal(Z_threads, Z)
        assert counts_threads.to_dict() == counts.to_dict()
    monkeypatch.delenv("IOMT_THREADS")
    assert Z[0, 0] == Z[X[:, 0] == X[1:-1, 0].max()][0, 0], "+inf lands on the training maximum"
    # A refit with other quantile points is used at once (the converted points are not kept stale).
    pre.fit(X[1:-1] * 2)
    np.testing.assert_array_equal(
        pre.transform(X[:100])[0], Preprocessor.from_dict(pre.to_dict()).transform(X[:100])[0]
    )
