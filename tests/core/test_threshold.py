"""The alarm threshold of 2-class models: its cost, the curves, saving it with the model, and scoring with it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core import threshold as th
from core.errors import CoreError
from core.loading import load_split
from core.pipeline import Predictions, TrainedModel
from core.preprocess import RepairCounts


def test_cost_counts_false_alarms_and_misses_by_hand():
    is_attack = np.array([0, 0, 0, 0, 1, 1, 1], dtype=bool)
    p = np.array([0.1, 0.4, 0.6, 0.9, 0.3, 0.7, 0.95])
    c = th.cost_at(is_attack, p, 0.5)
    assert (c.n_benign, c.n_attack, c.false_alarms, c.missed, c.detected) == (4, 3, 2, 1, 2)
    assert c.false_alarms_per_10k == pytest.approx(5000.0)
    assert c.missed_rate == pytest.approx(1 / 3)
    assert "5,000.0 false alarms per 10,000 benign flows" in c.sentence()
    assert "1 of 3 attack flows missed" in c.sentence()
    # The threshold itself counts as an alarm (P(attack) >= threshold).
    assert th.cost_at(is_attack, p, 0.9).false_alarms == 1


def test_default_decision_is_the_slider_rule_ties_included():
    """Without a saved threshold a 2-class model flags P(attack) >= 0.5, as the slider counts: a tie (an even
    vote of a forest's trees) is an alarm, not the first class of an argmax."""
    proba = np.array([[0.5, 0.5], [0.6, 0.4], [0.4, 0.6], [0.5, 0.5]], dtype=np.float32)
    for classes in (["Benign", "Attack"], ["Attack", "Benign"]):
        p = proba if classes[0] == "Benign" else proba[:, ::-1]
        labels = Predictions(classes, p, RepairCounts({}, {}, {})).labels
        assert labels.tolist() == ["Attack", "Benign", "Attack", "Attack"]
        p_attack = th.attack_probability(classes, p)
        is_attack = np.array([False, False, True, True])
        cost = th.cost_at(is_attack, p_attack, th.DEFAULT_THRESHOLD)
        assert cost.false_alarms == int(((labels == "Attack") & ~is_attack).sum()) == 1
        assert cost.missed == int(((labels == "Benign") & is_attack).sum()) == 0
    # A float32 probability equal to the threshold (as float32) is an alarm in both places.
    p = np.array([[0.3, 0.7], [0.31, 0.69]], dtype=np.float32)
    labels = Predictions(["Benign", "Attack"], p, RepairCounts({}, {}, {}), threshold=0.7).labels
    flagged = th.attack_probability(["Benign", "Attack"], p) >= 0.7
    assert labels.tolist() == ["Attack", "Benign"] and flagged.tolist() == [True, False]
    assert th.cost_at(np.array([False, False]), th.attack_probability(["Benign", "Attack"], p), 0.7).false_alarms == 1
    # Other tasks keep the most probable class.
    three = Predictions(["DDoS", "DoS", "Recon"], np.array([[0.2, 0.5, 0.3]]), RepairCounts({}, {}, {}))
    assert three.labels.tolist() == ["DoS"]


def test_moving_the_threshold_trades_false_alarms_for_misses_monotonically():
    rng = np.random.default_rng(0)
    is_attack = rng.random(5000) < 0.3
    p = np.clip(rng.normal(np.where(is_attack, 0.7, 0.3), 0.2), 0, 1)
    grid = np.linspace(0, 1, 101)
    table = th.cost_table(is_attack, p, grid)
    fa = np.array([c.false_alarms for c in table])
    missed = np.array([c.missed for c in table])
    assert (np.diff(fa) <= 0).all() and (np.diff(missed) >= 0).all()
    assert fa[0] == (~is_attack).sum() and missed[0] == 0, "threshold 0 flags everything"
    assert fa[-1] == (p[~is_attack] >= 1).sum()
    assert fa[0] > fa[-1] and missed[-1] > missed[0]
    for t, c in zip(grid[::10], table[::10]):
        direct = th.cost_at(is_attack, p, t)
        assert (direct.false_alarms, direct.missed) == (c.false_alarms, c.missed)


def test_the_best_threshold_is_the_grid_point_of_highest_macro_f1_nearest_the_default_on_ties():
    is_attack = np.array([0, 0, 0, 1, 1, 1], dtype=bool)
    p = np.array([0.1, 0.2, 0.55, 0.6, 0.8, 0.9], dtype=np.float32)  # perfect from above 0.55 up to 0.60
    best = th.best_threshold(is_attack, p)
    by_hand = {t: th.cost_at(is_attack, p, t).macro_f1 for t in th.GRID}
    assert best.macro_f1 == pytest.approx(max(by_hand.values()))
    tied = [t for t, f in by_hand.items() if f == pytest.approx(best.macro_f1)]
    assert best.threshold == min(tied, key=lambda t: abs(t - 0.5)) == 0.56 and best.macro_f1 == 1.0
    assert tied == [0.56, 0.57, 0.58, 0.59, 0.6], "0.60 still flags the attack at float32 0.6"
    assert th.cost_at(is_attack, p, 0.5).macro_f1 == pytest.approx((0.8 + 6 / 7) / 2)  # one false alarm


def test_training_a_2_class_model_stores_the_threshold_best_on_its_validation_rows(demo_dir):
    """Stored, not applied: the model still decides at 0.5 until a threshold is saved with it."""
    from core.training import train_from_folder, validation_split

    model, reports = train_from_folder("lr", 2, str(demo_dir), params={"max_iter": 30}, save=False)
    train = load_split(demo_dir, "train")
    _, val_idx = validation_split(train, 0.1, 0)  # train_model's split
    val = train.subset(np.sort(val_idx))
    p = th.attack_probability(model.classes, model.predict(val).proba)
    best = th.best_threshold(th.is_attack_truth(val), p)
    stored = model.metadata["alarm_threshold_validation"]
    assert (
        (stored["threshold"], stored["rows"])
        == (best.threshold, len(val))
        == (best.threshold, reports["validation"].n_rows)
    )
    assert stored["macro_f1"] == pytest.approx(best.macro_f1, abs=1e-6)
    assert stored["macro_f1"] >= stored["macro_f1_at_default"]
    assert stored["macro_f1_at_default"] == pytest.approx(reports["validation"].macro_f1, abs=1e-6)
    assert model.metadata.get("alarm_threshold") is None
    six, _ = train_from_folder("lr", 6, str(demo_dir), params={"max_iter": 30}, save=False)
    assert six.metadata["alarm_threshold_validation"] is None


def test_curves_and_the_operating_point():
    rng = np.random.default_rng(1)
    is_attack = rng.random(2000) < 0.5
    p = np.clip(rng.normal(np.where(is_attack, 0.65, 0.35), 0.15), 0, 1)
    cv = th.curves(is_attack, p, 0.5)
    assert 0.8 < cv.roc_auc <= 1.0 and 0.8 < cv.average_precision <= 1.0
    assert cv.fpr[0] == 0 and cv.tpr[-1] == 1
    op = cv.operating
    # The operating point lies on the ROC curve: some curve threshold gives the same rates.
    k = int(np.argmin(np.abs(cv.roc_thresholds - 0.5)))
    assert op.false_alarm_rate == pytest.approx(cv.fpr[k], abs=0.01)
    assert 1 - op.missed_rate == pytest.approx(cv.tpr[k], abs=0.01)
    assert cv.operating_precision == pytest.approx(op.detected / (op.detected + op.false_alarms))
    with pytest.raises(CoreError, match="both benign and attack"):
        th.curves(np.ones(5, dtype=bool), np.linspace(0, 1, 5))


@pytest.fixture()
def model_copy(demo_models_dir, tmp_path):
    dest = tmp_path / "rf2"
    shutil.copytree(demo_models_dir / "test-rf-2class", dest)
    return dest


def test_saved_threshold_is_used_when_scoring(model_copy, demo_dir):
    test = load_split(demo_dir, "test")
    before = TrainedModel.load(model_copy)
    pred0 = before.predict(test)
    p_attack = th.attack_probability(pred0.classes, pred0.proba)
    assert pred0.threshold is None
    t = float(np.quantile(p_attack, 0.8))  # well above 0.5: fewer alarms
    meta = th.save_threshold(model_copy, t, chosen_on="Benign_test.pcap.csv and 2 more files")
    assert meta["alarm_threshold"] == t
    on_disk = json.loads((model_copy / "metadata.json").read_text())
    assert on_disk["alarm_threshold"] == t and on_disk["classes"] == before.classes, "other fields kept"
    assert not [p for p in model_copy.iterdir() if p.name.endswith(".tmp")], "no temporary file left behind"
    after = TrainedModel.load(model_copy)
    pred = after.predict(test)
    attack = after.classes.index("Attack")
    np.testing.assert_array_equal(pred.codes == attack, p_attack >= t)
    assert (pred.codes == attack).sum() < (pred0.codes == attack).sum()
    frame = pred.to_frame(test, 2)
    np.testing.assert_array_equal(frame["predicted"].to_numpy(), pred.labels)
    np.testing.assert_allclose(frame["probability"], pred.confidence)
    # The evaluation follows the threshold too.
    report = after.evaluate(test, predictions=pred)
    cm = np.asarray(report.confusion_matrix)
    assert cm[:, report.labels.index("Attack")].sum() == (p_attack >= t).sum()
    # ... and says so, with the rows the threshold was chosen on (chosen on the rows scored, it flatters).
    assert [n for n in report.notes if n.startswith("scored with the alarm threshold")] == [
        f"scored with the alarm threshold {th.threshold_text(t)} saved with the model (the default is 0.50), chosen on "
        "Benign_test.pcap.csv and 2 more files: a threshold chosen on the rows scored here flatters the score"]  # fmt: skip
    assert not [n for n in before.evaluate(test, predictions=pred0).notes if "alarm threshold" in n]
    # Clearing it goes back to the default, and forgets where it was chosen.
    th.save_threshold(model_copy, None)
    kept = json.loads((model_copy / "metadata.json").read_text())
    assert not {"alarm_threshold", "alarm_threshold_chosen_on"} & set(kept)
    np.testing.assert_array_equal(TrainedModel.load(model_copy).predict(test).codes, pred0.codes)


def test_threshold_refused_for_other_tasks_and_out_of_range(demo_models_dir, model_copy):
    with pytest.raises(CoreError, match="2-class"):
        th.save_threshold(demo_models_dir / "test-rf-6class", 0.7)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(CoreError, match="outside"):
            th.save_threshold(model_copy, bad)
    with pytest.raises(CoreError, match="2-class"):
        th.attack_probability(["Benign", "DDoS", "DoS"], np.zeros((1, 3)))
    assert th.model_threshold({}) == 0.5 and th.model_threshold({"alarm_threshold": 0.8}) == 0.8


def test_threshold_command_shows_sets_and_counts_costs(model_copy, demo_dir, demo_models_dir, capsys, tmp_path,
                                                       monkeypatch):  # fmt: skip
    """``python -m core threshold``: what the model decides at, the validation choice, saving either, and the cost
    of each threshold on labelled flows, counted as cost_table counts them."""
    from core.cli import main

    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    folder = str(model_copy)
    suggested = TrainedModel.load(model_copy).metadata["alarm_threshold_validation"]
    assert suggested, "the test model was trained with validation rows"
    assert main(["threshold", folder]) == 0
    out = capsys.readouterr().out
    assert "alarm threshold the default, 0.50 (none saved)" in out
    assert f"was highest at {suggested['threshold']:.2f}" in out and "(save it with --validation)" in out

    assert main(["threshold", folder, "--validation"]) == 0
    meta = json.loads((model_copy / "metadata.json").read_text())
    assert meta["alarm_threshold"] == suggested["threshold"]
    assert meta["alarm_threshold_chosen_on"] == f"the model's {suggested['rows']:,} validation rows at training"
    assert "(save it with --validation)" not in capsys.readouterr().out

    assert main(["threshold", folder, "--set", "0.7", "--chosen-on", "ward 3, March", "--data", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    meta = json.loads((model_copy / "metadata.json").read_text())
    assert (meta["alarm_threshold"], meta["alarm_threshold_chosen_on"]) == (0.7, "ward 3, March")
    assert "now alarm threshold 0.70, chosen on ward 3, March" in out
    # The cost table: the usual steps, the one in use and the validation one, each as cost_table counts it.
    model = TrainedModel.load(model_copy)
    test = load_split(demo_dir, "test")
    p = th.attack_probability(model.classes, model.predict(test).proba)
    rows = [line.split() for line in out.splitlines() if line[:9].strip().replace(".", "").isdigit()]
    shown = {float(r[0]): r for r in rows}
    assert set(shown) == set(th.COST_STEPS) | {suggested["threshold"]}
    for c in th.cost_table(th.is_attack_truth(test), p, sorted(shown)):
        r = shown[c.threshold]
        assert (int(r[2].replace(",", "")), int(r[3].replace(",", ""))) == (c.false_alarms, c.missed)
        assert float(r[5]) == pytest.approx(c.macro_f1, abs=1e-4)
    assert shown[0.7][-3:] == ["in", "use", "(saved)"] and shown[suggested["threshold"]][-1] == "validation"
    events = [json.loads(line) for f in (tmp_path / "audit").glob("*.jsonl") for line in f.read_text().splitlines()]
    assert [(e["action"], e["details"]["threshold"]) for e in events] == [
        ("threshold saved", suggested["threshold"]), ("threshold saved", 0.7)]  # fmt: skip

    # Its listed scores were measured at 0.50: the listing and the report say so (they showed them unmarked)
    from core.report import _model_facts

    assert main(["models", "--models-dir", str(model_copy.parent)]) == 0
    listing = capsys.readouterr().out
    (line,) = [ln for ln in listing.splitlines() if ln.startswith(f"{model_copy.name} ")]
    assert line.endswith("  * threshold 0.70") and "* scores are measured at training, at the default" in listing
    facts = _model_facts(TrainedModel.load(model_copy))
    assert any(f.startswith("Its own test score when trained (at the default alarm threshold 0.50, before the "
                            "threshold below was saved): macro-F1") for f in facts), facts  # fmt: skip

    assert main(["threshold", folder, "--set", "0.5"]) == 0  # saved, but decides as the default does: not marked
    capsys.readouterr()
    assert main(["models", "--models-dir", str(model_copy.parent)]) == 0
    assert "* threshold" not in capsys.readouterr().out
    assert not any("before the threshold" in f for f in _model_facts(TrainedModel.load(model_copy)))
    assert main(["threshold", folder, "--clear"]) == 0
    assert "alarm_threshold" not in json.loads((model_copy / "metadata.json").read_text())
    capsys.readouterr()
    assert main(["models", "--models-dir", str(model_copy.parent)]) == 0
    listing = capsys.readouterr().out
    assert "* threshold" not in listing and "* scores are measured" not in listing
    assert not any("before the threshold" in f for f in _model_facts(TrainedModel.load(model_copy)))
    # Refusals: another task, --chosen-on alone, a threshold of 0, traffic without labels.
    assert main(["threshold", str(demo_models_dir / "test-rf-6class"), "--clear"]) == 2
    assert "applies to 2-class" in capsys.readouterr().err
    assert main(["threshold", folder, "--chosen-on", "x"]) == 2
    assert main(["threshold", folder, "--set", "0"]) == 2
    assert "outside (0, 1]" in capsys.readouterr().err
    unlabelled = tmp_path / "capture.csv"
    unlabelled.write_bytes(next(iter(sorted((demo_dir / "test").glob("*.csv")))).read_bytes())
    assert main(["threshold", folder, "--data", str(unlabelled)]) == 2
    assert "has no labels" in capsys.readouterr().err
    assert "alarm_threshold" not in json.loads((model_copy / "metadata.json").read_text()), "refusals change nothing"


def test_thresholds_are_shown_with_the_digits_they_have():
    """0.705 was shown as 0.70 (and 0.005 as 0.00) while 0.705 was in use."""
    assert [th.threshold_text(t) for t in (0.5, 0.7, 0.705, 0.005, 1.0, 1e-7, 0.7000000000000001)] == [
        "0.50", "0.70", "0.705", "0.005", "1.00", "0.0000001", "0.70"]  # fmt: skip
    assert th.state_text({"alarm_threshold": 0.705, "alarm_threshold_chosen_on": "ward 3"}) == "0.705, chosen on ward 3"


def test_a_comparison_report_says_which_model_was_scored_at_a_saved_threshold(model_copy, demo_dir, demo_models_dir):
    from core.compare import score_model
    from core.report import comparison_report

    th.save_threshold(model_copy, 0.8, chosen_on="ward 3")
    test = load_split(demo_dir, "test")
    scores = [score_model(TrainedModel.load(p), test) for p in (model_copy, demo_models_dir / "test-lr-2class")]
    html = comparison_report(scores, data_label="demo test").to_html()
    assert "rf2: scored with the alarm threshold 0.80 saved with the model" in html and "chosen on ward 3" in html
    assert html.count("scored with the alarm threshold") == 1, "the other model is at the default"
