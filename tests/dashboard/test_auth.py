"""Exposure: sign-in whenever the server is reachable beyond this machine, the accounts tool, the
network switch of scripts/dashboard.sh, the audit page, and names shown as text (AppTest through the
app's router; the same attacks in a real browser are in test_browser_security.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import yaml
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core import audit
from dashboard.accounts import AccountsError, add_user, load
from dashboard.escape import md
from tests.conftest import ROOT

APP = ROOT / "dashboard" / "app.py"
PASSWORD = "correct horse battery"


@pytest.fixture()
def address(monkeypatch):
    """Set the address the (test) server listens on, as ``--server.address`` would; restored after.

    streamlit-authenticator sleeps 0.7 s in each run of the app while no one is signed in, for its cookie component
    to answer from the browser; AppTest has no browser, and those sleeps were some 60% of these tests' time. Here
    it does not sleep; the browser tests (test_browser_security.py) keep the sleep."""
    import streamlit_authenticator.params

    monkeypatch.setattr(streamlit_authenticator.params, "PRE_LOGIN_SLEEP_TIME", 0.0)
    before = st_config.get_option("server.address")

    def set_address(value):
        st_config.set_option("server.address", value)

    yield set_address
    st_config.set_option("server.address", before)


@pytest.fixture()
def accounts(tmp_path, monkeypatch):
    path = tmp_path / "private" / "accounts.yaml"
    monkeypatch.setenv("IOMT_ACCOUNTS_FILE", str(path))
    return path


@pytest.fixture()
def env(tmp_path, monkeypatch):
    """An empty registry and a private audit folder."""
    monkeypatch.setenv("IOMT_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("IOMT_AUDIT_DIR", str(tmp_path / "audit"))
    return tmp_path


def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def sign_in(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize("value, networked", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                              ("127.0.0.2", False), ("0.0.0.0", True), ("", True), ("::", True),
                                              ("192.168.1.20", True), ("dashboard.hospital.lan", True)])  # fmt: skip
def test_network_mode_from_the_listening_address(address, value, networked):
    from dashboard.auth import network_mode

    address(value)
    assert network_mode() is networked


def test_default_config_is_local_only_and_sends_no_statistics():
    cfg = (ROOT / ".streamlit" / "config.toml").read_text()
    import tomllib

    parsed = tomllib.loads(cfg)
    assert parsed["server"]["address"] == "127.0.0.1"
    assert parsed["browser"]["gatherUsageStats"] is False
    assert parsed["client"]["toolbarMode"] == "viewer"  # no "Deploy" button or developer menu
    assert parsed["server"]["maxUploadSize"] <= 1024  # MB, the same as core's IOMT_MAX_FILE_MB default
    assert parsed["server"].get("enableXsrfProtection", True) is True  # Streamlit's defaults, not weakened
    assert parsed["server"].get("enableCORS", True) is True
    script = (ROOT / "scripts" / "dashboard.sh").read_text()
    assert "ADDRESS=127.0.0.1" in script and '--server.address "$ADDRESS"' in script


def test_local_mode_needs_no_sign_in(address, accounts, env):
    address("127.0.0.1")
    at = app()
    assert "IoMT attack detection" in titles(at)
    assert not [t for t in at.text_input if t.label == "Password"]


def test_network_mode_without_accounts_shows_nothing_but_how_to_create_one(address, accounts, env):
    address("0.0.0.0")
    at = app()
    assert len(at.error) == 1 and "needs sign-in" in at.error[0].value
    assert "dashboard.accounts add USER" in at.code[0].value
    assert not at.get("plotly_chart") and not at.dataframe and not at.text_input  # no page was run
    assert not at.get("radio") and not at.get("selectbox")


def test_network_mode_with_plain_text_password_is_refused(address, accounts, env):
    accounts.parent.mkdir()
    accounts.write_text(yaml.safe_dump({"cookie": {"name": "c", "key": "k" * 40, "expiry_days": 1},
                                        "credentials": {"usernames": {"eve": {"name": "eve",
                                                                              "password": "plaintext"}}}}))  # fmt: skip
    address("0.0.0.0")
    at = app()
    assert "not a bcrypt hash" in at.error[0].value and not at.text_input


def test_sign_in(address, accounts, env):
    add_user("alice", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = app()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert at.text_input[1].proto.type == at.text_input[1].proto.PASSWORD
    assert "IoMT attack detection" not in titles(at)  # the pages stay hidden

    for user, password in (("alice", "wrong password!!"), ("mallory", PASSWORD), ("alice", ""),
                           ("alice' OR '1'='1", "' OR '1'='1"), ("alice", PASSWORD.upper())):  # fmt: skip
        sign_in(at, user, password)
        assert "IoMT attack detection" not in titles(at), user
        assert any("Wrong user name or password" in e.value for e in at.error) or at.text_input, user

    sign_in(at, "alice", PASSWORD)
    assert "IoMT attack detection" in titles(at)
    assert at.session_state["username"] == "alice"
    assert any("Signed in as" in c.value and "alice" in c.value for c in at.sidebar.caption)
    event, *failed = audit.read_events(env / "audit")
    assert event["action"] == "signed in" and event["user"] == "alice" and event["via"] == "dashboard"
    assert [(e["action"], e["details"]["account"]) for e in reversed(failed)] == [
        ("sign-in failed", "alice"), ("sign-in failed", None), ("sign-in failed", "alice"), ("sign-in failed", None),
        ("sign-in failed", "alice")]  # fmt: skip


def test_signing_out_forgets_the_users_work_so_the_next_user_starts_afresh(address, accounts, env):
    """After a sign-out and a sign-in in the same browser, bob saw alice's running training (and cancelling it was
    audited as alice's), and events already logged once for the session (alice signing in again, bob scoring what
    alice had scored) were never written."""
    add_user("alice", PASSWORD, path=accounts)
    add_user("bob", PASSWORD, path=accounts)
    address("0.0.0.0")
    at = sign_in(app(), "alice", PASSWORD)
    at.session_state["train_job"] = "alice's run"  # what the Train page keeps of a run in progress
    for user in ("bob", "alice"):
        at.button(key="auth_logout").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert "IoMT attack detection" not in titles(at) and [t.label for t in at.text_input] == ["User name",
                                                                                                 "Password"]  # fmt: skip
        assert "train_job" not in at.session_state
        sign_in(at, user, PASSWORD)
        assert "IoMT attack detection" in titles(at) and at.session_state["username"] == user
    events = [(e["action"], e["user"]) for e in reversed(audit.read_events(env / "audit"))]  # oldest first
    assert events == [("signed in", "alice"), ("signed out", "alice"), ("signed in", "bob"), ("signed out", "bob"),
                      ("signed in", "alice")]  # fmt: skip


def test_accounts_file_holds_bcrypt_hashes_only(accounts):
    add_user("Bob", PASSWORD, name="Bob B.", path=accounts)
    text = accounts.read_text()
    assert PASSWORD not in text
    config = load(accounts)
    hashed = config["credentials"]["usernames"]["bob"]["password"]
    import bcrypt

    assert hashed.startswith("$2b$12$") and bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    assert len(config["cookie"]["key"]) >= 64
    with pytest.raises(AccountsError, match="at least 10 characters"):
        add_user("carol", "short", path=accounts)
    with pytest.raises(AccountsError, match="must not start or end with a space"):
        add_user("carol", PASSWORD + " ", path=accounts)  # the sign-in form strips what is typed
    with pytest.raises(AccountsError, match="user name"):
        add_user("../etc", PASSWORD, path=accounts)


def test_accounts_command_line(accounts):
    run = [sys.executable, "-m", "dashboard.accounts"]
    kw = dict(cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ})
    out = subprocess.run([*run, "check"], **kw)
    assert out.returncode == 2 and "no accounts file" in out.stderr
    out = subprocess.run([*run, "add", "dana", "--password-stdin"], input=PASSWORD + "\n", **kw)
    assert out.returncode == 0 and "bcrypt hash only" in out.stdout, out.stderr
    assert subprocess.run([*run, "check"], **kw).returncode == 0
    assert subprocess.run([*run, "list"], **kw).stdout.split() == ["dana", "dana"]
    assert subprocess.run([*run, "path"], **kw).stdout.strip() == str(accounts)


def test_dashboard_script_refuses_network_mode_without_accounts(tmp_path):
    env = {**os.environ, "IOMT_ACCOUNTS_FILE": str(tmp_path / "none.yaml")}
    for args, extra in ((["--network"], {}), ([], {"IOMT_NETWORK": "1"})):
        out = subprocess.run(["bash", str(ROOT / "scripts" / "dashboard.sh"), *args], cwd=ROOT,
                             env={**env, **extra}, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert out.returncode == 2
        assert "no accounts file" in out.stderr and "dashboard.accounts add USER" in out.stderr


def test_audit_page_lists_events_as_text(address, env):
    address("127.0.0.1")
    folder = env / "audit"
    audit.record("scored", user="alice", model="rf-6", folder=folder,
                 files=[audit.file_info("<img src=x onerror=alert(1)>.csv", b"1,2\n")], rows=1)  # fmt: skip
    audit.record("deleted", model="**bold**", folder=folder)
    at = app()
    at.switch_page("views/audit.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["action"]) == ["deleted", "scored"]
    assert table["model"][0] == "**bold**"  # a table cell: shown as written
    assert "<img src=x onerror=alert(1)>.csv (4 B, sha256" in table["files"][1]
    at.multiselect(key="audit_actions").set_value(["scored"]).run()
    assert list(at.dataframe[0].value["user"]) == ["alice"]


def test_a_line_of_another_shape_is_shown_as_unreadable_not_a_traceback(address, env):
    """One valid-JSON line of another shape (details a list, files a string) took the whole Audit page down."""
    address("127.0.0.1")
    folder = env / "audit"
    audit.record("scored", user="alice", model="rf-6", folder=folder)
    odd = ['{"time": "2026-12-01T00:00:00+00:00", "action": "deleted", "details": ["x"]}',
           '{"action": "scored", "files": "abc.csv"}', '{"action": 3}', '[1, 2]']  # fmt: skip
    with open(next(folder.glob("audit-*.jsonl")), "a") as fh:
        fh.write("\n".join(odd) + "\n")
    at = app()
    at.switch_page("views/audit.py").run()
    assert not at.exception, [e.message for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["action"]) == ["unreadable"] * 4 + ["scored"]
    assert all(line[:40] in " ".join(table["details"]) for line in odd)


def test_hostile_model_name_shown_as_text(address, env, tmp_path):
    """A model folder named like an HTML tag, with a Markdown image as its description."""
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    address("127.0.0.1")
    data = tmp_path / "data"
    write_demo_dataset(data, layout="v2", rows_per_class=15, seed=2)
    name = "<img src=x onerror=alert(1)>"
    model, _ = train_from_folder("lr", 2, str(data), params={"max_iter": 50}, save=False)
    model.metadata["description"] = "![beacon](http://attacker.example/t.png) [click](javascript:alert(1))"
    model.save(env / "models" / name)
    at = app()
    at.switch_page("views/models.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.header[0].value == md(name) == r"\<img src=x onerror=alert\(1\)\>"
    description = md(model.metadata["description"])
    assert any(m.value == description for m in at.markdown)
    assert r"\!\[beacon\]\(http://attacker.example/t.png\)" in description


def test_md_escapes_every_markdown_construct():
    cases = {"<b>x</b>": r"\<b\>x\</b\>", "*a* _b_ `c`": r"\*a\* \_b\_ \`c\`", "$x^2$": r"\$x^2\$",
             "# h": r"\# h", "- item": r"\- item", "1. item": r"1\. item", "a|b": r"a\|b", "x\ny": "x y",
             "&lt;": r"\&lt;", "~~s~~": r"\~\~s\~\~", "TCP_IP-DDoS-UDP1_test.pcap.csv": r"TCP\_IP-DDoS-UDP1\_test.pcap.csv"}  # fmt: skip
    for raw, escaped in cases.items():
        assert md(raw) == escaped, raw


@pytest.mark.parametrize("attack", ["deleted-between-list-and-score"])
def test_scoring_with_a_model_deleted_by_another_session(address, env, tmp_path, attack, monkeypatch):
    """Another session deletes the chosen model before this one scores: a clear message, no traceback."""
    from core.demo import write_demo_dataset
    from core.pipeline import delete_model
    from core.training import train_from_folder

    address("127.0.0.1")
    data = tmp_path / "data"
    write_demo_dataset(data, layout="v2", rows_per_class=15, seed=3)
    train_from_folder("lr", 6, str(data), params={"max_iter": 50}, models_dir=str(env / "models"), name="doomed")
    at = app()
    at.switch_page("views/analyze.py").run()
    at.selectbox(key="analyze_task").set_value(6).run()
    assert not at.exception
    delete_model(env / "models" / "doomed")  # the other session
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    assert not at.exception, [e.message for e in at.exception]
    shown = " ".join(e.value for e in at.error) + " ".join(i.value for i in at.info)
    assert "no longer exists" in shown or "No saved 6-class model" in shown, shown


def test_spreadsheet_formulas_in_names_are_neutralised():
    from dashboard.escape import spreadsheet_text

    for raw in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"):
        assert spreadsheet_text(raw) == "'" + raw
    assert spreadsheet_text("Benign_test.pcap.csv") == "Benign_test.pcap.csv" and spreadsheet_text(3) == 3


def delete_a_model_on_the_models_page(address, env, tmp_path) -> AppTest:
    """A small model ``old-one`` trained, then deleted on the Models page of a local dashboard: the page after it."""
    from core.demo import write_demo_dataset
    from core.training import train_from_folder

    address("127.0.0.1")
    data = tmp_path / "data"
    write_demo_dataset(data, layout="v2", rows_per_class=15, seed=4)
    train_from_folder("lr", 2, str(data), params={"max_iter": 50}, models_dir=str(env / "models"), name="old-one")
    at = app()
    at.switch_page("views/models.py").run()
    at.button(key="models_delete").click().run()
    at.button(key="models_delete_yes").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not (env / "models" / "old-one").exists()  # the work is done
    return at


def test_deleting_on_the_models_page_is_audited(address, env, tmp_path):
    delete_a_model_on_the_models_page(address, env, tmp_path)
    (event,) = [e for e in audit.read_events(env / "audit") if e["action"] == "deleted"]
    assert event["model"] == "old-one" and event["via"] == "dashboard" and event["user"] is None
    assert event["os_user"] and event["details"]["path"].endswith("old-one")


def _cookie_token(config: dict, user: str, made: float) -> str:
    """A sign-in cookie as streamlit-authenticator makes it at ``made``: the user and when it expires, signed."""
    import jwt

    cookie = config["cookie"]
    return jwt.encode({"username": user, "exp_date": made + cookie["expiry_days"] * 86400}, cookie["key"],
                      algorithm="HS256")  # fmt: skip


def test_a_cookie_made_before_a_sign_out_or_a_new_password_is_revoked(accounts):
    """A copy of the sign-in cookie went on signing in (in any browser) until it expired, a day later, whatever its
    user did: signing out, or setting a new password. The browser test signs in with a copied cookie for real."""
    import time

    from dashboard.accounts import record_sign_out, sign_outs, sign_outs_file
    from dashboard.auth import revoked_cookie_user

    add_user("alice", PASSWORD, path=accounts)
    add_user("bob", PASSWORD, path=accounts)
    config = load(accounts)
    users = config["credentials"]["usernames"]

    def revoked(user, made):
        return revoked_cookie_user(_cookie_token(config, user, made), config["cookie"], users, accounts)

    now = time.time()
    assert revoked("alice", now + 1) is None and sign_outs(accounts) == {}
    assert revoked("alice", now - 60) == "alice", "made before the account's password was set"
    record_sign_out("alice", accounts, when=now + 10)
    assert stat.S_IMODE(sign_outs_file(accounts).stat().st_mode) == 0o600
    assert revoked("alice", now + 5) == "alice" and revoked("alice", now + 20) is None
    assert revoked("bob", now) is None, "only the user who signed out"
    add_user("bob", PASSWORD + "!", path=accounts)  # a new password ends the cookies made before it
    users.update(load(accounts)["credentials"]["usernames"])
    assert revoked("bob", now) == "bob" and revoked("bob", time.time() + 1) is None
    # what streamlit-authenticator refuses itself is left to it: no cookie, another key, an unknown user
    other = dict(config["cookie"], key="x" * 64)
    assert revoked_cookie_user(None, config["cookie"], users, accounts) is None
    assert (
        revoked_cookie_user(_cookie_token({"cookie": other}, "alice", now), config["cookie"], users, accounts) is None
    )
    assert revoked("mallory", now - 60) is None
    # a record of sign-outs that cannot be read trusts no cookie
    sign_outs_file(accounts).write_text("{not json")
    assert sign_outs(accounts) is None and revoked("alice", now + 20) == "alice"


def test_a_cookie_is_revoked_by_when_it_was_made_whatever_expiry_days_says_now(accounts):
    """A cookie held only when it expired, so when it was made was worked out with the accounts file's expiry_days
    of now: after an administrator shortened it (30 days to 1), a cookie made before a sign-out passed for one made
    29 days later and went on signing in. The cookie now says when it was made (the browser test checks the one
    the page sets)."""
    import time

    import jwt

    from dashboard.accounts import record_sign_out
    from dashboard.auth import revoked_cookie_user, sign_in_token

    add_user("alice", PASSWORD, path=accounts)
    config = load(accounts)
    users, month = config["credentials"]["usernames"], dict(config["cookie"], expiry_days=30)
    now = time.time()
    before, after = sign_in_token("alice", month, now), sign_in_token("alice", month, now + 20)
    claims = jwt.decode(before, month["key"], algorithms=["HS256"])
    assert claims == {"username": "alice", "exp_date": now + 30 * 86400, "made": now}
    record_sign_out("alice", accounts, when=now + 10)
    for settings in (month, dict(month, expiry_days=1), dict(month, expiry_days=365)):
        assert revoked_cookie_user(before, settings, users, accounts) == "alice", settings["expiry_days"]
        assert revoked_cookie_user(after, settings, users, accounts) is None, settings["expiry_days"]
