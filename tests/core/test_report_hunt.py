"""Bugs found by a hunt in the model comparison and its reports: what a manager reading the comparison report (HTML
or PDF) and an analyst reading benchmark-models' results were not told, or could not read."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import replace

import pytest

from core.compare import read_results, results_markdown, run_benchmark, score_model
from core.errors import DataError
from core.loading import load_split, read_files
from core.pipeline import TrainedModel
from core.report import comparison_report
from core.taxonomy import CATEGORY
from tests.conftest import ROOT


def pdf_text(pdf, *, layout: bool = False) -> str:
    args = ["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def test_a_comparison_report_says_which_classes_the_rows_lacked(demo_models_dir, demo_dir, tmp_path):
    """On benign flows alone the report said 'test-rf-6class (rf) detects best: macro-F1 0.9...' with no word that the
    five attack classes were absent, so that the macro-F1 was the benign class's F1 alone (the Compare page and the
    single-model report say so; the comparison report did not, in the HTML nor the PDF)."""
    benign = read_files([demo_dir / "test" / "Benign_test.pcap.csv"])
    scores = [score_model(TrainedModel.load(demo_models_dir / n), benign) for n in ("test-rf-6class", "test-lr-6class")]
    absent = scores[0].report.absent_classes
    assert absent == ["Spoofing", "MQTT", "Recon", "DDoS", "DoS"]
    report = comparison_report(scores, data_label="Benign_test.pcap.csv")
    intro = " ".join(report.sections[0].paragraphs)
    assert "5 of the task's 6 classes have no rows in this data" in intro, intro
    assert "left out of the averages: Spoofing, MQTT, Recon, DDoS, DoS" in intro, intro
    pdf = tmp_path / "benign.pdf"
    report.write(pdf_path=pdf)
    assert "Spoofing, MQTT, Recon, DDoS, DoS" in " ".join(pdf_text(pdf).split())
    # every class there: nothing said
    full = comparison_report([score_model(TrainedModel.load(demo_models_dir / "test-rf-6class"), load_split(
        demo_dir, "test"))] * 2, data_label="demo")  # fmt: skip
    assert not any("no rows in this data" in p for p in full.sections[0].paragraphs), full.sections[0].paragraphs


def test_the_pdf_of_a_comparison_names_every_model_readably(demo_models_dir, demo_dir, tmp_path):
    """The five models of the paper's comparison, by the names benchmark-models saves them under: in the PDF's
    per-class table one column was headed 'bench-…' and the last was cut off at the page's edge; a chart label of
    over 40 characters (names may have 80) was drawn as '[...]', so two such models could not be told apart."""
    from matplotlib.figure import Figure

    test = load_split(demo_dir, "test")
    rf, lr = (score_model(TrainedModel.load(demo_models_dir / n), test) for n in ("test-rf-19class", "test-lr-19class"))
    names = [f"bench-{f}-19class-v2" for f in ("paper-cnn", "lr", "adaboost", "dnn", "rf")]
    scores = [replace(rf if i % 2 else lr, name=n) for i, n in enumerate(names)]
    pdf = tmp_path / "five.pdf"
    comparison_report(scores, data_label="demo").write(pdf_path=pdf)
    text = pdf_text(pdf, layout=True)
    table = text[text.index("Per-class F1 of each model") : text.index(": results in plain words")]
    for name in names:
        assert name in table, (name, table[:2000])
    assert all(len(line) <= 120 for line in table.splitlines()), "no row runs off the page"

    long = ["icu-ward-3-random-forest-trained-on-the-full-2025-06-capture", "icu-ward-3-random-forest-trained-on-the"
            "-full-2025-07-capture"]  # fmt: skip
    report = comparison_report([replace(rf, name=long[0]), replace(lr, name=long[1])], data_label="demo")
    ax = Figure().add_subplot()
    report.sections[0].draw(ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(set(labels)) == 2 and all("[...]" not in x and "…" not in x for x in labels), labels
    assert sorted(x.replace("\n", "") for x in labels) == sorted(long)


@pytest.fixture(scope="module")
def family_labelled(demo_dir, tmp_path_factory):
    """The demo's test files with a label column saying only the attack family, laid out as train/ and test/."""
    from tests.core.test_coarse_labels import _official_layout

    return _official_layout(demo_dir, tmp_path_factory.mktemp("families") / "data", lambda c: CATEGORY[c])


def test_a_task_skipped_for_coarse_labels_is_not_said_to_lack_classes(family_labelled, tmp_path):
    """The 19-class task of data labelled by family is skipped because its labels say less than its classes; the
    results.md written by benchmark-models, and its closing note, said 'the training data has only one of its
    classes' (it has six), which sends the analyst looking for missing Benign rows."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "core", "benchmark-models", "--data", str(family_labelled), "--out",
                           str(out), "--families", "lr", "--tasks", "6,19", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    md = (out / "results.md").read_text()
    for said in (md, proc.stdout):
        assert "only one of its classes" not in said, said
        assert "the 19-class task" in said and "training rows say less than its classes" in said, said
    results = run_benchmark(family_labelled, families=("lr",), tasks=(6, 19))
    assert list(results.skipped) == [19] and "say less than its classes" in results.skipped[19]


@pytest.fixture(scope="module")
def one_result(v1_sample):
    return run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=50).scores[0].to_dict()


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda d: d["report"]["per_class"]["Recon"].pop("f1"), "its per-class scores of Recon lack f1"),
        (lambda d: d["report"].update(macro_f1=None), "its macro_f1 is not a number: None"),
        (lambda d: d["report"].update(weighted_f1="0.93"), "its weighted_f1 is not a number: '0.93'"),
        (lambda d: d["report"]["per_class"].update(Recon=0.5), "its per-class scores of Recon are not an object"),
        (lambda d: d["report"].update(notes=None), "its notes are not a list"),
    ],
)
def test_a_damaged_results_json_is_refused_naming_the_entry_not_a_traceback(one_result, damage, says):
    """A results.json damaged by hand or by a tool (a per-class score missing, a metric null or a string) was read
    without a word, then broke the Compare page with a traceback (KeyError: 'f1'; TypeError on None) and the
    Markdown (unsupported format string)."""
    entry = copy.deepcopy(one_result)
    damage(entry)
    ok = copy.deepcopy(one_result)
    with pytest.raises(DataError) as err:
        read_results(json.dumps([ok, entry]), "bench/out/results.json")
    assert str(err.value).endswith(f"entry 2 is not a model result: {says}"), str(err.value)
    assert err.value.file == "bench/out/results.json" and "benchmark-models" in err.value.hint
    results_markdown(read_results(json.dumps([ok]), "x.json"))  # the undamaged entry still reads


def test_a_handful_of_attacks_among_many_flows_is_not_reported_as_0_percent(demo_models_dir, demo_dir):
    """One attack among 2,000+ flows: the analysis report said '1 of 3,800 flows (0.0%) as attacks', which reads as
    none, in the report meant for people who do not program (the Analyze page had the same fault)."""
    import numpy as np

    from core.pipeline import Predictions
    from core.preprocess import RepairCounts
    from core.report import analysis_report

    model = TrainedModel.load(demo_models_dir / "test-rf-2class")
    test = load_split(demo_dir, "test")
    data = test.subset(np.concatenate([np.arange(len(test)), np.arange(len(test))]))  # every row twice
    proba = np.tile(np.asarray([[1.0, 0.0]], dtype=np.float32), (len(data), 1))  # columns: model.classes
    attack = list(model.classes).index("Attack")
    proba[0] = 0.0
    proba[0, attack] = 1.0  # one flow called an attack
    pred = Predictions(list(model.classes), proba, RepairCounts())
    assert len(data) > 2000 and int((pred.labels == "Attack").sum()) == 1
    found = next(
        s for s in analysis_report(model, data, predictions=pred).sections if s.title == "What the model found"
    )
    assert f"classed 1 of {len(data):,} flows (<0.1%) as attacks" in found.paragraphs[0], found.paragraphs[0]


def test_a_model_named_class_keeps_the_class_column_of_the_per_class_table(demo_models_dir, demo_dir, tmp_path):
    """The per-class table was built as {'class': classes, <model name>: f1s}: a model named 'class' replaced the
    class names with its F1s, so no row said which class it was."""
    test = load_split(demo_dir, "test")
    rf, lr = (score_model(TrainedModel.load(demo_models_dir / n), test) for n in ("test-rf-6class", "test-lr-6class"))
    report = comparison_report([replace(rf, name="class"), lr], data_label="demo")
    table = next(s.table for s in report.sections if s.title == "Per-class F1 of each model")
    assert list(table.columns) == ["traffic class", "class", "test-lr-6class"]
    assert table.iloc[:, 0].tolist() == rf.report.scored_labels
    assert table.iloc[:, 1].tolist() == [round(rf.report.per_class[c]["f1"], 3) for c in rf.report.scored_labels]
    pdf = tmp_path / "class.pdf"
    report.write(pdf_path=pdf)
    text = pdf_text(pdf, layout=True)
    assert all(c in text for c in rf.report.scored_labels)


def test_one_absent_class_is_said_in_the_singular():
    """'1 of the task's 2 classes have no rows in this data, so they could not be scored and are left out': the
    sentence the reports and pages share took the plural for one class."""
    import numpy as np

    from core.evaluation import evaluate
    from core.report import absent_classes_sentence
    from core.taxonomy import CLASSES_2

    attacks = np.ones(5, dtype=int)
    said = absent_classes_sentence(evaluate(attacks, attacks, task=2, task_classes=CLASSES_2))
    assert said == ("1 of the task's 2 classes has no rows in this data, so it could not be scored and is left out "
                    "of the averages: Benign."), said  # fmt: skip
