"""Analyze traffic page, a second hunt as a hospital analyst meets it: real CICIoMT2024 sample files uploaded through
the app's router, real small models (no mock of the page, its loaders or core)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.loading import read_files
from core.pipeline import TrainedModel
from core.preprocess import IMPLAUSIBLE_TEXT, repair_rule
from dashboard.escape import md

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
#: A real v2 test file with 100 inf cells in Rate, and one without any cell to repair.
WITH_INF = "MQTT-DDoS-Connect_Flood_test.pcap.csv"
CLEAN = "Recon-Ping_Sweep_test.pcap.csv"


def analyze_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    return at.switch_page("views/analyze.py").run()


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="analyze_uploads").set_value([(n, b, "text/csv") for n, b in files])
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def files_table(at: AppTest):
    """The files-read table and its column settings (headings' help), as the browser receives them."""
    element = next(d for d in at.dataframe if "complete" in d.value.columns)
    return element.value, json.loads(element.proto.columns or "{}")


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_the_files_table_says_it_counts_the_cells_repaired_as_the_repair_note_does(registry_env, v2_sample):
    """The column read "inf/NaN cells", but it also counts the cells beyond ±1e15 that the model takes as infinite: on
    a file with one such cell its count was one more than the inf and NaN cells it named. It is the count of cells
    repaired, the figure of the note under the table ("N cells repaired (...)"), and says so, the rule in its help."""
    rows = pd.read_csv(v2_sample / "test" / WITH_INF)
    rows.loc[9, "IAT"] = 3.4e38  # a float's largest value, written for a missing one: beyond the bound, taken as inf
    rows.loc[19, "Tot sum"] = -2e16
    rows.loc[29, "Std"] = np.nan  # an empty cell
    payload = _csv(rows)
    at = analyze_page()
    at.selectbox(key="analyze_task").set_value(6).run()
    at.selectbox(key="analyze_model").set_value(str(registry_env / "test-rf-6class")).run()
    at = upload(at, [("ward-7.csv", payload), (CLEAN, (v2_sample / "test" / CLEAN).read_bytes())])
    no_exception(at)

    repairs = TrainedModel.load(registry_env / "test-rf-6class").predict(read_files([("ward-7.csv", payload)])).repairs
    assert repairs.beyond_total == 2 and repairs.total == 100 + 3
    table, columns = files_table(at)
    assert "inf/NaN cells" not in table.columns
    assert table.set_index("file")["cells repaired"].to_dict() == {"ward-7.csv": 103, CLEAN: 0}
    note = next(i.value for i in at.info if i.value.startswith("Repaired before scoring"))
    assert f"{repairs.total:,} cells repaired (" in note, note  # the table's figure, in the note's words
    assert "2 cells beyond ±1e+15 taken as infinite" in note
    help_text = columns["cells repaired"]["help"]
    assert "inf" in help_text and "NaN" in help_text and "empty" in help_text
    assert IMPLAUSIBLE_TEXT in help_text and "taken as infinite" in help_text and repair_rule() in help_text
    # What the reading step says, in the words of core.words.counted (it read "Read 2 file(s): ...")
    assert [m.value for m in at.markdown if m.value.startswith("Read 2 files: ")], [m.value for m in at.markdown]
    assert not [m.value for m in at.markdown if "(s)" in m.value]

    at = upload(at, [(CLEAN, (v2_sample / "test" / CLEAN).read_bytes())])  # nothing to repair: said with the bound
    no_exception(at)
    assert files_table(at)[0]["cells repaired"].tolist() == [0]
    assert [m.value for m in at.markdown if m.value.startswith("Read 1 file: ")]
    said = [c.value for c in at.caption if "needed repair" in c.value]
    assert said and "inf" in said[0] and "NaN" in said[0] and IMPLAUSIBLE_TEXT in said[0], said


@pytest.fixture(scope="module")
def v1_model(v1_sample, tmp_path_factory) -> Path:
    """A small real 6-class model of the 45-feature release (v1), trained on the shared v1 sample."""
    from core.training import train_from_folder

    out = tmp_path_factory.mktemp("v1-models")
    train_from_folder("rf", 6, str(v1_sample), params={"n_estimators": 5}, max_rows_per_class=200,
                      models_dir=str(out), name="v1-rf-6class")  # fmt: skip
    return out / "v1-rf-6class"


def test_no_model_of_the_task_for_the_traffics_release_points_to_the_task_that_has_one(
    demo_models_dir, demo_dir, v1_sample, v1_model, tmp_path, monkeypatch
):
    """v1 traffic (45 features) with the 19-class task chosen: the page said "None of the 1 saved 19-class model(s)
    reads this traffic's v1 layout ... Train one on v1 data on the Train page", minutes of training, while a 6-class
    model of that release was saved and would have read it at once. It names the task that has one; a choice of that
    task scores the traffic."""
    models = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-19class", models / "test-rf-19class")  # v2
    shutil.copytree(v1_model, models / v1_model.name)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    files = [(p.name, p.read_bytes()) for p in sorted((v1_sample / "test").glob("*.csv"))[:2]]
    at = analyze_page()
    at.selectbox(key="analyze_task").set_value(19).run()
    at = upload(at, files)
    no_exception(at)
    said = [i.value for i in at.info if "v1" in i.value]
    assert len(said) == 1, [i.value for i in at.info]
    assert "(s)" not in said[0] and "The saved 19-class model" in said[0] and "does not read" in said[0], said[0]
    assert re.search(r"6 classes.*choose", said[0]) or re.search(r"choose.*6 classes", said[0]), said[0]
    assert "Rows scored" not in [m.label for m in at.metric]

    at.selectbox(key="analyze_task").set_value(6).run()  # as told
    no_exception(at)
    assert at.selectbox(key="analyze_model").value == str(models / "v1-rf-6class")
    assert "Rows scored" in [m.label for m in at.metric]


def test_no_model_of_the_task_at_all_names_the_tasks_that_have_one(demo_models_dir, demo_dir, v2_sample, tmp_path,
                                                                   monkeypatch):  # fmt: skip
    """No 19-class model saved, two 6-class ones: "No saved 19-class model yet: train one on the Train page." said
    nothing of the models that would score the traffic now."""
    models = tmp_path / "models"
    for name in ("test-rf-6class", "test-lr-6class"):
        shutil.copytree(demo_models_dir / name, models / name)
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = analyze_page()
    at.selectbox(key="analyze_task").set_value(19).run()
    at = upload(at, [(CLEAN, (v2_sample / "test" / CLEAN).read_bytes())])
    no_exception(at)
    said = [i.value for i in at.info if "19-class" in i.value]
    assert len(said) == 1 and "No saved 19-class model" in said[0], [i.value for i in at.info]
    assert "2 saved 6-class v2 models" in said[0] and "6 classes" in said[0], said[0]


def _bars(at: AppTest, key: str) -> tuple[np.ndarray, np.ndarray]:
    """The x and y of a bar chart's first trace on the page, as the browser receives them."""
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if user_key_from_element_id(c.proto.id) == key)

    def values(v) -> np.ndarray:  # a plain list, or Plotly's typed array
        if isinstance(v, dict) and "bdata" in v:
            import base64

            return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return np.asarray(v)

    return values(spec["data"][0]["x"]), values(spec["data"][0]["y"])


def test_the_confidence_chart_puts_rows_at_the_threshold_on_its_side_of_the_line(registry_env, v2_sample):
    """A forest of 20 trees gives 0.7 to a row 14 trees vote for: as a float32, 0.69999999. The metric and the
    filters compare it as it reads (not below 0.7), but the histogram, binned in float64, drew it left of the dashed
    0.7 line, in the bar "0.68–0.70": on real test files the bars left of the line held 100-odd rows more than the
    "Low-confidence rows" beside it, rows the table shows as 0.700."""
    model_dir = registry_env / "test-rf-6class"
    files = [(p.name, p.read_bytes()) for p in sorted((v2_sample / "test").glob("*.csv"))[:6]]
    confidence = TrainedModel.load(model_dir).predict(read_files(files)).confidence
    assert confidence.dtype == np.float32
    # a slider step on an edge of the chart's 50 bins that float32 holds a little below itself (0.7, 0.9), with the
    # most rows exactly on it
    steps = [t for t in np.round(np.arange(0.05, 1.0, 0.05), 2).tolist()
             if float(np.float32(t)) < t and abs(t * 50 - round(t * 50)) < 1e-9]  # fmt: skip
    t = max(steps, key=lambda s: int((confidence == np.float32(s)).sum()))
    on_it = int((confidence == np.float32(t)).sum())
    assert on_it >= 10, (t, on_it)
    low = int((confidence < np.float32(t)).sum())

    at = analyze_page()
    at.selectbox(key="analyze_task").set_value(6).run()
    at.selectbox(key="analyze_model").set_value(str(model_dir)).run()
    at = upload(at, files)
    at.slider(key="analyze_threshold").set_value(t).run()
    no_exception(at)
    (shown,) = [m for m in at.metric if m.label == "Low-confidence rows"]
    assert shown.value == f"{low:,}"
    x, y = _bars(at, "analyze_confidence")
    assert int(y.sum()) == len(confidence)
    assert int(y[x < t].sum()) == low, f"{int(y[x < t].sum()) - low} rows left of the {t} line are not below it"
    at.slider(key="analyze_filter_confidence").set_value((t, 1.0)).run()  # the rows at or above it: the others
    assert any(c.value.startswith(f"{len(confidence) - low:,} of {len(confidence):,} rows match") for c in at.caption)


def test_an_official_file_downloaded_twice_is_told_how_to_get_its_true_class(registry_env, v2_sample):
    """A browser saves an official file downloaded a second time as "Recon-Ping_Sweep_test.pcap (1).csv": no longer an
    official name, so its rows had no true class and the page said only "no official CICIoMT2024 file name and no
    label column", the model unmeasured, though the analyst had uploaded the official file. It names the official
    name to rename the file to; a file that merely has no class (capture (1).csv) gets no such advice."""
    payload = (v2_sample / "test" / CLEAN).read_bytes()
    at = analyze_page()
    at.selectbox(key="analyze_task").set_value(6).run()
    at.selectbox(key="analyze_model").set_value(str(registry_env / "test-rf-6class")).run()
    head = b"\n".join(payload.split(b"\n")[:6]) + b"\n"  # a few rows of it, under a name with no class in it
    at = upload(at, [("Recon-Ping_Sweep_test.pcap (1).csv", payload), ("capture (1).csv", head)])
    no_exception(at)
    told = [i.value for i in at.info if "Rename it" in i.value]
    assert len(told) == 1, [i.value for i in at.info]
    assert f"**{md('Recon-Ping_Sweep_test.pcap (1).csv')}** has no true class" in told[0], told[0]
    assert f"Rename it {md(CLEAN)} and upload it again" in told[0], told[0]
    assert "capture" not in told[0]

    at = upload(at, [(CLEAN, payload)])  # renamed, as told: measured
    no_exception(at)
    assert "Macro-F1" in [m.label for m in at.metric] and not [i for i in at.info if "Rename it" in i.value]
