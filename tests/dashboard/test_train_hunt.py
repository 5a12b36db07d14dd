"""Train feature: what an analyst hits when training from the browser (real jobs, real workers, real AppTest).

- The same capture uploaded twice was trained on twice (its rows on both sides of the validation split): the
  uploads are written to files for the worker, and two files of the same bytes passed the check that refuses
  the same upload twice.
- A data folder's training was audited with the wrong files: ``train/*.csv`` only, so the ``.CSV`` files it was
  trained on were left out and a hidden ``._X.csv`` (skipped by training) was listed.
- A worker killed by the system (out of memory) or out of memory itself said "unexpected problem ... try again":
  trying again fails again; it now says it ran out of memory and what to do (fewer rows per class).
- Follow showed the follower's own settings (task, family...) above another run's progress.
- A full disk while passing the uploads to the worker, or while saving the model, said "[Errno 28] No space left
  on device" without the folder, and "try again".
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import CoreError, DataError
from dashboard.loaders import KEY_TRAIN_JOB
from dashboard.train_jobs import TrainRequest, live_jobs, start_training
from tests.dashboard.test_train_page import PAGE, registry, shown_settings

_ = registry  # a fixture, used by name below


def _audit_events(folder: Path, action: str) -> list[dict]:
    text = "".join(f.read_text() for f in folder.glob("audit-*.jsonl"))
    return [e for e in map(json.loads, text.splitlines()) if e["action"] == action]


def _wait_for(job, words: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while words not in job.message and job.running:
        assert time.monotonic() < deadline, job.message
        time.sleep(0.05)
    assert job.running, job.error


def test_the_same_capture_uploaded_twice_is_refused_before_training(demo_dir, tmp_path):
    """Refused on the Analyze page and the command line ("its flows would be counted twice"), but accepted for
    training: the uploads became two temporary files, which are not the same path."""
    benign, arp = (demo_dir / "train" / f"{c}_train.pcap.csv" for c in ("Benign", "ARP_Spoofing"))
    payload = benign.read_bytes()
    for twice in ([(benign.name, payload), (benign.name, payload)],  # the same file added to the uploader twice
                  [(benign.name, payload), ("Benign_train.pcap.csv.csv", payload)]):  # fmt: skip
        request = TrainRequest("rf", 2, {"n_estimators": 5}, tmp_path / "models", name="twice",
                               uploads=[*twice, (arp.name, arp.read_bytes())])  # fmt: skip
        with pytest.raises(DataError, match="its flows would be counted twice") as caught:
            start_training(request)
        assert benign.name in str(caught.value) and caught.value.hint == "remove one of them"
    assert live_jobs(tmp_path / "models") == [] and not (tmp_path / "models" / "twice").exists()


def test_a_data_folder_run_audits_the_files_it_was_trained_on(demo_dir, tmp_path, monkeypatch):
    """The audit listed ``train/*.csv`` and ``test/*.csv``: files named ``.CSV`` (read by training) were missing,
    and macOS's hidden ``._X.csv`` (skipped by training) was listed as a training file."""
    audit = tmp_path / "audit"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(audit))
    data = tmp_path / "data"
    used = []
    for split in ("train", "test"):
        (data / split).mkdir(parents=True)
        for c in ("ARP_Spoofing", "Benign"):  # in the order training reads them
            used.append(data / split / f"{c}_{split}.pcap.CSV")
            used[-1].write_bytes((demo_dir / split / f"{c}_{split}.pcap.csv").read_bytes())
    (data / "train" / "._Benign_train.pcap.csv").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(data))
    job = start_training(TrainRequest("rf", 2, {"n_estimators": 5}, tmp_path / "models", name="upper",
                                      data_dir=str(data)))  # fmt: skip
    assert job.wait(120)
    assert job.state == "done", job.error
    assert job.metadata["data"]["train_files"] == [f.name for f in used[:2]]
    trained = _audit_events(audit, "trained")
    assert [f["name"] for f in trained[-1]["files"]] == [str(f) for f in used]
    assert [f["sha256"] for f in trained[-1]["files"]] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in used]


def test_a_worker_killed_by_the_system_says_it_ran_out_of_memory_and_what_to_do(demo_dir, tmp_path, monkeypatch):
    """Linux's out-of-memory killer ends the largest process, the training worker, with SIGKILL: the page said
    "unexpected problem: the worker process ended without a result (exit code -9)" and "try again", which
    fails again; the server's log it pointed to held no more."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    job = start_training(TrainRequest("adaboost", 19, {"n_estimators": 200_000}, tmp_path / "models", name="oom",
                                      data_dir=str(demo_dir)))  # fmt: skip
    _wait_for(job, "fitting adaboost")
    os.kill(job.worker_pid, signal.SIGKILL)  # as the kernel's out-of-memory killer does
    assert job.wait(60)
    assert job.state == "failed" and isinstance(job.error, CoreError), repr(job.error)
    assert "ran out of memory" in str(job.error) and "SIGKILL" in str(job.error)
    assert "Rows per class" in job.error.hint and "try again" not in job.error.hint
    assert not (tmp_path / "models" / "oom").exists()


def _allocate_too_much(progress, commit):
    """Run in the job worker: an array no machine holds (numpy raises MemoryError, as for a too large dataset)."""
    import numpy as np

    return np.ones(1 << 62, dtype=np.uint8)


def test_a_worker_out_of_memory_says_so_and_what_to_do():
    """A MemoryError in the worker (numpy's "Unable to allocate 20.5 GiB") reached the page as an unexpected
    problem with "try again; if it fails again, the server's log holds the details"."""
    import multiprocessing

    from dashboard.train_jobs import _serve

    ctx = multiprocessing.get_context("spawn")
    events, stop, saving = ctx.Queue(), ctx.Event(), ctx.Value("b", 0)
    worker = ctx.Process(target=_serve, args=(_allocate_too_much, (), events, stop, saving), daemon=True)
    worker.start()
    assert events.get(timeout=120)[0] == "started"
    kind, *rest = events.get(timeout=120)
    worker.join(30)
    assert kind == "failed", (kind, rest)
    error = rest[0]
    assert isinstance(error, CoreError) and "ran out of memory" in str(error) and "Unable to allocate" in str(error)
    assert "Rows per class" in error.hint


def test_following_a_run_shows_that_runs_settings(registry, demo_dir, monkeypatch):
    """The page's own widgets kept their values: after Follow, the disabled widgets said 6 classes and the first
    family above the progress of a 19-class AdaBoost run."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    job = start_training(TrainRequest("adaboost", 19, {"n_estimators": 1500}, registry, name="ui-followed",
                                      data_dir=str(demo_dir), max_rows_per_class=300, val_fraction=0.2, seed=5,
                                      refit=True))  # fmt: skip
    try:
        at = AppTest.from_file(str(PAGE), default_timeout=30).run()
        assert (at.selectbox(key="train_task").value, at.selectbox(key="train_family").value) == (6, "cnn")
        at.radio(key="train_source").set_value("A data folder").run()
        at.button(key="train_follow_ui-followed").click().run()
        assert not at.exception, at.exception
        assert at.session_state[KEY_TRAIN_JOB] is job and job.running, job.error
        assert (at.selectbox(key="train_task").value, at.selectbox(key="train_family").value) == (19, "adaboost")
        shown = {**shown_settings(at, "adaboost"), "trees": at.number_input(key="train_trees_adaboost").value}
        assert shown == {"source": "Demo data", "task": 19, "family": "adaboost", "trees": 1500, "cap": 300,
                         "validation": 0.2, "refit": True, "seed": 5}  # fmt: skip
        assert at.text_input(key="train_name").placeholder == "ui-followed"
        assert at.selectbox(key="train_family").disabled and at.button(key="train_start").disabled
    finally:
        job.cancel()
        assert job.wait(60)


def test_uploads_that_cannot_be_written_for_the_worker_say_where_and_what_to_do(demo_dir, tmp_path, monkeypatch):
    """The uploads are written to a folder for the worker ($IOMT_UPLOAD_DIR or the system's temporary folder, often
    small): a missing folder or a full disk was "unexpected problem: [Errno 28] No space left on device" (no
    folder named) with "try again"."""
    where = tmp_path / "scratch"  # an upload folder set by an administrator that does not exist (yet)
    monkeypatch.setenv("IOMT_UPLOAD_DIR", str(where))
    files = [demo_dir / "train" / f"{c}_train.pcap.csv" for c in ("Benign", "ARP_Spoofing")]
    job = start_training(TrainRequest("rf", 2, {"n_estimators": 5}, tmp_path / "models", name="no-room",
                                      uploads=[(f.name, f.read_bytes()) for f in files]))  # fmt: skip
    assert job.wait(60)
    assert job.state == "failed" and isinstance(job.error, CoreError), repr(job.error)
    assert str(where) in str(job.error) and "uploaded files" in str(job.error)
    assert "IOMT_UPLOAD_DIR" in job.error.hint
    assert not where.exists()


def test_a_model_that_cannot_be_written_says_where_and_that_nothing_was_saved(demo_dir, tmp_path, monkeypatch):
    """A full disk (here: a file size limit, which fails writes as a full disk does) at the save, after the whole
    fit, was "unexpected problem: OSError: [Errno 28] No space left on device" without the folder."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    models = tmp_path / "models"
    job = start_training(TrainRequest("rf", 19, {"n_estimators": 300}, models, name="big", data_dir=str(demo_dir)))
    _wait_for(job, "fitting")
    # Writes beyond 1 kB fail in the worker from now on (Python ignores SIGXFSZ: the write raises OSError).
    resource.prlimit(job.worker_pid, resource.RLIMIT_FSIZE, (1024, 1024))
    assert job.wait(120)
    assert job.state == "failed" and isinstance(job.error, CoreError), repr(job.error)
    assert str(models) in str(job.error) and "not saved" in str(job.error), str(job.error)
    assert "File too large" in str(job.error)
    assert "train again" in job.error.hint
    assert not (models / "big").exists() and not [p for p in models.iterdir() if p.name.startswith(".tmp-")]
