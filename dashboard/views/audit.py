"""Audit log: who scored, trained, deleted or exported what, and when (newest first)."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from core.audit import EventScan, audit_dir, scan_events
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


#: Widget keys of the filters.
ACTIONS_KEY, USERS_KEY = "audit_actions", "audit_users"


def _action_text(event: dict) -> str:
    return str(event.get("action") or "")


def _log_state(folder) -> tuple:
    """Name, size and modification time of each month's log: a scan is cached until one of them changes."""
    try:
        return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(folder)
                            if e.name.startswith("audit-") and e.name.endswith(".jsonl")))  # fmt: skip
    except OSError:
        return ()


@st.cache_data(max_entries=8, show_spinner="Reading the audit log…")
def _scan(folder: str, state: tuple, actions: tuple[str, ...], users: tuple[str, ...]) -> EventScan:
    """Every event read once and filtered while read (``state``: :func:`_log_state`, only to key the cache)."""

    def match(event: dict) -> bool:
        return (not actions or _action_text(event) in actions) and (not users or _user_text(event) in users)

    return scan_events(folder, match=match if actions or users else None, limit=MAX_EVENTS,
                       facets={"action": _action_text, "user": _user_text})  # fmt: skip


def render() -> None:
    st.title("Audit log")
    folder = audit_dir()
    st.caption(f"Who scored, trained, deleted or exported what, and when, from {md(folder)} (JSON lines; "
               "files are recorded by name, size and SHA-256, never their contents). Newest first.")  # fmt: skip
    # The filters' choices of the last run, so that the log is read once and filtered while read: every event is
    # searched, not only the newest few thousand.
    chosen = tuple(st.session_state.get(ACTIONS_KEY) or ())
    who = tuple(st.session_state.get(USERS_KEY) or ())
    scan = _scan(str(folder), _log_state(folder), chosen, who)
    if not scan.total:
        st.info("Nothing recorded yet: events appear here once traffic is scored, a model is trained, deleted or "
                "predictions are downloaded.", icon=":material/history:")  # fmt: skip
        return
    if scan.unreadable:
        st.warning(f"{counted(scan.unreadable, 'entry', 'entries')} of the audit log could not be read (a damaged or "
                   "edited line, a file or folder this dashboard may not read): shown as **unreadable**, with why.",
                   icon=":material/warning:")  # fmt: skip
    left, right = st.columns(2)
    actions = sorted(set(scan.values["action"]) | set(chosen))
    left.multiselect("Actions", actions, key=ACTIONS_KEY, placeholder="all actions")
    users = sorted(set(scan.values["user"]) | set(who))
    right.multiselect("Users", users, key=USERS_KEY, placeholder="all users")
    if scan.matched > MAX_EVENTS:
        st.warning(f"Only the {MAX_EVENTS:,} most recent events of the {scan.matched:,} that match are shown and "
                   f"downloaded here; narrow the filters to see older ones, or read the monthly files in "
                   f"{md(folder)}.", icon=":material/history:")  # fmt: skip
    filtered = chosen or who
    st.caption(f"{scan.matched:,} of {counted(scan.total, 'event')} in the whole log match the filters."
               if filtered else f"{counted(scan.total, 'event')} in the whole log.")  # fmt: skip
    frame = events_frame(scan.events)
    st.dataframe(frame, hide_index=True, key="audit_table")
    st.download_button("Download the events shown (CSV)", events_csv(frame), "audit.csv", "text/csv",
                       key="audit_download", icon=":material/download:", on_click="ignore")  # fmt: skip


render()
