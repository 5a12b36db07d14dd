"""Comparing models on the same rows, and the paper's full comparison (families x tasks).

Used by the dashboard's Compare page and by ``python -m core benchmark-models``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError
from .evaluation import WARNING, EvaluationReport
from .loading import UNLABELLED, Dataset, load_split, row_hashes
from .pipeline import TrainedModel
from .taxonomy import TASKS, classes_for_task, codes_for_task
from .training import TrainProgress, train_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelScore:
    """One model's report on one dataset, with its speed."""

    name: str
    family: str
    task: int
    report: EvaluationReport
    rows_per_second: float
    fit_seconds: float | None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "rows_per_second": self.rows_per_second,
            "fit_seconds": self.fit_seconds,
            "report": self.report.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ModelScore:
        return cls(name=str(d["name"]), family=str(d["family"]), task=int(d["task"]),
                   report=EvaluationReport.from_dict(d["report"]), rows_per_second=float(d["rows_per_second"]),
                   fit_seconds=None if d.get("fit_seconds") is None else float(d["fit_seconds"]))  # fmt: skip


def score_model(model: TrainedModel, data: Dataset, *, exclude_rows_in: Dataset | None = None) -> ModelScore:
    """Evaluate ``model`` on ``data`` and time its scoring (preprocessing included, after a warm-up)."""
    predictions, elapsed = model.predict_timed(data)
    report = model.evaluate(data, predictions=predictions, exclude_rows_in=exclude_rows_in)
    return ModelScore(
        name=model.name,
        family=model.family,
        task=model.task,
        report=report,
        rows_per_second=len(data) / max(elapsed, 1e-9),
        fit_seconds=(model.metadata.get("timing") or {}).get("fit_seconds"),
    )


def compare_models(
    models: list[TrainedModel],
    data: Dataset,
    *,
    exclude_rows_in: Dataset | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[ModelScore]:
    """Score several models of one task on the same rows."""
    tasks = {m.task for m in models}
    if len(tasks) > 1:
        raise ValueError(f"models of different tasks cannot be compared on one chart: {sorted(tasks)}")
    out = []
    for i, model in enumerate(models):
        if progress:
            progress(i, len(models), f"scoring {model.name}")
        out.append(score_model(model, data, exclude_rows_in=exclude_rows_in))
    if progress:
        progress(len(models), len(models), "done")
    return out


#: The paper's comparison: its CNN against four baselines.
PAPER_FAMILIES: tuple[str, ...] = ("paper-cnn", "lr", "adaboost", "dnn", "rf")
#: Baselines beyond the paper's: gradient-boosted trees, the strongest of the usual tabular models on some tasks.
EXTRA_BASELINES: tuple[str, ...] = ("gbt",)
#: Every family: our improved CNN and it averaged with a forest first, then the paper's comparison, then the rest.
ALL_FAMILIES: tuple[str, ...] = ("cnn", "cnn-rf", *PAPER_FAMILIES, *EXTRA_BASELINES)


def _note_line(note: str) -> str:
    """One Markdown line for a note under a task's results: a warning in bold, any other note as a note."""
    return f"**Warning:** {note.removeprefix(WARNING)}" if note.startswith(WARNING) else f"Note: {note}"


def overlap_notes(train: Dataset, test: Dataset, tasks: tuple[int, ...]) -> dict[int, str]:
    """Per task, a note on the labelled test rows whose exact feature vector (at float32) also occurs in the
    training rows, and on those of them that occur there **only under other classes** of the task.

    The latter cannot all be classified right by a model fitted on these training rows: what it learnt for
    that vector is another class. On the v2 sample, one vector is 671 Recon-OS_Scan and 1,225
    Recon-Port_Scan test rows, and 50 Recon-VulScan training rows. Tasks with no such rows get no note.
    """
    tr, te = train.y != UNLABELLED, test.y != UNLABELLED
    if not tr.any() or not te.any():
        return {}
    h_tr, h_te = row_hashes(train.X[tr]), row_hashes(test.X[te])
    also = np.isin(h_te[:, 0], h_tr[:, 0]) & np.isin(h_te[:, 1], h_tr[:, 1])
    if not also.any():
        return {}
    n = int(te.sum())
    salt = np.uint64(0x9E3779B97F4A7C15)
    notes = {}
    for task in tasks:
        c_tr, c_te = codes_for_task(train.y[tr], task), codes_for_task(test.y[te], task)
        # (vector, class) pairs: the class folded into both halves of the row's 128-bit hash
        with np.errstate(over="ignore"):
            p_tr = (h_tr[:, 0] ^ (c_tr.astype(np.uint64) * salt), h_tr[:, 1] + c_tr.astype(np.uint64))
            p_te = (h_te[:, 0] ^ (c_te.astype(np.uint64) * salt), h_te[:, 1] + c_te.astype(np.uint64))
        same = np.isin(p_te[0], p_tr[0]) & np.isin(p_te[1], p_tr[1])
        other = also & ~same
        text = (
            f"{int(also.sum()):,} of the {n:,} labelled test rows ({also.mean():.1%}) also occur in the training rows"
        )
        if other.any():
            names = classes_for_task(task)
            counts = np.bincount(c_te[other], minlength=len(names))
            order = [k for k in np.argsort(-counts, kind="stable") if counts[k]]
            worst = ", ".join(f"{names[k]} {counts[k]:,}" for k in order[:5])
            if len(order) > 5:
                worst += f" and {int(counts[order[5:]].sum()):,} in {len(order) - 5} other classes"
            text += (
                f"; {int(other.sum()):,} of them ({other.mean():.1%} of the test rows: {worst}) occur there only "
                "under other classes, so a model fitted on these training rows is expected to get them wrong"
            )
        notes[task] = text + "."
    return notes


def run_benchmark(
    data_dir: str | Path,
    *,
    families: tuple[str, ...] = PAPER_FAMILIES,
    tasks: tuple[int, ...] = TASKS,
    params: dict[str, dict] | None = None,
    max_rows_per_class: int | None = None,
    seed: int = 0,
    drop_train_duplicates: bool = False,
    refit: bool = True,
    models_dir: str | Path | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
) -> list[ModelScore]:
    """Train every family for every task on ``DIR/train`` and score it on ``DIR/test``.

    The data is read once. With ``models_dir``, each trained model is saved there. With ``refit`` (default),
    every family is refitted on all of ``DIR/train`` after validation, so that all are fitted on the same rows.
    ``progress`` receives the overall fraction over all (family, task) jobs.
    """
    report = progress or (lambda ev: None)
    report(TrainProgress("load", 0.0, f"reading {data_dir}"))
    train = load_split(data_dir, "train", max_rows_per_class=max_rows_per_class, seed=seed)
    test = load_split(data_dir, "test", layout=train.layout)
    trainable = [t for t in tasks if len(np.unique(codes_for_task(train.y, t))) >= 2]
    for t in sorted(set(tasks) - set(trainable)):
        message = f"skipped the {t}-class task: the training data has only one of its classes"
        log.warning(message)
        report(TrainProgress("load", 0.0, message))
    overlap = overlap_notes(train, test, tuple(trainable))
    if drop_train_duplicates:
        overlap = {t: n + " They are left out of the scores here." for t, n in overlap.items()}
    jobs = [(f, t) for t in trainable for f in families]
    scores = []
    for j, (family, task) in enumerate(jobs):

        def sub(ev: TrainProgress, j=j, family=family, task=task):
            report(TrainProgress(ev.stage, (j + ev.fraction) / len(jobs),
                                 f"[{j + 1}/{len(jobs)}] {family}, {task} classes: {ev.message}", ev.metrics))  # fmt: skip

        model, _ = train_model(family, task, train, params=(params or {}).get(family), seed=seed, refit=refit,
                               progress=sub, data_description=str(data_dir))  # fmt: skip
        score = score_model(model, test, exclude_rows_in=train if drop_train_duplicates else None)
        score.report.notes.extend(model.metadata.get("fit_notes", []))
        score.report.notes.extend(f"{WARNING}{w}" for w in model.metadata.get("fit_warnings", []))
        if task in overlap:
            score.report.notes.append(overlap[task])
        model.metadata["metrics"]["test"] = score.report.to_dict()
        if models_dir is not None:
            model.save(Path(models_dir) / f"bench-{family}-{task}class-{train.layout.name}", overwrite=True)
        scores.append(score)
    report(TrainProgress("done", 1.0, "benchmark finished"))
    return scores


def common_notes(scores: list[ModelScore]) -> list[str]:
    """The notes every one of ``scores``' reports carries (about the data rather than one model), in order."""
    if not scores:
        return []
    return [n for n in scores[0].report.notes if all(n in s.report.notes for s in scores[1:])]


def task_notes(scores: list[ModelScore]) -> list[str]:
    """The notes to show under one task's results: those every model's report carries (about the data), then
    each model's own (e.g. the forest weight ``cnn-rf`` chose), in order, each once."""
    common = common_notes(scores)
    own = [n for s in scores for n in s.report.notes if n not in common]
    return list(dict.fromkeys([*common, *own]))


def results_markdown(scores: list[ModelScore], title: str = "") -> str:
    """A Markdown table per task: macro-F1 first, then weighted-F1, accuracy, speed."""
    lines = [f"# {title}", ""] if title else []
    for task in sorted({s.task for s in scores}):
        lines += [f"## {task} classes", "",
                  "| model | macro-F1 | weighted-F1 | accuracy | macro precision | macro recall | train s | rows/s scored |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for s in [s for s in scores if s.task == task]:
            r = s.report
            fit = f"{s.fit_seconds:.1f}" if s.fit_seconds is not None else "-"
            lines.append(f"| {s.family} | {r.macro_f1:.4f} | {r.weighted_f1:.4f} | {r.accuracy:.4f} | "
                         f"{r.macro_precision:.4f} | {r.macro_recall:.4f} | {fit} | {s.rows_per_second:,.0f} |")  # fmt: skip
        task_scores = [s for s in scores if s.task == task]
        labels = task_scores[0].report.scored_labels
        lines += ["", "Per-class F1:", "", "| class | " + " | ".join(s.family for s in task_scores) + " |",
                  "|---|" + "---|" * len(task_scores)]  # fmt: skip
        for c in labels:
            row = [f"{s.report.per_class.get(c, {}).get('f1', float('nan')):.3f}" for s in task_scores]
            lines.append(f"| {c} | " + " | ".join(row) + " |")
        notes = task_notes(task_scores)
        if notes:
            lines += ["", *(_note_line(n) for n in notes)]
        lines.append("")
    return "\n".join(lines)


def read_results(text: str | bytes, source: str = "results.json") -> list[ModelScore]:
    """The scores in a ``results.json`` written by :func:`write_results` (``benchmark-models --out``, or the
    Compare page's download). Raises :class:`DataError` naming ``source`` and the first bad entry."""
    hint = "choose the results.json that `python -m core benchmark-models --out DIR` wrote into DIR"
    try:
        entries = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"not JSON ({e})", file=source, hint=hint) from None
    if not isinstance(entries, list) or not entries:
        raise DataError("expected a non-empty list of model results", file=source, hint=hint)
    scores = []
    for i, entry in enumerate(entries, 1):
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("report"), dict):
                raise ValueError("expected an object with a 'report'")
            needed = [f.name for f in dataclasses.fields(EvaluationReport) if f.default is dataclasses.MISSING
                      and f.default_factory is dataclasses.MISSING]  # fmt: skip
            lacking = [k for k in needed if k not in entry["report"]]
            if lacking:
                raise ValueError(f"its report lacks {', '.join(lacking)}")
            score = ModelScore.from_dict(entry)
            if score.task not in TASKS:
                raise ValueError(f"task {score.task} is not one of {TASKS}")
            if set(score.report.per_class) != set(score.report.labels):
                raise ValueError("its per-class scores do not match its class list")
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise DataError(f"entry {i} is not a model result: {what}", file=source, hint=hint) from None
        scores.append(score)
    return scores


def write_results(
    scores: list[ModelScore], out_dir: str | Path, title: str = "", footer: str = ""
) -> tuple[Path, Path]:
    """Write ``results.md`` (with ``footer`` after the tables) and ``results.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "results.md"
    js = out / "results.json"
    md.write_text(results_markdown(scores, title) + (f"\n{footer}\n" if footer else ""))
    js.write_text(json.dumps([s.to_dict() for s in scores], indent=2))
    return md, js
