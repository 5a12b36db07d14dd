"""Training runs in a worker process, followed by a thread, so that the page stays live and can cancel them.

Streamlit reruns the page script on every interaction, so a training loop that blocks the
script could neither redraw its curves between reruns nor hear a Cancel click. Instead a
:class:`TrainJob` starts one worker process (``spawn``) that reads the data, trains and saves the
model, and one thread in the server that follows it: the worker sends its progress over a queue
and the thread writes plain fields of the job (never Streamlit elements, which need the script's
own thread); the page, holding the job in ``st.session_state``, reads them on each rerun (a
fragment polls it once a second).

Why a process and not a thread: after every script run (so once a second while the fragment
polls) Streamlit calls ``keras.backend.clear_session()``, which in Keras 3 resets the state of
every thread and runs ``gc.collect()`` (about 0.3 s with TensorFlow loaded, holding the GIL). In a
thread of the server, training was 1.4-1.7x slower than from the command line because of it, and
could lose its layer names mid-build. The server now trains no network (saved networks are scored by
the numpy engine, and their flows explained by its gradient; where it imports Keras all the same, its
runs skip that clean-up, :mod:`dashboard.streamlit_keras`), its memory does not grow with each network
trained, and other users' pages do not wait on the training loop for the GIL.

Cancel: the worker is asked to stop and then terminated at once (a forest's fit has no progress
reports to stop at), unless it has already begun to save, in which case the model is saved as usual;
a cancelled run saves nothing. No Streamlit import here: this module is plain Python, testable
without a server.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import queue
import re
import shutil
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from core import audit
from core.errors import CoreError, DataError, LayoutMismatchError, ModelFormatError
from core.loading import cap_rows_per_class, csv_files_in, has_split, read_files, source_names, split_files
from core.models import FAMILIES
from core.paths import confine, data_roots, demo_data_dir
from core.pipeline import TrainingLock, new_model_folder, read_metadata, writable_registry
from core.training import Cancelled, TimeLeft, TrainProgress, describe_seconds, train_from_folder, train_model
from core.words import counted

log = logging.getLogger(__name__)

#: Uploaded files of the official test split (``..._test.pcap.csv``) are used as the test set.
_TEST_FILE_RE = re.compile(r"_test(\.pcap)?\.csv$", re.IGNORECASE)


@dataclass
class TrainRequest:
    """Everything one training run needs; built by the Train page from its widgets."""

    family: str
    task: int
    params: dict
    models_dir: Path
    name: str = ""
    data_dir: str | None = None  # a folder in the official layout, or ...
    uploads: list[tuple[str, bytes | str]] = field(default_factory=list)  # ... uploaded (name, bytes or a path)
    max_rows_per_class: int | None = None
    val_fraction: float = 0.1
    refit: bool | None = None  # None: the family's default (core.training.train_model)
    seed: int = 0
    user: str | None = None  # the signed-in user, for the audit log
    automatic_name: bool = False  # the name was made by check_request, not typed: never refused for being taken


#: Project root: relative folder paths typed into the dashboard are taken from here.
ROOT = Path(__file__).resolve().parent.parent


def allowed_roots() -> list[Path]:
    """Folders a typed path may lie in: ``$IOMT_DATA_ROOTS`` (or data/ and ../shared/data), and the demo data."""
    return [*data_roots(), demo_data_dir().resolve()]


def resolve_folder(text: str) -> Path:
    """A folder path typed by a user: ``~`` expanded, relative paths taken from the project root, ``..`` and
    links resolved; refused (:class:`core.paths.PathNotAllowedError`) outside :func:`allowed_roots`."""
    return confine(text, allowed_roots(), base=ROOT)


def folder_summary(folder: str | Path) -> str:
    """A few words on a data folder in the official layout, with what its splits hold besides CSV files (left out);
    raises DataError when ``train/`` has no CSVs."""
    notes: list[str] = []
    train = split_files(folder, "train", notes=notes)
    test_dir = Path(folder) / "test"
    test_files, test_notes = csv_files_in(test_dir) if test_dir.is_dir() else ([], [])
    notes += test_notes
    n_test = len(test_files)
    size = sum(f.stat().st_size for f in train) / 1e6
    test = counted(n_test, "test file") if n_test else "no test files (only validation scores will be shown)"
    return (f"{folder}: {counted(len(train), 'training file')} ({size:,.1f} MB), {test}."
            + "".join(f" Note: {n}." for n in notes))  # fmt: skip


def default_name(family: str, task: int) -> str:
    return f"{family}-{task}class-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def check_request(request: TrainRequest) -> TrainRequest:
    """Refuse a bad request before a thread starts; fill in the automatic model name.

    Raises
    ------
    CoreError
        Unknown family, bad model name, a name already used, or a data folder
        without ``train/`` CSVs, or no data at all.
    """
    if request.family not in FAMILIES:
        raise CoreError(f"unknown model family {request.family!r}", hint=f"choose one of {sorted(FAMILIES)}")
    name = request.name.strip()
    if name:
        new_model_folder(request.models_dir, name)
    else:  # free or not, it is made free by claim_name
        writable_registry(request.models_dir)
        name, request.automatic_name = default_name(request.family, request.task), True
    if request.data_dir == "":
        raise DataError("no data folder given", hint="type the path of a folder holding train/ (and test/)")
    if request.data_dir is not None:
        request.data_dir = str(resolve_folder(request.data_dir))  # confined to the allowed roots
        split_files(request.data_dir, "train")  # raises a DataError naming the folder and the expected layout
    elif not request.uploads:
        raise DataError("no CSV files uploaded", hint="upload the training CSVs, or choose a data folder")
    else:  # one capture uploaded twice: refused now, as read_files would; the worker reads two distinct files
        source_names(request.uploads)
    request.name = name
    return request


#: Automatic names tried (``NAME``, ``NAME-2`` …) before giving up.
_AUTOMATIC_TRIES = 100


def claim_name(request: TrainRequest) -> TrainingLock:
    """The training lock of ``request.name``, to hold until the run ends: one run per model name.

    A typed name another run holds is refused (CoreError). An automatic name (``request.automatic_name``) is
    not the user's problem: while it is being trained or already saved (two sessions starting the same family
    and task in the same second), ``-2``, ``-3`` … is added, and ``request.name`` becomes the name taken.
    """
    if not request.automatic_name:
        return TrainingLock(request.models_dir, request.name).acquire()
    base = request.name
    for n in range(1, _AUTOMATIC_TRIES + 1):
        name = base if n == 1 else f"{base}-{n}"
        lock = TrainingLock(request.models_dir, name)
        try:
            lock.acquire()
        except CoreError:
            if lock.path is None:  # the registry cannot hold locks at all
                raise
            continue  # being trained by another run
        try:
            new_model_folder(request.models_dir, name)
        except ModelFormatError:  # saved meanwhile
            lock.release()
            continue
        except BaseException:
            lock.release()
            raise
        request.name = name
        return lock
    raise CoreError(f"no free automatic model name: {base} and {_AUTOMATIC_TRIES - 1} more are taken",
                    hint="type a model name")  # fmt: skip


#: Added to the niceness of the worker process (every thread of it) as it starts: the server, which parses and scores
#: other users' uploads in its own threads, goes first on a busy machine. On 2 cores (shared with other work), the
#: parse + score of a 250,000-row capture in the server (median of 3) took 1.95 s alone with the cnn, 1.75 s with a
#: forest; while a cnn, gbt or rf trained at the server's niceness, 4.1-9.1 s and 2.9-6.2 s; at +10, in the same
#: back-to-back pairs, 2.0-4.3 s and 1.6-3.3 s (bench/score_while_training.py; bench/RESULTS.md, "Scoring while a
#: model trains"). Niceness takes nothing from a training that has the cores to itself (a forest of 60 trees:
#: 6.5-6.7 s at +10, 6.3-6.8 s at 0); it yields only to work at a higher priority. Thread pools of one thread instead
#: helped less and would slow every training. 0 leaves the worker at the server's priority.
WORKER_NICENESS = 10


class WorkerJob:
    """Work in a worker process, followed by a thread of the server; the page polls its fields.

    Attributes
    ----------
    state : {"running", "done", "cancelled", "failed"}
    fraction, message : float, str
        Progress of the whole run (0..1) and what it is doing.
    seconds_left : float or None
        How long the run has left at its pace since fitting began (:class:`core.training.TimeLeft`), counted down
        between progress reports; None until there is a pace to go by, and once the time said has run out.
    history : dict of str to list of float
        Per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` (networks only).
    result
        What the work returned, once ``state == "done"``.
    error : Exception or None
        Why the run failed (a :class:`core.errors.CoreError` as the worker raised it, cause and hint).
    worker_pid : int or None
        The worker process, once started.
    """

    #: ``message`` once the run was cancelled.
    _cancelled_message = "cancelled"
    #: Added to the worker's niceness as it starts (:data:`WORKER_NICENESS`); a job may set its own before start.
    niceness: int = WORKER_NICENESS

    def __init__(self, name: str, clock=time.monotonic):
        self.name = name
        self.state = "running"
        self.fraction = 0.0
        self.message = "starting"
        self._clock = clock
        self._left: tuple[float, float] | None = None  # (seconds left, when that was said)
        self._time_left = TimeLeft(clock)
        self.history: dict[str, list[float]] = {}
        self.result = None
        self.error: Exception | None = None
        self.worker_pid: int | None = None
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.seen_by_page = False  # set once the page has reacted to the end (refresh the model list)
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._mp = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or TF state inherited
        self._stop = self._mp.Event()  # set (under _saving's lock) only while the worker has not begun to save
        self._saving = self._mp.Value("b", 0)
        self._thread = threading.Thread(target=self._run, name=f"job-{name}", daemon=True)

    # -------------------------------------------------------------- what a kind of job does

    def _work(self) -> tuple:
        """``(function, args)`` run in the worker as ``function(*args, progress=..., commit=...)``."""
        raise NotImplementedError

    def _done(self, result) -> None:
        """In the following thread, once the work has returned ``result``."""
        self.result = result

    def _ending(self, state: str) -> None:
        """In the following thread, once the run's outcome (``state``) is known but before it is shown: what must
        be over when the page sees the run as ended (a name to free for the next run)."""

    def _ended(self) -> None:
        """In the following thread, at the very end, whatever the outcome."""

    # -------------------------------------------------------------- control

    def start(self) -> WorkerJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop the run now, unless its result is already being saved."""
        if self._cancel.is_set():
            return
        self._cancel.set()
        lock = self._saving.get_lock()
        if lock.acquire(timeout=5):
            try:
                if not self._saving.value:
                    self._stop.set()
            finally:
                lock.release()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def saving(self) -> bool:
        """Whether the run is saving its result: a cancel no longer stops it (the result is kept)."""
        return self.running and bool(self._saving.value)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (tests and the command line); True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def curves(self) -> dict[str, list[float]]:
        """A copy of the per-epoch history, safe to plot while training goes on."""
        with self._lock:
            return {k: list(v) for k, v in self.history.items()}

    @property
    def seconds_left(self) -> float | None:
        """Counted down from the last progress report: a forest's step of trees on millions of rows takes minutes,
        and the label said "about 1 min 06 s left" for as long, while the time spent went on growing."""
        if self._left is None:
            return None
        left = self._left[0] - (self._clock() - self._left[1])
        return left if left >= 1.0 else None  # run out: no pace to go by until the next report

    @seconds_left.setter
    def seconds_left(self, value: float | None) -> None:
        self._left = None if value is None else (float(value), self._clock())

    @property
    def elapsed(self) -> float:
        return (self.finished_at or time.time()) - self.started_at

    def progress_text(self, limit: int = 150) -> str:
        """What the run is doing, time spent and (once known) time left, for a progress bar's label."""
        left = self.seconds_left
        times = describe_seconds(self.elapsed) + ("" if left is None else f", about {describe_seconds(left)} left")
        return f"{self.message[:limit]} ({times})"

    # -------------------------------------------------------------- the following thread

    def _apply(self, event: TrainProgress) -> None:
        with self._lock:
            self.fraction = min(max(float(event.fraction), 0.0), 1.0)
            self.message = event.message
            self.seconds_left = self._time_left.update(event)
            if event.stage == "epoch":
                for key, value in event.metrics.items():
                    self.history.setdefault(key, []).append(float(value))

    def _follow(self, worker, events) -> tuple:
        """Apply the worker's progress until its outcome: ``("done", result)``, ``("cancelled",)``,
        ``("failed", CoreError)`` or ``("crashed", message, traceback)``."""
        while True:
            if self._stop.is_set():  # cancelled before saving began: the worker will not save, stop it now
                worker.terminate()
                worker.join()
                return ("cancelled",)
            try:
                kind, *rest = events.get(timeout=0.2)
            except queue.Empty:
                if worker.is_alive():
                    continue
                try:  # its last message may still be in the pipe
                    kind, *rest = events.get(timeout=2)
                except queue.Empty:
                    if worker.exitcode == -signal.SIGKILL:  # what the kernel's out-of-memory killer sends
                        return ("failed", _out_of_memory("was stopped by the system (SIGKILL) before it finished, "
                                                         "most likely because the machine ran out of memory"))  # fmt: skip
                    return ("crashed", f"the worker process ended without a result (exit code {worker.exitcode})",
                            "")  # fmt: skip
            if kind == "progress":
                self._apply(rest[0])
            elif kind == "started":
                self.worker_pid = rest[0]
            else:
                return (kind, *rest)

    def _run(self) -> None:
        state, error = "failed", None
        try:
            self.message = "starting a worker process"
            events = self._mp.Queue()
            function, args = self._work()
            worker = self._mp.Process(target=_serve, name=f"job-{self.name}", daemon=True,
                                      args=(function, args, events, self._stop, self._saving,
                                            self.niceness))  # fmt: skip
            worker.start()
            kind, *rest = self._follow(worker, events)
            worker.join(timeout=30)
            if kind == "done":
                self._done(rest[0])
                state = "done"
            elif kind == "cancelled":
                state = "cancelled"
            elif kind == "failed":  # bad input: cause and hint, shown on the page
                error = rest[0]
            else:  # a bug, not bad input: its traceback goes to the server's log, the message to the page
                message, trace = rest
                log.error("%s failed: %s\n%s", self.name, message, trace)
                error = RuntimeError(message)
        except Exception as exc:  # starting or following the worker failed: shown on the page, logged
            log.exception("%s failed", self.name)
            error = exc
        finally:
            try:
                self._ending(state)
            finally:  # the outcome last: the page takes the run as over, and offers to start another, from it
                self.error, self.finished_at, self.seconds_left = error, time.time(), None
                if state == "done":
                    self.fraction = 1.0
                else:
                    self.message = self._cancelled_message if state == "cancelled" else "failed"
                self.state = state
                self._ended()


def _serve(function, args, events, stop, saving, niceness: int = 0) -> None:
    """The worker process: run ``function`` and send its progress and outcome over ``events``.

    ``progress`` raises :class:`Cancelled` once a stop is asked; ``commit()`` is called by the function
    just before it writes its result, after which a cancel no longer stops it. ``niceness`` is added to the
    worker's niceness first of all (:func:`_lower_priority`)."""
    _lower_priority(niceness)

    def progress(event: TrainProgress) -> None:
        if stop.is_set():
            raise Cancelled("cancelled by the user")
        events.put(("progress", event))

    def commit() -> None:
        with saving.get_lock():
            if stop.is_set():
                raise Cancelled("cancelled by the user")
            saving.value = 1

    from joblib import parallel_config

    events.put(("started", os.getpid()))
    try:
        # The worker is a daemonic process, which joblib's default (process) backend cannot use: asked how many
        # jobs n_jobs=-1 means, joblib answered 1, with a warning in the server log (the forest then grew its trees
        # in steps sized for one core; its own fit runs on threads, which scikit-learn prefers, either way).
        with parallel_config(backend="threading"):
            events.put(("done", function(*args, progress=progress, commit=commit)))
    except Cancelled:
        events.put(("cancelled",))
    except CoreError as exc:
        events.put(("failed", exc))
    except MemoryError as exc:  # not a bug: the data is too large for this machine, and trying again fails again
        events.put(("failed", _out_of_memory(f"ran out of memory ({exc})")))
    except BaseException as exc:
        events.put(("crashed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))


def _lower_priority(niceness: int) -> None:
    """Add ``niceness`` to that of every thread of this process. On Linux each thread has its own, and a new thread
    takes its creator's: ``os.nice`` alone left OpenBLAS's and jemalloc's threads, started as the worker imported
    its modules, at the server's priority; TensorFlow's, OpenMP's and joblib's, started later, take the main
    thread's."""
    if not niceness:
        return
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: the process's niceness, for its threads to come
        threads = [0]
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + niceness, 19))
        except OSError as exc:  # a thread that has ended meanwhile; never a lack of privilege, when lowering
            log.debug("thread %s of the training process kept its priority: %s", tid, exc)


def _out_of_memory(what: str) -> CoreError:
    """The error of a worker that ran out of memory: ``what`` happened, and how to train on less."""
    return CoreError(f"the training process {what}",
                     hint="train on fewer rows: set 'Rows per class' (e.g. 100000), or choose a smaller model (fewer "
                     "trees, a smaller batch); other trainings running on this server share its memory")  # fmt: skip


#: The training runs going on in this server process, by registry folder and model name: a page that lost its
#: session (reloaded, closed) can find its run again. Written by the page's thread and the following threads.
_LIVE: dict[tuple[str, str], TrainJob] = {}
_LIVE_LOCK = threading.Lock()


def live_jobs(models_dir: str | Path) -> list[TrainJob]:
    """The runs of this process training into the registry ``models_dir``, oldest first."""
    folder = str(Path(models_dir).resolve())
    with _LIVE_LOCK:
        return [job for (where, _), job in _LIVE.items() if where == folder and job.running]


class TrainJob(WorkerJob):
    """One training run (:class:`TrainRequest`); the model is saved by the worker.

    Attributes (besides :class:`WorkerJob`'s)
    ----------
    metadata : dict or None
        The saved model's ``metadata.json`` (classes, data, notes), once ``state == "done"``: all the page shows of
        it. Its weights are not loaded into the server.
    reports : dict
        ``{"validation": EvaluationReport or None, "test": EvaluationReport or None}``.
    """

    _cancelled_message = "cancelled: nothing was saved"

    def __init__(self, request: TrainRequest, name_lock: TrainingLock):
        super().__init__(f"train-{request.name}")
        self.request = request
        self.metadata: dict | None = None
        self._name_lock = name_lock  # held from start to end (released in _ending): one run per model name
        self._upload_dir: Path | None = None  # the uploads written out for the worker, removed at the end
        self._live_key = (str(Path(request.models_dir).resolve()), request.name)

    def start(self) -> TrainJob:
        """Start the run, listed by :func:`live_jobs` until it ends."""
        with _LIVE_LOCK:
            _LIVE[self._live_key] = self
        try:
            return super().start()
        except BaseException:
            self._unlist()
            raise

    def _unlist(self) -> None:
        with _LIVE_LOCK:
            if _LIVE.get(self._live_key) is self:
                del _LIVE[self._live_key]

    def _work(self) -> tuple:
        if self.request.uploads:
            self.message = "passing the uploaded files to the worker"
            self.request.uploads, self._upload_dir = spill_uploads(self.request.uploads)
        return _train_and_save, (self.request,)

    def _done(self, reports) -> None:
        # Only the metadata: loading the model back held its weights in the server for as long as the page kept the
        # run (a forest of 30 full-depth trees on 1.3 M rows: a 586 MB file, the server grew to 2 GB), and the run
        # stayed "saving" while they were read.
        self.metadata = read_metadata(Path(self.request.models_dir) / self.request.name)
        self.result = reports
        self.message = f"saved as {self.request.name}"

    @property
    def reports(self) -> dict:
        return self.result or {}

    def _ending(self, state: str) -> None:
        """The name is free again before the page shows the outcome, and so offers to start again: it was freed
        after the audit below, which hashes every training file (seconds for a large data folder, or forever
        while another process holds the audit log), and a new run of the name was refused meanwhile as "being
        trained right now" under a page that said the run was over."""
        self._unlist()  # before the name is free: a new run of that name lists itself after
        if self._name_lock is not None:
            self._name_lock.release()

    def _ended(self) -> None:
        try:
            if self.state == "done":
                self._audit("trained")
            elif self.state == "cancelled":
                self._audit("training cancelled")
            elif self.state == "failed":
                hint = getattr(self.error, "hint", None)
                self._audit("training failed", error=str(self.error) + (f" (what to do: {hint})" if hint else ""))
        finally:  # after the audit, which hashes the uploads written out for the worker
            if self._upload_dir is not None:
                shutil.rmtree(self._upload_dir, ignore_errors=True)

    def _audit(self, action: str, **details) -> None:
        r = self.request
        try:
            files = _training_files(r)
        except (OSError, CoreError) as exc:  # a file removed meanwhile: still record the event
            files = [{"name": str(r.data_dir), "size": None, "sha256": None, "error": str(exc)}]
        audit.record(action, user=r.user, via="dashboard", model=r.name, files=files, family=r.family, task=r.task,
                     data=r.data_dir or "uploads", **details)  # fmt: skip


#: The stage of a progress event that carries a benchmark's results so far instead of progress.
RESULTS_SO_FAR = "results so far"


class BenchmarkJob(WorkerJob):
    """A comparison of model families (:func:`core.compare.run_benchmark`) on a data folder; ``result`` is its
    :class:`core.compare.Results` (scores, and the jobs that failed).

    ``kwargs`` go to ``run_benchmark`` as they are. With ``models_dir`` each model is saved as soon as it is
    trained, so a cancelled run keeps the models saved before the click. ``partial`` holds the results of the jobs
    finished so far (sent by the worker after each), so a cancelled run can still show them."""

    def __init__(self, data_dir: str | Path, title: str = "", **kwargs):
        super().__init__(f"benchmark-{Path(data_dir).name}")
        self.data_dir, self.title, self.kwargs = str(data_dir), title, kwargs  # title: what the page calls this run
        self.partial = None
        self.user: str | None = None  # the signed-in user who started it, for the audit log

    @property
    def finished(self):
        """The results of the jobs finished so far: ``partial`` or, before a continued run (``resume``) has
        finished one, those it was given."""
        return self.partial if self.partial is not None else self.kwargs.get("resume")

    def _work(self) -> tuple:
        return _benchmark, (self.data_dir, self.kwargs)

    def _ended(self) -> None:
        """Models saved to the registry are audited as trained, whatever the run's outcome (one saved before a
        cancel or a failure stays)."""
        if not self.kwargs.get("models_dir"):
            return
        registry = Path(self.kwargs["models_dir"])
        saved = sorted(p.name for p in registry.glob("bench-*") if p.is_dir() and p.stat().st_mtime >= self.started_at)
        if saved:
            audit.record("trained", user=self.user, via="dashboard", model=", ".join(saved), data=self.data_dir,
                         comparison=self.title, outcome=self.state)  # fmt: skip

    def _apply(self, event: TrainProgress) -> None:
        if event.stage == RESULTS_SO_FAR:
            self.partial = event.metrics["results"]
        else:
            super()._apply(event)


def spill_uploads(uploads: list[tuple[str, bytes | str]]) -> tuple[list[tuple[str, bytes | str]], Path]:
    """Write uploaded files into a new private temporary folder; ``(name, path)`` pairs in the same order.

    The worker process then reads files, not bytes sent to it: the uploads are not pickled through a pipe
    (for a 1 GB upload that held a second gigabyte in the server and a third in the worker while it was
    sent), and the worker parses them as it parses files on disk (mapped, in pieces). The names stay the
    uploads' own: they give the class and name the file in error messages. ``$IOMT_UPLOAD_DIR`` chooses
    where the folder is made (default: the system's temporary folder).
    """
    where = os.environ.get("IOMT_UPLOAD_DIR") or tempfile.gettempdir()
    folder = None
    out: list[tuple[str, bytes | str]] = []
    try:
        folder = Path(tempfile.mkdtemp(prefix="iomt-uploads-", dir=where))
        for i, (name, payload) in enumerate(uploads):
            if isinstance(payload, bytes | bytearray | memoryview):
                path = folder / f"{i:04d}.csv"  # the upload's own name may hold anything; it is kept beside
                path.write_bytes(payload)
                payload = str(path)
            out.append((name, payload))
    except BaseException as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a missing folder: say where, and what to do
            raise CoreError(f"the uploaded files could not be written to {where} for the training process: "
                            f"{exc.strerror or exc}; nothing was trained",
                            hint="free space there (the uploads take as much as their size), or have an "
                            "administrator set IOMT_UPLOAD_DIR to a folder with room for them") from exc  # fmt: skip
        raise
    return out, folder


def _benchmark(data_dir: str, kwargs: dict, *, progress, commit):
    from core.compare import run_benchmark

    def so_far(results) -> None:  # a copy: the queue pickles it later, in its own thread, as the run goes on
        progress(TrainProgress(RESULTS_SO_FAR, 0.0, "", {"results": copy.deepcopy(results)}))

    return run_benchmark(data_dir, progress=progress, on_result=so_far, **kwargs)


def _train(request: TrainRequest, progress) -> tuple:
    r = request
    common = dict(params=r.params, seed=r.seed, val_fraction=r.val_fraction, refit=r.refit,
                  progress=progress)  # fmt: skip
    if r.data_dir is not None:
        return train_from_folder(r.family, r.task, r.data_dir, max_rows_per_class=r.max_rows_per_class,
                                 save=False, **common)  # fmt: skip
    train_files = [u for u in r.uploads if not _TEST_FILE_RE.search(u[0])]
    test_files = [u for u in r.uploads if _TEST_FILE_RE.search(u[0])]
    if not train_files:
        raise DataError("every uploaded file is a test file (…_test.pcap.csv)", hint="upload training files too")
    progress(TrainProgress("load", 0.0, f"reading {counted(len(train_files), 'uploaded file')}"))
    train = read_files(train_files, require_labels=True)
    if r.max_rows_per_class:
        train = cap_rows_per_class(train, r.max_rows_per_class, seed=r.seed)
    try:
        test = read_files(test_files, require_labels=True, layout=train.layout) if test_files else None
    except LayoutMismatchError as exc:  # its hint is for scoring with a model; here none exists yet
        found, expected = exc.found, exc.expected
        raise DataError(f"this test file is of the {found.name} release ({found.n_features} features) but the "
                        f"training files are of the {expected.name} release ({expected.n_features} features)",
                        file=exc.file, hint="upload the files of one release only: training and test files of "
                        "the same CICIoMT2024 release") from None  # fmt: skip
    names = ", ".join(n for n, _ in r.uploads[:3]) + (" …" if len(r.uploads) > 3 else "")
    return train_model(r.family, r.task, train, test=test, data_description=f"uploaded: {names}", **common)


def _train_and_save(request: TrainRequest, *, progress, commit) -> dict:
    """In the worker: train, then (unless cancelled by then) save; the evaluation reports go back."""
    model, reports = _train(request, progress)
    commit()
    progress(TrainProgress("save", 1.0, "saving"))
    try:
        model.save(Path(request.models_dir) / request.name)
    except OSError as exc:  # a full disk after the whole fit: say where, not only the errno
        raise CoreError(f"the model {request.name!r} could not be written to {request.models_dir}: "
                        f"{exc.strerror or exc}; it was not saved",
                        hint=f"make room in {request.models_dir} (or check that it can be written), then train "
                        "again") from exc  # fmt: skip
    return reports


def _training_files(request: TrainRequest) -> list[dict]:
    """Name, size and SHA-256 of the training files (uploads, or the data folder's train/ and test/)."""
    if request.data_dir is None:
        return [audit.file_info(name, payload) for name, payload in request.uploads]
    # The files training reads (.CSV too; hidden ones such as macOS's ._X.csv skipped), not a pattern of its own.
    files = split_files(request.data_dir, "train")
    if has_split(request.data_dir, "test"):
        files += split_files(request.data_dir, "test")
    return [audit.file_info(str(f)) for f in files]


def start_training(request: TrainRequest) -> TrainJob:
    """Check ``request`` (raises CoreError), take its model name (:func:`claim_name`) and start a
    :class:`TrainJob` for it."""
    request = check_request(request)
    lock = claim_name(request)
    try:
        return TrainJob(request, lock).start()
    except BaseException:
        lock.release()
        raise
