"""score-many against predict on files whose rows predict leaves out: the ranges must agree with the whole file."""

from __future__ import annotations

import pandas as pd
import pytest

from core import distributed as dist
from core.loading import read_files
from core.schema import V2

SOURCE = "Recon-VulScan_test.pcap.csv"


def _lines(v2_sample) -> list[bytes]:
    return (v2_sample / "test" / SOURCE).read_bytes().rstrip(b"\n").split(b"\n")


def _predict_frame(model_path, path) -> pd.DataFrame:
    from core.pipeline import TrainedModel

    model = TrainedModel.load(model_path)
    data = read_files([str(path)])
    return model.predict(data).to_frame(data, model.task)


def _score_many(client, model_path, path, out, partition) -> dict:
    return dist.score_many(model_path, [str(path)], out, client=client, partition_bytes=partition, progress=False,
                           echo=None)  # fmt: skip


def _same_as_predict(summary, model_path, path, out) -> None:
    assert summary["failed"] == [] and summary["files_scored"] == 1
    expected = _predict_frame(model_path, path)
    got = pd.read_parquet(out / "predictions")
    got["file"] = got["file"].astype(str)
    got = got.sort_values("row").reset_index(drop=True)[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert summary["rows"] == len(expected)


def test_rows_of_missing_value_markers_are_left_out_as_predict_leaves_them_out(client, model_path, v2_sample,
                                                                               tmp_path):  # fmt: skip
    """A row of NA, #N/A (Excel's) or NULL in every cell: predict leaves it out as an empty row (every cell missing),
    but score-many counted it as a row, and the range failed the whole file: 'bytes A-B parsed to 10 rows but 11 lines
    were counted' (hint: a quoted field with a line break?). A row whose only value is in a column that is not read
    (a label-like column the class does not come from) is left out by predict too."""
    lines = _lines(v2_sample)
    n = lines[0].count(b",") + 1
    nulls = [b",".join([marker] * n) for marker in (b"NA", b"#N/A", b"NULL", b"n/a")]
    body = [*lines[:30], nulls[0], *lines[30:80], nulls[1], nulls[2], *lines[80:150], nulls[3], *lines[150:]]
    path = tmp_path / "in" / "markers.csv"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(body) + b"\n")
    summary = _score_many(client, model_path, path, tmp_path / "out", 2048)
    assert summary["files"] and summary["files"][0]["partitions"] > 5, summary["failed"]
    _same_as_predict(summary, model_path, path, tmp_path / "out")
    assert summary["files"][0]["empty_rows"] == 4

    # An unread label-like column ('category': the class comes from 'label') holding the row's only value.
    header = lines[0] + b",category,label"
    body = [header, *(line + b",x," + b"Recon-VulScan" for line in lines[1:])]
    body.insert(40, b"," * (n - 1) + b",only here,")
    path = tmp_path / "in" / "unread.csv"
    path.write_bytes(b"\n".join(body) + b"\n")
    summary = _score_many(client, model_path, path, tmp_path / "out2", 2048)
    _same_as_predict(summary, model_path, path, tmp_path / "out2")
    assert summary["files"][0]["empty_rows"] == 1


def test_an_error_after_a_row_of_markers_names_the_row_predict_names(client, model_path, v2_sample, tmp_path):
    """The error a user sees for a bad cell below a row of NA markers: predict's, with the file's own row and line."""
    lines = _lines(v2_sample)
    n = lines[0].count(b",") + 1
    body = [*lines[:20], b",".join([b"NA"] * n), *lines[20:]]
    cells = body[150].split(b",")
    cells[3] = b"oops"
    body[150] = b",".join(cells)
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\n".join(body) + b"\n")
    with pytest.raises(Exception) as predicted:
        read_files([str(path)])
    summary = _score_many(client, model_path, path, tmp_path / "out", 2048)
    assert [f["error"] for f in summary["failed"]] == [str(predicted.value)]
    assert "row 149 (line 151 of the file)" in summary["failed"][0]["error"]


def test_a_range_of_empty_rows_only_does_not_fail_the_file(client, model_path, v2_sample, tmp_path):
    """Excel's ',,,,' lines (or blank lines) below the data, enough to fill a whole range: that range failed the whole
    file with 'the file has a header but no rows', which predict scores. A file with no row at all still fails so."""
    lines = _lines(v2_sample)
    n = lines[0].count(b",") + 1
    for name, tail in (("excel.csv", [b"," * (n - 1)] * 200), ("blank.csv", [b""] * 3000)):
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"\n".join([*lines, *tail]) + b"\n")
        plan = dist.plan_file(str(path), 2048)
        assert dist.count_range(plan.path, *plan.ranges[-1]) == 0  # a range with no row in it
        out = tmp_path / f"out-{name}"
        summary = _score_many(client, model_path, path, out, 2048)
        _same_as_predict(summary, model_path, path, out)
        assert summary["files"][0]["empty_rows"] == (200 if name == "excel.csv" else 0)
        assert summary["files"][0]["partitions"] == len(plan.ranges)
        assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporary file or staging folder left
    only_empty = tmp_path / "none" / "empty.csv"
    only_empty.parent.mkdir()
    only_empty.write_bytes(b"\n".join([lines[0], *[b"," * (n - 1)] * 200]) + b"\n")
    summary = _score_many(client, model_path, only_empty, tmp_path / "out-none", 2048)
    assert summary["files_scored"] == 0
    assert summary["failed"][0]["error"].startswith("empty.csv: the file has a header but no rows")


def test_the_exact_count_keeps_the_rows_of_ones():
    """Rows made of the bytes of the markers (1, .) but holding numbers are rows: the exact count keeps them."""
    features = list(V2.features)
    head = ",".join(features).encode() + b"\n"
    ones = b",".join([b"1"] * len(features))
    na = b",".join([b"NA"] * len(features))
    body = b"\n".join([ones, na, ones, b"1." + ones[1:], na]) + b"\n"
    assert dist.count_rows(body, head) == 3
    assert dist._line_kinds(body, head) == (3, 2)
    assert dist._line_kinds(body) == (5, 0)  # without the header: every line with a value in it
