"""Train page, fourth hunt, in a real browser: what the page kept of a run once the analyst had left it.

Found: an analyst uploaded files, started a run and looked at *Models* while it trained. Back on *Train*, the page
showed the defaults (demo data, 6 classes, the improved CNN) under the saved run's outcome, and the uploader was
empty: Streamlit forgets the state of widgets not drawn, and an uploader cannot be given files back. Training another
model on the same files meant choosing every setting and uploading every file again.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.loaders import KEY_TRAIN_JOB
from tests.dashboard.test_browser import (  # noqa: F401 (browser, page: fixtures)
    PAGE_MS,
    browser,
    choose,
    expect,
    go_to,
    open_app,
    page,
    screenshot,
    streamlit_app,
    wait_idle,
)
from tests.dashboard.test_train_page import registry, shown_settings  # noqa: F401 (registry: a fixture)

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
UPLOADS = ("Benign_train.pcap.csv", "ARP_Spoofing_train.pcap.csv")


@pytest.fixture(scope="module")
def served(demo_dir, tmp_path_factory):
    """The app over a registry of its own (empty at first): this module's runs save models in it."""
    models = tmp_path_factory.mktemp("train-hunt4-models")
    with streamlit_app(models, demo_dir, "streamlit-train-hunt4.log") as url:
        yield url, models


def _start(page, name: str) -> None:  # noqa: F811
    box = page.get_by_role("textbox", name="Model name")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()


def _saved(page, name: str):  # noqa: F811
    return page.locator('[data-testid="stAlertContentSuccess"]').filter(has_text=f"Saved {name}")


def _wait_for_file(page, path: Path, timeout_s: float = 120) -> None:  # noqa: F811
    for _ in range(int(timeout_s * 2)):
        if path.is_file():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"{path} not written within {timeout_s} s")


def test_uploads_and_settings_are_offered_again_after_the_page_was_left(page, served, demo_dir):  # noqa: F811
    url, models = served
    files = [demo_dir / "train" / name for name in UPLOADS]
    open_app(page, url)
    go_to(page, "Train", "Train a model")
    page.get_by_text("Upload CSV files", exact=True).click()
    wait_idle(page)
    choose(page, "Task", "2 classes")
    wait_idle(page)
    choose(page, "Model family", "Logistic regression")
    wait_idle(page)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files([str(f) for f in files])
    expect(page.get_by_text(re.compile(r"^2 files uploaded: "))).to_be_visible(timeout=PAGE_MS)
    wait_idle(page)
    _start(page, "first-upload")
    expect(page.get_by_text(re.compile(r"^(Training|Saved) first-upload")).first).to_be_visible(timeout=PAGE_MS)
    go_to(page, "Models", "Saved models")  # away while it trains (or saves)
    _wait_for_file(page, models / "first-upload" / "metadata.json")
    go_to(page, "Train", "Train a model")
    expect(_saved(page, "first-upload")).to_be_visible(timeout=PAGE_MS)
    wait_idle(page)

    # The run's settings, not the defaults.
    expect(page.get_by_role("radio", name="Upload CSV files")).to_be_checked()
    expect(page.get_by_role("combobox", name="Task", exact=True)).to_have_value(re.compile("^2 classes"))
    expect(page.get_by_role("combobox", name="Model family", exact=True)).to_have_value("Logistic regression")
    # The uploader is empty (Streamlit's), and the run's files are offered, named whole.
    reuse = page.get_by_role("checkbox", name="Train on the files of the last run again")
    expect(reuse).to_be_checked()
    expect(page.get_by_text(re.compile(r"^2 files uploaded: Benign_train\.pcap\.csv .*ARP_Spoofing"))).to_be_visible()
    screenshot(page, "16-train-files-of-the-last-run.png")

    _start(page, "second-upload")
    expect(_saved(page, "second-upload")).to_be_visible(timeout=120_000)
    first, second = (json.loads((models / n / "metadata.json").read_text()) for n in ("first-upload", "second-upload"))
    assert (second["family"], second["task"]) == ("lr", 2)
    assert second["data"]["train_fingerprint_sha256"] == first["data"]["train_fingerprint_sha256"]
    assert second["data"]["train_rows"] == first["data"]["train_rows"] > 0

    # Unticked, the files are not used: Start asks for files, and nothing is trained.
    page.get_by_text("Train on the files of the last run again", exact=True).click()
    wait_idle(page)
    _start(page, "third-upload")
    wait_idle(page)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(1)
    assert not (models / "third-upload").exists()


def test_settings_of_a_run_that_ended_while_the_page_was_left_are_shown_again(registry, demo_dir, tmp_path,  # noqa: F811
                                                                               monkeypatch):  # fmt: skip
    """The run ends while *Models* is shown: back on *Train*, its settings, not the defaults; its name (taken by the
    saved model) is not given back."""
    folder = shutil.copytree(demo_dir, tmp_path / "capture")  # a data folder other than the demo's
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tmp_path))
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.switch_page("views/train.py").run()
    at.radio(key="train_source").set_value("A data folder").run()
    at.text_input(key="train_folder").input(str(folder)).run()
    at.selectbox(key="train_task").set_value(2)
    at.selectbox(key="train_family").set_value("rf").run()
    at.number_input(key="train_trees_rf").set_value(7)
    at.number_input(key="train_cap").set_value(300)
    at.number_input(key="train_seed").set_value(5)
    at.text_input(key="train_name").input("away").run()
    chosen = shown_settings(at, "rf")
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    job = at.session_state[KEY_TRAIN_JOB]
    at.switch_page("views/models.py").run()
    assert job.wait(120) and job.state == "done", job.error
    at.switch_page("views/train.py").run()
    assert not at.exception, at.exception
    assert shown_settings(at, "rf") == chosen == {"source": "A data folder", "task": 2, "family": "rf", "cap": 300,
                                                  "validation": 0.1, "refit": False, "seed": 5}  # fmt: skip
    assert at.text_input(key="train_folder").value == str(folder)
    assert at.number_input(key="train_trees_rf").value == 7
    assert at.text_input(key="train_name").value == ""  # "away" is saved: Start again must not be refused for it
    assert any("Saved **away**" in s.value for s in at.success)
