"""Piecewise-linear encoding (PLE) of numerical features (Gorishniy et al., NeurIPS 2022).

Each feature ``x`` gets ``bins`` channels, one per interval ``[e_{t}, e_{t+1})`` of its bin edges
fitted on the training rows::

    PLE_t(x) = clip((x - e_t) / (e_{t+1} - e_t), 0, 1)

so channel ``t`` is 1 past the interval, 0 before it, and the position inside it in between: the
network sees, per feature, where a value lies among tree-like thresholds.

The encoding works on the rows the model sees, i.e. after the :class:`core.preprocess.Preprocessor`
(inf/NaN repaired, quantile transform, scaling): an ``inf`` repaired to the training maximum fills
every channel, a ``NaN`` repaired to the median lands where the median does. The transforms are
monotone, so edges fitted on preprocessed rows are the raw edges carried through them.

Edges:

- ``"quantile"``: the training quantiles at ``t / bins``, repeated values merged (plateau-aware:
  a feature that is 0 on 60 % of rows gets one edge at 0, not several, and fewer bins);
- ``"tree"``: the split points of a decision tree with at most ``bins`` leaves grown on that
  feature alone against the training labels (target-aware), plus the feature's training range.

Edges closer than :data:`MIN_WIDTH` are merged, so no slope exceeds ``1 / MIN_WIDTH`` (float32 safe).
A feature with fewer bins than ``bins`` has its unused channels fixed at 0; a constant feature has none.

Inside the network the encoding is a frozen ``Dense(n_features * bins)`` with one non-zero weight per
output column, followed by ``ReLU(max_value=1)`` and a reshape to ``(n_features, bins)``: standard
Keras layers that :mod:`core.inference` evaluates in numpy, saved with the model's weights.
"""

from __future__ import annotations

import numpy as np

#: Smallest bin width kept, in the units of the encoded (preprocessed, standardised) rows.
MIN_WIDTH = 1e-3
#: Rows used to fit the edges at most (a seeded sample beyond that).
FIT_ROWS = 200_000
EDGE_METHODS = ("quantile", "tree")


def _merge_close(edges: np.ndarray) -> np.ndarray:
    """Sorted unique edges with none closer than MIN_WIDTH to the previous kept one."""
    edges = np.unique(np.asarray(edges, dtype=np.float64))
    if edges.size == 0:
        return edges
    kept = [edges[0]]
    for e in edges[1:]:
        if e - kept[-1] >= MIN_WIDTH:
            kept.append(e)
    if len(kept) > 1 and edges[-1] > kept[-1]:  # keep the true maximum as the last edge
        kept[-1] = edges[-1]
    return np.array(kept)


def fit_edges(X: np.ndarray, bins: int, *, method: str = "quantile", y: np.ndarray | None = None,
              seed: int = 0, min_leaf: float = 0.001) -> list[np.ndarray]:  # fmt: skip
    """Per feature, its sorted bin edges (at most ``bins + 1``; fewer on plateaus).

    Parameters
    ----------
    X : ndarray (n, n_features)
        Finite training rows (as the network sees them).
    bins : int
        Bins per feature at most.
    method : {"quantile", "tree"}
    y : ndarray (n,), optional
        Class codes; required by ``"tree"``.
    min_leaf : float
        ``"tree"`` only: smallest leaf, as a share of the rows.
    """
    if method not in EDGE_METHODS:
        raise ValueError(f"PLE edges must be one of {EDGE_METHODS}, got {method!r}")
    if bins < 1:
        raise ValueError(f"PLE needs at least one bin, got {bins}")
    X = np.asarray(X)
    if not np.isfinite(X).all():
        raise ValueError("PLE edges are fitted on repaired rows; X has inf or NaN")
    if len(X) > FIT_ROWS:
        idx = np.sort(np.random.default_rng(seed).choice(len(X), FIT_ROWS, replace=False))
        X = X[idx]
        y = None if y is None else np.asarray(y)[idx]
    out = []
    if method == "quantile":
        probs = np.linspace(0.0, 1.0, bins + 1)
        for j in range(X.shape[1]):
            out.append(_merge_close(np.quantile(X[:, j].astype(np.float64), probs)))
        return out
    if y is None:
        raise ValueError("PLE tree edges need the training labels")
    from sklearn.tree import DecisionTreeClassifier

    for j in range(X.shape[1]):
        col = X[:, j].astype(np.float64)
        lo, hi = col.min(), col.max()
        if hi - lo < MIN_WIDTH:
            out.append(np.array([lo]))
            continue
        tree = DecisionTreeClassifier(max_leaf_nodes=max(bins, 2), min_samples_leaf=max(1, int(min_leaf * len(col))),
                                      random_state=seed).fit(col[:, None], y)  # fmt: skip
        cuts = tree.tree_.threshold[tree.tree_.feature >= 0]
        out.append(_merge_close(np.concatenate([[lo, hi], cuts])))
    return out


def dense_weights(edges: list[np.ndarray], bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Kernel (n_features, n_features * bins) and bias of the frozen Dense that computes the
    pre-clip encoding: output column ``j * bins + t`` is ``(x_j - e_t) / (e_{t+1} - e_t)``."""
    n = len(edges)
    w = np.zeros((n, n * bins), dtype=np.float32)
    b = np.zeros(n * bins, dtype=np.float32)
    for j, e in enumerate(edges):
        for t in range(min(len(e) - 1, bins)):
            width = float(e[t + 1] - e[t])
            w[j, j * bins + t] = 1.0 / width
            b[j * bins + t] = -float(e[t]) / width
    return w, b


def encode(X: np.ndarray, edges: list[np.ndarray], bins: int) -> np.ndarray:
    """The encoding in numpy, float64: (n, n_features, bins). The reference the network is tested against."""
    X = np.asarray(X, dtype=np.float64)
    out = np.zeros((len(X), X.shape[1], bins))
    for j, e in enumerate(edges):
        for t in range(min(len(e) - 1, bins)):
            out[:, j, t] = np.clip((X[:, j] - e[t]) / (e[t + 1] - e[t]), 0.0, 1.0)
    return out
