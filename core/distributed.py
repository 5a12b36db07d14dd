"""Score many CSV files on a Dask cluster with one saved model (``python -m core score-many``).

The work is cut into byte ranges of bounded size, so that the memory a worker needs does not
depend on how large the input files are:

1. plan (one task per file): the header line and byte ranges of about ``partition_bytes`` each,
   cut just after a newline;
2. count (one task per range): the data rows in the range as ``read_csv`` keeps them (not blank lines, nor rows
   whose every cell read is empty or a missing-value marker), from which each range's first row number follows;
3. score (one task per range): the header is put back in front of the range, the bytes are parsed by
   :func:`core.loading.read_csv` (same validation, layout detection, labels and error messages as
   ``predict``), scored by ``TrainedModel.predict`` and ``Predictions.to_frame``, row numbers shifted
   to the row in the original file, and written as ``DIR/predictions/file=<name>/part-<k>.parquet`` (a range of
   empty rows only, e.g. Excel's ``,,,,`` lines below the data, writes no part).

The Parquet columns are ``predict``'s, row for row: ``file`` comes back from the partition folder when
the dataset is read (:func:`read_predictions`, which reads it as text: a plain ``pandas.read_parquet`` makes
captures named ``0001`` the number 1), and ``true`` is always there (empty
where a file carries no label), so that every part has one schema.

Output files are named by (file, range), never by attempt, and written to a hidden temporary name then
renamed: a task retried after a worker died overwrites its own part instead of adding one. When all
tasks are done, the row count of every file is checked three ways (counted, scored, in the Parquet
footers) before the summary is written to ``DIR/summary.json``.

A run writes into a staging folder ``DIR/.score-many-<host>-<pid>-<id>/`` and moves its ``predictions`` and
``summary.json`` into ``DIR`` only once complete, so that results already there (replaced with
``--overwrite``) survive a run that fails or is interrupted. The staging folder of a run killed outright
(SIGKILL, a power cut) is removed by the next run into ``DIR`` from the same machine.

A run is pinned to the model as it was when the run started: :func:`model_fingerprint` (a hash of
``metadata.json``, which holds the alarm threshold, and the size and modification time of each weights file its
family saves) is taken once, with the metadata the summary reports, and every task carries it. The model is
loaded once per worker process (a worker plugin warms a per-process cache keyed by the model folder and that
fingerprint); tasks carry only the model's path and fingerprint, never the model. A worker that holds the pinned
version keeps scoring with it even if the folder is replaced or deleted meanwhile; a worker that must load it (one
that joined late, or was restarted) and finds another version, or none, fails its ranges with a clean error, never
with another model's predictions. The next run pins the model as it is then, so that long-lived workers (an
external cluster) pick up a model changed between runs.
Inputs, model and output folder must be reachable at the same paths from every worker (a shared
file system when the workers run on other machines).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import CoreError, DataError, ModelFormatError
from .limits import Limits
from .loading import (
    NULL_VALUES,
    _empty_rows,
    _feature_columns,
    _parse_header,
    csv_files_in,
    display_names,
    ignored_label_columns,
)
from .paths import name_text
from .preprocess import IMPLAUSIBLE_TEXT, RepairCounts
from .progress import CountProgress
from .schema import detect_layout, find_label_column
from .taxonomy import BENIGN
from .words import counted, probability_text

log = logging.getLogger(__name__)

#: Bytes of CSV per task. A 64 MiB range of v2 rows is about 200,000 rows; a worker thread needs a
#: few times that in memory while it parses and scores it.
DEFAULT_PARTITION_BYTES = 64 << 20
#: Rows whose confidence (the probability of the predicted class) is below this are counted as low-confidence (the
#: Analyze page's default).
LOW_CONFIDENCE = 0.6
SUMMARY_FILE = "summary.json"
PREDICTIONS_DIR = "predictions"
SUMMARY_VERSION = 1
#: A run writes into ``OUT/.score-many-<host>-<pid>-<id>/`` and moves its results into OUT only when complete.
STAGING_PREFIX = ".score-many-"
_MAX_HEADER_BYTES = 1 << 20


# --------------------------------------------------------------------------- inputs and plan


def parse_size(text: str | int) -> int:
    """Partition bytes from ``"64MB"``, ``"512KiB"``, ``"1GB"`` or a plain number (binary units either way), refused
    (as :func:`score_many` refuses them) under :data:`MIN_PARTITION_BYTES`."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", str(text), flags=re.IGNORECASE)
    if not m:
        raise CoreError(f"partition size {text!r} is not a size", hint="e.g. 64MB, 512KB or 1GB")
    size = int(float(m.group(1)) * 1024 ** " kmg".index(m.group(2).lower() or " "))
    _check_partition(size)
    return size


#: The smallest partition :func:`score_many` cuts files into.
MIN_PARTITION_BYTES = 1024


def _check_partition(size: int) -> None:
    if size < MIN_PARTITION_BYTES:
        raise CoreError(
            f"partition size {size:,} bytes is too small", hint="give --partition-size at least 1KB, e.g. 64MB"
        )


def expand_inputs(inputs: Iterable[str | os.PathLike], *, notes: list[str] | None = None) -> list[Path]:
    """Files, folders (their CSV files, not recursive: :func:`core.loading.csv_files_in`) and glob patterns (``**``
    allowed) to a sorted, de-duplicated list of files. An input that matches nothing is an error. ``notes``: a list
    to add what the folders hold besides CSV files to."""
    found: dict[str, Path] = {}
    for item in inputs:
        text = str(item)
        path = Path(text)
        left_out: list[str] = []
        if path.is_dir():
            matches, left_out = csv_files_in(path)
        elif path.is_file():
            matches = [path]
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not matches:
                raise DataError(
                    "the pattern matched no file",
                    file=text,
                    hint="check the folder and the pattern, and quote the pattern (e.g. 'captures/**/*.csv') so that "
                    "score-many expands it, not the shell",
                )
        else:
            raise DataError("file not found", file=text, hint="pass CSV files, folders of CSV files or glob patterns")
        if not matches:
            raise DataError("no CSV files here" + "".join(f"; {n}" for n in left_out), file=text,
                            hint="a folder must hold *.csv files directly")  # fmt: skip
        if notes is not None:
            notes.extend(left_out)
        for p in matches:
            found.setdefault(str(p.resolve()), p.resolve())
    return sorted(found.values())


def check_out_apart(out_dir: str | os.PathLike, paths: Iterable[Path], option: str = "--out") -> None:
    """Refuse an output folder ``out_dir`` where the run would replace input files (``paths``, those of
    :func:`expand_inputs`): one inside its ``predictions/`` (replaced whole by a run with ``--overwrite``) or a
    staging folder of it. The captures' own folder, or one in or above it, is fine: a run writes there only
    ``predictions/``, ``summary.json`` and its staging folder. Paths are compared resolved (``./data`` is ``data/``)."""
    out = Path(out_dir).resolve()
    for path in map(Path, paths):
        inside = path.resolve().relative_to(out).parts if path.resolve().is_relative_to(out) else ()
        if inside and (inside[0] in (PREDICTIONS_DIR, SUMMARY_FILE) or inside[0].startswith(STAGING_PREFIX)):
            raise CoreError(f"{option} {out_dir}: the input {path} lies in {out / inside[0]}, which score-many "
                            "replaces with its results", hint=f"move the captures out of {out / inside[0]}, or give "
                            f"{option} another folder")  # fmt: skip


@dataclass(frozen=True)
class FilePlan:
    """Header and byte ranges of one input file (ranges cover the body, each ends after a newline)."""

    path: str
    header: bytes
    ranges: tuple[tuple[int, int], ...]
    size: int


def plan_file(path: str, partition_bytes: int = DEFAULT_PARTITION_BYTES) -> FilePlan:
    """Cut a file's body into ranges of about ``partition_bytes``, each ending just after a newline.

    Reads only the header line and one line at each cut. An empty file or a header without rows gives
    one empty range, so that parsing reports the same error as ``predict`` does.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        header = fh.readline(_MAX_HEADER_BYTES)
        if len(header) == _MAX_HEADER_BYTES and not header.endswith(b"\n"):
            raise DataError(
                f"the first line is longer than {_MAX_HEADER_BYTES >> 20} MiB: not a CSV header",
                file=name_text(Path(path).name),
                row=0,
                hint="the file must start with the feature names, e.g. 'Header_Length,Protocol Type,...'",
            )
        ranges = []
        start = len(header)
        while start < size:
            cut = start + partition_bytes
            if cut >= size:
                end = size
            else:
                fh.seek(cut - 1)  # a range that already ends with a newline is cut right there
                fh.readline()
                end = fh.tell()
            ranges.append((start, end))
            start = end
    return FilePlan(path=str(path), header=header, ranges=tuple(ranges) or ((len(header), len(header)),), size=size)


def _read_range(path: str, start: int, end: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


#: Bytes that are no cell's value: delimiters, quotes, blanks and line ends.
_FILLER = np.zeros(256, dtype=bool)
_FILLER[list(b',;|\t "\r\n')] = True


#: Bytes of the cells a number column reads as missing (``NA``, ``#N/A``, ``NULL``...: core.loading.NULL_VALUES).
_MARKER = np.zeros(256, dtype=bool)
_MARKER[list(b"".join(v.encode() for v in NULL_VALUES))] = True


@lru_cache(maxsize=64)
def _row_reader(header: bytes) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions, bool] | None:
    """How :func:`core.loading.read_csv` converts the rows under ``header`` (the columns it reads, their types and
    missing-value markers), and whether the header has columns it does not read; None when it refuses the header
    (the range's parse says why)."""
    try:
        columns, delimiter = _parse_header(header, "range")
        features = _feature_columns(columns)
        label_col = find_label_column(columns)
        found = detect_layout(features)
    except (CoreError, ValueError):  # DataError, LabelColumnError, SchemaError
        return None
    if len(set(columns)) != len(columns):
        return None
    read = [*found.features, *([label_col] if label_col else [])]
    types = {c: pa.float32() for c in found.features} | ({label_col: pa.string()} if label_col else {})
    return (
        pacsv.ReadOptions(column_names=columns),
        pacsv.ParseOptions(delimiter=delimiter),
        pacsv.ConvertOptions(column_types=types, include_columns=read, null_values=NULL_VALUES),
        len(read) < len(columns),
    )


def _line_kinds(body: bytes, header: bytes | None = None) -> tuple[int, int]:
    """``(rows, empty rows)`` of CSV bytes without header: lines with a value in them, and lines that are not blank
    but hold no value (``,,,,``: :func:`core.loading.read_csv` leaves them out, as pyarrow skips blank lines).

    With the file's ``header``, rows are counted as ``read_csv`` keeps them: a line whose every cell it reads is
    missing (``NA,NA,...``, Excel's ``#N/A``, or a value only in a column it does not read) is an empty row too."""
    if not body:
        return 0, 0
    buf = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    lengths = ends - starts
    at = np.minimum(starts, len(buf) - 1)
    # whether a line (with its line end, up to the next line's start) has a byte of a value in it; one byte for each
    # byte of the range, no wider sums
    with_value = np.logical_or.reduceat(~_FILLER[buf], at) & (lengths > 0)
    blank = (lengths == 0) | ((lengths == 1) & (buf[np.maximum(ends - 1, 0)] == 13))  # "" or the "\r" of "\r\n"
    rows, empty = int(np.count_nonzero(with_value)), int(np.count_nonzero(~with_value & ~blank))
    reader = _row_reader(header) if header is not None else None
    if reader is None:
        return rows, empty
    *options, unread = reader
    # Lines that may hold missing-value markers only; the others have a value read_csv keeps (or fails on).
    maybe = with_value if unread else with_value & ~np.logical_or.reduceat(~(_FILLER | _MARKER)[buf], at)
    lines = np.flatnonzero(maybe)
    if not len(lines):
        return rows, empty
    block = b"\n".join(body[starts[i] : ends[i]] for i in lines) + b"\n"
    try:
        table = pacsv.read_csv(pa.py_buffer(block), *options)
    except pa.ArrowInvalid:  # not rows read_csv keeps or leaves out: it fails on this range, with the row
        return rows, empty
    if table.num_rows != len(lines):  # a quote across lines: likewise
        return rows, empty
    left_out = _empty_rows(table)
    dropped = 0 if left_out is None else int(np.count_nonzero(left_out))
    return rows - dropped, empty + dropped


def count_rows(body: bytes, header: bytes | None = None) -> int:
    """Data rows in CSV bytes without header: lines with a value in them (not blank, and not only delimiters), and
    with the file's ``header``, the rows :func:`core.loading.read_csv` keeps (:func:`_line_kinds`)."""
    return _line_kinds(body, header)[0]


def range_counts(*counts: int) -> list[int]:
    """The rows of each range of a file, in order: one task that every range's scoring depends on, rather than
    each depending on every count (which is ranges squared dependencies for the scheduler to track)."""
    return [int(c) for c in counts]


#: The count of a range whose file could not be read (its scoring says why).
UNREADABLE = -1


def count_range(path: str, start: int, end: int, header: bytes | None = None) -> int:
    """Data rows in ``path[start:end]`` (a range of :func:`plan_file`), as read under ``header``
    (:func:`count_rows`); :data:`UNREADABLE` when the file cannot be read now (moved or deleted during the run: an
    error raised here was logged by the worker as a traceback for every range of the file)."""
    try:
        return count_rows(_read_range(path, start, end), header)
    except OSError:
        return UNREADABLE


def _unreadable(name: str, exc: OSError | None = None) -> dict:
    """A range's error when its file cannot be read (moved, deleted or made unreadable during the run)."""
    return {"error": f"{name}: cannot read the file" + (f": {exc.strerror or exc}" if exc else ""),
            "hint": "the file was moved, deleted or made unreadable during the run: check that every worker can read "
            "it, then run score-many again"}  # fmt: skip


# --------------------------------------------------------------------------- model, once per worker

_model_lock = threading.Lock()
#: One model at a time, keyed by (resolved folder, fingerprint).
_model_cache: dict[tuple[str, str], object] = {}
#: Times this process has loaded a model (tests check it is once per worker).
model_loads = 0


class ModelChangedError(CoreError):
    """The model folder no longer holds the version a run was pinned to (replaced, edited or deleted)."""

    def __init__(self, name: str, detail: str):
        super().__init__(
            f"the model {name!r} was replaced (or deleted) during the run: {detail}", hint="run score-many again"
        )


def model_fingerprint(path: str | os.PathLike) -> str:
    """What identifies one version of the model folder at ``path``: a hash of ``metadata.json``'s bytes (task,
    classes, alarm threshold, ``saved_at``...) and of the size and modification time of each weights file its family
    saves (files derived on load, e.g. a Keras model's ``inference.npz``, are left out: loading may write them).
    Cheap: the weights are not read. Raises ``OSError`` when the metadata or a weights file is gone."""
    from .models import FAMILIES
    from .pipeline import METADATA_FILE

    folder = Path(path)
    raw = (folder / METADATA_FILE).read_bytes()
    digest = hashlib.sha256(raw)
    try:
        family = FAMILIES.get(json.loads(raw).get("family"))
    except (ValueError, AttributeError, TypeError):  # damaged: the load says how
        family = None
    for name in family.required_files() if family is not None else ():
        st = os.stat(folder / name)
        digest.update(f"\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _check_version(folder: str, fingerprint: str) -> None:
    """Raise :class:`ModelChangedError` unless ``folder`` still holds the version ``fingerprint``."""
    try:
        now = model_fingerprint(folder)
    except OSError as exc:
        where = exc.filename or folder
        gone = isinstance(exc, (FileNotFoundError, NotADirectoryError))
        raise ModelChangedError(
            Path(folder).name, f"{where} is gone" if gone else f"{where} can no longer be read ({exc.strerror or exc})"
        ) from None
    if now != fingerprint:
        raise ModelChangedError(Path(folder).name, f"{folder} no longer holds the version the run started with")


def pin_model(path: str | os.PathLike) -> tuple[dict, str]:
    """The metadata of the model at ``path`` and the fingerprint of that same version
    (:func:`model_fingerprint`), read again if the folder changed while it was being read."""
    from .pipeline import METADATA_FILE, read_metadata

    for _ in range(3):
        try:
            before = model_fingerprint(path)
        except OSError:
            before = None
        meta = read_metadata(path)  # a clear error when it is missing or damaged
        try:
            after = model_fingerprint(path)
        except FileNotFoundError as exc:
            if (
                before is None and Path(exc.filename or "").name != METADATA_FILE
            ):  # a weights file missing, as predict says
                raise ModelFormatError(f"model file missing: {exc.filename}",
                                       hint="the model folder is incomplete; train it again") from None  # fmt: skip
            after = None
        except OSError:
            after = None
        if before is not None and before == after:
            return meta, before
    raise CoreError(f"the model {Path(path).name!r} kept changing while score-many read it",
                    hint="run score-many again once it is saved")  # fmt: skip


def worker_model(path: str | os.PathLike, fingerprint: str | None = None):
    """The :class:`~core.pipeline.TrainedModel` at ``path`` in the version ``fingerprint`` (a run's pin, from
    :func:`model_fingerprint`; None: the version there now), loaded at most once per process.

    A process that holds that version uses it without looking at the folder again (it may have been replaced or
    deleted since). One that must load it and finds another version, or none, raises :class:`ModelChangedError`:
    a run never mixes two models' predictions. A new fingerprint (the next run, after the model changed) loads
    the model again, and the cache keeps only the latest."""
    global model_loads
    from joblib import parallel_config

    from .pipeline import TrainedModel

    folder = str(Path(path).resolve())
    if fingerprint is None:
        fingerprint = model_fingerprint(folder)
    key = (folder, fingerprint)
    with _model_lock:
        model = _model_cache.get(key)
        if model is not None:
            return model
        _check_version(folder, fingerprint)
        _model_cache.clear()
        try:
            # Loading scores a row (a check of the weights): with the forest's n_jobs=-1 joblib would ask its
            # default (process) backend, which a daemonic Dask worker cannot use, and warn about it.
            with parallel_config(backend="sequential"):
                model = TrainedModel.load(folder)
        except (CoreError, OSError):
            _check_version(folder, fingerprint)  # replaced or deleted while it was read: say that
            raise
        _check_version(folder, fingerprint)  # changed while it was read (e.g. a threshold set): not this version
        _one_job_each(model.detector)
        _model_cache[key] = model
        model_loads += 1
        return model


def _one_job_each(detector) -> None:
    """Set ``n_jobs=1`` on the scikit-learn estimators of a loaded model (a random forest's is -1: all cores).

    In score-many each worker thread scores its own range, so the cluster is busy already; a worker process is
    daemonic and cannot start joblib's worker processes anyway (scikit-learn would fall back to one job and
    warn on stderr, once in every worker). Detectors made of others (cnn-rf) are followed into their parts.
    """
    from sklearn.base import BaseEstimator

    from .models import Detector

    for value in vars(detector).values():
        if isinstance(value, BaseEstimator):
            params = value.get_params(deep=True)
            jobs = [k for k, v in params.items() if k.rpartition("__")[2] == "n_jobs" and v not in (None, 1)]
            if jobs:
                value.set_params(**dict.fromkeys(jobs, 1))
        elif isinstance(value, Detector) and value is not detector:
            _one_job_each(value)


def _forget_models() -> None:
    with _model_lock:
        _model_cache.clear()


def model_plugin(path: str | os.PathLike, fingerprint: str):
    """A Dask worker plugin that loads the model, in the run's version ``fingerprint``, when a worker joins (also
    workers that join later, e.g. one restarted after a crash), and forgets it when unregistered. A worker that
    finds another version loads nothing: its ranges say so (:class:`ModelChangedError`)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ModelPlugin(WorkerPlugin):
        name = "core-score-many-model"
        idempotent = False

        def __init__(self, model_path: str, fingerprint: str):
            self.model_path = model_path
            self.fingerprint = fingerprint

        def setup(self, worker):
            try:
                worker_model(self.model_path, self.fingerprint)
            except ModelChangedError as exc:
                log.debug("model not loaded: %s", exc)

        def teardown(self, worker):
            _forget_models()

    return ModelPlugin(str(path), fingerprint)


# --------------------------------------------------------------------------- one range


def _shift_row(exc: DataError, offset: int, path: str, start: int) -> DataError:
    """The same error with its row, and its line, counted from the top of the whole file (``exc`` counts them in the
    range that starts at byte ``start`` of ``path``, read below the file's header)."""
    if not exc.row:
        return exc
    line = None
    if exc.line:  # the range's own lines: its header is line 1, its first row line 2
        with open(path, "rb") as fh:
            before = sum(block.count(b"\n") for block in iter(lambda: fh.read(min(1 << 20, start - fh.tell())), b""))
        line = before + exc.line - 1
    return DataError(exc.detail, file=exc.file, column=exc.column, row=exc.row + offset, hint=exc.hint, line=line)


def part_path(out_dir: str | os.PathLike, name: str, index: int) -> Path:
    """Where range ``index`` of the file called ``name`` is written (``name`` is URL-quoted)."""
    return Path(out_dir) / PREDICTIONS_DIR / f"file={quote(name, safe='')}" / f"part-{index:05d}.parquet"


def _to_table(frame, n_classes: int, top: int = 3):
    """The frame as an Arrow table with the same schema in every part (no ``file``: it is the partition)."""
    import pyarrow as pa

    frame = frame.drop(columns=["file"])
    if "true" not in frame:
        frame["true"] = None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = {"predicted", "true"} | {f"top{k + 1}" for k in range(1, min(top, n_classes))}
    for i, f in enumerate(table.schema):
        if f.name in text and f.type != pa.string():
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    return table


#: How :func:`core.loading.read_csv` starts its error for a file (here: a range) that holds no row.
_NO_ROWS = "the file has a header but no rows"


def _range_stats(index: int, body: bytes, header: bytes, started: float, part: str | None, **scored) -> dict:
    """The statistics of a scored range (``scored``: its rows, classes, repairs...), or with none of them, of a range
    without a row in it (no part is written for it)."""
    return {
        "index": index,
        "rows": 0,
        "predicted": {},
        "true": {},
        "low_confidence": 0,
        "repairs": RepairCounts().to_dict(),
        "blank_labels": 0,
        **scored,
        "empty_rows": _line_kinds(body, header)[1],  # left out by read_csv, like blank lines
        "seconds": time.perf_counter() - started,
        "pid": os.getpid(),
        "part": part,
    }


def score_range(
    model_path: str,
    path: str,
    name: str,
    header: bytes,
    start: int,
    end: int,
    index: int,
    counts: Sequence[int],
    out_dir: str,
    low_confidence: float = LOW_CONFIDENCE,
    fingerprint: str | None = None,
) -> dict:
    """Parse, score and write one byte range with the model at ``model_path`` in the run's version ``fingerprint``
    (:func:`worker_model`); return its statistics.

    Errors in the data, and a model replaced or deleted since the run started (when this process does not hold the
    run's version), come back as ``{"error": ..., "hint": ...}`` rather than raised: they are not worth a retry,
    and the file's other ranges still run so that the first error can be told.
    """
    import pyarrow.parquet as pq

    from .loading import read_csv

    offset = int(sum(counts[:index]))
    started = time.perf_counter()
    try:
        model = worker_model(model_path, fingerprint)
        try:
            body = _read_range(path, start, end)
        except OSError as exc:
            return {"index": index, **_unreadable(name, exc)}
        if counts[index] == UNREADABLE:  # read now, but not when its rows were counted
            return {"index": index, **_unreadable(name)}
        try:
            # A range is not the file: its rows and bytes are bounded by the partition size, and the whole-file
            # limits (which protect memory) would report the range's count as the file's (as predict, which streams).
            data = read_csv(
                header + body, name=Path(name).name, layout=model.layout, limits=Limits.for_part_of_a_file()
            )
        except DataError as exc:
            if not counts[index] and any(counts) and exc.detail.startswith(_NO_ROWS):
                # Only blank lines or empty rows (Excel's ',,,,' below the data) in this range: left out, as predict
                # leaves them out; the file has rows in its other ranges.
                return _range_stats(index, body, header, started, None)
            raise _shift_row(exc, offset, path, start) from None
        if len(data) != counts[index]:
            raise CoreError(
                f"{name}: bytes {start}-{end} parsed to {len(data)} rows but {counts[index]} lines were counted",
                hint="a quoted field with a line break? score-many cuts files at line breaks",
            )
        predictions = model.predict(data)
        frame = predictions.to_frame(data, model.task)
    except CoreError as exc:
        return {"index": index, "error": str(exc), "hint": exc.hint}
    frame["row"] += offset
    table = _to_table(frame, len(model.classes))
    target = part_path(out_dir, name, index)
    target.parent.mkdir(exist_ok=True)  # not parents: a late task of a stopped run must not remake the folder
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # hidden: readers skip it
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    confidence = predictions.confidence
    return _range_stats(
        index, body, header, started, target.name,
        rows=len(frame),
        predicted={str(k): int(v) for k, v in frame["predicted"].value_counts().items()},
        true={str(k): int(v) for k, v in frame["true"].value_counts().items()} if "true" in frame else {},
        low_confidence=int(np.count_nonzero(confidence < low_confidence)),
        repairs=predictions.repairs.to_dict(),
        blank_labels=data.files[0].blank_labels,  # scored, true class unknown
    )  # fmt: skip


# --------------------------------------------------------------------------- the run


@dataclass
class _FileJob:
    path: Path
    name: str
    plan: FilePlan | None = None
    count_futures: list | None = None
    counts: object = None  # the future of range_counts: the rows of every range, in order
    score_futures: list | None = None
    error: str | None = None
    hint: str | None = None


def _results_in(out: Path) -> list[Path]:
    return [p for p in (out / SUMMARY_FILE, out / PREDICTIONS_DIR) if p.exists()]


def _prepare_out(out: Path, overwrite: bool) -> Path:
    """Refuse an ``out`` that holds results unless ``overwrite``, and make the staging folder the run writes to.

    Earlier results are left alone here: :func:`_commit` replaces them once the new ones are complete, and a run
    that fails (scheduler not reached, interrupted, nothing scored) removes only its staging folder.
    """
    existing = _results_in(out)
    if existing and not overwrite:
        raise CoreError(
            f"{out} already holds score-many results ({', '.join(p.name for p in existing)})",
            hint="choose another --out folder, or pass --overwrite to replace them",
        )
    out.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned(out)
    # on out's file system, so that the results move in by renames; named by machine and process for the sweep
    staging = out / f"{STAGING_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
    (staging / PREDICTIONS_DIR).mkdir(parents=True)
    return staging


@dataclass
class StagingFolder:
    """A score-many run's staging folder in its ``--out`` folder (``.score-many-HOST-PID-ID``), where it writes until
    its results are complete and move in."""

    path: Path
    host: str
    abandoned: bool  # its process, on this machine, is gone (killed before it could clean up)


def staging_folders(out: str | os.PathLike) -> list[StagingFolder]:
    """The staging folders of score-many runs in ``out``, by name. A run of another machine is never called
    abandoned: its process cannot be looked up from here."""
    from .pipeline import pid_alive

    found = []
    for folder in sorted(Path(out).glob(f"{STAGING_PREFIX}*")):
        host, _, pid = folder.name[len(STAGING_PREFIX) :].rpartition("-")[0].rpartition("-")
        gone = host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid))
        found.append(StagingFolder(folder, host, gone))
    return found


def _sweep_abandoned(out: Path) -> None:
    """Remove the staging folders in ``out`` of earlier runs from this machine whose process is gone."""
    for folder in staging_folders(out):
        if folder.abandoned:
            log.info("removing %s, left by a score-many run that was killed", folder.path)
            shutil.rmtree(folder.path, ignore_errors=True)


def _commit(staging: Path, out: Path) -> None:
    """Put the complete results in ``staging`` in place of those in ``out``.

    The old summary goes first and the new one comes last, so that a ``summary.json`` in ``out`` always goes with
    the predictions it describes; the old results are moved aside into the staging folder and deleted with it.
    """
    replaced = staging / ".replaced"
    replaced.mkdir()
    moved: list[str] = []
    try:
        for name in (SUMMARY_FILE, PREDICTIONS_DIR):
            if (out / name).exists():
                os.replace(out / name, replaced / name)
        for name in (PREDICTIONS_DIR, SUMMARY_FILE):
            os.replace(staging / name, out / name)
            moved.append(name)
    except BaseException:  # put everything back as it was: the caller deletes the staging folder
        for name in moved:
            os.replace(out / name, staging / name)
        for name in (PREDICTIONS_DIR, SUMMARY_FILE):
            if (replaced / name).exists():
                os.replace(replaced / name, out / name)
        raise
    shutil.rmtree(staging, ignore_errors=True)


def make_client(scheduler: str | None = None, workers: int | None = None):
    """A client of the scheduler at ``scheduler``, or of a new local cluster of ``workers`` processes
    (default: one per CPU core) with one thread each. Returns ``(client, cluster or None)``."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise CoreError(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS', or leave out --scheduler",
            ) from None
    n = workers or os.cpu_count() or 1
    _start_resource_tracker()
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           preload=[__name__])  # fmt: skip
    return Client(cluster), cluster


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker (the cluster's processes need it) ignoring SIGHUP, as it ignores Ctrl-C
    and SIGTERM: a closed terminal sends SIGHUP to the command's whole process group, and the tracker, killed by it,
    printed a traceback for each resource of the cluster as it was started again."""
    import signal
    from multiprocessing import resource_tracker

    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)


#: Signals that a terminal (Ctrl-C; closed: SIGHUP) or a service manager (SIGTERM) sends to a whole process group.
_GROUP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def dask_setup(worker) -> None:
    """Run in each worker process of the local cluster :func:`make_client` starts (this module is its preload): it
    ignores the signals sent to the command's whole process group, which the command handles by stopping the run
    and closing its cluster. A worker that died of Ctrl-C printed its traceback (a hundred lines) and the cluster
    started another in its place while the command was stopping. A worker still ends with the command's process,
    whatever kills it: distributed ends a worker process whose parent is gone."""
    import signal

    if threading.current_thread() is threading.main_thread():
        for name in _GROUP_SIGNALS:
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_IGN)


def dask_teardown(worker) -> None:
    """Run as such a worker starts to close (the run is over, or stopped): what it logs from then on is no news to
    the command's user (a heartbeat that met the scheduler already closed came as a 30-line traceback)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def score_many(
    model: str | os.PathLike,
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    client=None,
    scheduler: str | None = None,
    workers: int | None = None,
    partition_bytes: int = DEFAULT_PARTITION_BYTES,
    low_confidence: float = LOW_CONFIDENCE,
    overwrite: bool = False,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    echo: Callable[[str], None] | None = print,
) -> dict:
    """Score every input file on a Dask cluster; write Parquet predictions and ``summary.json``.

    Parameters
    ----------
    model : path
        A saved model folder (see :func:`core.pipeline.resolve_model_path` for names).
    inputs : sequence of str
        CSV files, folders of CSV files, or glob patterns.
    out_dir : path
        Output folder: ``predictions/file=<name>/part-<k>.parquet`` and ``summary.json``.
    client : distributed.Client, optional
        Use this client; otherwise one is made by :func:`make_client` from ``scheduler`` / ``workers``
        (and a local cluster made here is closed at the end).
    partition_bytes : int
        CSV bytes per task.
    low_confidence : float
        Rows whose confidence (the probability of the predicted class) is below this are counted as
        low-confidence.
    overwrite : bool
        Replace the results already in ``out_dir``. The run is written to a staging folder in ``out_dir``
        (``.score-many-<id>``) and replaces them only when complete: a run that fails, is interrupted or
        scores no file leaves them as they were (one in which some files failed replaces them, and lists
        those files in its summary).
    on_progress : callable(done, total), optional
        Called as each range finishes (tests use it to kill a worker mid-run).
    echo : callable(str), optional
        Where to print the dashboard address and notes (None: silent).

    Returns
    -------
    dict
        The summary, as written to ``summary.json``.

    Raises
    ------
    CoreError
        Also when ``overwrite`` is set and no file could be scored: the earlier results are kept then.
    """
    _check_partition(partition_bytes)
    model_path = Path(model).resolve()
    # A clear error before any worker tries to load it; the run is pinned to this version (the metadata reported
    # in the summary, alarm threshold included, is that version's).
    meta, fingerprint = pin_model(model_path)
    input_notes: list[str] = []  # what the folders given hold besides CSV files
    paths = expand_inputs(inputs, notes=input_notes)
    names = dict(zip(paths, display_names(paths), strict=True))
    out = Path(out_dir).resolve()
    staging = _prepare_out(out, overwrite)
    try:
        summary = _run(
            client, scheduler, workers, model_path, meta, paths, names, staging, out, partition_bytes,
            low_confidence, progress, on_progress, echo, fingerprint,
        )  # fmt: skip
        summary["inputs"] = [str(i) for i in inputs]
        summary["notes"] = input_notes + summary["notes"]
        if not summary["files_scored"] and _results_in(out):
            failed = summary["failed"]
            raise CoreError(
                f"no file was scored, so the earlier results in {out} were kept: "
                + "; ".join(f["error"] for f in failed[:3])
                + (f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""),
                hint=failed[0]["hint"] if failed and failed[0]["hint"] else "check the model and the input files",
            )
        (staging / SUMMARY_FILE).write_text(json.dumps(summary, indent=2))
        _commit(staging, out)
    except BaseException:  # the scheduler not reached, an error, Ctrl-C: earlier results stay as they were
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _run(
    client,
    scheduler: str | None,
    workers: int | None,
    model_path: Path,
    meta: dict,
    paths: list[Path],
    names: dict[Path, str],
    staging: Path,
    out: Path,
    partition_bytes: int,
    low_confidence: float,
    progress: bool,
    on_progress: Callable[[int, int], None] | None,
    echo: Callable[[str], None] | None,
    fingerprint: str,
) -> dict:
    """Score into ``staging`` (a folder with a ``predictions`` folder in it) and return the summary, whose paths
    are those the results will have once moved to ``out``."""
    from distributed import as_completed

    say = echo or (lambda _msg: None)
    own = client is None
    cluster = None
    if own:
        client, cluster = make_client(scheduler, workers)
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    plugin = model_plugin(model_path, fingerprint)
    submitted: list = []
    done = False
    try:
        info = client.scheduler_info(n_workers=-1)
        n_workers = len(info["workers"])
        say(f"Dask dashboard: {client.dashboard_link}  ({workers_text(n_workers)}, scheduler {info['address']})")
        _check_cluster(client)
        client.register_plugin(plugin)
        loaded = time.perf_counter() - started
        jobs = [_FileJob(p, names[p]) for p in paths]
        plans = [client.submit(plan_file, str(j.path), partition_bytes, pure=False) for j in jobs]
        submitted += plans
        for job, fut in zip(jobs, plans):
            try:
                job.plan = fut.result()
            except CoreError as exc:
                job.error, job.hint = str(exc), exc.hint
            except OSError as exc:
                job.error, job.hint = f"{job.name}: cannot read the file: {exc}", "check that workers can read it"
        for job in jobs:
            if job.plan is None:
                continue
            plan = job.plan
            job.count_futures = [
                client.submit(count_range, plan.path, s, e, plan.header, pure=False) for s, e in plan.ranges
            ]
            job.counts = counts = client.submit(range_counts, *job.count_futures, pure=False)
            job.score_futures = [
                client.submit(
                    score_range,
                    str(model_path),
                    plan.path,
                    job.name,
                    plan.header,
                    s,
                    e,
                    k,
                    counts,
                    str(staging),
                    low_confidence,
                    fingerprint,
                    pure=False,
                    retries=1,
                )
                for k, (s, e) in enumerate(plan.ranges)
            ]
            submitted += [*job.count_futures, counts, *job.score_futures]
        every = [f for j in jobs for f in (j.score_futures or [])]
        total_bytes = sum(j.plan.size for j in jobs if j.plan)
        say(
            f"scoring {counted(len(paths), 'file')}, {total_bytes / 1e6:,.1f} MB in {counted(len(every), 'partition')} "
            f"with {meta.get('name') or model_path.name} -> {out}"
        )
        # a bar in a terminal; in a log (nohup, a service) lines, not the bar's carriage-return redraws
        bar = CountProgress("score-many", "partition", unit="part") if progress else None
        rows_done = i = 0
        results: dict = {}  # each range's statistics and each file's row counts, as they come: fetching them one by
        # one afterwards took a round trip to the scheduler each (20 of 42 s for a file of 1,100 ranges)
        row_counts = [j.counts for j in jobs if j.counts is not None]
        count_keys = {f.key for f in row_counts}
        for fut, result in as_completed([*every, *row_counts], with_results=True, raise_errors=False):
            if fut.status == "finished":
                results[fut.key] = result
            if fut.key in count_keys:
                continue
            i += 1
            if fut.status == "finished":
                rows_done += result.get("rows", 0)
            if bar is not None:
                bar.update(i, len(every), f"{rows_done:,} rows scored")
            if on_progress is not None:
                on_progress(i, len(every))
        if bar is not None:
            bar.close()
        summary = _summarise(jobs, results, staging, out, meta, model_path, low_confidence)
        summary["model"]["fingerprint"] = fingerprint
        seconds = time.perf_counter() - started
        done = True
    finally:
        if own:  # closed with its workers, its tasks and the plugin; what Dask logs meanwhile is no news
            with _quiet_logs("distributed", "distributed.client", "asyncio", "tornado", "tornado.application"):
                client.close()
                if cluster is not None:
                    cluster.close()
        else:
            if not done and submitted:  # stopped midway: tasks still queued on a cluster we do not own must not run
                try:
                    client.cancel(submitted)
                except Exception:
                    log.debug("could not cancel the run's tasks", exc_info=True)
            try:
                client.unregister_worker_plugin(plugin.name)
            except Exception:
                log.debug("could not unregister the model plugin", exc_info=True)
    summary.update(
        started_at=started_at.isoformat(timespec="seconds"),
        seconds=round(seconds, 3),
        rows_per_second=round(summary["rows"] / seconds, 1) if seconds > 0 else None,
        model_load_seconds=round(loaded, 3),
        workers=n_workers,
        partition_bytes=partition_bytes,
    )
    return summary


@contextlib.contextmanager
def _quiet_logs(*names: str):
    """Only critical records from the loggers ``names`` meanwhile (all of them with ``--verbose``): closing the
    command's own cluster, Dask warns of each worker process it ends ("still alive after 4.0 seconds, killing": a
    process slow to exit on a busy machine), and after Ctrl-C it logged its own error from the interrupted call."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    if not log.isEnabledFor(logging.DEBUG):
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _where_am_i() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _check_cluster(client) -> None:
    """Fail early, with a hint, when the scheduler or the workers cannot import this project."""
    if not client.scheduler_info(n_workers=-1)["workers"]:
        raise CoreError("the Dask cluster has no workers", hint="start some: dask worker SCHEDULER_ADDRESS")
    try:
        client.submit(_where_am_i, pure=False).result(timeout=120)
    except Exception as exc:
        raise CoreError(
            f"the Dask scheduler or workers cannot run this project's code ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]})",
            hint=f"start 'dask scheduler' and 'dask worker' with PYTHONPATH={_where_am_i()} and the same Python "
            "environment as this command",
        ) from None


def _merge(into: dict, counts: dict) -> None:
    for k, v in counts.items():
        into[k] = into.get(k, 0) + v


def _summarise(
    jobs: list[_FileJob], results: dict, staging: Path, out: Path, meta: dict, model_path: Path, low_confidence: float
) -> dict:
    """Collect the ranges' statistics per file (``results``: those already fetched, by key), check the row counts,
    and drop failed files' output.

    The parts are read in ``staging``; the summary gives the paths they will have in ``out``."""
    import pyarrow.parquet as pq

    files, failed = [], []
    label_notes: list[str] = []  # label-like columns not read (the class comes from another column)
    busy: dict[str, float] = {}  # seconds spent scoring, per worker process (pid)
    totals: dict = {
        "predicted": {},
        "low_confidence": 0,
    }
    repairs: list[RepairCounts] = [RepairCounts()]  # each scored range's, added up once at the end
    for job in jobs:
        stats = []
        if job.error is None:
            for fut in job.score_futures:
                if fut.key in results:  # collected as it finished: its data may since have been lost with a killed
                    stats.append(results[fut.key])  # worker (the future then "lost" or recomputing, no exception)
                elif fut.status == "finished":
                    stats.append(fut.result())
                else:
                    try:
                        exc = fut.exception()
                    except Exception as other:
                        exc = other
                    cause = (
                        f"a worker died while scoring it ({exc})"
                        if type(exc).__name__ == "KilledWorker"
                        else f"{type(exc).__name__}: {exc}"
                    )
                    stats.append({"index": len(stats), "error": f"{job.name}: {cause}", "hint": None})
            errors = [s for s in stats if "error" in s]
            if errors:
                job.error, job.hint = errors[0]["error"], errors[0]["hint"]
        folder = part_path(staging, job.name, 0).parent
        if job.error is None:
            n_counted = sum(results[job.counts.key] if job.counts.key in results else job.counts.result())
            scored = sum(s["rows"] for s in stats)
            expected = {s["part"] for s in stats if s["part"] is not None}  # None: a range without rows
            for p in folder.iterdir():  # leftovers of killed attempts
                if p.name not in expected:
                    p.unlink()
            on_disk = sum(pq.read_metadata(folder / p).num_rows for p in expected)
            if not n_counted == scored == on_disk:
                job.error = f"{job.name}: row counts disagree (counted {n_counted}, scored {scored}, written {on_disk})"
                job.hint = "run it again; report it if it repeats"
        if job.error is not None:
            if folder.exists():
                shutil.rmtree(folder)  # no half-scored files in the dataset
            failed.append({"file": job.name, "path": str(job.path), "error": job.error, "hint": job.hint})
            continue
        entry = {
            "file": job.name,
            "path": str(job.path),
            "bytes": job.plan.size,
            "partitions": len(stats),
            "rows": scored,
            "predicted": {},
            "true": {},
            "low_confidence": 0,
            "repaired_cells": 0,
            "empty_rows": 0,
            "blank_labels": 0,
        }
        for s in stats:
            busy[str(s["pid"])] = busy.get(str(s["pid"]), 0.0) + s["seconds"]
            _merge(entry["predicted"], s["predicted"])
            _merge(entry["true"], s["true"])
            entry["low_confidence"] += s["low_confidence"]
            entry["repaired_cells"] += s["repairs"]["total"]
            entry["empty_rows"] += s.get("empty_rows", 0)
            entry["blank_labels"] += s.get("blank_labels", 0)
            repairs.append(RepairCounts.from_dict(s["repairs"]))
        columns, _ = _parse_header(job.plan.header, job.name)  # the file was scored: its header parses
        label_notes += ignored_label_columns(job.name, columns, find_label_column(columns))
        entry["attack_share"] = _attack_share(entry["predicted"], entry["rows"])
        _merge(totals["predicted"], entry["predicted"])
        totals["low_confidence"] += entry["low_confidence"]
        files.append(entry)
    rows = sum(f["rows"] for f in files)
    classes = list(meta["classes"])
    return {
        "version": SUMMARY_VERSION,
        "model": {
            "name": meta.get("name") or model_path.name,
            "path": str(model_path),
            "task": meta["task"],
            "family": meta["family"],
            "layout": meta["layout"],
            "classes": classes,
        },
        "out": str(out),
        "predictions": str(out / PREDICTIONS_DIR),
        "low_confidence_threshold": low_confidence,
        "alarm_threshold": alarm_threshold(meta),
        "rows": rows,
        "files_scored": len(files),
        "files_failed": len(failed),
        "predicted": {c: totals["predicted"][c] for c in classes if c in totals["predicted"]},
        "attack_share": _attack_share(totals["predicted"], rows),
        "low_confidence": totals["low_confidence"],
        "repaired_cells": RepairCounts.summed(repairs, meta["features"]).to_dict(),
        "files": files,
        "failed": failed,
        "worker_busy_seconds": {pid: round(t, 2) for pid, t in busy.items()},
        "notes": label_notes,
    }


def _beyond_text(repaired: dict) -> str:
    """What follows the summary's count of repaired cells: ', of them 40 beyond ±1e+15 taken as infinite', or ''."""
    beyond = RepairCounts.from_dict(repaired).beyond_total
    return f", of them {beyond:,} beyond {IMPLAUSIBLE_TEXT} taken as infinite" if beyond else ""


def alarm_threshold(meta: dict) -> float | None:
    """The alarm threshold a 2-class model saved in ``meta`` scores with (None: the default, 0.5, or not 2-class),
    as :meth:`core.pipeline.TrainedModel.predict` reads it."""
    value = meta.get("alarm_threshold") if int(meta["task"]) == 2 else None
    return None if value is None else float(value)


def _attack_share(predicted: dict, rows: int) -> float | None:
    return round(1 - predicted.get(BENIGN, 0) / rows, 6) if rows else None


def summary_notes(summary: dict) -> list[str]:
    """What reading the inputs left out or could not know, one sentence each: files and folders not read,
    label-like columns not read, empty rows left out, blank labels (the command's notes and the Batch page's)."""
    notes = list(summary.get("notes", []))
    for f in summary["files"]:
        if f.get("empty_rows"):
            notes.append(f"{f['file']}: {counted(f['empty_rows'], 'empty row')} (every cell blank) left out, like "
                         "blank lines")  # fmt: skip
        if f.get("blank_labels"):
            notes.append(f"{f['file']}: {counted(f['blank_labels'], 'row')} with a blank label: scored, true class "
                         "unknown")  # fmt: skip
    return notes


def failure_parts(failed: dict) -> tuple[str, str]:
    """A failed file of a summary as (its name, the rest of the sentence): the error, which most often begins with the
    file's own name ("broken.csv: the file is empty", "broken.csv, header: ..."), without saying the name twice."""
    name, error = str(failed["file"]), str(failed.get("error") or "unknown error")
    if error.startswith(name) and error[len(name) : len(name) + 2] in (": ", ", "):
        return name, error[len(name) :]
    return name, ": " + error


def workers_text(n) -> str:
    """A count of workers as a run reports it: "1 worker", "4 workers", "? workers" where unknown."""
    return counted(n, "worker") if isinstance(n, int) else "? workers"


#: Short headings of the per-file columns of a batch summary (keyed by the summary's column names), said alike in
#: the command line's table and the Batch page's.
FILE_HEADINGS = {"rows": "rows", "attack %": "attack %", "low-confidence": "low conf.", "repaired cells": "repaired"}


def format_summary(summary: dict) -> str:
    """The summary in a few lines of plain text (what the command prints)."""
    lines = [
        f"{counted(summary['rows'], 'row')} from {counted(summary['files_scored'], 'file')} scored with {summary['model']['name']} "
        f"({summary['model']['task']} classes) in {summary.get('seconds', 0):.1f} s "
        f"({summary.get('rows_per_second') or 0:,.0f} rows/s, {workers_text(summary.get('workers'))})",
        f"attack share: {100 * (summary['attack_share'] or 0):.2f}%"
        + (
            f" at the alarm threshold {probability_text(summary['alarm_threshold'])} (saved with the model)"
            if summary.get("alarm_threshold") is not None
            else ""
        )
        + " · low-confidence rows (confidence < "
        f"{probability_text(summary['low_confidence_threshold'])}): {summary['low_confidence']:,} · repaired cells: "
        f"{summary['repaired_cells']['total']:,}" + _beyond_text(summary["repaired_cells"]),
        "predicted classes:",
    ]
    lines += [f"  {c}: {n:,}" for c, n in summary["predicted"].items()]
    width = max([len(f["file"]) for f in summary["files"]] + [4])
    h = FILE_HEADINGS  # the Batch page's headings too (it said "low-conf" here, "low conf." there)
    lines.append(
        f"{'file':<{width}}  {h['rows']:>10}  {h['attack %']:>8}  {h['low-confidence']:>9}  {h['repaired cells']:>8}"
    )
    for f in summary["files"]:
        lines.append(
            f"{f['file']:<{width}}  {f['rows']:>10,}  {100 * (f['attack_share'] or 0):>8.2f}  "
            f"{f['low_confidence']:>9,}  {f['repaired_cells']:>8,}"
        )
    lines += [f"note: {n}" for n in summary_notes(summary)]
    for f in summary["failed"]:
        name, rest = failure_parts(f)
        lines.append(f"FAILED {name}{rest}" + (f" (hint: {f['hint']})" if f.get("hint") else ""))
    lines.append(
        f"predictions: {summary['predictions']} (Parquet, partitioned by file) · summary: "
        f"{Path(summary['out']) / SUMMARY_FILE}"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading results back


def read_summary(out_dir: str | os.PathLike) -> dict:
    """``summary.json`` of a score-many result folder, with a clear error when it is not one."""
    path = Path(out_dir) / SUMMARY_FILE
    if not path.is_file():
        raise CoreError(
            f"{out_dir} is not a score-many result folder (no {SUMMARY_FILE})",
            hint="run python -m core score-many --out DIR first, and give that DIR",
        )
    again = f"run python -m core score-many again with --out {out_dir} --overwrite"
    try:
        summary = json.loads(path.read_text())
    except OSError as exc:
        raise CoreError(f"{path} cannot be read: {exc}", hint=f"check its permissions, or {again}") from None
    except json.JSONDecodeError as exc:  # score-many writes it whole (moved in once complete): damaged since
        cut = exc.pos >= len(exc.doc.rstrip())
        raise CoreError(
            f"{path} is " + ("cut short" if cut else "damaged") + f": it is no valid JSON from line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg}); score-many wrote it whole, so it was "
            + ("cut (a copy or a disk that filled up?)" if cut else "changed")
            + " since",
            hint=again,
        ) from None
    if not isinstance(summary, dict) or summary.get("version") != SUMMARY_VERSION:
        found = summary.get("version") if isinstance(summary, dict) else None
        raise CoreError(
            f"{path} is not a score-many summary of version {SUMMARY_VERSION}, the one this version of the tool "
            f"reads" + (f" (it is of version {found})" if found is not None else ""),
            hint=again + " (with this version of the tool)",
        )
    problem = _summary_problem(summary)
    if problem:
        raise CoreError(
            f"{path} is damaged: {problem}",
            hint="summary.json is written by score-many and read as it wrote it: run score-many again rather than "
            "editing it",
        )
    return summary


_COUNT = (int,)
_NUMBER = (int, float)
_TEXT = (str,)
#: What readers of a summary (the Batch page, :func:`format_summary`) take from it: key -> (types, may be null).
_SUMMARY_FIELDS: dict[str, tuple[tuple, bool]] = {
    "model": ((dict,), False),
    "out": (_TEXT, False),
    "predictions": (_TEXT, False),
    "rows": (_COUNT, False),
    "files_scored": (_COUNT, False),
    "files_failed": (_COUNT, False),
    "predicted": ((dict,), False),
    "attack_share": (_NUMBER, True),
    "low_confidence": (_COUNT, False),
    "low_confidence_threshold": (_NUMBER, False),
    "repaired_cells": ((dict,), False),
    "files": ((list,), False),
    "failed": ((list,), False),
}
#: Fields readers do without when they are absent (as in a summary made by hand), checked when present.
_SUMMARY_OPTIONAL: dict[str, tuple[tuple, bool]] = {
    "alarm_threshold": (_NUMBER, True),
    "started_at": (_TEXT, False),
    "seconds": (_NUMBER, False),
    "rows_per_second": (_NUMBER, True),
    "workers": (_COUNT, True),
    "notes": ((list,), False),
}
_MODEL_FIELDS = {"name": (_TEXT, False), "task": (_COUNT, False), "family": (_TEXT, False),
                 "layout": (_TEXT, False), "classes": ((list,), False)}  # fmt: skip
_FILE_FIELDS = {"file": (_TEXT, False), "rows": (_COUNT, False), "predicted": ((dict,), False),
                "attack_share": (_NUMBER, True), "low_confidence": (_COUNT, False),
                "repaired_cells": (_COUNT, False)}  # fmt: skip
_FAILED_FIELDS = {"file": (_TEXT, False), "error": (_TEXT, False)}
_KIND_WORDS = {_COUNT: "a count", _NUMBER: "a number", _TEXT: "text", (dict,): "an object", (list,): "a list"}


def _field_problem(record: dict, fields: dict, where: str, required: bool = True) -> str | None:
    """What is wrong with ``record``'s ``fields`` (missing, or of another type), or None."""
    for key, (types, nullable) in fields.items():
        if key not in record:
            if required:
                return f"{where}'{key}' is missing"
            continue
        value = record[key]
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, types) or (types is _COUNT and value < 0):
            kind = _KIND_WORDS[types]
            return f"{where}'{key}' should be {kind}{' or null' if nullable else ''}, not {json.dumps(value)[:60]}"
    return None


def _summary_problem(summary: dict) -> str | None:
    """The first field of ``summary`` a reader could not use as score-many writes it, in words, or None."""
    problem = _field_problem(summary, _SUMMARY_FIELDS, "") or _field_problem(
        summary, _SUMMARY_OPTIONAL, "", required=False
    )
    if problem:
        return problem
    problem = _field_problem(summary["model"], _MODEL_FIELDS, "model's ")
    if problem is None and not isinstance(summary["repaired_cells"].get("total"), int):
        problem = "'repaired_cells' has no count 'total'"
    for kind, fields in (("files", _FILE_FIELDS), ("failed", _FAILED_FIELDS)):
        for i, entry in enumerate(summary[kind]):
            if problem:
                return problem
            problem = (
                f"{kind} entry {i + 1} is not a record"
                if not isinstance(entry, dict)
                else _field_problem(entry, fields, f"{kind} entry {i + 1}'s ")
            )
    return problem


def predictions_dataset(predictions_dir: str | os.PathLike):
    """The Parquet predictions in ``predictions_dir`` (``DIR/predictions``) as a ``pyarrow.dataset.Dataset``, with
    the ``file`` column read as text: with plain hive partitioning pyarrow infers the key's type, and where every
    name is digits ("0001", "0002": captures named by number, without an ending) reads them as numbers, 1 and 2,
    which match no file of the summary."""
    import pyarrow.dataset as pads

    partitioning = pads.partitioning(pa.schema([("file", pa.string())]), flavor="hive")
    return pads.dataset(predictions_dir, format="parquet", partitioning=partitioning)


def read_predictions(out_dir: str | os.PathLike):
    """All the predictions of a score-many run in ``out_dir`` as one ``pandas.DataFrame`` (the columns of
    ``predict``'s CSV), each row's capture in ``file``, as text."""
    return predictions_dataset(Path(out_dir) / PREDICTIONS_DIR).to_table().to_pandas()


def prediction_statistics(out_dir: str | os.PathLike, bins: int = 20, batch_rows: int = 65536) -> dict:
    """Statistics of the Parquet predictions read in batches (memory bounded by ``batch_rows``).

    Returns ``{"rows_on_disk": {file: rows}, "bin_edges": [...], "confidence": {file: counts per bin}}``;
    rows on disk come from the Parquet footers, the confidence histograms from the ``probability`` column.
    """
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq

    root = Path(out_dir) / PREDICTIONS_DIR
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows: dict[str, int] = {}
    hist: dict[str, np.ndarray] = {}
    if not root.is_dir():
        return {"rows_on_disk": rows, "bin_edges": edges.tolist(), "confidence": {}}
    dataset = predictions_dataset(root)
    for fragment in dataset.get_fragments():
        name = str(pads.get_partition_keys(fragment.partition_expression).get("file"))
        rows[name] = rows.get(name, 0) + pq.read_metadata(fragment.path).num_rows
        counts = hist.setdefault(name, np.zeros(bins, dtype=np.int64))
        for batch in fragment.to_batches(columns=["probability"], batch_size=batch_rows):
            counts += np.histogram(batch.column(0).to_numpy(zero_copy_only=False), bins=edges)[0]
    return {"rows_on_disk": rows, "bin_edges": edges.tolist(), "confidence": {k: v.tolist() for k, v in hist.items()}}
