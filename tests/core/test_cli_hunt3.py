"""``train`` and ``evaluate`` at scale: ``train --max-rows-per-class`` read every row of ``DIR/train`` before taking
its sample (a cap of 1,000 on 2.2 M demo rows: 550 MB held to keep 19,000 rows). The sample is now taken as the
files are read, and it must be the very same rows (each failed before its fix, unless said otherwise)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from core.loading import cap_rows_per_class, load_split, partial_files_note, read_files, split_files
from core.schema import FEATURES_V2
from tests.conftest import ROOT
from tests.core.test_ingest_hunt4 import make_csv, text


def write(path, lines: list[str], newline: str = "\n", *, final: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text(lines, newline, final=final))


def every_row_then_capped(data_dir, cap: int, seed: int):
    """What ``load_split`` gave before: every row read, then :func:`cap_rows_per_class` (the reference)."""
    ds = read_files(split_files(data_dir, "train"), require_labels=True)
    if partial := partial_files_note(ds, "train"):
        ds.notes.append(partial)
    return cap_rows_per_class(ds, cap, seed=seed)


def assert_same_rows(a, b) -> None:
    for field in ("X", "y", "source", "file_rows"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None and y is None) or (x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)), field
    assert (a.files, a.notes, a.layout) == (b.files, b.notes, b.layout)


@pytest.mark.parametrize("cap", [1, 7, 40, 1000])
def test_a_capped_read_keeps_the_same_rows_as_reading_every_row_then_sampling(cap, tmp_path):
    """Files of one class by name (two parts of one class, Windows line ends, no final newline), a file with a label
    column of several classes, a file with quoted cells and one with an empty row (read whole either way): the
    capped rows, labels, files, row numbers and notes are those of every row read and then sampled."""
    train = tmp_path / "train"
    write(train / "TCP_IP-DDoS-UDP1_train.pcap.csv", make_csv(rows=50, start=0))
    write(train / "TCP_IP-DDoS-UDP2_train.pcap.csv", make_csv(rows=30, start=1000), "\r\n")
    write(train / "Benign_train.pcap.csv", make_csv(rows=25, start=2000), final=False)
    quoted = make_csv(rows=12, start=3000)
    write(train / "ARP_Spoofing_train.pcap.csv", [quoted[0], *(f'"{line}"'.replace(",", '","') for line in quoted[1:])])
    mixed = [make_csv(rows=1, start=4000 + i, label=lab)[1] for i, lab in enumerate(["Benign", "DDoS-UDP", "Recon-Ping_Sweep"] * 9)]  # fmt: skip
    write(train / "labelled.csv", [make_csv(label="Benign")[0], *mixed])
    empty = make_csv(rows=20, start=5000)
    write(train / "Recon-Ping_Sweep_train.pcap.csv", [*empty[:5], "," * (len(FEATURES_V2) - 1), *empty[5:]])
    for seed in (0, 5):
        got = load_split(tmp_path, "train", max_rows_per_class=cap, seed=seed)
        assert_same_rows(got, every_row_then_capped(tmp_path, cap, seed))
        assert len(got) == sum(min(cap, n) for n in (50 + 30 + 9, 25 + 9, 12, 20 + 9))


HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) * 1024"


def peak_growth(data_dir, cap: int | None) -> tuple[int, int]:
    """Rows ``load_split`` gives, and how much it grew the peak memory of a fresh process."""
    script = (
        "import sys; from core.loading import load_split\n"
        f"before = {HWM}\n"
        f"ds = load_split(sys.argv[1], 'train', max_rows_per_class={cap})\n"
        f"print(len(ds), {HWM} - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(data_dir)], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows, grown = map(int, out.stdout.split())
    return rows, grown


def test_train_max_rows_per_class_does_not_hold_every_row_of_train(tmp_path):
    """Sixteen files of 30,000 rows (a 75 MB float32 matrix) capped at 5 rows a class: the read held every row, its
    peak as high as reading them all; now it holds one file's rows at a time and the rows kept."""
    lines = make_csv(rows=30_000)
    for i in range(16):
        write(tmp_path / "train" / f"TCP_IP-DDoS-UDP{i + 1}_train.pcap.csv", lines)
    (every, all_grown), (kept, capped_grown) = peak_growth(tmp_path, None), peak_growth(tmp_path, 5)
    assert (every, kept) == (480_000, 5)
    assert capped_grown < 0.6 * all_grown, f"capped: {capped_grown / 1e6:.0f} MB, every row: {all_grown / 1e6:.0f} MB"
