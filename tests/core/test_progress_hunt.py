"""The time left in a count's progress (core.progress.CountProgress): score-many's first estimate spread the wait
before the first partition came back over every partition, and said several times the real time left."""

from __future__ import annotations

import re

import pytest

from core import distributed as dist
from core.progress import CountProgress
from tests.core.test_progress import Clock


def _lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_the_time_left_goes_by_the_pace_of_the_items_not_the_wait_before_the_first(capsys):
    """60 s before the first of 100 items is done (a cluster starting, a model loading), then one item each 0.5 s:
    49.5 s of work were left after the first item. The first line said 'about 1 h 39 min left' (60 s x 99), and the
    line 10 s later 'about 4 min 23 s left' (70 s / 21 x 79); now the first says no time left and the next says
    40 s (79 items at 2 a second)."""
    clock = Clock(1000.0)
    bar = CountProgress("score-many", "partition", terminal=False, every=10, clock=clock)
    clock.now += 60
    bar.update(1, 100, "1 file")
    assert _lines(capsys) == ["score-many: 1/100 partitions (1%), 1 min 00 s spent, 1 file"]
    for done in range(2, 22):
        clock.now += 0.5
        bar.update(done, 100)
    assert _lines(capsys) == ["score-many: 21/100 partitions (21%), 1 min 10 s spent, about 40 s left"]
    assert bar.left(21, clock.now) == pytest.approx(79 / 2)
    for done in range(22, 101):
        clock.now += 0.5
        bar.update(done, 100)
    lines = _lines(capsys)
    assert lines[-1] == "score-many: 100/100 partitions (100%), 1 min 50 s spent", "no time left at the total"
    assert [re.search(r"about (\d+) s left", line)[1] for line in lines[:-1]] == ["30", "20", "10"]


def test_no_time_left_without_a_total_or_before_a_second_item():
    clock = Clock(1000.0)
    bar = CountProgress("reading", "file", terminal=False, clock=clock)
    assert bar.left(0, clock.now) is None
    bar.update(3)  # no total
    clock.now += 5
    assert bar.left(5, clock.now) is None
    bar.total = 10
    assert bar.left(3, clock.now) is None, "no item since the first update: no pace"
    assert bar.left(5, clock.now) == pytest.approx(5 / 2 * 5)
    assert bar.left(10, clock.now) is None


def test_a_real_score_many_still_writes_its_progress_lines(client, models, v2_sample, tmp_path, capsys, monkeypatch):
    """score-many on 6 small files (one partition each) on a real cluster, a line for every partition done (the
    lines' interval set to 0): the first with no time left, those on the way with it, the last at the total."""
    monkeypatch.setattr("core.progress.LOG_PROGRESS_SECONDS", 0.0)
    source = v2_sample / "test" / "Recon-VulScan_test.pcap.csv"
    folder = tmp_path / "captures"
    folder.mkdir()
    for k in range(6):
        (folder / f"capture-{k}.csv").write_bytes(source.read_bytes())
    summary = dist.score_many(models / "lr19", [str(folder)], tmp_path / "out", client=client, echo=None)
    assert summary["failed"] == [] and summary["files_scored"] == 6
    lines = [line for line in _lines(capsys) if line.startswith("score-many: ")]
    assert len(lines) == 6, lines
    assert re.fullmatch(r"score-many: 1/6 partitions \(17%\), \d+ s spent, [\d,]+ rows scored", lines[0]), lines
    for line in lines[1:-1]:
        assert re.fullmatch(r"score-many: \d/6 partitions \(\d+%\), \d+ s spent, about \d+ s left, [\d,]+ rows "
                            "scored", line), lines  # fmt: skip
    assert re.fullmatch(rf"score-many: 6/6 partitions \(100%\), \d+ s spent, {summary['rows']:,} rows scored",
                        lines[-1]), lines  # fmt: skip
