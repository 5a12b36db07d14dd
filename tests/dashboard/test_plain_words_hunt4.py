"""The Batch results page, score-many's printed summary and the Overview in the Analyze page's words: each test
failed before its fix.

Found: the Analyze page calls the probability the model gives its predicted class "confidence" and says once what it
is (``core.glossary.CONFIDENCE_WORDS``); the Batch results page called the same number "Top probability" (the
low-confidence help, the files table's help, the chart's title) and said nowhere what it is, and score-many printed
"low-confidence rows (probability < 0.6)". The Overview's warning on scores of demo-trained models was its own sentence,
beside the glossary's one for the Analyze page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.distributed import format_summary
from core.glossary import CONFIDENCE_SHORT, CONFIDENCE_WORDS, DEMO_SCORES_MEANING, DEMO_SCORES_WORDS
from tests.dashboard.test_batch_hunt import TWO_FILES, batch_page, make_result, roots  # noqa: F401 (fixture)
from tests.dashboard.test_models_page import charts

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_the_batch_page_calls_the_models_confidence_confidence_and_says_once_what_it_is(tmp_path):
    """The metric "Low-confidence rows" was explained as "Top probability below 0.6", a name the Analyze page does not use."""
    summary = make_result(tmp_path / "run", TWO_FILES)
    at = batch_page(tmp_path / "run")
    (low,) = [m for m in at.metric if m.label == "Low-confidence rows"]  # 0.60, as the slider and the command line
    assert CONFIDENCE_WORDS in low.proto.help and "confidence is below 0.60 " in low.proto.help, low.proto.help
    columns = json.loads(at.dataframe[0].proto.columns or "{}")
    column = columns["low-confidence"]
    assert column["help"] == "Rows whose confidence is below 0.60.", column
    layout = charts(at)["batch_confidence"]["layout"]
    assert layout["title"]["text"] == "Confidence, all files", layout["title"]
    assert layout["xaxis"]["title"]["text"] == f"Confidence ({CONFIDENCE_SHORT})", layout["xaxis"]
    assert at.selectbox(key="batch_confidence_file").label == "Confidence of"
    said = [low.proto.help, column["help"], layout["title"]["text"]] + [c.value for c in at.caption]
    assert not [t for t in said if "top probability" in t.lower()], said
    # the data's own names are a file format others read: unchanged
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["low_confidence"] == summary["low_confidence"] == 1 and "low_confidence_threshold" in saved
    part = pd.read_parquet(tmp_path / "run" / "predictions" / "file=a.csv")
    assert list(part.columns[:2]) == ["predicted", "probability"]


def test_score_many_prints_the_low_confidence_threshold_as_a_confidence():
    """score-many printed "low-confidence rows (probability < 0.60): 1", beside a page that says confidence."""
    summary = {"rows": 6, "files_scored": 1, "model": {"name": "m", "task": 2}, "attack_share": 0.5,
               "alarm_threshold": None, "low_confidence_threshold": 0.6, "low_confidence": 1,
               "repaired_cells": {"total": 0}, "predicted": {}, "files": [], "failed": [],
               "predictions": "out/predictions", "out": "out"}  # fmt: skip
    text = format_summary(summary)
    assert "low-confidence rows (confidence < 0.60): 1" in text, text
    assert "probability <" not in text, text
    # The files table's heading as the Batch page's table says it (it read "low-conf").
    one = {"file": "a.csv", "rows": 6, "attack_share": 0.5, "low_confidence": 1, "repaired_cells": 0}
    head, row = format_summary({**summary, "files": [one]}).splitlines()[3:5]
    assert head.split() == ["file", "rows", "attack", "%", "low", "conf.", "repaired"], head
    assert head.index("conf.") + len("conf.") == row.index(" 1 ") + 2, (head, row)  # the count under its heading


def test_the_overviews_demo_warning_and_the_analyze_pages_are_one_sentence(demo_dir, tmp_path, monkeypatch):
    """The Overview said "their scores show that the tool works, not how it would do on a real hospital network" in
    words of its own, beside the glossary's for the Analyze page: two sources for one warning."""
    from core.training import train_from_folder

    models = tmp_path / "models"
    train_from_folder("rf", 2, str(demo_dir), params={"n_estimators": 3}, models_dir=str(models), name="demo-rf-2")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    (warning,) = [c.value for c in at.caption if "hospital network" in c.value]
    assert warning.endswith(DEMO_SCORES_MEANING), warning
    assert warning.startswith("Models trained on the demo data"), warning
    assert DEMO_SCORES_WORDS.endswith(DEMO_SCORES_MEANING), "the Analyze page's note says the same"
