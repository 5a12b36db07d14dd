"""Audit log: who scored, trained, deleted or exported what, and when (newest first)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.audit import audit_dir, read_events
from core.words import counted, time_text
from dashboard.escape import md, spreadsheet_text

MAX_EVENTS = 5000


def _files_text(files) -> str:
    if not files:
        return ""
    parts = []
    for f in files:
        size = f.get("size")
        size_text = f"{size:,} B" if isinstance(size, int) else "?"
        parts.append(f"{f.get('name')} ({size_text}, sha256 {str(f.get('sha256') or '')[:12]}…)")
    return "; ".join(parts)


#: Actions taken by nobody signed in: someone at the sign-in form of a dashboard served on the network.
SIGN_IN_ATTEMPTS = ("sign-in failed", "sign-in refused")
NOT_SIGNED_IN = "(not signed in)"


def _user_text(event: dict) -> str:
    """Who did it: the signed-in user; for a failed or refused sign-in, nobody signed in (the account tried is in the
    details), never the server's own account; else the operating-system account (local mode, command line)."""
    if event.get("user"):
        return event["user"]
    if event.get("action") in SIGN_IN_ATTEMPTS:
        return NOT_SIGNED_IN
    return f"{event['os_user']} (local)" if event.get("os_user") else ""


def events_frame(events: list[dict]) -> pd.DataFrame:
    """One row per event, every value as text (shown in a table, never as Markdown)."""
    rows = [{"time": time_text(e.get("time")), "action": e.get("action", ""),
             "user": _user_text(e), "via": e.get("via", ""),
             "model": e.get("model") or "", "files": _files_text(e.get("files")),
             "details": ", ".join(f"{k}={v}" for k, v in (e.get("details") or {}).items())}
            for e in events]  # fmt: skip
    return pd.DataFrame(rows, columns=["time", "action", "user", "via", "model", "files", "details"])


def events_csv(frame: pd.DataFrame) -> bytes:
    """The table as CSV for a spreadsheet: a cell that starts like a formula (a file named ``=HYPERLINK(...)``, which
    anyone who uploads a file can choose) is prefixed with ``'``, so that opening the download does not run it."""
    return frame.map(spreadsheet_text).to_csv(index=False).encode()


def render() -> None:
    st.title("Audit log")
    st.caption(f"Who scored, trained, deleted or exported what, and when, from {md(audit_dir())} (JSON lines; "
               "files are recorded by name, size and SHA-256, never their contents). Newest first.")  # fmt: skip
    events = read_events(limit=MAX_EVENTS + 1)  # one more: whether older events were left out
    older_left_out = len(events) > MAX_EVENTS
    events = events[:MAX_EVENTS]
    if not events:
        st.info("Nothing recorded yet: events appear here once traffic is scored, a model is trained, deleted or "
                "predictions are downloaded.", icon=":material/history:")  # fmt: skip
        return
    unreadable = sum(e.get("action") == "unreadable" for e in events)
    if unreadable:
        st.warning(f"{counted(unreadable, 'entry', 'entries')} of the audit log could not be read (a damaged or "
                   "edited line, a file or folder this dashboard may not read): shown as **unreadable**, with why.",
                   icon=":material/warning:")  # fmt: skip
    if older_left_out:
        st.warning(f"Only the {MAX_EVENTS:,} most recent events are read, filtered and downloaded here: older "
                   f"events are not shown. They are in the monthly files in {md(audit_dir())}.",
                   icon=":material/history:")  # fmt: skip
    frame = events_frame(events)
    actions = sorted(a for a in frame["action"].unique() if a)
    left, right = st.columns(2)
    chosen = left.multiselect("Actions", actions, key="audit_actions", placeholder="all actions")
    users = sorted(u for u in frame["user"].unique() if u)
    who = right.multiselect("Users", users, key="audit_users", placeholder="all users")
    if chosen:
        frame = frame[frame["action"].isin(chosen)]
    if who:
        frame = frame[frame["user"].isin(who)]
    st.caption(f"{len(frame):,} of {len(events):,} most recent events.")
    st.dataframe(frame, hide_index=True, key="audit_table")
    st.download_button("Download the events shown (CSV)", events_csv(frame), "audit.csv", "text/csv",
                       key="audit_download", icon=":material/download:", on_click="ignore")  # fmt: skip


render()
