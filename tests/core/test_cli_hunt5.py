"""Messages of the command line found unclear by a new user (each failed before its fix)."""

from __future__ import annotations

import json

import pytest

from core.cli import main
from core.errors import ModelFormatError
from core.pipeline import METADATA_FILE, read_metadata, resolve_model_path


def test_a_registry_given_as_the_model_is_said_as_such(tmp_path, capsys):
    """``--model m2`` where m2 is a folder of saved models said only "m2 has no metadata.json; it is not a saved
    model", with no word of how to use the models it holds."""
    registry = tmp_path / "m2"
    for name in ("rf-19class", "lr-6class", "cnn-2class", "gbt-19class"):
        (registry / name).mkdir(parents=True)
        (registry / name / METADATA_FILE).write_text(json.dumps({}))
    (registry / "notes").mkdir()  # not a model: not named
    with pytest.raises(ModelFormatError) as err:
        read_metadata(registry)
    hint = err.value.hint
    assert "folder of 4 saved models ('cnn-2class', 'gbt-19class' or 'lr-6class' …)" in hint, hint
    assert f"--models-dir {registry} --model cnn-2class" in hint, hint
    assert "notes" not in hint
    assert main(["evaluate", "--model", str(registry), "--data", str(tmp_path)]) != 0
    assert f"--models-dir {registry} --model cnn-2class" in capsys.readouterr().err


def test_near_misses_are_listed_as_a_sentence(tmp_path):
    registry = tmp_path / "models"
    for name in ("demo-lr-19class", "demo-lr-6class", "demo-lr-2class"):
        (registry / name).mkdir(parents=True)
    with pytest.raises(ModelFormatError) as err:
        resolve_model_path("demo-lr", registry)
    assert "did you mean 'demo-lr-6class', 'demo-lr-2class' or 'demo-lr-19class'?" in err.value.hint, err.value.hint


def test_a_partition_too_small_names_the_option(tmp_path, capsys):
    """ "partition size 0 bytes is too small" did not name --partition-size, the option to change."""
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "m").mkdir()  # resolved before the size is read
    assert main(["score-many", "--model", "m", str(tmp_path / "a.csv"), "--out", str(tmp_path / "o"),
                 "--partition-size", "0MB", "--models-dir", str(tmp_path)]) != 0  # fmt: skip
    err = capsys.readouterr().err
    assert "partition size 0 bytes is too small" in err and "--partition-size" in err, err


def test_training_progress_in_a_log_is_lines_not_a_bar(capsys, monkeypatch):
    """Where stderr is no terminal (nohup, ``2> log``), train, benchmark-models and setup-demo drew tqdm's bar there
    anyway: a log of carriage-return redraws. Now a line at each new stage, and at most every LOG_PROGRESS_SECONDS
    within one."""
    import core.cli as cli
    from core.training import TrainProgress

    monkeypatch.setattr(cli, "LOG_PROGRESS_SECONDS", 3600.0)
    update = cli._progress_bar("train rf (6 classes)")  # capsys: no terminal
    update(TrainProgress("load", 0.0, "reading data/train"))
    for i in range(1, 50):
        update(TrainProgress("load", 0.05 * i / 50, f"read file {i}"))  # same stage, within the hour: no line
    update(TrainProgress("preprocess", 0.1, "fitting preprocessing on 1,000 rows"))
    update(TrainProgress("done", 1.0, "training finished"))
    err = capsys.readouterr().err
    assert "\r" not in err and "|" not in err, repr(err)
    lines = err.splitlines()
    assert lines == [
        "train rf (6 classes): 0%, 0 s spent, reading data/train",
        "train rf (6 classes): 10%, 0 s spent, fitting preprocessing on 1,000 rows",
        "train rf (6 classes): 100%, 0 s spent, training finished",
    ], lines
    monkeypatch.setattr(cli, "LOG_PROGRESS_SECONDS", 0.0)
    update = cli._progress_bar("benchmark")
    for i in range(3):
        update(TrainProgress("batch", 0.1 * (i + 1), f"batch {i}"))
    assert len(capsys.readouterr().err.splitlines()) == 3, "every line once the interval has passed"
