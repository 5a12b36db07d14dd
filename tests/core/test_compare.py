"""The paper's comparison on real data: one read, every (family, task) job scored on the same rows."""

import json

import numpy as np
import pytest

from core.compare import overlap_notes, results_markdown, run_benchmark
from core.evaluation import WARNING
from core.taxonomy import CLASSES_19


def test_benchmark_skips_a_task_the_data_cannot_train_and_scores_the_rest(v1_sample, tmp_path):
    events = []
    results = run_benchmark(v1_sample, families=("rf", "lr"), tasks=(2, 6), params={"rf": {"n_estimators": 10}},
                            max_rows_per_class=300, models_dir=tmp_path, progress=events.append)  # fmt: skip
    scores = results.scores
    assert not results.failures and results.tasks == [6]
    assert [(s.family, s.task) for s in scores] == [("rf", 6), ("lr", 6)], "v1 sample has no Benign: no 2-class task"
    assert any("skipped the 2-class task" in e.message for e in events)
    assert events[-1].fraction == 1.0
    assert {p.name for p in tmp_path.iterdir()} == {"bench-rf-6class-v1", "bench-lr-6class-v1"}
    from core.loading import load_split
    from core.pipeline import fingerprint, test_set_of

    test_rows = fingerprint(load_split(v1_sample, "test"))
    sets = set()
    for name in ("bench-rf-6class-v1", "bench-lr-6class-v1"):  # every family refitted on the same (all) train rows
        meta = json.loads((tmp_path / name / "metadata.json").read_text())
        data = meta["data"]
        assert data["train_rows_used_for_fit"] == data["train_rows"] == data["refit"]["rows"] == 8 * 300
        # what the saved test scores were measured on, so that the dashboard ranks them only among their own
        assert (data["test_rows"], data["test_fingerprint_sha256"]) == (8621, test_rows)
        sets.add(test_set_of(meta))
    assert sets == {f"{test_rows}:8621"}
    for s in scores:
        assert s.report.n_rows == 8621 and s.rows_per_second > 0
    md = results_markdown(results)
    assert "## 6 classes" in md and "| rf | " in md and "Per-class F1" in md
    # The v1 sample's test rows hold 3 of the 6 classes: the table says its macro averages are over those.
    assert ("Macro averages are over the 3 of the task's 6 classes that occur in the test rows; absent there: "
            "Benign, DDoS, DoS.") in md  # fmt: skip


def test_a_saved_model_of_a_benchmark_models_name_stops_the_run_unless_it_may_be_replaced(v1_sample, tmp_path):
    from core.errors import CoreError

    (tmp_path / "bench-lr-6class-v1").mkdir()
    (tmp_path / "bench-lr-6class-v1" / "metadata.json").write_text("{}")  # trained elsewhere, perhaps for hours
    events = []
    with pytest.raises(CoreError, match=r"already holds models of the names .*: bench-lr-6class-v1$") as caught:
        run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=100, models_dir=tmp_path,
                      progress=events.append)  # fmt: skip
    assert "--replace-models" in caught.value.hint and not any(e.stage == "fit" for e in events), "before any fit"
    assert (tmp_path / "bench-lr-6class-v1" / "metadata.json").read_text() == "{}"
    run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=100, models_dir=tmp_path,
                  replace_models=True)  # fmt: skip
    assert json.loads((tmp_path / "bench-lr-6class-v1" / "metadata.json").read_text())["family"] == "lr"


def test_benchmark_reports_cnn_rfs_forest_weight_and_validation_scores_under_its_task(v1_sample):
    tiny = {"epochs": 2, "filters": 8, "dense_units": 32, "n_estimators": 10}
    results = run_benchmark(v1_sample, families=("cnn-rf", "rf"), tasks=(6,), max_rows_per_class=200,
                            params={"cnn-rf": tiny, "rf": {"n_estimators": 10}})  # fmt: skip
    blend, rf = results.scores
    mine = [n for n in blend.report.notes if n.startswith("cnn-rf: forest weight ")]
    assert len(mine) == 1 and mine[0].startswith("cnn-rf: forest weight 0.5; on the 160 validation rows macro-F1 ")
    assert not any(n.startswith("cnn-rf") for n in rf.report.notes), "the note is the blend's own"
    md = results_markdown(results)
    assert md.count(f"Note: {mine[0]}") == 1 and "| cnn-rf | " in md and "| rf | " in md


def test_the_previous_jobs_model_is_not_held_while_the_next_one_trains(v1_sample):
    """A forest of 300 trees held through the next job's fit doubled the peak memory of two forests in a row
    (1,890 against 1,087 MB on the v2 sample): once job 2 fits, no trained model of job 1 is alive."""
    import gc

    from core.pipeline import TrainedModel

    alive = []

    def watch(ev):
        if ev.message.startswith("[2/2]") and ev.stage == "fit" and not alive:
            gc.collect()
            alive.append(sum(isinstance(o, TrainedModel) for o in gc.get_objects()))

    results = run_benchmark(v1_sample, families=("rf", "lr"), tasks=(6,), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 10}}, progress=watch)  # fmt: skip
    assert len(results.scores) == 2 and alive == [0]


def test_a_diverged_fit_is_a_warning_under_its_task_not_a_note(diverged_gbt):
    results, _ = diverged_gbt
    (score,) = results.scores
    warnings = [n.removeprefix(WARNING) for n in score.report.notes if n.startswith(WARNING)]
    assert [w.split(":")[0] for w in warnings] == ["gbt diverged", "refit on all rows"], score.report.notes
    md = results_markdown(results)
    for w in warnings:
        assert md.count(f"**Warning:** {w}") == 1
    assert "Note: Warning" not in md and "Note: gbt: early stopping on the validation rows kept" in md


def _dataset(X, y):
    from core.loading import Dataset, FileSummary
    from core.schema import LAYOUTS

    X = np.asarray(X, np.float32)
    return Dataset(X=X, y=np.asarray(y, np.int8), source=np.zeros(len(X), np.int32),
                   files=[FileSummary("a.csv", len(X), None, None)], layout=LAYOUTS["v2"])  # fmt: skip


def test_overlap_notes_count_test_rows_whose_vector_is_trained_only_under_other_classes():
    c = CLASSES_19.index
    a, b, d = (np.full(39, v, np.float32) for v in (1.0, 2.0, 3.0))
    e = np.where(np.arange(39) == 0, 0.0, 4.0).astype(np.float32)
    neg_zero = np.where(np.arange(39) == 0, -0.0, 4.0).astype(np.float32)  # the same vector as e (-0.0 == 0.0)
    train = _dataset(
        [a, a, b, b, e], [c("Recon-VulScan"), c("Recon-VulScan"), c("DoS-UDP"), c("DDoS-UDP"), c("Benign")]
    )
    test = _dataset([a, a, a, b, b, d, e, neg_zero, d],
                    [c("Recon-Port_Scan"), c("Recon-Port_Scan"), c("Recon-OS_Scan"),  # a: trained as VulScan only
                     c("DoS-UDP"),  # b: trained as DoS-UDP too, so not a conflict
                     c("DDoS-TCP"),  # b: trained as DoS-UDP and DDoS-UDP, never DDoS-TCP
                     c("Benign"), c("Benign"), c("Benign"), -1])  # fmt: skip
    notes = overlap_notes(train, test, (2, 6, 19))
    assert notes[19].startswith("7 of the 8 labelled test rows (87.5%) also occur in the training rows; 4 of them")
    assert "(50.0% of the test rows: Recon-Port_Scan 2, Recon-OS_Scan 1, DDoS-TCP 1)" in notes[19]
    # 6 classes: a is Recon in both (no conflict); b is DoS/DDoS in train, DDoS in test: trained as DDoS too
    assert notes[6] == "7 of the 8 labelled test rows (87.5%) also occur in the training rows."
    assert notes[2] == notes[6]
    assert overlap_notes(train, _dataset([d], [c("Benign")]), (19,)) == {}, "no overlap, no note"


def test_overlap_notes_agree_with_a_plain_dictionary_on_the_v2_sample(v2_sample):
    """Oracle: each training row's bytes -> the set of its classes, counted with a Python dict."""
    from core.loading import load_split
    from core.taxonomy import codes_for_task

    train = load_split(v2_sample, "train")
    test = load_split(v2_sample, "test", layout=train.layout)
    notes = overlap_notes(train, test, (19, 6))
    for task in (19, 6):
        seen: dict[bytes, set] = {}
        for row, code in zip(train.X + np.float32(0.0), codes_for_task(train.y, task)):
            seen.setdefault(row.tobytes(), set()).add(int(code))
        also = other = 0
        for row, code in zip(test.X + np.float32(0.0), codes_for_task(test.y, task)):
            classes = seen.get(row.tobytes())
            also += classes is not None
            other += classes is not None and int(code) not in classes
        assert notes[task].startswith(f"{also:,} of the {len(test):,} labelled test rows")
        assert f"; {other:,} of them" in notes[task]
    assert other > 0 and "Recon-Port_Scan" in notes[19] and "Recon-OS_Scan" in notes[19]


def test_results_markdown_shows_the_overlap_note_once_per_task(v2_sample):
    results = run_benchmark(v2_sample, families=("lr",), tasks=(19,), max_rows_per_class=200)
    md = results_markdown(results)
    notes = [line for line in md.splitlines() if line.startswith("Note: ")]
    assert len([n for n in notes if "occur there only under other classes" in n]) == 1, notes
    assert any("only under other classes" in n for n in results.scores[0].report.to_dict()["notes"])
    assert "left out of the scores" not in md
    dropped = run_benchmark(
        v2_sample, families=("lr",), tasks=(19,), max_rows_per_class=200, drop_train_duplicates=True
    )
    assert "They are left out of the scores here." in results_markdown(dropped)
    assert dropped.scores[0].report.duplicates_removed == int(
        md.split("Note: ")[-1].split(" of the ")[0].replace(",", "")
    )


def test_results_json_reads_back_as_the_scores_written(v1_sample, tmp_path):
    from core.compare import read_results, write_results

    results = run_benchmark(v1_sample, families=("lr",), tasks=(6, 19), max_rows_per_class=100)
    _, js = write_results(results, tmp_path)
    back = read_results(js.read_bytes(), js.name)
    assert [s.to_dict() for s in back.scores] == [s.to_dict() for s in results.scores] and not back.failures
    assert results_markdown(back) == results_markdown(results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "results.md"], "no .part left behind"


def test_a_job_that_fails_is_recorded_with_what_to_do_and_the_others_still_run(v1_sample, monkeypatch, tmp_path):
    """The forest's memory check stops its job (here: a machine with 10 kB free); the benchmark records that, with
    the hint, goes on with the next family and task, and writes the results so far after every job."""
    import core.models
    from core.compare import read_results, write_results

    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)
    events, written = [], []

    def keep(results):
        written.append([(s.family, s.task) for s in results.scores] + [(f.family, f.task) for f in results.failures])
        write_results(results, tmp_path)

    results = run_benchmark(v1_sample, families=("rf", "lr"), tasks=(6, 19), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 20}}, progress=events.append, on_result=keep)  # fmt: skip
    assert [(s.family, s.task) for s in results.scores] == [("lr", 6), ("lr", 19)]
    assert [(f.family, f.task) for f in results.failures] == [("rf", 6), ("rf", 19)]
    assert written == [[("rf", 6)], [("lr", 6), ("rf", 6)], [("lr", 6), ("rf", 6), ("rf", 19)],
                       [("lr", 6), ("lr", 19), ("rf", 6), ("rf", 19)]]  # fmt: skip
    failure = results.failures[0]
    assert "random forest of 20 trees" in failure.message and "min_samples_leaf" in failure.hint
    assert any(e.message.startswith("[1/4] rf, 6 classes: failed: a random forest") for e in events)
    assert events[-1].fraction == 1.0 and "2 of 4 jobs failed" in events[-1].message

    md = results_markdown(results)
    assert md.count("| rf | failed (below) |") == 2 and md.count("| lr | 0.") == 2
    assert md.count("**Failed: rf.** A random forest of 20 trees") == 2 and "What to do: " in md
    back = read_results((tmp_path / "results.json").read_text())
    assert back.failures == results.failures and results_markdown(back) == md


def test_a_task_where_every_job_failed_still_has_its_section(v1_sample):
    """No scores for the task at all: the section names the failures and shows no empty per-class table."""
    results = run_benchmark(v1_sample, families=("rf",), tasks=(6,), max_rows_per_class=50,
                            params={"rf": {"n_estimators": 0}})  # fmt: skip
    assert not results.scores and results.tasks == [6]
    (failure,) = results.failures
    assert failure.message == "ValueError: n_estimators must be at least 1, got 0"
    assert (
        failure.hint
        == "check the settings given to rf, or rerun it alone (--families rf --tasks 6 --verbose) for the traceback"
    )
    md = results_markdown(results)
    assert "## 6 classes" in md and "| rf | failed (below) |" in md and "Per-class F1" not in md


def _jobs(results):
    return [(s.family, s.task) for s in results.scores], [(f.family, f.task) for f in results.failures]


def test_resume_keeps_the_finished_jobs_and_runs_the_failed_and_missing_ones(v1_sample, monkeypatch, tmp_path):
    """A run whose forest failed (its memory check) and that stopped before the 19-class task, resumed from its
    results.json: lr's 6-class score is kept as it was, not trained again; the forest and the 19-class jobs run."""
    import core.models
    from core.compare import read_results, write_results

    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)
    first = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), max_rows_per_class=100,
                          params={"rf": {"n_estimators": 10}})  # fmt: skip
    assert _jobs(first) == ([("lr", 6)], [("rf", 6)])
    write_results(first, tmp_path)
    monkeypatch.undo()

    earlier = read_results((tmp_path / "results.json").read_bytes())
    events = []
    results = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6, 19), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 10}}, progress=events.append, resume=earlier)  # fmt: skip
    assert _jobs(results) == ([("lr", 6), ("rf", 6), ("lr", 19), ("rf", 19)], [])
    assert results.scores[0] is earlier.scores[0], "kept, not trained again"
    messages = [e.message for e in events]
    assert "resuming: 1 job kept from the earlier run, 3 to run" in messages
    assert not any(m.startswith("[") and "lr, 6 classes" in m for m in messages)
    assert any(m.startswith("[1/3] rf, 6 classes: failed in the earlier run, trying again: ") for m in messages)
    assert any(m.startswith("[3/3] rf, 19 classes: ") for m in messages) and events[-1].fraction == 1.0
    assert all(s.settings == results.scores[0].settings | {"params": s.settings["params"]} for s in results.scores)


def test_resume_trains_again_a_family_whose_parameters_changed_and_keeps_jobs_not_in_this_run(v1_sample):
    """The earlier run's entries are never lost: the results written after each job hold the earlier entries
    not yet replaced (here rf's 19-class score, to be trained again, and lr's, not part of this run)."""
    earlier = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6, 19), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 10}})  # fmt: skip
    events, written = [], []
    results = run_benchmark(v1_sample, families=("rf",), tasks=(6, 19), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 5}}, progress=events.append, on_result=written.append,
                            resume=earlier)  # fmt: skip
    assert _jobs(results) == ([("rf", 6), ("lr", 6), ("rf", 19), ("lr", 19)], []), (
        "per task, this run's families first, then the earlier run's others")  # fmt: skip
    rf6, lr6, rf19, lr19 = results.scores
    assert lr6 is earlier.scores[0] and lr19 is earlier.scores[2]
    assert rf6 is not earlier.scores[1] and rf19 is not earlier.scores[3]
    assert rf6.settings["params"] == {"n_estimators": 5}
    assert earlier.scores[1].settings["params"] == {"n_estimators": 10}
    assert any(e.message.startswith("[1/2] rf, 6 classes: other parameters than in the earlier run, training again")
               for e in events)  # fmt: skip
    first = written[0].scores
    assert [(s.family, s.task) for s in first] == [("rf", 6), ("lr", 6), ("rf", 19), ("lr", 19)]
    assert first[0] is rf6 and first[2] is earlier.scores[3], "rf's earlier 19-class score stays until replaced"

    again = run_benchmark(v1_sample, families=("rf",), tasks=(6, 19), max_rows_per_class=100,
                          params={"rf": {"n_estimators": 5}}, progress=events.append, resume=results)  # fmt: skip
    assert all(a is b for a, b in zip(again.scores, results.scores, strict=True)), "nothing left to run"
    assert events[-2].message == "resuming: 4 jobs kept from the earlier run, 0 to run"


def test_resume_with_save_models_trains_again_the_kept_jobs_whose_model_is_not_saved_there(v1_sample, tmp_path):
    """A resume asked to save the models must leave every model of the run in that folder: a finished job whose
    model the earlier run did not save there (or saved from another run) is trained again; one it did is kept."""
    import shutil

    from core.pipeline import read_metadata

    saved = tmp_path / "models"
    earlier = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 5}})  # fmt: skip
    events = []
    results = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 5}}, models_dir=saved, progress=events.append,
                            resume=earlier)  # fmt: skip
    messages = [e.message for e in events]
    assert "resuming: 0 jobs kept from the earlier run, 2 to run" in messages
    assert any(m.startswith(f"[1/2] lr, 6 classes: its model is not saved in {saved} (the earlier run did not save "
                            "it there), training again: ") for m in messages)  # fmt: skip
    assert sorted(p.name for p in saved.iterdir()) == ["bench-lr-6class-v1", "bench-rf-6class-v1"]
    assert read_metadata(saved / "bench-rf-6class-v1")["metrics"]["test"] == results.scores[1].report.to_dict()

    events.clear()  # resumed again into the same folder: both models are there, nothing runs
    again = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), max_rows_per_class=100,
                          params={"rf": {"n_estimators": 5}}, models_dir=saved, progress=events.append,
                          resume=results)  # fmt: skip
    assert all(a is b for a, b in zip(again.scores, results.scores, strict=True))
    assert "resuming: 2 jobs kept from the earlier run, 0 to run" in [e.message for e in events]

    shutil.rmtree(saved / "bench-lr-6class-v1")  # a model removed, and one replaced by another run's
    shutil.copytree(saved / "bench-rf-6class-v1", saved / "bench-lr-6class-v1")
    events.clear()
    third = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), max_rows_per_class=100,
                          params={"rf": {"n_estimators": 5}}, models_dir=saved, progress=events.append,
                          resume=results)  # fmt: skip
    assert third.scores[0] is not results.scores[0] and third.scores[1] is results.scores[1]
    assert "resuming: 1 job kept from the earlier run, 1 to run" in [e.message for e in events]
    assert any(e.message.startswith(f"[1/1] lr, 6 classes: the model saved as {saved / 'bench-lr-6class-v1'} is not "
                                    "the one the earlier run measured, training again: ") for e in events)  # fmt: skip
    assert read_metadata(saved / "bench-lr-6class-v1")["family"] == "lr"


def test_resume_refuses_results_of_other_data_or_settings_saying_which(v1_sample, v2_sample, tmp_path):
    import dataclasses

    from core.errors import CoreError

    earlier = run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=100)
    with pytest.raises(CoreError) as err:
        run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=50, resume=earlier)
    assert str(err.value) == ("cannot resume: the earlier results were made with other settings "
                              "(--max-rows-per-class 100 there, 50 here)")  # fmt: skip
    assert "another --out folder" in err.value.hint
    other_data = (r"\(data folder .*v1-sample there, .*v2-sample here; train/ files 8 files of [\d,]+ bytes, the newest "
                  r"modified 20\d\d-[^;]+ there, \d+ files? of [\d,]+ bytes, the newest modified [^;]+ here; test/ files ")  # fmt: skip
    with pytest.raises(CoreError, match=other_data):
        run_benchmark(v2_sample, families=("lr",), tasks=(6,), max_rows_per_class=100, resume=earlier)
    with pytest.raises(CoreError, match="seed 0 there, 1 here; --refit True there, False here"):
        run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=100, seed=1, refit=False,
                      resume=earlier)  # fmt: skip
    unrecorded = type(earlier)([dataclasses.replace(earlier.scores[0], settings=None)])
    with pytest.raises(CoreError, match="do not record the settings they were made with"):
        run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=100, resume=unrecorded)


def test_resume_refuses_data_files_changed_in_place_to_the_same_size(v1_sample, tmp_path):
    """The same folder and the same bytes are not enough: a file rewritten since the earlier run (its modification
    time) means other rows, and the results of the two would be mixed."""
    import dataclasses
    import os
    import shutil

    from core.errors import CoreError

    data = tmp_path / "data"
    shutil.copytree(v1_sample, data)
    earlier = run_benchmark(data, families=("lr",), tasks=(6,), max_rows_per_class=50)
    kept = run_benchmark(data, families=("lr",), tasks=(6,), max_rows_per_class=50, resume=earlier)
    assert kept.scores[0] is earlier.scores[0], "unchanged files: the job is kept"
    changed = sorted((data / "test").glob("*.csv"))[0]
    text = changed.read_bytes()
    changed.write_bytes(text)  # the same bytes, written again
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    with pytest.raises(CoreError, match=r"test/ files 8 files of [\d,]+ bytes, the newest modified \S+ there, 8 files "
                       r"of [\d,]+ bytes, the newest modified \S+ here\)"):  # fmt: skip
        run_benchmark(data, families=("lr",), tasks=(6,), max_rows_per_class=50, resume=earlier)

    # results written before modification times were recorded are checked on what they record
    older = dataclasses.replace(earlier.scores[0], settings={
        k: {f: n for f, n in v.items() if f != "modified"} if k in ("train", "test") else v
        for k, v in earlier.scores[0].settings.items()})  # fmt: skip
    assert "modified" not in older.settings["test"] and "modified" in earlier.scores[0].settings["test"]
    kept = run_benchmark(data, families=("lr",), tasks=(6,), max_rows_per_class=50, resume=type(earlier)([older]))
    assert kept.scores[0] is older
    changed.write_bytes(text + b"1")
    with pytest.raises(CoreError, match=r"test/ files 8 files of ([\d,]+) bytes there, 8 files of (?!\1)[\d,]+ bytes "
                       "here"):  # fmt: skip
        run_benchmark(data, families=("lr",), tasks=(6,), max_rows_per_class=50, resume=type(earlier)([older]))


def test_an_unknown_family_or_parameter_stops_the_benchmark_before_reading_data(tmp_path):
    from core.errors import CoreError

    with pytest.raises(CoreError, match="unknown model family 'forest'"):
        run_benchmark(tmp_path / "nothing-here", families=("rf", "forest"))
    with pytest.raises(CoreError, match=r"unknown parameter \['trees'\] for rf"):
        run_benchmark(tmp_path / "nothing-here", families=("rf",), params={"rf": {"trees": 3}})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{", "not JSON"),
        ("[]", "non-empty list"),
        ("[1]", "entry 1 is not a model result: expected an object"),
        ('[{"name": "a", "report": {"task": 6}}]', "its report lacks labels, n_rows"),
    ],
)
def test_results_json_that_is_not_a_comparison_is_refused_with_the_file_and_entry(text, says):
    from core.compare import read_results
    from core.errors import DataError

    with pytest.raises(DataError) as err:
        read_results(text, "mine.json")
    assert says in str(err.value) and err.value.file == "mine.json" and "benchmark-models" in err.value.hint
