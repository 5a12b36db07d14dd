"""A fourth hunt on the Compare page, in Chromium.

Found: the page warned that the models compared had learnt from other training rows, but the comparison report it
offered for download said nothing of it: handed on, it ranked them as like with like. The comparison bars left a
blank band between the plot and the legend above it at 1,400 pixels.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.dashboard.test_browser import (  # noqa: F401 (browser, page: fixtures)
    ARTIFACTS,
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

pytestmark = pytest.mark.browser

PAIR = ["test-rf-6class", "test-lr-6class"]


@pytest.fixture(scope="module")
def other_data_url(demo_models_dir, demo_dir, tmp_path_factory):
    """The pair, the second one's metadata saying it learnt from 600 rows of another folder."""
    models = tmp_path_factory.mktemp("other-data")
    for name in PAIR:
        shutil.copytree(demo_models_dir / name, models / name)
    path = models / PAIR[1] / "metadata.json"
    meta = json.loads(path.read_text())
    meta["data"].update(description="/data/other", train_rows=600, train_fingerprint_sha256="ab" * 32)
    path.write_text(json.dumps(meta))
    with streamlit_app(models, demo_dir, "compare-hunt4.log") as url:
        yield url


def _compare(page, url: str, width: int) -> None:  # noqa: F811
    page.set_viewport_size({"width": width, "height": 1000})
    open_app(page, url)
    go_to(page, "Compare models", "Compare models")
    choose(page, "Task", "6 classes")
    expect(page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="On these")).to_be_visible(
        timeout=SCORE_MS
    )
    expect(plot_titled(page, "Model comparison").first.locator(".legend")).to_have_count(1, timeout=SCORE_MS)
    wait_idle(page)


def test_the_downloaded_report_says_the_models_learnt_from_other_rows(page, other_data_url):  # noqa: F811
    _compare(page, other_data_url, 1400)
    warning = page.locator('[data-testid="stAlertContentWarning"]').filter(has_text="same training data")
    expect(warning).to_have_count(1)
    with page.expect_download(timeout=SCORE_MS) as download:
        page.get_by_role("button", name="Download report (HTML)").click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert "These models were not trained on the same training data" in html
    assert "/data/other, 600 training rows, fingerprint abababab" in html
    assert "**" not in html.split("<script")[0], "plain words in the report, no Markdown"


@pytest.mark.parametrize("width", [800, 1400, 1920])
def test_the_comparison_legend_sits_close_above_the_bars(page, other_data_url, width):  # noqa: F811
    _compare(page, other_data_url, width)
    bars = plot_titled(page, "Model comparison").first
    bars.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    title = bars.locator(".gtitle").bounding_box()
    legend = bars.locator(".legend").bounding_box()
    plot = bars.locator(".nsewdrag").first.bounding_box()
    texts = [b for b in (t.bounding_box() for t in bars.locator(".bartext").all()) if b]
    bars.screenshot(path=str(ARTIFACTS / f"compare-hunt4-bars-{width}.png"))  # at this width, for a person to see
    above, below = legend["y"] - (title["y"] + title["height"]), plot["y"] - (legend["y"] + legend["height"])
    assert above >= 0, "the legend runs under the title"
    assert below >= 0, "the legend runs into the bars"
    # A fixed top margin for the most legend lines left 70 blank pixels above a one-line legend at any width.
    assert above < 40 and below < 40, f"blank bands of {above:.0f} and {below:.0f} pixels around the legend"
    assert texts and all(t["y"] >= legend["y"] + legend["height"] for t in texts), "a value runs into the legend"
    assert plot["height"] >= 250, f"the bars had {plot['height']:.0f} pixels of height"
