"""The paper's comparison on real data: one read, every (family, task) job scored on the same rows."""

import json

from core.compare import results_markdown, run_benchmark


def test_benchmark_skips_a_task_the_data_cannot_train_and_scores_the_rest(v1_sample, tmp_path):
    events = []
    scores = run_benchmark(v1_sample, families=("rf", "lr"), tasks=(2, 6), params={"rf": {"n_estimators": 10}},
                           max_rows_per_class=300, models_dir=tmp_path, progress=events.append)  # fmt: skip
    assert [(s.family, s.task) for s in scores] == [("rf", 6), ("lr", 6)], "v1 sample has no Benign: no 2-class task"
    assert any("skipped the 2-class task" in e.message for e in events)
    assert events[-1].fraction == 1.0
    assert {p.name for p in tmp_path.iterdir()} == {"bench-rf-6class-v1", "bench-lr-6class-v1"}
    for name in ("bench-rf-6class-v1", "bench-lr-6class-v1"):  # every family refitted on the same (all) train rows
        data = json.loads((tmp_path / name / "metadata.json").read_text())["data"]
        assert data["train_rows_used_for_fit"] == data["train_rows"] == data["refit"]["rows"] == 8 * 300
    for s in scores:
        assert s.report.n_rows == 8621 and s.rows_per_second > 0
    md = results_markdown(scores)
    assert "## 6 classes" in md and "| rf | " in md and "Per-class F1" in md
