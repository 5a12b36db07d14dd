"""Why a model decides as it does: which features matter, why one flow was flagged, what marks each class.

- :func:`permutation_importance`: global importance for every family alike. Each feature's values are
  shuffled among the rows of a held-out labelled set and the drop in macro-F1 is measured (a few repeats,
  a bounded, class-stratified row sample, seeded).
- :func:`explain_row`: the features that pushed one row's prediction. For the Keras networks
  (``cnn``, ``paper-cnn``, ``dnn``) integrated gradients against a baseline of typical benign values,
  computed on the network in preprocessed space (by the numpy engine's gradient, so that explaining a flow in the
  dashboard's server does not import TensorFlow; with TensorFlow for a network the engine cannot express, or
  under ``$IOMT_INFERENCE=keras``); the attributions add up to
  ``f(x) - f(baseline)`` for the predicted class (checked: :attr:`RowExplanation.completeness_gap`; the steps are
  quadrupled, up to ``IG_MAX_STEPS``, while they miss by more than ``IG_TOLERANCE``, and a note says a gap that stays).
  For the other families occlusion: each feature in turn set to its typical benign value, and the
  drop in the predicted class's probability recorded (model-agnostic; no completeness promise).
- :func:`class_profiles`: per class, the features whose values differ most from benign, in units of
  the training standard deviation (preprocessed space).

Every result carries each feature's plain meaning from :mod:`core.glossary`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import CoreError
from .glossary import meaning
from .loading import UNLABELLED, Dataset
from .pipeline import decide
from .preprocess import IMPLAUSIBLE, IMPLAUSIBLE_TEXT, REPAIRED_TO
from .taxonomy import BENIGN, classes_for_task, coarser_map, codes_for_task, finest_task, shown_index_map, shown_names
from .words import counted

KERAS_FAMILIES = frozenset({"cnn", "paper-cnn", "dnn"})
BASELINE_ROWS = 100_000  # benign rows at most behind the typical benign values
MIN_BENIGN_ROWS = 30  # fewer benign rows analysed: the typical values are the training data's (when stored)
IG_TOLERANCE = 0.005  # integrated gradients may miss f(x) - f(baseline) by this much (probability) before refining
IG_MAX_STEPS = 2048  # steps at most on the path (one row: 2,049 gradient evaluations)

#: progress(done, total, message)
Progress = Callable[[int, int, str], None]


def _quiet(progress: Progress | None) -> Progress:
    return progress or (lambda done, total, message: None)


# ---------------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Baseline:
    """Typical benign values of one model's features.

    Attributes
    ----------
    raw : ndarray (n_features,)
        In the data's units (inf/NaN repaired), shown beside a row's values.
    preprocessed : ndarray (n_features,)
        The same point after the model's preprocessing (the attribution baseline).
    source : str
        Where the values come from, in words.
    benign : bool
        Whether they are benign traffic's; False where the model has none to give (trained without Benign, as on
        the real v1 sample, or saved before its benign median was stored) and the median of all its training rows,
        attacks included, stands in: to be called "typical values", not "typical benign" ones.
    """

    raw: np.ndarray
    preprocessed: np.ndarray
    source: str
    benign: bool = True


def benign_median(pre, data: Dataset) -> tuple[np.ndarray, int] | None:
    """Per-feature median of the benign rows of ``data`` (inf/NaN repaired as ``pre`` does, not scaled) and how
    many benign rows there are, or None when there are none. Over a seeded sample of ``BASELINE_ROWS`` at most."""
    benign = _benign_mask(data)
    if not benign.any():
        return None
    idx = np.flatnonzero(benign)
    if len(idx) > BASELINE_ROWS:  # a seeded sample bounds the cost on large captures
        idx = np.sort(np.random.default_rng(0).choice(idx, BASELINE_ROWS, replace=False))
    return np.median(_repair_only(pre, data.X[idx]), axis=0), int(benign.sum())


def benign_baseline(model, data: Dataset | None = None) -> Baseline:
    """Typical benign values: the median of the benign rows of ``data`` when it has :data:`MIN_BENIGN_ROWS` labelled
    benign rows or more, else that of the benign rows the model was trained on (stored with it; one benign flow
    analysed would be the typical one, and explain itself as all zeros), else the analysed benign rows however few,
    else (a model saved before that was stored, or trained without Benign) the preprocessor's medians of all its
    training rows.

    The median commutes with the monotonic per-feature preprocessing, so the preprocessed baseline is
    the median of the benign rows after preprocessing as well.
    """
    pre = model.preprocessor
    found = benign_median(pre, data) if data is not None else None
    stored = (model.metadata.get("data") or {}).get("benign_median")
    stored = stored if stored and len(stored.get("values") or ()) == len(pre.features) else None
    if found is not None and (found[1] >= MIN_BENIGN_ROWS or stored is None):
        raw, n = found
        source = f"median of the {counted(n, 'benign row')} analysed" + (
            f" (a sample of {BASELINE_ROWS:,})" if n > BASELINE_ROWS else "")  # fmt: skip
    elif stored is not None:
        raw = np.asarray(stored["values"], dtype=np.float64)
        among = ("none among the rows analysed" if found is None else
                 f"only {counted(found[1], 'benign row')} among the rows analysed, too few to say what is typical")  # fmt: skip
        source = f"median of the {counted(stored['rows'], 'benign row')} of the model's training data ({among})"
    else:
        raw = np.asarray(pre.median_, dtype=np.float64)
        source = ("median of all the model's training rows, attacks included (no benign rows among the rows "
                  "analysed, and none stored with the model)")  # fmt: skip
    preprocessed = pre.transform(raw[None, :].astype(np.float32))[0][0]
    return Baseline(raw=raw, preprocessed=preprocessed.astype(np.float32), source=source,
                    benign=found is not None or stored is not None)  # fmt: skip


def _repair_only(pre, X: np.ndarray) -> np.ndarray:
    """``X`` with inf/NaN, and cells beyond ±1e15 (taken as inf), replaced by the preprocessor's repair rule (no
    scaling)."""
    X = np.array(X, dtype=np.float64, copy=True)
    X = np.where(X > IMPLAUSIBLE, pre.max_, X)
    X = np.where(X < -IMPLAUSIBLE, pre.min_, X)
    return np.where(np.isnan(X), pre.median_, X)


def _benign_mask(data: Dataset) -> np.ndarray:
    known = data.y != UNLABELLED
    mask = np.zeros(len(data.y), dtype=bool)
    if known.any():
        two = np.asarray(classes_for_task(2), dtype=object)[codes_for_task(data.y[known], 2)]
        mask[known] = two == BENIGN
    return mask


# ---------------------------------------------------------------------------------- importance


@dataclass(frozen=True)
class FeatureImportance:
    """Permutation importance of one model on one labelled set.

    ``frame`` has one row per feature, most important first: ``feature``, ``meaning``, ``importance``
    (mean drop in macro-F1 when the feature is shuffled), ``std`` (over the repeats).
    """

    frame: pd.DataFrame
    baseline_macro_f1: float
    n_rows: int
    repeats: int
    metric: str = "macro-F1"
    task: int | None = None  # the task the macro-F1 is measured at: coarser than the model's where labels say less

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.frame.head(n)


def sample_rows(y: np.ndarray, max_rows: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_rows`` rows, stratified: each class gets an equal share of the budget
    (the small classes keep all their rows when they have fewer), the rest spread over the larger ones."""
    y = np.asarray(y)
    if len(y) <= max_rows:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quota = np.zeros(len(classes), dtype=np.int64)
    budget = max_rows
    remaining = list(range(len(classes)))
    while budget > 0 and remaining:  # water-filling: equal shares, capped by each class's size
        share = max(budget // len(remaining), 1)
        for i in list(remaining):
            take = min(share, counts[i] - quota[i], budget)
            quota[i] += take
            budget -= take
            if quota[i] >= counts[i]:
                remaining.remove(i)
            if budget <= 0:
                break
    picked = [rng.choice(np.flatnonzero(y == c), size=q, replace=False) for c, q in zip(classes, quota) if q]
    return np.sort(np.concatenate(picked))


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_true, y_pred, labels=np.unique(y_true), average="macro", zero_division=0))


def permutation_importance(model, data: Dataset, *, max_rows: int = 2000, repeats: int = 3, seed: int = 0,
                           progress: Progress | None = None) -> FeatureImportance:  # fmt: skip
    """Drop in macro-F1 when each feature is shuffled, on the labelled rows of ``data``.

    Parameters
    ----------
    model : TrainedModel
    data : Dataset
        Held-out labelled rows (not the training rows).
    max_rows : int
        Rows used at most (a class-stratified, seeded sample), to bound the cost:
        ``n_features * repeats * max_rows`` rows are scored.
    repeats : int
        Shuffles per feature; the result is their mean (and standard deviation).
    """
    model.check_layout(data)
    known = np.flatnonzero(data.y != UNLABELLED)
    if not len(known):
        raise CoreError("feature importance needs rows whose true class is known",
                        hint="use official file names or a 'label' column")  # fmt: skip
    progress = _quiet(progress)
    # Scored as Model.evaluate scores: at a coarser task where labels say no more (a family, Attack).
    task = min(model.task, finest_task(data.y[known]))
    y_task = codes_for_task(data.y[known], task)
    idx = known[sample_rows(y_task, max_rows, seed)]
    y_true = codes_for_task(data.y[idx], task)
    X, _ = model.preprocessor.transform(data.X[idx])
    mapping = coarser_map(model.task, task)[_class_mapping(model)]

    threshold = model.metadata.get("alarm_threshold") if model.task == 2 else None

    def score(Xs: np.ndarray) -> np.ndarray:  # the model's own decision rule (a 2-class model's alarm threshold)
        return mapping[decide(model.classes, _proba(model, Xs), threshold)]

    base = _macro_f1(y_true, score(X))
    rng = np.random.default_rng(seed)
    n, f = X.shape
    drops = np.zeros((f, repeats))
    for j in range(f):
        progress(j, f, f"shuffling {model.layout.features[j]}")
        stacked = np.tile(X, (repeats, 1))
        for r in range(repeats):
            stacked[r * n : (r + 1) * n, j] = X[rng.permutation(n), j]
        pred = score(stacked)
        drops[j] = [base - _macro_f1(y_true, pred[r * n : (r + 1) * n]) for r in range(repeats)]
    progress(f, f, "done")
    features = list(model.layout.features)
    frame = pd.DataFrame({"feature": features, "meaning": [meaning(c) for c in features],
                          "importance": drops.mean(axis=1), "std": drops.std(axis=1)})  # fmt: skip
    frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return FeatureImportance(frame=frame, baseline_macro_f1=base, n_rows=n, repeats=repeats, task=task)


def _class_mapping(model) -> np.ndarray:
    """Model output column -> code in the task's full class list."""
    task_classes = classes_for_task(model.task)
    return np.array([task_classes.index(c) for c in model.classes])


def _proba(model, X: np.ndarray) -> np.ndarray:
    return model.detector.predict_proba(X)


# ---------------------------------------------------------------------------------- one row


@dataclass(frozen=True)
class RowExplanation:
    """Why one row got its prediction.

    ``frame`` has one row per feature, largest absolute contribution first: ``feature``, ``meaning``,
    ``value`` (the row's raw value), ``typical_benign`` (the baseline's raw value), ``contribution``
    (how much the feature pushed the predicted class's probability up (+) or down (-)).
    """

    frame: pd.DataFrame
    predicted: str
    probability: float  # of the predicted class, at the row
    baseline_probability: float  # of the predicted class, at the typical benign values
    method: str  # "integrated gradients" or "occlusion"
    baseline_source: str
    baseline_benign: bool = True  # False: the baseline is all training rows' median, attacks included (Baseline.benign)
    completeness_gap: float | None = None  # |sum(contributions) - (f(x) - f(baseline))|, IG only
    notes: list[str] = field(default_factory=list)

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.frame.head(n)


def explain_row(model, data: Dataset, index: int, *, baseline: Baseline | None = None,
                steps: int = 128) -> RowExplanation:  # fmt: skip
    """Attribute the prediction of row ``index`` of ``data`` to its features.

    Integrated gradients (``steps`` intervals on the straight path from the benign baseline to the row, more
    while the attributions miss ``f(x) - f(baseline)`` by over ``IG_TOLERANCE``) for the Keras families; occlusion
    toward the benign baseline for the others. ``notes`` name the row's repaired cells and a gap that stays.
    """
    model.check_layout(data)
    if not 0 <= index < len(data.X):
        raise CoreError(f"row {index} is out of range: the data has {len(data.X):,} rows",
                        hint=f"choose a row from 0 to {len(data.X) - 1}")  # fmt: skip
    baseline = baseline if baseline is not None else benign_baseline(model, data)
    raw = data.X[index : index + 1]
    x = model.preprocessor.transform(raw)[0][0]
    p_x = _proba(model, x[None, :])[0]
    c = _predicted_column(model, p_x)
    p_b = _proba(model, baseline.preprocessed[None, :])[0]
    gap = None
    notes = []
    if model.family in KERAS_FAMILIES:
        while True:  # the quadrature's error falls with the steps: refine until the sum is the change it explains
            contrib = integrated_gradients(model, x, baseline.preprocessed, c, steps=steps)
            gap = float(abs(contrib.sum() - (p_x[c] - p_b[c])))
            if gap <= IG_TOLERANCE or steps >= IG_MAX_STEPS:
                break
            steps = min(steps * 4, IG_MAX_STEPS)
        if gap > IG_TOLERANCE:
            notes.append(f"the contributions add up to {contrib.sum():+.3f}, not to the change in probability "
                         f"{p_x[c] - p_b[c]:+.3f} they explain ({steps:,} steps): read them as approximate")  # fmt: skip
        method = "integrated gradients"
    else:
        contrib = occlusion(model, x, baseline.preprocessed, c)
        method = "occlusion"
    features = list(model.layout.features)
    values = _repair_only(model.preprocessor, raw)[0]
    frame = pd.DataFrame({"feature": features, "meaning": [meaning(f) for f in features], "value": values,
                          "typical_benign": baseline.raw, "contribution": contrib.astype(np.float64)})  # fmt: skip
    frame = frame.reindex(frame["contribution"].abs().sort_values(ascending=False, kind="stable").index)
    notes += _repair_notes(data.X[index], features, values)
    return RowExplanation(frame=frame.reset_index(drop=True), predicted=model.classes[c], probability=float(p_x[c]),
                          baseline_probability=float(p_b[c]), method=method, baseline_source=baseline.source,
                          baseline_benign=baseline.benign,
                          completeness_gap=gap, notes=notes)  # fmt: skip


#: Repaired cells of one kind in a row, at most, that are each told in a note of their own; more are told in one.
REPAIR_NOTES_EACH = 3


def _repair_notes(raw: np.ndarray, features: list[str], values: np.ndarray) -> list[str]:
    """What the row's table shows in place of its NaN and infinite cells: a note per cell, or one per kind of cell
    where more than :data:`REPAIR_NOTES_EACH` are of that kind (an empty row gave 39 notes, one under the other)."""
    kinds: dict[str, list[int]] = {}
    for j in np.flatnonzero(~(np.abs(raw) <= IMPLAUSIBLE)):  # NaN, inf, and finite cells beyond ±1e15 (as inf)
        kinds.setdefault("NaN" if np.isnan(raw[j]) else "inf" if raw[j] > 0 else "-inf", []).append(int(j))

    def was(j: int, kind: str) -> str:
        return kind if not np.isfinite(raw[j]) else f"{raw[j]:.6g}, beyond {IMPLAUSIBLE_TEXT}, taken as {kind}"

    notes = []
    for kind, cells in kinds.items():
        if len(cells) <= REPAIR_NOTES_EACH:
            notes += [f"{features[j]} was {was(j, kind)}: scored as {values[j]:,.6g} ({REPAIRED_TO[kind]}), the value "
                      "shown" for j in cells]  # fmt: skip
        else:
            huge = " or beyond " + IMPLAUSIBLE_TEXT if np.isfinite(raw[cells]).any() else ""
            notes.append(f"{counted(len(cells), 'feature')} were {kind}{huge} ({', '.join(features[j] for j in cells)}): "
                         f"each scored as {REPAIRED_TO[kind]}, the values shown")  # fmt: skip
    return notes


def _predicted_column(model, p: np.ndarray) -> int:
    """The predicted output column, by the model's own decision rule (:func:`core.pipeline.decide`)."""
    threshold = model.metadata.get("alarm_threshold") if model.task == 2 else None
    return int(decide(model.classes, p[None, :], threshold)[0])


def integrated_gradients(model, x: np.ndarray, baseline: np.ndarray, target: int, *, steps: int = 128) -> np.ndarray:
    """Integrated gradients of output ``target`` of a Keras detector, in preprocessed space.

    ``sum(result) ~= f(x)[target] - f(baseline)[target]`` (trapezoidal rule over ``steps`` intervals).

    The gradients come from the network's numpy engine (:meth:`core.inference.NumpyNetwork.input_gradient`, the
    engine the model scores with), else from TensorFlow: explaining a flow through ``tf.GradientTape`` imported
    TensorFlow into the dashboard's server, seconds for the first explanation and hundreds of MB kept.
    """
    from .models import keras_forced

    detector = model.detector
    x = np.asarray(x, dtype=np.float32)
    baseline = np.asarray(baseline, dtype=np.float32)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[:, None]
    path = baseline[None, :] + alphas * (x - baseline)[None, :]
    engine = getattr(detector, "engine_", None)
    if engine is not None and not keras_forced():
        g = engine.input_gradient(path, target)
    else:
        g = _tensorflow_gradient(detector, path, target)[:, : len(x)]
    avg = (g[:-1] + g[1:]).mean(axis=0) / 2.0
    return (x - baseline) * avg


def _tensorflow_gradient(detector, path: np.ndarray, target: int) -> np.ndarray:
    """The gradient of output ``target`` at each row of ``path`` through TensorFlow (rows flattened)."""
    import tensorflow as tf

    net = detector.model_
    inputs = tf.convert_to_tensor(detector._inputs(path))
    grads = []
    for start in range(0, len(path), 256):
        part = inputs[start : start + 256]
        with tf.GradientTape() as tape:
            tape.watch(part)
            out = net(part, training=False)[:, target]
        grads.append(tape.gradient(out, part).numpy().reshape(len(part), -1))
    return np.concatenate(grads)


def occlusion(model, x: np.ndarray, baseline: np.ndarray, target: int) -> np.ndarray:
    """Drop in output ``target`` when each feature alone is set to its baseline value."""
    f = len(x)
    batch = np.tile(np.asarray(x, dtype=np.float32), (f + 1, 1))
    batch[np.arange(1, f + 1), np.arange(f)] = baseline
    p = _proba(model, batch)[:, target]
    return p[0] - p[1:]


# ---------------------------------------------------------------------------------- per class


def class_profiles(model, data: Dataset, labels: np.ndarray | None = None, *, top: int = 8,
                   max_rows_per_class: int = 5000, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Per class, the features that differ most from benign traffic.

    Parameters
    ----------
    labels : array of str, optional
        A task class per row of ``data`` (e.g. the predictions when the truth is unknown); by default
        the true classes of the labelled rows.

    Returns
    -------
    DataFrame with ``class``, ``feature``, ``meaning``, ``difference`` (the class's mean minus the
    reference's mean, in training standard deviations, preprocessed space), ``class_median`` and
    ``reference_median`` (raw values) and ``reference`` ("Benign", or "all other rows" when the data
    has no benign rows); the ``top`` features per class by absolute difference.
    """
    model.check_layout(data)
    if labels is None:
        known = data.y != UNLABELLED  # the class in the model's task, or as much as a coarser label says
        labels = np.full(len(data.y), None, dtype=object)
        labels[known] = np.asarray(shown_names(model.task), dtype=object)[shown_index_map(model.task)[data.y[known]]]
    labels = np.asarray(labels, dtype=object)
    rng = np.random.default_rng(seed)
    keep = []
    for c in pd.unique(labels[pd.notna(labels)]):
        rows = np.flatnonzero(labels == c)
        keep.append(rows if len(rows) <= max_rows_per_class else rng.choice(rows, max_rows_per_class, replace=False))
    if not keep:
        raise CoreError("no class is known for these rows", hint="use official file names or a 'label' column")
    idx = np.sort(np.concatenate(keep))
    lab = labels[idx]
    X, _ = model.preprocessor.transform(data.X[idx])
    raw = _repair_only(model.preprocessor, data.X[idx])
    features = list(model.layout.features)
    has_benign = (lab == BENIGN).any()
    out = []
    # The task's classes, then the families and Attack where a label says no more (shown_names): a class per label.
    for c in [c for c in shown_names(model.task) if c != BENIGN and (lab == c).any()]:
        mine = lab == c
        ref = lab == BENIGN if has_benign else ~mine
        if not ref.any():
            continue
        diff = X[mine].mean(axis=0) - X[ref].mean(axis=0)
        order = np.argsort(-np.abs(diff), kind="stable")[:top]
        for j in order:
            out.append({"class": c, "feature": features[j], "meaning": meaning(features[j]),
                        "difference": float(diff[j]), "class_median": float(np.median(raw[mine, j])),
                        "reference_median": float(np.median(raw[ref, j])),
                        "reference": BENIGN if has_benign else "all other rows"})  # fmt: skip
    return pd.DataFrame(out, columns=["class", "feature", "meaning", "difference", "class_median",
                                      "reference_median", "reference"])  # fmt: skip
