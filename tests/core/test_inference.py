"""The numpy inference engine (core.inference) against Keras, on real v2 rows, for every network family."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import f1_score

from core.inference import EXPORT_FILE, NumpyNetwork, UnsupportedNetwork, export_for, export_keras, load_export
from core.loading import load_split
from core.pipeline import TrainedModel
from core.training import train_model
from tests.conftest import ROOT

#: Tiny networks: one or two epochs on a few thousand rows (the engine's accuracy, not the model's, is tested).
FAMILIES = {
    "paper-cnn": {"epochs": 1, "batch_size": 256},
    "cnn": {"epochs": 1, "seeds": 2, "patience": 1},  # the multi-seed Average ensemble
    "dnn": {"epochs": 1},
}


@pytest.fixture(scope="module")
def v2_data(v2_sample):
    train = load_split(v2_sample, "train", max_rows_per_class=120, seed=0)
    test = load_split(v2_sample, "test", layout=train.layout, max_rows_per_class=150, seed=0)
    return train, test


@pytest.fixture(scope="module")
def saved(v2_data, tmp_path_factory):
    """One saved 19-class model per Keras family, trained on real v2 rows."""
    train, _ = v2_data
    root = tmp_path_factory.mktemp("inference-models")
    out = {}
    for family, params in FAMILIES.items():
        model, _ = train_model(family, 19, train, params=params)
        out[family] = model.save(root / family)
    return out


def keras_proba(model: TrainedModel, X: np.ndarray) -> np.ndarray:
    det = model.detector
    Xk = det._inputs(X)
    return np.asarray(det.model_.predict(Xk, batch_size=4096, verbose=0), dtype=np.float32)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_numpy_engine_matches_keras_on_real_rows(family, saved, v2_data):
    _, test = v2_data
    assert (saved[family] / EXPORT_FILE).is_file(), "save() writes the numpy export beside model.keras"
    model = TrainedModel.load(saved[family])
    assert model.detector.engine_ is not None
    X, _ = model.preprocessor.transform(test.X)
    fast = model.detector.predict_proba(X)
    ref = keras_proba(model, X)
    assert fast.shape == ref.shape == (len(test), len(model.classes))
    assert fast.dtype == np.float32
    assert np.max(np.abs(fast - ref)) < 1e-5
    agree = np.mean(fast.argmax(1) == ref.argmax(1))
    assert agree >= 0.999
    y = test.y.astype(np.int64)
    f1_fast = f1_score(y, fast.argmax(1), average="macro")
    f1_ref = f1_score(y, ref.argmax(1), average="macro")
    assert abs(f1_fast - f1_ref) <= 0.002
    np.testing.assert_allclose(fast.sum(axis=1), 1.0, atol=1e-5)


def test_chunking_and_threads_do_not_change_results(saved, v2_data):
    _, test = v2_data
    model = TrainedModel.load(saved["cnn"])
    X, _ = model.preprocessor.transform(test.X)
    engine = model.detector.engine_
    one = engine.predict_proba(X, chunk_rows=len(X), workers=1)
    many = engine.predict_proba(X, chunk_rows=37, workers=3)
    np.testing.assert_allclose(one, many, atol=1e-6)
    assert engine.predict_proba(X[:0]).shape == (0, len(model.classes))
    # One thread, chunks of 37 and a shorter last one, all through the same kept arrays: the same rows out as
    # each chunk scored alone with fresh arrays.
    # (BLAS on one thread in both, as predict_proba runs it: threaded BLAS rounds the last bit differently.)
    from core.inference import single_threaded_blas

    again = engine.predict_proba(X, chunk_rows=37, workers=1)
    with single_threaded_blas():
        alone = np.concatenate([engine._forward(X[s : s + 37]) for s in range(0, len(X), 37)])
    np.testing.assert_array_equal(again, alone)


def test_chunks_are_sized_to_the_network(saved, v2_data, monkeypatch):
    """Rows per chunk follow the size of a network's intermediate arrays (so that a chunk's stay in cache): a
    power of two in range, fewer rows for our cnn (larger arrays per row) than for the paper's, most for the
    dense network; predict_proba scores in chunks of that size when not told otherwise."""
    from core.inference import CHUNK_ROWS_RANGE

    _, test = v2_data
    engines = {family: TrainedModel.load(path).detector.engine_ for family, path in saved.items()}
    width = test.X.shape[1]
    rows = {family: engine.chunk_rows(width) for family, engine in engines.items()}
    for family, r in rows.items():
        assert CHUNK_ROWS_RANGE[0] <= r <= CHUNK_ROWS_RANGE[1] and r & (r - 1) == 0, (family, r)
    assert rows["cnn"] < rows["paper-cnn"] < rows["dnn"], rows
    engine = engines["cnn"]
    seen = []
    forward = engine._forward
    monkeypatch.setattr(engine, "_forward", lambda X, ws=None: seen.append(len(X)) or forward(X, ws))
    X = np.zeros((rows["cnn"] * 2 + 5, width), dtype=np.float32)
    engine.predict_proba(X, workers=1)
    assert sorted(seen) == [5, rows["cnn"], rows["cnn"]]


def test_scratch_arrays_are_kept_between_chunks():
    from core.inference import _scratch

    ws = {}
    a = _scratch(ws, "k", (8, 3, 2), zeros=True)
    a[:, 1:2] = 5.0  # a chunk writes the inside only
    b = _scratch(ws, "k", (5, 3, 2), zeros=True)  # a shorter last chunk: the first rows of the same array
    assert np.shares_memory(a, b) and b.shape == (5, 3, 2)
    assert (b[:, 0] == 0).all() and (b[:, 2] == 0).all(), "the zero borders of a padded input stay zero"
    c = _scratch(ws, "k", (9, 3, 2))  # longer, or another shape: a new array
    assert not np.shares_memory(a, c) and c.shape == (9, 3, 2)


def test_scoring_does_not_import_tensorflow(saved, v2_sample):
    code = (
        "import sys; from core.pipeline import TrainedModel; from core.loading import read_csv\n"
        f"m = TrainedModel.load({str(saved['paper-cnn'])!r})\n"
        f"d = read_csv({str(next((v2_sample / 'test').glob('*.csv')))!r})\n"
        "p = m.predict(d)\n"
        "print(len(p.proba), 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    n, tf_loaded, keras_loaded = out.stdout.split()
    assert int(n) > 0
    assert (tf_loaded, keras_loaded) == ("False", "False")


def test_predict_command_imports_no_tensorflow_sklearn_or_pandas(saved, v2_sample, tmp_path):
    """`python -m core predict` on a file with empty cells: the fast path stays free of the heavy imports."""
    lines = next((v2_sample / "test").glob("*.csv")).read_text().splitlines()[:200]
    header, first = lines[0].split(","), lines[1].split(",")
    first[header.index("Std")] = ""  # an empty cell: read as NaN, repaired
    src = tmp_path / "flows.csv"
    src.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    out = tmp_path / "p.csv"
    code = (
        "import sys; from core.cli import main\n"
        f"rc = main(['predict', '--model', {str(saved['paper-cnn'])!r}, {str(src)!r}, '--out', {str(out)!r}])\n"
        "print('MODULES', rc, *(m in sys.modules for m in ('tensorflow', 'keras', 'sklearn', 'pandas')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("MODULES"))
    assert line.split()[1:] == ["0", "False", "False", "False", "False"], proc.stdout
    assert "NaN in Std: 1" in proc.stdout  # the empty cell was read and repaired, not lost
    assert len(out.read_text().splitlines()) == 200  # header + every one of the 199 rows


def test_freshly_trained_network_is_scored_as_the_saved_one_is(v2_data, tmp_path):
    """The test figures and speed recorded at training come from the engine the saved model scores with."""
    train, test = v2_data
    model, reports = train_model("paper-cnn", 19, train, test=test, params={"epochs": 1, "batch_size": 256})
    engine = model.detector.engine_
    assert isinstance(engine, NumpyNetwork), "scored through the numpy engine before it is ever saved"
    X, _ = model.preprocessor.transform(test.X)
    np.testing.assert_allclose(engine.predict_proba(X), keras_proba(model, X), atol=1e-4)  # and it is this network
    fresh = model.predict(test)

    folder = model.save(tmp_path / "fresh")
    assert model.detector.engine_ is engine, "save() writes the export it already has"
    assert load_export(folder / "model.keras").source == engine.source, "tied to the file just written"
    loaded = TrainedModel.load(folder)
    again = loaded.predict(test)
    np.testing.assert_array_equal(again.proba, fresh.proba)
    assert loaded.evaluate(test).to_dict() == reports["test"].to_dict()


def test_predict_timed_scores_every_row_as_predict_does(saved, v2_data):
    _, test = v2_data
    model = TrainedModel.load(saved["paper-cnn"])
    predictions, seconds = model.predict_timed(test, warmup_rows=7)
    assert seconds > 0
    np.testing.assert_array_equal(predictions.proba, model.predict(test).proba)
    assert predictions.repairs.to_dict() == model.predict(test).repairs.to_dict()


def test_model_is_still_a_keras_model_after_load(saved, v2_data):
    import keras

    _, test = v2_data
    model = TrainedModel.load(saved["dnn"])
    net = model.detector.model_  # loaded lazily, for training and gradient explanations
    assert isinstance(net, keras.Model)
    X, _ = model.preprocessor.transform(test.X[:50])
    np.testing.assert_allclose(np.asarray(net(X, training=False)), model.detector.predict_proba(X), atol=1e-5)


def test_folder_saved_before_the_export_still_loads_and_gets_one(saved, v2_data, tmp_path):
    _, test = v2_data
    old = tmp_path / "old-model"
    shutil.copytree(saved["paper-cnn"], old)
    (old / EXPORT_FILE).unlink()  # as saved before this change
    model = TrainedModel.load(old)
    assert model.detector.engine_ is not None
    assert (old / EXPORT_FILE).is_file(), "exported on load, for the next time"
    X, _ = model.preprocessor.transform(test.X)
    ref = TrainedModel.load(saved["paper-cnn"]).detector.predict_proba(X)
    np.testing.assert_allclose(model.detector.predict_proba(X), ref, atol=1e-6)


def test_read_only_folder_still_scores_fast(saved, tmp_path, monkeypatch):
    old = tmp_path / "ro-model"
    shutil.copytree(saved["dnn"], old)
    (old / EXPORT_FILE).unlink()

    def refuse(self, path):
        raise PermissionError(f"read-only: {path}")

    monkeypatch.setattr(NumpyNetwork, "save", refuse)
    model = TrainedModel.load(old)
    assert model.detector.engine_ is not None
    assert not (old / EXPORT_FILE).exists()


def test_stale_or_damaged_export_is_ignored(saved, tmp_path):
    folder = tmp_path / "stale"
    shutil.copytree(saved["dnn"], folder)
    shutil.copy(saved["paper-cnn"] / EXPORT_FILE, folder / EXPORT_FILE)  # another network's weights
    assert load_export(folder / "model.keras") is None
    (folder / EXPORT_FILE).write_bytes(b"not a zip file")
    assert load_export(folder / "model.keras") is None
    model = TrainedModel.load(folder)  # re-exported from the model's own weights
    assert model.detector.engine_.source == load_export(folder / "model.keras").source


def test_keras_can_be_forced(saved, monkeypatch):
    monkeypatch.setenv("IOMT_INFERENCE", "keras")
    model = TrainedModel.load(saved["dnn"])
    assert model.detector.engine_ is None
    X = np.zeros((3, len(model.layout.features)), dtype=np.float32)
    assert model.detector.predict_proba(X).shape == (3, len(model.classes))


@pytest.mark.parametrize("value", ["kears", "tensorflow"])
def test_a_misspelled_engine_is_one_error_naming_iomt_inference(saved, monkeypatch, value):
    """IOMT_INFERENCE=kears scored with the numpy engine without a word, so a check of Keras's own scores checked
    nothing."""
    from core.errors import DataError

    monkeypatch.setenv("IOMT_INFERENCE", value)
    with pytest.raises(DataError, match=rf"\$IOMT_INFERENCE must be 'keras' or 'numpy', not '{value}'"):
        TrainedModel.load(saved["dnn"])
    monkeypatch.setenv("IOMT_INFERENCE", " NumPy ")
    assert TrainedModel.load(saved["dnn"]).detector.engine_ is not None


def test_unsupported_network_is_refused_and_falls_back(tmp_path):
    import keras

    inp = keras.Input(shape=(12, 1))
    x = keras.layers.Conv1D(4, 3, strides=2)(inp)  # strided convolutions are not implemented
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))
    net = keras.Model(inp, out)
    with pytest.raises(UnsupportedNetwork, match="stride"):
        export_keras(net)
    net.save(tmp_path / "model.keras")
    assert export_for(net, tmp_path / "model.keras") is None
    assert not (tmp_path / EXPORT_FILE).exists()


def test_export_file_holds_no_pickles(saved):
    with np.load(saved["cnn"] / EXPORT_FILE, allow_pickle=False) as data:
        spec = json.loads(bytes(data["__spec__"]).decode())
        assert spec["graph"]["op"] == "average" and len(spec["graph"]["in"]) == 2
        assert all(data[k].dtype == np.float32 for k in data.files if k != "__spec__")


def _shapes_network(features: int, pool: int, first: str):
    """A network with every path of the engine's convolutions: the one-channel input or a concatenation (a
    two-channel sequence) first, 'same' convolutions feeding 'same' convolutions, pooling of odd lengths,
    a 'valid' convolution after a 'same' one, global max pooling, batch normalisation folded in."""
    import keras
    from keras import layers

    inp = keras.Input(shape=(features,))
    seq = layers.Reshape((features, 1))(inp)
    if first == "concat":
        twin = layers.Reshape((features, 1))(layers.Dense(features, activation="relu")(inp))
        seq = layers.Concatenate(axis=-1)([seq, twin])
    x = layers.Conv1D(6, 3, padding="same", activation="relu")(seq)
    x = layers.Conv1D(5, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling1D(pool)(x)
    x = layers.Conv1D(7, 3, padding="same", activation="relu")(x)  # 'same' after pooling
    y = layers.Conv1D(4, 3, padding="valid", activation="relu")(x)  # 'valid' after 'same'
    g = layers.GlobalMaxPooling1D()(layers.Conv1D(8, 3, padding="same")(x))
    x = layers.Concatenate()([layers.Flatten()(layers.MaxPooling1D(2)(y)), g])
    out = layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(features + pool)
    # Batch normalisation with statistics of its own (not the identity it starts as).
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 2, gamma.shape), rng.normal(0, 0.5, beta.shape),
                               rng.normal(0, 0.5, mean.shape), rng.uniform(0.5, 2, var.shape)])  # fmt: skip
    return model


@pytest.mark.parametrize(("features", "pool", "first"), [(39, 2, "sequence"), (45, 2, "concat"), (45, 3, "sequence"),
                                                         (40, 3, "concat")])  # fmt: skip
def test_engine_equals_keras_on_every_convolution_path(features, pool, first):
    model = _shapes_network(features, pool, first)
    net = export_keras(model)
    X = (np.random.default_rng(1).standard_normal((700, features)) * 3).astype(np.float32)
    want = np.asarray(model(X, training=False), dtype=np.float32)
    for chunk_rows, workers in ((512, 1), (97, 2)):  # a shorter last chunk through the kept arrays
        got = net.predict_proba(X, chunk_rows=chunk_rows, workers=workers)
        np.testing.assert_allclose(got, want, atol=2e-6)


def tensorflow_gradient(model: TrainedModel, X: np.ndarray, target: int) -> np.ndarray:
    import tensorflow as tf

    inputs = tf.convert_to_tensor(model.detector._inputs(X))
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = model.detector.model_(inputs, training=False)[:, target]
    return tape.gradient(out, inputs).numpy().reshape(len(X), -1)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_engines_input_gradient_is_tensorflows(family, saved, v2_data):
    """Integrated gradients need the network's gradient; the engine gives it without TensorFlow. The rows are moved
    off the kinks (a ReLU at exactly 0, a value exactly on a bin edge of the cnn's encoding), where float32 and
    float64 arithmetic may fall on either side."""
    _, test = v2_data
    model = TrainedModel.load(saved[family])
    X, _ = model.preprocessor.transform(test.X[:400])
    X = (X + np.random.default_rng(0).normal(0, 0.01, X.shape)).astype(np.float32)
    for target in (0, 7, 18):
        ours = model.detector.engine_.input_gradient(X, target, chunk_rows=150)
        ref = tensorflow_gradient(model, X, target)
        assert ours.shape == ref.shape == X.shape
        assert np.abs(ref).max() > 1e-3, "a real gradient, not zeros"
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_integrated_gradients_are_those_of_tensorflow(saved, v2_data, monkeypatch):
    from core import explain

    _, test = v2_data
    model = TrainedModel.load(saved["cnn"])
    X, _ = model.preprocessor.transform(test.X[:2])
    x, baseline = X[0] + 0.003, X[1] - 0.002  # off the encoding's bin edges at both ends of the path
    ours = explain.integrated_gradients(model, x, baseline, 5, steps=64)
    monkeypatch.setenv("IOMT_INFERENCE", "keras")
    ref = explain.integrated_gradients(model, x, baseline, 5, steps=64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert np.abs(ref).max() > 1e-4


def test_explaining_a_networks_flow_does_not_import_tensorflow(saved, v2_sample):
    """The dashboard's server explains a flow of every capture scored with a network (the Analyze page): through
    TensorFlow's GradientTape that imported TensorFlow there (seconds, hundreds of MB kept, and Streamlit then ended
    every run with Keras's clear_session)."""
    script = f"""
import json, sys
from core import explain
from core.loading import load_split
from core.pipeline import TrainedModel
model = TrainedModel.load({str(saved["cnn"])!r})
data = load_split({str(v2_sample)!r}, "test", max_rows_per_class=20, seed=0)
ex = explain.explain_row(model, data, 3)
print(json.dumps({{"tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules, "method": ex.method,
                  "gap": ex.completeness_gap, "features": len(ex.frame)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["method"] == "integrated gradients" and out["features"] == 39
    assert out["gap"] is not None and out["gap"] <= 0.005, "the contributions add up to the change they explain"
    assert not out["tensorflow"] and not out["keras"], "explaining a flow imported TensorFlow"
