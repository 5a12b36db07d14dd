"""Command line: ``python -m core SUBCOMMAND ...`` (``python -m core --help``).

Each subcommand is a plain worker function over parsed arguments. Errors meant for
users (:class:`core.errors.CoreError`) exit with status 2 and a one-line cause and hint,
without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import audit
from .errors import CoreError
from .paths import demo_data_dir
from .progress import LOG_PROGRESS_SECONDS, CountProgress  # this module's LOG_PROGRESS_SECONDS is read at each use
from .taxonomy import BENIGN, TASK_DESCRIPTIONS, TASKS
from .words import counted, probability_text

log = logging.getLogger("core")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _progress_bar(desc: str, *, terminal: bool | None = None):
    """A tqdm bar on stderr driven by TrainProgress events (fraction of the whole job): time spent, time left
    (:class:`core.training.TimeLeft`, once fitting has set a pace), and what the job is doing.

    Where stderr is no terminal (``terminal``: None asks it), a log (``nohup``, ``2> log``, a service): a plain line at
    each new stage and at most every :data:`LOG_PROGRESS_SECONDS` in between, as ``predict`` writes there; the bar's
    redraws filled such a log with thousands of carriage returns."""
    from .training import TimeLeft, describe_seconds

    if not (sys.stderr.isatty() if terminal is None else terminal):
        time_left, started = TimeLeft(), time.perf_counter()
        last = {"at": -float("inf"), "stage": None}

        def log(event):
            left = time_left.update(event)
            now = time.perf_counter()
            if event.stage == last["stage"] and now - last["at"] < LOG_PROGRESS_SECONDS and event.stage != "done":
                return
            last.update(at=now, stage=event.stage)
            spent = f"{describe_seconds(now - started)} spent" + ("" if left is None else
                                                                  f", about {describe_seconds(left)} left")  # fmt: skip
            print(f"{desc}: {100 * event.fraction:.0f}%, {spent}, {event.message}", file=sys.stderr, flush=True)

        return log
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, unit="‰", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}")  # fmt: skip
    time_left = TimeLeft()

    def update(event):
        left = time_left.update(event)
        bar.n = int(event.fraction * 1000)
        # tqdm puts ", " before the postfix
        bar.set_postfix_str(event.message if left is None else f"about {describe_seconds(left)} left, {event.message}",
                            refresh=False)  # fmt: skip
        bar.refresh()
        if event.stage == "done":
            bar.close()

    return update


def _reading_progress(what: str):
    """Progress of reading the files of ``what`` (``test/``) on stderr, as ``read_files`` reports it: a bar in a
    terminal, lines in a log (:class:`core.progress.CountProgress`). ``evaluate`` read and scored millions of rows
    without a word."""
    return CountProgress(f"reading {what}", "file", every=LOG_PROGRESS_SECONDS, unit=" files").update


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 trees, epochs or rows would mean nothing, or the default)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1; leave the option out for the default")
    return value


def _path(text: str) -> str:
    """An argparse type: a path that is not empty. ``--json ""`` or ``--pdf ""`` (a shell variable left unset) wrote
    nothing without a word, and ``--models-dir ""`` listed, scored with or deleted from the default registry."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path (a shell variable left unset?); give a file or folder name")
    return text


def _share(low: float, high: float, what: str):
    """An argparse type: a number from ``low`` to ``high`` (inclusive), ``what`` naming it in the error."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is not {what} from {low:g} to {high:g}")
        return value

    return parse


def _scale(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a scale factor above 0 (e.g. 0.5, 1 or 100)")
    return value


def _task_list(text: str) -> tuple[int, ...]:
    """An argparse type: comma-separated tasks, each one of TASKS (``2,19``)."""
    tasks = []
    for part in text.split(","):
        if part.strip() not in {str(t) for t in TASKS}:
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not a task; choose from {', '.join(map(str, TASKS))}"
            )
        tasks.append(int(part))
    return tuple(dict.fromkeys(tasks))


def _family_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated model families, each one of FAMILIES (``cnn,rf``)."""
    from .models import FAMILIES

    families = [part.strip() for part in text.split(",")]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                                         f"{', '.join(map(repr, unknown))}; choose from {', '.join(FAMILIES)}")  # fmt: skip
    return tuple(dict.fromkeys(families))


def _parse_params(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise CoreError(f"--param {pair!r} is not KEY=VALUE", hint="e.g. --param n_estimators=300")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _audit(action: str, **kwargs) -> None:
    """Record a command-line action in the audit log (core.audit), with the operating-system user."""
    event = audit.record(action, via="cli", **kwargs)
    if not event["written"]:
        print(f"warning: the audit log could not be written: {event['error']}", file=sys.stderr)


def model_train_files(data_dir) -> list:
    from .loading import split_files

    return split_files(data_dir, "train")


def cmd_train(args) -> int:
    from .loading import missing_split_text
    from .models import FAMILIES, make_detector
    from .pipeline import default_models_dir
    from .preprocess import RepairCounts
    from .training import train_from_folder

    params = _parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    if params and FAMILIES[args.model].uses_epochs is False and {"epochs", "batch_size"} & set(params):
        raise CoreError(f"--epochs/--batch-size do not apply to {args.model}", hint="drop them, or use --param")
    try:  # unknown parameters and values out of range are refused before the data is read (train reads it first)
        make_detector(args.model, **params)
    except ValueError as exc:
        raise CoreError(str(exc), hint="correct the --param value, or leave the parameter out for the family's "
                        "default") from None  # fmt: skip
    registry = Path(args.models_dir or default_models_dir())
    _made_folders.extend(_folders_to_make(registry))  # made by the training before the fit; gone again if it fails
    if registry.is_dir():  # one that cannot take files (a read-only disk) failed at the save, after the whole fit
        _check_writable(registry, "--models-dir" if args.models_dir else "the model registry",
                        hint="give --models-dir (or $IOMT_MODELS_DIR) a folder you can write to")  # fmt: skip
    repeated = _test_files_also_in_train(args.data)
    for warning in repeated:  # said now, before a fit of hours, and again with the scores
        print(f"warning: {warning}", file=sys.stderr)
    try:
        model, reports = train_from_folder(
            args.model, args.task, args.data, max_rows_per_class=args.max_rows_per_class, params=params,
            seed=args.seed, models_dir=args.models_dir, name=args.name, val_fraction=args.val_fraction,
            refit=args.refit, progress=None if args.quiet else _progress_bar(f"train {args.model} ({args.task} classes)"),
        )  # fmt: skip
    except ValueError as exc:  # unknown parameters and the like
        raise CoreError(str(exc), hint="python -m core train --help") from None
    print(f"saved: {model.path}")
    _audit("trained", model=model.name, files=[audit.file_info(str(f)) for f in model_train_files(args.data)],
           family=args.model, task=args.task, data=str(args.data))  # fmt: skip
    repaired = RepairCounts.from_dict(model.metadata["data"]["train_cells_repaired"])
    for note in [*model.metadata["data"]["notes"], f"train/: {repaired.summary()}", *model.metadata["fit_notes"]]:
        print(f"note: {note}")
    for warning in model.metadata["fit_warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    absent = model.metadata["data"]["classes_absent_from_training"]
    if absent:
        print(f"classes absent from training data ({len(absent)}): {', '.join(absent)}")
    for split in ("validation", "test"):
        if reports[split] is not None:
            print(f"{split}: {reports[split].headline()}")
    for note in reports["test"].notes if reports["test"] is not None else []:  # e.g. cells repaired in test/
        print(f"note: test/: {note}")
    for warning in repeated if reports["test"] is not None else []:
        print(f"warning: {warning}")
    suggested = model.metadata.get("alarm_threshold_validation")
    if suggested and suggested["threshold"] != 0.5:
        print(f"note: on the validation rows, macro-F1 is highest at alarm threshold {probability_text(suggested['threshold'])} "
              f"({suggested['macro_f1']:.4f}; {suggested['macro_f1_at_default']:.4f} at 0.50). The model decides at "
              f"0.50 until a threshold is saved with it (python -m core threshold {model.name} --validation; the dashboard's "
              "Analyze page offers it too).")  # fmt: skip
    if reports["validation"] is None:
        why = "--val-fraction 0" if args.val_fraction == 0 else "no class has two rows to spare"
        print(f"validation: none ({why}: no rows were kept back)")
    if reports["test"] is None:
        print(f"test: not scored: {missing_split_text(args.data, 'test')} (score the model later with: python -m "
              f"core evaluate --model {model.name} --data DIR)")  # fmt: skip
    print(f"training time: {model.metadata['timing']['fit_seconds']:.1f} s")
    return 0


def _test_files_also_in_train(data_dir) -> list[str]:
    """Warnings for the files of ``DIR/test`` that are files of ``DIR/train`` again (one file, a link to it, or a copy
    byte for byte): the test scores of a model trained on that folder are then partly of its own training rows, yet
    were printed as if of unseen traffic. Only files of one size are hashed, so a folder of real captures costs
    nothing."""
    from .loading import csv_files_in

    root = Path(data_dir)
    try:
        train, test = (csv_files_in(root / split)[0] if (root / split).is_dir() else [] for split in ("train", "test"))
        by_size: dict[int, list[Path]] = {}
        for f in train:
            by_size.setdefault(f.stat().st_size, []).append(f)
        hashes: dict[Path, str] = {}

        def digest(path: Path) -> str:
            if path not in hashes:
                hashes[path] = audit.sha256_of(path)
            return hashes[path]

        same = [(f, t) for t in test for f in by_size.get(t.stat().st_size, [])
                if os.path.samefile(f, t) or digest(f) == digest(t)]  # fmt: skip
    except OSError:  # a file that cannot be read is said, better, by the reading itself
        return []
    return [f"test/{t.name} is train/{f.name} again (the same rows, byte for byte): its test scores are of rows the "
            "model was trained on, not of unseen traffic; keep each capture in one of train/ and test/"
            for f, t in same]  # fmt: skip


def cmd_evaluate(args) -> int:
    from .loading import load_split, split_files
    from .pipeline import TrainedModel, resolve_model_path, train_rows

    to_stdout = _is_standard_output(args.json)
    json_out = _output_file(args.json, "--json", [args.data]) if args.json and not to_stdout else None
    model = TrainedModel.load(resolve_model_path(args.model, args.models_dir))
    test = load_split(args.data, "test", progress=_reading_progress("test/"))
    model.check_layout(test)
    # only the train/ rows' hashes are held (read file by file), hashed once for both uses below
    train = (train_rows(args.data, layout=model.layout, progress=_reading_progress("train/"))
             if args.drop_train_duplicates else None)  # fmt: skip
    print(f"scoring {counted(len(test), 'row')} with {model.name}…", file=sys.stderr, flush=True)
    report = model.evaluate(test, exclude_rows_in=train)
    if train is not None:  # the train/ rows are read anyway: say how many test rows they label otherwise
        from .compare import overlap_notes

        note = overlap_notes(train, test, (model.task,)).get(model.task)
        if note:
            report.notes.append(note + " They are left out of the scores here.")
        fitted = (model.metadata.get("data") or {}).get("train_fingerprint_sha256")
        if fitted and fitted != train.fingerprint:  # another folder, or a sample of it (--max-rows-per-class)
            report.notes.append(
                f"{args.data}/train does not hold the rows {model.name} was trained on "
                f"({counted(model.metadata['data'].get('train_rows') or 0, 'row')} of "
                f"{model.metadata['data'].get('description') or 'another folder'}): the test rows left out are "
                f"those that also occur in {args.data}/train ({counted(len(train), 'row')}), not in its own training "
                "rows"
            )
    # --json -: the JSON on standard output (evaluate ... --json - | jq), what is printed in words on standard error
    with contextlib.redirect_stdout(sys.stderr) if to_stdout else contextlib.nullcontext():
        _print_evaluation(model, str(args.data), report)
    if args.json:
        out = {"model": model.name, "data": str(args.data), **report.to_dict()}
        if to_stdout:
            print(json.dumps(out, indent=2))
        else:
            _write_output(json_out, "--json", lambda: json_out.write_text(json.dumps(out, indent=2)))
            print(f"report written: {args.json}")
    _audit("evaluated", model=model.name, files=[audit.file_info(str(f)) for f in split_files(args.data, "test")],
           rows=len(test), macro_f1=round(report.macro_f1, 4),
           **({"out": "standard output" if to_stdout else str(args.json)} if args.json else {}))  # fmt: skip
    return 0


def _print_evaluation(model, data: str, report) -> None:
    """``evaluate``'s report in words: the headline, what the classes say, the notes, and per-class scores."""
    print(f"{model.name} on {data}/test: {report.headline()}")
    if report.absent_classes:
        print(f"classes absent from the test data ({len(report.absent_classes)}): {', '.join(report.absent_classes)}")
    from .compare import untrained_classes

    if never := untrained_classes(model.metadata, report):
        print(f"classes the model never saw in training, so never predicts (their F1 is 0 by construction): "
              f"{', '.join(never)}")  # fmt: skip
    extra = {c: sum(row[report.labels.index(c)] for row in report.confusion_matrix) for c in report.labels
             if report.per_class[c]["support"] == 0}  # fmt: skip
    # Rows called Benign where no row is benign (attacks alone, as in the real v1 sample) are attacks missed, not
    # false alarms: said apart, as the dashboard does.
    if (missed := extra.pop(BENIGN, None)) is not None:
        print(f"called Benign, though no test row is benign: {counted(missed, 'row')}, attacks the model missed")
    if extra:
        listed = ", ".join(f"{c} ({counted(n, 'row')})" for c, n in extra.items())
        print(
            "predicted but absent from the test data (false alarms or mistakes; left out of the macro averages, "
            f"which are over the classes present): {listed}"
        )
    for note in report.notes:
        print(f"note: {note}")
    width = max(len(c) for c in report.labels)
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for c in report.labels:
        pc = report.per_class[c]
        print(f"{c:<{width}}  {pc['precision']:9.4f} {pc['recall']:7.4f} {pc['f1']:6.4f} {pc['support']:8d}")


def cmd_predict(args) -> int:
    from .pipeline import TrainedModel, resolve_model_path
    from .scoring import score_files

    started = time.perf_counter()
    # '-' (or /dev/stdout) is standard output, as for other Unix tools: the predictions go there, and what this
    # command says about them to standard error. It was a file named '-', and /dev/stdout was replaced by one.
    to_stdout = _is_standard_output(args.out)
    out = sys.stdout.buffer if to_stdout else args.out
    shown = "standard output" if to_stdout else args.out
    say = sys.stderr if to_stdout else sys.stdout
    if not to_stdout and Path(args.out).is_dir():  # a model's folder is said as such (not 'give a file name in it')
        _refuse_model_folder(Path(args.out), "--out")
        try:
            _check_writable(Path(args.out), "--out")
            hint = f"give a file name for the predictions, e.g. {Path(args.out) / 'predictions.csv'}"
        except CoreError:  # not 'give --out a folder you can write to': it takes a file
            hint = "give a file name for the predictions, in a folder you can write to"
        raise CoreError(f"--out {args.out} is a folder", hint=hint)
    if not to_stdout and (Path(args.out).is_file() or not Path(args.out).exists()):  # not /dev/null, a named pipe
        _output_folder(Path(os.path.realpath(args.out)).parent, "the folder of --out")  # a link's target's folder
    model = TrainedModel.load(resolve_model_path(args.model, args.models_dir))
    progress = bar = None
    # tqdm only where it is seen (its import costs a quarter of a second), and not over predictions on that screen
    if sys.stderr.isatty() and not (to_stdout and sys.stdout.isatty()):
        from tqdm import tqdm

        # Driven by the share of the input read, so that it says the time left (rows alone gave none on an hours-long
        # run); the rows scored and the file being read follow it.
        bar = tqdm(total=1000, desc="scoring", file=sys.stderr, leave=False,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}")  # fmt: skip

        def progress(rows, name, fraction):
            bar.n = min(1000, int(fraction * 1000))
            bar.set_postfix_str(f"{rows:,} rows, {name}", refresh=False)  # tqdm puts ", " before it
            bar.refresh()

    elif not sys.stderr.isatty():  # a log (nohup, cron, a service): an hours-long run said nothing till its end
        from .training import describe_seconds

        last = [time.perf_counter()]

        def progress(rows, name, fraction):
            now = time.perf_counter()
            if now - last[0] >= LOG_PROGRESS_SECONDS:
                last[0] = now
                elapsed = now - started
                left = f", about {describe_seconds(elapsed * (1 - fraction) / fraction)} left" if fraction > 0 else ""
                print(f"scoring: {100 * fraction:.0f}% of the input read, {rows:,} rows scored, {name}{left}",
                      file=sys.stderr, flush=True)  # fmt: skip

    # Streamed: reading, scoring and writing overlap, in bounded memory (core.scoring).
    try:
        summary = score_files(model, args.files, out, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(f"{counted(summary.rows, 'row')} from {counted(len(summary.files), 'file')} scored with {model.name} in "
          f"{time.perf_counter() - started:.1f} s -> {shown}", file=say)  # fmt: skip
    # After the timing above: hashing the inputs for the audit log is not part of scoring.
    _audit("scored", model=model.name, files=[audit.file_info(str(f)) for f in args.files], rows=summary.rows,
           out=shown)  # fmt: skip
    print(f"true class: {summary.label_note()}", file=say)
    for note in summary.notes:
        print(f"note: {note}", file=say)
    if summary.repairs.total:
        print(f"note: {summary.repairs.summary()}", file=say)
    for cls, n in summary.counts.items():
        print(f"  {cls}: {n}", file=say)
    return 0


def _is_standard_output(path: str | None) -> bool:
    """The one rule of every command's output option (``predict --out``, ``evaluate --json``, ``report --out`` and
    ``--pdf``): ``-``, or a path that is this process's standard output (:func:`_is_stdout`), is standard output. The
    data then goes there and the lines in words to standard error, so that ``> FILE`` or a pipe gets the data alone:
    ``evaluate --json /dev/stdout`` and ``report --out /dev/stdout`` mixed them in one stream."""
    return path is not None and (path == "-" or _is_stdout(path))


def _is_stdout(path: str) -> bool:
    """Whether ``path`` is this process's standard output (``/dev/stdout``, ``/dev/fd/1``, the file it is redirected
    to): written through its own name, it would be opened anew (truncating a redirected file under the shell's
    feet) or, renamed onto, replaced."""
    try:
        here, there = os.fstat(sys.stdout.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no such file; stdout not a real file
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def cmd_score_many(args) -> int:
    from .distributed import check_out_apart, expand_inputs, format_summary, parse_size, score_many
    from .pipeline import resolve_model_path

    if not args.verbose:  # Dask logs every worker start at INFO; read when distributed is first imported
        import dask

        dask.config.set({"logging.distributed": "warning"})
        if args.scheduler is None:
            import distributed  # noqa: F401 (it sets the levels of its loggers and tornado's as it is imported)

            # Our own cluster is closed at the run's end or when it is stopped; tornado then logged the connections
            # it closed as 30-line "Exception in callback" errors, from its own thread, at any time until exit.
            logging.getLogger("tornado.application").setLevel(logging.CRITICAL)
    # The options that can be checked alone are, before --out is made: a refused run leaves no empty folder behind.
    model, partition_bytes = resolve_model_path(args.model, args.models_dir), parse_size(args.partition_size)
    check_out_apart(args.out, expand_inputs(args.inputs))  # no capture among what the run replaces
    _output_folder(args.out, "--out")  # removed again by main() if the run is stopped or fails and it stays empty
    summary = score_many(
        model, args.inputs, args.out, scheduler=args.scheduler, workers=args.workers, partition_bytes=partition_bytes,
        low_confidence=args.low_confidence, overwrite=args.overwrite, progress=not args.quiet,
    )  # fmt: skip
    print(format_summary(summary))
    # Names and sizes only: hashing a month of captures on this one machine would undo the cluster's work.
    files = [{"name": f["path"], "size": f.get("bytes"), "sha256": None} for f in summary["files"] + summary["failed"]]
    _audit("scored", model=summary["model"]["name"], files=files, rows=summary["rows"], out=str(args.out),
           failed=[f["file"] for f in summary["failed"]], engine="dask")  # fmt: skip
    if not summary["files_scored"]:
        return 2
    return 1 if summary["failed"] else 0  # some files scored, some not: a script must not take it for a success


def _folders_to_make(path) -> list[Path]:
    """The folders of ``path`` (itself and those above it) that do not exist yet, deepest first: those a run that
    makes ``path`` creates."""
    missing = []
    for folder in (Path(os.path.abspath(path)), *Path(os.path.abspath(path)).parents):
        if os.path.lexists(folder):
            break
        missing.append(folder)
    return missing


#: The folders the command running now made for its outputs (:func:`_output_folder`): main() removes those still
#: empty when the command fails or is stopped.
_made_folders: list[Path] = []


def _remove_empty_made_folders() -> None:
    """Remove the folders this command made (:data:`_made_folders`) that are empty, deepest first: a run stopped
    (Ctrl-C, SIGTERM) or refused after making its output folder (``score-many --out``, ``benchmark-models`` given a
    missing --data, ``predict --out new/x.csv`` with a model that does not exist) left it behind, empty. A folder
    that holds anything is kept, and so is every folder the user had."""
    for folder in sorted(set(_made_folders), key=lambda f: len(f.parts), reverse=True):
        try:
            folder.rmdir()  # only ever removes an empty folder
        except OSError:  # not empty (results written, a file the user put there meanwhile), or gone already
            pass
    _made_folders.clear()


def cmd_models(args) -> int:
    from .pipeline import default_models_dir, list_models, scored_at, scored_classes
    from .threshold import saved_since_training

    if args.models_dir and not Path(args.models_dir).is_dir():  # a typo used to read as an empty registry
        what = "is a file" if Path(args.models_dir).exists() else "does not exist"
        raise CoreError(f"--models-dir {args.models_dir} {what}", hint="give the folder that holds the saved models")
    models = list_models(args.models_dir)
    if not models:
        print(f"no saved models in {args.models_dir or default_models_dir()}; train one with: python -m core train ...")
        return 0
    # As wide as the longest name (up to 80 characters): a longer one than 44 pushed its row's columns out of line
    wide = max([44, *(len(m["name"]) for m in models if "error" not in m)])
    print(
        f"{'name':<{wide}} {'task':>4} {'family':<10} {'layout':<6} {'saved':<20} {'macro-F1':>8} {'weighted-F1':>11}"
    )
    for m in models:
        if "error" in m:
            kept = "" if m.get("deletable", True) else " (it holds other files too: delete refuses it)"
            print(f"{m['name']:<{wide}} damaged: {m['error']}{kept}")
            continue
        test = (m.get("metrics") or {}).get("test") or {}
        mf = f"{test['macro_f1']:.4f}" if test else "-"
        wf = f"{test['weighted_f1']:.4f}" if test else "-"
        marked = saved_since_training(m)
        coarser = scored_at(m)
        some = scored_classes(m)
        print(f"{m['name']:<{wide}} {m['task']:>4} {m['family']:<10} {m['layout']:<6} {m.get('saved_at', '')[:19]:<20} "
              f"{mf:>8} {wf:>11}" + (f"  * threshold {probability_text(m['alarm_threshold'])}" if marked else "")
              + (f"  + at {coarser} classes" if coarser else "")
              + (f"  ~ {some[0]} of {some[1]} classes" if some else ""))  # fmt: skip
    shown = [m for m in models if "error" not in m]
    if any(saved_since_training(m) for m in shown):
        print("* scores are measured at training, at the default threshold 0.50; these models have had an alarm "
              "threshold saved since, which their scoring uses now: python -m core evaluate scores them at it")  # fmt: skip
    if any(scored_at(m) for m in shown):
        print("+ scored at a coarser task than the model's: its test labels named only attack families, or said only "
              "Attack, so its predictions were grouped to match them")  # fmt: skip
    if any(scored_classes(m) for m in shown):  # the real v1 sample has 8 of the 19 classes
        print("~ scored on only the classes its test rows hold (the others had none): its macro-F1 is the average "
              "over those alone and says nothing of the rest, so compare it only with scores on the same classes")  # fmt: skip
    return 0


def cmd_delete(args) -> int:
    from .pipeline import delete_model

    folder = delete_model(args.model, args.models_dir)
    _audit("deleted", model=folder.name, path=str(folder))
    print(f"deleted {folder}")
    return 0


def cmd_threshold(args) -> int:
    from . import threshold as th
    from .pipeline import TrainedModel, read_metadata, resolve_model_path

    folder = resolve_model_path(args.model, args.models_dir)
    meta = read_metadata(folder)
    name = meta["name"]
    if int(meta["task"]) != 2:
        raise CoreError(f"{name} is a {meta['task']}-class model; an alarm threshold applies to 2-class (benign or "
                        "attack) models only", hint="choose a 2-class model (python -m core models lists them)")  # fmt: skip
    suggested = meta.get("alarm_threshold_validation")
    if args.chosen_on is not None and args.set is None:
        raise CoreError("--chosen-on goes with --set", hint="e.g. --set 0.7 --chosen-on 'the March capture of ward 3'")
    if args.validation and not suggested:
        raise CoreError(f"{name} holds no threshold chosen on validation rows (it was trained without validation "
                        "rows, with validation rows of one kind only, or before this was stored)",
                        hint="choose one with --data on labelled flows that you will not judge the model by, then "
                        "--set it")  # fmt: skip
    # The flows to count costs on are read and checked before any change: a bad --data must leave the model as it was.
    costs_on = _threshold_flows(TrainedModel.load(folder), args.data) if args.data else None
    change = None
    if args.set is not None:
        change = (args.set, args.chosen_on)
    elif args.validation:
        change = (float(suggested["threshold"]), th.validation_rows_label(suggested))
    elif args.clear:
        change = (None, None)
    if change is not None:
        meta = th.save_threshold(folder, *change, expected=meta)  # the model looked at above, not one saved since
        _audit("threshold saved" if change[0] is not None else "threshold cleared", model=name,
               threshold=None if change[0] is None else float(probability_text(change[0])))  # fmt: skip
    saved = meta.get("alarm_threshold")
    print(f"{name}: {'now ' if change is not None else ''}alarm threshold {th.state_text(meta)}")
    if change is not None:
        print("every later scoring with this model (predict, score-many, evaluate, report, the dashboard) "
              + ("uses it" if saved is not None else "decides at 0.50"))  # fmt: skip
    if suggested:
        print(th.validation_text(meta) + ("" if th.uses_validation_choice(meta) else " (save it with --validation)"))
    if costs_on:
        _print_threshold_costs(costs_on, th.model_threshold(meta), saved is not None, suggested)
    return 0


def _threshold_flows(model, paths: list[str]) -> tuple:
    """The labelled flows ``paths`` to count a threshold's costs on, checked (labels, both kinds of flow), with the
    model's attack probability of each: ``(label, known, is_attack, p_attack)``."""
    from . import threshold as th
    from .loading import UNLABELLED
    from .report import read_report_data

    data, label = read_report_data(paths, layout=model.layout)
    model.check_layout(data)
    known = data.y != UNLABELLED
    if not known.any():
        raise CoreError(f"{label} has no labels, so the cost of a threshold cannot be counted",
                        hint="use files with official names or a 'label' column")  # fmt: skip
    is_attack = th.is_attack_truth(data)
    if is_attack.all() or not is_attack.any():
        raise CoreError(f"{label} holds {'only attack' if is_attack.all() else 'only benign'} flows; the cost of a "
                        "threshold needs both", hint="add captures of the other kind")  # fmt: skip
    return label, known, is_attack, th.attack_probability(list(model.classes), model.predict(data).proba)[known]


def _print_threshold_costs(flows: tuple, in_use: float, is_saved: bool, suggested: dict | None) -> None:
    """The cost of the usual thresholds, the one in use and the validation one on the flows of
    :func:`_threshold_flows`."""
    from . import threshold as th

    label, known, is_attack, p_attack = flows
    marks = {in_use: "in use (saved)" if is_saved else "in use (the default)"}
    if suggested:
        marks[float(suggested["threshold"])] = " + ".join(filter(None, [marks.get(float(suggested["threshold"])),
                                                                    "validation"]))  # fmt: skip
    thresholds = sorted(set(th.COST_STEPS) | set(marks))
    costs = th.cost_table(is_attack, p_attack, thresholds)
    print(f"cost on {label}: {int(known.sum()):,} labelled flows ({costs[0].n_benign:,} benign, "
          f"{costs[0].n_attack:,} attacks)" + (f"; {int((~known).sum()):,} unlabelled left out" if not known.all()
                                                 else ""))  # fmt: skip
    print(f"{'threshold':>9} {'false alarms per 10k benign':>28} {'false alarms':>13} {'attacks missed':>15} "
          f"{'missed':>8} {'macro-F1':>9}")  # fmt: skip
    for c in costs:
        mark = marks.get(c.threshold, "")
        print(f"{probability_text(c.threshold):>9} {c.false_alarms_per_10k:>28,.1f} {c.false_alarms:>13,} {c.missed:>15,} "
              f"{c.missed_rate:>8.2%} {c.macro_f1:>9.4f}" + (f"  <- {mark}" if mark else ""))  # fmt: skip
    print("note: counted on these flows; a threshold chosen by this table flatters them, so judge it on other flows "
          "(and record where it was chosen: --set T --chosen-on 'these flows')")  # fmt: skip


def cmd_demo_data(args) -> int:
    from .demo import demo_files, write_demo_dataset
    from .loading import csv_files_in

    out = _output_folder(args.out, "--out")
    _check_demo_room(out, args.rows)
    existing = [p for split in ("train", "test") if (out / split).is_dir() for p in csv_files_in(out / split)[0]]
    ours = demo_files(out)  # written by an earlier demo-data run (its manifest lists them)
    others = [p for p in existing if p.relative_to(out).as_posix() not in ours]
    if others and not args.overwrite:  # real data must never end up mixed with synthetic, nor be deleted unasked
        raise CoreError(
            f"{out} already holds {counted(len(others), 'CSV file')} in train/ and test/ that the demo data did not "
            f"write (e.g. {others[0].relative_to(out)})",
            hint="choose another --out folder, or pass --overwrite to delete them and write the demo data instead",
        )
    for p in existing:  # removed, so that files of names the new demo data does not use are not left beside it
        p.unlink()
    # a bar in a terminal; in a log (nohup, a service) lines, not the bar's carriage-return redraws
    bar = None if args.quiet else CountProgress("demo data", "row", every=LOG_PROGRESS_SECONDS, unit="rows",
                                                unit_scale=True)  # fmt: skip
    kwargs = {"layout": args.layout, "seed": args.seed, "progress": bar and bar.update}
    if args.rows is not None:
        kwargs["scale"] = args.rows
    try:
        manifest = write_demo_dataset(args.out, **kwargs)
    finally:
        if bar is not None:
            bar.close()
    total = sum(int(n) for n in manifest["files"].values())
    print(f"generated demo data ({args.layout} layout, {counted(total, 'row')}, NOT real traffic) in {args.out}")
    return 0


#: Fewest CSV bytes a demo row takes (v2 rows take about 160, v1 rows more).
DEMO_MIN_ROW_BYTES = 100


def _check_demo_room(out: Path, scale: float | None) -> None:
    """Refuse a --rows scale whose rows cannot fit on the disk of ``out`` before anything is written: 1e300 filled
    the disk, and 1e308 was an OverflowError traceback."""
    import shutil

    from .demo import default_rows_per_class

    base = sum(train + test for train, test in default_rows_per_class(1.0).values())
    rows = base * (scale or 1.0)  # a float: inf for 1e308, not an OverflowError
    free = shutil.disk_usage(out).free
    if rows * DEMO_MIN_ROW_BYTES > free:
        raise CoreError(f"--rows {scale:g} asks for about {rows:.3g} rows, at least {rows * DEMO_MIN_ROW_BYTES / 1e9:.3g} "
                        f"GB, but {out} has {free / 1e9:.3g} GB free",
                        hint=f"choose a smaller --rows (1 writes {counted(base, 'row')}), or "
                        "another --out disk")  # fmt: skip


#: Demo models trained by ``setup-demo``: small and quick, for the dashboard's first start.
DEMO_MODELS = [
    ("cnn", {"epochs": 12}),
    ("paper-cnn", {}),  # the paper's preset: 10 epochs, batch 32
    ("rf", {"n_estimators": 100}),
    ("lr", {}),
]
#: Rows per class the demo models train on (keeps the first start to a couple of minutes).
DEMO_ROWS_PER_CLASS = 1000


def cmd_setup_demo(args) -> int:
    """Generate the demo data and train the demo models, each only when absent."""
    from .pipeline import default_models_dir, list_models
    from .training import train_from_folder

    data_dir = Path(args.data)
    if not (data_dir / "train").is_dir() or not any((data_dir / "train").glob("*.csv")):
        from .demo import write_demo_dataset

        write_demo_dataset(data_dir, layout="v2", seed=0)
        print(f"generated demo data in {data_dir} (synthetic, calibrated on real CICIoMT2024 statistics)")
    models_dir = Path(args.models_dir) if args.models_dir else default_models_dir()
    have = {m["name"] for m in list_models(models_dir)}
    for task in TASKS:
        for family, params in DEMO_MODELS:
            name = f"demo-{family}-{task}class"
            if name in have:
                continue
            _model, reports = train_from_folder(
                family, task, str(data_dir), params=params, models_dir=str(models_dir), name=name,
                max_rows_per_class=DEMO_ROWS_PER_CLASS,
                progress=None if args.quiet else _progress_bar(f"demo model {name}"),
            )  # fmt: skip
            print(f"trained {name}: {reports['test'].headline()}")
    print(f"demo ready: data in {data_dir}, models in {models_dir}")
    return 0


def _is_in(entry, results) -> bool:
    """Whether ``entry`` is one of ``results``' own entries (kept from them, not an equal one made again)."""
    return any(entry is e for e in [*results.scores, *results.failures])


def _output_folder(path, option: str) -> Path:
    """Make the folder ``path`` given as ``option`` now, so that a file in its place or a folder that cannot be
    written is said before hours of work instead of after them."""
    folder = Path(path)
    _refuse_model_folder(folder, option)
    made = _folders_to_make(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _made_folders.extend(made)
    except FileExistsError:
        raise CoreError(f"{option} {folder} is a file, not a folder", hint=f"give {option} a folder") from None
    except OSError as exc:
        raise CoreError(f"{option} {folder} cannot be made: {exc.strerror}", hint=f"give {option} a folder you can "
                        "write to") from None  # fmt: skip
    _check_writable(folder, option)
    return folder


def _refuse_model_folder(folder: Path, option: str) -> None:
    """Refuse ``folder`` given as ``option`` if it is a saved model's folder or one inside it."""
    from .pipeline import METADATA_FILE

    # The folder or one above it (abspath: 'gone/../model' is looked at as the model's folder it names, before
    # mkdir makes 'gone'): a report named metadata.json there destroyed the model, and a subfolder goes with it.
    where = Path(os.path.abspath(folder))
    model = next((p for p in (where, *where.parents) if (p / METADATA_FILE).is_file()), None)
    if model is not None:
        inside = "" if model == where else f" ({folder} is inside it)"
        raise CoreError(f"{option} {model} is a saved model's folder{inside}: what is written there could replace the "
                        "model's own files, or go with it when it is deleted",
                        hint=f"write {option.removeprefix('the folder of ')} elsewhere")  # fmt: skip


def _check_writable(folder: Path, option: str, hint: str | None = None) -> None:
    """Refuse the folder ``folder`` given as ``option`` unless a file can be made in it now. The file is made and gone
    at once (nothing is left behind): unlike a look at its permissions, this also tells a read-only disk, or a folder
    that takes no files (/proc), when run as root."""
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as exc:
        raise CoreError(f"{option} {folder} cannot be written to: a file could not be made in it "
                        f"({exc.strerror or exc})", hint=hint or f"give {option} a folder you can write to") from None  # fmt: skip


def _output_file(path, option: str, inputs=(), *, other: tuple[str, str | None] = ("", None)) -> Path:
    """Check the file ``path`` given as ``option`` before any work: not a folder, not one of the ``inputs`` (files,
    or folders whose CSV files, train/ and test/ CSV files are inputs), not the same as the ``other`` output, not a
    file that cannot be written; its folder is made, and must take new files (:func:`_output_folder`). A capture
    overwritten by a report, or a report lost after the scoring, is refused at once instead. Nothing is left at
    ``path`` itself: a run that fails later leaves no empty file behind."""
    from .loading import csv_files_in

    out = Path(path)
    if out.is_dir():
        raise CoreError(f"{option} {out} is a folder", hint=f"give {option} the name of a file in it")
    if other[1] is not None and os.path.abspath(other[1]) == os.path.abspath(out):
        raise CoreError(f"{option} and {other[0]} are the same file, {out}", hint="give them different names")
    if out.exists():
        for item in inputs:
            item = Path(item)
            # The folders' CSV files by the readers' own rule (.CSV too: a glob for *.csv let one be overwritten)
            files = [item] if item.is_file() else [p for d in (item, item / "train", item / "test") if d.is_dir()
                                                   for p in csv_files_in(d)[0]]  # fmt: skip
            for f in files:
                if os.path.samefile(f, out):
                    raise CoreError(f"{option} {out} is one of the input files", hint=f"write the {option} file "
                                    "elsewhere")  # fmt: skip
        if not os.access(out, os.W_OK):
            raise CoreError(f"{option} {out} exists and cannot be written to",
                            hint=f"make it writable, or give {option} another file name")  # fmt: skip
    _output_folder(out.parent, f"the folder of {option}")
    return out


def _write_output(out: Path, option: str, write) -> None:
    """Run ``write()``; a file that cannot be written is one error line, not a traceback."""
    try:
        write()
    except OSError as exc:
        raise CoreError(f"{option} {out} could not be written: {exc.strerror or exc}",
                        hint=f"give {option} a file in a folder you can write to") from None  # fmt: skip


def cmd_benchmark_models(args) -> int:
    import resource

    from .compare import ALL_FAMILIES, read_results, run_benchmark, write_results

    started = time.perf_counter()
    _output_folder(args.out, "--out")
    if args.save_models:
        _output_folder(args.save_models, "--save-models")
    earlier = None
    if args.resume:
        saved = Path(args.out) / "results.json"
        if saved.is_file():
            earlier = read_results(saved.read_bytes(), str(saved))
            failed = f", {len(earlier.failures)} failed (run again if their family is named here)" if (
                earlier.failures) else ""  # fmt: skip
            print(f"resuming from {saved}: {counted(len(earlier.scores), 'job')} finished there{failed}")
        else:
            print(f"nothing to resume in {args.out} (no results.json): running every job")
    elif (Path(args.out) / "results.json").is_file():
        print(f"note: {args.out} holds an earlier run's results; this run replaces them as it goes "
              "(--resume continues that run instead)")  # fmt: skip
    families = args.families or ALL_FAMILIES
    tasks = args.tasks or TASKS
    params = {f: {"epochs": args.epochs} for f in ("paper-cnn", "dnn")} if args.epochs else {}
    forest = {**({"n_estimators": args.rf_trees} if args.rf_trees else {}),
              **({"min_samples_leaf": args.rf_min_leaf} if args.rf_min_leaf else {})}  # fmt: skip
    if forest:
        params["rf"], params["cnn-rf"] = dict(forest), dict(forest)
    which = f"families {','.join(families)}, tasks {','.join(map(str, tasks))}"
    settings = ((f", rf {args.rf_trees} trees" if args.rf_trees else "")
                + (f", forest leaves of at least {args.rf_min_leaf} rows" if args.rf_min_leaf else "")
                + (f", at most {args.max_rows_per_class:,} training rows per class" if args.max_rows_per_class else "")
                + (f", {args.epochs} epochs for paper-cnn and dnn" if args.epochs else "")
                + f", seed {args.seed}"
                + (", test rows also in train left out (--drop-train-duplicates)" if args.drop_train_duplicates else "")
                + ("; every model refitted on all training rows after validation" if args.refit
                   else "; every model fitted on the training rows less the validation share"))  # fmt: skip
    title = f"Model comparison on {args.data}"

    def footer(results, partial: bool) -> str:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
        rows = f"{results.scores[0].report.n_rows:,} test rows scored per model; " if results.scores else ""
        done = len(results.scores) + len(results.failures)
        so_far = f"{counted(done, 'job')} done so far"
        state = f"**Partial results: the run is still going or was stopped** ({so_far}). " if partial else ""
        failed = (
            f"{len(results.failures)} of {counted(done, 'job')} failed (see each task); " if results.failures else ""
        )
        skipped = "" if partial else "".join(f"the {t}-class task was skipped ({_skipped(results, t)}); "
                                             for t in sorted(set(tasks) - set(results.tasks)))  # fmt: skip
        kept = [e for e in [*results.scores, *results.failures] if earlier and _is_in(e, earlier)]
        resumed = ""
        if kept:
            resumed = (f"{counted(len(kept), 'job')} kept from an earlier run into this folder "
                       "(--resume, its times and memory are that run's); this run: ")  # fmt: skip
        return (f"{state}Run: {rows}{failed}{skipped}{resumed}{time.perf_counter() - started:,.0f} s in all (reading, "
                f"training, scoring), peak memory {peak:,.0f} MB (resident, this process), {os.cpu_count()} CPU "
                f"cores, {time.strftime('%Y-%m-%d')}; `python -m core benchmark-models` with {which}{settings}.")  # fmt: skip

    def write(results, partial: bool = True):
        return write_results(results, args.out, title=title, footer=footer(results, partial))

    results = run_benchmark(
        args.data, families=families, tasks=tasks, params=params, max_rows_per_class=args.max_rows_per_class,
        seed=args.seed, drop_train_duplicates=args.drop_train_duplicates, models_dir=args.save_models,
        replace_models=args.replace_models, refit=args.refit, on_result=write, resume=earlier,
        progress=None if args.quiet else _progress_bar("benchmark"),
    )  # fmt: skip
    md, js = write(results, partial=False)
    print(md.read_text())  # its footer says which tasks were skipped, and why
    print(f"written: {md} and {js}")
    for f in results.failures:
        before = (
            " (in the earlier run; not part of this one, so not run again)" if earlier and _is_in(f, earlier) else ""
        )
        print(f"error: {f.family}, {f.task} classes failed{before}: {f.message}", file=sys.stderr)
        if f.hint:
            print(f"hint: {f.hint}", file=sys.stderr)
    return 1 if results.failures else 0


def _skipped(results, task: int) -> str:
    """Why a benchmark skipped ``task``: its labels too coarse for it, or only one of its classes."""
    return results.skipped.get(task) or "the training data has only one of its classes"


def cmd_report(args) -> int:
    from .paths import write_bytes_atomic
    from .pipeline import TrainedModel, resolve_model_path
    from .report import analysis_report, read_report_data

    # '-' (or /dev/stdout): that document on standard output (report ... --out - | mail), the line in words on
    # standard error; it was written to a file named '-'
    html_to_stdout, pdf_to_stdout = _is_standard_output(args.out), _is_standard_output(args.pdf)
    if html_to_stdout and pdf_to_stdout:
        raise CoreError("--out and --pdf cannot both be '-' (standard output)" if args.out == args.pdf == "-" else
                        f"--out {args.out} and --pdf {args.pdf} are both standard output",
                        hint="write one of them to a file")  # fmt: skip
    html = "-" if html_to_stdout else _output_file(args.out, "--out", args.data, other=("--pdf", args.pdf))
    pdf = "-" if pdf_to_stdout else _output_file(args.pdf, "--pdf", args.data) if args.pdf else None
    _check_report_kinds(args.out, args.pdf)
    model = TrainedModel.load(resolve_model_path(args.model, args.models_dir))
    data, label = read_report_data(args.data, layout=model.layout)
    model.check_layout(data)
    report = analysis_report(model, data, data_label=label, compute_importance=not args.no_importance,
                             importance_rows=args.importance_rows)  # fmt: skip
    options = {html: "--out", pdf: "--pdf"}
    for path, content in report.documents(html, pdf):
        if path == "-":
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
        else:
            _write_output(path, options[path], lambda path=path, content=content: write_bytes_atomic(path, content))
    where = ["standard output" if p == "-" else str(p) for p in (html, pdf) if p]
    _audit("exported", model=model.name, files=[{"name": f.name, "rows": f.rows} for f in data.files], rows=len(data),
           out=where, what="report")  # fmt: skip
    print(f"report written: {' and '.join(where)}", file=sys.stderr if "-" in (html, pdf) else sys.stdout)
    return 0


def _check_report_kinds(html: str, pdf: str | None) -> None:
    """Refuse a report file whose name says the other kind: ``--out x.pdf --pdf x.html`` wrote HTML into x.pdf and a
    PDF into x.html, and ``--out report.pdf`` alone an HTML page named .pdf that no PDF reader opens."""

    def suffix(path: str | None) -> str:
        return Path(path).suffix.lower() if path and not _is_standard_output(path) else ""

    if suffix(html) == ".pdf":
        pdf_name = pdf if suffix(pdf) == ".pdf" or (pdf and not suffix(pdf)) else html
        html_name = str(Path(html).with_suffix(".html"))
        raise CoreError(f"--out {html} names a PDF file, but --out writes the HTML report",
                        hint=f"write the PDF with --pdf: --out {html_name} --pdf {pdf_name}")  # fmt: skip
    if suffix(pdf) in (".html", ".htm"):
        raise CoreError(f"--pdf {pdf} names an HTML file, but --pdf writes the PDF report",
                        hint=f"give --pdf a .pdf name, e.g. --pdf {Path(pdf).with_suffix('.pdf')}")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from .models import FAMILIES

    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Detect attacks in CICIoMT2024 network-flow CSVs: train, evaluate, predict. "
        "Tasks: " + "; ".join(TASK_DESCRIPTIONS[t] for t in TASKS) + ".",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common_models(p):
        p.add_argument("--models-dir", type=_path, help="model registry folder (default: models/ or $IOMT_MODELS_DIR)")

    p = sub.add_parser("train", help="train a model on DIR/train, evaluate on DIR/test, save it")
    p.add_argument("--task", type=int, choices=TASKS, required=True, help="2, 6 or 19 classes")
    p.add_argument("--model", choices=sorted(FAMILIES), required=True, help="model family")
    p.add_argument(
        "--data", type=_path, required=True, help="folder in the official layout (DIR/train/*.csv, DIR/test/*.csv)"
    )
    p.add_argument("--epochs", type=_positive_int, help="epochs (networks only; paper preset: 10)")
    p.add_argument("--batch-size", type=_positive_int, help="batch size (networks only; paper preset: 32)")
    p.add_argument("--max-rows-per-class", type=_positive_int, help="cap the rows of each of the 19 classes (each "
                   "attack, whatever --task; a family or Attack as one, where labels say no more; a seeded random "
                   "sample)")  # fmt: skip
    p.add_argument("--val-fraction", type=_share(0, 0.5, "a share of the training rows"), default=0.1,
                   help="stratified validation share, 0 to 0.5, identical rows kept on one side (default 0.1; 0: "
                   "no validation rows, so no early stopping and no validation score)")  # fmt: skip
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="after validation, fit again on all of DIR/train for as many epochs and keep that "
                   "model (default: the family's; on for cnn, off for the others)")  # fmt: skip
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="family parameter, e.g. n_estimators=300")
    p.add_argument("--seed", type=int, default=0, help="seed of the row sample, the validation split and the model "
                   "(default 0)")  # fmt: skip
    p.add_argument("--name", help="model name (default: FAMILY-TASKclass-LAYOUT-TIMESTAMP)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common_models(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model on DIR/test")
    p.add_argument("--model", required=True, help="model folder or name")
    p.add_argument("--data", type=_path, required=True, help="folder in the official layout")
    p.add_argument("--json", type=_path, help="write the report as JSON to this file ('-': standard output, the "
                   "report in words then going to standard error)")  # fmt: skip
    p.add_argument("--drop-train-duplicates", action="store_true",
                   help="leave out test rows that also occur in DIR/train, and say how many")  # fmt: skip
    common_models(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="score CSV files; one output row per input row")
    p.add_argument("--model", required=True, help="model folder or name")
    p.add_argument("files", nargs="+", help="CSV files (either release; one layout per run)")
    p.add_argument("--out", type=_path, required=True, help="output CSV ('-': standard output, the summary then "
                   "going to standard error)")  # fmt: skip
    common_models(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("score-many", help="score many CSV files on a Dask cluster; Parquet predictions + summary")
    p.add_argument("--model", required=True, help="model folder or name")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV files, folders of CSVs or glob patterns")
    p.add_argument("--out", type=_path, required=True, help="output folder (predictions/ as Parquet, summary.json)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a local cluster)")
    p.add_argument("--workers", type=_positive_int, help="local cluster worker processes (default: one per CPU core)")
    p.add_argument("--partition-size", default="64MB", help="CSV bytes per task, e.g. 64MB (bounds worker memory)")
    p.add_argument(
        "--low-confidence",
        type=_share(0, 1, "a probability"),
        default=0.6,
        help="count rows whose confidence (probability of the predicted class) is below this (0.6)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common_models(p)
    p.set_defaults(func=cmd_score_many)

    p = sub.add_parser("models", help="list saved models")
    common_models(p)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("delete", help="delete a saved model")
    p.add_argument("model", help="model folder or name")
    common_models(p)
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("threshold", help="show or set the alarm threshold of a 2-class model, and its cost on "
                       "labelled flows")  # fmt: skip
    p.add_argument("model", help="model folder or name (a 2-class model)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--set", type=_share(0, 1, "a probability"), metavar="T",
                        help="flag a flow as an attack when its probability of attack is at least T (above 0, at "
                        "most 1)")  # fmt: skip
    action.add_argument(
        "--validation",
        action="store_true",
        help="save the threshold of highest macro-F1 on the model's validation rows at training",
    )
    action.add_argument("--clear", action="store_true", help="go back to the default, 0.5")
    p.add_argument("--chosen-on", metavar="TEXT", help="with --set: the flows it was chosen on, in words (every "
                   "evaluation with it says so)")  # fmt: skip
    p.add_argument("--data", type=_path, nargs="+", metavar="PATH", help="labelled flows to count each threshold's "
                   "false alarms and missed attacks on: a folder in the official layout (its test/), a folder of "
                   "CSV files, or CSV files")  # fmt: skip
    common_models(p)
    p.set_defaults(func=cmd_threshold)

    p = sub.add_parser("demo-data", help="generate synthetic CICIoMT2024-shaped data in the official layout")
    p.add_argument("--out", type=_path, default=str(demo_data_dir()),
                   help=f"output folder (default {demo_data_dir()}: $IOMT_DEMO_DATA_DIR, else data/demo)")  # fmt: skip
    p.add_argument("--layout", choices=["v1", "v2"], default="v2", help="release layout (default v2, 39 features)")
    p.add_argument("--rows", type=_scale, help="scale factor on the default size (e.g. 100 for millions of rows)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    p.add_argument("--overwrite", action="store_true", help="delete the CSV files already in OUT/train and OUT/test "
                   "(needed when they are not demo data written earlier)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar (nor progress lines in a log)")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("benchmark-models", help="train and score every family for every task (the paper's comparison)")
    p.add_argument("--data", type=_path, required=True, help="folder in the official layout")
    p.add_argument("--out", type=_path, default="bench/out", help="folder for results.md and results.json")
    p.add_argument(
        "--families",
        type=_family_list,
        help="comma-separated families (default: all eight: our cnn, it averaged with a forest "
        "(cnn-rf), the paper's five, and gradient-boosted trees (gbt))",
    )
    p.add_argument("--tasks", type=_task_list, help="comma-separated tasks (default: 2,6,19)")
    p.add_argument("--epochs", type=_positive_int, help="epochs for paper-cnn and dnn (default: each family's "
                   "preset; our cnn stops early on its validation macro-F1)")  # fmt: skip
    p.add_argument(
        "--rf-trees",
        type=_positive_int,
        help="trees in the random forest, alone and in cnn-rf (default 100 alone, 300 in cnn-rf)",
    )
    p.add_argument(
        "--rf-min-leaf",
        type=_positive_int,
        help="fewest training rows in a leaf of the forest's trees, alone and in cnn-rf (default 1: grown to full "
        "depth; 5 keeps trees grown on millions of rows in memory, see docs/full-dataset-protocol.md)",
    )
    p.add_argument("--max-rows-per-class", type=_positive_int, metavar="N",
                   help="train on at most N rows of each of the 19 classes (each attack, for every task; a family or "
                   "Attack as one, where labels say no more; a seeded random sample); every test row is scored")  # fmt: skip
    p.add_argument("--drop-train-duplicates", action="store_true", help="score only test rows not also in train")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True,
                   help="refit every family on all training rows after validation, so that all are fitted on the "
                   "same rows (default: on; --no-refit fits on train less the validation share)")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="continue the run whose results are in --out: keep its jobs that finished with the same "
                   "settings, run the others (those that failed, those not run yet, those whose family's settings "
                   "changed, and with --save-models those whose model is not saved in DIR); the data and "
                   "--max-rows-per-class, --seed, --refit, --drop-train-duplicates must be the same")  # fmt: skip
    p.add_argument("--save-models", type=_path, metavar="DIR", help="also save each trained model under DIR (as "
                   "bench-FAMILY-TASKclass-LAYOUT; models of those names already there stop the run)")  # fmt: skip
    p.add_argument("--replace-models", action="store_true", help="with --save-models: replace the models of those "
                   "names already in DIR")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the row sample, the validation split and every "
                   "model (default 0)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_benchmark_models)

    p = sub.add_parser("setup-demo", help="generate demo data and train demo models, when absent")
    p.add_argument("--data", type=_path, default=str(demo_data_dir()),
                   help=f"demo data folder (default {demo_data_dir()}: $IOMT_DEMO_DATA_DIR, else data/demo; "
                   "generated there when it holds no train/ files)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common_models(p)
    p.set_defaults(func=cmd_setup_demo)

    p = sub.add_parser("report", help="an HTML (and PDF) report of a model on some traffic, for non-programmers")
    p.add_argument("--model", required=True, help="model folder or name in the registry")
    p.add_argument("--data", type=_path, required=True, nargs="+", help="folder in the official layout (DIR/test is "
                   "scored), a folder of CSV files, or CSV files")  # fmt: skip
    p.add_argument("--out", type=_path, required=True, help="HTML file to write (self-contained: opens without "
                   "internet; -: to standard output)")  # fmt: skip
    p.add_argument("--pdf", type=_path, help="also write this PDF file (-: to standard output)")
    p.add_argument("--importance-rows", type=_positive_int, default=2000, help="rows sampled for feature importance "
                   "(default 2000)")  # fmt: skip
    p.add_argument("--no-importance", action="store_true", help="skip feature importance (faster)")
    common_models(p)
    p.set_defaults(func=cmd_report)
    return parser


def _close_progress_bars() -> None:
    """Clear any progress bar still drawn, so that an error starts on a line of its own."""
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", None) or []):
        bar.close()


class _Stopped(BaseException):
    """A stop signal (SIGTERM, SIGHUP) raised in the main thread, so that a run unwinds as after Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, _frame):
    raise _Stopped(signum)


@contextlib.contextmanager
def _stop_signals_unwind():
    """SIGTERM and SIGHUP (``kill``, ``timeout``, a closed terminal, a stopped service) end a command as Ctrl-C does,
    through its clean-ups, instead of at once: ``predict`` stopped so left its partial output behind, as a hidden
    ``.OUT.PID.tmp`` file as large as the rows written, which no later run removed. A signal ignored on entry (as
    ``nohup`` ignores SIGHUP) stays ignored; the handlers are put back on the way out."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
                previous[signum] = signal.signal(signum, _raise_stopped)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    _made_folders.clear()
    try:
        try:
            with _stop_signals_unwind():
                status = args.func(args)
        except BaseException:  # failed or stopped: the output folders it made and left empty go
            _remove_empty_made_folders()
            raise
        _made_folders.clear()
        sys.stdout.flush()  # here, so that a reader who left is met below and not at exit
        return status
    except _Stopped as exc:
        _close_progress_bars()
        print(f"stopped by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum
    except CoreError as exc:
        _close_progress_bars()
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (``python -m core models | head -3``): stop quietly, as Unix tools do
        try:  # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a file (e.g. captured in tests)
            pass
        return 141  # 128 + SIGPIPE, the status a shell gives a tool the pipe ended
