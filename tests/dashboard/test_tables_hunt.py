"""The Models page's table and the Batch page's files table, read whole at 800 pixels.

Found: with a model named in 36 letters, the models table (its name column 200 pixels wide, whatever else it must
show) cut weighted-F1 off at 800 pixels with the sidebar open, and cut the name too; the Batch page's files table
(name 200 pixels, five number columns of 70 to 75) needed sideways scrolling to its low-confidence and repaired
counts. Now one rule (``components.name_column``) gives a table's names what the columns a reader needs leave them
at 800 pixels, and the Batch page shows its "on disk" column only where it differs from "rows".

The layout in Chromium (Playwright) on the served app, with the sidebar open and collapsed, on a real registry (a
real small model saved under a 36-letter name) and a real ``python -m core score-many`` result folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from dashboard import components
from dashboard.serve import serve
from tests.conftest import ROOT
from tests.dashboard import test_browser as B
from tests.dashboard.test_browser import browser, page  # noqa: F401 (fixtures)
from tests.dashboard.test_models_hunt4 import _column_lines, _shot

#: A model's name of 36 letters, as a hospital might name one.
LONG_NAME = "ward7-infusion-pumps-rf-2class-v2-ja"
#: The width of a table at 800 pixels with the sidebar open.
TABLE_AT_800 = 468


def test_long_names_leave_the_columns_beside_them_room_at_800_pixels():
    """A name column is as wide as its longest name, but leaves the columns beside it in sight; a name cut there says,
    in the column's help, how to read it whole."""
    assert len(LONG_NAME) == 36
    short = components.name_column("name", ["demo-rf-6class"], beside=292)
    assert short["width"] >= 6 * 14 + 16 and not short.get("help"), short
    cut = components.name_column("name", [LONG_NAME, "demo-rf-6class"], beside=292)
    assert cut["pinned"] is True and cut["width"] + 292 <= TABLE_AT_800 - 8, cut  # borders, the last column's edge
    assert "double-click" in cut["help"], cut


@pytest.fixture(scope="module")
def workspace(demo_models_dir, demo_dir, tmp_path_factory):
    """A registry of two real small models, one named in 36 letters, and a score-many result folder of the demo
    test files (19, names of up to 37 letters) under a data root of its own."""
    root = tmp_path_factory.mktemp("tables")
    models = root / "models"
    shutil.copytree(demo_models_dir / "test-lr-2class", models / LONG_NAME)
    shutil.copytree(demo_models_dir / "test-rf-6class", models / "test-rf-6class")
    out = root / "results" / "demo"
    done = subprocess.run([sys.executable, "-m", "core", "score-many", "--model", str(models / LONG_NAME),
                           str(demo_dir / "test"), "--out", str(out)], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return root, models, out


@pytest.fixture(scope="module")
def tables_url(workspace, demo_dir):
    root, models, _ = workspace
    try:
        with serve(models, demo_dir, B.ARTIFACTS / "streamlit-tables.log", startup_s=B.STARTUP_S,
                   env={"IOMT_DATA_ROOTS": str(root)}) as url:  # fmt: skip
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _sidebar(page, state: str) -> None:  # noqa: F811
    """Leave the sidebar open, or collapse it."""
    if state == "collapsed":
        page.locator('[data-testid="stSidebar"]').hover()
        page.locator('[data-testid="stSidebarCollapseButton"] button').click()
        B.expect(page.locator('[data-testid="stSidebar"][data-collapsed="true"]')).to_have_count(1)
        page.wait_for_timeout(500)  # the page widens
    else:
        B.expect(page.locator('[data-testid="stSidebar"][data-collapsed="false"]')).to_have_count(1)


def _columns_in_sight(page, table, shot: str) -> tuple[list[str], int, float]:  # noqa: F811
    """``table``'s headings (of the columns drawn), how many column lines lie inside its box, and how many pixels of
    its columns are out of sight to the right (reached by scrolling sideways)."""
    B.expect(table.locator('[role="columnheader"]').first).to_be_attached()  # the grid drawn
    width = table.bounding_box()["width"]
    lines = []
    for _ in range(3):  # a grid still being laid out shows no lines yet
        lines = [x for x in _column_lines(page, table) if 4 < x < width - 4]
        if lines:
            break
        page.wait_for_timeout(1000)
    _shot(page, shot)
    headings = table.locator('[role="columnheader"]').evaluate_all("hs => hs.map(h => h.textContent)")
    hidden = table.locator(".dvn-scroller").evaluate("e => e.scrollWidth - e.clientWidth")
    return headings, len(lines), hidden


@pytest.mark.browser
@pytest.mark.parametrize("sidebar", ["open", "collapsed"])
def test_the_models_table_shows_its_scores_beside_a_36_letter_name_at_800_pixels(page, tables_url, sidebar):  # noqa: F811
    """name | task | family | macro-F1 | weighted-F1 |: every column up to weighted-F1 whole in the table (it was cut
    at the table's edge); the layout, date, data and size, said on the model card, may lie beyond."""
    page.set_viewport_size({"width": 800, "height": 1000})
    B.open_app(page, tables_url)
    B.go_to(page, "Models", "Saved models")
    _sidebar(page, sidebar)
    table = page.locator('[data-testid="stDataFrame"]').first
    headings, lines, hidden = _columns_in_sight(page, table, f"tables-hunt-models-800-{sidebar}.png")
    assert headings[:5] == ["name", "task", "family", "macro-F1", "weighted-F1"], headings
    # Its right edge a line inside the table; or every column in sight, the last one's edge the table's
    whole = lines >= 5 or (hidden <= 1 and lines >= len(headings) - 1)
    assert whole, f"weighted-F1 cut off: {lines} column lines inside, {hidden} pixels out of sight, {headings}"
    B.assert_no_errors(page)


@pytest.mark.browser
@pytest.mark.parametrize("sidebar", ["open", "collapsed"])
def test_the_batch_files_table_reads_without_scrolling_at_800_pixels(page, tables_url, workspace, sidebar):  # noqa: F811
    """file | attack % | rows | low conf. | repaired: every column in sight, nothing to scroll sideways to (the last
    ones were reached so); "on disk", a copy of rows here, is not shown."""
    page.set_viewport_size({"width": 800, "height": 1000})
    B.open_app(page, tables_url)
    B.go_to(page, "Batch results", "Batch results")
    _sidebar(page, sidebar)
    page.get_by_role("textbox", name="Result folder").fill(str(workspace[2]))
    page.keyboard.press("Enter")
    B.wait_idle(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    B.expect(table).to_be_visible()
    headings, lines, hidden = _columns_in_sight(page, table, f"tables-hunt-batch-800-{sidebar}.png")
    assert headings[:5] == ["file", "attack %", "rows", "low conf.", "repaired"], headings
    assert hidden <= 1 and lines >= len(headings) - 1, f"{hidden} pixels out of sight to the right of {headings}"
    assert "on disk" not in headings, headings
    B.assert_no_errors(page)


def _batch_table(folder):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    at.switch_page("views/batch.py").run()
    at.text_input(key="batch_path").input(str(folder)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at.dataframe[0]


def test_the_rows_on_disk_are_shown_where_they_differ(workspace, monkeypatch, tmp_path):
    """The "on disk" column, a copy of "rows" after any run left alone, is shown only when the folder changed after
    the run; the columns shown fit a table 468 pixels wide."""
    root, _, out = workspace
    monkeypatch.setenv("IOMT_DATA_ROOTS", f"{root}:{tmp_path}")
    table = _batch_table(out)
    assert "rows on disk" in table.value.columns and "rows on disk" not in list(table.proto.column_order)
    columns = json.loads(table.proto.columns)
    assert sum(columns[c]["width"] for c in table.proto.column_order) <= TABLE_AT_800 - 8, columns
    changed = shutil.copytree(out, tmp_path / "changed")
    summary = json.loads((changed / "summary.json").read_text())
    summary["files"][0]["rows"] += 1  # the summary no longer matches the Parquet files
    (changed / "summary.json").write_text(json.dumps(summary))
    assert "rows on disk" in list(_batch_table(changed).proto.column_order)
