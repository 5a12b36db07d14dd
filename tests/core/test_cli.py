"""The command line as a user runs it: a real ``python -m core`` process."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def test_help_lists_the_commands():
    out = run("--help").stdout
    for cmd in ("train", "evaluate", "predict", "models", "demo-data", "benchmark-models"):
        assert cmd in out


def test_every_option_of_every_command_says_what_it_does():
    import argparse

    from core.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    silent = [f"{name} {a.option_strings[-1] if a.option_strings else a.dest}"
              for name, p in commands.choices.items() for a in p._actions
              if not isinstance(a, argparse._HelpAction) and not a.help]  # fmt: skip
    assert not silent, f"options without help text: {silent}"


@pytest.fixture(scope="module")
def trained(v1_sample, tmp_path_factory):
    models = tmp_path_factory.mktemp("cli-models")
    out = run("train", "--task", 19, "--model", "rf", "--data", v1_sample, "--param", "n_estimators=30",
              "--models-dir", models, "--name", "rf19", "--refit", "--quiet").stdout  # fmt: skip
    return models, out


def test_train_prints_path_metrics_and_absent_classes(trained):
    models, out = trained
    assert f"saved: {models / 'rf19'}" in out
    assert "test: macro-F1" in out
    assert "classes absent from training data (11)" in out, "v1 sample has 8 of 19 classes"


@pytest.mark.parametrize("test_folder", ["missing", "empty"])
def test_train_says_what_it_did_not_score(v2_sample, tmp_path, test_folder):
    """Without test/ (and with --val-fraction 0) the output used to end with no score and no word why. An empty
    test/ folder stopped training with an error, while a missing one did not."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train").symlink_to(v2_sample / "train")
    if test_folder == "empty":
        (tmp_path / "data" / "test").mkdir()
    out = run("train", "--task", 2, "--model", "lr", "--data", tmp_path / "data", "--val-fraction", 0, "--models-dir",
              tmp_path / "models", "--name", "m", "--quiet").stdout  # fmt: skip
    assert "validation: none (--val-fraction 0: no rows were kept back)" in out
    why = (
        f"{tmp_path / 'data'} has no test/ folder"
        if test_folder == "missing"
        else f"{tmp_path / 'data' / 'test'} has no CSV files"
    )
    assert f"test: not scored: {why}" in out
    assert "macro-F1" not in out


def test_train_says_how_many_cells_it_repaired_in_train_and_test(v2_sample, tmp_path):
    """The counts were stored in the metadata and the test report, but train printed neither."""
    from core.preprocess import RepairCounts

    out = run("train", "--task", 2, "--model", "lr", "--data", v2_sample, "--val-fraction", 0, "--models-dir",
              tmp_path, "--name", "m", "--quiet").stdout  # fmt: skip
    meta = json.loads((tmp_path / "m" / "metadata.json").read_text())
    train = RepairCounts.from_dict(meta["data"]["train_cells_repaired"])
    assert train.pos_inf["Rate"] > 0, "the v2 sample's train/ has inf in Rate"
    assert f"note: train/: {train.summary()}\n" in out
    test_notes = [n for n in meta["metrics"]["test"]["notes"] if "cells repaired" in n]
    assert len(test_notes) == 1 and f"note: test/: {test_notes[0]}\n" in out


def test_train_on_two_releases_names_both_folders(v1_sample, v2_sample, tmp_path):
    """train/ of one release and test/ of the other: the error used to name only a test file's base name and hint
    at 'a model trained on the same release', though no model existed yet."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train").symlink_to(v2_sample / "train")
    (tmp_path / "data" / "test").symlink_to(v1_sample / "test")
    proc = run("train", "--task", 2, "--model", "lr", "--data", tmp_path / "data", "--models-dir", tmp_path / "models",
               "--quiet", check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    first = sorted(p.name for p in (v1_sample / "test").glob("*.csv"))[0]
    assert (
        f"error: {tmp_path / 'data' / 'test' / first}: test/ holds files of the v1 release (45 features) but "
        "train/ holds the v2 release (39 features)" in proc.stderr
    )
    assert f"{tmp_path / 'data'}/train and {tmp_path / 'data'}/test must hold files of one release" in proc.stderr
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


@pytest.mark.parametrize("named", [True, False])
def test_train_refuses_a_registry_that_is_a_file_before_reading_data(v2_sample, tmp_path, named):
    """--models-dir naming a file: a FileExistsError traceback after the whole fit, and the model lost."""
    victim = tmp_path / "victim.csv"
    victim.write_text("a capture\n")
    name = ("--name", "m") if named else ()
    proc = run("train", "--task", 2, "--model", "lr", "--data", v2_sample, "--models-dir", victim, *name, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: the model registry {victim} is a file, not a folder" in proc.stderr
    assert "saved:" not in proc.stdout and victim.read_text() == "a capture\n"


def test_train_refuses_a_name_another_run_is_training(v2_sample, tmp_path):
    """The command line took no training lock: it trained and saved under a name the dashboard was training, whose
    whole fit was then lost at its save. It is refused before reading, as the dashboard refuses it; and it holds the
    lock itself while it runs, then lets it go."""
    from core.pipeline import TrainingLock

    models = tmp_path / "models"
    models.mkdir()
    with TrainingLock(models, "held"):
        proc = run("train", "--task", 2, "--model", "lr", "--data", v2_sample, "--models-dir", models, "--name",
                   "held", "--quiet", check=False)  # fmt: skip
    assert proc.returncode == 2 and "a model named 'held' is being trained right now" in proc.stderr
    assert not (models / "held").exists() and "Traceback" not in proc.stderr
    run("train", "--task", 2, "--model", "lr", "--data", v2_sample, "--models-dir", models, "--name", "held", "--quiet")
    with TrainingLock(models, "held"):  # released at the end
        assert (models / "held" / "metadata.json").is_file()


def test_a_training_lock_that_cannot_be_opened_is_one_error_line(v2_sample, tmp_path, monkeypatch):
    """A lock file this account cannot open (another account's, on a shared machine) ended train, and the
    dashboard's Start, in a traceback (PermissionError); here a folder stands where the lock file goes."""
    from core.pipeline import TrainingLock

    monkeypatch.setenv("IOMT_LOCK_DIR", str(tmp_path / "locks"))
    models = tmp_path / "models"
    models.mkdir()
    TrainingLock(models, "blocked").path.mkdir()
    proc = run("train", "--task", 2, "--model", "lr", "--data", v2_sample, "--models-dir", models, "--name",
               "blocked", "--quiet", check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot open the lock that keeps two trainings of 'blocked' apart" in proc.stderr
    assert "IOMT_LOCK_DIR" in proc.stderr and not (models / "blocked").exists()


@pytest.mark.parametrize("command", ["predict", "score-many"])
def test_scoring_into_a_path_under_a_file_is_one_error_line(trained, v1_sample, tmp_path, command):
    """predict --out FILE/x.csv and score-many --out FILE were tracebacks (FileExistsError, NotADirectoryError)."""
    models, _ = trained
    victim = tmp_path / "victim.csv"
    victim.write_text("a capture\n")
    out = victim / "x.csv" if command == "predict" else victim
    proc = run(command, "--model", "rf19", "--models-dir", models, next((v1_sample / "test").glob("*.csv")), "--out",
               out, check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{victim} is a file, not a folder" in proc.stderr and victim.read_text() == "a capture\n"


@pytest.mark.parametrize("value", ["abc", "0", "2.5"])
def test_a_bad_thread_count_is_one_error_naming_iomt_threads(trained, v1_sample, tmp_path, monkeypatch, value):
    """IOMT_THREADS=abc ended predict in a traceback (int('abc')); 0 was quietly taken as 1, 2.5 refused obscurely."""
    models, _ = trained
    monkeypatch.setenv("IOMT_THREADS", value)
    proc = run("predict", "--model", "rf19", "--models-dir", models, next((v1_sample / "test").glob("*.csv")),
               "--out", tmp_path / "p.csv", check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "$IOMT_THREADS must be" in proc.stderr and repr(value) in proc.stderr
    assert "unset it to use one thread per CPU" in proc.stderr and not (tmp_path / "p.csv").exists()


def test_train_refit_flag_fits_the_saved_model_on_every_training_row(trained):
    models, _ = trained
    data = json.loads((models / "rf19" / "metadata.json").read_text())["data"]
    assert data["refit"] == {"rows": 16254, "epochs": None, "history": {}}, "the v1 sample's train/ has 16,254 rows"
    assert data["train_rows_used_for_fit"] == 16254 and data["validation_rows"] > 1000
    assert "validation figures are of the first fit" in data["validation_split"]


def test_evaluate_a_model_whose_metadata_has_no_data_section(trained, v1_sample, tmp_path):
    """'data' is not a required key of metadata.json: such a model loads and predicts, but evaluate raised KeyError."""
    import shutil

    models, _ = trained
    copy = tmp_path / "models" / "nodata"
    shutil.copytree(Path(models) / "rf19", copy)
    meta = json.loads((copy / "metadata.json").read_text())
    del meta["data"]
    (copy / "metadata.json").write_text(json.dumps(meta))
    proc = run("evaluate", "--model", "nodata", "--models-dir", copy.parent, "--data", v1_sample, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "nodata on" in proc.stdout, proc.stderr
    # What it is doing, on stderr (a log here, not a terminal): it read and scored millions of rows without a word
    n_files = len(list((v1_sample / "test").glob("*.csv")))
    assert f"reading test/: {n_files}/{n_files} files (" in proc.stderr, proc.stderr
    assert "rows with nodata…" in proc.stderr.splitlines()[-1], proc.stderr


def test_evaluate_writes_json(trained, v1_sample, tmp_path):
    models, _ = trained
    js = tmp_path / "r.json"
    out = run("evaluate", "--model", "rf19", "--models-dir", models, "--data", v1_sample, "--json", js,
              "--drop-train-duplicates").stdout  # fmt: skip
    report = json.loads(js.read_text())
    for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "labels"):
        assert key in report
    assert len(report["labels"]) == len(report["confusion_matrix"]) == 8
    assert report["duplicates_removed"] > 0 and "also in train removed" in out
    # the same count in the overlap note (the v1 sample labels none of them otherwise)
    assert f"note: {report['duplicates_removed']:,} of the 8,621 labelled test rows" in out
    assert "They are left out of the scores here." in out and "only under other classes" not in out
    assert "does not hold the rows rf19 was trained on" not in out, "the same train/ rows: nothing to say"
    # A train/ that is not the model's own rows (here: two of its files): the rows left out are said to be others
    part = tmp_path / "part"
    (part / "train").mkdir(parents=True)
    (part / "test").symlink_to(v1_sample / "test")
    for f in sorted((v1_sample / "train").glob("*.csv"))[:2]:
        (part / "train" / f.name).symlink_to(f)
    other = run("evaluate", "--model", "rf19", "--models-dir", models, "--data", part, "--drop-train-duplicates").stdout
    assert f"note: {part}/train does not hold the rows rf19 was trained on (16,254 rows of " in other, other
    # Audited, as the README says (it was not): who, which model, the test files by hash, the score
    from core import audit

    (event,) = [e for e in audit.read_events() if e["action"] == "evaluated" and e["details"].get("out") == str(js)]
    assert event["model"] == "rf19" and event["via"] == "cli"
    assert event["details"]["macro_f1"] == round(report["macro_f1"], 4)
    assert len(event["files"]) == len(list((v1_sample / "test").glob("*.csv"))) and event["files"][0]["sha256"]


def test_evaluate_names_the_classes_it_predicted_that_the_test_rows_lack(trained, v1_sample, tmp_path):
    """They are left out of the macro average (no support); evaluate used to leave them out without a word."""
    models, _ = trained
    (tmp_path / "data" / "test").mkdir(parents=True)
    # ARP spoofing flows under a Recon file's name: whatever the model predicts for them other than Recon-OS_Scan
    # is a class absent from these rows' truth.
    (tmp_path / "data" / "test" / "Recon-OS_Scan_test.pcap.csv").symlink_to(
        v1_sample / "test" / "ARP_Spoofing_test.pcap.csv"
    )
    report = tmp_path / "r.json"
    out = run(
        "evaluate", "--model", "rf19", "--models-dir", models, "--data", tmp_path / "data", "--json", report
    ).stdout
    data = json.loads(report.read_text())
    extra = {c: sum(row[data["labels"].index(c)] for row in data["confusion_matrix"]) for c in data["labels"]
             if c != "Recon-OS_Scan"}  # fmt: skip
    assert extra.get("ARP_Spoofing", 0) > 0
    line = next(x for x in out.splitlines() if x.startswith("predicted but absent from the test data"))
    assert line.endswith(", ".join(f"{c} ({n:,} rows)" for c, n in extra.items())), line


def test_predict_keeps_every_row_in_order(trained, v1_sample, tmp_path):
    models, _ = trained
    files = sorted((v1_sample / "test").glob("*.csv"))[:2]
    out_csv = tmp_path / "p.csv"
    run("predict", "--model", models / "rf19", *files, "--out", out_csv)
    pred = pd.read_csv(out_csv)
    n_rows = [sum(1 for _ in open(f)) - 1 for f in files]
    assert len(pred) == sum(n_rows)
    assert pred["file"].tolist() == [files[0].name] * n_rows[0] + [files[1].name] * n_rows[1]
    assert pred["row"].tolist() == list(range(1, n_rows[0] + 1)) + list(range(1, n_rows[1] + 1))
    assert {"predicted", "probability", "top2", "true"} <= set(pred.columns)
    assert pred["probability"].between(0, 1).all()


def test_models_lists_the_model(trained):
    models, _ = trained
    out = run("models", "--models-dir", models).stdout
    assert "rf19" in out and " 19 " in out


def test_bad_input_exits_2_with_cause_and_hint_and_no_traceback(trained, v2_sample, tmp_path):
    models, _ = trained
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    proc = run("predict", "--model", models / "rf19", bad, "--out", tmp_path / "o.csv", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: bad.csv") and "hint:" in proc.stderr

    other = sorted((v2_sample / "test").glob("*.csv"))[0]
    proc = run("predict", "--model", models / "rf19", other, "--out", tmp_path / "o.csv", check=False)
    assert proc.returncode == 2 and "v1 layout (45 features)" in proc.stderr and "v2 layout (39" in proc.stderr

    proc = run("evaluate", "--model", models / "nope", "--data", v2_sample, check=False)
    assert proc.returncode == 2 and "no model" in proc.stderr

    proc = run("train", "--task", 6, "--model", "rf", "--data", tmp_path, check=False)
    assert proc.returncode == 2 and "no CSV files in train/" in proc.stderr


def test_benchmark_models_writes_tables_with_time_and_memory(demo_dir, tmp_path):
    out = run("benchmark-models", "--data", demo_dir, "--families", "lr,rf", "--tasks", "6", "--rf-trees", 5,
              "--rf-min-leaf", 3, "--seed", 4, "--drop-train-duplicates", "--out", tmp_path, "--save-models",
              tmp_path / "models", "--quiet").stdout  # fmt: skip
    md = (tmp_path / "results.md").read_text()
    assert md in out, "the tables are printed as written"
    assert "| lr |" in md and "| rf |" in md and "## 6 classes" in md
    assert re.search(r"Run: [\d,]+ test rows scored per model; [\d,]+ s in all \(reading, training, scoring\), "
                     r"peak memory [\d,]+ MB .*families lr,rf, tasks 6, rf 5 trees, forest leaves of at least 3 rows, seed 4, "
                     r"test rows also in train left out \(--drop-train-duplicates\); "
                     r"every model refitted on all "
                     r"training rows after validation\.", md)  # fmt: skip
    assert {(r["family"], r["task"]) for r in json.loads((tmp_path / "results.json").read_text())} == {
        ("lr", 6), ("rf", 6)}  # fmt: skip
    forest = json.loads((tmp_path / "models" / "bench-rf-6class-v2" / "metadata.json").read_text())["params"]
    assert (forest["n_estimators"], forest["min_samples_leaf"]) == (5, 3)


def test_benchmark_models_goes_on_past_a_job_that_fails_and_exits_1(v1_sample, tmp_path, monkeypatch, capsys):
    """The forest's memory check fails its jobs (here: a machine with 10 kB free); lr still runs for both tasks,
    the results say which jobs failed and what to do, and the exit status tells scripts the run is incomplete."""
    import core.models
    from core.cli import main

    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)
    rc = main(["benchmark-models", "--data", str(v1_sample), "--families", "rf,lr", "--tasks", "6,19", "--rf-trees",
               "20", "--max-rows-per-class", "100", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    out, err = capsys.readouterr()
    assert rc == 1
    md = (tmp_path / "results.md").read_text()
    assert md in out and md.count("| lr | 0.") == 2 and md.count("| rf | failed (below) |") == 2
    assert "2 of 4 jobs failed (see each task)" in md and "Partial results" not in md
    entries = json.loads((tmp_path / "results.json").read_text())
    assert [(e["family"], e["task"], "failed" in e) for e in entries] == [
        ("lr", 6, False), ("lr", 19, False), ("rf", 6, True), ("rf", 19, True)]  # fmt: skip
    assert err.count("error: rf, ") == 2 and "classes failed: a random forest of 20 trees" in err
    assert "hint: " in err and "min_samples_leaf" in err


def test_benchmark_models_results_say_which_task_was_skipped(v1_sample, tmp_path, capsys):
    """The v1 sample has no Benign rows: results.md itself (not only the console) says the 2-class task was
    skipped, and that its 6-class macro averages leave the absent classes out."""
    from core.cli import main

    rc = main(["benchmark-models", "--data", str(v1_sample), "--families", "lr", "--tasks", "2,6",
               "--max-rows-per-class", "100", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    assert rc == 0
    md = (tmp_path / "results.md").read_text()
    assert "the 2-class task was skipped (the training data has only one of its classes)" in md
    assert "## 2 classes" not in md and "absent there: Benign, DDoS, DoS." in md
    assert capsys.readouterr().out.count("the 2-class task was skipped") == 1, "said once, in the footer"


def test_benchmark_models_killed_mid_run_keeps_the_jobs_it_finished(v1_sample, tmp_path):
    """The results are written after every job: killed while the second job (a forest of many trees) runs, the
    run leaves the first job's complete results, marked as partial."""
    import time

    proc = subprocess.Popen([sys.executable, "-m", "core", "benchmark-models", "--data", str(v1_sample), "--families",
                             "lr,rf", "--tasks", "6", "--rf-trees", "20000", "--max-rows-per-class", "100", "--out",
                             str(tmp_path), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (tmp_path / "results.json").exists():
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no results written after the first job"
            time.sleep(0.2)
        time.sleep(1.0)
        assert proc.poll() is None, "the forest should still be growing"
    finally:
        proc.kill()
        proc.wait()
    assert [(e["family"], e["task"]) for e in json.loads((tmp_path / "results.json").read_text())] == [("lr", 6)]
    md = (tmp_path / "results.md").read_text()
    assert "| lr | 0." in md and "| rf |" not in md
    assert "**Partial results: the run is still going or was stopped** (1 job done so far)." in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"]


def test_benchmark_models_resume_runs_only_what_the_earlier_run_lacks(v1_sample, tmp_path, capsys, monkeypatch):
    import core.models
    from core.cli import main

    common = ["benchmark-models", "--data", str(v1_sample), "--tasks", "6", "--max-rows-per-class", "100", "--out",
              str(tmp_path), "--rf-trees", "10", "--quiet"]  # fmt: skip
    assert main([*common, "--families", "lr"]) == 0
    (lr,) = json.loads((tmp_path / "results.json").read_text())
    assert lr["settings"]["params"] == {} and lr["settings"]["max_rows_per_class"] == 100
    capsys.readouterr()

    assert main([*common, "--families", "lr,rf", "--resume"]) == 0
    out = capsys.readouterr().out
    assert f"resuming from {tmp_path / 'results.json'}: 1 job finished there\n" in out
    entries = json.loads((tmp_path / "results.json").read_text())
    assert [e["family"] for e in entries] == ["lr", "rf"] and entries[0] == lr, "lr kept as it was"
    assert "1 job kept from an earlier run into this folder (--resume, its times and memory are that run's); " \
           "this run: " in (tmp_path / "results.md").read_text()  # fmt: skip

    with monkeypatch.context() as m:  # the forest, with other settings, trained again and failing its memory check
        m.setattr(core.models, "available_memory", lambda: 10_000)
        assert main([*common, "--families", "rf", "--resume", "--rf-trees", "20"]) == 1
    assert "error: rf, 6 classes failed: a random forest of 20 trees" in capsys.readouterr().err
    assert main([*common, "--families", "lr", "--resume", "--rf-trees", "20"]) == 1, "the results still lack rf"
    out, err = capsys.readouterr()
    assert "1 job finished there, 1 failed (run again if their family is named here)\n" in out
    assert "error: rf, 6 classes failed (in the earlier run; not part of this one, so not run again): " in err
    entries = json.loads((tmp_path / "results.json").read_text())
    assert [(e["family"], "failed" in e) for e in entries] == [("lr", False), ("rf", True)] and entries[0] == lr

    rc = main([*common, "--families", "lr", "--resume", "--max-rows-per-class", "50"])
    err = capsys.readouterr().err
    assert rc == 2 and "error: cannot resume: the earlier results were made with other settings " \
                       "(--max-rows-per-class 100 there, 50 here)" in err  # fmt: skip
    assert json.loads((tmp_path / "results.json").read_text()) == entries, "the earlier results are left as they were"

    assert main([*common, "--families", "lr"]) == 0
    assert "holds an earlier run's results; this run replaces them as it goes (--resume continues" in (
        capsys.readouterr().out)  # fmt: skip


@pytest.mark.parametrize("option", ["--rf-trees", "--rf-min-leaf", "--epochs", "--max-rows-per-class"])
def test_benchmark_models_refuses_counts_below_one(option, tmp_path):
    proc = run("benchmark-models", "--data", tmp_path, option, 0, check=False)
    assert proc.returncode == 2 and f"argument {option}: 0 is below 1" in proc.stderr


@pytest.mark.parametrize("option", ["--out", "--save-models"])
def test_benchmark_models_refuses_a_file_as_its_output_folder_before_reading(option, tmp_path):
    """It used to train every job and fail only when writing the first results."""
    (tmp_path / "taken").write_text("not a folder")
    out = ["--out", tmp_path / "taken"] if option == "--out" else ["--out", tmp_path / "o", option, tmp_path / "taken"]
    proc = run("benchmark-models", "--data", tmp_path / "absent", *out, check=False)
    assert proc.returncode == 2 and f"error: {option} {tmp_path / 'taken'} is a file, not a folder" in proc.stderr


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--tasks", "2,x", "argument --tasks: 'x' is not a task; choose from 2, 6, 19"),
        ("--tasks", "5", "argument --tasks: '5' is not a task"),
        ("--families", "rf,forest", "argument --families: unknown family 'forest'; choose from cnn, cnn-rf, "),
    ],
)
def test_benchmark_models_refuses_unknown_tasks_and_families_before_reading(option, value, says, tmp_path):
    proc = run("benchmark-models", "--data", tmp_path / "absent", option, value, check=False)
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("command", "value", "says"),
    [
        ("train", "1.5", "argument --val-fraction: 1.5 is not a share of the training rows from 0 to 0.5"),
        ("train", "-0.1", "argument --val-fraction: -0.1 is not a share of the training rows from 0 to 0.5"),
        ("train", "nan", "argument --val-fraction: nan is not a share"),
        ("train", "tenth", "argument --val-fraction: 'tenth' is not a number"),
        ("score-many", "60", "argument --low-confidence: 60 is not a probability from 0 to 1"),
    ],
)
def test_shares_out_of_range_are_refused_before_any_row_is_read(command, value, says, tmp_path):
    """--val-fraction 1.5 used to train on one row per class and score the rest as validation."""
    option = "--val-fraction" if command == "train" else "--low-confidence"
    args = ["--task", 2, "--model", "lr", "--data", tmp_path] if command == "train" else ["--model", "m", tmp_path]
    proc = run(command, *args, "--out" if command == "score-many" else "--quiet", *(
        [tmp_path / "out"] if command == "score-many" else []), f"{option}={value}", check=False)  # fmt: skip
    assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr


def test_a_reader_that_leaves_early_ends_the_command_quietly(tmp_path):
    """``python -m core models | head -1``: the closed pipe used to end in a BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "core", "models", "--models-dir", tmp_path], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdout.close()  # before the interpreter has even started: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and err == "", err


def test_an_error_after_the_progress_bar_starts_is_on_a_line_of_its_own(tmp_path, capsys, monkeypatch):
    from core.cli import main

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal, where the bar is drawn (a log gets lines)
    assert main(["benchmark-models", "--data", str(tmp_path / "absent"), "--families", "lr"]) == 2
    err = capsys.readouterr().err
    assert "reading " in err, "the bar was drawn"
    last = err.split("\r")[-1]
    assert last.lstrip().startswith("error: ") and last.endswith("hint: pass a folder holding train/ and test/\n")


def test_training_progress_bar_shows_time_spent_and_left(capsys):
    import time

    from core.cli import _progress_bar
    from core.training import TrainProgress

    def line():  # the bar's current line (a line shorter than the last is padded with spaces)
        return capsys.readouterr().err.split("\r")[-1].rstrip()

    update = _progress_bar("train cnn (19 classes)", terminal=True)
    update(TrainProgress("load", 0.05, "reading"))
    assert re.search(r"  5%\|.*\| 00:0\d, reading$", line()), "time spent, and no time left before fitting"
    update(TrainProgress("batch", 0.1, "epoch 1/2, batch 1/20"))
    time.sleep(1.2)
    update(TrainProgress("batch", 0.5, "epoch 1/2, batch 10/20"))
    # 0.4 of the job in about 1.2 s since the first batch: about 1.5 s left
    assert re.search(r" 50%\|.*\| 00:0\d, about \d s left, epoch 1/2, batch 10/20$", line())
    update(TrainProgress("done", 1.0, "saved"))


def test_report_and_evaluate_check_their_output_files_before_any_work(trained, v1_sample, tmp_path):
    """A report written over the capture it reads, an HTML and a PDF of one name, a folder given as a file, or a
    folder that does not exist yet: refused (or made) at once; they were an overwritten capture, a lost HTML and
    tracebacks after the scoring."""
    models, _ = trained
    capture = tmp_path / "capture.csv"
    capture.write_bytes((v1_sample / "test" / "Recon-VulScan_test.pcap.csv").read_bytes())
    before = capture.read_bytes()
    common = ("--model", "rf19", "--models-dir", models, "--no-importance")
    proc = run("report", *common, "--data", capture, "--out", capture, check=False)
    assert proc.returncode == 2 and "is one of the input files" in proc.stderr and capture.read_bytes() == before
    proc = run("report", *common, "--data", tmp_path, "--out", capture, check=False)  # the folder holding it
    assert proc.returncode == 2 and "is one of the input files" in proc.stderr and capture.read_bytes() == before
    # evaluate --drop-train-duplicates reads train/ as well: its files are inputs too
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "test").symlink_to(v1_sample / "test")
    train_file = data / "train" / "capture.csv"
    train_file.write_bytes(before)
    proc = run("evaluate", "--model", "rf19", "--models-dir", models, "--data", data, "--drop-train-duplicates",
               "--json", train_file, check=False)  # fmt: skip
    assert proc.returncode == 2 and "is one of the input files" in proc.stderr and train_file.read_bytes() == before
    # A capture named .CSV (the readers read it; a glob for *.csv did not see it), and a model's own metadata.json
    upper = data / "train" / "Recon-VulScan_train.pcap.CSV"  # read (an official name), so overwritten before
    train_file.rename(upper)
    proc = run("evaluate", "--model", "rf19", "--models-dir", models, "--data", data, "--drop-train-duplicates",
               "--json", upper, check=False)  # fmt: skip
    assert proc.returncode == 2 and "is one of the input files" in proc.stderr and upper.read_bytes() == before
    meta = Path(models) / "rf19" / "metadata.json"
    kept = meta.read_bytes()
    for command in (["evaluate", "--model", "rf19", "--models-dir", models, "--data", capture, "--json", meta],
                    ["report", *common, "--data", capture, "--out", meta],
                    ["predict", "--model", "rf19", "--models-dir", models, capture, "--out", meta]):  # fmt: skip
        proc = run(*command, check=False)
        assert proc.returncode == 2 and "is a saved model's folder" in proc.stderr, (command, proc.stderr)
        assert meta.read_bytes() == kept
    # Through a folder not there yet ('gone/..' was looked at as given, then made), into a subfolder, or the
    # model's folder itself as --out (whose 'is a folder' hint offered a file in it)
    around = Path(models) / "gone" / ".." / "rf19" / "metadata.json"
    for command in (["report", *common, "--data", capture, "--out", around],
                    ["predict", "--model", "rf19", "--models-dir", models, capture, "--out", meta.parent / "sub" / "p.csv"],
                    ["predict", "--model", "rf19", "--models-dir", models, capture, "--out", meta.parent]):  # fmt: skip
        proc = run(*command, check=False)
        assert proc.returncode == 2 and "is a saved model's folder" in proc.stderr, (command, proc.stderr)
    assert meta.read_bytes() == kept and not (Path(models) / "gone").exists() and not (meta.parent / "sub").exists()
    same = tmp_path / "r.html"
    proc = run("report", *common, "--data", capture, "--out", same, "--pdf", same, check=False)
    assert proc.returncode == 2 and "--out and --pdf are the same file" in proc.stderr and not same.exists()
    proc = run("report", *common, "--data", capture, "--out", tmp_path, check=False)
    assert proc.returncode == 2 and "is a folder" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("report", "--model", "rf19", "--models-dir", models, "--data", capture, "--out", same,
               "--importance-rows", 0, check=False)  # fmt: skip
    assert proc.returncode == 2 and "--importance-rows" in proc.stderr and "Traceback" not in proc.stderr
    html, pdf = tmp_path / "new" / "a" / "r.html", tmp_path / "new" / "b" / "r.pdf"
    run("report", *common, "--data", capture, "--out", html, "--pdf", pdf)
    assert html.read_text().startswith("<!DOCTYPE html>") and pdf.read_bytes().startswith(b"%PDF")
    assert not [p for p in (tmp_path / "new").rglob("*.tmp")], "written under a temporary name, then renamed"

    proc = run("evaluate", "--model", "rf19", "--models-dir", models, "--data", v1_sample, "--json", tmp_path,
               check=False)  # fmt: skip
    assert proc.returncode == 2 and "--json" in proc.stderr and "is a folder" in proc.stderr
    js = tmp_path / "deeper" / "r.json"
    run("evaluate", "--model", "rf19", "--models-dir", models, "--data", v1_sample, "--json", js)
    assert json.loads(js.read_text())["model"] == "rf19"


def test_evaluate_names_the_classes_the_model_never_saw_in_training(v1_sample, tmp_path):
    """Their F1 is 0 whatever the model: evaluate used to print it without a word, where train and report say it."""
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    for f in (v1_sample / "train").glob("*.csv"):
        if not f.name.startswith("Recon-"):
            (data / "train" / f.name).symlink_to(f)
    (data / "test").symlink_to(v1_sample / "test")
    run("train", "--task", 6, "--model", "rf", "--param", "n_estimators=5", "--data", data, "--models-dir",
        tmp_path / "m", "--name", "no-recon", "--quiet")  # fmt: skip
    out = run("evaluate", "--model", "no-recon", "--models-dir", tmp_path / "m", "--data", data).stdout
    assert "classes the model never saw in training, so never predicts (their F1 is 0 by construction): Recon" in out


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "lots"])
def test_demo_data_refuses_a_scale_that_is_not_a_positive_number(value, tmp_path):
    proc = run("demo-data", "--out", tmp_path / "d", f"--rows={value}", check=False)
    assert proc.returncode == 2 and "--rows" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "d").exists()


def test_demo_data_goes_where_the_dashboard_looks_for_it(tmp_path, monkeypatch):
    """With $IOMT_DEMO_DATA_DIR set, the dashboard read the demo data from there, but demo-data and setup-demo (run by
    scripts/dashboard.sh) wrote it to data/demo: the dashboard then found none."""
    from dashboard.loaders import demo_data_dir

    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(tmp_path / "demo"))
    proc = run("demo-data", "--rows", 0.01)
    assert demo_data_dir() == tmp_path / "demo" and str(tmp_path / "demo") in proc.stdout
    assert {"test", "train"} <= {p.name for p in (tmp_path / "demo").iterdir()}
    assert any((tmp_path / "demo" / "train").glob("*.csv"))
    from core.cli import build_parser

    assert build_parser().parse_args(["setup-demo"]).data == str(tmp_path / "demo")


def test_demo_data_never_mixes_synthetic_files_into_real_data(v1_sample, tmp_path):
    """demo-data into a folder of real data overwrote the files of the names it writes and left the others: a
    dataset of real and synthetic files mixed, with no word."""
    import shutil

    real = tmp_path / "real"
    shutil.copytree(v1_sample, real)
    before = {p: p.read_bytes() for p in sorted(real.rglob("*.csv"))}
    proc = run("demo-data", "--out", real, "--rows", 0.01, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{real} already holds {len(before)} CSV files in train/ and test/ that the demo data did not write" in (
        proc.stderr
    )
    assert "--overwrite" in proc.stderr
    assert {p: p.read_bytes() for p in sorted(real.rglob("*.csv"))} == before
    # Asked for: the real files go, and only demo files are left (none of the real ones beside them).
    run("demo-data", "--out", real, "--rows", 0.01, "--overwrite")
    manifest = json.loads((real / "demo-manifest.json").read_text())
    assert sorted(str(p.relative_to(real)) for p in real.rglob("*.csv")) == sorted(manifest["files"])
    # Demo data written earlier is replaced without --overwrite; a file added to it since (.CSV too) is not.
    run("demo-data", "--out", real, "--rows", 0.02, "--seed", 3)
    assert json.loads((real / "demo-manifest.json").read_text())["seed"] == 3
    mine = real / "train" / "my_capture.CSV"
    mine.write_bytes(next(iter(before.values())))
    proc = run("demo-data", "--out", real, "--rows", 0.01, check=False)
    assert proc.returncode == 2 and "1 CSV file in train/ and test/ that the demo data did not write" in proc.stderr
    assert mine.exists() and json.loads((real / "demo-manifest.json").read_text())["seed"] == 3
    (tmp_path / "file").write_text("x")
    proc = run("demo-data", "--out", tmp_path / "file", check=False)
    assert proc.returncode == 2 and "is a file" in proc.stderr and "Traceback" not in proc.stderr


def test_predict_streams_past_the_row_limit_that_protects_memory(trained, v1_sample, tmp_path):
    """The row limit used to be checked on the first 256 KB only: a file over it was scored, and one whose first
    256 KB were over it was refused as 'the file has N rows' with N the prefix's count, not the file's."""
    models, _ = trained
    big = v1_sample / "train" / "MQTT-DDoS-Publish_Flood_train.pcap.csv"
    n = sum(1 for _ in big.open("rb")) - 1
    assert big.stat().st_size > 300_000, "the file must be longer than the 256 KB checked first"
    proc = subprocess.run([sys.executable, "-m", "core", "predict", "--model", "rf19", "--models-dir", str(models),
                           str(big), "--out", str(tmp_path / "p.csv")], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "IOMT_MAX_ROWS": "100"}, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == n


def test_models_with_a_registry_that_is_not_a_folder_says_so(tmp_path):
    """A typo in --models-dir used to read as an empty registry ('no saved models'), exit 0."""
    proc = run("models", "--models-dir", tmp_path / "typo", check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    (tmp_path / "file").write_text("x")
    proc = run("models", "--models-dir", tmp_path / "file", check=False)
    assert proc.returncode == 2 and "is a file" in proc.stderr
    (tmp_path / "empty").mkdir()
    assert "no saved models in" in run("models", "--models-dir", tmp_path / "empty").stdout
