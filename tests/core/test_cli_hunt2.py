"""`python -m core predict` as an analyst runs it at scale: outputs that are not plain files, stop signals, memory.

Each test failed on the code before its fix (see each docstring for what it did).
"""

from __future__ import annotations

import mmap
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.pipeline import TrainedModel
from core.scoring import PREFIX_BYTES, score_files
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def capture(v2_sample) -> Path:
    """A real v2 capture (official name: its true class is known), 963 rows."""
    return v2_sample / "test" / "Benign_test.pcap.csv"


def rows_of(path: Path) -> int:
    return len(path.read_bytes().splitlines()) - 1


def predict(models, *args, cwd=ROOT, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "predict", "--models-dir", str(models), "--model", "lr19",
                           *map(str, args)], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def test_predict_out_dash_writes_the_predictions_to_standard_output(models, capture, tmp_path):
    """``--out -`` made a file named '-' in the current folder and printed only the summary: piped into another tool
    (``predict ... --out - | grep DDoS``) it gave nothing. Now the CSV goes to standard output and the summary to
    standard error."""
    proc = predict(models, capture, "--out", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "-").exists()
    lines = proc.stdout.decode().splitlines()
    assert lines[0].startswith('"file","row","predicted","probability"')
    assert len(lines) == 1 + rows_of(capture)
    assert lines[1].startswith('"Benign_test.pcap.csv",1,')
    assert "963 rows from 1 file scored with lr19" in proc.stderr.decode()
    assert "-> standard output" in proc.stderr.decode()


def test_predict_out_dev_fd_1_writes_into_the_file_standard_output_goes_to(models, capture, tmp_path):
    """``--out /dev/stdout`` (or /dev/fd/1) was written as a temporary file beside it, renamed onto it: run as root,
    /dev/stdout itself was replaced by a plain file, for every later program on the machine (/dev/fd/1 was refused:
    a file cannot be made in /proc/self/fd). Standard output is now written to as such."""
    redirected = tmp_path / "redirected.csv"
    with open(redirected, "wb") as fh:
        proc = predict(models, capture, "--out", "/dev/fd/1", stdout=fh)
    assert proc.returncode == 0, proc.stderr
    lines = redirected.read_text().splitlines()
    assert lines[0].startswith('"file","row","predicted"') and len(lines) == 1 + rows_of(capture)
    assert "scored with lr19" in proc.stderr.decode()  # the summary is not mixed into the predictions


def test_predict_through_a_symbolic_link_writes_its_target_and_keeps_the_link(models, capture, tmp_path):
    """An output that is a link (``latest.csv -> runs/monday.csv``) was replaced by a plain file: the link was lost
    and its target kept the old predictions."""
    target = tmp_path / "runs" / "monday.csv"
    target.parent.mkdir()
    target.write_text("old predictions\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    summary = score_files(TrainedModel.load(models / "lr19"), [capture], link)
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert target.read_text().startswith('"file","row","predicted"')
    assert rows_of(target) == summary.rows == rows_of(capture)
    assert [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")] == []


def test_predict_into_a_named_pipe_writes_into_the_pipe_and_keeps_it(models, capture, tmp_path):
    """An output that is not a regular file (a named pipe; /dev/null alike, which as root was replaced by a plain file
    holding the predictions) was replaced by the renamed temporary file: the pipe's reader got nothing, and waited."""
    fifo = tmp_path / "predictions.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read():
        with open(fifo, "rb") as fh:  # blocks until the writer opens the pipe
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    summary = score_files(TrainedModel.load(models / "lr19"), [capture], fifo)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the named pipe was replaced by a file"
    assert got, "the reader of the pipe got nothing"
    assert len(got[0].splitlines()) == 1 + summary.rows == 1 + rows_of(capture)


def test_predict_stopped_by_sigterm_leaves_no_partial_output_behind(models, v2_sample, tmp_path):
    """``kill``, ``timeout`` or a stopped service (SIGTERM) ended predict at once, without its clean-up: the hidden
    ``.OUT.PID.tmp`` file it was writing stayed, as large as the rows written so far (107 MB of 2.8 M rows), and no
    later run removed it. It now ends as after Ctrl-C: the partial output removed, exit status 128 + 15."""
    source = (v2_sample / "test" / "Benign_test.pcap.csv").read_bytes()
    header, _, rows = source.partition(b"\n")
    big = tmp_path / "capture.csv"
    with open(big, "wb") as fh:
        fh.write(header + b"\n" + rows * 600)  # about 580,000 rows: seconds to score, time enough to be stopped
    out = tmp_path / "out" / "predictions.csv"
    proc = subprocess.Popen([sys.executable, "-m", "core", "predict", "--models-dir", str(models), "--model", "lr19",
                             str(big), "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.parent.glob(".*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.fail(f"predict ended before it could be stopped: {proc.communicate()}")
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert b"stopped by SIGTERM" in stderr and b"Traceback" not in stderr
    assert not out.parent.exists(), "a partial output was left behind (or the folder made for it)"


def test_predict_does_not_map_the_whole_input_into_memory(models, capture, tmp_path, monkeypatch):
    """The line-length check of the part of each file beyond its first 256 KB mapped the whole file (mmap) and touched
    every page: the pages counted in the process's resident memory, so predict's peak RSS grew with the input's size
    (/usr/bin/time -v, lr model: 614 MB for a 380 MB capture of 2.8 M rows, 985 MB for 760 MB and 5.6 M rows; 425 MB
    for the first now). A file of short lines is now cleared by reading a few KB per 32 KB window, without a map;
    a file with a long line still gets the exact check and its message (tests/core/test_scoring.py)."""
    header, _, rows = capture.read_bytes().partition(b"\n")
    big = tmp_path / "capture.csv"
    big.write_bytes(header + b"\n" + rows * (2 * PREFIX_BYTES // len(rows) + 1))  # past the prefix read_csv checks
    maps = []
    real = mmap.mmap

    def spy(fileno, length, *args, **kwargs):
        maps.append(os.fstat(fileno).st_size)
        return real(fileno, length, *args, **kwargs)

    monkeypatch.setattr(mmap, "mmap", spy)
    summary = score_files(TrainedModel.load(models / "lr19"), [big], tmp_path / "out.csv")
    assert summary.rows == rows_of(big)
    assert maps == [], f"the input was mapped into memory ({maps} bytes)"


def test_predict_progress_says_the_share_of_the_input_done_so_that_a_time_left_can_be_shown(models, tmp_path):
    """predict's progress bar counted rows only, with no total: on a run of hours over many captures it said neither
    how far it was nor how long was left. Scoring now reports the share of all the files' bytes read with each block,
    and the bar shows a percentage and the time left, with the rows scored and the file being read."""
    from core.demo import write_demo_csv

    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    write_demo_csv(files[0], layout="v2", rows_per_class={"Benign": 3000, "DDoS-UDP": 1000}, seed=1)
    write_demo_csv(files[1], layout="v2", rows_per_class={"Benign": 1000}, seed=2)
    calls = []
    summary = score_files(TrainedModel.load(models / "lr19"), files, tmp_path / "out.csv", block_bytes=1 << 16,
                          progress=lambda *args: calls.append(args))  # fmt: skip
    assert len(calls) > 3 and all(len(c) == 3 for c in calls), calls[:2]
    fractions = [c[2] for c in calls]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 0.5 and 0.95 <= fractions[-1] <= 1
    share_of_a = files[0].stat().st_size / sum(f.stat().st_size for f in files)
    assert all(f <= share_of_a + 1e-9 for (_rows, name, f) in calls if name == "a.csv")
    assert calls[-1][:2] == (summary.rows, "b.csv")


def test_train_warns_when_a_test_file_is_a_training_file_again(v2_sample, tmp_path, capsys):
    """A capture copied into both train/ and test/ (an easy slip when splitting captures by hand) was trained on and
    then scored as the test set without a word: its test scores, printed as those of unseen traffic, were of the
    model's own training rows. train now warns, before the fit and beside the scores, naming both files."""
    from core.cli import main

    data = tmp_path / "data"
    for split in ("train", "test"):
        (data / split).mkdir(parents=True)
    (data / "train" / "Benign_train.pcap.csv").write_bytes((v2_sample / "train" / "Benign_train.pcap.csv").read_bytes())
    arp = (v2_sample / "train" / "ARP_Spoofing_train.pcap.csv").read_bytes()
    (data / "train" / "ARP_Spoofing_train.pcap.csv").write_bytes(arp)
    (data / "test" / "ARP_Spoofing_test.pcap.csv").write_bytes(arp)  # the training capture again, renamed
    (data / "test" / "Benign_test.pcap.csv").write_bytes((v2_sample / "test" / "Benign_test.pcap.csv").read_bytes())
    status = main(["train", "--task", "2", "--model", "lr", "--data", str(data), "--val-fraction", "0", "--quiet",
                   "--max-rows-per-class", "200", "--models-dir", str(tmp_path / "models"), "--name", "m"])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    said = "test/ARP_Spoofing_test.pcap.csv is train/ARP_Spoofing_train.pcap.csv again"
    assert said in err and said in out.split("test: macro-F1")[1]
    assert "Benign_test.pcap.csv is" not in err + out  # a test file of its own is not named


def test_files_written_whole_keep_a_link_and_do_not_replace_a_pipe(tmp_path):
    """``write_bytes_atomic`` (reports, results.md, thresholds) renamed its file over the path whatever it was: a
    symbolic link was replaced by a plain file (its target kept the old report) and a named pipe or a device such as
    /dev/stdout by a plain file."""
    from core.paths import write_bytes_atomic

    target = tmp_path / "reports" / "latest.html"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "report.html"
    link.symlink_to(target)
    write_bytes_atomic(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_bytes_atomic(fifo, b"through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_model_name_with_a_trailing_slash_a_near_miss_and_none_are_understood(tmp_path):
    """``--model demo-lr-19class/`` (a shell's completion) said "no model at"; ``demo-lr-19`` got no suggestion; an
    empty name was the current folder ("./ has no metadata.json")."""
    from core.errors import ModelFormatError
    from core.pipeline import resolve_model_path

    registry = tmp_path / "models"
    for name in ("demo-lr-19class", "demo-lr-6class", "demo-rf-19class"):
        (registry / name).mkdir(parents=True)
    assert resolve_model_path("demo-lr-19class/", registry) == registry / "demo-lr-19class"
    with pytest.raises(ModelFormatError) as err:
        resolve_model_path("demo-lr-19", registry)
    assert "did you mean 'demo-lr-19class'" in err.value.hint, err.value.hint
    with pytest.raises(ModelFormatError) as err:
        resolve_model_path("", registry)
    assert str(err.value).startswith("no model given"), str(err.value)


def test_evaluate_json_dash_writes_the_json_to_standard_output(models, v2_sample, tmp_path):
    """``evaluate --json -`` wrote a file named '-' in the current folder; piped (``| jq .macro_f1``) it gave the
    report in words, which is not JSON. Now the JSON goes to standard output and the words to standard error."""
    import json

    proc = subprocess.run([sys.executable, "-m", "core", "evaluate", "--models-dir", str(models), "--model", "lr19",
                           "--data", str(v2_sample), "--json", "-"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "-").exists()
    report = json.loads(proc.stdout)
    assert report["model"] == "lr19" and 0 < report["macro_f1"] <= 1
    assert f"lr19 on {v2_sample}/test: macro-F1 {report['macro_f1']:.4f}" in proc.stderr, proc.stderr
