"""A fourth visual hunt at 800 pixels (about 470 for the page's content with the sidebar open), and the Audit page's
filters.

Found: a 19-class confusion matrix's numbers were fitted by Plotly to the longest one, 8 pixels high at 800 pixels;
"Where the errors go" drew a legend of 19 classes 390 pixels high under 190 pixels of bars; the training curves'
legend took a third of the figure's width; the Audit page filtered only the newest 5,000 events, so an older event
that matched a filter was never shown.

Checked on the figures of :mod:`core.figures` and, for the Audit page, with AppTest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import audit
from core import figures as F
from core.taxonomy import CATEGORY, CLASSES_6, CLASSES_19
from tests.dashboard.test_browser import (  # noqa: F401 (browser, page, app_url: fixtures)
    SCORE_MS,
    app_url,
    browser,
    expect,
    go_to,
    open_app,
    page,
)
from tests.dashboard.test_visual_hunt2 import _report

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


# ---------------------------------------------------------------------------------- figures


@pytest.mark.parametrize("normalize", [None, "true"])
def test_19_class_matrix_numbers_keep_a_legible_size_and_fit_their_cells(normalize):
    """Plotly fitted the font to the longest number in the narrowest cell: "1,234" in a 19th of 380 pixels was 8
    pixels high. The numbers now have a fixed smallest size and at most three characters (what fits a cell at 800
    pixels); the exact count and row share stay in the hover."""
    report = _report(CLASSES_19, n=40_000)
    fig = F.confusion_figure(report, normalize)
    heat = fig.data[0]
    assert heat.textfont.size is not None and heat.textfont.size >= 10
    text = np.asarray(heat.text, dtype=object)
    counts = np.asarray(report.confusion_matrix)
    assert max(len(t) for t in text.ravel()) <= 3, sorted(set(text.ravel()), key=len)[-3:]
    assert (text[counts > 0] != "").all(), "every cell with rows has a number here (all under 100,000)"
    i = CLASSES_19.index("DoS-UDP")
    pct = 100 * counts[i, i] / counts[i].sum()
    expected = f"{counts[i, i] / 1000:.0f}k" if normalize is None else f"{pct:.0f}"
    assert text[i, i] == expected and heat.customdata[i][i] == f"{counts[i, i]:,}<br>{pct:.1f}%"
    # A rounded count is said so, in the figure itself (the dashboard and the report show the same).
    subtitle = fig.layout.title.subtitle.text
    assert (subtitle == F.CELL_NOTE) if normalize is None else not subtitle


def test_counts_of_the_full_dataset_fit_their_cells_too():
    """Counts of 100,000 and more (the full dataset's diagonal: DDoS classes have hundreds of thousands of test rows)
    were left blank; they are given in tenths of a million."""
    report = _report(CLASSES_19, n=2_500_000)  # about 100,000 right on each diagonal
    text = np.asarray(F.confusion_figure(report).data[0].text, dtype=object)
    counts = np.asarray(report.confusion_matrix)
    assert all(text[i, i] == ".1M" for i in range(19) if counts[i, i] >= 99_500)
    assert all(text[i, i].endswith("k") for i in range(19) if counts[i, i] < 99_500)
    assert [F._cell_count(n) for n in (7, 999, 1000, 99_499, 99_500, 349_999, 949_999, 950_000, 12_400_000)] == [
        "7", "999", "1k", "99k", ".1M", ".3M", ".9M", "1M", "12M"]  # fmt: skip


def test_small_matrices_keep_their_exact_numbers_and_no_note():
    fig = F.confusion_figure(_report(CLASSES_6))
    assert fig.data[0].textfont.size == 12 and "<br>" in fig.data[0].text[0][0]
    assert not fig.layout.title.subtitle.text


def test_errors_of_19_classes_have_a_legend_of_families_not_of_classes():
    """19 legend entries under the bars took 390 of the figure's 850 pixels at 800 pixels (the bars had 190): the
    legend now names the six families, whose hue the classes' shades share (a click shows or hides all of a family);
    the hover names each predicted class."""
    report = _report(CLASSES_19)
    fig = F.prediction_error_figure(report)
    shown = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in shown] == list(dict.fromkeys(CATEGORY[c] for c in CLASSES_19))
    assert all(t.marker.color == F.class_color(t.name) for t in shown)
    bars = [t for t in fig.data if t.showlegend is False]
    assert {t.name for t in bars} == set(CLASSES_19), "one bar trace per predicted class"
    assert all(t.legendgroup == CATEGORY[t.name] for t in bars)
    cm = np.asarray(report.confusion_matrix)
    j = CLASSES_19.index("DDoS-TCP")
    (tcp,) = [t for t in bars if t.name == "DDoS-TCP"]
    assert list(tcp.y) == list(cm[:, j])
    assert fig.layout.legend.orientation == "h" and fig.layout.height <= 760


def test_training_curves_put_their_legend_under_the_plots():
    """Beside the two plots, the legend (loss, val_loss, accuracy, val_accuracy) took a third of the width."""
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    legend = F.training_curves(history).layout.legend
    assert legend.orientation == "h" and legend.x == 0 and legend.yref == "container" and legend.y == 0


# ---------------------------------------------------------------------------------- the Audit page


@pytest.fixture
def audit_folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))
    return tmp_path / "audit"


def _audit_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/audit.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_audit_filters_search_every_event_not_only_the_newest(audit_folder):
    """A model deleted by mallory before a burst of 6,000 failed sign-ins: the page filtered the newest 5,000 events
    only, so "mallory" was not even among the users to choose, and the deletion was never shown."""
    audit.record("deleted", user="mallory", via="dashboard", model="rf-19")
    burst = {"time": "2026-12-01T00:00:00+00:00", "action": "sign-in failed", "user": None, "os_user": "svc",
             "via": "dashboard", "model": None, "files": [], "details": {"account": "x"}}  # fmt: skip
    with open(next(audit_folder.glob("audit-*.jsonl")), "ab") as fh:
        fh.write(audit._line(burst) * 6_000)
    at = _audit_page()
    assert "mallory" in at.multiselect(key="audit_users").options
    assert "6,001 events in the whole log." in [c.value for c in at.caption]
    at.multiselect(key="audit_users").set_value(["mallory"]).run()
    table = at.dataframe[0].value
    assert list(zip(table["action"], table["model"])) == [("deleted", "rf-19")]
    assert "1 of 6,001 events in the whole log match the filters." in [c.value for c in at.caption]
    assert not at.warning
    at.multiselect(key="audit_users").set_value([]).run()
    at.multiselect(key="audit_actions").set_value(["sign-in failed"]).run()
    assert len(at.dataframe[0].value) == 5_000
    assert any("Only the 5,000 most recent events of the 6,000 that match" in w.value for w in at.warning)


# ---------------------------------------------------------------------------------- the uploader, in the browser


@pytest.mark.browser
def test_uploaded_file_names_are_shown_whole_at_800_pixels(page, app_url, v2_sample):  # noqa: F811
    """Streamlit's uploader cuts each file's name in its middle to fit its chip ("MQTT-DD…t.pcap.csv"; whole only in
    a tooltip, on hover), and has no option to show it whole: the names are now listed in full under it."""
    names = ["MQTT-DDoS-Publish_Flood_test.pcap.csv", "Recon-Ping_Sweep_test.pcap.csv"]
    open_app(page, app_url)
    page.set_viewport_size({"width": 800, "height": 1000})
    go_to(page, "Analyze traffic", "Analyze traffic")
    uploader = page.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files([str(v2_sample / "test" / n) for n in names])
    listed = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="2 files uploaded:")
    expect(listed).to_be_visible(timeout=SCORE_MS)
    text = listed.inner_text().replace("\n", " ")
    for name in names:
        assert name in text, text
    chips = uploader.locator('[data-testid="stFileChipName"]')
    expect(chips).to_have_count(2)
    # What the list makes up for (if Streamlit one day shows whole names, the list may go).
    assert any(n not in chips.all_inner_texts() for n in names), chips.all_inner_texts()
    box, page_width = listed.bounding_box(), page.viewport_size["width"]
    assert box["x"] + box["width"] <= page_width, "the list fits the page"


def test_uploaded_names_give_sizes_in_the_uploaders_units():
    """A 35-byte file was listed as "0.0 KB" under an uploader that said 35.0B."""
    from types import SimpleNamespace

    from dashboard.components import uploaded_names

    files = [SimpleNamespace(name=n, size=s) for n, s in (("a.csv", 35), ("b.csv", 210_700), ("c.csv", 12_345_678))]
    assert uploaded_names(files) == "3 files uploaded: a.csv (35 B), b.csv (210.7 KB), c.csv (12.3 MB)"
    many = [SimpleNamespace(name=f"f{i}.csv", size=1000) for i in range(14)]
    assert uploaded_names(many).endswith("f11.csv (1.0 KB), and 2 more files")
    assert uploaded_names([]) is None
