"""score-many on a real Dask LocalCluster of 2 worker processes: same rows as predict, faults, bad files."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from core import distributed as dist
from core.cli import main
from core.errors import CoreError, DataError
from core.loading import display_names, read_files

#: Small partitions, so that every sample file is cut into several ranges.
PARTITION = 48 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _predict_frame(model_path, files) -> pd.DataFrame:
    """The frame ``python -m core predict`` writes (core.scoring's output is checked against to_frame)."""
    from core.pipeline import TrainedModel

    model = TrainedModel.load(model_path)
    data = read_files([str(f) for f in files])
    return model.predict(data).to_frame(data, model.task)


def _read_output(out) -> pd.DataFrame:
    frame = pd.read_parquet(out / "predictions")
    frame["file"] = frame["file"].astype(str)
    return frame.sort_values(["file", "row"]).reset_index(drop=True)


def test_count_rows_matches_pyarrow_and_ranges_cover_the_body(tmp_path):
    body = b"1,2\n\n3,4\r\n\r\n5,6\n7,8"  # blank lines, CRLF, no final newline
    assert dist.count_rows(body) == pacsv.read_csv(io.BytesIO(b"a,b\n" + body)).num_rows == 4
    assert dist.count_rows(b"") == 0
    # lines of delimiters only (Excel's ',,' rows) are not rows either: read_csv leaves them out
    excel = b'1,2\r\n,\r\n3,4\n, \n"",\n\n5,6'
    assert dist._line_kinds(excel) == (3, 3)
    path = tmp_path / "x.csv"
    rows = [f"{i},{i * 2}.5" for i in range(5000)]
    path.write_bytes(("a,b\n" + "\n".join(rows) + "\n").encode())
    plan = dist.plan_file(str(path), 1024)
    assert plan.header == b"a,b\n" and len(plan.ranges) > 10
    raw = path.read_bytes()
    assert b"".join(raw[s:e] for s, e in plan.ranges) == raw[len(plan.header) :]
    assert all(raw[e - 1 : e] == b"\n" for _s, e in plan.ranges)
    assert sum(dist.count_range(str(path), s, e) for s, e in plan.ranges) == 5000


def test_display_names_keep_the_file_name_unless_two_inputs_share_it(tmp_path):
    a, b = tmp_path / "site1" / "flows.csv", tmp_path / "site2" / "flows.csv"
    c = tmp_path / "site1" / "other.csv"
    assert display_names([a, c]) == ["flows.csv", "other.csv"]
    assert display_names([a, b, c]) == ["site1/flows.csv", "site2/flows.csv", "site1/other.csv"]


def test_rows_identical_to_predict_and_model_loaded_once_per_worker(client, model_path, v2_sample, tmp_path):
    files = sorted((v2_sample / "test").glob("*.csv"))
    before = client.run(lambda: __import__("core.distributed").distributed.model_loads)
    summary = dist.score_many(
        model_path,
        [str(v2_sample / "test")],
        tmp_path / "out",
        client=client,
        partition_bytes=PARTITION,
        progress=False,
        echo=None,
    )
    after = client.run(lambda: __import__("core.distributed").distributed.model_loads)
    assert {w: after[w] - before.get(w, 0) for w in after} == dict.fromkeys(after, 1)
    assert summary["failed"] == [] and summary["files_scored"] == len(files)
    assert sum(f["partitions"] for f in summary["files"]) > 2 * len(files)  # files really were cut up

    expected = _predict_frame(model_path, files)
    got = _read_output(tmp_path / "out")[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)

    assert summary["rows"] == len(expected)
    assert summary["predicted"] == expected["predicted"].value_counts().to_dict()
    assert summary["low_confidence"] == int((expected["probability"] < dist.LOW_CONFIDENCE).sum())
    assert summary["attack_share"] == pytest.approx((expected["predicted"] != "Benign").mean(), abs=1e-6)
    per_file = expected.groupby("file").size().to_dict()
    assert {f["file"]: f["rows"] for f in summary["files"]} == per_file
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    stats = dist.prediction_statistics(tmp_path / "out")
    assert stats["rows_on_disk"] == per_file
    assert sum(map(sum, stats["confidence"].values())) == len(expected)


def test_killed_worker_loses_and_duplicates_no_row(client, model_path, v2_sample, tmp_path):
    files = sorted((v2_sample / "test").glob("*.csv"))[:8]
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    killed = {}

    def kill_one_busy_worker(done, total):
        if killed or done < 3:
            return
        processing = client.processing()
        pids = client.run(os.getpid)
        busy = [w for w, keys in processing.items() if keys and w in pids] or list(pids)
        killed.update(worker=busy[0], pid=pids[busy[0]], done=done, total=total)
        os.kill(pids[busy[0]], signal.SIGKILL)

    summary = dist.score_many(
        model_path,
        [str(tmp_path / "*.csv")],
        tmp_path / "out",
        client=client,
        partition_bytes=PARTITION // 2,
        progress=False,
        echo=None,
        on_progress=kill_one_busy_worker,
    )
    assert killed and killed["done"] < killed["total"], "the worker was not killed mid-run"
    assert summary["failed"] == []
    got = _read_output(tmp_path / "out")
    expected = _predict_frame(model_path, [tmp_path / f.name for f in files])
    assert not got.duplicated(["file", "row"]).any()
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_exact=True)
    assert summary["rows"] == len(expected)


def test_malformed_file_is_reported_and_the_others_scored(client, model_path, v2_sample, tmp_path, capsys):
    good = sorted((v2_sample / "test").glob("*.csv"))[:2]
    for f in good:
        shutil.copy(f, tmp_path / f.name)
    lines = good[0].read_bytes().split(b"\n")
    bad_row = 700  # far enough down to be in a later range: the row must still be the file's own
    cells = lines[bad_row].split(b",")
    cells[3] = b"oops"
    lines[bad_row] = b",".join(cells)
    (tmp_path / "broken.csv").write_bytes(b"\n".join(lines))
    out = tmp_path / "out"
    argv = [
        "score-many",
        "--model",
        str(model_path),
        str(tmp_path),
        "--out",
        str(out),
        "--quiet",
        "--scheduler",
        client.scheduler.address,
        "--partition-size",
        "48KB",
    ]
    assert main(argv) == 1, "some files failed: not a success"
    printed = capsys.readouterr().out
    assert "Dask dashboard: http" in printed and "FAILED broken.csv" in printed
    (failed_line,) = [line for line in printed.splitlines() if line.startswith("FAILED")]
    assert failed_line.count("broken.csv") == 1, f"the file's name said once: {failed_line}"
    summary = json.loads((out / "summary.json").read_text())
    assert [f["file"] for f in summary["failed"]] == ["broken.csv"]
    error = summary["failed"][0]["error"]
    # The row and the file's line, counted from the top of the file (said once: the range's own were replaced).
    assert (
        error
        == f"broken.csv, column 'Rate', row {bad_row} (line {bad_row + 1} of the file): non-numeric value 'oops' where a number is expected"
    )
    assert sorted(f["file"] for f in summary["files"]) == sorted(f.name for f in good)
    assert not (out / "predictions" / "file=broken.csv").exists()
    scored = _read_output(out)
    assert sorted(scored["file"].unique()) == sorted(f.name for f in good)
    assert np.array_equal(scored.groupby("file").size().to_numpy(), [f["rows"] for f in summary["files"]])
    # Results already there: refused unless --overwrite.
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_a_glob_that_matches_nothing_is_told_apart_from_an_empty_folder(model_path, tmp_path, capsys):
    pattern = str(tmp_path / "nonexist" / "*.csv")
    with pytest.raises(DataError) as caught:
        dist.expand_inputs([pattern])
    assert str(caught.value) == f"{pattern}: the pattern matched no file"
    assert "quote" in caught.value.hint and "folder must hold" not in caught.value.hint
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no CSV files here") as caught:
        dist.expand_inputs([tmp_path / "empty"])
    assert "folder must hold" in caught.value.hint
    assert main(["score-many", "--model", str(model_path), pattern, "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the pattern matched no file" in err and "no CSV files here" not in err


def _snapshot(out) -> dict:
    """Every file under ``out`` (hidden ones too) and its bytes."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_overwrite_keeps_earlier_results_when_the_new_run_fails(client, model_path, v2_sample, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    files = sorted((v2_sample / "test").glob("*.csv"))[:3]
    for f in files:
        shutil.copy(f, inputs / f.name)
    out = tmp_path / "out"
    run = dict(client=client, partition_bytes=PARTITION, progress=False, echo=None)
    first = dist.score_many(model_path, [str(inputs)], out, **run)
    assert first["files_scored"] == 3
    before = _snapshot(out)
    assert "summary.json" in before and sum(k.endswith(".parquet") for k in before) > 3

    # Interrupted mid-run (Ctrl-C while parts are being written), on a cluster of its own.
    def interrupt(done, total):
        assert done < total
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dist.score_many(model_path, [str(inputs)], out, workers=1, partition_bytes=PARTITION, progress=False,
                        echo=None, overwrite=True, on_progress=interrupt)  # fmt: skip
    assert _snapshot(out) == before  # no staging folder left either

    # Every file has gone bad: nothing scored, so nothing replaces the earlier results.
    for f in files:
        (inputs / f.name).write_text("not,a,capture\n1,2,3\n")
    with pytest.raises(CoreError, match=r"no file was scored, so the earlier results in .* were kept"):
        dist.score_many(model_path, [str(inputs)], out, overwrite=True, **run)
    assert _snapshot(out) == before

    # Without --overwrite: refused, and nothing touched.
    with pytest.raises(CoreError, match="already holds score-many results"):
        dist.score_many(model_path, [str(v2_sample / "test" / files[0].name)], out, **run)
    assert _snapshot(out) == before

    # A run that completes replaces them whole: no part of a file scored before is left.
    second = dist.score_many(model_path, [str(v2_sample / "test" / files[0].name)], out, overwrite=True, **run)
    assert sorted(p.name for p in out.iterdir()) == ["predictions", "summary.json"]
    assert second["out"] == str(out.resolve()) and second["predictions"] == str(out.resolve() / "predictions")
    assert json.loads((out / "summary.json").read_text()) == second
    assert [p.name for p in (out / "predictions").iterdir()] == [f"file={files[0].name}"]
    expected = _predict_frame(model_path, files[:1])
    pd.testing.assert_frame_equal(_read_output(out)[list(expected.columns)], expected, check_exact=True)
    assert second["rows"] == len(expected) == dist.prediction_statistics(out)["rows_on_disk"][files[0].name]


def test_random_forest_scored_on_workers_prints_no_joblib_warning(model_path, v2_sample, tmp_path):
    """The forest's n_jobs=-1 inside a (daemonic) Dask worker process made scikit-learn warn on stderr."""
    for f in sorted((v2_sample / "test").glob("*.csv"))[:2]:
        shutil.copy(f, tmp_path / f.name)
    argv = ["score-many", "--model", str(model_path), str(tmp_path / "*.csv"), "--out", str(tmp_path / "out"),
            "--workers", "1", "--quiet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "from 2 files scored" in done.stdout and "rows/s, 1 worker)" in done.stdout, done.stdout
    assert "Loky" not in done.stderr and "n_jobs" not in done.stderr and "Dask worker" not in done.stderr, done.stderr


def test_the_whole_file_row_limit_is_not_applied_to_each_range(model_path, v2_sample, tmp_path):
    """Each range was read with the whole-file limits: with IOMT_MAX_ROWS below a range's rows a file failed as
    'the file has N rows' (N the range's), and with small partitions a file over the limit passed. Ranges are
    bounded by the partition size, as predict's blocks are; the limits that protect memory are not theirs."""
    src = v2_sample / "test" / "Recon-VulScan_test.pcap.csv"
    shutil.copy(src, tmp_path / src.name)
    n = sum(1 for _ in src.open("rb")) - 1
    argv = ["score-many", "--model", str(model_path), str(tmp_path / src.name), "--out", str(tmp_path / "out"),
            "--workers", "1", "--quiet"]  # fmt: skip
    env = {**os.environ, "IOMT_MAX_ROWS": str(n // 3)}
    done = subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(_read_output(tmp_path / "out")) == n


def test_a_run_clears_the_staging_folder_of_a_killed_run(client, model_path, v2_sample, tmp_path):
    """A run killed outright (SIGKILL) cannot remove its hidden staging folder: it stayed in --out for good. The next
    run from this machine removes it; a live run's folder, and one from another machine, are left alone."""
    import socket

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    killed = out / f"{dist.STAGING_PREFIX}{host}-{dead.pid}-{'a' * 32}"
    alive = out / f"{dist.STAGING_PREFIX}{host}-{os.getpid()}-{'b' * 32}"
    elsewhere = out / f"{dist.STAGING_PREFIX}other-host-{dead.pid}-{'c' * 32}"
    for folder in (killed, alive, elsewhere):
        (folder / "predictions").mkdir(parents=True)
        (folder / "predictions" / "part.parquet").write_bytes(b"half written")
    one = sorted((v2_sample / "test").glob("*.csv"))[0]
    summary = dist.score_many(model_path, [str(one)], out, client=client, partition_bytes=PARTITION, progress=False,
                              echo=None)  # fmt: skip
    assert summary["files_scored"] == 1
    left = {p.name for p in out.iterdir()}
    assert left == {"summary.json", "predictions", alive.name, elsewhere.name}


def test_empty_rows_are_left_out_as_predict_leaves_them_out(client, model_path, v2_sample, tmp_path):
    """Lines of delimiters only were counted as rows but left out by the parse: the range failed ('parsed to N rows
    but M lines were counted'). They are left out, the rows numbered as predict numbers them, and said."""
    lines = (v2_sample / "test" / "MQTT-Malformed_Data_test.pcap.csv").read_bytes().split(b"\n")
    lines = [lines[0] + b",category,label", *(line + b",x,MQTT-Malformed_Data" for line in lines[1:-1]), b""]
    lines[5] = lines[5].rsplit(b",", 1)[0] + b","  # a blank label: scored, true class unknown
    empty = b"," * lines[0].count(b",")
    body = [lines[0], *lines[1:200], empty, empty, *lines[200:-1], empty]
    capture = tmp_path / "in" / "excel.csv"
    capture.parent.mkdir()
    capture.write_bytes(b"\n".join(body) + b"\n")
    out = tmp_path / "out"
    summary = dist.score_many(model_path, [str(capture)], out, client=client, partition_bytes=4096, progress=False,
                              echo=None)  # fmt: skip
    assert summary["files_scored"] == 1 and not summary["failed"]
    (entry,) = summary["files"]
    assert entry["partitions"] > 10 and entry["empty_rows"] == 3 and entry["rows"] == len(lines) - 2
    assert entry["blank_labels"] == 1 and entry["true"] == {"MQTT-Malformed_Data": len(lines) - 3}
    got = _read_output(out)
    want = _predict_frame(model_path, [capture])
    assert got["row"].tolist() == want["row"].tolist() == list(range(1, len(lines) - 1))
    assert got["predicted"].tolist() == want["predicted"].tolist()
    text = dist.format_summary(summary)
    assert "note: excel.csv: 3 empty rows (every cell blank) left out, like blank lines" in text
    assert "note: excel.csv: 1 row with a blank label: scored, true class unknown" in text
    # A label-like column not read is said, as predict says it
    assert summary["notes"] == ["excel.csv: column 'category' not read (the class comes from column 'label')"]
    assert f"note: {summary['notes'][0]}" in text


# --------------------------------------------------------------------------- the run is pinned to one model version


def _two_files(v2_sample) -> list[Path]:
    test = v2_sample / "test"
    return [test / "MQTT-Malformed_Data_test.pcap.csv", test / "Recon-VulScan_test.pcap.csv"]  # sorted, as the output


def _run_with(client, model, files, out, on_progress) -> dict:
    return dist.score_many(model, [str(f) for f in files], out, client=client, partition_bytes=8 * 1024,
                           progress=False, echo=None, on_progress=on_progress)  # fmt: skip


def _run_changing_the_model_midway(client, model, files, out, change) -> dict:
    """A run of ``files`` with ``model`` during which ``change(model)`` is called once, after the first range; checks
    that it came before the last range (mid-run) and that no file failed."""
    when = {}

    def once(done, total):
        if not when:
            change(model)
            when.update(done=done, total=total)

    summary = _run_with(client, model, files, out, once)
    assert when and when["done"] < when["total"], "not changed mid-run"
    assert summary["failed"] == []
    return summary


def test_a_range_is_scored_by_the_model_version_the_run_started_with(model_path, demo_models_dir, v2_sample, tmp_path):
    """Each range reloaded the model when its metadata.json's modification time changed: a model replaced mid-run
    (same name, another model) scored the rest of the run, mixing 2-class and 19-class labels in one output, and a
    model deleted mid-run failed every remaining range with a raw FileNotFoundError. A range is scored by the version
    pinned at the start: from memory when the worker holds it, else a clean error; a later run loads the new one."""
    from core.pipeline import delete_model, read_metadata

    rep = tmp_path / "models" / "rep"
    shutil.copytree(model_path, rep)
    two_class = demo_models_dir / "test-rf-2class"
    pinned = dist.model_fingerprint(rep)
    src = v2_sample / "test" / "Recon-VulScan_test.pcap.csv"
    plan = dist.plan_file(str(src), 4096)
    assert len(plan.ranges) >= 5
    counts = [dist.count_range(plan.path, s, e) for s, e in plan.ranges]
    out = tmp_path / "out"
    (out / "predictions").mkdir(parents=True)

    def score(k: int, fingerprint: str = pinned) -> dict:
        s, e = plan.ranges[k]
        return dist.score_range(str(rep), plan.path, src.name, plan.header, s, e, k, counts, str(out),
                                dist.LOW_CONFIDENCE, fingerprint)  # fmt: skip

    dist._forget_models()
    try:
        loads = dist.model_loads
        assert "error" not in score(0) and dist.model_loads == loads + 1
        classes = set(read_metadata(model_path)["classes"])
        # Replaced by a 2-class model of the same name: this process holds the pinned one and keeps scoring with it.
        shutil.rmtree(rep)
        shutil.copytree(two_class, rep)
        assert dist.model_fingerprint(rep) != pinned
        second = score(1)
        assert "error" not in second and set(second["predicted"]) <= classes
        assert dist.model_loads == loads + 1, "reloaded mid-run"
        # A worker that must load it (one restarted after a crash) finds another version: a clean error, no part.
        dist._forget_models()
        third = score(2)
        assert third == {
            "index": 2,
            "error": third["error"],
            "hint": "run score-many again",
        }
        assert third["error"].startswith("the model 'rep' was replaced (or deleted) during the run: ")
        assert not dist.part_path(out, src.name, 2).exists()
        # Deleted: the same clean error, never a FileNotFoundError.
        delete_model(rep)
        fourth = score(3)
        assert fourth["error"].startswith("the model 'rep' was replaced (or deleted) during the run: ")
        assert fourth["hint"] == "run score-many again"
        # The next run pins the model as it is then: a long-lived worker picks up a model changed between runs.
        shutil.copytree(two_class, rep)
        fifth = score(4, dist.model_fingerprint(rep))
        assert "error" not in fifth and set(fifth["predicted"]) <= set(read_metadata(two_class)["classes"])
        assert dist.model_loads == loads + 2
    finally:
        dist._forget_models()


def test_a_model_replaced_mid_run_is_not_mixed_into_the_results(client, model_path, demo_models_dir, v2_sample,
                                                                tmp_path):  # fmt: skip
    """QA: a 19-class model replaced by a 2-class one of the same name mid-run; the run 'succeeded' as a 2-class run
    with a third of the rows counted and 'Attack' mixed with 19-class labels in the Parquet output. The workers hold
    the version pinned at the start (loaded when the run began) and score every range with it."""
    rep = tmp_path / "models" / "rep"
    shutil.copytree(model_path, rep)
    files = _two_files(v2_sample)

    def replace(folder):
        shutil.rmtree(folder)
        shutil.copytree(demo_models_dir / "test-rf-2class", folder)

    summary = _run_changing_the_model_midway(client, rep, files, tmp_path / "out", replace)
    expected = _predict_frame(model_path, files)
    got = _read_output(tmp_path / "out")[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert summary["model"]["task"] == 19 and summary["alarm_threshold"] is None
    assert summary["predicted"] == expected["predicted"].value_counts().to_dict()
    assert summary["rows"] == len(expected)


def test_a_model_folder_without_its_weights_is_said_incomplete_not_changing(model_path, tmp_path):
    """pin_model took the missing weights file for a folder changing under it: 'kept changing while score-many read
    it', where predict says what is wrong."""
    from core.errors import ModelFormatError

    copy = tmp_path / "incomplete"
    shutil.copytree(model_path, copy)
    weights = [p for p in copy.iterdir() if p.name not in ("metadata.json", "inference.npz")]
    for p in weights:
        p.unlink() if p.is_file() else shutil.rmtree(p)
    with pytest.raises(ModelFormatError, match="model file missing") as err:
        dist.pin_model(copy)
    assert "incomplete" in err.value.hint


def test_a_model_deleted_mid_run_is_still_scored_from_the_workers_memory(client, model_path, v2_sample, tmp_path):
    """QA: a model deleted mid-run failed every remaining file with a raw FileNotFoundError (and a flood of Dask
    'Compute Failed' tracebacks), although the workers held it in memory."""
    from core.pipeline import delete_model

    rep = tmp_path / "models" / "rep"
    shutil.copytree(model_path, rep)
    files = _two_files(v2_sample)
    summary = _run_changing_the_model_midway(client, rep, files, tmp_path / "out", delete_model)
    assert not rep.exists() and summary["files_scored"] == 2
    expected = _predict_frame(model_path, files)
    pd.testing.assert_frame_equal(_read_output(tmp_path / "out")[list(expected.columns)], expected, check_exact=True)


def test_the_alarm_threshold_is_the_one_at_the_start_and_is_recorded(client, demo_models_dir, v2_sample, tmp_path):
    """QA: a threshold changed mid-run (python -m core threshold NAME --set 0.999) scored the first files at one
    threshold and the rest at the other, and summary.json did not say which threshold was used."""
    from core.threshold import save_threshold

    two = tmp_path / "models" / "two"
    shutil.copytree(demo_models_dir / "test-rf-2class", two)
    save_threshold(two, 0.9)
    files = _two_files(v2_sample)
    expected = _predict_frame(two, files)
    out = tmp_path / "out"
    summary = _run_changing_the_model_midway(client, two, files, out, lambda folder: save_threshold(folder, 0.999))
    pd.testing.assert_frame_equal(_read_output(out)[list(expected.columns)], expected, check_exact=True)
    assert summary["alarm_threshold"] == 0.9
    assert json.loads((out / "summary.json").read_text())["alarm_threshold"] == 0.9
    assert "alarm threshold 0.90 (saved with the model)" in dist.format_summary(summary)
    assert "alarm threshold" not in dist.format_summary({**summary, "alarm_threshold": None})


def test_a_file_whose_name_is_not_utf8_is_scored_by_score_many(model_path, v2_sample, tmp_path):
    """``caf\\xe9.csv`` (a Latin-1 name) crashed score-many in quote() with a traceback; it now goes by
    ``caf\\xe9.csv``, its partition and summary included."""
    import json

    src = sorted((v2_sample / "test").glob("*.csv"))[0]
    try:
        path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.csv"))
        shutil.copy(src, path)
    except OSError as exc:  # a file system that takes UTF-8 names only
        pytest.skip(f"this file system does not take a Latin-1 file name: {exc}")
    argv = ["score-many", "--model", str(model_path), str(path), "--out", str(tmp_path / "out"), "--workers", "1",
            "--quiet"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "core", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [f["file"] for f in summary["files"]] == ["caf\\xe9.csv"]
    assert _read_output(tmp_path / "out")["file"].unique().tolist() == ["caf\\xe9.csv"]
