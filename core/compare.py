"""Comparing models on the same rows, and the paper's full comparison (families x tasks).

Used by the dashboard's Compare page and by ``python -m core benchmark-models``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .errors import CoreError, DataError
from .evaluation import WARNING, EvaluationReport
from .loading import UNLABELLED, Dataset, load_split, load_test_split, row_hashes, split_files
from .models import make_detector
from .paths import write_text_atomic
from .pipeline import TrainedModel, TrainRows, fingerprint, read_metadata
from .taxonomy import TASKS, classes_for_task, codes_for_task, finest_task, known_for_task
from .training import Cancelled, TrainProgress, train_model
from .words import counted, listed

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
    #: what a benchmark job was run with (:func:`job_settings`), so that ``--resume`` can tell whether it still holds
    settings: dict | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "task": self.task,
            "rows_per_second": self.rows_per_second,
            "fit_seconds": self.fit_seconds,
            "report": self.report.to_dict(),
            **({"settings": self.settings} if self.settings is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ModelScore:
        return cls(name=str(d["name"]), family=str(d["family"]), task=int(d["task"]),
                   report=EvaluationReport.from_dict(d["report"]), rows_per_second=float(d["rows_per_second"]),
                   fit_seconds=None if d.get("fit_seconds") is None else float(d["fit_seconds"]),
                   settings=_settings_of(d))  # fmt: skip


@dataclass(frozen=True)
class JobFailure:
    """A (family, task) of a benchmark that could not be trained or scored: what went wrong and what to do.

    A benchmark records it and goes on with the next job, so that one failure (a forest too large for the
    memory, hours into a run at full scale) does not lose the other results.
    """

    family: str
    task: int
    message: str
    hint: str | None = None
    settings: dict | None = None

    def to_dict(self) -> dict:
        return {"family": self.family, "task": self.task, "failed": self.message, "hint": self.hint,
                **({"settings": self.settings} if self.settings is not None else {})}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> JobFailure:
        if not isinstance(d["failed"], str) or not isinstance(d["family"], str):
            raise ValueError("a failed entry needs a family and a message")
        hint = d.get("hint")
        return cls(family=d["family"], task=int(d["task"]), message=d["failed"], hint=None if hint is None else str(hint),
                   settings=_settings_of(d))  # fmt: skip

    @classmethod
    def from_exception(cls, family: str, task: int, exc: Exception) -> JobFailure:
        """What went wrong and what to do, by the kind of error."""
        if isinstance(exc, CoreError):
            return cls(family, task, str(exc), exc.hint)
        if isinstance(exc, MemoryError):
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return cls(family, task, f"out of memory ({detail})",
                       "train on fewer rows (--max-rows-per-class N), or for the forest set --rf-min-leaf 5; "
                       "docs/full-dataset-protocol.md gives the memory each family needs")  # fmt: skip
        alone = f"rerun it alone (--families {family} --tasks {task} --verbose) for the traceback"
        if isinstance(exc, ValueError):  # mostly a setting out of range (scikit-learn checks them as it fits)
            return cls(
                family, task, f"{type(exc).__name__}: {exc}", f"check the settings given to {family}, or {alone}"
            )
        return cls(family, task, f"{type(exc).__name__}: {exc}", f"an unexpected error: {alone}, and report it")


@dataclass
class Results:
    """A benchmark's outcome: the scores of the (family, task) jobs that finished, and the jobs that failed."""

    scores: list[ModelScore] = field(default_factory=list)
    failures: list[JobFailure] = field(default_factory=list)
    #: the tasks the run skipped, each with why ("the training data has only one of its classes"); not written to
    #: results.json
    skipped: dict[int, str] = field(default_factory=dict)

    @property
    def tasks(self) -> list[int]:
        """The tasks with a score or a failure, in order."""
        return sorted({s.task for s in self.scores} | {f.task for f in self.failures})

    def of_task(self, task: int) -> tuple[list[ModelScore], list[JobFailure]]:
        return [s for s in self.scores if s.task == task], [f for f in self.failures if f.task == task]

    def to_json(self) -> str:
        return json.dumps([*(s.to_dict() for s in self.scores), *(f.to_dict() for f in self.failures)], indent=2)


def _settings_of(entry: dict) -> dict | None:
    settings = entry.get("settings")
    if settings is not None and not isinstance(settings, dict):
        raise ValueError("its settings are not an object")
    return settings


def run_settings(data_dir: str | Path, *, max_rows_per_class: int | None = None, seed: int = 0,
                 drop_train_duplicates: bool = False, refit: bool = True) -> dict:  # fmt: skip
    """What every job of a benchmark shares: the data (its folder, and the number, bytes and newest modification
    time of its CSV files, which are not read here) and how it is used. Raises :class:`DataError` when the folder
    lacks train/ or test/ files."""
    data = {"data": str(Path(data_dir).resolve())}
    for split in ("train", "test"):
        stats = [f.stat() for f in split_files(data_dir, split)]
        newest = datetime.fromtimestamp(max(s.st_mtime_ns for s in stats) / 1e9, UTC)
        data[split] = {"files": len(stats), "bytes": sum(s.st_size for s in stats),
                       "modified": newest.isoformat(timespec="microseconds")}  # fmt: skip
    return {**data, "max_rows_per_class": max_rows_per_class, "seed": seed,
            "drop_train_duplicates": drop_train_duplicates, "refit": refit}  # fmt: skip


def job_settings(run: dict, params: dict | None) -> dict:
    """A (family, task) job's settings: the run's and the family's parameters, as they read back from JSON."""
    return json.loads(json.dumps({**run, "params": params or {}}))


#: How each of :func:`run_settings` is named to a user (the command line's options).
_SETTING_NAMES = {"data": "data folder", "train": "train/ files", "test": "test/ files",
                  "max_rows_per_class": "--max-rows-per-class", "seed": "--seed",
                  "drop_train_duplicates": "--drop-train-duplicates", "refit": "--refit"}  # fmt: skip


def _shown(value) -> str:
    if isinstance(value, dict) and {"files", "bytes"} <= set(value):
        modified = f", the newest modified {value['modified']}" if value.get("modified") else ""
        return f"{value['files']} file{'s' * (value['files'] != 1)} of {value['bytes']:,} bytes{modified}"
    return "none" if value is None else str(value)


def check_resumable(earlier: Results, run: dict) -> None:
    """Raise :class:`CoreError` unless every job in ``earlier`` was run with ``run``'s settings (the same data,
    used the same way), saying which differ. The families' own parameters may differ: those jobs run again."""
    entries = [*earlier.scores, *earlier.failures]
    if any(e.settings is None for e in entries):
        raise CoreError("cannot resume: the earlier results do not record the settings they were made with "
                        "(an older version wrote them), so they cannot be checked against this run's",
                        hint="start afresh: choose another --out folder, or remove the earlier results.json")  # fmt: skip
    for e in entries:
        theirs = {k: v for k, v in e.settings.items() if k != "params"}
        ours = as_recorded(run, theirs)
        if theirs != ours:
            differ = [k for k in dict.fromkeys([*ours, *theirs]) if theirs.get(k) != ours.get(k)]
            said = "; ".join(f"{_SETTING_NAMES.get(k, k)} {_shown(theirs.get(k))} there, {_shown(ours.get(k))} here"
                             for k in differ)  # fmt: skip
            raise CoreError(f"cannot resume: the earlier results were made with other settings ({said})",
                            hint="resume with the earlier run's data and settings, or start afresh in another "
                            "--out folder")  # fmt: skip


def as_recorded(ours: dict, theirs: dict) -> dict:
    """``ours`` settings as ``theirs`` record them: results written before the files' modification times were
    recorded (their number and bytes only) are checked on what they record."""

    def older(k, v) -> bool:
        return isinstance(v, dict) and "modified" in v and isinstance(theirs.get(k), dict) and (
            "modified" not in theirs[k])  # fmt: skip

    return {k: {f: n for f, n in v.items() if f != "modified"} if older(k, v) else v for k, v in ours.items()}


def score_model(model: TrainedModel, data: Dataset, *,
                exclude_rows_in: Dataset | TrainRows | None = None) -> ModelScore:  # fmt: skip
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
    exclude_rows_in: Dataset | TrainRows | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[ModelScore]:
    """Score several models of one task on the same rows."""
    tasks = {m.task for m in models}
    if len(tasks) > 1:
        raise ValueError(f"models of different tasks cannot be compared on one chart: {sorted(tasks)}")
    if exclude_rows_in is not None:  # the training rows hashed once, not once per model
        exclude_rows_in = TrainRows.of(exclude_rows_in)
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


def overlap_notes(train: Dataset | TrainRows, test: Dataset, tasks: tuple[int, ...]) -> dict[int, str]:
    """Per task, a note on the labelled test rows whose exact feature vector (at float32) also occurs in the
    training rows, and on those of them that occur there **only under other classes** of the task.

    The latter cannot all be classified right by a model fitted on these training rows: what it learnt for
    that vector is another class. On the v2 sample, one vector is 671 Recon-OS_Scan and 1,225
    Recon-Port_Scan test rows, and 50 Recon-VulScan training rows. Tasks with no such rows get no note.
    ``train``: the training rows, or their :class:`~core.pipeline.TrainRows` (hashed once for this and for
    leaving the test rows out, and without holding the rows: :func:`core.pipeline.train_rows`).
    """
    rows = TrainRows.of(train)
    tr, te = rows.y != UNLABELLED, test.y != UNLABELLED
    if not tr.any() or not te.any():
        return {}
    h_te = row_hashes(test.X)[te]
    if tr.all():  # every training row labelled (as read for training): their hashes, not a copy of them
        h_tr = rows.hashes
        also = rows.contain(test.X, hashes=h_te)
    else:
        h_tr = rows.hashes[tr]
        also = np.isin(h_te[:, 0], h_tr[:, 0]) & np.isin(h_te[:, 1], h_tr[:, 1])
    if not also.any():
        return {}
    n = int(te.sum())
    salt = np.uint64(0x9E3779B97F4A7C15)
    y_tr, y_te = rows.y[tr], test.y[te]

    def pairs(h: np.ndarray, codes: np.ndarray, task: int) -> tuple[np.ndarray, np.ndarray]:
        """(vector, class) pairs: the class in ``task`` folded into both halves of each row's 128-bit hash."""
        c = codes_for_task(codes, task).astype(np.uint64)
        with np.errstate(over="ignore"):
            return h[:, 0] ^ (c * salt), h[:, 1] + c

    # The finest task each training row's label says its class at: 19, 6 (a family) or 2 (Attack).
    finest_tr = np.where(known_for_task(y_tr, 19), 19, np.where(known_for_task(y_tr, 6), 6, 2))
    notes = {}
    for model_task in tasks:
        # A model is scored at the task the test labels say (TrainedModel.evaluate): a 19-class one on family
        # labels at 6 classes, where a row is right when its family is. Every test row says its class there.
        task = min(model_task, finest_task(y_te))
        # A test row agrees with a training row of its vector when their classes are the same at the finest task
        # the training row's label says (a training row labelled DDoS agrees with a DDoS-UDP test row).
        at_tr = np.minimum(finest_tr, task)
        same = np.zeros(len(y_te), dtype=bool)
        for at in np.unique(at_tr):
            own = at_tr == at
            p_tr, p_te = pairs(h_tr[own], y_tr[own], int(at)), pairs(h_te, y_te, int(at))
            same |= np.isin(p_te[0], p_tr[0]) & np.isin(p_te[1], p_tr[1])
        other = also & ~same
        c_te = codes_for_task(y_te, task)
        scored = f" of the {task}-class task the test labels say" if task < model_task else ""
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
                f"under other classes{scored}, so a model fitted on these training rows is expected to get them wrong"
            )
        notes[model_task] = text + "."
    return notes


def untrained_classes(meta: dict, report: EvaluationReport) -> list[str]:
    """The classes of ``report``'s rows that the training rows of the model (its ``meta``) did not hold: it can never
    predict them, so their F1 is 0 by construction."""
    absent = (meta.get("data") or {}).get("classes_absent_from_training") or []  # not a required key
    return [c for c in absent if c in report.scored_labels]


def untrained_note(meta: dict, report: EvaluationReport) -> str | None:
    """In words, :func:`untrained_classes`: no model fitted on those training rows can predict them, whatever the
    family (a comparison showed 0.000 beside them and said nothing of why). None when there are none."""
    absent = untrained_classes(meta, report)
    if not absent:
        return None
    one = len(absent) == 1
    return (f"the training rows hold no {listed(absent)}, though the test rows do: no model fitted on them can predict "
            f"{'it' if one else 'them'}, so {'its' if one else 'their'} F1 is 0 for every family and lowers every "
            f"macro-F1; add training files of {'this class' if one else 'these classes'} to compare the families on "
            f"{'it' if one else 'them'}")  # fmt: skip


def training_data_note(metas: dict[str, dict], names: list[str], *, name: Callable[[str], str] = str,
                       text: Callable[[str], str] = str) -> str | None:  # fmt: skip
    """In words, which of the models ``names`` (their metadata in ``metas``) were trained on which data, grouped by
    the fingerprint of their training rows (a row cap or other files give another); None when they all share it.

    Models of the same rows that held out a validation share, or were refitted on all of them, learnt from the same
    data: the demo's network (refitted) and its other models are not told apart. A model without a recorded
    fingerprint is said to be 'not recorded', never guessed to be the same as or other than the others. Plain text:
    ``name`` writes a model's name and ``text`` a recorded folder (the dashboard escapes them for Markdown and
    bolds the names; the reports keep them as they are).
    """
    groups: dict[str, list[str]] = {}
    unknown: list[str] = []
    for n in names:
        data = (metas.get(n) or {}).get("data")
        data = data if isinstance(data, dict) else {}
        fp = data.get("train_fingerprint_sha256")
        if not isinstance(fp, str) or not fp:
            unknown.append(n)
            continue
        groups.setdefault(fp, []).append(n)
    if not unknown and len(groups) < 2:
        return None

    def what(fp: str, members: list[str]) -> str:
        data = metas[members[0]].get("data") or {}
        rows, folder = data.get("train_rows"), data.get("description")
        said = [text(folder)] if isinstance(folder, str) and folder else []
        if isinstance(rows, int) and not isinstance(rows, bool):
            said.append(counted(rows, "training row"))
        said.append(f"fingerprint {fp[:8]}")
        return f"{listed([name(m) for m in members])}: {', '.join(said)}"

    parts = [what(fp, members) for fp, members in groups.items()]
    if len(groups) >= 2:
        missing = f"; {listed([name(n) for n in unknown])}: not recorded" if unknown else ""
        return ("These models were not trained on the same training data, so their scores do not compare like with "
                "like (a model that learnt from other rows may win or lose for that alone). Trained on: "
                f"{'; '.join(parts)}{missing}. Train them on the same data to rank them fairly.")  # fmt: skip
    one = len(unknown) == 1
    return (f"The training data of {listed([name(n) for n in unknown])} is not recorded "
            f"in {'its' if one else 'their'} metadata, so whether {'it was' if one else 'they were'} trained on the "
            "same data as " + (f"the {'other' if len(names) - len(unknown) == 1 else 'others'} ({parts[0]})" if parts
            else "each other") + " cannot be told.")  # fmt: skip


def bench_model_name(family: str, task: int, layout: str) -> str:
    """The name a benchmark saves the model of (``family``, ``task``) under, for data of the ``layout`` release."""
    return f"bench-{family}-{task}class-{layout}"


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
    replace_models: bool = False,
    progress: Callable[[TrainProgress], None] | None = None,
    on_result: Callable[[Results], None] | None = None,
    resume: Results | None = None,
) -> Results:
    """Train every family for every task on ``DIR/train`` and score it on ``DIR/test``.

    The data is read once. With ``models_dir``, each trained model is saved there (:func:`bench_model_name`); a
    model of that name already there, not saved by the run ``resume`` continues, stops the run before any training
    unless ``replace_models``. With ``refit`` (default),
    every family is refitted on all of ``DIR/train`` after validation, so that all are fitted on the same rows.
    ``progress`` receives the overall fraction over all (family, task) jobs; ``on_result`` the results so far
    after each job (to write them as they come: a run at full scale takes hours).

    A job that fails (an error, the forest's memory check, out of memory) is recorded as a :class:`JobFailure`,
    reported through ``progress`` and logged, and the next job runs. Cancelling (:class:`Cancelled` from
    ``progress``) and interrupting stop the whole run.

    ``resume`` (an earlier run's results, e.g. read back from its ``results.json``) continues that run: its jobs
    that finished with the same settings are kept and not run again; those that failed, or whose family now has
    other parameters, run again; its jobs that this run does not include (other families or tasks) are kept as
    they are. It must have been made on the same data with the same run settings (:func:`check_resumable`, before
    the data is read). With ``models_dir`` too, a finished job whose model is not saved there (or whose saved model
    has other test scores) runs again, so that the folder ends up holding every model of the run.
    """
    for family in families:  # unknown families and parameters stop the run before the data is read
        try:
            make_detector(family, **((params or {}).get(family) or {}))
        except ValueError as exc:
            raise CoreError(str(exc), hint="python -m core benchmark-models --help lists the families") from None
    report = progress or (lambda ev: None)
    report(TrainProgress("load", 0.0, f"reading {data_dir}"))
    run = run_settings(data_dir, max_rows_per_class=max_rows_per_class, seed=seed,
                       drop_train_duplicates=drop_train_duplicates, refit=refit)  # fmt: skip
    if resume is not None:
        check_resumable(resume, run)
    train = load_split(data_dir, "train", max_rows_per_class=max_rows_per_class, seed=seed)
    test = load_test_split(data_dir, train)
    test_identity = {"test_rows": len(test), "test_fingerprint_sha256": fingerprint(test)}
    coarse = {t: train.too_coarse(t) for t in tasks}
    trainable = [t for t in tasks if not coarse[t] and len(np.unique(codes_for_task(train.y, t))) >= 2]
    skipped: dict[int, str] = {}
    for t in sorted(set(tasks) - set(trainable)):
        skipped[t] = "the training data has only one of its classes"
        if coarse[t]:
            rows, name, row, label = coarse[t]
            skipped[t] = (f"{counted(rows, 'training row')} say less than its classes (the first: "
                          f"{train.where(name, row)}, label {label!r})")  # fmt: skip
        message = f"skipped the {t}-class task: {skipped[t]}"
        log.warning(message)
        report(TrainProgress("load", 0.0, message))
    hashed = TrainRows.of(train)  # hashed once, for the notes and for every model's scores
    overlap = overlap_notes(hashed, test, tuple(trainable))
    if drop_train_duplicates:
        overlap = {t: n + " They are left out of the scores here." for t, n in overlap.items()}
    settings = {f: job_settings(run, (params or {}).get(f)) for f in families}

    def saved_as(family: str, task: int) -> Path:
        return Path(models_dir) / bench_model_name(family, task, train.layout.name)

    def again(family: str, task: int, before, ours: bool) -> str | None:
        """Why a job runs (``""`` when it is new), or None when the earlier run's entry is kept."""
        if not ours:
            return None
        if before is None:
            return ""
        if isinstance(before, JobFailure):
            return "failed in the earlier run, trying again: "
        if before.settings != as_recorded(settings[family], before.settings):
            return "other parameters than in the earlier run, training again: "
        if models_dir is not None and (unsaved := _not_saved(saved_as(family, task), before)):
            return f"{unsaved}, training again: "
        return None

    plan = [(family, task, before, again(family, task, before, ours))
            for family, task, before, ours in _plan(families, trainable, resume)]  # fmt: skip
    n_todo = sum(why is not None for *_, why in plan)
    if models_dir is not None and not replace_models:  # a model trained elsewhere (for hours, perhaps) is not lost
        taken = [saved_as(f, t).name for f, t, before, why in plan
                 if why is not None and before is None and saved_as(f, t).exists()]  # fmt: skip
        if taken:
            raise CoreError(
                f"{models_dir} already holds models of the names this comparison saves its models under: "
                f"{', '.join(taken)}",
                hint="delete or rename them, save the models elsewhere, or let the comparison replace them "
                "(benchmark-models --replace-models; on the Compare page, tick 'Replace saved models of the same "
                "names')",
            )
    if resume is not None:
        report(TrainProgress("load", 0.0, f"resuming: {counted(len(plan) - n_todo, 'job')} kept from the earlier run, "
                                          f"{n_todo} to run"))  # fmt: skip
    # Each job's entry: the earlier run's until this run replaces it, so that the results written as the run goes
    # never lose an earlier entry (one still to run again, or one after the job running when it is stopped).
    slots: list[ModelScore | JobFailure | None] = [before for _, _, before, _ in plan]
    j = -1
    for i, (family, task, _, why) in enumerate(plan):
        if why is None:  # kept from the earlier run: finished with these settings, or not part of this run
            continue
        j += 1

        def sub(ev: TrainProgress, j=j, family=family, task=task, why=why):
            report(TrainProgress(ev.stage, (j + ev.fraction) / n_todo,
                                 f"[{j + 1}/{n_todo}] {family}, {task} classes: {why}{ev.message}", ev.metrics))  # fmt: skip

        model = score = failure = None  # the previous job's model is not kept while this one trains
        try:
            model, _ = train_model(family, task, train, params=(params or {}).get(family), seed=seed, refit=refit,
                                   progress=sub, data_description=str(data_dir))  # fmt: skip
            score = score_model(model, test, exclude_rows_in=hashed if drop_train_duplicates else None)
        except Cancelled:
            raise
        except Exception as exc:  # recorded, and the other jobs go on
            failure = dataclasses.replace(JobFailure.from_exception(family, task, exc), settings=settings[family])
            log.warning("%s, %d classes failed: %s", family, task, failure.message,
                        exc_info=not isinstance(exc, CoreError | MemoryError))  # fmt: skip
            slots[i] = failure
            report(TrainProgress("evaluate", (j + 1) / n_todo,
                                 f"[{j + 1}/{n_todo}] {family}, {task} classes: failed: {failure.message}"))  # fmt: skip
        else:
            score = dataclasses.replace(score, settings=settings[family])
            score.report.notes.extend(model.metadata.get("fit_notes", []))
            score.report.notes.extend(f"{WARNING}{w}" for w in model.metadata.get("fit_warnings", []))
            if task in overlap:
                score.report.notes.append(overlap[task])
            if untrained := untrained_note(model.metadata, score.report):
                score.report.notes.append(untrained)
            model.metadata["metrics"]["test"] = score.report.to_dict()
            model.metadata["data"].update(test_identity)
            if models_dir is not None:
                model.save(saved_as(family, task), overwrite=True)
            slots[i] = score
        if failure is not None:
            gc.collect()  # what the failed job held (its traceback is gone now), before the next one
        if on_result:
            on_result(_collect(slots, skipped))
    results = _collect(slots, skipped)
    done = f"benchmark finished, {len(results.failures)} of {len(plan)} jobs failed" if results.failures else (
        "benchmark finished")  # fmt: skip
    report(TrainProgress("done", 1.0, done))
    return results


def _not_saved(folder: Path, score: ModelScore) -> str | None:
    """Why ``folder`` does not hold the model ``score`` was measured on (None when it does: a saved model whose test
    scores, written into its metadata when it was benchmarked, are those of ``score``)."""
    if not folder.exists():
        return f"its model is not saved in {folder.parent} (the earlier run did not save it there)"
    try:
        saved = EvaluationReport.from_dict(read_metadata(folder)["metrics"]["test"])
    except (OSError, ValueError, KeyError, TypeError, CoreError):
        saved = None
    kept = score.report  # the scores follow from the confusion matrix
    if saved is None or (saved.n_rows, saved.labels, saved.confusion_matrix) != (
            kept.n_rows, kept.labels, kept.confusion_matrix):  # fmt: skip
        return f"the model saved as {folder} is not the one the earlier run measured"
    return None


def _collect(entries: list[ModelScore | JobFailure | None], skipped: dict[int, str] | None = None) -> Results:
    return Results([e for e in entries if isinstance(e, ModelScore)], [e for e in entries if isinstance(e, JobFailure)],
                   dict(skipped or {}))  # fmt: skip


def _plan(families: tuple[str, ...], tasks: list[int], earlier: Results | None) -> list[tuple]:
    """The jobs of a run, as ``(family, task, earlier entry or None, part of this run)``, in the order of the
    results: per task, this run's families, then the earlier run's jobs that this run does not include (kept
    as they are). A family named twice (to compare two runs of it) matches the earlier entries in order."""
    waiting: dict[tuple[str, int], list] = {}
    for e in [*earlier.scores, *earlier.failures] if earlier else []:
        waiting.setdefault((e.family, e.task), []).append(e)
    plan = []
    for task in sorted(set(tasks) | {t for _, t in waiting}):
        for family in families if task in tasks else ():
            left = waiting.get((family, task))
            plan.append((family, task, left.pop(0) if left else None, True))
        plan += [(f, t, e, False) for (f, t), left in waiting.items() if t == task for e in left]
    return plan


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


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _failure_line(f: JobFailure) -> str:
    return f"**Failed: {f.family}.** {_sentence(f.message)}" + (f" What to do: {_sentence(f.hint)}" if f.hint else "")


def results_markdown(results: Results, title: str = "") -> str:
    """A Markdown table per task: macro-F1 first, then weighted-F1, accuracy, speed; the jobs that failed in the
    table as such and, under it, why and what to do."""
    lines = [f"# {title}", ""] if title else []
    for task in results.tasks:
        task_scores, failed = results.of_task(task)
        lines += [f"## {task} classes", ""]
        absent = list(task_scores[0].report.absent_classes) if task_scores else []
        if absent:  # a macro average over fewer classes is not comparable with one over all of them
            at = task_scores[0].report.task  # coarser than the task's where the test labels say no more
            of = f"the task's {task} classes" if at == task else f"the {at} classes it is scored at"
            lines += [f"Macro averages are over the {len(task_scores[0].report.scored_labels)} of {of} that occur in "
                      f"the test rows; absent there: {', '.join(absent)}.", ""]  # fmt: skip
        lines += ["| model | macro-F1 | weighted-F1 | accuracy | macro precision | macro recall | train s | rows/s scored |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for s in task_scores:
            r = s.report
            fit = f"{s.fit_seconds:.1f}" if s.fit_seconds is not None else "-"
            lines.append(f"| {s.family} | {r.macro_f1:.4f} | {r.weighted_f1:.4f} | {r.accuracy:.4f} | "
                         f"{r.macro_precision:.4f} | {r.macro_recall:.4f} | {fit} | {s.rows_per_second:,.0f} |")  # fmt: skip
        lines += [f"| {f.family} | failed (below) | - | - | - | - | - | - |" for f in failed]
        if task_scores:
            labels = task_scores[0].report.scored_labels
            lines += ["", "Per-class F1:", "", "| class | " + " | ".join(s.family for s in task_scores) + " |",
                      "|---|" + "---|" * len(task_scores)]  # fmt: skip
            for c in labels:
                row = [f"{s.report.per_class.get(c, {}).get('f1', float('nan')):.3f}" for s in task_scores]
                lines.append(f"| {c} | " + " | ".join(row) + " |")
        notes = task_notes(task_scores)
        if notes or failed:
            lines += ["", *(_failure_line(f) for f in failed), *(_note_line(n) for n in notes)]
        lines.append("")
    return "\n".join(lines)


def read_results(text: str | bytes, source: str = "results.json") -> Results:
    """The results in a ``results.json`` written by :func:`write_results` (``benchmark-models --out``, or the
    Compare page's download): scores, and the jobs that failed. Raises :class:`DataError` naming ``source`` and
    the first bad entry."""
    hint = "choose the results.json that `python -m core benchmark-models --out DIR` wrote into DIR"
    try:
        entries = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"not JSON ({e})", file=source, hint=hint) from None
    if not isinstance(entries, list) or not entries:
        raise DataError("expected a non-empty list of model results", file=source, hint=hint)
    results = Results()
    for i, entry in enumerate(entries, 1):
        try:
            if isinstance(entry, dict) and "failed" in entry:
                failure = JobFailure.from_dict(entry)
                if failure.task not in TASKS:
                    raise ValueError(f"task {failure.task} is not one of {TASKS}")
                results.failures.append(failure)
                continue
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
            _check_report(score.report)
            if set(score.report.per_class) != set(score.report.labels):
                raise ValueError("its per-class scores do not match its class list")
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise DataError(f"entry {i} is not a model result: {what}", file=source, hint=hint) from None
        results.scores.append(score)
    return results


#: The scores of a report that the tables and charts of results read back show, each a number.
_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision", "weighted_recall",
            "weighted_f1")  # fmt: skip
_PER_CLASS = ("precision", "recall", "f1", "support")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_report(r: EvaluationReport) -> None:
    """Raise ValueError saying what of a report read back from JSON is not of the kind the tables and charts need
    (a damaged file read without a word broke them later, with a traceback)."""
    for k in _METRICS:
        if not _number(getattr(r, k)):
            raise ValueError(f"its {k} is not a number: {getattr(r, k)!r}")
    for k, optional in (("n_rows", False), ("duplicates_removed", True)):  # the latter None where not asked for
        v = getattr(r, k)
        if not ((v is None and optional) or (_number(v) and not isinstance(v, float))):
            raise ValueError(f"its {k} is not a whole number: {v!r}")
    if not isinstance(r.labels, list) or not all(isinstance(c, str) for c in r.labels):
        raise ValueError("its labels are not a list of class names")
    if not isinstance(r.per_class, dict):
        raise ValueError("its per-class scores are not an object")
    for c, stats in r.per_class.items():
        if not isinstance(stats, dict):
            raise ValueError(f"its per-class scores of {c} are not an object")
        lacking = [k for k in _PER_CLASS if k not in stats]
        if lacking:
            raise ValueError(f"its per-class scores of {c} lack {', '.join(lacking)}")
        bad = [k for k in _PER_CLASS if not _number(stats[k])]
        if bad:
            raise ValueError(f"its per-class {bad[0]} of {c} is not a number: {stats[bad[0]]!r}")
    for k in ("absent_classes", "notes"):
        if not isinstance(getattr(r, k), list):
            raise ValueError(f"its {k} are not a list")


def write_results(results: Results, out_dir: str | Path, title: str = "", footer: str = "") -> tuple[Path, Path]:
    """Write ``results.md`` (with ``footer`` after the tables) and ``results.json`` into ``out_dir``.

    Each file is written whole or not at all, so that a run stopped while writing (they are rewritten after every
    job of a long benchmark) leaves the previous complete files, never half of one."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = write_text_atomic(out / "results.md", results_markdown(results, title) + (f"\n{footer}\n" if footer else ""))
    return md, write_text_atomic(out / "results.json", results.to_json())
