"""Cells beyond ±1e15 (3e38: a float's largest value written for a missing one) in the rows a model scores, not only
in those it is trained on: taken as the inf of their sign by the one rule of core.preprocess, repaired, counted and
said by predict, evaluate and score-many, as they already were for training rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.cli import main
from core.loading import load_split
from core.pipeline import TrainedModel
from core.preprocess import Preprocessor, RepairCounts
from core.training import train_model

#: Test files of the v2 sample scored here, and the first rows of each kept.
FILES = ("Benign_test.pcap.csv", "TCP_IP-DDoS-SYN_test.pcap.csv", "Recon-Port_Scan_test.pcap.csv")
ROWS = 60
#: (file, row, column, value) of the damaged cells: columns whose training deviation is above 1, where 3e38 does not
#: overflow float32 once scaled, and so reached the model as a huge value, repaired by nothing and said by no one.
CELLS = (
    (0, 5, "Header_Length", 3e38),
    (1, 7, "Tot sum", 3e38),
    (2, 11, "IAT", -3e38),
    (2, 20, "Header_Length", 2e20),
)
#: The preprocessing keys of a model saved before this change (core.preprocess.Preprocessor.to_dict at 44f24d8).
KEYS_BEFORE = {"features", "log_features", "scale", "quantiles", "quantile_points", "repair_rule", "max", "min",
               "median", "mean", "std"}  # fmt: skip


@pytest.fixture(scope="module")
def lr_model(v2_sample, tmp_path_factory) -> TrainedModel:
    """A small logistic regression on the v2 sample, saved: linear, so a huge cell moves its probabilities (a forest
    sends 3e38 where it sends the training maximum)."""
    train = load_split(v2_sample, "train", max_rows_per_class=40, seed=0)
    model, _ = train_model("lr", 19, train, params={"max_iter": 200})
    model.save(tmp_path_factory.mktemp("models") / "lr-19")
    return model


def _write_test_folder(v2_sample, folder, value_of) -> list:
    """DIR/test with the first ROWS rows of each of FILES, the cells of CELLS set to ``value_of(value)``; the files."""
    (folder / "test").mkdir(parents=True)
    paths = []
    for k, name in enumerate(FILES):
        lines = (v2_sample / "test" / name).read_text().splitlines()[: ROWS + 1]
        header = lines[0].split(",")
        for f, row, column, value in CELLS:
            if f == k:
                cells = lines[1 + row].split(",")
                cells[header.index(column)] = value_of(value)
                lines[1 + row] = ",".join(cells)
        paths.append(folder / "test" / name)
        paths[-1].write_text("\n".join(lines) + "\n")
    return paths


@pytest.fixture(scope="module")
def folders(v2_sample, tmp_path_factory):
    """(damaged, as_inf): the same rows, one with the CELLS as written, one with the inf of their sign instead."""
    damaged = tmp_path_factory.mktemp("damaged")
    as_inf = tmp_path_factory.mktemp("as_inf")
    _write_test_folder(v2_sample, damaged, repr)
    _write_test_folder(v2_sample, as_inf, lambda v: "inf" if v > 0 else "-inf")
    return damaged, as_inf


BEYOND = "4 cells beyond ±1e+15 taken as infinite (Header_Length: 2; Tot sum: 1; IAT: 1)"


def test_predict_scores_cells_beyond_the_bound_as_inf_and_says_how_many(lr_model, folders, tmp_path, capsys):
    outputs, said = [], []
    for folder in folders:
        out = tmp_path / f"{folder.name}.csv"
        assert main(["predict", "--model", str(lr_model.path), "--out", str(out),
                     *map(str, sorted((folder / "test").iterdir()))]) == 0  # fmt: skip
        outputs.append(pd.read_csv(out))
        said.append(capsys.readouterr())
    damaged, as_inf = outputs
    assert len(damaged) == len(FILES) * ROWS
    pd.testing.assert_frame_equal(damaged, as_inf)
    printed = said[0].out + said[0].err
    assert BEYOND + ", far beyond any real flow's value, then " in printed, printed
    assert "beyond" not in said[1].out + said[1].err


def test_evaluate_scores_cells_beyond_the_bound_as_inf_and_says_how_many(lr_model, folders, tmp_path, capsys):
    reports, printed = [], []
    for folder in folders:
        out = tmp_path / f"{folder.name}.json"
        assert main(["evaluate", "--model", str(lr_model.path), "--data", str(folder), "--json", str(out)]) == 0
        reports.append(json.loads(out.read_text()))
        printed.append(capsys.readouterr().out)
    damaged, as_inf = reports
    assert damaged["confusion_matrix"] == as_inf["confusion_matrix"]
    assert damaged["macro_f1"] == as_inf["macro_f1"]
    (note,) = [n for n in damaged["notes"] if "beyond" in n]
    assert note.startswith(BEYOND), note
    assert f"note: {note}" in printed[0]


def test_cells_beyond_the_bound_in_validation_rows_are_taken_as_inf_too(v2_sample):
    """The rows held out for validation (the validation figures, the early stopping, a 2-class model's threshold)
    go through the same rule as the training share."""
    train = load_split(v2_sample, "train", max_rows_per_class=30, seed=0)
    pre = Preprocessor(train.layout.features).fit(train.X)
    X = train.X[:50].copy()
    X[3, 0], X[9, 5] = 3e38, -1e16
    as_inf = X.copy()
    as_inf[3, 0], as_inf[9, 5] = np.inf, -np.inf
    got, counts = pre.transform(X)
    np.testing.assert_array_equal(got, pre.transform(as_inf)[0])
    features = train.layout.features
    assert counts.beyond == {features[0]: 1, features[5]: 1}
    assert RepairCounts.from_dict(counts.to_dict()) == counts


def test_a_model_saved_before_the_change_loads_and_scores_with_the_rule(lr_model, folders, tmp_path, capsys):
    """The saved format is unchanged: a model folder whose metadata holds only what was written before (no count of
    cells beyond the bound anywhere) loads, and scores 3e38 as inf."""
    folder = tmp_path / "lr-before"
    lr_model.save(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    assert set(meta["preprocessing"]) == KEYS_BEFORE
    meta["data"]["train_cells_repaired"] = {k: meta["data"]["train_cells_repaired"][k]
                                            for k in ("total", "pos_inf", "neg_inf", "nan")}  # fmt: skip
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2))
    loaded = TrainedModel.load(folder)
    assert RepairCounts.from_dict(meta["data"]["train_cells_repaired"]).beyond == {}
    damaged, _ = folders
    assert main(["evaluate", "--model", str(folder), "--data", str(damaged)]) == 0
    assert BEYOND in capsys.readouterr().out
    data = load_split(damaged, "test")
    assert loaded.predict(data).repairs.beyond == lr_model.predict(data).repairs.beyond != {}


def test_score_many_summary_says_how_many_cells_were_beyond_the_bound():
    from core.distributed import format_summary
    from core.preprocess import IMPLAUSIBLE

    repaired = RepairCounts(pos_inf={"Rate": 10, "IAT": 2}, beyond={"IAT": 2})
    assert IMPLAUSIBLE == 1e15
    summary = {"rows": 5, "files_scored": 1, "model": {"name": "m", "task": 19}, "attack_share": 0.2,
               "low_confidence_threshold": 0.5, "low_confidence": 0, "repaired_cells": repaired.to_dict(),
               "predicted": {}, "files": [], "failed": [], "predictions": "p", "out": "o"}  # fmt: skip
    assert "repaired cells: 12, of them 2 beyond ±1e+15 taken as infinite" in format_summary(summary)
