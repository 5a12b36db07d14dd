"""Claims of README.md checked against the code.

README, "Input limits": "`predict` and `score-many` stream in bounded memory, so the size and row limits, which
protect memory, do not apply to them". ``predict`` read a file under 256 KB (its first-rows prefix) whole through
``read_csv`` with the full limits, so ``IOMT_MAX_ROWS=1000`` refused a 2,000-row file ("the file has 2,000 rows,
more than the limit of 1000") while it scored a file of a million rows.
"""

from __future__ import annotations

import pandas as pd
import pytest

from core.cli import main as cli_main
from core.demo import write_demo_csv, write_demo_dataset
from core.scoring import PREFIX_BYTES
from core.training import train_from_folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("readme-data")
    write_demo_dataset(data, layout="v2", rows_per_class=20, seed=0)
    models = tmp_path_factory.mktemp("readme-models")
    train_from_folder("lr", 2, str(data), params={"max_iter": 50}, models_dir=str(models), name="lr2")
    return models / "lr2"


@pytest.mark.parametrize("rows", [40, 3000], ids=["small-file", "file-over-the-prefix"])
def test_predict_ignores_the_row_limit(model_dir, tmp_path, monkeypatch, capsys, rows):
    capture = tmp_path / "capture.csv"
    write_demo_csv(capture, layout="v2", rows_per_class={"Benign": rows // 2, "DDoS-UDP": rows - rows // 2}, seed=1)
    assert (capture.stat().st_size > PREFIX_BYTES) == (rows == 3000)  # both of predict's paths are taken
    monkeypatch.setenv("IOMT_MAX_ROWS", "10")
    out = tmp_path / "predictions.csv"
    code = cli_main(["predict", "--model", str(model_dir), str(capture), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert len(pd.read_csv(out)) == rows


def test_evaluate_still_applies_the_row_limit(model_dir, tmp_path, monkeypatch, capsys):
    """The limit still protects what reads a file whole (evaluate, train, the dashboard)."""
    (tmp_path / "test").mkdir()
    write_demo_csv(tmp_path / "test" / "Benign_test.pcap.csv", layout="v2", rows_per_class={"Benign": 40}, seed=2)
    monkeypatch.setenv("IOMT_MAX_ROWS", "10")
    code = cli_main(["evaluate", "--model", str(model_dir), "--data", str(tmp_path)])
    assert code == 2
    assert "more than the limit of 10" in capsys.readouterr().err
