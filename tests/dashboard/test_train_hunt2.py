"""Train page, second hunt: what an analyst hit in the browser (real page in AppTest, real training workers).

- After Cancel the page said "Training of … was cancelled" and offered Start again, but Start with the same name was
  refused ("a model named … is being trained right now") for a while: the name was freed only after the run's audit
  event, which hashes every training file (seconds for a large data folder; as long as another process holds the
  audit log).
- While the model was being saved (long for a large forest) Cancel was still offered: clicked, it said "Stopping…"
  and then "Saved …", without a word on why the run was not cancelled.
- A run listed under "Training on this server now" (the user's own, started before a reload or in another tab)
  vanished from the list when it ended: saved, failed or cancelled, the page did not say.
- Once saved, the page said the model was listed on other pages, without a way there.
- At 800 pixels (the sidebar open) the Data and Model sections stood in two columns of about 200 pixels: the task
  ("6 classes: benign or one of"), the uploaded files' names, the refit box and the name's example were cut off.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.pipeline import registry_lock
from dashboard.loaders import KEY_TASK, KEY_TRAIN_JOB
from dashboard.train_jobs import TrainRequest, start_training
from tests.dashboard.test_train_page import PAGE, finished, poll, registry, train_page

_ = registry  # a fixture, used by name below
APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@contextmanager
def audit_log_held(folder: Path) -> Iterator[None]:
    """Hold this month's audit log as another writer does (the command line, another server) while it appends:
    a run's audit event waits meanwhile, as it waits while the run's training files are hashed."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"audit-{datetime.now(UTC):%Y-%m}.jsonl", os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def test_a_cancelled_runs_name_can_be_trained_again_as_soon_as_the_page_says_it_was_cancelled(
    registry, tmp_path, monkeypatch
):
    audit = tmp_path / "audit"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(audit))
    at = train_page("adaboost", task=6, name="again", trees=2000)
    at.button(key="train_start").click().run()
    first = at.session_state[KEY_TRAIN_JOB]
    assert first.running, first.error
    second = None
    try:
        with audit_log_held(audit):
            at.button(key="train_cancel").click().run()
            poll(at, finished, timeout=60)
            assert not at.exception, at.exception
            assert first.state == "cancelled"
            assert any("was cancelled" in i.value for i in at.info), [i.value for i in at.info]
            assert not at.button(key="train_start").disabled
            at.button(key="train_start").click().run()  # the same settings, the same name
            assert not at.exception, at.exception
            assert not at.error, [e.value for e in at.error]  # was: a model named 'again' is being trained right now
            second = at.session_state[KEY_TRAIN_JOB]
            assert second is not first and second.running and second.request.name == "again"
            second.cancel()
    finally:
        for job in (first, second):
            if job is not None:
                job.cancel()
                assert job.wait(60)
    events = [json.loads(line) for f in audit.glob("audit-*.jsonl") for line in f.read_text().splitlines()]
    assert [(e["action"], e["model"]) for e in events] == [("training cancelled", "again")] * 2
    assert not (registry / "again").exists()


def _widgets_in_columns(at: AppTest) -> list[str]:
    """Keys of the widgets drawn inside ``st.columns`` (which keep their share of the width however narrow)."""
    out = []

    def walk(node, in_column: bool) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child, in_column or getattr(node, "type", None) == "column")
        elif in_column and getattr(node, "key", None):
            out.append(node.key)

    walk(at._tree, False)
    return out


def _grid_of(at: AppTest, key: str):
    """The grid that holds the widget ``key`` (None when it is in none)."""
    found = []

    def walk(node, grid) -> None:
        if getattr(node, "type", None) == "grid_container":
            grid = node
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child, grid)
        elif getattr(node, "key", None) == key:
            found.append(grid)

    walk(at._tree, None)
    assert len(found) == 1, f"{key} drawn {len(found)} times"
    return found[0]


def test_at_800_pixels_the_train_page_cuts_off_no_label(registry):
    """800 pixels wide with the sidebar open leaves the page about 470 pixels: the sections go one above the other
    (a grid that wraps below two cells of 340 pixels), and the boxes with long text get a row of their own."""
    at = train_page("cnn-rf", task=6)
    at.radio(key="train_source").set_value("Upload CSV files").run()
    assert not at.exception, at.exception
    for key in ("train_source", "train_uploads", "train_task", "train_family", "train_cap"):
        grid = _grid_of(at, key)
        assert grid is not None, f"{key} is not in the sections' grid"
        assert grid.proto.wrap and 300 <= grid.proto.min_column_width_px <= 470 // 2 + 120, grid.proto
    # Only the number boxes stand in pairs; not the task, the uploads, the refit box or the name (with its example).
    assert set(_widgets_in_columns(at)) == {"train_epochs_cnn-rf", "train_batch_cnn-rf", "train_trees_cnn-rf",
                                            "train_leaf_cnn-rf", "train_cap", "train_seed"}  # fmt: skip
    task = at.selectbox(key="train_task")
    assert max(map(len, task.options)) <= 40, task.options  # cut off beyond about 300 pixels
    assert any("DDoS, DoS, Recon, MQTT and Spoofing" in c.value for c in at.caption), "the 6 families still named"


def test_while_the_model_is_saved_cancel_is_not_offered_and_a_late_cancel_is_explained(registry):
    """Saving holds the name's registry lock; held here (as the Models page holds it while it reads, or deletes
    that name), the worker waits in its save, as it does while a large forest is written."""
    at = AppTest.from_file(str(APP), default_timeout=30).run()  # the whole app: its pages can be linked to
    at.switch_page("views/train.py").run()
    at.selectbox(key="train_task").set_value(2)
    at.selectbox(key="train_family").set_value("rf").run()
    at.number_input(key="train_trees_rf").set_value(5)
    at.text_input(key="train_name").input("kept").run()
    with registry_lock(registry / "kept"):
        at.button(key="train_start").click().run()
        poll(at, lambda job: job.message == "saving" or not job.running, timeout=120)
        job = at.session_state[KEY_TRAIN_JOB]
        assert job.running, job.error
        assert not _has_button(at, "train_cancel"), "Cancel offered while the model is being saved"
        assert any("can no longer be cancelled" in c.value for c in at.caption), [c.value for c in at.caption]
        job.cancel()  # a click on Cancel drawn a moment before the save began
        at.run()
        assert any("Cancel came too late" in c.value for c in at.caption), [c.value for c in at.caption]
    poll(at, finished, timeout=120)
    assert not at.exception, at.exception
    assert job.state == "done", job.error
    assert (registry / "kept" / "metadata.json").is_file()
    assert any("Saved **kept**" in s.value for s in at.success)
    assert any("Cancel came too late" in i.value and "Models" in i.value for i in at.info), [i.value for i in at.info]
    # Where to go next: links to the pages that use the model, which open on its task.
    assert [link.proto.label for link in at.get("page_link")] == [
        "Analyze traffic", "Compare models", "Models"]  # fmt: skip
    assert at.session_state[KEY_TASK] == 2


def _has_button(at: AppTest, key: str) -> bool:
    return any(getattr(b, "key", None) == key for b in at.button)


def test_a_run_listed_from_before_a_reload_shows_its_outcome_when_it_ends(registry, demo_dir, monkeypatch):
    """Reloading the page (or a second tab) loses the session's run: the page lists it, with Follow and Cancel. The
    analyst watching that list saw the run reach the end and disappear."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    with registry_lock(registry / "before-reload"):  # the run waits in its save while the page first lists it
        job = start_training(TrainRequest("rf", 6, {"n_estimators": 5}, registry, name="before-reload",
                                          data_dir=str(demo_dir)))  # fmt: skip
        try:
            at = AppTest.from_file(str(PAGE), default_timeout=30).run()
            assert job.running, job.error
            assert "Training on this server now" in [h.value for h in at.subheader]
            assert KEY_TRAIN_JOB not in at.session_state  # not followed
        except BaseException:
            job.cancel()
            raise
    assert job.wait(120)
    at.run()  # as the list's timer does
    assert not at.exception, at.exception
    assert job.state == "done", job.error
    assert "Training on this server now" not in [h.value for h in at.subheader]
    assert any("Saved **before-reload**" in s.value for s in at.success), [s.value for s in at.success]
    assert at.session_state[KEY_TRAIN_JOB] is job
    assert at.metric, "its scores are shown"
