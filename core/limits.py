"""Input limits, checked before a file is parsed, so that a huge or hostile file cannot exhaust memory.

Every limit has a default that comfortably fits the real data (the largest official CICIoMT2024 file is
a few hundred MB, rows are a few hundred bytes, 45 or 39 features) and can be changed with an
environment variable:

=====================  ===========================  =========
limit                  variable                     default
=====================  ===========================  =========
file size              ``IOMT_MAX_FILE_MB``         1024 MB
rows per file          ``IOMT_MAX_ROWS``            20,000,000
columns                ``IOMT_MAX_COLUMNS``         256
line length            ``IOMT_MAX_LINE_BYTES``      65,536
=====================  ===========================  =========

The size is checked from the file system (or the upload's length) before a byte is read; the line
length by a scan of the raw bytes (vectorised, about a second per GB) before parsing; columns from
the header; rows once parsed (the size limit already bounds the memory that takes).
"""

from __future__ import annotations

import mmap
import os
import sys
from dataclasses import dataclass, replace

import numpy as np

from .errors import DataError


def env_int(name: str, default: int, *, unset: str | None = None) -> int:
    """A positive whole number from ``$name``, ``default`` when it is unset or empty (``unset`` says what that
    means when it is not a fixed number); anything else is one error naming the variable."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    hint = f"unset it to use {unset or f'{default:,}'}"
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"${name} must be a number, not {value!r}", hint=hint) from None
    if not np.isfinite(number) or number != int(number):  # 1.9 was cut to 1 and inf was a traceback
        raise DataError(f"${name} must be a whole number, not {value!r}", hint=hint)
    if number <= 0:
        raise DataError(f"${name} must be positive, not {value!r}", hint=hint)
    return int(number)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024 * 1024
    max_rows: int = 20_000_000
    max_columns: int = 256
    max_line_bytes: int = 65_536

    @classmethod
    def from_env(cls) -> Limits:
        """The limits in force: defaults, overridden by the ``IOMT_MAX_*`` variables."""
        d = cls()
        return cls(
            max_bytes=env_int("IOMT_MAX_FILE_MB", d.max_bytes // (1024 * 1024)) * 1024 * 1024,
            max_rows=env_int("IOMT_MAX_ROWS", d.max_rows),
            max_columns=env_int("IOMT_MAX_COLUMNS", d.max_columns),
            max_line_bytes=env_int("IOMT_MAX_LINE_BYTES", d.max_line_bytes),
        )

    @classmethod
    def for_part_of_a_file(cls) -> Limits:
        """:meth:`from_env` without the whole-file size and row limits, for a reader of one part of a file at a time
        (``predict``'s first rows, a ``score-many`` range): they protect memory, which such readers bound anyway,
        and checked on a part they would report its rows as the file's."""
        return replace(cls.from_env(), max_bytes=sys.maxsize, max_rows=sys.maxsize)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.1f} MB"


def check_size(size: int, name: str, limits: Limits) -> None:
    """Refuse a file larger than ``limits.max_bytes`` (called before reading it)."""
    if size > limits.max_bytes:
        raise DataError(
            f"the file is {_mb(size)}, larger than the limit of {_mb(limits.max_bytes)}",
            file=name,
            hint="split it into smaller files, or raise the limit with IOMT_MAX_FILE_MB (and the dashboard's "
            "server.maxUploadSize) if this machine has the memory",
        )


def check_columns(n_columns: int, name: str, limits: Limits) -> None:
    if n_columns > limits.max_columns:
        raise DataError(
            f"the header has {n_columns:,} columns, more than the limit of {limits.max_columns:,}",
            file=name,
            row=0,
            hint="a CICIoMT2024 CSV has 39 or 45 feature columns and perhaps a label column",
        )


def check_rows(n_rows: int, name: str, limits: Limits) -> None:
    if n_rows > limits.max_rows:
        raise DataError(
            f"the file has {n_rows:,} rows, more than the limit of {limits.max_rows:,}",
            file=name,
            hint="split it into smaller files, or raise the limit with IOMT_MAX_ROWS",
        )


def _longest_line(buf, chunk: int = 1 << 26) -> tuple[int, int]:
    """Length in bytes of the longest line of ``buf`` (bytes or mmap) and the 1-based line where it is."""
    n = len(buf)
    longest, where, line_no, start = 0, 1, 1, 0  # start: offset where the current line began
    for offset in range(0, n, chunk):
        block = np.frombuffer(buf, dtype=np.uint8, count=min(chunk, n - offset), offset=offset)
        ends = np.flatnonzero(block == 10) + offset
        if len(ends):
            lengths = np.diff(np.concatenate(([start - 1], ends))) - 1
            i = int(np.argmax(lengths))
            if lengths[i] > longest:
                longest, where = int(lengths[i]), line_no + i
            line_no += len(ends)
            start = int(ends[-1]) + 1
        del block
    if n - start > longest:
        longest, where = n - start, line_no
    return longest, where


def _no_line_longer_than(buf, limit: int, max_windows: int = 200_000) -> bool:
    """True when no line of ``buf`` can be longer than ``limit`` bytes, shown without scanning every byte.

    A line of more than ``limit`` bytes covers at least one whole aligned window of ``limit // 2`` bytes
    (any stretch of ``2w - 1`` bytes contains one), so if every whole window holds a newline, no line is
    too long. ``find`` stops at the first newline of each window, a few hundred bytes into it, so a file of
    short lines is checked after reading about one byte in a hundred. False means "not shown" (some window
    holds no newline, or windows are too many to loop over): the exact scan decides.
    """
    w = limit // 2
    if w < 1 or len(buf) // w > max_windows:
        return False
    return all(buf.find(b"\n", k * w, k * w + w) >= 0 for k in range(len(buf) // w))


def _file_has_no_line_longer_than(path: str, limit: int, max_windows: int = 200_000) -> bool:
    """:func:`_no_line_longer_than` of a file, made by reading a few KB at the start of each window instead of through
    a map of the whole file: the map's pages counted in the process's resident memory, which so grew with the file
    (a 760 MB capture: 985 MB peak RSS to score with ``predict``, 450 MB without the map)."""
    w = limit // 2
    probe = min(w, 4096)  # the first newline of a window of short lines is a few hundred bytes in
    with open(path, "rb", buffering=0) as fh:
        fd, size = fh.fileno(), os.fstat(fh.fileno()).st_size
        if w < 1 or size // w > max_windows:
            return False
        for start in range(0, size - w + 1, w):  # whole windows only
            if b"\n" not in os.pread(fd, probe, start) and (
                probe == w or b"\n" not in os.pread(fd, w - probe, start + probe)
            ):
                return False
    return True


def check_line_length(data: bytes | str, name: str, limits: Limits) -> None:
    """Refuse a file with a line longer than ``limits.max_line_bytes`` (raw bytes scanned, nothing parsed)."""
    limit = limits.max_line_bytes
    if isinstance(data, str):
        if _file_has_no_line_longer_than(data, limit):
            return
        with open(data, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                if _no_line_longer_than(mm, limit):
                    return
                longest, where = _longest_line(mm)
    else:
        if _no_line_longer_than(data, limit):
            return
        longest, where = _longest_line(data)
    if longest > limits.max_line_bytes:
        raise DataError(
            f"line {where:,} is {longest:,} bytes long, more than the limit of {limits.max_line_bytes:,}",
            file=name,
            hint="a CICIoMT2024 row is a few hundred bytes: is this really a flow CSV with one flow per line? "
            "(raise the limit with IOMT_MAX_LINE_BYTES if it is)",
        )
