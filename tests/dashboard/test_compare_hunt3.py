"""A third hunt on the Compare page: models trained on different data, driven by AppTest with real small models.

Found: the page ranked models trained on different training sets (another data folder, a row cap, other files) side
by side and named one the best without a word that they had not learnt from the same rows.
"""

from __future__ import annotations

import json
import shutil

from tests.dashboard.test_compare_page import PAIR, compare_page


def _registry(registry_env, tmp_path, monkeypatch, edit=None):
    """The pair (trained on the same demo rows) copied to a registry of its own; ``edit(name, data)`` changes a model's
    recorded training data (its metadata's ``data``)."""
    models = tmp_path / "models"
    for name in PAIR:
        shutil.copytree(registry_env / name, models / name)
        if edit is not None:
            path = models / name / "metadata.json"
            meta = json.loads(path.read_text())
            edit(name, meta["data"])
            path.write_text(json.dumps(meta))
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))


def _notes(at) -> list[str]:
    return [e.value for kind in (at.warning, at.info, at.caption) for e in kind]


def test_models_trained_on_different_data_are_said_to_be_no_like_for_like_comparison(registry_env, tmp_path,
                                                                                       monkeypatch):  # fmt: skip
    """One of the pair trained on a capped copy of another folder: the page said nothing of it and ranked them."""

    def capped(name, data):
        if name == PAIR[1]:
            data.update(description="/data/other", train_rows=600, train_rows_used_for_fit=540,
                        train_fingerprint_sha256="ab" * 32)  # fmt: skip

    _registry(registry_env, tmp_path, monkeypatch, capped)
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    said = [w.value for w in at.warning if "same training data" in w.value]
    assert len(said) == 1, _notes(at)
    assert f"**{PAIR[0]}**" in said[0] and f"**{PAIR[1]}**" in said[0], said
    assert "/data/other" in said[0] and "600 training rows" in said[0], said
    assert "abababab" in said[0], said  # the fingerprints tell two copies of one folder apart
    groups = said[0].split("Trained on: ")[1].split("; ")
    assert [g for g in groups if "/data/other" in g] == [g for g in groups if PAIR[1] in g], "each model by its data"
    assert [g for g in groups if PAIR[0] in g and "demo" in g and "/data/other" not in g], groups


def test_a_model_without_a_recorded_fingerprint_is_said_not_recorded(registry_env, tmp_path, monkeypatch):
    def unrecorded(name, data):
        if name == PAIR[1]:
            del data["train_fingerprint_sha256"]

    _registry(registry_env, tmp_path, monkeypatch, unrecorded)
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    said = [n for n in _notes(at) if "not recorded" in n]
    assert len(said) == 1 and f"**{PAIR[1]}**" in said[0], _notes(at)
    assert "not trained on the same" not in said[0], "unknown is not different: never guessed"


def test_models_trained_on_the_same_data_get_no_note(registry_env, tmp_path, monkeypatch):
    """The same training rows, one model refitted on all of them and the other fitted on 90% (a validation share held
    out), as the demo's network and its other models are: the same data, no note."""

    def refitted(name, data):
        if name == PAIR[1]:
            data.update(train_rows_used_for_fit=data["train_rows"] - 7)

    _registry(registry_env, tmp_path, monkeypatch, refitted)
    at = compare_page(PAIR)
    assert not at.exception, at.exception
    assert not [n for n in _notes(at) if "training data" in n or "not recorded" in n], _notes(at)
    assert any("detects best" in s.value or "equally well" in s.value for s in at.success)
