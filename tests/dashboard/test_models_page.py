"""Models page: table of saved models, model card, delete with confirmation (AppTest through the router)."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.pipeline import list_models
from core.training import train_from_folder
from dashboard.escape import md
from tests.dashboard.test_analyze_page import charts

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def values(v) -> np.ndarray:
    """A figure array from its JSON spec: a plain list or Plotly's typed array (``bdata``)."""
    if isinstance(v, dict) and "bdata" in v:
        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return out.reshape([int(n) for n in str(v.get("shape", len(out))).split(",")])
    return np.asarray(v)


def models_page(name: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/models.py").run()
    if name is not None:
        at.selectbox(key="models_selected").set_value(name).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_table_lists_every_model_with_its_scores(registry_env):
    at = models_page()
    table = next(d.value for d in at.dataframe if "macro-F1" in d.value.columns)
    models = {m["name"]: m for m in list_models(registry_env)}
    assert set(table["name"]) == set(models)
    assert list(table.columns) == ["name", "task", "family", "macro-F1", "weighted-F1", "scored on", "test set",
                                   "layout", "created", "data", "size (MB)"]  # fmt: skip
    assert set(table["test set"]) == {"A"}, "every demo model was scored on the same demo test rows"
    for row in table.to_dict("records"):
        meta = models[row["name"]]
        assert row["task"] == meta["task"] and row["family"] == meta["family"] and row["layout"] == meta["layout"]
        assert row["macro-F1"] == pytest.approx(meta["metrics"]["test"]["macro_f1"])
        assert row["weighted-F1"] == pytest.approx(meta["metrics"]["test"]["weighted_f1"])
        assert row["size (MB)"] > 0


def test_card_of_a_network_shows_scores_curves_and_settings(registry_env):
    at = models_page("test-paper-cnn-19class")
    meta = next(m for m in list_models(registry_env) if m["name"] == "test-paper-cnn-19class")
    test = meta["metrics"]["test"]
    shown = {m.label: m.value for m in reversed(at.metric)}
    assert shown["Macro-F1"] == f"{test['macro_f1']:.3f}" and shown["Weighted-F1"] == f"{test['weighted_f1']:.3f}"
    figs = charts(at)
    true_rows = [row for row, c in zip(test["confusion_matrix"], test["labels"]) if test["per_class"][c]["support"]]
    assert values(figs["models_confusion"]["data"][0]["z"]).tolist() == true_rows
    curves = figs["models_curves"]["data"]
    assert {t["name"] for t in curves} >= {"training loss", "validation loss"}
    loss = next(t for t in curves if t["name"] == "training loss")
    assert values(loss["y"]).tolist() == pytest.approx(meta["history"]["loss"])
    counts = figs["models_train_counts"]["data"][0]
    assert dict(zip(values(counts["x"]).tolist(), values(counts["y"]).tolist())) == meta["data"]["train_class_counts"]
    text = " ".join(m.value for m in at.markdown)
    assert "+inf -> training max" in text
    assert "**Refitted on all training rows:** no" in text  # the training facts, lines that wrap at 800 pixels
    versions = next(d.value for d in at.dataframe if "tensorflow" in set(d.value.get("item", [])))
    assert dict(zip(versions["item"], versions["value"]))["keras"] == meta["library_versions"]["keras"]


def test_card_of_a_forest_has_no_curves(registry_env):
    at = models_page("test-rf-2class")
    assert "models_curves" not in charts(at)
    assert any("does not train in epochs" in c.value for c in at.caption)


def test_card_of_a_2_class_model_says_what_it_flags_at(registry_env, demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """A threshold saved after training changes the model's decisions but not the scores stored at training: the card
    says which threshold is in use, that the scores are at 0.50, and offers the validation rows' choice."""
    from core import threshold as th

    models = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-2class", models / "rf2")
    shutil.copytree(demo_models_dir / "test-rf-6class", models / "rf6")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    suggested = json.loads((models / "rf2" / "metadata.json").read_text())["alarm_threshold_validation"]
    at = models_page("rf2")
    text = " ".join(m.value for m in at.markdown)
    assert f"**Alarm threshold:** {md('the default, 0.50 (none saved)')}." in text and "computed at 0.50" not in text
    offer = next(c.value for c in at.caption if "validation rows" in c.value)
    assert f"was highest at {suggested['threshold']:.2f}" in offer and "threshold rf2 --validation" in offer
    th.save_threshold(models / "rf2", 0.8, chosen_on="ward 3")
    at = models_page("rf2")
    text = " ".join(m.value for m in at.markdown)
    assert f"**Alarm threshold:** {md('0.80, chosen on ward 3')}." in text and "computed at 0.50" in text
    # Under the table too: its scores of rf2 are at 0.50, not what it flags now (they were shown unmarked)
    (under,) = [c.value for c in at.caption if "An alarm threshold has been saved since" in c.value]
    assert "for rf2 (0.80): it now flags flows at its threshold" in under
    th.save_threshold(models / "rf2", 0.5, chosen_on="ward 3")
    text = " ".join(m.value for m in models_page("rf2").markdown)
    assert f"{md('0.50, chosen on ward 3')}." in text and "computed at 0.50" not in text, "0.50 decides as before"
    assert "the scores below still hold" in text
    th.save_threshold(models / "rf2", suggested["threshold"], chosen_on=th.validation_rows_label(suggested))
    at = models_page("rf2")
    assert not [c for c in at.caption if "not applied unless saved" in c.value], "already in use: nothing to offer"
    assert not [m for m in models_page("rf6").markdown if "Alarm threshold" in m.value]


def test_classes_absent_from_training_are_named(demo_dir, tmp_path, monkeypatch):
    part = tmp_path / "part"
    for split in ("train", "test"):
        (part / split).mkdir(parents=True)
        for stem in ("Benign", "ARP_Spoofing", "Recon-VulScan"):
            shutil.copy(demo_dir / split / f"{stem}_{split}.pcap.csv", part / split)
    models = tmp_path / "models"
    train_from_folder("rf", 6, str(part), params={"n_estimators": 5}, models_dir=str(models), name="three-classes",
                      refit=True)  # fmt: skip
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = models_page("three-classes")
    never = next(w.value for w in at.warning if "Never saw" in w.value)
    assert all(c in never for c in ("MQTT", "DDoS", "DoS")) and "Recon" not in never
    absent = next(i.value for i in at.info if "have no rows in this data" in i.value)
    assert "3 of the task's 6 classes" in absent
    facts = " ".join(m.value for m in at.markdown)  # the training facts, lines that wrap at 800 pixels
    # 3 x 400
    assert "**Training rows:** 1,200" in facts and "**Refitted on all training rows:** yes, 1,200 rows" in facts


def test_card_of_cnn_rf_says_its_forest_weight_and_how_it_did_on_validation(demo_dir, tmp_path, monkeypatch):
    models = tmp_path / "models"
    model, _ = train_from_folder("cnn-rf", 2, str(demo_dir), params={"epochs": 1, "filters": 8, "dense_units": 16,
                                 "n_estimators": 5}, max_rows_per_class=100, models_dir=str(models), name="blend")  # fmt: skip
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = models_page("blend")
    (note,) = model.metadata["fit_notes"]
    assert note.startswith("cnn-rf: forest weight ") and f"Note: {md(note)}" in [c.value for c in at.caption]
    weight = "Weight of the forest in the blend (forest_weight)"
    params = next(d.value for d in at.dataframe if weight in set(d.value.get("item", [])))
    assert dict(zip(params["item"], params["value"]))[weight] == str(model.detector.params["forest_weight"])


def test_card_of_a_diverged_gbt_warns_that_its_predictions_are_unreliable(tmp_path, monkeypatch, demo_dir):
    from core.loading import Dataset, FileSummary
    from core.schema import V2
    from core.taxonomy import CLASSES_19
    from core.training import train_model

    labels = ["Benign", "DDoS-UDP", "DoS-UDP"]
    rng = np.random.default_rng(3)
    X = rng.normal(0, 1, (900, V2.n_features)).round(0).astype(np.float32)  # few distinct rows, labels mixed
    y = np.repeat([CLASSES_19.index(c) for c in labels], 300).astype(np.int8)
    files = [FileSummary(name=f"{c}.csv", rows=300, label_source="file name", label=c) for c in labels]
    data = Dataset(X=X, y=y, source=np.repeat(np.arange(3, dtype=np.int32), 300), files=files, layout=V2)
    model, _ = train_model("gbt", 6, data, params={"learning_rate": 1.0, "l2_regularization": 0.0,
                                                   "min_samples_leaf": 5, "max_iter": 60}, refit=True)  # fmt: skip
    model.metadata["name"] = "wild"
    model.save(tmp_path / "models" / "wild")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = models_page("wild")
    (warning,) = [w for w in model.metadata["fit_warnings"] if w.startswith("refit on all rows: gbt diverged")]
    assert md(warning) in [w.value for w in at.warning], "the card warns, it does not just note"
    assert any(c.value.startswith("Note: gbt: ") for c in at.caption), "and says how many rounds it kept"


def test_scores_of_a_benchmarked_diverged_gbt_carry_its_warnings_as_warnings(monkeypatch, demo_dir, diverged_gbt):
    """A model saved by benchmark-models keeps the test report's notes; a warning among them is shown as one on the
    Scores tab, not as a note."""
    from core.evaluation import WARNING

    results, models = diverged_gbt
    (score,) = results.scores
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = models_page("bench-gbt-19class-v1")
    warned = [md(n.removeprefix(WARNING)) for n in score.report.notes if n.startswith(WARNING)]
    shown = [x.value for x in at.warning]
    assert len(warned) == 2 and all(shown.count(w) == 2 for w in warned), "on the Scores tab and under Settings"
    assert not any("Warning" in c.value for c in at.caption), [c.value for c in at.caption]


def test_delete_asks_then_removes_the_folder(registry_env, tmp_path, monkeypatch, demo_dir):
    registry = tmp_path / "models"
    for name in ("test-rf-2class", "test-lr-2class"):
        shutil.copytree(registry_env / name, registry / name)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page("test-lr-2class")
    at.button(key="models_delete").click().run()
    assert (registry / "test-lr-2class").is_dir()
    assert "cannot be undone" in at.warning[0].value
    at.button(key="models_delete_cancel").click().run()
    assert (registry / "test-lr-2class").is_dir() and "models_delete_yes" not in [b.key for b in at.button]
    at.button(key="models_delete").click().run()
    at.button(key="models_delete_yes").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not (registry / "test-lr-2class").exists() and (registry / "test-rf-2class").is_dir()
    assert "Deleted test-lr-2class." in at.success[0].value
    assert all("test-lr-2class" not in o for o in at.selectbox(key="models_selected").options)


def test_a_model_deleted_elsewhere_is_said_gone_and_no_other_model_is_offered_for_deletion(registry_env, tmp_path,
                                                                                          monkeypatch):  # fmt: skip
    """The card used to fall back to the first model when the one shown was deleted in another session, and the
    Delete button then asked to delete that other model."""
    registry = tmp_path / "models"
    for name in ("test-rf-2class", "test-lr-2class"):
        shutil.copytree(registry_env / name, registry / name)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page("test-lr-2class")
    shutil.rmtree(registry / "test-lr-2class")  # another session deletes it
    at.button(key="models_delete").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "The model **test-lr-2class** no longer exists" in at.warning[0].value
    assert not [b for b in at.button if b.key.startswith("models_delete")], "no card, no Delete button"
    assert not [w for w in at.warning if "for good" in w.value]
    assert (registry / "test-rf-2class").is_dir()
    at.selectbox(key="models_selected").set_value("test-rf-2class").run()
    assert at.header[0].value == "test-rf-2class" and not [w for w in at.warning if "no longer exists" in w.value]


def test_a_damaged_folder_says_what_to_do_and_can_be_deleted(registry_env, tmp_path, monkeypatch):
    registry = tmp_path / "models"
    shutil.copytree(registry_env / "test-rf-2class", registry / "test-rf-2class")
    (registry / "broken").mkdir()
    (registry / "broken" / "metadata.json").write_text("{not json")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page()
    assert "The folder **broken** could not be read as a model" in at.warning[0].value
    assert any(c.value.startswith("1 model in ") for c in at.caption), "not '1 models'"
    assert "delete it if it is not being written right now" in at.warning[0].value
    at.button(key="models_delete_damaged_broken").click().run()
    at.button(key="models_delete_damaged_broken_yes").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not (registry / "broken").exists() and (registry / "test-rf-2class").is_dir()
    assert "Deleted broken." in at.success[0].value and not [w for w in at.warning if "broken" in w.value]
    # A damaged folder that holds other things too (here a model folder kept inside it) is not offered for deleting
    (registry / "archive").mkdir()
    (registry / "archive" / "metadata.json").write_text("{not json")
    shutil.copytree(registry_env / "test-rf-2class", registry / "archive" / "old-rf")
    at = models_page()
    (warning,) = [w.value for w in at.warning if "**archive**" in w.value]
    assert "is not deleted from here" in warning
    assert "models_delete_damaged_archive" not in [b.key for b in at.button]
    assert (registry / "archive" / "old-rf" / "metadata.json").is_file()


def test_no_models(tmp_path, monkeypatch, demo_dir):
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = models_page()
    assert "No model is saved yet" in at.info[0].value


def test_numbers_in_the_card_tables_are_readable():
    """The timing table showed 'test_rows_per_second 200617.6', neither rounded nor grouped like the other numbers."""
    from dashboard.views.models import _facts

    shown = dict(_facts({"rows": 16254, "speed": 200617.6, "fit_seconds": 12.345678, "lr": 0.002, "zero": 0.0,
                         "flag": True, "name": "rf", "none": None}).values.tolist())  # fmt: skip
    assert shown == {"rows": "16,254", "speed": "200,618", "fit_seconds": "12.35", "lr": "0.002", "zero": "0",
                     "flag": "True", "name": "rf", "none": ""}  # fmt: skip
