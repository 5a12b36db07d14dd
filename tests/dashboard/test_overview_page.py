"""Overview page (the app's default page), driven by AppTest through the router."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.loading import read_csv
from core.pipeline import list_models
from core.taxonomy import TASK_DESCRIPTIONS, TASKS

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
#: The pages the Overview links under "Where to go next", in order.
NEXT_PAGES = ["analyze", "compare", "train", "models", "batch", "audit"]


def charts(at: AppTest) -> dict[str, dict]:
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    return {user_key_from_element_id(c.proto.id): json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def overview() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_tasks_models_and_scores(registry_env):
    at = overview()
    text = " ".join(m.value for m in at.markdown)
    for task in TASKS:
        assert TASK_DESCRIPTIONS[task].split(": ", 1)[-1] in text
    assert "2,000 times" in " ".join(c.value for c in at.caption)
    models = {m["name"]: m for m in list_models(registry_env)}
    tables = [d.value for d in at.dataframe if "macro-F1" in d.value.columns]
    shown = {row["name"]: row for t in tables for row in t.to_dict("records")}
    assert set(shown) == set(models)
    for name, meta in models.items():
        assert shown[name]["macro-F1"] == pytest.approx(meta["metrics"]["test"]["macro_f1"])
        assert shown[name]["weighted-F1"] == pytest.approx(meta["metrics"]["test"]["weighted_f1"])
    figs = charts(at)
    for task in TASKS:
        fig = figs[f"overview_scores_{task}"]
        names = [n for n, m in models.items() if int(m["task"]) == task]
        assert sorted(fig["data"][0]["y"]) == sorted(names)
        assert fig["data"][0]["name"] == "macro-F1"
    # Best model of each task listed first.
    for table in tables:
        assert list(table["macro-F1"]) == sorted(table["macro-F1"], reverse=True)
    assert "synthetic" in " ".join(c.value for c in at.caption)
    assert [link.proto.page for link in at.get("page_link")] == NEXT_PAGES


def test_demo_csv_download(registry_env):
    at = overview()
    assert at.download_button(key="overview_demo_csv").label == "Download the demo CSV"
    from dashboard.loaders import DEMO_TRAFFIC_NAME, demo_traffic_csv

    data = read_csv(io.BytesIO(demo_traffic_csv()), name=DEMO_TRAFFIC_NAME)
    assert len(data) == 2800 and data.layout.name == "v2" and data.files[0].label_source == "column 'label'"
    assert "synthetic" in " ".join(m.value for m in at.markdown)


def test_no_models_says_how_to_create_them(tmp_path, monkeypatch, demo_dir):
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = overview()
    message = at.info[0].value
    assert "No model is saved yet" in message and "setup-demo" in message and "Train" in message
    assert not [k for k in charts(at) if k.startswith("overview_scores")]


def test_damaged_model_folder_is_reported(tmp_path, monkeypatch, demo_dir):
    broken = tmp_path / "models" / "half-written"
    broken.mkdir(parents=True)
    (broken / "metadata.json").write_text("{not json")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = overview()
    assert any("half-written" in w.value for w in at.warning)


def test_a_validation_score_never_outranks_a_test_score(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """A model saved without a test split shows its validation score, marked, after the test-scored models,
    however high that score is (in the Overview's table and chart, and in the Analyze page's model list)."""
    from dashboard.components import model_label, ranking_key

    six = _six_with_metrics(demo_models_dir, tmp_path, lambda m: {
        "validation": dict(m["test"], macro_f1=0.999, weighted_f1=0.999), "test": None})  # fmt: skip
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = overview()
    table = next(d.value for d in at.dataframe if "macro-F1" in d.value.columns)
    assert table["name"].iloc[-1] == six[0].name and table["scored on"].iloc[-1] == "validation"
    assert list(table["scored on"].iloc[:-1]) == ["test"] * (len(six) - 1)
    assert charts(at)["overview_scores_6"]["data"][0]["y"][-1] == f"{six[0].name} (validation)"
    assert "not comparable" in " ".join(c.value for c in at.caption)
    ranked = sorted(list_models(tmp_path), key=ranking_key)
    assert ranked[-1]["name"] == six[0].name and model_label(ranked[-1]).endswith("macro-F1 0.999 (validation)")


def test_models_scored_on_other_rows_do_not_rank_against_each_other(demo_models_dir, demo_dir, tmp_path, monkeypatch):
    """A model scored on two easy test files outranked the models scored on all 19 files, in the Overview's and the
    Models page's tables alike. Each set of test rows now gets a letter, and the models rank within it."""
    import shutil

    from core.pipeline import read_metadata
    from core.training import train_from_folder

    registry = tmp_path / "models"
    six = sorted(p for p in demo_models_dir.iterdir() if p.name.endswith("-6class"))
    for p in six:
        shutil.copytree(p, registry / p.name)
    easy = tmp_path / "easy"
    (easy / "test").mkdir(parents=True)
    (easy / "train").symlink_to(demo_dir / "train")
    for name in ("Benign_test.pcap.csv", "TCP_IP-DDoS-SYN_test.pcap.csv"):
        (easy / "test" / name).symlink_to(demo_dir / "test" / name)
    train_from_folder("rf", 6, str(easy), params={"n_estimators": 20}, models_dir=str(registry), name="easy-rf")
    easy_score = read_metadata(registry / "easy-rf")["metrics"]["test"]["macro_f1"]
    others = [read_metadata(p)["metrics"]["test"]["macro_f1"] for p in six]
    assert easy_score > max(others), "the premise: the easy rows flatter the model"
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = overview()
    table = next(d.value for d in at.dataframe if "macro-F1" in d.value.columns)
    by_set = table.groupby("test set")["name"].apply(list).to_dict()
    assert by_set == {"A": ["easy-rf"], "B": list(table["name"].iloc[1:])} and len(by_set["B"]) == len(six)
    assert list(table["macro-F1"].iloc[1:]) == sorted(others, reverse=True), "ranked within their own set"
    caption = " ".join(c.value for c in at.caption)
    assert "scored on 2 different sets of test rows" in caption and "Compare their scores only within one" in caption
    assert charts(at)["overview_scores_6"]["data"][0]["y"][0] == "easy-rf (test set A)"
    models_page = AppTest.from_file(str(APP.parent / "views" / "models.py"), default_timeout=60).run()
    assert not models_page.exception
    listed = models_page.dataframe[0].value
    assert list(listed["test set"]) == list(table["test set"]) and "2 different sets" in " ".join(
        c.value for c in models_page.caption
    )


def test_a_model_scored_at_a_coarser_task_says_so_wherever_its_score_is_shown(demo_models_dir, demo_dir, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    """A 6-class model whose test labels said only 'Attack' is scored at 2 classes (core.pipeline.evaluate): its
    stored score is a 2-class macro-F1, and the tables, chart and model list say so beside it."""
    from dashboard.components import model_label

    six = _six_with_metrics(demo_models_dir, tmp_path, lambda m: {"test": dict(m["test"], task=2, macro_f1=0.97)})
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = overview()
    table = next(d.value for d in at.dataframe if "macro-F1" in d.value.columns)
    shown = dict(zip(table["name"], table["scored on"]))
    assert shown.pop(six[0].name) == "test at 2 classes" and set(shown.values()) == {"test"}
    assert f"{six[0].name} (test at 2 classes)" in charts(at)["overview_scores_6"]["data"][0]["y"]
    label = model_label(next(m for m in list_models(tmp_path) if m["name"] == six[0].name))
    assert label.endswith("macro-F1 0.970 (at 2 classes)")


def _six_with_metrics(demo_models_dir, tmp_path, change):
    """The demo registry's 6-class models copied into ``tmp_path``, the first with its stored metrics updated by
    ``change(metrics)`` (a dict of the splits to replace); returns the original model folders, sorted."""
    import shutil

    six = sorted(p for p in demo_models_dir.iterdir() if p.name.endswith("-6class"))
    for p in six:
        shutil.copytree(p, tmp_path / p.name)
    meta_file = tmp_path / six[0].name / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta["metrics"].update(change(meta["metrics"]))
    meta_file.write_text(json.dumps(meta))
    return six
