"""Piecewise-linear encoding (core.ple) and the improved CNN that uses it (ple_bins > 0)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from core.inference import EXPORT_FILE, UnsupportedNetwork, export_keras
from core.loading import load_split
from core.pipeline import TrainedModel
from core.ple import MIN_WIDTH, dense_weights, encode, fit_edges
from core.preprocess import Preprocessor
from core.training import QUANTILES, train_model


def test_quantile_edges_merge_plateaus_and_encode_by_hand():
    # 50 zeros (a plateau) then 1..50: the quantiles at 0, .25, .5, .75, 1 are 0, 0, 0.5, 25.25, 50.
    col = np.concatenate([np.zeros(50), np.arange(1, 51)])[:, None]
    (edges,) = fit_edges(col, 4, method="quantile")
    np.testing.assert_allclose(edges, [0.0, 0.5, 25.25, 50.0])  # the repeated 0 edge is merged: 3 bins, not 4
    got = encode(np.array([[0.0], [0.25], [10.0], [25.25], [50.0], [-3.0], [99.0]]), [edges], 4)
    want = [
        [0, 0, 0, 0],  # at the lowest edge: nothing filled
        [0.5, 0, 0, 0],  # half-way through the first bin
        [1, (10 - 0.5) / 24.75, 0, 0],
        [1, 1, 0, 0],  # exactly on an edge: the bins below are full, the next one empty
        [1, 1, 1, 0],  # the maximum fills every real bin; the fourth (unused) channel stays 0
        [0, 0, 0, 0],  # below the training range: clipped
        [1, 1, 1, 0],  # above it: clipped
    ]
    np.testing.assert_allclose(got[:, 0, :], want)


def test_constant_and_near_constant_columns():
    X = np.stack([np.full(100, 3.0), np.r_[np.zeros(99), MIN_WIDTH / 10]], axis=1)
    edges = fit_edges(X, 8)
    assert [len(e) for e in edges] == [1, 1], "no bin narrower than MIN_WIDTH: both columns get no bins"
    assert not encode(X, edges, 8).any()
    w, b = dense_weights(edges, 8)
    assert w.shape == (2, 16) and not w.any() and not b.any()


def test_tree_edges_find_the_class_boundary():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 2000)
    y = (x > 3.0).astype(int)
    (edges,) = fit_edges(x[:, None], 4, method="tree", y=y)
    assert edges[0] == pytest.approx(x.min()) and edges[-1] == pytest.approx(x.max())
    assert np.min(np.abs(edges - 3.0)) < 0.02, f"a split point at the class boundary 3.0: {edges}"
    with pytest.raises(ValueError, match="labels"):
        fit_edges(x[:, None], 4, method="tree")


def test_edges_refuse_unrepaired_rows_and_bad_settings():
    with pytest.raises(ValueError, match="inf or NaN"):
        fit_edges(np.array([[1.0], [np.inf]]), 4)
    with pytest.raises(ValueError, match="quantile"):
        fit_edges(np.zeros((3, 1)), 4, method="kmeans")


def test_dense_weights_reproduce_the_encoding():
    rng = np.random.default_rng(1)
    X = np.round(rng.standard_normal((500, 3)), 1)  # repeated values everywhere
    edges = fit_edges(X, 6)
    w, b = dense_weights(edges, 6)
    dense = np.clip(X.astype(np.float32) @ w + b, 0, 1).reshape(len(X), 3, 6)
    np.testing.assert_allclose(dense, encode(X, edges, 6), atol=1e-5)


def test_inf_and_nan_follow_the_preprocessor_repair():
    """PLE sees repaired rows: +inf encodes like the training maximum, -inf the minimum, NaN the median."""
    rng = np.random.default_rng(2)
    raw = np.round(rng.exponential(5.0, size=(400, 2)), 0).astype(np.float32)  # plateaus at small integers
    pre = Preprocessor(["a", "b"], quantiles=QUANTILES).fit(raw)
    Z, _ = pre.transform(raw)
    edges = fit_edges(Z, 8)
    odd = np.array([[np.inf, np.nan], [-np.inf, 1.0]], dtype=np.float32)
    same = np.array([[raw[:, 0].max(), np.median(raw[:, 1])], [raw[:, 0].min(), 1.0]], dtype=np.float32)
    enc_odd = encode(pre.transform(odd)[0], edges, 8)
    np.testing.assert_allclose(enc_odd, encode(pre.transform(same)[0], edges, 8), atol=1e-6)
    n_bins = len(edges[0]) - 1
    assert (enc_odd[0, 0, :n_bins] == 1).all(), "+inf fills every bin of its feature"
    assert not enc_odd[1, 0].any(), "-inf fills none"


@pytest.fixture(scope="module")
def ple_model(v2_sample, tmp_path_factory):
    """A tiny PLE CNN trained on real v2 rows (inf in Rate, plateaus), saved; pooling by 4, not 2, after the second
    convolution, so that the numpy engine's pooling is checked for a window other than the default's too."""
    train = load_split(v2_sample, "train", max_rows_per_class=60, seed=0)
    test = load_split(v2_sample, "test", layout=train.layout, max_rows_per_class=60, seed=0)
    params = {"epochs": 2, "filters": 8, "dense_units": 32, "ple_bins": 8, "ple_shortcut": True, "pool": 4}
    model, _ = train_model("cnn", 6, train, test=test, params=params)
    folder = model.save(tmp_path_factory.mktemp("ple") / "ple-cnn")
    return model, folder, test


def test_network_encodes_like_numpy_and_keeps_its_edges_frozen(ple_model):
    import keras

    model, _, test = ple_model
    det = model.detector
    net = det.model_
    layer = net.get_layer("ple_encoding")
    assert not layer.trainable and layer.trainable_weights == []
    w, b = dense_weights(det.ple_edges_, 8)
    np.testing.assert_array_equal(layer.get_weights()[0], w)  # training did not move the edges
    np.testing.assert_array_equal(layer.get_weights()[1], b)
    X, _ = model.preprocessor.transform(test.X)
    reshaped = next(lyr for lyr in net.layers if type(lyr).__name__ == "Reshape" and lyr.target_shape[1] == 8)
    sub = keras.Model(net.inputs[0], reshaped.output)
    got = np.asarray(sub(X, training=False))
    np.testing.assert_allclose(got, encode(X, det.ple_edges_, 8), atol=1e-4)
    assert [len(e) for e in det.ple_edges_] != [9] * X.shape[1], "some real features are plateau-merged"


def test_save_load_round_trip_and_numpy_engine_equals_keras(ple_model, monkeypatch):
    model, folder, test = ple_model
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["params"]["ple_bins"] == 8 and meta["params"]["ple_edges"] == "quantile"
    assert meta["params"]["pool"] == 4
    pool = next(lyr for lyr in model.detector.model_.layers if type(lyr).__name__ == "MaxPooling1D")
    assert tuple(pool.output.shape) == (None, 39 // 4, 8), "39 positions pooled by 4 (8 filters)"
    loaded = TrainedModel.load(folder)
    assert loaded.detector.engine_ is not None, "the PLE network is exported to numpy"
    with zipfile.ZipFile(folder / EXPORT_FILE) as zf:  # an .npz is a zip of .npy files
        spec = bytes(np.load(zf.open("__spec__.npy"))).decode()
    assert '"reshape"' in spec and '"relu1"' in spec and "conv1d" in spec
    fast = loaded.predict(test).proba
    monkeypatch.setenv("IOMT_INFERENCE", "keras")
    slow = TrainedModel.load(folder)
    assert slow.detector.engine_ is None
    ref = slow.predict(test).proba
    np.testing.assert_allclose(fast, ref, atol=1e-5)
    np.testing.assert_allclose(fast, model.predict(test).proba, atol=1e-5)  # the model before saving
    assert np.isinf(test.X).any() or np.isnan(test.X).any(), "the real rows include cells needing repair"


def test_exporter_refuses_other_clipped_relus_and_mid_axis_concat():
    import keras
    from keras import layers

    inp = keras.Input(shape=(4,))
    out = layers.ReLU(max_value=6.0)(layers.Dense(3)(inp))
    with pytest.raises(UnsupportedNetwork):
        export_keras(keras.Model(inp, layers.Dense(2, activation="softmax")(out)))
    seq = layers.Reshape((4, 1))(inp)
    joined = layers.Concatenate(axis=1)([seq, seq])
    with pytest.raises(UnsupportedNetwork):
        export_keras(keras.Model(inp, layers.Dense(2, activation="softmax")(layers.Flatten()(joined))))


def test_model_saved_before_the_encoding_loads_without_it(v2_sample, tmp_path):
    """A folder whose params lack the ple_* keys (saved before they existed) scores as saved, with no encoding."""
    train = load_split(v2_sample, "train", max_rows_per_class=30, seed=0)
    model, _ = train_model("cnn", 2, train, params={"epochs": 1, "filters": 8, "dense_units": 16, "ple_bins": 0})
    folder = model.save(tmp_path / "old-cnn")
    meta = json.loads((folder / "metadata.json").read_text())
    meta["params"] = {k: v for k, v in meta["params"].items() if not k.startswith("ple_")}
    (folder / "metadata.json").write_text(json.dumps(meta))
    loaded = TrainedModel.load(folder)
    assert loaded.detector.params["ple_bins"] == 0, "a missing ple_bins means none, not today's default"
    np.testing.assert_allclose(loaded.predict(train).proba, model.predict(train).proba, atol=1e-5)
