"""The Train page's jobs run in a worker process: real training, real processes, no Streamlit needed.

- The dashboard's server process never imports Keras or TensorFlow to train (so Streamlit's
  ``keras.backend.clear_session()`` after every script run, a ``gc.collect()`` holding the GIL, has nothing
  to clear, and the server's memory does not grow with each network trained).
- Cancel stops a run at once, even in the middle of a fit that reports no progress (AdaBoost's).
- A bug in the worker reaches the page as a message and the server's log as a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

from core.pipeline import TrainingLock, read_metadata
from core.taxonomy import classes_for_task
from dashboard.train_jobs import TrainRequest, start_training
from tests.conftest import ROOT


def test_training_runs_in_a_worker_and_the_server_never_imports_keras(demo_dir, tmp_path):
    """A fresh interpreter standing in for the server trains a network through a job."""
    script = f"""
import json, os, sys
from dashboard.train_jobs import TrainRequest, start_training
job = start_training(TrainRequest("paper-cnn", 6, {{"epochs": 1, "batch_size": 256}}, {str(tmp_path / "m")!r},
                                  name="net", data_dir={str(demo_dir)!r}))
assert job.wait(300)
print(json.dumps({{"state": job.state, "error": str(job.error), "worker": job.worker_pid, "me": os.getpid(),
                  "loss": job.history.get("loss"), "keras": "keras" in sys.modules,
                  "tensorflow": "tensorflow" in sys.modules, "classes": job.metadata["classes"]}}))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "IOMT_DATA_ROOTS": str(demo_dir)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["state"] == "done", out["error"]
    assert out["worker"] not in (None, out["me"])
    assert len(out["loss"]) == 1  # the worker's epoch reached the job's curves
    assert out["classes"] == list(classes_for_task(6))
    assert not out["keras"] and not out["tensorflow"], "the server process imported Keras/TensorFlow"
    assert read_metadata(tmp_path / "m" / "net")["family"] == "paper-cnn"


def test_a_worker_started_from_the_app_does_not_run_the_app_again(tmp_path):
    """Streamlit runs dashboard/app.py as ``__main__``, and a ``spawn`` worker imports the main module again: the
    worker used to import Streamlit and draw the whole app in bare mode (ten "missing ScriptRunContext" warnings
    in the server's log, half a second more per start)."""
    probe = tmp_path / "probe.py"
    probe.write_text("import sys\nprint('streamlit imported' if 'streamlit' in sys.modules else 'clean')\n")
    script = f"""
import multiprocessing, runpy, sys, types
app = types.ModuleType("__main__")  # as Streamlit's script runner leaves it
app.__file__ = {str(ROOT / "dashboard" / "app.py")!r}
sys.modules["__main__"] = app
worker = multiprocessing.get_context("spawn").Process(target=runpy.run_path, args=({str(probe)!r},))
worker.start()
worker.join()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "clean" and "ScriptRunContext" not in done.stderr, done.stdout + done.stderr


def test_cancel_stops_a_run_in_the_middle_of_a_fit_without_progress_reports(demo_dir, tmp_path, monkeypatch):
    """AdaBoost reports nothing while it fits: cancel ends the worker, not the next report (with the run in a
    thread of the server, as before, the click waited for the whole fit)."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    models = tmp_path / "models"
    request = TrainRequest("adaboost", 19, {"n_estimators": 200_000}, models, name="long-fit",
                           data_dir=str(demo_dir))  # fmt: skip
    job = start_training(request)
    deadline = time.monotonic() + 120
    while "fitting adaboost" not in job.message and job.running:
        assert time.monotonic() < deadline, job.message
        time.sleep(0.05)
    time.sleep(1.0)  # well into the fit
    assert job.running, job.error
    pid = job.worker_pid
    asked = time.monotonic()
    job.cancel()
    assert job.wait(60)
    stopped_after = time.monotonic() - asked
    assert job.state == "cancelled" and job.metadata is None
    assert stopped_after < 10, stopped_after  # 200,000 boosting rounds take many minutes
    assert not models.exists() or not any(models.iterdir())
    assert not _alive(pid)


def test_a_bug_in_the_worker_is_reported_and_logged(demo_dir, tmp_path, monkeypatch, caplog):
    """Not bad input but a failure inside training (a parameter value scikit-learn cannot use): the page gets
    the message, the server's log the worker's traceback, and nothing is saved."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    job = start_training(TrainRequest("rf", 6, {"n_estimators": 3, "max_depth": "deep"}, tmp_path / "models",
                                      name="broken", data_dir=str(demo_dir)))  # fmt: skip
    assert job.wait(120)
    assert job.state == "failed" and isinstance(job.error, RuntimeError)
    assert str(job.error) == "ValueError: invalid literal for int() with base 10: 'deep'"
    assert "Traceback" in caplog.text and "train-broken failed" in caplog.text
    assert not (tmp_path / "models" / "broken").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its parent (this test process, via multiprocessing) has not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_uploads_reach_the_worker_as_files_under_their_own_names_and_are_removed(demo_dir, tmp_path, monkeypatch):
    """Uploaded bytes are written to a private folder for the worker (not pickled to it), keep their names
    (which give the class and name the file in errors), and the folder is removed when the run ends."""
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setenv("IOMT_UPLOAD_DIR", str(spill))
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    files = sorted((demo_dir / "train").glob("*.csv"))[:3] + sorted((demo_dir / "test").glob("*.csv"))[:3]
    uploads = [(f.name, f.read_bytes()) for f in files]
    job = start_training(TrainRequest("rf", 19, {"n_estimators": 5}, tmp_path / "models", name="from-uploads",
                                      uploads=uploads))  # fmt: skip
    assert job.wait(120)
    assert job.state == "done", job.error
    assert [n for n, _ in job.request.uploads] == [f.name for f in files]
    assert all(isinstance(p, str) for _, p in job.request.uploads), "the job no longer holds the bytes"
    meta = read_metadata(tmp_path / "models" / "from-uploads")
    assert meta["data"]["train_files"] == [f.name for f in files[:3]]
    assert meta["data"]["test_rows"] == sum(f.read_bytes().count(b"\n") - 1 for f in files[3:])
    assert not any(spill.iterdir()), "the uploads' folder is removed at the end"
    log_text = "".join(f.read_text() for f in (tmp_path / "audit").glob("audit-*.jsonl"))
    trained = [e for e in map(json.loads, log_text.splitlines()) if e["action"] == "trained"]
    assert [f["name"] for f in trained[-1]["files"]] == [f.name for f in files]
    assert [f["sha256"] for f in trained[-1]["files"]] == [hashlib.sha256(f.read_bytes()).hexdigest() for f in files], (
        "the audit log hashed each upload before its copy was removed"
    )

    bad = [("capture-2026.csv", b"a,b,c\n1,2,3\n")]
    job = start_training(TrainRequest("rf", 19, {"n_estimators": 5}, tmp_path / "models", name="bad", uploads=bad))
    assert job.wait(120)
    assert job.state == "failed"
    assert "capture-2026.csv" in str(job.error), "the error names the upload, not the temporary file"
    assert not any(spill.iterdir())
    log_text = "".join(f.read_text() for f in (tmp_path / "audit").glob("audit-*.jsonl"))
    failed = [e for e in map(json.loads, log_text.splitlines()) if e["action"] == "training failed"]
    assert [(e["model"], e["files"][0]["name"]) for e in failed] == [("bad", "capture-2026.csv")], (
        "a failed run is audited as done and cancelled ones are"
    )
    assert failed[0]["details"]["error"].startswith(str(job.error)) and job.error.hint in failed[0]["details"]["error"]


def test_an_automatic_name_is_never_refused_as_taken(demo_dir, tmp_path, monkeypatch):
    """Two sessions starting the same family and task in the same second got the same automatic name, and the
    second was told to choose another name, though it had chosen none: the next free one is taken instead."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(demo_dir))
    models = tmp_path / "models"
    models.mkdir()
    now = datetime.now()
    names = [f"rf-6class-{now + timedelta(seconds=s):%Y%m%d-%H%M%S}" for s in range(3)]  # whichever second it is
    locks = [TrainingLock(models, name).acquire() for name in names]  # being trained by other sessions
    for name in names:
        (models / f"{name}-2").mkdir()  # and the next name saved by one
    try:
        request = TrainRequest("rf", 6, {"n_estimators": 5}, models, data_dir=str(demo_dir), max_rows_per_class=50)
        jobs = [start_training(request), start_training(TrainRequest(**{**vars(request), "name": ""}))]
        assert all(job.wait(120) for job in jobs)
    finally:
        for lock in locks:
            lock.release()
    assert [job.state for job in jobs] == ["done", "done"], [job.error for job in jobs]
    first, second = (job.request.name for job in jobs)
    assert first in {f"{name}-3" for name in names}, first
    assert second in {f"{name}-{n}" for name in names for n in (3, 4)} - {first}, second
    assert read_metadata(models / first)["family"] == read_metadata(models / second)["family"] == "rf"


def test_a_test_upload_of_the_other_release_says_so_without_a_model_hint(demo_dir, v1_sample, tmp_path):
    """The hint was "use a model trained on the same release": on the Train page there is no model yet."""
    train = [demo_dir / "train" / f"{c}_train.pcap.csv" for c in ("Benign", "ARP_Spoofing")]  # v2
    test = v1_sample / "test" / "ARP_Spoofing_test.pcap.csv"
    uploads = [(f.name, f.read_bytes()) for f in [*train, test]]
    job = start_training(TrainRequest("rf", 6, {"n_estimators": 5}, tmp_path / "models", name="mixed",
                                      uploads=uploads))  # fmt: skip
    assert job.wait(120)
    assert job.state == "failed"
    assert str(job.error) == (
        "ARP_Spoofing_test.pcap.csv: this test file is of the v1 release (45 features) but the training files are "
        "of the v2 release (39 features)"
    )
    assert "one release only" in job.error.hint and "model" not in job.error.hint
    assert not (tmp_path / "models" / "mixed").exists()


def _joblib_cores(progress, commit):
    """Run in the job worker: the cores joblib gives ``n_jobs=-1`` there, and any warning it raises about it."""
    import warnings

    from joblib import effective_n_jobs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cores = effective_n_jobs(-1)
    return cores, [str(w.message) for w in caught]


def test_joblib_in_the_job_worker_counts_every_core_without_a_warning():
    """The worker is a daemonic process: joblib's default backend cannot start processes there, so n_jobs=-1 was
    answered with 1 and a 'Loky-backed parallel loops' warning in the server log on every forest trained."""
    import multiprocessing

    from dashboard.train_jobs import _serve

    ctx = multiprocessing.get_context("spawn")
    events, stop, saving = ctx.Queue(), ctx.Event(), ctx.Value("i", 0)
    worker = ctx.Process(target=_serve, args=(_joblib_cores, (), events, stop, saving), daemon=True)
    worker.start()
    assert events.get(timeout=120)[0] == "started"
    kind, (cores, caught) = events.get(timeout=120)
    worker.join(30)
    assert kind == "done" and not caught, caught
    assert cores == os.cpu_count() or cores == len(os.sched_getaffinity(0))


def test_folder_summary_counts_test_files_not_the_folder(v2_sample, tmp_path):
    """An empty test/ folder was summed up as "no test/ folder" (and training then stopped on it)."""
    from dashboard.train_jobs import folder_summary

    (tmp_path / "train").symlink_to(v2_sample / "train")
    (tmp_path / "test").mkdir()
    assert "no test files (only validation scores will be shown)" in folder_summary(tmp_path)
    (tmp_path / "test").rmdir()
    (tmp_path / "test").symlink_to(v2_sample / "test")
    assert f"{len(list((v2_sample / 'test').glob('*.csv')))} test files" in folder_summary(tmp_path)
    (tmp_path / "test").unlink()
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "Benign_test.pcap.CSV").write_bytes((v2_sample / "test" / "Benign_test.pcap.csv").read_bytes())
    (tmp_path / "test" / "README.txt").write_text("notes")
    summary = folder_summary(tmp_path)
    assert "1 test file. " in summary and "Note: left out of test/: README.txt (not CSV files" in summary
