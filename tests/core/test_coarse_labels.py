"""Labels that name only an attack family ('DDoS') or say only 'Attack': read, shown and scored at the task they
say, never refused or dropped (they were refused with "names an attack family")."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from core.errors import DataError
from core.loading import read_csv, read_files
from core.pipeline import TrainedModel
from core.scoring import score_files
from core.taxonomy import (
    ATTACK_CODE,
    CATEGORY,
    CLASSES_6,
    CLASSES_19,
    FAMILY_CODES,
    LABEL_NAMES,
    classes_for_task,
    coarser_map,
    codes_for_task,
    finest_task,
    known_for_task,
    shown_index_map,
    shown_names,
    task_label,
)
from core.training import train_from_folder


def test_every_label_code_maps_to_each_task_it_says_and_no_other():
    assert len(LABEL_NAMES) == 25 and LABEL_NAMES[ATTACK_CODE] == "Attack"
    for name, code in FAMILY_CODES.items():
        assert LABEL_NAMES[code] == name and name in CLASSES_6
    codes = np.arange(len(LABEL_NAMES))
    assert known_for_task(codes, 19).tolist() == [True] * 19 + [False] * 6
    assert known_for_task(codes, 6).tolist() == [True] * 24 + [False]
    assert known_for_task(codes, 2).all() and not known_for_task(np.array([-1]), 2).any()
    # a family code means the same in the 6- and 2-class tasks as every 19-class code of that family
    for c in range(19):
        fam = FAMILY_CODES.get(CATEGORY[CLASSES_19[c]])
        if fam is not None:
            assert codes_for_task([fam], 6).tolist() == codes_for_task([c], 6).tolist()
            assert codes_for_task([fam], 2).tolist() == codes_for_task([c], 2).tolist() == [1]
    assert codes_for_task([ATTACK_CODE], 2).tolist() == [1]
    with pytest.raises(ValueError, match="too coarse for the 19-class task: 'DDoS'"):
        codes_for_task([0, FAMILY_CODES["DDoS"]], 19)
    with pytest.raises(ValueError, match="too coarse for the 6-class task: 'Attack'"):
        codes_for_task([ATTACK_CODE], 6)
    with pytest.raises(ValueError):
        codes_for_task([-1], 2)  # unlabelled is never a class (a -1 index would silently read the last entry)
    assert [finest_task(np.array(c)) for c in ([0, 5], [0, 5, 22], [0, 22, 24], [])] == [19, 6, 2, 19]


def test_coarser_map_groups_predictions_as_the_taxonomy_does():
    for src, dst in ((19, 6), (19, 2), (6, 2), (6, 6), (19, 19)):
        src_names, dst_names = classes_for_task(src), classes_for_task(dst)
        got = [dst_names[i] for i in coarser_map(src, dst)]
        want = [task_label(n, dst) if src == 19 else (n if dst == 6 or n == "Benign" else "Attack") for n in src_names]
        assert got == want
    with pytest.raises(ValueError):
        coarser_map(6, 19)


def test_the_truth_shown_is_never_finer_than_the_model_nor_the_label():
    def shown(task, code):
        return shown_names(task)[shown_index_map(task)[code]]

    assert shown(19, CLASSES_19.index("DDoS-UDP")) == "DDoS-UDP"
    assert shown(19, FAMILY_CODES["DDoS"]) == "DDoS" and shown(19, ATTACK_CODE) == "Attack"
    assert shown(6, CLASSES_19.index("DDoS-UDP")) == "DDoS" and shown(6, ATTACK_CODE) == "Attack"
    assert shown(2, FAMILY_CODES["Recon"]) == "Attack" and shown_names(2) == ("Benign", "Attack")


def _with_labels(path, label_of) -> bytes:
    """The file's rows with a label column: ``label_of(19-class name)`` (the file name's class)."""
    from core.taxonomy import class_from_filename

    frame = pd.read_csv(path)
    frame["label"] = label_of(class_from_filename(path.name))
    return frame.to_csv(index=False).encode()


def _capture(demo_dir, label_of, names=None) -> list[tuple[str, bytes]]:
    files = [f for f in sorted((demo_dir / "test").glob("*.csv")) if names is None or f.name in names]
    assert names is None or len(files) == len(names)
    return [(f.name.replace(".pcap.csv", "-relabelled.csv"), _with_labels(f, label_of)) for f in files]


def _official_layout(demo_dir, folder, label_of, test_label_of=None):
    """``folder``/train and ``folder``/test: the demo's test files relabelled by ``label_of`` (``test_label_of`` for
    test/, where given)."""
    for split, relabel in (("train", label_of), ("test", test_label_of or label_of)):
        (folder / split).mkdir(parents=True)
        for name, payload in _capture(demo_dir, relabel):
            (folder / split / name).write_bytes(payload)
    return folder


def test_family_and_attack_labels_are_read_not_refused():
    """'DDoS', 'recon' and 'ATTACK' in the class column were errors; they are the labels they say."""
    from tests.core.test_loading import make_csv

    for label, name in (("DDoS", "DDoS"), ("recon", "Recon"), ("ATTACK", "Attack"), ("malicious", "Attack")):
        ds = read_csv(make_csv(rows=2, label=label), name="x.csv")
        assert ds.class_counts() == {name: 2} and ds.files[0].label_source == "column 'label'"
    with pytest.raises(DataError, match="unrecognised label 'Foo'") as err:
        read_csv(make_csv(rows=2, label="Foo"), name="x.csv")
    assert "an attack family (DDoS, DoS, Recon, MQTT, Spoofing) or Attack" in err.value.hint


@pytest.fixture(scope="module")
def models(demo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("coarse-models")
    return {task: TrainedModel.load(train_from_folder("rf", task, str(demo_dir), params={"n_estimators": 10},
                                                       models_dir=str(out), name=f"rf-{task}")[0].path)
            for task in (19, 6)}  # fmt: skip


def test_a_19_class_model_on_family_labels_is_scored_at_6_classes_on_every_row(models, demo_dir):
    fine = read_files(_capture(demo_dir, lambda c: c))
    data = read_files(_capture(demo_dir, lambda c: CATEGORY[c]))
    assert np.array_equal(fine.X, data.X) and len(data) == len(fine)
    model = models[19]
    report = model.evaluate(data)
    assert report.task == 6 and report.labels == list(CLASSES_6) and report.n_rows == len(data)
    # the same figures as grouping the 19-class predictions and truths into families by hand
    pred6 = codes_for_task(
        np.array([CLASSES_19.index(c) for c in np.asarray(model.classes)[model.predict(data).codes]]), 6
    )
    true6 = codes_for_task(fine.y, 6)
    assert report.macro_f1 == pytest.approx(f1_score(true6, pred6, average="macro"))
    assert report.macro_f1 > 0.5
    note = next(n for n in report.notes if n.startswith("scored at 6 classes, not 19"))
    assert f"{len(data) - int((fine.y == 0).sum()):,} labelled rows say only their attack family" in note
    assert "row 1 (line 2 of the file), label 'Spoofing'" in note and note.endswith(
        "grouped into attack families for every row"
    )
    # the 6-class model on the same rows: scored at its own task, with no such note
    six = models[6].evaluate(data)
    assert six.task == 6 and not any(n.startswith("scored at") for n in six.notes)


def test_one_attack_label_among_fine_ones_scores_every_row_as_benign_or_attack(models, demo_dir):
    files = _capture(demo_dir, lambda c: c)
    files.append(_capture(demo_dir, lambda c: "Attack", names={"TCP_IP-DoS-SYN_test.pcap.csv"})[0])
    data = read_files(files)
    report = models[6].evaluate(data)
    assert report.task == 2 and report.labels == ["Benign", "Attack"] and report.n_rows == len(data)
    assert any(n.startswith("scored at 2 classes, not 6") and "say only that they are attacks" in n
               for n in report.notes)  # fmt: skip


def test_predictions_show_what_a_coarse_label_says(models, demo_dir, tmp_path):
    files = _capture(demo_dir, lambda c: CATEGORY[c], names={"TCP_IP-DDoS-SYN_test.pcap.csv", "Benign_test.pcap.csv"})
    paths = []
    for name, payload in files:
        (tmp_path / name).write_bytes(payload)
        paths.append(str(tmp_path / name))
    data = read_files(paths)
    frame = models[19].predict(data).to_frame(data, 19)
    assert set(frame["true"]) == {"Benign", "DDoS"}
    out = tmp_path / "p.csv"
    score_files(models[19], paths, out)  # the streamed path the command line's predict takes
    assert set(pd.read_csv(out)["true"]) == {"Benign", "DDoS"}


def test_training_a_finer_model_than_the_labels_say_is_refused_with_what_to_do(demo_dir, tmp_path):
    folder = _official_layout(demo_dir, tmp_path / "data", lambda c: CATEGORY[c])
    with pytest.raises(DataError) as err:
        train_from_folder("rf", 19, str(folder), params={"n_estimators": 5}, models_dir=str(tmp_path / "m"))
    assert "label 'Spoofing' says only the row's attack family" in str(err.value)
    assert "a 19-class model needs each row's class in its task" in str(err.value) and err.value.row == 1
    assert err.value.hint.startswith("train a 6-class model on these files")
    model, reports = train_from_folder("rf", 6, str(folder), params={"n_estimators": 5},
                                       models_dir=str(tmp_path / "m"))  # fmt: skip
    assert reports["test"].task == 6 and model.classes == list(CLASSES_6)


def test_the_command_line_says_a_score_was_taken_at_a_coarser_task(demo_dir, tmp_path):
    """Trained on family labels and tested on 'Attack' labels, a 6-class model's test score is a 2-class one:
    train, evaluate and the models list say so."""
    from tests.core.test_cli import run

    folder = _official_layout(demo_dir, tmp_path / "data", lambda c: CATEGORY[c],
                              test_label_of=lambda c: "Benign" if c == "Benign" else "Attack")  # fmt: skip
    models = tmp_path / "models"
    out = run("train", "--task", "6", "--model", "rf", "--data", folder, "--param", "n_estimators=5", "--name", "six",
              "--models-dir", models, "--quiet").stdout  # fmt: skip
    assert re.search(r"^test: macro-F1 [0-9.]+ \| .*, 2 classes\)$", out, re.M), out
    assert "note: test/: scored at 2 classes, not 6:" in out
    listing = run("models", "--models-dir", models).stdout
    assert re.search(r"^six .*  \+ at 2 classes$", listing, re.M) and listing.rstrip().endswith(
        "so its predictions were grouped to match them"
    )
    assert (
        "scored at 2 classes, not 6"
        in run("evaluate", "--model", "six", "--data", folder, "--models-dir", models).stdout
    )


def test_a_benchmark_on_family_labels_skips_the_19_class_task_and_says_why(demo_dir, tmp_path):
    from core.compare import run_benchmark

    folder = _official_layout(demo_dir, tmp_path / "data", lambda c: CATEGORY[c])
    events = []
    results = run_benchmark(folder, families=("rf",), params={"rf": {"n_estimators": 5}}, models_dir=tmp_path / "m",
                            progress=events.append)  # fmt: skip
    assert not results.failures and results.tasks == [2, 6]
    assert [(s.task, s.report.task) for s in results.scores] == [(2, 2), (6, 6)]
    attacks = int((read_files(sorted((folder / "train").glob("*.csv"))).y != 0).sum())
    assert [e.message for e in events if "skipped" in e.message] == [
        f"skipped the 19-class task: {attacks:,} training rows say less than its classes (the first: "
        "ARP_Spoofing_test-relabelled.csv, row 1 (line 2 of the file), label 'Spoofing')"]  # fmt: skip
