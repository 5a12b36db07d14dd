"""Messages of the command line and of training that misled a user: the refusal of a 19-class model on labels naming
only an attack family said the file's row but not its line."""

from __future__ import annotations

import pytest

from core.cli import main
from core.errors import DataError
from core.loading import load_split, read_files
from core.schema import LAYOUTS
from core.training import train_model

_FEATURES = LAYOUTS["v2"].features


def _row(value: float, label: str) -> str:
    return ",".join([f"{value + i / 10:g}" for i in range(len(_FEATURES))] + [label])


def _labelled_csv(blank_before_ddos: int) -> str:
    """Three Benign rows, then ``blank_before_ddos`` blank lines, then two rows labelled only 'DDoS' (a family):
    the first DDoS row is data row 4."""
    header = ",".join([*_FEATURES, "label"])
    rows = [_row(v, "Benign") for v in (1, 2, 3)]
    return "\n".join([header, *rows, *[""] * blank_before_ddos, _row(4, "DDoS"), _row(5, "DDoS")]) + "\n"


@pytest.mark.parametrize("blank", [2, 0])
def test_the_19_class_refusal_of_family_labels_names_the_files_line(tmp_path, blank):
    """It said 'flows.csv, column 'label', row 4: label 'DDoS' says only ...': with two blank lines above the row a
    text editor opens line 5 (row 4 + the header), two lines above it. The row's line is now said, as the loader's
    other errors say it, with blank lines (line 7) and without (line 5: always said, as they do)."""
    path = tmp_path / "flows.csv"
    path.write_text(_labelled_csv(blank))
    expected_line = 4 + 1 + blank
    assert path.read_text().splitlines()[expected_line - 1].endswith(",DDoS")
    for data in (read_files([path]), read_files([("flows.csv", path.read_bytes())])):  # a path and an upload
        with pytest.raises(DataError) as err:
            train_model("rf", 19, data, params={"n_estimators": 2})
        assert err.value.file == "flows.csv" and err.value.row == 4 and err.value.line == expected_line
        assert str(err.value).startswith(
            f"flows.csv, column 'label', row 4 (line {expected_line} of the file): label 'DDoS' says only the row's "
            "attack family, as 2 training rows do"
        )


def test_the_refusal_in_a_sample_of_the_rows_names_the_rows_line(tmp_path):
    """With --max-rows-per-class (a sample of the Benign rows here, every DDoS row kept) the row named is the one in
    its file, and its line too."""
    (tmp_path / "train").mkdir()
    header = ",".join([*_FEATURES, "label"])
    rows = [_row(v, "Benign") for v in range(6)] + ["", ""] + [_row(10 + v, "DDoS") for v in range(2)]
    (tmp_path / "train" / "flows.csv").write_text("\n".join([header, *rows]) + "\n")
    data = load_split(tmp_path, "train", max_rows_per_class=3, seed=0)
    assert len(data) == 5
    with pytest.raises(DataError) as err:
        train_model("rf", 19, data, params={"n_estimators": 2})
    assert (err.value.row, err.value.line) == (7, 10)
    assert "flows.csv, column 'label', row 7 (line 10 of the file): label 'DDoS'" in str(err.value)


def test_python_m_core_train_says_the_line(tmp_path, capsys):
    """The same refusal through the command line (train reads DIR/train; a test split is not needed)."""
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "train" / "flows.csv").write_text(_labelled_csv(2))
    code = main(["train", "--task", "19", "--model", "rf", "--data", str(tmp_path / "data"), "--quiet",
                 "--models-dir", str(tmp_path / "models"), "--param", "n_estimators=2"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "error: flows.csv, column 'label', row 4 (line 7 of the file): label 'DDoS' says only" in err


def test_the_note_of_a_model_scored_at_a_coarser_task_names_the_files_line(tmp_path):
    """A 19-class model scored on family labels is scored at 6 classes; its note named the first such row by its row,
    not its line (two blank lines above it here)."""
    header = ",".join([*_FEATURES, "label"])
    fine = tmp_path / "fine.csv"
    fine.write_text("\n".join([header, *[_row(v, c) for v in (1, 2, 3) for c in ("Benign", "ARP_Spoofing")]]) + "\n")
    model, _ = train_model("rf", 19, read_files([fine]), params={"n_estimators": 2}, val_fraction=0.34)
    path = tmp_path / "flows.csv"
    path.write_text(_labelled_csv(2))
    report = model.evaluate(read_files([path]))
    assert report.task == 6
    note = next(n for n in report.notes if n.startswith("scored at 6 classes, not 19"))
    assert "(the first: flows.csv, row 4 (line 7 of the file), label 'DDoS')" in note, note
