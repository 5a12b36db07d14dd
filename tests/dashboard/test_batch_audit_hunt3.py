"""Batch results and Audit log pages at scale, third hunt: each test failed before its fix.

Batch: the legend of a run of 228 files lay a blank screenful under the last bar. Audit: a log with a line of
gigabytes (no event is that long) kept the page reading for a quarter of an hour."""

from __future__ import annotations

from tests.dashboard.test_batch_audit_hunt2 import audit_folder, batch_page, page, roots  # noqa: F401 (fixtures)
from tests.dashboard.test_batch_hunt import make_result
from tests.dashboard.test_models_page import charts

#: Plotly's default top and bottom margins, between which the bars and the x axis are drawn.
MARGINS = 180


def test_the_legend_of_a_large_batch_lies_just_under_its_bars(tmp_path):
    """The legend was placed 8% of the plot's height under it: 27 pixels for 2 files, but 520 pixels of blank page for
    228 files (the chart grows 28 pixels a file), so that the key to the colours looked missing."""
    files = {f"{folder}/capture-{i:03d}.csv": [("Attack", 0.9), ("Benign", 0.7)] for folder in "ab" for i in range(114)}
    make_result(tmp_path / "run", files)
    at = batch_page(tmp_path / "run")
    assert at.metric[1].value == "228"  # files scored
    layout = charts(at)["batch_classes"]["layout"]
    gap = -layout["legend"]["y"] * (layout["height"] - MARGINS)  # pixels from the bottom of the bars to the legend
    assert layout["height"] > 40 * 28 and 30 <= gap <= 60, gap  # 40 of the 228 files drawn (MAX_FILES_CHARTED)
    small = make_result(tmp_path / "small", {"a.csv": [("Attack", 0.9)], "b.csv": [("Benign", 0.8)]})
    assert small["files_scored"] == 2
    layout = charts(batch_page(tmp_path / "small"))["batch_classes"]["layout"]
    assert abs(-layout["legend"]["y"] * (layout["height"] - MARGINS) - gap) < 1, "the same gap for 2 files"


def test_a_huge_damaged_line_is_one_unreadable_entry_on_the_page(audit_folder):  # noqa: F811 (the fixture)
    """The Audit page over a log with a line of 67 MB (a capture written into the log by mistake) between two events:
    one unreadable entry saying how long the line is, and both events."""
    from core import audit

    audit.record("deleted", user="alice", via="dashboard", model="before", folder=audit_folder)
    (log,) = audit_folder.glob("audit-*.jsonl")
    with open(log, "ab") as fh:
        for _ in range(67):
            fh.write(b"Header_Length,Protocol Type" * 38_837)
        fh.write(b"\n")
    audit.record("scored", user="bob", via="dashboard", model="after", folder=audit_folder)
    at = page("audit")
    assert "1 entry of the audit log could not be read" in at.warning[0].value
    table = at.dataframe[0].value
    assert list(table["action"]) == ["scored", "unreadable", "deleted"]
    assert list(table["model"]) == ["after", "", "before"]
    assert "no event is that long" in table["details"][1] and "line=Header_Length,Protocol Type" in table["details"][1]
