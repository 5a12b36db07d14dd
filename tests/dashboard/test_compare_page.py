"""Compare models page, driven by AppTest with real small models on the demo data."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.loading import load_split
from core.pipeline import TrainedModel
from tests.dashboard.test_analyze_page import charts
from tests.dashboard.test_models_page import values

PAGE = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "compare.py"
PAIR = ["test-rf-6class", "test-lr-6class"]


def compare_page(models: list[str], task: int = 6) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at.selectbox(key="compare_task").set_value(task).run()
    at.multiselect(key=f"compare_models_{task}").set_value(models).run()
    return at


@pytest.fixture(scope="module")
def core_reports(demo_models_dir, demo_dir):
    """Core's own evaluation of the pair on the demo test split (with and without train duplicates)."""
    test, train = load_split(demo_dir, "test"), load_split(demo_dir, "train")
    out = {}
    for name in PAIR:
        model = TrainedModel.load(demo_models_dir / name)
        out[name] = (model.evaluate(test), model.evaluate(test, exclude_rows_in=train))
    return out


def test_two_models_match_core_evaluation(registry_env, core_reports):
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("model")
    for name in PAIR:
        assert table.loc[name, "macro-F1"] == pytest.approx(core_reports[name][0].macro_f1, abs=1e-4)
    best = max(PAIR, key=lambda n: core_reports[n][0].macro_f1)
    assert f"**{best}**" in at.success[0].value
    figs = charts(at)
    assert {"compare_bars", "compare_heatmap", "compare_cm_0", "compare_cm_1", "compare_speed"} <= set(figs)
    assert any(c.value.startswith("Scoring speed: rows of this data") for c in at.caption), "how speed was measured"
    heat = values(figs["compare_heatmap"]["data"][0]["z"])
    assert heat.shape == (2, 6)  # models x classes
    assert heat[0] == pytest.approx(
        [core_reports[PAIR[0]][0].per_class[c]["f1"] for c in figs["compare_heatmap"]["data"][0]["x"]]
    )
    for i, name in enumerate(PAIR):
        report = core_reports[name][0]
        true_rows = [row for row, c in zip(report.confusion_matrix, report.labels) if report.per_class[c]["support"]]
        assert values(figs[f"compare_cm_{i}"]["data"][0]["z"]).tolist() == true_rows


def test_normalize_toggle_keeps_scores(registry_env):
    at = compare_page(PAIR)
    at.toggle(key="compare_normalize").set_value(True).run()
    assert not at.exception
    z = values(charts(at)["compare_cm_0"]["data"][0]["z"])
    assert z.sum(axis=1) == pytest.approx(100.0)  # percentages of each true class


def test_leave_out_train_duplicates_says_how_many(registry_env, core_reports):
    at = compare_page(PAIR)
    at.checkbox(key="compare_dedup").check().run()
    assert not at.exception, at.exception
    removed = core_reports[PAIR[0]][1].duplicates_removed
    said = f"{removed:,} of" if removed else "No test row also occurs in train: none was left out, all"
    assert any(said in i.value for i in at.info), (removed, [i.value for i in at.info])
    table = at.dataframe[0].value.set_index("model")
    for name in PAIR:
        assert table.loc[name, "macro-F1"] == pytest.approx(core_reports[name][1].macro_f1, abs=1e-4)
    # Uploads have no train/: the box is unticked and greyed there (it stayed ticked), and kept for the folder.
    at.radio(key="compare_source").set_value("Uploaded CSV files").run()
    box = at.checkbox(key="compare_dedup_uploads")
    assert box.value is False and box.disabled
    at.radio(key="compare_source").set_value("Test split of a data folder").run()
    assert at.checkbox(key="compare_dedup").value is True


def test_leaving_out_train_duplicates_when_there_are_none_says_so(registry_env, demo_dir, tmp_path, monkeypatch):
    """It said "0 of 1,900 test rows also occur in train and were left out"."""
    import shutil

    import pandas as pd

    shutil.copytree(demo_dir / "test", tmp_path / "test")
    (tmp_path / "train").mkdir()
    test_rows = pd.concat([pd.read_csv(f, dtype="float64") for f in (demo_dir / "test").glob("*.csv")])
    for f in (demo_dir / "train").glob("*.csv"):  # the train files less their rows also in test
        rows = pd.read_csv(f, dtype="float64")
        rows[~rows.merge(test_rows.drop_duplicates(), how="left", indicator=True)["_merge"].eq("both")].to_csv(
            tmp_path / "train" / f.name, index=False
        )
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(tmp_path))
    at = compare_page(PAIR)
    at.checkbox(key="compare_dedup").check().run()
    assert not at.exception, at.exception
    (said,) = [i.value for i in at.info if "also occurs in train" in i.value or "also occur in train" in i.value]
    assert said == f"No test row also occurs in train: none was left out, all {len(test_rows):,} rows scored."


def test_models_of_the_other_release_are_left_out_with_a_word(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """Each used to fail on its own with a layout error among the scores."""
    import shutil

    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    models = tmp_path / "models"
    for name in PAIR:
        shutil.copytree(demo_models_dir / name, models / name)
    write_demo_dataset(tmp_path / "v1", layout="v1", rows_per_class=30, seed=1)
    train_from_folder("rf", 6, str(tmp_path / "v1"), params={"n_estimators": 5}, models_dir=str(models), name="v1-rf")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = compare_page([*PAIR, "v1-rf"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(i.value.startswith("Left out: v1-rf, trained on the other release; these rows are of the v2")
               for i in at.info), [i.value for i in at.info]  # fmt: skip
    assert sorted(at.dataframe[0].value["model"]) == sorted(PAIR)


def test_one_model_left_of_the_datas_release_is_not_declared_the_best(demo_models_dir, demo_dir, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    """Two models chosen, one of the other release: the one left used to be said to 'detect best'."""
    import shutil

    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    models = tmp_path / "models"
    shutil.copytree(demo_models_dir / PAIR[0], models / PAIR[0])
    write_demo_dataset(tmp_path / "v1", layout="v1", rows_per_class=30, seed=1)
    train_from_folder("rf", 6, str(tmp_path / "v1"), params={"n_estimators": 5}, models_dir=str(models), name="v1-rf")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = compare_page([PAIR[0], "v1-rf"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Comparing needs at least two v2 models" in i.value and f"Only **{PAIR[0]}**" in i.value
               for i in at.info), [i.value for i in at.info]  # fmt: skip
    assert not at.dataframe and not any("detects best" in m.value for m in at.markdown)


def test_a_model_deleted_in_another_session_is_said_to_have_left_the_comparison(registry_env, tmp_path,
                                                                                monkeypatch):  # fmt: skip
    """It used to drop out of the selection without a word, and another model was then 'best'."""
    import shutil

    models = tmp_path / "models"
    for name in [*PAIR, "test-paper-cnn-6class"]:
        shutil.copytree(registry_env / name, models / name)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    at = compare_page([*PAIR, "test-paper-cnn-6class"])
    assert len(at.dataframe[0].value) == 3
    shutil.rmtree(models / "test-paper-cnn-6class")  # another session deletes it
    at.run()
    assert not at.exception
    assert any("No longer saved, so left out of the comparison: test-paper-cnn-6class" in w.value for w in at.warning)
    assert sorted(at.dataframe[0].value["model"]) == sorted(PAIR)


def test_folder_without_splits_gives_clear_error(registry_env, tmp_path, monkeypatch):
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))  # typed folders are confined to these roots
    at = compare_page(PAIR)
    at.text_input(key="compare_folder").input(str(tmp_path)).run()
    assert not at.exception
    assert any("test/" in e.value and "What to do" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_switching_task_selects_all_models_of_that_task(registry_env):
    at = compare_page(PAIR)
    at.selectbox(key="compare_task").set_value(19).run()
    assert not at.exception
    chosen = at.multiselect(key="compare_models_19").value
    assert {"test-lr-19class", "test-paper-cnn-19class", "test-rf-19class"} <= set(chosen)
    assert len(at.dataframe[0].value) == len(chosen)


def test_fewer_than_two_models_explains(registry_env):
    at = compare_page(["test-rf-6class"])
    assert not at.exception
    assert any("at least two" in i.value for i in at.info)


def start_benchmark(cap: int, epochs: int, families: list[str] | None = None) -> tuple[AppTest, object]:
    """The Compare page with "Run the comparison" clicked: the page and the comparison's job."""
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    if families is not None:
        at.multiselect(key="compare_bench_families").set_value(families)
    at.number_input(key="compare_bench_cap").set_value(cap)
    at.number_input(key="compare_bench_epochs").set_value(epochs)
    at.button(key="compare_bench_run").click().run()
    return at, at.session_state["compare_bench_job"]


def test_saving_a_comparisons_models_never_replaces_saved_models_unasked(demo_models_dir, demo_dir, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    """Ticking 'Save the models' replaced the registry's models of the names a comparison saves under (one trained
    for hours on real data, by a quick demo run) without a word, and the saves were not in the audit log."""
    import shutil

    from core import audit

    registry = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-2class", registry / "bench-lr-2class-v2")  # someone else's model
    before = (registry / "bench-lr-2class-v2" / "metadata.json").read_text()
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at.multiselect(key="compare_bench_families").set_value(["lr"])
    at.number_input(key="compare_bench_cap").set_value(20)
    at.checkbox(key="compare_bench_save").check().run()
    assert any("already holds models of the names this comparison saves its models under: bench-lr-2class-v2"
               in w.value for w in at.warning), [w.value for w in at.warning]  # fmt: skip
    assert at.button(key="compare_bench_run").disabled
    at.checkbox(key="compare_bench_replace").check().run()
    at.button(key="compare_bench_run").click().run()
    job = at.session_state["compare_bench_job"]
    assert job.wait(240) and job.state == "done", job.error
    replaced = json.loads((registry / "bench-lr-2class-v2" / "metadata.json").read_text())
    assert replaced["family"] == "lr" and (registry / "bench-lr-2class-v2" / "metadata.json").read_text() != before
    (event,) = [e for e in audit.read_events(tmp_path / "audit") if e["action"] == "trained"]
    assert event["model"] == "bench-lr-19class-v2, bench-lr-2class-v2, bench-lr-6class-v2"
    assert event["details"]["outcome"] == "done"


def test_paper_benchmark_runs_quickly(registry_env):
    at, job = start_benchmark(cap=20, epochs=1)
    assert job.wait(240), "the comparison did not finish in time"
    assert job.worker_pid not in (None, os.getpid())  # it ran in a worker process
    at.run()
    assert not at.exception, at.exception
    assert job.state == "done", job.error
    assert any("Done in" in s.value for s in at.success)
    result = at.session_state["compare_bench_result"]
    assert not result["results"].failures
    assert sorted({(s.family, s.task) for s in result["results"].scores}) == sorted(
        (f, t) for f in ("paper-cnn", "lr", "adaboost", "dnn", "rf") for t in (2, 6, 19)
    )
    assert {f"compare_bench_bars_{t}" for t in (2, 6, 19)} <= set(charts(at))
    assert {b.key for b in at.get("download_button")} >= {"compare_bench_md", "compare_bench_json"}


def test_comparison_of_chosen_families_trains_only_them_and_gives_the_epochs_to_the_networks(registry_env):
    """Our cnn and gbt instead of the paper's five: only they are trained; the epochs chosen go to the cnn alone."""
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    assert at.multiselect(key="compare_bench_families").value == ["paper-cnn", "lr", "adaboost", "dnn", "rf"]
    assert at.multiselect(key="compare_bench_families").format_func("cnn-rf") == "Improved CNN + random forest"
    at, job = start_benchmark(cap=20, epochs=2, families=["cnn", "gbt"])
    assert job.kwargs["families"] == ("cnn", "gbt") and job.kwargs["params"] == {"cnn": {"epochs": 2}}
    assert job.wait(240), "the comparison did not finish in time"
    at.run()
    assert not at.exception, at.exception
    assert job.state == "done", job.error
    results = at.session_state["compare_bench_result"]["results"]
    assert sorted((s.family, s.task) for s in results.scores) == sorted(
        (f, t) for f in ("cnn", "gbt") for t in (2, 6, 19)
    )
    assert at.session_state["compare_bench_result"]["title"].startswith("Improved CNN, Gradient-boosted trees on ")


def test_a_cancelled_comparison_shows_the_jobs_it_had_finished(registry_env):
    """lr finishes in seconds, then the paper's CNN trains for 100 epochs: cancelled then, the page shows lr's
    results for the 2-class task, titled as what was finished, and says so."""
    at, job = start_benchmark(cap=0, epochs=100, families=["lr", "paper-cnn"])
    deadline = time.monotonic() + 180
    while job.running and job.partial is None:
        assert time.monotonic() < deadline, job.message
        time.sleep(0.2)
    assert job.running, job.error
    assert [(s.family, s.task) for s in job.partial.scores] == [("lr", 2)]
    job.cancel()
    assert job.wait(30)
    at.run()
    assert not at.exception, at.exception
    assert job.state == "cancelled"
    assert any("The jobs it had finished are shown below; *Continue this comparison* runs the others." in i.value
               for i in at.info)  # fmt: skip
    assert any(
        i.value == "The 6-class and 19-class tasks had not been run when the comparison stopped." for i in at.info
    )
    assert not any("Skipped" in i.value for i in at.info), "not run is not skipped for want of classes"
    result = at.session_state["compare_bench_result"]
    assert result["title"].endswith(": the 1 job finished before it stopped")
    assert [(s.family, s.task) for s in result["results"].scores] == [("lr", 2)]
    assert "compare_bench_bars_2" in charts(at) and "compare_bench_bars_6" not in charts(at)


def test_a_stopped_comparison_continues_with_its_own_settings_keeping_what_it_had_finished(registry_env):
    """Cancelled once lr's 2-class job is done, then continued: the new run keeps that job (not trained again),
    runs the five others with the first run's settings (not the inputs changed since), and shows all six."""
    at, job = start_benchmark(cap=20, epochs=4, families=["lr", "paper-cnn"])
    deadline = time.monotonic() + 180
    while job.running and job.partial is None:
        assert time.monotonic() < deadline, job.message
        time.sleep(0.2)
    job.cancel()
    assert job.wait(30) and job.state == "cancelled", job.error
    at.run()
    assert [(s.family, s.task) for s in job.partial.scores] == [("lr", 2)]
    assert not at.button(key="compare_bench_continue").disabled
    at.number_input(key="compare_bench_cap").set_value(5)
    at.button(key="compare_bench_continue").click().run()
    assert not at.exception, at.exception
    again = at.session_state["compare_bench_job"]
    assert again is not job and again.kwargs["resume"] is job.partial and again.kwargs["max_rows_per_class"] == 20
    assert again.wait(300), "the continued comparison did not finish in time"
    at.run()
    assert not at.exception, at.exception
    assert again.state == "done", again.error
    result = at.session_state["compare_bench_result"]
    assert "job" not in result and "compare_bench_continue" not in [b.key for b in at.button]
    scores = result["results"].scores
    assert sorted((s.family, s.task) for s in scores) == sorted((f, t) for f in ("lr", "paper-cnn") for t in (2, 6, 19))
    (lr2,) = [s for s in scores if (s.family, s.task) == ("lr", 2)]
    assert lr2.to_dict() == job.partial.scores[0].to_dict(), "kept as the first run scored it"
    assert all(s.settings["max_rows_per_class"] == 20 for s in scores)
    assert {f"compare_bench_bars_{t}" for t in (2, 6, 19)} <= set(charts(at))


def test_a_comparison_with_a_failed_job_ends_with_a_warning_and_shows_the_rest(registry_env, v1_sample):
    """In the worker process adaboost fails (no estimators: scikit-learn refuses); the run still ends, the page
    warns that a job failed, shows the failure with what to do, and the other family's scores."""
    from dashboard.train_jobs import BenchmarkJob

    job = BenchmarkJob(v1_sample, "v1 sample", families=("lr", "adaboost"), tasks=(6,), max_rows_per_class=50,
                       params={"adaboost": {"n_estimators": 0}}).start()  # fmt: skip
    assert job.wait(240), "the comparison did not finish in time"
    assert job.state == "done", job.error
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_job"] = job
    at.run()
    assert not at.exception, at.exception
    assert any(w.value.startswith("Done in ") and "but 1 of the jobs failed" in w.value for w in at.warning)
    assert not any("Done in" in s.value for s in at.success)
    (error,) = [e.value for e in at.error]
    assert (
        error.startswith("**adaboost failed:** InvalidParameterError: ")
        and "**What to do:** check the settings" in error
    )
    assert list(at.dataframe[-1].value["family"]) == ["lr"] and "compare_bench_bars_6" in charts(at)


def test_paper_benchmark_can_be_cancelled_and_saves_nothing_more(registry_env):
    """Cancel during the comparison: the worker stops at once, no results are shown, the page stays usable."""
    at, job = start_benchmark(cap=0, epochs=100)
    deadline = time.monotonic() + 120
    while job.running and job.fraction == 0.0:  # wait until it is training
        assert time.monotonic() < deadline, job.message
        time.sleep(0.2)
    assert job.running, job.error
    at.run()
    assert at.number_input(key="compare_bench_cap").disabled  # no second run while one is going
    at.button(key="compare_bench_cancel").click().run()
    assert job.wait(30)
    at.run()
    assert not at.exception, at.exception
    assert job.state == "cancelled"
    assert any("cancelled" in i.value for i in at.info)
    assert "compare_bench_result" not in at.session_state
    assert not at.number_input(key="compare_bench_cap").disabled


def test_comparison_results_say_which_test_rows_training_labels_otherwise(registry_env, v2_sample):
    """Real scores on the v2 sample (one family, capped rows) shown by the page: the data note under the 19-class
    tab names the test rows whose vector occurs in training only under other classes."""
    from core.compare import run_benchmark

    results = run_benchmark(v2_sample, families=("lr",), tasks=(2, 19), max_rows_per_class=200)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_result"] = {"title": "v2 sample", "results": results}
    at.run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    conflicts = [c for c in captions if "only under other classes" in c]
    assert len(conflicts) == 1 and "Recon-Port\\_Scan" in conflicts[0], captions  # escaped for Markdown
    # the 2-class task: copies of training rows, none of them labelled otherwise
    assert any(c.endswith("also occur in the training rows.") for c in captions), captions


def test_a_diverged_fit_in_the_results_is_shown_as_a_warning(registry_env, diverged_gbt):
    from core.evaluation import WARNING
    from dashboard.escape import md

    results, _ = diverged_gbt
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_result"] = {"title": "v1 sample", "results": results}
    at.run()
    assert not at.exception, at.exception
    warned = [n.removeprefix(WARNING) for n in results.scores[0].report.notes if n.startswith(WARNING)]
    assert len(warned) == 2 and [w.value for w in at.warning] == [md(w) for w in warned]
    captions = [c.value for c in at.caption]
    assert not any("diverged" in c for c in captions) and any(c.startswith("gbt: early stopping") for c in captions)


def test_jobs_that_failed_are_shown_in_their_tasks_with_what_to_do(registry_env, v1_sample, monkeypatch):
    """A comparison in which the forest's memory check failed (a machine with 10 kB free): each task's tab says so
    with the hint, beside the scores of the family that ran; the same from its results.json, uploaded."""
    import core.models
    from core.compare import run_benchmark

    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)
    results = run_benchmark(v1_sample, families=("rf", "lr"), tasks=(6, 19), params={"rf": {"n_estimators": 20}},
                            max_rows_per_class=100)  # fmt: skip
    assert len(results.failures) == 2 and len(results.scores) == 2
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_result"] = {"title": "v1 sample", "results": results}
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 2 and all(e.startswith("**rf failed:** a random forest of 20 trees") for e in errors)
    assert all("**What to do:** make the trees smaller" in e for e in errors)
    assert {"compare_bench_bars_6", "compare_bench_bars_19"} <= set(charts(at)), "lr's scores still shown"
    assert [list(d.value["family"]) for d in at.dataframe][-2:] == [["lr"], ["lr"]], "after the saved models"

    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at.file_uploader(key="compare_saved_upload").set_value(("results.json", results.to_json().encode(),
                                                           "application/json")).run()  # fmt: skip
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == errors


def test_saved_results_json_is_shown_and_a_wrong_file_is_explained(registry_env, v1_sample):
    """A results.json from benchmark-models, uploaded: its tasks' tables and charts; a wrong file: the problem."""
    from core.compare import run_benchmark

    scores = run_benchmark(v1_sample, families=("lr", "rf"), tasks=(6,), params={"rf": {"n_estimators": 10}},
                           max_rows_per_class=100).scores  # fmt: skip
    payload = json.dumps([s.to_dict() for s in scores]).encode()  # as written before failures were recorded
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at.file_uploader(key="compare_saved_upload").set_value(("results.json", payload, "application/json")).run()
    assert not at.exception, at.exception
    assert "compare_saved_bars_6" in charts(at) and "compare_saved_heatmap_6" in charts(at)
    table = next(d.value for d in at.dataframe if list(d.value["family"]) == ["lr", "rf"])
    assert list(table["macro-F1"]) == [round(s.report.macro_f1, 4) for s in scores]
    assert any("no results for the 2-class and 19-class tasks" in i.value for i in at.info)
    assert not at.error
    at.file_uploader(key="compare_saved_upload").set_value(("notes.json", b'{"a": 1}', "application/json")).run()
    assert not at.exception
    assert any("notes.json" in e.value and "non-empty list" in e.value and "What to do" in e.value for e in at.error)
    assert "compare_saved_bars_6" not in charts(at)


def test_a_saved_alarm_threshold_missing_classes_and_one_cause_of_failure_are_each_said_once(
    demo_models_dir, demo_dir, tmp_path, monkeypatch
):
    """A 2-class model at its saved threshold was ranked against others at 0.5 without a word (page and report);
    benign rows alone were ranked as 'detects best' with no word that attacks were absent; an unlabelled upload
    gave the same error once per model; the audit named models left out as compared."""
    import shutil

    from core import threshold as th
    from core.demo import write_demo_dataset
    from core.training import train_from_folder
    from dashboard.escape import md

    models = tmp_path / "models"
    for name in ("test-rf-2class", "test-lr-2class"):
        shutil.copytree(demo_models_dir / name, models / name)
    th.save_threshold(models / "test-rf-2class", 0.8, chosen_on="ward 3")
    write_demo_dataset(tmp_path / "v1", layout="v1", rows_per_class=30, seed=1)
    train_from_folder("lr", 2, str(tmp_path / "v1"), params={"max_iter": 20}, models_dir=str(models), name="v1-lr")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    at = compare_page(["test-rf-2class", "test-lr-2class", "v1-lr"], task=2)
    assert not at.exception and not at.error, [e.value for e in at.error]
    note = [i.value for i in at.info if "alarm threshold" in i.value]
    assert note == ["**test-rf-2class** was " + md("scored with the alarm threshold 0.80 saved with the model (the "
                    "default is 0.50), chosen on ward 3: a threshold chosen on the rows scored here flatters the score")
                    + "."]  # fmt: skip
    events = [json.loads(x) for f in (tmp_path / "audit").glob("*.jsonl") for x in f.read_text().splitlines()]
    compared = [e for e in events if e["action"] == "evaluated"]
    assert [e["details"]["compared"] for e in compared] == [2] and "v1-lr" not in compared[0]["model"]

    at.radio(key="compare_source").set_value("Uploaded CSV files").run()
    benign = (demo_dir / "test" / "Benign_test.pcap.csv").read_bytes()
    at.file_uploader(key="compare_uploads").set_value([("Benign_test.pcap.csv", benign, "text/csv")]).run()
    assert not at.exception
    said = [i.value for i in at.info]
    assert any("1 of the task's 2 classes has no rows in this data" in s for s in said), said
    at.file_uploader(key="compare_uploads").set_value([("capture.csv", benign, "text/csv")]).run()
    assert not at.exception
    assert [e.value for e in at.error if "no labels" in e.value] and len(at.error) == 1, [e.value for e in at.error]
