"""IoMT attack detection on CICIoMT2024 network flows: the library behind the CLI and the dashboard.

Modules, in the order data flows: ``taxonomy`` (classes of the 2/6/19-class tasks), ``schema``
(the two releases' feature lists), ``loading`` (CSV -> validated float32 ``Dataset``),
``preprocess`` (repair and scaling fitted on train), ``models`` (the model families),
``training``, ``evaluation`` (``EvaluationReport``), ``pipeline`` (a trained model with its
metadata, saved as a folder; the registry), ``compare`` (several models on the same rows),
``demo`` (synthetic data), ``cli`` (``python -m core``). No Streamlit here.
"""
