"""Router of the dashboard: one ``st.Page`` per file under ``dashboard/pages``."""

import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="IoMT attack detection", page_icon=":material/shield:", layout="wide")

PAGES = Path(__file__).resolve().parent / "pages"
navigation = st.navigation(
    [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page(PAGES / "analyze.py", title="Analyze traffic", icon=":material/troubleshoot:"),
        st.Page(PAGES / "compare.py", title="Compare models", icon=":material/leaderboard:"),
        st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(PAGES / "models.py", title="Models", icon=":material/inventory_2:"),
    ]
)
navigation.run()
