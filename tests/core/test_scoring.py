"""Streaming scoring (core.scoring, used by `python -m core predict`) against the in-memory path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.cli import main as cli_main
from core.demo import write_demo_csv
from core.errors import DataError, FilesError, ModelMismatchError
from core.loading import read_csv, read_files
from core.pipeline import Predictions, TrainedModel
from core.preprocess import RepairCounts
from core.scoring import _csv_text, _OutputBuilder, score_files

#: Small blocks, so that even small files are scored in many blocks.
BLOCK = 1 << 16


@pytest.fixture(scope="module")
def model(demo_models_dir):
    return TrainedModel.load(demo_models_dir / "test-paper-cnn-19class")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """An unlabelled capture (with inf/NaN warts), an official file name, and a file with a label column."""
    d = tmp_path_factory.mktemp("score-in")
    capture = d / "capture.csv"
    write_demo_csv(capture, layout="v2", rows_per_class={"Benign": 2500, "DDoS-UDP": 1500, "ARP_Spoofing": 400}, seed=1)
    official = d / "TCP_IP-DoS-TCP1_test.pcap.csv"
    write_demo_csv(official, layout="v2", rows_per_class={"DoS-TCP": 1200}, seed=2)
    labelled = d / "labelled.csv"
    write_demo_csv(labelled, layout="v2", rows_per_class={"Recon-OS_Scan": 700, "MQTT-Malformed_Data": 600}, seed=3,
                   with_label_column=True)  # fmt: skip
    return [capture, official, labelled]


def in_memory_frame(model, files) -> pd.DataFrame:
    data = read_files(files)
    return model.predict(data).to_frame(data, model.task)


def assert_same_predictions(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same rows, order, files, row numbers, truth and classes; probabilities equal to float32 rounding.

    The forward pass is blocked differently in the two paths, so the last bit of a probability may
    differ; a predicted class may then differ only where two classes tie to that precision.
    """
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in ("file", "row", "true"):
        if col in want:
            assert got[col].fillna("").astype(str).tolist() == want[col].fillna("").astype(str).tolist(), col
    prob_cols = [c for c in want.columns if c.endswith("probability")]
    np.testing.assert_allclose(got[prob_cols].to_numpy(float), want[prob_cols].to_numpy(float), atol=2e-6)
    differ = got["predicted"].to_numpy() != want["predicted"].to_numpy()
    if differ.any():
        margin = (want["probability"] - want["top2_probability"]).to_numpy()[differ]
        assert np.all(margin < 1e-5), "a predicted class changed where no tie explains it"


def test_streaming_equals_in_memory_path(model, inputs, tmp_path):
    out = tmp_path / "pred.csv"
    summary = score_files(model, inputs, out, block_bytes=BLOCK)
    want = in_memory_frame(model, inputs)
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert summary.rows == len(want) == len(got)
    assert_same_predictions(got, want.astype({"row": "int64"}))
    # the true class comes from the file name or the label column; the unlabelled capture has none
    assert got.loc[got["file"] == "capture.csv", "true"].isna().all()
    assert (got.loc[got["file"] == "TCP_IP-DoS-TCP1_test.pcap.csv", "true"] == "DoS-TCP").all()
    assert set(got.loc[got["file"] == "labelled.csv", "true"]) == {"Recon-OS_Scan", "MQTT-Malformed_Data"}
    # the inf/NaN cells were repaired and counted as in the in-memory path
    data = read_files(inputs)
    repairs = model.predict(data).repairs
    assert repairs.total > 0
    assert summary.repairs.to_dict() == repairs.to_dict()
    assert sum(summary.counts.values()) == len(want)
    assert summary.counts == want["predicted"].value_counts().to_dict()


def test_output_builder_is_exactly_to_frame():
    """The fast builder writes byte for byte what Predictions.to_frame gives, ties and zeros included."""
    from core.loading import Dataset, FileSummary
    from core.schema import LAYOUTS

    rng = np.random.default_rng(0)
    classes = ["Benign", "ARP_Spoofing", "DDoS-UDP", "DoS-TCP", "Recon-OS_Scan"]
    proba = rng.random((500, 5)).astype(np.float32)
    proba[:50] = 0.2  # all tied
    proba[50:100, 2:] = 0.0  # alternatives with probability 0: blank
    proba[100:150, :2] = 0.4  # tie for first place
    y = np.where(np.arange(500) % 3 == 0, -1, 5).astype(np.int8)
    data = Dataset(X=np.zeros((500, 39), np.float32), y=y, source=np.zeros(500, np.int32),
                   files=[FileSummary("a.csv", 500, None, None)], layout=LAYOUTS["v2"])  # fmt: skip

    class Fake:
        task = 19

    Fake.classes = classes
    builder = _OutputBuilder(Fake, ["a.csv"], top=3, any_labelled=True)
    pred = Predictions(classes, proba, RepairCounts())
    fast, _ = builder._fast(pred, data, 0, 0)
    ref = pa.Table.from_pandas(pred.to_frame(data, 19), preserve_index=False)
    assert _csv_text(fast) == _csv_text(ref)


def test_output_builder_follows_the_alarm_threshold():
    """A 2-class model with an alarm threshold: the predicted class is the thresholded one, as in to_frame."""
    from core.loading import Dataset, FileSummary
    from core.schema import LAYOUTS

    rng = np.random.default_rng(1)
    attack = rng.random(300).astype(np.float32)
    proba = np.stack([attack, 1 - attack], axis=1)  # classes: Attack, Benign
    data = Dataset(X=np.zeros((300, 39), np.float32), y=np.full(300, -1, np.int8), source=np.zeros(300, np.int32),
                   files=[FileSummary("a.csv", 300, None, None)], layout=LAYOUTS["v2"])  # fmt: skip

    class Fake:
        task = 2
        classes = ["Attack", "Benign"]

    pred = Predictions(Fake.classes, proba, RepairCounts())
    pred.threshold = 0.2  # alarm from P(attack) >= 0.2
    fast, top1 = _OutputBuilder(Fake, ["a.csv"], top=3, any_labelled=False)._fast(pred, data, 0, 0)
    ref = pa.Table.from_pandas(pred.to_frame(data, 2), preserve_index=False)
    assert _csv_text(fast) == _csv_text(ref)
    assert (top1 == 0).sum() == (attack >= 0.2).sum()


def test_bad_cell_deep_in_a_file_is_reported_like_read_csv(model, tmp_path):
    good = tmp_path / "first.csv"
    write_demo_csv(good, layout="v2", rows_per_class={"Benign": 500}, seed=4)
    bad = tmp_path / "capture-bad.csv"
    write_demo_csv(bad, layout="v2", rows_per_class={"Benign": 3000, "DoS-UDP": 3000}, seed=5)
    lines = bad.read_text().splitlines()
    header = lines[0].split(",")
    # Row 4321 (header is row 0), a column to the right; in the same block, row 4325's fourth column: the first
    # row is named, whichever column pyarrow's conversion reports (it named row 4325 when it reported the fourth).
    for row, col in ((4321, 30), (4325, 3)):
        cells = lines[row].split(",")
        cells[col] = "12x5"
        lines[row] = ",".join(cells)
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as want:
        read_csv(bad)
    out = tmp_path / "pred.csv"
    with pytest.raises(DataError) as got:
        score_files(model, [good, bad], out, block_bytes=BLOCK)
    assert (got.value.file, got.value.column, got.value.row) == (want.value.file, header[30], 4321)
    assert want.value.column == header[30]
    assert str(got.value) == str(want.value)
    assert not out.exists(), "no partial output"
    assert not list(tmp_path.glob(".pred.csv*")), "no temporary file left behind"


@pytest.mark.parametrize("length", [200_000, 3_000_000])
def test_a_line_too_long_deep_in_a_file_is_refused_like_read_csv(model, tmp_path, length):
    """The line limit used to be checked in the first 256 KB only: a 200 KB number past it was scored (as
    infinity), and a 3 MB line ended in pyarrow's "straddling object" error naming no row."""
    path = tmp_path / "capture.csv"
    write_demo_csv(path, layout="v2", rows_per_class={"Benign": 4000}, seed=7)
    lines = path.read_text().splitlines()
    cells = lines[3500].split(",")
    cells[3] = "9" * length
    lines[3500] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    assert sum(len(line) + 1 for line in lines[:3500]) > 1 << 18, "the long line lies past the prefix read_csv checks"
    with pytest.raises(DataError) as want:
        read_csv(path)
    with pytest.raises(DataError) as got:
        score_files(model, [path], tmp_path / "out.csv", block_bytes=BLOCK)
    assert str(got.value) == str(want.value) and f"line 3,501 is {len(lines[3500]):,} bytes long" in str(got.value)


def test_two_files_of_one_name_are_told_apart_and_one_file_given_twice_is_refused(model, tmp_path):
    """Two sites' ``capture.csv`` both came out as ``capture.csv`` in the file column; the same file given twice
    (two overlapping globs) was scored twice."""
    for site, seed in (("site1", 1), ("site2", 2)):
        (tmp_path / site).mkdir()
        write_demo_csv(tmp_path / site / "capture.csv", layout="v2", rows_per_class={"Benign": 30}, seed=seed)
    files = [tmp_path / "site1" / "capture.csv", tmp_path / "site2" / "capture.csv"]
    score_files(model, files, tmp_path / "out.csv")
    got = pd.read_csv(tmp_path / "out.csv")
    assert got["file"].tolist() == ["site1/capture.csv"] * 30 + ["site2/capture.csv"] * 30
    again = tmp_path / "site1" / ".." / "site1" / "capture.csv"
    with pytest.raises(DataError, match=r"^'capture\.csv' is given twice: its flows would be counted twice$"):
        score_files(model, [*files, again], tmp_path / "out2.csv")
    assert not (tmp_path / "out2.csv").exists()


def test_bad_label_deep_in_a_file_names_its_row(model, tmp_path):
    path = tmp_path / "labelled.csv"
    write_demo_csv(path, layout="v2", rows_per_class={"Benign": 3000, "DoS-UDP": 2000}, seed=6, with_label_column=True)
    lines = path.read_text().splitlines()
    lines[4000] = lines[4000].rsplit(",", 1)[0] + ",NotAClass"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as want:
        read_csv(path)
    with pytest.raises(DataError) as got:
        score_files(model, [path], tmp_path / "o.csv", block_bytes=BLOCK)
    assert got.value.row == want.value.row == 4000
    assert str(got.value) == str(want.value)


def test_header_problems_and_layouts_are_refused_before_scoring(model, inputs, tmp_path, v1_sample):
    empty = tmp_path / "empty.csv"
    empty.write_text(inputs[0].read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError) as want:
        read_csv(empty)
    with pytest.raises(DataError) as got:
        score_files(model, [inputs[0], empty], tmp_path / "o.csv")
    assert str(got.value) == str(want.value)
    v1_file = next((v1_sample / "test").glob("*.csv"))
    with pytest.raises(DataError) as want:
        read_files([inputs[0], v1_file])
    with pytest.raises(DataError) as got:
        score_files(model, [inputs[0], v1_file], tmp_path / "o.csv")
    assert str(got.value) == str(want.value)
    with pytest.raises(ModelMismatchError, match="v2 layout"):
        score_files(model, [v1_file], tmp_path / "o.csv")
    with pytest.raises(DataError, match="file not found"):
        score_files(model, [tmp_path / "missing.csv"], tmp_path / "o.csv")
    # Several bad files: all named at once, as read_files names them
    bad = [empty, inputs[0], tmp_path / "missing.csv"]
    with pytest.raises(FilesError) as want:
        read_files(bad)
    with pytest.raises(FilesError) as got:
        score_files(model, bad, tmp_path / "o.csv")
    assert str(got.value) == str(want.value) and [Path(e.file).name for e in got.value.errors] == [
        "empty.csv",
        "missing.csv",
    ]
    assert not (tmp_path / "o.csv").exists()


def test_cli_predict_writes_every_row_in_order(demo_models_dir, inputs, tmp_path, capsys, monkeypatch):
    from core import cli

    monkeypatch.setattr(cli, "LOG_PROGRESS_SECONDS", 0.0)  # standard error is not a terminal here: a log
    out = tmp_path / "cli.csv"
    model = demo_models_dir / "test-paper-cnn-19class"
    assert cli_main(["predict", "--model", str(model), *map(str, inputs), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    got = pd.read_csv(out)
    sizes = [len(read_csv(f)) for f in inputs]
    assert f"{sum(sizes):,} rows from 3 files" in printed
    # In a log (nohup, cron), progress lines instead of a bar: an hours-long run said nothing till its end.
    logged = [line for line in captured.err.splitlines() if line.startswith("scoring: ")]
    assert logged and "% of the input read" in logged[-1] and inputs[-1].name in logged[-1], captured.err
    assert got["file"].tolist() == [f.name for f, n in zip(inputs, sizes) for _ in range(n)]
    assert got["row"].tolist() == [r for n in sizes for r in range(1, n + 1)]
    assert "note:" in printed and "cells repaired" in printed


def test_matrix_from_batches_copies_every_block_in_order():
    from core.loading import matrix_from_batches

    rng = np.random.default_rng(2)
    parts = [rng.standard_normal((n, 3)).astype(np.float32) for n in (5, 0, 40, 7)]
    batches = [pa.RecordBatch.from_arrays([pa.array(p[:, j]) for j in range(3)], names=list("abc")) for p in parts]
    X = matrix_from_batches(batches, 3, rows_per_step=4)
    np.testing.assert_array_equal(X, np.concatenate(parts))
    assert X.flags.c_contiguous and X.dtype == np.float32
    assert batches == [None] * 4, "each batch is released once copied"


def test_matrix_from_batches_returns_freed_pages_every_two_batches():
    """``release_to`` is the pool the batches live in: asked to give its unused pages back as batches go."""
    from core.loading import matrix_from_batches

    class CountingPool:  # stands in for a pyarrow.MemoryPool: only release_unused() is called
        calls = 0

        def release_unused(self):
            self.calls += 1

    parts = [np.full((3, 2), i, dtype=np.float32) for i in range(6)]
    batches = [pa.RecordBatch.from_arrays([pa.array(p[:, j]) for j in range(2)], names=["a", "b"]) for p in parts]
    pool = CountingPool()
    X = matrix_from_batches(batches, 2, release_to=pool, threads=2)
    np.testing.assert_array_equal(X, np.concatenate(parts))
    assert pool.calls == 3


def test_ranking_is_a_stable_sort_led_by_the_prediction():
    """Ties go to the lower class index (as a stable sort); a 2-class alarm threshold leads the ranking."""
    proba = np.array([[0.4, 0.4, 0.2], [0.0, 1.0, 0.0], [0.2, 0.4, 0.4], [0.1, 0.3, 0.6]], dtype=np.float32)
    p = Predictions(classes=["Benign", "DDoS", "DoS"], proba=proba, repairs=RepairCounts())
    codes, probs = p.ranked(3)
    np.testing.assert_array_equal(codes, np.argsort(-proba, axis=1, kind="stable"))
    np.testing.assert_array_equal(probs, np.take_along_axis(proba, codes, axis=1))
    assert p.ranked(2)[0].shape == (4, 2) and p.ranked(9)[0].shape == (4, 3)
    two = Predictions(classes=["Benign", "Attack"], proba=np.array([[0.7, 0.3], [0.9, 0.1]], dtype=np.float32),
                      repairs=RepairCounts(), threshold=0.2)  # fmt: skip
    codes, probs = two.ranked(3)
    assert codes.tolist() == [[1, 0], [0, 1]], "P(attack) 0.3 >= 0.2 raises the alarm although Benign is likelier"
    assert probs[0].tolist() == pytest.approx([0.3, 0.7])


def test_output_folder_is_made_and_a_folder_as_output_is_refused_first(model, inputs, tmp_path, monkeypatch):
    out = tmp_path / "new" / "deeper" / "p.csv"
    summary = score_files(model, [inputs[1]], out)
    assert out.is_file() and summary.rows == len(read_csv(inputs[1])) == len(pd.read_csv(out))
    scored = []
    monkeypatch.setattr(TrainedModel, "predict", lambda self, data: scored.append(1))
    with pytest.raises(DataError, match="is a folder") as err:
        score_files(model, [inputs[1]], tmp_path)
    assert not scored and "predictions.csv" in err.value.hint


def test_an_input_given_as_the_output_is_refused_and_kept(model, inputs, tmp_path):
    capture = tmp_path / "capture.csv"
    capture.write_bytes(inputs[0].read_bytes())
    with pytest.raises(DataError, match="is one of the input files") as err:
        score_files(model, [inputs[1], capture], capture)
    assert capture.read_bytes() == inputs[0].read_bytes() and "capture-predictions.csv" in err.value.hint


def test_predict_says_where_each_files_true_class_came_from(model, inputs, tmp_path, capsys):
    """DESIGN asks that the label source be said; report did, predict said nothing (and a label column silently
    overrode an official file name)."""
    capture, official, labelled = inputs[:3]
    named = tmp_path / "Benign_test.pcap.csv"  # an official name, and a label column naming other classes
    named.write_bytes(labelled.read_bytes())
    summary = score_files(model, [capture, official, named], tmp_path / "out.csv")
    assert summary.label_sources == {capture.name: None, official.name: "file name", named.name: "column 'label'"}
    assert summary.label_note() == (f"unknown (no label column, no official file name): {capture.name}; from the file "
                                    f"name: {official.name}; from column 'label': {named.name}")  # fmt: skip
    truth = pd.read_csv(tmp_path / "out.csv").query("file == 'Benign_test.pcap.csv'")["true"]
    assert set(truth) == {"Recon-OS_Scan", "MQTT-Malformed_Data"}, "the column's classes, not the file name's"
    assert cli_main(["predict", "--model", str(model.path), str(official), "--out", str(tmp_path / "o.csv")]) == 0
    assert f"true class: from the file name: {official.name}" in capsys.readouterr().out


def test_empty_rows_and_blank_labels_are_streamed_as_read_csv_reads_them(model, inputs, tmp_path):
    """Excel's ',,,,' rows below (or among) the flows were scored as flows (their blanks repaired to training
    medians: alerts out of nothing), and a blank label cell stopped the file. Streamed, they are left out and said
    (empty rows) or scored with their true class unknown (blank labels), with the rows numbered as read_csv numbers
    them."""
    lines = inputs[2].read_bytes().split(b"\n")  # the labelled file: 39 features and a label column
    width = lines[0].count(b",")
    blank_label = lines[3].rsplit(b",", 1)[0] + b","
    body = [lines[0], *lines[1:3], blank_label, *lines[4:400], b"," * width, b"," * width, *lines[400:700],
            *[b"," * width] * 3]  # fmt: skip
    odd = tmp_path / "excel.csv"
    odd.write_bytes(b"\r\n".join(body) + b"\r\n")
    out = tmp_path / "pred.csv"
    summary = score_files(model, [odd], out, block_bytes=1 << 12)  # many blocks: empty rows inside and between
    want = in_memory_frame(model, [odd])
    got = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert summary.rows == len(got) == len(want) == 699
    assert_same_predictions(got, want.astype({"row": "int64"}))
    assert got["true"].isna().sum() == 1 and pd.isna(got["true"].iloc[2])
    assert (
        summary.notes
        == read_files([odd]).notes
        == [
            "excel.csv: 5 empty rows (every cell blank) left out like blank lines, not counted in row numbers: "
            "2 after row 399, 3 after row 699",
            "excel.csv: 1 row of 699 with a blank label in column 'label': true class unknown",
        ]
    )


def test_a_label_like_column_not_read_is_said_when_streamed(model, inputs, tmp_path):
    """read_csv noted it, but predict streams without read_csv's notes: the column was ignored without a word."""
    lines = inputs[2].read_bytes().decode().splitlines()[:50]
    text = "\n".join([lines[0] + ",attack_type", *(line + ",DDoS" for line in lines[1:])]) + "\n"
    two = tmp_path / "two.csv"
    two.write_text(text)
    summary = score_files(model, [two], tmp_path / "pred.csv")
    assert (
        summary.notes
        == read_files([two]).notes
        == ["two.csv: column 'attack_type' not read (the class comes from column 'label')"]
    )


def test_a_file_whose_name_is_not_utf8_is_scored_under_its_name_with_the_odd_bytes_escaped(model, tmp_path, capsys):
    """A capture named in Latin-1 (``caf\\xe9.csv``, copied from an old share) crashed ``predict`` with a traceback:
    pyarrow could not open the path, nor the writer encode the name. Its bytes are read, and it goes by
    ``caf\\xe9.csv`` (each byte that is not UTF-8 written as ``\\xe9``) in outputs and messages."""
    import os

    from core.audit import read_events
    from core.loading import display_names, load_split

    folder = tmp_path / "in"
    folder.mkdir()
    path = Path(os.fsdecode(bytes(folder) + b"/caf\xe9.csv"))
    write_demo_csv(folder / "plain.csv", layout="v2", rows_per_class={"Benign": 30, "DDoS-UDP": 20}, seed=1)
    try:
        os.rename(folder / "plain.csv", path)
    except OSError as exc:  # a file system that takes UTF-8 names only
        pytest.skip(f"this file system does not take a Latin-1 file name: {exc}")
    assert display_names([path]) == ["caf\\xe9.csv"]
    out = tmp_path / "p.csv"
    assert cli_main(["predict", "--model", str(model.path), str(path), "--out", str(out)]) == 0
    got = pd.read_csv(out)
    assert len(got) == 50 and set(got["file"]) == {"caf\\xe9.csv"}
    assert got["predicted"].tolist() == model.predict(read_csv(path)).to_frame(read_csv(path), 19)["predicted"].tolist()
    assert "caf\\xe9.csv" in capsys.readouterr().out
    (event,) = [e for e in read_events(limit=50) if e["action"] == "scored" and e["details"].get("out") == str(out)]
    assert event["files"][0]["name"].endswith("/caf\\xe9.csv"), "the audit log names it as the outputs do"
    # Training and evaluation read it too (its class from a label column, as the name is not an official one).
    for split in ("train", "test"):
        (tmp_path / "d" / split).mkdir(parents=True)
        write_demo_csv(Path(os.fsdecode(bytes(tmp_path / "d" / split) + b"/caf\xe9.csv")), layout="v2",
                       rows_per_class={"Benign": 30, "DDoS-UDP": 20}, seed=2, with_label_column=True)  # fmt: skip
    data = load_split(tmp_path / "d", "train")
    assert len(data) == 50 and [f.name for f in data.files] == ["caf\\xe9.csv"]
