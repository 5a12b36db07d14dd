"""Honest evaluation, hunted: numbers that flatter or are wrong in evaluation, thresholds and the validation split.

Real components throughout (scikit-learn metrics, a real random forest through ``train_model``); nothing under test
is mocked.
"""

from __future__ import annotations

import numpy as np
import pytest

from core import threshold as th
from core.errors import CoreError
from core.evaluation import evaluate
from core.loading import UNLABELLED, Dataset, FileSummary
from core.pipeline import decide
from core.schema import V2
from core.taxonomy import CLASSES_2, CLASSES_6, CLASSES_19
from core.training import train_model


def _dataset(counts: dict[str, int], *, seed: int = 0, extreme: dict[str, int] | None = None) -> Dataset:
    """Separable blobs, ``counts[label]`` rows of each 19-class label, in taxonomy order (files read in class
    order). ``extreme``: labels whose rows carry a value of 1e6 in the given feature column (nowhere else)."""
    centres = np.random.default_rng(1234).normal(0, 3, size=(len(CLASSES_19), V2.n_features))
    rng = np.random.default_rng(seed)
    X, y, files = [], [], []
    for label in sorted(counts, key=CLASSES_19.index):
        n = counts[label]
        rows = centres[CLASSES_19.index(label)] + rng.normal(0, 1, size=(n, V2.n_features))
        if extreme and label in extreme:
            rows[:, extreme[label]] = 1e6
        X.append(rows)
        y.append(np.full(n, CLASSES_19.index(label), dtype=np.int8))
        files.append(FileSummary(name=f"{label}.csv", rows=n, label_source="file name", label=label))
    source = np.repeat(np.arange(len(files), dtype=np.int32), [f.rows for f in files])
    return Dataset(X=np.concatenate(X).astype(np.float32), y=np.concatenate(y), source=source, files=files,
                   layout=V2)  # fmt: skip


# ------------------------------------------------------------------ evaluation: codes outside the task


def test_evaluate_refuses_codes_that_are_not_classes_of_the_task():
    """An unlabelled row's code (-1) was read as the task's last class (Python's negative index): a 2-class report
    listed 'Attack' twice, scored the row as a correctly found attack and raised macro-F1. Fractional codes were
    truncated to a class. Both must be refused, naming what was wrong."""
    y_true = np.array([0, 1, UNLABELLED])
    y_pred = np.array([0, 1, 1])
    with pytest.raises(ValueError, match="-1"):
        evaluate(y_true, y_pred, task=2, task_classes=CLASSES_2)
    with pytest.raises(ValueError, match="y_pred"):
        evaluate(np.array([0, 1]), np.array([0, 2]), task=2, task_classes=CLASSES_2)
    with pytest.raises(ValueError, match="whole"):
        evaluate(np.array([0.0, 1.0]), np.array([0.7, 1.2]), task=2, task_classes=CLASSES_2)
    # Whole numbers stored as floats, and every other integer type, are still accepted.
    ok = evaluate(np.array([0.0, 5.0]), np.array([0, 5], dtype=np.int8), task=6, task_classes=CLASSES_6)
    assert ok.labels == ["Benign", "DoS"] and ok.macro_f1 == 1.0


# ------------------------------------------------------------------ thresholds: macro-F1 and rows of one kind


@pytest.mark.parametrize("kind", ["mixed", "attacks only", "benign only"])
def test_threshold_macro_f1_is_the_evaluation_reports_macro_f1(kind):
    """The macro-F1 a threshold is chosen by and shown with must be the one the evaluation report gives for the same
    decisions. On rows without benign flows, the absent class was counted as F1 0 (or 1 where nothing was missed):
    0.40 shown where the report says 0.80."""
    rng = np.random.default_rng(7)
    p = rng.random(200).astype(np.float32)
    is_attack = {"mixed": rng.random(200) < 0.4, "attacks only": np.ones(200, bool),
                 "benign only": np.zeros(200, bool)}[kind]  # fmt: skip
    for t in (0.05, 0.3, 0.5, 0.77, 0.99):
        cost = th.cost_at(is_attack, p, t)
        flagged = decide(["Benign", "Attack"], np.column_stack([1 - p, p]), t)
        report = evaluate(is_attack.astype(int), flagged, task=2, task_classes=CLASSES_2)
        assert cost.macro_f1 == pytest.approx(report.macro_f1), t
    for cost in th.cost_table(is_attack, p, th.GRID):
        flagged = (p >= np.float32(cost.threshold)).astype(int)
        assert cost.macro_f1 == pytest.approx(evaluate(is_attack.astype(int), flagged, task=2,
                                                       task_classes=CLASSES_2).macro_f1)  # fmt: skip


def test_best_threshold_refuses_rows_of_one_kind():
    """On attack rows alone, flagging everything is 'perfect' whatever the model: the search answered 0.01 (or, for
    benign rows alone, 0.99) with macro-F1 1.0, a threshold chosen on nothing it trades off."""
    p = np.array([0.2, 0.6, 0.9], dtype=np.float32)
    with pytest.raises(CoreError, match="both benign and attack"):
        th.best_threshold(np.ones(3, dtype=bool), p)
    with pytest.raises(CoreError, match="both benign and attack"):
        th.best_threshold(np.zeros(3, dtype=bool), p)


def test_no_validation_threshold_is_suggested_when_validation_has_no_benign_row():
    """A 2-class model whose benign class has one training row: the row stays in training, validation holds
    attacks only, and training stored 'macro-F1 is highest at 0.01 (1.0000)' as the alarm threshold the dashboard
    and the command line offer. No threshold can be chosen on such rows: none is stored, and the validation report
    says its one scored class."""
    counts = {"Benign": 1, "ARP_Spoofing": 60, "Recon-Port_Scan": 60, "DDoS-UDP": 60, "DoS-UDP": 60}
    model, reports = train_model("rf", 2, _dataset(counts), params={"n_estimators": 10}, seed=0)
    assert reports["validation"].absent_classes == ["Benign"]
    assert model.metadata["alarm_threshold_validation"] is None
    # With benign rows on both sides, one is still chosen, and its macro-F1 at 0.5 is the validation report's.
    model, reports = train_model("rf", 2, _dataset({**counts, "Benign": 60}), params={"n_estimators": 10}, seed=0)
    chosen = model.metadata["alarm_threshold_validation"]
    assert chosen is not None and chosen["macro_f1_at_default"] == pytest.approx(reports["validation"].macro_f1,
                                                                                 abs=1e-6)  # fmt: skip


# ------------------------------------------------------------------ thresholds: one comparison everywhere


def test_cost_at_counts_as_cost_table_and_scoring_do_for_any_float_type():
    """A float32 P(attack) of 0.7 reaches a threshold of 0.7 when scoring (core.pipeline.decide with the saved
    Python float) and in cost_table; cost_at with a NumPy float64 threshold (a grid from np.linspace or np.arange)
    compared in float64 and counted it as not flagged: one false alarm fewer than the table and the scoring."""
    p = np.array([0.7, 0.2, 0.7], dtype=np.float32)
    is_attack = np.array([False, False, True])
    scored = decide(["Benign", "Attack"], np.column_stack([1 - p, p]), 0.7)
    expected = (int((scored == 1)[~is_attack].sum()), int((scored == 0)[is_attack].sum()))
    assert expected == (1, 0)
    for t in (0.7, np.float64(0.7), np.float32(0.7), np.linspace(0, 1, 11)[7]):
        table = th.cost_table(is_attack, p, [t])[0]
        direct = th.cost_at(is_attack, p, t)
        assert (direct.false_alarms, direct.missed) == (table.false_alarms, table.missed) == expected, repr(t)
    cv = th.curves(is_attack, p, np.float64(0.7))
    assert (cv.operating.false_alarms, cv.operating.missed) == expected


# ------------------------------------------------------------------ the validation split of coarser tasks


def test_coarse_task_split_is_stratified_by_each_attack_not_only_benign_or_attack():
    """A 2-class (or 6-class) model's validation rows were stratified only by benign-or-attack: an attack with few
    rows could be drawn wholly into validation (the first fit never saw it) or be missing from validation. Each
    label's class is a stratum of its own: one of a class with two rows or more is held out, a lone row stays in
    training, as the 19-class split does."""
    rare = ["ARP_Spoofing", "Recon-OS_Scan", "Recon-Ping_Sweep", "Recon-Port_Scan", "Recon-VulScan",
            "MQTT-Malformed_Data", "DoS-SYN", "DoS-TCP"]  # fmt: skip
    counts = {"Benign": 200, "DDoS-UDP": 200, **dict.fromkeys(rare, 1), "DDoS-ICMP": 4, "DoS-ICMP": 4, "DoS-UDP": 4}
    extreme = {label: 2 + i for i, label in enumerate(rare)}  # each lone row marks a column of its own
    data = _dataset(counts, extreme=extreme)
    for task in (2, 6):
        model, reports = train_model("rf", task, data, params={"n_estimators": 10}, seed=0, val_fraction=0.1)
        seen = {label: model.preprocessor.max_[col] == pytest.approx(1e6) for label, col in extreme.items()}
        assert all(seen.values()), f"{task}-class: lone rows drawn out of training: {seen}"
        val = reports["validation"]
        # 20 Benign + 20 DDoS-UDP + one of each 4-row attack (round(0.4) = 0, at least 1), none of the lone rows
        assert val.n_rows == 20 + 20 + 3
        if task == 2:
            assert val.per_class["Attack"]["support"] == 20 + 3
        else:
            assert (val.per_class["DDoS"]["support"], val.per_class["DoS"]["support"]) == (20 + 1, 2)
