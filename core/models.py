"""Model families behind one interface, in the spirit of scikit-learn.

Every family takes preprocessed float32 rows and integer class codes ``0..k-1``:

- constructors only store parameters;
- ``fit(X, y, n_classes=k, X_val=None, y_val=None, progress=None)`` returns ``self``;
- ``predict_proba(X)`` returns an (n, k) float32 array;
- ``save(folder)`` writes the weights in a format that runs no code when loaded
  (Keras ``.keras`` loaded in safe mode; scikit-learn models through ``skops.io`` with
  an explicit list of trusted types), and ``load(folder, params)`` reads them back.

Families: ``cnn`` (our improved network), ``cnn-rf`` (it and a random forest averaged), ``paper-cnn`` (the
paper's exact network), ``dnn``, ``lr``, ``adaboost``, ``rf``, and ``gbt`` (gradient-boosted trees, a
stronger baseline than the paper's).
TensorFlow is imported only when a Keras family is trained: a saved network also carries a numpy
export (``inference.npz``, :mod:`core.inference`) that scores it without TensorFlow.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import CoreError, DataError, ModelFormatError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: progress(stage, fraction, message, metrics) where fraction is 0..1 of the fit.
FitProgress = Callable[[str, float, str, dict], None]
#: Key set in the metrics of a fit's progress report that counts no steps, only the time taken (logistic
#: regression's solver): no time left can be estimated while it runs.
UNPACED = "unpaced"

#: The only non-default types a scikit-learn model file may contain.
TRUSTED_SKOPS_TYPES = frozenset(
    {"sklearn.tree._tree.Tree", "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"}
)

PREDICT_BATCH = 8192


def _quiet(progress: FitProgress | None) -> FitProgress:
    return progress or (lambda stage, fraction, message, metrics: None)


class Detector(ABC):
    """A classifier over preprocessed rows. Subclasses set ``family`` and ``file_name``."""

    family: str = ""
    #: A short name for people (menus, legends): "Improved CNN" for ``cnn``.
    title: str = ""
    file_name: str = ""
    description: str = ""
    uses_epochs: bool = False

    def __init__(self, **params):
        self.params = {**self.default_params(), **params}

    @classmethod
    def default_params(cls) -> dict:
        return {}

    @abstractmethod
    def fit(self, X, y, *, n_classes: int, X_val=None, y_val=None, progress: FitProgress | None = None) -> Detector:
        """Fit on rows ``X`` (n, f) and codes ``y`` (n,) in ``0..n_classes-1``."""

    @abstractmethod
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), float32."""

    def prepare_scoring(self) -> None:
        """Make the fitted model score as it will once saved and loaded (nothing to do for most families)."""
        return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class code per row, shape (n,)."""
        return np.argmax(self.predict_proba(X), axis=1)

    def refit_params(self) -> dict:
        """Parameters for fitting this family again on every training row, as this validated fit decided them
        (``core.training.train_model``'s refit): nothing for most families."""
        return {}

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the fitted weights into ``folder / self.file_name``."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, params: dict, n_classes: int) -> Detector:
        """Read weights written by :meth:`save`."""

    @classmethod
    def required_files(cls) -> tuple[str, ...]:
        """The files (paths inside the model folder) that :meth:`save` writes and :meth:`load` needs."""
        return (cls.file_name,)

    def _check_fitted(self):
        if not getattr(self, "fitted_", False):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")


# ---------------------------------------------------------------- Keras families


#: Alignment TensorFlow requires of memory it shares instead of copying.
TF_ALIGNMENT = 64


def shared_with_tensorflow(X: np.ndarray):
    """``X`` for Keras's ``fit``, shared with TensorFlow instead of copied where it can be.

    Keras turns the arrays it is given into TensorFlow tensors: a copy of the training rows, which peaks at
    twice their size while it is made (275 MB of rows: 578 MB more; ``docs/full-dataset-protocol.md``). A
    writeable float32 C-ordered array in 64-byte aligned memory (a large one from
    :func:`core.loading.new_matrix` is page-aligned) is handed over through DLPack instead: the same values, so
    the same batches and the same weights, without the copy. Anything else is returned as it is, for Keras to
    convert as before; the alignment check is not optional (TensorFlow aborts the process on unaligned memory).
    """
    import keras

    if (keras.backend.backend() != "tensorflow" or X.dtype != np.float32 or not X.flags.c_contiguous
            or not X.flags.writeable or X.size == 0 or X.ctypes.data % TF_ALIGNMENT):  # fmt: skip
        return X
    import tensorflow as tf

    return tf.experimental.dlpack.from_dlpack(X.__dlpack__())


def reshuffled_batches(X, y: np.ndarray, batch_size: int, seed: int):
    """Batches of the rows ``X`` (an array or tensor) and targets ``y`` for Keras's ``fit``, without end: epoch after
    epoch, each a new permutation of the rows drawn from ``seed`` and the epoch's number (the same for the same seed,
    whatever else ran before), in full batches and the remainder last.

    One iterator serves the whole fit (``fit(..., steps_per_epoch=...)``): Keras's own shuffling makes a new input
    pipeline for each epoch, and with a fixed seed it gives the same permutation every time.
    """
    import tensorflow as tf

    n = len(y)
    full = n // batch_size

    def epoch(number):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), number])
        )
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[: full * batch_size], [full, batch_size]))
        if n > full * batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size :]))
        return batches

    rows = tf.data.Dataset.from_tensors((tf.convert_to_tensor(X), tf.convert_to_tensor(y))).repeat()
    batches = tf.data.Dataset.counter().flat_map(epoch)
    data = tf.data.Dataset.zip((batches, rows)).map(
        lambda i, xy: (tf.gather(xy[0], i), tf.gather(xy[1], i)), num_parallel_calls=tf.data.AUTOTUNE
    )
    return data.prefetch(2)


def steps_per_execution(value, batch_size: int) -> int:
    """Training steps per call into TensorFlow: ``"auto"`` (about 4,096 rows per call, at most 128 steps) or a number."""
    if value in (None, "auto"):
        return max(1, min(128, 4096 // max(1, batch_size)))
    try:
        spe = int(value)
    except (TypeError, ValueError):
        spe = 0
    if spe < 1:
        raise ValueError(f"steps_per_execution must be 'auto' or a whole number >= 1, got {value!r}")
    return spe


def _layer_namer():
    """Names for one network's layers, counted per network rather than by Keras's global counters.

    Streamlit clears Keras's session after every script run (``_clean_problem_modules``), from its own thread;
    that resets Keras's name counters for every thread at once, so a network being built in the dashboard's
    training thread at that moment could get two layers of one name ("The name "concatenate" is used 2 times
    in the model", seen once when training a cnn from the Train page) and fail.
    """
    counts: dict[str, int] = {}

    def name(kind: str) -> str:
        counts[kind] = counts.get(kind, 0) + 1
        return f"{kind}_{counts[kind]}"

    return name


def keras_forced() -> bool:
    """Whether ``$IOMT_INFERENCE`` asks for scoring through Keras (``keras``) rather than the numpy engine (unset,
    ``numpy``); any other value is one error naming the variable (``kears`` scored with numpy without a word)."""
    value = os.environ.get("IOMT_INFERENCE", "").strip()
    if value.lower() in ("", "numpy"):
        return False
    if value.lower() == "keras":
        return True
    raise DataError(f"$IOMT_INFERENCE must be 'keras' or 'numpy', not {value!r}",
                    hint="unset it to score with the numpy engine, the default")  # fmt: skip


class KerasDetector(Detector):
    """Shared training loop for the Keras networks.

    Scoring runs on :mod:`core.inference` (numpy, no TensorFlow) when the network has been
    exported, which :meth:`save` does and :meth:`load` does for folders saved before the export
    existed; otherwise, and while training, through Keras. ``model_`` is the ``keras.Model``
    (read from disk on first use after :meth:`load`). ``IOMT_INFERENCE=keras`` forces Keras.
    """

    file_name = "model.keras"
    uses_epochs = True
    _keras_model = None
    _keras_path: Path | None = None
    #: The numpy forward pass (``core.inference.NumpyNetwork``), or None to score through Keras.
    engine_ = None

    #: ``(device, inode, size, mtime)`` of ``model.keras`` when :meth:`load` read the folder: with no export to
    #: know its weights by (``engine_.source``), how a network read later is known to be the same file.
    _keras_stamp: tuple | None = None

    @property
    def model_(self):
        """The ``keras.Model`` (loaded lazily, so that scoring alone never imports TensorFlow)."""
        if self._keras_model is None and self._keras_path is not None:
            self._keras_model = self._read_network()
        if self._keras_model is None:
            raise AttributeError(f"{type(self).__name__} has no network yet; call fit() or load()")
        return self._keras_model

    def _read_network(self):
        """The network of ``model.keras``, read now, long after :meth:`load` perhaps (an explanation's gradients): the
        very weights the model was loaded with, or a ModelFormatError if the folder was replaced or deleted since
        (another session saving or deleting the name). The bytes are checked against the export's SHA-256 (else the
        file's identity at load) and the network is read from those same bytes, so that no swap can come between."""
        import hashlib
        import tempfile

        import keras

        path = self._keras_path
        hint = "load it again (another session saved or deleted a model of this name)"
        try:
            with open(path, "rb") as f:
                stamp = _file_stamp(os.fstat(f.fileno()))
                data = f.read()
        except FileNotFoundError:
            raise ModelFormatError(f"{path.parent}: the model was replaced or deleted since it was loaded "
                                   f"({path.name} is gone)", hint=hint) from None  # fmt: skip
        except OSError as exc:
            raise ModelFormatError(f"{path} cannot be read ({exc.strerror or exc})",
                                   hint="check the model folder's permissions") from None  # fmt: skip
        source = getattr(self.engine_, "source", None)
        changed = hashlib.sha256(data).hexdigest() != source if source else (
            self._keras_stamp is not None and stamp != self._keras_stamp)  # fmt: skip
        if changed:
            raise ModelFormatError(f"{path.parent}: the model was replaced or deleted since it was loaded ({path.name} "
                                   "now holds other weights than those it was loaded with)", hint=hint)  # fmt: skip
        try:
            with tempfile.TemporaryDirectory(prefix="iomt-network-") as tmp:
                copy = Path(tmp) / self.file_name
                copy.write_bytes(data)
                return keras.saving.load_model(copy, compile=False, safe_mode=True)
        except Exception as exc:  # a truncated or edited file fails in zipfile, h5py or Keras itself
            raise ModelFormatError(f"{path} cannot be read ({type(exc).__name__}: {exc})",
                                   hint="the model folder is damaged; train the model again") from exc  # fmt: skip

    @model_.setter
    def model_(self, model) -> None:
        self._keras_model = model
        self.engine_ = None  # new weights: any export is stale

    @classmethod
    def default_params(cls) -> dict:
        return {
            "epochs": 10,
            "batch_size": 32,
            "learning_rate": 1e-3,
            "seed": 0,
            "early_stopping": False,
            "patience": 3,
            "class_weight": False,
            "label_smoothing": 0.0,
            "lr_schedule": "constant",
            # Training steps per call into TensorFlow. The same updates in the same order (the weights
            # come out identical), without Python between every batch: "auto" runs about 4,096 rows per
            # call (128 steps at batch 32), 1.6-1.8x faster at batch 32 on 2 cores (bench/RESULTS.md); 1 is
            # Keras's default, the paper's pipeline.
            "steps_per_execution": "auto",
            # The order of the training rows in each epoch. "keras": Keras's own shuffling, which, with the seed
            # fixed (as here, for reproducible fits), gives the same order in every epoch, and reads each epoch
            # through a new input pipeline (epochs then run at two speeds, one about half the other, on 2 cores).
            # "reshuffled": a new permutation each epoch (from the seed and the epoch), read through one pipeline
            # for the whole fit; an epoch is then a whole number of calls into TensorFlow, so up to one batch per
            # call more than the rows (bench/RESULTS.md, docs/experiments.md).
            "epoch_order": "keras",
        }

    @abstractmethod
    def build(self, n_features: int, n_classes: int):
        """Return an uncompiled ``keras.Model``."""

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)

    def fit(self, X, y, *, n_classes, X_val=None, y_val=None, progress=None):
        progress = _quiet(progress)
        # Importing TensorFlow and building the network take 5 to 15 s, under "fitting preprocessing" before this
        # said what was going on. Not a fitting stage: the time left is paced from the first batch.
        progress("build", 0.0, "starting TensorFlow and building the network", {})
        import keras

        p = self.params
        keras.utils.set_random_seed(int(p["seed"]))
        self.n_classes_ = n_classes
        self.model_ = self.build(X.shape[1], n_classes)
        epochs = int(p["epochs"])
        steps = int(np.ceil(len(X) / int(p["batch_size"])))
        spe = min(steps, steps_per_execution(p.get("steps_per_execution", "auto"), int(p["batch_size"])))
        reshuffled = p.get("epoch_order", "keras") == "reshuffled"
        if reshuffled:  # one pipeline for the whole fit: each epoch a whole number of calls of (nearly) spe steps
            calls = -(-steps // spe)
            spe = -(-steps // calls)
            steps = calls * spe
        smoothing = float(p.get("label_smoothing", 0.0))
        learning_rate = float(p["learning_rate"])
        if p.get("lr_schedule") == "cosine":
            learning_rate = keras.optimizers.schedules.CosineDecay(
                learning_rate, decay_steps=epochs * steps, alpha=0.05
            )
        self.model_.compile(
            steps_per_execution=spe,
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            # Categorical cross-entropy; on integer labels unless label smoothing needs one-hot targets.
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
            if smoothing
            else "sparse_categorical_crossentropy",
            metrics=["categorical_accuracy" if smoothing else "accuracy"],
        )
        history: dict[str, list[float]] = {}
        started = time.perf_counter()

        class _Report(keras.callbacks.Callback):
            def on_train_batch_end(self_cb, batch, logs=None):
                # ``batch`` is the last step of the call: with several steps per call, not every index shows
                # (and the epoch's last, shorter call reports as if it were full).
                batch = min(batch, steps - 1)
                if batch - self_cb._reported >= 20 or batch >= steps - 1:
                    self_cb._reported = batch
                    frac = (self_cb._epoch + (batch + 1) / steps) / epochs
                    progress(
                        "batch", frac, f"epoch {self_cb._epoch + 1}/{epochs}, batch {batch + 1}/{steps}", logs or {}
                    )

            def on_epoch_begin(self_cb, epoch, logs=None):
                self_cb._epoch = epoch
                self_cb._reported = -20

            def on_epoch_end(self_cb, epoch, logs=None):
                logs = {k: float(v) for k, v in (logs or {}).items()}
                for k, v in logs.items():
                    history.setdefault(k, []).append(v)
                progress("epoch", (epoch + 1) / epochs, f"epoch {epoch + 1}/{epochs} done", logs)

        callbacks = []
        if p["early_stopping"] and X_val is not None:
            # Before _Report, so that the epoch logs it reports carry val_macro_f1.
            callbacks.append(macro_f1_early_stopping(X_val, np.asarray(y_val), int(p["patience"]), self.predict_proba))
        callbacks.append(_Report())
        weights = None
        if p["class_weight"]:
            counts = np.bincount(y, minlength=n_classes).astype(np.float64)
            w = len(y) / (n_classes * np.maximum(counts, 1))
            if p["class_weight"] == "sqrt":
                w = np.sqrt(w)
            weights = {i: float(w[i]) for i in range(n_classes)}

        def targets(labels):
            labels = np.asarray(labels, dtype=np.int32)
            return np.eye(n_classes, dtype=np.float32)[labels] if smoothing else labels

        self.fitted_ = True  # predict_proba is used by early stopping during fit
        if reshuffled:
            rows = {"x": reshuffled_batches(shared_with_tensorflow(self._inputs(X)), targets(y),
                                            int(p["batch_size"]), int(p["seed"])), "steps_per_epoch": steps,
                    "shuffle": False}  # fmt: skip
        else:
            rows = {"x": shared_with_tensorflow(self._inputs(X)), "y": targets(y), "batch_size": int(p["batch_size"]),
                    "shuffle": True}  # fmt: skip
        self.model_.fit(
            **rows,
            validation_data=(self._inputs(X_val), targets(y_val)) if X_val is not None else None,
            epochs=epochs,
            verbose=0,
            callbacks=callbacks,
            class_weight=weights,
        )
        self.history_ = {k.replace("categorical_accuracy", "accuracy"): v for k, v in history.items()}
        self.epochs_run_ = len(history.get("loss", []))
        self.fit_seconds_ = time.perf_counter() - started
        self.fitted_ = True
        return self

    def refit_params(self) -> dict:
        """As many epochs as this fit ran, without early stopping (no validation rows to stop on).

        Its whole schedule unless early stopping ended it; not the single best epoch, whose argmax over a small
        validation share is noisy (docs/experiments.md, seventh round: refitting for the best epoch count lost
        0.002-0.006 test macro-F1 against the whole schedule, seed 0 on three tasks).
        """
        runs = getattr(self, "epochs_run_", None)
        return {"epochs": int(runs), "early_stopping": False} if runs else {}

    def predict_proba(self, X):
        self._check_fitted()
        if self.engine_ is not None and not keras_forced():
            return self.engine_.predict_proba(X)
        X = self._inputs(X)
        out = np.empty((len(X), self.n_classes_), dtype=np.float32)
        for start in range(0, len(X), PREDICT_BATCH):
            out[start : start + PREDICT_BATCH] = np.asarray(
                self.model_(X[start : start + PREDICT_BATCH], training=False), dtype=np.float32
            )
        return out

    def prepare_scoring(self) -> None:
        """Score through the numpy engine from now on, as the model will once saved and loaded.

        Without it a freshly fitted network scores through Keras: the same classes (the export is checked
        against Keras), but a different engine, so the test figures and scoring speed measured right after
        training (``train_model``, ``benchmark-models``) would not be those of the saved model. A network
        the exporter does not support keeps scoring through Keras, as it will after loading.
        """
        from .inference import export_for

        self._check_fitted()
        if self.engine_ is None and not keras_forced():
            self.engine_ = export_for(self.model_, None)

    def save(self, folder):
        """Write ``model.keras`` and, where the network allows, its numpy export ``inference.npz``."""
        from .inference import export_for

        self._check_fitted()
        model, engine = self.model_, self.engine_
        model.save(Path(folder) / self.file_name)
        # An export made by prepare_scoring() is of these very weights: written as it is, not made again.
        self.engine_ = export_for(model, Path(folder) / self.file_name, write=True, net=engine)

    @classmethod
    def load(cls, folder, params, n_classes):
        """Read a model folder; the Keras network itself is read only when ``model_`` is first used."""
        from .inference import load_export

        path = Path(folder) / cls.file_name
        if not path.is_file():
            raise ModelFormatError(f"model file missing: {path}", hint="the model folder is incomplete; train it again")
        self = cls(**params)
        self._keras_path = path
        try:
            self._keras_stamp = _file_stamp(path.stat())
        except OSError:
            self._keras_stamp = None
        self.n_classes_ = n_classes
        self.fitted_ = True
        if not keras_forced():
            self.engine_ = load_export(path)
            if self.engine_ is None:  # saved before the export existed (or it is stale): export now
                from .inference import export_for

                self.engine_ = export_for(self.model_, path, write=True)
        return self


def _file_stamp(st: os.stat_result) -> tuple:
    """What tells one file from another at one path: a file saved in its place has another inode or time."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class PaperCNN(KerasDetector):
    """The network of Mohammadi et al. (ICIS 2024), exactly.

    Conv1D(32, 3, relu) -> MaxPool(2) -> Conv1D(64, 3, relu) -> MaxPool(2) -> Flatten
    -> Dense(128, relu) -> Dense(k, softmax); Adam, categorical cross-entropy;
    preset: 10 epochs, batch 32, StandardScaler on the features.
    """

    family = "paper-cnn"
    title = "Paper's CNN"
    description = "The paper's 1-D CNN (Mohammadi et al., ICIS 2024), exact architecture and defaults"

    def _inputs(self, X):
        return np.asarray(X, dtype=np.float32)[:, :, None]

    def build(self, n_features, n_classes):
        import keras
        from keras import layers

        n = _layer_namer()
        return keras.Sequential(
            [
                keras.Input(shape=(n_features, 1), name=n("input")),
                layers.Conv1D(32, 3, activation="relu", name=n("conv1d")),
                layers.MaxPooling1D(2, name=n("max_pooling1d")),
                layers.Conv1D(64, 3, activation="relu", name=n("conv1d")),
                layers.MaxPooling1D(2, name=n("max_pooling1d")),
                layers.Flatten(name=n("flatten")),
                layers.Dense(128, activation="relu", name=n("dense")),
                layers.Dense(n_classes, activation="softmax", name=n("dense")),
            ],
            name="paper_cnn",
        )


def macro_f1_early_stopping(X_val, y_val, patience: int, predict):
    """A Keras callback: stop when validation macro-F1 stops improving; keep the best weights.

    Macro-F1, not loss or accuracy, decides: the small classes are what matter here.
    ``predict(X_val)`` returns class probabilities; the score is logged as ``val_macro_f1``.
    """
    import keras
    from sklearn.metrics import f1_score

    class _Callback(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = -1.0
            self.best_weights = None
            self.wait = 0

        def on_epoch_end(self, epoch, logs=None):
            pred = np.argmax(predict(X_val), axis=1)
            score = float(f1_score(y_val, pred, average="macro", labels=np.unique(y_val), zero_division=0))
            if logs is not None:
                logs["val_macro_f1"] = score
            if score > self.best + 1e-4:
                self.best, self.wait = score, 0
                self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= patience:
                    self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return _Callback()


class ImprovedCNN(KerasDetector):
    """Our CNN: the paper's idea made robust for imbalanced, heavy-tailed flow features.

    - inputs: every feature mapped through its training distribution to normal scores
      (``input_transform="quantile"``; ``"log"`` log-transforms the heavy-tailed ones instead);
    - a wider 1-D convolutional stem with batch normalisation, plus a dense path over the raw
      (scaled) features, joined before the classifier (a residual-style shortcut);
    - dropout; optional label smoothing and class-balanced loss weights (off by default: they
      lowered macro-F1 on the real samples);
    - cosine learning-rate decay; early stopping on validation macro-F1 with the best weights kept;
    - optionally ``seeds > 1`` networks trained with different seeds and averaged (one saved model);
    - optionally (``ple_bins > 0``) a piecewise-linear encoding of every feature on bin edges fitted on the
      training rows (:mod:`core.ple`; ``ple_edges`` "quantile" or "tree"), given to the convolution as
      ``ple_bins`` channels per feature beside the quantile score (``ple_scalar``) and, with
      ``ple_shortcut``, to the dense path too. It is a frozen layer of the network, so it is saved with
      the weights and scored by the numpy engine;
    - ``pool``: the max-pooling window after the second convolution (2; 4 halves the third convolution's
      positions, hence its cost).
    """

    family = "cnn"
    title = "Improved CNN"
    description = (
        "Improved 1-D CNN (quantile inputs with a piecewise-linear encoding, batch norm, shortcut, "
        "early stop on macro-F1)"
    )

    @classmethod
    def default_params(cls):
        # Chosen by measurement (docs/experiments.md): class weights and label smoothing cost macro-F1 here;
        # the piecewise-linear encoding with 8 quantile bins per feature (third round) closed most of the gap
        # to a 300-tree forest on the v2 2-class and v1 6-class tasks; batch 128 and the refit on all training
        # rows after validation (seventh round) gained on all five sample tasks; 40 epochs with patience 10 instead
        # of 20 and 6 (eighth round) won on held-out training rows (nested validation) on the v2 2-class task.
        return {**super().default_params(), "epochs": 40, "batch_size": 128, "learning_rate": 2e-3,
                "early_stopping": True, "patience": 10, "class_weight": False, "label_smoothing": 0.0,
                "lr_schedule": "cosine", "dropout": 0.2, "filters": 32, "dense_units": 128,
                "input_transform": "quantile", "seeds": 1,
                "ple_bins": 8, "ple_edges": "quantile", "ple_scalar": True, "ple_shortcut": False,
                "pool": 2, "refit": True}  # fmt: skip

    def _inputs(self, X):
        return np.asarray(X, dtype=np.float32)

    @classmethod
    def load(cls, folder, params, n_classes):
        # Models saved before the encoding existed have no "ple_bins": they have none (not today's default).
        return super().load(folder, {"ple_bins": 0, **params}, n_classes)

    def fit(self, X, y, *, n_classes, X_val=None, y_val=None, progress=None):
        seeds = int(self.params.get("seeds", 1))
        if seeds <= 1:
            bins = int(self.params.get("ple_bins", 0))
            self.ple_edges_ = None
            if bins:
                from .ple import fit_edges

                self.ple_edges_ = fit_edges(X, bins, method=self.params.get("ple_edges", "quantile"), y=y,
                                            seed=int(self.params["seed"]))  # fmt: skip
            return super().fit(X, y, n_classes=n_classes, X_val=X_val, y_val=y_val, progress=progress)
        import keras

        progress = _quiet(progress)
        members, histories = [], {}
        base_seed = int(self.params["seed"])
        for i in range(seeds):
            member = ImprovedCNN(**{**self.params, "seeds": 1, "seed": base_seed + i})

            def sub(stage, fraction, message, metrics, i=i):
                progress(stage, (i + fraction) / seeds, f"network {i + 1}/{seeds}: {message}", metrics)

            member.fit(X, y, n_classes=n_classes, X_val=X_val, y_val=y_val, progress=sub)
            member.model_.name = f"improved_cnn_{i + 1}"  # unique names inside the averaged model
            members.append(member.model_)
            for k, v in member.history_.items():
                histories.setdefault(k, v)  # curves of the first network
                histories[f"seed{i + 1}_{k}"] = v
        inp = keras.Input(shape=(X.shape[1],))
        out = keras.layers.Average()([m(inp) for m in members])
        self.model_ = keras.Model(inp, out, name="improved_cnn_ensemble")
        self.n_classes_ = n_classes
        self.history_ = {k: v for k, v in histories.items() if not k.startswith("seed") or "macro_f1" in k}
        self.epochs_run_ = len(self.history_.get("loss", []))
        self.fitted_ = True
        return self

    def build(self, n_features, n_classes):
        import keras
        from keras import layers

        p = self.params
        f = int(p["filters"])
        n = _layer_namer()
        inp = keras.Input(shape=(n_features,), name=n("input"))
        x = layers.Reshape((n_features, 1), name=n("reshape"))(inp)
        ple = None
        bins = int(p.get("ple_bins", 0))
        if bins:
            # Piecewise-linear encoding (core.ple): a frozen Dense, clipped to [0, 1], one channel per bin.
            from .ple import dense_weights

            w, b = dense_weights(self.ple_edges_, bins)
            encoder = layers.Dense(n_features * bins, trainable=False, name="ple_encoding")
            ple = layers.ReLU(max_value=1.0, name=n("re_lu"))(encoder(inp))
            encoder.set_weights([w, b])
            seq = layers.Reshape((n_features, bins), name=n("reshape"))(ple)
            x = layers.Concatenate(axis=-1, name=n("concatenate"))([x, seq]) if p.get("ple_scalar", True) else seq
        x = layers.Conv1D(f, 3, padding="same", use_bias=False, name=n("conv1d"))(x)
        x = layers.BatchNormalization(name=n("batch_normalization"))(x)
        x = layers.Activation("relu", name=n("activation"))(x)
        x = layers.Conv1D(f, 3, padding="same", use_bias=False, name=n("conv1d"))(x)
        x = layers.BatchNormalization(name=n("batch_normalization"))(x)
        x = layers.Activation("relu", name=n("activation"))(x)
        x = layers.MaxPooling1D(int(p.get("pool", 2)), name=n("max_pooling1d"))(x)
        x = layers.Conv1D(2 * f, 3, padding="same", use_bias=False, name=n("conv1d"))(x)
        x = layers.BatchNormalization(name=n("batch_normalization"))(x)
        x = layers.Activation("relu", name=n("activation"))(x)
        x = layers.GlobalMaxPooling1D(name=n("global_max_pooling1d"))(x)
        wide = (
            layers.Concatenate(name=n("concatenate"))([inp, ple]) if ple is not None and p.get("ple_shortcut") else inp
        )
        shortcut = layers.Dense(int(p["dense_units"]), activation="relu", name=n("dense"))(wide)
        x = layers.Concatenate(name=n("concatenate"))([x, shortcut])
        x = layers.Dropout(float(p["dropout"]), name=n("dropout"))(x)
        x = layers.Dense(int(p["dense_units"]), activation="relu", name=n("dense"))(x)
        x = layers.Dropout(float(p["dropout"]), name=n("dropout"))(x)
        out = layers.Dense(n_classes, activation="softmax", name=n("dense"))(x)
        return keras.Model(inp, out, name="improved_cnn")


class DenseNet(KerasDetector):
    """A dense neural network baseline: 256-128 ReLU units with dropout."""

    family = "dnn"
    title = "Dense network"
    description = "Dense neural network baseline (256-128 ReLU, dropout 0.2)"

    @classmethod
    def default_params(cls):
        return {**super().default_params(), "batch_size": 256, "epochs": 10}

    def build(self, n_features, n_classes):
        import keras
        from keras import layers

        n = _layer_namer()
        return keras.Sequential(
            [
                keras.Input(shape=(n_features,), name=n("input")),
                layers.Dense(256, activation="relu", name=n("dense")),
                layers.Dropout(0.2, name=n("dropout")),
                layers.Dense(128, activation="relu", name=n("dense")),
                layers.Dropout(0.2, name=n("dropout")),
                layers.Dense(n_classes, activation="softmax", name=n("dense")),
            ],
            name="dnn",
        )


# ---------------------------------------------------------------- scikit-learn families


class SklearnDetector(Detector):
    """Shared save/load (skops) and probability alignment for scikit-learn models."""

    file_name = "model.skops"

    @abstractmethod
    def make_estimator(self):
        """Return an unfitted scikit-learn estimator."""

    def fit(self, X, y, *, n_classes, X_val=None, y_val=None, progress=None):
        progress = _quiet(progress)
        self.n_classes_ = n_classes
        started = time.perf_counter()
        progress("fit", 0.0, f"fitting {self.family}", {})
        self.fit_notes_: list[str] = []  # a family's own notes (gbt's rounds) are set by its _fit_estimator
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.estimator_ = self._fit_estimator(np.asarray(X, dtype=np.float32), np.asarray(y), progress)
        self.fit_notes_ += self._convergence_notes(caught)
        self.fit_seconds_ = time.perf_counter() - started
        progress("fit", 1.0, f"{self.family} fitted", {})
        self.fitted_ = True
        return self

    def _convergence_notes(self, caught: list) -> list[str]:
        """scikit-learn's ConvergenceWarning (logistic regression's solver stopping at ``max_iter``) as a note on the
        fit, shown with the model and under a benchmark's task instead of text in the middle of the progress bar;
        other warnings are passed on as they were."""
        from sklearn.exceptions import ConvergenceWarning

        notes, passed = [], set()
        for w in caught:
            if issubclass(w.category, ConvergenceWarning):
                said = str(w.message).strip().splitlines()[0].rstrip(":. ")
                notes.append(f"{self.family}: {said}; a larger max_iter may fit better (--param max_iter=N)")
            elif (key := (w.category, str(w.message), w.filename, w.lineno)) not in passed:  # once each, as by default
                passed.add(key)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
        return list(dict.fromkeys(notes))

    #: Seconds between looks at a running fit (the rounds it has made, or the time it has taken).
    PROGRESS_EVERY = 0.5
    #: Seconds between reports of the time taken, for a fit with no steps to count (logistic regression's solver).
    HEARTBEAT = 5.0

    def _fit_estimator(self, X, y, progress):
        """One fit with no progress of its own to follow: the time it has taken is reported every HEARTBEAT seconds,
        so that a fit of minutes (logistic regression on 6.4 M rows: 650 s) shows it is still running."""
        from .training import describe_seconds

        est, started = self.make_estimator(), time.perf_counter()

        def taken(n: int) -> None:
            if n:
                progress("fit", 0.0, f"fitting {self.family}: {describe_seconds(n * self.HEARTBEAT)} so far",
                         {UNPACED: True})  # fmt: skip

        with _following(lambda: int((time.perf_counter() - started) / self.HEARTBEAT), taken, self.PROGRESS_EVERY):
            est.fit(X, y)
        return est

    def predict_proba(self, X):
        self._check_fitted()
        X = np.asarray(X, dtype=np.float32)
        out = np.zeros((len(X), self.n_classes_), dtype=np.float32)
        cols = np.asarray(self.estimator_.classes_, dtype=np.int64)
        for start in range(0, len(X), 1 << 16):
            out[start : start + (1 << 16), cols] = self.estimator_.predict_proba(X[start : start + (1 << 16)])
        return out

    def save(self, folder):
        import skops.io as sio

        self._check_fitted()
        sio.dump(self.estimator_, Path(folder) / self.file_name)

    @classmethod
    def load(cls, folder, params, n_classes):
        import skops.io as sio

        path = Path(folder) / cls.file_name
        if not path.is_file():
            raise ModelFormatError(f"model file missing: {path}", hint="the model folder is incomplete; train it again")
        untrusted = set(sio.get_untrusted_types(file=path))
        unexpected = untrusted - TRUSTED_SKOPS_TYPES
        if unexpected:
            raise ModelFormatError(
                f"refusing to load {path}: it contains types that are not on the trusted list: {sorted(unexpected)}",
                hint="only load models trained by this tool",
            )
        self = cls(**params)
        self.estimator_ = sio.load(path, trusted=sorted(untrusted))
        self.n_classes_ = n_classes
        self._check_estimator(path)
        self.fitted_ = True
        return self

    def _check_estimator(self, path: Path) -> None:
        """Refuse weights of another model: an estimator of another type than this family's, or fitted on other
        classes than the ``n_classes_`` that metadata.json lists (scored, its missing class columns would be zeros:
        a 2-class forest's file in a 19-class forest's folder scored a macro-F1 of 0.047, with no error)."""
        est, k = self.estimator_, self.n_classes_
        expected = type(self.make_estimator())
        classes = getattr(est, "classes_", None)
        shape = np.shape(classes) if classes is not None else None
        width = shape[0] if shape is not None and len(shape) == 1 else None
        fits_classes = width == k and np.array_equal(np.asarray(classes), np.arange(k))
        if type(est) is expected and fits_classes:
            return
        what = f"{width}-class {type(est).__name__}" if width is not None else f"{type(est).__name__} (no classes)"
        if type(est) is expected and width == k:
            what += f" fitted on the class codes {np.asarray(classes).tolist()}, not 0 to {k - 1}"
        fit = f": they do not fit the {k} classes that metadata.json lists" if width != k else ""
        raise ModelFormatError(f"{path.parent}: the weights in {path.name} are of a {what}, but metadata.json "
                               f"describes a {k}-class {self.family} model{fit}",
                               hint="the model folder was edited, or its files come from two models; train it "
                               "again")  # fmt: skip


class LogisticRegressionDetector(SklearnDetector):
    family = "lr"
    title = "Logistic regression"
    description = "Logistic regression (multinomial, L2, lbfgs)"

    @classmethod
    def default_params(cls):
        return {"C": 1.0, "max_iter": 300, "seed": 0}

    def make_estimator(self):
        from sklearn.linear_model import LogisticRegression

        p = self.params
        return LogisticRegression(C=float(p["C"]), max_iter=int(p["max_iter"]), random_state=int(p["seed"]))

    def _fit_estimator(self, X, y, progress):
        """BLAS on one thread meanwhile (scikit-learn's own threads are kept): lbfgs multiplies the rows by a few
        dozen weights at each step, and BLAS threads spinning between those products slowed the fit, the more so
        on a busy machine (2 cores, the demo's 19-class fit: 3.74 s -> 1.28 s idle, 16.7 s -> 1.9 s beside two busy
        processes, bench/lr_threads.py; 44-50 s in a first start beside a benchmark)."""
        from .inference import single_threaded_blas

        with single_threaded_blas():
            return super()._fit_estimator(X, y, progress)


class AdaBoostDetector(SklearnDetector):
    family = "adaboost"
    title = "AdaBoost"
    description = "AdaBoost (SAMME) over depth-2 decision trees"

    @classmethod
    def default_params(cls):
        return {"n_estimators": 100, "max_depth": 2, "learning_rate": 0.5, "seed": 0}

    def make_estimator(self):
        from sklearn.ensemble import AdaBoostClassifier
        from sklearn.tree import DecisionTreeClassifier

        p = self.params
        return AdaBoostClassifier(
            estimator=DecisionTreeClassifier(max_depth=int(p["max_depth"])),
            n_estimators=int(p["n_estimators"]),
            learning_rate=float(p["learning_rate"]),
            random_state=int(p["seed"]),
        )

    def _fit_estimator(self, X, y, progress):
        """One fit, followed round by round: scikit-learn adds each round's tree to ``estimators_`` as it starts
        fitting it. Rounds may end early (a perfect or a useless tree), so the count is an upper bound."""
        est = self.make_estimator()
        total = int(est.n_estimators)

        def rounds(n: int) -> None:
            progress("fit", max(n - 1, 0) / total, f"boosting round {n:,} of at most {total:,}", {})

        with _following(lambda: len(est.estimators_), rounds, every=self.PROGRESS_EVERY):
            est.fit(X, y)
        return est


class RandomForestDetector(SklearnDetector):
    family = "rf"
    title = "Random forest"
    description = "Random forest (grown in steps so progress can be shown)"

    @classmethod
    def default_params(cls):
        return {"n_estimators": 100, "max_depth": None, "min_samples_leaf": 1, "seed": 0, "n_jobs": -1}

    def make_estimator(self):
        from sklearn.ensemble import RandomForestClassifier

        p = self.params
        return RandomForestClassifier(
            n_estimators=0,
            max_depth=None if p["max_depth"] in (None, "None") else int(p["max_depth"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            random_state=int(p["seed"]),
            n_jobs=int(p["n_jobs"]),
            warm_start=True,
        )

    #: Seconds a step of trees may take, once the first step (a tree per core) has shown what a tree costs.
    STEP_SECONDS = 10.0

    def _fit_estimator(self, X, y, progress):
        from joblib import effective_n_jobs

        est = self.make_estimator()
        total = int(self.params["n_estimators"])
        if total < 1:  # the steps below would grow no tree and leave an unfitted forest
            raise ValueError(f"n_estimators must be at least 1, got {total}")
        cores = max(1, effective_n_jobs(est.n_jobs))
        # Steps of a tenth (at least 10 trees) where trees are quick; where one takes minutes (millions of rows),
        # as few trees as keep a step within STEP_SECONDS, a tree per core at least, so the bar keeps moving. Tree i
        # gets the i-th seed of random_state whatever the steps, so the forest does not depend on them.
        most = max(10, total // 10)
        step, grown = min(cores, most), 0
        room = available_memory()  # what the trees may take (the rows are in memory already)
        while grown < total:
            started, before = time.perf_counter(), grown
            grown = min(total, grown + step)
            est.set_params(n_estimators=grown)
            est.fit(X, y)
            progress("fit", grown / total, f"{grown}/{total} trees", {})
            per_tree = (time.perf_counter() - started) / (grown - before)
            step = min(most, max(cores, int(self.STEP_SECONDS / per_tree) // cores * cores))
            self._check_room(est, total, len(X), room)
        est.set_params(warm_start=False)
        return est

    #: Share of the memory free when the fit began that the whole forest may take.
    ROOM_SHARE = 0.8

    def _check_room(self, est, total: int, rows: int, room: int | None) -> None:
        """Stop early, with what to do, if the forest grown at this rate will not fit in memory: trees grown to full
        depth on millions of rows take hundreds of MB each (on the full-size generated training split, 250 MB), and
        the process would otherwise be killed for memory, without a word, half an hour later."""
        if not room:
            return
        size = sum(t.tree_.node_count * _NODE_BYTES + t.tree_.value.nbytes for t in est.estimators_)
        projected = size / len(est.estimators_) * total
        if projected <= self.ROOM_SHARE * room:
            return
        raise CoreError(
            f"a random forest of {total:,} trees on {rows:,} rows would take about {projected / 1e9:,.1f} GB "
            f"({size / len(est.estimators_) / 1e6:,.0f} MB a tree, from the first {len(est.estimators_):,}), more than "
            f"the {room / 1e9:,.1f} GB this machine had free when the fit began",
            hint="make the trees smaller (--param min_samples_leaf=5 with train, --rf-min-leaf 5 with "
            "benchmark-models, 'Smallest leaf' on the Train page), grow fewer trees, cap the training rows "
            "(--max-rows-per-class), or use a machine with more memory",
        )


class GradientBoostingDetector(SklearnDetector):
    """Gradient-boosted trees: scikit-learn's histogram gradient boosting.

    A baseline stronger than the paper's on some tasks (docs/experiments.md, thirteenth round), kept so that
    our cnn is compared with the best of the usual tabular models, not only with the paper's four.
    scikit-learn's defaults except ``l2_regularization`` 1.0 (XGBoost's default; scikit-learn's is 0): without
    it the multi-class boosting diverged on the v2 sample (a refit's training log-loss rose from 0.41 to 19.5 and
    its test macro-F1 fell to 0.32), since a leaf of confidently scored rows has a tiny hessian and its Newton
    step explodes. Boosting rounds stop early on the validation rows (log-loss not better for
    ``n_iter_no_change`` rounds); without validation rows it runs ``max_iter`` rounds. One fit, whose rounds are
    reported as progress while it runs (:func:`_following`). After each fit the
    training log-loss is followed round by round on up to 20,000 of the rows: if it ends well above its
    lowest, the fit reports that it diverged (``fit_warnings_``).
    """

    family = "gbt"
    title = "Gradient-boosted trees"
    description = "Gradient-boosted trees (histogram-based, early stopping on the validation rows)"

    @classmethod
    def default_params(cls):
        return {"max_iter": 500, "learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20,
                "l2_regularization": 1.0, "early_stopping": True, "n_iter_no_change": 10, "seed": 0}  # fmt: skip

    def make_estimator(self):
        from sklearn.ensemble import HistGradientBoostingClassifier

        p = self.params
        return HistGradientBoostingClassifier(
            max_iter=int(p["max_iter"]),
            learning_rate=float(p["learning_rate"]),
            max_leaf_nodes=None if p["max_leaf_nodes"] in (None, "None") else int(p["max_leaf_nodes"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            l2_regularization=float(p["l2_regularization"]),
            n_iter_no_change=int(p["n_iter_no_change"]),
            random_state=int(p["seed"]),
        )

    def fit(self, X, y, *, n_classes, X_val=None, y_val=None, progress=None):
        self._val = (
            (X_val, y_val) if X_val is not None and len(X_val) and _flag(self.params["early_stopping"]) else None
        )
        try:
            super().fit(X, y, n_classes=n_classes, progress=progress)
        finally:
            self._val = None
        rounds, most = int(self.estimator_.n_iter_), int(self.params["max_iter"])
        how = (f"early stopping on the validation rows kept {rounds:,} of at most {most:,}" if rounds < most
               else f"{rounds:,} (all of max_iter)")  # fmt: skip
        self.fit_notes_ = [f"gbt: {how} boosting rounds"]
        self.fit_warnings_ = self._divergence(X, y)
        return self

    #: The training log-loss may end at most this many times its lowest before the fit is called diverged.
    DIVERGED = 1.1

    def _divergence(self, X, y, rows: int = 20_000) -> list[str]:
        """A warning if the training log-loss, round by round on up to ``rows`` of the fitted rows, ended well above
        its lowest (the boosting diverged), else nothing."""
        pick = np.random.default_rng(0).permutation(len(X))[:rows]
        X, y = np.asarray(X, dtype=np.float32)[pick], np.searchsorted(self.estimator_.classes_, np.asarray(y)[pick])
        losses = [float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, None))))
                  for p in self.estimator_.staged_predict_proba(X)]  # fmt: skip
        best = int(np.argmin(losses))
        if losses[-1] <= self.DIVERGED * losses[best]:
            return []
        return [f"gbt diverged: its training log-loss rose from {losses[best]:.3f} (round {best + 1:,}) to "
                f"{losses[-1]:.3f} (round {len(losses):,}); its predictions are unreliable. Train it again with a "
                "smaller learning_rate or a larger l2_regularization"]  # fmt: skip

    def _fit_estimator(self, X, y, progress):
        est = self.make_estimator()
        val = {}
        if self._val is not None:
            X_val, y_val = self._val
            val = {"X_val": np.asarray(X_val, dtype=np.float32), "y_val": np.asarray(y_val)}
        # Early stopping only on the rows given: never on a share it would take from the training rows itself.
        est.set_params(early_stopping=bool(val))
        total = int(self.params["max_iter"])

        def rounds(n: int) -> None:  # with early stopping, the bar's end (and time left) is an upper bound
            said = f"{n:,} of at most {total:,}" if val else f"{n:,}/{total:,}"
            progress("fit", n / total, f"{said} boosting rounds", {})

        # One fit, followed round by round from a thread. Grown in ten warm-started steps instead, it took 1.46x as
        # long (313,695 generated rows, 19 classes, 100 rounds: 97-99 s against 67 s): each step validates and bins
        # every row again and predicts them with every tree grown so far (0.45 s + 0.06 s per round grown there).
        with _following(lambda: est.n_iter_, rounds, every=self.PROGRESS_EVERY):
            est.fit(X, y, **val)
        est.set_params(max_iter=int(est.n_iter_))
        return est

    def refit_params(self) -> dict:
        """As many boosting rounds as this fit kept, without early stopping (no validation rows to stop on)."""
        return {"max_iter": int(self.estimator_.n_iter_), "early_stopping": False}


def available_memory() -> int | None:
    """Bytes of memory the system can still give this process without swapping (``MemAvailable`` of
    ``/proc/meminfo``), or None where that is not known."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


#: Bytes of one node of a scikit-learn tree, besides its class counts (``sklearn.tree._tree.NODE_DTYPE``).
_NODE_BYTES = 64


@contextmanager
def _following(count: Callable[[], int], report: Callable[[int], None], every: float):
    """While the block runs, call ``report(count())`` from a thread every ``every`` seconds when the count has
    changed (a ``count`` that cannot be read yet is skipped), and once more at the end if it changed since the last
    report. What ``report`` raises (e.g. :class:`Cancelled` from a progress callback) ends the following and is
    raised again once the block has finished: the work in the block cannot be interrupted from outside (the
    dashboard stops a cancelled training's whole process instead)."""
    stop, raised, last = threading.Event(), [], [None]

    def look() -> None:
        try:
            n = count()
        except AttributeError:  # not started yet (scikit-learn's NotFittedError is one too)
            return
        if n != last[0]:
            last[0] = n
            report(n)

    def follow() -> None:
        while not stop.wait(every):
            try:
                look()
            except BaseException as exc:  # handed to the caller's thread
                raised.append(exc)
                return

    thread = threading.Thread(target=follow, name="following", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if raised:
        raise raised[0]
    look()  # where it ended, unless that was reported already


def _flag(value) -> bool:
    """A boolean parameter, also when given as text on the command line (``--param early_stopping=false``)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "")
    return bool(value)


# ---------------------------------------------------------------- our cnn and the forest together


def forest_weight_scores(p_cnn: np.ndarray, p_forest: np.ndarray, y: np.ndarray, weights) -> dict[float, float]:
    """Macro-F1 on the rows of labels ``y`` of the average ``(1 - w) * p_cnn + w * p_forest``, for each weight ``w``."""
    from sklearn.metrics import f1_score

    labels = np.unique(y)
    return {float(w): float(f1_score(y, np.argmax((1 - w) * p_cnn + w * p_forest, axis=1), average="macro",
                                     labels=labels, zero_division=0)) for w in weights}  # fmt: skip


def best_forest_weight(scores: dict[float, float]) -> float:
    """The weight with the best score (ties: the one nearest to 0.5, then the smaller)."""
    best = max(scores.values())
    return min((w for w, s in scores.items() if s >= best - 1e-12), key=lambda w: (abs(w - 0.5), w))


class CnnForestBlend(Detector):
    """Our cnn and a random forest fitted on the same rows, their class probabilities averaged:
    ``(1 - w) * p_cnn + w * p_forest``.

    Where the two are level they err on different rows (docs/experiments.md, eleventh round: on held-out
    training rows their average beat both by 0.006-0.008 macro-F1 on the two tasks where they are level).
    The forest's weight ``w`` (``forest_weight``) is 0.5 by default; ``"auto"`` takes the one of 0, 0.1, ..., 1
    with the best macro-F1 on the validation rows (ties: the nearest to 0.5; 0.5 without validation rows). Not
    the default: a weight chosen on one half of the validation rows did no better than 0.5 on the other half
    (docs/experiments.md, twelfth round). The fit reports the validation macro-F1 of the average, of the cnn
    alone and of the forest alone (``fit_notes_``). The forest sees the cnn's preprocessed rows: its splits depend
    only on the order of each feature's values, which the cnn's monotone transforms keep. Saved as two folders,
    ``cnn/`` and ``rf/``, each as its own family saves it; scoring costs both models' time.
    """

    family = "cnn-rf"
    title = "Improved CNN + random forest"
    file_name = "cnn/" + ImprovedCNN.file_name
    uses_epochs = True
    description = (
        "Improved CNN and a random forest (300 trees unless set) fitted on the same rows, their probabilities averaged"
    )
    FOREST_PARAMS = ("n_estimators", "max_depth", "min_samples_leaf", "n_jobs")
    WEIGHTS = tuple(i / 10 for i in range(11))
    #: Share of the fit's progress given to the network (on the v2 sample the `rf` family's fit took 4.6-12 s, our
    #: cnn's 107-131 s: docs/model-comparison-v2-sample.md).
    CNN_SHARE = 0.9

    @classmethod
    def default_params(cls):
        forest = RandomForestDetector.default_params()
        return {**ImprovedCNN.default_params(), **{k: forest[k] for k in cls.FOREST_PARAMS}, "n_estimators": 300,
                "forest_weight": 0.5}  # fmt: skip

    def __init__(self, **params):
        super().__init__(**params)
        self._weight()  # a bad forest_weight is refused before any training

    def _weight(self) -> float | None:
        """The fixed forest weight, or None to choose it on the validation rows."""
        w = self.params["forest_weight"]
        if w == "auto":
            return None
        try:
            w = float(w)
        except (TypeError, ValueError):
            w = -1.0
        if not 0.0 <= w <= 1.0:
            raise ValueError(
                f"forest_weight must be 'auto' or a number from 0 to 1, got {self.params['forest_weight']!r}"
            )
        return w

    def _parts(self) -> tuple[ImprovedCNN, RandomForestDetector]:
        cnn_keys = ImprovedCNN.default_params()
        cnn = ImprovedCNN(**{k: v for k, v in self.params.items() if k in cnn_keys})
        forest = RandomForestDetector(**{k: self.params[k] for k in (*self.FOREST_PARAMS, "seed")})
        return cnn, forest

    def fit(self, X, y, *, n_classes, X_val=None, y_val=None, progress=None):
        progress = _quiet(progress)
        fixed = self._weight()
        self.cnn_, self.forest_ = self._parts()
        self.n_classes_ = n_classes
        share = self.CNN_SHARE
        self.cnn_.fit(X, y, n_classes=n_classes, X_val=X_val, y_val=y_val,
                      progress=lambda stage, f, message, metrics: progress(stage, share * f, f"cnn: {message}", metrics))  # fmt: skip
        self.forest_.fit(X, y, n_classes=n_classes,
                         progress=lambda stage, f, message, metrics: progress(
                             stage, share + (1 - share) * f, f"forest: {message}", metrics))  # fmt: skip
        self.weight_scores_ = None
        if X_val is not None and len(X_val):
            p_cnn, p_forest = self.cnn_.predict_proba(X_val), self.forest_.predict_proba(X_val)
            weights = self.WEIGHTS if fixed is None else sorted({fixed, 0.0, 1.0})  # chosen, or the note's three
            self.weight_scores_ = forest_weight_scores(p_cnn, p_forest, np.asarray(y_val), weights)
        if fixed is None:
            fixed = (
                best_forest_weight({w: self.weight_scores_[w] for w in self.WEIGHTS}) if self.weight_scores_ else 0.5
            )
            how = ", chosen on the validation rows" if self.weight_scores_ else " (no validation rows to choose it on)"
        else:
            how = ""
        note = f"cnn-rf: forest weight {fixed:g}{how}"
        if self.weight_scores_:
            s = self.weight_scores_
            note += (f"; on the {len(X_val):,} validation rows macro-F1 {s[fixed]:.4f} (the cnn alone {s[0.0]:.4f}, "
                     f"the forest alone {s[1.0]:.4f})")  # fmt: skip
        self.fit_notes_ = [note]
        self.params["forest_weight"] = fixed
        self.fitted_ = True
        return self

    @property
    def history_(self) -> dict:
        """The network's curves (the forest has none)."""
        return self.cnn_.history_

    def refit_params(self) -> dict:
        """The network's epochs, and the forest weight this fit chose (the refit has no validation rows)."""
        return {**self.cnn_.refit_params(), "forest_weight": self.params["forest_weight"]}

    def predict_proba(self, X):
        self._check_fitted()
        w = np.float32(self.params["forest_weight"])
        out = self.cnn_.predict_proba(X)
        out *= np.float32(1) - w
        out += w * self.forest_.predict_proba(X)
        return out

    def prepare_scoring(self) -> None:
        self.cnn_.prepare_scoring()

    def save(self, folder):
        self._check_fitted()
        for name, part in (("cnn", self.cnn_), ("rf", self.forest_)):
            (Path(folder) / name).mkdir()
            part.save(Path(folder) / name)

    @classmethod
    def required_files(cls) -> tuple[str, ...]:
        return tuple(
            f"{part}/{family.file_name}" for part, family in (("cnn", ImprovedCNN), ("rf", RandomForestDetector))
        )

    @classmethod
    def load(cls, folder, params, n_classes):
        try:
            self = cls(**params)
        except ValueError as exc:
            raise ModelFormatError(
                f"{folder}: {exc}", hint="the model folder was edited or is damaged; train it again"
            ) from None
        if self._weight() is None:
            raise ModelFormatError(f"{folder}: the forest weight was never chosen (forest_weight {params.get('forest_weight')!r})",
                                   hint="the model folder was edited or is damaged; train it again")  # fmt: skip
        cnn, forest = self._parts()
        self.cnn_ = ImprovedCNN.load(Path(folder) / "cnn", cnn.params, n_classes)
        self.forest_ = RandomForestDetector.load(Path(folder) / "rf", forest.params, n_classes)
        self.n_classes_ = n_classes
        self.fitted_ = True
        return self


FAMILIES: dict[str, type[Detector]] = {
    cls.family: cls
    for cls in (
        ImprovedCNN,
        CnnForestBlend,
        PaperCNN,
        LogisticRegressionDetector,
        AdaBoostDetector,
        DenseNet,
        RandomForestDetector,
        GradientBoostingDetector,
    )
}


def make_detector(family: str, **params) -> Detector:
    """Create an unfitted detector of ``family`` with ``params`` over its defaults."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of {sorted(FAMILIES)}")
    cls = FAMILIES[family]
    unknown = set(params) - set(cls.default_params())
    if unknown:
        raise ValueError(
            f"unknown {'parameter' if len(unknown) == 1 else 'parameters'} {sorted(unknown)} for {family}; "
            f"it takes {sorted(cls.default_params())}"
        )
    return cls(**_checked_types(family, params, cls.default_params()))


#: Whole-number parameters that also take None (no limit).
_ALSO_ALLOWED = {"max_depth": (None, "None"), "max_leaf_nodes": (None, "None")}
#: Parameters checked by their family, with their own words (forest_weight: 'auto' or a number from 0 to 1).
_OWN_CHECK = ("forest_weight",)


class _Range(NamedTuple):
    """The values a number parameter may take: from ``low`` to ``high``, each end included unless ``*_open``."""

    low: float
    high: float = float("inf")
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        low = f"{'above' if self.low_open else 'at least'} {self.low:g}"
        if self.high == float("inf"):
            return low
        return f"{low} and {'below' if self.high_open else 'at most'} {self.high:g}"


#: Number parameters of the networks (by name, whatever the family) that mean nothing outside a range, refused when
#: the detector is made, before any data is read: batch_size 0 divided by zero after the data was read, epochs 0
#: failed in Keras on 'decay_steps', learning_rate 0 trains nothing, dropout 1 drops every unit, filters 0 builds no
#: layer. patience 0 is allowed: early stopping then stops at the first epoch that does not improve, as with 1 (and
#: as Keras's own patience=0 does); ple_bins 0 means no piecewise-linear encoding. (The forest's counts in cnn-rf are
#: left to the forest, which says them in its own words.)
_RANGES = {
    **dict.fromkeys(("epochs", "batch_size", "filters", "dense_units", "seeds", "pool"), _Range(1)),
    **dict.fromkeys(("patience", "ple_bins"), _Range(0)),
    "learning_rate": _Range(0, low_open=True),
    **dict.fromkeys(("dropout", "label_smoothing"), _Range(0, 1, high_open=True)),
}


def _checked_types(family: str, params: dict, defaults: dict) -> dict:
    """``params`` with numbers checked against the type of their default, naming the parameter: 'abc' for a count
    gave "invalid literal for int()" without saying which, and 2.5 trees were stored as 2.5 and grown as 2."""
    out = dict(params)
    for key, value in params.items():
        default = defaults[key]
        if key == "epoch_order" and value not in ("keras", "reshuffled"):
            raise ValueError(f"{family} parameter epoch_order must be 'keras' or 'reshuffled', not {value!r}")
        if key == "steps_per_execution":  # 'auto' or a count: refused here, not in fit() once the data is read
            try:
                steps_per_execution(value, 1)
            except ValueError as exc:
                raise ValueError(f"{family} parameter {exc}") from None
        if isinstance(default, bool) or not isinstance(default, (int, float)) or key in _OWN_CHECK:
            continue
        if isinstance(value, (str, type(None))) and value in _ALSO_ALLOWED.get(key, ()):
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(default, int) and not (number and float(value).is_integer()):
            raise ValueError(f"{family} parameter {key} must be a whole number, not {value!r}")
        if isinstance(default, float) and not (number and np.isfinite(value)):
            raise ValueError(f"{family} parameter {key} must be a number, not {value!r}")
        out[key] = int(value) if isinstance(default, int) else float(value)
        if key in _RANGES and out[key] not in _RANGES[key]:
            raise ValueError(f"{family} parameter {key} must be {_RANGES[key]}, not {value!r} (default {default!r})")
    return out
