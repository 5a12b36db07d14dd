"""Memory of ``evaluate --drop-train-duplicates``: the train/ rows hashed file by file and once (core.pipeline.TrainRows),
with the same rows left out and the same notes as when every training row was read and held."""

from __future__ import annotations

import json
import re
import shutil
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.loading import UNLABELLED, load_split, row_hashes


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Demo data (v2) whose test/ holds copies of training rows: of its own class (Benign) and of another class only
    (ARP_Spoofing training rows in Benign_test), and one ``-0.0`` that equals a training row's ``0.0``."""
    from core.demo import write_demo_dataset

    root = tmp_path_factory.mktemp("dups")
    write_demo_dataset(root, layout="v2", rows_per_class=60, seed=3)
    benign_tr = pd.read_csv(root / "train" / "Benign_train.pcap.csv")
    arp_tr = pd.read_csv(root / "train" / "ARP_Spoofing_train.pcap.csv")
    test_file = root / "test" / "Benign_test.pcap.csv"
    benign_te = pd.read_csv(test_file)
    negative = benign_tr.iloc[[5]].copy()
    zero_col = next(c for c in negative.columns if (benign_tr[c] == 0).all())
    negative[zero_col] = -0.0
    pd.concat([benign_te, benign_tr.iloc[:7], arp_tr.iloc[:4], arp_tr.iloc[:2], negative]).to_csv(test_file,
                                                                                             index=False)  # fmt: skip
    return root


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    from core.training import train_from_folder

    models = tmp_path_factory.mktemp("models")
    train_from_folder("rf", 19, str(data), params={"n_estimators": 5}, models_dir=str(models), name="rf19")
    return models


def _bytes_of_rows(X: np.ndarray) -> list[bytes]:
    """Each row as its float32 bytes, -0.0 as 0.0: the independent measure of "the same row"."""
    X = np.ascontiguousarray(X, dtype=np.float32) + np.float32(0.0)
    return [r.tobytes() for r in X]


def _independent_overlap(train, test) -> tuple[np.ndarray, np.ndarray]:
    """(test rows also in train, test rows in train only under other 19-class labels), by sets of row bytes."""
    classes: dict[bytes, set[int]] = {}
    for b, y in zip(_bytes_of_rows(train.X), train.y, strict=True):
        classes.setdefault(b, set()).add(int(y))
    rows = _bytes_of_rows(test.X)
    also = np.array([b in classes for b in rows])
    other = np.array([b in classes and int(y) not in classes[b] for b, y in zip(rows, test.y, strict=True)])
    return also, other


def test_train_rows_are_those_of_the_whole_split(data):
    from core.pipeline import TrainRows, fingerprint, train_rows

    whole = load_split(data, "train")
    seen = []
    rows = train_rows(data, progress=lambda i, n, name: seen.append((i, n, name)))
    assert np.array_equal(rows.hashes, row_hashes(whole.X)) and np.array_equal(rows.y, whole.y)
    assert rows.fingerprint == fingerprint(whole) and len(rows) == len(whole)
    assert seen[-1][:2] == (19, 19) and [s[0] for s in seen] == list(range(1, 20))
    again = TrainRows.of(whole)
    assert np.array_equal(again.hashes, rows.hashes) and TrainRows.of(again) is again


def test_rows_left_out_are_the_same(data, model):
    from core.pipeline import TrainedModel, train_rows

    m = TrainedModel.load(model / "rf19")
    test, train = load_split(data, "test"), load_split(data, "train")
    also, _ = _independent_overlap(train, test)
    benign = [f.name for f in test.files].index("Benign_test.pcap.csv")
    assert also[np.flatnonzero(test.source == benign)[-14:]].all(), "the copies put into Benign_test, -0.0 included"
    by_rows = m.evaluate(test, exclude_rows_in=train)
    by_hashes = m.evaluate(test, exclude_rows_in=train_rows(data, layout=m.layout))
    assert by_hashes.to_dict() == by_rows.to_dict()
    assert by_hashes.duplicates_removed == int(also.sum()) and by_hashes.n_rows == len(test) - int(also.sum())
    # the scores are those of the rows kept, predicted as the model predicts them
    kept = test.subset(np.flatnonzero(~also))
    assert m.evaluate(kept).confusion_matrix == by_hashes.confusion_matrix
    p = m.predict(test)
    assert np.array_equal(m.predict(kept).codes, p.codes[~also])


def test_overlap_notes_are_the_same(data):
    from core.compare import overlap_notes
    from core.pipeline import train_rows

    test, train = load_split(data, "test"), load_split(data, "train")
    also, other = _independent_overlap(train, test)
    notes = overlap_notes(train_rows(data), test, (2, 6, 19))
    assert notes == overlap_notes(train, test, (2, 6, 19))
    n = len(test)
    assert notes[19].startswith(f"{int(also.sum())} of the {n:,} labelled test rows")
    assert f"; {int(other.sum())} of them" in notes[19] and "Benign 6" in notes[19], notes[19]
    assert other.sum() == 6, "the ARP_Spoofing copies, labelled Benign in test"
    # unlabelled training rows are not training evidence: a TrainRows with some labels unknown says the same
    # as the rows with them left out
    from core.pipeline import TrainRows

    rows = train_rows(data)
    y = rows.y.copy()
    y[: len(y) // 2] = UNLABELLED
    half = TrainRows(rows.hashes, y)
    sub = train.subset(np.arange(len(y) // 2, len(y)))
    assert overlap_notes(half, test, (2, 6, 19)) == overlap_notes(sub, test, (2, 6, 19))


def test_evaluate_cli_holds_one_training_file_at_a_time(data, model, tmp_path, monkeypatch):
    """The train/ rows are read one file at a time and let go before the next (checked by counting the rows of
    train/ files read and not yet freed); the report and notes are those of the rows held all at once."""
    import core.loading
    import core.pipeline
    from core import cli

    alive = {"rows": 0, "most": 0}
    real = core.loading.read_files

    def counting(sources, *args, **kwargs):
        ds = real(sources, *args, **kwargs)
        if any(Path(s).parent.name == "train" for s in sources):
            n = len(ds)
            alive["rows"] += n
            alive["most"] = max(alive["most"], alive["rows"])
            weakref.finalize(ds.X, lambda: alive.__setitem__("rows", alive["rows"] - n))
        return ds

    monkeypatch.setattr(core.loading, "read_files", counting)
    if hasattr(core.pipeline, "read_files"):
        monkeypatch.setattr(core.pipeline, "read_files", counting)
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    out = tmp_path / "r.json"
    assert cli.main(["evaluate", "--model", "rf19", "--models-dir", str(model), "--data", str(data),
                     "--drop-train-duplicates", "--json", str(out)]) == 0  # fmt: skip
    largest = max(len(pd.read_csv(f)) for f in (data / "train").glob("*.csv"))
    total = sum(len(pd.read_csv(f)) for f in (data / "train").glob("*.csv"))
    assert 0 < alive["most"] <= largest < total, alive
    report = json.loads(out.read_text())
    test, train = load_split(data, "test"), load_split(data, "train")
    also, other = _independent_overlap(train, test)
    assert report["duplicates_removed"] == int(also.sum()) and report["n_rows"] == len(test) - int(also.sum())
    note = next(n for n in report["notes"] if "also occur in the training rows" in n)
    assert re.search(rf"; {int(other.sum())} of them .* They are left out of the scores here\.$", note), note
    # trained on these very rows: no note that train/ holds other rows (the fingerprint taken file by file)
    assert not any("does not hold the rows" in n for n in report["notes"]), report["notes"]


# Chunks of a multiple of each family's own piece: scikit-learn's 65,536 rows; the numpy engine's 64 to 2,048
@pytest.mark.parametrize("family, params, chunk", [("rf", {"n_estimators": 5}, 1 << 16), ("lr", {"max_iter": 50}, 1 << 16),
                                                   ("paper-cnn", {"epochs": 1, "batch_size": 256}, 2048)])  # fmt: skip
def test_predict_in_chunks_is_predict_at_once(data, family, params, chunk, tmp_path, monkeypatch):
    """Rows are repaired, scaled and scored a chunk at a time (never a copy of every row), with the probabilities,
    repairs, decisions and scores of every row at once (the old way, computed here); evaluate keeps the classes
    only, not every row's probabilities. (In chunks that are not a multiple of scikit-learn's own pieces, a logistic
    regression's probabilities differ in the last bits: BLAS sums a matrix product of other rows in another order.)"""
    import dataclasses

    import core.pipeline
    from core.pipeline import Predictions, TrainedModel
    from core.training import train_from_folder

    train_from_folder(family, 6, str(data), params=params, models_dir=str(tmp_path), name="m")
    m = TrainedModel.load(tmp_path / "m")
    test = load_split(data, "test")
    reps = -(-int(chunk * 2.3) // len(test))
    X = np.tile(test.X, (reps, 1))
    X[::97, 3], X[5::89, 4], X[7::101, 3] = np.inf, np.nan, -np.inf  # cells to repair, in every chunk
    big = dataclasses.replace(test, X=X, y=np.tile(test.y, reps), source=np.tile(test.source, reps))
    at_once, repairs = m.preprocessor.transform(big.X)
    old = Predictions(m.classes, m.detector.predict_proba(at_once), repairs)
    monkeypatch.setattr(core.pipeline, "PREDICT_CHUNK_ROWS", chunk, raising=False)
    most = []
    real = m.preprocessor.transform
    monkeypatch.setattr(m.preprocessor, "transform", lambda X, **kw: (most.append(len(X)), real(X, **kw))[1])
    new = m.predict(big)
    assert max(most) <= chunk < len(big), most
    assert new.proba.dtype == np.float32 and np.array_equal(new.proba, old.proba)
    assert np.array_equal(new.codes, old.codes) and new.repairs == old.repairs and old.repairs.total > 0
    assert new.repairs.summary() == old.repairs.summary()
    most.clear()
    report = m.evaluate(big)
    assert report.to_dict() == m.evaluate(big, predictions=old).to_dict()
    assert max(most) <= chunk and old.repairs.summary() in report.notes
    # a 2-class model's alarm threshold decides the same rows chunk by chunk
    if family == "rf":
        train_from_folder(family, 2, str(data), params=params, models_dir=str(tmp_path), name="m2")
        m2 = TrainedModel.load(tmp_path / "m2")
        m2.metadata["alarm_threshold"] = 0.3
        p = m2.detector.predict_proba(m2.preprocessor.transform(big.X)[0])
        at_once = Predictions(m2.classes, p, repairs, threshold=0.3)
        assert np.array_equal(m2.predict(big).codes, at_once.codes)
        assert m2.evaluate(big).to_dict() == m2.evaluate(big, predictions=at_once).to_dict()


def test_to_frame_rows_of_a_sample_are_their_file_rows(data, model):
    """The predictions of a sample of rows (a subset, capped rows) name each row by its row in its file, as every
    message does, not by its place in the sample."""
    from core.pipeline import TrainedModel

    m = TrainedModel.load(model / "rf19")
    test = load_split(data, "test")
    index = np.flatnonzero(np.arange(len(test)) % 3 == 2)
    sample = test.subset(index)
    frame = m.predict(sample).to_frame(sample, 19)
    whole = m.predict(test).to_frame(test, 19)
    assert frame["row"].tolist() == whole["row"].to_numpy()[index].tolist()
    assert frame["file"].tolist() == whole["file"].to_numpy()[index].tolist()
    assert whole["row"].tolist() == test.row_in_file().tolist() and frame["row"].iloc[0] == 3


@pytest.mark.parametrize("threshold", [None, 0.3])
def test_ranked_in_chunks_is_a_stable_sort(threshold):
    """The top choices of each row (found a chunk of rows at a time) are those of a stable sort by falling
    probability after the decision, ties to the lower class; over chunk boundaries too."""
    from core.pipeline import Predictions, RepairCounts

    rng = np.random.default_rng(0)
    n = (1 << 16) + 1000
    classes = ["Benign", "Attack"] if threshold else [f"c{i}" for i in range(5)]
    proba = rng.integers(0, 4, size=(n, len(classes))).astype(np.float32)  # many ties
    proba /= np.maximum(proba.sum(axis=1, keepdims=True), 1)
    p = Predictions(classes, proba, RepairCounts(), threshold=threshold)
    codes, probs = p.ranked(3)
    first = p.codes
    for i in list(range(50)) + list(range((1 << 16) - 50, (1 << 16) + 50)) + [n - 1]:
        rest = [c for c in np.argsort(-proba[i], kind="stable") if c != first[i]]
        expected = [first[i], *rest][: min(3, len(classes))]
        assert codes[i].tolist() == expected and probs[i].tolist() == proba[i, expected].tolist(), i


def test_decide_compares_a_numpy_threshold_as_the_threshold_costs_count():
    """A threshold given as a NumPy float64 (a grid's) decides as the same Python float does, and as
    core.threshold counts its cost: a forest's float32 0.7 (14 of 20 trees) reaches a threshold of 0.7."""
    from core.pipeline import decide
    from core.threshold import cost_at

    p = np.array([[0.3, 0.7], [0.35, 0.65], [0.25, 0.75]], dtype=np.float32)
    classes = ["Benign", "Attack"]
    by_python = decide(classes, p, 0.7)
    assert by_python.tolist() == [1, 0, 1]
    grid = np.linspace(0.5, 0.9, 5)  # 0.5, 0.6, 0.7, ...
    assert decide(classes, p, grid[2]).tolist() == by_python.tolist()
    assert cost_at(np.ones(3, dtype=bool), p[:, 1], grid[2]).missed == int((by_python == 0).sum())


def test_train_rows_says_every_bad_file_as_the_whole_split_does(data, tmp_path):
    """A train/ with two unreadable files: the same error, naming both, as reading the whole split gave."""
    from core.errors import DataError
    from core.pipeline import train_rows

    (tmp_path / "train").mkdir()
    for f in sorted((data / "train").glob("*.csv"))[:4]:
        shutil.copy(f, tmp_path / "train" / f.name)
    for f in sorted((tmp_path / "train").glob("*.csv"))[1::2]:
        lines = f.read_text().splitlines()
        lines[3] = "oops," + lines[3].split(",", 1)[1]
        f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as whole:
        load_split(tmp_path, "train")
    with pytest.raises(DataError) as by_file:
        train_rows(tmp_path)
    assert str(by_file.value) == str(whole.value) and type(by_file.value) is type(whole.value)
    assert str(whole.value).startswith("2 of 4 files could not be read") and str(whole.value).count("oops") == 2
