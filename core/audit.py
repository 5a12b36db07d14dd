"""Audit log: who did what, when, to which files and models, as JSON lines.

One event per line in ``$IOMT_AUDIT_DIR/audit-YYYY-MM.jsonl`` (default ``logs/audit`` in the
project, kept out of git). An event records the action (``scored``, ``trained``, ``deleted``,
``exported``, ``signed in``...), the signed-in user (when there is one) and the operating-system
account of the process, the files by name, size and SHA-256 (never their contents), the model, and
a few details. Lines are appended under an exclusive lock, so that several server sessions and
command-line runs can write to one log.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

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


def file_info(name: str, data: bytes | str | os.PathLike | None = None) -> dict:
    """``{"name", "size", "sha256"}`` of a file (``data``: its bytes, or a path; default ``name`` as a path)."""
    source = name if data is None else data
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = len(source)
    else:
        try:
            size = os.stat(source).st_size
        except OSError:
            return {"name": str(name), "size": None, "sha256": None}
    return {"name": str(name), "size": size, "sha256": sha256_of(source)}


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return str(os.getuid())


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
    line = json.dumps(event, default=str, ensure_ascii=False) + "\n"
    target = Path(folder) if folder else audit_dir()
    try:
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"audit-{now:%Y-%m}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)  # closing releases the lock
        event["written"] = True
    except OSError as exc:
        event["written"] = False
        event["error"] = str(exc)
    return event


def _well_formed(event) -> bool:
    """Whether a decoded line has the shape :func:`record` writes (text where text goes, a dict of details, a list
    of file dicts), so that a reader can show it without checking every field again."""
    if not isinstance(event, dict):
        return False
    texts = ("time", "action", "user", "os_user", "via", "model")
    if any(event.get(k) is not None and not isinstance(event[k], str) for k in texts):
        return False
    details, files = event.get("details"), event.get("files")
    return (details is None or isinstance(details, dict)) and (
        files is None or (isinstance(files, list) and all(isinstance(f, dict) for f in files)))  # fmt: skip


def read_events(folder: str | os.PathLike | None = None, limit: int | None = 5000) -> list[dict]:
    """The newest ``limit`` events (newest first); a damaged line is returned as an ``unreadable`` event."""
    target = Path(folder) if folder else audit_dir()
    if not target.is_dir():
        return []
    events: list[dict] = []
    for path in sorted(target.glob("audit-*.jsonl"), reverse=True):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in reversed(lines):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                if not _well_formed(event):
                    raise ValueError
            except ValueError:
                event = {"action": "unreadable", "details": {"line": line[:200], "file": path.name}}
            events.append(event)
            if limit and len(events) >= limit:
                return events
    return events
