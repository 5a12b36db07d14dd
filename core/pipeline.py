"""A trained model: fitted preprocessing + detector + metadata, saved as one folder.

A model folder holds the weights (``model.keras`` or ``model.skops``) and
``metadata.json``: format version, task, family, class order, layout and feature order,
preprocessing parameters, training data fingerprint and row counts per class,
validation and test metrics, library versions, timings. Loading checks the format
version and the files before reading weights, and refuses data of another layout.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import platform
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import CoreError, DataError, ModelFormatError, ModelMismatchError, NewerModelError
from .evaluation import EvaluationReport, evaluate
from .inference import EXPORT_FILE
from .loading import UNLABELLED, Dataset, read_files, row_hashes, split_files
from .models import FAMILIES, Detector
from .preprocess import Preprocessor, RepairCounts
from .schema import LAYOUTS, Layout
from .taxonomy import (
    classes_for_task,
    coarser_map,
    codes_for_task,
    finest_task,
    known_for_task,
    shown_index_map,
    shown_names,
)
from .words import counted, listed, probability_text

FORMAT_VERSION = 1
METADATA_FILE = "metadata.json"


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on (TensorFlow only if already imported)."""
    import sys

    import pandas as pd  # not at module level: scoring (python -m core predict) never needs pandas
    import pyarrow
    import sklearn

    out = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
           "scikit-learn": sklearn.__version__, "pyarrow": pyarrow.__version__}  # fmt: skip
    if "keras" in sys.modules:
        import keras
        import tensorflow as tf

        out["keras"] = keras.__version__
        out["tensorflow"] = tf.__version__
    return out


#: A 2-class model's default alarm threshold: a flow is an attack where P(attack) >= 0.5, so that a tie (P = 0.5,
#: e.g. an even vote of a forest's trees) is flagged, the same rule the dashboard's threshold slider counts with.
DEFAULT_THRESHOLD = 0.5
#: How an evaluation's note on a saved alarm threshold begins (pages that pick their notes look for it).
THRESHOLD_NOTE = "scored with the alarm threshold"
#: How the note of a model scored at a coarser task than its own (labels saying only a family, or Attack) starts.
COARSER_NOTE = "scored at"


def decide(classes: Sequence[str], proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Predicted class codes: the most probable class; for a 2-class model, attack where
    P(attack) >= ``threshold`` (DEFAULT_THRESHOLD when None)."""
    if len(classes) == 2 and "Benign" in classes:
        attack = 1 - list(classes).index("Benign")
        t = DEFAULT_THRESHOLD if threshold is None else threshold
        # In the probabilities' precision, as a Python float is compared and core.threshold counts: a NumPy float64
        # 0.7 (a grid's) was compared in float64, where a forest's float32 0.7 (14 of 20 trees) falls short of it.
        p = proba[:, attack]
        return np.where(p >= (p.dtype.type(t) if p.dtype.kind == "f" else t), attack, 1 - attack)
    return np.argmax(proba, axis=1)


@dataclass
class Predictions:
    """Predictions of a model for a dataset, row for row, in input order."""

    classes: list[str]  # the model's class order (columns of ``proba``)
    proba: np.ndarray  # (n, k) float32
    repairs: RepairCounts
    #: Alarm threshold of a 2-class model (core.threshold): attack where P(attack) >= threshold; None: the
    #: default, DEFAULT_THRESHOLD.
    threshold: float | None = None

    @property
    def codes(self) -> np.ndarray:
        return decide(self.classes, self.proba, self.threshold)

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[self.codes]

    def ranked(self, top: int) -> tuple[np.ndarray, np.ndarray]:
        """Class codes and probabilities, each (n, min(top, k)), of every row's first choices.

        The first is the prediction (:attr:`codes`: argmax, or a 2-class model's alarm threshold); then the
        runners-up by falling probability, ties to the lower class index (a stable sort's order), found by
        repeated argmax: about ten times faster than sorting every row. The one ranking behind both
        :meth:`to_frame` and the streaming writer of ``python -m core predict`` (core.scoring).
        """
        n, k = self.proba.shape
        t = max(0, min(top, k))
        codes = np.empty((n, t), dtype=np.int64)
        probs = np.empty((n, t), dtype=self.proba.dtype)
        step = 1 << 16  # rows at a time: a copy of a chunk's probabilities to strike the choices from, not of all
        for start in range(0, n, step):
            proba = self.proba[start : start + step]
            rows = np.arange(len(proba))
            work = proba.copy() if t > 1 else proba
            for j in range(t):
                best = decide(self.classes, proba, self.threshold) if j == 0 else np.argmax(work, axis=1)
                codes[start : start + len(proba), j] = best
                probs[start : start + len(proba), j] = proba[rows, best]
                if j + 1 < t:
                    work[rows, best] = -np.inf
        return codes, probs

    @property
    def confidence(self) -> np.ndarray:
        return np.take_along_axis(self.proba, self.codes[:, None], axis=1)[:, 0]

    def to_frame(self, data: Dataset, task: int, top: int = 3) -> pd.DataFrame:  # noqa: F821 - imported lazily
        """One row per input row: file, row number in its file, predicted class and probability,
        the top alternatives, and the true class where known."""
        n = len(self.proba)
        file_names = np.asarray([f.name for f in data.files], dtype=object)
        # Row number within its own file (1-based, header excluded): a sample's own (Dataset.file_rows), not 1..k
        row_in_file = np.asarray(data.row_in_file(), dtype=np.int64)
        codes, probs = self.ranked(top)
        cls = np.asarray(self.classes, dtype=object)
        frame = {
            "file": file_names[data.source],
            "row": row_in_file,
            "predicted": cls[codes[:, 0]],
            "probability": probs[:, 0],
        }
        for k in range(1, codes.shape[1]):
            # An alternative with probability 0 is no alternative: leave it blank rather than name a class.
            frame[f"top{k + 1}"] = np.where(probs[:, k] > 0, cls[codes[:, k]], None)
            frame[f"top{k + 1}_probability"] = probs[:, k]
        if (data.y != UNLABELLED).any():
            # The class in the task, or as much as a coarser label says (a family, or Attack).
            truth = np.full(n, None, dtype=object)
            known = data.y != UNLABELLED
            truth[known] = np.asarray(shown_names(task), dtype=object)[shown_index_map(task)[data.y[known]]]
            frame["true"] = truth
        import pandas as pd

        return pd.DataFrame(frame)


#: Rows repaired, scaled and scored at a time by :meth:`TrainedModel.predict` (a multiple of every family's own
#: piece: 65,536 rows for scikit-learn, 8,192 for Keras, at most 2,048 for the numpy engine, so that a row's
#: probabilities are those it gets scored with all rows at once).
PREDICT_CHUNK_ROWS = 1 << 18


@dataclass
class _Decided:
    """What :meth:`TrainedModel.evaluate` needs of predictions: the class codes decided (as
    :attr:`Predictions.codes`) and the cells repaired."""

    codes: np.ndarray
    repairs: RepairCounts


class TrainedModel:
    """Preprocessing, detector and metadata of one trained model.

    Parameters
    ----------
    detector : Detector
        Fitted detector whose outputs follow ``classes``.
    preprocessor : Preprocessor
        Fitted on the training rows.
    task : int
    classes : list of str
        The model's output classes (those present in training), in taxonomy order.
    layout : Layout
    metadata : dict
    """

    def __init__(self, detector: Detector, preprocessor: Preprocessor, task: int, classes: list[str],
                 layout: Layout, metadata: dict | None = None):  # fmt: skip
        self.detector = detector
        self.preprocessor = preprocessor
        self.task = task
        self.classes = list(classes)
        self.layout = layout
        self.metadata = metadata or {}
        self.path: Path | None = None

    @property
    def family(self) -> str:
        return self.detector.family

    @property
    def name(self) -> str:
        return self.metadata.get("name") or (self.path.name if self.path else f"{self.family}-{self.task}class")

    def check_layout(self, data: Dataset) -> None:
        """Refuse data of another release than the model's, saying which layout each side has."""
        if data.layout.name != self.layout.name:
            raise ModelMismatchError(
                f"model {self.name!r} was trained on the {self.layout.name} layout ({self.layout.n_features} features) "
                f"but the data has the {data.layout.name} layout ({data.layout.n_features} features)",
                hint=f"choose a model trained on {data.layout.name} data, or train one on these files",
            )

    def predict(self, data: Dataset, progress: Callable[[int, int], None] | None = None) -> Predictions:
        """Repair, scale and score every row of ``data``, in order, :data:`PREDICT_CHUNK_ROWS` at a time;
        ``progress(rows done, rows in all)`` after each such chunk."""
        self.check_layout(data)
        threshold = self.metadata.get("alarm_threshold") if self.task == 2 else None
        proba, repairs = None, []
        for start, p, r in self._scored_chunks(data):
            if proba is None:
                proba = p if len(p) == len(data) else np.empty((len(data), p.shape[1]), dtype=p.dtype)
            if proba is not p:
                proba[start : start + len(p)] = p
            repairs.append(r)
            if progress is not None:
                progress(start + len(p), len(data))
        return Predictions(
            self.classes, proba, RepairCounts.summed(repairs, self.preprocessor.features), threshold=threshold
        )

    def _scored_chunks(self, data: Dataset) -> Iterator[tuple[int, np.ndarray, RepairCounts]]:
        """(first row, probabilities, repairs) of ``data``'s rows, :data:`PREDICT_CHUNK_ROWS` at a time (one chunk
        of no rows for no rows): the rows repaired and scaled are a chunk's, not a float32 copy of every row
        (290 MB for the full test split), and the probabilities of a row do not depend on its chunk (every
        family scores in pieces that divide the chunk: core.models, core.inference)."""
        for start in range(0, max(len(data), 1), PREDICT_CHUNK_ROWS):
            X, repairs = self.preprocessor.transform(data.X[start : start + PREDICT_CHUNK_ROWS])
            yield start, self.detector.predict_proba(X), repairs
            del X

    def predict_timed(self, data: Dataset, *, warmup_rows: int = 1024) -> tuple[Predictions, float]:
        """:meth:`predict` and its seconds, timed after scoring the first ``warmup_rows`` rows once untimed.

        The first call in a process pays one-time costs (worker threads, buffers, caches): timed cold, the
        model scored first in a comparison of 9,155 rows looked 2.7x slower than the same model scored
        again (56,000 against 149,000 rows/s, measured). Scoring speeds compared side by side must not
        depend on the order.
        """
        if warmup_rows and len(data):
            self.predict(data.subset(np.arange(min(warmup_rows, len(data)))))
        started = time.perf_counter()
        predictions = self.predict(data)
        return predictions, time.perf_counter() - started

    def task_codes(self, predictions: Predictions) -> np.ndarray:
        """Predicted classes as codes into the task's full class list."""
        task_classes = classes_for_task(self.task)
        mapping = np.array([task_classes.index(c) for c in self.classes])
        return mapping[predictions.codes]

    def evaluate(self, data: Dataset, *, exclude_rows_in: Dataset | TrainRows | None = None,
                 predictions: Predictions | None = None) -> EvaluationReport:  # fmt: skip
        """Score the model on the labelled rows of ``data``.

        Where some labels name only an attack family (``DDoS``) or say only ``Attack``, every row is scored at
        that coarser task: the model's predictions grouped into families, or into benign and attack (the report's
        ``task`` says which, and a note why). With ``exclude_rows_in`` (the training set), test rows that also
        occur there (exactly, at float32 precision) are left out and counted; a :class:`TrainRows` of it does the
        same without holding its rows (:func:`train_rows`).
        """
        self.check_layout(data)
        known = data.y != UNLABELLED
        if not known.any():
            raise ModelMismatchError("the data has no labels, so it cannot be evaluated",
                                     hint="use official file names or a 'label' column")  # fmt: skip
        notes = list(data.notes)
        threshold = self.metadata.get("alarm_threshold") if self.task == 2 else None
        if threshold is not None:
            chosen = self.metadata.get("alarm_threshold_chosen_on")
            notes.append(f"{THRESHOLD_NOTE} {probability_text(threshold)} saved with the model (the default is "
                         f"0.50){f', chosen on {chosen}' if chosen else ''}: a threshold chosen on the rows scored "
                         "here flatters the score")  # fmt: skip
        if not known.all():
            notes.append(
                f"{counted(int((~known).sum()), 'row')} without a true class left out of the evaluation "
                "(predicted all the same)"
            )
        keep = known.copy()
        removed = None
        if exclude_rows_in is not None:
            dup = TrainRows.of(exclude_rows_in).contain(data.X)
            removed = int((dup & known).sum())
            keep &= ~dup
            if not keep.any():
                raise ModelMismatchError("every test row also occurs in train; nothing left to score")
        if predictions is None:  # only the classes decided are kept, not every row's probabilities
            predictions = self._decided(data)
        task = min(self.task, finest_task(data.y[keep]))  # of the rows scored, not of training copies left out
        if task < self.task:
            notes.append(coarse_labels_note(data.subset(keep) if removed else data, self.task, task))
        y_pred = coarser_map(self.task, task)[self.task_codes(predictions)[keep]]
        y_true = codes_for_task(data.y[keep], task)
        if predictions.repairs.total:
            notes.append(predictions.repairs.summary())
        return evaluate(y_true, y_pred, task=task, task_classes=classes_for_task(task),
                        duplicates_removed=removed, notes=notes)  # fmt: skip

    def _decided(self, data: Dataset) -> _Decided:
        """The classes :meth:`predict` decides for ``data`` and its repairs, without holding the probabilities of
        every row (n x classes float32: 670 MB for the full dataset at 19 classes)."""
        self.check_layout(data)
        threshold = self.metadata.get("alarm_threshold") if self.task == 2 else None
        codes = np.empty(len(data), dtype=np.int64)
        repairs = []
        for start, p, r in self._scored_chunks(data):
            codes[start : start + len(p)] = decide(self.classes, p, threshold)
            repairs.append(r)
        return _Decided(codes, RepairCounts.summed(repairs, self.preprocessor.features))

    # ------------------------------------------------------------ persistence

    def save(self, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model folder atomically: written into a temporary folder, then renamed into place
        under the name's registry lock, so that two processes saving one name never mix their files
        (the second is refused, or with ``overwrite`` replaces the first whole)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists() and not overwrite:
            raise ModelFormatError(f"a model named {folder.name!r} already exists in {folder.parent}",
                                   hint="choose another --name, or delete the old model")  # fmt: skip
        _sweep_stale(folder)
        tmp = folder.parent / _leftover_name("tmp", folder.name)
        tmp.mkdir()
        try:
            self.detector.save(tmp)
            meta = dict(self.metadata)
            meta.update(
                format_version=FORMAT_VERSION,
                name=folder.name,
                task=self.task,
                family=self.family,
                classes=self.classes,
                layout=self.layout.name,
                features=list(self.layout.features),
                preprocessing=self.preprocessor.to_dict(),
                params=self.detector.params,
                model_file=self.detector.file_name,
                saved_at=datetime.now(UTC).isoformat(timespec="seconds"),
                library_versions=library_versions(),
            )
            (tmp / METADATA_FILE).write_text(json.dumps(meta, indent=2, default=_json_default))
            trash = None
            with registry_lock(folder):
                if folder.exists():
                    if not overwrite:
                        raise ModelFormatError(
                            f"a model named {folder.name!r} was saved in {folder.parent} by another session "
                            "while this one was being written; this one was not saved",
                            hint="choose another name, or delete the other model first",
                        )
                    trash = folder.parent / _leftover_name("trash", folder.name)
                    os.rename(folder, trash)
                try:
                    os.rename(tmp, folder)
                except BaseException:
                    if trash is not None:  # put the old model back rather than lose it
                        os.rename(trash, folder)
                    raise
            if trash is not None:
                shutil.rmtree(trash, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.metadata = meta
        self.path = folder
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> TrainedModel:
        """Load a model folder written by :meth:`save`, checking its metadata first."""
        folder = Path(folder)
        with registry_lock(folder, shared=True):  # a save or delete of this name waits until it is read
            meta = read_metadata(folder)
            try:
                detector = FAMILIES[meta["family"]].load(folder, meta.get("params", {}), len(meta["classes"]))
            except (ModelFormatError, DataError, MemoryError):  # DataError: a setting, e.g. $IOMT_INFERENCE
                raise
            except Exception as exc:  # truncated or edited weights: each library fails in its own way
                raise ModelFormatError(f"{folder}: the weights in {meta.get('model_file', 'the model file')} "
                                       f"cannot be read ({type(exc).__name__}: {exc})",
                                       hint="the model folder is damaged; train the model again") from exc  # fmt: skip
        try:
            pre = Preprocessor.from_dict(meta["preprocessing"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{folder}: the preprocessing in {METADATA_FILE} is incomplete ({exc!r})",
                                   hint="the model folder was edited or is damaged; train it again") from exc  # fmt: skip
        layout = LAYOUTS[meta["layout"]]
        if list(layout.features) != list(meta["features"]) or pre.features != list(meta["features"]):
            raise ModelFormatError(f"{folder}: feature order in metadata.json does not match the {layout.name} layout",
                                   hint="the model folder was edited or is damaged; train it again")  # fmt: skip
        _check_outputs(folder, detector, len(layout.features), meta["classes"])
        model = cls(detector, pre, meta["task"], meta["classes"], layout, meta)
        model.path = folder
        return model


def _check_outputs(folder: Path, detector: Detector, n_features: int, classes: list[str]) -> None:
    """Score one row of zeros: weights that take another number of features, or give another number of
    classes than ``metadata.json`` lists, are refused at load time instead of failing mid-scoring."""
    hint = "the model folder was edited, or its files come from two models; train it again"
    try:
        shape = detector.predict_proba(np.zeros((1, n_features), dtype=np.float32)).shape
    except (ModelFormatError, MemoryError):
        raise
    except Exception as exc:
        raise ModelFormatError(f"{folder}: the weights do not fit the {n_features} features and {len(classes)} "
                               f"classes that {METADATA_FILE} lists ({type(exc).__name__}: {exc})", hint=hint) from exc  # fmt: skip
    if shape != (1, len(classes)):
        raise ModelFormatError(f"{folder}: the weights give {shape[-1]} class probabilities, {METADATA_FILE} "
                               f"lists {len(classes)} classes", hint=hint)  # fmt: skip


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, EvaluationReport):
        return obj.to_dict()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _newer(folder: Path, detail: str):
    raise NewerModelError(f"{folder.name}: saved by a newer version of this tool ({detail})",
                          hint="it is not damaged: update this installation to use it", detail=detail)  # fmt: skip


def read_metadata(folder: str | os.PathLike) -> dict:
    """Read and check a model folder's ``metadata.json`` (no weights are loaded)."""
    folder = Path(folder)
    path = folder / METADATA_FILE
    if not folder.is_dir():
        raise ModelFormatError(
            f"model folder not found: {folder}", hint="list saved models with: python -m core models"
        )
    if not path.is_file():
        hint = "list saved models with: python -m core models"
        try:  # a registry given as a model ("--model models"): the models it holds
            held = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith(".")
                          and os.path.isfile(os.path.join(e.path, METADATA_FILE)))  # fmt: skip
        except OSError:
            held = []
        if held:
            some = listed([repr(n) for n in held[:3]], "or") + (" …" if len(held) > 3 else "")
            hint = (f"it is a folder of {counted(len(held), 'saved model')} ({some}): name one, with the folder "
                    f"as the registry, e.g. --models-dir {folder} --model {held[0]}; list them with: python -m core "
                    f"models --models-dir {folder}")  # fmt: skip
        raise ModelFormatError(f"{folder} has no {METADATA_FILE}; it is not a saved model", hint=hint)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{path} is not valid JSON ({exc})", hint="train the model again") from None
    if not isinstance(meta, dict):
        raise ModelFormatError(
            f"{path} holds a JSON {type(meta).__name__}, not an object", hint="train the model again"
        )
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        _newer(folder, f"model format version {version}; this version reads {FORMAT_VERSION}")
    if version != FORMAT_VERSION:
        raise ModelFormatError(f"{folder.name}: model format version {version!r}, this tool reads {FORMAT_VERSION}",
                               hint="train the model again with this version of the tool")  # fmt: skip
    missing = [k for k in ("task", "family", "classes", "layout", "features", "preprocessing") if k not in meta]
    if missing:
        raise ModelFormatError(f"{path} lacks {missing}", hint="train the model again")
    meta["name"] = folder.name  # the folder's name is the handle (a copied or renamed folder keeps the old one)
    for problem in _metadata_problems(meta):
        raise ModelFormatError(f"{path}: {problem}", hint="the model folder was edited or is damaged; train it again")
    if meta["family"] not in FAMILIES:  # of this format: added by a newer version
        _newer(folder, f"model family {meta['family']!r}; this version knows {', '.join(sorted(FAMILIES))}")
    if meta["layout"] not in LAYOUTS:
        raise ModelFormatError(f"{folder.name}: unknown layout {meta['layout']!r}")
    unknown = [c for c in meta["classes"] if c not in classes_for_task(meta["task"])]
    if unknown:
        raise ModelFormatError(f"{folder.name}: classes {unknown} are not in the {meta['task']}-class taxonomy")
    return meta


def _metadata_problems(meta: dict) -> Iterator[str]:
    """What in a metadata dict is of the wrong type for loading, listing or showing it (first problem first)."""
    if meta["task"] not in (2, 6, 19) or isinstance(meta["task"], bool):
        yield f"task is {meta['task']!r}, not 2, 6 or 19"
    for key in ("family", "layout"):
        if not isinstance(meta[key], str):
            yield f"{key} is {meta[key]!r}, not a name"
    for key in ("classes", "features"):
        value = meta[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            yield f"{key} is not a list of names"
    if len(set(meta["classes"])) != len(meta["classes"]):
        yield "classes are listed twice"
    elif meta["task"] in (2, 6, 19) and not isinstance(meta["task"], bool) and isinstance(meta["classes"], list):
        # The classes present in training, in the taxonomy's order: the order of the weights' outputs. Another
        # order (a list edited by hand) would name every prediction wrongly, without an error.
        task_classes = classes_for_task(meta["task"])
        known = [task_classes.index(c) for c in meta["classes"] if c in task_classes]
        if len(known) == len(meta["classes"]) and known != sorted(known):
            yield (f"classes are not in the order of the {meta['task']}-class taxonomy "
                   f"({', '.join(task_classes[i] for i in sorted(known))})")  # fmt: skip
    if meta.get("alarm_threshold") is not None:
        value = meta["alarm_threshold"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            yield f"alarm_threshold is {value!r}, not a number above 0 and at most 1 (or null for the default, 0.5)"
    if not isinstance(meta["preprocessing"], dict):
        yield "preprocessing is not an object"
    for key in ("name", "saved_at", "created_at", "description"):
        if key in meta and not isinstance(meta[key], str):
            yield f"{key} is {meta[key]!r}, not text"
    for key in ("params", "data", "timing"):
        if key in meta and not isinstance(meta[key], dict):
            yield f"{key} is not an object"
    metrics = meta.get("metrics", {})
    if not isinstance(metrics, dict):
        yield "metrics is not an object"
        return
    for split, report in metrics.items():
        if report is None:
            continue
        if not isinstance(report, dict):
            yield f"metrics.{split} is not an object"
            continue
        for key in ("macro_f1", "weighted_f1", "accuracy"):
            value = report.get(key)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                yield f"metrics.{split}.{key} is {value!r}, not a number"
            elif not 0 <= value <= 1:  # NaN too: shown as "nan" and sorted anywhere among the others' scores
                yield f"metrics.{split}.{key} is {value!r}, not a score from 0 to 1"


def scoring_notes(report: EvaluationReport) -> list[str]:
    """The report's notes on how it was scored otherwise than at the model's task at 0.5: a saved alarm threshold,
    or a coarser task where labels say less (pages that choose which notes to show keep these: such a model is not
    scored like the others)."""
    return [n for n in report.notes if n.startswith((THRESHOLD_NOTE, COARSER_NOTE))]


# ---------------------------------------------------------------- registry


def scored_at(meta: dict) -> int | None:
    """The task a saved model's test scores were measured at where it is coarser than the model's own (its test
    labels named only attack families, or said only Attack: :meth:`TrainedModel.evaluate`), else None."""
    test = (meta.get("metrics") or {}).get("test") or {}
    task = test.get("task")
    return task if isinstance(task, int) and not isinstance(task, bool) and task < int(meta["task"]) else None


def scored_classes(meta: dict) -> tuple[int, int] | None:
    """``(classes scored, classes of the task)`` where a saved model's test rows held only some of the task's
    classes (the real v1 sample has 8 of the 19), its macro-F1 being over those alone; None where they held every
    class, or it has no test scores."""
    test = (meta.get("metrics") or {}).get("test") or {}
    absent = test.get("absent_classes") or []
    if not test or not absent:
        return None
    task = scored_at(meta) or int(meta["task"])
    return task - len(absent), task


def test_set_of(meta: dict) -> str | None:
    """Which rows a saved model's test scores were measured on, as a key: models with equal keys were scored on the
    same rows, and only their scores rank against each other (None: no test scores).

    The fingerprint of the test rows and the number scored (fewer when rows also in train were left out). A model
    saved before the fingerprint was recorded is known by its data folder, layout and the number of rows scored.
    """
    test = (meta.get("metrics") or {}).get("test")
    if not test:
        return None
    data = meta.get("data") or {}
    rows = test.get("n_rows")
    if data.get("test_fingerprint_sha256"):
        return f"{data['test_fingerprint_sha256']}:{rows}"
    return f"{data.get('description')}:{meta.get('layout')}:{rows}"


def default_models_dir() -> Path:
    """``$IOMT_MODELS_DIR``, else ``models/`` at the project root."""
    env = os.environ.get("IOMT_MODELS_DIR")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models"


def list_models(models_dir: str | os.PathLike | None = None) -> list[dict]:
    """Metadata of every saved model (newest first); damaged folders are listed with their error.

    A damaged folder's entry is ``{"name", "path", "error", "hint", "deletable", "newer"}``: ``deletable`` is False
    where the folder holds something besides a model's files, which :func:`delete_model` refuses to remove;
    ``newer`` says what is newer in a model saved by a newer version of the tool (:class:`NewerModelError`; not
    damaged), else None. A folder that holds no model file at all (an ``archive/`` of model folders, a ``data/``
    folder of CSVs) is not a model, damaged or not, and is not listed. The temporary and trash folders of saves and deletes killed midway are removed
    (:func:`sweep_leftovers`).
    """
    root = Path(models_dir) if models_dir else default_models_dir()
    out = []
    if not root.is_dir():
        return out
    sweep_leftovers(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            meta = read_metadata(folder)
            missing = [f for f in FAMILIES[meta["family"]].required_files() if not (folder / f).is_file()]
            if missing:
                raise ModelFormatError(f"model file missing: {', '.join(str(folder / f) for f in missing)}")
            meta["path"] = str(folder)
            meta["size_bytes"] = _tree_size(folder)
        except ModelFormatError as exc:
            if not folder.exists():  # deleted by another session while listing
                continue
            try:
                contents = model_folder_contents(folder)
            except OSError:  # unreadable: listed as damaged, not offered for deleting
                contents = FolderContents(model_files=1, others=["(unreadable)"])
            if contents.others and not contents.model_files:
                continue  # not a model folder at all
            meta = {
                "name": folder.name,
                "path": str(folder),
                "error": str(exc),
                "hint": exc.hint,
                "deletable": not contents.others,
                "newer": exc.detail if isinstance(exc, NewerModelError) else None,
            }
        except FileNotFoundError:  # deleted (or replaced) by another session while listing
            continue
        out.append(meta)
    out.sort(key=lambda m: m.get("saved_at", ""), reverse=True)
    return out


def _tree_size(folder: Path) -> int:
    """Bytes of every file in ``folder`` and its subfolders (a cnn-rf model's ``cnn/`` and ``rf/``), links not
    followed."""
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:  # removed meanwhile
                pass
    return total


#: The files a model folder holds (besides the temporary files of an interrupted write, ``.NAME.*.tmp``), and the
#: subfolders of the families saved in parts (cnn-rf's ``cnn/`` and ``rf/``), which hold such files only.
MODEL_FILES = frozenset(
    {METADATA_FILE, EXPORT_FILE, *(Path(f).name for c in FAMILIES.values() for f in c.required_files())}
)
PART_FOLDERS = frozenset(
    Path(f).parts[0] for c in FAMILIES.values() for f in c.required_files() if len(Path(f).parts) > 1
)
_TMP_FILE_RE = re.compile(r"^\.(?:" + "|".join(re.escape(f) for f in sorted(MODEL_FILES)) + r")\..+\.tmp$")


@dataclass
class FolderContents:
    """What a folder holds, as a model folder: how many model files, and anything else (paths in the registry)."""

    model_files: int = 0
    others: list[str] | None = None


def model_folder_contents(folder: Path) -> FolderContents:
    """Count the model files in ``folder`` (and its part folders) and name everything else it holds, as
    ``NAME/path`` (a folder with a trailing ``/``; links count as other things, never followed)."""
    found = FolderContents(others=[])

    def look(where: Path, prefix: str, top: bool) -> None:
        for entry in sorted(os.scandir(where), key=lambda e: e.name):
            rel = f"{prefix}/{entry.name}"
            if entry.is_symlink():
                found.others.append(rel)
            elif entry.is_dir():
                if top and entry.name in PART_FOLDERS:
                    look(Path(entry.path), rel, False)
                else:
                    found.others.append(rel + "/")
            elif entry.is_file() and (entry.name in MODEL_FILES or _TMP_FILE_RE.match(entry.name)):
                found.model_files += 1
            else:
                found.others.append(rel)

    look(folder, folder.name, True)
    return found


#: What a model name may be: a plain folder name in the registry (no path, no leading dot, no spaces).
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


def check_model_name(name: str) -> str:
    """``name`` if it can name a model folder in the registry, else a CoreError saying what is allowed.

    A path (``../x``, ``a/b``) would save outside the registry or where ``models`` does not look, a leading dot
    hides the folder from the list, and blanks or other characters make names that are hard to type back."""
    if not MODEL_NAME_RE.match(name):
        raise CoreError(f"the model name {name!r} cannot be used as a folder name in the registry",
                        hint="use letters, digits, '-', '_' and '.', starting with a letter or digit (at most 80 "
                        "characters)")  # fmt: skip
    return name


def writable_registry(models_dir: str | os.PathLike | None) -> Path:
    """The registry folder a new model is saved in, made now: a file in its place, or a folder that cannot be made,
    is said before the fit rather than as a traceback after it."""
    registry = Path(models_dir) if models_dir else default_models_dir()
    if registry.exists() and not registry.is_dir():
        raise CoreError(f"the model registry {registry} is a file, not a folder",
                        hint="give --models-dir (or $IOMT_MODELS_DIR) a folder")  # fmt: skip
    try:
        registry.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CoreError(f"the model registry {registry} could not be made: {exc.strerror or exc}",
                        hint="give --models-dir (or $IOMT_MODELS_DIR) a folder you can write to") from None  # fmt: skip
    sweep_leftovers(registry)
    return registry


def new_model_folder(models_dir: str | os.PathLike | None, name: str) -> Path:
    """The registry folder a new model named ``name`` would get: refused now if the name cannot be a folder name
    or is taken, or the registry cannot hold it, rather than after the fit (saving checks again, under the name's
    lock)."""
    check_model_name(name)
    folder = writable_registry(models_dir) / name
    if folder.exists() or folder.is_symlink():
        raise ModelFormatError(f"a model named {name!r} already exists in {folder.parent}",
                               hint="choose another name, or delete the old model")  # fmt: skip
    return folder


def resolve_model_path(name_or_path: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Path:
    """A model name looked up in the registry, else a model folder's path as given.

    A plain name (no folder in it) found in the registry is the registry's model even when the current folder
    holds a folder of that name (``docs``, ``models``): the registry is what ``models`` lists and ``--models-dir``
    names. A path (``./name``, ``models/name``, an absolute one) is taken as given."""
    text = str(name_or_path)
    registry = Path(models_dir) if models_dir else default_models_dir()
    listing = "list saved models with: python -m core models"
    if not text.strip():  # was the current folder: "./ has no metadata.json"
        raise ModelFormatError("no model given", hint=f"give a saved model's name or a model folder; {listing}")
    # The name as a shell's completion leaves it ("cnn-6class/"), else a plain name
    name = text.rstrip(os.sep + (os.altsep or "")) or text
    plain = os.sep not in name and (os.altsep is None or os.altsep not in name) and name not in (".", "..")
    if plain and (registry / name).is_dir():
        return registry / name
    p = Path(name_or_path)
    if p.is_dir():
        return p
    hint = listing
    if plain:  # a near miss ("demo-lr-19" for "demo-lr-19class"): the names it may have meant
        import difflib

        try:
            names = [e.name for e in os.scandir(registry) if e.is_dir() and not e.name.startswith(".")]
        except OSError:
            names = []
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        close += [n for n in sorted(names) if n.startswith(name) and n not in close][: 3 - len(close)]
        if close:
            hint = f"did you mean {listed([repr(n) for n in close], 'or')}? {hint}"
    raise ModelFormatError(f"no model at {text!r}" + (f" (nor in {registry})" if plain else ""), hint=hint)


def delete_model(name_or_path: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Path:
    """Delete a saved model folder (checked to be a model first; a damaged one only inside the registry, where
    ``models`` lists it as damaged). A model that is a symbolic link loses the link, not what it points to."""
    folder = resolve_model_path(name_or_path, models_dir)
    damaged = False
    try:
        read_metadata(folder)
    except ModelFormatError:
        registry = Path(models_dir) if models_dir else default_models_dir()
        inside = registry.is_dir() and os.path.samefile(os.path.dirname(os.path.abspath(folder)), registry)
        if not inside or folder.name.startswith("."):
            raise
        damaged = True
    trash = folder.parent / _leftover_name("trash", folder.name)
    with registry_lock(folder):  # waits while another session is loading it
        if damaged:  # checked under the lock: what is removed is what was looked at
            _refuse_unless_model_files_only(folder)
        try:
            os.rename(folder, trash)
        except FileNotFoundError:
            raise ModelFormatError(f"the model {folder.name!r} was already deleted (by another session)",
                                   hint="refresh the list of models") from None  # fmt: skip
    if trash.is_symlink():
        trash.unlink()
    else:
        shutil.rmtree(trash, ignore_errors=True)
    return Path(os.path.abspath(folder))


def _refuse_unless_model_files_only(folder: Path) -> None:
    """A folder without readable metadata is deleted only if it holds nothing but a model's files: an ``archive/``
    of model folders or a ``data/`` folder of CSVs in the registry is not a damaged model."""
    try:
        contents = model_folder_contents(folder)
    except FileNotFoundError:
        return  # gone: the rename says so
    except OSError as exc:
        raise CoreError(f"{folder} cannot be looked into ({exc.strerror or exc}); nothing was deleted",
                        hint="check the folder's permissions, or delete it yourself") from None  # fmt: skip
    if contents.others:
        shown = ", ".join(contents.others[:6]) + (
            f" and {len(contents.others) - 6} more" if len(contents.others) > 6 else ""
        )
        raise CoreError(f"{folder} has no readable {METADATA_FILE} and holds other folders/files: {shown}; not a model "
                        "folder: delete it yourself if you mean to",
                        hint="nothing was deleted; if it is a damaged model, move the other files out of it and "
                        "delete it again")  # fmt: skip


# ---------------------------------------------------------------- registry locks


def _lock_file(folder: Path, kind: str) -> Path | None:
    """The lock file of one model name: ``$IOMT_LOCK_DIR`` (default: the system's temporary folder)
    ``/iomt-registry-locks/HASH-OF-REGISTRY/NAME.KIND.lock``, kept out of the registry folder itself
    (which may be read-only, and stays free of anything but models). None where it cannot be made."""
    import hashlib
    import tempfile

    registry = str(folder.parent.resolve())
    base = Path(os.environ.get("IOMT_LOCK_DIR") or Path(tempfile.gettempdir()) / "iomt-registry-locks")
    locks = base / hashlib.sha256(registry.encode()).hexdigest()[:16]
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return locks / f"{folder.name}.{kind}.lock"


@contextmanager
def registry_lock(folder: str | os.PathLike, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock of one model name: exclusive to rename or delete the folder, shared to read it.

    An advisory ``flock`` on a lock file (see :func:`_lock_file`): it works across processes and sessions
    on one machine and is released by the kernel if the process dies. Where no lock file can be made,
    the registry is used without a lock.
    """
    path = _lock_file(Path(folder), "save")
    if path is None:
        yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # e.g. a lock file left by another account
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class TrainingLock:
    """Held while a model name is being trained: a second training run of that name is refused.

    Works across processes (dashboard sessions, command line) through ``flock`` on the name's
    ``.train.lock`` file, and within one process too (each lock opens its own file).
    """

    def __init__(self, models_dir: str | os.PathLike, name: str):
        self.path = _lock_file(Path(models_dir) / name, "train")
        self.name = name
        self.models_dir = Path(models_dir)
        self._fd: int | None = None

    def acquire(self) -> TrainingLock:
        if self.path is None:
            raise CoreError(f"cannot write to the model registry {self.models_dir}", hint="check its permissions")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # e.g. a lock file or folder another account on this machine made
            raise CoreError(f"cannot open the lock that keeps two trainings of {self.name!r} apart, {self.path}: "
                            f"{exc.strerror or exc}", hint="set IOMT_LOCK_DIR to a folder this account can write "
                            "(the lock files of every account training into one registry must be in the same "
                            "folder), or have the file removed") from None  # fmt: skip
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise CoreError(f"a model named {self.name!r} is being trained right now (in another session "
                                "or process)", hint="wait for it to finish, or choose another name") from None  # fmt: skip
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> TrainingLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def pid_alive(pid: int) -> bool:
    """Whether a process of this number runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: A save's temporary folder, or the trash folder of a replaced or deleted model: ``.tmp-NAME-PID-ID@HOST`` (the
#: host's name after ``@``, which no model name holds; older versions wrote none).
_LEFTOVER_RE = re.compile(r"^\.(?:tmp|trash)-(?P<name>.+)-(?P<pid>\d+)-(?P<id>[0-9a-f]{8})(?:@(?P<host>.+))?$")
#: Seconds after which a leftover without a host's name, whose process number runs on no process here, is removed:
#: on a registry shared between machines it may be another machine's save under way, and no save takes this long.
LEGACY_LEFTOVER_AGE = 6 * 3600.0


def _leftover_name(kind: str, name: str) -> str:
    """The name of a save's temporary folder (``kind`` "tmp") or a trash folder ("trash") of the model ``name``."""
    return f".{kind}-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"


def _is_stale(entry: Path, now: float) -> bool:
    """Whether ``entry`` is a leftover of a save or delete whose process is gone: one of this machine whose process
    is not running, or one without a host's name, not running here and untouched for LEGACY_LEFTOVER_AGE."""
    m = _LEFTOVER_RE.match(entry.name)
    if not m:
        return False
    if m["host"] is not None and m["host"] != socket.gethostname():
        return False  # another machine's: whether its process runs cannot be known here
    if pid_alive(int(m["pid"])):
        return False
    if m["host"] is None:
        try:
            return now - entry.lstat().st_mtime > LEGACY_LEFTOVER_AGE
        except OSError:
            return False
    return True


def sweep_leftovers(registry: str | os.PathLike) -> list[Path]:
    """Remove the temporary and trash folders, of every name, left in ``registry`` by saves and deletes killed
    midway (SIGKILL, SIGTERM, a crash), which would otherwise stay forever; never one whose process runs.
    Best effort (a read-only registry keeps them). Returns what was removed."""
    now, removed = time.time(), []
    try:
        leftovers = [p for p in Path(registry).iterdir() if p.name.startswith((".tmp-", ".trash-"))]
    except OSError:
        return removed
    for p in leftovers:
        if not _is_stale(p, now):
            continue
        try:
            if p.is_symlink():  # a deleted model that was a link: the link only, never what it points to
                p.unlink()
            else:
                shutil.rmtree(p)
        except FileNotFoundError:  # removed by another session meanwhile
            pass
        except OSError:
            continue
        removed.append(p)
    return removed


def _sweep_stale(folder: Path) -> None:
    """Remove the leftovers of killed saves and deletes in ``folder``'s registry (of every name)."""
    sweep_leftovers(folder.parent)


def fingerprint(data: Dataset) -> str:
    """SHA-256 of the feature bytes and labels (identifies the exact training rows)."""
    import hashlib

    h = hashlib.sha256()
    _hash_rows(h, data.X)
    h.update(np.ascontiguousarray(data.y).tobytes())
    return h.hexdigest()


def _hash_rows(h, X: np.ndarray) -> None:
    """Feed the bytes of the rows ``X`` to the hash ``h``, 64 MB at a time (:func:`fingerprint`)."""
    view = memoryview(np.ascontiguousarray(X)).cast("B")
    for start in range(0, len(view), 1 << 26):
        h.update(view[start : start + (1 << 26)])


@dataclass(frozen=True)
class TrainRows:
    """Training rows as duplicate handling needs them: each row's 128-bit hash (:func:`core.loading.row_hashes`) and
    label, in order, 17 bytes a row instead of the row (180 bytes at 45 features: the 7.2 M training rows of the
    full dataset take 120 MB so, not 1.3 GB).

    One is hashed once and serves both uses, :meth:`TrainedModel.evaluate`'s ``exclude_rows_in`` and
    :func:`core.compare.overlap_notes`; :func:`train_rows` makes one file by file, never holding every row.

    Attributes
    ----------
    hashes : ndarray of shape (n_rows, 2), uint64
    y : ndarray of shape (n_rows,), int8
        As :attr:`core.loading.Dataset.y`.
    fingerprint : str or None
        :func:`fingerprint` of the rows, where it was taken.
    """

    hashes: np.ndarray
    y: np.ndarray
    fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def of(cls, data: Dataset | TrainRows) -> TrainRows:
        """The rows of ``data`` hashed (a TrainRows as it is)."""
        return data if isinstance(data, TrainRows) else cls(row_hashes(data.X), np.asarray(data.y))

    def contain(self, X: np.ndarray, *, hashes: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of the rows of ``X`` (or of their ``hashes``) that also occur here, exactly at float32.

        Each half of the hash is looked up alone, as ``np.isin`` did (:func:`core.loading.rows_also_in`): the same
        rows, found in the sorted halves, which are made once and kept."""
        h = row_hashes(X) if hashes is None else hashes
        return _sorted_in(h[:, 0], self._sorted(0)) & _sorted_in(h[:, 1], self._sorted(1))

    def _sorted(self, half: int) -> np.ndarray:
        key = f"_sorted{half}"
        if key not in self.__dict__:
            object.__setattr__(self, key, np.unique(self.hashes[:, half]))
        return self.__dict__[key]


def _sorted_in(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """``np.isin(values, sorted_unique)`` for sorted unique uint64 values, without sorting them again."""
    if not len(sorted_unique):
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_unique, values)
    at[at == len(sorted_unique)] = 0
    return sorted_unique[at] == values


def train_rows(data_dir: str | os.PathLike, *, layout: Layout | None = None, progress=None) -> TrainRows:
    """The rows of ``DIR/train`` hashed file by file (:class:`TrainRows`, with their :func:`fingerprint`).

    The same rows, hashes and fingerprint as :func:`core.loading.load_split` then :meth:`TrainRows.of` give, but
    only one file's rows are held at a time, not the split (``evaluate --drop-train-duplicates`` on 2.75 M demo
    rows peaked at 1.06 GB so). Where a file cannot be read, or the files are of two releases, the split is read
    as :func:`core.loading.load_split` reads it, so that every file's error is said together, as before.
    """
    import hashlib

    files = split_files(data_dir, "train")
    fp = hashlib.sha256()
    hashes, labels = [], []
    first_layout = None
    try:
        for i, path in enumerate(files):
            part = read_files([path], require_labels=True, layout=layout)
            if first_layout is None:
                first_layout = part.layout
            elif part.layout != first_layout:  # a mix of releases: said as the whole split's reading says it
                raise DataError("a mix of releases")
            X = np.ascontiguousarray(part.X, dtype=np.float32)
            _hash_rows(fp, X)
            hashes.append(row_hashes(X))
            labels.append(np.asarray(part.y))
            del part, X
            if progress:
                progress(i + 1, len(files), path.name)
    except DataError:
        data = read_files(files, require_labels=True, layout=layout)  # raises every file's error together
        return TrainRows(row_hashes(data.X), np.asarray(data.y), fingerprint(data))
    y = np.concatenate(labels)
    fp.update(np.ascontiguousarray(y).tobytes())
    return TrainRows(np.concatenate(hashes), y, fp.hexdigest())


def coarse_labels_note(data: Dataset, task: int, measured_at: int) -> str:
    """Why a ``task`` model was scored at the coarser ``measured_at`` task: how many labels say no more, and the
    first of them (those that say less than the next finer task: for 2 classes, the labels saying only Attack, not
    the family labels, which say more)."""
    rows, name, row, label = data.too_coarse(6 if measured_at == 2 else task)
    what = "their attack family" if measured_at == 6 else "that they are attacks"
    grouped = "into attack families" if measured_at == 6 else "into benign and attack"
    return (
        f"{COARSER_NOTE} {measured_at} classes, not {task}: {counted(rows, 'labelled row')} say only {what} (the "
        f"first: {data.where(name, row)}, label {label!r}), so the model's predictions are grouped {grouped} for "
        "every row"
    )


def class_counts_for_task(data: Dataset, task: int) -> dict[str, int]:
    """Rows per task class in ``data`` (rows whose label says their class in ``task``)."""
    names = classes_for_task(task)
    codes = codes_for_task(data.y[known_for_task(data.y, task)], task)
    counts = np.bincount(codes, minlength=len(names))
    return {names[i]: int(c) for i, c in enumerate(counts) if c}
