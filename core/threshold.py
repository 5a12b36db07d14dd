"""The alarm threshold of a 2-class (benign or attack) model: its cost, its curves, and saving it.

A 2-class model gives each flow a probability of being an attack. By default a flow is an attack when
that probability is the larger one (0.5). Raising the threshold trades false alarms for missed attacks;
:func:`cost_at` counts both on labelled data, :func:`curves` gives the ROC and precision-recall curves,
and :func:`save_threshold` stores the chosen value in the model's ``metadata.json`` (``alarm_threshold``),
which :meth:`core.pipeline.TrainedModel.predict` then uses.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CoreError, ModelFormatError
from .glossary import MACRO_F1_WORDS
from .loading import UNLABELLED, Dataset
from .paths import write_text_atomic
from .pipeline import DEFAULT_THRESHOLD, METADATA_FILE, read_metadata, registry_lock
from .taxonomy import BENIGN, classes_for_task, codes_for_task
from .words import probability_text


def attack_probability(classes: list[str], proba: np.ndarray) -> np.ndarray:
    """P(attack) per row from a 2-class model's probabilities (columns in ``classes`` order), in their own
    precision: compared with a threshold as :func:`core.pipeline.decide` compares them (a float32 0.7 widened to
    float64 is 0.69999998, below a threshold of 0.7 that the float32 comparison reaches)."""
    if len(classes) != 2 or BENIGN not in classes:
        raise CoreError(f"an alarm threshold needs a 2-class (benign or attack) model; this one has classes {classes}",
                        hint="choose a 2-class model")  # fmt: skip
    return np.asarray(proba)[:, 1 - classes.index(BENIGN)]


def is_attack_truth(data: Dataset) -> np.ndarray:
    """True where the labelled rows of ``data`` are attacks (unlabelled rows excluded: see ``data.y``)."""
    known = data.y != UNLABELLED
    return np.asarray(classes_for_task(2), dtype=object)[codes_for_task(data.y[known], 2)] != BENIGN


@dataclass(frozen=True)
class ThresholdCost:
    """What one threshold costs on labelled rows."""

    threshold: float
    n_benign: int
    n_attack: int
    false_alarms: int  # benign flows flagged as attacks
    missed: int  # attack flows not flagged

    @property
    def false_alarms_per_10k(self) -> float:
        """False alarms per 10,000 benign flows."""
        return 10_000 * self.false_alarms / self.n_benign if self.n_benign else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.n_benign if self.n_benign else float("nan")

    @property
    def missed_rate(self) -> float:
        """Share of attack flows missed."""
        return self.missed / self.n_attack if self.n_attack else float("nan")

    @property
    def detected(self) -> int:
        return self.n_attack - self.missed

    @property
    def macro_f1(self) -> float:
        """Macro-F1 of benign-vs-attack at this threshold, as :func:`core.evaluation.evaluate` gives it for the same
        decisions: the mean F1 of the classes that occur in the rows (both, where there are benign and attack rows;
        a class with no row is not scored, rather than counted as F1 0, or 1 where nothing was flagged). NaN
        without rows."""
        tp, fp, fn = self.detected, self.false_alarms, self.missed
        tn = self.n_benign - fp
        f1s = []
        if self.n_attack:
            f1s.append(2 * tp / (2 * tp + fp + fn))
        if self.n_benign:
            f1s.append(2 * tn / (2 * tn + fn + fp))
        return sum(f1s) / len(f1s) if f1s else float("nan")

    def sentence(self) -> str:
        """The cost in plain words."""
        fa = f"{self.false_alarms_per_10k:,.1f}" if self.n_benign else "n/a"
        mr = f"{self.missed_rate:.2%}" if self.n_attack else "n/a"
        return (f"At threshold {self.threshold:.3f}: {fa} false alarms per 10,000 benign flows "
                f"({self.false_alarms:,} of {self.n_benign:,} benign flows flagged); {self.missed:,} of "
                f"{self.n_attack:,} attack flows missed ({mr}).")  # fmt: skip


def _in_precision_of(p: np.ndarray, threshold):
    """``threshold`` in the precision of the probabilities ``p``, as :func:`core.pipeline.decide` compares a saved
    (Python float) threshold: a float32 0.7 reaches 0.7. A NumPy float64 threshold (a grid from ``np.linspace``)
    would otherwise be compared in float64, where the float32 0.7 (0.69999998) falls short of it."""
    return p.dtype.type(threshold) if p.dtype.kind == "f" else threshold


def cost_at(is_attack: np.ndarray, p_attack: np.ndarray, threshold: float) -> ThresholdCost:
    """False alarms and missed attacks when a flow is flagged where ``p_attack >= threshold`` (compared in the
    probabilities' own precision, as scoring compares them)."""
    is_attack = np.asarray(is_attack, dtype=bool)
    p = np.asarray(p_attack)
    flagged = p >= _in_precision_of(p, threshold)
    return ThresholdCost(
        threshold=float(threshold),
        n_benign=int((~is_attack).sum()),
        n_attack=int(is_attack.sum()),
        false_alarms=int((flagged & ~is_attack).sum()),
        missed=int((~flagged & is_attack).sum()),
    )


#: Thresholds a search tries: the alarm-threshold slider's steps.
GRID = tuple(round(k / 100, 2) for k in range(1, 100))


def best_threshold(is_attack: np.ndarray, p_attack: np.ndarray) -> ThresholdCost:
    """The :data:`GRID` threshold with the highest benign-vs-attack macro-F1 on these rows (ties: the one nearest
    the default 0.5), as its :class:`ThresholdCost`. Chosen on the rows given: judge it on others.

    Rows of one kind only (attacks, or benign flows) are refused with a CoreError: there a threshold trades nothing
    off (on attacks alone, flagging every flow is 'perfect'), so none can be chosen on them."""
    is_attack = np.asarray(is_attack, dtype=bool)
    if is_attack.all() or not is_attack.any():
        raise CoreError("choosing an alarm threshold needs both benign and attack rows whose true class is known "
                        f"(these {len(is_attack):,} rows hold {'only attacks' if is_attack.any() else 'no attack'})",
                        hint="choose it on labelled flows that hold benign traffic and attacks")  # fmt: skip
    table = cost_table(is_attack, p_attack, GRID)
    return max(table, key=lambda c: (round(c.macro_f1, 12), -abs(c.threshold - DEFAULT_THRESHOLD)))


def cost_table(is_attack: np.ndarray, p_attack: np.ndarray, thresholds) -> list[ThresholdCost]:
    """:func:`cost_at` for each threshold (sorted once, so it stays fast for many thresholds)."""
    is_attack = np.asarray(is_attack, dtype=bool)
    p = np.asarray(p_attack)  # in its own precision, as decide() compares it: float32 0.7 reaches a threshold 0.7
    benign_sorted = np.sort(p[~is_attack])
    attack_sorted = np.sort(p[is_attack])
    out = []
    for t in thresholds:
        at = _in_precision_of(p, t)
        fa = len(benign_sorted) - int(np.searchsorted(benign_sorted, at, side="left"))
        missed = int(np.searchsorted(attack_sorted, at, side="left"))
        out.append(ThresholdCost(float(t), len(benign_sorted), len(attack_sorted), fa, missed))
    return out


@dataclass(frozen=True)
class Curves:
    """ROC and precision-recall curves of benign-vs-attack, and the operating point on each."""

    fpr: np.ndarray
    tpr: np.ndarray
    roc_thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    pr_thresholds: np.ndarray
    roc_auc: float
    average_precision: float
    operating: ThresholdCost
    operating_precision: float


def curves(is_attack: np.ndarray, p_attack: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> Curves:
    """ROC and precision-recall curves (scikit-learn), with the point of ``threshold`` marked."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    is_attack = np.asarray(is_attack, dtype=bool)
    if is_attack.all() or not is_attack.any():
        raise CoreError("the curves need both benign and attack rows whose true class is known",
                        hint="analyse files that hold benign traffic and attacks")  # fmt: skip
    fpr, tpr, roc_t = roc_curve(is_attack, p_attack)
    precision, recall, pr_t = precision_recall_curve(is_attack, p_attack)
    op = cost_at(is_attack, p_attack, threshold)
    flagged = op.false_alarms + op.detected
    return Curves(fpr=fpr, tpr=tpr, roc_thresholds=roc_t, precision=precision, recall=recall, pr_thresholds=pr_t,
                  roc_auc=float(roc_auc_score(is_attack, p_attack)),
                  average_precision=float(average_precision_score(is_attack, p_attack)),
                  operating=op, operating_precision=op.detected / flagged if flagged else 1.0)  # fmt: skip


def with_operating_point(cv: Curves, is_attack: np.ndarray, p_attack: np.ndarray, threshold: float) -> Curves:
    """The same curves with the operating point moved to ``threshold`` (no curve is recomputed)."""
    from dataclasses import replace

    op = cost_at(is_attack, p_attack, threshold)
    flagged = op.false_alarms + op.detected
    return replace(cv, operating=op, operating_precision=op.detected / flagged if flagged else 1.0)


# ---------------------------------------------------------------------------------- saving


#: The metadata that tells one saved model from another saved under the same name later.
_IDENTITY_KEYS = ("saved_at", "created_at", "family", "task", "layout")


def _identity(meta: dict) -> tuple:
    return (*(meta.get(k) for k in _IDENTITY_KEYS), (meta.get("data") or {}).get("train_fingerprint_sha256"))


def _folder_id(folder: Path) -> tuple | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def update_metadata(folder: str | os.PathLike, *, expected: dict | None = None, **fields) -> dict:
    """Set ``fields`` in a model folder's ``metadata.json`` in place, atomically (a temporary file in
    the same folder renamed over it), so that a reader never sees half a file. ``None`` removes a field.

    Read and written under the name's exclusive registry lock (:func:`core.pipeline.registry_lock`), the one that
    saving and deleting take: another session cannot put another model in the folder between the read and the write.
    A model replaced or deleted since ``expected`` (metadata read earlier, e.g. of the model the user looked at;
    default: read now) is refused with a CoreError, and so is a metadata file that cannot be written."""
    folder = Path(folder)
    seen_folder = None
    if expected is None:
        expected = read_metadata(folder)
        seen_folder = _folder_id(folder)
    return _update_locked(folder, expected, seen_folder, fields)


def _update_locked(folder: Path, expected: dict, seen_folder: tuple | None, fields: dict) -> dict:
    name = folder.name
    with registry_lock(folder):
        try:
            meta = read_metadata(folder)
        except ModelFormatError:
            if not folder.is_dir():
                raise CoreError(f"the model {name!r} was deleted (by another session) before this change could be "
                                "saved", hint="refresh the list of models") from None  # fmt: skip
            raise
        if _identity(meta) != _identity(expected) or (seen_folder is not None and _folder_id(folder) != seen_folder):
            raise CoreError(f"the model {name!r} was replaced by another model of that name (saved by another session) "
                            "while this change was being made; nothing was changed",
                            hint="load the model again, check it is the one you mean, and make the change again")  # fmt: skip
        for key, value in fields.items():
            if value is None:
                meta.pop(key, None)
            else:
                meta[key] = value
        try:
            write_text_atomic(folder / METADATA_FILE, json.dumps(meta, indent=2))
        except OSError as exc:
            raise CoreError(f"{folder / METADATA_FILE} could not be written ({exc.strerror or exc}); nothing was "
                            "changed", hint="the model folder must be writable by this account: check its "
                            "permissions, or make the change as its owner") from None  # fmt: skip
    return meta


def save_threshold(folder: str | os.PathLike, threshold: float | None, chosen_on: str | None = None, *,
                   expected: dict | None = None) -> dict:  # fmt: skip
    """Store the alarm threshold of a 2-class model (``None`` goes back to the default, 0.5), and what it was
    chosen on (``chosen_on``: the rows looked at, in words), which every evaluation with it then repeats: a
    threshold chosen on the rows it is scored on flatters the score.

    ``expected``: the metadata of the model the threshold was chosen for (``TrainedModel.metadata``); if another
    model has been saved under its name since, nothing is changed (a CoreError says so). Without it, the model read
    here at the start. The change is made under the registry lock (:func:`update_metadata`)."""
    folder = Path(folder)
    meta = read_metadata(folder)
    seen_folder = _folder_id(folder)
    if expected is not None and _identity(expected) != _identity(meta):
        raise CoreError(f"the model {folder.name!r} was replaced by another model of that name (saved by another "
                        "session) since it was loaded; nothing was changed",
                        hint="load the model again, check it is the one you mean, and make the change again")  # fmt: skip
    if int(meta["task"]) != 2:
        raise CoreError(f"{Path(folder).name} is a {meta['task']}-class model; an alarm threshold applies to "
                        "2-class (benign or attack) models only", hint="choose a 2-class model")  # fmt: skip
    if threshold is not None:
        threshold = float(threshold)
        if not 0.0 < threshold <= 1.0:
            raise CoreError(f"alarm threshold {threshold} is outside (0, 1]",
                            hint="choose a probability above 0 and at most 1")  # fmt: skip
    return _update_locked(folder, meta, seen_folder, {"alarm_threshold": threshold,
                          "alarm_threshold_chosen_on": chosen_on if threshold is not None else None})  # fmt: skip


def validation_rows_label(suggested: dict) -> str:
    """What a threshold chosen at training (``metadata["alarm_threshold_validation"]``) was chosen on, in words."""
    return f"the model's {int(suggested.get('rows', 0)):,} validation rows at training"


#: Thresholds whose cost ``python -m core threshold --data`` lists, besides the saved and the validation ones.
COST_STEPS = tuple(round(k / 10, 1) for k in range(1, 10))


def saved_since_training(meta: dict) -> bool:
    """Whether a model decides at another threshold than the 0.50 its stored scores were measured at: a 2-class
    model with an alarm threshold saved after training (a saved 0.50 decides as the default does)."""
    return int(meta.get("task") or 0) == 2 and meta.get("alarm_threshold") not in (None, DEFAULT_THRESHOLD)


def on_grid(t: float) -> bool:
    """Whether a threshold is on the 0.01 grid (``0.70``; not ``0.705``): shown with two decimals."""
    return abs(round(float(t), 2) - float(t)) < 1e-9


def threshold_text(t: float) -> str:
    """A threshold as shown everywhere (:func:`core.words.probability_text`): two decimals on the 0.01 grid
    (``0.70``), else the digits it has, written out (``0.705``, ``0.0000001``; rounded to two, 0.705 read as 0.70
    while 0.705 was in use, and ``:g`` wrote 1e-07)."""
    return probability_text(t)


def state_text(meta: dict) -> str:
    """What a 2-class model decides at, in words: ``the default, 0.50 (none saved)`` or ``0.70, chosen on ...``."""
    saved = meta.get("alarm_threshold")
    if saved is None:
        return f"the default, {DEFAULT_THRESHOLD:.2f} (none saved)"
    chosen = meta.get("alarm_threshold_chosen_on")
    return threshold_text(saved) + (f", chosen on {chosen}" if chosen else " (where it was chosen is not recorded)")


def validation_text(meta: dict) -> str | None:
    """The threshold found best on the model's validation rows at training, in words (None when none was stored).

    In plain words, the expert's terms in brackets, scores to 3 decimals as everywhere else (it said "macro-F1 on its
    validation rows (760 flows it was not fitted on) was highest at 0.51: 0.8922, against 0.8891 at 0.50").
    """
    suggested = meta.get("alarm_threshold_validation")
    if not suggested:
        return None
    refit = "; the model was then retrained on all rows" if suggested.get("of_first_fit") else ""
    best, at_default = float(suggested["macro_f1"]), float(suggested["macro_f1_at_default"])
    lead = (f"at training, the model was tried at several alarm thresholds on {suggested['rows']:,} flows held back to "
            f"test it (its validation rows{refit}); its score there (macro-F1: {MACRO_F1_WORDS}) was highest at ")  # fmt: skip
    # At the default: not "highest at 0.50: 0.9065, against 0.9065 at 0.50".
    if abs(float(suggested["threshold"]) - DEFAULT_THRESHOLD) < 1e-9:
        return f"{lead}{DEFAULT_THRESHOLD:.2f}, the default ({best:.3f}): no other threshold did better there"
    if f"{best:.3f}" == f"{at_default:.3f}":  # not "0.892, against 0.892"
        return (f"{lead}{suggested['threshold']:.2f}, by under 0.001 over the default {DEFAULT_THRESHOLD:.2f} "
                f"({best:.3f} at both)")  # fmt: skip
    return f"{lead}{suggested['threshold']:.2f} ({best:.3f}, against {at_default:.3f} at the default {DEFAULT_THRESHOLD:.2f})"


def uses_validation_choice(meta: dict) -> bool:
    """Whether the saved threshold is the one found best on the validation rows."""
    suggested, saved = meta.get("alarm_threshold_validation"), meta.get("alarm_threshold")
    return bool(suggested) and saved is not None and abs(float(saved) - float(suggested["threshold"])) < 1e-9


def model_threshold(meta: dict) -> float:
    """The alarm threshold a model's metadata holds, else the default 0.5."""
    value = meta.get("alarm_threshold")
    return float(value) if value is not None else DEFAULT_THRESHOLD
