"""Training: stratified validation split, preprocessing fitted on train only, progress reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import DataError
from .loading import Dataset, has_split, load_split, load_test_split, new_matrix, row_hashes
from .models import UNPACED, make_detector
from .pipeline import (
    TrainedModel,
    TrainingLock,
    class_counts_for_task,
    default_models_dir,
    fingerprint,
    new_model_folder,
    writable_registry,
)
from .preprocess import IMPLAUSIBLE as IMPLAUSIBLE  # where it was defined before: core.training.IMPLAUSIBLE
from .preprocess import IMPLAUSIBLE_TEXT, Preprocessor, implausible
from .schema import HEAVY_TAILED
from .taxonomy import CLASSES_2, classes_for_task, codes_for_task, finest_task
from .words import counted


@dataclass
class TrainProgress:
    """One progress report: ``fraction`` of the whole job (0..1), a stage and a message."""

    stage: str  # "load", "preprocess", "fit", "batch", "epoch", "evaluate", "save", "done"
    fraction: float
    message: str
    metrics: dict = field(default_factory=dict)


ProgressCallback = Callable[[TrainProgress], None]


class TimeLeft:
    """How long a job reported by :class:`TrainProgress` events has left, at its pace since fitting began.

    Reading the data and fitting the preprocessing run at another pace than the fit, so the clock starts at the
    first ``fit``, ``batch`` or ``epoch`` event. :meth:`update` returns seconds, or ``None`` while there is no pace
    to go by (under a second of fitting, no progress since it began, or a fit that counts no steps running: in a
    benchmark, the pace of the jobs before would say that logistic regression's ten minutes are one), and once the
    progress is full (the model being saved: what is left has no pace) or the job done.
    """

    FIT_STAGES = ("fit", "batch", "epoch")

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._start: tuple[float, float] | None = None  # (time, fraction) at the first fitting event

    def update(self, event: TrainProgress) -> float | None:
        now = self._clock()
        if self._start is None:
            if event.stage not in self.FIT_STAGES:
                return None
            self._start = (now, event.fraction)
        t0, f0 = self._start
        done = event.fraction - f0
        if event.stage == "done" or event.fraction >= 1.0 or now - t0 < 1.0 or done <= 0 or event.metrics.get(UNPACED):
            return None
        return (now - t0) * max(0.0, 1.0 - event.fraction) / done


def describe_seconds(seconds: float) -> str:
    """A duration as people read it: ``45 s``, ``3 min 05 s``, ``25 min``, ``2 h 05 min``."""
    s = int(max(0.0, float(seconds)) + 0.5)  # rounded half up
    if s < 60:
        return f"{s} s"
    if s < 600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# Share of the job's progress bar given to each stage.
_SPAN = {"load": (0.0, 0.1), "fit": (0.1, 0.9), "evaluate": (0.9, 0.97), "save": (0.97, 1.0)}


#: Points of each feature's training distribution kept by the quantile transform.
QUANTILES = 1000


class Cancelled(Exception):
    """Raised inside training when the progress callback asks to stop."""


def stratified_split(
    y: np.ndarray, fraction: float, seed: int, *, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled, stratified (train_index, val_index). Classes with < 2 rows stay in train.

    Keras's ``validation_split`` takes the last rows, which with files read in class order
    removes whole classes from training; this never does.

    ``groups`` (one key a row) keeps every row of a group on the same side: with the key of a row's features
    (``validation_split``), a validation row is never a copy of a training row. Groups, not rows, are drawn; a
    group counts towards the class of its first row, and a class whose rows are all one group stays in train.
    Without groups, or when every group is one row, the split is the row-wise one.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"the validation share must be from 0 to below 1, not {fraction}")
    y = np.asarray(y)
    if groups is None:
        first, inverse = np.arange(len(y)), np.arange(len(y))
    else:
        _, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
        order = np.argsort(first)  # groups numbered by their first row, as rows are without groups
        renumber = np.empty_like(order)
        renumber[order] = np.arange(len(order))
        first, inverse = first[order], renumber[inverse.reshape(-1)]
    sizes = np.bincount(inverse, minlength=len(first))
    group_class = y[first]
    rng = np.random.default_rng(seed)
    to_val = np.zeros(len(first), dtype=bool)
    rank = np.empty(len(first), dtype=np.int64)  # each group's place in the drawn order, class after class
    placed = 0
    for code in np.unique(group_class):
        drawn = rng.permutation(np.flatnonzero(group_class == code))
        rows = int(sizes[drawn].sum())
        target = round(rows * fraction) if rows >= 2 else 0
        n_val = int(np.searchsorted(np.cumsum(sizes[drawn]), target, side="right"))  # whole groups up to target
        n_val = min(max(n_val, 1 if fraction > 0 else 0), len(drawn) - 1)
        to_val[drawn[:n_val]] = True
        rank[drawn] = placed + np.arange(len(drawn))
        placed += len(drawn)
    row_rank = rank[inverse]
    in_val = to_val[inverse]
    train_idx, val_idx = np.flatnonzero(~in_val), np.flatnonzero(in_val)
    train_idx = train_idx[np.argsort(row_rank[train_idx], kind="stable")]
    val_idx = val_idx[np.argsort(row_rank[val_idx], kind="stable")]
    return rng.permutation(train_idx), rng.permutation(val_idx)


def validation_split(train: Dataset, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (train_index, val_index) that ``train_model`` fits and validates on: stratified by each row's own
    label (by benign-or-attack only, a 2-class model's rare attack could be drawn wholly into validation, never
    trained on, or be missing from it), with rows of identical features kept on one side. The sample's repeated
    flows (14% of the v2 19-class validation rows were copies of training rows) would otherwise be scored as
    if unseen, raising the validation figures, the threshold chosen on them and the early stopping's choice.
    """
    y = np.asarray(train.y, dtype=np.int64)
    if fraction <= 0:
        return stratified_split(y, fraction, seed)
    return stratified_split(y, fraction, seed, groups=row_hashes(train.X)[:, 0])


def _implausible_cells(train: Dataset, rows_per_step: int = 65536) -> str | None:
    """A note on the training cells beyond :data:`IMPLAUSIBLE` (finite), which the preprocessor takes as the ``inf``
    they stand for (one rule, :func:`core.preprocess.implausible`, for training and scored rows alike): how many,
    and the first one's file, row, column and value; None where there are none.

    Taken as they are, a single ``3e38`` made its column's standard deviation about 1e37, and every other value of the
    column, scaled in float32, then collapsed into one: on the v2 sample, 40 such cells cut a forest's macro-F1 from
    0.66 to 0.30, and logistic regression's from 0.67 to 0.17, without a word."""
    count, first = 0, None
    for a in range(0, len(train), rows_per_step):
        part = train.X[a : a + rows_per_step]
        hit = implausible(part)
        if hit.any():
            count += int(np.count_nonzero(hit))
            if first is None:
                r, c = (int(v[0]) for v in np.nonzero(hit))
                first = a + r, c
    if not count:
        return None
    row, col = first
    name, value = train.files[train.source[row]].name, float(train.X[row, col])
    return (
        f"{counted(count, 'training cell')} beyond {IMPLAUSIBLE_TEXT}, far beyond any real flow's value (the first: "
        f"{name}, row {int(train.row_in_file(row))}, column {train.layout.features[col]!r}: {value:.6g}) fitted as "
        f"{'+' if value > 0 else '-'}inf, and repaired by the rule for it: taken as they are, they would have squeezed "
        "every other value of their columns into one. Correct them in the file if they stand for a measurement"
    )


def _benign_median(pre: Preprocessor, train: Dataset) -> dict | None:
    from .explain import benign_median

    found = benign_median(pre, train)
    return None if found is None else {"values": [float(v) for v in found[0]], "rows": found[1]}


def _validation_threshold(classes: list[str], val: Dataset, pred, *, of_first_fit: bool) -> dict | None:
    """Where a 2-class model's benign-vs-attack macro-F1 is highest on its validation rows: a threshold chosen on
    rows that no test score is computed on (core.threshold.best_threshold). Stored, not applied: the model keeps
    deciding at 0.5 until a threshold is saved with it (the dashboard offers this one).

    None where the validation rows are of one kind (a class of one training row stays in training): on attacks
    alone every threshold that flags them all is 'perfect', so none is chosen on them."""
    from .threshold import DEFAULT_THRESHOLD, attack_probability, best_threshold, cost_at, is_attack_truth

    is_attack, p_attack = is_attack_truth(val), attack_probability(classes, pred.proba)
    if is_attack.all() or not is_attack.any():
        return None
    best, default = best_threshold(is_attack, p_attack), cost_at(is_attack, p_attack, DEFAULT_THRESHOLD)
    return {"threshold": best.threshold, "macro_f1": round(best.macro_f1, 6),
            "macro_f1_at_default": round(default.macro_f1, 6), "rows": len(val), "of_first_fit": of_first_fit}  # fmt: skip


def train_model(
    family: str,
    task: int,
    train: Dataset,
    *,
    test: Dataset | None = None,
    params: dict | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
    refit: bool | None = None,
    progress: ProgressCallback | None = None,
    data_description: str = "",
) -> tuple[TrainedModel, dict]:
    """Fit ``family`` for ``task`` on ``train``; evaluate on validation and ``test``.

    Parameters
    ----------
    family : str
        One of ``core.models.FAMILIES``.
    task : {2, 6, 19}
    train, test : Dataset
        Labelled rows of one layout. Preprocessing is fitted on the training part only.
    params : dict, optional
        Family parameters (e.g. ``epochs``, ``batch_size``, ``n_estimators``).
    val_fraction : float
        Share of ``train`` held out, shuffled and stratified, for validation metrics
        (and early stopping where enabled).
    refit : bool, optional
        After validation, fit the model once more on every row of ``train`` (preprocessing too), for as
        many epochs as the first fit ran, and keep that one. The validation figures and
        curves are then those of the first fit (the refitted model has seen the validation rows); the test
        figures are the refitted model's. None: the family's ``refit`` parameter (our ``cnn``: on), else off.
    progress : callable, optional
        Receives :class:`TrainProgress`; raising :class:`Cancelled` from it stops training.

    Returns
    -------
    model : TrainedModel
        Unsaved; its metadata holds metrics, counts, fingerprint and timings.
    reports : dict
        ``{"validation": EvaluationReport, "test": EvaluationReport or None}``.
    """
    report = progress or (lambda ev: None)
    task_classes = classes_for_task(task)
    if not train.labelled:
        raise DataError(
            "training data must be labelled on every row", hint="use official file names or a 'label' column"
        )
    coarse = train.too_coarse(task)
    if coarse:
        rows, name, row, label = coarse
        says = "only that the row is an attack" if label == CLASSES_2[1] else "only the row's attack family"
        column = next((f.label_column for f in train.files if f.name == name), None)
        raise DataError(
            f"label {label!r} says {says}, as {counted(rows, 'training row')} do: a {task}-class model needs each "
            "row's class in its task", file=name, row=row, column=column, line=train.line_in_file(name, row),
            hint=f"train a {finest_task(train.y)}-class model on these files, or label each row with its class in "
            f"the {task}-class task",
        )  # fmt: skip
    params = dict(params or {})
    params.setdefault("seed", seed)
    detector = make_detector(family, **params)
    started = time.perf_counter()

    y_task = codes_for_task(train.y, task)
    present = np.unique(y_task)
    if len(present) < 2:
        raise DataError(
            f"the training data holds only one of the {task} classes ({task_classes[present[0]]}); a model needs at "
            "least two to tell apart",
            hint="add files of other classes"
            + (" (for 2 classes: benign traffic and at least one attack)" if task == 2 else ""),
        )
    classes = [task_classes[i] for i in present]
    to_model = np.full(len(task_classes), -1, dtype=np.int64)
    to_model[present] = np.arange(len(present))
    y_model = to_model[y_task]

    tr_idx, val_idx = validation_split(train, val_fraction, seed)
    report(TrainProgress("preprocess", _SPAN["load"][1], f"fitting preprocessing on {len(tr_idx):,} rows"))
    transform = detector.params.get("input_transform", "none")  # only the improved CNN has this parameter
    if transform not in ("none", "log", "quantile"):
        raise ValueError(f"input_transform must be 'none', 'log' or 'quantile', got {transform!r}")
    log_features = [f for f in train.layout.features if f in HEAVY_TAILED] if transform == "log" else []

    def fitted_preprocessor(X: np.ndarray) -> Preprocessor:
        quantiles = QUANTILES if transform == "quantile" else 0
        return Preprocessor(train.layout.features, log_features=log_features, quantiles=quantiles).fit(X)

    # One copy of the training share, fitted on, then transformed in place; in a matrix of its own (page-aligned
    # when large), which a network's fit shares with TensorFlow instead of copying (models.shared_with_tensorflow).
    X_tr = np.take(train.X, tr_idx, axis=0, out=new_matrix(len(tr_idx), train.X.shape[1]), mode="clip")  # unbuffered
    beyond_note = _implausible_cells(train)  # the preprocessor takes those cells as inf, in its fit and transform
    pre = fitted_preprocessor(X_tr)
    X_tr, repairs_train = pre.transform(X_tr, copy=False)
    X_val, _ = pre.transform(train.X[val_idx], copy=False) if len(val_idx) else (None, None)

    if refit is None:
        refit = bool(detector.params.get("refit", False))
    refit = bool(refit and len(val_idx))
    lo, hi = _SPAN["fit"]
    mid = (lo + hi) / 2 if refit else hi

    def fit_progress(stage, fraction, message, metrics, lo=lo, hi=mid):
        report(TrainProgress(stage, lo + (hi - lo) * fraction, message, dict(metrics)))

    fit_started = time.perf_counter()
    detector.fit(X_tr, y_model[tr_idx], n_classes=len(classes), X_val=X_val,
                 y_val=y_model[val_idx] if len(val_idx) else None, progress=fit_progress)  # fmt: skip
    fit_seconds = time.perf_counter() - fit_started
    fit_notes = list(getattr(detector, "fit_notes_", []))  # what the validated fit chose, e.g. cnn-rf's weight
    fit_warnings = list(getattr(detector, "fit_warnings_", []))  # what went wrong in it, e.g. gbt's boosting diverged
    detector.prepare_scoring()  # every figure below from the engine the saved model scores with
    del X_tr, X_val

    model = TrainedModel(detector, pre, task, classes, train.layout)
    history = getattr(detector, "history_", {})  # the curves kept and shown: the validated fit's
    reports = {"validation": None, "test": None}
    validation_threshold = None
    if len(val_idx):
        report(TrainProgress("evaluate", mid, "evaluating on the validation rows"))
        val = train.subset(np.sort(val_idx))
        val_pred = model.predict(val)
        reports["validation"] = model.evaluate(val, predictions=val_pred)
        if task == 2:
            validation_threshold = _validation_threshold(classes, val, val_pred, of_first_fit=refit)
    refit_info = None
    if refit:
        decided = detector.refit_params()  # e.g. the epochs the first fit ran
        refit_params, epochs = {**params, **decided}, decided.get("epochs")
        # The first fit's model is not kept: let it go before the second is built (a 300-tree forest on the
        # v2 sample is about 1 GB; holding both doubled the peak).
        model = detector = None
        report(TrainProgress("preprocess", mid, f"refitting on all {len(train):,} training rows"))
        X_all = new_matrix(*train.X.shape)
        X_all[:] = train.X
        pre = fitted_preprocessor(X_all)
        X_all, repairs_train = pre.transform(X_all, copy=False)
        detector = make_detector(family, **refit_params)
        refit_started = time.perf_counter()

        def refit_progress(stage, fraction, message, metrics):
            # Its own stage names: the curves shown while training are the validated first fit's.
            fit_progress(f"refit_{stage}", fraction, f"refit on all rows: {message}", metrics, lo=mid, hi=hi)

        detector.fit(X_all, y_model, n_classes=len(classes), progress=refit_progress)
        fit_seconds += time.perf_counter() - refit_started
        fit_warnings += [f"refit on all rows: {w}" for w in getattr(detector, "fit_warnings_", [])]
        detector.prepare_scoring()
        del X_all
        model = TrainedModel(detector, pre, task, classes, train.layout)
        refit_info = {"rows": len(train), "epochs": epochs, "history": getattr(detector, "history_", {})}
    report(TrainProgress("evaluate", _SPAN["evaluate"][0], "evaluating"))
    timing = {"fit_seconds": round(fit_seconds, 3)}
    if test is not None:
        predictions, elapsed = model.predict_timed(test)
        timing["test_predict_seconds"] = round(elapsed, 3)
        timing["test_rows_per_second"] = round(len(test) / max(elapsed, 1e-9), 1)
        reports["test"] = model.evaluate(test, predictions=predictions)
    timing["total_seconds"] = round(time.perf_counter() - started, 3)

    absent = [c for c in task_classes if c not in classes]
    model.metadata.update(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        description=detector.description,
        data={
            "description": data_description,
            "train_rows": len(train),
            "train_rows_used_for_fit": len(train) if refit else len(tr_idx),
            "validation_rows": len(val_idx),
            "validation_split": f"shuffled, stratified {val_fraction:.0%} of train (seed {seed}), identical rows on "
            "one side" + ("; validation figures are of the first fit, before the refit on all rows" if refit else ""),
            "refit": refit_info,
            "train_class_counts": class_counts_for_task(train, task),
            "classes_absent_from_training": absent,
            "train_files": [f.name for f in train.files],
            "train_fingerprint_sha256": fingerprint(train),
            "train_cells_repaired": repairs_train.to_dict(),
            # what "typical benign values" are when an analysis has no benign rows of its own (core.explain)
            "benign_median": _benign_median(pre, train),
            "test_rows": len(test) if test is not None else None,
            "test_fingerprint_sha256": fingerprint(test) if test is not None else None,  # which rows it was scored on
            "notes": [*train.notes, *([beyond_note] if beyond_note else [])],
        },
        metrics={k: (v.to_dict() if v is not None else None) for k, v in reports.items()},
        alarm_threshold_validation=validation_threshold,
        history=history,
        fit_notes=fit_notes,
        fit_warnings=fit_warnings,
        timing=timing,
        seed=seed,
        input_transform=transform,
    )
    report(TrainProgress("done", 1.0, "training finished", {}))
    return model, reports


def train_from_folder(
    family: str,
    task: int,
    data_dir: str,
    *,
    max_rows_per_class: int | None = None,
    params: dict | None = None,
    seed: int = 0,
    models_dir: str | None = None,
    name: str | None = None,
    save: bool = True,
    progress: ProgressCallback | None = None,
    **kwargs,
) -> tuple[TrainedModel, dict]:
    """Train on ``DIR/train``, evaluate on ``DIR/test`` (when present) and save to the registry."""
    report = progress or (lambda ev: None)
    lock = None
    if save and name is not None:  # refused now, not after hours of fitting
        new_model_folder(models_dir, name)
        # Held to the end: another run of this name (the dashboard's, another command) is refused, not overwritten
        lock = TrainingLock(models_dir or default_models_dir(), name).acquire()
    elif save:
        writable_registry(models_dir)
    try:
        return _train_from_folder(family, task, data_dir, max_rows_per_class=max_rows_per_class, params=params,
                                  seed=seed, models_dir=models_dir, name=name, save=save, report=report,
                                  progress=progress, **kwargs)  # fmt: skip
    finally:
        if lock is not None:
            lock.release()


def _train_from_folder(family, task, data_dir, *, max_rows_per_class, params, seed, models_dir, name, save, report,
                       progress, **kwargs) -> tuple[TrainedModel, dict]:  # fmt: skip
    report(TrainProgress("load", 0.0, f"reading {data_dir}/train"))
    train = load_split(data_dir, "train", max_rows_per_class=max_rows_per_class, seed=seed,
                       progress=lambda i, n, f: report(TrainProgress("load", 0.05 * i / n, f"read {f}")))  # fmt: skip
    test = None
    if has_split(data_dir, "test"):  # without test files the model is scored on its validation rows only
        test = load_test_split(data_dir, train,
                               progress=lambda i, n, f: report(TrainProgress("load", 0.05 + 0.05 * i / n, f"read {f}")))  # fmt: skip
    model, reports = train_model(family, task, train, test=test, params=params, seed=seed, progress=progress,
                                 data_description=str(data_dir), **kwargs)  # fmt: skip
    if save:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = Path(models_dir) if models_dir else default_models_dir()
        model.save(folder / (name or f"{family}-{task}class-{train.layout.name}-{stamp}"))
        report(TrainProgress("save", 1.0, f"saved to {model.path}"))
    return model, reports
