"""A second hunt on the Compare page, in Chromium at 800 pixels (about 470 for the page's content with the sidebar
open), with models under names as long as default ones (``paper-cnn-19class-v2-20261207-060212``, 36 characters) and 12 of
them at once.

Found: the per-class F1 heatmap gave a model's name, on one line, half of the 470 pixels: its six class columns were
17 pixels wide, and their 4-character F1 numbers ran into each other (with two models as with twelve); with 12
19-class models, the numbers overlapped as well. With more than 10 models, the comparison bars gave the 11th and 12th
the 1st and 2nd one's colour (two models, one colour in the legend), and the first legend entries ran under the
chart's title; the speed chart named one bar in two, and its names left the bars 50 pixels of height.
"""

from __future__ import annotations

import shutil
from itertools import pairwise

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.test_analyze_page import charts
from tests.dashboard.test_browser import (  # noqa: F401 (browser, page: fixtures)
    SCORE_MS,
    browser,
    choose,
    expect,
    go_to,
    open_app,
    page,
    plot_titled,
    streamlit_app,
    wait_idle,
)
from tests.dashboard.test_compare_page import PAGE

#: Models of each task in the registry, under names as long as the trained ones' by default.
N_MODELS = 12


def _name(family: str, task: int, i: int) -> str:
    """As long as a default name of the longest family (``paper-cnn-19class-v2-20261207-060212``, 36 characters):
    the default name of a forest or a logistic regression, with a word of the user's; the first one's words longer."""
    words = "trial00-without-train-copies" if i == 0 else f"trial{i:02d}"
    return f"{family}-{task}class-v2-20261207-06{i:02d}{i:02d}-{words}"


@pytest.fixture(scope="module")
def long_registry(demo_models_dir, tmp_path_factory):
    """12 models of each of the 6- and 19-class tasks: the test forest and logistic regression, copied under long
    names (a model's name is its folder's)."""
    out = tmp_path_factory.mktemp("long-names")
    for task in (6, 19):
        for i in range(N_MODELS):
            family = ("rf", "lr")[i % 2]
            shutil.copytree(demo_models_dir / f"test-{family}-{task}class", out / _name(family, task, i))
    return out


@pytest.fixture(scope="module")
def long_url(long_registry, demo_dir):
    with streamlit_app(long_registry, demo_dir, "compare-hunt2.log") as url:
        yield url


def _compare_at_800(page, url: str, task: int) -> None:  # noqa: F811
    page.set_viewport_size({"width": 800, "height": 1000})
    open_app(page, url)
    go_to(page, "Compare models", "Compare models")
    choose(page, "Task", f"{task} classes")
    # Copies of one model detect equally well: the verdict, whichever it is.
    expect(page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="On these")).to_be_visible(
        timeout=SCORE_MS
    )
    # The charts of this task, not those of the task shown before the choice: under load in CI the run the choice
    # starts had not begun when the verdict above (of the task before) and an idle app were seen, and the test
    # measured the 6-class heatmap (72 numbers) as the 19-class one. The heatmap's rows: classes (19) or models (6).
    heatmap = plot_titled(page, "Per-class F1 by model").first
    expect(heatmap.locator(".ytick")).to_have_count(19 if task == 19 else N_MODELS, timeout=SCORE_MS)
    wait_idle(page)


def _boxes(chart, selector: str) -> list[dict]:
    chart.scroll_into_view_if_needed()
    return [b for b in (t.bounding_box() for t in chart.locator(selector).all()) if b and b["width"] > 0]


def _overlaps(boxes: list[dict], axis: str) -> list[tuple[dict, dict]]:
    """Pairs of boxes on one line (same centre across ``axis``) that run into each other along ``axis``."""
    size = "width" if axis == "x" else "height"
    across = "y" if axis == "x" else "x"
    lines: dict[int, list[dict]] = {}
    for b in boxes:
        lines.setdefault(round(b[across] + b["height" if axis == "x" else "width"] / 2), []).append(b)
    out = []
    for line in lines.values():
        line.sort(key=lambda b: b[axis])
        out += [(a, b) for a, b in pairwise(line) if a[axis] + a[size] > b[axis] + 0.5]
    return out


@pytest.mark.browser
@pytest.mark.parametrize("task", [6, 19])
def test_per_class_f1_numbers_keep_apart_at_800_pixels(page, long_url, task):  # noqa: F811
    _compare_at_800(page, long_url, task)
    heatmap = plot_titled(page, "Per-class F1 by model").first
    numbers = _boxes(heatmap, ".heatmap-label text")
    shown = N_MODELS * (6 if task == 6 else 19)
    assert len(numbers) == shown, f"{shown - len(numbers)} F1 numbers left out by Plotly: cells too narrow for them"
    clash = _overlaps(numbers, "x")
    assert not clash, f"{len(clash)} F1 numbers run into their neighbours, e.g. {clash[0]}"
    plot = heatmap.locator(".nsewdrag").first.bounding_box()
    columns = 6 if task == 6 else N_MODELS
    assert max(b["width"] for b in numbers) < plot["width"] / columns, "a number wider than its cell"
    if task == 19:  # the class names, two lines for the longest, each in its own row
        names = _boxes(heatmap, ".ytick text")
        assert len(names) == 19 and not _overlaps(names, "y")


def test_more_than_ten_models_each_have_their_own_colour(long_registry, demo_dir, monkeypatch):
    """Plotly's colour cycle has 10 colours: the 11th and 12th model's bars and legend entries were the 1st's and
    2nd's."""
    monkeypatch.setenv("IOMT_MODELS_DIR", str(long_registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    at.selectbox(key="compare_task").set_value(6).run()
    assert not at.exception, at.exception
    data = charts(at)["compare_bars"]["data"]
    assert sorted(d["name"] for d in data) == sorted(_name(("rf", "lr")[i % 2], 6, i) for i in range(N_MODELS))
    colours = [d["marker"]["color"] for d in data]
    assert len(set(colours)) == N_MODELS, colours


@pytest.mark.browser
def test_the_legend_of_twelve_models_clears_the_title_at_800_pixels(page, long_url):  # noqa: F811
    _compare_at_800(page, long_url, 6)
    bars = plot_titled(page, "Model comparison").first
    (title,) = _boxes(bars, ".gtitle")
    legend = bars.locator(".legend").bounding_box()
    assert legend["y"] >= title["y"] + title["height"], "the first legend entries ran under the title"
    plot = bars.locator(".nsewdrag").first.bounding_box()
    assert plot["height"] >= 200, f"the bars had {plot['height']:.0f} pixels of height under the legend"


@pytest.mark.browser
def test_the_speed_chart_names_each_of_twelve_models_at_800_pixels(page, long_url):  # noqa: F811
    _compare_at_800(page, long_url, 6)
    speed = plot_titled(page, "Training time and scoring speed").first
    speed.scroll_into_view_if_needed()
    for axis in ("xtick", "x2tick"):  # each subplot names every bar
        shown = [t.text_content() for t in speed.locator(f".{axis} text").all()]
        assert sorted(shown) == sorted(_name(("rf", "lr")[i % 2], 6, i) for i in range(N_MODELS)), shown
    plot = speed.locator(".nsewdrag").first.bounding_box()
    assert plot["height"] >= 150, f"the bars had {plot['height']:.0f} pixels of height under the turned names"


@pytest.mark.parametrize(
    "name",
    ["paper-cnn-6class-v2-20261207-060212", "my_forest_for_the_icu_network_v3", "averyverylongnamewithoutbreaks", "rf"],
)
def test_a_models_name_is_drawn_whole_on_short_lines_and_kept_whole_in_the_data(name):
    from core import figures as F
    from core.compare import ModelScore
    from core.taxonomy import CLASSES_6
    from tests.dashboard.test_visual_hunt2 import _report

    scores = [ModelScore(name=n, family="rf", task=6, report=_report(CLASSES_6, seed=s), rows_per_second=1.0,
                         fit_seconds=None) for s, n in enumerate((name, "lr"))]  # fmt: skip
    fig = F.per_class_f1_heatmap(scores)
    assert list(fig.data[0].y) == [name, "lr"], "the hover and the data keep the name"
    assert list(fig.layout.yaxis.tickvals) == [name, "lr"]
    lines = fig.layout.yaxis.ticktext[0].split("<br>")
    assert "".join(lines) == name and all(lines)
    assert all(len(line) <= 20 for line in lines) or lines == [name], lines
