"""Models page with a registry as an engineer leaves it after a while: many models, and several folders that are no
longer usable models. AppTest through the router, real small models from the shared fixtures."""

from __future__ import annotations

import json
import shutil

from tests.dashboard.test_models_page import models_page


def _unusable_box(at):
    """The expander that holds the unusable folders, or None."""
    boxes = [e for e in at.expander if e.label.startswith("Folders that cannot be used")]
    assert len(boxes) <= 1
    return boxes[0] if boxes else None


def test_several_unusable_folders_are_summed_up_and_listed_in_an_expander(registry_env, tmp_path, monkeypatch):
    """Each unusable folder had its own warning and Delete button above the table of models: four of them filled the
    first screen at 800 pixels, the models out of sight below. Now one warning names them and an expander holds each
    one's message and button; a deletion asked for there keeps the expander open for its confirmation."""
    registry = tmp_path / "models"
    shutil.copytree(registry_env / "test-rf-2class", registry / "test-rf-2class")
    for name in ("broken-a", "broken-b", "broken-c"):
        (registry / name).mkdir(parents=True)
        (registry / name / "metadata.json").write_text("{not json")
    shutil.copytree(registry_env / "test-lr-2class", registry / "no-weights")
    (registry / "no-weights" / "model.skops").unlink()
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page()
    unusable = ("broken-a", "broken-b", "broken-c", "no-weights")
    (summary,) = [w.value for w in at.main.warning if "cannot be used as models" in w.value]
    assert summary.startswith("4 folders in ") and all(f" {n}" in summary for n in unusable), summary
    box = _unusable_box(at)
    assert "(4)" in box.label and not box.proto.expanded
    assert sorted(b.key for b in box.button) == sorted(f"models_delete_damaged_{n}" for n in unusable)
    assert all(any(f"**{n}**" in w.value for w in box.warning) for n in unusable)
    (option,) = at.selectbox(key="models_selected").options  # the usable model is listed and its card shown
    assert option.startswith("test-rf-2class ") and at.header[0].value == "test-rf-2class"

    at.button(key="models_delete_damaged_broken-b").click().run()
    box = _unusable_box(at)
    assert box.proto.expanded and "models_delete_damaged_broken-b_yes" in [b.key for b in box.button]
    at.button(key="models_delete_damaged_broken-b_yes").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not (registry / "broken-b").exists() and (registry / "broken-a").is_dir()
    assert "Deleted broken-b." in at.success[0].value
    assert "(3)" in _unusable_box(at).label


def test_the_table_keeps_the_names_in_sight_and_the_families_whole(registry_env):
    """At 800 pixels the table scrolls sideways to its dates, data and sizes, and the names scrolled away with them;
    and the family column, sized to its heading, read 'paper-c' even at 1400 pixels. The name is pinned now, and the
    family column wide enough for 'paper-cnn'."""
    at = models_page()
    columns = json.loads(at.dataframe[0].proto.columns)  # the table of models, first on the page
    longest = max(len(n) for n in at.dataframe[0].value["name"])  # as wide as the longest name, 200 pixels at most
    assert columns["name"]["pinned"] is True and columns["name"]["width"] >= min(200, 6 * longest + 20)
    assert columns["family"]["width"] >= 90
