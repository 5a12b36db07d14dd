"""Models page for a hospital analyst who does not program, wide and at 800 pixels.

Found: the Training data tab's row "inf/NaN cells repaired in training" counted, since cells beyond ±1e15 are taken
as infinite, finite cells too (and only those of the rows used to fit), and the Settings tab's "Repair rule (fitted on
the training rows): +inf -> training max, ..." was code to a non-programmer and left the ±1e15 bound out; the
encoding's parameters were described loosely ("Bins per feature": at most, and 0 is none; "Scaled value kept beside
the encoding": it is the convolutions that see it), and boosting's learning rate was "size of each training step";
at 800 pixels the table of models cut weighted-F1 off, the training facts table cut its values off (the validation
split, the fingerprint) and the Timing table's values were out of sight beside a 92-letter label.

AppTest through the router on the shared small real models; the layout in Chromium (Playwright) on the served app.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.preprocess import IMPLAUSIBLE_TEXT, RepairCounts
from dashboard.escape import md
from tests.dashboard import test_browser as B
from tests.dashboard.test_browser import app_url, browser, page  # noqa: F401 (fixtures)
from tests.dashboard.test_models_page import models_page

#: Cells of the training rows beyond the bound: counted in pos_inf too (RepairCounts), as the inf they were taken as.
REPAIRS = RepairCounts(pos_inf={"Rate": 400, "IAT": 3}, nan={"Std": 12}, beyond={"IAT": 3})


def _card(registry_env, tmp_path, monkeypatch, name: str = "test-rf-2class", **data):
    """The card of a copy of ``name`` whose metadata's ``data`` is updated by ``data``."""
    registry = tmp_path / "models"
    shutil.copytree(registry_env / name, registry / name)
    path = registry / name / "metadata.json"
    meta = json.loads(path.read_text())
    meta["data"].update(data)
    path.write_text(json.dumps(meta))
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    return models_page(name), meta


def _tab(at, label: str):
    (tab,) = [t for t in at.tabs if t.label == label]
    return tab


def test_the_repaired_values_are_counted_by_kind_in_words(registry_env, tmp_path, monkeypatch):
    """The row said "inf/NaN cells repaired in training: 415" when 3 of them were finite numbers beyond ±1e15: now
    each kind is said in words, each cell counted once, for the rows it was counted on (those used to fit)."""
    at, meta = _card(registry_env, tmp_path, monkeypatch, train_cells_repaired=REPAIRS.to_dict())
    tab = _tab(at, "Training data")
    text = "\n".join(m.value for m in tab.markdown)
    assert "inf/NaN" not in text
    assert ("**Unusable cells replaced in the rows used to fit:** 415 cells: 400 infinite, 3 impossibly large, 12 "
            "missing") in text, text  # fmt: skip
    assert f"**Rows used to fit the model:** {meta['data']['train_rows_used_for_fit']:,}" in text
    (note,) = [c for c in tab.caption if "impossibly large" in c.value]
    assert all(w in note.value for w in ("infinite", "missing", IMPLAUSIBLE_TEXT, "No row was left out")), note.value
    # The expert's details in its help: the counts feature by feature and the exact rule, as saved with the model
    assert md(REPAIRS.summary()) in note.proto.help or REPAIRS.summary() in note.proto.help, note.proto.help
    assert meta["preprocessing"]["repair_rule"] in note.proto.help and IMPLAUSIBLE_TEXT in note.proto.help


@pytest.mark.parametrize(("counts", "said"), [(RepairCounts(pos_inf={"Rate": 556}), "556 cells, all infinite"),
                                              (RepairCounts(), "none"), (None, "not recorded")])  # fmt: skip
def test_the_repaired_values_of_one_kind_none_or_not_recorded(registry_env, tmp_path, monkeypatch, counts, said):
    """No count (a model saved before counts were kept) read as 0 repaired: now "not recorded"."""
    at, _ = _card(registry_env, tmp_path, monkeypatch, train_cells_repaired=counts and counts.to_dict())
    text = "\n".join(m.value for m in _tab(at, "Training data").markdown)
    assert f"**Unusable cells replaced in the rows used to fit:** {said}" in text, text


def test_the_repair_rule_is_said_in_words_the_exact_rule_in_its_help(registry_env):
    at = models_page("test-rf-2class")
    meta = json.loads((registry_env / "test-rf-2class" / "metadata.json").read_text())
    tab = _tab(at, "Settings and versions")
    (rule,) = [m for m in tab.markdown if "**Unusable cells:**" in m.value]
    assert "->" not in rule.value and "training max" not in rule.value, rule.value  # no code in the words
    for words in ("infinite", IMPLAUSIBLE_TEXT, "largest value of its feature", "smallest", "missing", "median",
                  "every row the model scores"):  # fmt: skip
        assert words in rule.value, (words, rule.value)
    (exact,) = [e for e in tab.expander if "exact repair rule" in e.label]  # the rule itself, for an expert
    text = exact.markdown[0].value
    assert f"`{meta['preprocessing']['repair_rule']}`" in text and IMPLAUSIBLE_TEXT in text, text


def test_the_encoding_parameters_say_what_the_network_does_with_them():
    """Each ple_* description checked against the network ImprovedCNN builds: ple_bins is a most (fewer bins where
    values repeat; 0 is no encoding), ple_scalar decides whether the convolutions see the value beside the encoding,
    ple_shortcut whether the encoding also goes to the dense path around the convolutions."""
    from core.models import ImprovedCNN
    from core.ple import fit_edges
    from dashboard.views.models import ENCODING_NOTE, PARAM_WORDS

    assert "at most" in PARAM_WORDS["ple_bins"] and "0: none" in PARAM_WORDS["ple_bins"]
    assert "onvolutions see values beside" in PARAM_WORDS["ple_scalar"]
    assert "around the convolutions" in PARAM_WORDS["ple_shortcut"]
    assert "{bins}" in ENCODING_NOTE and "fewer where values repeat" in ENCODING_NOTE
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=400), np.repeat([0.0, 1.0], 200)]).astype(np.float32)  # 2nd: 2 values
    edges = fit_edges(X, 8)
    assert len(edges[0]) == 9 and len(edges[1]) < 9, "bins per feature at most: fewer where values repeat"

    def network(**params):
        cnn = ImprovedCNN(**{**ImprovedCNN.default_params(), "ple_bins": 8, **params})
        cnn.ple_edges_ = edges
        model = cnn.build(2, 3)
        conv = next(layer for layer in model.layers if layer.name.startswith("conv1d"))
        around = next(x for x in model.layers if x.name.startswith("dense") and x.name != "ple_encoding")
        return conv.input.shape[-1], around.input.shape[-1]

    assert network(ple_scalar=True) == (8 + 1, 2) and network(ple_scalar=False) == (8, 2)
    assert network(ple_shortcut=True)[1] == 2 + 2 * 8, "the encoding also fed to the dense path"
    assert network(ple_bins=0)[0] == 1, "0 bins: no encoding, the value alone"


def test_boosting_parameters_are_not_described_as_a_network_s():
    """A gradient-boosted model's learning_rate read "size of each training step" and max_iter "Most iterations"."""
    from dashboard.views.models import FAMILY_PARAM_WORDS, PARAM_WORDS

    for family in ("gbt", "adaboost"):
        assert "tree" in FAMILY_PARAM_WORDS[family]["learning_rate"]
    assert "boosting rounds" in FAMILY_PARAM_WORDS["gbt"]["max_iter"]
    assert "solver" in FAMILY_PARAM_WORDS["lr"]["max_iter"]
    assert "training step" in PARAM_WORDS["learning_rate"], "a network's stays"


def test_the_card_says_every_column_of_the_table(registry_env):
    """At 800 pixels the table shows name, task, family and the scores; the layout, date, data and size, out of sight
    there, are on the card of the chosen model."""
    at = models_page("test-rf-2class")
    row = next(d.value for d in at.dataframe if "macro-F1" in d.value.columns).set_index("name").loc["test-rf-2class"]
    card = next(m.value for m in at.markdown if "**Family:**" in m.value)
    for words in (f"**Created:** {row['created']}", f"**Data:** {md(row['data'])}",
                  f"**Size on disk:** {row['size (MB)']:,.2f} MB", "**Layout:** "):  # fmt: skip
        assert words in card, (words, card)


# ---------------------------------------------------------------------------------- 800 pixels, in Chromium


def _shot(page, name: str) -> None:  # noqa: F811
    """The viewport as it is (``B.screenshot`` widens it to 1,400 pixels), for a person to look at."""
    B.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no tooltip
    page.screenshot(path=str(B.ARTIFACTS / name))


def _column_lines(page, table) -> list[float]:  # noqa: F811
    """The x of each vertical grid line of the header of the data frame ``table`` (drawn on a canvas: found in a
    screenshot of its header row), from its left edge."""
    from io import BytesIO

    from PIL import Image

    table.evaluate("e => e.scrollIntoView({block: 'center'})")  # its header row in sight
    page.wait_for_timeout(300)
    box = table.bounding_box()
    shot = page.screenshot(clip={"x": box["x"], "y": box["y"] + 6, "width": box["width"], "height": 24})
    gray = np.asarray(Image.open(BytesIO(shot)).convert("L"), dtype=float)
    darker = gray.mean(axis=0) < np.median(gray) - 8  # a line: darker than the header's fill all the way down
    xs = np.flatnonzero(darker & (gray.std(axis=0) < 6))
    return [float(x) for i, x in enumerate(xs) if i == 0 or x - xs[i - 1] > 3]


@pytest.mark.browser
def test_the_table_and_the_training_facts_read_whole_at_800_pixels(page, app_url):  # noqa: F811
    B.open_app(page, app_url)
    page.set_viewport_size({"width": 800, "height": 1000})
    B.go_to(page, "Models", "Saved models")
    table = page.locator('[data-testid="stDataFrame"]').first
    lines = _column_lines(page, table)
    width = table.bounding_box()["width"]
    # name | task | family | macro-F1 | weighted-F1 |: the line after weighted-F1 inside the table
    inside = [x for x in lines if 4 < x < width - 4]
    _shot(page, "models-hunt4-800-table.png")
    assert len(inside) >= 5, f"weighted-F1 cut off at 800 pixels: column lines at {lines} in {width:.0f} pixels"
    page.get_by_role("tab", name="Training data").click()
    B.wait_idle(page)
    panel = page.get_by_role("tabpanel", name="Training data")
    facts = panel.locator(".st-key-models_data_facts")
    B.expect(facts).to_contain_text("How the validation rows were chosen")
    right = panel.bounding_box()["x"] + panel.bounding_box()["width"]
    for part in facts.locator("p, code").all():  # every line and the fingerprint, wrapped inside the tab
        box = part.bounding_box()
        assert box["x"] + box["width"] <= right + 1, (part.inner_text()[:60], box, right)
    assert facts.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "nothing runs past the facts' right edge"
    facts.scroll_into_view_if_needed()
    _shot(page, "models-hunt4-800-facts.png")
    page.get_by_role("tab", name="Settings and versions").click()
    B.wait_idle(page)
    timing = page.get_by_role("tabpanel", name="Settings and versions").locator('[data-testid="stDataFrame"]').nth(1)
    lines = _column_lines(page, timing)
    _shot(page, "models-hunt4-800-timing.png")
    assert [x for x in lines if 4 < x < timing.bounding_box()["width"] - 60], f"the values in sight: {lines}"
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_role("tab", name="Training data").click()  # back to the top, where the table is
    B.wait_idle(page)
    page.wait_for_timeout(500)  # the layout follows the new width
    wide = _column_lines(page, page.locator('[data-testid="stDataFrame"]').first)
    _shot(page, "models-hunt4-1400-table.png")
    assert len([x for x in wide if 4 < x < 1400]) >= 8, f"every column in sight on a wide page: {wide}"


def test_models_scored_on_validation_rows_are_named_beside_the_table(registry_env, tmp_path, monkeypatch):
    """The table's "scored on" column, the one place that said a model's scores were validation scores, is out of
    sight at 800 pixels: the models it names are said under the table."""
    registry = tmp_path / "models"
    for name in ("test-rf-2class", "test-lr-2class"):
        shutil.copytree(registry_env / name, registry / name)
    path = registry / "test-lr-2class" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["metrics"]["test"] = None  # trained without test data: its validation scores are shown
    path.write_text(json.dumps(meta))
    monkeypatch.setenv("IOMT_MODELS_DIR", str(registry))
    at = models_page()
    (note,) = [c.value for c in at.caption if "validation rows, not on test data" in c.value]
    assert "(1 model, column *scored on*): test-lr-2class." in note and "test-rf-2class" not in note, note
