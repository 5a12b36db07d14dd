"""Reading the audit log back when its folder cannot be listed: each test failed before its fix."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from core import audit


def test_a_folder_the_server_may_not_list_is_unreadable_not_empty(tmp_path, monkeypatch):
    """A log folder the dashboard's account may not list (written by the command line under another account, mode
    0700) read as an empty log: Path.glob swallows the PermissionError, and the Audit page said "Nothing recorded
    yet" over a log full of events. (Simulated: the tests run as root, whom modes do not stop.)"""
    audit.record("deleted", folder=tmp_path, model="rf-19")
    real_listdir = os.listdir

    def listdir(path="."):
        if Path(path) == tmp_path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_listdir(path)

    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == tmp_path:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(os, "scandir", scandir)
    (event,) = audit.read_events(tmp_path)
    assert event["action"] == "unreadable" and "Permission denied" in event["details"]["error"]
    assert event["details"]["folder"] == str(tmp_path)


def test_a_file_where_the_folder_should_be_is_unreadable_not_empty(tmp_path):
    (tmp_path / "audit").write_text("")
    (event,) = audit.read_events(tmp_path / "audit")
    assert event["action"] == "unreadable" and event["details"]["folder"] == str(tmp_path / "audit")


def test_no_folder_yet_is_no_event(tmp_path):
    assert audit.read_events(tmp_path / "none") == []
    audit.record("trained", folder=tmp_path / "none", model="a")
    (tmp_path / "none" / "audit-notes.txt").write_text("not a log")  # other files are not read
    assert [e["model"] for e in audit.read_events(tmp_path / "none")] == ["a"]


def test_the_newest_events_of_a_large_month_are_read_without_reading_it_all(tmp_path):
    """Each visit of the Audit page (each click of a filter) read the whole month's file into memory, twice over (the
    text, then its lines), to show its last 5,000 events: a burst of failed sign-ins (names no account has are never
    paused) grows a month to gigabytes, and the page took the dashboard's memory when it was needed most."""
    import tracemalloc

    burst = audit._line({"time": "2026-12-01T00:00:00+00:00", "action": "sign-in failed", "user": None,
                         "os_user": "svc", "via": "dashboard", "model": None, "files": [],
                         "details": {"account": None}})  # fmt: skip
    log = tmp_path / "audit-2026-12.jsonl"
    log.write_bytes(burst * (40_000_000 // len(burst)))  # 40 MB
    audit.record("deleted", user="mallory", folder=tmp_path, model="rf-19")  # the newest event
    tracemalloc.start()
    try:
        events = audit.read_events(tmp_path, limit=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert events[0]["model"] == "rf-19" and len(events) == 100
    assert peak < 8_000_000, f"{peak:,} bytes held to read 100 events"


def test_lines_cut_across_blocks_come_back_whole_and_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(audit, "_BLOCK", 7)  # every line, and letters of two bytes, cut across blocks
    for i in range(30):
        audit.record("scored", user="zoë", folder=tmp_path, model=f"m{i}", files=[{"name": "é\u2028.csv"}])
    with open(next(tmp_path.glob("audit-*.jsonl")), "a") as fh:
        fh.write('{"action": "sco\n\n')  # a line cut short, and a blank one
    events = audit.read_events(tmp_path, limit=None)
    assert events[0]["action"] == "unreadable" and events[0]["details"]["line"] == '{"action": "sco'
    assert [e["model"] for e in events[1:]] == [f"m{i}" for i in reversed(range(30))]
    assert all(e["user"] == "zoë" and e["files"][0]["name"] == "é\u2028.csv" for e in events[1:])
