"""What a visual hunt in a real browser (Chromium, pages at 1400 and 800 pixels wide) found, checked without one: on
the element tree that AppTest builds (which block holds which element) and on the Plotly figures of core.figures.

At 800 pixels with the sidebar open the page is about 470 pixels wide. In ``st.columns`` every column keeps its share
however narrow: the metric cards read "Macro…  0.…", the Overview's links "Analyze tra", and two confusion matrices
side by side ran their numbers into each other. Rows that wrap (``st.container(horizontal=True)``) keep them whole.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import figures as F
from core.taxonomy import CLASSES_2, CLASSES_6, CLASSES_19
from tests.dashboard.test_analyze_page import charts, no_exception
from tests.dashboard.test_models_page import values
from tests.dashboard.test_overview_page import NEXT_PAGES

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
COMPARE = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "compare.py"


def placed(at: AppTest, kind: str) -> list[tuple[object, tuple]]:
    """Each element of ``kind`` ("metric", "plotly_chart", "page_link") with the blocks that hold it, outermost
    first."""
    out = []

    def walk(node, parents):
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child, (*parents, node))
        elif getattr(node, "type", None) == kind:
            out.append((node, parents))

    walk(at._tree, ())
    return out


def is_column(block) -> bool:
    return getattr(block, "type", None) == "column"


def wrapping_row(block) -> bool:
    """A horizontal container whose elements go onto another line when they do not fit."""
    text = str(getattr(block, "proto", ""))
    return "direction: HORIZONTAL" in text and "wrap: true" in text


def pixel_width(block) -> int | None:
    proto = getattr(block, "proto", None)
    config = getattr(proto, "width_config", None)
    return config.pixel_width if config is not None and config.HasField("pixel_width") else None


def assert_metrics_wrap(at: AppTest, labels: set[str]) -> None:
    found = {m.label: parents for m, parents in placed(at, "metric")}
    assert labels <= set(found), sorted(found)
    for label in labels:
        parents = found[label]
        assert not any(is_column(b) for b in parents), f"metric {label!r} in a column: cut off on a narrow page"
        assert wrapping_row(parents[-1]), f"metric {label!r} not in a row that wraps"


def analyze_demo(model: str, task: int) -> AppTest:
    """The Analyze page, through the router, after scoring the demo traffic with the saved model ``model``."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.switch_page("views/analyze.py").run()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at.selectbox(key="analyze_task").set_value(task).run()
    at.selectbox(key="analyze_model").set_value(str(Path(os.environ["IOMT_MODELS_DIR"]) / model)).run()
    no_exception(at)
    return at


def test_metric_cards_of_the_analyze_page_wrap_instead_of_being_cut_off(registry_env):
    """Analyze, demo traffic, a 2-class model: the alert cards, the headline scores and the alarm-threshold cards."""
    at = analyze_demo("test-rf-2class", 2)
    assert_metrics_wrap(at, {"Rows scored", "Attack traffic", "Attack types seen", "Low-confidence rows",
                             "Macro-F1", "Weighted-F1", "Accuracy", "Rows evaluated",
                             "False alarms per 10,000 benign flows", "Attacks missed", "Attacks caught"})  # fmt: skip


def test_metric_cards_of_a_model_card_wrap(registry_env):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/models.py").run()
    at.selectbox(key="models_selected").set_value("test-rf-6class").run()
    no_exception(at)
    assert_metrics_wrap(at, {"Macro-F1", "Weighted-F1", "Accuracy", "Rows evaluated"})


def test_overview_links_wrap_instead_of_being_cut_off(registry_env):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    no_exception(at)
    links = placed(at, "page_link")
    assert [link.proto.page for link, _ in links] == NEXT_PAGES
    for link, parents in links:
        assert not any(is_column(b) for b in parents), f"{link.proto.label!r} in a column: cut off on a narrow page"
        assert pixel_width(parents[-1]), "each link in a card of fixed width"
        assert wrapping_row(parents[-2]), "the cards in a row that wraps"


def test_compare_confusion_matrices_wrap_and_share_one_colour_scale(registry_env):
    """Side by side, each matrix had its own colour scale (the darkest cell 3,019 rows in one, 3,604 in the next), so
    one shade meant different counts; and in two fixed columns at 800 pixels their numbers ran into each other."""
    at = AppTest.from_file(str(COMPARE), default_timeout=90).run()
    at.selectbox(key="compare_task").set_value(6).run()
    at.multiselect(key="compare_models_6").set_value(["test-rf-6class", "test-lr-6class"]).run()
    no_exception(at)
    figs = charts(at)
    scales = [figs[f"compare_cm_{i}"]["data"][0].get("zmax") for i in range(2)]
    largest = max(int(np.max(values(figs[f"compare_cm_{i}"]["data"][0]["z"]))) for i in range(2))
    assert scales == [largest, largest]
    by_key = {}
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    for chart, parents in placed(at, "plotly_chart"):
        by_key[user_key_from_element_id(chart.proto.id)] = parents
    for i in range(2):
        parents = by_key[f"compare_cm_{i}"]
        assert not any(is_column(b) for b in parents)
        assert pixel_width(parents[-1]) and wrapping_row(parents[-2])
    # Row %: every matrix ends at 100.
    at.toggle(key="compare_normalize").set_value(True).run()
    figs = charts(at)
    assert [figs[f"compare_cm_{i}"]["data"][0]["zmax"] for i in range(2)] == [100, 100]


def test_timeline_has_no_legend_beside_its_named_lanes():
    """Its legend repeated the lane names of the y axis and, for 19 classes, took half of a narrow page's width: the
    rows themselves were drawn in a strip 60 pixels wide."""
    predicted = [CLASSES_19[i % len(CLASSES_19)] for i in range(200)]
    fig = F.timeline_figure(predicted, CLASSES_19)
    assert fig.layout.showlegend is False
    assert list(fig.layout.yaxis.categoryarray) == list(CLASSES_19)  # the lanes still name every class


def test_log_count_axis_is_labelled_at_powers_of_ten_only():
    """The log axis of "Rows per predicted class" read "5, 2, 1000, 5, 2, 100, 5, 2, 10" from the top."""
    counts = pd.Series([845, 88, 5, 1870], index=list(CLASSES_6[:4]))
    assert F.counts_need_log_scale(counts)
    fig = F.class_counts_figure(counts, log_y=True)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.tickformat == ",d"
    linear = F.class_counts_figure(counts)
    assert linear.layout.yaxis.type is None and linear.layout.yaxis.dtick is None


@pytest.mark.parametrize("normalize", [None, "true"])
def test_confusion_figure_takes_a_shared_scale_for_counts_only(normalize):
    from core.evaluation import evaluate

    y_true = np.array([0, 1, 1, 0])  # codes into CLASSES_2: Benign, Attack
    y_pred = np.array([0, 1, 0, 0])
    report = evaluate(y_true, y_pred, task=2, task_classes=CLASSES_2)
    fig = F.confusion_figure(report, normalize, zmax=500)
    assert fig.data[0].zmax == (500 if normalize is None else 100)
    assert F.confusion_figure(report, normalize).data[0].zmax == (None if normalize is None else 100)
