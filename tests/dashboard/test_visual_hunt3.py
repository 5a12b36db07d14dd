"""A third visual hunt, in Chromium at 800 pixels (about 470 for the page's content with the sidebar open) and at
1,920: the Explain panel of the Analyze page with a 2-class model on the demo traffic.

Found: the ROC and precision-recall curves in one figure ran their axis titles into each other at 800 pixels and cut
the second curve's title off ("Precision-recall (average precision 0.9"); "Why this flow"'s axis title was cut off
at the chart's edge ("... (+ towards it, - aw"); the alarm section's button read "Save this thre…"; and on a wide
screen the half-width charts stayed 440 pixels wide, half of a 1,920-pixel screen left empty beside them.
"""

from __future__ import annotations

import pytest

from tests.dashboard import test_browser as B
from tests.dashboard.test_browser import app_url, browser, page  # noqa: F401 (fixtures)
from tests.dashboard.test_visual_hunt2 import _corners, _overlapping


def _outside(chart) -> list[str]:
    """The chart's titles and legend texts that reach beyond its edges (cut off on screen)."""
    box = chart.bounding_box()
    texts = chart.locator(".gtitle, .g-xtitle text, .g-ytitle text, .legendtext")
    out = []
    for text, corners in zip(texts.all_inner_texts() or texts.all_text_contents(), _corners(texts)):
        xs = [x for x, _ in corners]
        if min(xs) < box["x"] - 1 or max(xs) > box["x"] + box["width"] + 1:
            out.append(text)
    return out


@pytest.mark.browser
def test_explain_panel_at_800_then_1920_pixels(page, app_url):  # noqa: F811
    B.open_app(page, app_url)
    page.set_viewport_size({"width": 800, "height": 1000})
    B.go_to(page, "Analyze traffic", "Analyze traffic")
    page.get_by_text("Demo traffic (synthetic)", exact=True).click()
    B.wait_idle(page)
    B.choose(page, "Task", "2 classes")
    B.wait_idle(page)
    B.choose(page, "Model (v2 models, best test macro-F1 first)", "test-rf-2class")
    B.expect(page.get_by_role("heading", name="Where to set the alarm")).to_be_visible(timeout=B.SCORE_MS)
    B.wait_idle(page)

    roc, pr = B.plot_titled(page, "ROC (area").first, B.plot_titled(page, "Precision-recall (average").first
    why = B.plot_titled(page, "Why this flow").first
    roc.scroll_into_view_if_needed()
    a, b = roc.bounding_box(), pr.bounding_box()
    assert b["y"] >= a["y"] + a["height"] - 1, f"one under the other at 800 pixels: {a} {b}"
    for chart in (roc, pr, why):
        assert not (cut := _outside(chart)), f"cut off at the chart's edge: {cut}"
        texts = chart.locator(".gtitle, .g-xtitle text, .g-ytitle text, .legendtext")
        assert not (pairs := _overlapping(texts)), f"titles run into each other: {pairs}"
    save = page.get_by_role("button", name="Save this threshold with the model")
    assert save.evaluate("e => { const p = e.querySelector('p') || e; return p.scrollWidth <= p.clientWidth; }"), (
        "'Save this threshold with the model' cut off"
    )

    page.set_viewport_size({"width": 1920, "height": 1000})
    page.wait_for_timeout(500)  # the layout and the charts follow the new width
    for left, right in ((roc, pr), (B.plot_titled(page, "Rows per predicted class").first,
                                     B.plot_titled(page, "Confidence of each prediction").first)):  # fmt: skip
        a, b = left.bounding_box(), right.bounding_box()
        assert abs(a["y"] - b["y"]) < 2 and b["x"] >= a["x"] + a["width"], f"side by side: {a} {b}"
        assert a["width"] > 600 and b["width"] > 600, f"grown to share the wide page: {a} {b}"
