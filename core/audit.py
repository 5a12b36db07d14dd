"""Audit log: who did what, when, to which files and models, as JSON lines.

One event per line in ``$IOMT_AUDIT_DIR/audit-YYYY-MM.jsonl`` (default ``logs/audit`` in the
project, kept out of git). An event records the action (``scored``, ``trained``, ``deleted``,
``exported``, ``signed in``, ``sign-in failed``...), the signed-in user (when there is one) and the operating-system
account of the process, the files by name, size and SHA-256 (never their contents), the model, and
a few details. Lines are appended under an exclusive lock, so that several server sessions and
command-line runs can write to one log.
"""

from __future__ import annotations

import fcntl
import fnmatch
import getpass
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .paths import name_text

ROOT = Path(__file__).resolve().parent.parent

#: Actions the product records.
ACTIONS = (
    "scored",
    "evaluated",
    "trained",
    "training cancelled",
    "training failed",
    "threshold saved",
    "threshold cleared",
    "deleted",
    "exported",
    "signed in",
    "signed out",
    "sign-in failed",
    "sign-in refused",
)


def audit_dir() -> Path:
    """``$IOMT_AUDIT_DIR`` or ``logs/audit`` at the project root."""
    env = os.environ.get("IOMT_AUDIT_DIR", "").strip()
    return Path(env).expanduser() if env else ROOT / "logs" / "audit"


def sha256_of(data: bytes | str | os.PathLike) -> str:
    """SHA-256 of bytes, or of a file read in 8 MB blocks."""
    h = hashlib.sha256()
    if isinstance(data, (bytes, bytearray, memoryview)):
        h.update(data)
    else:
        with open(data, "rb") as fh:
            while block := fh.read(1 << 23):
                h.update(block)
    return h.hexdigest()


def file_info(name: str, data: bytes | str | os.PathLike | None = None, *, sha256: str | None = None) -> dict:
    """``{"name", "size", "sha256"}`` of a file (``data``: its bytes, or a path; default ``name`` as a path). A name
    that is not UTF-8 is written as the outputs name it (:func:`core.paths.name_text`: ``caf\\xe9.csv``). ``sha256``:
    the contents' hash when the caller has it already (not worked out again)."""
    source = name if data is None else data
    shown = name_text(str(name))
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = len(source)
    else:
        try:
            size = os.stat(source).st_size
        except OSError:
            return {"name": shown, "size": None, "sha256": None}
    return {"name": shown, "size": size, "sha256": sha256 or sha256_of(source)}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return str(os.getuid())


#: Line breaks for ``str.splitlines`` (and JavaScript) that JSON leaves unescaped in text with ``ensure_ascii=False``.
_UNSAFE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _line(event: dict) -> bytes:
    """One JSON line of UTF-8. A break that some readers take for a new line is escaped (a file named with one
    must not cut its event in two), and a lone surrogate (a file name that was not UTF-8, as Python decodes it)
    becomes U+FFFD instead of failing to encode."""
    line = json.dumps(event, default=str, ensure_ascii=False)
    for char, escaped in _UNSAFE_BREAKS.items():
        line = line.replace(char, escaped)
    try:
        return (line + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (line.encode("utf-16", "surrogatepass").decode("utf-16", "replace") + "\n").encode("utf-8")


def _ends_mid_line(fd: int) -> bool:
    """Whether the file ends without a line break (a write cut short); False where it cannot be read."""
    try:
        size = os.fstat(fd).st_size
        return size > 0 and os.pread(fd, 1, size - 1) != b"\n"
    except OSError:
        return False


def write_problem(folder: str | os.PathLike | None = None) -> str | None:
    """Why an event could not be appended to the log now (the error), or None when it can: for actions recorded where
    no warning can be shown when the write fails (a download's file, built when it is clicked)."""
    target = Path(folder) if folder else audit_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        os.close(os.open(target / f"audit-{datetime.now(UTC):%Y-%m}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o640))  # fmt: skip
    except OSError as exc:
        return str(exc)
    return None


def record(action: str, *, user: str | None = None, files: Iterable[dict] = (), model: str | None = None,
           via: str = "cli", folder: str | os.PathLike | None = None, **details) -> dict:  # fmt: skip
    """Append one event and return it. Never raises on a write failure (the failure is in the event's
    return value as ``"written": False``): an unwritable log must not stop an analyst's work."""
    now = datetime.now(UTC)
    event = {
        "time": now.isoformat(timespec="seconds"),
        "action": action,
        "user": user,
        "os_user": _os_user(),
        "via": via,
        "model": model,
        "files": list(files),
    }
    if details:
        event["details"] = details
    data = _line(event)
    target = Path(folder) if folder else audit_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"audit-{now:%Y-%m}.jsonl"
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        except PermissionError:  # may be appended to, not read: no check of the last line
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _ends_mid_line(fd):  # a writer died mid-line: end that line, or it would swallow this event
                data = b"\n" + data
            while data:  # a short write (disk nearly full) must not leave half a line
                data = data[os.write(fd, data) :]
        finally:
            os.close(fd)  # closing releases the lock
        event["written"] = True
    except OSError as exc:
        event["written"] = False
        event["error"] = str(exc)
    return event


#: The fields of an event that hold text (or nothing).
_TEXT_FIELDS = ("time", "user", "os_user", "via", "model")


def _well_formed(event) -> bool:
    """Whether a decoded line has the shape :func:`record` writes (text where text goes, a dict of details, a list
    of file dicts), so that a reader can show it without checking every field again."""
    if not isinstance(event, dict) or not isinstance(event.get("action"), str):
        return False
    for key in _TEXT_FIELDS:  # a loop, not any() over a generator: a third of the time, on every line of the log
        value = event.get(key)
        if value is not None and not isinstance(value, str):
            return False
    details, files = event.get("details"), event.get("files")
    return (details is None or isinstance(details, dict)) and (
        files is None or (isinstance(files, list) and all(isinstance(f, dict) for f in files)))  # fmt: skip


#: Bytes read at a time from the end of a month's log.
_BLOCK = 1 << 20
#: The longest line read as an event: far above any event :func:`record` writes (a score-many run of 20,000 files
#: records about 3 MB); a longer line (a damaged log: a disk image, a file without line breaks) is unreadable.
MAX_LINE_BYTES = 64 << 20
#: Bytes of a damaged line shown with it.
_SHOWN = 200


def _lines_from_end(path: Path) -> Iterator[tuple[str, int]]:
    """The lines of ``path`` with their size in bytes, last first, read in blocks from its end: a month's log can grow
    large (a burst of failed sign-ins) and the newest events are at its end. A line over :data:`MAX_LINE_BYTES` comes
    as its first bytes only, in bounded memory (its blocks were joined again and again: a line of 256 MB took 90 s
    and 800 MB, one of 1 GB a quarter of an hour). Cut at "\\n" only: splitlines() would also cut at U+2028 and the
    like, which JSON may hold inside a text (and "\\n" is never a byte of another UTF-8 character)."""
    with path.open("rb") as fh:
        end = fh.seek(0, os.SEEK_END)
        pieces: list[bytes] = []  # the line being read, its earliest bytes last (read from the end)
        size = 0
        while end > 0:
            start = max(0, end - _BLOCK)
            fh.seek(start)
            lines = fh.read(end - start).split(b"\n")
            end = start
            for line in reversed(lines[1:]):  # each ends the line begun in an earlier block, or is whole
                pieces.append(line)
                yield _joined(pieces, size + len(line)), size + len(line)
                pieces, size = [], 0
            pieces.append(lines[0])  # the first line may begin in the block before
            size += len(lines[0])
            if size > MAX_LINE_BYTES:
                pieces = pieces[-1:]  # its start is all that is shown of it
        yield _joined(pieces, size), size


def _joined(pieces: list[bytes], size: int) -> str:
    """A line of ``size`` bytes from its pieces (read backwards), its first :data:`_SHOWN` bytes only when it is over
    :data:`MAX_LINE_BYTES` (its other pieces were not kept)."""
    line = b"".join(reversed(pieces))
    if size > MAX_LINE_BYTES:
        line = line[:_SHOWN]
    return line.decode("utf-8", errors="replace")


def _event(line: str, file: str, size: int | None = None) -> dict:
    """The event a line (of ``size`` bytes) holds, or an ``unreadable`` one naming the line."""
    if size is not None and size > MAX_LINE_BYTES:
        return {"action": "unreadable", "details": {"line": line[:_SHOWN], "file": file,
                                                    "error": f"a line of {size:,} bytes: no event is that long"}}  # fmt: skip
    try:
        event = json.loads(line)
        if not _well_formed(event):
            raise ValueError
        # a \udcff escape decodes to a lone surrogate, which no page or CSV can encode (UnicodeError); only an escape
        # of a surrogate ("\ud800" to "\udfff", either case) gives one: other lines skip the check, a quarter of the
        # time of reading a long log
        if "\\ud" in line or "\\uD" in line:
            json.dumps(event, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
        event = {"action": "unreadable", "details": {"line": line[:_SHOWN], "file": file}}
    return event


def _events(folder: str | os.PathLike | None = None) -> Iterator[dict]:
    """Every event of the log, newest first (see :func:`read_events`), one at a time: memory stays bounded however
    long the log is."""
    target = Path(folder) if folder else audit_dir()
    try:
        names = os.listdir(target)
    except FileNotFoundError:  # nothing recorded yet
        return
    except OSError as exc:  # a file, or a folder this process may not list: not to be taken for an empty log
        yield {"action": "unreadable", "details": {"folder": str(target), "error": str(exc)}}
        return
    for path in sorted((target / n for n in fnmatch.filter(names, "audit-*.jsonl")), reverse=True):
        try:
            for line, size in _lines_from_end(path):
                if line.strip():
                    yield _event(line, path.name, size)
        except OSError as exc:  # one month's log that cannot be read must not hide the others
            yield {"action": "unreadable", "details": {"file": path.name, "error": str(exc)}}


def read_events(folder: str | os.PathLike | None = None, limit: int | None = 5000) -> list[dict]:
    """The newest ``limit`` events (newest first); a damaged line, a month's file or the folder that cannot be read is
    returned as an ``unreadable`` event. No folder: no event yet, an empty list. Only the newest ``limit`` lines are
    read, from the end of each month's file."""
    return list(itertools.islice(_events(folder), limit or None))


#: Distinct values of one facet that :func:`scan_events` keeps (a damaged or hostile log could hold millions).
MAX_FACET_VALUES = 1000


@dataclass(frozen=True)
class EventScan:
    """What :func:`scan_events` found in the whole log.

    Attributes
    ----------
    events : list of dict
        The newest ``limit`` events that match, newest first.
    matched : int
        Events that match, in all (``len(events)`` is at most ``limit``).
    total : int
        Events in the log, in all (``unreadable`` ones included).
    unreadable : int
        ``unreadable`` events in the log, in all.
    values : dict of str to list of str
        For each facet, its distinct non-empty values over every event (not only those that match), sorted; at most
        :data:`MAX_FACET_VALUES` each.
    """

    events: list[dict]
    matched: int
    total: int
    unreadable: int
    values: dict[str, list[str]] = field(default_factory=dict)


def scan_events(folder: str | os.PathLike | None = None, *, match: Callable[[dict], bool] | None = None,
                limit: int | None = 5000, facets: Mapping[str, Callable[[dict], str]] | None = None) -> EventScan:  # fmt: skip
    """Read the whole log once, newest first, keeping the newest ``limit`` events for which ``match`` is true (all
    events without ``match``), counting every match, and collecting each facet's values (``facets``: name -> the
    value of an event, e.g. its action) for a filter's options. A filter applied this way sees every event, not only
    the newest ``limit`` (an old deletion by one user was never found behind a burst of failed sign-ins), while no
    more than ``limit`` events are held in memory."""
    facets = dict(facets or {})
    seen: dict[str, set[str]] = {name: set() for name in facets}
    kept: list[dict] = []
    matched = total = unreadable = 0
    for event in _events(folder):
        total += 1
        unreadable += event.get("action") == "unreadable"
        for name, value_of in facets.items():
            if len(seen[name]) < MAX_FACET_VALUES and (value := value_of(event)):
                seen[name].add(value)
        if match is None or match(event):
            matched += 1
            if not limit or len(kept) < limit:
                kept.append(event)
    return EventScan(kept, matched, total, unreadable, {name: sorted(values) for name, values in seen.items()})
