"""Reading CICIoMT2024 CSVs into validated float32 matrices.

Files are parsed by pyarrow's multi-threaded CSV reader straight into float32 columns
(no Python loop per row). A folder in the official layout (``DIR/train/*.csv``,
``DIR/test/*.csv``), single files and file-like uploads are all read the same way.

Labels come from a label column when the file has one (common spellings accepted),
otherwise from the official file name. Which one was used is recorded per file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import DataError, FilesError, LayoutMismatchError
from .limits import Limits, check_columns, check_line_length, check_rows, check_size
from .paths import name_text
from .preprocess import IMPLAUSIBLE
from .schema import (
    FEATURES_V1,
    FEATURES_V2,
    LabelColumnError,
    Layout,
    SchemaError,
    detect_layout,
    find_label_column,
    label_like_columns,
    normalise_column,
)
from .taxonomy import CLASSES_19, LABEL_NAMES, class_from_filename, coarse_code_of, known_for_task, label_from_text
from .words import counted, noun_for

Source = str | os.PathLike | bytes | BinaryIO

#: Every feature name of either release.
_ALL_FEATURES = frozenset(FEATURES_V1 + FEATURES_V2)

#: Code used in ``Dataset.y`` for rows without a known label.
UNLABELLED = -1

_DELIMITERS = (",", ";", "\t", "|")
#: Cell texts read as missing (pyarrow's list without its NaN spellings: a cell holding NaN is a value, not empty;
#: a row whose every cell is missing is left out, :func:`without_empty_rows`).
NULL_VALUES = [v for v in pacsv.ConvertOptions().null_values if v.lstrip("-").lower() != "nan"]


@dataclass(frozen=True)
class FileSummary:
    """What was read from one file."""

    name: str
    rows: int
    label_source: str | None  # "file name", "column 'label'", or None when unlabelled
    label: str | None  # the file's class when it comes from the file name
    expected_rows: int | None = None  # official row count, where the name is an official file
    nonfinite_cells: int = 0  # inf, NaN or beyond ±1e15 cells as read (repaired later, never dropped)
    blank_labels: int = 0  # rows of a label column whose cell is blank: true class unknown
    label_column: str | None = None  # the column the class is read from, when it is read from one
    #: Each row on a line of its own below the header (line 1): row N starts on line N + 1 (no blank line, empty
    #: row or quoted cell across lines between rows; :func:`_rows_are_lines`).
    rows_are_lines: bool = False
    #: ``(row, line)``: the line of the file the first rows whose labels say only a family or only ``Attack`` start
    #: on (:meth:`Dataset.too_coarse` names them), found as the loader's errors find their line (:func:`line_of_row`).
    coarse_lines: tuple[tuple[int, int], ...] = ()

    @property
    def complete(self) -> bool | None:
        """Whether the file has the official number of rows (None when unknown)."""
        return None if self.expected_rows is None else self.rows == self.expected_rows


@dataclass
class Dataset:
    """Rows of one layout: features, 19-class codes and where each row came from.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features), float32
        Features in ``layout.features`` order, as read (``inf``/``NaN`` not yet repaired).
    y : ndarray of shape (n_rows,), int8
        Label code: an index into ``CLASSES_19``, or, for a label naming only an attack family or ``Attack``,
        into ``taxonomy.LABEL_NAMES`` past the 19 (``taxonomy.FAMILY_CODES``, ``ATTACK_CODE``); ``UNLABELLED``
        (-1) where the label is unknown.
    source : ndarray of shape (n_rows,), int32
        Index into ``files`` of the file each row came from.
    files : list of FileSummary
    layout : Layout
    """

    X: np.ndarray
    y: np.ndarray
    source: np.ndarray
    files: list[FileSummary]
    layout: Layout
    notes: list[str] = field(default_factory=list)
    #: Row number of each row in its file (1-based, as error messages count them) where the rows are a sample of
    #: their files' (``subset``, ``cap_rows_per_class``); None where they are every row of each file, in order.
    file_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def labelled(self) -> bool:
        """True when every row has a label."""
        return bool(len(self.y)) and bool((self.y != UNLABELLED).all())

    def class_counts(self) -> dict[str, int]:
        """Rows per label present: the 19 classes, or a family or ``Attack`` where a label says no more
        (unlabelled rows are left out)."""
        codes, counts = np.unique(self.y[self.y != UNLABELLED], return_counts=True)
        return {LABEL_NAMES[c]: int(n) for c, n in zip(codes, counts)}

    def too_coarse(self, task: int) -> tuple[int, str, int, str] | None:
        """Where labels say less than ``task`` needs (a family for 19 classes; ``Attack`` for 6 or 19): how many
        rows, and the first one's file, row in its file (1-based) and label; None where every label says enough."""
        coarse = (self.y != UNLABELLED) & ~known_for_task(self.y, task)
        if not coarse.any():
            return None
        first = int(np.flatnonzero(coarse)[0])
        row = int(self.row_in_file(first))
        return int(coarse.sum()), self.files[self.source[first]].name, row, LABEL_NAMES[self.y[first]]

    def line_in_file(self, file: str, row: int) -> int | None:
        """The line of ``file`` (a name in ``files``; 1: the header) that its data row ``row`` starts on, where
        known from its reading: any row of a file with each row on a line of its own, else the rows
        :meth:`too_coarse` names (their lines recorded as the file was read); None otherwise."""
        summary = next((f for f in self.files if f.name == file), None)
        if summary is None or row < 1:
            return None
        if summary.rows_are_lines:
            return row + 1
        return dict(summary.coarse_lines).get(row)

    def where(self, file: str, row: int) -> str:
        """``file``'s data ``row`` in words, with the file's line it starts on where known (:meth:`line_in_file`),
        as :class:`~core.errors.DataError` says it: ``"a.csv, row 4 (line 7 of the file)"``."""
        line = self.line_in_file(file, row)
        return f"{file}, row {row}" + (f" (line {line} of the file)" if line else "")

    def row_in_file(self, index: np.ndarray | int | slice = slice(None)) -> np.ndarray:
        """Row numbers in their files (1-based) of the rows at ``index``: those of the files' own rows where these
        are a sample of them (``file_rows``), else counted in order within each file."""
        if self.file_rows is not None:
            return self.file_rows[index]
        at = np.arange(len(self.source))[index]
        if len(self.source) < 2 or bool((np.diff(self.source) >= 0).all()):  # each file's rows together, as read
            return at - np.searchsorted(self.source, self.source[at], side="left") + 1
        rows = np.empty(len(self.source), dtype=np.int64)
        for i in np.unique(self.source):
            where = np.flatnonzero(self.source == i)
            rows[where] = np.arange(1, len(where) + 1)
        return rows[index]

    def subset(self, index: np.ndarray) -> Dataset:
        """Rows at ``index`` (a sorted integer or boolean index), other fields shared; each keeps its row number in
        its file (``file_rows``)."""
        return replace(self, X=self.X[index], y=self.y[index], source=self.source[index], notes=list(self.notes),
                       file_rows=self.row_in_file(index))  # fmt: skip


@lru_cache(maxsize=1)
def official_row_counts() -> dict[str, int]:
    """Row counts of the 72 official files of the 45-feature release, by file name."""
    table = Path(__file__).with_name("official_files.tsv").read_text().splitlines()
    counts = {}
    for line in table:
        path, rows = line.split("\t")
        counts[Path(path).name] = int(rows)
    return counts


def _read_bytes(source: Source, name: str | None, limits: Limits | None = None) -> tuple[bytes | str, str]:
    """Return something pyarrow can read (a path or bytes) and a display name.

    The size limit is checked before anything is read (file system size, upload length)."""
    limits = limits or Limits.from_env()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataError("file not found", file=str(path), hint="check the path")
        if path.is_dir():
            raise DataError(
                "is a folder, not a CSV file",
                file=str(path),
                hint=f"pass the CSV files, or a glob such as {path}/*.csv",
            )
        check_size(path.stat().st_size, name or name_text(path.name), limits)
        return str(path), name or name_text(path.name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        check_size(len(source), name or "upload.csv", limits)
        return bytes(source), name or "upload.csv"
    display = name or getattr(source, "name", None) or "upload.csv"
    size = getattr(source, "size", None)
    if size is None and hasattr(source, "seek") and hasattr(source, "tell"):
        try:
            here = source.tell()
            size = source.seek(0, os.SEEK_END) - here
            source.seek(here)
        except (OSError, ValueError):
            size = None
    if size is not None:
        check_size(int(size), display, limits)
    data = source.read(limits.max_bytes + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    check_size(len(data), display, limits)
    return data, display


def _head(data: bytes | str, size: int = 65536) -> bytes:
    if isinstance(data, bytes):
        return data[:size]
    with open(data, "rb") as fh:
        return fh.read(size)


def header_layout(head: bytes, name: str = "upload.csv") -> Layout | None:
    """The release of a CSV from its first bytes (its header), or None when the header is not one of them.

    Cheap (the file is not parsed): for choosing a model before the file is read. Reading the file still
    checks everything and says what is wrong."""
    try:
        columns, _ = _parse_header(head, name)
        return detect_layout(_feature_columns(columns))
    except (DataError, SchemaError, LabelColumnError):
        return None


def _feature_columns(columns: list[str]) -> list[str]:
    """The header's columns other than label-like ones (the label column, and any other it wins over)."""
    find_label_column(columns)  # several label-like columns, none named 'label': refused
    ignored = set(label_like_columns(columns))
    return [c for c in columns if c not in ignored]


#: Leading bytes of files that are often picked by mistake instead of a CSV: what they are.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one too)", "unzip it / save the sheet as CSV"),
    (b"PK\x05\x06", "an empty zip archive", "pick the .csv file of the flows"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip FILE.csv.gz)"),
    (b"BZh", "bzip2-compressed", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first (unxz)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it first (unzstd)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the .csv file first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office file", "save the sheet as CSV (UTF-8)"),
    (b"PAR1", "a Parquet file", "export it as CSV"),
    (b"%PDF", "a PDF document", "pick the .csv file of the flows"),
    (b"\xd4\xc3\xb2\xa1", "a packet capture (.pcap), not the flow CSV made from it", "pick the .pcap.csv file"),
    (b"\xa1\xb2\xc3\xd4", "a packet capture (.pcap), not the flow CSV made from it", "pick the .pcap.csv file"),
    (b"\x0a\x0d\x0d\x0a", "a packet capture (.pcapng), not the flow CSV made from it", "pick the .pcap.csv file"),
)


def _looks_like_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<!--", b"<svg"))


def _utf16_without_bom(head: bytes) -> bool:
    """Text in UTF-16 without a byte-order mark: mostly ASCII with a NUL at every other byte."""
    sample = head[:400]
    if len(sample) < 8:
        return False
    for zeros, text in ((sample[1::2], sample[0::2]), (sample[0::2], sample[1::2])):
        if zeros.count(0) >= 0.9 * len(zeros) and sum(9 <= b < 127 for b in text) >= 0.9 * len(text):
            return True
    return False


def _refuse_non_csv(head: bytes, name: str) -> None:
    """Refuse a file whose first bytes show it is no CSV text (an archive, compressed, a workbook, binary)."""
    for magic, what, hint in _MAGIC:
        if head.startswith(magic):
            raise DataError(f"the file is {what}, not CSV text", file=name, hint=hint)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(head):
        raise DataError("the file is UTF-16 encoded; expected UTF-8 text", file=name, hint="save it again as UTF-8 CSV")
    if _looks_like_html(head):
        raise DataError(
            "the file is an HTML or XML page, not CSV (perhaps a web page saved instead of the download)",
            file=name,
            hint="download the CSV file itself",
        )
    if b"\x00" in head[:4096] and not _names_features(head.split(b"\n", 1)[0]):
        # A NUL below a header of feature names is damage to a CSV (zeros left by a cut-short write, a UTF-16 file
        # joined to it): the parse names its line (_nul_error), which "binary, not CSV text" did not.
        raise DataError("the file is binary, not CSV text", file=name, hint="pick the .csv file of the flows")


def _names_features(line: bytes) -> bool:
    """Whether ``line`` is text whose cells (split at its most frequent delimiter) are mostly feature names."""
    if b"\x00" in line:
        return False
    text = line.decode("latin-1")
    cells = [normalise_column(c) for c in text.split(max(_DELIMITERS, key=text.count))]
    return len(cells) > 1 and sum(c in _ALL_FEATURES for c in cells) > len(cells) // 2


def _parse_header(head: bytes, name: str, limits: Limits | None = None) -> tuple[list[str], str]:
    if not head.removeprefix(b"\xef\xbb\xbf").strip():  # Excel's "CSV UTF-8" of an empty sheet: its BOM alone
        raise DataError("the file is empty", file=name, hint="export the flows again, or pick another file")
    _refuse_non_csv(head, name)
    above = re.match(rb"(?:[ \t]*\r?\n)+", head.removeprefix(b"\xef\xbb\xbf"))
    if above:  # the readers take the first line for the header
        blank = counted(above.group().count(b"\n"), "blank line")
        raise DataError(
            f"the file starts with {blank}, not with the header",
            file=name,
            row=0,
            hint=f"delete the {blank} above the header, so that the file starts with the feature names",
        )
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    if "\r" in first:
        raise DataError(
            "the lines end in a carriage return only (old Mac line endings), so the file reads as one long line",
            file=name,
            hint="save it again as CSV with Windows or Unix line endings (or: tr '\\r' '\\n' < FILE > FIXED.csv)",
        )
    if first.strip().lower().startswith("sep=") and len(first.strip()) <= 5:
        raise DataError(
            f"the first line is Excel's delimiter line {first.strip()!r}, not the header",
            file=name,
            hint="delete that first line, so that the file starts with the feature names",
        )
    delimiter = max(_DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        raise DataError(
            "the first line is not a CSV header (no comma, semicolon or tab found)",
            file=name,
            row=0,
            hint="the file must start with the feature names, e.g. 'Header_Length,Protocol Type,...'",
        )
    check_columns(first.count(delimiter) + 1, name, limits or Limits.from_env())
    columns = [normalise_column(c) for c in first.split(delimiter)]
    if len(columns) > 1 and not columns[-1]:  # not a spreadsheet's row numbers: they are the first column
        last = next((c for c in reversed(columns) if c), "")
        raise DataError(
            f"the header ends with {delimiter!r}: a column with no name after its last one, {last!r}",
            file=name,
            row=0,
            hint=f"most likely every line ends with {delimiter!r}: delete it at the end of every line (the header's "
            "and the rows'), or export the file again without it",
        )
    return columns, delimiter


def _empty_rows(table: pa.Table | pa.RecordBatch, trimmed: Sequence[str] | None = None) -> np.ndarray | None:
    """Boolean mask of the rows whose every cell is empty (missing, or blank text), None when there are none.

    Such rows (Excel writes ``,,,,`` lines below the data) are left out like blank lines and not counted in row
    numbers. A number column without a missing cell rules them out at once (the usual case: nothing scanned).
    ``trimmed``: the text columns whose cells of spaces count as blank (default: every text column); the others
    must be missing, as a number column's cells must be to be empty (a cell of spaces there is not a number).
    """
    import pyarrow.compute as pc

    columns = [table.column(i) for i in range(table.num_columns)]
    if not columns or any(c.null_count == 0 and not pa.types.is_string(c.type) for c in columns):
        return None
    mask = None
    for name, c in zip(table.schema.names, columns, strict=True):
        empty = pc.is_null(c)
        if pa.types.is_string(c.type) and (trimmed is None or name in trimmed):
            empty = pc.or_(empty, pc.fill_null(pc.equal(pc.utf8_trim_whitespace(c), ""), False))
        mask = empty if mask is None else pc.and_(mask, empty)
    out = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)
    return out if out.any() else None


def without_empty_rows(table: pa.Table, offset: int = 0) -> tuple[pa.Table, np.ndarray]:
    """``table`` less its rows whose every cell is empty (:func:`_empty_rows`), and where those were: for each, the
    rows before it that are kept, plus ``offset`` (the rows kept before ``table``, where it is a block of a file)."""
    empty = _empty_rows(table)
    if empty is None:
        return table, np.empty(0, dtype=np.int64)
    at = np.flatnonzero(empty)
    return table.filter(pa.array(~empty)), offset + at - np.arange(len(at))


def ignored_label_columns(name: str, columns: list[str], label_col: str | None) -> list[str]:
    """Notes on the label-like columns of a header other than the one the class is read from (not read)."""
    return [f"{name}: column {c!r} not read (the class comes from column {label_col!r})"
            for c in label_like_columns(columns) if c != label_col]  # fmt: skip


def blank_labels_note(name: str, label_col: str, blank: int, rows: int) -> str:
    """The note on the rows of a file whose label cell is blank (scored, with their true class unknown)."""
    return f"{name}: {counted(blank, 'row')} of {rows:,} with a blank label in column {label_col!r}: true class unknown"


def empty_rows_note(name: str, after: Sequence[int]) -> str:
    """The note on the empty rows :func:`without_empty_rows` left out of a file (``after``: where they were)."""
    runs = Counter(int(a) for a in after)  # in file order
    where = [f"{k:,} after {'the header' if a == 0 else f'row {a:,}'}" for a, k in list(runs.items())[:5]]
    return (f"{name}: {counted(len(after), 'empty row')} (every cell blank) left out like blank lines, not counted "
            f"in row numbers: {', '.join(where)}{' ...' if len(runs) > 5 else ''}")  # fmt: skip


def _first_row_where(
    data: bytes | str, columns: list[str], delimiter: str, test: Callable[[pa.RecordBatch], np.ndarray]
) -> tuple[int, pa.RecordBatch, int] | None:
    """The first row for which ``test`` holds, streamed (only called after a parse error): its row number (blank lines
    and empty rows not counted, as everywhere), its batch and its index in the batch; None when none is found.

    The columns read (features and label) come as text, decoded as latin-1 so that any byte reads (:func:`_raw`
    gives the bytes back), empty cells as missing; ``test`` gives a boolean mask of a batch's rows.
    """
    counted_rows = 0
    try:
        label = find_label_column(columns)
        read = _feature_columns(columns) + ([label] if label else [])
        with _csv_input(data) as src:
            reader = pacsv.open_csv(
                src,
                read_options=pacsv.ReadOptions(
                    column_names=columns, skip_rows=1, use_threads=False, encoding="latin-1"
                ),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=pacsv.ConvertOptions(
                    include_columns=read,
                    column_types=dict.fromkeys(read, pa.string()),
                    strings_can_be_null=True,
                    null_values=NULL_VALUES,
                ),
            )
            for batch in reader:
                # Feature cells of spaces are not empty here, as they are not in the parse that failed on them.
                empty = _empty_rows(batch, trimmed=[label] if label else [])
                empty = np.zeros(batch.num_rows, bool) if empty is None else empty
                hit = np.flatnonzero(np.asarray(test(batch), dtype=bool) & ~empty)
                if len(hit):
                    i = int(hit[0])
                    return counted_rows + i + 1 - int(empty[:i].sum()), batch, i
                counted_rows += batch.num_rows - int(empty.sum())
    except (pa.ArrowInvalid, KeyError, LabelColumnError):
        pass
    return None


def _raw(text: str | None) -> bytes:
    """A cell's bytes as they are in the file (read as latin-1 by :func:`_first_row_where`)."""
    return (text or "").encode("latin-1")


def _find_first_bad_cell(
    data: bytes | str, columns: list[str], read: Sequence[str], delimiter: str
) -> tuple[int, str, str] | None:
    """The row, column and text of the first cell that is not a number among the columns ``read`` as numbers (only
    called after a parse error): the first such row of the file, and in it the leftmost such cell, whichever cell
    pyarrow's conversion threads happened to report."""
    import pandas as pd

    wanted = set(read)
    order = [c for c in columns if c in wanted]

    def bad_in(batch: pa.RecordBatch, column: str) -> np.ndarray:
        text = batch.column(column).to_pandas()
        stripped = text.str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        out = numeric.isna() & text.notna()  # a cell of spaces only is not empty: pyarrow cannot read it as a number
        return (
            out & ~stripped.str.lower().isin(["nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity"])
        ).to_numpy()

    def bad(batch: pa.RecordBatch) -> np.ndarray:
        out = np.zeros(batch.num_rows, dtype=bool)
        for column in order:
            out |= bad_in(batch, column)
        return out

    found = _first_row_where(data, columns, delimiter, bad)
    if found is None:
        return None
    row, batch, i = found
    one = batch.slice(i, 1)
    column = next(c for c in order if bad_in(one, c)[0])
    return row, column, _raw(batch.column(column)[i].as_py()).decode("utf-8", errors="backslashreplace")


def _find_non_utf8_cell(data: bytes | str, columns: list[str], delimiter: str) -> tuple[int, str, str] | None:
    """The row, column and text (undecodable bytes as ``\\xe9``) of the first cell that is not UTF-8 text."""

    def not_utf8(text: str | None) -> bool:
        try:
            _raw(text).decode("utf-8")
            return False
        except UnicodeDecodeError:
            return True

    def bad(batch: pa.RecordBatch) -> np.ndarray:
        import pyarrow.compute as pc

        out = np.zeros(batch.num_rows, dtype=bool)
        for column in batch.columns:
            for i in np.flatnonzero(~np.asarray(pc.fill_null(pc.string_is_ascii(column), True))):
                out[i] |= not_utf8(column[int(i)].as_py())
        return out

    found = _first_row_where(data, columns, delimiter, bad)
    if found is None:
        return None
    row, batch, i = found
    name = next(n for n, c in zip(batch.schema.names, batch.columns, strict=True) if not_utf8(c[i].as_py()))
    return row, name, _raw(batch.column(name)[i].as_py()).decode("utf-8", errors="backslashreplace")


def _records(data: bytes | str, columns: list[str], delimiter: str, read: Sequence[str],
             label_col: str | None = None) -> Iterator[tuple[int | None, int, list[str]]]:  # fmt: skip
    """The records below the header, as the readers count rows: ``(row, line, cells)`` for each, ``row`` its data row
    number (1-based), or None for a row whose every read cell (``read``, the columns parsed) is missing (left out,
    not counted), and ``line`` the file's line it starts on (1: the header). Blank lines are skipped, and a quoted
    cell may span lines; cells are read as latin-1 (every byte a character). Only called for an error (a scan)."""
    import csv
    import io

    nulls = set(NULL_VALUES)
    index = [i for i, c in enumerate(columns) if c in set(read)]
    label = columns.index(label_col) if label_col in columns else None

    def empty(cells: list[str]) -> bool:
        return len(cells) == len(columns) and all(
            cells[i] in nulls or (i == label and not cells[i].strip()) for i in index
        )

    fh = (
        open(data, encoding="latin-1", newline="")
        if isinstance(data, str)
        else io.StringIO(bytes(data).decode("latin-1"), newline="")
    )
    with fh:
        reader = csv.reader(fh, delimiter=delimiter)
        next(reader, None)  # the header
        counted_rows, start = 0, reader.line_num + 1
        for cells in reader:
            if cells:
                if empty(cells):
                    yield None, start, cells
                else:
                    counted_rows += 1
                    yield counted_rows, start, cells
            start = reader.line_num + 1


def line_of_row(data: bytes | str, row: int, columns: list[str], delimiter: str, read: Sequence[str],
                label_col: str | None = None) -> int | None:  # fmt: skip
    """The line of the file (1: the header) that data row ``row`` starts on, or None where it cannot be told.

    Counted as the readers count rows: blank lines and rows whose every read cell (``read``, the columns parsed)
    is missing are not data rows, and a quoted cell may span lines. Only called for an error's row (a scan of the
    file up to it)."""
    import csv

    if row < 1:
        return None
    try:
        for number, line, _ in _records(data, columns, delimiter, read, label_col):
            if number == row:
                return line
    except (OSError, csv.Error, UnicodeError):
        return None
    return None


def _rows_are_lines(data: bytes | str, rows: int, tail_bytes: int = 1 << 16) -> bool:
    """Whether each of the ``rows`` data rows is one line below the header (line 1), so that row N starts on line
    N + 1: as many lines below it as rows, blank lines at the end left out (the parser skips them too). A blank line
    or an empty row between rows, a quoted cell across lines, or lines ended by a lone carriage return: False."""
    if isinstance(data, str):
        try:
            newlines = _count_newlines(data)
            with open(data, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - tail_bytes))
                tail = fh.read()
        except (OSError, ValueError):  # not a regular file (a pipe, say): not told
            return False
    else:
        whole = bytes(data)
        newlines, tail, size = whole.count(b"\n"), whole[-tail_bytes:], len(whole)
    kept = tail.rstrip(b"\r\n")
    if not kept and size > len(tail):  # a tail of line ends only: not told here
        return False
    return newlines - tail[len(kept) :].count(b"\n") == rows


def at_its_line(error: DataError, data: bytes | str, columns: list[str], delimiter: str, read: Sequence[str],
                label_col: str | None = None) -> DataError:  # fmt: skip
    """``error`` with the file's line its row starts on (:func:`line_of_row`), or itself where it names no data row."""
    if not error.row or error.line is not None:
        return error
    return error.at_line(line_of_row(data, error.row, columns, delimiter, read, label_col))


def _find_ragged_row(
    data: bytes | str, columns: list[str], delimiter: str, read: Sequence[str], label_col: str | None = None
) -> tuple[int, int, list[str]] | None:
    """The first record whose cell count differs from the header's (only called after a parse error): its data row
    (1 = the first after the header, counted as every error counts rows, :func:`_records`), its line in the file
    and its cells; None where none is found."""
    import csv

    try:
        for number, line, cells in _records(data, columns, delimiter, read, label_col):
            if len(cells) != len(columns):
                return number, line, cells
    except (OSError, csv.Error, UnicodeError):
        return None
    return None


#: How to join CSV files: the first file's header only, and every file's last line ended (awk ends a last line that
#: lacks its newline, where cat runs it together with the next file's first line).
JOIN_COMMAND = "awk 'NR == 1 || FNR > 1' FIRST.csv SECOND.csv > JOINED.csv"


def _another_header(names: list[str], columns: list[str]) -> tuple[str, str | None]:
    """What the header line of another file (``names``) found among a file's rows is, `` (v1 release, 45 features)``
    where its release is known, and the advice on joining where it is not the release of the file's own header."""
    try:
        other = detect_layout(_feature_columns(names))
        this = detect_layout(_feature_columns(columns))
    except (SchemaError, LabelColumnError):
        other = this = None
    what = f" ({other.name} release, {other.n_features} features)" if other else ""
    mixed = other is not None and this is not None and other != this
    advice = (f"this one is of the {other.name} release, the file's of {this.name}: join only files of one release"
              if mixed else None)  # fmt: skip
    return what, advice


def _is_column_name(text: str) -> bool:
    name = normalise_column(text)
    return name in _ALL_FEATURES or bool(label_like_columns([name]))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _run_together(cells: list[str], columns: list[str]) -> DataError | None:
    """The error for a record holding a row and the line below it run together, or None where it is not one.

    ``cat a.csv b.csv`` where ``a.csv`` lacks a final newline joins a's last row and b's first line into one line,
    sharing the cell where a's last value meets b's first: ``...,0.5Header_Length,Protocol Type,...`` (b's header),
    or two rows' worth of cells less one (files joined without their header)."""
    n = len(columns)
    if len(cells) <= n or sum(_is_column_name(c) for c in cells[: n - 1]) > (n - 1) // 2:  # a header line of its own
        return None
    shared = _raw(cells[n - 1]).decode("utf-8", errors="backslashreplace")  # read as latin-1: a BOM is 3 characters
    rest = cells[n:]
    if sum(_is_column_name(c) for c in rest) > len(rest) // 2:
        split = next((k for k in range(1, len(shared)) if _is_column_name(shared[k:])), None)
        value, first = (shared[:split], normalise_column(shared[split:])) if split else (None, None)
        what, advice = _another_header([first or shared, *rest], columns)
        where = (f"the row's last value {value!r} and the header's first name {first!r} share the cell "
                 f"{shared!r}" if split else f"they share the cell {shared!r}")  # fmt: skip
        cut = (f"put a line break between {value!r} and {first!r}, then delete that header line" if split
               else "put a line break where the row ends, then delete the header line")  # fmt: skip
        return DataError(
            f"a row and the header line of another file{what} run together on this line ({where}): a file that "
            "did not end with a newline was probably joined to another (cat FIRST.csv SECOND.csv)",
            hint=(f"{advice}; and " if advice else "") + f"{cut}; or join the files again, keeping the first header "
            f"only and ending every file's last line: {JOIN_COMMAND}",
        )
    if len(cells) == 2 * n - 1 and shared.strip() and not _is_number(shared):
        return DataError(
            f"two rows run together on this line: it has {len(cells)} cells, as two rows of {n} sharing one cell "
            f"({shared!r}, the end of one row and the start of the next): a file that did not end with a newline "
            "was probably joined to another (cat FIRST.csv SECOND.csv)",
            hint=f"put a line break inside {shared!r}, where the first row's last value ends; or join the files "
            "again, ending every file's last line: awk 1 FIRST.csv SECOND.csv > JOINED.csv",
        )
    return None


def _ragged_row_error(
    data: bytes | str, name: str, columns: list[str], delimiter: str, read: Sequence[str], message: str
) -> DataError:
    """The error for a row whose cell count is not the header's (``message``: pyarrow's), saying what the row is
    where it is recognised: a line of spaces, a header line (files joined with ``cat``), a row and the next file's
    first line run together (the first file lacked its final newline), a delimiter at its end, another delimiter,
    a DOS end-of-file mark."""
    label_col = next((c for c in read if c in set(label_like_columns(columns))), None)
    found = _find_ragged_row(data, columns, delimiter, read, label_col)
    row, line, cells = found if found else (None, None, [])
    # pyarrow names the row itself when it parses on one thread ("Row #4003: Expected ..."), counting the header and
    # the blank lines: beside our "row 4001 (line 4003 of the file)" a third number, and on one core only.
    message = re.sub(r"^(CSV parse error: )?Row #\d+: ", r"\1", message)
    counts = re.search(r"Expected (\d+) columns, got (\d+)", message)
    detail = f"a row has {counts.group(2)} cells but the header has {counts.group(1)} columns ({message})"
    hint = ("the file is truncated or has stray delimiters; export it again (a number written with a comma, 1,234 "
            "or 0,5, in a comma-separated file splits into two cells: export numbers without thousands separators "
            "and with a decimal point)")  # fmt: skip
    names = [normalise_column(c) for c in cells]
    joined = _run_together(cells, columns) if found else None
    others = [d for d in _DELIMITERS if d != delimiter and len(cells) == 1 and cells[0].count(d) == len(columns) - 1]
    if joined is not None:
        detail, hint = joined.detail, joined.hint
    elif found and len(cells) == 1 and not cells[0].strip():
        detail = "a line of only spaces or tabs where a flow is expected"
        hint = "delete that line (blank lines are skipped, but a line of spaces is read as a row)"
    elif found and sum(n in _ALL_FEATURES for n in names) > len(names) // 2:
        what, advice = _another_header(names, columns)
        detail = f"the header line of another file{what} is repeated here, where a flow is expected"
        hint = "files joined with cat keep each one's header: " + (
            advice or "delete the header lines below the first"
        ) + ", and join files without their header (tail -n +2 FILE >> JOINED.csv)"  # fmt: skip
    elif found and len(cells) == len(columns) + 1 and not cells[-1].strip():
        detail = f"the row ends with {delimiter!r}: an empty cell after the last column"
        hint = f"delete the {delimiter!r} at the end of every row (the header has none), or export the file again"
    elif others:
        detail = f"this row's cells are separated by {others[0]!r}, the header's by {delimiter!r}"
        hint = (f"a file separated by {others[0]!r} was probably joined to one separated by {delimiter!r}: export "
                "them again with one delimiter, then join them")  # fmt: skip
    elif found and [c.strip() for c in cells] == ["\x1a"]:
        detail = ("an end-of-file mark (Ctrl+Z, byte 0x1A, written by some old DOS and Windows tools) where a flow "
                  "is expected")  # fmt: skip
        hint = "delete that last line (the data above it is fine)"
    return DataError(detail, file=name, row=row, line=line, hint=hint)


def _first_nul(data: bytes | str, step: int = 1 << 20) -> tuple[int, int] | None:
    """The offset of the first NUL byte in the file and the line it is on (1: the header), None where it has none (a
    scan: only called for an error)."""
    if not isinstance(data, str):
        at = bytes(data).find(b"\x00")
        return None if at < 0 else (at, bytes(data).count(b"\n", 0, at) + 1)
    with open(data, "rb") as fh:
        offset, lines = 0, 1
        while chunk := fh.read(step):
            at = chunk.find(b"\x00")
            if at >= 0:
                return offset + at, lines + chunk.count(b"\n", 0, at)
            offset, lines = offset + len(chunk), lines + chunk.count(b"\n")
    return None


def _only_zeros_from(data: bytes | str, offset: int, step: int = 1 << 20) -> int | None:
    """The number of NUL bytes from ``offset`` to the end of the file where every byte there is one (or a line
    break), else None."""
    if not isinstance(data, str):
        tail = bytes(data)[offset:]
        return tail.count(b"\x00") if not tail.strip(b"\x00\r\n") else None
    zeros = 0
    with open(data, "rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(step):
            if chunk.strip(b"\x00\r\n"):
                return None
            zeros += chunk.count(b"\x00")
    return zeros


def _nul_error(data: bytes | str, name: str, columns: list[str], delimiter: str, read: Sequence[str],
               above: int | None = None) -> DataError | None:  # fmt: skip
    """The error for the first record holding a NUL byte (``\\x00``, which CSV text never holds), None where there is
    none or it is below line ``above``: what such bytes most likely are, zeros a cut-short write left at the end, or a
    UTF-16 file joined to this UTF-8 one. Only called for a parse error (a scan of the file)."""
    import csv

    first = _first_nul(data)
    if first is None or (above is not None and first[1] > above):
        return None
    at = first[0]
    label_col = next((c for c in read if c in set(label_like_columns(columns))), None)
    try:
        found = next(((row, line, cells) for row, line, cells in _records(data, columns, delimiter, read, label_col)
                      if any("\x00" in c for c in cells)), None)  # fmt: skip
    except (OSError, csv.Error, UnicodeError):
        found = None
    if found is None:
        return None
    row, line, cells = found
    raw = delimiter.join(cells).encode("latin-1")
    zeros = _only_zeros_from(data, at)
    joined = _joined_format(raw)
    if joined is not None:
        what, how = joined
        detail = (f"from this line on, the file is {what}, not CSV text: such a file was probably joined to this one "
                  "(cat joins the bytes of such a file, not rows of CSV)")  # fmt: skip
        example = (": (cat header.csv; zcat rows.csv.gz) > joined.csv," if what == "gzip-compressed" else
                   " once it is CSV,")  # fmt: skip
        hint = f"{how}; then join only CSV text to this file{example} keeping one header line"
    elif zeros is not None:
        detail = (f"the file ends in {zeros:,} zero bytes (NUL, \\x00) from this line on: it was cut short while "
                  "being written or copied (a crash, a full disk or an interrupted copy leaves zeros)")  # fmt: skip
        hint = ("copy or export the file again; or, to keep the rows above, delete this line and everything below it "
                "(the rows above are whole)")  # fmt: skip
    elif _utf16_without_bom(raw):
        detail = ("from this line on the text is UTF-16 (a zero byte beside every character), above it UTF-8: a "
                  "UTF-16 file was probably joined to this one")  # fmt: skip
        hint = "save the UTF-16 file again as UTF-8 (iconv -f utf-16 -t utf-8 FILE.csv > FIXED.csv), then join them"
    else:
        nuls = raw.count(b"\x00")
        detail = (f"this line holds {counted(nuls, 'zero byte')} (NUL, \\x00), which CSV text never holds: the file "
                  "is damaged (an interrupted copy or download?)")  # fmt: skip
        hint = "copy or download the file again, or delete the damaged line"
    return DataError(detail, file=name, row=row or None, line=line, hint=hint)


def _joined_format(raw: bytes) -> tuple[str, str] | None:
    """What a non-CSV file whose bytes begin inside ``raw`` (a line of a CSV) is, and what to do, from its leading
    bytes (:data:`_MAGIC`; gzip's with its method byte, so that two bytes alone do not decide); None for none."""
    for magic, what, hint in _MAGIC:
        key = magic + b"\x08" if magic == b"\x1f\x8b" else magic
        if len(key) >= 3 and key in raw:
            return what, hint
    return None


def display_names(paths: Sequence[str | os.PathLike]) -> list[str]:
    """The name each file goes by in outputs and messages (the ``file`` column of predictions): its file name,
    or, where two of ``paths`` share a file name, each one's path below the folder common to all."""
    paths = [Path(p) for p in paths]
    names = [name_text(p.name) for p in paths]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(p.parent.resolve()) for p in paths]))
    return [name_text(p.resolve().relative_to(common).as_posix()) for p in paths]


def _is_row_index(column: str) -> bool:
    """A header cell of saved row numbers: empty (pandas' ``to_csv`` with its index) or pandas' ``Unnamed: 0``."""
    return not column.strip() or re.fullmatch(r"Unnamed: \d+", column.strip()) is not None


def read_csv(
    source: Source,
    *,
    name: str | None = None,
    require_labels: bool = False,
    layout: Layout | None = None,
    limits: Limits | None = None,
) -> Dataset:
    """Read one CICIoMT2024-shaped CSV into a :class:`Dataset`.

    Parameters
    ----------
    source : path, bytes or binary file-like
        The CSV. File-like objects (e.g. browser uploads) are read whole.
    name : str, optional
        Display name (and label source) for bytes and file-like sources.
    require_labels : bool
        Raise :class:`DataError` when neither a label column nor an official file
        name gives the class.
    layout : Layout, optional
        Expected layout; a file of the other release is refused.
    limits : Limits, optional
        The input limits (default: :meth:`Limits.from_env`); a reader of part of a file lifts the whole-file ones.

    Raises
    ------
    DataError
        Empty file, missing or unexpected columns, several label-like columns none named ``label``, a non-numeric
        or non-UTF-8 cell (with its row), an unrecognised label, or no label (a blank one: with its row) when one
        is required. Rows whose every cell is blank are left out and told in ``notes``, as are blank labels.
    """
    limits = limits or Limits.from_env()
    data, display = _read_bytes(source, name, limits)
    columns, delimiter = _parse_header(_head(data), display, limits)
    if len(set(columns)) != len(columns):
        # A file of only its header, lacking its final newline, joined to another: "...,VarianceHeader_Length,...".
        joint = next((i for i, c in enumerate(columns[1:-2], 1) if c != columns[0] and c.endswith(columns[0])
                      and columns[i + 1 : i + 3] == columns[1:3]), None)  # fmt: skip
        if joint is not None:
            raise DataError(
                f"two header lines run together on the first line (the cell {columns[joint]!r} is the end of one and "
                "the start of the other): a file holding only its header line, without a final newline, was probably"
                " joined to another (cat FIRST.csv SECOND.csv)",
                file=display,
                row=0,
                hint=f"delete the first line up to the {columns[0]!r} inside {columns[joint]!r}, or join the files "
                f"again, keeping the first header only and ending every file's last line: {JOIN_COMMAND}",
            )
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        raise DataError(
            f"duplicate column {noun_for(len(dupes), 'name')} {dupes}",
            file=display,
            row=0,
            hint="each feature must appear once",
        )
    try:
        feature_cols = _feature_columns(columns)
        label_col = find_label_column(columns)
    except LabelColumnError as exc:
        hint = ("keep the one that holds the class and delete the others" if exc.all_label
                else "rename the column that holds the class to 'label'")  # fmt: skip
        raise DataError(str(exc), file=display, row=0, hint=hint) from None
    try:
        found = detect_layout(feature_cols)
    except SchemaError as exc:
        layouts = (f"the {exc.closest.n_features} features of the {exc.closest.name} release" if exc.closest
                   else "the 45 features of the v1 release or the 39 of v2")  # fmt: skip
        hint = f"a CICIoMT2024 CSV has {layouts} (optionally with a 'label' column)"
        if exc.closest and not exc.missing and [_is_row_index(c) for c in exc.unexpected] == [True]:
            hint = ("its column with no name is most likely the row numbers a spreadsheet or pandas saved with the "
                    "table (to_csv without index=False): delete that column, or save the file again without them")  # fmt: skip
        raise DataError(str(exc), file=display, row=0, hint=hint) from None
    if layout is not None and found.name != layout.name:
        raise LayoutMismatchError(
            f"this file has the {found.name} layout ({found.n_features} features) but {layout.name} "
            f"({layout.n_features} features) was expected",
            found=found,
            expected=layout,
            file=display,
            hint="use a model trained on the same release, or files of one release only",
        )
    check_line_length(data, display, limits)
    types = {c: pa.float32() for c in found.features}
    if label_col:
        types[label_col] = pa.string()
    read_options = pacsv.ReadOptions(block_size=parse_block_bytes(limits), column_names=columns, skip_rows=1)
    parse_options = pacsv.ParseOptions(delimiter=delimiter)
    convert_options = pacsv.ConvertOptions(
        column_types=types, include_columns=list(found.features) + ([label_col] if label_col else []),
        null_values=NULL_VALUES,
    )  # fmt: skip
    notes = ignored_label_columns(display, columns, label_col)
    read_cols = convert_options.include_columns
    pieces = _parse_in_pieces(data, found.features, label_col, read_options, parse_options, convert_options,
                              check_rows=lambda rows: check_rows(rows, display, limits))  # fmt: skip
    empty = ()
    if pieces is not None:
        X, label_values = pieces
    else:  # quotes, blank lines, empty rows or a parse error: the whole file at once (errors told with their row)
        try:
            with _csv_input(data) as src:
                # Our own (normalised) names replace the raw header, which may carry spaces or a BOM.
                table = pacsv.read_csv(src, read_options=read_options, parse_options=parse_options,
                                       convert_options=convert_options, memory_pool=arrow_pool())  # fmt: skip
        except pa.ArrowInvalid as exc:
            error = _explain_arrow_error(exc, data, display, columns, delimiter, read_cols)
            raise at_its_line(error, data, columns, delimiter, read_cols, label_col) from None
        table, empty = without_empty_rows(table)  # pieces leave a file holding any to this reader
        if len(empty):
            notes.append(empty_rows_note(display, empty))
        label_values = table.column(label_col) if label_col else None
        # The table's memory is released batch by batch as the matrix fills: peak about one matrix, not two.
        batches, table = table.select(list(found.features)).to_batches(), None
        X = matrix_from_batches(batches, found.n_features, release_to=arrow_pool())
    n = len(X)
    if n == 0:
        only = " (only empty rows, every cell blank)" if len(empty) else ""
        raise DataError(f"the file has a header but no rows{only}", file=display, hint="pick a file with flows in it")
    check_rows(n, display, limits)
    nonfinite = count_nonfinite(X)

    file_label = class_from_filename(display)
    blank = 0
    if label_col:
        try:
            y = _labels_from_column(label_values, display, label_col, required=require_labels)
        except DataError as exc:
            raise at_its_line(exc, data, columns, delimiter, read_cols, label_col) from None
        blank = int(np.count_nonzero(y == UNLABELLED))
        label_source = f"column {label_col!r}" if blank < n else None
        if blank:
            notes.append(blank_labels_note(display, label_col, blank, n))
    elif file_label is not None:
        y = np.full(n, CLASSES_19.index(file_label), dtype=np.int8)
        label_source = "file name"
    else:
        if require_labels:
            raise DataError(
                "no class found: the file has no label column and its name is not an official CICIoMT2024 file name",
                file=display,
                hint="rename it like 'TCP_IP-DDoS-UDP1_train.pcap.csv' or add a 'label' column",
            )
        y = np.full(n, UNLABELLED, dtype=np.int8)
        label_source = None
    coarse_lines = ()
    rows_are_lines = pieces is not None or _rows_are_lines(data, n)  # each row's line is then the next: none kept
    if not rows_are_lines and label_col and bool((y >= len(CLASSES_19)).any()):
        firsts = {int(np.flatnonzero(wanted)[0]) + 1 for task in (6, 19)
                  if (wanted := (y != UNLABELLED) & ~known_for_task(y, task)).any()}  # fmt: skip
        lines = ((row, line_of_row(data, row, columns, delimiter, read_cols, label_col)) for row in sorted(firsts))
        coarse_lines = tuple((row, line) for row, line in lines if line is not None)
    summary = FileSummary(
        name=display,
        rows=n,
        label_source=label_source,
        label=file_label if label_source == "file name" else None,
        # Official row counts are known for the 45-feature release only.
        expected_rows=official_row_counts().get(Path(display).name) if found.name == "v1" else None,
        nonfinite_cells=nonfinite,
        blank_labels=blank,
        label_column=label_col if label_source and label_col else None,
        rows_are_lines=rows_are_lines,
        coarse_lines=coarse_lines,
    )
    return Dataset(X=X, y=y, source=np.zeros(n, dtype=np.int32), files=[summary], layout=found, notes=notes)


def arrow_pool() -> pa.MemoryPool:
    """The memory pool CSV tables are parsed into: pyarrow's default (mimalloc in the Linux wheels).

    Its freed pages stay in the pool for the next allocation, which keeps parsing fast (a pool that returns
    every freed page at once, jemalloc with decay 0, made the parse itself 0.2-0.3 s slower for 1 M rows:
    its temporary buffers were faulted in again block after block). :func:`matrix_from_batches` instead asks
    the pool to return its unused pages as the parsed batches are freed, so a read still peaks below twice
    the float32 matrix.
    """
    return pa.default_memory_pool()


def _csv_input(data: bytes | str) -> pa.NativeFile:
    """A stream over a path (its read buffers from :func:`arrow_pool`) or over bytes."""
    return (
        pa.OSFile(arrow_path(data), "r", memory_pool=arrow_pool()) if isinstance(data, str) else pa.BufferReader(data)
    )


def arrow_path(path: str | os.PathLike) -> bytes:
    """A path as pyarrow opens it: its bytes, for pyarrow encodes a text path as UTF-8 and so could not open a file
    whose name is not (a capture copied from an old share: ``caf\\xe9.csv``, decoded by Python to a lone surrogate)."""
    return os.fsencode(path)


def parse_block_bytes(limits: Limits) -> int:
    """Bytes of CSV pyarrow parses per block: 1 MB (measured for the parse of 1 M rows: 1.2-1.3 CPU-seconds
    against 1.7-1.8 with 16 MB blocks, and more blocks to spread over the cores), or more where the
    line-length limit allows longer lines (a row must fit in one block)."""
    return max(1 << 20, 2 * limits.max_line_bytes)


#: Matrices of at least this many bytes are mapped by :func:`new_matrix` rather than allocated by numpy.
PLAIN_PAGES_BYTES = 4 << 20


def new_matrix(rows: int, columns: int) -> np.ndarray:
    """An uninitialised C-ordered float32 ``(rows, columns)`` matrix for parsed rows.

    A large one is an anonymous private mapping of its own, without the transparent-huge-page hint numpy gives
    its large arrays: on the development machine (a virtual machine) the kernel fills a hinted matrix with
    fresh 2 MB pages on first touch, and zeroing those made a fresh process's read of 1 M rows slower (median
    0.98 s against 0.86 s, 10 runs each taking turns; kernel time 0.07-0.55 s against 0.12-0.17 s). The
    memory is returned when the last array using it goes. Elsewhere (no ``MAP_PRIVATE``): numpy's own.
    """
    import mmap

    nbytes = rows * columns * 4
    if nbytes < PLAIN_PAGES_BYTES or not hasattr(mmap, "MAP_PRIVATE"):
        return np.empty((rows, columns), dtype=np.float32)
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE), dtype=np.float32).reshape(rows, columns)


def count_nonfinite(X: np.ndarray, rows_per_step: int = 65536) -> int:
    """Number of cells of ``X`` that the repair rule replaces: inf, NaN, and cells beyond ±1e15 (taken as inf:
    :data:`core.preprocess.IMPLAUSIBLE`), counted in slabs (no matrix-sized temporary)."""
    count = 0
    for a in range(0, len(X), rows_per_step):  # boolean masks of a slab, one at a time (np.abs made a float copy)
        part = X[a : a + rows_per_step]
        count += int(np.count_nonzero(part > IMPLAUSIBLE))
        count += int(np.count_nonzero(part < -IMPLAUSIBLE))
        count += int(np.count_nonzero(np.isnan(part)))
    return count


def matrix_from_batches(
    batches: list[pa.RecordBatch],
    n_features: int,
    *,
    rows_per_step: int = 16384,
    threads: int | None = None,
    release_to: pa.MemoryPool | None = None,
) -> np.ndarray:
    """Copy float32 record batches into one (n, n_features) C-ordered matrix, emptying ``batches`` as it goes.

    Each batch is dropped from the list once copied, so its memory is freed while the matrix fills; with
    ``release_to`` (the pool the batches live in) the pool is asked every two batches to return its unused
    pages to the system, so that the matrix reuses them (peak about one table, not a table and a matrix).
    Batches are turned row-major by :func:`_copy_batch` on one thread per core (``threads``), each taking the
    next batch not yet taken: 2-4x faster than numpy's column-by-column writes on one thread.
    """
    for batch in batches:
        wrong = [f"{f.name}: {f.type}" for f in batch.schema if f.type != pa.float32()]
        if wrong or batch.num_columns != n_features:
            raise TypeError(f"expected {n_features} float32 columns, got {batch.num_columns} ({', '.join(wrong)})")
    starts = np.cumsum([0] + [b.num_rows for b in batches]).tolist()
    X = np.empty((starts[-1], n_features), dtype=np.float32)
    todo = iter(range(len(batches)))  # ``next`` on it is atomic under the GIL

    def work() -> None:
        for i in todo:
            batch, batches[i] = batches[i], None
            _copy_batch(batch, X, starts[i], rows_per_step)
            batch = None
            if release_to is not None and i % 2:
                release_to.release_unused()

    from .inference import on_threads, worker_count

    on_threads(work, min(threads or worker_count(), len(batches)))
    return X


def _copy_batch(batch: pa.RecordBatch, X: np.ndarray, start: int, rows_per_step: int = 16384) -> None:
    """Write a float32 batch's rows into ``X[start:]``, turned row-major by Arrow itself (``to_tensor``, empty
    cells as NaN) in slabs of ``rows_per_step`` rows that stay in the CPU cache."""
    for a in range(0, batch.num_rows, rows_per_step):
        b = min(a + rows_per_step, batch.num_rows)
        slab = batch.slice(a, b - a).to_tensor(null_to_nan=True, row_major=True)  # default pool: reused
        X[start + a : start + b] = np.asarray(slab)


#: Bytes of CSV one thread parses at a time in :func:`_parse_in_pieces` (measured on 1 M rows, 120 MB: 2 MB
#: pieces beat 8 MB ones, which leave a core idle at the end).
PIECE_BYTES = 2 << 20
#: Bytes scanned per step while counting lines (a step stays in the CPU cache).
_SCAN_BYTES = 1 << 20


def _parse_in_pieces(
    data: bytes | str,
    features: Sequence[str],
    label_col: str | None,
    read_options: pacsv.ReadOptions,
    parse_options: pacsv.ParseOptions,
    convert_options: pacsv.ConvertOptions,
    *,
    check_rows: Callable[[int], None] | None = None,
    piece_bytes: int = PIECE_BYTES,
    threads: int | None = None,
) -> tuple[np.ndarray, pa.ChunkedArray | None] | None:
    """Parse a CSV's rows in pieces of about ``piece_bytes``, one thread per core, each thread parsing a piece on
    its own (pyarrow with ``use_threads=False``) and writing its rows straight into the matrix.

    Against pyarrow's multi-threaded reader followed by a copy into the matrix (1 M rows, fresh processes
    taking turns): the same time within this machine's noise (1.03 s median of 9 for both; the same CPU
    seconds), but no table the size of the matrix is ever held, and the copy of one piece overlaps the parse
    of the next: peak 229-240 MB against 275-293 MB (the float32 matrix: 149 MB).
    Lines are counted first (the matrix is allocated once, at its final size, and each piece knows where its
    rows go); a piece must parse into as many rows as it has lines. Returns ``(X, label column or None)``,
    or None when pieces cannot be trusted or the parse failed (a quote character anywhere, since a quoted
    field may hold a newline; blank lines; rows whose every cell is blank; a bad cell; a path that cannot be
    mapped): the caller then reads the file whole, which leaves out empty rows and reports any error with its row.
    Pages of a mapped file are handed back as they are parsed, so that the mapping does not add the file's size to
    the process's memory.
    """
    import mmap

    from .inference import on_threads, worker_count

    mapping = None
    if isinstance(data, str):
        try:
            with open(data, "rb") as fh:  # the mapping keeps its own handle
                mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # not a regular file (a pipe, say): read it as a stream
            return None
        buf = mapping
    else:
        buf = data
    page = mmap.PAGESIZE

    def drop(a: int, b: int) -> None:
        """Hand back the pages wholly inside ``[a, b)`` (the page cache keeps them; a read faults them in)."""
        a, b = -(-a // page) * page, b // page * page
        if mapping is not None and b > a and hasattr(mmap, "MADV_DONTNEED"):
            mapping.madvise(mmap.MADV_DONTNEED, a, b - a)

    try:
        start = buf.find(b"\n") + 1  # the header line was parsed already (read_options names the columns)
        n = len(buf)
        while n > start and buf[n - 1] in (10, 13):  # blank lines at the end (the parser skips them too)
            n -= 1
        if start == 0 or start >= n:
            return None
        bounds = [start]
        while bounds[-1] < n:
            nl = buf.find(b"\n", bounds[-1] + piece_bytes, n) if bounds[-1] + piece_bytes < n else -1
            bounds.append(n if nl < 0 else nl + 1)
        bytes_ = np.frombuffer(buf, dtype=np.uint8)
        lines = [0] * (len(bounds) - 1)
        quoted = []
        todo = iter(range(len(lines)))

        def count() -> None:
            for i in todo:
                for a in range(bounds[i], bounds[i + 1], _SCAN_BYTES):
                    b = min(a + _SCAN_BYTES, bounds[i + 1])
                    if buf.find(b'"', a, b) >= 0:
                        quoted.append(a)
                    lines[i] += int(np.count_nonzero(bytes_[a:b] == 10))
                    drop(a, b)
                if i == len(lines) - 1:
                    lines[i] += 1  # the last line, its newline left out above

        threads = threads or worker_count()
        on_threads(count, min(threads, len(lines)))
        if quoted:
            return None
        starts = np.cumsum([0, *lines]).tolist()
        if check_rows is not None:
            check_rows(starts[-1])
        X = new_matrix(starts[-1], len(features))
        labels: list[pa.ChunkedArray | None] = [None] * len(lines)
        source = pa.py_buffer(buf)
        # Each piece starts after the header, on one thread (the pieces are what is shared between the cores).
        piece_reading = pacsv.ReadOptions(block_size=read_options.block_size, column_names=read_options.column_names,
                                          use_threads=False)  # fmt: skip
        options = {"read_options": piece_reading, "parse_options": parse_options, "convert_options": convert_options,
                   "memory_pool": arrow_pool()}  # fmt: skip
        failed = []
        todo = iter(range(len(lines)))

        def parse() -> None:
            for i in todo:
                if failed:
                    return
                a, b = bounds[i], bounds[i + 1]
                try:
                    table = pacsv.read_csv(pa.BufferReader(source.slice(a, b - a)), **options)
                except pa.ArrowInvalid:
                    failed.append(i)
                    return
                drop(a, b)
                if table.num_rows != lines[i] or _empty_rows(table) is not None:  # empty rows: the whole-file reader
                    failed.append(i)
                    return
                if label_col:
                    labels[i] = table.column(label_col)
                row = starts[i]
                for batch in table.select(list(features)).to_batches():
                    _copy_batch(batch, X, row)
                    row += batch.num_rows
                table = None

        on_threads(parse, min(threads, len(lines)))
        if failed:
            return None
        column = pa.chunked_array([c for part in labels for c in part.chunks], pa.string()) if label_col else None
        return X, column
    finally:
        bytes_ = source = None
        if mapping is not None:
            try:
                mapping.close()
            except BufferError:  # still exported (an error left a view alive): closed when collected
                pass


def _index_values(arr: pa.Array) -> np.ndarray:
    """Dictionary indices as numpy where there are no nulls: ``Array.to_numpy`` imports pandas (half a second)."""
    if arr.null_count or not pa.types.is_integer(arr.type):
        return arr.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(arr.type) else 'u'}{arr.type.bit_width // 8}")
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * dtype.itemsize)


def _explain_arrow_error(
    exc: pa.ArrowInvalid, data: bytes | str, name: str, columns: list[str], delimiter: str, read: Sequence[str]
) -> DataError:
    """``exc`` as a :class:`DataError` naming the file and, where it can be found, the row and column at fault
    (``read``: the columns the failed parse converted, the features as numbers and the label column)."""
    error = _arrow_error_in_words(exc, data, name, columns, delimiter, read)
    if error.line is None and error.row:
        label_col = next((c for c in read if c in set(label_like_columns(columns))), None)
        error = at_its_line(error, data, columns, delimiter, read, label_col)
    # Zero bytes at or above the fault pyarrow met (which may be a later row: cell counts are checked before values).
    nul = _nul_error(data, name, columns, delimiter, read, above=error.line)
    return error if nul is None or (error.line is not None and nul.line > error.line) else nul


def _arrow_error_in_words(
    exc: pa.ArrowInvalid, data: bytes | str, name: str, columns: list[str], delimiter: str, read: Sequence[str]
) -> DataError:
    msg = str(exc)
    m = re.search(r"CSV column #(\d+)", msg)
    if m and ("invalid UTF8" in msg or "\ufffd" in msg):
        found = _find_non_utf8_cell(data, columns, delimiter)
        row, col, value = found if found else (None, None, None)
        return DataError(
            "not UTF-8 text" + (f" (the cell reads '{value}')" if value is not None else ""),
            file=name,
            column=col,
            row=row,
            hint="save the file as UTF-8 (in Excel: Save as, 'CSV UTF-8'), or convert it (iconv -f latin1 -t utf-8)",
        )
    if "Could not skip initial" in msg and not _head(data).strip().count(b"\n"):
        return DataError("the file has a header but no rows", file=name, hint="pick a file with flows in it")
    if m and "conversion error" in msg:
        col = columns[int(m.group(1))] if int(m.group(1)) < len(columns) else None
        numbers = [c for c in read if c not in set(label_like_columns(columns))]
        row, value = None, None
        found = _find_first_bad_cell(data, columns, numbers, delimiter)
        if found is not None:
            row, col, value = found
        what = f"non-numeric value {value!r}" if value is not None else "a non-numeric value"
        hint = "every feature cell must be a number (inf and NaN are accepted and repaired)"
        if value is not None and normalise_column(value) == col:  # the header again: files joined with cat
            what = f"the header line is repeated here ({value!r})"
            hint = ("files joined with cat keep each one's header: delete the header lines below the first, or join "
                    "files without their header (tail -n +2 FILE >> JOINED.csv)")  # fmt: skip
            return DataError(what, file=name, column=col, row=row, hint=hint)
        if value is not None and not value.strip():
            hint = "the cell holds only spaces: write the number there, or remove the row if it holds no flow"
        elif value is not None and re.fullmatch(r"\s*[-+]?\d{1,3}([,\u00a0 ']\d{3})+(\.\d+)?\s*", value):
            hint = "it looks like a number with thousands separators: export the numbers without them"
        elif value is not None and re.fullmatch(r"\s*[-+]?\d+,\d+\s*", value):
            hint = "it looks like a decimal comma: export the numbers with a decimal point ('1.5', not '1,5')"
        return DataError(f"{what} where a number is expected", file=name, column=col, row=row, hint=hint)
    if re.search(r"Expected \d+ columns, got \d+", msg):
        return _ragged_row_error(data, name, columns, delimiter, read, msg.splitlines()[0])
    return DataError(f"could not parse the CSV: {msg.splitlines()[0]}", file=name, hint="is this really a CSV file?")


def _labels_from_column(
    column: pa.ChunkedArray, name: str, col: str, row_offset: int = 0, *, required: bool = False
) -> np.ndarray:
    """Label codes of a label column's cells: a 19-class code, or the code of an attack family (``DDoS``) or of an
    attack of unknown kind (``Attack``) where the cell says no more (``taxonomy.LABEL_NAMES``); a blank cell is
    ``UNLABELLED`` (true class unknown), or, where labels are ``required`` (training, evaluation), an error naming
    its row, as an unrecognised label is."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    values = encoded.dictionary.to_pylist()
    mapping = np.empty(len(values), dtype=np.int8)

    def first_row(i: int) -> int:
        """The row number of the first cell of value ``i``."""
        return int(np.flatnonzero(_index_values(encoded.indices) == i)[0]) + 1 + row_offset

    for i, v in enumerate(values):
        if v is not None and "\x00" in v:  # read as its letters ('Ben\x00ign' was Benign): the cell is damaged
            raise DataError(
                f"the label cell {v!r} holds {counted(v.count(chr(0)), 'zero byte')} (NUL, \\x00), which CSV text "
                "never holds: the file is damaged (an interrupted copy or download?), and the class it names cannot "
                "be trusted", file=name, column=col, row=first_row(i),
                hint="copy or download the file again, or write the row's class in that cell",
            )  # fmt: skip
        blank = v is None or not v.strip()
        label = None if blank else label_from_text(v)
        coarse = None if blank or label else coarse_code_of(v)
        if blank and not required:
            mapping[i] = UNLABELLED
            continue
        if label is None and coarse is None:
            first = first_row(i)
            if blank:
                what, hint = (
                    "blank label",
                    "training and evaluation need the class of every row: fill it in or remove the row",
                )
            else:
                what = f"unrecognised label {v!r}"
                hint = (f"labels must name one of the 19 classes, e.g. {', '.join(CLASSES_19[:3])} (spellings such "
                        "as 'TCP_IP-DDoS-UDP' or 'ddos_udp' are accepted), an attack family (DDoS, DoS, Recon, "
                        "MQTT, Spoofing) or Attack")  # fmt: skip
            raise DataError(what, file=name, column=col, row=first, hint=hint)
        mapping[i] = CLASSES_19.index(label) if label else coarse
    idx = _index_values(encoded.indices)
    return mapping[idx]


def concat(parts: Sequence[Dataset], *, X: np.ndarray | None = None) -> Dataset:
    """Concatenate datasets of one layout; refuse a mix of releases. ``X``: the parts' rows, already
    concatenated (:func:`read_files` fills one matrix as it reads, so the parts hold no rows of their own)."""
    if not parts:
        raise DataError("no CSV files to read", hint="pass at least one .csv file")
    mix = _mix_of_releases([(p.layout.name, f.name) for p in parts for f in p.files])
    if mix:
        raise mix
    if len(parts) == 1 and X is None:
        return parts[0]
    files: list[FileSummary] = []
    sources = []
    sampled = any(p.file_rows is not None for p in parts)  # each row keeps its number in its file
    for p in parts:
        sources.append(p.source + len(files))
        files.extend(p.files)
    return Dataset(
        X=np.concatenate([p.X for p in parts]) if X is None else X,
        y=np.concatenate([p.y for p in parts]),
        source=np.concatenate(sources).astype(np.int32),
        files=files,
        layout=parts[0].layout,
        notes=[n for p in parts for n in p.notes],
        file_rows=np.concatenate([p.row_in_file() for p in parts]) if sampled else None,
    )


def _mix_of_releases(files: list[tuple[str, str]]) -> DataError | None:
    """The error for files (``(layout name, file name)`` each) of both releases, naming those of each; None if one."""
    layouts = sorted({lay for lay, _ in files})
    if len(layouts) < 2:
        return None
    by_layout = {lay: [name for la, name in files if la == lay] for lay in layouts}
    detail = "; ".join(
        f"{lay}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}" for lay, names in by_layout.items()
    )
    return DataError(
        f"the files mix both CICIoMT2024 releases ({detail})",
        hint="use the files of one release only (v1 has 45 features, v2 has 39)",
    )


def source_names(items: list) -> list[str | None]:
    """Refuse a file given twice; return the name each source goes by (None: the one ``read_csv`` gives it).

    Two paths to one file, or two uploads of the same bytes, would count its flows twice (and, in training,
    put the same rows on both sides of the validation split): refused, naming both. Files that only share a
    name are told apart: paths by their path below a common folder (:func:`display_names`), uploads by
    their place (``capture.csv (2)``). Only uploads of equal size are hashed.
    """
    payloads = [src[1] if isinstance(src, tuple) else src for src in items]
    names = [src[0] if isinstance(src, tuple) else name_text(Path(src).name) if isinstance(src, (str, os.PathLike))
             else "" for src in items]  # fmt: skip
    is_path = [isinstance(p, (str, os.PathLike)) for p in payloads]
    sizes = Counter(len(p) for p in payloads if isinstance(p, (bytes, bytearray, memoryview)))

    def identity(i: int):
        p = payloads[i]
        if is_path[i]:
            return "path", os.path.realpath(p)
        if isinstance(p, (bytes, bytearray, memoryview)) and sizes[len(p)] > 1:
            return "bytes", hashlib.blake2b(p, digest_size=16).digest()
        return None

    first: dict = {}
    for i in range(len(items)):
        key = identity(i)
        if key is None:
            continue
        if key in first:
            a, b = names[first[key]], names[i]
            same = "are the same file" if key[0] == "path" else "hold the same bytes (one capture given twice)"
            raise DataError(f"{a!r} and {b!r} {same}: its flows would be counted twice" if a != b else
                            f"{a!r} is given twice: its flows would be counted twice",
                            hint="remove one of them")  # fmt: skip
        first[key] = i
    out: list[str | None] = [None] * len(items)
    of_paths = Counter(name for name, path in zip(names, is_path, strict=True) if path)
    shared = [i for i in range(len(items)) if is_path[i] and of_paths[names[i]] > 1]
    for i, shown in zip(shared, display_names([payloads[i] for i in shared]), strict=True):
        out[i] = shown
    count, seen = Counter(names), Counter()
    for i, name in enumerate(names):
        if out[i] is None and name and count[name] > 1:
            seen[name] += 1
            out[i] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return out


def read_files(
    sources: Iterable[Source], *, require_labels: bool = False, layout: Layout | None = None, progress=None
) -> Dataset:
    """Read several CSVs (paths, or ``(name, bytes or path)`` pairs) into one dataset of one layout.

    The rows of every file go into one matrix as the files are read, so the peak is about that matrix plus
    one file's rows, not twice the matrix (the full dataset: 8.8 M rows, 1.5 GB as float32). The matrix is
    allocated for the files' newline count (a row takes at least one line, or is the last line), counted
    before reading (0.3 s for the full dataset's train split, 1.1 GB of CSV), and its unused end is never
    touched. Should a file hold more rows than lines after all (it changed meanwhile), the remaining files
    are concatenated at the end instead.

    A file that cannot be read does not stop the others: every file is read, and the errors of all that could
    not be are raised together (:class:`FilesError`; one file's alone, as it was raised), with a mix of both
    releases among the files that could be read, so that they can all be mended at once. A file of the other
    release than ``layout`` is raised at once (the whole set is then of the other release, most likely).
    """
    items = list(sources)
    shown = source_names(items)
    bound = _most_rows(items) if len(items) > 1 else None
    parts: list[Dataset] = []
    errors: list[DataError] = []
    read: list[tuple[str, str]] = []  # (layout, name) of each file read: a mix is named beside the files' errors
    X, filled, spilled = None, 0, False
    for i, src in enumerate(items):
        try:
            if isinstance(src, tuple):
                nm, payload = src
                part = read_csv(payload, name=nm, require_labels=require_labels, layout=layout)
            else:  # a path: errors name it as shown (site1/flows.csv); its label still comes from its file name
                part = read_csv(src, name=shown[i], require_labels=require_labels, layout=layout)
        except LayoutMismatchError:
            raise
        except DataError as exc:
            errors.append(exc)
            if progress:
                progress(i + 1, len(items), exc.file or shown[i] or f"file {i + 1}")
            continue
        read.append((part.layout.name, shown[i] or part.files[0].name))
        if errors:  # read only to find its errors too: its rows are not kept
            if progress:
                progress(i + 1, len(items), part.files[0].name)
            continue
        if shown[i] is not None and part.files[0].name != shown[i]:  # an upload: the label came from its own name
            part = replace(part, files=[replace(part.files[0], name=shown[i])])
        if bound is not None and X is None:
            X = new_matrix(bound, part.X.shape[1])
        same_layout = not parts or part.layout == parts[0].layout
        if X is not None and not spilled and same_layout and filled + len(part) <= len(X):
            X[filled : filled + len(part)] = part.X
            filled += len(part)
            part = replace(part, X=np.empty((0, X.shape[1]), dtype=np.float32))  # its rows are in X now (freed)
        else:
            spilled = True
        parts.append(part)
        if progress:
            progress(i + 1, len(items), parts[-1].files[0].name)
    if errors:
        together = [mix] if (mix := _mix_of_releases(read)) else []
        raise errors[0] if len(errors) == 1 and not together else FilesError(errors, len(items), together)
    if X is None:
        return concat(parts)
    if spilled:
        if len({p.layout.name for p in parts}) > 1:
            return concat(parts)  # refuses the mix of releases, naming the files of each
        # More rows than counted (a file changed meanwhile): the rest is appended.
        return concat(parts, X=np.concatenate([X[:filled], *(p.X for p in parts if len(p.X))]))
    return concat(parts, X=X[:filled])


def _count_newlines(path: str | os.PathLike, step: int = 8 << 20) -> int:
    """Newlines in a file, counted on its mapping by numpy (about 4x faster than reading it into bytes)."""
    import mmap

    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return 0
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            data = np.frombuffer(mm, dtype=np.uint8)
            count = sum(int(np.count_nonzero(data[a : a + step] == 10)) for a in range(0, len(data), step))
            del data
            return count


def _most_rows(sources: Sequence) -> int | None:
    """An upper bound on the rows of all ``sources``: their newlines, plus one per file for a last line without
    one (None when a source is neither a path nor ``(name, bytes or path)``)."""
    total = 0
    for src in sources:
        if isinstance(src, tuple):
            src = src[1]
        if isinstance(src, (bytes, bytearray)):
            total += src.count(b"\n") + 1
        elif isinstance(src, (str, os.PathLike)) and Path(src).is_file():
            total += _count_newlines(src) + 1
        else:
            return None
    return total


#: Endings of compressed CSV files, refused with what to do (files are not decompressed on the fly).
_COMPRESSED = (".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".csv.zst")


def csv_files_in(folder: str | os.PathLike) -> tuple[list[Path], list[str]]:
    """The CSV files directly in ``folder`` (``.csv`` in any case), sorted, and notes on what else it holds.

    Hidden files and folders (a name starting with ``.``, such as the ``._X.csv`` files macOS leaves on shared
    drives) are skipped and counted; other files and subfolders are left out and named (their CSV files are not
    read: subfolders are not searched). One rule for every folder the product lists (:func:`split_files`,
    ``score-many``, ``report``).

    Raises
    ------
    DataError
        A compressed CSV (``.csv.gz``, ``.bz2``, ``.xz``, ``.zip``, ``.zst``): it must be decompressed first.
    """
    folder = Path(folder)
    files, hidden, other = [], 0, []
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if name.startswith("."):
            hidden += 1
        elif name.endswith(".csv") and path.is_file():
            files.append(path)
        elif name.endswith(_COMPRESSED) and path.is_file():
            with open(path, "rb") as fh:
                _refuse_non_csv(fh.read(64), str(path))  # says what it is, and what to do
            raise DataError("a compressed CSV file", file=str(path), hint="decompress it first")
        else:
            other.append(path.name + ("/" if path.is_dir() else ""))
    notes = []
    if other:
        shown = ", ".join(other[:8]) + (f" and {len(other) - 8} more" if len(other) > 8 else "")
        notes.append(f"left out of {folder.name}/: {shown} (not CSV files; subfolders are not searched)")
    if hidden:
        notes.append(f"{counted(hidden, 'hidden file')} in {folder.name}/ skipped (names starting with '.')")
    return files, notes


def split_files(data_dir: str | os.PathLike, split: str, *, notes: list[str] | None = None) -> list[Path]:
    """The CSV files of ``DIR/split`` in sorted order (:func:`csv_files_in`); a clear error when there are none.
    ``notes``: a list to add what else the folder holds to."""
    root = Path(data_dir)
    if root.is_file():
        raise DataError("is a file, not a data folder", file=str(root), hint="pass the folder holding train/ and test/")
    if not root.is_dir():
        raise DataError("data folder not found", file=str(root), hint="pass a folder holding train/ and test/")
    folder = root / split
    files, left_out = csv_files_in(folder) if folder.is_dir() else ([], [])
    if not files:
        hint = (f"a data folder must be in the official layout: {root}/train/*.csv and {root}/test/*.csv "
                "(python -m core demo-data writes one)")  # fmt: skip
        if not folder.is_dir() and csv_files_in(root)[0]:  # CSV files given where their folder's parent is wanted
            hint = (f"this is a split folder itself: give the folder above it, {root.parent}"
                    if root.name.lower() in ("train", "test") else f"it holds CSV files itself: put the training "
                    f"files in {root}/train and the test files in {root}/test (the official layout)")  # fmt: skip
        raise DataError(f"no CSV files in {split}/" + "".join(f"; {note}" for note in left_out), file=str(root),
                        hint=hint)  # fmt: skip
    if notes is not None:
        notes.extend(left_out)
    return files


def load_split(
    data_dir: str | os.PathLike,
    split: str,
    *,
    layout: Layout | None = None,
    max_rows_per_class: int | None = None,
    seed: int = 0,
    progress=None,
) -> Dataset:
    """Read ``DIR/split/*.csv`` (split is ``train`` or ``test``) with labels required.

    ``max_rows_per_class`` caps each class by a seeded random sample (row order kept);
    how many rows were left out is recorded in ``notes``, as are the files of the folder not read.
    """
    left_out: list[str] = []
    files = split_files(data_dir, split, notes=left_out)
    # With a cap, only the rows it keeps are held (_read_capped); where that cannot be done exactly, every row is
    # read and then sampled: the same rows either way.
    capped = _read_capped(files, max_rows_per_class, seed=seed, layout=layout, progress=progress) if (
        max_rows_per_class) else None  # fmt: skip
    ds = read_files(files, require_labels=True, layout=layout, progress=progress) if capped is None else capped[0]
    ds.notes.extend(left_out)
    if partial := partial_files_note(capped[1] if capped else ds, split):
        ds.notes.append(partial)
    if capped is None and max_rows_per_class:
        ds = cap_rows_per_class(ds, max_rows_per_class, seed=seed)
    elif capped is not None and capped[2]:
        ds.notes.append(capped_note(max_rows_per_class, capped[2], len(capped[0]) + capped[2], seed))
    return ds


def partial_files_note(ds: Dataset, split: str) -> str | None:
    """A note when files of ``ds`` (the ``split`` of a data folder) are official files with fewer rows than the
    official ones (a sample, or a copy cut short), or with more (said as such: "only part" of a file of 30,420 rows
    whose official one has 16,047 was wrong); None when none is known to be (row counts are known for v1)."""
    fewer = [f for f in ds.files if f.complete is False and f.rows < f.expected_rows]
    more = [f for f in ds.files if f.complete is False and f.rows > f.expected_rows]
    notes = []
    if fewer:
        f = fewer[0]
        notes.append(f"{len(fewer)} of the {counted(len(ds.files), 'file')} of {split}/ hold only part of the official "
                     f"file of their name (e.g. {f.name}: {f.rows:,} of {f.expected_rows:,} rows): a sample, or a copy "
                     "cut short; scores on it may differ from those on the whole dataset")  # fmt: skip
    if more:
        f = more[0]
        notes.append(f"{len(more)} of the {counted(len(ds.files), 'file')} of {split}/ hold more rows than the official "
                     f"file of their name (e.g. {f.name}: {f.rows:,} rows, the official one {f.expected_rows:,}): not "
                     "the official files (generated data, or files joined together?); scores on them are not those of "
                     "the dataset")  # fmt: skip
    return "; ".join(notes) or None


def has_split(data_dir: str | os.PathLike, split: str) -> bool:
    """Whether ``DIR/split`` holds CSV files (a missing folder and an empty one both do not)."""
    folder = Path(data_dir) / split
    return folder.is_dir() and bool(csv_files_in(folder)[0])


def missing_split_text(data_dir: str | os.PathLike, split: str) -> str:
    """Why ``DIR/split`` gives no rows, in words: no such folder, or no CSV files in it."""
    folder = Path(data_dir) / split
    return f"{folder} has no CSV files" if folder.is_dir() else f"{data_dir} has no {split}/ folder"


def load_test_split(data_dir: str | os.PathLike, train: Dataset, *, progress=None) -> Dataset:
    """``DIR/test`` read in the layout of ``train`` (the rows of ``DIR/train``).

    A test file of the other release is an error that names both folders: the model learns the layout of
    train/, so the trouble may lie in either.
    """
    try:
        return load_split(data_dir, "test", layout=train.layout, progress=progress)
    except LayoutMismatchError as exc:
        root = Path(data_dir)
        raise DataError(
            f"test/ holds files of the {exc.found.name} release ({exc.found.n_features} features) but train/ "
            f"holds the {exc.expected.name} release ({exc.expected.n_features} features)",
            file=str(root / "test" / Path(exc.file or "").name),
            hint=f"{root}/train and {root}/test must hold files of one release of CICIoMT2024: move the other "
            "release's files to a data folder of their own",
        ) from None


def cap_rows_per_class(ds: Dataset, cap: int, *, seed: int = 0) -> Dataset:
    """Keep at most ``cap`` rows of each label code (each of the 19 classes; a family or Attack as one, where labels
    say no more) by a seeded random choice, original order kept."""
    keep, dropped = capped_rows(ds.y, cap, seed=seed)
    if not dropped:
        return ds
    out = ds.subset(keep)
    out.notes.append(capped_note(cap, dropped, len(ds), seed))
    return out


def capped_rows(y: np.ndarray, cap: int, *, seed: int = 0) -> tuple[np.ndarray, int]:
    """The sorted indices of the rows :func:`cap_rows_per_class` keeps of labels ``y``, and how many it leaves out.
    The choice depends on the labels alone (the features are not needed to make it)."""
    rng = np.random.default_rng(seed)
    keep = []
    dropped = 0
    for code in np.unique(y):
        idx = np.flatnonzero(y == code)
        if len(idx) > cap:
            dropped += len(idx) - cap
            idx = np.sort(rng.choice(idx, size=cap, replace=False))
        keep.append(idx)
    return (np.sort(np.concatenate(keep)) if keep else np.empty(0, dtype=np.int64)), dropped


def capped_note(cap: int, dropped: int, rows: int, seed: int) -> str:
    """The note on the rows a cap per class left out."""
    return f"capped at {cap:,} rows per class: {dropped:,} of {rows:,} rows left out (seed {seed})"


class _NotExact(Exception):
    """:func:`_read_capped` cannot take only the capped rows exactly: every row is read instead."""


def _rows_by_lines(path: Path, name: str, layout: Layout | None) -> tuple[int, Layout] | None:
    """Rows and layout of a CSV whose class comes from its file name (no label column), counted from its lines
    without parsing it, where each line below the header is one row (no quote, blank line or lone carriage
    return); None otherwise. A count that parsing does not confirm sends :func:`_read_capped` to the full read."""
    import mmap

    if class_from_filename(name) is None:
        return None
    columns, _ = _parse_header(_head(str(path)), name)
    if find_label_column(columns) is not None:
        return None
    found = detect_layout(_feature_columns(columns))
    if layout is not None and found.name != layout.name:
        return None
    newlines = returns = 0
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start, n = mm.find(b"\n") + 1, len(mm)
        if start == 0 or start == n:
            return None
        data = np.frombuffer(mm, dtype=np.uint8)
        try:  # a step at a time, its pages handed back after it (the mapping does not add the file to the memory)
            for a in range(start, n, _SCAN_BYTES):
                b = min(a + _SCAN_BYTES, n)
                if any(mm.find(s, a, min(b + 2, n)) >= 0 for s in (b'"', b"\n\n", b"\n\r\n")):
                    return None
                newlines += int(np.count_nonzero(data[a:b] == 10))
                returns += int(np.count_nonzero(data[a:b] == 13))
                low, high = a // mmap.PAGESIZE * mmap.PAGESIZE, b // mmap.PAGESIZE * mmap.PAGESIZE
                if high > low and hasattr(mmap, "MADV_DONTNEED"):
                    mm.madvise(mmap.MADV_DONTNEED, low, high - low)
            last = int(data[-1])
        finally:
            data = None
    if returns and returns != newlines:
        return None  # carriage returns other than Windows line ends
    return newlines + (last != 10), found


def _read_capped(files: Sequence[Path], cap: int, *, seed: int, layout: Layout | None,
                 progress=None) -> tuple[Dataset, Dataset, int] | None:  # fmt: skip
    """``load_split``'s files with at most ``cap`` rows of each label, holding only the rows kept (a cap on the
    official files keeps a few thousand of millions of rows: reading them all first took the whole split's memory).

    The rows are those :func:`cap_rows_per_class` chooses on every row read (the choice needs only the labels): the
    rows of a file whose class comes from its name are counted from its lines; other files are read for their labels
    (and kept whole when no larger than the cap). Then each file not kept is read again and only its chosen rows
    kept. Returns (capped rows, the files' rows as read, without features, rows left out), or None where this
    cannot be done exactly (an error, a count that parsing does not confirm, a file changed meanwhile): every row is
    then read and sampled, and errors are told as ever.
    """
    shown = source_names(list(files))
    try:
        counts: list[int] = []
        labels: list[np.ndarray] = []
        kept: list[Dataset | None] = []  # files read whole already (their rows are few)
        layouts = set()
        for i, path in enumerate(files):
            by_lines = _rows_by_lines(Path(path), shown[i] or name_text(Path(path).name), layout)
            if by_lines is not None:
                n, found = by_lines
                code = CLASSES_19.index(class_from_filename(shown[i] or name_text(Path(path).name)))
                counts.append(n)
                labels.append(np.full(n, code, dtype=np.int8))
                kept.append(None)
                layouts.add(found.name)
                continue
            part = read_csv(path, name=shown[i], require_labels=True, layout=layout)
            counts.append(len(part))
            labels.append(part.y)
            kept.append(part if len(part) <= cap else None)
            layouts.add(part.layout.name)
        if len(layouts) != 1:
            raise _NotExact
        y_all = np.concatenate(labels)
        keep, dropped = capped_rows(y_all, cap, seed=seed)
        starts = np.cumsum([0, *counts])
        summaries, notes, X, filled, found = [], [], None, 0, None
        for i, path in enumerate(files):
            part = kept[i] or read_csv(path, name=shown[i], require_labels=True, layout=layout)
            if len(part) != counts[i] or not np.array_equal(part.y, labels[i]):
                raise _NotExact  # a count from lines that parsing did not confirm, or a file changed meanwhile
            local = keep[(keep >= starts[i]) & (keep < starts[i + 1])] - starts[i]
            if X is None:
                found, X = part.layout, new_matrix(len(keep), part.X.shape[1])
            X[filled : filled + len(local)] = part.X[local]
            filled += len(local)
            summaries.extend(part.files)
            notes.extend(part.notes)
            kept[i] = part = None
            if progress:
                progress(i + 1, len(files), summaries[-1].name)
    except (DataError, SchemaError, LabelColumnError, OSError, ValueError, _NotExact):
        return None
    source = np.repeat(np.arange(len(files), dtype=np.int32), counts)
    every = Dataset(X=np.empty((len(y_all), 0), dtype=np.float32), y=y_all, source=source, files=summaries,
                    layout=found, notes=[])  # fmt: skip
    if not dropped:
        return replace(every, X=X, notes=notes), every, 0
    capped = Dataset(X=X, y=y_all[keep], source=source[keep], files=summaries, layout=found, notes=notes,
                     file_rows=keep - starts[source[keep]] + 1)  # fmt: skip
    return capped, every, dropped


def row_hashes(X: np.ndarray, *, block: int = 1 << 16) -> np.ndarray:
    """128-bit hashes of rows at float32 precision, as an (n, 2) uint64 array.

    Used to find test rows that also occur in train. ``-0.0`` and ``0.0`` hash alike. Rows are hashed ``block``
    at a time, so that the memory it takes is that of the hashes (16 bytes a row) and not several copies of ``X``
    (the full training split of 7.2 M rows would take 5 GB more).
    """
    rng = np.random.default_rng(20240101)
    mults = [rng.integers(1, 2**63, size=X.shape[1], dtype=np.uint64) | np.uint64(1) for _ in range(2)]
    out = np.empty((X.shape[0], 2), dtype=np.uint64)
    seven, fifty_seven = np.uint64(7), np.uint64(57)
    for start in range(0, X.shape[0], block):
        part = np.ascontiguousarray(X[start : start + block], dtype=np.float32) + np.float32(0.0)
        bits = np.ascontiguousarray(part.view(np.uint32).T, dtype=np.uint64)  # one feature a row
        h, t = np.empty(len(part), dtype=np.uint64), np.empty(len(part), dtype=np.uint64)
        for k, mult in enumerate(mults):
            h[:] = 0
            for j in range(X.shape[1]):  # h = rotl(h ^ bits * mult, 7), in place
                np.multiply(bits[j], mult[j], out=t)
                h ^= t
                np.right_shift(h, fifty_seven, out=t)
                h <<= seven
                h |= t
            out[start : start + block, k] = h
    return out


def rows_also_in(X: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Boolean mask of rows of ``X`` that also occur (exactly, at float32) in ``reference``."""
    a = row_hashes(X)
    b = row_hashes(reference)
    return np.isin(a[:, 0], b[:, 0]) & np.isin(a[:, 1], b[:, 1])
