"""The Compare page's score table and "What marks each attack" in the glossary's words: each test failed before its fix.

Found: the Compare page's table of macro-F1, weighted-F1 and accuracy had no tooltips, where the Models and Analyze
pages explain the same scores with ``core.glossary``'s ``MACRO_F1_HELP``, ``WEIGHTED_F1_HELP`` and ``ACCURACY_NOTE``.
"What marks each attack" said its scale in words of its own beside the chart's, and with one attack class (every
2-class model: "Attack") offered a select box "Attack class" of that one choice, under a caption about "the chosen
attack".
"""

from __future__ import annotations

import json

from core import glossary as G
from core.glossary import ACCURACY_NOTE, MACRO_F1_HELP, WEIGHTED_F1_HELP
from tests.dashboard.test_analyze_page import analyze_page, charts, choose, no_exception, upload
from tests.dashboard.test_compare_page import compare_page


def test_the_compare_pages_score_table_explains_its_scores_as_the_other_pages_do(registry_env):
    at = compare_page(["test-rf-6class", "test-lr-6class"], 6)
    no_exception(at)
    tables = [d for d in at.dataframe if "macro-F1" in d.value.columns]
    assert tables, "the score table is shown"
    columns = json.loads(tables[0].proto.columns or "{}")
    assert columns["macro-F1"].get("help") == MACRO_F1_HELP, columns["macro-F1"]
    assert columns["weighted-F1"].get("help") == WEIGHTED_F1_HELP, columns["weighted-F1"]
    assert columns["accuracy"].get("help") == ACCURACY_NOTE, columns["accuracy"]
    # The page's first line in the same words (it said "weighs every class equally, so rare attacks count as much as
    # floods").
    assert f"Macro-F1 comes first: in it, {G.MACRO_F1_WORDS}." in at.caption[0].value, at.caption[0].value


def _profiles_text(at) -> str:
    return " ".join(c.value for c in at.caption if "standard deviations" in c.value)


def test_a_2_class_models_one_attack_class_is_shown_without_a_select_box(registry_env):
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, 2, "test-rf-2class")
    no_exception(at)
    assert not [s for s in at.selectbox if s.key == "analyze_explain_class"], "a select box of one choice"
    assert "analyze_explain_class_chart" in charts(at)
    headings = [h.value for h in at.subheader]
    assert "What marks attack traffic" in headings and "What marks each attack" not in headings, headings
    text = _profiles_text(at)
    assert text.startswith("How the attack flows differ from benign traffic"), text
    assert "chosen attack" not in text and G.SPREAD_SCALE in text, text
    assert "true classes" in " ".join(c.proto.help for c in at.caption if "standard deviations" in c.value)


def test_one_attack_class_among_six_is_shown_without_a_select_box_and_several_keep_theirs(registry_env, demo_dir):
    files = ["Benign_test.pcap.csv", "Recon-Port_Scan_test.pcap.csv"]
    at = upload(choose(analyze_page(), 6, "test-rf-6class"),
                [(f, (demo_dir / "test" / f).read_bytes()) for f in files])  # fmt: skip
    no_exception(at)
    assert not [s for s in at.selectbox if s.key == "analyze_explain_class"], "a select box of one choice"
    spec = charts(at)["analyze_explain_class_chart"]
    assert spec["layout"]["title"]["text"] == "What sets Recon apart from Benign traffic", spec["layout"]["title"]
    assert "What marks Recon traffic" in [h.value for h in at.subheader]
    assert _profiles_text(at).startswith("How the Recon flows differ from benign traffic"), _profiles_text(at)
    # Two attack classes: the choice is back, under the heading and caption for several.
    files.append("ARP_Spoofing_test.pcap.csv")
    at = upload(at, [(f, (demo_dir / "test" / f).read_bytes()) for f in files])
    no_exception(at)
    assert at.selectbox(key="analyze_explain_class").options == ["Spoofing", "Recon"]
    assert "What marks each attack" in [h.value for h in at.subheader]
    text = _profiles_text(at)
    assert text.startswith("How the chosen attack's flows differ") and G.SPREAD_SCALE in text, text
