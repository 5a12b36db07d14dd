"""Audit log: who scored, trained, deleted or exported what, and when (newest first)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.audit import audit_dir, read_events
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


def events_frame(events: list[dict]) -> pd.DataFrame:
    """One row per event, every value as text (shown in a table, never as Markdown)."""
    rows = [{"time (UTC)": e.get("time", ""), "action": e.get("action", ""),
             "user": e.get("user") or f"{e.get('os_user', '')} (local)", "via": e.get("via", ""),
             "model": e.get("model") or "", "files": _files_text(e.get("files")),
             "details": ", ".join(f"{k}={v}" for k, v in (e.get("details") or {}).items())}
            for e in events]  # fmt: skip
    return pd.DataFrame(rows, columns=["time (UTC)", "action", "user", "via", "model", "files", "details"])


def events_csv(frame: pd.DataFrame) -> bytes:
    """The table as CSV for a spreadsheet: a cell that starts like a formula (a file named ``=HYPERLINK(...)``, which
    anyone who uploads a file can choose) is prefixed with ``'``, so that opening the download does not run it."""
    return frame.map(spreadsheet_text).to_csv(index=False).encode()


def render() -> None:
    st.title("Audit log")
    st.caption(f"Who scored, trained, deleted or exported what, and when, from {md(audit_dir())} (JSON lines; "
               "files are recorded by name, size and SHA-256, never their contents). Newest first.")  # fmt: skip
    events = read_events(limit=MAX_EVENTS)
    if not events:
        st.info("Nothing recorded yet: events appear here once traffic is scored, a model is trained, deleted or "
                "predictions are downloaded.", icon=":material/history:")  # fmt: skip
        return
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
