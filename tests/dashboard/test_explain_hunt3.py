"""The Explain panel of the Analyze page, as an analyst reads it at 800 pixels (about 470 for the page's content) and
on odd files (AppTest, real models; found in a third bug hunt in Chromium, each failed before its fix):

- the ROC and precision-recall curves in one figure ran their axis titles into each other at 800 pixels, and the
  buttons of the alarm section sat in a third of the page ("Save this thre…");
- on a file of one flow, "Which features matter" drew a "top 15" of 15 empty rows at 0 above the message that no
  feature could be measured;
- "At typical benign values the model gives DDoS 0.000" (gives DDoS what?);
- a validation threshold at the default read "highest at 0.50: 0.9065, against 0.9065 at 0.50".
"""

from __future__ import annotations

from streamlit.testing.v1.element_tree import user_key_from_element_id

from core import threshold as th
from tests.dashboard.test_analyze_page import analyze_page, charts, choose, no_exception, upload
from tests.dashboard.test_explain_hunt2 import DDOS, _lines
from tests.dashboard.test_visual_hunt import analyze_demo, is_column, pixel_width, placed, wrapping_row


def test_alarm_curves_are_halves_that_wrap_and_its_buttons_are_not_in_columns(registry_env):
    at = analyze_demo("test-rf-2class", 2)
    by_key = {user_key_from_element_id(c.proto.id): parents for c, parents in placed(at, "plotly_chart")}
    for key in ("analyze_alarm_curves", "analyze_alarm_pr"):
        parents = by_key[key]
        assert not any(is_column(b) for b in parents), f"{key} in a column"
        assert pixel_width(parents[-1]) and wrapping_row(parents[-2]), f"{key}: not a half of a row that wraps"
    figs = charts(at)
    assert figs["analyze_alarm_curves"]["layout"]["title"]["text"].startswith("ROC (area ")
    assert figs["analyze_alarm_pr"]["layout"]["title"]["text"].startswith("Precision-recall (average precision ")
    buttons = {b.key: parents for b, parents in placed(at, "button")}
    assert "analyze_alarm_save" in buttons
    for key in ("analyze_alarm_save", "analyze_alarm_validation"):
        assert not any(is_column(b) for b in buttons.get(key, ())), f"{key} in a column: its label cut off"


def test_one_flow_draws_no_empty_importance_chart(registry_env, demo_dir):
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [(DDOS, "".join(_lines(demo_dir, DDOS, 1)).encode())])
    at.toggle(key="analyze_explain_importance").set_value(True).run()
    no_exception(at)
    assert "analyze_explain_importance_chart" not in charts(at)
    assert any(i.value.startswith("Shuffling no feature lowered macro-F1 on the 1 flow measured") for i in at.info)


def test_the_probability_at_typical_benign_values_says_what_it_is(registry_env, demo_dir):
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [(DDOS, "".join(_lines(demo_dir, DDOS, 3)).encode())])
    no_exception(at)
    row = next(m.value for m in at.markdown if m.value.startswith("Row 1 of "))
    assert " At typical benign values its probability of DDoS would be 0." in row, row


def test_a_validation_threshold_at_the_default_is_not_compared_with_itself():
    stored = {"threshold": 0.5, "rows": 1463, "macro_f1": 0.9065, "macro_f1_at_default": 0.9065, "of_first_fit": True}
    assert th.validation_text({"alarm_threshold_validation": stored}) == (
        "at training, the model was tried at several alarm thresholds on 1,463 flows held back to test it (its "
        "validation rows; the model was then retrained on all rows); its score there (macro-F1: every kind of traffic "
        "counts the same, however rare) was highest at 0.50, the default (0.906): no other threshold did better there"
    )
    other = th.validation_text({"alarm_threshold_validation": {**stored, "threshold": 0.53, "macro_f1": 0.92}})
    assert other.endswith("was highest at 0.53 (0.920, against 0.906 at the default 0.50)")
