"""The audit log against a crash mid-write, a short write, hostile names and damaged lines: each test broke the
log (an event lost or split, a record that raised, a reader that raised) before its fix."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core import audit
from tests.conftest import ROOT


def _log(folder: Path) -> Path:
    (path,) = folder.glob("audit-*.jsonl")
    return path


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85"])
def test_a_line_break_inside_a_name_does_not_cut_the_event_in_two(tmp_path, brk):
    """A file uploaded as "a<U+2028>b.csv" was written raw (JSON escapes only breaks below U+0020) and the reader's
    splitlines() cut there: the event came back as two "unreadable" halves, hiding what was scored. With a second
    break the part between them was its own line: a bare "{}" came back as a forged, blank event."""
    name = f"flows{brk}{{}}{brk}.csv"
    audit.record("scored", user="mallory", files=[audit.file_info(name, b"1,2\n")], model=f"m{brk}", folder=tmp_path)
    audit.record("deleted", user="alice", folder=tmp_path)
    deleted, scored = audit.read_events(tmp_path)
    assert (deleted["action"], scored["action"]) == ("deleted", "scored")
    assert scored["files"][0]["name"] == name and scored["model"] == f"m{brk}"
    assert len(_log(tmp_path).read_text(encoding="utf-8").splitlines()) == 2  # also for other JSON-lines readers


def test_the_event_after_a_line_cut_short_by_a_crash_is_kept(tmp_path):
    """A writer killed mid-line leaves no line break: the next event was appended to that line and lost with it."""
    audit.record("trained", folder=tmp_path, model="a")
    with open(_log(tmp_path), "a") as fh:
        fh.write('{"time": "2026-01-01T00:00:00+00:00", "action": "sco')
    audit.record("deleted", folder=tmp_path, model="b")
    deleted, cut, trained = audit.read_events(tmp_path)
    assert (deleted["action"], deleted["model"]) == ("deleted", "b")
    assert cut["action"] == "unreadable" and trained["model"] == "a"


def test_a_short_write_does_not_leave_half_a_line(tmp_path, monkeypatch):
    """os.write may write less than it was given (a disk nearly full, a signal): the rest of the line was dropped."""
    real_write = os.write
    monkeypatch.setattr(audit.os, "write", lambda fd, data: real_write(fd, bytes(data[:16])))
    event = audit.record("scored", user="alice", folder=tmp_path, model="rf-6", rows=3)
    monkeypatch.undo()
    assert event["written"]
    (saved,) = audit.read_events(tmp_path)
    assert saved["model"] == "rf-6" and saved["details"] == {"rows": 3}


def test_a_file_name_that_is_not_utf8_does_not_make_record_raise(tmp_path):
    """Python decodes a Latin-1 file name ("caf\\xe9.csv") with a lone surrogate, which UTF-8 cannot encode: record
    raised UnicodeEncodeError, against its promise, and `core evaluate` ended in a traceback after its work."""
    event = audit.record("evaluated", files=[{"name": "caf\udce9.csv", "size": 1, "sha256": None}], folder=tmp_path)
    assert event["written"], event
    (saved,) = audit.read_events(tmp_path)
    assert saved["files"][0]["name"] == "caf\ufffd.csv"


def test_cli_evaluate_on_a_folder_named_in_latin1(tmp_path):
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    models, plain = tmp_path / "models", tmp_path / "plain"
    write_demo_dataset(plain, layout="v2", rows_per_class=15, seed=2)
    train_from_folder("lr", 2, str(plain), params={"max_iter": 50}, models_dir=str(models), name="m")
    data = Path(os.fsdecode(bytes(tmp_path) + b"/d\xe9mo"))  # as a folder copied from an old Windows share
    shutil.copytree(plain, data)
    env = {**os.environ, "IOMT_AUDIT_DIR": str(tmp_path / "audit"), "IOMT_MODELS_DIR": str(models)}
    out = subprocess.run([sys.executable, "-m", "core", "evaluate", "--model", "m", "--data", os.fsencode(data)],
                         cwd=ROOT, env=env, capture_output=True, text=True, errors="replace", timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (event,) = audit.read_events(tmp_path / "audit")
    assert event["action"] == "evaluated" and all("d\\xe9mo" in f["name"] for f in event["files"])  # as outputs say


@pytest.mark.parametrize(
    "line",
    [
        "{}",  # an object that is no event: shown as a blank one
        "[" * 100_000,  # json.loads raises RecursionError (not ValueError) on deep nesting: the Audit page went down
        '{"action": "deleted", "model": "x\\udcff"}',  # decodes to text no page or CSV download can encode
        '{"action": "deleted", "details": {"f": "x\\uDC80"}}',  # the same, in capitals and deeper in the event
    ],
    ids=["bare object", "nested thousands deep", "lone surrogate escape", "lone surrogate escape in capitals"],
)
def test_a_line_that_is_no_event_is_unreadable_not_a_crash(tmp_path, line):
    audit.record("trained", folder=tmp_path, model="a")
    with open(_log(tmp_path), "a") as fh:
        fh.write(line + "\n")
    odd, trained = audit.read_events(tmp_path)
    assert odd["action"] == "unreadable" and trained["model"] == "a"
    json.dumps(odd, ensure_ascii=False).encode("utf-8")


def test_a_month_that_cannot_be_read_hides_no_other(tmp_path, monkeypatch):
    """One log file the server may not read (rotated by root with mode 600): read_events raised PermissionError."""
    audit.record("trained", folder=tmp_path, model="a")
    locked = tmp_path / "audit-2999-01.jsonl"
    locked.write_text("")
    real_open = Path.open

    def open_(self, *args, **kwargs):
        if self.name == locked.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)  # read_text opens through it too
    denied, trained = audit.read_events(tmp_path)
    assert denied["action"] == "unreadable" and "Permission denied" in denied["details"]["error"]
    assert denied["details"]["file"] == locked.name and trained["model"] == "a"
