"""Cached loaders shared by every page, and the session-state keys (defined once here).

Heavy work is cached (models with ``st.cache_resource``; parsed uploads, predictions, evaluations and their tables in
:data:`HEAVY`, bounded by the memory they hold: shared read-only objects, never copied on a rerun), keyed on cheap
identities (an upload's name, size and contents, hashed once per upload; model path and modification time) rather than
on hashing hundreds of MB each rerun.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import audit  # noqa: E402
from core.errors import CoreError, FilesError, ModelFormatError  # noqa: E402
from core.evaluation import EvaluationReport  # noqa: E402
from core.limits import env_int  # noqa: E402
from core.loading import Dataset, header_layout, read_files  # noqa: E402
from core.paths import demo_data_dir  # noqa: E402 (the demo data folder: $IOMT_DEMO_DATA_DIR or data/demo)
from core.pipeline import Predictions, TrainedModel, default_models_dir, list_models  # noqa: E402
from core.schema import V2, Layout  # noqa: E402
from dashboard.streamlit_keras import skip_keras_clear_session  # noqa: E402

# Every page imports this module: from here on no script run ends with Keras's clear_session (a full gc.collect
# holding the GIL, paid by every run once Keras was imported; dashboard/streamlit_keras.py).
skip_keras_clear_session()

# Session-state keys (widget keys are prefixed by their page: "analyze_", "compare_", ...).
KEY_TASK = "task"  # the task chosen last, shared by Analyze and Compare
KEY_TRAIN_JOB = "train_job"  # the training run in progress or last finished


def __getattr__(name: str):
    # ``DEMO_DATA_DIR`` is looked up on each access (PEP 562), not frozen at import: a test
    # (or a second app in one process) that sets $IOMT_DEMO_DATA_DIR after this module was
    # first imported still gets its own folder.
    if name == "DEMO_DATA_DIR":
        return demo_data_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def models_dir() -> Path:
    """The model registry folder (``$IOMT_MODELS_DIR`` or ``models/``)."""
    return default_models_dir()


def _registry_stamp(root: Path) -> float:
    """Changes whenever a model folder is added, replaced or removed."""
    if not root.is_dir():
        return 0.0
    return max([root.stat().st_mtime] + [p.stat().st_mtime for p in root.iterdir() if p.is_dir()])


@st.cache_data(show_spinner=False)
def _model_table(root: str, stamp: float) -> list[dict]:
    return list_models(root)


def _registry() -> list[dict]:
    """Every entry of the models folder (core.pipeline.list_models), cached until a folder changes; a CoreError
    naming the folder when it cannot be read (owned by another account, say): that was a traceback on every page."""
    root = models_dir()
    try:
        return _model_table(str(root), _registry_stamp(root))
    except OSError as exc:
        raise CoreError(f"the models folder {root} cannot be read ({exc.strerror or exc}), so no model can be listed "
                        "or used", hint="give the account that runs the dashboard permission to read it, or point "
                        "the setting IOMT_MODELS_DIR at another folder") from None  # fmt: skip


def registry_problem() -> str | None:
    """Why no model can be listed when the models folder itself is missing or is a file, with its path (None when
    it is a folder): a mistyped ``$IOMT_MODELS_DIR`` showed only "No model is saved yet", and models trained then
    were saved where no one would look for them."""
    from dashboard.escape import md

    root = models_dir()
    setting = ("It is the folder named by the setting `IOMT_MODELS_DIR`: check it for a typing mistake."
               if os.environ.get("IOMT_MODELS_DIR") else "")  # fmt: skip
    if root.is_file():
        return (f"The models folder {md(root)} is a file, not a folder: no model can be listed or saved there. "
                + (setting or "Move the file away."))  # fmt: skip
    if not root.exists():
        return (f"The models folder {md(root)} does not exist, so no model can be listed. "
                + (setting + " " if setting else "") + "Training a model creates the folder.")  # fmt: skip
    return None


def saved_models(task: int | None = None) -> list[dict]:
    """Metadata of the saved models (newest first), optionally of one task; damaged ones left out."""
    models = [m for m in _registry() if "error" not in m]
    return [m for m in models if task is None or int(m["task"]) == int(task)]


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load_model(path: str, mtime: float) -> TrainedModel:
    return TrainedModel.load(path)


def model_mtime(path: str | Path) -> float:
    """The model folder's modification time; a clear error when another session has deleted it."""
    try:
        return Path(path).stat().st_mtime
    except FileNotFoundError:
        refresh_models()
        raise ModelFormatError(f"the model {Path(path).name!r} no longer exists: it was deleted, perhaps in another "
                               "session", hint="choose another model (the list has been refreshed)") from None  # fmt: skip


def load_model(path: str | Path) -> TrainedModel:
    """Load a saved model once per session of the server (reloaded if the folder changes)."""
    p = Path(path)
    return _load_model(str(p), model_mtime(p))


@dataclass(frozen=True)
class UploadKey:
    """Identity of a set of uploads: (name, size, SHA-256 of the contents) per file."""

    files: tuple[tuple[str, int, str], ...]


#: Uploads' SHA-256 by upload id, most recent last (at most :data:`MAX_DIGESTS`): worked out once per upload, not on
#: every rerun (0.25 s for a 409 MB capture; the audit log's entry reuses it).
_DIGESTS: OrderedDict[str, str] = OrderedDict()
_DIGESTS_LOCK = threading.Lock()
MAX_DIGESTS = 1024


def upload_digest(upload) -> str:
    """SHA-256 of an uploaded file's contents, once per upload (Streamlit gives each upload an id of its own)."""
    file_id = getattr(upload, "file_id", None)
    with _DIGESTS_LOCK:
        if file_id is not None and file_id in _DIGESTS:
            _DIGESTS.move_to_end(file_id)
            return _DIGESTS[file_id]
    digest = audit.sha256_of(upload.getvalue())
    if file_id is not None:
        with _DIGESTS_LOCK:
            _DIGESTS[file_id] = digest
            while len(_DIGESTS) > MAX_DIGESTS:
                _DIGESTS.popitem(last=False)
    return digest


def upload_key(uploads) -> UploadKey:
    """The uploads' identity by name, size and contents: the same capture uploaded again (the uploader empties itself
    when the analyst leaves the page), or by another analyst, is the parse and scoring already made, not a second
    one held beside it. The name is part of it: the parsed data and its messages name the file."""
    return UploadKey(tuple((u.name, u.size, upload_digest(u)) for u in uploads))


# ---------------------------------------------------------------------------------- heavy results, in a memory budget


def nbytes(value, depth: int = 3) -> int:
    """The bytes of the arrays and frames ``value`` holds (a Dataset, Predictions, a frame, a tuple of them): what a
    cached result keeps in memory, to a few fields deep; small objects count as nothing."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (pd.DataFrame, pd.Series)):
        used = value.memory_usage(index=True, deep=False)
        return int(used.sum() if isinstance(used, pd.Series) else used)
    if depth <= 0:
        return 0
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v, depth - 1) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name, None), depth - 1) for f in fields(value))
    return 0


def cache_budget_bytes() -> int:
    """Memory the heavy results may hold together: ``$IOMT_CACHE_MB``, else a quarter of this machine's memory,
    between 512 MB and 4 GB."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        physical = 8 << 30
    default_mb = int(min(max(physical // 4, 512 << 20), 4 << 30) // (1 << 20))
    return env_int("IOMT_CACHE_MB", default_mb, unset=f"a quarter of this machine's memory ({default_mb:,} MB)") << 20


class BudgetCache:
    """Parsed uploads, scorings and their tables, shared by every session as ``st.cache_resource`` shares them, but
    bounded by the memory they hold (:func:`cache_budget_bytes`), least recently used dropped first, rather than by a
    count of entries: eight parsed uploads and sixteen scorings of a million rows each kept about 0.45 GB per capture
    analysed, by extrapolation some 11 GB once eight captures of three million rows had been (bench/RESULTS.md). The
    newest result is always kept, even alone over the budget. A result dropped is worked out again when it is next
    asked for (the uploads stay in their page), never lost.

    A result asked for while another session works it out is waited for, not worked out a second time (two analysts
    comparing models on one data folder at once, or scoring the demo traffic with one model, parsed or scored it
    twice, holding it twice in memory meanwhile; an upload is keyed by its contents, so the same capture uploaded in two
    sessions is read once too); if that work fails or is stopped, the one waiting does it."""

    def __init__(self) -> None:
        self._entries: OrderedDict = OrderedDict()  # key -> (value, bytes)
        self._working: dict = {}  # key -> Event set once the session working it out is done, or has given up
        self._lock = threading.Lock()

    def get(self, key, make: Callable[[], object]):
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
                done = self._working.get(key)
                if done is None:
                    done = self._working[key] = threading.Event()
                    break
            done.wait()  # then kept (taken above), or failed, stopped or already dropped (worked out here)
        try:
            budget = cache_budget_bytes()  # a bad $IOMT_CACHE_MB is said before the work, and nothing is kept
            value = make()
            with self._lock:
                self._entries[key] = (value, nbytes(value))
                self._entries.move_to_end(key)
                total = self.total()
                while (total > budget or len(self._entries) > MAX_HEAVY_ENTRIES) and len(self._entries) > 1:
                    _, (_, size) = self._entries.popitem(last=False)
                    total -= size
            return value
        finally:
            with self._lock:
                del self._working[key]
            done.set()

    def total(self) -> int:
        return sum(size for _, size in self._entries.values())

    def keys(self) -> list:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


#: At most this many heavy results, however small (a guard: each holds arrays of its rows).
MAX_HEAVY_ENTRIES = 64
#: The one budget of the heavy results (tests read it).
HEAVY = BudgetCache()


def budgeted(func):
    """Cache ``func``'s results in :data:`HEAVY`, keyed like ``st.cache_resource`` keys them: the function and its
    arguments, less those whose names start with ``_`` (the objects too large to hash, identified by the others)."""
    params = list(inspect.signature(func).parameters)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = dict(zip(params, args)) | kwargs
        key = (func.__module__, func.__qualname__, *((n, bound[n]) for n in params if n in bound and n[0] != "_"))
        return HEAVY.get(key, lambda: func(*args, **kwargs))

    return wrapper


# Parsed data and scores are never modified, and shared read-only objects: never copied on a rerun (st.cache_data
# would pickle hundreds of MB on every rerun).
@budgeted
def _parse(key: UploadKey, _payloads: tuple[tuple[str, bytes], ...]) -> Dataset:
    return read_files(list(_payloads))


def upload_layout(uploads) -> Layout | None:
    """The release of the uploads, from their headers alone; None when not recognised, or when they mix both
    releases (reading them then says so, whatever their order: the first file's release alone offered only its
    models, and with none saved advised training one instead of naming the mix)."""
    # getvalue()[:65536] copies the header alone; getbuffer() made each upload keep a private copy of all its bytes
    # (136 MB more for a 136 MB capture) and copy them again at every getvalue(), on every rerun.
    layouts = {header_layout(u.getvalue()[:65536], u.name) for u in uploads}
    return layouts.pop() if len(layouts) == 1 else None


def parse_uploads(uploads) -> Dataset:
    """Parse uploaded CSVs (cached by name, size and contents: :func:`upload_key`). Raises CoreError on bad input."""
    return _parse(upload_key(uploads), tuple((u.name, u.getvalue()) for u in uploads))


@budgeted
def _parse_paths(paths: tuple[str, ...], stamps: tuple[float, ...]) -> Dataset:
    return read_files(list(paths))


def parse_paths(paths: list[str | Path]) -> Dataset:
    """Parse CSV files on disk (cached by path and modification time)."""
    ps = tuple(str(p) for p in paths)
    return _parse_paths(ps, tuple(Path(p).stat().st_mtime for p in ps))


#: Name of the built-in demo capture (synthetic; its ``label`` column holds the true class).
DEMO_TRAFFIC_NAME = "demo-traffic-v2-synthetic.csv"
#: Its release.
DEMO_TRAFFIC_LAYOUT = V2


@st.cache_data(show_spinner="Generating demo traffic…")
def demo_traffic_csv() -> bytes:
    """A synthetic capture in the v2 layout with a ``label`` column: benign traffic with bursts of
    each of the 18 attacks (1,000 benign and 100 rows per attack). NOT real traffic."""
    import tempfile

    from core.demo import write_demo_csv

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / DEMO_TRAFFIC_NAME
        write_demo_csv(path, DEMO_TRAFFIC_LAYOUT.name, None, 0, with_label_column=True)
        return path.read_bytes()


@st.cache_resource(show_spinner=False)
def parse_demo_traffic() -> Dataset:
    """The demo capture, parsed like an upload."""
    return read_files([(DEMO_TRAFFIC_NAME, demo_traffic_csv())])


@budgeted
def _score(model_path: str, mtime: float, data_key, _data: Dataset,
           _progress: Callable[[int, int], None] | None = None) -> tuple[Predictions, EvaluationReport | None]:  # fmt: skip
    model = _load_model(model_path, mtime)
    predictions = model.predict(_data, progress=_progress)
    report = model.evaluate(_data, predictions=predictions) if (_data.y >= 0).any() else None
    return predictions, report


def score(model_path: str | Path, data_key, data: Dataset,
          progress: Callable[[int, int], None] | None = None) -> tuple[Predictions, EvaluationReport | None]:  # fmt: skip
    """Predictions and, when the truth is known, the evaluation report (cached per model and data); ``progress(done,
    total)`` is told the rows scored as the model goes through them (not called when the scoring was cached)."""
    p = Path(model_path)
    try:
        return _score(str(p), model_mtime(p), data_key, data, progress)
    except ModelFormatError:
        if p.exists():
            raise
        model_mtime(p)  # deleted while it was being loaded: say so
        raise


def show_error(exc: Exception) -> None:
    """Show a user error (cause and hint) without a traceback; file and column names in it shown as text."""
    from dashboard.escape import md

    if isinstance(exc, FilesError):  # several files, each with its own problem: one box each
        st.error(f"**{md(exc.headline())}.** Each is said below: mend them all, then read them again.",
                 icon="⚠️")  # fmt: skip
        for each in exc.errors:
            show_error(each)
    elif isinstance(exc, CoreError):
        st.error(f"**Problem:** {md(exc.message)}" + (f"\n\n**What to do:** {md(exc.hint)}" if exc.hint else ""),
                 icon="⚠️")  # fmt: skip
    else:
        st.error(f"**Unexpected problem:** {type(exc).__name__}: {md(exc)}", icon="⚠️")


def damaged_models() -> list[dict]:
    """Model folders that could not be read: ``{"name", "path", "error", "hint", "deletable", "newer"}`` each
    (``newer``: what is newer in a model saved by a newer version of the tool, not damaged; else None)."""
    return [m for m in _registry() if "error" in m]


def refresh_models() -> None:
    """Forget cached model listings (after training or deleting)."""
    _model_table.clear()
