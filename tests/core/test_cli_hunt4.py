"""The command line's outputs and messages, fourth hunt: each test failed on the code before its fix (see each
docstring for what it did)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.core.test_distributed_hunt2 import stop_score_many


@pytest.fixture(scope="module")
def small_data(v2_sample, tmp_path_factory) -> Path:
    """A folder in the official layout whose test/ holds two real v2 captures (about 2,000 rows)."""
    out = tmp_path_factory.mktemp("hunt4-data")
    (out / "test").mkdir()
    for name in ("Benign_test.pcap.csv", "ARP_Spoofing_test.pcap.csv"):
        (out / "test" / name).write_bytes((v2_sample / "test" / name).read_bytes())
    return out


def core(*args, cwd=ROOT, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", *map(str, args)], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


# ---------------------------------------------------------------- one rule for standard output


def test_evaluate_json_dev_stdout_gives_the_json_alone_on_standard_output(models, small_data):
    """``evaluate --json /dev/stdout`` (as ``predict --out /dev/stdout`` takes it) printed the report in words and
    then the JSON into the same stream: ``| jq`` failed on the first line. Now the JSON alone goes to standard
    output, and the words to standard error."""
    proc = core("evaluate", "--models-dir", models, "--model", "lr19", "--data", small_data, "--json", "/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)  # the whole of standard output is the JSON
    assert report["model"] == "lr19" and report["macro_f1"] > 0
    err = proc.stderr.decode()
    assert f"lr19 on {small_data}/test: macro-F1" in err and "report written" not in err


def test_evaluate_json_to_the_file_standard_output_is_redirected_to_is_clean_json(models, small_data, tmp_path):
    """``evaluate ... --json out.json > out.json``: the JSON was written through its name, the words were printed
    into the same file by the redirection, and the file held neither cleanly."""
    target = tmp_path / "out.json"
    with open(target, "wb") as fh:
        proc = core("evaluate", "--models-dir", models, "--model", "lr19", "--data", small_data, "--json", target,
                    stdout=fh)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(target.read_text())["model"] == "lr19"
    assert "macro-F1" in proc.stderr.decode()


def test_report_out_dev_stdout_puts_the_summary_line_on_standard_error(models, small_data):
    """``report --out /dev/stdout | mail``: 'report written: /dev/stdout' came after the HTML, in the mail."""
    proc = core("report", "--models-dir", models, "--model", "lr19", "--data", small_data / "test", "--out",
                "/dev/stdout", "--no-importance")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    html = proc.stdout.decode()
    assert html.lstrip().lower().startswith("<!doctype html") and html.rstrip().endswith("</html>")
    assert "report written" not in html
    assert "report written: standard output" in proc.stderr.decode()


def test_report_refuses_html_and_pdf_both_on_standard_output_whatever_the_spelling(models, small_data):
    """``--out - --pdf /dev/stdout`` was taken: the HTML and the PDF, one after the other, in one stream."""
    proc = core("report", "--models-dir", models, "--model", "lr19", "--data", small_data / "test", "--out", "-",
                "--pdf", "/dev/stdout")  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == b""
    assert "error: --out - and --pdf /dev/stdout are both standard output" in proc.stderr.decode()


# ---------------------------------------------------------------- report: the kind of each file


def test_report_refuses_the_html_and_pdf_names_swapped(models, small_data, tmp_path, capsys):
    """``report --out x.pdf --pdf x.html`` wrote the HTML page into x.pdf and the PDF into x.html: neither opened."""
    from core.cli import main

    rc = main(["report", "--models-dir", str(models), "--model", "lr19", "--data", str(small_data / "test"), "--out",
               str(tmp_path / "x.pdf"), "--pdf", str(tmp_path / "x.html")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert f"error: --out {tmp_path / 'x.pdf'} names a PDF file, but --out writes the HTML report" in err
    assert f"hint: write the PDF with --pdf: --out {tmp_path / 'x.html'} --pdf {tmp_path / 'x.pdf'}" in err
    assert list(tmp_path.iterdir()) == []


def test_report_out_pdf_alone_points_at_the_pdf_option(models, small_data, tmp_path, capsys):
    """``report --out report.pdf`` wrote an HTML page named report.pdf, which no PDF reader opens."""
    from core.cli import main

    rc = main(["report", "--models-dir", str(models), "--model", "lr19", "--data", str(small_data / "test"), "--out",
               str(tmp_path / "report.PDF")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "names a PDF file, but --out writes the HTML report" in err
    assert f"--out {tmp_path / 'report.html'} --pdf {tmp_path / 'report.PDF'}" in err
    assert list(tmp_path.iterdir()) == []


def test_report_pdf_named_html_is_refused(models, small_data, tmp_path, capsys):
    from core.cli import main

    rc = main(["report", "--models-dir", str(models), "--model", "lr19", "--data", str(small_data / "test"), "--out",
               str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r2.htm")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "names an HTML file, but --pdf writes the PDF report" in err
    assert f"--pdf {tmp_path / 'r2.pdf'}" in err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- benchmark-models


def test_benchmark_models_says_a_skipped_task_once(v1_sample, tmp_path, capsys):
    """The v1 sample has no Benign rows, so the 2-class task is skipped: the console said so twice, in the printed
    results' footer and again as a 'note:' line after it."""
    from core.cli import main

    rc = main(["benchmark-models", "--data", str(v1_sample), "--families", "lr", "--tasks", "2,6",
               "--max-rows-per-class", "100", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert out.count("2-class task was skipped") == 1, out
    assert "the 2-class task was skipped (the training data has only one of its classes)" in out


def test_benchmark_models_counts_one_failed_job_in_the_singular(v1_sample, tmp_path, capsys, monkeypatch):
    """'1 of 1 jobs failed' in results.md."""
    import core.models
    from core.cli import main

    monkeypatch.setattr(core.models, "available_memory", lambda: 10_000)  # the forest refuses to start
    rc = main(["benchmark-models", "--data", str(v1_sample), "--families", "rf", "--tasks", "6", "--rf-trees", "20",
               "--max-rows-per-class", "100", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    capsys.readouterr()
    assert rc == 1
    md = (tmp_path / "results.md").read_text()
    assert "1 of 1 job failed (see each task)" in md, md


# ---------------------------------------------------------------- score-many stopped


def _stop_score_many(models, capture, out: Path, log_path: Path, signum: int) -> tuple[int, str]:
    """score-many of ``capture`` with the registry's lr19 into ``out``, stopped by ``signum`` once it has scored."""
    return stop_score_many(["--models-dir", str(models), "--model", "lr19", str(capture)], out, log_path, signum)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_score_many_stopped_removes_the_out_folder_it_made(signum, status, models, v2_sample, tmp_path):
    """Stopped (Ctrl-C, SIGTERM), a run whose --out did not exist left that folder behind, empty (and the folders it
    had made above it)."""
    capture = v2_sample / "test" / "Recon-Port_Scan_test.pcap.csv"
    out = tmp_path / "new" / "out"
    rc, log = _stop_score_many(models, capture, out, tmp_path / "log", signum)
    assert rc == status, log
    assert not out.exists() and not (tmp_path / "new").exists(), log


def test_score_many_stopped_keeps_an_out_folder_the_user_had(models, v2_sample, tmp_path):
    """An --out folder that existed before the run is the user's: kept, empty or not."""
    capture = v2_sample / "test" / "Recon-Port_Scan_test.pcap.csv"
    out = tmp_path / "mine"
    out.mkdir()
    rc, log = _stop_score_many(models, capture, out, tmp_path / "log", signal.SIGTERM)
    assert rc == 143, log
    assert out.is_dir() and list(out.iterdir()) == []


# ---------------------------------------------------------------- refused runs leave no empty folders


def test_benchmark_models_refused_leaves_no_empty_out_folder(tmp_path, capsys):
    """``benchmark-models --data MISSPELT --out results/run1`` said the data folder was not found, and left
    results/run1 behind, empty."""
    from core.cli import main

    rc = main(["benchmark-models", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "results" / "run1"),
               "--save-models", str(tmp_path / "saved"), "--quiet"])  # fmt: skip
    assert rc == 2 and "data folder not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_predict_with_a_model_that_does_not_exist_leaves_no_empty_out_folder(models, small_data, tmp_path, capsys):
    """``predict --model TYPO ... --out new/p.csv`` made new/ before it looked for the model, and left it empty."""
    from core.cli import main

    rc = main(["predict", "--models-dir", str(models), "--model", "lr91", str(small_data / "test"),
               "--out", str(tmp_path / "new" / "p.csv")])  # fmt: skip
    assert rc == 2 and "no model at 'lr91'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_refused_run_keeps_the_folders_the_user_had(models, small_data, tmp_path, capsys):
    from core.cli import main

    (tmp_path / "mine").mkdir()
    rc = main(["evaluate", "--models-dir", str(models), "--model", "lr91", "--data", str(small_data),
               "--json", str(tmp_path / "mine" / "r.json")])  # fmt: skip
    assert rc == 2 and "no model at 'lr91'" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


# ---------------------------------------------------------------- paths given empty


@pytest.mark.parametrize("argv", [
    ["evaluate", "--model", "lr19", "--data", "DATA", "--json", ""],
    ["report", "--model", "lr19", "--data", "DATA", "--out", "OUT/r.html", "--pdf", ""],
    ["models", "--models-dir", ""],
    ["delete", "--models-dir", "", "lr19"],
])  # fmt: skip
def test_an_empty_path_is_refused(argv, models, small_data, tmp_path, capsys):
    """``--json "$OUT"`` with OUT unset wrote no JSON and said nothing (and ``--pdf ""`` no PDF); ``--models-dir
    "$REG"`` listed, or deleted from, the default registry instead."""
    from core.cli import main

    argv = [str(small_data) if a == "DATA" else a.replace("OUT", str(tmp_path)) for a in argv]
    argv[1:1] = [] if "--models-dir" in argv else ["--models-dir", str(models)]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "an empty path (a shell variable left unset?)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_predict_out_a_folder_that_takes_no_files_says_to_give_a_file_name(models, small_data, capsys):
    """``predict --out /proc`` (a folder that takes no files, even for root) said '--out /proc cannot be written to
    ... give --out a folder you can write to', though --out takes a file."""
    from core.cli import main

    rc = main(["predict", "--models-dir", str(models), "--model", "lr19",
               str(small_data / "test" / "Benign_test.pcap.csv"), "--out", "/proc"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "error: --out /proc is a folder\n" in err, err
    assert "hint: give a file name for the predictions, in a folder you can write to" in err


def test_predict_out_a_folder_offers_a_file_name_in_it(models, small_data, tmp_path, capsys):
    from core.cli import main

    rc = main(["predict", "--models-dir", str(models), "--model", "lr19",
               str(small_data / "test" / "Benign_test.pcap.csv"), "--out", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and f"error: --out {tmp_path} is a folder" in err
    assert f"hint: give a file name for the predictions, e.g. {tmp_path / 'predictions.csv'}" in err


def test_train_refused_leaves_no_empty_model_registry(tmp_path, capsys):
    """``train --data MISSPELT --models-dir new-registry`` made the registry before it read the data, and left it
    behind, empty."""
    from core.cli import main

    rc = main(["train", "--task", "2", "--model", "lr", "--data", str(tmp_path / "nowhere"), "--models-dir",
               str(tmp_path / "registry"), "--quiet"])  # fmt: skip
    assert rc == 2 and "data folder not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_demo_data_says_its_row_count_with_thousands_separators(tmp_path, capsys):
    """'generated demo data (v2 layout, 4578 rows, ...)': every other count the command line prints reads '4,578'."""
    from core.cli import main

    assert main(["demo-data", "--out", str(tmp_path / "demo"), "--rows", "0.1"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads(next((tmp_path / "demo").glob("*.json")).read_text())
    total = sum(manifest["files"].values())
    assert total >= 1000 and f"(v2 layout, {total:,} rows, NOT real traffic)" in out, out


# ---------------------------------------------------------------- score-many's summary


def test_score_many_sums_the_repairs_of_files_with_and_without_cells_beyond_the_bound(models, v2_sample, tmp_path,
                                                                                        capsys):  # fmt: skip
    """Since cells beyond ±1e15 were counted apart (RepairCounts.beyond, left out of the counts where there is none),
    every score-many run ended in a KeyError traceback ('beyond') while summing the files' repairs."""
    import pandas as pd

    from core.cli import main

    captures = tmp_path / "in"
    captures.mkdir()
    clean = (v2_sample / "test" / "Benign_test.pcap.csv").read_bytes()
    (captures / "clean.csv").write_bytes(clean)
    frame = pd.read_csv(v2_sample / "test" / "ARP_Spoofing_test.pcap.csv")
    frame.loc[3, "Header_Length"] = 3e38
    frame.to_csv(captures / "damaged.csv", index=False)
    rc = main(["score-many", "--models-dir", str(models), "--model", "lr19", str(captures), "--out",
               str(tmp_path / "out"), "--workers", "1", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["files_scored"] == 2
    assert summary["repaired_cells"]["beyond"] == {"Header_Length": 1}
