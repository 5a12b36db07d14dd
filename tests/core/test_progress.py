"""Time left in a training job's progress reports (core.training.TimeLeft) and how durations are written."""

import pytest

from core.training import TimeLeft, TrainProgress, describe_seconds


class Clock:
    """A clock the test moves by hand (``clock.now``), starting at ``start`` seconds."""

    def __init__(self, start: float = 100.0):
        self.now = start

    def __call__(self):
        return self.now


def test_time_left_goes_by_the_pace_since_fitting_began():
    clock = Clock()
    left = TimeLeft(clock)
    assert left.update(TrainProgress("load", 0.05, "read a file")) is None, "no pace before fitting"
    clock.now += 60  # a slow load must not count: the fit's own pace decides
    assert left.update(TrainProgress("preprocess", 0.1, "fitting preprocessing")) is None
    assert left.update(TrainProgress("batch", 0.1, "epoch 1/4, batch 1/100")) is None, "the clock starts here"
    clock.now += 0.5
    assert left.update(TrainProgress("batch", 0.12, "epoch 1/4, batch 10/100")) is None, "under a second: no pace yet"
    clock.now += 19.5
    # 0.2 of the job in 20 s since the first batch: 0.7 left takes 70 s
    assert left.update(TrainProgress("epoch", 0.3, "epoch 1/4")) == pytest.approx(70.0)
    clock.now += 10  # time passing without progress slows the pace: the estimate grows
    assert left.update(TrainProgress("evaluate", 0.3, "evaluating")) == pytest.approx(0.7 * 30 / 0.2)
    clock.now += 10
    # the bar full while the model is saved: no estimate ('about 0 s left' sat there for the whole save)
    assert left.update(TrainProgress("save", 1.0, "saving")) is None
    assert left.update(TrainProgress("done", 1.0, "training finished")) is None


def test_a_forest_fit_sets_the_pace_too():
    clock = Clock()
    left = TimeLeft(clock)
    left.update(TrainProgress("fit", 0.1, "fitting rf"))
    clock.now += 30
    assert left.update(TrainProgress("fit", 0.5, "fitted")) == pytest.approx(30 * 0.5 / 0.4)


def test_no_time_left_while_a_fit_that_counts_no_steps_runs():
    """In a benchmark, a forest that stopped at once and then logistic regression on millions of rows: the pace of
    the first job would make the second's ten minutes look like one, so no time left is given while it runs."""
    from core.models import UNPACED

    clock = Clock()
    left = TimeLeft(clock)
    left.update(TrainProgress("fit", 0.05, "[1/2] rf: fitting rf"))
    clock.now += 60
    at_lr = left.update(TrainProgress("preprocess", 0.5, "[2/2] lr: fitting preprocessing"))
    assert at_lr == pytest.approx(60 * 0.5 / 0.45), "the pace of the first job, until lr's fit begins"
    clock.now += 45
    assert left.update(TrainProgress("fit", 0.55, "[2/2] lr: fitting lr: 45 s so far", {UNPACED: True})) is None
    clock.now += 600
    assert left.update(TrainProgress("evaluate", 0.9, "[2/2] lr: evaluating")) == pytest.approx(705 * 0.1 / 0.85)


def test_durations_are_written_as_people_read_them():
    assert [describe_seconds(s) for s in (0, 0.4, 44.6, 60, 185, 599, 600, 3599, 3600, 7530)] == [
        "0 s", "0 s", "45 s", "1 min 00 s", "3 min 05 s", "9 min 59 s", "10 min", "59 min", "1 h 00 min", "2 h 05 min",
    ]  # fmt: skip


def test_a_network_says_it_starts_tensorflow_before_its_first_batch():
    """For 5 to 15 s while TensorFlow was imported and the network built, the page still said "fitting
    preprocessing on N rows"; the time left must still be paced from the first batch, not from that wait."""
    from core.training import train_model
    from tests.core.test_models import blobs

    events: list[TrainProgress] = []
    train_model("dnn", 2, blobs(n_per_class=30), params={"epochs": 1}, progress=events.append)
    messages = [e.message for e in events]
    build = messages.index("starting TensorFlow and building the network")
    first_batch = next(i for i, e in enumerate(events) if e.stage in ("batch", "epoch"))
    assert messages[build - 1].startswith("fitting preprocessing") and build < first_batch
    assert events[build].stage not in TimeLeft.FIT_STAGES
