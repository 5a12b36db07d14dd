"""The dashboard's heavy results (parsed uploads, scorings, their tables) are bounded by the memory they hold, and a
long scoring says how far it has got.

Measured before (bench/RESULTS.md, "Full-size captures"): eight parsed uploads and sixteen scorings were kept
whatever their size, about 0.45 GB per million-row capture analysed (by extrapolation some 11 GB once eight
captures of three million rows had been); and scoring three million rows with the cnn showed only "Scoring 3,000,000 rows…" for 45 s.
Real files, real models, the real loaders.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import core.pipeline
from core import loading
from core.pipeline import TrainedModel
from dashboard import loaders


@pytest.fixture()
def empty_cache():
    loaders.HEAVY.clear()
    yield loaders.HEAVY
    loaders.HEAVY.clear()


def counting_reads(monkeypatch) -> list[tuple]:
    """Every parse the loaders really do (read_files called through)."""
    calls: list[tuple] = []
    real = loaders.read_files

    def counted(sources, *args, **kwargs):
        calls.append(tuple(map(str, sources)))
        return real(sources, *args, **kwargs)

    monkeypatch.setattr(loaders, "read_files", counted)
    return calls


def test_parsed_files_beyond_the_memory_budget_are_dropped_oldest_first_and_read_again(
    demo_dir, empty_cache, monkeypatch
):
    files = sorted((demo_dir / "test").glob("*.csv"))[:3]
    calls = counting_reads(monkeypatch)
    first = loaders.parse_paths([files[0]])
    assert loaders.parse_paths([files[0]]) is first and len(calls) == 1  # within the budget: parsed once
    size = loaders.nbytes(first)
    assert size >= first.X.nbytes > 0
    # A budget that holds one such file, not two ($IOMT_CACHE_MB counts whole MB; these files are smaller).
    monkeypatch.setattr(loaders, "cache_budget_bytes", lambda: size * 3 // 2)
    second = loaders.parse_paths([files[1]])
    assert len(calls) == 2 and loaders.HEAVY.total() <= max(loaders.cache_budget_bytes(), loaders.nbytes(second))
    assert loaders.parse_paths([files[1]]) is second and len(calls) == 2  # the newest is kept
    again = loaders.parse_paths([files[0]])  # the oldest was dropped: read again, the same rows
    assert len(calls) == 3, "a parsed file past the budget was kept"
    assert again is not first and np.array_equal(again.X, first.X, equal_nan=True)


def test_the_newest_result_is_kept_even_alone_over_the_budget(demo_dir, empty_cache, monkeypatch):
    monkeypatch.setattr(loaders, "cache_budget_bytes", lambda: 1024)
    files = sorted((demo_dir / "test").glob("*.csv"))
    calls = counting_reads(monkeypatch)
    data = loaders.parse_paths(files)
    assert loaders.nbytes(data) > 1024
    assert loaders.parse_paths(files) is data and len(calls) == 1
    assert len(loaders.HEAVY.keys()) == 1


def test_the_same_files_asked_for_by_two_sessions_at_once_are_parsed_once(demo_dir, empty_cache, monkeypatch):
    """Two analysts (or two tabs) comparing models on the same data folder at once each parsed it (and each scoring of
    the demo traffic ran twice): twice the time, and twice the memory until both were done. The second now waits for
    the first's result."""
    files = sorted((demo_dir / "test").glob("*.csv"))[:2]
    reading, release = threading.Event(), threading.Event()
    calls = counting_reads(monkeypatch)
    counted = loaders.read_files

    def slow(sources, *args, **kwargs):  # the first parse is still going on when the second session asks
        reading.set()
        release.wait(30)
        return counted(sources, *args, **kwargs)

    monkeypatch.setattr(loaders, "read_files", slow)
    got: dict[int, object] = {}
    sessions = [
        threading.Thread(target=lambda i=i: got.update({i: loaders.parse_paths(files)}), daemon=True) for i in (0, 1)
    ]  # daemons: a session waiting forever fails the test, not the end of the test run
    sessions[0].start()
    assert reading.wait(30)
    sessions[1].start()
    time.sleep(0.5)  # the second session has asked by now (it reads the same files if it does not wait)
    release.set()
    for session in sessions:
        session.join(60)
    assert len(calls) == 1, f"parsed {len(calls)} times"
    assert got[0] is got[1] and len(got[0]) > 0


def test_a_result_whose_work_failed_is_worked_out_by_the_session_waiting_for_it():
    """Work stopped or failed in one session (its page left mid-scoring, a damaged file) is done by the one that
    waited for it, not waited for forever, and nothing is kept of the failure."""
    cache, working, release = loaders.BudgetCache(), threading.Event(), threading.Event()
    failed: list[Exception] = []

    def failing():
        working.set()
        release.wait(30)
        raise loaders.CoreError("stopped")

    def first():
        try:
            cache.get("key", failing)
        except loaders.CoreError as exc:
            failed.append(exc)

    session = threading.Thread(target=first, daemon=True)  # a session waiting forever fails the test, not the run
    session.start()
    assert working.wait(30)
    got: list[object] = []
    waiting = threading.Thread(target=lambda: got.append(cache.get("key", lambda: "worked out here")), daemon=True)
    waiting.start()
    time.sleep(0.3)  # the second session asks while the first works
    release.set()
    session.join(30)
    waiting.join(30)
    assert got == ["worked out here"], "the waiting session never got its result"
    assert len(failed) == 1 and cache.keys() == ["key"]
    assert cache.get("key", lambda: "again") == "worked out here"


def test_a_budget_that_is_not_a_positive_number_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("IOMT_CACHE_MB", "lots")
    with pytest.raises(loaders.CoreError, match=r"\$IOMT_CACHE_MB must be a number"):
        loaders.cache_budget_bytes()
    made, cache = [], loaders.BudgetCache()
    for _ in range(2):  # said each time, before the work, and nothing kept
        with pytest.raises(loaders.CoreError, match=r"\$IOMT_CACHE_MB must be a number"):
            cache.get("key", lambda: made.append(1))
    assert made == [] and cache.keys() == []
    monkeypatch.setenv("IOMT_CACHE_MB", "300")
    assert loaders.cache_budget_bytes() == 300 << 20
    monkeypatch.delenv("IOMT_CACHE_MB")
    assert 512 << 20 <= loaders.cache_budget_bytes() <= 4 << 30


def test_scoring_reports_its_progress_row_by_row_chunk_and_the_same_predictions(
    registry_env, demo_dir, empty_cache, monkeypatch
):
    path = registry_env / "test-rf-6class"
    data = loading.read_files(sorted((demo_dir / "test").glob("*.csv")))
    whole = TrainedModel.load(path).predict(data)
    monkeypatch.setattr(core.pipeline, "PREDICT_CHUNK_ROWS", 500)
    seen: list[tuple[int, int]] = []
    pred, report = loaders.score(path, ("demo test", 1), data, lambda done, total: seen.append((done, total)))
    n = len(data)
    assert n > 1000
    assert seen == [(min(k, n), n) for k in range(500, n + 500, 500)], seen
    np.testing.assert_array_equal(pred.proba, whole.proba)
    assert report is not None and report.n_rows == n
    seen.clear()
    assert loaders.score(path, ("demo test", 1), data, lambda d, t: seen.append((d, t)))[0] is pred
    assert seen == []  # a cached scoring: nothing to follow


def test_reading_an_uploads_header_does_not_make_it_copy_all_its_bytes(demo_dir):
    """The page reads each upload's header on every rerun to offer the models of its release. Through getbuffer(), that
    made the upload (a BytesIO) keep a private copy of its bytes, 136 MB more for a 136 MB capture, and copy them again
    at each getvalue(), that is on every rerun (0.09 s each at that size)."""
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    payload = (demo_dir / "test" / "Benign_test.pcap.csv").read_bytes()
    upload = UploadedFile(
        UploadedFileRec(file_id="f1", name="Benign_test.pcap.csv", type="text/csv", data=payload), None
    )
    assert loaders.upload_layout([upload]).name == "v2"
    assert upload.getvalue() is payload, "the upload now holds a copy of its bytes"
    assert loaders.parse_uploads([upload]).files[0].rows > 0
    assert upload.getvalue() is payload
