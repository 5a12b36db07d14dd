"""Analyze traffic page: bugs found by a hunt of the page as a hospital analyst would use it, each driven through the
app's router with real small models (no mock of the page, its loaders or core)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from core.loading import read_files
from core.pipeline import TrainedModel

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def analyze_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    return at.switch_page("views/analyze.py").run()


def choose(at: AppTest, task: int, model_folder: Path) -> AppTest:
    at.selectbox(key="analyze_task").set_value(task).run()
    at.selectbox(key="analyze_model").set_value(str(model_folder))
    return at.run()


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="analyze_uploads").set_value([(n, b, "text/csv") for n, b in files])
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in at.metric:
        out.setdefault(m.label, m.value)
    return out


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _rows_predicted(model: TrainedModel, path: Path, label: str) -> pd.DataFrame:
    """The rows of the CSV at ``path`` that ``model`` calls ``label``."""
    rows = pd.read_csv(path)
    return rows[model.predict(read_files([str(path)])).labels == label]


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_a_handful_of_attacks_among_many_flows_is_not_shown_as_0_percent(registry_env, demo_dir):
    """One attack flow among 4,000 benign ones read "Attack traffic 0.0%" beside "**1 rows (0.0%) look like
    attacks.**": the page said there was no attack traffic at all, in the one case an analyst is looking for. All but
    one flow attacks read "100.0%"."""
    model_dir = registry_env / "test-rf-2class"
    model = TrainedModel.load(model_dir)
    benign = _rows_predicted(model, demo_dir / "test" / "Benign_test.pcap.csv", "Benign")
    attack = _rows_predicted(model, demo_dir / "test" / "TCP_IP-DDoS-UDP1_test.pcap.csv", "Attack")
    few_attacks = pd.concat([benign] * (4000 // len(benign) + 1) + [attack.head(1)], ignore_index=True)
    assert len(few_attacks) > 4000

    at = upload(choose(analyze_page(), 2, model_dir), [("ward-3.csv", _csv(few_attacks))])
    no_exception(at)
    assert (model.predict(read_files([("ward-3.csv", _csv(few_attacks))])).labels == "Attack").sum() == 1
    assert metrics(at)["Attack traffic"] == "<0.1%"
    alert = next(w.value for w in at.warning if "like an attack" in w.value or "like attacks" in w.value)
    assert alert.startswith("**1 row (<0.1%) looks like an attack.**"), alert

    few_benign = pd.concat([attack] * (4000 // len(attack) + 1) + [benign.head(1)], ignore_index=True)
    at = upload(at, [("ward-4.csv", _csv(few_benign))])
    no_exception(at)
    assert metrics(at)["Attack traffic"] == ">99.9%"
    alert = next(w.value for w in at.warning if "look like attacks" in w.value)
    assert alert.startswith(f"**{len(few_benign) - 1:,} rows (>99.9%) look like attacks.**"), alert


def test_most_frequent_mistakes_and_rows_evaluated_read_as_sentences(registry_env, demo_dir):
    """A single labelled class read "Rows with a known true class, over 1 classes.", a mistake made once "1 Benign
    rows (0.0% of them) were taken for ..." where the class had thousands of rows."""
    model_dir = registry_env / "test-rf-2class"
    model = TrainedModel.load(model_dir)
    benign = _rows_predicted(model, demo_dir / "test" / "Benign_test.pcap.csv", "Benign")
    wrong = _rows_predicted(model, demo_dir / "test" / "Benign_test.pcap.csv", "Attack")
    rows = pd.concat([benign] * (4000 // len(benign) + 1) + [wrong.head(1)], ignore_index=True)
    at = upload(choose(analyze_page(), 2, model_dir), [("Benign_test.pcap.csv", _csv(rows))])
    no_exception(at)
    (evaluated,) = [m for m in at.metric if m.label == "Rows evaluated"]
    assert evaluated.help == "Rows with a known true class, over 1 class."
    (mistakes,) = [m.value for m in at.markdown if "Most frequent mistakes" in m.value]
    assert "- 1 Benign row (<0.1% of them) was taken for **Attack**" in mistakes, mistakes


def _registry_with(tmp_path: Path, demo_models_dir: Path, *names: str) -> Path:
    models = tmp_path / "models"
    for name in names:
        shutil.copytree(demo_models_dir / name, models / name)
    return models


def _scoring_demo_traffic(demo_models_dir, demo_dir, tmp_path, monkeypatch, task: int, *names: str):
    """The page scoring the demo traffic with the last of ``names``, from a registry of those models alone (which a
    test may change)."""
    models = _registry_with(tmp_path, demo_models_dir, *names)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, task, models / names[-1])
    no_exception(at)
    return at, models


def test_a_model_replaced_under_its_name_is_said_changed_not_swapped_for_another(
    demo_models_dir, demo_dir, tmp_path, monkeypatch
):
    """Another session deletes the 6-class model in use and trains a 19-class one under its name: the folder exists
    again, so the page took it for a choice of the analyst's, let the list fall back to its best 6-class model and
    showed that detector's results without a word."""
    at, models = _scoring_demo_traffic(demo_models_dir, demo_dir, tmp_path, monkeypatch, 6, "test-rf-6class",
                                       "test-lr-6class")  # fmt: skip
    lr_f1 = metrics(at)["Macro-F1"]
    shutil.rmtree(models / "test-lr-6class")  # the other session: the name now holds a 19-class model
    shutil.copytree(demo_models_dir / "test-rf-19class", models / "test-lr-6class")
    at.run()
    no_exception(at)
    changed = next((w.value for w in at.warning if "test-lr-6class" in w.value), None)
    assert changed is not None, f"scored with another model instead (macro-F1 {metrics(at).get('Macro-F1')})"
    assert "was replaced by a model of another task or release" in changed and "Choose a model" in changed
    assert "Rows scored" not in metrics(at) and not at.dataframe
    assert at.selectbox(key="analyze_model").value is None
    at.selectbox(key="analyze_model").set_value(str(models / "test-rf-6class")).run()
    no_exception(at)
    assert "Macro-F1" in metrics(at) and not [w for w in at.warning if "test-lr-6class" in w.value]
    assert lr_f1


def test_a_damaged_model_is_said_unreadable_not_swapped_for_another(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    at, models = _scoring_demo_traffic(demo_models_dir, demo_dir, tmp_path, monkeypatch, 6, "test-rf-6class",
                                       "test-lr-6class")  # fmt: skip
    broken = models / "test-lr-6class.new"  # replaced as the registry replaces a folder: renamed into place
    shutil.copytree(models / "test-lr-6class", broken)
    (broken / "metadata.json").write_text("{not json")
    shutil.rmtree(models / "test-lr-6class")
    broken.rename(models / "test-lr-6class")
    at.run()
    no_exception(at)
    changed = next((w.value for w in at.warning if "test-lr-6class" in w.value), None)
    assert changed is not None and "can no longer be read" in changed, [w.value for w in at.warning]
    assert "Rows scored" not in metrics(at)


def test_changing_task_or_traffic_still_offers_the_best_model_of_the_new_list(registry_env, demo_dir):
    """The guard above must not stop the page where the analyst changed the task: the list's best is chosen."""
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, 6, registry_env / "test-lr-6class")
    at.selectbox(key="analyze_task").set_value(19).run()
    no_exception(at)
    assert at.selectbox(key="analyze_model").value is not None and "Rows scored" in metrics(at)
    assert not [w for w in at.warning if "Choose a model" in w.value]


def test_a_rescoring_after_an_alarm_threshold_is_saved_is_audited(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """The page scores anew once a threshold is saved with the model (its flags and macro-F1 change), but the audit
    log kept only the first scoring, once per (data, model) in a session: it did not say that the analyst's
    predictions came from the model at the new threshold."""
    from core import threshold as th
    from core.audit import read_events

    audit_dir = tmp_path / "audit"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(audit_dir))
    at, models = _scoring_demo_traffic(demo_models_dir, demo_dir, tmp_path, monkeypatch, 2, "test-rf-2class")
    before = metrics(at)["Macro-F1"]
    th.save_threshold(models / "test-rf-2class", 0.9, chosen_on="ward 3")
    at.run()
    no_exception(at)
    after = metrics(at)["Macro-F1"]
    assert after != before
    scored = [e for e in read_events(audit_dir) if e["action"] == "scored"]
    assert len(scored) == 2, scored
    by_threshold = {e["details"].get("alarm_threshold"): e["details"]["macro_f1"] for e in scored}
    assert set(by_threshold) == {None, 0.9}
    # recorded to 4 decimals, shown to 3: the same score within the shown figure's rounding
    assert abs(by_threshold[None] - float(before)) <= 0.0005 + 1e-9
    assert abs(by_threshold[0.9] - float(after)) <= 0.0005 + 1e-9
    at.run()  # a rerun (a filter moved) is not a new scoring
    assert len([e for e in read_events(audit_dir) if e["action"] == "scored"]) == 2


def test_benign_predicted_where_no_row_is_benign_is_called_missed_attacks_not_false_alarms(registry_env, demo_dir):
    """On a capture of one flood, the rows the model called Benign were said to be "false alarms (or mistakes)":
    they are the opposite, attacks it missed, the one mistake an analyst must not read as harmless."""
    model_dir = registry_env / "test-rf-6class"
    model = TrainedModel.load(model_dir)
    flood = _rows_predicted(model, demo_dir / "test" / "TCP_IP-DDoS-UDP1_test.pcap.csv", "DDoS")
    quiet = _rows_predicted(model, demo_dir / "test" / "Benign_test.pcap.csv", "Benign").head(3)
    name = "TCP_IP-DDoS-UDP1_test.pcap.csv"  # the class (DDoS) comes from the name: the 3 quiet rows are attacks
    at = upload(choose(analyze_page(), 6, model_dir), [(name, _csv(pd.concat([flood, quiet], ignore_index=True)))])
    no_exception(at)
    infos = [i.value for i in at.info]
    assert "No row of this data is benign, yet the model called 3 rows Benign: they are attacks it missed." in infos
    assert not [i for i in infos if "Benign" in i and "false alarms" in i], infos


def test_a_2_class_model_does_not_count_attack_types(registry_env, demo_dir, monkeypatch):
    """The demo capture holds 18 kinds of attack; a 2-class model, which cannot tell them apart, showed "Attack types
    seen: 1" and "Most often: Attack (...)", read as a single kind of attack found."""
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, 2, registry_env / "test-rf-2class")
    no_exception(at)
    (kinds,) = [m for m in at.metric if m.label == "Attack types seen"]
    assert kinds.value == "—" and "not which kind of attack" in kinds.help
    alert = next(w.value for w in at.warning if "look like attacks" in w.value)
    assert "Most often" not in alert
    at = choose(at, 6, registry_env / "test-rf-6class")  # a model that tells kinds apart still counts them
    no_exception(at)
    (kinds,) = [m for m in at.metric if m.label == "Attack types seen"]
    assert kinds.value.isdigit() and int(kinds.value) > 1


def test_a_download_that_the_audit_log_cannot_record_is_said_next_to_its_button(
    demo_models_dir, demo_dir, tmp_path, monkeypatch
):
    """The predictions CSV is built, and its export recorded, when the button is clicked, where no warning can be
    shown: with an unwritable log the download went unrecorded without a word next to it."""
    (tmp_path / "blocker").write_text("a file where the audit folder should be")
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "blocker" / "audit"))
    at, _ = _scoring_demo_traffic(demo_models_dir, demo_dir, tmp_path, monkeypatch, 6, "test-rf-6class")
    said = [c.value for c in at.caption if "Downloads on this page are not recorded in the audit log" in c.value]
    assert len(said) == 1 and "blocker" in said[0] and "IOMT_AUDIT_DIR" in said[0], "once, for the page's downloads"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))  # writable: nothing said
    at.run()
    assert not [c.value for c in at.caption if "not recorded" in c.value]
