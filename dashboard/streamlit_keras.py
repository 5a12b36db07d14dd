"""No ``keras.backend.clear_session()`` after each script run of the dashboard.

Streamlit ends every script run, once Keras is imported in its process, with ``keras.backend.clear_session()``
(``streamlit.runtime.scriptrunner.script_runner._clean_problem_modules``): a full ``gc.collect()`` holding the
GIL, 0.2 s in a fresh process with TensorFlow loaded and more as the server's heap grows. The dashboard's server
imported TensorFlow, and so Keras, when it explained a network's flow (integrated gradients, ``core.explain``; the
Analyze page explains the first flagged flow of every capture scored with a cnn, the default family): from then on
every run of every session's page, and every poll of a training's progress, paid for it (the Analyze page's rerun
with a forest, demo traffic: 0.27 s without Keras, 0.56 s with it, 0.28 s with it and this; bench/keras_rerun.py).
Flows are now explained by the numpy engine's gradient, without TensorFlow; the server still imports it where that
engine cannot serve (``$IOMT_INFERENCE=keras``, a network the exporter cannot express) or must first be made again
from the weights (a model folder without its ``inference.npz``, or with a stale one), and its runs then skip that
clean-up all the same.

That clean-up frees the Keras models a script builds at each run. The dashboard builds none while it serves
(training runs in worker processes, :mod:`dashboard.train_jobs`; networks are scored by the numpy engine and
explained with the network loaded once per model), so the Keras part is skipped and Streamlit's other clean-up
(closing matplotlib's figures) is kept. Applied when :mod:`dashboard.loaders` is imported, i.e. by every page (not
by the training workers, which import no Streamlit).
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def clean_up_after_a_run() -> None:
    """Streamlit's clean-up after a script run, less Keras's ``clear_session``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # as in Streamlit's own: a clean-up never stops the app
            log.debug("closing matplotlib's figures failed", exc_info=True)


def skip_keras_clear_session() -> bool:
    """Put :func:`clean_up_after_a_run` in place of Streamlit's clean-up; False (and a warning) where this Streamlit
    has no such function to replace (another version: the dashboard still works, each run then pays the clean-up)."""
    from streamlit.runtime.scriptrunner import script_runner

    if not callable(getattr(script_runner, "_clean_problem_modules", None)):
        log.warning("this Streamlit has no _clean_problem_modules: each script run may clear Keras's session")
        return False
    script_runner._clean_problem_modules = clean_up_after_a_run
    return True
