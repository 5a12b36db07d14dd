"""The first release (v1, 45 features) end to end, as an analyst with v1 captures meets it: the real v1 sample has
8 of the 19 classes and no Benign traffic, so a model trained on it knows 8 classes and has no benign rows to explain
a flow against.

- The report's "What analysed" said "Task: 19 classes (ARP_Spoofing, ... 8 names)": 19 classes, followed by a list
  of 8, as if those were the task's classes.
- "Why this flow" of a model that never saw benign traffic labelled every bar "(benign ~68.9)" and compared the flow
  with "typical benign" values that are the median of its training rows, all of them attacks.
- A 2-class model's report on attacks alone said "False alarms: 0 of 0 benign flows were flagged as attacks (0.0 per
  10,000 benign flows)"; evaluate listed the attacks it called Benign as "false alarms or mistakes".
- "models" gave a macro-F1 over the 8 classes the test rows hold as if over the task's 19, without a mark.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import explain
from core.figures import attribution_figure
from core.loading import load_split, read_files
from core.pipeline import TrainedModel
from core.report import analysis_report
from core.training import train_from_folder
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def v1_registry(v1_sample, tmp_path_factory) -> Path:
    """A registry with a small 19-class logistic regression on the real v1 sample (8 classes, no Benign)."""
    models = tmp_path_factory.mktemp("v1-models")
    train_from_folder("lr", 19, str(v1_sample), max_rows_per_class=300, params={"max_iter": 100},
                      models_dir=str(models), name="v1-lr-19class")  # fmt: skip
    return models


@pytest.fixture(scope="module")
def v1_model(v1_registry) -> TrainedModel:
    return TrainedModel.load(v1_registry / "v1-lr-19class")


@pytest.fixture(scope="module")
def v1_test(v1_sample):
    return load_split(v1_sample, "test")


def test_report_says_how_many_of_the_tasks_classes_the_model_can_predict(v1_model, v1_test):
    assert len(v1_model.classes) == 8 and v1_model.task == 19
    html = analysis_report(v1_model, v1_test, compute_importance=False).to_html()
    names = ", ".join(v1_model.classes)
    assert f"Task: 19 classes ({names})" not in html, "19 classes, then a list of 8"
    assert f"Task: 19 classes; it can predict 8 of them: {names}" in html


def test_a_model_without_benign_traffic_explains_a_flow_against_typical_values_not_benign_ones(v1_model, v1_test):
    baseline = explain.benign_baseline(v1_model, v1_test)
    np.testing.assert_allclose(baseline.raw, v1_model.preprocessor.median_)  # attacks' medians: all it has
    assert baseline.source.startswith("median of all the model's training rows, attacks included")
    ex = explain.explain_row(v1_model, v1_test, 0, baseline=baseline)
    assert not ex.baseline_benign
    labels = list(attribution_figure(ex.frame, ex.predicted, reference="typical").data[0].y)
    assert labels and all(" (typical ~" in label and "benign" not in label for label in labels), labels


@pytest.fixture(scope="module")
def v1_two_class(tmp_path_factory) -> Path:
    """A registry with a small 2-class logistic regression on generated v1 data (the real v1 sample has no Benign,
    so a v1 user's 2-class model is trained on other captures) and nothing else."""
    from core.demo import write_demo_dataset

    data = tmp_path_factory.mktemp("v1-demo")
    write_demo_dataset(data, layout="v1", rows_per_class=150, seed=0)
    models = tmp_path_factory.mktemp("v1-2class")
    train_from_folder("lr", 2, str(data), params={"max_iter": 100}, models_dir=str(models), name="v1-lr-2class")
    return models


def test_report_on_attacks_alone_gives_no_false_alarm_rate_of_zero_benign_flows(v1_two_class, v1_sample):
    """Every flow of the v1 sample is an attack: "False alarms: 0 of 0 benign flows were flagged as attacks (0.0 per
    10,000 benign flows)" gave a rate where there was nothing to count."""
    model = TrainedModel.load(v1_two_class / "v1-lr-2class")
    data = read_files([str(v1_sample / "test" / "ARP_Spoofing_test.pcap.csv")])
    report = analysis_report(model, data, compute_importance=False)
    words = next(s for s in report.sections if s.title == "The results in plain words").paragraphs
    alarms = next(p for p in words if p.startswith("False alarms"))
    assert "0 of 0" not in alarms and "per 10,000" not in alarms, alarms
    assert alarms.startswith("False alarms: none to count, since no flow here is benign. Missed attacks: "), alarms
    assert alarms.endswith(" of 464.")


def test_evaluate_calls_flows_wrongly_called_benign_missed_attacks_not_false_alarms(v1_two_class, v1_sample):
    """No test row of the v1 sample is benign; the rows the model called Benign were listed as "predicted but absent
    from the test data (false alarms or mistakes ...)": they are attacks it missed."""
    proc = subprocess.run([sys.executable, "-m", "core", "evaluate", "--model", "v1-lr-2class", "--models-dir",
                           str(v1_two_class), "--data", str(v1_sample)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    cm = dict(zip(("Benign", "Attack"), (0, 0)))
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts and parts[0] in cm and len(parts) == 5:
            cm[parts[0]] = int(parts[4])
    assert cm == {"Benign": 0, "Attack": 8_621}, proc.stdout  # support: every row an attack
    assert not any(x.startswith("predicted but absent") and "Benign" in x for x in proc.stdout.splitlines()), (
        proc.stdout
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("called Benign"))
    assert re.fullmatch(r"called Benign, though no test row is benign: [\d,]+ rows?, attacks the model missed", line)


def run_cli(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_models_marks_a_score_over_only_some_of_the_tasks_classes(v1_registry, v1_two_class):
    """ "models" listed the v1 model's macro-F1 (over the 8 classes its test rows hold) as if over all 19 of the task,
    beside models scored on every class, without a word."""
    out = run_cli("models", "--models-dir", v1_registry).splitlines()
    line = next(x for x in out if x.startswith("v1-lr-19class "))
    assert line.endswith("  ~ 8 of 19 classes"), line
    assert any(x.startswith("~ scored on only the classes its test rows hold") for x in out), out
    full = run_cli("models", "--models-dir", v1_two_class)  # generated v1 data: every class tested, no mark
    assert "~" not in full, full


def test_evaluate_counts_the_classes_absent_from_the_test_data_as_train_does(v1_registry, v1_sample):
    """train printed "classes absent from training data (11): ..." and evaluate, for the same model on the same
    folder, "classes absent from the test data: ..." with 11 names to count by hand."""
    out = run_cli("evaluate", "--model", "v1-lr-19class", "--models-dir", v1_registry, "--data", v1_sample).splitlines()
    line = next(x for x in out if x.startswith("classes absent from the test data"))
    names = line.split(": ", 1)[1].split(", ")
    assert len(names) == 11 and "Benign" in names, line
    assert line.startswith("classes absent from the test data (11): "), line
