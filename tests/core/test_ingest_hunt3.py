"""CSV ingest bugs found by feeding read_csv real-world malformed captures: each error named the wrong thing, or the
wrong row."""

import pytest

from core.errors import DataError
from core.loading import read_csv
from core.schema import FEATURES_V1, FEATURES_V2


def make_csv(features=FEATURES_V2, rows=3, sep=",", end="") -> list[str]:
    """The lines of a CSV: the header, then ``rows`` rows of numbers (``end`` added to every line)."""
    lines = [sep.join(features) + end]
    lines += [sep.join(str(float(i + j)) for j in range(len(features))) + end for i in range(rows)]
    return lines


def read_error(lines: list[str], *, bom: bool = False, newline: str = "\n") -> DataError:
    data = (newline.join(lines) + newline).encode()
    with pytest.raises(DataError) as err:
        read_csv(b"\xef\xbb\xbf" + data if bom else data, name="joined.csv")
    return err.value


@pytest.mark.parametrize("bom", [False, True])
def test_a_header_repeated_mid_file_by_cat_is_named_as_such(bom, tmp_path):
    """``cat day1.csv day2.csv > all.csv`` keeps day2's header as a row. It was "non-numeric value 'Header_Length'
    where a number is expected" with the hint "every feature cell must be a number", which does not say that the
    line is a header (with Excel's byte-order mark, even less so: '\\ufeffHeader_Length')."""
    day = make_csv(rows=3)
    second = ("\ufeff" if bom else "") + day[0]
    error = read_error([*day, second, *day[1:]])
    assert (error.row, error.line, error.column) == (4, 5, "Header_Length")
    assert "the header line is repeated" in error.detail, error.detail
    assert "cat" in error.hint and "number" not in error.hint, error.hint
    # The same for a file read from disk.
    path = tmp_path / "joined.csv"
    path.write_text("\n".join([*day, day[0], *day[1:]]) + "\n")
    with pytest.raises(DataError, match="the header line is repeated"):
        read_csv(path)


def test_a_header_of_the_other_release_repeated_mid_file_is_named_as_such():
    """A v1 capture joined below a v2 one: the v1 header line was "a row has 45 cells but the header has 39 columns"
    with a hint about truncated files and thousands separators."""
    error = read_error([*make_csv(FEATURES_V2, rows=2), *make_csv(FEATURES_V1, rows=2)])
    assert (error.row, error.line) == (3, 4)
    assert "the header line of another file" in error.detail and "v1" in error.detail, error.detail
    assert "cat" in error.hint and "release" in error.hint, error.hint


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_delimiter_at_the_end_of_every_line_is_named_not_taken_for_row_numbers(sep, newline):
    """Some exporters end every line with the delimiter. The empty column after the last name was put down to "the
    row numbers a spreadsheet or pandas saved with the table" (they are the first column, not the last); two such
    delimiters were "duplicate column name(s) ['']: each feature must appear once"."""
    for end in (sep, sep * 2):
        error = read_error(make_csv(sep=sep, end=end), newline=newline)
        assert error.row == 0
        assert f"the header ends with {sep!r}" in error.detail, error.detail
        assert "row numbers" not in error.hint and "end of every line" in error.hint, error.hint
    # Only the rows end with it: the row says so, not "the file is truncated".
    lines = make_csv(sep=sep)
    error = read_error([lines[0], *(line + sep for line in lines[1:])], newline=newline)
    assert error.row == 1 and f"ends with {sep!r}" in error.detail, error.detail
    assert "end of every row" in error.hint, error.hint


def test_a_ragged_row_below_a_row_of_blank_cells_is_numbered_as_every_other_error():
    """Rows whose every cell is blank (``,,,,``, what a spreadsheet leaves where a row's contents were cleared) are not
    counted in row numbers, and every error names the file's line by that count. A row with a cell too many below
    one was named "row 4 (line 6 of the file)": line 6 is a good row, the bad one is row 3 on line 5."""
    lines = make_csv(rows=4)
    blank_cells = "," * (len(FEATURES_V2) - 1)
    error = read_error([lines[0], lines[1], blank_cells, lines[2], lines[3] + ",7", lines[4]])
    assert (error.row, error.line) == (3, 5), str(error)
    # Blank lines are not counted either (as before).
    error = read_error([lines[0], lines[1], "", "", lines[2], lines[3] + ",7", lines[4]])
    assert (error.row, error.line) == (3, 6), str(error)


def test_a_line_of_spaces_is_named_as_such():
    """A line holding only spaces (hand-edited files) was "a row has 1 cells ...: the file is truncated or has stray
    delimiters"."""
    lines = make_csv(rows=3)
    error = read_error([lines[0], lines[1], "   ", lines[2]])
    assert (error.row, error.line) == (2, 3)
    assert "only spaces" in error.detail and "delete" in error.hint, (error.detail, error.hint)


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n", b"\xef\xbb\xbf\n\n"])
def test_a_file_of_only_a_byte_order_mark_is_empty(data):
    """Excel's "CSV UTF-8" of an empty sheet is its byte-order mark alone: that was "header: the first line is not a
    CSV header (no comma, semicolon or tab found)"."""
    with pytest.raises(DataError) as err:
        read_csv(data, name="empty.csv")
    assert err.value.detail == "the file is empty" and err.value.row is None


def test_blank_lines_above_the_header_are_named():
    """Blank lines above the header: "the first line is not a CSV header (no comma, semicolon or tab found)", for a
    file whose header a user can see has commas."""
    lines = make_csv(rows=2)
    error = read_error(["", "", *lines])
    assert "blank line" in error.detail and "2 blank lines" in error.hint, (error.detail, error.hint)


@pytest.fixture(params=[1, 2], ids=["1-cpu", "2-cpus"])
def cpus(request):
    """pyarrow's CPU pool on one thread and on two: on one it parses serially and named the row itself, so that the
    streamed reader said "row 4001 (line 4003 of the file) ... (CSV parse error: Row #4003: Expected 39 columns ...)",
    a third number beside ours, unlike read_csv."""
    import pyarrow as pa

    before = pa.cpu_count()
    pa.set_cpu_count(request.param)
    yield request.param
    pa.set_cpu_count(before)


@pytest.mark.parametrize("fault", ["header", "ragged"])
def test_predicts_streamed_reader_names_a_fault_deep_in_a_file_as_read_csv_does(fault, cpus, tmp_path):
    """``predict`` reads a file in blocks past its first rows (core.scoring): a header repeated there, or a ragged row
    below a row of blank cells, is said as read_csv says it, with the same row and line, on one CPU as on two."""
    from core import scoring

    lines = make_csv(rows=6000)
    blank_cells = "," * (len(FEATURES_V2) - 1)
    if fault == "header":
        body = [*lines[:5001], lines[0], *lines[5001:]]
        row, line = 5001, 5002
    else:
        body = [*lines[:4001], blank_cells, lines[4001] + ",7", *lines[4002:]]
        row, line = 4001, 4003
    path = tmp_path / "capture.csv"
    path.write_text("\n".join(body) + "\n")
    assert path.stat().st_size > scoring.PREFIX_BYTES  # the fault is past the rows checked before scoring
    with pytest.raises(DataError) as want:
        read_csv(path)
    plan = scoring._plan(path)
    with pytest.raises(DataError) as got:
        for _ in scoring._blocks(plan, 1 << 16, []):
            pass
    assert (got.value.row, got.value.line) == (want.value.row, want.value.line) == (row, line)
    assert str(got.value) == str(want.value) and got.value.hint == want.value.hint
    assert ("the header line is repeated" if fault == "header" else "cells but the header has") in str(got.value)
    assert "Row #" not in str(got.value), str(got.value)
