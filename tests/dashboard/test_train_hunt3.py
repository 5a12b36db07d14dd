"""Train page, third hunt: what an analyst hit in the browser (real page in AppTest, real training workers).

- The model name typed for a run was lost once the analyst left the page mid-run (to look at *Models*, say) and
  came back: Streamlit forgets the state of widgets not drawn, and the name box came back empty (the run's name only
  its grey placeholder). After Cancel (or a failure), Start trained the same settings under an automatic name
  (cnn-6class-2026…) instead of the name typed; the same after "Follow it here" on a run started before a reload.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.loaders import KEY_TRAIN_JOB
from dashboard.train_jobs import TrainRequest, start_training
from tests.dashboard.test_train_page import PAGE, finished, poll, registry

_ = registry  # a fixture, used by name below
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def test_the_typed_name_survives_leaving_the_page_mid_run_and_is_trained_again(registry):
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("views/train.py").run()
    at.selectbox(key="train_task").set_value(6)
    at.selectbox(key="train_family").set_value("adaboost").run()
    at.number_input(key="train_trees_adaboost").set_value(2000)  # long enough to leave the page meanwhile
    at.text_input(key="train_name").input("mine").run()
    jobs = []
    try:
        at.button(key="train_start").click().run()
        jobs.append(at.session_state[KEY_TRAIN_JOB])
        assert jobs[0].running and jobs[0].request.name == "mine", jobs[0].error
        at.switch_page("views/models.py").run()  # away, then back while it trains
        at.switch_page("views/train.py").run()
        assert not at.exception, at.exception
        assert at.text_input(key="train_name").value == "mine"  # was: "" (the name only a grey placeholder)
        at.button(key="train_cancel").click().run()
        poll(at, finished, timeout=60)
        assert jobs[0].state == "cancelled"
        assert at.text_input(key="train_name").value == "mine"
        at.button(key="train_start").click().run()  # the same settings again
        assert not at.exception, at.exception
        jobs.append(at.session_state[KEY_TRAIN_JOB])
        assert jobs[1] is not jobs[0]
        assert jobs[1].request.name == "mine"  # was: an automatic name, cnn-… / adaboost-6class-2026…
    finally:
        for job in jobs:
            job.cancel()
            assert job.wait(60)
    assert not (registry / "mine").exists()


def test_a_followed_run_gives_its_typed_name_to_the_name_box(registry, demo_dir, monkeypatch):
    """A run started before a reload, followed here and cancelled: Start again trains that name, not an automatic
    one (Follow emptied the name box)."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    request = TrainRequest("adaboost", 6, {"n_estimators": 2000}, registry, name="followed", data_dir=str(demo_dir))
    jobs = [start_training(request)]
    try:
        at = AppTest.from_file(str(PAGE), default_timeout=30).run()
        at.button(key="train_follow_followed").click().run()
        assert not at.exception, at.exception
        assert at.session_state[KEY_TRAIN_JOB] is jobs[0]
        assert at.text_input(key="train_name").value == "followed"  # was: ""
        at.button(key="train_cancel").click().run()
        poll(at, finished, timeout=60)
        assert jobs[0].state == "cancelled"
        at.button(key="train_start").click().run()
        assert not at.exception, at.exception
        jobs.append(at.session_state[KEY_TRAIN_JOB])
        assert jobs[1] is not jobs[0] and jobs[1].request.name == "followed"  # was: adaboost-6class-2026…
    finally:
        for job in jobs:
            job.cancel()
            assert job.wait(60)
