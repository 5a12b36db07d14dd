"""Train page at full scale (a 1.3 M-row data folder, a 1 M-row upload), what an analyst hit:

- The time left stood still between progress reports: a random forest on 1.3 M rows reports a step of trees every
  10-20 s (minutes on the full 7 M rows), and the label said "about 1 min 06 s left" from 57 s to 1 min 09 s while the
  time spent went on. It now counts down from the last report, and says nothing once the time said has run out.
- A finished run loaded the saved model back into the server to show its outcome, which reads only its metadata:
  30 full-depth trees on 1.3 M rows are a 586 MB file, and the server grew to 2 GB, kept while the page held the
  run; the run also stayed at "saving" while the weights were read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.pipeline import TrainedModel
from core.training import TrainProgress
from dashboard.loaders import KEY_TRAIN_JOB
from dashboard.train_jobs import WorkerJob
from tests.core.test_progress import Clock
from tests.dashboard.test_train_page import finished, poll, registry, train_page

_ = registry  # a fixture, used by name below


def test_the_time_left_counts_down_between_progress_reports():
    clock = Clock(0.0)
    job = WorkerJob("eta", clock=clock)
    job._apply(TrainProgress("fit", 0.1, "fitting rf"))  # the follower thread applies the worker's reports so
    clock.now = 10.0
    job._apply(TrainProgress("fit", 0.2, "2/30 trees"))
    assert job.seconds_left == pytest.approx(80.0)  # 10 s for a tenth of the run, eight tenths to go
    assert "about 1 min 20 s left" in job.progress_text()
    clock.now = 40.0  # 30 s on and no report yet: the next step of trees takes its time
    assert job.seconds_left == pytest.approx(50.0)
    assert "about 50 s left" in job.progress_text()
    clock.now = 95.0  # past the time said: no time left is made up, until the next report gives a pace again
    assert job.seconds_left is None
    assert "left" not in job.progress_text()
    job._apply(TrainProgress("fit", 0.5, "15/30 trees"))
    assert job.seconds_left == pytest.approx(95.0 * 0.5 / 0.4)  # 95 s for four tenths since the first, half to go


def test_a_finished_run_is_shown_without_loading_the_model_into_the_server(registry, monkeypatch):
    """The page shows the saved run's scores, notes and absent classes from its metadata; the server never loads
    the weights (the worker saved them, and Analyze loads them when they are used)."""
    loads = []
    load = TrainedModel.load.__func__

    def recording_load(cls, folder):  # the real load, counted
        loads.append(Path(folder).name)
        return load(cls, folder)

    monkeypatch.setattr(TrainedModel, "load", classmethod(recording_load))
    at = train_page("rf", task=6, name="ui-big", trees=5)
    at.button(key="train_start").click().run()
    poll(at, finished, timeout=120)
    job = at.session_state[KEY_TRAIN_JOB]
    assert job.state == "done", job.error
    assert not at.exception, at.exception
    assert any(s.value.startswith("Saved **ui-big**") for s in at.success)
    assert {"Test set", "Validation"} <= {t.label for t in at.tabs}  # the reports, shown
    assert loads == [], f"the server loaded {loads}"
    assert job.metadata["family"] == "rf" and job.metadata["task"] == 6
