"""What Keras's ``clear_session`` after every script run costs a page's rerun (dashboard/streamlit_keras.py).

Drives the Analyze page with Streamlit's AppTest in this process (as the server runs it): the demo traffic, the
19-class task and a saved non-network model (``--model``, default ``demo-rf-19class``), then times ``--reruns``
reruns of the page (median) three ways, in this order: Keras not imported (the server before any network needed
it); Keras imported and Streamlit's own clean-up (``keras.backend.clear_session()``, a full ``gc.collect()``, after
each run: the dashboard before this change, once it had imported Keras); Keras imported and the dashboard's
clean-up, which skips it.

    .venv/bin/python bench/keras_rerun.py --models-dir M --demo-data D [--model demo-rf-19class] [--reruns 7]

M, D: a ``python -m core setup-demo`` registry and its data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--demo-data", required=True)
    ap.add_argument("--model", default="demo-rf-19class")
    ap.add_argument("--reruns", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ["IOMT_MODELS_DIR"], os.environ["IOMT_DEMO_DATA_DIR"] = args.models_dir, args.demo_data

    from cache_memory import analyze_page  # the Analyze page in AppTest, the 19-class task and the model chosen
    from streamlit.runtime.scriptrunner import script_runner

    streamlits = script_runner._clean_problem_modules  # before the dashboard replaces it
    at = analyze_page(Path(args.models_dir), args.model)
    at.radio(key="analyze_source").set_value("Demo traffic (synthetic)").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(m.label == "Rows scored" for m in at.metric), "the demo traffic was not scored"
    ours = script_runner._clean_problem_modules
    assert ours is not streamlits, "the dashboard did not replace Streamlit's clean-up"

    def reruns() -> float:
        times = []
        for _ in range(args.reruns):
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    if "keras" in sys.modules:
        print("Keras was imported already: the first line is not the server before it")
    print(f"Analyze page, demo traffic, {args.model}: median of {args.reruns} reruns")
    print(f"  Keras not imported: {reruns():.3f} s")
    import keras  # noqa: F401 - as a server that has needed it once

    script_runner._clean_problem_modules = streamlits
    print(f"  Keras imported, Streamlit's clean-up (clear_session after each run): {reruns():.3f} s")
    script_runner._clean_problem_modules = ours
    print(f"  Keras imported, the dashboard's clean-up (without clear_session): {reruns():.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
