"""Every family trained for the 19-class task on the real shared samples, scored on their test split.

The floors are measured values (see ``docs/real-sample-floors.md``) minus a margin for run-to-run
variation; a regression in loading, repair, preprocessing or a model shows up as a drop below them.
"""

import numpy as np
import pytest

from core.loading import load_split
from core.training import train_model

pytestmark = pytest.mark.slow

#: Settings used here: the paper's CNN keeps its architecture with fewer, larger batches to keep CI short.
SETTINGS = {
    # Its defaults (40 epochs, patience 10, 32 filters) less the refit on all training rows, which doubled the
    # test's time (330 s of CI for both samples): the refit is tested on generated rows (test_models.py).
    "cnn": {"refit": False},
    # On v2 (19 classes; 32 epochs ran before early stopping, 122 s of a whole test run here, the longest test) the
    # first 15 epochs: 0.7485 against 0.7535-0.7602 for all (docs/real-sample-floors.md); v1 keeps the defaults.
    ("v2", "cnn"): {"refit": False, "epochs": 15},
    "paper-cnn": {"epochs": 6, "batch_size": 64},
    "dnn": {"epochs": 10},
    "lr": {"max_iter": 300},
    "adaboost": {},
    "rf": {"n_estimators": 100},
    "gbt": {},
}

#: Measured 19-class macro-F1 on each sample's test split (2026-11-27, docs/real-sample-floors.md), minus 0.05.
FLOORS = {
    ("v2", "cnn"): 0.70,
    ("v2", "paper-cnn"): 0.60,  # lowest of seeds 0-3, both validation splits, less 0.05 (docs/real-sample-floors.md)
    ("v2", "dnn"): 0.50,
    ("v2", "lr"): 0.54,
    ("v2", "adaboost"): 0.48,
    ("v2", "rf"): 0.68,
    ("v2", "gbt"): 0.70,
    ("v1", "cnn"): 0.86,
    ("v1", "paper-cnn"): 0.68,
    ("v1", "dnn"): 0.70,
    ("v1", "lr"): 0.69,
    ("v1", "adaboost"): 0.83,
    ("v1", "rf"): 0.84,
    ("v1", "gbt"): 0.87,
}


@pytest.fixture(scope="module")
def splits(v1_sample, v2_sample):
    return {
        "v1": (load_split(v1_sample, "train"), load_split(v1_sample, "test")),
        "v2": (load_split(v2_sample, "train"), load_split(v2_sample, "test")),
    }


@pytest.mark.parametrize("release, family", sorted(FLOORS))
def test_family_on_real_sample(splits, release, family):
    train, test = splits[release]
    params = SETTINGS.get((release, family), SETTINGS[family])
    model, reports = train_model(family, 19, train, test=test, params=params, seed=0)
    report = reports["test"]
    print(f"{release} {family}: {report.headline()} fit {model.metadata['timing']['fit_seconds']:.1f}s")
    assert report.n_rows == len(test), "every test row is scored"
    assert set(report.scored_labels) == set(test.class_counts())
    assert report.macro_f1 >= FLOORS[(release, family)], report.headline()
    if release == "v2":
        assert model.metadata["data"]["train_cells_repaired"]["pos_inf"].get("Rate", 0) > 0
        assert not np.isnan(model.predict(test).proba).any(), "inf/NaN rows are repaired, not propagated"
