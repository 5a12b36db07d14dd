"""Train page, driven by AppTest: real training in the page's worker process on the demo data."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models import FAMILIES
from dashboard.escape import md
from dashboard.loaders import KEY_TRAIN_JOB

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "train.py"


@pytest.fixture()
def registry(demo_dir, tmp_path, monkeypatch) -> Path:
    """An empty model registry of its own, and the demo data as the demo folder."""
    out = tmp_path / "models"
    monkeypatch.setenv("IOMT_MODELS_DIR", str(out))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    return out


def train_page(family: str, task: int = 6, name: str = "", **settings) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.selectbox(key="train_task").set_value(task)
    at.selectbox(key="train_family").set_value(family).run()
    for key, value in settings.items():
        at.number_input(key=f"train_{key}_{family}").set_value(value)
    at.text_input(key="train_name").input(name)
    return at.run()


def poll(at: AppTest, until, timeout: float = 60.0) -> AppTest:
    """Rerun the page (as the fragment's timer would) until ``until(job)`` holds."""
    deadline = time.monotonic() + timeout
    while not until(at.session_state[KEY_TRAIN_JOB]):
        assert time.monotonic() < deadline, "training did not get there in time"
        time.sleep(0.3)
        at.run()
    return at.run()


def shown_settings(at: AppTest, family: str) -> dict:
    """What the page's widgets show of a run's settings, besides the family's own parameters."""
    return {
        "source": at.radio(key="train_source").value,
        "task": at.selectbox(key="train_task").value,
        "family": at.selectbox(key="train_family").value,
        "cap": at.number_input(key="train_cap").value,
        "validation": at.slider(key="train_val").value,
        "refit": at.checkbox(key=f"train_refit_{family}").value,
        "seed": at.number_input(key="train_seed").value,
    }


def finished(job) -> bool:
    return not job.running


def test_random_forest_trains_and_saves(registry):
    at = train_page("rf", task=6, name="ui-rf", trees=10, leaf=3)
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert at.button(key="train_start").disabled  # only one training at a time
    poll(at, finished)
    assert not at.exception, at.exception
    assert at.session_state[KEY_TRAIN_JOB].state == "done", at.session_state[KEY_TRAIN_JOB].error
    meta = json.loads((registry / "ui-rf" / "metadata.json").read_text())
    assert (meta["family"], meta["task"], meta["params"]["n_estimators"], meta["params"]["min_samples_leaf"]) == (
        "rf",
        6,
        10,
        3,
    )
    assert "ui-rf" in at.success[0].value
    test_f1 = meta["metrics"]["test"]["macro_f1"]
    assert any(f"{test_f1:.3f}" in m.value for m in at.metric), [m.value for m in at.metric]
    assert not at.button(key="train_start").disabled
    # Start again with the name now taken: refused, and the saved run's outcome and scores are not wiped off the page
    at.button(key="train_start").click().run()
    assert any("already exists" in e.value for e in at.error), [e.value for e in at.error]
    assert "ui-rf" in at.success[0].value and any(f"{test_f1:.3f}" in m.value for m in at.metric)


def test_cnn_with_a_forest_shows_both_settings_trains_and_says_how_the_average_did_on_validation(registry):
    at = train_page("cnn-rf", task=6)
    assert at.number_input(key="train_epochs_cnn-rf").value == 40
    assert at.number_input(key="train_trees_cnn-rf").value == 300
    assert at.number_input(key="train_leaf_cnn-rf").value == 1, "the forest's leaf size beside its trees"
    assert at.checkbox(key="train_refit_cnn-rf").value is True, "refits by default, as the cnn does"
    at.number_input(key="train_epochs_cnn-rf").set_value(2)
    at.number_input(key="train_trees_cnn-rf").set_value(10)
    at.text_input(key="train_name").input("ui-blend")
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=180)
    assert not at.exception, at.exception
    assert at.session_state[KEY_TRAIN_JOB].state == "done", at.session_state[KEY_TRAIN_JOB].error
    folder = registry / "ui-blend"
    meta = json.loads((folder / "metadata.json").read_text())
    assert (meta["family"], meta["params"]["epochs"], meta["params"]["n_estimators"]) == ("cnn-rf", 2, 10)
    assert meta["params"]["forest_weight"] == 0.5, "equal weights by default"
    assert (folder / "cnn" / "model.keras").is_file() and (folder / "rf" / "model.skops").is_file()
    assert len(meta["history"]["loss"]) == 2, "the network's curves are shown and kept"
    assert [c.value for c in at.caption if c.value.startswith("Note: cnn-rf: forest weight")] == [
        f"Note: {md(meta['fit_notes'][0])}"
    ], "the page says which weight was taken, and how the two did on the validation rows"


def test_each_network_keeps_its_own_epochs_and_batch_size(registry):
    """Switching from the paper's network to the cnn kept 10 epochs of 32 rows, the paper's settings."""
    at = train_page("paper-cnn")
    assert (at.number_input(key="train_epochs_paper-cnn").value, at.number_input(key="train_batch_paper-cnn").value) == (
        10, 32)  # fmt: skip
    at.number_input(key="train_epochs_paper-cnn").set_value(3).run()
    at.selectbox(key="train_family").set_value("cnn").run()
    defaults = FAMILIES["cnn"].default_params()
    assert (at.number_input(key="train_epochs_cnn").value, at.number_input(key="train_batch_cnn").value) == (
        defaults["epochs"], defaults["batch_size"])  # fmt: skip


def test_gradient_boosted_trees_train_and_say_how_many_rounds_they_kept(registry):
    at = train_page("gbt", task=19, name="ui-gbt")
    assert "Gradient-boosted trees" in at.selectbox(key="train_family").options
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=120)
    assert not at.exception, at.exception
    assert at.session_state[KEY_TRAIN_JOB].state == "done", at.session_state[KEY_TRAIN_JOB].error
    meta = json.loads((registry / "ui-gbt" / "metadata.json").read_text())
    assert (meta["family"], meta["task"], meta["params"]["l2_regularization"]) == ("gbt", 19, 1.0)
    assert meta["fit_warnings"] == [] and not at.warning
    assert re.fullmatch(r"gbt: (early stopping on the validation rows kept \d+ of at most 500|500 \(all of max_iter\)) "
                        r"boosting rounds", meta["fit_notes"][0])  # fmt: skip
    assert f"Note: {md(meta['fit_notes'][0])}" in [c.value for c in at.caption]


def test_refit_checkbox_follows_the_family_default_and_refits_on_every_row(registry):
    at = train_page("cnn", task=6)
    assert at.checkbox(key="train_refit_cnn").value is True, "the cnn refits by default"
    at.selectbox(key="train_family").set_value("rf").run()
    assert at.checkbox(key="train_refit_rf").value is False, "the baselines do not, unless asked"
    at.number_input(key="train_trees_rf").set_value(10)
    at.text_input(key="train_name").input("ui-rf-refit")
    at.checkbox(key="train_refit_rf").check().run()
    at.button(key="train_start").click().run()
    poll(at, finished)
    assert not at.exception, at.exception
    assert at.session_state[KEY_TRAIN_JOB].state == "done", at.session_state[KEY_TRAIN_JOB].error
    data = json.loads((registry / "ui-rf-refit" / "metadata.json").read_text())["data"]
    assert data["refit"]["rows"] == data["train_rows_used_for_fit"] == data["train_rows"] > data["validation_rows"] > 0
    assert "Validation (first fit)" in [t.label for t in at.tabs]
    assert any("scores of the first fit, before the refit" in c.value for c in at.caption)


def test_name_placeholder_is_the_name_a_model_would_get_now(registry):
    import re
    from datetime import datetime

    at = train_page("rf", task=19)
    placeholder = at.text_input(key="train_name").placeholder
    match = re.fullmatch(r"automatic, e\.g\. rf-19class-(\d{8}-\d{6})", placeholder)
    assert match, placeholder
    when = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    assert abs((datetime.now() - when).total_seconds()) < 120  # today's, not a fixed example date


def test_paper_cnn_one_epoch_shows_curves(registry):
    at = train_page("paper-cnn", task=19, name="ui-cnn", epochs=1, batch=256)
    at.button(key="train_start").click().run()
    poll(at, finished)
    assert not at.exception, at.exception
    job = at.session_state[KEY_TRAIN_JOB]
    assert job.state == "done", job.error
    meta = json.loads((registry / "ui-cnn" / "metadata.json").read_text())
    assert meta["family"] == "paper-cnn" and len(meta["history"]["loss"]) == 1
    curves = [c for c in at.get("plotly_chart") if "train_curves" in c.proto.id]
    assert curves, "no training curves shown"
    assert at.metric, "no metrics shown"


def test_cancel_stops_and_saves_nothing(registry):
    at = train_page("paper-cnn", task=6, name="ui-cancelled", epochs=300, batch=32)
    at.button(key="train_start").click().run()
    poll(at, lambda job: job.curves().get("loss") or not job.running)  # live curves after the first epoch
    assert at.session_state[KEY_TRAIN_JOB].running, "finished before it could be cancelled"
    assert any("train_curves_live" in c.proto.id for c in at.get("plotly_chart"))
    # the bar's label: what it does, time spent, and once fitting has set a pace, time left (300 epochs: minutes)
    poll(at, lambda job: job.seconds_left is not None or not job.running)
    label = at.get("progress")[0].proto.text
    short, long = r"\d+ s|\d+ min \d\d s", r"\d+ min|\d+ h \d\d min"
    doing = r"epoch \d+/300(, batch \d+/\d+| done)"
    assert re.fullmatch(rf"{doing} \(({short}), about ({short}|{long}) left\)", label), label
    at.button(key="train_cancel").click().run()
    poll(at, finished, timeout=30)
    assert not at.exception, at.exception
    assert at.session_state[KEY_TRAIN_JOB].state == "cancelled"
    assert any("cancelled" in i.value for i in at.info)
    assert not (registry / "ui-cancelled").exists()
    assert not registry.exists() or not any(registry.iterdir())


def test_bad_folder_gives_clear_error(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))  # typed folders are confined to these roots
    at = AppTest.from_file(str(PAGE), default_timeout=30).run()
    at.radio(key="train_source").set_value("A data folder").run()
    at.text_input(key="train_folder").input(str(tmp_path / "nowhere")).run()
    assert any("data folder not found" in e.value for e in at.error)
    at.text_input(key="train_folder").input(str(tmp_path)).run()  # exists, but has no train/
    assert any("train/" in e.value and "What to do" in e.value for e in at.error)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert KEY_TRAIN_JOB not in at.session_state
    assert len(at.error) == 1, "the folder's problem, shown under it, is not shown again under Start"


def test_existing_name_is_refused(registry, demo_dir):
    (registry / "taken").mkdir(parents=True)
    at = train_page("lr", task=2, name="taken")
    at.button(key="train_start").click().run()
    assert not at.exception
    assert any("already exists" in e.value for e in at.error)
    assert KEY_TRAIN_JOB not in at.session_state


def test_uploaded_csvs_train_with_their_test_files(registry, demo_dir):
    at = train_page("lr", task=2, name="ui-upload")
    at.radio(key="train_source").set_value("Upload CSV files").run()
    files = [
        demo_dir / split / f"{c}_{split}.pcap.csv" for split in ("train", "test") for c in ("Benign", "ARP_Spoofing")
    ]
    at.file_uploader(key="train_uploads").set_value([(f.name, f.read_bytes(), "text/csv") for f in files]).run()
    at.button(key="train_start").click().run()
    poll(at, finished)
    job = at.session_state[KEY_TRAIN_JOB]
    assert job.state == "done", job.error
    assert job.reports["test"] is not None and job.reports["test"].n_rows == sum(
        len(f.read_text().splitlines()) - 1 for f in files if "_test" in f.name
    )
    meta = json.loads((registry / "ui-upload" / "metadata.json").read_text())
    assert sorted(meta["data"]["train_files"]) == sorted(f.name for f in files if "_train" in f.name)


def test_an_upload_without_labels_is_explained_and_forgotten_once_the_settings_change(registry, demo_dir, tmp_path,
                                                                                     monkeypatch):  # fmt: skip
    """The run's failure is named; it used to stay, untitled, under the next folder's own error."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))
    at = train_page("lr", task=2, name="ui-nolabel")
    at.radio(key="train_source").set_value("Upload CSV files").run()
    payload = (demo_dir / "train" / "Benign_train.pcap.csv").read_bytes()
    at.file_uploader(key="train_uploads").set_value(("capture.csv", payload, "text/csv")).run()
    at.button(key="train_start").click().run()
    poll(at, finished)
    assert not at.exception and not (registry / "ui-nolabel").exists()
    assert [e.value.split(": ", 1)[0] for e in at.error] == ["**Problem:** Training ui-nolabel failed"]
    assert "no class found" in at.error[0].value and "What to do" in at.error[0].value
    at.button(key="train_start").click().run()  # again: the same failure, once
    poll(at, finished)
    assert len(at.error) == 1 and "no class found" in at.error[0].value
    # Two unlabelled uploads: the run's failure, then one message per file (they came as one long line)
    at.file_uploader(key="train_uploads").set_value([("capture.csv", payload, "text/csv"),
                                                     ("other.csv", payload.replace(b"\n", b"\r\n"), "text/csv")]).run()  # fmt: skip
    at.button(key="train_start").click().run()
    poll(at, finished)
    shown = [e.value for e in at.error]
    assert shown[0].startswith("**Training ui-nolabel failed:** its data could not be read"), shown
    assert "2 of 2 files could not be read" in shown[1] and len(shown) == 4, shown
    assert "capture.csv" in shown[2] and "other.csv" in shown[3] and "no class found" in shown[3]
    at.radio(key="train_source").set_value("A data folder").run()
    at.text_input(key="train_folder").input(str(tmp_path / "nowhere")).run()
    assert [e.value for e in at.error if "no class found" in e.value] == [], "the last run's failure is gone"
    assert len(at.error) == 1 and "data folder not found" in at.error[0].value
    assert KEY_TRAIN_JOB not in at.session_state


def test_a_run_shows_its_own_settings_when_the_page_has_forgotten_its_widgets(registry):
    """Streamlit drops the state of widgets not drawn on a run (the user opened another page): coming back, the
    disabled widgets showed the defaults above the progress of a run with other settings."""
    at = train_page("paper-cnn", task=19, name="ui-away", epochs=300, batch=64)
    at.number_input(key="train_cap").set_value(200)
    at.number_input(key="train_seed").set_value(7)
    at.slider(key="train_val").set_value(0.2)
    at.checkbox(key="train_refit_paper-cnn").check().run()
    at.button(key="train_start").click().run()
    job = at.session_state[KEY_TRAIN_JOB]
    try:
        back = AppTest.from_file(str(PAGE), default_timeout=30)  # no widget state, the job kept
        back.session_state[KEY_TRAIN_JOB] = job
        back.run()
        assert not back.exception, back.exception
        assert job.running, job.error
        shown = {**shown_settings(back, "paper-cnn"), "epochs": back.number_input(key="train_epochs_paper-cnn").value,
                 "batch": back.number_input(key="train_batch_paper-cnn").value}  # fmt: skip
        assert shown == {"task": 19, "family": "paper-cnn", "epochs": 300, "batch": 64, "cap": 200, "seed": 7,
                         "validation": 0.2, "refit": True, "source": "Demo data"}  # fmt: skip
        assert back.text_input(key="train_name").placeholder == "ui-away"
        assert back.button(key="train_start").disabled and back.selectbox(key="train_family").disabled
    finally:
        job.cancel()
        assert job.wait(60)


def test_a_run_left_by_a_reloaded_page_is_listed_and_only_its_user_may_follow_and_cancel_it(registry, demo_dir,
                                                                                           monkeypatch):  # fmt: skip
    """Reloading or closing the tab mid-run left the run with no progress and no Cancel, and its name refused as
    "being trained right now" to the user who started it."""
    from dashboard.train_jobs import TrainRequest, live_jobs, start_training

    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    job = start_training(TrainRequest("adaboost", 19, {"n_estimators": 200_000}, registry, name="ui-orphan",
                                      data_dir=str(demo_dir), user="alice"))  # fmt: skip
    try:
        pages = {}
        for user in ("bob", "alice"):  # signed in, as in network mode
            at = AppTest.from_file(str(PAGE), default_timeout=30)
            at.session_state["authentication_status"], at.session_state["username"] = True, user
            pages[user] = at.run()
            assert not at.exception, at.exception
            labels = [p.proto.text for p in at.get("progress")]
            assert len(labels) == 1 and labels[0].startswith("ui-orphan (") and "started by alice" in labels[0], labels
        assert not [b for b in pages["bob"].button if b.key.endswith("ui-orphan")], "not bob's run to stop"
        at = pages["alice"]
        at.button(key="train_follow_ui-orphan").click().run()
        assert at.session_state[KEY_TRAIN_JOB] is job
        assert any(h.value == "Training ui-orphan" for h in at.subheader), "followed as a run of this page"
        at.button(key="train_cancel").click().run()
        assert job.wait(60) and job.state == "cancelled"
        poll(at, finished)
        assert any("ui-orphan" in i.value and "cancelled" in i.value for i in at.info)
        assert live_jobs(registry) == []
    finally:
        job.cancel()
        job.wait(60)
