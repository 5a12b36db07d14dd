"""score-many on a real Dask LocalCluster of 2 worker processes: same rows as predict, faults, bad files."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest

from core import distributed as dist
from core.cli import main
from core.loading import display_names, read_files

#: Small partitions, so that every sample file is cut into several ranges.
PARTITION = 48 * 1024


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def model_path(demo_models_dir):
    return demo_models_dir / "test-rf-19class"


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
    summary = json.loads((out / "summary.json").read_text())
    assert [f["file"] for f in summary["failed"]] == ["broken.csv"]
    error = summary["failed"][0]["error"]
    assert f"row {bad_row}" in error and "'Rate'" in error and "oops" in error
    assert sorted(f["file"] for f in summary["files"]) == sorted(f.name for f in good)
    assert not (out / "predictions" / "file=broken.csv").exists()
    scored = _read_output(out)
    assert sorted(scored["file"].unique()) == sorted(f.name for f in good)
    assert np.array_equal(scored.groupby("file").size().to_numpy(), [f["rows"] for f in summary["files"]])
    # Results already there: refused unless --overwrite.
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
