"""Scoring numerics found wrong: the numpy engine, the preprocessing it is fed, and the BLAS limit it runs under.

Real TensorFlow/Keras, scikit-learn and threadpoolctl; nothing of the code under test is mocked.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.inference import export_checked, single_threaded_blas
from core.loading import load_split
from core.models import make_detector
from core.ple import fit_edges
from core.preprocess import Preprocessor
from core.training import train_model


def _improved_cnn(n_features: int, n_classes: int, **params):
    """Our cnn's network as ``--param`` builds it, with batch normalisation statistics of its own."""
    import keras

    det = make_detector("cnn", **{"filters": 4, "dense_units": 8, "ple_bins": 4, **params})
    rng = np.random.default_rng(0)
    det.ple_edges_ = fit_edges(rng.standard_normal((300, n_features)), int(det.params["ple_bins"]))
    keras.utils.set_random_seed(0)
    model = det.build(n_features, n_classes)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, var.shape)])  # fmt: skip
    return model


def test_cnn_with_pool_1_is_exported_and_scores_as_keras():
    """``--param pool=1`` (allowed: pool >= 1) pools windows of one position, i.e. changes nothing. The engine took a
    window of 1 for global max pooling: a chunk of one row got every position's maximum (silently wrong), any other
    chunk failed to broadcast, so the export check raised a ValueError that ended training after the fit."""
    model = _improved_cnn(39, 6, pool=1)
    net = export_checked(model, 39)  # the check train_model's prepare_scoring() and save() run
    X = (np.random.default_rng(1).standard_normal((130, 39)) * 3).astype(np.float32)
    want = np.asarray(model(X, training=False), dtype=np.float32)
    for chunk_rows, workers in ((1, 1), (64, 1), (63, 2), (65, 2), (512, 1)):
        got = net.predict_proba(X, chunk_rows=chunk_rows, workers=workers)
        np.testing.assert_allclose(got, want, atol=2e-6, err_msg=f"chunks of {chunk_rows} rows")
    np.testing.assert_allclose(net.predict_proba(X[:1]), want[:1], atol=2e-6)  # one row alone


def test_cnn_trained_with_pool_1_saves_and_reloads(v2_sample, tmp_path):
    from core.pipeline import TrainedModel

    train = load_split(v2_sample, "train", max_rows_per_class=20, seed=0)
    params = {"epochs": 1, "filters": 4, "dense_units": 8, "ple_bins": 2, "pool": 1, "refit": False}
    model, _ = train_model("cnn", 2, train, params=params)
    assert model.detector.engine_ is not None
    before = model.predict(train).proba
    loaded = TrainedModel.load(model.save(tmp_path / "pool1"))
    np.testing.assert_array_equal(loaded.predict(train).proba, before)


@pytest.mark.parametrize("value", [3e38, -3e38])
def test_values_that_overflow_once_scaled_are_repaired_like_inf(value):
    """3e38 is a finite float32, but scaled by a deviation below 1 it is inf: it must come out as an inf cell does
    (the training extreme) and be counted, not reach the model as inf."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.random(500), rng.exponential(5.0, 500), (rng.random(500) < 0.3)]).astype(np.float32)
    pre = Preprocessor(["a", "b", "flag"]).fit(X)
    assert (pre.std_[[0, 2]] < 1).all() and pre.std_[1] > 1
    rows = np.array([[0.5, 2.0, value], [value, value, 0.0]], dtype=np.float32)
    got, counts = pre.transform(rows)
    assert np.isfinite(got).all(), got
    as_inf = np.where(np.abs(rows) > 1e38, np.copysign(np.inf, rows), rows).astype(np.float32)
    # one that would not overflow is taken as inf too: beyond ±1e15 (core.preprocess.IMPLAUSIBLE) no cell is a value
    np.testing.assert_array_equal(got, pre.transform(as_inf)[0])
    assert (counts.pos_inf if value > 0 else counts.neg_inf) == {"a": 1, "b": 1, "flag": 1}, counts.to_dict()
    assert counts.total == 3 and counts.beyond == {"a": 1, "b": 1, "flag": 1}


@pytest.mark.parametrize("family", ["paper-cnn", "rf"])
def test_model_scores_a_row_with_a_huge_value(family, v2_sample):
    """A flow with 3e38 in a flag column: the paper's network gave NaN probabilities (every such attack flow scored
    Benign, the first class); the forest refused the whole file ('Input X contains infinity')."""
    train = load_split(v2_sample, "train", max_rows_per_class=40, seed=0)
    params = {"paper-cnn": {"epochs": 1, "batch_size": 64}, "rf": {"n_estimators": 10}}[family]
    model, _ = train_model(family, 2, train, params=params)
    j = train.layout.features.index("syn_flag_number")
    attacks = train.subset(np.flatnonzero(train.y != train.y.min())[:30])
    attacks.X[:, j] = 3e38
    got = model.predict(attacks)
    assert np.isfinite(got.proba).all()
    attacks.X[:, j] = np.inf  # the value it overflows to, repaired by the documented rule
    np.testing.assert_array_equal(got.proba, model.predict(attacks).proba)
    assert got.repairs.pos_inf == {"syn_flag_number": len(attacks)}


def test_blas_limit_survives_overlapping_scorings():
    """Two scorings overlap (two dashboard sessions): BLAS stays on one thread while either runs, and gets its own
    thread count back when both are done (it was left on one thread for the rest of the process)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can limit")
    with threadpool_limits(limits=2, user_api="blas"):  # the original, as on a machine with several cores
        assert blas_threads() == {2}
        first, second = single_threaded_blas(), single_threaded_blas()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert blas_threads() == {1}, "the other scoring still runs: BLAS stays on one thread"
        second.__exit__(None, None, None)
        assert blas_threads() == {2}, "both done: BLAS back to its own thread count"
