"""Reading a damaged audit log at scale, third hunt: the test failed before its fix."""

from __future__ import annotations

from core import audit


def test_a_line_far_longer_than_any_event_is_unreadable_in_bounded_work(tmp_path):
    """A log holding one huge line (a disk image or a capture written into it: no line break for a gigabyte) was read
    from its end by joining each 1 MB block to all the line read so far: 256 MB took 90 s and 800 MB of memory, and
    a gigabyte a quarter of an hour, while the Audit page said nothing. The line is now read in pieces, kept only up
    to MAX_LINE_BYTES, and shown as unreadable with its size and its first bytes; the events around it are read."""
    audit.record("deleted", folder=tmp_path, model="before")
    (log,) = tmp_path.glob("audit-*.jsonl")
    size = (67 << 20) + 5  # past the limit (64 MiB), and not a whole number of the reader's blocks
    with open(log, "ab") as fh:
        fh.write(b"\x00start")
        block = b"\xff\x00" * (1 << 19)
        for _ in range((size - 6) // len(block)):
            fh.write(block)
        fh.write(b"x" * ((size - 6) % len(block)) + b"\n")
    audit.record("scored", folder=tmp_path, model="after")
    after, damaged, before = audit.read_events(tmp_path)
    assert (after["model"], before["model"]) == ("after", "before")
    assert damaged["action"] == "unreadable"
    assert damaged["details"]["error"] == f"a line of {size:,} bytes: no event is that long"
    assert damaged["details"]["line"].startswith("\x00start") and len(damaged["details"]["line"]) <= 200
    assert damaged["details"]["file"] == log.name


def test_lines_within_the_limit_are_read_whole_across_blocks(tmp_path):
    """An event longer than a block of the reader (a score-many run of many files) is still one event."""
    files = [{"name": f"capture-{i:05d}.csv", "size": i, "sha256": None} for i in range(20_000)]
    audit.record("scored", folder=tmp_path, model="many", files=files)
    audit.record("deleted", folder=tmp_path, model="last")
    last, many = audit.read_events(tmp_path)
    assert last["model"] == "last" and many["files"] == files
