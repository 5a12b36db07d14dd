"""Honest evaluation: one frozen report shared by the command line, the dashboard and plots.

Macro-F1 comes first: on CICIoMT2024 the largest class is over 2,000 times the smallest,
so accuracy and weighted averages hide the small classes.

Macro averages are taken over the classes present in the truth. A class the model
predicts but that never occurs in the truth is still listed (support 0), and its false
alarms lower the recall of the classes they were taken from.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .words import counted

#: How a note of a report that warns about the model (e.g. its boosting diverged) begins: shown as a warning, not
#: a remark.
WARNING = "Warning: "


@dataclass(frozen=True)
class EvaluationReport:
    """Scores of one model on one labelled set.

    Attributes
    ----------
    labels : list of str
        Class order of ``confusion_matrix`` rows (truth) and columns (prediction).
    confusion_matrix : list of list of int
    per_class : dict
        ``label -> {"precision", "recall", "f1", "support"}``.
    absent_classes : list of str
        Classes of the task with no row in the truth (reported, not scored).
    duplicates_removed : int or None
        Test rows left out because they also occur in train, when that was asked for.
    """

    task: int
    labels: list[str]
    n_rows: int
    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    weighted_precision: float
    weighted_recall: float
    weighted_f1: float
    per_class: dict[str, dict[str, float]]
    confusion_matrix: list[list[int]]
    absent_classes: list[str] = field(default_factory=list)
    duplicates_removed: int | None = None
    notes: list[str] = field(default_factory=list)  # those starting with WARNING are warnings about the model

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EvaluationReport:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    @property
    def scored_labels(self) -> list[str]:
        """Classes with support in the truth (those the macro average is over)."""
        return [c for c in self.labels if self.per_class[c]["support"] > 0]

    def headline(self) -> str:
        """One line: macro-F1 first, then weighted-F1 and accuracy."""
        # None: not asked for; 0: asked for, and none found (said, so that the option is seen to have run)
        dup = ("" if self.duplicates_removed is None
               else f", {counted(self.duplicates_removed, 'test row')} also in train removed")  # fmt: skip
        return (
            f"macro-F1 {self.macro_f1:.4f} | weighted-F1 {self.weighted_f1:.4f} | accuracy {self.accuracy:.4f} "
            f"({counted(self.n_rows, 'row')}, {counted(len(self.scored_labels), 'class', 'classes')}{dup})"
        )


def _class_codes(codes, name: str, task_classes: tuple[str, ...]) -> np.ndarray:
    """``codes`` as int64 class codes into ``task_classes``, refused where one is not a class of the task.

    Cast blindly, an unlabelled row's ``-1`` became the task's last class (a negative index: a row of unknown class
    scored as a found attack) and ``0.7`` became class 0."""
    raw = np.asarray(codes)
    if raw.dtype.kind == "f":
        if not np.isfinite(raw).all() or (raw != np.round(raw)).any():
            bad = raw[~np.isfinite(raw) | (raw != np.round(raw))][0]
            raise ValueError(f"{name} holds {float(bad)}: class codes must be whole numbers, indices into the task's "
                             f"{len(task_classes)} classes")  # fmt: skip
    elif raw.dtype.kind not in "iub" and raw.size:
        raise ValueError(f"{name} must hold class codes (whole numbers), not values of type {raw.dtype}")
    out = raw.astype(np.int64)
    outside = (out < 0) | (out >= len(task_classes))
    if outside.any():
        raise ValueError(f"{name} holds {counted(int(outside.sum()), 'code')} outside the task's "
                         f"{len(task_classes)} classes (0..{len(task_classes) - 1}), e.g. {int(out[outside][0])}"
                         + ("; rows without a known class (-1) must be left out before scoring"
                            if (out < 0).any() else ""))  # fmt: skip
    return out


def evaluate(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    task: int,
    task_classes: tuple[str, ...],
    duplicates_removed: int | None = None,
    notes: list[str] | None = None,
) -> EvaluationReport:
    """Score predictions against the truth.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n,)
        Class codes into ``task_classes`` (the task's full class list).
    task : int
    task_classes : tuple of str
        All classes of the task, in canonical order.

    Raises
    ------
    ValueError
        Shapes that differ, no rows, or a code that is not a class of the task (an unlabelled row's -1 included).
    """
    from sklearn.metrics import classification_report, confusion_matrix

    y_true = _class_codes(y_true, "y_true", task_classes)
    y_pred = _class_codes(y_pred, "y_pred", task_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    if len(y_true) == 0:
        raise ValueError("cannot evaluate on zero rows")
    present = np.unique(y_true)
    used = np.union1d(present, np.unique(y_pred))
    labels = [task_classes[i] for i in used]
    with warnings.catch_warnings():  # one class only: scikit-learn warns of it, though the labels are given
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        cm = confusion_matrix(y_true, y_pred, labels=used)
        rep = classification_report(y_true, y_pred, labels=used, target_names=labels, output_dict=True,
                                    zero_division=0)  # fmt: skip
    per_class = {
        lab: {
            k: (int(rep[lab][k]) if k == "support" else float(rep[lab][k]))
            for k in ("precision", "recall", "f1-score", "support")
        }
        for lab in labels
    }
    per_class = {lab: {("f1" if k == "f1-score" else k): v for k, v in d.items()} for lab, d in per_class.items()}
    scored = [task_classes[i] for i in present]
    support = np.array([per_class[c]["support"] for c in scored], dtype=np.float64)

    def avg(metric: str, weighted: bool) -> float:
        vals = np.array([per_class[c][metric] for c in scored])
        return float(np.average(vals, weights=support) if weighted else vals.mean())

    return EvaluationReport(
        task=task,
        labels=labels,
        n_rows=len(y_true),
        accuracy=float((y_true == y_pred).mean()),
        macro_precision=avg("precision", False),
        macro_recall=avg("recall", False),
        macro_f1=avg("f1", False),
        weighted_precision=avg("precision", True),
        weighted_recall=avg("recall", True),
        weighted_f1=avg("f1", True),
        per_class=per_class,
        confusion_matrix=cm.astype(int).tolist(),
        absent_classes=[c for i, c in enumerate(task_classes) if i not in set(present.tolist())],
        duplicates_removed=duplicates_removed,
        notes=list(notes or []),
    )
