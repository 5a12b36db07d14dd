"""Streaming scoring: CSV files in, one predictions CSV out, in bounded memory.

What ``python -m core predict`` runs. Each file is parsed in blocks by pyarrow's streaming CSV
reader on a reader thread, while the previous block is repaired, scaled and scored
(:meth:`core.pipeline.TrainedModel.predict`, so exactly what the dashboard uses) and the one
before that is written by a writer thread; memory is bounded by a few blocks whatever the input size.

Same checks and messages as :func:`core.loading.read_csv`: every file's header and first rows go
through ``read_csv`` itself before anything is scored (so a wrong file, a mix of releases or a
model of the other release is refused at once), and a bad cell further down is reported with its
file, column and row exactly as ``read_csv`` reports it; the output file then is not created
(it is written under a temporary name and renamed at the end). The two checks not made are the
whole-file size and row limits (``IOMT_MAX_FILE_MB``, ``IOMT_MAX_ROWS``): they protect memory, which
streaming does not need (and the first rows' count is not the file's).

The output is the frame :meth:`core.pipeline.Predictions.to_frame` describes (file, row in file,
predicted class and probability, the runners-up, the true class where known), built with pyarrow
instead of pandas: to_frame took 6 s for a million rows, this about a tenth of that, and scoring
never imports pandas. Both take the ranking of classes from :meth:`Predictions.ranked`;
``tests/core/test_scoring.py`` checks the two outputs byte for byte.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import loading
from .errors import CoreError, DataError, FilesError, LayoutMismatchError
from .limits import Limits, check_line_length
from .loading import UNLABELLED, Dataset, FileSummary
from .paths import name_text, replaced_file
from .preprocess import RepairCounts
from .schema import find_label_column
from .taxonomy import CLASSES_19, class_from_filename, shown_index_map, shown_names

if TYPE_CHECKING:
    from .pipeline import TrainedModel

log = logging.getLogger(__name__)

#: Bytes of CSV per block (about 60,000 rows of CICIoMT2024): big enough to amortise per-block
#: overheads, small enough that a few blocks in flight stay far below the size of the input.
BLOCK_BYTES = 8 << 20
#: Bytes at the start of each file checked through ``read_csv`` before scoring starts.
PREFIX_BYTES = 1 << 18


@dataclass
class ScoreSummary:
    """What :func:`score_files` did."""

    rows: int
    files: list[str]
    out: Path
    seconds: float
    repairs: RepairCounts = field(default_factory=RepairCounts)
    #: rows per predicted class, most frequent first (ties: first predicted first)
    counts: dict[str, int] = field(default_factory=dict)
    #: where each file's true class came from: "column 'label'", "file name", or None (unknown)
    label_sources: dict[str, str | None] = field(default_factory=dict)
    #: what was left out of the files (rows whose every cell is blank) or is not known (blank labels)
    notes: list[str] = field(default_factory=list)

    def label_note(self) -> str:
        """Where the true classes came from, in words, e.g. "from the file name: a.csv; unknown (no label column,
        no official file name): b.csv" (a label column is used over an official file name)."""
        by: dict[str, list[str]] = {}
        for name, source in self.label_sources.items():
            key = (f"from the {source}" if source == "file name" else f"from {source}" if source
                   else "unknown (no label column, no official file name)")  # fmt: skip
            by.setdefault(key, []).append(name)
        return "; ".join(f"{key}: {', '.join(names[:3])}" + (f" and {len(names) - 3} more" if len(names) > 3 else "")
                         for key, names in by.items())  # fmt: skip


@dataclass
class _FilePlan:
    path: str
    display: str
    columns: list[str]
    delimiter: str
    label_col: str | None
    file_label: str | None
    layout: object
    label_source: str | None  # as read_csv said it: a label column wins over the file name

    @property
    def labelled(self) -> bool:
        return self.label_col is not None or self.file_label is not None


def _plan(path: str | os.PathLike, display: str | None = None) -> _FilePlan:
    """Check a file's header and first rows with ``read_csv`` itself; return how to stream it."""
    path = Path(path)
    display = display or name_text(path.name)
    if not path.is_file():
        loading.read_csv(path, name=display)  # raises the same DataError (not found / is a folder)
    with open(path, "rb") as fh:
        head = fh.read(PREFIX_BYTES + 1)
    if len(head) > PREFIX_BYTES:
        cut = head.rfind(b"\n", 0, PREFIX_BYTES)
        # No complete line in the prefix: let read_csv read the whole file and say what is wrong.
        # The prefix's rows are not the file's: the whole-file limits are not checked on them (see above).
        ds = (loading.read_csv(path, name=display) if cut <= 0
              else loading.read_csv(head[: cut + 1], name=display, limits=Limits.for_part_of_a_file()))  # fmt: skip
        # read_csv saw the prefix only: the rest must keep to the same line limit (a scan of raw bytes that, on
        # a file of short lines, reads a few KB of each window of half the limit; core.limits).
        check_line_length(str(path), display, Limits.from_env())
    else:  # the whole file, but it is streamed all the same: the whole-file limits are not checked (see above)
        ds = loading.read_csv(path, name=display, limits=Limits.for_part_of_a_file())
    columns, delimiter = loading._parse_header(head, display)
    return _FilePlan(str(path), display, columns, delimiter, find_label_column(columns),
                     class_from_filename(display), ds.layout, ds.files[0].label_source)  # fmt: skip


def _check_layouts(model: TrainedModel, plans: list[_FilePlan]) -> None:
    """Refuse a mix of releases and a model of the other release, with ``read_files``' own messages."""
    empties = [
        Dataset(X=np.empty((0, p.layout.n_features), np.float32), y=np.empty(0, np.int8),
                source=np.empty(0, np.int32), files=[FileSummary(p.display, 0, None, None)], layout=p.layout)
        for p in plans
    ]  # fmt: skip
    model.check_layout(loading.concat(empties))


def _blocks(plan: _FilePlan, block_bytes: int, notes: list[str]):
    """Yield ``(first row index in file, X float32, y int8, bytes of the file read)`` blocks of one file; what was left
    out (rows whose every cell is blank) or not known (blank labels) goes to ``notes``."""
    layout = plan.layout
    types = {c: pa.float32() for c in layout.features}
    if plan.label_col:
        types[plan.label_col] = pa.string()
    include = list(layout.features) + ([plan.label_col] if plan.label_col else [])
    file_code = CLASSES_19.index(plan.file_label) if plan.file_label else UNLABELLED

    def at_line(error):  # the file's line the error's row starts on, as loading.read_csv says it
        return loading.at_its_line(error, plan.path, plan.columns, plan.delimiter, include, plan.label_col)

    def explain(exc):
        return at_line(
            loading._explain_arrow_error(exc, plan.path, plan.display, plan.columns, plan.delimiter, include)
        )

    # pyarrow parses small blocks (cheaper per byte, see loading.parse_block_bytes); they are scored in
    # groups of about ``block_bytes`` so that per-block overheads stay amortised.
    parse_bytes = min(block_bytes, loading.parse_block_bytes(loading.Limits.from_env()))
    group = max(1, block_bytes // parse_bytes)
    # Pages of freed blocks stay in pyarrow's pool for the next block (streaming bounds memory anyway).
    with pa.OSFile(loading.arrow_path(plan.path), "r") as source:
        try:
            reader = pacsv.open_csv(
                source,
                read_options=pacsv.ReadOptions(block_size=parse_bytes, column_names=plan.columns, skip_rows=1),
                parse_options=pacsv.ParseOptions(delimiter=plan.delimiter),
                convert_options=pacsv.ConvertOptions(column_types=types, include_columns=include,
                                                     null_values=loading.NULL_VALUES),
            )  # fmt: skip
        except pa.ArrowInvalid as exc:
            raise explain(exc) from None
        notes.extend(loading.ignored_label_columns(plan.display, plan.columns, plan.label_col))
        size = source.size()
        for offset, X, y, batches in _grouped(reader, plan, group, file_code, explain, notes, at_line):
            # each batch is one parse block of the file (its last one shorter): an estimate, for progress only
            yield offset, X, y, min(size, batches * parse_bytes)


def _grouped(reader, plan: _FilePlan, group: int, file_code: int, explain, notes: list[str], at_line):
    """Blocks of ``group`` parsed batches each, as ``(first row index in file, X float32, y int8, batches read so
    far)``, without the rows whose every cell is blank (left out as read_csv leaves them out, and said in ``notes``).
    ``explain``: a parse error in words; ``at_line``: a DataError with the file's line its row starts on."""
    layout = plan.layout
    offset = read = 0
    empty: list[np.ndarray] = []  # where the empty rows were (see loading.without_empty_rows)
    blank_labels = 0
    done = False
    while not done:
        batches = []
        while len(batches) < group:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                done = True
                break
            except pa.ArrowInvalid as exc:
                raise explain(exc) from None
            read += 1
            if batch.num_rows:
                batches.append(batch)
        if not batches:
            continue
        table, after = loading.without_empty_rows(pa.Table.from_batches(batches), offset)
        empty.append(after)
        n = table.num_rows
        if not n:
            continue
        labels = table.column(plan.label_col) if plan.label_col else None
        X = loading.matrix_from_batches(table.select(list(layout.features)).to_batches(), layout.n_features)
        del batches, table
        if labels is not None:
            try:
                y = loading._labels_from_column(labels, plan.display, plan.label_col, row_offset=offset)
            except DataError as exc:
                raise at_line(exc) from None
            blank_labels += int(np.count_nonzero(y == UNLABELLED))
        else:
            y = np.full(n, file_code, dtype=np.int8)
        yield offset, X, y, read
        offset += n
    empty_rows = np.concatenate(empty) if empty else np.empty(0, dtype=np.int64)
    if offset == 0:
        only = " (only empty rows, every cell blank)" if len(empty_rows) else ""
        raise DataError(f"the file has a header but no rows{only}", file=plan.display,
                        hint="pick a file with flows in it")  # fmt: skip
    if len(empty_rows):
        notes.append(loading.empty_rows_note(plan.display, empty_rows))
    if blank_labels:
        notes.append(loading.blank_labels_note(plan.display, plan.label_col, blank_labels, offset))


class _Stage(threading.Thread):
    """A daemon thread whose exception is kept for the caller."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self):
        try:
            self._target_fn()
        except BaseException as exc:
            self.error = exc


_DONE = object()


def _put(q: queue.Queue, item, stop: threading.Event, consumer: threading.Thread | None = None) -> bool:
    """Put ``item`` on ``q``, waiting for room; False once ``stop`` is set or the ``consumer`` has died (a writer that
    failed on a full disk while the queue was full would otherwise be waited for forever)."""
    while not stop.is_set() and (consumer is None or consumer.is_alive()):
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def score_files(
    model: TrainedModel,
    files: Sequence[str | os.PathLike],
    out_path: str | os.PathLike | BinaryIO,
    *,
    block_bytes: int = BLOCK_BYTES,
    top: int = 3,
    progress: Callable[[int, str, float], None] | None = None,
) -> ScoreSummary:
    """Score CSV ``files`` with ``model`` and write one row per input row, in input order, to ``out_path``.

    Parameters
    ----------
    model : TrainedModel
    files : sequence of paths
        CSV files of one release, scored in the order given.
    out_path : path or binary file object
        Output CSV (written under a temporary name, renamed when complete; its folder is made if missing,
        and a folder given as the output is refused before anything is read). A symbolic link is written
        through: its target is replaced, the link kept. What is not a regular file (``/dev/null``, a named
        pipe, a terminal) and a file object (standard output) are written as the rows come: replacing them
        by a renamed file would destroy them (``--out /dev/stdout`` run as root left a plain file there).
    block_bytes : int
        CSV bytes per block; memory use is a few blocks, whatever the size of the input.
    top : int
        Classes listed per row (the predicted one and ``top - 1`` runners-up).
    progress : callable(rows_done, file_name, fraction_done), optional
        Called after each block is scored; ``fraction_done`` (0 to 1) is the share of all the files' bytes read,
        estimated from the blocks parsed (rows per byte vary, so it is what a time left can be reckoned from).

    Raises
    ------
    DataError
        As :func:`core.loading.read_csv` (file, column and row of the first problem).
    ModelMismatchError
        The files are of another release than the model's.
    """
    started = time.perf_counter()
    if not files:
        raise DataError("no CSV files to read", hint="pass at least one .csv file")
    stream = out_path if hasattr(out_path, "write") else None
    out_path = Path("-" if stream is not None else out_path)
    if stream is None and out_path.is_dir():  # found now, not after scoring every row
        raise DataError(f"the output {out_path} is a folder", hint="give a file name for the predictions, e.g. "
                        f"{out_path / 'predictions.csv'}")  # fmt: skip
    for f in files if stream is None else ():  # the capture itself would be replaced by its predictions
        if out_path.exists() and Path(f).exists() and os.path.samefile(f, out_path):
            raise DataError(f"the output {out_path} is one of the input files", file=name_text(Path(f).name),
                            hint="write the predictions to another file, e.g. "
                            f"{out_path.with_name(out_path.stem + '-predictions.csv')}")  # fmt: skip
    # A file given twice is refused; two files of one name are told apart (day1/capture.csv, day2/capture.csv).
    shown = loading.source_names(list(files))
    plans, errors = [], []
    for f, name in zip(files, shown, strict=True):  # every file's header and first rows, before any is scored
        try:
            plans.append(_plan(f, name))
        except LayoutMismatchError:
            raise
        except DataError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else FilesError(errors, len(files))
    _check_layouts(model, plans)
    any_labelled = any(p.labelled for p in plans)
    builder = _OutputBuilder(model, [p.display for p in plans], top, any_labelled)

    # Where the rows go: in place for a stream or what is not a regular file; else a temporary file beside the
    # target of any link (os.replace onto a link would replace the link itself), renamed onto it when complete.
    target = None if stream is not None else replaced_file(out_path)
    in_place = target is None
    if not in_place:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = None if in_place else target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shown = "standard output" if stream is not None else out_path
    sizes = [os.path.getsize(p.path) for p in plans]  # for the share of the input done (progress)
    before, total_bytes = np.concatenate(([0], np.cumsum(sizes)))[:-1].tolist(), max(1, sum(sizes))
    stop = threading.Event()
    notes: list[str] = []  # filled by the reading thread, read once it is done
    parsed: queue.Queue = queue.Queue(maxsize=2)
    scored: queue.Queue = queue.Queue(maxsize=2)

    def read():
        for i, plan in enumerate(plans):
            for offset, X, y, done in _blocks(plan, block_bytes, notes):
                if not _put(parsed, (i, offset, X, y, (before[i] + done) / total_bytes), stop):
                    return
        _put(parsed, _DONE, stop)

    def write():
        try:
            with contextlib.ExitStack() as stack:
                if stream is not None:
                    sink = pa.PythonFile(stream, mode="w")  # not closed: standard output stays open
                else:
                    sink = stack.enter_context(pa.OSFile(loading.arrow_path(out_path if in_place else tmp), "wb"))
                writer = stack.enter_context(pacsv.CSVWriter(sink, builder.schema))
                while True:
                    table = scored.get()
                    if table is _DONE:
                        break
                    writer.write_table(table)
            if stream is not None:
                stream.flush()
        except BrokenPipeError:  # the reader of standard output left (| head): the command's own quiet ending
            raise
        except OSError as exc:  # a folder that cannot hold files, a full disk: one error line, not a traceback
            raise CoreError(f"the output {shown} could not be written: {exc.strerror or exc}",
                            hint="give --out a file in a folder you can write to, on a disk with room") from None  # fmt: skip

    reader, writer = _Stage(read), _Stage(write)
    rows = 0
    repairs = np.zeros((len(RepairCounts.KINDS), model.layout.n_features), dtype=np.int64)  # in feature order
    try:  # the threads start inside: a stop signal right after the writer made its file still removes it
        reader.start()
        writer.start()
        while True:
            try:
                item = parsed.get(timeout=0.1)
            except queue.Empty:
                if not reader.is_alive() and parsed.empty():
                    raise reader.error or RuntimeError("the CSV reader stopped unexpectedly") from None
                continue
            if item is _DONE:
                break
            i, offset, X, y, fraction = item
            chunk = Dataset(X=X, y=y, source=np.full(len(X), i, dtype=np.int32), files=builder.summaries,
                            layout=model.layout)  # fmt: skip
            predictions = model.predict(chunk)
            repairs += predictions.repairs.counts(model.preprocessor.features)
            table = builder.table(predictions, chunk, i, offset)
            if not _put(scored, table, stop, writer) or writer.error:
                raise writer.error or RuntimeError("the CSV writer stopped unexpectedly")
            rows += len(X)
            if progress:
                progress(rows, plans[i].display, fraction)
        scored.put(_DONE)
        writer.join()
        if writer.error:
            raise writer.error
        if tmp is not None:
            os.replace(tmp, target)
    except BaseException:
        stop.set()
        if writer.is_alive():
            try:
                scored.put_nowait(_DONE)
            except queue.Full:
                pass
            writer.join(timeout=5)
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        stop.set()
    return ScoreSummary(rows=rows, files=[p.display for p in plans], out=out_path,
                        seconds=time.perf_counter() - started,
                        repairs=RepairCounts.from_counts(model.preprocessor.features, repairs), counts=builder.counts(),
                        label_sources={p.display: p.label_source for p in plans}, notes=notes)  # fmt: skip


class _OutputBuilder:
    """Arrow tables of the predictions frame, block by block, checked against ``Predictions.to_frame``."""

    def __init__(self, model: TrainedModel, file_names: list[str], top: int, any_labelled: bool):
        self.task = model.task
        self.classes = list(model.classes)
        self.top = top
        self.any_labelled = any_labelled
        self.summaries = [FileSummary(name, 0, None, None) for name in file_names]
        self.file_names = _strings(file_names)
        self.class_names = _strings(self.classes)
        self.task_names = _strings(shown_names(self.task))  # a coarser label's truth shows what it says
        self._shown = shown_index_map(self.task)
        names = ["file", "row", "predicted", "probability"]
        types = [pa.string(), pa.int64(), pa.string(), pa.float32()]
        for k in range(1, min(top, len(self.classes))):
            names += [f"top{k + 1}", f"top{k + 1}_probability"]
            types += [pa.string(), pa.float32()]
        if any_labelled:
            names.append("true")
            types.append(pa.string())
        self.schema = pa.schema(list(zip(names, types)))
        self._counts = np.zeros(len(self.classes), dtype=np.int64)
        self._first = np.full(len(self.classes), np.iinfo(np.int64).max, dtype=np.int64)
        self._seen = 0

    def counts(self) -> dict[str, int]:
        order = sorted(np.flatnonzero(self._counts), key=lambda c: (-self._counts[c], self._first[c]))
        return {self.classes[c]: int(self._counts[c]) for c in order}

    def table(self, predictions, chunk: Dataset, file_index: int, offset: int) -> pa.Table:
        table, top1 = self._fast(predictions, chunk, file_index, offset)
        counts = np.bincount(top1, minlength=len(self.classes))
        present = np.flatnonzero(counts)
        uniq, first = np.unique(top1, return_index=True)
        self._first[uniq] = np.minimum(self._first[uniq], first + self._seen)
        self._counts[present] += counts[present]
        self._seen += len(top1)
        return table

    def _fast(self, predictions, chunk: Dataset, file_index: int, offset: int) -> tuple[pa.Table, np.ndarray]:
        n = len(predictions.proba)
        codes, probs = predictions.ranked(self.top)  # the ranking to_frame uses
        cols = [
            pc.take(self.file_names, _numbers(np.full(n, file_index, dtype=np.int32))),
            _numbers(np.arange(offset + 1, offset + n + 1, dtype=np.int64)),
            pc.take(self.class_names, _numbers(codes[:, 0])),
            _numbers(probs[:, 0]),
        ]
        for j in range(1, codes.shape[1]):
            # An alternative with probability 0 is no alternative: blank, as in to_frame.
            cols.append(pc.take(self.class_names, _numbers(codes[:, j], valid=probs[:, j] > 0)))
            cols.append(_numbers(probs[:, j]))
        if self.any_labelled:
            known = chunk.y != UNLABELLED
            truth = np.zeros(n, dtype=np.int64)
            truth[known] = self._shown[chunk.y[known]]
            cols.append(pc.take(self.task_names, _numbers(truth, valid=known)))
        return pa.Table.from_arrays(cols, schema=self.schema), codes[:, 0]


# pa.array() imports pandas (half a second) whatever it is given; arrays are built from buffers instead.
_ARROW_TYPES = {np.dtype(np.int32): pa.int32(), np.dtype(np.int64): pa.int64(), np.dtype(np.float32): pa.float32()}


def _numbers(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A numeric Arrow array over ``values`` (null where ``valid`` is False)."""
    values = np.ascontiguousarray(values)
    if values.dtype not in _ARROW_TYPES:
        values = values.astype(np.int64)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(_ARROW_TYPES[values.dtype], len(values), [bitmap, pa.py_buffer(values)])


def _strings(items: Sequence[str]) -> pa.Array:
    """An Arrow string array of ``items``."""
    data = [str(s).encode() for s in items]
    offsets = np.zeros(len(data) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(d) for d in data])
    return pa.Array.from_buffers(pa.string(), len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def _csv_text(table: pa.Table) -> bytes:
    """A table as the CSV text the writer produces (for tests)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()
