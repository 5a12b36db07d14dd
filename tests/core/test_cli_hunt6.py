"""Progress on standard error where it is not a terminal (a log: ``nohup``, ``2> log``, a service), sixth hunt of the
command line: each test failed on the code before its fix (see each docstring for what it did)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

from tests.conftest import ROOT


def core_to_log(log: Path, *args) -> tuple[subprocess.CompletedProcess, str]:
    """``python -m core ARGS`` with standard error to the file ``log``, as ``nohup`` or ``2> log`` gives it: the
    finished run and what its log holds."""
    with open(log, "wb") as err:
        proc = subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=err, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    return proc, log.read_bytes().decode()  # not read_text(): it would read each carriage return as a new line


def test_demo_data_writes_progress_lines_to_a_log(tmp_path):
    """``demo-data 2> log`` drew its tqdm bar into the log: one line of carriage-return redraws (``\\r``), each a
    number of rows with no total until the first chunk, no time spent. Now lines of what is done, of how much, and
    the time spent: the first at once, one at the end, and at most one every LOG_PROGRESS_SECONDS between."""
    proc, log = core_to_log(tmp_path / "log", "demo-data", "--out", tmp_path / "demo", "--rows", "0.05")
    assert proc.returncode == 0, log
    assert "\r" not in log, repr(log[:300])
    lines = [line for line in log.splitlines() if line.startswith("demo data: ")]
    total = int(re.search(r"generated demo data \(v2 layout, ([\d,]+) rows", proc.stdout.decode())[1].replace(",", ""))
    # a quick run: its first line and its last, no more
    assert len(lines) == 2, log
    # no time left before a pace is measured (core.progress.CountProgress: from the first update on)
    assert re.fullmatch(r"demo data: [\d,]+/[\d,]+ rows \(\d+%\), \d+ s spent", lines[0]), lines
    assert re.fullmatch(rf"demo data: {total:,}/{total:,} rows \(100%\), \d+ s spent", lines[-1]), lines


def test_demo_data_still_draws_a_bar_in_a_terminal(tmp_path):
    """The bar stays where it is seen: standard error a terminal (a pseudo-terminal here)."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 0 columns (a new one) draw nothing
    chunks: list[bytes] = []

    def drain():  # read all the while: a full terminal buffer would stop the command
        while True:
            try:
                data = os.read(main, 4096)
            except OSError:  # the command ended and closed its side
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "core", "demo-data", "--out", str(tmp_path / "demo"), "--rows",
                               "0.05"], cwd=ROOT, stdout=subprocess.PIPE, stderr=child, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    finally:
        os.close(child)
        reader.join(timeout=10)
        os.close(main)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, err
    assert "\r" in err and "demo data" in err and "rows (" not in err, repr(err[:300])


def test_score_many_writes_progress_lines_to_a_log(models, v2_sample, tmp_path):
    """``score-many 2> log`` (a night's run under nohup) drew its tqdm bar into the log: carriage-return redraws
    of a count of partitions. Now lines: partitions done of how many, the time spent and left, the rows scored."""
    capture = v2_sample / "test" / "Recon-VulScan_test.pcap.csv"  # 37 KB: 5 partitions of 8 KB
    proc, log = core_to_log(tmp_path / "log", "score-many", "--models-dir", models, "--model", "lr19", capture,
                            "--out", tmp_path / "out", "--workers", "1", "--partition-size", "8KB")  # fmt: skip
    assert proc.returncode == 0, log
    assert "\r" not in log, repr(log[:300])
    lines = [line for line in log.splitlines() if line.startswith("score-many: ")]
    assert len(lines) == 2, log  # a quick run: its first line and its last
    assert re.fullmatch(r"score-many: 1/(\d+) partitions \(\d+%\), \d+ s spent, [\d,]+ rows scored",
                        lines[0]), lines  # fmt: skip
    n = int(lines[0].split("/")[1].split()[0])
    assert n > 1, lines
    rows = sum(1 for _ in capture.open()) - 1
    assert re.fullmatch(rf"score-many: {n}/{n} partitions \(100%\), \d+ s spent, {rows:,} rows scored", lines[-1])


def test_score_many_quiet_writes_no_progress_to_a_log(models, v2_sample, tmp_path):
    """``--quiet``: no progress, neither bar nor lines."""
    capture = v2_sample / "test" / "Recon-VulScan_test.pcap.csv"
    proc, log = core_to_log(tmp_path / "log", "score-many", "--models-dir", models, "--model", "lr19", capture,
                            "--out", tmp_path / "out", "--workers", "1", "--partition-size", "8KB", "--quiet")  # fmt: skip
    assert proc.returncode == 0, log
    assert "score-many" not in log and "\r" not in log, log


def test_evaluate_reading_files_says_the_time_spent_at_a_sensible_rate(models, v2_sample, tmp_path):
    """``evaluate 2> log`` wrote a line for every file it read, without the time spent: a folder of thousands of
    captures gave a log of thousands of lines. Now, as other progress in a log: the first file, the last, and at most
    one line every LOG_PROGRESS_SECONDS between, with the time spent."""
    data = tmp_path / "data"
    (data / "test").mkdir(parents=True)
    names = ["Benign_test.pcap.csv", "Recon-Ping_Sweep_test.pcap.csv", "Recon-VulScan_test.pcap.csv"]
    for name in names:
        (data / "test" / name).write_bytes((v2_sample / "test" / name).read_bytes())
    proc, log = core_to_log(tmp_path / "log", "evaluate", "--models-dir", models, "--model", "lr19", "--data", data)
    assert proc.returncode == 0, log
    lines = [line for line in log.splitlines() if line.startswith("reading test/: ")]
    assert len(lines) == 2, log
    assert re.fullmatch(r"reading test/: 1/3 files \(33%\), \d+ s spent, .+\.csv", lines[0]), lines
    assert re.fullmatch(r"reading test/: 3/3 files \(100%\), \d+ s spent, .+\.csv", lines[1]), lines


def test_demo_data_quiet_writes_no_progress(tmp_path):
    """``demo-data`` had no ``--quiet``, which the other long commands have: it always wrote its progress."""
    proc, log = core_to_log(tmp_path / "log", "demo-data", "--out", tmp_path / "demo", "--rows", "0.05", "--quiet")
    assert proc.returncode == 0, log
    assert "demo data:" not in log, log
    assert "generated demo data (v2 layout" in proc.stdout.decode()
