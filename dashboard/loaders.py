"""Cached loaders shared by every page, and the session-state keys (defined once here).

Heavy work is cached with ``st.cache_resource`` (models, parsed uploads, predictions and
evaluations: shared read-only objects, never copied on a rerun), keyed on cheap identities (upload id, name and size;
model path and modification time) rather than on hashing hundreds of MB each rerun.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.errors import CoreError, FilesError, ModelFormatError  # noqa: E402
from core.evaluation import EvaluationReport  # noqa: E402
from core.loading import Dataset, header_layout, read_files  # noqa: E402
from core.paths import demo_data_dir  # noqa: E402 (the demo data folder: $IOMT_DEMO_DATA_DIR or data/demo)
from core.pipeline import Predictions, TrainedModel, default_models_dir, list_models  # noqa: E402
from core.schema import V2, Layout  # noqa: E402

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
    """Cheap identity of a set of uploads: (name, size, id) per file."""

    files: tuple[tuple[str, int, str], ...]


def upload_key(uploads) -> UploadKey:
    return UploadKey(tuple((u.name, u.size, getattr(u, "file_id", "")) for u in uploads))


# cache_resource, not cache_data: parsed data and scores are never modified, and cache_data would copy
# (pickle) hundreds of MB on every rerun.
@st.cache_resource(show_spinner=False, max_entries=8)
def _parse(key: UploadKey, _payloads: tuple[tuple[str, bytes], ...]) -> Dataset:
    return read_files(list(_payloads))


def upload_layout(uploads) -> Layout | None:
    """The release of the uploads, from their headers alone; None when not recognised, or when they mix both
    releases (reading them then says so, whatever their order: the first file's release alone offered only its
    models, and with none saved advised training one instead of naming the mix)."""
    layouts = {header_layout(bytes(u.getbuffer()[:65536]), u.name) for u in uploads}
    return layouts.pop() if len(layouts) == 1 else None


def parse_uploads(uploads) -> Dataset:
    """Parse uploaded CSVs (cached by name, size and upload id). Raises CoreError on bad input."""
    return _parse(upload_key(uploads), tuple((u.name, u.getvalue()) for u in uploads))


@st.cache_resource(show_spinner=False, max_entries=8)
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


@st.cache_resource(show_spinner=False, max_entries=16)
def _score(model_path: str, mtime: float, data_key, _data: Dataset) -> tuple[Predictions, EvaluationReport | None]:
    model = _load_model(model_path, mtime)
    predictions = model.predict(_data)
    report = model.evaluate(_data, predictions=predictions) if (_data.y >= 0).any() else None
    return predictions, report


def score(model_path: str | Path, data_key, data: Dataset) -> tuple[Predictions, EvaluationReport | None]:
    """Predictions and, when the truth is known, the evaluation report (cached per model and data)."""
    p = Path(model_path)
    try:
        return _score(str(p), model_mtime(p), data_key, data)
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
