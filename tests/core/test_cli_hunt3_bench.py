"""The command line's registry commands as an engineer uses them on a registry of many models (``models``). Real
small models from the shared fixtures, copied into a registry of the test's own."""

from __future__ import annotations

import shutil

from core.cli import main


def test_models_keeps_its_columns_in_line_beside_a_long_name(demo_models_dir, tmp_path, capsys):
    """A name may have up to 80 characters, but the name column was 44 wide: a longer name pushed the task, family
    and scores of its row to the right of every other row's."""
    long_name = "paper-cnn-19class-v2-sample-one-epoch-for-the-night-shift-of-ward-7-" + "x" * 12
    assert len(long_name) == 80
    for name, source in ((long_name, "test-paper-cnn-19class"), ("short", "test-rf-6class")):
        shutil.copytree(demo_models_dir / source, tmp_path / name)
    (tmp_path / "broken").mkdir()  # a damaged folder is listed too
    assert main(["models", "--models-dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], {line.split()[0]: line for line in lines[1:3]}
    assert set(rows) == {long_name, "short"}, lines
    for column, value in (("family", {"short": "rf", long_name: "paper-cnn"}), ("macro-F1", None)):
        end = header.index(column) + len(column)
        for name, line in rows.items():
            if value:  # left-aligned under its heading
                assert line[header.index(column) :].startswith(value[name] + " "), (column, line)
            else:  # numbers end where their heading ends
                assert line[end - 1] != " " and line[end] == " ", (column, line)
    assert any(line.startswith("broken ") and "damaged" in line for line in lines)


def test_benchmark_says_which_classes_of_the_test_rows_no_model_was_trained_on(demo_dir, tmp_path, capsys):
    """A data folder whose train/ lacks a class that test/ holds: every family's F1 for it was 0.000 in results.md,
    and nothing said why (a reader took it for the families failing on spoofing). Now a note under the task says the
    training rows hold none of it."""
    data = tmp_path / "data"
    for split in ("train", "test"):  # every test file, every training file but ARP spoofing's
        (data / split).mkdir(parents=True)
        for f in (demo_dir / split).glob("*.csv"):
            if split == "test" or not f.name.startswith("ARP_Spoofing"):
                (data / split / f.name).symlink_to(f)
    out = tmp_path / "bench"
    argv = ["benchmark-models", "--data", str(data), "--out", str(out), "--families", "lr", "--tasks", "6,19",
            "--max-rows-per-class", "40", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    md = (out / "results.md").read_text()
    assert "| Spoofing | 0.000 |" in md and "| ARP_Spoofing | 0.000 |" in md
    for absent in ("Spoofing", "ARP_Spoofing"):
        assert f"the training rows hold no {absent}, though the test rows do" in md, md
    assert "no model fitted on them can predict it" in capsys.readouterr().out
