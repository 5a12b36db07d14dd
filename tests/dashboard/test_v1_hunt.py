"""The Analyze, Overview and Models pages on the first release (v1, 45 features): real v1 test files scored by a
model trained on the real v1 sample, which has no Benign traffic.

"Why this flow" said "At typical benign values its probability of ARP_Spoofing would be 0.000", "Each compares the
flow's value with typical benign traffic" and labelled each bar "(benign ~68.9)", while the values it compared with
were the median of the model's training rows, every one of them an attack. The Overview and the Models page showed
that model's macro-F1, over the 8 classes its test rows hold, beside scores over all 19 without a word.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.training import train_from_folder
from tests.dashboard.test_analyze_page import APP, analyze_page, charts, choose, no_exception, upload

UPLOADS = ("ARP_Spoofing_test.pcap.csv", "Recon-VulScan_test.pcap.csv")


@pytest.fixture(scope="module")
def v1_models(v1_sample, tmp_path_factory):
    """A registry with one small 19-class logistic regression trained on the real v1 sample (8 classes, no Benign)."""
    models = tmp_path_factory.mktemp("v1-models")
    train_from_folder("lr", 19, str(v1_sample), max_rows_per_class=300, params={"max_iter": 100},
                      models_dir=str(models), name="v1-lr-19class")  # fmt: skip
    return models


def test_why_this_flow_does_not_call_attack_medians_benign(v1_models, v1_sample, monkeypatch):
    monkeypatch.setenv("IOMT_MODELS_DIR", str(v1_models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(v1_sample))
    at = choose(analyze_page(), 19, "v1-lr-19class")
    at = upload(at, [(name, (v1_sample / "test" / name).read_bytes()) for name in UPLOADS])
    no_exception(at)
    assert any("never saw Benign" in w.value.replace("*", "") for w in at.warning)
    row = next(m.value for m in at.markdown if m.value.startswith("Row ") and "would be" in m.value)
    assert "typical benign" not in row, row
    assert "At typical values of the model's training rows its probability of" in row, row
    caption = next(c for c in at.caption if c.value.startswith("What made the model call this flow"))
    assert "typical benign" not in caption.value.lower(), caption.value
    assert (
        "Each compares the flow's value with the typical value of the model's training rows. Typical values: "
        "median of all the model's training rows, attacks included"
    ) in caption.value, caption.value
    assert "typical benign" not in caption.proto.help, caption.proto.help
    labels = charts(at)["analyze_explain_row_chart"]["data"][0]["y"]
    assert labels and all(" (typical ~" in label and "benign" not in label for label in labels), labels
    table = next(d.value for d in at.dataframe if "contribution" in d.value.columns)
    assert "typical" in table.columns and "typical_benign" not in table.columns, list(table.columns)


@pytest.mark.parametrize("page", ["views/overview.py", "views/models.py"])
def test_scores_over_only_some_of_the_tasks_classes_are_said_beside_the_scores(v1_models, v1_sample, monkeypatch,
                                                                              page):  # fmt: skip
    """The Overview showed the v1 model's macro-F1 (over the 8 classes its test rows hold, and a model that never saw
    Benign) beside the published 0.92 at 19 classes, and the Models page's table listed it, without a word."""
    monkeypatch.setenv("IOMT_MODELS_DIR", str(v1_models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(v1_sample))
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at = at.switch_page(page).run()
    no_exception(at)
    caption = next((c.value for c in at.caption if "of the task's classes" in c.value), None)
    assert caption is not None, [c.value for c in at.caption]
    assert caption.startswith("Scored on only some of the task's classes: **v1-lr-19class** (8 of 19)."), caption
    assert "**v1-lr-19class** never saw **Benign** traffic, so it calls every flow an attack." in caption, caption
