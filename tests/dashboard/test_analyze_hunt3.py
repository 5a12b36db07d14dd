"""Analyze traffic page, a third hunt: a full-size capture (millions of rows), where what the page redoes on every
rerun (a slider moved, a box ticked) is paid again in seconds. Real small models and a real upload through the app's
router; the work counted is the real work, called through."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import audit, taxonomy
from core.audit import read_events
from core.demo import write_demo_csv

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def analyze_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    return at.switch_page("views/analyze.py").run()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def capture(tmp_path: Path) -> bytes:
    """A small synthetic capture with a label column (the true class known, so 'Only mistakes' is offered)."""
    path = tmp_path / "capture.csv"
    write_demo_csv(path, "v2", None, 3, with_label_column=True)
    return path.read_bytes()


def uploaded(tmp_path: Path) -> tuple[AppTest, bytes]:
    payload = capture(tmp_path)
    at = analyze_page()
    at.file_uploader(key="analyze_uploads").set_value([("capture.csv", payload, "text/csv")])
    at.run()
    no_exception(at)
    assert any(m.label == "Rows scored" for m in at.metric)
    return at, payload


def test_moving_a_widget_does_not_hash_the_whole_upload_again(registry_env, tmp_path, monkeypatch):
    """The audit event of a scoring names each file with its SHA-256, and is written once per session. But the page
    read every uploaded byte again, copied and hashed it, on every rerun, only for the event to be dropped as already
    written: 0.5 s more on each rerun with a 409 MB capture, each time the analyst moved a slider."""
    audit_dir = tmp_path / "audit"
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(audit_dir))
    hashed: list[int] = []
    real = audit.sha256_of

    def counted_sha256(source):
        if isinstance(source, (bytes, bytearray, memoryview)):
            hashed.append(len(source))
        return real(source)

    monkeypatch.setattr(audit, "sha256_of", counted_sha256)
    at, payload = uploaded(tmp_path)
    assert hashed == [len(payload)]  # the scoring is recorded, its file hashed once
    at.slider(key="analyze_threshold").set_value(0.75).run()
    at.slider(key="analyze_filter_confidence").set_value((0.2, 1.0)).run()
    no_exception(at)
    assert hashed == [len(payload)], "a rerun hashed the upload again"
    scored = [e for e in read_events(audit_dir) if e["action"] == "scored"]
    assert len(scored) == 1 and scored[0]["files"] == [audit.file_info("capture.csv", payload)], scored
    # Another model on the same upload is another scoring: recorded, with the same file and its hash.
    other = next(o for o in at.selectbox(key="analyze_model").options if "test-lr" in o or "lr ·" in o)
    at.selectbox(key="analyze_model").select(other).run()
    no_exception(at)
    scored = [e for e in read_events(audit_dir) if e["action"] == "scored"]
    assert len(scored) == 2 and scored[1]["files"] == scored[0]["files"], scored


def test_only_mistakes_is_worked_out_once_per_scoring_not_on_every_rerun(registry_env, tmp_path, monkeypatch):
    """With *Only mistakes* ticked, each rerun compared every row's prediction with its label again (a Python loop
    over the labels, and a copy of both columns): 1 s a rerun for a million rows, 3 s for three million, while the
    analyst only moved the confidence range. The mistakes of a scoring do not change: worked out once."""
    calls: list[int] = []
    real = taxonomy.wrong_by_label

    def counted_wrong_by_label(predicted, true):
        calls.append(len(true))
        return real(predicted, true)

    monkeypatch.setattr(taxonomy, "wrong_by_label", counted_wrong_by_label)
    at, _ = uploaded(tmp_path)
    at.checkbox(key="analyze_filter_wrong").check().run()
    no_exception(at)
    assert len(calls) == 1
    caption = next(c.value for c in at.caption if "rows match" in c.value)
    wrong = int(caption.split(" of ")[0].replace(",", ""))
    assert 0 < wrong < calls[0], caption  # the demo models make some mistakes, not only mistakes
    at.slider(key="analyze_filter_confidence").set_value((0.0, 0.99)).run()
    at.slider(key="analyze_threshold").set_value(0.8).run()
    no_exception(at)
    assert len(calls) == 1, "a rerun compared every prediction with its label again"
    # The table still shows only the mistakes, within the new range.
    table = next(d for d in at.dataframe if "predicted" in d.value.columns).value
    assert len(table) and (table["predicted"] != table["true"]).all()
    assert (table["probability"] <= 0.99).all()


def test_the_same_capture_uploaded_again_or_in_another_session_is_read_and_scored_once(registry_env, tmp_path,
                                                                                        monkeypatch):  # fmt: skip
    """The uploader empties itself when the analyst leaves the page, so coming back means uploading the capture again;
    and two analysts of one team score the same capture. Each upload was keyed by its own id: the same bytes were
    parsed and scored again (seconds for a million rows), and held twice in the cache's memory. Keyed by the contents,
    it is read once; each session's scoring is still in the audit log, and each upload is hashed once."""
    from core.pipeline import TrainedModel
    from dashboard import loaders

    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    path = tmp_path / "again.csv"
    write_demo_csv(path, "v2", None, 11, with_label_column=True)  # a capture no other test uploads
    payload = path.read_bytes()
    parsed, scored, hashed = [], [], []
    real_read, real_predict, real_sha = loaders.read_files, TrainedModel.predict, audit.sha256_of

    def counted_read(sources, *args, **kwargs):
        parsed.append([name for name, _ in sources])
        return real_read(sources, *args, **kwargs)

    def counted_predict(self, data, *args, **kwargs):
        scored.append(len(data))
        return real_predict(self, data, *args, **kwargs)

    def counted_sha(source):
        hashed.append(len(source))
        return real_sha(source)

    monkeypatch.setattr(loaders, "read_files", counted_read)
    monkeypatch.setattr(TrainedModel, "predict", counted_predict)
    monkeypatch.setattr(audit, "sha256_of", counted_sha)

    def upload(at: AppTest) -> AppTest:
        at.file_uploader(key="analyze_uploads").set_value([("again.csv", payload, "text/csv")])
        at.run()
        no_exception(at)
        assert any(m.label == "Rows scored" for m in at.metric)
        return at

    first = upload(analyze_page())
    assert len(parsed) == 1 and len(scored) == 1, (parsed, scored)
    upload(first)  # the same file again, as a new upload (a new upload id)
    upload(analyze_page())  # another session
    assert len(parsed) == 1, f"the same capture was parsed {len(parsed)} times"
    assert len(scored) == 1, f"the same capture was scored {len(scored)} times"
    assert hashed == [len(payload)] * 3, "each upload is hashed once, for the cache and the audit log together"
    events = [e for e in read_events(tmp_path / "audit") if e["action"] == "scored"]
    assert len(events) == 2, "one scoring recorded per session"
    assert all(e["files"] == [audit.file_info("again.csv", payload)] for e in events), events
