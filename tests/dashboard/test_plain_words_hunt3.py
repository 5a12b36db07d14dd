"""The Analyze page read by someone who does not program (third pass): one word for the model's confidence, the
headline scores' tooltips in the glossary's words, and no published yardstick next to scores on synthetic rows.

AppTest through the app's router, on the real small models of the test registry and the demo traffic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from core.figures import confidence_histogram
from core.glossary import (
    CONFIDENCE_WORDS,
    DEMO_SCORES_WORDS,
    MACRO_F1_WORDS,
    PUBLISHED_MACRO_F1,
    SCORE_SCALE,
    WEIGHTED_F1_WORDS,
    score_yardstick,
)
from dashboard import loaders
from tests.dashboard.test_analyze_page import no_exception
from tests.dashboard.test_visual_hunt import analyze_demo

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
MODEL = "test-rf-6class"


def analyze(task: int = 6, model: str = MODEL, files: list[tuple[str, bytes]] | None = None) -> AppTest:
    """The Analyze page scored by ``model`` of the test registry: on the demo traffic (``analyze_demo``), or on
    ``files`` uploaded."""
    if files is None:
        return analyze_demo(model, task)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at = at.switch_page("views/analyze.py").run()
    at.selectbox(key="analyze_task").set_value(task).run()
    at.selectbox(key="analyze_model").set_value(str(Path(os.environ["IOMT_MODELS_DIR"]) / model)).run()
    at.file_uploader(key="analyze_uploads").set_value([(n, b, "text/csv") for n, b in files])
    at.run()
    no_exception(at)
    return at


def score_caption(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Predictions compared with the true class"))


def test_the_models_confidence_has_one_name_and_is_said_once_what_it_is(registry_env):
    """The slider said "Low-confidence threshold", the filter "Confidence between", the chart "Confidence of each
    prediction", and the table's column "its probability": four names a reader took for different things, and none
    said what a row's confidence is."""
    at = analyze()
    threshold = at.slider(key="analyze_threshold")
    assert "confidence" in threshold.label.lower() and CONFIDENCE_WORDS in threshold.help, threshold.help
    assert "confidence" in at.slider(key="analyze_filter_confidence").label.lower()
    (low,) = [m for m in at.metric if m.label == "Low-confidence rows"]
    assert "confidence is below" in low.help and "probability" not in low.help, low.help
    table = next(d for d in at.dataframe if "predicted" in d.value.columns)
    columns = json.loads(table.proto.columns or "{}")
    heading = columns["probability"]["label"]
    assert heading == "confidence", heading
    assert CONFIDENCE_WORDS in columns["probability"].get("help", ""), columns["probability"]
    # the runner-up's probability is another thing, and says whose it is
    assert "probability" in columns["top2_probability"]["label"]
    figure = confidence_histogram(np.array([0.2, 0.7, 0.95], dtype=np.float32), 0.6)
    assert figure.layout.title.text.startswith("Confidence of each prediction")
    axis = figure.layout.xaxis.title.text
    assert axis.startswith("Confidence") and "predicted class" in axis, axis


def test_headline_score_tooltips_say_it_in_the_glossarys_words(registry_env):
    """The Macro-F1 tooltip said "each class counting the same: rare attacks matter as much as floods", the Overview
    "every kind of traffic counts the same, however rare": two wordings of one thing, and neither tooltip gave the
    scale."""
    at = analyze()
    metrics = {m.label: m.help for m in at.metric}
    assert MACRO_F1_WORDS in metrics["Macro-F1"] and SCORE_SCALE in metrics["Macro-F1"], metrics["Macro-F1"]
    assert WEIGHTED_F1_WORDS in metrics["Weighted-F1"] and SCORE_SCALE in metrics["Weighted-F1"]
    assert MACRO_F1_WORDS in metrics["Accuracy"], metrics["Accuracy"]


def test_scores_on_demo_traffic_are_not_held_against_published_results(registry_env, v2_sample):
    """On the synthetic demo capture the caption above the scores read "For scale, a well-set random forest reaches a
    macro-F1 of about 0.95 at 6 classes on the full real dataset", as if a score on made-up rows could be compared.
    Uploading the demo CSV under its own name is the same synthetic traffic; a real official file keeps the
    yardstick."""
    for at in (analyze(), analyze(files=[(loaders.DEMO_TRAFFIC_NAME, loaders.demo_traffic_csv())])):
        said = score_caption(at)
        assert DEMO_SCORES_WORDS in said and SCORE_SCALE in said, said
        assert "For scale" not in said and f"{PUBLISHED_MACRO_F1[6]:g}" not in said, said
        assert "Weakest here:" in said
    real = sorted((v2_sample / "test").glob("*.csv"))[0]
    said = score_caption(analyze(files=[(real.name, real.read_bytes())]))
    assert score_yardstick(6) in said and DEMO_SCORES_WORDS not in said, said
