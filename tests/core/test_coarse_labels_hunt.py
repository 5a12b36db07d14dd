"""Labels naming only an attack family ('DDoS') or saying only 'Attack', followed everywhere they flow: the notes,
the overlap of test and training rows, error messages on a sample of the rows, class profiles, reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError
from core.loading import Dataset, FileSummary, load_split, read_files
from core.pipeline import TrainedModel
from core.schema import LAYOUTS
from core.taxonomy import ATTACK_CODE, CATEGORY, CLASSES_19, FAMILY_CODES, class_from_filename
from core.training import train_from_folder, train_model


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Small demo data (30 rows a class), the same data with family labels and with Attack labels, and a 19- and a
    6-class forest of 5 trees trained on the fine labels."""
    from core.demo import write_demo_dataset

    root = tmp_path_factory.mktemp("coarse-hunt")
    fine = root / "fine"
    write_demo_dataset(fine, layout="v2", rows_per_class=30, seed=0)
    for kind, label_of in (
        ("family", lambda c: CATEGORY[c]),
        ("attack", lambda c: "Benign" if c == "Benign" else "Attack"),
    ):
        for split in ("train", "test"):
            (root / kind / split).mkdir(parents=True)
            for path in sorted((fine / split).glob("*.csv")):
                frame = pd.read_csv(path)
                frame["label"] = label_of(class_from_filename(path.name))
                frame.to_csv(root / kind / split / path.name.replace(".pcap.csv", "-relabelled.csv"), index=False)
    models = {task: TrainedModel.load(train_from_folder("rf", task, str(fine), params={"n_estimators": 5},
                                                        models_dir=str(root / "models"), name=f"rf-{task}")[0].path)
              for task in (19, 6)}  # fmt: skip
    return root, models


def _mixed(root) -> Dataset:
    """The test rows with fine labels, family labels and Attack labels, one kind per file."""
    files = sorted((root / "fine" / "test").glob("*.csv"))
    family = sorted((root / "family" / "test").glob("*.csv"))
    attack = sorted((root / "attack" / "test").glob("*.csv"))
    chosen = [*files[:6], *family[6:12], *attack[12:]]
    return read_files(chosen)


def test_a_note_on_scoring_at_2_classes_counts_the_attack_labels_not_the_family_ones(small):
    """A 19-class model on labels of all three kinds is scored at 2 classes because of the 'Attack' labels; its note
    said '<family and Attack rows> say only that they are attacks (the first: ..., label 'MQTT')'."""
    root, models = small
    data = _mixed(root)
    report = models[19].evaluate(data)
    assert report.task == 2
    note = next(n for n in report.notes if n.startswith("scored at 2 classes, not 19"))
    attacks = int((data.y == ATTACK_CODE).sum())
    assert attacks and int(np.isin(data.y, list(FAMILY_CODES.values())).sum())
    first = data.files[int(data.source[np.flatnonzero(data.y == ATTACK_CODE)[0]])].name
    assert (
        f"{attacks:,} labelled rows say only that they are attacks (the first: {first}, row 1 (line 2 of the file), label 'Attack')"
        in note
    )


def _rows(codes, vectors) -> Dataset:
    X = np.zeros((len(codes), LAYOUTS["v2"].n_features), dtype=np.float32)
    X[:, 0] = vectors
    return Dataset(X=X, y=np.array(codes, dtype=np.int8), source=np.zeros(len(codes), dtype=np.int32),
                   files=[FileSummary("a.csv", len(codes), "column 'label'", None)], layout=LAYOUTS["v2"])  # fmt: skip


def test_rows_also_in_train_are_told_apart_at_the_task_the_labels_say():
    """Test rows also in train 'only under other classes' were counted at the model's task: a DDoS-labelled test row
    whose vector is DoS-UDP in train (wrong at the 6 classes it is scored at) was not counted, and a DDoS-UDP test row
    whose vector is labelled DDoS in train (no other class) was."""
    from core.compare import overlap_notes

    udp, dos_udp = CLASSES_19.index("DDoS-UDP"), CLASSES_19.index("DoS-UDP")
    train, test = _rows([dos_udp, udp], [1, 2]), _rows([FAMILY_CODES["DDoS"], udp], [1, 2])
    note = overlap_notes(train, test, (19,))[19]
    assert "1 of them (50.0% of the test rows: DDoS 1) occur there only under other classes of the 6-class task" in note
    train = _rows([FAMILY_CODES["DDoS"], ATTACK_CODE, 0], [1, 2, 3])
    assert overlap_notes(train, _rows([udp, CLASSES_19.index("Recon-OS_Scan"), 0], [1, 2, 3]), (19,)) == {
        19: "3 of the 3 labelled test rows (100.0%) also occur in the training rows."
    }
    # a training label that says another family is another class still
    note = overlap_notes(train, _rows([dos_udp, CLASSES_19.index("Recon-OS_Scan"), 0], [1, 2, 3]), (19,))[19]
    assert "1 of them (33.3% of the test rows: DoS-UDP 1) occur there only under other classes, so" in note


def test_a_coarse_label_in_a_sample_of_the_rows_is_named_by_its_row_in_its_file_and_its_column(small):
    """With --max-rows-per-class, the refusal of a 19-class model on family labels named the row's place in the sample
    (row 1), not in its file, and no column."""
    root, _ = small
    train = load_split(root / "family", "train", max_rows_per_class=5, seed=3)
    name = train.files[train.source[0]].name
    full = read_files([root / "family" / "train" / name])
    matches = np.flatnonzero((full.X == train.X[0]).all(axis=1))
    assert len(matches) == 1
    expected = int(matches[0]) + 1
    assert expected != 1  # the sample does not start with the file's first row (seed 3)
    with pytest.raises(DataError) as err:
        train_model("rf", 19, train, params={"n_estimators": 5})
    assert err.value.file == name and err.value.row == expected and err.value.column == "label"
    assert (
        f"{name}, column 'label', row {expected} (line {expected + 1} of the file): label 'Spoofing' says only the "
        "row's attack family" in str(err.value)
    )


def test_class_profiles_group_rows_by_what_a_coarse_label_says(small):
    """A 19-class model's class profiles on family labels, and a 6-class model's on Attack labels, were empty: the
    dashboard then said there was no attack to compare with benign traffic."""
    from core.explain import class_profiles

    root, models = small
    family = read_files(sorted((root / "family" / "test").glob("*.csv")))
    assert set(class_profiles(models[19], family)["class"]) == {"Spoofing", "MQTT", "Recon", "DDoS", "DoS"}
    attack = read_files(sorted((root / "attack" / "test").glob("*.csv")))
    assert set(class_profiles(models[6], attack)["class"]) == {"Attack"}
    mixed = _mixed(root)
    shown = set(class_profiles(models[19], mixed)["class"])
    assert {"Attack", "Recon", "ARP_Spoofing"} <= shown


def test_a_report_says_with_its_results_that_they_are_at_a_coarser_task(small):
    """The report of a 19-class model on family labels said 'N of M flows recognised as their true class' with the
    6-class figures, and why only among the caveats at its end."""
    from core.report import analysis_report

    root, models = small
    data = read_files(sorted((root / "family" / "test").glob("*.csv")))
    report = analysis_report(models[19], data, compute_importance=False)
    results = next(s for s in report.sections if s.title == "The results in plain words")
    assert results.paragraphs[0].startswith("Scored at 6 classes, not 19: ")
    assert results.paragraphs[0].endswith("grouped into attack families for every row.")
    caveats = next(s for s in report.sections if s.title == "Caveats about the data")
    assert not any(b.startswith("scored at") for b in caveats.bullets)


def test_a_benchmark_table_says_its_averages_are_over_the_classes_it_is_scored_at(small):
    """A 19-class section scored at 6 classes said 'over the 5 of the task's 19 classes'."""
    from core.compare import Results, results_markdown, score_model

    root, models = small
    files = [p for p in sorted((root / "family" / "test").glob("*.csv")) if "Spoofing" not in p.name]
    score = score_model(models[19], read_files(files))
    assert score.report.task == 6 and score.report.absent_classes == ["Spoofing"]
    text = results_markdown(Results(scores=[score]))
    assert "Macro averages are over the 5 of the 6 classes it is scored at that occur in the test rows; absent " \
           "there: Spoofing." in text  # fmt: skip


def test_a_prediction_is_a_mistake_only_against_what_its_label_says():
    """The Analyze page's 'Only mistakes' compared names: a DDoS-UDP prediction for a label DDoS was a mistake."""
    from core.taxonomy import wrong_by_label

    predicted = ["DDoS-UDP", "DDoS-UDP", "DoS-UDP", "Benign", "DDoS", "MQTT", "Benign", "Attack"]
    true = ["DDoS", "Attack", "DDoS", "Attack", None, "Benign", "Benign", "Benign"]
    assert wrong_by_label(predicted, true).tolist() == [False, False, True, True, False, True, False, True]


def test_family_labels_only_on_rows_left_out_as_training_copies_do_not_coarsen_the_score(small):
    """With training copies left out, the task is decided on the rows scored: family labels on rows that are all
    left out used to score every other row at 6 classes, with a note naming a row that was not scored."""
    root, models = small
    train = load_split(root / "fine", "train")
    copied = sorted((root / "family" / "train").glob("*.csv"))[3]  # training rows, labelled by family only
    data = read_files([*sorted((root / "fine" / "test").glob("*.csv")), copied])
    assert models[19].evaluate(data).task == 6, "scored with them, the family labels coarsen the task"
    report = models[19].evaluate(data, exclude_rows_in=train)
    assert report.duplicates_removed >= len(pd.read_csv(copied))  # and any test row that happens to repeat one
    assert report.task == 19 and not any(n.startswith("scored at") for n in report.notes)
    assert report.n_rows == len(data) - report.duplicates_removed
