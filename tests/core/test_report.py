"""Reports for non-programmers: self-contained HTML with the numbers in words, a PDF that Debian's
``pdftoppm`` renders, the ``report`` command, and the comparison report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from html import escape as html_escape

import numpy as np
import pytest

from core.compare import score_model
from core.loading import load_split, read_files, split_files
from core.pipeline import TrainedModel
from core.preprocess import repair_rule
from core.report import analysis_report, comparison_report, headline_sentences
from tests.conftest import ROOT

EVIL = '<img src=x onerror="alert(1)">.csv'


def assert_self_contained(text: str) -> None:
    assert not re.search(r"<script[^>]+src=", text, re.I), "no external script"
    assert not re.search(r"<link[^>]+href=[\"']?https?:", text, re.I), "no external stylesheet"
    from plotly.offline import get_plotlyjs

    assert "Plotly.newPlot" in text, "interactive charts"
    assert get_plotlyjs()[-2000:] in text, "plotly.js inlined, so the file opens without internet"


def png_of_pdf(pdf, tmp_path, page: int = 1):
    """Page ``page`` of a PDF rendered by poppler's pdftoppm, as an RGB array."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm not found (Debian: apt-get install poppler-utils; scripts/test.sh installs it)")
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(page), "-l", str(page), str(pdf), str(prefix)],
                   check=True, timeout=60)  # fmt: skip
    from matplotlib.image import imread

    (png,) = sorted(tmp_path.glob("page*.png"))
    return imread(str(png))[..., :3]


def test_headline_in_plain_words():
    from core.evaluation import evaluate
    from core.taxonomy import classes_for_task

    classes = classes_for_task(19)
    icmp, ddos_icmp = classes.index("DoS-ICMP"), classes.index("DDoS-ICMP")
    y_true = np.array([icmp] * 98_432)
    y_pred = y_true.copy()
    y_pred[:442] = ddos_icmp
    report = evaluate(y_true, y_pred, task=19, task_classes=classes)
    text = " ".join(headline_sentences(report))
    assert (
        "Of 98,432 DoS-ICMP flows, 97,990 were correctly recognised as DoS-ICMP; 442 were mistaken for DDoS-ICMP."
        in text
    )


@pytest.fixture(scope="module")
def evil_data(demo_dir):
    """The demo test files, one of them renamed to carry HTML in its name (and so without a true class)."""
    files = split_files(demo_dir, "test")
    payloads = [(f.name, f.read_bytes()) for f in files]
    payloads[0] = (EVIL, payloads[0][1])
    return read_files(payloads)


def test_analysis_report_html_has_the_numbers_and_is_self_contained(demo_models_dir, evil_data, tmp_path):
    model = TrainedModel.load(demo_models_dir / "test-rf-6class")
    report = analysis_report(model, evil_data, importance_rows=500)
    html = report.to_html()
    assert_self_contained(html)
    evaluation = model.evaluate(evil_data)
    assert f"Of {evaluation.n_rows:,} flows whose true class is known" in html
    assert f"{evaluation.macro_f1:.3f}" in html
    labels = evaluation.labels
    cm = np.asarray(evaluation.confusion_matrix)
    d = labels.index("DDoS")
    assert f"Of {cm[d].sum():,} DDoS flows, {cm[d, d]:,} were correctly recognised as DDoS" in html
    for needle in ("Confusion matrix", "Per-class scores", "Which features the model relies on",
                   "Caveats about the data", "single recording", model.name, "without a true class left out of the evaluation"):  # fmt: skip
        assert needle in html, needle
    # The file name with HTML in it is escaped, never markup.
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.csv" in html
    # Importance table: the top feature with its plain meaning.
    from core.glossary import meaning

    top = report.sections[[s.title for s in report.sections].index("Which features the model relies on")].table
    assert meaning(top["feature"].iloc[0]).split(":")[0].replace("'", "&#x27;") in html
    # The repair rule in the words the dashboard uses (core.preprocess.REPAIRED_TO), HTML-escaped.
    assert model.predict(evil_data).repairs.total and html_escape(repair_rule("->")) in html


def test_pdf_renders_with_pdftoppm(demo_models_dir, evil_data, tmp_path):
    model = TrainedModel.load(demo_models_dir / "test-lr-2class")
    pdf = tmp_path / "report.pdf"
    analysis_report(model, evil_data, compute_importance=False).write(pdf_path=pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", out).group(1)) >= 2
    img = png_of_pdf(pdf, tmp_path)
    dark = (img.mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5, f"page 1 should hold text and charts, dark share {dark:.4f}"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Traffic analysis with test-lr-2class" in text and "False alarms" in text


def test_unlabelled_traffic_gets_predicted_counts(demo_models_dir, demo_dir):
    f = split_files(demo_dir, "test")[3]
    data = read_files([("capture-from-ward-3.csv", f.read_bytes())])
    model = TrainedModel.load(demo_models_dir / "test-rf-19class")
    html = analysis_report(model, data).to_html()
    pred = model.predict(data)
    top = max(set(pred.labels), key=list(pred.labels).count)
    assert "The true class of these flows is not known" in html
    assert f"{len(data):,} flows from 1 file, v" in html, "not '1 file(s)'"
    assert f'<td>{top}</td><td class="num">{int((pred.labels == top).sum()):,}</td>' in html
    assert "Which features the model relies on" not in html


def test_comparison_report(demo_models_dir, demo_dir, tmp_path):
    test = load_split(demo_dir, "test")
    scores = [score_model(TrainedModel.load(demo_models_dir / n), test) for n in ("test-rf-6class", "test-lr-6class")]
    report = comparison_report(scores, data_label=f"{demo_dir}/test", n_rows=len(test))
    html = report.to_html()
    assert_self_contained(html)
    best = max(scores, key=lambda s: s.report.macro_f1)
    assert f"{best.name} ({best.family}) detects best: macro-F1 {best.report.macro_f1:.3f}" in html
    assert "test-lr-6class: results in plain words" in html and "test-rf-6class: results in plain words" in html
    pdf = tmp_path / "compare.pdf"
    report.write(pdf_path=pdf)
    assert (png_of_pdf(pdf, tmp_path).mean(axis=2) < 0.5).mean() > 0.005


def test_a_tie_is_not_called_a_win(demo_models_dir, demo_dir):
    """Two models of the same scores: 'rf detects best ... ahead of rf-copy (0.933)' declared a winner among equals."""
    test = load_split(demo_dir, "test")
    rf, lr = (score_model(TrainedModel.load(demo_models_dir / n), test) for n in ("test-rf-6class", "test-lr-6class"))
    twin = replace(rf, name="rf-copy")
    html = comparison_report([rf, twin, lr], data_label="demo").to_html()
    three = comparison_report([rf, twin, replace(rf, name="rf-copy2")], data_label="demo").to_html()
    assert "test-rf-6class (rf), rf-copy (rf) and rf-copy2 (rf) detect equally well" in three, "'A, B and C'"
    assert round(rf.report.macro_f1, 3) > round(lr.report.macro_f1, 3), "the demo's forest leads its lr"
    assert (f"test-rf-6class (rf) and rf-copy (rf) detect equally well: macro-F1 {rf.report.macro_f1:.3f}, "
            f"ahead of test-lr-6class ({lr.report.macro_f1:.3f})") in html  # fmt: skip
    assert "detects best" not in comparison_report([rf, twin], data_label="demo").to_html()


def test_wording_of_a_2_class_analysis_and_of_a_comparison_without_duplicates(demo_models_dir, demo_dir):
    """'most often Attack (18,800)' repeated the count of a 2-class model's one attack class; a comparison that left
    the duplicates out still offered the option to leave them out."""
    test = load_split(demo_dir, "test")
    two = TrainedModel.load(demo_models_dir / "test-rf-2class")
    html = analysis_report(two, test, compute_importance=False).to_html()
    assert "as attacks." in html and "most often Attack" not in html
    six = analysis_report(TrainedModel.load(demo_models_dir / "test-rf-6class"), test, compute_importance=False)
    assert "as attacks: most often " in six.to_html()
    train = load_split(demo_dir, "train")
    scores = [score_model(TrainedModel.load(demo_models_dir / n), test, exclude_rows_in=train)
              for n in ("test-rf-6class", "test-lr-6class")]  # fmt: skip
    html = comparison_report(scores, data_label="demo").to_html()
    removed = scores[0].report.duplicates_removed
    assert removed > 1 and f"{removed:,} test flows that also occur in training were left out of every model" in html
    assert "can leave them out" not in html
    none = [replace(s, report=replace(s.report, duplicates_removed=0)) for s in scores]
    html = comparison_report(none, data_label="demo").to_html()
    assert "No test flow also occurs in training: none was left out" in html and "0 test flows" not in html
    # A 6- or 19-class model that predicts one attack class only still names it
    model = TrainedModel.load(demo_models_dir / "test-rf-6class")
    one = test.subset(np.flatnonzero(np.asarray(model.predict(test).labels) == "DDoS"))
    assert len(one) > 0
    assert "as attacks: most often DDoS (" in analysis_report(model, one, compute_importance=False).to_html()


def test_report_command(demo_models_dir, demo_dir, tmp_path):
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    env = {**os.environ, "IOMT_AUDIT_DIR": str(tmp_path / "audit")}
    proc = subprocess.run([sys.executable, "-m", "core", "report", "--model", str(demo_models_dir / "test-rf-2class"),
                           "--data", str(demo_dir), "--out", str(html), "--pdf", str(pdf), "--importance-rows", "300"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (log,) = (tmp_path / "audit").glob("*.jsonl")
    (event,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert event["action"] == "exported" and event["model"] == "test-rf-2class"
    assert event["details"]["out"] == [str(html), str(pdf)] and event["files"]  # names of the files reported on
    assert f"report written: {html} and {pdf}" in proc.stdout
    text = html.read_text()
    assert_self_contained(text)
    assert f"{demo_dir}/test" in text and "False alarms:" in text
    assert pdf.read_bytes().startswith(b"%PDF")
    bad = subprocess.run([sys.executable, "-m", "core", "report", "--model", str(demo_models_dir / "test-rf-2class"),
                          "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.html")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert bad.returncode == 2 and "nowhere" in bad.stderr


def test_counts_of_one_take_the_singular():
    """'1 were mistaken for ...', '(1 rows)' and '1 cells repaired' were printed."""
    from core.evaluation import evaluate
    from core.preprocess import RepairCounts
    from core.report import headline_sentences
    from core.words import counted, was_were

    assert (counted(1, "row"), counted(2_500, "row"), was_were(1), was_were(0)) == (
        "1 row",
        "2,500 rows",
        "was",
        "were",
    )
    assert RepairCounts({"Rate": 1}, {}, {}).summary() == "1 cell repaired (inf in Rate: 1)"
    report = evaluate(np.array([0, 0, 1]), np.array([0, 1, 1]), task=2, task_classes=("Benign", "Attack"))
    words = headline_sentences(report)
    assert words[0].startswith("Of 3 flows whose true class is known, 2 (66.7%) were recognised")
    assert "Of 2 Benign flows, 1 was correctly recognised as Benign; 1 was mistaken for Attack." in words
