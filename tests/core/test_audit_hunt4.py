"""Filtering the audit log, fourth hunt: the test failed before its fix."""

from __future__ import annotations

import tracemalloc

from core import audit


def _burst(n: int) -> bytes:
    """``n`` failed sign-ins, as dashboard.auth records them, newest last."""
    event = {"time": "2026-12-01T00:00:00+00:00", "action": "sign-in failed", "user": None, "os_user": "svc",
             "via": "dashboard", "model": None, "files": [], "details": {"account": "x"}}  # fmt: skip
    return audit._line(event) * n


def test_a_filter_finds_an_event_older_than_the_newest_few_thousand(tmp_path):
    """The Audit page read the newest 5,000 events and filtered those: a model deleted by one user before a burst of
    20,000 failed sign-ins was never found by a filter on that user. The whole log is now read once and filtered
    while read, keeping at most ``limit`` matches in memory and counting all of them."""
    audit.record("deleted", user="mallory", via="dashboard", model="rf-19", folder=tmp_path)
    audit.record("scored", user="alice", via="dashboard", model="rf-19", folder=tmp_path)
    (log,) = tmp_path.glob("audit-*.jsonl")
    with open(log, "ab") as fh:
        fh.write(_burst(20_000))
    audit.record("scored", user="mallory", via="dashboard", model="lr-2", folder=tmp_path)
    scan = audit.scan_events(tmp_path, match=lambda e: e.get("user") == "mallory", limit=5000,
                             facets={"action": lambda e: e["action"], "user": lambda e: e.get("user") or ""})  # fmt: skip
    assert [(e["action"], e["model"]) for e in scan.events] == [("scored", "lr-2"), ("deleted", "rf-19")]
    assert (scan.matched, scan.total, scan.unreadable) == (2, 20_003, 0)
    # The filters' options come from every event, not only from the newest ones.
    assert scan.values == {"action": ["deleted", "scored", "sign-in failed"], "user": ["alice", "mallory"]}


def test_matches_past_the_limit_are_counted_but_not_kept(tmp_path):
    audit.record("deleted", user="mallory", model="old", folder=tmp_path)
    (log,) = tmp_path.glob("audit-*.jsonl")
    with open(log, "ab") as fh:
        fh.write(_burst(30_000))
    tracemalloc.start()
    try:
        scan = audit.scan_events(tmp_path, match=lambda e: e["action"] == "sign-in failed", limit=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (len(scan.events), scan.matched, scan.total) == (100, 30_000, 30_001)
    assert peak < 20 << 20, f"{peak:,} bytes held to filter 30,000 events"
    everything = audit.scan_events(tmp_path, limit=None)
    assert len(everything.events) == everything.matched == 30_001 and everything.events[-1]["model"] == "old"


def test_unreadable_lines_are_counted_in_the_whole_log(tmp_path):
    audit.record("deleted", model="old", folder=tmp_path)
    (log,) = tmp_path.glob("audit-*.jsonl")
    with open(log, "ab") as fh:
        fh.write(b"{not json\n" + _burst(10))
    scan = audit.scan_events(tmp_path, match=lambda e: e["action"] == "deleted", limit=5)
    assert (scan.matched, scan.total, scan.unreadable) == (1, 12, 1)
    assert audit.scan_events(tmp_path / "none").total == 0
