"""Attacks through a real browser (Chromium driven by Playwright) on the dashboard served by ``streamlit run``.

- File names that are HTML or Markdown are shown as literal text: no ``<img>`` element, no script
  dialog, no ``javascript:`` link; the rows counted on the page equal the rows in the files.
- An upload over the server's size limit is refused by the uploader before it reaches the app (a test
  server with ``--server.maxUploadSize 1`` stands in for the 1 GB limit; core's own limit, which refuses
  a 2 GB file before reading it, is tested in tests/core/test_security.py).
- Served on 0.0.0.0 the dashboard shows a sign-in form and nothing else until the right password.

Same setup as test_browser.py (Debian's chromium; skipped without it, failing under CI=true).
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time

import jwt
import pytest

from dashboard.accounts import add_user, load
from dashboard.serve import serve
from tests.conftest import ROOT
from tests.dashboard.test_browser import (  # noqa: F401  (browser and page are fixtures)
    ARTIFACTS,
    PAGE_MS,
    SCORE_MS,
    STARTUP_S,
    browser,
    expect,
    expect_metric,
    page,
    screenshot,
    wait_idle,
)

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>.csv"
MD_NAME = "[click](javascript:alert(1)) **bold** $x$ ![i](x).csv"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def small_registry(tmp_path_factory):
    """One small 6-class model and demo data (enough to score uploads)."""
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    base = tmp_path_factory.mktemp("browser-security")
    data = base / "demo"
    write_demo_dataset(data, layout="v2", rows_per_class=30, seed=5)
    models = base / "models"
    train_from_folder("rf", 6, str(data), params={"n_estimators": 5}, models_dir=str(models), name="sec-rf-6class")
    return models, data


@pytest.fixture(scope="module")
def small_upload_url(small_registry, tmp_path_factory):
    """A local server whose uploads are limited to 1 MB."""
    models, data = small_registry
    audit = tmp_path_factory.mktemp("audit")
    try:
        with serve(models, data, ARTIFACTS / "streamlit-security.log", startup_s=STARTUP_S,
                   extra_args=("--server.maxUploadSize", "1"), env={"IOMT_AUDIT_DIR": str(audit)}) as url:  # fmt: skip
            yield url, audit
    except RuntimeError as exc:
        pytest.fail(str(exc))


def open_analyze(pg, url: str) -> None:
    pg.goto(url + "/analyze")
    expect(pg.get_by_role("heading", name="Analyze traffic", exact=True)).to_be_visible(timeout=PAGE_MS)
    wait_idle(pg)


def no_injected_markup(pg, dialogs: list) -> None:
    """Nothing of the file names became markup or ran."""
    main = pg.locator('[data-testid="stMain"]')
    assert main.locator('img[src="x"]').count() == 0
    assert main.locator('a[href^="javascript"]').count() == 0
    assert main.locator("strong", has_text="bold").count() == 0
    assert main.locator(".katex").count() == 0
    assert dialogs == [], dialogs


def test_hostile_file_names_are_text_and_every_row_is_counted(page, small_upload_url, small_registry, tmp_path):  # noqa: F811
    url, audit_dir = small_upload_url
    _, data = small_registry
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # An unlabelled file with an HTML name (rows with inf and NaN too), next to an official labelled file.
    benign = data / "test" / "Benign_test.pcap.csv"
    lines = benign.read_text().splitlines()
    header, rows = lines[0], (lines[1:] * 25)[:25]
    rows[3] = ",".join(["inf", *rows[3].split(",")[1:]])
    rows[7] = ",".join(["nan", *rows[7].split(",")[1:]])
    hostile = tmp_path / XSS_NAME
    hostile.write_text("\n".join([header, *rows]) + "\n")
    expected_rows = 25 + (len(lines) - 1)

    open_analyze(page, url)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(hostile), str(benign)])
    # Both files read (the app may first rerun with one of them): the status line names the total.
    expect(page.get_by_text(f"Read and scored {expected_rows} rows with sec-rf-6class")).to_be_visible(timeout=SCORE_MS)
    expect(page.get_by_role("heading", name="How good were these predictions?")).to_be_visible(timeout=SCORE_MS)
    wait_idle(page)
    caption = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="No true class for")
    expect(caption).to_have_text(re.compile(re.escape(f"No true class for {XSS_NAME}: scored")), timeout=PAGE_MS)
    # Every row of both files scored; only the labelled file's rows evaluated (two separate counts).
    expect_metric(page, "Rows scored", f"{expected_rows:,}")
    expect_metric(page, "Rows evaluated", f"{len(lines) - 1:,}")
    no_injected_markup(page, dialogs)
    shot = screenshot(page, "10-security-hostile-name.png")
    assert shot.stat().st_size > 10_000

    # The predictions download: every row, in order, with its file and row number; recorded as an export.
    with page.expect_download(timeout=SCORE_MS) as download:
        page.get_by_role("button", name=f"Download these {expected_rows} predictions (CSV)").click()
    import pandas as pd

    exported = pd.read_csv(download.value.path())
    assert len(exported) == expected_rows
    assert list(exported["file"]) == [XSS_NAME] * 25 + [benign.name] * (expected_rows - 25)
    assert list(exported["row"]) == list(range(1, 26)) + list(range(1, expected_rows - 24))

    # A Markdown name on a file that is not a CSV: the error quotes the name as written.
    other = tmp_path / MD_NAME
    other.write_bytes(b"PK\x03\x04" + bytes(200))
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(other)])
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error).to_contain_text(f"{MD_NAME}: the file is a zip archive", timeout=SCORE_MS)
    wait_idle(page)
    no_injected_markup(page, dialogs)
    screenshot(page, "11-security-markdown-name.png")

    # The scoring was recorded: names, sizes and hashes of both files, not their contents.
    from core.audit import read_events

    scored = [e for e in read_events(audit_dir) if e["action"] == "scored"]
    assert scored and {f["name"] for f in scored[0]["files"]} == {XSS_NAME, benign.name}
    assert {f["size"] for f in scored[0]["files"]} == {hostile.stat().st_size, benign.stat().st_size}
    assert scored[0]["details"]["rows"] == expected_rows
    (export,) = [e for e in read_events(audit_dir) if e["action"] == "exported"]
    assert export["model"] == "sec-rf-6class" and export["details"]["rows"] == expected_rows


def test_upload_over_the_size_limit_is_refused(page, small_upload_url, tmp_path):  # noqa: F811
    url, _ = small_upload_url
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.write(b"Header_Length,Protocol Type\n")
        fh.write(b"1,2\n" * (600 * 1024))  # 2.4 MB against a 1 MB limit
    open_analyze(page, url)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(big)])
    uploader = page.locator('[data-testid="stFileUploader"]')
    expect(uploader).to_contain_text(re.compile(r"(must be|exceeds).{0,40}1(\.0)?\s?MB", re.I), timeout=PAGE_MS)
    wait_idle(page)
    assert page.locator('[data-testid="stMetric"]').count() == 0  # nothing was read or scored
    screenshot(page, "12-security-upload-too-big.png")


def test_network_mode_requires_sign_in(browser, small_registry, tmp_path):  # noqa: F811
    models, data = small_registry
    accounts = tmp_path / "accounts.yaml"
    add_user("alice", PASSWORD, path=accounts)
    env = {"IOMT_ACCOUNTS_FILE": str(accounts), "IOMT_AUDIT_DIR": str(tmp_path / "audit")}
    started = time.time()
    try:
        with serve(models, data, ARTIFACTS / "streamlit-network.log", startup_s=STARTUP_S, address="0.0.0.0",
                   env=env) as url:  # fmt: skip
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(PAGE_MS)
            try:
                pg = context.new_page()
                for path in ("/", "/analyze", "/models"):  # no page opens without signing in
                    pg.goto(url + path)
                    expect(pg.get_by_role("button", name="Sign in")).to_be_visible(timeout=PAGE_MS)
                    wait_idle(pg)
                    assert pg.locator('[data-testid="stSidebarNav"]').count() == 0
                    assert pg.get_by_role("heading", name="Analyze traffic").count() == 0
                    assert pg.get_by_role("heading", name="Saved models").count() == 0
                screenshot(pg, "13-security-sign-in.png")
                pg.get_by_label("User name").fill("alice")
                pg.get_by_label("Password", exact=True).fill("not the password")
                pg.get_by_role("button", name="Sign in").click()
                expect(pg.get_by_text("Wrong user name or password.")).to_be_visible(timeout=PAGE_MS)
                assert pg.locator('[data-testid="stSidebarNav"]').count() == 0
                pg.get_by_label("User name").fill("alice")
                pg.get_by_label("Password", exact=True).fill(PASSWORD)
                pg.get_by_role("button", name="Sign in").click()
                # the page asked for (/models, the last one opened) is the one shown, not the Overview
                expect(pg.get_by_role("heading", name="Saved models").first).to_be_visible(timeout=PAGE_MS)
                wait_idle(pg)
                assert pg.url.endswith("/models")
                expect(pg.locator('[data-testid="stSidebar"]')).to_contain_text("Signed in as alice", timeout=PAGE_MS)
                screenshot(pg, "14-security-signed-in.png")
                # The sign-in cookie, copied into another browser, signs in there without the password...
                stolen = _sign_in_cookie(pg)
                made = jwt.decode(stolen[0]["value"], load(accounts)["cookie"]["key"], algorithms=["HS256"])["made"]
                assert started <= made <= time.time(), "the cookie says when it was made"
                assert _opens_signed_in(browser, url, stolen)
                # ... until alice signs out: then the copy is refused, and the password asked for
                pg.get_by_role("button", name="Sign out").click()
                expect(pg.get_by_role("button", name="Sign in")).to_be_visible(timeout=PAGE_MS)
                assert not _opens_signed_in(browser, url, stolen, shot="15-security-stale-cookie.png")
            finally:
                context.close()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    from core.audit import read_events

    events = [(e["action"], e.get("user"), (e.get("details") or {}).get("account"))
              for e in read_events(tmp_path / "audit")]  # fmt: skip
    assert events == [("sign-in refused", None, "alice"), ("signed out", "alice", None), ("signed in", "alice", None),
                      ("signed in", "alice", None), ("sign-in failed", None, "alice")], "newest first"  # fmt: skip


def _sign_in_cookie(pg) -> list:
    """The browser's sign-in cookie (as a one-cookie list), waited for: the page sets it from a component."""
    for _ in range(PAGE_MS // 250):
        cookies = [c for c in pg.context.cookies() if c["name"] == "iomt_dashboard_auth"]
        if cookies:
            return cookies
        pg.wait_for_timeout(250)
    raise AssertionError("the sign-in cookie was never set in the browser")


def _opens_signed_in(browser, url: str, cookies: list, shot: str | None = None) -> bool:  # noqa: F811
    """Whether a fresh browser holding only ``cookies`` opens the Models page signed in (else: the sign-in form)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(PAGE_MS)
    try:
        context.add_cookies(cookies)
        pg = context.new_page()
        pg.goto(url + "/models")
        signed_in = pg.get_by_role("heading", name="Saved models").or_(pg.get_by_role("button", name="Sign in"))
        expect(signed_in.first).to_be_visible(timeout=PAGE_MS)  # (a rerun may draw the heading twice for a while)
        wait_idle(pg)
        if shot:
            screenshot(pg, shot)
        return pg.get_by_role("heading", name="Saved models").count() > 0
    finally:
        context.close()


def test_artifacts_folder_is_ignored_by_git():
    assert "tests/artifacts/" in (ROOT / ".gitignore").read_text()
