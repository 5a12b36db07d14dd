"""Models page in plain words for someone who does not program: the card's settings tables name their rows in words,
the models table and the card say what a family and a layout are, and a note of repaired cells says what was done.
AppTest through the router, real small models from the shared fixtures."""

from __future__ import annotations

import json
import shutil

from core.models import FAMILIES
from core.preprocess import REPAIRED_TO, RepairCounts
from core.schema import LAYOUTS
from dashboard.escape import md
from tests.dashboard.test_models_page import models_page


def _table(at, key: str):
    """The card's Parameters (``"models_params"``) or Timing (``"models_timing"``) table, in its Settings tab."""
    (tab,) = [t for t in at.tabs if t.label == "Settings and versions"]
    params, timing, _versions = (d.value for d in tab.dataframe)
    return params if key == "models_params" else timing


def test_the_settings_tables_name_their_rows_in_words(registry_env):
    """The card's Timing and Parameters tables listed raw key names (fit_seconds, test_rows_per_second, batch_size,
    lr_schedule): words now, the parameter's own name kept beside its words, and no key left out."""
    for name in ("test-paper-cnn-19class", "test-rf-2class"):
        at = models_page(name)
        meta = json.loads((registry_env / name / "metadata.json").read_text())
        timing, params = _table(at, "models_timing"), _table(at, "models_params")
        assert len(timing) == len(meta["timing"]) and len(params) == len(meta["params"]), "no key is lost"
        items = [*timing["item"], *params["item"]]
        assert not any("_" in i.split(" (")[0] for i in items), items  # no raw key as a row's name
        assert "Time to fit the model (seconds)" in list(timing["item"])
        assert "Test rows scored per second" in list(timing["item"])
        for key in meta["params"]:  # each parameter still findable by the name `--param` takes
            assert any(i.endswith(f"({key})") or i == key.replace("_", " ") for i in params["item"]), (key, items)
        if name == "test-rf-2class":  # a forest's depth without limit: said so, not a blank value
            depth = dict(zip(params["item"], params["value"]))["Deepest a tree may grow (max_depth)"]
            assert meta["params"]["max_depth"] is None and depth == "no limit"
        else:
            assert "Batch size, rows per training step (batch_size)" in list(params["item"])


def test_a_parameter_without_words_keeps_its_name(registry_env, tmp_path, monkeypatch):
    """A parameter or timing this version has no words for (written by another version) is listed by its name, with
    spaces for its underscores, never dropped."""
    registry = tmp_path / "models"
    shutil.copytree(registry_env / "test-rf-2class", registry / "test-rf-2class")
    path = registry / "test-rf-2class" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["params"]["future_knob"], meta["timing"]["gpu_warmup_seconds"] = 3, 1.5
    path.write_text(json.dumps(meta))
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page("test-rf-2class")
    assert "future knob" in list(_table(at, "models_params")["item"])
    assert "gpu warmup seconds" in list(_table(at, "models_timing")["item"])


def test_family_and_layout_are_explained(registry_env):
    """The table's 'family' (rf, cnn, lr) and 'layout' (v2) columns had no help, and the card said 'Family: rf' and
    'Layout: v2 (39 features)' with nothing on what they are."""
    at = models_page("test-rf-2class")
    columns = json.loads(at.dataframe[0].proto.columns)  # the table of models, first on the page
    family_help, layout_help = columns["family"]["help"], columns["layout"]["help"]
    assert all(f"{f}:" in family_help for f in FAMILIES) and "Random forest" in family_help
    assert all(f"{name}:" in layout_help for name in LAYOUTS) and "columns" in layout_help
    card = next(m.value for m in at.markdown if "**Family:**" in m.value)
    assert "rf (Random forest" in card, card
    layout = LAYOUTS[json.loads((registry_env / "test-rf-2class" / "metadata.json").read_text())["layout"]]
    assert f"{layout.name}, the columns of the CICIoMT2024" in card and f"({layout.n_features} features)" in card


def test_the_repair_note_says_in_words_what_was_done(registry_env, tmp_path, monkeypatch):
    """The Scores tab's note '193 cells repaired (inf in Rate: 193)' meant nothing to someone who does not program:
    it now says what an infinite or missing cell is and what it was replaced by, the counts kept."""
    registry = tmp_path / "models"
    shutil.copytree(registry_env / "test-rf-2class", registry / "test-rf-2class")
    path = registry / "test-rf-2class" / "metadata.json"
    meta = json.loads(path.read_text())
    summary = RepairCounts(pos_inf={"Rate": 193}, nan={"Std": 2}).summary()
    meta["metrics"]["test"]["notes"] = [*(meta["metrics"]["test"].get("notes") or []), summary]
    path.write_text(json.dumps(meta))
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page("test-rf-2class")
    (note,) = [c.value for c in at.caption if "Rate: 193" in c.value]
    assert summary == "195 cells repaired (inf in Rate: 193; NaN in Std: 2)" and md(summary) in note, note  # counts
    assert "infinite" in note and "missing" in note and "No row was left out" in note, note
    assert all(to in note for to in REPAIRED_TO.values()), note
