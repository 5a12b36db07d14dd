"""Streamlit dashboard over ``core`` (run: ``streamlit run dashboard/app.py``)."""
