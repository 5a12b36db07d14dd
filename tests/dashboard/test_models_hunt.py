"""Models and Overview pages: what an analyst or an administrator meets with a registry that is not as expected (a
models folder that is missing, model folders damaged in ways the loader lets through, a model saved by a newer
version of the tool). AppTest through the router, real small models from the shared fixtures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.escape import md
from tests.dashboard.test_overview_page import NEXT_PAGES

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def _page(which: str, name: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    if which == "models":
        at.switch_page("views/models.py").run()
        if name is not None:
            at.selectbox(key="models_selected").set_value(name).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _messages(at: AppTest) -> str:
    return " ".join(m.value for kind in ("info", "warning", "error", "caption") for m in getattr(at, kind))


def _edit(folder: Path, change) -> None:
    path = folder / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_a_models_folder_that_does_not_exist_is_named_on_both_pages(tmp_path, monkeypatch, demo_dir):
    """With $IOMT_MODELS_DIR mistyped, both pages said only 'No model is saved yet. Train one...': an administrator
    could not tell which folder was read, nor that it does not exist (training would save models where no one looks
    for them)."""
    missing = tmp_path / "modles"
    monkeypatch.setenv("IOMT_MODELS_DIR", str(missing))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    for which in ("overview", "models"):
        text = _messages(_page(which))
        assert md(missing) in text and "does not exist" in text and "`IOMT_MODELS_DIR`" in text, (which, text)
    not_a_folder = tmp_path / "models.txt"
    not_a_folder.write_text("x")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(not_a_folder))
    for which in ("overview", "models"):
        text = _messages(_page(which))
        assert md(not_a_folder) in text and "is a file, not a folder" in text, (which, text)
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("IOMT_MODELS_DIR", str(empty))
    for which in ("overview", "models"):
        text = _messages(_page(which))
        assert "No model is saved yet" in text and md(empty) in text and "does not exist" not in text, (which, text)


def test_a_card_whose_stored_scores_lack_the_details_shows_what_is_there(demo_models_dir, tmp_path, monkeypatch,
                                                                          demo_dir):  # fmt: skip
    """A metadata.json whose test scores hold only the three headline numbers (written by hand, or by another tool)
    passes the loader's checks and is listed with its macro-F1, but its card ended in a traceback (EvaluationReport
    missing 9 arguments), with no Delete button below it."""
    registry = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-6class", registry / "lean")
    _edit(registry / "lean", lambda m: m["metrics"].update(test={"macro_f1": 0.812, "weighted_f1": 0.9,
                                                                "accuracy": 0.95}))  # fmt: skip
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = _page("models", "lean")
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Macro-F1": "0.812", "Weighted-F1": "0.900", "Accuracy": "0.950"}
    assert any("per-class scores and confusion matrix were not saved" in i.value for i in at.info)
    assert "models_delete" in [b.key for b in at.button]


def test_a_card_with_a_damaged_part_shows_the_rest_and_can_still_be_deleted(demo_models_dir, tmp_path, monkeypatch,
                                                                            demo_dir):  # fmt: skip
    """Parts of metadata.json the loader does not check (the refit, the repair counts, the library versions) ended
    the card in a traceback when edited by hand or written by another version: the other tabs and the Delete button
    were gone with it."""
    registry = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-6class", registry / "odd")

    def damage(meta):
        meta["data"]["refit"] = {"epochs": 3}  # no "rows"
        meta["data"]["train_cells_repaired"] = 5  # not an object
        meta["library_versions"] = ["scikit-learn 1.9"]  # not an object

    _edit(registry / "odd", damage)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = _page("models", "odd")
    problems = [e.value for e in at.error if "could not be shown" in e.value]
    assert len(problems) == 2 and all("metadata.json" in p for p in problems), [e.value for e in at.error]
    assert {m.label for m in at.metric} >= {"Macro-F1", "Weighted-F1"}, "the Scores tab is still shown"
    assert any("Trees (n_estimators)" in set(d.value.get("item", [])) for d in at.dataframe), "and the parameters"
    at.button(key="models_delete").click().run()
    at.button(key="models_delete_yes").click().run()
    assert not at.exception and not (registry / "odd").exists()


def test_a_model_saved_by_a_newer_version_is_not_called_damaged_nor_advised_for_deleting(demo_models_dir, tmp_path,
                                                                                         monkeypatch, demo_dir):  # fmt: skip
    """A registry shared with a newer installation holds models in a newer format, or of a family this version does
    not know. The Models page called each a folder that 'could not be read as a model' and advised 'delete it if it
    is not being written right now': an administrator following it would destroy a good model."""
    from core.pipeline import FORMAT_VERSION

    registry = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-2class", registry / "usable")
    shutil.copytree(demo_models_dir / "test-rf-6class", registry / "next-format")
    _edit(registry / "next-format", lambda m: m.update(format_version=FORMAT_VERSION + 1))
    shutil.copytree(demo_models_dir / "test-rf-6class", registry / "next-family")
    _edit(registry / "next-family", lambda m: m.update(family="quantum-forest"))
    (registry / "broken").mkdir()
    (registry / "broken" / "metadata.json").write_text("{not json")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = _page("models")
    for name in ("next-format", "next-family"):
        (text,) = [w.value for w in at.warning if f"**{md(name)}**" in w.value]
        assert "newer version of this tool" in text and "update" in text, text
        assert "delete it if it is not being written" not in text, text
    (broken,) = [w.value for w in at.warning if "**broken**" in w.value]
    assert "delete it if it is not being written right now" in broken, "a truly damaged folder keeps its advice"
    text = " ".join(w.value for w in _page("overview").warning)
    assert "newer version of this tool" in text and "next-format" in text


def test_the_overview_says_how_many_folders_are_unusable_in_words_and_where_to_mend_them(tmp_path, monkeypatch,
                                                                                         demo_dir):  # fmt: skip
    """The landing page said '1 model folder(s) could not be read: ...' with no word of what to do, and, beside
    it, 'No model is saved yet' although a model folder was there."""
    registry = tmp_path / "models"
    (registry / "half-written").mkdir(parents=True)
    (registry / "half-written" / "metadata.json").write_text("{not json")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = _page("overview")
    (warning,) = [w.value for w in at.warning if "half" in w.value]
    assert warning.startswith("1 model folder could not be read, so no page can use it: **half-written**")
    assert "(s)" not in warning and "The **Models** page says what is wrong and can delete a damaged folder" in warning
    for which in ("overview", "models"):
        info = " ".join(i.value for i in _page(which).info)
        assert "No model this version can use is saved in" in info and "No model is saved yet" not in info, info


def _unreadable_folder(tmp_path: Path) -> Path:
    """A folder that exists but cannot be listed: a folder without permissions, or where the tests run as root (who
    may list any folder), a folder of /proc that the kernel refuses to list even to root."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0)
    for candidate in (folder, Path("/proc/1/map_files")):
        try:
            os.listdir(candidate)
        except PermissionError:
            if candidate.is_dir():
                return candidate
    pytest.skip("no folder that cannot be listed is at hand here")


def test_a_models_folder_that_cannot_be_read_is_said_and_the_landing_page_still_explains_the_tool(tmp_path,
                                                                                                 monkeypatch,
                                                                                                 demo_dir):  # fmt: skip
    """A models folder the dashboard's account may not list (owned by another service account) ended the landing
    page and the Models page in a PermissionError traceback."""
    locked = _unreadable_folder(tmp_path)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(locked))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    try:
        for which in ("overview", "models"):
            at = _page(which)
            (error,) = [e.value for e in at.error]
            assert f"the models folder {md(locked)} cannot be read" in error and "permission" in error, error
        at = _page("overview")
        assert at.download_button(key="overview_demo_csv"), "the demo traffic is still offered"
        assert [link.proto.page for link in at.get("page_link")] == NEXT_PAGES
        for page in ("analyze", "compare"):  # the other pages that list models: the same error, no traceback
            at.switch_page(f"views/{page}.py").run()
            assert not at.exception, (page, [e.message for e in at.exception])
            assert any(f"the models folder {md(locked)} cannot be read" in e.value for e in at.error), page
    finally:
        (tmp_path / "locked").chmod(0o700)


def test_a_network_without_its_curves_or_date_is_said_so_plainly(demo_models_dir, tmp_path, monkeypatch, demo_dir):
    """A network saved without its training curves (by an older version) was captioned 'this family does not train in
    epochs', false of a CNN; a model without a recorded date showed '**Created:**' followed by nothing."""
    registry = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-paper-cnn-6class", registry / "old-cnn")
    _edit(registry / "old-cnn", lambda m: [m.pop(k, None) for k in ("history", "saved_at", "created_at")])
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = _page("models", "old-cnn")
    captions = [c.value for c in at.caption]
    assert "No training curves were saved with this model." in captions, captions
    assert not any("does not train in epochs" in c for c in captions)
    assert any("**Created:** not recorded" in m.value for m in at.markdown), [m.value for m in at.markdown][:5]
