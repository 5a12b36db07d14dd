"""Router of the dashboard: one ``st.Page`` per file under ``dashboard/views``.

The folder is not called ``pages/``: beside the main script, that name switches Streamlit to its
old folder-based mode whenever a fresh server's first visit opens a page URL directly.

Streamlit runs this file as the ``__main__`` module, so a worker process started with ``spawn`` (the
Train page's, :mod:`dashboard.train_jobs`) imports it again as ``__mp_main__``: everything is inside
:func:`main`, so that the worker neither imports Streamlit nor draws the app in bare mode.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEWS = Path(__file__).resolve().parent / "views"


def main() -> None:
    import streamlit as st

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    st.set_page_config(page_title="IoMT attack detection", page_icon=":material/shield:", layout="wide")

    from dashboard.auth import require_sign_in, signed_out

    pages = [
        st.Page(VIEWS / "overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page(VIEWS / "analyze.py", title="Analyze traffic", icon=":material/troubleshoot:"),
        st.Page(VIEWS / "compare.py", title="Compare models", icon=":material/leaderboard:"),
        st.Page(VIEWS / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(VIEWS / "models.py", title="Models", icon=":material/inventory_2:"),
        st.Page(VIEWS / "batch.py", title="Batch results", icon=":material/dataset:"),
        st.Page(VIEWS / "audit.py", title="Audit log", icon=":material/history:"),
    ]
    # Before the sign-in form, so that the page asked for (a link to /analyze) is the one shown once signed in;
    # hidden until then.
    navigation = st.navigation(pages, position="hidden" if signed_out() else "sidebar")
    require_sign_in()  # served beyond this machine: nothing below is shown until the user signs in
    from core.errors import CoreError
    from dashboard import loaders

    try:
        navigation.run()
    except CoreError as exc:  # a problem of the machine's set-up (an unreadable models folder, say): said, not a trace
        loaders.show_error(exc)


if __name__ == "__main__":
    main()
