"""Once Keras is imported in the dashboard's server (explaining a network's flow imported TensorFlow; scoring through
Keras still does), Streamlit ended every script run with ``keras.backend.clear_session()``: a full ``gc.collect()``
holding the GIL, which made every page's rerun slower for every session (the Analyze page's, with a forest: 0.27 s
-> 0.56 s, bench/keras_rerun.py). Checked in a fresh process, as a server is (the test processes import Keras to
train networks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import json, sys
import keras  # as in a server that has needed it (IOMT_INFERENCE=keras, an export made again from the weights)
import matplotlib
matplotlib.use("Agg")
calls = []
clear_session = keras.backend.clear_session
keras.backend.clear_session = lambda *a, **k: (calls.append(1), clear_session(*a, **k))[1]
from streamlit.testing.v1 import AppTest
page = '''
import matplotlib.pyplot as plt
import streamlit as st
import dashboard.loaders  # every page imports it
plt.figure()  # Streamlit's other clean-up closes it after the run
st.write("a page")
'''
at = AppTest.from_string(page, default_timeout=120).run()
at.run()
import matplotlib.pyplot as plt
print(json.dumps({"clear_session_calls": len(calls), "open_figures": len(plt.get_fignums()),
                  "exceptions": [e.message for e in at.exception], "said": [m.value for m in at.markdown]}))
"""


def test_a_page_run_does_not_clear_keras_session_but_still_closes_matplotlib_figures():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["exceptions"] == [] and out["said"] == ["a page"], out
    assert out["clear_session_calls"] == 0, "a script run ended with keras.backend.clear_session()"
    assert out["open_figures"] == 0, "Streamlit's other clean-up (matplotlib's figures) is kept"
