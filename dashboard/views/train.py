"""Train: choose data, a task and a model family; watch it learn; save it to the registry.

Training runs in a worker process (``dashboard.train_jobs``), its job held in session state; a
fragment polls it once a second to redraw the progress bar and the loss/accuracy curves,
and its Cancel button stops the run before anything is saved.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.errors import CoreError, DataError, FilesError
from core.models import FAMILIES
from core.training import describe_seconds
from core.words import counted, listed
from dashboard import auth, components, loaders
from dashboard.escape import md
from dashboard.train_jobs import (
    TrainJob,
    TrainRequest,
    default_name,
    folder_summary,
    live_jobs,
    resolve_folder,
    start_training,
)

SOURCES = ("Demo data", "A data folder", "Upload CSV files")
#: Narrowest width (pixels) of the Data and Model sections side by side; narrower, they are shown one above the other.
SECTION_MIN_WIDTH = 340
#: Said when Cancel was clicked once the model was being saved: the click no longer stops the run.
TOO_LATE = ("Cancel came too late: the model was already being saved, so it is kept. Delete it on *Models* if it is "
            "not wanted.")  # fmt: skip
#: Session key: the runs of this user listed under "Training on this server now", by name, till their end is shown.
KEY_WATCHED = "train_watched"
#: Session key: the files uploaded for this page's last run (the uploader's own objects, holding their bytes), offered
#: again when the uploader comes back empty: Streamlit empties it once the page is left, and an analyst who looked at
#: another page while the model trained had to upload the same files again to train another model on them.
KEY_LAST_UPLOADS = "train_last_uploads"
#: The family parameters the page sets: (widget key before the family's name, smallest, largest).
PARAM_INPUTS = {"epochs": ("train_epochs_", 1, 500), "batch_size": ("train_batch_", 1, 65536),
                "n_estimators": ("train_trees_", 1, 2000), "min_samples_leaf": ("train_leaf_", 1, 100_000)}  # fmt: skip
#: Start clicked with the uploader empty: Streamlit hands the page only the files that have finished uploading (files
#: dropped together, none of them until all have), and "no CSV files uploaded" was said of files still uploading.
NOTHING_UPLOADED = DataError(
    "no CSV file uploaded, or none has finished uploading",
    hint="upload the training CSVs, or choose a data folder; a file still uploading (a spinner in place of its icon) "
    "is read once it has finished: wait for it, then Start",
)


def render() -> None:
    st.title("Train a model")
    st.caption("Teach a detector from labelled flows, then use it on *Analyze traffic* and *Compare models*.")
    _show_ended_runs()
    job: TrainJob | None = st.session_state.get(loaders.KEY_TRAIN_JOB)
    # While a run goes on, its widgets are disabled and show its own settings: Streamlit forgets the state of
    # widgets not drawn on a run (another page was shown), and they would come back with the defaults.
    running = job.request if job is not None and job.running else None
    if job is not None and running is None and "train_source" not in st.session_state:
        # Back on the page after the run ended elsewhere: its settings, not the defaults, as while it ran (the name
        # of a saved model is taken: not given back).
        st.session_state.update(_settings_state(job.request, name=job.state != "done"))
    if any(other is not job for other in live_jobs(loaders.models_dir())):
        _other_runs()
    # Side by side where both fit, else one above the other: in two columns of a narrow window (800 pixels with the
    # sidebar open) each was about 200 pixels wide, and the task, the uploaded files' names, the refit box and the
    # name's example were cut off.
    sections = st.grid(2, min_column_width=SECTION_MIN_WIDTH, gap=("medium", "large"))
    with sections.cell():
        st.subheader("1. Data")
        folder, uploads, problem = _choose_data(running)
    with sections.cell():
        st.subheader("2. Model")
        request = _choose_model(running)
    if folder is None and running is None:  # uploads: the files Start reads, named where it is clicked
        st.caption(_start_words(uploads))
    if st.button("Start training", key="train_start", type="primary", icon=":material/play_arrow:",
                 disabled=running is not None):  # fmt: skip
        if job is not None and job.state != "done":  # a failed or cancelled run's outcome no longer applies
            st.session_state.pop(loaders.KEY_TRAIN_JOB, None)
            job = None
        if problem is None and folder is None and not uploads:
            loaders.show_error(NOTHING_UPLOADED)
        elif problem is None:  # else it is shown under the data already
            try:
                request.data_dir, request.uploads = folder, [(u.name, u.getvalue()) for u in uploads]
                request.user = auth.current_user()
                st.session_state[loaders.KEY_TRAIN_JOB] = start_training(request)  # in place of the last run's
                if uploads:
                    st.session_state[KEY_LAST_UPLOADS] = list(uploads)
                else:  # trained on a folder: the uploads are not kept in memory for nothing
                    st.session_state.pop(KEY_LAST_UPLOADS, None)
                st.rerun()
            except CoreError as exc:  # refused (a name taken, say): a saved run's scores stay shown below
                loaders.show_error(exc)
    if job is not None:
        st.divider()
        if job.running:
            _live_progress(job)
        else:
            _show_outcome(job)


def _start_words(uploads: list) -> str:
    """What Start reads of the uploads: Streamlit hands the page only the files that have finished uploading, and a
    large file still uploading was left out of the run without a word (there is no sign of it on the server)."""
    if not uploads:
        return ("Start reads the files once they have finished uploading (a file still uploading has a spinner in "
                "place of its icon).")  # fmt: skip
    names = components.upload_names(uploads)
    return (f"Start trains on {counted(len(uploads), 'file')}: {listed(names)}. A file still uploading (a spinner in "
            "place of its icon) is not among them: wait for it, then Start.")  # fmt: skip


def _settings_changed() -> None:
    """A failed run's error is about settings that are no longer those shown: forget it."""
    job = st.session_state.get(loaders.KEY_TRAIN_JOB)
    if job is not None and job.state == "failed":
        del st.session_state[loaders.KEY_TRAIN_JOB]


def _widget_args(running: TrainRequest | None) -> dict:
    return {"disabled": running is not None, "on_change": _settings_changed}


def _source_of(request: TrainRequest) -> str:
    if request.data_dir is None:
        return "Upload CSV files"
    return "Demo data" if Path(request.data_dir) == Path(loaders.DEMO_DATA_DIR).resolve() else "A data folder"


def _choose_data(running: TrainRequest | None) -> tuple[str | None, list, CoreError | None]:
    """The data folder (or None), the uploaded files the user chose, and the problem shown with them (or None).

    ``running``: the request of the run going on, whose data the (disabled) widgets show."""
    kw = _widget_args(running)
    source = st.radio("Training data", SOURCES, key="train_source", horizontal=True, **kw,
                      index=SOURCES.index(_source_of(running)) if running else 0)  # fmt: skip
    if source == "Upload CSV files":
        uploads = st.file_uploader("CSV files", type="csv", accept_multiple_files=True, key="train_uploads", **kw,
                                   help="Official file names (e.g. Benign_train.pcap.csv) or a 'label' column give "
                                   "the class. Files named …_test.pcap.csv become the test set.")  # fmt: skip
        if running:  # an uploader cannot be given files back: say which ones the run reads
            st.caption("Training on " + ", ".join(md(n) for n, _ in running.uploads))
            return None, [], None
        components.show_uploaded_names(uploads)
        last = st.session_state.get(KEY_LAST_UPLOADS) or []
        if uploads:
            if [u.file_id for u in uploads] != [u.file_id for u in last]:
                st.session_state.pop(KEY_LAST_UPLOADS, None)  # others chosen: the last run's are let go
            return None, uploads, None
        if last and st.checkbox("Train on the files of the last run again", value=True, key="train_reuse",
                                help="The uploader empties itself when you leave this page; the files of the last "
                                "run are kept until you upload others."):  # fmt: skip
            components.show_uploaded_names(last)
            return None, last, None
        return None, [], None
    if source == "Demo data":
        folder = loaders.DEMO_DATA_DIR
        st.caption("Synthetic flows shaped like CICIoMT2024: fine for trying the tool, not for real decisions.")
    else:
        text = st.text_input("Folder holding train/ and test/", key="train_folder", **kw,
                             value=running.data_dir if running else "",
                             placeholder="e.g. data/ciciomt2024 or /srv/CICIoMT2024/WiFI_and_MQTT/attacks/CSV")  # fmt: skip
        if not text.strip():
            return "", [], None
        try:
            folder = resolve_folder(text)  # refused outside the allowed data roots
        except CoreError as exc:
            loaders.show_error(exc)
            return text, [], exc
    try:
        st.caption(md(folder_summary(folder)))
    except CoreError as exc:
        loaders.show_error(exc)
        return str(folder), [], exc
    return str(folder), [], None


def _choose_model(running: TrainRequest | None) -> TrainRequest:
    """Task, family and its main settings, as a request (data filled in on Start).

    ``running``: the request of the run going on, whose settings the (disabled) widgets show."""
    kw = _widget_args(running)
    task = components.task_box("train_task", running.task if running else 6, **kw)
    if task == 6:
        st.caption("The attack families: DDoS, DoS, Recon, MQTT and Spoofing.")
    family = st.selectbox("Model family", list(FAMILIES), key="train_family", **kw,
                          index=list(FAMILIES).index(running.family) if running else 0,
                          format_func=lambda f: FAMILIES[f].title)  # fmt: skip
    st.caption(FAMILIES[family].description)
    defaults = _family_settings(family, running.params if running and running.family == family else {})

    def number(where, label: str, param: str, **extra):
        # Keyed by family: the paper's network trains 10 epochs of 32 rows, the cnn 40 of 256; the forest's default
        # (100 trees) and the one in cnn-rf (300) differ.
        key, low, high = PARAM_INPUTS[param]
        return where.number_input(label, low, high, defaults[param], key=key + family, **kw, **extra)

    params, left, right = {}, *st.columns(2)
    if FAMILIES[family].uses_epochs:
        params["epochs"] = number(left, "Epochs", "epochs")
        params["batch_size"] = number(right, "Batch size", "batch_size")
    if "n_estimators" in defaults:
        where, beside = st.columns(2) if FAMILIES[family].uses_epochs else (left, right)  # cnn-rf: a row of its own
        params["n_estimators"] = number(where, "Trees", "n_estimators")
        if "min_samples_leaf" in defaults:  # the random forest, alone or in cnn-rf
            params["min_samples_leaf"] = number(
                beside, "Smallest leaf (rows)", "min_samples_leaf",
                help="Fewest training rows in a leaf of each tree. 1 grows the trees to full depth; on "
                "millions of rows such a tree takes hundreds of MB, and 5 keeps them in memory. The fit stops after "
                "its first trees, saying so, if the forest will not fit.")  # fmt: skip
    left, right = st.columns(2)
    cap = left.number_input("Rows per class (0 = all)", 0, 10_000_000, (running.max_rows_per_class or 0) if running else 0,
                            step=1000, key="train_cap", **kw,
                            help="Caps each class by a random sample: quicker, and less dominated by DDoS.")  # fmt: skip
    seed = right.number_input("Seed", 0, 2**31 - 1, running.seed if running else 0, key="train_seed", **kw,
                              help="The same seed on the same data gives the same model.")  # fmt: skip
    val = st.slider("Validation share", 0.05, 0.5, running.val_fraction if running else 0.1, 0.05, key="train_val",
                    **kw, help="Held out of training, shuffled and stratified, to check the model; repeated flows "
                    "are held out or trained on whole, so that no validation flow is a copy of a training one.")  # fmt: skip
    refit = running.refit if running and running.refit is not None else defaults.get("refit", False)
    refit = st.checkbox("Refit on all training rows after validation", value=bool(refit), key=f"train_refit_{family}",
                        **kw,
                        help="Trains a second time, on the validation share too, for as many epochs as the first "
                        "fit ran (boosting rounds for gradient-boosted trees), and keeps that model: more data for the model, about twice the training time. "
                        "The validation scores shown are then those of the first fit.")  # fmt: skip
    # Not given back as a value: a run's automatic name, once saved, would be refused as taken on the next Start.
    # A typed one is given back, once forgotten: the box came back empty after the page was left mid-run, and Start
    # after a Cancel or a failure trained the same settings under an automatic name instead of the one typed.
    # A row of its own: beside the seed, the example name was cut off ("automatic, e.g. cnn-6class-2026…").
    if running and "train_name" not in st.session_state:
        st.session_state["train_name"] = _typed_name(running)
    name = st.text_input("Model name", key="train_name", **kw,
                            placeholder=running.name if running else f"automatic, e.g. {default_name(family, int(task))}")  # fmt: skip
    return TrainRequest(family, int(task), params, loaders.models_dir(), name=name, max_rows_per_class=int(cap) or None,
                        val_fraction=float(val), refit=bool(refit), seed=int(seed))  # fmt: skip


def _typed_name(request: TrainRequest) -> str:
    """The model name of ``request`` as the name box holds it: the name typed, or "" for an automatic one."""
    return "" if request.automatic_name else request.name


def _family_settings(family: str, params: dict) -> dict:
    """The family's defaults updated with ``params`` (a run's), each within its input's range: a run started
    elsewhere (the command line, a script) may have used values the page does not offer."""
    settings = {**FAMILIES[family].default_params(), **params}
    for param, (_, low, high) in PARAM_INPUTS.items():
        if param in settings:
            settings[param] = min(max(int(settings[param]), low), high)
    return settings


def _follow(job: TrainJob) -> None:
    """Show ``job`` (another run) on this page: its (disabled) widgets take its settings, not the ones last chosen
    here, which they kept (their state overrides the run's values given to them)."""
    st.session_state[loaders.KEY_TRAIN_JOB] = job
    st.session_state.update(_settings_state(job.request))  # an uploader cannot be given files: the run's are named
    st.session_state.pop(KEY_LAST_UPLOADS, None)  # not this run's files


def _settings_state(r: TrainRequest, *, name: bool = True) -> dict:
    """The widgets' state that shows the settings of the run ``r`` (its typed name too, where ``name``)."""
    settings = _family_settings(r.family, r.params)
    source = _source_of(r)
    state = {"train_source": source, "train_task": r.task, "train_family": r.family,
             "train_cap": r.max_rows_per_class or 0, "train_val": r.val_fraction, "train_seed": r.seed,
             f"train_refit_{r.family}": bool(settings.get("refit", False) if r.refit is None else r.refit)}  # fmt: skip
    if name:
        state["train_name"] = _typed_name(r)
    if source == "A data folder":
        state["train_folder"] = r.data_dir
    for param, (key, _, _) in PARAM_INPUTS.items():
        if param in settings:
            state[key + r.family] = settings[param]
    return state


@st.fragment(run_every=1.0)
def _live_progress(job: TrainJob) -> None:
    """Redrawn every second while the worker trains; a full rerun once it has ended."""
    if not job.running:
        st.rerun()
    st.subheader(f"Training {md(job.request.name)}")
    st.progress(job.fraction, text=job.progress_text())
    _curves(job, live=True)
    if job.saving:  # Cancel stood there, and said "Stopping…" when clicked, and the model was saved all the same
        st.caption(TOO_LATE if job.cancel_requested else "Saving the model: it can no longer be cancelled.")
    elif job.cancel_requested:
        st.warning("Stopping…", icon=":material/hourglass_top:")
    else:
        st.button("Cancel", key="train_cancel", icon=":material/stop:", on_click=job.cancel)


@st.fragment(run_every=2.0)
def _other_runs() -> None:
    """The runs going on in this server besides this page's own (one started before a reload, another user's):
    their progress and, for the user who started one, Follow (this page then shows it) and Cancel."""
    mine = st.session_state.get(loaders.KEY_TRAIN_JOB)
    others = [job for job in live_jobs(loaders.models_dir()) if job is not mine]
    watched = st.session_state.setdefault(KEY_WATCHED, {})
    if not others or any(not job.running for job in watched.values()):
        st.rerun()  # one ended: the page shows its outcome (_show_ended_runs), and the list without it
    st.subheader("Training on this server now")
    for job in others:
        r, who = job.request, job.request.user
        st.progress(job.fraction, text=f"{md(r.name)} ({md(FAMILIES[r.family].title)}, {r.task} classes, started "
                    f"{'by ' + md(who) if who else 'without sign-in'}): {md(job.progress_text())}")  # fmt: skip
        if who != auth.current_user():  # in sign-in mode, only the user who started it; else anyone here
            continue
        watched[r.name] = job
        follow, cancel = st.columns(2)
        if follow.button("Follow it here", key=f"train_follow_{r.name}", icon=":material/visibility:",
                         disabled=mine is not None and mine.running, on_click=_follow, args=(job,)):  # fmt: skip
            st.rerun(scope="app")
        cancel.button("Cancel", key=f"train_cancel_{r.name}", icon=":material/stop:", on_click=job.cancel,
                      disabled=job.cancel_requested or job.saving)  # fmt: skip


def _show_ended_runs() -> None:
    """A run this page listed under "Training on this server now" (the user's own: started before a reload, or in
    another tab) that has ended: its outcome is shown as this page's own run's, unless this page is training (then
    a notice says how it ended). The list used to drop it without a word: saved, failed or cancelled, the page did
    not say."""
    watched = st.session_state.get(KEY_WATCHED) or {}
    ended = [watched.pop(name) for name, job in list(watched.items()) if not job.running]
    if not ended:
        return
    mine = st.session_state.get(loaders.KEY_TRAIN_JOB)
    if mine is None or not mine.running:
        st.session_state[loaders.KEY_TRAIN_JOB] = ended.pop()
    for job in ended:
        how = {"done": "saved (see *Models*)", "cancelled": "cancelled; nothing was saved"}.get(
            job.state, f"failed: {md(getattr(job.error, 'message', job.error))}")  # fmt: skip
        st.toast(f"Training {md(job.request.name)} has ended: {how}", icon=":material/info:")


def _curves(job: TrainJob, live: bool) -> None:
    from core.figures import training_curves

    history = job.curves()
    if history.get("loss"):
        st.plotly_chart(training_curves(history), key="train_curves_live" if live else "train_curves")
    elif FAMILIES[job.request.family].uses_epochs:
        st.caption("Loss and accuracy curves appear after the first epoch.")


def _show_outcome(job: TrainJob) -> None:
    if job.state == "failed":
        error = job.error
        if isinstance(error, FilesError):  # several files, each with its own problem: one message each
            st.error(f"**Training {md(job.request.name)} failed:** its data could not be read.", icon="⚠️")
            loaders.show_error(error)
            return
        cause, hint = (error.message, error.hint) if isinstance(error, CoreError) else (
            f"unexpected problem: {error}", "try again; if it fails again, the server's log holds the details")  # fmt: skip
        loaders.show_error(CoreError(f"Training {job.request.name} failed: {cause}", hint=hint))
        return
    if job.state == "cancelled":
        st.info(f"Training of **{md(job.request.name)}** was cancelled; nothing was saved.", icon=":material/block:")
        return
    if not job.seen_by_page:
        loaders.refresh_models()
        st.session_state[loaders.KEY_TASK] = job.request.task  # Analyze and Compare open on the new model's task
        job.seen_by_page = True
    st.success(f"Saved **{md(job.request.name)}** in {md(job.request.models_dir)} after {describe_seconds(job.elapsed)}. "
               "It is now listed on *Analyze traffic*, *Compare models* and *Models*.", icon=":material/check_circle:")  # fmt: skip
    if job.cancel_requested:
        st.info(TOO_LATE, icon=":material/info:")
    with st.container(horizontal=True):  # where to go next, one click away (the pages open on the model's task)
        components.link_to_page("analyze.py", "Analyze traffic", icon=":material/troubleshoot:")
        components.link_to_page("compare.py", "Compare models", icon=":material/leaderboard:")
        components.link_to_page("models.py", "Models", icon=":material/inventory_2:")
    _curves(job, live=False)
    _show_reports(job)


def _show_reports(job: TrainJob) -> None:
    from dashboard.components import show_report

    metadata = job.metadata or {}
    data = metadata.get("data", {})
    if data.get("classes_absent_from_training"):
        st.warning("Not in the training data, so never predicted: " + ", ".join(data["classes_absent_from_training"]))
    for note in metadata.get("fit_notes") or []:  # e.g. the forest weight cnn-rf chose
        st.caption(f"Note: {md(note)}")
    for warning in metadata.get("fit_warnings") or []:  # e.g. gbt's boosting diverged
        st.warning(md(warning), icon=":material/warning:")
    # Short tab names, said in full inside: at 800 pixels "Validation share of the training data (first fit, before
    # the refit)" ran off the tab strip.
    names = {"test": "Test set", "validation": "Validation (first fit)" if data.get("refit") else "Validation"}
    about = {"test": "The test files: rows never seen in training.",
             "validation": "The validation share of the training data, held out of the fit"
             + (": scores of the first fit, before the refit on every training row." if data.get("refit") else ".")}  # fmt: skip
    shown = [k for k in ("test", "validation") if job.reports.get(k) is not None]
    for tab, key in zip(st.tabs([names[k] for k in shown]), shown):
        with tab:
            st.caption(about[key])
            show_report(job.reports[key], key_prefix=f"train_{key}")


render()
