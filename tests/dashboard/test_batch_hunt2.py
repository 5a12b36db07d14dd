"""Batch results page, second hunt, on result folders as score-many leaves them: each test failed before its fix.

Found: a run of 1,500 tiny files (1 row each) drew a chart of predicted classes 42,000 pixels tall, with the
confidence chart under it out of reach, and said "Files scored 1500" beside "Rows 1,500"; a folder a first run was
still writing into was called "not a score-many result folder (no summary.json)", with the advice to run score-many
first, while that very run was scoring; a run stopped before it finished left the same wrong advice.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import distributed as dist
from dashboard.escape import md
from tests.dashboard.test_batch_hunt import TWO_FILES, batch_page, make_result, roots  # noqa: F401 (fixture)
from tests.dashboard.test_models_page import charts, values


def many_files(out: Path, n: int) -> dict:
    """A result folder of ``n`` one-row files, as score-many writes it for a folder of tiny captures: every fifth
    file's row predicted an attack (``cap-0000.csv``, ``cap-0005.csv``, ...)."""
    summary = make_result(out, {"cap-0000.csv": [("Attack", 0.9)]})
    files = []
    for i in range(n):
        name, cls = f"cap-{i:04d}.csv", "Attack" if i % 5 == 0 else "Benign"
        part = out / "predictions" / f"file={name}" / "part-00000.parquet"
        part.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"predicted": [cls], "probability": [0.9]}), part)
        files.append({"file": name, "path": f"/captures/{name}", "bytes": 1, "partitions": 1, "rows": 1,
                      "predicted": {cls: 1}, "true": {}, "low_confidence": 0, "repaired_cells": 0,
                      "attack_share": 1.0 if cls == "Attack" else 0.0})  # fmt: skip
    attacks = sum(f["predicted"].get("Attack", 0) for f in files)
    summary.update(files=files, rows=n, files_scored=n, predicted={"Benign": n - attacks, "Attack": attacks},
                   attack_share=attacks / n, low_confidence=0)  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary))
    return summary


def test_a_run_of_1200_files_charts_a_screenful_and_says_which(tmp_path):
    """1,200 files made a chart of 33,800 pixels (28 a file): it draws the files with the most attack rows, says so,
    and the table and the confidence chart still count every file."""
    many_files(tmp_path / "run", 1200)
    at = batch_page(tmp_path / "run")
    figs = charts(at)
    layout = figs["batch_classes"]["layout"]
    assert layout["height"] <= 1400, f"a chart {layout['height']} pixels tall"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "1,200" and metrics["Files scored"] == "1,200", "the same thousands separator"

    from dashboard.views.batch import MAX_FILES_CHARTED

    bars = figs["batch_classes"]["data"]
    drawn = list(bars[0]["customdata"])
    assert len(drawn) == MAX_FILES_CHARTED
    assert layout["title"]["text"] == "Rows per predicted class, in 40 of 1,200 files"
    assert drawn == [f"cap-{i:04d}.csv" for i in range(0, 5 * MAX_FILES_CHARTED, 5)], "the files with attacks"
    assert any(f"{MAX_FILES_CHARTED} files with the most rows predicted as attacks, of 1,200 files" in c.value
               for c in at.caption)  # fmt: skip
    assert len(at.dataframe[0].value) == 1200
    assert values(figs["batch_confidence"]["data"][0]["y"]).sum() == 1200


def test_a_few_files_are_all_charted_in_the_summary_order(tmp_path):
    summary = make_result(tmp_path / "run", TWO_FILES)
    at = batch_page(tmp_path / "run")
    bars = charts(at)["batch_classes"]["data"]
    assert list(bars[0]["customdata"]) == [f["file"] for f in summary["files"]]
    assert not [c for c in at.caption if "files with the most rows" in c.value]


def test_files_of_a_few_rows_have_ticks_at_whole_rows(tmp_path):
    """Files of a row or two drew ticks at 0.2, 0.4... rows; files of many rows keep plotly's own ticks."""
    make_result(tmp_path / "tiny", {"a.csv": [("Attack", 0.9)], "b.csv": [("Benign", 0.8), ("Attack", 0.7)]})
    xaxis = charts(batch_page(tmp_path / "tiny"))["batch_classes"]["layout"]["xaxis"]
    assert xaxis.get("dtick") == 1 and xaxis.get("tickformat") == ",d", xaxis
    make_result(tmp_path / "big", {"a.csv": [("Attack", 0.9)] * 30})
    assert "dtick" not in charts(batch_page(tmp_path / "big"))["batch_classes"]["layout"].get("xaxis", {})


def test_a_folder_a_first_run_is_writing_into_says_so(tmp_path):
    """While a first run scored, the page said the folder was no result folder and to run score-many first."""
    staging = dist._prepare_out(tmp_path / "run", overwrite=False)  # as score-many makes it, for this process
    (staging / "predictions" / "file=a.csv").mkdir()
    at = batch_page(tmp_path / "run")
    assert not at.error, [e.value for e in at.error]
    shown = at.info[0].value
    assert "A score-many run is writing into" in shown and "1 file begun so far" in shown
    assert "Reload the page then" in shown and not at.metric


def test_results_being_replaced_are_shown_and_said_to_be_the_earlier_ones(tmp_path):
    make_result(tmp_path / "run", TWO_FILES)
    dist._prepare_out(tmp_path / "run", overwrite=True)  # score-many --overwrite, still scoring
    at = batch_page(tmp_path / "run")
    assert "its results replace those shown below when it has finished" in at.info[0].value
    assert {m.label: m.value for m in at.metric}["Rows"] == "6"


def test_a_folder_of_a_stopped_run_says_it_left_no_results(tmp_path):
    staging = dist._prepare_out(tmp_path / "run", overwrite=False)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    head, pid, uid = staging.name.rsplit("-", 2)  # .score-many-HOST-PID-ID: the PID of a process that has ended
    assert pid.isdigit()
    stopped = staging.with_name(f"{head}-{gone.stdout.strip()}-{uid}")
    staging.rename(stopped)
    at = batch_page(tmp_path / "run")
    shown = at.info[0].value
    assert "was stopped before it finished" in shown and "Run score-many again" in shown
    assert not at.error


@pytest.mark.parametrize("n", [40, 41])
def test_the_chart_draws_at_most_the_limit(n):
    from dashboard.views.batch import MAX_FILES_CHARTED, classes_by_file_figure

    assert MAX_FILES_CHARTED == 40
    files = [{"file": f"f{i}.csv", "rows": 3, "predicted": {"Benign": 1, "Attack": 2} if i else {"Benign": 3}}
             for i in range(n)]  # fmt: skip
    fig = classes_by_file_figure({"model": {"classes": ["Benign", "Attack"]}, "files": files})
    drawn = list(fig.data[0].customdata)
    assert drawn == sorted(drawn, key=lambda f: int(f[1:-4])), "in the summary's order"
    assert len(drawn) == 40 and (n == 40 or "f0.csv" not in drawn), "f0.csv has no attack row: left out of 41"


@pytest.fixture(scope="module")
def repaired_run(v2_sample, tmp_path_factory) -> Path:
    """A real score-many run (a small 2-class logistic regression with an alarm threshold of 0.3, one worker in
    this process) over a real capture, a copy of its first rows with a cell of inf, one of 3e38 and one of 1e20,
    and a file that is no capture."""
    from distributed import Client, LocalCluster

    from core.threshold import save_threshold
    from core.training import train_from_folder

    models = tmp_path_factory.mktemp("hunt2-models")
    train_from_folder("lr", 2, str(v2_sample), params={"max_iter": 50}, models_dir=str(models), name="lr2",
                      max_rows_per_class=40, val_fraction=0)  # fmt: skip
    save_threshold(models / "lr2", 0.3)
    inputs = tmp_path_factory.mktemp("hunt2-in")
    lines = (v2_sample / "test" / "Benign_test.pcap.csv").read_text().splitlines()
    (inputs / "Benign_test.pcap.csv").write_text("\n".join(lines) + "\n")
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:11]]
    rate, length = header.index("Rate"), header.index("Header_Length")
    rows[0][rate], rows[1][rate], rows[2][length] = "inf", "3e38", "1e20"
    (inputs / "odd_capture.csv").write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    (inputs / "broken.csv").write_text("not,a,flow,file\n1,2,3,4\n")
    out = tmp_path_factory.mktemp("hunt2-out") / "run"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            dist.score_many(models / "lr2", [str(inputs)], out, client=client, progress=False, echo=None)
    return out


def test_repaired_cells_say_which_columns_and_those_taken_as_infinite(repaired_run, monkeypatch):
    """The page said "Repaired cells 3" and no more: not in which column, nor that two were numbers of 3e38 and
    1e20 taken as infinite, which the command prints ("of them 2 beyond ±1e+15 taken as infinite")."""
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(repaired_run.parent))
    summary = json.loads((repaired_run / "summary.json").read_text())
    assert summary["alarm_threshold"] == 0.3 and summary["files_failed"] == 1
    at = batch_page(repaired_run)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Repaired cells"] == f"{summary['repaired_cells']['total']:,}" == "3"
    (shown,) = [i.value for i in at.info if "Repaired before scoring" in i.value]
    assert md("2 cells beyond ±1e+15 taken as infinite (Header_Length: 1; Rate: 1)") in shown, shown
    assert md("inf in Rate: 2") in shown and md("+inf → the largest training value") in shown
    table = at.dataframe[0].value.set_index("file")
    assert (
        table.loc["odd_capture.csv", "repaired cells"] == 3 and table.loc["Benign_test.pcap.csv", "repaired cells"] == 0
    )
    assert "**broken.csv**, header:" in at.error[0].value


def test_the_files_table_keeps_names_and_attack_shares_in_sight_at_800_pixels(tmp_path):
    """At 800 pixels (a table 468 pixels wide) the files table showed file, rows and rows on disk; the attack share,
    low-confidence and repaired cells were reached by scrolling sideways, the names scrolling out of sight with them.
    Now the name is pinned and the attack share beside it, under short headings said in full in their help."""
    names = ["Recon-Ping_Sweep_test.pcap.csv", "Benign_test.pcap.csv"]
    make_result(tmp_path / "run", {n: [("Attack", 0.9), ("Benign", 0.8)] for n in names})
    at = batch_page(tmp_path / "run")
    table = at.dataframe[0]
    assert list(table.value.columns)[:2] == ["file", "attack %"]
    columns = json.loads(table.proto.columns)
    assert columns["file"]["pinned"] is True
    assert columns["file"]["width"] + columns["attack %"]["width"] + columns["rows"]["width"] <= 468, columns
    assert columns["file"]["width"] >= 6 * max(map(len, names)), "the longest name is cut off"
    assert all(columns[c].get("help") for c in ("low-confidence", "repaired cells", "rows on disk")), columns
