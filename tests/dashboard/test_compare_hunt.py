"""Bugs found by a hunt on the Compare page, driven by AppTest with real small models and real benchmark results."""

from __future__ import annotations

import json
import shutil

from streamlit.testing.v1 import AppTest

from core.taxonomy import CATEGORY
from tests.dashboard.test_compare_page import PAGE, PAIR, compare_page


def test_a_model_that_cannot_be_scored_leaves_no_lone_model_declared_the_best(registry_env, tmp_path, monkeypatch):
    """Two models chosen, one whose weights file is damaged: the page said why it was not scored, then declared the
    other 'detects best' (a comparison of one) and offered a report titled 'Comparison of 1 6-class models'."""
    models = tmp_path / "models"
    for name in PAIR:
        shutil.copytree(registry_env / name, models / name)
    weights = next(p for p in (models / PAIR[1]).iterdir() if p.name != "metadata.json")
    weights.write_bytes(weights.read_bytes()[:100])  # cut short, as by a full disk
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    assert any(PAIR[1] in e.value and "damaged" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("detects best" in s.value for s in at.success), [s.value for s in at.success]
    assert any("at least two" in i.value and PAIR[0] in i.value for i in at.info), [i.value for i in at.info]
    assert "compare_report_html" not in [b.key for b in at.get("download_button")]


def test_benchmark_results_say_when_the_macro_averages_are_over_fewer_classes(registry_env, v1_sample):
    """The v1 sample's test rows hold 3 of the 6 families: results.md says its macro averages are over those, the
    page's table of the same results said nothing, next to a macro-F1 that reads as a 6-class one."""
    from core.compare import run_benchmark

    results = run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=50)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_result"] = {"title": "v1 sample", "results": results}
    at.run()
    assert not at.exception, at.exception
    said = [i.value for i in at.info if "left out of the averages" in i.value]
    assert said == ["3 of the task's 6 classes have no rows in this data, so they could not be scored and are left "
                    "out of the averages: Benign, DDoS, DoS."], [i.value for i in at.info]  # fmt: skip


def test_a_task_skipped_for_coarse_labels_is_said_so_not_that_it_lacks_classes(registry_env, demo_dir, tmp_path):
    """Data labelled by family: the 19-class task is skipped as its labels say less than its classes; the page said
    'the training data holds only one of their classes (e.g. no Benign rows)'."""
    from core.compare import run_benchmark
    from tests.core.test_coarse_labels import _official_layout

    folder = _official_layout(demo_dir, tmp_path / "data", lambda c: CATEGORY[c])
    results = run_benchmark(folder, families=("lr",), tasks=(6, 19))
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["compare_bench_result"] = {"title": "family labels", "results": results}
    at.run()
    assert not at.exception, at.exception
    infos = [i.value for i in at.info]
    assert not any("only one of their classes" in i for i in infos), infos
    assert any("19-class task" in i and "say less than its classes" in i for i in infos), infos


def test_a_damaged_results_json_is_explained_not_a_traceback(registry_env, v1_sample):
    """A results.json whose per-class scores lack 'f1' (edited by hand) broke the page with KeyError: 'f1'."""
    from core.compare import run_benchmark

    (score,) = run_benchmark(v1_sample, families=("lr",), tasks=(6,), max_rows_per_class=50).scores
    entry = score.to_dict()
    del entry["report"]["per_class"]["Recon"]["f1"]
    at = AppTest.from_file(str(PAGE), default_timeout=60).run()
    at.file_uploader(key="compare_saved_upload").set_value(("results.json", json.dumps([entry]).encode(),
                                                           "application/json")).run()  # fmt: skip
    assert not at.exception, at.exception
    assert any("results.json" in e.value and "entry 1" in e.value and "What to do" in e.value for e in at.error), [
        e.value for e in at.error
    ]


def test_leaving_out_train_duplicates_follows_a_change_to_train(registry_env, demo_dir, tmp_path, monkeypatch):
    """Scores were cached by whether duplicates were left out, not by which train files they were looked up in: after
    a train file was added (or changed), the page went on showing the count and scores of the train/ it first saw."""
    import pandas as pd

    from core.loading import load_split
    from core.pipeline import TrainedModel

    data = tmp_path / "data"
    shutil.copytree(demo_dir, data)
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(data))
    at = compare_page(PAIR)
    at.checkbox(key="compare_dedup").check().run()
    assert not at.exception, at.exception
    before = [i.value for i in at.info if "in train" in i.value]
    n_test = sum(len(pd.read_csv(f)) for f in (data / "test").glob("*.csv"))
    benign = pd.read_csv(data / "test" / "Benign_test.pcap.csv")
    benign.to_csv(data / "train" / "Benign_train.pcap.csv", mode="a", header=False, index=False)  # now in train too
    at.run()
    assert not at.exception, at.exception
    want = TrainedModel.load(registry_env / PAIR[0]).evaluate(load_split(data, "test"),
                                                              exclude_rows_in=load_split(data, "train"))  # fmt: skip
    (said,) = [i.value for i in at.info if "in train" in i.value]
    assert said.startswith(f"{want.duplicates_removed:,} of {n_test:,} test rows"), (said, before)
    assert want.duplicates_removed >= len(benign.drop_duplicates())
    table = at.dataframe[0].value.set_index("model")
    assert abs(table.loc[PAIR[0], "macro-F1"] - want.macro_f1) < 1e-4


def test_report_downloads_that_the_audit_log_cannot_record_are_said(registry_env, tmp_path, monkeypatch):
    """The comparison report is built, and its export recorded, when its button is clicked, where no warning can be
    shown: with an unwritable log the download went unrecorded without a word next to it."""
    (tmp_path / "blocker").write_text("a file where the audit folder should be")
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "blocker" / "audit"))
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    assert "compare_report_html" in [b.key for b in at.get("download_button")]
    said = [c.value for c in at.caption if "Downloads on this page are not recorded in the audit log" in c.value]
    assert len(said) == 1 and "blocker" in said[0], [c.value for c in at.caption]


def test_a_rerun_does_not_hash_every_file_of_the_data_folder_again(registry_env, demo_dir, tmp_path, monkeypatch):
    """The comparison's audit event names each file of the data folder with its SHA-256, and is written once per
    session; but every rerun (any widget moved) read and hashed every file again, only for the event to be dropped:
    on the full test split, some 1.6 GB a rerun."""
    from core import audit

    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    hashed: list[str] = []
    real = audit.sha256_of
    monkeypatch.setattr(audit, "sha256_of", lambda source: hashed.append(str(source)) or real(source))
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    files = sorted(str(p) for p in (demo_dir / "test").glob("*.csv"))
    events = [e for e in audit.read_events(tmp_path / "audit") if e["action"] == "evaluated"]
    # Each comparison recorded (the models first offered, then PAIR), each with every file hashed once.
    assert events and all(sorted(f["name"] for f in e["files"]) == files for e in events), events
    assert sorted(hashed) == sorted(files * len(events))
    before = len(hashed)
    at.run()
    at.run()
    assert not at.exception, at.exception
    assert len(hashed) == before, "a rerun hashed the data folder again"
    assert len([e for e in audit.read_events(tmp_path / "audit") if e["action"] == "evaluated"]) == len(events)
