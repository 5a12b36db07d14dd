"""Comparing models on the same rows, and the paper's full comparison (families x tasks).

Used by the dashboard's Compare page and by ``python -m core benchmark-models``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .evaluation import EvaluationReport
from .loading import Dataset, load_split
from .pipeline import TrainedModel
from .taxonomy import TASKS, codes_for_task
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


def score_model(model: TrainedModel, data: Dataset, *, exclude_rows_in: Dataset | None = None) -> ModelScore:
    """Evaluate ``model`` on ``data`` and time its scoring (preprocessing included)."""
    started = time.perf_counter()
    predictions = model.predict(data)
    elapsed = time.perf_counter() - started
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
#: Every family: our improved CNN first, then the paper's comparison.
ALL_FAMILIES: tuple[str, ...] = ("cnn", *PAPER_FAMILIES)


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
    jobs = [(f, t) for t in trainable for f in families]
    scores = []
    for j, (family, task) in enumerate(jobs):

        def sub(ev: TrainProgress, j=j, family=family, task=task):
            report(TrainProgress(ev.stage, (j + ev.fraction) / len(jobs),
                                 f"[{j + 1}/{len(jobs)}] {family}, {task} classes: {ev.message}", ev.metrics))  # fmt: skip

        model, _ = train_model(family, task, train, params=(params or {}).get(family), seed=seed, refit=refit,
                               progress=sub, data_description=str(data_dir))  # fmt: skip
        score = score_model(model, test, exclude_rows_in=train if drop_train_duplicates else None)
        model.metadata["metrics"]["test"] = score.report.to_dict()
        if models_dir is not None:
            model.save(Path(models_dir) / f"bench-{family}-{task}class-{train.layout.name}", overwrite=True)
        scores.append(score)
    report(TrainProgress("done", 1.0, "benchmark finished"))
    return scores


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
        lines.append("")
    return "\n".join(lines)


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
