"""Batch results page on hand-made result folders (no model, no cluster): a folder changed after it was shown, a
damaged part, files on disk the summary does not know, an empty file, a saved alarm threshold, hostile file names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.test_models_page import charts, values

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def roots(monkeypatch, tmp_path):
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))


def make_result(out: Path, files: dict[str, list[tuple[str, float]]], alarm: float | None = None) -> dict:
    """A score-many result folder: ``files`` maps a file name to its rows (predicted class, top probability)."""
    entries, total = [], {}
    for name, rows in files.items():
        part = out / "predictions" / f"file={quote(name, safe='')}" / "part-00000.parquet"
        part.parent.mkdir(parents=True)
        frame = pd.DataFrame(rows, columns=["predicted", "probability"]).astype(
            {"predicted": str, "probability": float}
        )
        frame.to_parquet(part, index=False)
        predicted = {k: int(v) for k, v in frame["predicted"].value_counts().items()}
        for k, v in predicted.items():
            total[k] = total.get(k, 0) + v
        n = len(frame)
        entries.append({"file": name, "path": f"/captures/{name}", "bytes": 1, "partitions": 1, "rows": n,
                        "predicted": predicted, "true": {}, "low_confidence": int((frame["probability"] < 0.6).sum()),
                        "repaired_cells": 0, "empty_rows": 0, "blank_labels": 0,
                        "attack_share": round(1 - predicted.get("Benign", 0) / n, 6) if n else None})  # fmt: skip
    rows = sum(e["rows"] for e in entries)
    summary = {
        "version": 1,
        "model": {
            "name": "m",
            "path": "/models/m",
            "task": 2,
            "family": "rf",
            "layout": "v2",
            "classes": ["Benign", "Attack"],
        },
        "out": str(out),
        "predictions": str(out / "predictions"),
        "low_confidence_threshold": 0.6,
        "alarm_threshold": alarm,
        "rows": rows,
        "files_scored": len(entries),
        "files_failed": 0,
        "predicted": total,
        "attack_share": round(1 - total.get("Benign", 0) / rows, 6) if rows else None,
        "low_confidence": sum(e["low_confidence"] for e in entries),
        "repaired_cells": {"total": 0, "pos_inf": {}, "neg_inf": {}, "nan": {}},
        "files": entries,
        "failed": [],
        "worker_busy_seconds": {},
        "notes": [],
        "started_at": "2026-11-02T10:00:00+00:00",
        "seconds": 1.5,
        "workers": 2,
    }
    (out / "summary.json").write_text(json.dumps(summary))
    return summary


def batch_page(path: Path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/batch.py").run()
    at.text_input(key="batch_path").input(str(path)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


TWO_FILES = {"a.csv": [("Benign", 0.9)] * 3 + [("Attack", 0.55)], "b.csv": [("Attack", 0.99)] * 2}


def test_a_part_deleted_after_the_folder_was_shown_is_noticed(tmp_path):
    make_result(tmp_path / "run", TWO_FILES)
    assert not batch_page(tmp_path / "run").warning
    shutil.rmtree(tmp_path / "run" / "predictions" / "file=b.csv")  # summary.json untouched
    at = batch_page(tmp_path / "run")
    assert "the folder changed after the run" in at.warning[0].value
    table = at.dataframe[0].value
    assert dict(zip(table["file"], table["rows on disk"])) == {"a.csv": 4, "b.csv": 0}


def test_a_damaged_part_is_a_clear_error_not_a_traceback(tmp_path):
    make_result(tmp_path / "run", TWO_FILES)
    (tmp_path / "run" / "predictions" / "file=a.csv" / "part-00000.parquet").write_bytes(b"PAR1 half written")
    at = batch_page(tmp_path / "run")  # asserts no exception
    shown = at.error[0].value
    assert "cannot be read" in shown and "run score-many again" in shown


def test_predictions_on_disk_the_summary_does_not_know_are_warned_and_not_counted(tmp_path):
    summary = make_result(tmp_path / "run", TWO_FILES)
    make_result(tmp_path / "other", {"stray.csv": [("Attack", 0.7)] * 5})
    shutil.copytree(tmp_path / "other" / "predictions" / "file=stray.csv", tmp_path / "run" / "predictions" / "file=stray.csv")  # fmt: skip
    at = batch_page(tmp_path / "run")
    assert "the folder changed after the run" in at.warning[0].value
    hist = values(charts(at)["batch_confidence"]["data"][0]["y"])
    assert hist.sum() == summary["rows"] == 6, "the 'All files' histogram counts the summary's files only"


def test_an_empty_file_has_no_attack_share_rather_than_0_percent(tmp_path):
    make_result(tmp_path / "run", {**TWO_FILES, "empty.csv": []})
    at = batch_page(tmp_path / "run")
    table = at.dataframe[0].value.set_index("file")
    assert table.loc["a.csv", "attack %"] == 25.0 and table.loc["b.csv", "attack %"] == 100.0
    assert pd.isna(table.loc["empty.csv", "attack %"]), "no row: no attack share (the summary says None, not 0)"
    at.selectbox(key="batch_confidence_file").set_value("empty.csv").run()
    assert not at.exception
    assert values(charts(at)["batch_confidence"]["data"][0]["y"]).sum() == 0


def test_the_saved_alarm_threshold_the_run_flagged_at_is_said(tmp_path):
    make_result(tmp_path / "run", TWO_FILES, alarm=0.3)
    at = batch_page(tmp_path / "run")
    share = next(m for m in at.metric if m.label == "Attack share")
    assert "alarm threshold 0.30 saved with the model (not the default 0.50)" in share.proto.help
    make_result(tmp_path / "default", TWO_FILES)
    share = next(m for m in batch_page(tmp_path / "default").metric if m.label == "Attack share")
    assert "threshold" not in share.proto.help


def test_hostile_file_names_are_shown_literally_in_the_charts(tmp_path):
    link = '<a href="https:evil.example">open me<br>.csv'
    styled = "<span style='font-size:400px'>x.csv"
    make_result(tmp_path / "run", {link: [("Attack", 0.9)], styled: [("Benign", 0.9)], "1.csv": [("Benign", 0.8)]})
    at = batch_page(tmp_path / "run")
    assert list(at.dataframe[0].value["file"]) == [link, styled, "1.csv"]  # a table shows text as it is
    fig = charts(at)["batch_classes"]
    for bar in fig["data"]:
        assert all("<" not in y and ">" not in y for y in bar["y"])  # Plotly would read them as tags
    escaped = link.replace("<", "&lt;").replace(">", "&gt;")  # shown as typed, less the '.csv' all the names end in
    assert fig["data"][0]["y"][0] == escaped.removesuffix(".csv") and fig["data"][0]["customdata"][0] == escaped
    assert fig["layout"]["yaxis"]["title"]["text"] == "file (each name ends in .csv)"
    assert fig["layout"]["yaxis"]["type"] == "category"  # '1.csv' and the like are names, not numbers
    at.selectbox(key="batch_confidence_file").set_value(styled).run()
    assert "<" not in charts(at)["batch_confidence"]["layout"]["title"]["text"]


def test_histogram_of_one_file_matches_its_probabilities(tmp_path):
    make_result(tmp_path / "run", TWO_FILES)
    at = batch_page(tmp_path / "run")
    at.selectbox(key="batch_confidence_file").set_value("a.csv").run()
    hist = values(charts(at)["batch_confidence"]["data"][0]["y"])
    assert np.array_equal(hist, np.histogram([0.9, 0.9, 0.9, 0.55], bins=np.linspace(0, 1, 21))[0])


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda s: s.update(started_at=None), "'started_at' should be text, not null"),
        (lambda s: s.pop("rows"), "'rows' is missing"),
        (lambda s: s.update(rows="12"), "'rows' should be a count"),
        (lambda s: s["model"].update(classes=None), "model's 'classes' should be a list"),
        (lambda s: s["files"][1].pop("predicted"), "files entry 2's 'predicted' is missing"),
        (lambda s: s["files"].append("c.csv"), "files entry 3 is not a record"),
        (lambda s: s["repaired_cells"].pop("total"), "'repaired_cells' has no count 'total'"),
    ],
)
def test_a_hand_edited_summary_is_named_where_it_is_damaged(tmp_path, edit, named):
    """A summary.json edited by hand (a field removed, or null where score-many writes text) took the page down with
    a TypeError or KeyError; it is refused when read, naming the field."""
    from core.distributed import read_summary
    from core.errors import CoreError

    summary = make_result(tmp_path / "run", TWO_FILES)
    assert read_summary(tmp_path / "run") == summary
    edit(summary)
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(CoreError) as caught:
        read_summary(tmp_path / "run")
    assert named in str(caught.value) and "is damaged" in str(caught.value)


def test_a_summary_with_a_null_start_time_is_an_error_on_the_page_not_a_traceback(tmp_path):
    summary = make_result(tmp_path / "run", TWO_FILES)
    summary["started_at"] = None
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    at = batch_page(tmp_path / "run")  # asserts no exception
    shown = at.error[0].value
    assert "started\\_at' should be text, not null" in shown and "run score-many again" in shown


@pytest.mark.parametrize(
    ("names", "ending"),
    [
        (["ARP_Spoofing_test.pcap.csv", "Benign_test.pcap.csv", "TCP_IP-DoS-UDP_test.pcap.csv"], "_test.pcap.csv"),
        (["DoS-TCP1.csv", "DDoS-UDP1.csv"], ".csv"),  # 'P1.csv' is shared too, but never half a word
        (["capture.csv"], ""),  # one file: its whole name
        (["a.csv", ".csv"], ""),  # no name left empty
        (["monday", "tuesday"], ""),  # 'day' is no separator's ending
    ],
)
def test_the_chart_says_the_ending_the_file_names_share_once(names, ending):
    """On a phone the file names (ARP_Spoofing_test.pcap.csv, ...) left the bars a sliver: the ending they share is
    said once in the axis title, the rest labels the bars, and the hover gives the whole name."""
    from dashboard.views.batch import classes_by_file_figure, shared_ending

    assert shared_ending(names) == ending
    summary = {"model": {"classes": ["Benign", "Attack"]},
               "files": [{"file": n, "rows": 2, "predicted": {"Attack": 2}} for n in names]}  # fmt: skip
    fig = classes_by_file_figure(summary)
    assert list(fig.data[0].y) == [n[: len(n) - len(ending)] for n in names] and list(fig.data[0].customdata) == names
    assert fig.layout.yaxis.title.text == (f"file (each name ends in {ending})" if ending else "file")
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0  # below the bars, not beside them
