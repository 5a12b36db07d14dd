"""CSV ingest bugs found by joining and damaging real-shaped captures: a file lacking its final newline joined to
another with cat, zero bytes (NUL) inside a file, a UTF-16 part, a row of another delimiter, a DOS end-of-file mark.
Each was put down to "a row has N cells ...: the file is truncated or has stray delimiters", to "a non-numeric value",
or to "the file is binary" (each failed before its fix, unless said otherwise)."""

from __future__ import annotations

import gzip

import pytest

from core.errors import DataError
from core.loading import read_csv
from core.schema import FEATURES_V1, FEATURES_V2


def make_csv(features=FEATURES_V2, rows=3, start=0, label: str | None = None) -> list[str]:
    """The lines of a CSV: the header, then ``rows`` rows of numbers (a ``label`` column last where given)."""
    lines = [",".join([*features, *(["label"] if label else [])])]
    for i in range(rows):
        cells = [f"{start + i + j}.5" for j in range(len(features))]
        lines.append(",".join([*cells, *([label] if label else [])]))
    return lines


def text(lines: list[str], newline: str = "\n", *, final: bool = True) -> bytes:
    """The bytes of a file of ``lines``, with or without its final newline."""
    return (newline.join(lines) + (newline if final else "")).encode()


def error_of(data: bytes, tmp_path=None) -> DataError:
    """read_csv's error for ``data``, the same whether read from bytes or from a file on disk."""
    with pytest.raises(DataError) as err:
        read_csv(data, name="joined.csv")
    if tmp_path is not None:
        path = tmp_path / "joined.csv"
        path.write_bytes(data)
        with pytest.raises(DataError) as on_disk:
            read_csv(path)
        assert str(on_disk.value) == str(err.value) and on_disk.value.hint == err.value.hint
    return err.value


@pytest.mark.parametrize("case", ["plain", "crlf", "bom", "label"])
def test_a_file_without_its_final_newline_joined_to_another_is_named_as_such(case, tmp_path):
    """``cat a.csv b.csv > joined.csv``, a.csv lacking a final newline: its last row and b's header run together on
    one line ("...,40.5Header_Length,Protocol Type,..."). That was "a row has 77 cells but the header has 39
    columns", with a hint about truncated files and thousands separators: nothing about the join."""
    newline = "\r\n" if case == "crlf" else "\n"
    label = "Benign" if case == "label" else None
    first, second = make_csv(rows=3, label=label), make_csv(rows=2, start=100, label=label)
    b = text(second, newline)
    data = text(first, newline, final=False) + (b"\xef\xbb\xbf" + b if case == "bom" else b)
    error = error_of(data, tmp_path)
    assert (error.file, error.row, error.line) == ("joined.csv", 3, 4), str(error)
    last = "Benign" if label else "40.5"
    assert "a row and the header line of another file (v2 release, 39 features) run together" in error.detail
    assert f"{last!r} and the header's first name 'Header_Length'" in error.detail, error.detail
    assert "did not end with a newline" in error.detail and "joined" in error.detail, error.detail
    assert f"put a line break between {last!r} and 'Header_Length'" in error.hint, error.hint
    assert "awk 'NR == 1 || FNR > 1'" in error.hint and "thousands" not in error.hint, error.hint


def test_a_file_of_the_other_release_joined_without_a_final_newline_says_both():
    """A v1 capture joined below a v2 one lacking its final newline: the join and the mix of releases are both said
    (it was "the header line of another file (v1 release, 45 features) is repeated here", for a line that starts
    with a row)."""
    data = text(make_csv(FEATURES_V2), final=False) + text(make_csv(FEATURES_V1, rows=2))
    error = error_of(data)
    assert (error.row, error.line) == (3, 4)
    assert "header line of another file (v1 release, 45 features) run together" in error.detail, error.detail
    assert "join only files of one release" in error.hint and "line break" in error.hint, error.hint


def test_a_header_line_of_its_own_is_still_said_to_be_repeated():
    """The check for a row run together with a header does not take a whole header line of the other release (more
    cells than the file's header) for one."""
    error = error_of(text([*make_csv(FEATURES_V2, rows=2), *make_csv(FEATURES_V1, rows=2)]))
    assert (error.row, error.line) == (3, 4)
    assert "the header line of another file (v1 release, 45 features) is repeated here" in error.detail


def test_two_rows_run_together_by_a_join_without_headers_are_named():
    """``cat a.csv body.csv`` where body.csv has no header and a.csv lacks a final newline: one line with two rows'
    cells less one ("...,40.50.5,1.5,..."): "a row has 77 cells ... stray delimiters"."""
    first, second = make_csv(rows=3), make_csv(rows=2, start=100)
    error = error_of(text(first, final=False) + text(second[1:]))
    assert (error.row, error.line) == (3, 4)
    assert "two rows run together" in error.detail and "'40.5100.5'" in error.detail, error.detail
    assert "did not end with a newline" in error.detail, error.detail
    assert "awk 1 FIRST.csv SECOND.csv" in error.hint, error.hint


def test_a_file_of_only_its_header_joined_without_a_final_newline_is_named():
    """A file holding only its header line, lacking its final newline, joined to another: the first line is both
    headers run together ("...,VarianceHeader_Length,..."). It was "duplicate column name(s) ['ARP', 'AVG', ...]:
    each feature must appear once"."""
    data = ",".join(FEATURES_V2).encode() + text(make_csv(rows=2))
    error = error_of(data)
    assert error.row == 0 and "two header lines run together" in error.detail, error.detail
    assert "'VarianceHeader_Length'" in error.detail and "without a final newline" in error.detail, error.detail
    assert "awk 'NR == 1 || FNR > 1'" in error.hint, error.hint


def test_predicts_streamed_reader_names_a_join_deep_in_a_file_as_read_csv_does(tmp_path):
    """``predict`` reads a big file in blocks past its first rows (core.scoring): a join there is said as read_csv
    says it, with the same row and line."""
    from core import scoring

    data = text(make_csv(rows=6000), final=False) + text(make_csv(rows=10, start=7))
    path = tmp_path / "capture.csv"
    path.write_bytes(data)
    assert path.stat().st_size > scoring.PREFIX_BYTES  # the join is past the rows checked before scoring
    with pytest.raises(DataError) as want:
        read_csv(path)
    with pytest.raises(DataError) as got:
        for _ in scoring._blocks(scoring._plan(path), 1 << 16, []):
            pass
    assert (got.value.row, got.value.line) == (want.value.row, want.value.line) == (6000, 6001)
    assert str(got.value) == str(want.value) and got.value.hint == want.value.hint
    assert "run together" in str(got.value)


# ---------------------------------------------------------------------------------- zero bytes, encodings


@pytest.mark.parametrize("partial", [False, True])
def test_zeros_a_cut_short_write_left_at_the_end_are_named(partial, tmp_path):
    """A crash or a full disk while a capture was written leaves its end as zero bytes, after whole lines or inside
    the last one. Small files were "the file is binary, not CSV text" (for a file whose header and rows are there to
    see), bigger ones "a row has 1 cells ...: \\x00\\x00\\x00..." with 5,000 NULs in the message."""
    for rows, zeros in ((3, 100), (200, 5000)):
        data = text(make_csv(rows=rows))
        if partial:
            data = data[:-30]  # the last row cut short
        error = error_of(data + b"\x00" * zeros, tmp_path)
        assert (error.row, error.line) == ((rows, rows + 1) if partial else (rows + 1, rows + 2)), str(error)
        assert f"the file ends in {zeros:,} zero bytes" in error.detail, error.detail
        assert "cut short" in error.detail and "\x00" not in str(error), error.detail
        assert "delete this line and everything below it" in error.hint, error.hint


@pytest.mark.parametrize("where", [1, 150])
def test_a_zero_byte_inside_a_row_names_its_line(where, tmp_path):
    """A NUL inside a row (a damaged copy) was "the file is binary, not CSV text" when in the first 4 KB, else
    "non-numeric value '45\\x00.5' where a number is expected", whose hint is about numbers."""
    lines = make_csv(rows=200)
    lines[where] = lines[where].replace(".5,", "\x00.5,", 1)
    error = error_of(text(lines), tmp_path)
    assert (error.row, error.line) == (where, where + 1), str(error)
    assert "this line holds 1 zero byte" in error.detail and "damaged" in error.detail, error.detail
    assert "number" not in error.hint, error.hint


def test_a_utf16_file_joined_to_a_utf8_one_is_named():
    """A UTF-16 export joined below a UTF-8 one: "a row has 1 cells ...: \\x00", for a row further down than the
    first UTF-16 one."""
    data = text(make_csv(rows=200)) + text(make_csv(rows=3)[1:]).decode().encode("utf-16-le")
    error = error_of(data)
    assert (error.row, error.line) == (201, 202), str(error)
    assert "UTF-16" in error.detail and "joined" in error.detail, error.detail
    assert "iconv -f utf-16 -t utf-8" in error.hint, error.hint


def test_a_binary_file_is_still_refused_as_binary():
    """A NUL below a header of feature names is damage to a CSV; a NUL in a first line that is no header is binary."""
    with pytest.raises(DataError, match="the file is binary, not CSV text"):
        read_csv(b"\x01\x02garbage,\x00\x00\nHeader_Length,Rate\n", name="a.csv")
    with pytest.raises(DataError, match="the file is binary, not CSV text"):
        read_csv(b"ELF,header,not,features\n\x00\x00\x00\x01", name="a.csv")


def test_whole_files_in_another_form_are_named_or_read():
    """Already right before this hunt (kept so): a gzip file named .csv, a UTF-16 file (with and without its byte
    order mark), and CRLF line endings mixed with LF ones (read as they are)."""
    lines = make_csv(rows=3)
    with pytest.raises(DataError, match="gzip-compressed, not CSV text"):
        read_csv(gzip.compress(text(lines)), name="capture.csv")
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        with pytest.raises(DataError, match="UTF-16 encoded"):
            read_csv(text(lines).decode().encode(encoding), name="capture.csv")
    mixed = text(lines[:2], "\r\n") + text(lines[2:])
    assert read_csv(mixed, name="capture.csv").X.tolist() == read_csv(text(lines), name="capture.csv").X.tolist()


# ---------------------------------------------------------------------------------- other rows


def test_a_row_of_another_delimiter_is_named():
    """A semicolon-separated export joined below a comma-separated one: "a row has 1 cells ... stray delimiters"."""
    data = text(make_csv(rows=2)) + text([line.replace(",", ";") for line in make_csv(rows=2)[1:]])
    error = error_of(data)
    assert (error.row, error.line) == (3, 4)
    assert "separated by ';', the header's by ','" in error.detail, error.detail


def test_a_dos_end_of_file_mark_is_named():
    """Old DOS and Windows tools end a text file with Ctrl+Z (0x1A): "a row has 1 cells ...: \\x1a"."""
    error = error_of(text(make_csv(rows=3)) + b"\x1a")
    assert (error.row, error.line) == (4, 5)
    assert "end-of-file mark (Ctrl+Z" in error.detail and "delete that last line" in error.hint, str(error)
