"""Sign-in when the dashboard is reachable from the network, and the audit calls of the pages.

Whether sign-in is needed is decided from the address the server really listens on
(``st.get_option("server.address")``), however it was started: a loopback address (127.0.0.1,
::1, localhost) is this machine only and needs none; anything else (0.0.0.0, an empty address,
which Streamlit takes as every interface, or a LAN address) needs it. Passwords are checked against
bcrypt hashes in the accounts file (``dashboard.accounts``) by our own form, which answers a name with no
account as it answers an account's wrong password; the sign-in cookie is ``streamlit-authenticator``'s.
Without a usable accounts file a networked dashboard shows nothing but how to create one.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from pathlib import Path

import streamlit as st

from core import audit
from dashboard.accounts import AccountsError, accounts_file, load, record_sign_out, sign_outs
from dashboard.escape import md

KEY_AUDITED = "audit_logged"  # set of (action, identity) already written in this session
KEY_SIGN_IN_FAILED = "auth_sign_in_failed"  # the last sign-in of this session failed (and was audited)
KEY_COOKIE_SET = "auth_cookie_set"  # the sign-in cookie was drawn on a run that was not cut short by a rerun
#: Failed sign-ins in a row to one account (or to one name with no account) that pause sign-in to it, and for how
#: long (guessing passwords is slowed to a handful every quarter of an hour; a correct password resets the count,
#: and failures are forgotten a pause's time after the last).
SIGN_IN_ATTEMPTS = 5
SIGN_IN_PAUSE_S = 15 * 60
#: (accounts file, name typed) -> (failed sign-ins in a row, when the last was), for names with an account and
#: without alike; at most about _FAILURES_KEPT names are kept beyond those whose failures are still counted.
_failures: dict[tuple[str, str], tuple[int, float]] = {}
_failures_lock = threading.Lock()
_FAILURES_KEPT = 10_000
_decoys: dict[str, str] = {}  # bcrypt cost -> a hash of a random password, checked for names with no account
_clock = time.time  # a test moves it on
#: What streamlit-authenticator keeps in a session: kept at sign-out, when everything else of the user's goes.
_AUTH_KEYS = frozenset({"authentication_status", "username", "name", "email", "roles", "logout"})


def network_mode() -> bool:
    """True unless the server listens on a loopback address only."""
    address = (st.get_option("server.address") or "").strip().strip("[]")
    if not address:
        return True  # Streamlit listens on every interface when no address is set
    if address.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True  # a host name: reachable by whoever resolves it


def current_user() -> str | None:
    """The signed-in user name, or None (local mode, or not signed in)."""
    if st.session_state.get("authentication_status"):
        return st.session_state.get("username")
    return None


@st.cache_resource(show_spinner=False)
def _accounts(path: str, mtime: float) -> dict:
    # One copy per server (and per change of the file): streamlit-authenticator keeps its count of
    # failed attempts in it, shared by every session.
    return load(Path(path))


def signed_out() -> bool:
    """True in network mode until the user has signed in."""
    return network_mode() and not current_user()


def require_sign_in() -> str | None:
    """In network mode, show the sign-in form and stop the page until the user is signed in.

    Returns the user name in network mode, None in local mode.
    """
    if not network_mode():
        return None
    path = accounts_file()
    try:
        config = _accounts(str(path), path.stat().st_mtime if path.exists() else 0.0)
    except (AccountsError, OSError) as exc:
        st.title("IoMT attack detection")
        st.error(
            "**This dashboard is served on the network, so it needs sign-in, but no usable accounts file was found.** "
            f"{md(exc)}",
            icon=":material/lock:",
        )
        st.code(".venv/bin/python -m dashboard.accounts add USER", language="bash")
        st.stop()
    import streamlit_authenticator as stauth

    cookie = config["cookie"]
    authenticator = stauth.Authenticate(config["credentials"], cookie["name"], cookie["key"],
                                        float(cookie.get("expiry_days", 1)), auto_hash=False)  # fmt: skip
    users = config["credentials"]["usernames"]
    if not st.session_state.get("authentication_status") and not st.session_state.get("logout"):
        revoked = revoked_cookie_user(st.context.cookies.get(cookie["name"]), cookie, users, path)
        if revoked is not None:  # made before its user signed out (or changed password): the password is asked for
            st.session_state["logout"] = True  # streamlit-authenticator then leaves the browser's cookie unread
            log_once("sign-in refused", "revoked cookie", account=revoked,
                     reason="a sign-in cookie made before the account signed out or its password was set")  # fmt: skip
    # A valid sign-in cookie signs in here (streamlit-authenticator reads it); the form is ours (below).
    authenticator.login(location="unrendered")
    if not st.session_state.get("authentication_status"):
        with st.form("auth_login"):
            st.subheader("Sign in")
            typed = st.text_input("User name", autocomplete="off")
            password = st.text_input("Password", type="password", autocomplete="off")
            submitted = st.form_submit_button("Sign in")
        if submitted and typed:
            _attempt_sign_in(str(path), users, typed, password)
    if not st.session_state.get("authentication_status"):
        if st.session_state.get(KEY_SIGN_IN_FAILED):
            st.error("Wrong user name or password.", icon=":material/lock:")
        st.caption("This dashboard is shared on the network: sign in with the account an administrator created "
                   "for you (python -m dashboard.accounts add USER).")  # fmt: skip
        st.stop()
    st.session_state.pop(KEY_SIGN_IN_FAILED, None)
    user = st.session_state.get("username")
    if user not in users:  # the account was removed since: not one more page
        _sign_out(user, reason="account removed")
        authenticator.logout(location="unrendered")
        st.rerun()
    if log_once("signed in", user) is not None:  # signed in on this run: once more, with the pages' navigation shown
        st.rerun()
    if not st.session_state.get(KEY_COOKIE_SET):
        # The sign-in cookie is set by a component in the page. The one the sign-in run drew was often dropped by
        # the rerun above before the browser ran it (seen under load: no cookie at all, so a reload asked for the
        # password again). Drawn once more on a run that goes to its end.
        _set_sign_in_cookie(authenticator, cookie, user)
        st.session_state[KEY_COOKIE_SET] = True
    with st.sidebar:
        st.caption(f"Signed in as **{md(st.session_state.get('name') or user)}**")
        authenticator.logout("Sign out", location="sidebar", key="auth_logout", callback=lambda _: _sign_out(user))
    if not st.session_state.get("authentication_status"):  # signed out just now: the sign-in form, not the page
        st.rerun()
    return user


def _attempt_sign_in(path: str, users: dict, typed: str, password: str) -> None:
    """Check one sign-in from the form, signing the session in on the right password; a failure is audited (the
    account tried where it exists, never the text typed: it may be a password).

    A name with no account is answered as one with an account and a wrong password would be, in the same time (its
    password is checked against a decoy hash) and with the same pause after :data:`SIGN_IN_ATTEMPTS` failures: the
    answers do not tell which accounts exist.
    """
    name, password = typed.lower().strip(), password.strip()  # as streamlit-authenticator reads them
    known = name in users
    now = _clock()
    with _failures_lock:
        count, last = _failures.get((path, name), (0, now))
    if count >= SIGN_IN_ATTEMPTS and now - last < SIGN_IN_PAUSE_S:  # paused: the password is not checked
        st.session_state.pop(KEY_SIGN_IN_FAILED, None)
        # the account named (when it exists), so that an analyst sees which account is under attack
        audit.record("sign-in refused", via="dashboard", account=name if known else None,
                     reason=f"paused after {SIGN_IN_ATTEMPTS} failed sign-ins")  # fmt: skip
        st.error(f"Sign-in to this account is paused for {SIGN_IN_PAUSE_S // 60} minutes after {SIGN_IN_ATTEMPTS} "
                 "failed attempts in a row. Try again later, or ask whoever runs the dashboard (restarting it lifts "
                 "the pause).", icon=":material/lock:")  # fmt: skip
        return
    stored = users[name].get("password") if known else None
    if _password_matches(password, stored) and known:
        with _failures_lock:
            _failures.pop((path, name), None)
        info = users[name]
        st.session_state.update(authentication_status=True, username=name, name=info.get("name") or name,
                                email=info.get("email"), roles=info.get("roles"), logout=None)  # fmt: skip
        st.session_state.pop(KEY_SIGN_IN_FAILED, None)
        return
    count = count + 1 if now - last < SIGN_IN_PAUSE_S else 1  # failures in a row, forgotten after a pause's time
    with _failures_lock:
        if len(_failures) >= _FAILURES_KEPT:  # names typed by a guesser: those whose failures are forgotten go
            for key in [k for k, (_, t) in _failures.items() if now - t >= SIGN_IN_PAUSE_S]:
                del _failures[key]
        _failures[(path, name)] = (count, now)
    paused = count >= SIGN_IN_ATTEMPTS
    st.session_state[KEY_SIGN_IN_FAILED] = True
    audit.record("sign-in failed", via="dashboard", account=name if known else None,
                 **({"paused_minutes": SIGN_IN_PAUSE_S // 60} if paused else {}))  # fmt: skip


def _password_matches(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches the bcrypt hash ``stored``. With None (no such account) it is checked against a
    decoy hash of the same cost instead, so that the answer takes as long, and is False."""
    import bcrypt

    rounds = stored[4:6] if stored and stored[4:6].isdigit() else "12"  # $2b$12$...: the cost of accounts.add_user
    decoy = _decoys.get(rounds)
    if decoy is None:
        decoy = _decoys[rounds] = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(int(rounds))).decode()
    try:
        return bcrypt.checkpw(password.encode(), (stored or decoy).encode()) and stored is not None
    except (TypeError, ValueError):  # a password over bcrypt's 72 bytes (bcrypt 5 refuses it), or a damaged hash
        return False


def sign_in_token(user: str, cookie: dict, made: float) -> str:
    """The sign-in cookie of ``user`` made at ``made`` (``cookie``: the accounts file's cookie settings): what
    streamlit-authenticator signs (the user and when the cookie expires, which it checks), and when it was made,
    which :func:`revoked_cookie_user` compares with the account's sign-outs."""
    import jwt

    expires = made + float(cookie.get("expiry_days", 1)) * 86400
    return jwt.encode({"username": user, "exp_date": expires, "made": made}, cookie["key"], algorithm="HS256")


def _set_sign_in_cookie(authenticator, cookie: dict, user: str) -> None:
    """Set the sign-in cookie in the browser, as streamlit-authenticator's ``set_cookie`` does, with when it was
    made in it."""
    from datetime import datetime, timedelta

    days = float(cookie.get("expiry_days", 1))
    if days <= 0:  # no cookie: sign-in lasts as long as the browser's session (streamlit-authenticator's rule)
        return
    model = authenticator.cookie_controller.cookie_model
    model.cookie_manager.set(cookie["name"], sign_in_token(user, cookie, time.time()),
                             expires_at=datetime.now() + timedelta(days=days))  # fmt: skip


def revoked_cookie_user(token: str | None, cookie: dict, users: dict, path: Path) -> str | None:
    """The account of a sign-in cookie's ``token`` where it was made before the account last signed out or had its
    password set (a copy of it, taken before, would otherwise sign in until it expires); else None (no cookie, or
    one streamlit-authenticator refuses itself: a bad signature, an unknown user). ``cookie``: the accounts file's
    cookie settings; ``users``: its accounts; ``path``: the accounts file."""
    import jwt

    if not token:
        return None
    try:
        claims = jwt.decode(token, cookie["key"], algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    user, expires = claims.get("username"), claims.get("exp_date")
    if user not in users or isinstance(expires, bool) or not isinstance(expires, (int, float)):
        return None
    made = claims.get("made")
    if isinstance(made, bool) or not isinstance(made, (int, float)):  # a cookie of before 'made' was written in it
        made = expires - float(cookie.get("expiry_days", 1)) * 86400  # (an expiry_days changed since skews this)
    outs, since = sign_outs(path), users[user].get("cookies_valid_after") or 0.0
    if outs is None or isinstance(since, bool) or not isinstance(since, (int, float)):  # unreadable: trust none
        return user
    return user if made <= max(since, outs.get(user, 0.0)) else None


def _sign_out(user: str, **details) -> None:
    """Record the sign-out and forget the user's work in this browser session (their running training or
    comparison, uploads, results, what was audited once): the next user to sign in here starts afresh, and their
    own actions are audited as theirs. A training already running goes on and is saved."""
    try:
        record_sign_out(user, accounts_file())
    except OSError as exc:  # the sign-out itself goes on; a copy of the cookie then stays valid until it expires
        details["cookie_not_revoked"] = str(exc)
    audit.record("signed out", user=user, via="dashboard", **details)
    for key in [k for k in st.session_state if k not in _AUTH_KEYS]:
        del st.session_state[key]


def log(action: str, **kwargs) -> dict:
    """Append an audit event for the current session's user (see :func:`core.audit.record`); say so when it could
    not be written (the work goes on)."""
    event = audit.record(action, user=current_user(), via="dashboard", **kwargs)
    if not event["written"]:  # a toast: pages rerun right after many of their actions
        st.toast(f"**This action was not recorded in the audit log**: {md(event['error'])}. Ask whoever runs the "
                 f"dashboard to make {md(audit.audit_dir())} writable, or to set `IOMT_AUDIT_DIR` to a folder "
                 "that is.", icon=":material/warning:", duration="infinite")  # fmt: skip
    return event


def unrecorded_downloads_notice() -> None:
    """Say, next to a page's first download buttons, that its downloads will not be recorded in the audit log when the
    log cannot be written to now: a download's file is built (and its event recorded) when it is clicked, where no
    warning can be shown."""
    problem = audit.write_problem()
    if problem:
        st.caption(f":material/warning: **Downloads on this page are not recorded in the audit log now**: "
                   f"{md(problem)}. Ask whoever runs the dashboard to make {md(audit.audit_dir())} writable, or to set `IOMT_AUDIT_DIR` "
                   "to a folder that is.")  # fmt: skip


def log_once(action: str, identity, **kwargs) -> dict | None:
    """Like :func:`log`, once per session for a given ``identity`` (reruns do not repeat the event). A value given as
    a function (``files=lambda: upload_infos(uploads)``) is worked out only when the event is written: the files'
    SHA-256 were worked out again on every rerun, only for the event to be dropped (0.25 s a rerun for a 409 MB
    upload; every file of a data folder on the Compare page)."""
    done = st.session_state.setdefault(KEY_AUDITED, set())
    if (action, identity) in done:
        return None
    done.add((action, identity))
    return log(action, **{key: value() if callable(value) else value for key, value in kwargs.items()})


def upload_infos(uploads) -> list[dict]:
    """Name, size and SHA-256 of each uploaded file (for the audit log; contents are not logged). The SHA-256 is the one
    the page's cache already worked out for the upload (:func:`dashboard.loaders.upload_digest`), not a second."""
    from dashboard.loaders import upload_digest  # here: the sign-in form is drawn without the loaders (core.pipeline)

    return [audit.file_info(u.name, u.getvalue(), sha256=upload_digest(u)) for u in uploads]
