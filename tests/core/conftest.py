"""Fixtures of the core tests: a Dask cluster and a model for the score-many tests (tests/core/test_distributed*.py),
and a small registry for the command-line tests (tests/core/test_cli_hunt*.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client():
    """A real Dask LocalCluster of 2 worker processes, one per module that asks for it."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def model_path(demo_models_dir):
    """The small 19-class random forest the scoring tests score with."""
    return demo_models_dir / "test-rf-19class"


@pytest.fixture(scope="module")
def models(v2_sample, tmp_path_factory):
    """A registry holding one small real 19-class logistic regression (v2), 'lr19' (a module may define its own)."""
    from core.training import train_from_folder

    out = tmp_path_factory.mktemp("lr19-models")
    train_from_folder("lr", 19, str(v2_sample), params={"max_iter": 50}, models_dir=str(out), name="lr19",
                      max_rows_per_class=40, val_fraction=0)  # fmt: skip
    return out
