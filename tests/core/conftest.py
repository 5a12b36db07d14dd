"""Fixtures of the score-many tests (tests/core/test_distributed*.py)."""

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
