"""python -m core report as a user runs it from a terminal: its outputs. Real small models from the shared fixtures,
the real command in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from core.loading import read_files
from core.pipeline import TrainedModel
from core.report import analysis_report
from tests.conftest import ROOT


def _report(model, *args, cwd, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "IOMT_AUDIT_DIR": str(tmp_path / "audit")}
    return subprocess.run([sys.executable, "-m", "core", "report", "--model", str(model), "--no-importance", *args],
                          cwd=cwd, capture_output=True, timeout=600, env={**env, "PYTHONPATH": str(ROOT)})  # fmt: skip


def test_out_dash_writes_the_report_to_standard_output_not_to_a_file_named_dash(demo_models_dir, demo_dir, tmp_path):
    """``--out -`` wrote the HTML to a file named '-' in the current folder and said 'report written: -' (predict
    --out - and evaluate --json - write to standard output). Now the document goes to standard output and the line in
    words to standard error; both '-' at once is refused."""
    model = demo_models_dir / "test-rf-6class"
    proc = _report(model, "--data", str(demo_dir), "--out", "-", cwd=tmp_path, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"<!DOCTYPE html>") and proc.stdout.rstrip().endswith(b"</html>")
    assert b"report written: standard output" in proc.stderr
    assert not (tmp_path / "-").exists()

    html = tmp_path / "r.html"
    proc = _report(model, "--data", str(demo_dir), "--out", str(html), "--pdf", "-", cwd=tmp_path, tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"%PDF") and html.read_text().startswith("<!DOCTYPE html>")
    assert f"report written: {html} and standard output".encode() in proc.stderr
    assert not (tmp_path / "-").exists()

    proc = _report(model, "--data", str(demo_dir), "--out", "-", "--pdf", "-", cwd=tmp_path, tmp_path=tmp_path)
    assert proc.returncode == 2 and b"cannot both be '-'" in proc.stderr and not proc.stdout


def test_when_the_model_was_created_reads_as_a_time(demo_models_dir, demo_dir):
    """'created 2026-12-06T23:34:04.512345+00:00': the machine's ISO text in a report for non-programmers; now the
    time as the audit log page shows it, in UTC and saying so."""
    model = TrainedModel.load(demo_models_dir / "test-rf-6class")
    data = read_files(sorted((demo_dir / "test").glob("*.csv"))[:1])
    (facts,) = [s for s in analysis_report(model, data, compute_importance=False).sections
                if s.title == "What was analysed"]  # fmt: skip
    (trained,) = [b for b in facts.bullets if b.startswith("Trained on:")]
    assert re.search(r", created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$", trained), trained


def test_a_label_column_left_blank_is_not_called_no_label_column(demo_models_dir, demo_dir, tmp_path):
    """A CSV whose label column is there but blank in every row (an export whose labelling step failed): the report
    said its flows' class is unknown because of 'no official CICIoMT2024 file names and no label column', sending the
    analyst to look for a column that is there. Now it says the column's cells are blank."""
    source = sorted((demo_dir / "test").glob("*.csv"))[0]
    lines = source.read_text().splitlines()
    blank = tmp_path / "export.csv"
    blank.write_text("\n".join([lines[0] + ",label", *(line + "," for line in lines[1:30])]) + "\n")
    model = TrainedModel.load(demo_models_dir / "test-rf-6class")
    report = analysis_report(model, read_files([blank]), compute_importance=False)
    (how,) = [s for s in report.sections if s.title == "How good were these predictions?"]
    assert (
        "every cell of their label column is blank" in how.paragraphs[0] and "no label column" not in how.paragraphs[0]
    )
    (facts,) = [s for s in report.sections if s.title == "What was analysed"]
    assert facts.table["true class from"].tolist() == ["unknown (every label blank)"]
