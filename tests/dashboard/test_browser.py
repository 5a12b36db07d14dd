"""End to end: the dashboard served by ``streamlit run`` and driven in a real Chromium (Playwright).

The app runs in a subprocess on a free port, pointed at the session's registry of small real
models (``demo_models_dir``) and demo data (``demo_dir``). The tests click through the pages as a
user would: Analyze scores real CICIoMT2024 test files uploaded through the file input, Compare
scores two saved models on the demo data's test split. A screenshot of each page is saved under
``tests/artifacts/`` (git-ignored) for a person to look at.

Needs Debian's ``chromium`` (Playwright's own browsers are not downloaded): the tests skip
without it, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.serve import serve
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 1000}
STARTUP_S = 60  # the server must answer its health check within this
PAGE_MS = 60_000  # a page's first draw
SCORE_MS = 120_000  # reading and scoring, on a loaded 2-core machine
#: Real test files of the shared v2 sample: two DDoS floods, benign, a scan and an MQTT flood.
UPLOADS = ["TCP_IP-DDoS-ICMP1_test.pcap.csv", "TCP_IP-DDoS-SYN_test.pcap.csv", "Benign_test.pcap.csv",
           "Recon-Port_Scan_test.pcap.csv", "MQTT-DDoS-Connect_Flood_test.pcap.csv"]  # fmt: skip
#: Titles of the pages in the sidebar, as dashboard/app.py names them.
PAGE_TITLES = ["Overview", "Analyze traffic", "Compare models", "Train", "Models", "Batch results", "Audit log"]


def _missing(message: str) -> None:
    """Skip, or under CI=true fail (the policy of tests/conftest.py's require_shared)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; under CI=true the browser tests must run")
    pytest.skip(message)


# ---------------------------------------------------------------------------------- the server


@contextmanager
def streamlit_app(models_dir: Path, demo_dir: Path, log_name: str) -> Iterator[str]:
    """Serve the app (``dashboard.serve``); its output goes to ``tests/artifacts/<log_name>``."""
    try:
        with serve(models_dir, demo_dir, ARTIFACTS / log_name, startup_s=STARTUP_S) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def app_url(demo_models_dir, demo_dir) -> Iterator[str]:
    with streamlit_app(demo_models_dir, demo_dir, "streamlit.log") as url:
        yield url


# ---------------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        _missing("chromium not found on PATH (Debian: apt-get install chromium); Playwright's browsers are not used")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -r requirements-dev.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, request):
    """A fresh browser tab; when the test fails, the page as it was is saved as ``FAILED-<test>.png``."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(PAGE_MS)
    pg = context.new_page()
    failed_before = request.session.testsfailed
    try:
        yield pg
        if request.session.testsfailed > failed_before:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    finally:
        context.close()


def expect(locator_or_page):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator_or_page)


def wait_idle(page, timeout: int = SCORE_MS) -> None:
    """Wait until the script run has ended (the app root says ``notRunning``)."""
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1, timeout=timeout)


def assert_no_errors(page) -> None:
    """No Streamlit exception box (a traceback) and no error message on the page."""
    for testid in ("stException", "stAlertContentError"):
        boxes = page.locator(f'[data-testid="{testid}"]')
        texts = boxes.all_inner_texts()
        assert not texts, f"{testid} on {page.url}:\n" + "\n---\n".join(texts)


def screenshot(page, name: str) -> Path:
    """The whole page (the app scrolls inside its main pane, so the viewport is stretched to fit)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 15000))})
    try:
        wait_idle(page)
        page.evaluate("() => document.activeElement?.blur()")  # no focus ring on the last widget used
        page.mouse.move(0, 0)  # no tooltip
        page.wait_for_timeout(500)  # let charts re-lay out to the new size
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(VIEWPORT)
    return path


def open_app(page, url: str) -> None:
    """The app's home page, once drawn."""
    page.goto(url + "/")
    expect(page.get_by_role("heading", name="IoMT attack detection")).to_be_visible()
    wait_idle(page)


def go_to(page, title: str, heading: str) -> None:
    """Follow the sidebar link ``title``; wait for the page's ``heading`` and the end of its run."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    wait_idle(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` (a substring of its text) in the select box labelled ``label``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name=label, exact=True)
    item = page.get_by_role("option").filter(has_text=option).first
    for _ in range(3):  # a rerun that had not begun when the page looked idle redrew the box and closed its list
        box.click()
        try:
            item.wait_for(state="visible", timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
    item.click()
    expect(box).to_have_value(re.compile(re.escape(option)))


def metric_locator(page, label: str):
    """The value of every metric labelled ``label``."""
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    )
    return metric.locator('[data-testid="stMetricValue"]')


def metric_value(page, label: str) -> str:
    value = metric_locator(page, label)
    expect(value).to_have_count(1)
    return value.inner_text().strip()


def expect_metric(page, label: str, value: str) -> None:
    """The one metric labelled ``label`` shows ``value`` (waits out a rerun that is still redrawing)."""
    expect(metric_locator(page, label)).to_have_text([value], timeout=PAGE_MS)


def plot_titled(page, title: str):
    """The Plotly chart whose title starts with ``title``."""
    return page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=title))


# ---------------------------------------------------------------------------------- the tests


def test_overview(page, app_url):
    open_app(page, app_url)
    nav = page.locator('a[data-testid="stSidebarNavLink"]')
    expect(nav).to_have_count(len(PAGE_TITLES))
    for link, title in zip(nav.all(), PAGE_TITLES):
        expect(link).to_contain_text(title)
    expect(page.get_by_role("heading", name="Saved models and how good they are")).to_be_visible()
    expect(page.get_by_role("tab", name=re.compile(r"^6 classes"))).to_be_visible()
    expect(plot_titled(page, "Saved models").first).to_be_visible()
    expect(page.get_by_role("button", name="Download the demo CSV")).to_be_visible()
    # Streamlit offers a "Deploy" (publish to its cloud) button on localhost unless told otherwise.
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    assert_no_errors(page)
    screenshot(page, "01-overview.png")


def test_analyze_scores_real_uploads(page, app_url, v2_sample):
    files = [v2_sample / "test" / name for name in UPLOADS]
    for f in files:
        assert f.is_file(), f
    open_app(page, app_url)
    go_to(page, "Analyze traffic", "Analyze traffic")
    expect(page.get_by_text("Upload one or more CSV files")).to_be_visible()
    assert_no_errors(page)
    screenshot(page, "02-analyze.png")

    choose(page, "Task", "6 classes")
    # Just after the click the app may still read "not running" before its rerun starts: wait until the
    # model box lists a 6-class model, or opening it races the rerun that replaces it.
    model_box = page.get_by_role("combobox", name="Model (best test macro-F1 first)", exact=True)
    expect(model_box).to_have_value(re.compile(r"^test-\S+-6class ·"), timeout=SCORE_MS)
    wait_idle(page)
    choose(page, "Model (best test macro-F1 first)", "test-rf-6class")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(f) for f in files])
    expect(page.get_by_role("heading", name="How good were these predictions?")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    assert_no_errors(page)
    expect(page.get_by_text(re.compile(r"Read and scored [\d,]+ rows with test-rf-6class"))).to_be_visible()

    # What the model found, then the evaluation: headline metrics, confusion matrix, per-class table.
    rows = int(metric_value(page, "Rows scored").replace(",", ""))
    assert rows > 1000
    expect_metric(page, "Rows evaluated", f"{rows:,}")  # every uploaded file is an official, labelled one
    for label in ("Macro-F1", "Weighted-F1", "Accuracy"):
        value = metric_value(page, label)
        assert re.fullmatch(r"[01]\.\d{3}", value), (label, value)
    expect(page.get_by_role("tab", name="Confusion matrix")).to_be_visible()
    confusion = plot_titled(page, "Confusion matrix")
    expect(confusion.first).to_be_visible()
    expect(confusion.first.locator(".hm").first).to_be_attached()
    for cls in ("Benign", "DDoS", "Recon", "MQTT"):
        expect(
            confusion.first.locator(".xtick, .ytick").filter(has_text=re.compile(rf"^{cls}$")).first
        ).to_be_attached()
    screenshot(page, "03-analyze-scored.png")

    page.get_by_role("tab", name="Per class").click()
    panel = page.get_by_role("tabpanel").filter(has=page.locator('[data-testid="stDataFrame"]'))
    expect(panel.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    expect(plot_titled(page, "Per-class").first).to_be_visible()
    assert_no_errors(page)
    screenshot(page, "04-analyze-per-class.png")

    # A look at the demo traffic and back: the uploads are still there, scored (they had to be uploaded again).
    page.get_by_text("Demo traffic (synthetic)").first.click()
    expect(page.get_by_text(f"Your uploaded files ({len(files)}), kept for when you switch back")).to_be_visible(
        timeout=SCORE_MS
    )
    wait_idle(page)
    page.get_by_text("Upload CSV files").first.click()
    expect(page.get_by_text(re.compile(r"Read and scored [\d,]+ rows with test-rf-6class"))).to_be_visible(
        timeout=SCORE_MS
    )
    wait_idle(page)
    expect_metric(page, "Rows scored", f"{rows:,}")
    assert_no_errors(page)


def test_compare_two_models(page, app_url):
    open_app(page, app_url)
    go_to(page, "Compare models", "Compare models")
    choose(page, "Task", "6 classes")
    expect(page.get_by_role("radio", name="Test split of a data folder")).to_be_checked()
    # Keep exactly two models: the random forest and the logistic regression.
    models = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Models")
    for extra in models.locator("[data-tag] [title]").all_inner_texts():
        if extra not in ("test-rf-6class", "test-lr-6class"):
            page.get_by_role("button", name=f"Remove {extra}").click()
            wait_idle(page)
    tags = models.locator("[data-tag] [title]")
    expect(tags).to_have_count(2)
    assert sorted(tags.all_inner_texts()) == ["test-lr-6class", "test-rf-6class"]
    expect(page.get_by_text("detects best")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    assert_no_errors(page)
    expect(plot_titled(page, "Model comparison").first).to_be_visible()
    heatmap = plot_titled(page, "Per-class F1 by model")
    expect(heatmap.first).to_be_visible()
    expect(heatmap.first.locator(".ytick").filter(has_text="test-rf-6class").first).to_be_attached()
    expect(heatmap.first.locator(".ytick").filter(has_text="test-lr-6class").first).to_be_attached()
    expect(plot_titled(page, "Confusion matrix")).to_have_count(2)
    screenshot(page, "05-compare.png")
    # The comparison as a report: both models ranked, each in plain words, opening without internet.
    with page.expect_download(timeout=SCORE_MS) as download:
        page.get_by_role("button", name="Download report (HTML)").click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == "comparison-report.html"
    assert re.search(r"On these [\d,]+ flows, test-(rf|lr)-6class \(\w+\) detects best: macro-F1 [\d.]+, ahead of "
                     r"test-(rf|lr)-6class", html)  # fmt: skip
    assert "test-rf-6class: results in plain words" in html and "test-lr-6class: results in plain words" in html
    assert not re.search(r"<script[^>]+src=", html), "opens without internet: no external script"


def test_compare_opens_saved_results(page, app_url, v2_sample, tmp_path):
    """A results.json written by benchmark-models on real rows, opened in the browser: tables, charts and the data
    note saying which test rows training labels otherwise."""
    from core.compare import run_benchmark, write_results

    # adaboost with no estimators fails in scikit-learn: the results record that job as failed, and the page says so
    results = run_benchmark(v2_sample, families=("lr", "rf", "adaboost"), tasks=(19,), max_rows_per_class=100,
                            params={"rf": {"n_estimators": 10}, "adaboost": {"n_estimators": 0}})  # fmt: skip
    (failure,) = results.failures
    assert failure.family == "adaboost"
    _, saved_json = write_results(results, tmp_path)
    open_app(page, app_url)
    go_to(page, "Compare models", "Compare models")
    saved = page.locator('[data-testid="stExpander"]').filter(has_text="Open saved comparison results")
    saved.get_by_text("Open saved comparison results").click()
    saved.locator('input[type="file"]').set_input_files(str(saved_json))
    expect(saved.get_by_text("Saved results: results.json")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    assert not page.locator('[data-testid="stException"]').count()
    failed = page.locator('[data-testid="stAlertContentError"]')
    assert [t.removeprefix("⚠️").strip() for t in failed.all_inner_texts()] == [
        f"adaboost failed: {failure.message}\n\nWhat to do: {failure.hint}"]  # fmt: skip
    assert "n_estimators" in failure.message and "check the settings given to adaboost" in failure.hint
    expect(saved.get_by_text("The file holds no results for the 2-class and 6-class tasks.")).to_be_visible()
    expect(saved.get_by_text(re.compile(r"occur there only under other classes"))).to_be_visible()
    expect(plot_titled(page, "Model comparison").last).to_be_visible()
    expect(saved.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    screenshot(page, "05b-compare-saved-results.png")


def test_train_page(page, app_url, demo_models_dir):
    open_app(page, app_url)
    go_to(page, "Train", "Train a model")
    expect(page.get_by_role("radio", name="Demo data")).to_be_checked()
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    expect(page.get_by_role("combobox", name="Model family")).to_be_visible()
    assert_no_errors(page)
    screenshot(page, "06-train.png")

    # A real run of the default family through the served app's worker process: 1 epoch, 100 rows per class.
    name = "browser-trained"
    try:
        for label, value in (("Epochs", "1"), ("Rows per class (0 = all)", "100")):
            box = page.get_by_role("spinbutton", name=label)
            box.fill(value)
            box.press("Enter")
            wait_idle(page)
        page.get_by_role("textbox", name="Model name").fill(name)
        page.get_by_role("textbox", name="Model name").press("Enter")
        wait_idle(page)
        page.get_by_role("button", name="Start training").click()
        done = page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=f"Saved {name}")
        expect(done).to_be_visible(timeout=240_000)
        wait_idle(page)
        assert_no_errors(page)
        screenshot(page, "06b-train-done.png")
        meta = json.loads((demo_models_dir / name / "metadata.json").read_text())
        assert meta["family"] == "cnn" and meta["data"]["refit"]["epochs"] == 1
    finally:  # the registry is shared with the tests that follow
        shutil.rmtree(demo_models_dir / name, ignore_errors=True)


def test_models_page(page, app_url):
    open_app(page, app_url)
    go_to(page, "Models", "Saved models")
    expect(page.get_by_text(re.compile(r"\d+ models in"))).to_be_visible()
    expect(page.get_by_role("combobox", name="Model card")).to_be_visible()
    expect(page.get_by_role("tab", name="Scores")).to_be_visible()
    expect(page.get_by_role("button", name="Delete this model…")).to_be_visible()
    assert_no_errors(page)
    screenshot(page, "07-models.png")


def test_deep_link_on_a_fresh_server(browser, demo_models_dir, demo_dir):
    """A fresh server whose first visit opens a page URL still runs the app's router (sidebar titles)."""
    with streamlit_app(demo_models_dir, demo_dir, "streamlit-deep-link.log") as url:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(PAGE_MS)
        try:
            page = context.new_page()
            page.goto(url + "/analyze")
            expect(page.get_by_role("heading", name="Analyze traffic", exact=True)).to_be_visible()
            wait_idle(page)
            nav = page.locator('a[data-testid="stSidebarNavLink"]')
            assert [t.split("\n")[-1].strip() for t in nav.all_inner_texts()] == PAGE_TITLES
        finally:
            context.close()


def _shot_from(page, heading: str, name: str) -> Path:
    """A viewport-sized screenshot starting at the heading ``heading`` (a section of a long page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("heading", name=heading, exact=True).first.scroll_into_view_if_needed()
    page.get_by_role("heading", name=heading, exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
    wait_idle(page)
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def test_explanations_threshold_and_report_export(page, app_url):
    open_app(page, app_url)
    go_to(page, "Analyze traffic", "Analyze traffic")
    page.get_by_text("Demo traffic (synthetic)", exact=True).click()
    wait_idle(page)
    choose(page, "Task", "6 classes")
    model_box = page.get_by_role("combobox", name="Model (v2 models, best test macro-F1 first)", exact=True)
    expect(model_box).to_have_value(re.compile(r"^test-\S+-6class ·"), timeout=SCORE_MS)
    wait_idle(page)
    choose(page, "Model (v2 models, best test macro-F1 first)", "test-rf-6class")
    expect(page.get_by_role("heading", name="Why the model decides as it does")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    page.get_by_text("Measure which features matter", exact=False).first.click()
    expect(plot_titled(page, "Which features matter most").first).to_be_visible(timeout=SCORE_MS)
    expect(plot_titled(page, "Why this flow was classed as").first).to_be_visible()
    expect(plot_titled(page, "What sets").first).to_be_visible()
    assert_no_errors(page)
    _shot_from(page, "Which features matter", "08-explain-importance.png")
    _shot_from(page, "Why this flow", "09-explain-flow.png")
    _shot_from(page, "What marks each attack", "09b-explain-classes.png")

    # One click exports the report: a self-contained HTML file with the numbers in words.
    with page.expect_download(timeout=SCORE_MS) as download:
        page.get_by_role("button", name="Download report (HTML)").click()
    html = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == "report-test-rf-6class.html"
    assert "Traffic analysis with test-rf-6class" in html
    assert re.search(
        r"Of 2,800 flows whose true class is known, [\d,]+ \([\d.]+%\) were recognised as their true "
        r"class",
        html,
    )
    assert "were correctly recognised as DDoS" in html and "Caveats about the data" in html
    assert "Which features the model relies on" in html
    assert not re.search(r"<script[^>]+src=", html), "opens without internet: no external script"
    ARTIFACTS.joinpath("report-demo-rf-6class.html").write_text(html, encoding="utf-8")
    with page.expect_download(timeout=SCORE_MS) as download:
        page.get_by_role("button", name="Download report (PDF)").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.joinpath("report-demo-rf-6class.pdf").write_bytes(pdf)

    # A 2-class model: the alarm threshold with its live cost.
    page.get_by_role("heading", name="Analyze traffic", exact=True).scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    wait_idle(page)
    choose(page, "Task", "2 classes")
    expect(model_box).to_have_value(re.compile(r"^test-\S+-2class ·"), timeout=SCORE_MS)
    wait_idle(page)
    choose(page, "Model (v2 models, best test macro-F1 first)", "test-rf-2class")
    expect(page.get_by_role("heading", name="Where to set the alarm")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    assert re.fullmatch(r"[\d,]+\.\d", metric_value(page, "False alarms per 10,000 benign flows"))
    assert re.fullmatch(r"[\d,]+ \([\d.]+%\)", metric_value(page, "Attacks missed"))
    expect(page.get_by_role("button", name="Save this threshold with the model")).to_be_visible()
    expect(plot_titled(page, "ROC (area").first).to_be_visible()
    expect(plot_titled(page, "Precision-recall (average precision").first).to_be_visible()
    assert_no_errors(page)
    _shot_from(page, "Where to set the alarm", "10-alarm-threshold.png")
