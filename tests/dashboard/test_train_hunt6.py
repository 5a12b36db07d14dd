"""Train page, in a real Chromium: Start clicked while CSV files are still uploading.

Streamlit hands the page only the files that have finished uploading (files dropped together: none until all have),
and the server gets no sign of one still on its way. Start used to train on the files that had arrived, leaving out
a large one still uploading without a word, and with the only file still uploading said "no CSV files uploaded".
Here an upload is held in the browser (its request is not let through) to stand for a large file on a slow link.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.dashboard.test_browser import (  # noqa: F401 (browser, page: fixtures)
    browser,
    expect,
    page,
    streamlit_app,
    wait_idle,
)

pytestmark = pytest.mark.browser

UPLOAD = "**/_stcore/upload_file/**"


@pytest.fixture(scope="module")
def train_url(demo_dir, tmp_path_factory) -> Iterator[str]:
    with streamlit_app(tmp_path_factory.mktemp("models-hunt6"), demo_dir, "streamlit-hunt6.log") as url:
        yield url


def _open_uploads(pg, url: str) -> None:
    pg.goto(url + "/train")
    expect(pg.get_by_role("heading", name="Train a model", exact=True)).to_be_visible()
    wait_idle(pg)
    pg.get_by_text("Upload CSV files", exact=True).click()
    expect(_uploader(pg)).to_have_count(1)
    wait_idle(pg)


def _hold_uploads(pg) -> list:
    """From now on, uploads are held (never sent) until their routes are let through: a file still uploading."""
    held = []
    pg.route(UPLOAD, lambda route: held.append(route) if route.request.method == "PUT" else route.continue_())
    return held


def _wait_held(pg, held: list, n: int) -> None:
    for _ in range(100):
        if len(held) >= n:
            return
        pg.wait_for_timeout(100)
    pytest.fail(f"{n} uploads were not started")


def _uploader(pg):
    return pg.locator('[data-testid="stFileUploaderDropzoneInput"]')


def test_start_while_the_only_file_uploads(page, train_url, demo_dir):  # noqa: F811
    _open_uploads(page, train_url)
    held = _hold_uploads(page)
    _uploader(page).set_input_files(str(demo_dir / "train" / "Benign_train.pcap.csv"))
    _wait_held(page, held, 1)
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)
    # Refused, saying why in words that fit: the file was uploaded, it has not finished.
    expect(page.get_by_text("no CSV file uploaded, or none has finished uploading")).to_be_visible()
    expect(page.get_by_text("no CSV files uploaded")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^Start reads the files once they have finished uploading"))).to_be_visible()
    for route in held:
        route.continue_()
    expect(page.get_by_text(re.compile(r"^Start trains on 1 file: Benign_train\.pcap\.csv\."))).to_be_visible()


def test_start_while_a_later_file_uploads(page, train_url, demo_dir):  # noqa: F811
    """Two files uploaded, a third still on its way: Start names the two it reads, and says the third is not read."""
    train = demo_dir / "train"
    _open_uploads(page, train_url)
    _uploader(page).set_input_files([str(train / "Benign_train.pcap.csv"), str(train / "ARP_Spoofing_train.pcap.csv")])
    ready = page.get_by_text(re.compile(r"^Start trains on 2 files: Benign_train\.pcap\.csv and ARP_Spoofing_train"))
    expect(ready).to_be_visible()
    wait_idle(page)
    held = _hold_uploads(page)
    _uploader(page).set_input_files(str(train / "Recon-Port_Scan_train.pcap.csv"))
    _wait_held(page, held, 1)
    # Above Start, where it is clicked: the two files it reads, and that one still uploading is not among them.
    expect(ready).to_be_visible()
    expect(ready).to_contain_text("A file still uploading (a spinner in place of its icon) is not among them")
    page.get_by_role("button", name="Start training").click()
    # The run reads those two (a file arriving while it runs does not reach the server: its uploader is disabled).
    expect(page.get_by_text("Training on Benign_train.pcap.csv, ARP_Spoofing_train.pcap.csv")).to_be_visible()
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_text(re.compile("was cancelled"))).to_be_visible(timeout=60_000)
    for route in held:
        route.continue_()
