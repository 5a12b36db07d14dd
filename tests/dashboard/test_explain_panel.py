"""The explanation, alarm-threshold and report controls of the Analyze and Compare pages (AppTest, real models)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from core import explain
from core import threshold as th
from core.loading import read_files
from core.pipeline import TrainedModel
from tests.dashboard.test_analyze_page import (
    DEMO_NAME,
    analyze_page,
    charts,
    choose,
    metrics,
    no_exception,
    upload,
    values,
)
from tests.dashboard.test_analyze_page import demo_traffic as demo_traffic
from tests.dashboard.test_compare_page import compare_page


def demo_page(model: str, task: int):
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, task, model)
    no_exception(at)
    return at


def test_importance_row_and_class_explanations_match_core(registry_env, demo_traffic, monkeypatch):
    from dashboard import explain_panel

    monkeypatch.setattr(explain_panel, "IMPORTANCE_ROWS", 600)  # the same bounded sample, smaller for CI time
    at = demo_page("test-rf-6class", 6)
    model = TrainedModel.load(registry_env / "test-rf-6class")
    data = read_files([(DEMO_NAME, demo_traffic)])
    figs = charts(at)
    assert "analyze_explain_importance_chart" not in figs, "importance is measured on request only"
    # Why this flow: the first flow flagged as an attack, to start; its bars are core's occlusion attributions.
    pred = model.predict(data)
    first = int(np.flatnonzero(pred.labels != "Benign")[0])
    assert at.number_input(key="analyze_explain_row").value == first + 1
    ex = explain.explain_row(model, data, first)
    bars = figs["analyze_explain_row_chart"]["data"][0]
    nonzero = ex.frame[ex.frame["contribution"] != 0]
    np.testing.assert_allclose(values(bars["x"]), nonzero["contribution"].head(12), rtol=1e-6)
    assert bars["y"][0].startswith(nonzero["feature"].iloc[0] + " = ")
    # Another row.
    at.number_input(key="analyze_explain_row").set_value(2000).run()
    no_exception(at)
    ex = explain.explain_row(model, data, 1999)
    nonzero = ex.frame[ex.frame["contribution"] != 0]
    np.testing.assert_allclose(values(charts(at)["analyze_explain_row_chart"]["data"][0]["x"]),
                               nonzero["contribution"].head(12), rtol=1e-6)  # fmt: skip
    assert any(f"classed as **{ex.predicted}**" in m.value for m in at.markdown)
    # What marks each attack: the class chosen, its top features against benign.
    at.selectbox(key="analyze_explain_class").set_value("Recon").run()
    prof = explain.class_profiles(model, data, top=8)
    recon = prof[prof["class"] == "Recon"]
    bar = charts(at)["analyze_explain_class_chart"]["data"][0]
    assert list(bar["y"]) == recon["feature"].tolist()
    np.testing.assert_allclose(values(bar["x"]), recon["difference"], rtol=1e-5)
    # Which features matter: on request, core's permutation importance on the same rows.
    at.toggle(key="analyze_explain_importance").set_value(True).run()
    no_exception(at)
    imp = explain.permutation_importance(model, data, max_rows=600, repeats=explain_panel.IMPORTANCE_REPEATS)
    bar = charts(at)["analyze_explain_importance_chart"]["data"][0]
    assert list(bar["y"]) == imp.frame["feature"].head(15).tolist()
    np.testing.assert_allclose(values(bar["x"]), imp.frame["importance"].head(15), rtol=1e-6)
    assert at.download_button(key="analyze_report_html") and at.download_button(key="analyze_report_pdf")
    assert "analyze_alarm_threshold" not in [s.key for s in at.slider], "the threshold is for 2-class models"


def test_importance_shows_its_progress_feature_by_feature_and_is_computed_once(registry_env, demo_traffic, monkeypatch):
    """The importance used to show a spinner alone for its up to 270,000 rows scored; its progress bar now follows
    the features shuffled, and the result is kept (per model version, data and sample size) for the next rerun."""
    from dashboard import explain_panel

    monkeypatch.setattr(explain_panel, "IMPORTANCE_ROWS", 300)
    model = TrainedModel.load(registry_env / "test-lr-6class")
    data = read_files([(DEMO_NAME, demo_traffic)])

    class Bar:  # records what st.progress would be set to
        def __init__(self):
            self.calls = []

        def progress(self, value, text):
            self.calls.append((value, text))

    bar = Bar()
    ids = (str(registry_env / "test-lr-6class"), 1.0, ("progress-test",))
    imp = explain_panel._importance(*ids, model, data, bar=bar)
    features = len(model.layout.features)
    assert [v for v, _ in bar.calls] == [j / features for j in range(features + 1)]
    assert bar.calls[1][1].endswith(f"shuffling {model.layout.features[1]} (1 of {features} features)")
    expected = explain.permutation_importance(model, data, max_rows=300, repeats=explain_panel.IMPORTANCE_REPEATS)
    pd.testing.assert_frame_equal(imp.frame, expected.frame)
    again = Bar()
    assert explain_panel._importance(*ids, model, data, bar=again) is imp and not again.calls
    monkeypatch.setattr(explain_panel, "IMPORTANCE_ROWS", 200)  # another sample size is another result
    assert explain_panel._importance(*ids, model, data, bar=again).n_rows != imp.n_rows and again.calls


def test_paper_cnn_flow_is_explained_with_integrated_gradients(registry_env):
    at = demo_page("test-paper-cnn-19class", 19)
    assert any("integrated gradients" in c.proto.help for c in at.caption)  # the method in its caption's tooltip
    assert "analyze_explain_row_chart" in charts(at)


def test_one_attack_without_benign_rows_is_explained_against_the_training_datas_benign_rows(registry_env, demo_dir):
    """One attack's file alone: "What marks each attack" said there were no attack rows, and "Why this flow"
    compared the flow with the median of all training rows, attacks included, calling it typical benign."""
    payload = (demo_dir / "test" / "Recon-Port_Scan_test.pcap.csv").read_bytes()
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [("Recon-Port_Scan_test.pcap.csv", payload)])
    no_exception(at)
    infos = [i.value for i in at.info]
    assert any(v.startswith("All these rows are Recon (by their true classes), with no benign rows") for v in infos)
    assert not any("No attack rows" in v for v in infos)
    assert any("Typical benign values: median of the" in c.value and "benign rows of the model's training data "
               "(none among the rows analysed)" in c.value for c in at.caption)  # fmt: skip


@pytest.fixture()
def own_registry(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """A registry of its own (the threshold test writes to a model's metadata)."""
    root = tmp_path / "models"
    root.mkdir()
    shutil.copytree(demo_models_dir / "test-rf-2class", root / "test-rf-2class")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(root))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    return root


def test_threshold_slider_costs_and_saving(own_registry, demo_dir):
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv", "Recon-Port_Scan_test.pcap.csv",
             "ARP_Spoofing_test.pcap.csv"]  # fmt: skip
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), [(n, (demo_dir / "test" / n).read_bytes()) for n in names])
    no_exception(at)
    folder = own_registry / "test-rf-2class"
    model = TrainedModel.load(folder)
    data = read_files([str(demo_dir / "test" / n) for n in names])
    p = th.attack_probability(model.classes, model.predict(data).proba)
    truth = th.is_attack_truth(data)
    assert at.slider(key="analyze_alarm_threshold").value == 0.5
    # The slider offers only what can be saved: above 0 (at 0 every flow is an alarm, and saving was refused).
    assert at.slider(key="analyze_alarm_threshold").min == 0.01
    shown = {}
    for t in (0.2, 0.5, 0.8):
        at.slider(key="analyze_alarm_threshold").set_value(t).run()
        cost = th.cost_at(truth, p, t)
        m = metrics(at)
        assert m["False alarms per 10,000 benign flows"] == f"{cost.false_alarms_per_10k:,.1f}"
        assert m["Attacks missed"] == f"{cost.missed:,} ({cost.missed_rate:.1%})"
        assert m["Attacks caught"] == f"{cost.detected:,} ({cost.detected / cost.n_attack:.1%})"
        curves = charts(at)["analyze_alarm_curves"]["data"]
        assert values(curves[1]["x"])[0] == pytest.approx(cost.false_alarm_rate)
        shown[t] = cost
    assert shown[0.2].false_alarms >= shown[0.5].false_alarms >= shown[0.8].false_alarms
    assert shown[0.2].missed <= shown[0.5].missed <= shown[0.8].missed
    # Save 0.8 with the model: stored in metadata.json, then used when the page scores again.
    at.button(key="analyze_alarm_save").click().run()
    no_exception(at)
    saved = json.loads((folder / "metadata.json").read_text())
    assert saved["alarm_threshold"] == 0.8
    assert saved["alarm_threshold_chosen_on"] == (
        "Benign_test.pcap.csv, TCP_IP-DDoS-UDP1_test.pcap.csv, Recon-Port_Scan_test.pcap.csv and 1 more file"
    )
    assert at.slider(key="analyze_alarm_threshold").value == 0.8
    flagged = int((p >= 0.8).sum())
    assert metrics(at)["Attack traffic"] == f"{flagged / len(p):.1%}"
    from dashboard.escape import md

    now = f"Saved with the model now: {md(th.state_text(saved))}. "
    assert th.state_text(saved).startswith("0.80, chosen on Benign_test.pcap.csv, ")
    assert any(c.value.startswith(now) for c in at.caption)
    # Away (no 2-class model shown) and back: the slider starts again from the model's saved threshold.
    at.selectbox(key="analyze_task").set_value(6).run()
    assert "analyze_alarm_threshold" not in [s.key for s in at.slider]
    at.selectbox(key="analyze_task").set_value(2).run()
    no_exception(at)
    assert at.slider(key="analyze_alarm_threshold").value == 0.8


def test_a_threshold_saved_below_the_sliders_step_starts_the_slider_there(own_registry, demo_dir):
    """The command line saves any threshold in (0, 1]; 0.005 took the page down (below the slider's minimum)."""
    th.save_threshold(own_registry / "test-rf-2class", 0.005)
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv"]
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), [(n, (demo_dir / "test" / n).read_bytes()) for n in names])
    no_exception(at)
    slider = at.slider(key="analyze_alarm_threshold")
    assert slider.value == 0.005 and (slider.min, slider.step) == (0.001, 0.001), "0.50 stays on the slider's steps"


def test_the_threshold_chosen_on_validation_rows_at_training_is_offered_and_saved_as_such(own_registry, demo_dir):
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv", "ARP_Spoofing_test.pcap.csv"]
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), [(n, (demo_dir / "test" / n).read_bytes()) for n in names])
    no_exception(at)
    folder = own_registry / "test-rf-2class"
    stored = json.loads((folder / "metadata.json").read_text())["alarm_threshold_validation"]
    from core.threshold import validation_text

    meta = json.loads((folder / "metadata.json").read_text())
    assert any(c.value.startswith("At training, the model was tried") and validation_text(meta)[1:] in c.value
               and f"was highest at {stored['threshold']:.2f} ({stored['macro_f1']:.3f}, against "
               f"{stored['macro_f1_at_default']:.3f} at the default 0.50)" in c.value for c in at.caption)  # fmt: skip
    at.button(key="analyze_alarm_validation").click().run()
    no_exception(at)
    assert at.slider(key="analyze_alarm_threshold").value == pytest.approx(stored["threshold"])
    assert stored["threshold"] != 0.5, "else the slider would not move (the demo model's is 0.61)"
    at.button(key="analyze_alarm_save").click().run()
    saved = json.loads((folder / "metadata.json").read_text())
    assert saved["alarm_threshold"] == pytest.approx(stored["threshold"])
    assert saved["alarm_threshold_chosen_on"] == f"the model's {stored['rows']:,} validation rows at training"


def test_compare_page_offers_the_report(registry_env):
    at = compare_page(["test-rf-6class", "test-lr-6class"])
    no_exception(at)
    assert at.download_button(key="compare_report_html") and at.download_button(key="compare_report_pdf")


def test_the_flow_to_explain_is_picked_by_file_and_row_as_the_table_numbers_them(registry_env, demo_dir):
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv"]
    files = [(n, (demo_dir / "test" / n).read_bytes()) for n in names]
    files[1] = (names[1], b"".join(files[1][1].splitlines(keepends=True)[:41]))  # 40 rows: files of unequal length
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), files)
    no_exception(at)
    model = TrainedModel.load(registry_env / "test-rf-6class")
    data = read_files(files)
    n_benign = data.files[0].rows
    # To start: the first flow called an attack, in its own file's numbering.
    first = int(np.flatnonzero(model.predict(data).labels != "Benign")[0])
    in_first_file = first < n_benign
    assert at.selectbox(key="analyze_explain_file").value == names[0 if in_first_file else 1]
    assert at.number_input(key="analyze_explain_row").value == (first + 1 if in_first_file else first - n_benign + 1)
    # Row 3 of the second file is flow n_benign + 2 of all.
    at.selectbox(key="analyze_explain_file").set_value(names[1]).run()
    at.number_input(key="analyze_explain_row").set_value(3).run()
    no_exception(at)
    ex = explain.explain_row(model, data, n_benign + 2)
    assert any(m.value.startswith(f"Row 3 of {names[1].replace('_', chr(92) + '_')}: classed as **{ex.predicted}**")
               for m in at.markdown), [m.value for m in at.markdown if m.value.startswith("Row ")]  # fmt: skip
    nonzero = ex.frame[ex.frame["contribution"] != 0]
    np.testing.assert_allclose(values(charts(at)["analyze_explain_row_chart"]["data"][0]["x"]),
                               nonzero["contribution"].head(12), rtol=1e-6)  # fmt: skip
    # From the last row of the longer file to the shorter one: a row within it, no error and no warning.
    longer, shorter = sorted(range(2), key=lambda i: -data.files[i].rows)
    assert data.files[longer].rows > data.files[shorter].rows
    at.selectbox(key="analyze_explain_file").set_value(names[longer]).run()
    at.number_input(key="analyze_explain_row").set_value(data.files[longer].rows).run()
    at.selectbox(key="analyze_explain_file").set_value(names[shorter]).run()
    no_exception(at)
    assert 1 <= at.number_input(key="analyze_explain_row").value <= data.files[shorter].rows
    assert not [w for w in at.warning if "Session State" in w.value]


def test_importance_that_measures_nothing_says_so_and_a_repaired_cell_is_named(registry_env, demo_dir):
    """On one flow no shuffle can lower macro-F1: the page drew bars of 0 and said nothing, as if no feature
    mattered; and the flow's repaired cell was not named, its value shown as if read from the file."""
    lines = (demo_dir / "test" / "Recon-Port_Scan_test.pcap.csv").read_text().splitlines(keepends=True)
    header = lines[0].split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[[h.strip() for h in header].index("Rate")] = "inf"
    payload = (lines[0] + ",".join(cells) + "\n").encode()
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [("Recon-Port_Scan_test.pcap.csv", payload)])
    no_exception(at)
    assert any(c.value.startswith("Rate was inf: scored as ") for c in at.caption), [c.value for c in at.caption]
    at.toggle(key="analyze_explain_importance").set_value(True).run()
    no_exception(at)
    assert any(
        i.value.startswith("Shuffling no feature lowered macro-F1 on the 1 flow measured (macro-F1 ") for i in at.info
    )
