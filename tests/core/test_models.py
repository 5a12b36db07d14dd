"""Every model family on small data, through the whole pipeline: fit, evaluate, save, load, predict."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelFormatError, ModelMismatchError
from core.loading import Dataset, FileSummary
from core.models import FAMILIES, KerasDetector, make_detector
from core.pipeline import TrainedModel, delete_model, list_models, read_metadata
from core.schema import V1, V2
from core.taxonomy import CLASSES_19
from core.training import Cancelled, stratified_split, train_model, validation_split

FAST_PARAMS = {
    "cnn": {"epochs": 3, "filters": 16, "dense_units": 64},
    "cnn-rf": {"epochs": 3, "filters": 16, "dense_units": 64, "n_estimators": 20},
    "paper-cnn": {"epochs": 3, "batch_size": 64},
    "dnn": {"epochs": 3, "batch_size": 64},
    "lr": {"max_iter": 200},
    "adaboost": {"n_estimators": 20},
    "rf": {"n_estimators": 20},
    "gbt": {"max_iter": 50},
}

LABELS = ["Benign", "Recon-Port_Scan", "DDoS-UDP", "DoS-UDP"]  # taxonomy order


def blobs(layout=V2, n_per_class=150, seed=0, labels=LABELS) -> Dataset:
    """Separable Gaussian blobs with official-looking classes, a few inf/NaN cells included."""
    centres = np.random.default_rng(1234).normal(0, 3, size=(len(CLASSES_19), layout.n_features))
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label in labels:
        centre = centres[CLASSES_19.index(label)]
        X.append(centre + rng.normal(0, 1, size=(n_per_class, layout.n_features)))
        y.append(np.full(n_per_class, CLASSES_19.index(label), dtype=np.int8))
    X = np.concatenate(X).astype(np.float32)
    X[0, 3] = np.inf
    X[1, 5] = np.nan
    y = np.concatenate(y)
    files = [FileSummary(name=f"{lab}.csv", rows=n_per_class, label_source="file name", label=lab) for lab in labels]
    source = np.repeat(np.arange(len(labels), dtype=np.int32), n_per_class)
    return Dataset(X=X, y=y, source=source, files=files, layout=layout)


def test_stratified_split_keeps_every_class_and_shuffles():
    y = np.repeat(np.arange(4), [100, 50, 10, 1])
    tr, val = stratified_split(y, 0.2, seed=0)
    assert sorted(np.concatenate([tr, val]).tolist()) == list(range(len(y)))
    assert set(y[val]) == {0, 1, 2}, "classes with >= 2 rows are in validation"
    assert set(y[tr]) == {0, 1, 2, 3}, "no class is removed from training"
    assert np.bincount(y[val]).tolist() == [20, 10, 2]
    assert not np.all(np.diff(val) > 0), "validation rows are shuffled, not the last rows"


def test_validation_split_keeps_identical_rows_on_one_side():
    """A validation row that is a copy of a training row is not unseen: repeated flows go to one side, whole."""
    ds = blobs(seed=3)
    assert np.array_equal(np.concatenate(validation_split(ds, 0.1, 0)),
                          np.concatenate(stratified_split(ds.y, 0.1, 0))), "rows all distinct: the row-wise split"  # fmt: skip
    rng = np.random.default_rng(0)
    copies = rng.choice(len(ds), size=len(ds) // 2)  # half the rows become copies of others; their labels stay, so
    ds.X[rng.permutation(len(ds))[: len(copies)]] = ds.X[copies]  # a copy may carry another class's (as in the data)
    keys = [row.tobytes() for row in ds.X]
    tr, val = validation_split(ds, 0.1, 0)
    assert sorted(np.concatenate([tr, val]).tolist()) == list(range(len(ds)))
    assert not {keys[i] for i in tr} & {keys[i] for i in val}, "no validation row is a copy of a training row"
    assert set(ds.y[val]) == set(ds.y), "still every class in validation"
    assert abs(len(val) - 0.1 * len(ds)) <= 0.05 * len(ds), len(val)
    _, row_wise = stratified_split(ds.y, 0.1, 0)
    assert {keys[i] for i in row_wise} & {keys[i] for i in np.setdiff1d(np.arange(len(ds)), row_wise)}, (
        "the row-wise split would have put copies on both sides: the test must be able to fail"
    )


def test_a_class_of_one_repeated_row_stays_in_training():
    y = np.repeat([0, 1], [50, 20])
    groups = np.concatenate([np.arange(50), np.full(20, 99)])  # class 1: twenty copies of one flow
    tr, val = stratified_split(y, 0.2, seed=0, groups=groups)
    assert set(y[val]) == {0} and np.bincount(y[tr]).tolist() == [40, 20]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_fits_saves_loads_and_predicts_the_same(family, tmp_path):
    train, test = blobs(seed=1), blobs(seed=2, n_per_class=60)
    events = []
    model, reports = train_model(family, 19, train, test=test, params=FAST_PARAMS[family], progress=events.append)
    assert model.classes == LABELS
    assert reports["test"].macro_f1 > 0.9, reports["test"].headline()
    assert reports["validation"] is not None
    assert events[-1].stage == "done" and events[-1].fraction == 1.0
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions), "progress only moves forward"
    if FAMILIES[family].uses_epochs:
        epochs = [e for e in events if e.stage == "epoch"]
        assert len(epochs) == FAST_PARAMS[family]["epochs"] and "loss" in epochs[0].metrics
        assert len(model.metadata["history"]["loss"]) == FAST_PARAMS[family]["epochs"]
        assert "accuracy" in model.metadata["history"]
    if family == "cnn":
        assert len(model.metadata["history"]["val_macro_f1"]) == 3, "early stopping watches validation macro-F1"
        assert model.metadata["input_transform"] == "quantile"
        assert model.preprocessor.quantile_points_ is not None

    path = model.save(tmp_path / f"m-{family}")
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["family"] == family and meta["classes"] == LABELS and meta["layout"] == "v2"
    assert meta["features"] == list(V2.features) and meta["task"] == 19
    assert meta["data"]["train_class_counts"] == {lab: 150 for lab in LABELS}
    assert meta["data"]["train_cells_repaired"]["total"] >= 1
    assert len(meta["data"]["train_fingerprint_sha256"]) == 64
    assert meta["metrics"]["test"]["macro_f1"] == pytest.approx(reports["test"].macro_f1)
    assert "scikit-learn" in meta["library_versions"]

    loaded = TrainedModel.load(path)
    np.testing.assert_allclose(loaded.predict(test).proba, model.predict(test).proba, atol=1e-6)


def test_refit_fits_again_on_every_training_row_for_the_epochs_the_first_fit_ran():
    from core.preprocess import Preprocessor
    from core.training import QUANTILES

    train, test = blobs(seed=1), blobs(seed=2, n_per_class=60)
    events = []
    params = {**FAST_PARAMS["cnn"], "epochs": 4}
    model, reports = train_model("cnn", 19, train, test=test, params=params, progress=events.append)
    data, history = model.metadata["data"], model.metadata["history"]
    assert len(history["val_macro_f1"]) == 4, "the curves kept are the validated first fit's"
    ran = len(history["loss"])
    assert data["refit"]["rows"] == data["train_rows_used_for_fit"] == len(train) == 600
    assert data["refit"]["epochs"] == ran and len(data["refit"]["history"]["loss"]) == ran
    assert data["validation_rows"] == 60 and reports["validation"] is not None
    assert [e.stage for e in events].count("refit_epoch") == ran
    assert [e.stage for e in events].count("epoch") == 4
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions), "progress only moves forward through both fits"
    # The saved model's preprocessing is fitted on every training row, not on the first fit's 90%.
    on_all = Preprocessor(train.layout.features, quantiles=QUANTILES).fit(train.X)
    np.testing.assert_allclose(model.preprocessor.mean_, on_all.mean_)
    assert reports["test"].macro_f1 > 0.9, "a trained network (chance: 0.25)"


def test_refit_is_the_cnns_default_and_on_request_for_the_others():
    train = blobs(seed=1)
    rf, _ = train_model("rf", 19, train, params={"n_estimators": 10})
    assert rf.metadata["data"]["refit"] is None and rf.metadata["data"]["train_rows_used_for_fit"] == 540
    rf, _ = train_model("rf", 19, train, params={"n_estimators": 10}, refit=True)
    assert rf.metadata["data"]["refit"]["rows"] == rf.metadata["data"]["train_rows_used_for_fit"] == 600
    cnn, _ = train_model("cnn", 19, train, params={**FAST_PARAMS["cnn"], "epochs": 1}, refit=False)
    assert cnn.metadata["data"]["refit"] is None and cnn.metadata["data"]["train_rows_used_for_fit"] == 540
    dnn, _ = train_model("dnn", 19, train, params=FAST_PARAMS["dnn"], refit=True)
    assert dnn.metadata["data"]["refit"]["epochs"] == 3, "no early stopping: the epochs it ran"
    nothing_held_out, _ = train_model("rf", 19, train, params={"n_estimators": 5}, refit=True, val_fraction=0)
    assert nothing_held_out.metadata["data"]["refit"] is None, "no validation share: the first fit used every row"


def test_refit_lets_the_first_model_go_before_fitting_the_second(monkeypatch):
    """Holding both (a 300-tree forest on the v2 sample is about 1 GB) would double the peak memory."""
    import gc
    import weakref

    import core.training

    made, alive_during_refit = [], []

    def tracked(family, **params):
        detector = make_detector(family, **params)
        if made:  # the refit's detector: check, as it fits, that the first one is gone
            fit = detector.fit

            def fit_and_check(*args, **kwargs):
                gc.collect()
                alive_during_refit.append(made[0]() is not None)
                return fit(*args, **kwargs)

            detector.fit = fit_and_check
        made.append(weakref.ref(detector))
        return detector

    monkeypatch.setattr(core.training, "make_detector", tracked)
    train_model("rf", 19, blobs(seed=1), params={"n_estimators": 5}, refit=True)
    assert alive_during_refit == [False]


@pytest.mark.parametrize("family", [f for f in sorted(FAMILIES) if issubclass(FAMILIES[f], KerasDetector)])
def test_networks_build_when_keras_name_counters_are_reset_midway(family, monkeypatch):
    """Streamlit clears Keras's session (its name counters, for every thread) after each script run, which may
    fall in the middle of a build in the Train page's thread. Simulated at its worst: reset before every layer."""
    import keras.src.ops.operation

    monkeypatch.setattr(keras.src.ops.operation, "auto_name", lambda prefix: prefix)
    detector = make_detector(family, **FAST_PARAMS[family])
    detector.ple_edges_ = None
    if family == "cnn":
        from core.ple import fit_edges

        X = np.random.default_rng(0).normal(size=(200, V2.n_features)).astype(np.float32)
        detector.ple_edges_ = fit_edges(X, int(detector.params["ple_bins"]))
    model = detector.build(V2.n_features, 4)
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names)) >= 5


def test_a_seeded_network_trained_in_a_thread_is_the_same_while_another_thread_clears_keras():
    """A Streamlit app that imports Keras calls ``keras.backend.clear_session()`` after each script run, from its
    own threads (the dashboard trained in a thread of its server so, before its worker processes; an app built on
    core may still): the trained cnn (its refit included) must not depend on when those calls land."""
    import threading

    import keras

    train, test = blobs(seed=2, n_per_class=60), blobs(seed=3, n_per_class=20)

    def fit(out: list) -> None:
        model, _ = train_model("cnn", 19, train, params={**FAST_PARAMS["cnn"], "seed": 4}, seed=4, refit=True)
        out.append(model.predict(test).proba)

    def in_thread(clearing: bool) -> np.ndarray:
        out, stop, calls = [], threading.Event(), []

        def clear() -> None:
            while not stop.is_set():
                keras.backend.clear_session()
                calls.append(1)
                # Each call also runs gc.collect(), about 0.3 s with TensorFlow loaded, holding the GIL: every 0.05 s
                # they slowed training sixfold (90 calls, 28 s); every 0.2 s, about 25 land in 11 s.
                stop.wait(0.2)

        worker, clearer = threading.Thread(target=fit, args=(out,)), threading.Thread(target=clear)
        worker.start()
        if clearing:
            clearer.start()
        worker.join()
        stop.set()
        if clearing:
            clearer.join()
            assert len(calls) >= 5  # the clears did land during training
        return out[0]

    alone = in_thread(False)
    np.testing.assert_array_equal(in_thread(True), alone)
    assert not np.allclose(alone, alone[:, ::-1])  # a real, non-uniform prediction


def choose_forest_weight(p_cnn, p_forest, y):
    from core.models import best_forest_weight, forest_weight_scores

    scores = forest_weight_scores(p_cnn, p_forest, y, [w / 10 for w in range(11)])
    return best_forest_weight(scores), scores


def test_the_forest_weight_is_the_one_that_scores_best_nearest_to_half_on_ties():
    y = np.array([0, 1])
    # Row 0 is right while 0.65 - 0.45 w > 0.5 (w < 1/3), row 1 while 0.4 + 0.5 w > 0.5 (w > 0.2): only 0.3 gets both.
    p_cnn, p_forest = np.array([[0.65, 0.35], [0.6, 0.4]]), np.array([[0.2, 0.8], [0.1, 0.9]])
    weight, scores = choose_forest_weight(p_cnn, p_forest, y)
    assert weight == 0.3 and scores[0.3] == 1.0 and sorted(scores) == [w / 10 for w in range(11)]
    assert scores[0.0] < 1 and scores[0.5] < 1 and scores[1.0] < 1
    # Both right for 0.2 < w < 2/3: 0.3 to 0.6 tie, and the nearest to 0.5 is taken.
    assert choose_forest_weight(np.array([[0.9, 0.1], [0.6, 0.4]]), p_forest, y)[0] == 0.5
    assert choose_forest_weight(p_cnn, p_cnn, y)[0] == 0.5, "all equal: an even average"


def test_cnn_rf_averages_the_two_with_the_forest_weight_that_scores_best_on_the_validation_rows(tmp_path):
    """The blend's weight is recomputed here from its two parts on the validation rows train_model held out; its
    outputs are the weighted average of the parts'; the refit keeps the chosen weight; weight 0 is our cnn alone."""
    from sklearn.metrics import f1_score

    hard = blobs(seed=1)  # overlapping classes, so that the weights score differently
    hard.X[:] += np.random.default_rng(5).normal(0, 4, hard.X.shape).astype(np.float32)
    test = blobs(seed=2, n_per_class=60)
    params = FAST_PARAMS["cnn-rf"]
    auto = {**params, "forest_weight": "auto"}
    assert make_detector("cnn-rf").params["forest_weight"] == 0.5, "equal weights unless asked"
    first, _ = train_model("cnn-rf", 19, hard, test=test, params=auto, refit=False)
    blend = first.detector

    _, val = validation_split(hard, 0.1, seed=0)  # train_model's validation rows
    X_val = first.preprocessor.transform(hard.X[val])[0]
    y_val = np.searchsorted([CLASSES_19.index(c) for c in LABELS], hard.y[val])
    p_cnn, p_forest = blend.cnn_.predict_proba(X_val), blend.forest_.predict_proba(X_val)
    scores = {w / 10: f1_score(y_val, np.argmax((1 - w / 10) * p_cnn + w / 10 * p_forest, axis=1), average="macro")
              for w in range(11)}  # fmt: skip
    assert blend.weight_scores_ == pytest.approx(scores)
    assert len(set(np.round(list(scores.values()), 6))) > 1, "the weights must matter on these rows"
    chosen = blend.params["forest_weight"]
    assert scores[chosen] == max(scores.values())
    X_test = first.preprocessor.transform(test.X)[0]
    np.testing.assert_allclose(first.predict(test).proba, (1 - chosen) * blend.cnn_.predict_proba(X_test)
                               + chosen * blend.forest_.predict_proba(X_test), atol=1e-6)  # fmt: skip

    note = (f"cnn-rf: forest weight {chosen:g}, chosen on the validation rows; on the 60 validation rows macro-F1 "
            f"{scores[chosen]:.4f} (the cnn alone {scores[0.0]:.4f}, the forest alone {scores[1.0]:.4f})")  # fmt: skip
    assert first.metadata["fit_notes"] == [note]

    refitted, _ = train_model("cnn-rf", 19, hard, params=auto)  # the family's default: refit on every row
    assert refitted.detector.params["forest_weight"] == chosen, "the refit keeps the weight the validated fit chose"
    assert refitted.metadata["fit_notes"] == [note], "and reports how the validated fit chose it"
    assert refitted.metadata["data"]["refit"]["epochs"] == 3
    path = refitted.save(tmp_path / "blend")
    assert (path / "cnn" / "model.keras").is_file() and (path / "rf" / "model.skops").is_file()
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["params"]["forest_weight"] == chosen and meta["params"]["n_estimators"] == 20
    meta["params"]["forest_weight"] = "auto"
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="forest weight was never chosen"):
        TrainedModel.load(path)
    meta["params"]["forest_weight"] = 7
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="forest_weight must be 'auto' or a number from 0 to 1, got 7"):
        TrainedModel.load(path)

    cnn_alone, _ = train_model("cnn", 19, hard, params=FAST_PARAMS["cnn"], refit=False)
    weight_0, _ = train_model("cnn-rf", 19, hard, params={**params, "forest_weight": 0}, refit=False)
    np.testing.assert_allclose(weight_0.predict(test).proba, cnn_alone.predict(test).proba, atol=1e-6)
    assert weight_0.metadata["fit_notes"] == [f"cnn-rf: forest weight 0; on the 60 validation rows macro-F1 "
                                              f"{scores[0.0]:.4f} (the cnn alone {scores[0.0]:.4f}, the forest alone "
                                              f"{scores[1.0]:.4f})"]  # fmt: skip
    assert cnn_alone.metadata["fit_notes"] == []
    for bad in ("heavy", 1.5, None):
        with pytest.raises(ValueError, match=f"forest_weight must be 'auto' or a number from 0 to 1, got {bad!r}"):
            make_detector("cnn-rf", forest_weight=bad)


def test_forest_steps_follow_the_cost_of_a_tree_and_do_not_change_the_forest(monkeypatch):
    """Quick trees: a tree per core first, then steps of 10 (the bar moves by tenths). Slow trees (here: any tree is
    slower than the step's time): a tree per core each step. Either way the forest one fit would grow."""
    from sklearn.ensemble import RandomForestClassifier

    from core.models import RandomForestDetector

    data = blobs(seed=3)
    X, y = np.nan_to_num(data.X, posinf=0, neginf=0), np.searchsorted([CLASSES_19.index(c) for c in LABELS], data.y)
    once = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=2).fit(X, y).predict_proba(X)
    for step_seconds, steps in ((10.0, [2, 12, 22, 30]), (0.0, list(range(2, 31, 2)))):
        monkeypatch.setattr(RandomForestDetector, "STEP_SECONDS", step_seconds)
        said = []
        forest = RandomForestDetector(n_estimators=30, n_jobs=2)
        forest.fit(X, y, n_classes=len(LABELS), progress=lambda stage, f, message, m, said=said: said.append(message))
        assert [m for m in said if m.endswith(" trees")] == [f"{n}/30 trees" for n in steps]
        np.testing.assert_allclose(forest.predict_proba(X), once, atol=1e-6)  # float32 against float64


def test_a_forest_that_will_not_fit_in_memory_stops_after_its_first_trees_and_says_what_to_do(monkeypatch):
    """The forest's size is projected from its first trees; beyond the memory free when the fit began, it stops
    there with the figures and the settings that make it fit, instead of being killed for memory much later."""
    import core.models
    from core.errors import CoreError

    data = blobs(seed=4)
    events = []
    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)  # 10 kB free
    with pytest.raises(CoreError) as err:
        train_model("rf", 19, data, params={"n_estimators": 500, "n_jobs": 2}, progress=events.append)
    said = [e.message for e in events if e.message.endswith(" trees")]
    assert said == ["2/500 trees"], "stopped after a tree per core"
    message = str(err.value)
    assert message.startswith("a random forest of 500 trees on 540 rows would take about ") and "MB a tree" in message
    assert "more than the 0.0 GB this machine had free" in message
    assert "min_samples_leaf" in err.value.hint and "--max-rows-per-class" in err.value.hint

    monkeypatch.setattr(core.models, "available_memory", lambda: None)  # not known: no check
    model, _ = train_model("rf", 19, data, params={"n_estimators": 20, "n_jobs": 2})
    assert len(model.detector.estimator_.estimators_) == 20


def test_gbt_stops_on_the_validation_rows_given_and_the_refit_runs_the_rounds_it_kept(tmp_path):
    """Early stopping watches train_model's validation rows (never a share the estimator takes from the training
    rows): the model is the one scikit-learn fits on those rows; the refit runs the rounds the first fit kept."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from core.cli import _parse_params
    from core.models import GradientBoostingDetector

    hard = blobs(seed=1)  # overlapping classes: the validation loss stops improving long before 300 rounds
    hard.X[:] += np.random.default_rng(5).normal(0, 8, hard.X.shape).astype(np.float32)
    events = []
    first, _ = train_model("gbt", 19, hard, params={"max_iter": 300}, refit=False, progress=events.append)
    est = first.detector.estimator_
    kept = int(est.n_iter_)
    assert 10 < kept < 300
    assert first.metadata["fit_notes"] == [f"gbt: early stopping on the validation rows kept {kept} of at most 300 "
                                           "boosting rounds"]  # fmt: skip
    steps = [e.message for e in events if e.stage == "fit" and "boosting rounds" in e.message]
    assert steps[-1] == f"{kept} of at most 300 boosting rounds", "early stopping may end it before 300 rounds"

    tr, val = validation_split(hard, 0.1, seed=0)  # train_model's split
    to_code = np.searchsorted([CLASSES_19.index(c) for c in LABELS], hard.y)
    X_tr, X_val = first.preprocessor.transform(hard.X[tr])[0], first.preprocessor.transform(hard.X[val])[0]
    assert len(est.validation_score_) == kept + 1, "scored on the validation rows given, every round"
    once = HistGradientBoostingClassifier(max_iter=300, early_stopping=True, l2_regularization=1.0, random_state=0)
    once.fit(X_tr, to_code[tr], X_val=X_val, y_val=to_code[val])
    assert once.n_iter_ == kept
    np.testing.assert_allclose(est.predict_proba(X_val), once.predict_proba(X_val), atol=1e-6)

    refitted, _ = train_model("gbt", 19, hard, params={"max_iter": 300}, refit=True)
    assert refitted.detector.params["max_iter"] == kept and refitted.detector.params["early_stopping"] is False
    assert refitted.detector.estimator_.n_iter_ == kept and refitted.metadata["data"]["refit"]["rows"] == 600
    assert refitted.metadata["fit_notes"] == first.metadata["fit_notes"], "the note tells how the rounds were chosen"

    unheld, _ = train_model("gbt", 19, hard, params={"max_iter": 40}, val_fraction=0)
    assert unheld.detector.estimator_.n_iter_ == 40, "no validation rows: every round, none taken from training"
    assert unheld.metadata["fit_notes"] == ["gbt: 40 (all of max_iter) boosting rounds"]
    # Off as Python gives it, and as the command line gives `--param early_stopping=False` (text: not JSON).
    for off in (False, _parse_params(["early_stopping=False"])["early_stopping"]):
        detector = GradientBoostingDetector(max_iter=300, early_stopping=off)
        detector.fit(X_tr, to_code[tr], n_classes=len(LABELS), X_val=X_val, y_val=to_code[val])
        assert detector.estimator_.n_iter_ == 300 and detector.fit_notes_ == [
            "gbt: 300 (all of max_iter) boosting rounds"
        ]


def test_gbt_reports_its_rounds_while_it_fits_and_a_cancel_from_progress_stops_it(monkeypatch):
    """The one fit is followed from a thread: rounds are reported as they are made, in order; a Cancelled raised by
    the progress callback on one of them reaches the caller, and nothing is trained on after it."""
    from core.models import GradientBoostingDetector
    from core.training import Cancelled

    monkeypatch.setattr(GradientBoostingDetector, "PROGRESS_EVERY", 0.002)
    data = blobs(seed=2)
    events = []
    train_model("gbt", 19, data, params={"max_iter": 200, "early_stopping": False}, refit=False,
                progress=events.append)  # fmt: skip
    counts = [int(m.group(1)) for e in events if (m := re.fullmatch(r"(\d+)/200 boosting rounds", e.message))]
    assert counts[-1] == 200 and len(counts) >= 4, counts
    assert counts == sorted(set(counts)), "each round count once, in order"
    fractions = [e.fraction for e in events if "boosting rounds" in e.message]
    assert fractions == sorted(fractions), "the bar only moves forward"

    seen = []

    def cancel_midway(event):
        seen.append(event.message)
        if re.fullmatch(r"\d+/200 boosting rounds", event.message) and event.message != "200/200 boosting rounds":
            raise Cancelled("cancelled by the user")

    with pytest.raises(Cancelled):
        train_model("gbt", 19, data, params={"max_iter": 200, "early_stopping": False}, progress=cancel_midway)
    assert "200/200 boosting rounds" not in seen and not any("refit" in m for m in seen)


def test_adaboost_reports_its_rounds_while_it_fits(monkeypatch):
    """Followed from a thread like gbt: each round as it starts, in order, up to the last; the model is the one
    scikit-learn fits on the same rows without following."""
    from core.models import AdaBoostDetector

    monkeypatch.setattr(AdaBoostDetector, "PROGRESS_EVERY", 0.001)
    data = blobs(seed=3, n_per_class=400)
    X, y = np.nan_to_num(data.X, posinf=0.0), data.y.astype(np.int64)
    events = []
    detector = AdaBoostDetector(n_estimators=150).fit(
        X, y, n_classes=19, progress=lambda stage, fraction, message, metrics: events.append((fraction, message))
    )
    said = [int(m.group(1)) for _, msg in events if (m := re.fullmatch(r"boosting round (\d+) of at most 150", msg))]
    assert len(said) >= 4 and said == sorted(set(said)) and said[-1] == len(detector.estimator_.estimators_)
    fractions = [f for f, msg in events if msg.startswith("boosting round")]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0
    plain = AdaBoostDetector(n_estimators=150).make_estimator().fit(X, y)
    np.testing.assert_array_equal(detector.estimator_.predict_proba(X), plain.predict_proba(X))


def test_a_solver_stopped_before_converging_is_a_note_on_the_model_not_a_stray_warning():
    """scikit-learn's ConvergenceWarning becomes a note in the model's metadata (shown with it and in benchmark
    results); it is not printed into the progress bar. A converged fit has no such note."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    data = blobs(seed=6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        short, _ = train_model("lr", 19, data, params={"max_iter": 3}, refit=False)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert short.metadata["fit_notes"] == [
        "lr: lbfgs failed to converge after 3 iteration(s) (status=1); a larger max_iter may fit better "
        "(--param max_iter=N)"
    ]
    converged, _ = train_model("lr", 19, data, params={"max_iter": 2000}, refit=False)
    assert converged.metadata["fit_notes"] == []


def test_other_warnings_of_a_fit_are_passed_on_once_each():
    """Only ConvergenceWarning becomes a note; any other warning raised during the fit reaches the caller, once per
    place and message as Python's default filter shows it, not once per time it was raised."""
    import warnings

    from core.models import LogisticRegressionDetector

    class Noisy(LogisticRegressionDetector):
        def _fit_estimator(self, X, y, progress):
            for _ in range(50):
                warnings.warn("the same thing", UserWarning, stacklevel=1)
            return super()._fit_estimator(X, y, progress)

    X, y = np.random.default_rng(0).random((200, 5)).astype(np.float32), np.arange(200) % 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        detector = Noisy(max_iter=2).fit(X, y, n_classes=3)
    assert [str(w.message) for w in caught] == ["the same thing"]
    assert detector.fit_notes_ and "failed to converge" in detector.fit_notes_[0]


def test_a_fit_with_no_steps_to_count_reports_the_time_it_has_taken(monkeypatch):
    """Logistic regression's solver cannot be followed; a fit of minutes reports the time taken (here every 10 ms),
    with the bar where it was (no pace to make up a time left from)."""
    from core.models import LogisticRegressionDetector

    monkeypatch.setattr(LogisticRegressionDetector, "HEARTBEAT", 0.01)
    monkeypatch.setattr(LogisticRegressionDetector, "PROGRESS_EVERY", 0.002)
    events = []
    train_model("lr", 19, blobs(seed=5, n_per_class=2000), params={"max_iter": 3000}, refit=False,
                progress=events.append)  # fmt: skip
    ticks = [e for e in events if re.fullmatch(r"fitting lr: \d+ s so far", e.message)]
    assert ticks, [e.message for e in events]
    assert len({e.fraction for e in ticks}) == 1, "the bar does not move while the time is reported"
    assert all(e.metrics == {"unpaced": True} for e in ticks), "and says so: no time left is made up from it"


def test_gbt_reports_a_diverged_boosting_and_its_defaults_do_not_diverge_there(tmp_path):
    """Identical rows under different labels, a large step and no l2 penalty: the training log-loss explodes (as it
    did on the v2 sample's 19-class task with scikit-learn's l2 of 0). The fit says so; the defaults do not."""
    noisy = blobs(seed=1)
    noisy.X[:] = np.random.default_rng(3).normal(0, 1, noisy.X.shape).round(0)  # few distinct rows, labels mixed
    wild = {"learning_rate": 1.0, "l2_regularization": 0.0, "min_samples_leaf": 5, "max_iter": 60}
    model, _ = train_model("gbt", 19, noisy, params=wild, refit=True)
    refit_warnings = [w for w in model.metadata["fit_warnings"] if w.startswith("refit on all rows: gbt diverged")]
    assert len(refit_warnings) == 1 and "Train it again with a smaller learning_rate" in refit_warnings[0]
    rose = [float(v) for v in re.findall(r"(\d+\.\d+) \(round", refit_warnings[0])]
    assert rose[1] > 1.1 * rose[0]
    path = model.save(tmp_path / "wild")
    assert json.loads((path / "metadata.json").read_text())["fit_warnings"] == model.metadata["fit_warnings"]
    calm, _ = train_model("gbt", 19, noisy, params={"max_iter": 60}, refit=True)
    assert calm.metadata["fit_warnings"] == []


def test_tasks_map_classes_and_absent_ones_are_reported():
    train = blobs(labels=["Benign", "DDoS-UDP", "DDoS-SYN", "DoS-UDP"])
    model, reports = train_model("rf", 6, train, test=train, params={"n_estimators": 10})
    assert model.classes == ["Benign", "DDoS", "DoS"]
    assert set(model.metadata["data"]["classes_absent_from_training"]) == {"Spoofing", "MQTT", "Recon"}
    assert set(reports["test"].absent_classes) == {"Spoofing", "MQTT", "Recon"}
    model2, _ = train_model("lr", 2, train, params={"max_iter": 100})
    assert model2.classes == ["Benign", "Attack"]


def test_model_refuses_the_other_layout(tmp_path):
    model, _ = train_model("rf", 19, blobs(), params={"n_estimators": 5})
    with pytest.raises(ModelMismatchError) as err:
        model.predict(blobs(layout=V1))
    assert "v2 layout (39 features)" in str(err.value) and "v1 layout (45 features)" in str(err.value)


def test_loading_checks_metadata_before_weights(tmp_path):
    model, _ = train_model("lr", 19, blobs(), params={"max_iter": 50})
    path = model.save(tmp_path / "m")
    meta = json.loads((path / "metadata.json").read_text())
    meta["format_version"] = 99
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="format version"):
        TrainedModel.load(path)
    with pytest.raises(ModelFormatError, match=r"no metadata\.json"):
        read_metadata(tmp_path)
    with pytest.raises(ModelFormatError, match="already exists"):
        model.save(path)


def test_a_model_of_a_newer_version_is_told_apart_from_a_damaged_one(tmp_path):
    """A newer format, or a family this version does not know, is a NewerModelError ('update this installation'),
    listed with what is newer; an older format or bad JSON stays a damaged folder ('train it again')."""
    from core.errors import NewerModelError
    from core.pipeline import FORMAT_VERSION, list_models

    model, _ = train_model("lr", 19, blobs(), params={"max_iter": 50})
    edits = {"format": {"format_version": FORMAT_VERSION + 1}, "family": {"family": "quantum-forest"},
             "older": {"format_version": FORMAT_VERSION - 1}}  # fmt: skip
    for name, change in edits.items():
        path = model.save(tmp_path / name)
        meta = json.loads((path / "metadata.json").read_text())
        (path / "metadata.json").write_text(json.dumps({**meta, **change}))
    with pytest.raises(NewerModelError, match="newer version of this tool") as err:
        read_metadata(tmp_path / "format")
    assert "update this installation" in err.value.hint
    listed = {m["name"]: m for m in list_models(tmp_path)}
    assert (
        listed["format"]["newer"] == f"model format version {FORMAT_VERSION + 1}; this version reads {FORMAT_VERSION}"
    )
    assert listed["family"]["newer"].startswith("model family 'quantum-forest'; this version knows ")
    assert listed["older"]["newer"] is None and "train the model again" in listed["older"]["hint"]


def _damaged(src: Path, dst: Path, *, meta=None, weights=...) -> Path:
    """A copy of the model folder ``src`` with its metadata changed by ``meta`` (a dict update, or the raw
    bytes of the file) and its weights file replaced by ``weights`` (bytes, or None to delete it)."""
    shutil.copytree(src, dst)
    path = dst / "metadata.json"
    if isinstance(meta, bytes):
        path.write_bytes(meta)
    elif meta is not None:
        path.write_text(json.dumps({**json.loads(path.read_text()), **meta}))
    if weights is not ...:
        (file,) = [f for f in dst.iterdir() if f.name.startswith("model.")]
        file.unlink() if weights is None else file.write_bytes(weights)
    return dst


DAMAGE = {  # what is changed: (metadata, weights), and the words the error must say
    "metadata a JSON list": (b"[1, 2]", ..., "holds a JSON list, not an object"),
    "metadata not UTF-8": (b"\xff\xfe garbage", ..., "is not valid JSON"),
    "task a word": ({"task": "six"}, ..., "task is 'six', not 2, 6 or 19"),
    "classes a string": ({"classes": "Benign"}, ..., "classes is not a list of names"),
    "saved_at a number": ({"saved_at": 5}, ..., "saved_at is 5, not text"),
    "test score text": ({"metrics": {"test": {"macro_f1": "high"}}}, ..., "metrics.test.macro_f1 is 'high'"),
    "weights missing": (None, None, "model file missing"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_model_folder_is_listed_as_damaged_and_refused_with_its_reason(damage, tmp_path):
    """One edited or broken folder must not break the listing of the others, nor end in a traceback."""
    model, _ = train_model("rf", 6, blobs(), params={"n_estimators": 5})
    good = model.save(tmp_path / "good")
    meta, weights, words = DAMAGE[damage]
    bad = _damaged(good, tmp_path / "bad", meta=meta, weights=weights)
    listed = {m["name"]: m for m in list_models(tmp_path)}
    assert "error" not in listed["good"] and words in listed["bad"]["error"]
    with pytest.raises(ModelFormatError, match=re.escape(words)):
        TrainedModel.load(bad)


@pytest.mark.parametrize("family", ["rf", "paper-cnn"])
def test_weights_that_are_damaged_or_do_not_fit_the_metadata_are_refused_when_loaded(family, tmp_path, monkeypatch):
    monkeypatch.setenv("IOMT_INFERENCE", "keras")  # a network is read by Keras itself, not from its export
    params = {"n_estimators": 5} if family == "rf" else {"epochs": 1, "batch_size": 256}
    model, _ = train_model(family, 6, blobs(n_per_class=40), params=params)
    good = model.save(tmp_path / "good")
    (file,) = [f for f in good.iterdir() if f.name.startswith("model.")]
    cut = _damaged(good, tmp_path / "cut", weights=file.read_bytes()[:200])
    with pytest.raises(ModelFormatError, match="cannot be read") as err:
        TrainedModel.load(cut).predict(blobs(n_per_class=2))
    assert "train the model again" in err.value.hint
    fewer = _damaged(good, tmp_path / "fewer", meta={"classes": model.classes[:3]})
    with pytest.raises(ModelFormatError, match=r"3 classes that metadata\.json lists"):
        TrainedModel.load(fewer)
    renamed = _damaged(good, tmp_path / "renamed")
    assert TrainedModel.load(renamed).metadata["name"] == "renamed", "a copied folder is known by its own name"
    prep = _damaged(good, tmp_path / "prep", meta={"preprocessing": {**model.preprocessor.to_dict(), "std": [1.0]}})
    with pytest.raises(ModelFormatError, match="std holds 1 values for 39 features"):
        TrainedModel.load(prep)


def test_skops_refuses_untrusted_types(tmp_path):
    """A scikit-learn model file holding a type outside the trusted list is not loaded."""
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model, _ = train_model("lr", 19, blobs(), params={"max_iter": 50})
    path = model.save(tmp_path / "m")
    sio.dump(FunctionTransformer(os.system), path / "model.skops")  # a file that would run a shell command
    with pytest.raises(ModelFormatError, match=r"trusted list: \['posix.system'\]"):
        TrainedModel.load(path)


def test_registry_lists_and_deletes(tmp_path):
    model, _ = train_model("rf", 19, blobs(), params={"n_estimators": 5})
    model.save(tmp_path / "a")
    (tmp_path / "junk").mkdir()
    listed = {m["name"]: m for m in list_models(tmp_path)}
    assert listed["a"]["family"] == "rf" and "error" in listed["junk"]
    delete_model("a", tmp_path)
    assert not (tmp_path / "a").exists()


def test_a_registry_name_wins_over_a_folder_of_that_name_here(tmp_path, monkeypatch):
    """``--model docs --models-dir R`` is R's model even where the current folder holds a docs/ folder; a path is
    taken as given. Delete removes what it names, says where, and never a folder outside the registry that is not
    a model."""
    from core.pipeline import resolve_model_path

    model, _ = train_model("rf", 19, blobs(), params={"n_estimators": 5})
    registry = tmp_path / "registry"
    model.save(registry / "docs")
    here = tmp_path / "work"
    (here / "docs").mkdir(parents=True)
    (here / "docs" / "notes.md").write_text("not a model")
    monkeypatch.chdir(here)
    assert resolve_model_path("docs", registry) == registry / "docs"
    assert resolve_model_path("./docs", registry) == Path("./docs")
    assert TrainedModel.load(resolve_model_path("docs", registry)).family == "rf"
    with pytest.raises(ModelFormatError, match=r"no metadata\.json"):
        delete_model("./docs", registry)  # a folder here that is not a model: refused, kept
    assert (here / "docs" / "notes.md").exists()
    assert delete_model("docs", registry) == registry / "docs"
    assert not (registry / "docs").exists() and (here / "docs" / "notes.md").exists()
    with pytest.raises(ModelFormatError, match=r"no model at 'gone' \(nor in "):
        resolve_model_path("gone", registry)


def test_damaged_models_in_the_registry_can_be_deleted_and_a_linked_model_loses_only_its_link(tmp_path):
    model, _ = train_model("rf", 19, blobs(), params={"n_estimators": 5})
    registry = tmp_path / "registry"
    elsewhere = model.save(tmp_path / "elsewhere")
    (registry / "broken").mkdir(parents=True)
    (registry / "broken" / "metadata.json").write_text("{not json")
    assert "error" in {m["name"]: m for m in list_models(registry)}["broken"]
    delete_model("broken", registry)
    assert not (registry / "broken").exists()
    (registry / "linked").symlink_to(elsewhere)
    delete_model("linked", registry)
    assert sorted(p.name for p in registry.iterdir()) == [], "no link left, not even as .trash-*"
    assert TrainedModel.load(elsewhere).family == "rf", "the folder it pointed to is kept"


@pytest.mark.parametrize("bad", ["../escaped", "a/b", ".hidden", "  ", "", "x" * 81, "ward 3"])
def test_a_model_name_that_is_not_a_plain_folder_name_is_refused_before_reading_data(tmp_path, bad):
    from core.errors import CoreError
    from core.training import train_from_folder

    with pytest.raises(CoreError, match="cannot be used as a folder name"):
        train_from_folder("rf", 2, str(tmp_path / "no-data-here"), models_dir=str(tmp_path / "m"), name=bad)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "m").exists()


def test_a_name_already_taken_is_refused_before_reading_data(tmp_path):
    from core.training import train_from_folder

    model, _ = train_model("rf", 19, blobs(), params={"n_estimators": 5})
    model.save(tmp_path / "m" / "taken")
    # The data folder does not exist: refused for the name first, so nothing was read or fitted.
    with pytest.raises(ModelFormatError, match="a model named 'taken' already exists"):
        train_from_folder("rf", 2, str(tmp_path / "no-data-here"), models_dir=str(tmp_path / "m"), name="taken")


def test_cancel_stops_training():
    def cancel_at_second_epoch(event):
        if event.stage == "epoch":
            raise Cancelled()

    with pytest.raises(Cancelled):
        train_model("dnn", 19, blobs(), params={"epochs": 5, "batch_size": 64}, progress=cancel_at_second_epoch)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="n_trees"):
        make_detector("rf", n_trees=3)


def test_paper_cnn_is_the_papers_network():
    det = make_detector("paper-cnn")
    net = det.build(45, 19)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv1D", "MaxPooling1D", "Conv1D", "MaxPooling1D", "Flatten", "Dense", "Dense"]
    assert [net.layers[i].filters for i in (0, 2)] == [32, 64]
    assert net.layers[0].kernel_size == (3,) and net.layers[5].units == 128 and net.layers[6].units == 19
    assert det.params["epochs"] == 10 and det.params["batch_size"] == 32


def test_steps_per_execution_changes_speed_not_the_model():
    """Several training steps per call into TensorFlow: the same updates (identical weights), progress still shown."""
    from core.models import steps_per_execution

    assert steps_per_execution("auto", 32) == 128 and steps_per_execution("auto", 512) == 8
    assert steps_per_execution("auto", 8192) == 1 and steps_per_execution(4, 32) == 4
    with pytest.raises(ValueError, match="steps_per_execution"):
        steps_per_execution("fast", 32)
    ds = blobs(n_per_class=200)
    X = np.nan_to_num(ds.X, posinf=0.0)
    y = ds.y.astype(np.int64)
    y = np.searchsorted(np.unique(y), y)
    events = []
    one = make_detector("paper-cnn", epochs=2, batch_size=4, steps_per_execution=1).fit(X, y, n_classes=4)
    many = make_detector("paper-cnn", epochs=2, batch_size=4).fit(
        X, y, n_classes=4, progress=lambda stage, fraction, message, metrics: events.append((stage, fraction))
    )
    for a, b in zip(one.model_.get_weights(), many.model_.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    batches = [f for stage, f in events if stage == "batch"]
    assert len(batches) >= 4 and batches == sorted(batches) and batches[-1] == pytest.approx(1.0)


def test_reshuffled_epochs_are_each_a_new_permutation_of_every_row_the_same_for_the_same_seed():
    """Keras's shuffling, with the seed fixed as every fit here fixes it, gives the same order in every epoch.
    ``epoch_order="reshuffled"`` reads each epoch as a new permutation: every row once, full batches first, the
    remainder last; the same sequence again for the same seed, another for another seed."""
    from core.models import reshuffled_batches

    X = np.arange(10, dtype=np.float32)[:, None] * 10
    y = np.arange(10, dtype=np.int32)

    def epochs(seed, count=3):
        batches = [(bx.numpy(), by.numpy()) for bx, by in reshuffled_batches(X, y, 4, seed).take(3 * count)]
        for bx, by in batches:
            np.testing.assert_array_equal(bx[:, 0], by * 10)  # a row's features stay with its target
        return [np.concatenate([by for _, by in batches[3 * e : 3 * e + 3]]) for e in range(count)], batches

    orders, batches = epochs(0)
    assert [len(by) for _, by in batches[:3]] == [4, 4, 2]
    assert all(sorted(order) == list(range(10)) for order in orders), orders
    assert len({tuple(order) for order in orders}) == 3, f"an order came back: {orders}"
    again, _ = epochs(0)
    assert all((a == b).all() for a, b in zip(orders, again))
    other, _ = epochs(1)
    assert any((a != b).any() for a, b in zip(orders, other))


def test_a_network_fitted_on_reshuffled_epochs_is_reproducible_and_keeps_its_settings():
    """The reshuffled order through the whole fit: the same seed gives the same weights; class weights, label
    smoothing and early stopping work as with Keras's order; an epoch is a whole number of calls into TensorFlow,
    so the progress still ends at 1; another value is refused, naming the parameter."""
    ds = blobs(n_per_class=50)
    X = np.nan_to_num(ds.X, posinf=0.0)
    y = np.searchsorted(np.unique(ds.y), ds.y)
    val = np.arange(0, len(y), 5)
    settings = {"epochs": 3, "batch_size": 16, "epoch_order": "reshuffled", "class_weight": True,
                "label_smoothing": 0.1, "early_stopping": True, "patience": 2, "steps_per_execution": 4}  # fmt: skip
    events = []
    one = make_detector("paper-cnn", **settings).fit(
        X, y, n_classes=4, X_val=X[val], y_val=y[val],
        progress=lambda stage, fraction, message, metrics: events.append((stage, fraction)),
    )  # fmt: skip
    two = make_detector("paper-cnn", **settings).fit(X, y, n_classes=4, X_val=X[val], y_val=y[val])
    for a, b in zip(one.model_.get_weights(), two.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(one.history_["loss"]) == 3 and "val_macro_f1" in one.history_
    epochs = [f for stage, f in events if stage == "epoch"]
    assert epochs == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert (one.predict_proba(X).argmax(1) == y).mean() > 0.9
    with pytest.raises(ValueError, match="epoch_order must be 'keras' or 'reshuffled'"):
        make_detector("paper-cnn", epoch_order="sorted")


def test_training_rows_in_aligned_memory_are_shared_with_tensorflow_not_copied():
    """Keras copies the arrays fit is given into tensors (twice their size at the peak); rows in 64-byte
    aligned memory are shared through DLPack instead, and the network trains to the very same weights."""
    from core.models import TF_ALIGNMENT, shared_with_tensorflow

    ds = blobs(n_per_class=200)
    rows = np.nan_to_num(ds.X, posinf=0.0)
    y = np.searchsorted(np.unique(ds.y), ds.y)
    buffer = np.empty(rows.nbytes + TF_ALIGNMENT, dtype=np.uint8)  # aligned by hand (large ones are page-aligned)
    start = -buffer.ctypes.data % TF_ALIGNMENT
    aligned = buffer[start : start + rows.nbytes].view(np.float32).reshape(rows.shape)
    aligned[:] = rows
    unaligned = buffer[start + 4 : start + 4 + rows.nbytes].view(np.float32).reshape(rows.shape)
    assert unaligned.ctypes.data % TF_ALIGNMENT

    tensor = shared_with_tensorflow(aligned)
    assert not isinstance(tensor, np.ndarray)
    aligned[0, 0] += 1.0  # shared: TensorFlow sees the change
    assert float(tensor[0, 0]) == aligned[0, 0]
    aligned[0, 0] -= 1.0
    assert shared_with_tensorflow(unaligned) is unaligned, "unaligned memory would abort TensorFlow"
    readonly = aligned.view()
    readonly.flags.writeable = False
    assert shared_with_tensorflow(readonly) is readonly
    wide = np.zeros(aligned.shape, dtype=np.float64)
    assert shared_with_tensorflow(wide) is wide

    copied = np.array(rows)  # converted by Keras as before
    weights = {}
    for name, X in (("shared", aligned), ("copied", copied)):
        for family in ("paper-cnn", "cnn"):
            net = make_detector(family, **FAST_PARAMS[family] | {"epochs": 2, "batch_size": 32, "seed": 3})
            weights[name, family] = net.fit(X, y, n_classes=4).model_.get_weights()
    for family in ("paper-cnn", "cnn"):
        for a, b in zip(weights["shared", family], weights["copied", family], strict=True):
            np.testing.assert_array_equal(a, b)


def test_numeric_parameters_are_checked_by_name():
    """'abc' trees failed inside scikit-learn as "invalid literal for int()" without naming the parameter, and 2.5
    trees were stored as 2.5 and grown as 2."""
    for params, says in [({"n_estimators": "abc"}, "rf parameter n_estimators must be a whole number, not 'abc'"),
                         ({"n_estimators": 2.5}, "n_estimators must be a whole number, not 2.5"),
                         ({"min_samples_leaf": True}, "min_samples_leaf must be a whole number, not True"),
                         ({"seed": None}, "seed must be a whole number")]:  # fmt: skip
        with pytest.raises(ValueError, match=re.escape(says)):
            make_detector("rf", **params)
    with pytest.raises(ValueError, match="learning_rate must be a number, not 'fast'"):
        make_detector("cnn", learning_rate="fast")
    assert make_detector("rf", n_estimators=3.0, max_depth=None).params["n_estimators"] == 3
    assert make_detector("rf", max_depth="None").params["max_depth"] == "None"
    assert make_detector("cnn-rf", forest_weight="auto").params["forest_weight"] == "auto"
    assert make_detector("cnn", learning_rate=1).params["learning_rate"] == 1.0


@pytest.mark.parametrize(
    ("task", "labels", "only"), [(2, ["DDoS-UDP", "DoS-UDP"], "Attack"), (6, ["DDoS-UDP"], "DDoS")]
)
def test_training_on_one_class_of_the_task_says_so_in_words(task, labels, only):
    """It said "training data has only one 6-class class (DDoS)"; for 2 classes, two attacks are one class."""
    from core.errors import DataError

    with pytest.raises(DataError) as err:
        train_model("lr", task, blobs(labels=labels, n_per_class=20))
    said = str(err.value)
    assert f"the training data holds only one of the {task} classes ({only})" in said, said
    assert ("benign traffic and at least one attack" in err.value.hint) == (task == 2), err.value.hint


def test_logistic_regression_fits_with_blas_on_one_thread_and_gives_the_threads_back(monkeypatch):
    """lbfgs's small matrix products on several BLAS threads, spinning between them beside scikit-learn's own
    threads: the demo's 19-class fit took 3.7 s instead of 1.3 on two cores, 16.7 s instead of 1.9 beside two busy
    processes (bench/lr_threads.py). BLAS runs on one thread during the fit, and on as many as before after it."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    seen, fit = [], LogisticRegression.fit

    def watched_fit(self, *args, **kwargs):
        seen.append(blas_threads())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", watched_fit)
    with threadpool_limits(limits=2, user_api="blas"):  # the tests' processes run BLAS on one thread already
        assert blas_threads() and set(blas_threads()) == {2}
        model, _ = train_model("lr", 6, blobs(), params=FAST_PARAMS["lr"], seed=0)
        after = blas_threads()
    assert seen and all(set(threads) == {1} for threads in seen), seen
    assert set(after) == {2}, "the threads are given back after the fit"
    assert model.detector.family == "lr"
