"""A cell beyond ±1e15 (3e38) in the row explained is scored as the inf it stands for (core.preprocess.IMPLAUSIBLE):
the explanation must show the value it was scored as, and say so, as it does for inf cells; and the count of cells
to repair that loading gives (the Analyze page's file table) must include such cells."""

from __future__ import annotations

import numpy as np
import pytest

from core import explain
from core.loading import count_nonfinite, load_split
from core.pipeline import TrainedModel
from core.taxonomy import codes_for_task


@pytest.fixture(scope="module")
def test_split(demo_dir):
    return load_split(demo_dir, "test")


def test_a_cell_beyond_the_bound_is_shown_as_scored_and_named(demo_models_dir, test_split):
    """The row's table showed 3e38 as the flow's value, with no note, while the model scored the training max."""
    m = TrainedModel.load(demo_models_dir / "test-rf-6class")
    data = test_split.subset(np.arange(len(test_split.X)))
    data.X = data.X.copy()
    i = int(np.flatnonzero(codes_for_task(data.y, 2) == 1)[7])
    rate, iat = m.layout.features.index("Rate"), m.layout.features.index("IAT")
    data.X[i, rate] = 3e38
    data.X[i, iat] = -2e20
    ex = explain.explain_row(m, data, i)
    text = " ".join(ex.notes)
    assert f"Rate was 3e+38, beyond ±1e+15, taken as inf: scored as {m.preprocessor.max_[rate]:,.6g}" in text, ex.notes
    assert f"IAT was -2e+20, beyond ±1e+15, taken as -inf: scored as {m.preprocessor.min_[iat]:,.6g}" in text
    row = ex.frame.set_index("feature")
    assert row.loc["Rate", "value"] == pytest.approx(m.preprocessor.max_[rate])
    assert row.loc["IAT", "value"] == pytest.approx(m.preprocessor.min_[iat])
    as_inf = data.subset(np.arange(len(data.X)))
    as_inf.X = data.X.copy()
    as_inf.X[i, rate], as_inf.X[i, iat] = np.inf, -np.inf
    same = explain.explain_row(m, as_inf, i)
    assert ex.probability == same.probability
    np.testing.assert_allclose(ex.frame["value"], same.frame["value"])


def test_the_count_of_cells_to_repair_includes_those_beyond_the_bound():
    X = np.zeros((70000, 3), dtype=np.float32)
    X[5, 0], X[69999, 1], X[100, 2], X[200, 2], X[300, 1] = 3e38, -2e20, np.inf, np.nan, 1e14  # 1e14: a value
    assert count_nonfinite(X) == 4
