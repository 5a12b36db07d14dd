"""Batch results and Audit log pages, second hunt: each test failed before its fix.

Batch: captures named by number (``0001``) lost their predictions on the page; the start time was shown without its
zone. Audit: an audit folder the dashboard cannot list read as "nothing recorded yet"; failed sign-ins were put down
to the server's own account; events past the page's limit were dropped without a word."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import audit
from core import distributed as dist
from tests.dashboard.test_batch_hunt import TWO_FILES, make_result
from tests.dashboard.test_models_page import charts, values

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def roots(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path_factory.getbasetemp()))


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def batch_page(path: Path) -> AppTest:
    at = page("batch")
    at.text_input(key="batch_path").input(str(path)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# --------------------------------------------------------------------------- Batch results


@pytest.fixture(scope="module")
def numbered_run(tmp_path_factory) -> Path:
    """A real score-many run (a small model, an in-process cluster) over two captures named by number only."""
    from distributed import Client, LocalCluster

    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    base = tmp_path_factory.mktemp("numbered")
    write_demo_dataset(base / "data", layout="v2", rows_per_class=15, seed=2)
    train_from_folder("lr", 2, str(base / "data"), params={"max_iter": 50}, models_dir=str(base / "models"), name="m")
    captures = sorted((base / "data" / "test").glob("*.csv"))
    (base / "in").mkdir()
    inputs = [shutil.copy(captures[0], base / "in" / "0001"), shutil.copy(captures[1], base / "in" / "0002")]
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            dist.score_many(base / "models" / "m", [str(p) for p in inputs], base / "out", client=client,
                            progress=False, echo=None)  # fmt: skip
    return base / "out"


def test_captures_named_by_number_keep_their_predictions(numbered_run):
    """pyarrow read the partition folders file=0001 and file=0002 as the numbers 1 and 2: the page said 0 rows on
    disk for both, warned that the folder had changed after the run (it had not), and drew an empty histogram."""
    summary = json.loads((numbered_run / "summary.json").read_text())
    assert [f["file"] for f in summary["files"]] == ["0001", "0002"] and not summary["failed"]
    assert dist.prediction_statistics(numbered_run)["rows_on_disk"] == {f["file"]: f["rows"] for f in summary["files"]}
    rows = dist.read_predictions(numbered_run)  # what the module's documentation tells a user to read them with
    assert rows["file"].astype(str).value_counts().to_dict() == {f["file"]: f["rows"] for f in summary["files"]}
    at = batch_page(numbered_run)
    assert not at.warning, [w.value for w in at.warning]
    table = at.dataframe[0].value
    assert list(table["rows on disk"]) == list(table["rows"]) == [f["rows"] for f in summary["files"]]
    assert values(charts(at)["batch_confidence"]["data"][0]["y"]).sum() == summary["rows"] > 0


@pytest.mark.parametrize(
    ("started_at", "shown"),
    [
        ("2026-11-02T10:00:00+00:00", "2026-11-02 10:00:00 UTC"),  # as score-many writes it
        ("2026-11-02T10:00:00+02:00", "2026-11-02 08:00:00 UTC"),  # another zone: not read as UTC
        ("![](http://a.bc/x)", r"\!\[\]\(http://a.bc/x\)"),  # no time, 18 characters: an image, once
    ],
)
def test_the_start_time_says_its_zone(tmp_path, started_at, shown):
    """'Scored: 2026-11-02T10:00:00': the page cut the '+00:00' off, so that a hospital analyst read a UTC time as
    local time; and cut to 19 characters, the text went into Markdown unescaped (an image fetched from elsewhere)."""
    summary = make_result(tmp_path / "run", TWO_FILES)
    summary["started_at"] = started_at
    (tmp_path / "run" / "summary.json").write_text(json.dumps(summary))
    (line,) = [m.value for m in batch_page(tmp_path / "run").markdown if "**Scored:**" in m.value]
    assert f"**Scored:** {shown} on 2 workers" in line


# --------------------------------------------------------------------------- Audit log


@pytest.fixture()
def audit_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    return tmp_path / "audit"


def test_an_audit_folder_that_cannot_be_listed_is_not_nothing_recorded(audit_folder):
    """IOMT_AUDIT_DIR naming a file (or a folder the server may not list) read as an empty log: the page said
    "Nothing recorded yet", while every action went unrecorded."""
    audit_folder.write_text("not a folder")
    at = page("audit")
    assert not at.info, "not 'Nothing recorded yet'"
    assert "could not be read" in at.warning[0].value
    table = at.dataframe[0].value
    assert list(table["action"]) == ["unreadable"] and str(audit_folder) in table["details"][0]


def test_failed_sign_ins_are_not_put_down_to_the_servers_account(audit_folder):
    """A failed or refused sign-in (no user: nobody signed in) showed as '<the server's account> (local)', as if the
    machine's own account had done it, and filtering on that account mixed them with its real actions."""
    audit.record("scored", user="alice", via="dashboard", model="m")
    audit.record("sign-in failed", via="dashboard", account="alice")  # as dashboard.auth records them
    audit.record("sign-in refused", via="dashboard", reason="paused after 5 failed sign-ins")
    audit.record("deleted", via="cli", model="m")
    at = page("audit")
    os_user = audit._os_user()
    table = at.dataframe[0].value
    assert list(table["user"]) == [f"{os_user} (local)", "(not signed in)", "(not signed in)", "alice"]
    assert "account=alice" in table["details"][2]
    at.multiselect(key="audit_users").set_value([f"{os_user} (local)"]).run()
    assert list(at.dataframe[0].value["action"]) == ["deleted"]


def test_events_older_than_the_limit_are_said_to_be_left_out(audit_folder):
    """Only the newest 5,000 events are read; an older one (a model deleted before a burst of failed sign-ins) was
    not shown, filtered on or downloaded, and nothing said so."""
    from dashboard.views.audit import MAX_EVENTS

    audit.record("deleted", user="mallory", via="dashboard", model="rf-19")
    burst = {"time": "2026-12-01T00:00:00+00:00", "action": "sign-in failed", "user": None, "os_user": "svc",
             "via": "dashboard", "model": None, "files": [], "details": {"account": None}}  # fmt: skip
    with open(next(audit_folder.glob("audit-*.jsonl")), "ab") as fh:
        fh.write(audit._line(burst) * MAX_EVENTS)
    at = page("audit")
    assert len(at.dataframe[0].value) == MAX_EVENTS
    assert any(f"Only the {MAX_EVENTS:,} most recent events" in w.value for w in at.warning)
    audit_folder.joinpath(next(audit_folder.glob("audit-*.jsonl")).name).write_bytes(audit._line(burst) * MAX_EVENTS)
    assert not page("audit").warning, "exactly the limit: nothing left out, nothing said"


def test_event_times_read_as_a_date_and_a_time_in_utc(tmp_path):
    """The Audit page showed the log's raw '2026-12-06T18:48:41+00:00' to readers who are not programmers."""
    from dashboard.views.audit import events_frame

    events = [{"time": "2026-12-06T18:48:41+00:00", "action": "scored"},
              {"time": "2026-12-06T20:48:41+02:00", "action": "trained"},
              {"action": "unreadable", "details": {"line": "{"}}]  # fmt: skip
    assert events_frame(events)["time"].tolist() == ["2026-12-06 18:48:41 UTC", "2026-12-06 18:48:41 UTC", ""]
