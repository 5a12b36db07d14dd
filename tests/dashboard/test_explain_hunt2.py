"""The "Why this flow" part of the Analyze page, as an analyst reads it (AppTest, real models; found in a second bug
hunt, each failed before its fix): repaired cells named by the feature's own name, another file's flow to explain
starting at its first flagged flow, and a saved alarm threshold said where it decides the class shown."""

from __future__ import annotations

import numpy as np

from core import threshold as th
from core.loading import read_files
from core.pipeline import TrainedModel
from tests.dashboard.test_analyze_page import analyze_page, choose, no_exception, upload
from tests.dashboard.test_explain_panel import own_registry as own_registry  # a fixture

DDOS = "TCP_IP-DDoS-UDP1_test.pcap.csv"


def _lines(demo_dir, name: str, n: int) -> list[str]:
    """The header and the first ``n`` rows of a demo test file."""
    return (demo_dir / "test" / name).read_text().splitlines(keepends=True)[: n + 1]


def test_a_repaired_cell_is_named_by_the_features_own_name(registry_env, demo_dir):
    """The notes under the chart were put in sentence case: 'Fin_flag_number was NaN', 'Ack_count was NaN', names
    that are in no table nor file (the feature is fin_flag_number)."""
    lines = _lines(demo_dir, DDOS, 3)
    header = [h.strip() for h in lines[0].rstrip("\n").split(",")]
    rows = []
    for line in lines[1:]:  # in every row: whichever is explained
        cells = line.rstrip("\n").split(",")
        for name in ("fin_flag_number", "ack_count", "Protocol Type"):
            cells[header.index(name)] = "nan"
        rows.append(",".join(cells) + "\n")
    payload = (lines[0] + "".join(rows)).encode()
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), [(DDOS, payload)])
    no_exception(at)
    notes = [c.value for c in at.caption if " was NaN: scored as " in c.value]
    assert len(notes) == 3, notes
    assert any(n.startswith(r"fin\_flag\_number was NaN: scored as ") for n in notes), notes
    assert any(n.startswith(r"ack\_count was NaN: scored as ") for n in notes), notes
    assert any(n.startswith("Protocol Type was NaN: scored as ") for n in notes), notes


def test_another_file_starts_at_its_own_first_flagged_flow(registry_env, demo_dir):
    """The help says the first flow flagged as an attack is chosen to start; choosing another file started at its
    row 1 (here a benign flow), though later flows of that file were flagged."""
    ddos = _lines(demo_dir, DDOS, 5)
    benign = _lines(demo_dir, "Benign_test.pcap.csv", 1)
    mixed = ddos[0].rstrip("\n") + ",label\n" + benign[1].rstrip("\n") + ",Benign\n"
    mixed += "".join(line.rstrip("\n") + ",DDoS-UDP\n" for line in ddos[1:])
    files = [(DDOS, "".join(ddos).encode()), ("mixed.csv", mixed.encode())]
    model = TrainedModel.load(registry_env / "test-rf-6class")
    labels = model.predict(read_files(files)).labels
    n_first = len(ddos) - 1
    flagged_in_mixed = np.flatnonzero(labels[n_first:] != "Benign")
    assert labels[0] != "Benign" and labels[n_first] == "Benign" and len(flagged_in_mixed)  # what the test needs
    at = upload(choose(analyze_page(), 6, "test-rf-6class"), files)
    no_exception(at)
    assert at.selectbox(key="analyze_explain_file").value == DDOS
    assert at.number_input(key="analyze_explain_row").value == 1
    at.selectbox(key="analyze_explain_file").set_value("mixed.csv").run()
    no_exception(at)
    assert at.number_input(key="analyze_explain_row").value == int(flagged_in_mixed[0]) + 1
    assert any(m.value.startswith(f"Row {int(flagged_in_mixed[0]) + 1} of mixed.csv: classed as **DDoS**")
               for m in at.markdown)  # fmt: skip


def test_a_saved_alarm_threshold_is_said_where_it_decides_the_class_shown(own_registry, demo_dir):
    """With a threshold of 0.30 saved, a flow was 'classed as Attack with probability 0.400' and nothing on the
    explanation said why a probability under one half made it an attack."""
    folder = own_registry / "test-rf-2class"
    names = ["Benign_test.pcap.csv", DDOS]
    files = [(n, (demo_dir / "test" / n).read_bytes()) for n in names]
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), files)
    no_exception(at)
    row = next(m.value for m in at.markdown if m.value.startswith("Row "))
    assert "alarm threshold" not in row  # none saved: the larger probability decides, nothing to add
    th.save_threshold(folder, 0.3)
    at = upload(choose(analyze_page(), 2, "test-rf-2class"), files)
    no_exception(at)
    row = next(m.value for m in at.markdown if m.value.startswith("Row "))
    assert (
        "A flow is classed as an attack when its probability of attack reaches 0.30, the alarm threshold saved "
        "with the model." in row
    ), row
