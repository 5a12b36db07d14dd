"""Attacks on the core: hostile and oversized files, paths out of the data roots, the audit log,
two processes saving one model name, deleting a model in use, training one name twice, and
scoring that must keep every row. Each test tries to break one promise of issue 8."""

from __future__ import annotations

import gzip
import io
import json
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import audit
from core.errors import CoreError, DataError, ModelFormatError
from core.limits import Limits
from core.loading import UNLABELLED, read_csv, read_files
from core.paths import PathNotAllowedError, confine
from core.pipeline import TrainedModel, TrainingLock, delete_model, list_models, registry_lock
from core.schema import LAYOUTS
from tests.conftest import ROOT

V2 = LAYOUTS["v2"].features


def csv_text(rows: int = 5, delimiter: str = ",", seed: int = 0, label: bool = False) -> str:
    """A valid v2-layout CSV (39 features, optionally a label column)."""
    rng = np.random.default_rng(seed)
    header = list(V2) + (["label"] if label else [])
    lines = [delimiter.join(header)]
    for i in range(rows):
        cells = [f"{v:.4f}" for v in rng.random(len(V2))]
        if label:
            cells.append("Benign" if i % 2 else "DDoS-UDP")
        lines.append(delimiter.join(cells))
    return "\n".join(lines) + "\n"


def refused(data, name="x.csv", **kw) -> DataError:
    with pytest.raises(DataError) as info:
        read_csv(data, name=name, **kw)
    err = info.value
    assert name in str(err) and err.hint, (str(err), err.hint)  # names the file, says what to do
    return err


# ------------------------------------------------------------------------------ limits


def test_sparse_2gb_file_refused_before_reading(tmp_path, monkeypatch):
    """A 2 GB file (sparse: no disk used) is refused from its size, without a byte of it being read."""
    import core.limits
    import core.loading

    big = tmp_path / "huge.csv"
    big.write_text(",".join(V2) + "\n")
    os.truncate(big, 2 * 1024**3)

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was read")

    for module, name in ((core.loading, "_head"), (core.loading.pacsv, "read_csv"), (core.limits, "_longest_line")):
        monkeypatch.setattr(module, name, no_reading)
    err = refused(str(big), name="huge.csv")
    assert "the file is 2,048.0 MB, larger than the limit of 1,024.0 MB" in str(err)
    assert "IOMT_MAX_FILE_MB" in err.hint


@pytest.mark.parametrize("kind", ["bytes", "file-like"])
def test_upload_over_the_size_limit_refused(monkeypatch, kind):
    monkeypatch.setenv("IOMT_MAX_FILE_MB", "1")
    payload = csv_text(rows=3).encode() + b"0," * (600 * 1024)  # 1.2 MB
    source = payload if kind == "bytes" else io.BytesIO(payload)
    err = refused(source, name="big.csv")
    assert "larger than the limit of 1.0 MB" in str(err)


def test_file_like_without_size_is_read_no_further_than_the_limit(monkeypatch):
    monkeypatch.setenv("IOMT_MAX_FILE_MB", "1")

    class Stream(io.RawIOBase):  # no seek, no size: like a pipe
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def read(self, n=-1):
            assert n is not None and n > 0, "read without a bound"
            self.sent += n
            return b"1" * n

    stream = Stream()
    refused(stream, name="pipe.csv")
    assert stream.sent <= 1024 * 1024 + 1


def test_row_limit(monkeypatch):
    monkeypatch.setenv("IOMT_MAX_ROWS", "10")
    assert len(read_csv(csv_text(rows=10).encode(), name="ok.csv")) == 10
    err = refused(csv_text(rows=11).encode(), name="rows.csv")
    assert "11 rows, more than the limit of 10" in str(err)


def test_column_limit():
    header = ",".join(f"c{i}" for i in range(5000))
    err = refused((header + "\n" + ",".join("1" * 5000) + "\n").encode(), name="wide.csv")
    assert "5,000 columns, more than the limit of 256" in str(err)


def test_line_length_limit():
    text = csv_text(rows=3)
    long_row = ",".join(["1" * 3000] * len(V2))  # 39 cells of 3,000 digits: a 117 KB line
    err = refused((text + long_row + "\n").encode(), name="long.csv")
    assert "line 5 is" in str(err) and "more than the limit of 65,536" in str(err)


def test_line_length_limit_on_a_path(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(csv_text(rows=2) + "9" * 70_000)  # last line, without a newline
    err = refused(str(path), name="long.csv")
    assert "line 4 is 70,000 bytes long" in str(err)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(lengths=st.lists(st.integers(0, 80), min_size=0, max_size=60), limit=st.integers(1, 60),
       trailing_newline=st.booleans())  # fmt: skip
def test_quick_line_check_never_passes_a_long_line(lengths, limit, trailing_newline):
    """The sampling shortcut says "no long line" only when the exact scan agrees."""
    from core.limits import _longest_line, _no_line_longer_than

    buf = b"\n".join(b"x" * n for n in lengths) + (b"\n" if trailing_newline and lengths else b"")
    if _no_line_longer_than(buf, limit):
        assert _longest_line(buf)[0] <= limit


def test_line_length_limit_without_the_shortcut(monkeypatch):
    """The exact scan still runs (and finds the line) when the shortcut cannot vouch for the file."""
    import core.limits

    calls = []
    real = core.limits._longest_line
    monkeypatch.setattr(core.limits, "_longest_line", lambda buf: calls.append(1) or real(buf))
    read_csv(csv_text(rows=3).encode(), name="fine.csv")
    assert calls == [], "a file of short lines is vouched for by the shortcut"
    test_line_length_limit()
    assert calls == [1]


def test_limits_from_bad_environment(monkeypatch):
    monkeypatch.setenv("IOMT_MAX_ROWS", "lots")
    with pytest.raises(DataError, match="IOMT_MAX_ROWS must be a number"):
        Limits.from_env()


# ------------------------------------------------------------------------------ hostile CSVs


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("flows.csv", text)
    return buf.getvalue()


REFUSED = {
    "zip archive": (lambda t: _zip(t), "zip archive"),
    "gzip": (lambda t: gzip.compress(t.encode()), "gzip-compressed"),
    "html page": (lambda t: b"<!DOCTYPE html>\n<html><body><h1>404 Not Found</h1></body></html>\n", "HTML"),
    "html, no doctype": (lambda t: b"  \n<html lang='en'><head><title>Sign in</title></head></html>", "HTML"),
    "binary": (lambda t: bytes(range(256)) * 64, "binary"),
    "utf-16 with BOM": (lambda t: t.encode("utf-16"), "UTF-16"),
    "utf-16-le without BOM": (lambda t: t.encode("utf-16-le"), "UTF-16"),
    "utf-16-be without BOM": (lambda t: t.encode("utf-16-be"), "UTF-16"),
    "pcap": (lambda t: b"\xd4\xc3\xb2\xa1" + bytes(100), "packet capture"),
    "xlsx-like": (lambda t: b"PK\x03\x04" + bytes(60), "zip archive"),
    "pdf": (lambda t: b"%PDF-1.7\n...", "PDF"),
    "empty": (lambda t: b"", "empty"),
    "only whitespace": (lambda t: b"\n\n  \n", "empty"),
    "header only": (lambda t: t.splitlines()[0].encode() + b"\n", "no rows"),
    "no delimiter": (lambda t: b"just some text\nmore text\n", "not a CSV header"),
    "other columns": (lambda t: b"a,b,c\n1,2,3\n", "feature"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_file_refused_with_reason(case):
    make, reason = REFUSED[case]
    err = refused(make(csv_text()), name="capture.csv")
    assert reason.lower() in str(err).lower(), str(err)


def test_thousands_separators_refused_with_the_reason():
    text = csv_text(rows=3).splitlines()
    cells = text[2].split(",")
    cells[3] = '"1,234,567"'
    text[2] = ",".join(cells)
    err = refused("\n".join(text).encode(), name="thousands.csv")
    assert err.column == V2[3] and err.row == 2
    assert "'1,234,567'" in str(err) and "thousands separators" in err.hint


def test_decimal_comma_refused_with_the_reason():
    text = csv_text(rows=3, delimiter=";").splitlines()
    cells = text[1].split(";")
    cells[0] = "1,5"
    text[1] = ";".join(cells)
    err = refused("\n".join(text).encode(), name="decimal.csv")
    assert "decimal comma" in err.hint and err.row == 1


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_other_delimiters_read_correctly(delimiter):
    expected = read_csv(csv_text(rows=6).encode(), name="a.csv").X
    got = read_csv(csv_text(rows=6, delimiter=delimiter).encode(), name="b.csv").X
    np.testing.assert_array_equal(got, expected)


def test_bom_crlf_and_quoted_numbers_read_correctly():
    plain = read_csv(csv_text(rows=6).encode(), name="a.csv").X
    quoted = "\n".join(
        line if i == 0 else ",".join(f'"{c}"' for c in line.split(","))
        for i, line in enumerate(csv_text(rows=6).splitlines())
    )
    quoted_header = ",".join(f'"{c}"' for c in V2) + "\n" + csv_text(rows=6).split("\n", 1)[1]
    for variant in (
        b"\xef\xbb\xbf" + csv_text(rows=6).encode(),  # UTF-8 byte-order mark
        csv_text(rows=6).replace("\n", "\r\n").encode(),  # Windows line ends
        quoted.encode(),  # every number in quotes
        quoted_header.encode(),  # quoted column names
    ):
        np.testing.assert_array_equal(read_csv(variant, name="v.csv").X, plain)


def test_script_in_a_label_is_refused_as_an_unknown_label_not_run():
    text = csv_text(rows=2, label=True).splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ",<script>alert(1)</script>"
    err = refused("\n".join(text).encode(), name="labels.csv")
    assert "unrecognised label '<script>alert(1)</script>'" in str(err) and err.row == 1


# ------------------------------------------------------------------------------ paths


@pytest.fixture()
def roots(tmp_path):
    data = tmp_path / "data"
    (data / "ok" / "train").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (data / "link-out").symlink_to(outside)
    (data / "link-in").symlink_to(data / "ok")
    return data, outside


def test_paths_inside_the_roots_are_allowed(roots):
    data, _ = roots
    assert confine(data / "ok", [data]) == (data / "ok").resolve()
    assert confine("ok/train", [data], base=data) == (data / "ok" / "train").resolve()
    assert confine(data / "link-in", [data]) == (data / "ok").resolve()  # a link that stays inside
    assert confine(f"{data}/ok/../ok", [data]) == (data / "ok").resolve()


@pytest.mark.parametrize("attack", ["dotdot", "dotdot-relative", "absolute", "symlink-out", "etc", "home", "nul",
                                    "empty", "quoted"])  # fmt: skip
def test_paths_outside_the_roots_are_refused(roots, attack):
    data, outside = roots
    typed = {
        "dotdot": f"{data}/../secret",
        "dotdot-relative": "../../../../../../etc",
        "absolute": str(outside),
        "symlink-out": str(data / "link-out"),
        "etc": "/etc/passwd",
        "home": "~",
        "nul": f"{data}/ok\x00/../../secret",
        "empty": "   ",
        "quoted": f'"{outside}"',
    }[attack]
    with pytest.raises(PathNotAllowedError) as info:
        confine(typed, [data], base=data)
    assert info.value.hint


def test_default_roots_and_env(monkeypatch, tmp_path):
    from core.paths import data_roots

    monkeypatch.delenv("IOMT_DATA_ROOTS", raising=False)
    assert data_roots() == [(ROOT / "data").resolve(), (ROOT.parent / "shared" / "data").resolve()]
    monkeypatch.setenv("IOMT_DATA_ROOTS", f"{tmp_path}{os.pathsep}/srv/flows")
    assert data_roots() == [tmp_path.resolve(), Path("/srv/flows").resolve()]
    with pytest.raises(PathNotAllowedError, match="outside the folders"):
        confine(ROOT / "data", None)


def test_dashboard_folder_box_is_confined(monkeypatch, tmp_path):
    """The Train and Compare pages resolve typed folders through train_jobs.resolve_folder."""
    from dashboard.train_jobs import resolve_folder

    monkeypatch.delenv("IOMT_DATA_ROOTS", raising=False)
    monkeypatch.setenv("IOMT_DEMO_DATA_DIR", str(tmp_path / "demo"))
    assert resolve_folder(str(tmp_path / "demo" / "train")) == (tmp_path / "demo" / "train").resolve()
    assert resolve_folder("data/anything") == (ROOT / "data" / "anything").resolve()
    for typed in ("/etc", "data/../..", str(tmp_path)):
        with pytest.raises(PathNotAllowedError):
            resolve_folder(typed)


# ------------------------------------------------------------------------------ audit log


def test_audit_event_records_who_what_and_file_hashes_not_contents(tmp_path):
    secret = b"Header_Length,...\n10.0.0.7 talks to the insulin pump\n"
    event = audit.record("scored", user="alice", files=[audit.file_info("flows.csv", secret)], model="rf-6",
                         folder=tmp_path, rows=2)  # fmt: skip
    assert event["written"]
    (log,) = tmp_path.glob("audit-*.jsonl")
    text = log.read_text()
    assert b"insulin" not in text.encode() and "10.0.0.7" not in text
    saved = json.loads(text)
    assert saved["action"] == "scored" and saved["user"] == "alice" and saved["model"] == "rf-6"
    assert saved["files"] == [{"name": "flows.csv", "size": len(secret),
                               "sha256": __import__("hashlib").sha256(secret).hexdigest()}]  # fmt: skip
    assert saved["details"] == {"rows": 2} and saved["os_user"] and saved["time"].endswith("+00:00")


def _write_events(folder: str, n: int, who: str) -> None:
    for i in range(n):
        audit.record("scored", user=who, folder=folder, i=i, padding="x" * 3000)


def test_audit_log_survives_concurrent_writers(tmp_path):
    """Four processes appending at once: every line is whole JSON, none lost."""
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_write_events, args=(str(tmp_path), 100, f"u{k}")) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    events = audit.read_events(tmp_path, limit=None)
    assert len(events) == 400 and all(e["action"] == "scored" for e in events)
    assert sorted(e["details"]["i"] for e in events if e["user"] == "u2") == list(range(100))


def test_audit_unwritable_folder_does_not_stop_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    event = audit.record("deleted", folder=blocker / "audit")
    assert event["written"] is False and event["error"]


def test_audit_damaged_line_is_shown_not_fatal(tmp_path):
    audit.record("trained", folder=tmp_path, model="a")
    (log,) = tmp_path.glob("audit-*.jsonl")
    with open(log, "a") as fh:
        fh.write('{"half": \n')
    events = audit.read_events(tmp_path)
    assert events[0]["action"] == "unreadable" and events[1]["model"] == "a"


def test_cli_records_score_and_delete(tmp_path, tiny_model):
    model_dir = tmp_path / "models"
    tiny_model.save(model_dir / "cli-model")
    flows = tmp_path / "flows.csv"
    flows.write_text(csv_text(rows=7))
    env = {**os.environ, "IOMT_AUDIT_DIR": str(tmp_path / "audit"), "IOMT_MODELS_DIR": str(model_dir)}
    run = [sys.executable, "-m", "core"]
    out = subprocess.run([*run, "predict", "--model", "cli-model", str(flows), "--out", str(tmp_path / "p.csv")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = subprocess.run([*run, "delete", "cli-model"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    deleted, scored = audit.read_events(tmp_path / "audit")
    assert scored["action"] == "scored" and scored["via"] == "cli" and scored["model"] == "cli-model"
    assert scored["files"][0]["name"] == str(flows) and scored["files"][0]["size"] == flows.stat().st_size
    assert scored["details"]["rows"] == 7
    assert deleted["action"] == "deleted" and deleted["model"] == "cli-model"


# ------------------------------------------------------------------------------ registry


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Small labelled v2 data (generated), train/ and test/."""
    from core.demo import write_demo_dataset

    out = tmp_path_factory.mktemp("tiny")
    write_demo_dataset(out, layout="v2", rows_per_class=40, seed=1)
    return out


@pytest.fixture(scope="module")
def tiny_model(tiny_data):
    from core.training import train_from_folder

    model, _ = train_from_folder("lr", 6, str(tiny_data), params={"max_iter": 100}, save=False)
    return model


@pytest.fixture(scope="module")
def tiny_models(tiny_data, tiny_model):
    """Two different models (another family, another task) to race against each other."""
    from core.training import train_from_folder

    other, _ = train_from_folder("rf", 2, str(tiny_data), params={"n_estimators": 5}, save=False)
    return tiny_model, other


def _save_at_once(model, folder, barrier, overwrite, results):
    barrier.wait(30)
    try:
        model.save(folder, overwrite=overwrite)
        results.put(("saved", model.family))
    except ModelFormatError as exc:
        results.put(("refused", str(exc)))
    except BaseException as exc:  # anything else is a failure of the test
        results.put(("crashed", repr(exc)))


def _race(models, folder, overwrite):
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(len(models)), ctx.Queue()
    procs = [ctx.Process(target=_save_at_once, args=(m, folder, barrier, overwrite, results)) for m in models]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    return sorted(results.get(timeout=5) for _ in procs)


def _assert_one_whole_model(folder, tiny_models, data):
    loaded = TrainedModel.load(folder)
    (source,) = [m for m in tiny_models if m.family == loaded.family]
    assert loaded.task == source.task and loaded.classes == source.classes
    np.testing.assert_allclose(loaded.predict(data).proba, source.predict(data).proba, rtol=1e-6)
    leftovers = [p.name for p in folder.parent.iterdir() if p.name != folder.name]
    assert not leftovers, leftovers


def test_two_processes_saving_one_name(tmp_path, tiny_models, tiny_data):
    """Five rounds of two processes saving the same name at the same moment: one whole model, the other refused
    with a clear error; no mix of the two, no temporary folder left."""
    data = read_files(sorted((tiny_data / "test").glob("*.csv")))
    for round_ in range(5):
        folder = tmp_path / f"round{round_}" / "shared-name"
        outcomes = _race(tiny_models, folder, overwrite=False)
        assert [o[0] for o in outcomes] == ["refused", "saved"], outcomes
        assert "already exists" in outcomes[0][1] or "by another session" in outcomes[0][1]
        _assert_one_whole_model(folder, tiny_models, data)


def test_two_processes_overwriting_one_name(tmp_path, tiny_models, tiny_data):
    data = read_files(sorted((tiny_data / "test").glob("*.csv")))
    folder = tmp_path / "shared-name"
    tiny_models[0].save(folder)
    for _ in range(3):
        outcomes = _race(tiny_models, folder, overwrite=True)
        assert [o[0] for o in outcomes] == ["saved", "saved"], outcomes
        _assert_one_whole_model(folder, tiny_models, data)


def test_killed_mid_save_leaves_nothing_visible_and_is_cleaned(tmp_path, tiny_model):
    """A process killed while writing leaves only a hidden temporary folder, removed by the next save."""
    folder = tmp_path / "models" / "victim"
    folder.parent.mkdir()
    ctx = mp.get_context("fork")

    def hang_while_saving():
        tiny_model.detector.save = lambda tmp: (Path(tmp, "model.skops").write_bytes(b"half"), time.sleep(60))
        tiny_model.save(folder)

    p = ctx.Process(target=hang_while_saving)
    p.start()
    deadline = time.monotonic() + 30
    while not list(folder.parent.glob(".tmp-victim-*/model.skops")) and time.monotonic() < deadline:
        time.sleep(0.05)
    p.kill()
    p.join(10)
    assert list(folder.parent.glob(".tmp-victim-*")), "the save should have been under way"
    assert list_models(folder.parent) == [] and not folder.exists()
    tiny_model.save(folder)
    assert [p.name for p in folder.parent.iterdir()] == ["victim"]
    assert TrainedModel.load(folder).family == "lr"


def test_deleting_a_model_in_use(tmp_path, tiny_model, tiny_data):
    """Another session deletes the model: one already loaded keeps working, a new load gets a clear error,
    a second delete says it is gone, the listing simply drops it."""
    data = read_files(sorted((tiny_data / "test").glob("*.csv"))[:2])
    folder = tiny_model.save(tmp_path / "in-use")
    loaded = TrainedModel.load(folder)
    subprocess.run([sys.executable, "-m", "core", "delete", str(folder)], cwd=ROOT, check=True, timeout=60,
                   capture_output=True)  # fmt: skip
    assert len(loaded.predict(data).proba) == len(data)
    with pytest.raises(ModelFormatError, match="not found"):
        TrainedModel.load(folder)
    with pytest.raises(ModelFormatError, match="no model at"):
        delete_model(folder)
    assert list_models(tmp_path) == []


def test_delete_waits_for_a_load_in_progress(tmp_path, tiny_model):
    folder = tiny_model.save(tmp_path / "busy")
    order = []
    with registry_lock(folder, shared=True):  # a session reading the model
        t = threading.Thread(target=lambda: (delete_model(folder), order.append("deleted")))
        t.start()
        t.join(1.0)
        order.append("read finished")
        assert folder.exists()
    t.join(30)
    assert order == ["read finished", "deleted"] and not folder.exists()


def test_dashboard_says_a_deleted_model_is_gone(tmp_path, tiny_model):
    from dashboard import loaders

    folder = tiny_model.save(tmp_path / "gone")
    delete_model(folder)
    with pytest.raises(ModelFormatError, match="no longer exists: it was deleted"):
        loaders.model_mtime(folder)


def test_one_training_run_per_name(tmp_path):
    with TrainingLock(tmp_path, "alpha"):
        with pytest.raises(CoreError, match="'alpha' is being trained right now"):
            TrainingLock(tmp_path, "alpha").acquire()
        # another process is refused too
        code = ("import sys; from core.pipeline import TrainingLock; from core.errors import CoreError\n"
                f"try: TrainingLock({str(tmp_path)!r}, 'alpha').acquire()\n"
                "except CoreError as e: print(e); sys.exit(3)")  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 3 and "being trained right now" in out.stdout
        with TrainingLock(tmp_path, "beta"):  # another name is free
            pass
    TrainingLock(tmp_path, "alpha").acquire().release()  # free again once the first run ended


def test_training_job_one_per_name_and_cancel_discards(tmp_path, tiny_data, monkeypatch):
    """Two Train clicks for one name: the second is refused while the first runs; cancelling the first
    saves nothing and leaves nothing behind; the name is then free."""
    from dashboard.train_jobs import TrainRequest, start_training

    models = tmp_path / "models"
    audit_dir = tmp_path / "audit"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(audit_dir))
    monkeypatch.setenv("IOMT_DATA_ROOTS", str(tiny_data))
    job = start_training(TrainRequest("dnn", 6, {"epochs": 200, "batch_size": 32}, models, name="same",
                                      data_dir=str(tiny_data), user="alice"))  # fmt: skip
    with pytest.raises(CoreError, match="being trained right now"):
        start_training(TrainRequest("lr", 6, {}, models, name="same", data_dir=str(tiny_data)))
    deadline = time.monotonic() + 120
    while not job.history.get("loss") and job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.running, job.error
    job.cancel()
    assert job.wait(120)
    assert job.state == "cancelled" and job.metadata is None
    assert not models.exists() or not any(models.iterdir())
    (event,) = audit.read_events(audit_dir)
    assert event["action"] == "training cancelled" and event["user"] == "alice" and event["model"] == "same"
    assert {f["name"].rsplit("/", 1)[-1] for f in event["files"]} >= {
        p.name for p in (tiny_data / "train").glob("*.csv")
    }
    TrainingLock(models, "same").acquire().release()  # the name is free again


# ------------------------------------------------------------------------------ scoring keeps every row


def test_scoring_keeps_every_row_in_order_with_its_number(tiny_model, tmp_path):
    """Rows with inf/NaN/empty cells are repaired, never dropped; each output row has its file and row number."""
    lines = csv_text(rows=30, seed=3).splitlines()
    for i, bad in ((3, "inf"), (7, "nan"), (8, ""), (20, "-inf")):
        cells = lines[i].split(",")
        cells[2] = bad
        lines[i] = ",".join(cells)
    a = tmp_path / "a.csv"
    a.write_text("\n".join(lines) + "\n")
    b = tmp_path / "b.csv"
    b.write_text(csv_text(rows=12, seed=4))
    data = read_files([str(a), str(b)])
    assert len(data) == 42 and (data.y == UNLABELLED).all()
    pred = tiny_model.predict(data)
    frame = pred.to_frame(data, tiny_model.task)
    assert len(frame) == len(data) == sum(f.rows for f in data.files) == 42
    assert list(frame["file"]) == ["a.csv"] * 30 + ["b.csv"] * 12
    assert list(frame["row"]) == list(range(1, 31)) + list(range(1, 13))
    assert pred.repairs.total == 4
    # Order kept: scoring each file alone gives the same rows in the same places. Up to float32 rounding: the rows
    # are scored in other groups (one value of 1.8e-22 once differed by 3.7e-6 of itself), so an absolute tolerance
    # far below the gaps between rows' probabilities.
    alone = tiny_model.predict(read_files([str(b)])).proba
    np.testing.assert_allclose(pred.proba[30:], alone, rtol=1e-5, atol=1e-7)
    assert (pred.proba[30:].argmax(axis=1) == alone.argmax(axis=1)).all()
