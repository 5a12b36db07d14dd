"""Analyze traffic page, driven by AppTest through the app's router, with real small models."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.demo import write_demo_csv
from core.loading import read_files
from core.pipeline import TrainedModel
from core.preprocess import repair_rule
from core.training import train_from_folder

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
DEMO_NAME = "demo-traffic-v2-synthetic.csv"


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly charts on the page by key, each as its parsed figure spec."""
    from streamlit.testing.v1.element_tree import user_key_from_element_id

    return {user_key_from_element_id(c.proto.id): json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def table_with(at: AppTest, column: str):
    """The first table on the page that has ``column`` (read-only tables carry no key in AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def values(v) -> np.ndarray:
    """A figure array from its JSON spec: a plain list or Plotly's typed array (``bdata``)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return out.reshape([int(n) for n in str(v.get("shape", len(out))).split(",")])
    return np.asarray(v)


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label -> shown value (the first metric of each label)."""
    out: dict[str, str] = {}
    for m in at.metric:
        out.setdefault(m.label, m.value)
    return out


def analyze_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    return at.switch_page("views/analyze.py").run()


def choose(at: AppTest, task: int, model: str) -> AppTest:
    """Pick the task, then the saved model of that name (the select box holds model folders)."""
    import os

    at.selectbox(key="analyze_task").set_value(task).run()
    at.selectbox(key="analyze_model").set_value(str(Path(os.environ["IOMT_MODELS_DIR"]) / model))
    return at.run()


def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="analyze_uploads").set_value([(n, b, "text/csv") for n, b in files])
    return at.run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def demo_traffic_page(models: Path, demo_dir: Path, monkeypatch, task: int, model: str) -> AppTest:
    """The page on the demo traffic with the registry ``models`` and the model ``model`` of ``task`` chosen."""
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    at = analyze_page()
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, task, model)
    no_exception(at)
    return at


@pytest.fixture(scope="module")
def demo_traffic(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("traffic") / DEMO_NAME
    write_demo_csv(path, "v2", None, 0, with_label_column=True)
    return path.read_bytes()


def test_demo_traffic_matches_core_evaluation(registry_env, demo_traffic):
    at = analyze_page()
    no_exception(at)
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    at = choose(at, 6, "test-rf-6class")
    no_exception(at)
    model = TrainedModel.load(registry_env / "test-rf-6class")
    data = read_files([(DEMO_NAME, demo_traffic)])
    predictions = model.predict(data)
    report = model.evaluate(data, predictions=predictions)
    shown = metrics(at)
    assert shown["Macro-F1"] == f"{report.macro_f1:.3f}"
    assert shown["Weighted-F1"] == f"{report.weighted_f1:.3f}"
    assert shown["Accuracy"] == f"{report.accuracy:.3f}"
    assert shown["Rows scored"] == f"{len(data):,}"
    assert shown["Rows evaluated"] == f"{report.n_rows:,}" == f"{len(data):,}"
    assert shown["Attack traffic"] == f"{(predictions.labels != 'Benign').mean():.1%}"
    # The demo's inf/NaN cells are counted and the rule is said in the words of core.preprocess.REPAIRED_TO.
    assert predictions.repairs.total
    assert any(predictions.repairs.summary() in i.value and repair_rule() in i.value for i in at.info)
    figs = charts(at)
    assert {"analyze_counts", "analyze_confidence", "analyze_timeline", "analyze_confusion", "analyze_per_class",
            "analyze_errors"} <= set(figs)  # fmt: skip
    true_rows = [row for row, c in zip(report.confusion_matrix, report.labels) if report.per_class[c]["support"]]
    assert values(figs["analyze_confusion"]["data"][0]["z"]).tolist() == true_rows
    bars = figs["analyze_counts"]["data"][0]
    expected = {c: int((predictions.labels == c).sum()) for c in model.classes}
    assert dict(zip(values(bars["x"]).tolist(), values(bars["y"]).tolist())) == {c: n for c, n in expected.items() if n}
    table = table_with(at, "predicted")
    assert len(table) == len(data) and list(table.columns[:4]) == ["file", "row", "predicted", "probability"]
    assert "column 'label'" in " ".join(c.value for c in at.caption)
    assert at.download_button(key="analyze_download")
    # A runner-up without any probability reads "—" on screen, not "None" (the download leaves it empty).
    frame = predictions.to_frame(data, 6)
    blank = (frame["top2_probability"] == 0).to_numpy()
    assert blank.any() and frame["top2"].isna().to_numpy()[blank].all()
    assert (table["top2"].to_numpy()[blank] == "—").all() and table["top2"].notna().all()
    assert (table["top2"].to_numpy()[~blank] == frame["top2"].to_numpy()[~blank]).all()

    # Row-% toggle: each true-class row of the matrix sums to 100.
    at.segmented_control(key="analyze_cm_mode").set_value("Row %").run()
    z = values(charts(at)["analyze_confusion"]["data"][0]["z"]).astype(float)
    assert np.allclose(z.sum(axis=1), 100.0)


def test_filters_and_threshold_do_not_rescore(registry_env, demo_dir, monkeypatch):
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv", "TCP_IP-DoS-UDP_test.pcap.csv"]
    model = TrainedModel.load(registry_env / "test-rf-6class")
    data = read_files([str(demo_dir / "test" / n) for n in names])
    predictions = model.predict(data)
    calls = []
    original = TrainedModel.predict
    monkeypatch.setattr(TrainedModel, "predict", lambda self, data, **kw: calls.append(1) or original(self, data, **kw))
    import streamlit as st

    from core import figures

    st.cache_resource.clear()  # timelines cached by an earlier test of the same files
    drawn = []
    timeline = figures.timeline_figure
    monkeypatch.setattr(figures, "timeline_figure", lambda *a, **k: drawn.append(1) or timeline(*a, **k))
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [(n, (demo_dir / "test" / n).read_bytes()) for n in names])
    no_exception(at)
    assert len(calls) == 1 and len(drawn) == 1
    confidence = predictions.confidence
    at.slider(key="analyze_threshold").set_value(0.9).run()
    assert metrics(at)["Low-confidence rows"] == f"{int((confidence < 0.9).sum()):,}"
    at.multiselect(key="analyze_filter_classes").set_value(["DDoS"]).run()
    table = table_with(at, "predicted")
    assert len(table) == int((predictions.labels == "DDoS").sum()) and set(table["predicted"]) <= {"DDoS"}
    at.multiselect(key="analyze_filter_classes").set_value([]).run()
    at.slider(key="analyze_filter_confidence").set_value((0.0, 0.7)).run()
    assert len(table_with(at, "predicted")) == int((confidence <= 0.7).sum())
    at.slider(key="analyze_filter_confidence").set_value((0.0, 1.0))
    at.checkbox(key="analyze_filter_wrong").check().run()
    wrong = table_with(at, "predicted")
    assert (wrong["true"] != wrong["predicted"]).all()
    truth = np.repeat(["Benign", "DDoS", "DoS"], [f.rows for f in data.files])
    assert len(wrong) == int((predictions.labels != truth).sum())
    assert len(drawn) == 1, "changing a filter drew the timeline again (0.4 s a rerun for 300,000 rows)"
    at.selectbox(key="analyze_timeline_file").set_value(1).run()
    shown = charts(at)["analyze_timeline"]
    assert sum(len(values(t["x"])) for t in shown["data"]) == data.files[1].rows
    assert len(drawn) == 2, "another file's timeline is drawn once"
    at.selectbox(key="analyze_timeline_file").set_value(0).run()
    assert len(drawn) == 2 and charts(at)["analyze_timeline"] != shown, "the first file's, from the cache"
    no_exception(at)
    assert len(calls) == 1, "changing a filter scored the data again"


def test_partial_upload_lists_absent_classes_and_label_source(registry_env, demo_dir):
    names = ["Benign_test.pcap.csv", "TCP_IP-DDoS-UDP1_test.pcap.csv"]
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [(n, (demo_dir / "test" / n).read_bytes()) for n in names])
    no_exception(at)
    absent = next(i.value for i in at.info if "have no rows in this data" in i.value)
    for cls in ("Spoofing", "MQTT", "Recon", "DoS"):
        assert cls in absent
    assert "Benign," not in absent and "DDoS" not in absent
    assert "file name" in " ".join(c.value for c in at.caption)
    files = table_with(at, "true class from")
    assert list(files["true class from"]) == ["file name", "file name"]


def test_unlabelled_upload_gives_alerts_without_evaluation(registry_env, demo_dir):
    payload = (demo_dir / "test" / "TCP_IP-DoS-SYN_test.pcap.csv").read_bytes()
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), [("capture-ward-3.csv", payload)])
    no_exception(at)
    assert "Attack traffic" in metrics(at) and "Macro-F1" not in metrics(at)
    assert any("not known" in i.value for i in at.info)
    assert "analyze_confusion" not in charts(at)


def test_rows_left_out_and_blank_labels_are_said_on_the_page(registry_env, demo_dir):
    """The command line said them; the Analyze page did not (its file table and captions ignored the notes)."""
    lines = (demo_dir / "test" / "Benign_test.pcap.csv").read_bytes().decode().splitlines()[:31]
    labelled = [lines[0] + ",label"] + [line + ",Benign" for line in lines[1:]]
    labelled[2] = lines[2] + ","  # a blank label
    payload = ("\n".join([*labelled, "," * lines[0].count(",") + ","]) + "\n").encode()  # and an empty row
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), [("ward-3.csv", payload)])
    no_exception(at)
    files = table_with(at, "blank labels")
    assert files["rows"].tolist() == [30] and files["blank labels"].tolist() == [1]
    from dashboard.escape import md

    captions = [c.value for c in at.caption]
    for note in read_files([("ward-3.csv", payload)]).notes:
        assert md(f"Note: {note}.") in captions
    assert any("1 empty row" in c for c in captions) and any("1 row of 30 with a blank label" in c for c in captions)
    assert metrics(at)["Rows evaluated"] == "29"


def test_missing_column_names_the_column(registry_env, demo_dir):
    lines = (demo_dir / "test" / "Benign_test.pcap.csv").read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("Rate")
    cut = "\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != drop) for line in lines)
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [("Benign_test.pcap.csv", cut.encode())])
    no_exception(at)
    assert len(at.error) == 1 and "'Rate'" in at.error[0].value and "missing" in at.error[0].value


def test_empty_file_and_text_in_number_are_clear_errors(registry_env, demo_dir):
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [("empty.csv", b"")])
    no_exception(at)
    assert len(at.error) == 1 and "empty" in at.error[0].value
    lines = (demo_dir / "test" / "Benign_test.pcap.csv").read_text().splitlines()
    cells = lines[3].split(",")
    cells[0] = "lots"
    lines[3] = ",".join(cells)
    at = upload(at, [("Benign_test.pcap.csv", "\n".join(lines).encode())])
    no_exception(at)
    assert len(at.error) == 1
    message = re.sub(r"\\(.)", r"\1", at.error[0].value)  # as shown: names are backslash-escaped Markdown
    assert "'lots'" in message and "Header_Length" in message and "row 3" in message
    # Two bad files among three: both said, each in its own box under one that counts them
    at = upload(at, [("Benign_test.pcap.csv", "\n".join(lines).encode()), ("empty.csv", b""),
                     ("ARP_Spoofing_test.pcap.csv", (demo_dir / "test" / "ARP_Spoofing_test.pcap.csv").read_bytes())])  # fmt: skip
    no_exception(at)
    shown = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert len(shown) == 3 and shown[0].startswith("**2 of 3 files could not be read.**"), shown
    assert "Benign_test.pcap.csv, column 'Header_Length', row 3" in shown[1] and "empty.csv" in shown[2]


def components_label(path: Path) -> str:
    """The select box's line for the saved model at ``path``."""
    from core.pipeline import read_metadata
    from dashboard.components import model_label

    return model_label({**read_metadata(path), "path": str(path)})


def test_only_models_of_the_traffics_layout_are_offered(demo_dir, tmp_path, monkeypatch):
    """The list used to open on the best-scored model whatever its release, so a v2 upload met a v1 model and an
    error until the analyst found the right one."""
    from core.demo import write_demo_dataset

    v1 = tmp_path / "v1"
    write_demo_dataset(v1, layout="v1", rows_per_class=40, seed=1)
    models = tmp_path / "models"
    train_from_folder("rf", 6, str(v1), params={"n_estimators": 5}, models_dir=str(models), name="v1-rf-6class")
    monkeypatch.setenv("IOMT_MODELS_DIR", str(models))
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(demo_dir))
    payload = (demo_dir / "test" / "Benign_test.pcap.csv").read_bytes()
    at = upload(analyze_page(), [("Benign_test.pcap.csv", payload)])
    at.selectbox(key="analyze_task").set_value(6).run()
    no_exception(at)
    assert not at.error
    assert [s.key for s in at.selectbox] == ["analyze_task"], "no model to choose: none reads v2"
    assert any("The saved 6-class model does not read this traffic's v2 layout (39 features)" in i.value
               for i in at.info)  # fmt: skip

    train_from_folder("lr", 6, str(demo_dir), params={"max_iter": 20}, models_dir=str(models), name="v2-lr-6class")
    at = upload(analyze_page(), [("Benign_test.pcap.csv", payload)])
    at.selectbox(key="analyze_task").set_value(6).run()
    no_exception(at)
    box = at.selectbox(key="analyze_model")
    assert box.options == [components_label(models / "v2-lr-6class")] and box.label.startswith("Model (v2 models")
    v1_payload = (v1 / "test" / "Benign_test.pcap.csv").read_bytes()
    at = upload(at, [("Benign_test.pcap.csv", v1_payload)])
    no_exception(at)
    assert at.selectbox(key="analyze_model").options == [components_label(models / "v1-rf-6class")]
    assert not at.error and len(table_with(at, "predicted")) == v1_payload.count(b"\n") - 1, "scored"


def test_real_v2_sample_files(registry_env, v2_sample):
    names = ["Recon-Ping_Sweep_test.pcap.csv", "Recon-VulScan_test.pcap.csv", "Benign_test.pcap.csv"]
    paths = [v2_sample / "test" / n for n in names]
    at = upload(choose(analyze_page(), 19, "test-rf-19class"), [(p.name, p.read_bytes()) for p in paths])
    no_exception(at)
    assert not at.error
    model = TrainedModel.load(registry_env / "test-rf-19class")
    data = read_files([str(p) for p in paths])
    predictions = model.predict(data)
    report = model.evaluate(data, predictions=predictions)
    assert metrics(at)["Macro-F1"] == f"{report.macro_f1:.3f}"
    assert metrics(at)["Rows scored"] == f"{len(data):,}"
    absent = next(i.value for i in at.info if "have no rows in this data" in i.value)
    assert "16 of the task's 19 classes" in absent
    if predictions.repairs.total:
        assert any(predictions.repairs.summary() in i.value for i in at.info)


def test_a_model_deleted_while_in_use_is_said_gone_not_swapped_for_another(demo_dir, tmp_path, monkeypatch):
    """Another session deletes the model being used: the page used to fall back to the list's first model and show
    that detector's results without a word."""
    from core.pipeline import delete_model

    models = tmp_path / "models"
    for name in ("kept", "doomed"):
        train_from_folder("lr", 6, str(demo_dir), params={"max_iter": 20}, models_dir=str(models), name=name)
    at = demo_traffic_page(models, demo_dir, monkeypatch, 6, "doomed")
    assert metrics(at)["Rows scored"] == "2,800"
    delete_model("doomed", models)  # the other session
    at.run()
    no_exception(at)
    gone = next(w.value for w in at.warning if "no longer exists" in w.value)
    assert "**doomed**" in gone and "Choose another model" in gone
    assert "Rows scored" not in metrics(at) and not at.dataframe, "nothing scored with a model the analyst did not pick"
    assert at.selectbox(key="analyze_model").value is None
    at.selectbox(key="analyze_model").set_value(str(models / "kept")).run()
    no_exception(at)
    assert metrics(at)["Rows scored"] == "2,800" and not [w for w in at.warning if "no longer exists" in w.value]


def test_a_model_that_never_saw_benign_traffic_is_flagged_where_it_is_chosen(demo_dir, tmp_path, monkeypatch):
    import shutil

    part = tmp_path / "no-benign"
    for split in ("train", "test"):
        (part / split).mkdir(parents=True)
        for f in (demo_dir / split).glob("*.csv"):
            if not f.name.startswith("Benign"):
                shutil.copy(f, part / split)
    models = tmp_path / "models"
    train_from_folder("lr", 6, str(part), params={"max_iter": 20}, models_dir=str(models), name="attacks-only")
    at = demo_traffic_page(models, demo_dir, monkeypatch, 6, "attacks-only")
    warning = next(w.value for w in at.warning if "never saw" in w.value)
    assert "never saw 1 of the task's 6 classes" in warning and "never saw **Benign** traffic" in warning


def test_uploads_of_both_releases_are_named_as_a_mix_whichever_comes_first(registry_env, demo_dir, tmp_path):
    """With the v1 file first, only v1 models were looked for, and with none saved the page advised training one."""
    from core.demo import write_demo_dataset

    write_demo_dataset(tmp_path / "v1", layout="v1", rows_per_class=20, seed=1)
    v1 = ("ARP_Spoofing_test.pcap.csv", (tmp_path / "v1" / "test" / "ARP_Spoofing_test.pcap.csv").read_bytes())
    v2 = ("Benign_test.pcap.csv", (demo_dir / "test" / "Benign_test.pcap.csv").read_bytes())
    for files in ([v1, v2], [v2, v1]):
        at = analyze_page()
        at.selectbox(key="analyze_task").set_value(6).run()
        at = upload(at, files)
        no_exception(at)
        assert any("mix both CICIoMT2024 releases" in e.value for e in at.error), [e.value for e in at.error]
        assert not [i for i in at.info if "Train page" in i.value], "no advice to train: the mix is the fault"


def test_a_2_class_table_calls_the_runner_up_the_other_class_and_says_a_saved_threshold_decides(
    demo_models_dir, demo_dir, tmp_path, monkeypatch
):
    """Under an alarm threshold of 0.8 a flow at P(attack) 0.62 is called Benign (probability 0.38), and the table
    headed its Attack 0.62 '2nd likeliest'."""
    import shutil

    import pandas as pd

    from core import threshold as th
    from dashboard.views.analyze import _column_labels

    models = tmp_path / "models"
    shutil.copytree(demo_models_dir / "test-rf-2class", models / "rf2")
    th.save_threshold(models / "rf2", 0.8, chosen_on="ward 3")
    at = demo_traffic_page(models, demo_dir, monkeypatch, 2, "rf2")
    assert any("reaches the alarm threshold saved with the model, 0.80" in c.value for c in at.caption)
    frame = pd.DataFrame(columns=["file", "row", "predicted", "probability", "top2", "top2_probability"])
    assert _column_labels(frame, 2)["top2"]["label"] == "other class"
    assert _column_labels(frame, 6)["top2"]["label"] == "2nd likeliest class"


def test_family_labels_are_scored_at_6_classes_and_the_page_says_so(registry_env, demo_dir):
    """A capture labelled only by attack family ('DDoS') was refused; a 19-class model is now scored on it at 6
    classes (its predictions grouped into families), and the page says so above the scores."""
    import pandas as pd

    from core.taxonomy import CATEGORY, class_from_filename

    files = []
    for name in ("Benign_test.pcap.csv", "TCP_IP-DDoS-SYN_test.pcap.csv", "Recon-OS_Scan_test.pcap.csv"):
        frame = pd.read_csv(demo_dir / "test" / name)
        frame["label"] = CATEGORY[class_from_filename(name)]
        files.append((name.replace("_test.pcap", "-ward-3"), frame.to_csv(index=False).encode()))
    at = upload(choose(analyze_page(), 19, "test-rf-19class"), files)
    no_exception(at)
    assert not at.error
    model = TrainedModel.load(registry_env / "test-rf-19class")
    report = model.evaluate(read_files(files))
    assert report.task == 6
    assert metrics(at)["Macro-F1"] == f"{report.macro_f1:.3f}"
    info = next(i.value for i in at.info if i.value.startswith("Scored at 6 classes, not 19"))
    assert "say only their attack family" in info and "grouped into attack families" in info
    shown = [e.label if e.type == "metric" else e.value for e in _in_order(at.main) if e.type in ("metric", "info")]
    assert shown.index(info) < shown.index("Macro-F1"), "said above the scores it qualifies, not below them"
    cm = charts(at)["analyze_confusion"]["data"][0]
    assert set(cm["y"]) <= {"Benign", "Spoofing", "MQTT", "Recon", "DDoS", "DoS"} and {"DDoS", "Recon"} <= set(cm["y"])
    rows = table_with(at, "true")
    assert set(rows["true"]) == {"Benign", "DDoS", "Recon"}


def _in_order(node):
    """The page's elements, in the order they are shown (depth first)."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _in_order(child)
