"""The Analyze page on labels naming only an attack family ('DDoS'): its mistakes filter and its class profiles
(AppTest, a small real forest)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.loading import read_files
from core.pipeline import TrainedModel
from core.taxonomy import CATEGORY, CLASSES_6, class_from_filename
from tests.dashboard.test_analyze_page import analyze_page, choose, no_exception, table_with, upload


@pytest.fixture(scope="module")
def coarse(tmp_path_factory):
    """A registry with a 19-class forest of 5 trees, and the small demo's test files with family labels."""
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    root = tmp_path_factory.mktemp("coarse-pages")
    write_demo_dataset(root / "data", layout="v2", rows_per_class=30, seed=0)
    train_from_folder("rf", 19, str(root / "data"), params={"n_estimators": 5}, models_dir=str(root / "models"),
                      name="rf-19")  # fmt: skip
    files = []
    for path in sorted((root / "data" / "test").glob("*.csv")):
        frame = pd.read_csv(path)
        frame["label"] = CATEGORY[class_from_filename(path.name)]
        files.append((path.name.replace("_test.pcap", "-ward-3"), frame.to_csv(index=False).encode()))
    return root / "models", files


@pytest.fixture()
def page(coarse, monkeypatch):
    models, files = coarse
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    at = upload(choose(analyze_page(), 19, "rf-19"), files)
    no_exception(at)
    return at, TrainedModel.load(models / "rf-19"), read_files(files)


def test_only_mistakes_are_rows_whose_prediction_is_not_of_the_family_their_label_says(page):
    """'Only mistakes' listed every attack row: a DDoS-UDP prediction was compared with the label 'DDoS' as a name,
    though the row is scored right at the 6 classes the page scores at."""
    at, model, data = page
    report = model.evaluate(data)
    wrong = report.n_rows - sum(report.confusion_matrix[i][i] for i in range(len(report.labels)))
    at.checkbox(key="analyze_filter_wrong").check().run()
    no_exception(at)
    rows = table_with(at, "true")
    assert 0 < len(rows) == wrong < (data.y != 0).sum()
    family = [CATEGORY.get(p, p) for p in rows["predicted"]]
    assert all(f != t for f, t in zip(family, rows["true"]))


def test_class_profiles_offer_each_family_the_labels_name(page):
    """The profiles were grouped by the 19 classes only: with family labels there were none, and the page said all the
    rows were one attack with no benign rows to compare them with."""
    at, _, _ = page
    at.toggle(key="analyze_explain_importance").set_value(False).run()
    assert at.selectbox(key="analyze_explain_class").options == list(CLASSES_6[1:])
    assert not [i.value for i in at.info if "with no benign rows" in i.value]
