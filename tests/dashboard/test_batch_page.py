"""Batch results page: a real score-many result folder (made on an in-process Dask cluster), through the router."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import distributed as dist
from dashboard.escape import md
from tests.dashboard.test_models_page import charts, values

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def result_dir(demo_dir, demo_models_dir, tmp_path_factory) -> Path:
    from distributed import Client, LocalCluster

    inputs = tmp_path_factory.mktemp("batch_in")
    for f in sorted((demo_dir / "test").glob("*.csv"))[:4]:
        shutil.copy(f, inputs / f.name)
    (inputs / "broken.csv").write_text("not,a,flow,file\n1,2,3,4\n")
    (inputs / "readme.txt").write_text("not read: a note says so")
    out = tmp_path_factory.mktemp("batch_out")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            dist.score_many(
                demo_models_dir / "test-rf-6class",
                [str(inputs)],
                out,
                client=client,
                overwrite=True,
                partition_bytes=32 * 1024,
                progress=False,
                echo=None,
            )
    return out


@pytest.fixture(autouse=True)
def roots(monkeypatch, tmp_path_factory):
    """Typed folders are confined to the data roots: allow the temporary folders of these tests."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path_factory.getbasetemp()))


def batch_page(path: str | None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/batch.py").run()
    if path is not None:
        at.text_input(key="batch_path").input(path).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_no_folder_yet_says_what_to_type():
    at = batch_page(None)
    assert "score-many" in at.info[0].value


def test_a_folder_outside_the_data_roots_is_refused(result_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))  # result_dir is no longer under a root
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/batch.py").run()
    at.text_input(key="batch_path").input(str(result_dir)).run()
    shown = " ".join(e.value for e in at.error)
    assert "outside the folders this dashboard may read" in shown.replace("\\", "")
    assert not at.metric  # nothing of the result folder was read


def test_a_folder_without_summary_is_refused_with_a_hint(tmp_path):
    at = batch_page(str(tmp_path))
    assert "not a score-many result folder" in at.error[0].value
    assert not at.metric


def test_summary_metrics_failed_file_and_per_file_charts(result_dir):
    summary = json.loads((result_dir / "summary.json").read_text())
    at = batch_page(str(result_dir))
    m = metrics(at)
    assert m["Rows"] == f"{summary['rows']:,}" and summary["rows"] > 0
    assert m["Files scored"] == str(summary["files_scored"]) and summary["files_scored"] >= 3
    assert m["Files failed"] == "1"
    assert m["Attack share"] == f"{100 * summary['attack_share']:.1f}%"
    assert m["Low-confidence rows"] == f"{summary['low_confidence']:,}"
    (failed,) = at.error  # one box for every failed file
    assert failed.value.count("broken.csv") == 1, f"the failed file's name said once: {failed.value}"
    assert "1 file could not be scored" in failed.value and "**broken.csv**, header:" in failed.value
    assert summary["notes"] and [c.value for c in at.caption if "readme.txt" in c.value] == [
        md(n) for n in summary["notes"]
    ], "the notes of the run (a file in the input folder not read) are shown, as the command prints them"
    assert summary["workers"] == 1 and any(" on 1 worker in " in m.value for m in at.markdown), "not '1 workers'"

    table = at.dataframe[0].value
    assert list(table["file"]) == [f["file"] for f in summary["files"]]
    assert (table["rows"] == table["rows on disk"]).all()

    # Rows on disk, counted from the Parquet files themselves.
    on_disk = pd.read_parquet(result_dir / "predictions").groupby("file", observed=True).size()
    assert dict(zip(table["file"], table["rows on disk"])) == on_disk.to_dict()

    figs = charts(at)
    bars = figs["batch_classes"]["data"]
    per_file = sum(values(b["x"]) for b in bars)
    assert list(per_file) == [f["rows"] for f in summary["files"]]
    assert {b["name"] for b in bars} == set(summary["predicted"])
    assert values(figs["batch_confidence"]["data"][0]["y"]).sum() == summary["rows"]

    one = summary["files"][1]
    at.selectbox(key="batch_confidence_file").set_value(one["file"]).run()
    hist = values(charts(at)["batch_confidence"]["data"][0]["y"])
    assert hist.sum() == one["rows"]
    probs = pd.read_parquet(result_dir / "predictions", filters=[("file", "==", one["file"])])["probability"]
    assert np.array_equal(hist, np.histogram(probs, bins=np.linspace(0, 1, 21))[0])


def test_many_failed_files_make_one_list_not_a_box_each():
    """300 failed files made 300 error boxes above the results, each saying its file's name twice."""
    from dashboard.views.batch import MAX_FAILED_SHOWN, failed_text

    failed = [{"file": f"cap{i:03}.csv", "error": f"cap{i:03}.csv: the file is empty", "hint": "export it again"}
              for i in range(300)]  # fmt: skip
    failed.append({"file": "odd.csv", "error": "a worker died while scoring it", "hint": None})
    text = failed_text(failed)
    lines = text.splitlines()
    assert lines[0] == "301 files could not be scored:"
    assert lines[1] == "- **cap000.csv**: the file is empty — export it again"
    assert len(lines) == 1 + MAX_FAILED_SHOWN + 1
    assert lines[-1] == f"- and {301 - MAX_FAILED_SHOWN} more files: `summary.json` lists them all"
    assert failed_text(failed[-1:]).splitlines()[1] == "- **odd.csv**: a worker died while scoring it"
