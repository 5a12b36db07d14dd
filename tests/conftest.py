"""Shared fixtures: the real shared samples, small demo data, and real small models trained on it."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Audit events written by tests (command line, dashboard) go to a temporary folder, never to logs/ in the checkout,
# and so do the registry's lock files (never to the system's shared one); the folder goes when the tests end.
# Each pytest-xdist worker (scripts/test.sh runs two) has its own folder: the workers inherit the environment of the
# process that started them, and tests that count audit events must not see another worker's.
_TEST_TMP = Path(tempfile.mkdtemp(prefix=f"iomt-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-"))
atexit.register(shutil.rmtree, _TEST_TMP, ignore_errors=True)
for _name, _sub in (("IOMT_AUDIT_DIR", "audit"), ("IOMT_LOCK_DIR", "locks")):
    if _name not in os.environ or os.environ.get(f"_IOMT_TEST_SET_{_name}") == os.environ[_name]:
        os.environ[_name] = os.environ[f"_IOMT_TEST_SET_{_name}"] = str(_TEST_TMP / _sub)

# scripts/test.sh gives each test process its share of the cores for OpenMP (OMP_NUM_THREADS: one each on two cores).
# pyarrow's CPU pool follows that variable too, and on one thread it parses serially, which one core's users do but
# most do not: the tests' own reading runs threaded, as on the machines it serves (the serial path is tested by name,
# and by the command-line and browser tests, whose processes inherit the variable).
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("OMP_NUM_THREADS"):
    import pyarrow as _pa

    _pa.set_cpu_count(max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2))


SHARED_DATA = Path(os.environ.get("IOMT_SHARED_DATA", ROOT.parent / "shared" / "data"))
V1_SAMPLE = SHARED_DATA / "ciciomt2024-v1-sample"
V2_SAMPLE = SHARED_DATA / "ciciomt2024-v2-sample"
FILES_TSV = SHARED_DATA / "ciciomt2024-files.tsv"


def require_shared(path: Path) -> Path:
    """Skip (or, under CI=true, fail) when the shared real samples are not beside the checkout."""
    if path.exists():
        return path
    message = f"real CICIoMT2024 sample not found at {path} (expected ../shared/data beside the checkout)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; under CI=true these tests must run")
    pytest.skip(message)


@pytest.fixture(scope="session")
def v1_sample() -> Path:
    return require_shared(V1_SAMPLE)


@pytest.fixture(scope="session")
def v2_sample() -> Path:
    return require_shared(V2_SAMPLE)


@pytest.fixture(scope="session")
def diverged_gbt(v1_sample, tmp_path_factory):
    """Benchmark scores of gbt on the v1 sample with a step too large and no l2 penalty: its boosting diverges, in
    the first fit and in the refit, and each score's notes carry the warnings. Returns the results
    (:class:`core.compare.Results`) and the folder the benchmark saved the model in (``bench-gbt-19class-v1``)."""
    from core.compare import run_benchmark

    models = tmp_path_factory.mktemp("diverged") / "models"
    wild = {"learning_rate": 1.0, "l2_regularization": 0.0, "min_samples_leaf": 2, "max_iter": 60}
    results = run_benchmark(v1_sample, families=("gbt",), tasks=(19,), max_rows_per_class=100, params={"gbt": wild},
                            models_dir=models)  # fmt: skip
    return results, models


@pytest.fixture(scope="session")
def files_tsv() -> Path:
    return require_shared(FILES_TSV)


#: Rows per class of the small demo data used by tests.
DEMO_TEST_ROWS = 400


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Small generated data in the official layout (v2), all 19 classes."""
    from core.demo import write_demo_dataset

    out = tmp_path_factory.mktemp("demo")
    write_demo_dataset(out, layout="v2", rows_per_class=DEMO_TEST_ROWS, seed=0)
    return out


#: Families and settings of the small real models the dashboard tests use.
TEST_MODELS = [
    ("rf", {"n_estimators": 20}, (2, 6, 19)),
    ("lr", {"max_iter": 200}, (2, 6, 19)),
    ("paper-cnn", {"epochs": 2, "batch_size": 256}, (6, 19)),
]


@pytest.fixture(scope="session")
def demo_models_dir(demo_dir, tmp_path_factory) -> Path:
    """A model registry with real small models trained on the demo data."""
    from core.training import train_from_folder

    out = tmp_path_factory.mktemp("models")
    for family, params, tasks in TEST_MODELS:
        for task in tasks:
            train_from_folder(family, task, str(demo_dir), params=params, models_dir=str(out),
                              name=f"test-{family}-{task}class")  # fmt: skip
    return out


@pytest.fixture()
def registry_env(demo_models_dir, demo_dir, monkeypatch):
    """Point the dashboard at the test registry and demo data."""
    monkeypatch.setenv("IOMT_MODELS_DIR", str(demo_models_dir))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    return demo_models_dir
