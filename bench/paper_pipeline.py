"""The paper's scoring pipeline, as its notebook code would run it: the reference ``bench/run.py`` measures.

``pandas.read_csv`` with defaults (float64), inf/NaN replaced by 0, ``StandardScaler.transform``,
reshape to (n, features, 1), ``model.predict`` at Keras's default batch size (32), argmax, and
``DataFrame.to_csv``. The scaler's statistics and the network are those of one of our saved
``paper-cnn`` models, so both pipelines compute the same thing.

    .venv/bin/python bench/paper_pipeline.py MODEL_DIR INPUT.csv OUT.csv
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler


def main(model_dir: str, csv: str, out: str) -> None:
    import keras

    meta = json.loads(Path(model_dir, "metadata.json").read_text())
    pre = meta["preprocessing"]
    scaler = StandardScaler()
    scaler.mean_ = np.asarray(pre["mean"])
    scaler.scale_ = np.asarray(pre["std"])
    scaler.var_ = scaler.scale_**2
    scaler.n_features_in_ = len(pre["features"])
    model = keras.saving.load_model(Path(model_dir, "model.keras"), compile=False)

    df = pd.read_csv(csv)
    X = df[pre["features"]].replace([np.inf, -np.inf], np.nan).fillna(0).to_numpy()
    X = scaler.transform(X)
    X = X.reshape(X.shape[0], X.shape[1], 1)
    proba = model.predict(X, verbose=0)
    classes = np.asarray(meta["classes"])
    pd.DataFrame({"predicted": classes[proba.argmax(axis=1)], "probability": proba.max(axis=1)}).to_csv(
        out, index=False
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
