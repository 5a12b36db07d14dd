"""Analyze traffic figures: bugs found by a hunt, each checked on real Plotly figures built from real arrays.

- The timeline of predicted classes drew only the most frequent class of each bucket of rows above 5,000 rows: a
  300k-row capture with 10.6% of its rows predicted as attacks read as one flat Benign line, and 3 DDoS rows at the
  end vanished. Every predicted class that occurs must be drawn, with how many of its rows each bucket holds.
- The timeline counted rows from 0 where the page's table counts them from 1 ("row in file").
- The bar of a class with 3 rows next to 268k was invisible on a linear axis.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from core import figures as F
from core.loading import read_files
from core.pipeline import TrainedModel
from core.taxonomy import CLASSES_6, CLASSES_19

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _points(fig: go.Figure) -> dict[str, np.ndarray]:
    """Class -> its marks as rows of ``(x, rows of the class, first row, last row)``."""
    out = {}
    for t in fig.data:
        assert set(t.y) == {t.name}, "each class's marks sit in its own lane"
        custom = np.asarray(t.customdata, dtype=np.float64)
        assert custom.shape == (len(t.x), 4)  # the 4th: the class's share of the bucket
        np.testing.assert_allclose(custom[:, 3], custom[:, 0] / (custom[:, 2] - custom[:, 1] + 1))
        out[t.name] = np.column_stack([np.asarray(t.x, dtype=np.int64), custom[:, :3].astype(np.int64)])
    return out


def _assert_counts_are_exact(fig: go.Figure, predicted: np.ndarray) -> None:
    """Every mark's count is the number of rows of its class between its first and last row (1-based, inclusive),
    and together the marks of a class count each of its rows once."""
    for label, pts in _points(fig).items():
        x, count, first, last = pts.T
        np.testing.assert_array_equal(x, first)  # a mark sits at its bucket's first row
        assert (count >= 1).all() and (first >= 1).all() and (last <= len(predicted)).all() and (first <= last).all()
        before = np.concatenate([[0], np.cumsum(predicted == label)])  # rows of the class among the first i rows
        np.testing.assert_array_equal(count, before[last] - before[first - 1], err_msg=label)
        assert count.sum() == int((predicted == label).sum()), label


def _buckets(fig: go.Figure) -> np.ndarray:
    pts = np.concatenate(list(_points(fig).values()))
    return np.unique(pts[:, 2:], axis=0)  # (first, last) of each bucket drawn


def _capture_300k() -> np.ndarray:
    """300,000 rows, 31,764 (10.6%) predicted as attacks, none of them the majority of any run of rows."""
    n = 300_000
    rng = np.random.default_rng(7)
    predicted = np.full(n, "Benign", dtype=object)
    predicted[100_000:100_050] = "Recon"  # a short burst
    predicted[200_000] = "Spoofing"  # a single row
    predicted[-3:] = "DDoS"  # the last 3 rows
    free = np.flatnonzero(predicted == "Benign")
    predicted[rng.choice(free, size=31_710, replace=False)] = "DoS"  # spread: about 1 row in 10
    assert (predicted != "Benign").sum() == 31_764
    return predicted


# ------------------------------------------------------------------------------------------------------------ timeline


def test_timeline_of_300k_rows_draws_every_predicted_class_with_its_row_counts():
    predicted = _capture_300k()
    n = len(predicted)
    fig = F.timeline_figure(predicted, CLASSES_6)
    points = _points(fig)
    assert set(points) == {"Benign", "DoS", "Recon", "Spoofing", "DDoS"}, "a predicted class was lost"
    _assert_counts_are_exact(fig, predicted)
    # The figure stays small: at most max_points (default 5,000) marks in all, not one per row.
    assert sum(len(p) for p in points.values()) <= 5000
    # The buckets tile the file from row 1 to row n, in equal runs but the last.
    buckets = _buckets(fig)
    assert buckets[0, 0] == 1 and buckets[-1, 1] == n
    np.testing.assert_array_equal(buckets[1:, 0], buckets[:-1, 1] + 1)
    size = int(buckets[0, 1] - buckets[0, 0] + 1)
    assert size > 1 and (buckets[:-1, 1] - buckets[:-1, 0] + 1 == size).all()
    # DoS is in (nearly) every bucket; the 3 DDoS rows are one mark in the last bucket; the lone Spoofing row is found.
    assert len(points["DoS"]) >= 0.99 * len(buckets)
    (ddos,) = points["DDoS"]
    assert ddos[1] == 3 and ddos[3] == n and ddos[2] <= n - 2
    (spoof,) = points["Spoofing"]
    assert spoof[1] == 1 and spoof[2] <= 200_001 <= spoof[3]
    assert points["Recon"][:, 1].sum() == 50
    # Marks are buckets of rows, and the figure says so, with their size.
    said = f"{fig.layout.title.text} {fig.layout.xaxis.title.text}"
    assert "bucket" in said.lower() and f"{size:,} rows" in said, said


def test_timeline_hover_says_how_many_rows_of_the_class_and_which_rows():
    predicted = _capture_300k()
    fig = F.timeline_figure(predicted, CLASSES_6)
    ddos = next(t for t in fig.data if t.name == "DDoS")
    template = ddos.hovertemplate
    assert "DDoS" in template
    for field in ("%{customdata[0]:,}", "%{customdata[1]:,}", "%{customdata[2]:,}"):
        assert field in template, template
    # Filled in as Plotly would for the last bucket: "DDoS rows: 3 / in rows 299,xxx-300,000".
    count, first, last, share = ddos.customdata[0]
    count, first, last = int(count), int(first), int(last)
    shown = (template.replace("%{customdata[0]:,}", f"{count:,}").replace("%{customdata[1]:,}", f"{first:,}")
             .replace("%{customdata[2]:,}", f"{last:,}").replace("%{customdata[3]:.1%}", f"{share:.1%}"))  # fmt: skip
    assert f"DDoS rows: 3 ({3 / (last - first + 1):.1%} of the bucket)<br>" in shown, shown
    assert f"{first:,}–300,000" in shown, shown


def test_timeline_counts_rows_from_1_like_the_table():
    fig = F.timeline_figure(["Benign", "DDoS", "DDoS", "Benign"], CLASSES_6)
    x = {t.name: list(t.x) for t in fig.data}
    assert x == {"Benign": [1, 4], "DDoS": [2, 3]}
    points = _points(fig)
    assert (points["DDoS"][:, 1] == 1).all(), "a row is a bucket of one row"
    lo, hi = fig.layout.xaxis.range
    assert lo < 1 and 4 <= hi < 5
    assert "bucket" not in fig.layout.title.text.lower(), "one mark per row is no bucket"
    assert "row %{x:,}" in fig.data[0].hovertemplate
    # Bucketed too: the first bucket starts at row 1 and the last ends at row n.
    predicted = np.array(["Benign"] * 1_000 + ["Recon"], dtype=object)
    buckets = _buckets(F.timeline_figure(predicted, CLASSES_6, max_points=100))
    assert buckets[0, 0] == 1 and buckets[-1, 1] == 1_001


def test_timeline_minority_classes_survive_small_budgets():
    """A budget below the number of classes present still draws each class (one bucket of all rows)."""
    rng = np.random.default_rng(0)
    predicted = rng.choice(np.asarray(CLASSES_6[:5], dtype=object), size=10_001, p=[0.96, 0.01, 0.01, 0.01, 0.01])
    for budget in (3, 20, 100, 1_000):
        fig = F.timeline_figure(predicted, CLASSES_6, max_points=budget)
        assert {t.name for t in fig.data} == set(CLASSES_6[:5]), budget
        _assert_counts_are_exact(fig, predicted)
        total = sum(len(t.x) for t in fig.data)
        assert total <= max(budget, 5), (budget, total)


def test_timeline_of_millions_of_rows_keeps_all_19_classes():
    n = 2_000_000
    rng = np.random.default_rng(1)
    predicted = np.full(n, "Benign", dtype=object)
    attacks = np.asarray(CLASSES_19[1:], dtype=object)
    where = rng.choice(n, size=len(attacks) * 5, replace=False)
    predicted[where] = np.repeat(attacks, 5)  # five rows of each attack class, anywhere
    fig = F.timeline_figure(predicted, CLASSES_19)
    assert {t.name for t in fig.data} == set(CLASSES_19)
    for t in fig.data:
        assert int(np.asarray(t.customdata)[:, 0].sum()) == int((predicted == t.name).sum()), t.name
    assert sum(len(t.x) for t in fig.data) <= 5000


# ------------------------------------------------------------------------------------------------------- class counts


def test_counts_spanning_100x_or_more_call_for_a_log_scale():
    assert F.counts_need_log_scale({"Benign": 268_000, "DDoS": 3})
    assert F.counts_need_log_scale(pd.Series({"Benign": 200, "DDoS": 2}))  # exactly 100 times
    assert not F.counts_need_log_scale({"Benign": 199, "DDoS": 2})
    assert F.counts_need_log_scale({"Benign": 500, "MQTT": 0, "DDoS": 5}), "a zero count has no bar to lose"
    assert not F.counts_need_log_scale({"Benign": 5, "DDoS": 0})
    assert not F.counts_need_log_scale({})
    fig = F.class_counts_figure({"Benign": 268_000, "DDoS": 3}, "Rows per predicted class", log_y=True)
    assert fig.layout.yaxis.type == "log"
    assert "log scale" in fig.layout.yaxis.title.text
    assert fig.layout.title.text == "Rows per predicted class"
    linear = F.class_counts_figure({"Benign": 10, "DDoS": 3})
    assert linear.layout.yaxis.type != "log" and "log" not in linear.layout.yaxis.title.text


# ----------------------------------------------------------------------------------------------- the Analyze page


def _spec_array(v) -> np.ndarray:
    """A figure array from Streamlit's JSON spec: a plain list or Plotly's typed array (``bdata``)."""
    if isinstance(v, dict) and "bdata" in v:
        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return out.reshape([int(k) for k in str(v.get("shape", len(out))).split(",")])
    return np.asarray(v)


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_analyze_page_shows_3_attack_rows_among_6000_in_the_counts_and_the_timeline(registry_env, demo_dir):
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    model_dir = registry_env / "test-rf-2class"
    model = TrainedModel.load(model_dir)

    def rows_predicted(name: str, label: str) -> pd.DataFrame:
        rows = pd.read_csv(demo_dir / "test" / name)
        return rows[model.predict(read_files([str(demo_dir / "test" / name)])).labels == label]

    benign = rows_predicted("Benign_test.pcap.csv", "Benign")
    attack = rows_predicted("TCP_IP-DDoS-UDP1_test.pcap.csv", "Attack")
    frame = pd.concat([benign] * (6_000 // len(benign) + 1) + [attack.head(3)], ignore_index=True)
    n = len(frame)
    assert n > 6_000

    at = AppTest.from_file(str(APP), default_timeout=120).run().switch_page("views/analyze.py").run()
    at.selectbox(key="analyze_task").set_value(2).run()
    at.selectbox(key="analyze_model").set_value(str(model_dir)).run()
    at.file_uploader(key="analyze_uploads").set_value([("ward-3.csv", _csv(frame), "text/csv")]).run()
    assert not at.exception, [e.message for e in at.exception]
    charts = {user_key_from_element_id(c.proto.id): json.loads(c.proto.spec) for c in at.get("plotly_chart")}

    counts = charts["analyze_counts"]
    shown = dict(zip(_spec_array(counts["data"][0]["x"]).tolist(), _spec_array(counts["data"][0]["y"]).tolist()))
    assert shown == {"Benign": n - 3, "Attack": 3}
    assert counts["layout"]["yaxis"]["type"] == "log", "3 rows next to 6,000 need a log scale to be seen"
    assert "log scale" in counts["layout"]["yaxis"]["title"]["text"]

    timeline = {t["name"]: t for t in charts["analyze_timeline"]["data"]}
    assert set(timeline) == {"Benign", "Attack"}, "the 3 attack rows vanished from the timeline"
    # (rows of the class, first row, last row, its share of them)
    marks = _spec_array(timeline["Attack"]["customdata"]).reshape(-1, 4)
    at.multiselect(key="analyze_filter_classes").set_value(["Attack"]).run()  # the table shows its first rows only
    table = next(d.value for d in at.dataframe if "predicted" in d.value.columns)
    rows = table.loc[table["predicted"] == "Attack", "row"].to_numpy()
    np.testing.assert_array_equal(rows, [n - 2, n - 1, n])  # the table counts rows from 1
    assert marks[:, 0].sum() == 3, marks
    # The timeline's row numbers are the table's: each attack row lies in a mark's range, the last ends at row n.
    assert all(((marks[:, 1] <= r) & (r <= marks[:, 2])).any() for r in rows), marks
    assert marks[:, 2].max() == n
