"""Models: the saved models in a table, a model card for one of them, and delete with confirmation."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from core import threshold as th
from core.errors import CoreError
from core.evaluation import EvaluationReport
from core.figures import class_counts_figure, training_curves
from core.models import FAMILIES
from core.pipeline import delete_model
from core.preprocess import IMPLAUSIBLE_TEXT, RepairCounts, repair_rule
from core.taxonomy import classes_for_task
from core.words import counted, listed, sentence
from dashboard import auth, components, loaders
from dashboard.escape import md

KEY_CONFIRM = "models_confirm_delete"  # folder of the model (or damaged folder) waiting for the user's confirmation
KEY_FLASH = "models_flash"  # message shown once after a deletion
KEY_SELECTED = "models_selected"  # the model whose card is shown
KEY_GONE = "models_gone"  # name of the model whose card was shown, deleted since (perhaps by another session)

#: What the training curves show, for someone who has not trained a network.
CURVES_NOTE = ("An epoch is one pass over the training rows. The loss measures how far the model's answers are from "
               "the true classes: lower is better. *Training* curves are measured on the rows the model learns from, "
               "*validation* curves on rows kept out of fitting: a validation loss that rises while the training "
               "loss still falls means the model is memorising its training rows rather than learning.")  # fmt: skip


#: What a repaired cell was, in words, for the Training data tab (under its count of repaired cells): "cells", as the
#: Scores tab, the Analyze page and the reports call them.
REPAIR_NOTE = ("A cell is one value of one row. An *infinite* value (written, for instance, for a rate over a time "
               f"of zero), a *missing* one, or an *impossibly large* one (beyond {IMPLAUSIBLE_TEXT}, far beyond any "
               "real measurement: a corrupt cell) is no number a model can use, so each was replaced before fitting, "
               "as the Settings and versions tab says. No row was left out.")  # fmt: skip
#: What the model does with such values, in words, for the Settings and versions tab (the exact rule in an expander).
REPAIR_RULE_WORDS = (f"an infinite value, or one beyond {IMPLAUSIBLE_TEXT} (far beyond any real measurement), is "
                     "replaced by the largest value of its feature in the rows used to fit the model (by the smallest "
                     "where it is negative); a missing value by the feature's median (middle value) in those rows. "
                     "The same is done to every row the model scores; no row is left out.")  # fmt: skip

#: The card's Parameters table in words, each with the name ``--param`` and metadata.json give it (the Train page's
#: labels where it has one); a parameter missing here is listed by its name, underscores as spaces.
PARAM_WORDS = {
    "n_estimators": "Trees", "max_depth": "Deepest a tree may grow",
    "min_samples_leaf": "Fewest rows in a leaf of a tree", "max_leaf_nodes": "Most leaves in a tree",
    "n_jobs": "Processor cores used (-1: all)", "seed": "Random seed (the same seed, the same model)",
    "seeds": "Networks trained and averaged", "epochs": "Epochs, passes over the training rows",
    "batch_size": "Batch size, rows per training step", "learning_rate": "Learning rate, size of each training step",
    "lr_schedule": "How the learning rate changes", "early_stopping": "Stop when validation stops improving",
    "patience": "Patience, epochs with no gain before stopping",
    "n_iter_no_change": "Rounds with no gain before stopping",
    "class_weight": "Rare classes weighted more", "label_smoothing": "Label smoothing (0: none)",
    "dropout": "Dropout, share of units left out per step",
    "filters": "Convolution filters (the last has twice as many)",
    "pool": "Pooling window after the second convolution", "dense_units": "Units of each dense layer",
    "refit": "Refitted on all training rows",
    "input_transform": "How the inputs are transformed",
    # The piecewise-linear encoding (core.ple, ImprovedCNN.build): up to ple_bins channels per feature (fewer where
    # values repeat), each 0 below its bin, 1 above it, the place within it in between; ple_scalar gives the
    # convolutions the feature's own value beside them, ple_shortcut the encoding to the dense path too. Labels
    # under about 55 letters: at 800 pixels a longer one pushed the table's values out of sight
    "ple_bins": "Encoding bins per feature, at most (0: none)", "ple_edges": "Where the encoding's bins are cut",
    "ple_scalar": "Convolutions see values beside the encoding",
    "ple_shortcut": "Encoding also fed around the convolutions", "forest_weight": "Weight of the forest in the blend",
    "steps_per_execution": "Steps per call to the processor", "max_iter": "Most iterations",
    "C": "Inverse regularisation (smaller: simpler model)", "l2_regularization": "Regularisation (larger: simpler model)",
}  # fmt: skip
#: The piecewise-linear encoding of the improved CNN (``ple_*``, :mod:`core.ple`) in words, under its parameters.
ENCODING_NOTE = ("The encoding: each feature's value is cut into up to {bins} bins of its values in the training rows "
                 "(fewer where values repeat), and given to the network as one number per bin: 0 below the bin, 1 "
                 "above it, how far into it in between. So the network sees where a value lies among the training "
                 "values.")  # fmt: skip
#: Words for a parameter that means another thing in a family than :data:`PARAM_WORDS` says (boosting's learning rate
#: is no step of a network's training).
FAMILY_PARAM_WORDS = {
    "adaboost": {"learning_rate": "Learning rate, how much each new tree counts",
                 "n_estimators": "Trees, grown one after another"},
    "gbt": {"learning_rate": "Learning rate, how much each new tree counts",
            "max_iter": "Most boosting rounds (a tree per class each)"},
    "lr": {"max_iter": "Most iterations of the solver"},
}  # fmt: skip
#: Parameters whose None means no limit (:data:`core.models._ALSO_ALLOWED`): said so, not left blank.
NO_LIMIT = ("max_depth", "max_leaf_nodes")
#: The card's Timing table in words (written by :func:`core.training.train`).
TIMING_WORDS = {
    "fit_seconds": "Time to fit the model (seconds)", "test_predict_seconds": "Time to score the test rows (seconds)",
    "test_rows_per_second": "Test rows scored per second",
    "total_seconds": "Whole training, test scoring included (seconds)",
}  # fmt: skip


def render() -> None:
    st.title("Saved models")
    if flash := st.session_state.pop(KEY_FLASH, None):
        st.success(flash, icon=":material/delete:")
        st.session_state.pop(KEY_SELECTED, None)  # deleted here: the card moves on to the first model
    try:
        models, unusable = loaders.saved_models(), loaders.damaged_models()
    except CoreError as exc:  # the models folder cannot be read: said, naming it
        loaders.show_error(exc)
        return
    _unusable(unusable)
    if not models:
        if problem := loaders.registry_problem():
            st.warning(problem, icon=":material/folder_off:")
        # Beside folders it cannot use, "yet" would be wrong
        none = "No model this version can use is saved" if unusable else "No model is saved yet"
        st.info(f"{none}{'' if problem else ' in ' + md(loaders.models_dir())}. Train one on the Train page, or run "
                "`scripts/dashboard.sh` once to create the demo models.", icon=":material/lightbulb:")  # fmt: skip
        components.link_to_page("train.py", "Train a model", ":material/model_training:")
        return
    st.caption(f"{counted(len(models), 'model')} in {md(loaders.models_dir())}. Scores are on each model's held-out "
               "test data, macro-F1 first.")  # fmt: skip
    table = components.models_frame(models)
    components.show_models_table(table, "models_table")
    validated = list(table.loc[table["scored on"].str.startswith("validation"), "name"])
    if validated and len(validated) < len(table):
        # said beside the table: its column "scored on" is out of sight at 800 pixels
        st.caption(f"Scored on their validation rows, not on test data ({counted(len(validated), 'model')}, column "
                   f"*scored on*): {listed([md(n) for n in validated])}. A validation score is not a test score: do "
                   "not rank them against the others.")  # fmt: skip
    if thresholds := components.saved_thresholds_caption(models):
        st.caption(thresholds)
    if partial := components.partial_scores_caption(models):
        st.caption(partial)
    by_name = {m["name"]: m for m in models}
    chosen = st.session_state.get(KEY_SELECTED)
    if chosen is not None and chosen not in by_name:
        # Deleted in another session: said, rather than the card (and its Delete button) moving on to another model
        st.session_state[KEY_GONE] = chosen
        st.session_state[KEY_SELECTED] = None
    name = st.selectbox("Model card", list(table["name"]), key=KEY_SELECTED, placeholder="Choose a model",
                        format_func=lambda n: components.model_label(by_name[n]))  # fmt: skip
    if name is None:
        gone = st.session_state.get(KEY_GONE)
        st.warning(f"The model **{md(gone)}** no longer exists: it was deleted, perhaps in another session. Choose "
                   "another model." if gone else "Choose a model.", icon=":material/delete:")  # fmt: skip
        return
    st.session_state.pop(KEY_GONE, None)
    meta = by_name[name]
    st.header(md(name), divider="gray")
    st.markdown(md(meta.get("description") or meta["family"]))
    # Every column of the table, which at 800 pixels shows no more than name, task, family and scores without
    # scrolling sideways (the layout, date, data and size are out of sight there), is said here for this model
    row = table[table["name"] == name].iloc[0]
    st.markdown(f"**Task:** {meta['task']} classes · **Family:** {md(meta['family'])} "
                f"({md(components.family_words(meta['family']))}) · **Layout:** {components.layout_words(meta)} · "
                f"**Created:** {row['created'] or 'not recorded'} · **Data:** {md(row['data'] or 'not recorded')} · "
                f"**Size on disk:** {row['size (MB)']:,.2f} MB",
                help=f"{components.FAMILY_HELP}\n\n{components.LAYOUT_HELP}")  # fmt: skip
    if int(meta["task"]) == 2:
        _part(_alarm_threshold, meta, "alarm threshold")
    scores_tab, data_tab, settings_tab = st.tabs(["Scores", "Training data", "Settings and versions"])
    with scores_tab:
        _part(_scores, meta, "scores")
    with data_tab:
        _part(_training_data, meta, "training data")
    with settings_tab:
        _part(_settings, meta, "settings and versions")
    _delete(meta)


def _part(draw, meta: dict, what: str) -> None:
    """One part of the card, drawn by ``draw(meta)``; a part of metadata.json that the loader does not check and
    that cannot be read (edited by hand, or written by another version of the tool) is said in place of that part,
    and the rest of the card, its Delete button included, is still shown (it ended the page in a traceback)."""
    try:
        draw(meta)
    except Exception as exc:
        st.error(f"The {what} of this model could not be shown: its metadata.json holds something this version of "
                 f"the tool does not read ({type(exc).__name__}: {md(exc)}). The rest of the card is shown; if the "
                 "file was edited by hand, restore it or train the model again.", icon=":material/error:")  # fmt: skip


def _alarm_threshold(meta: dict) -> None:
    """What a 2-class model flags at: a threshold saved after training changes its decisions, not its stored scores."""
    text = f"**Alarm threshold:** {md(th.state_text(meta))}."
    if th.saved_since_training(meta):
        text += (" Saved after training: the scores below were computed at 0.50, and every scoring now flags a flow "
                 "whose probability of attack reaches this threshold.")  # fmt: skip
    elif meta.get("alarm_threshold") is not None:
        text += " Saved after training; it decides as the default does, so the scores below still hold."
    st.markdown(text)
    validation = th.validation_text(meta)
    if validation and not th.uses_validation_choice(meta):
        st.caption(f"{sentence(validation)}; not applied unless saved (the Analyze page's alarm "
                   f"section, or `python -m core threshold {md(meta['name'])} --validation`).")  # fmt: skip


def _scores(meta: dict) -> None:
    scores, split = components.model_scores(meta)
    if scores is None:
        st.info("This model was saved without test or validation scores.")
    else:
        if split != "test":
            refit = " of a first fit, before the model was refitted on all training rows" if _refit(meta) else ""
            st.warning(f"No test data was given when this model was trained: these are validation scores{refit}.")
        try:
            report = EvaluationReport.from_dict(scores)
        except TypeError:  # only the headline numbers were stored (the loader checks no more): show those
            _headline_only(scores)
        else:
            components.show_report(report, "models")
    history = meta.get("history") or {}
    if history:
        st.plotly_chart(training_curves(history), key="models_curves")
        st.caption(CURVES_NOTE)
    elif FAMILIES[meta["family"]].uses_epochs:  # a network: its curves were not kept (saved by an older version)
        st.caption("No training curves were saved with this model.")
    else:
        st.caption("No training curves: this family does not train in epochs.")


def _headline_only(scores: dict) -> None:
    """The headline scores of a stored report that lacks the per-class details (macro-F1 first)."""
    names = {"macro_f1": "Macro-F1", "weighted_f1": "Weighted-F1", "accuracy": "Accuracy"}
    row = components.metric_row()
    for key, label in names.items():
        row.metric(label, f"{scores[key]:.3f}", border=True)
    st.info("This model's per-class scores and confusion matrix were not saved with it: only its headline scores "
            "are shown. The Compare page scores it again on labelled rows, class by class.")  # fmt: skip


def _refit(meta: dict) -> dict | None:
    """What the final refit on all training rows was (rows, epochs), or None when there was none."""
    return (meta.get("data") or {}).get("refit")


def _refit_text(meta: dict) -> str:
    refit = _refit(meta)
    if not refit:
        return "no"
    return f"yes, {refit['rows']:,} rows" + (f", {refit['epochs']} epochs" if refit.get("epochs") else "")


def _training_data(meta: dict) -> None:
    data = meta.get("data") or {}
    absent = data.get("classes_absent_from_training") or []
    st.markdown(f"**Classes it can predict ({len(meta['classes'])}):** {', '.join(meta['classes'])}")
    if absent:
        st.warning(f"Never saw these classes in training, so it can never predict them: {', '.join(absent)}.")
    counts = pd.Series(data.get("train_class_counts") or {}, dtype="int64")
    if not counts.empty:
        counts = counts.reindex([c for c in classes_for_task(int(meta["task"])) if c in counts])
        figure = class_counts_figure(counts, "Training rows per class (log scale)", log_y=True)
        st.plotly_chart(figure.update_yaxes(dtick=1), key="models_train_counts")  # ticks at 1, 10, 100...
    repairs = data.get("train_cells_repaired")
    repairs = RepairCounts.from_dict(repairs) if repairs is not None else None
    facts = {"Data folder": data.get("description"), "Training rows": data.get("train_rows"),
             "Rows used to fit the model": data.get("train_rows_used_for_fit"),
             "Validation rows (held out to check the fit)": data.get("validation_rows"),
             "How the validation rows were chosen": data.get("validation_split"),
             "Refitted on all training rows": _refit_text(meta), "Test rows": data.get("test_rows"),
             "Unusable cells replaced in the rows used to fit": _repairs_text(repairs),
             "Training files": len(data.get("train_files") or []),
             "Training data fingerprint (SHA-256)": data.get("train_fingerprint_sha256")}  # fmt: skip
    # Lines that wrap, not a table: at 800 pixels a table's value column (160 pixels) cut the validation split and
    # the fingerprint off, and its width could not grow to them
    with st.container(key="models_data_facts"):
        st.markdown("  \n".join(f"**{item}:** {_fact(value)}" for item, value in facts.items()))
    if repairs is not None and repairs.total:
        st.caption(REPAIR_NOTE, help=_repair_details(repairs, (meta.get("preprocessing") or {}).get("repair_rule")))
    with st.expander(f"Training files ({len(data.get('train_files') or [])})"):
        st.markdown("\n".join(f"- {md(f)}" for f in data.get("train_files") or []) or "not recorded")
    for note in data.get("notes") or []:
        st.caption(f"Note: {md(note)}")


def _settings(meta: dict) -> None:
    pre = meta.get("preprocessing") or {}
    st.markdown(f"**Unusable cells:** {REPAIR_RULE_WORDS}")
    with st.expander("The exact repair rule, for experts", key="models_exact_rule"):
        st.markdown(_rule_details(pre.get("repair_rule")))
    st.markdown(f"**Log transform:** {', '.join(pre.get('log_features') or []) or 'none'}.  \n"
                f"**Standardised:** {'yes' if pre.get('scale', True) else 'no'}.")  # fmt: skip
    # Side by side where the page is wide, one under the other where it is narrow: in three columns at 800 pixels each
    # table was 145 pixels wide, the parameters' values cut off ("Fals", "cos") and the timing's out of sight.
    left, mid, right = components.growing_halves("models_half_params", "models_half_timing", "models_half_versions")
    left.markdown("**Parameters**")
    params = {k: "no limit" if v is None and k in NO_LIMIT else v for k, v in (meta.get("params") or {}).items()}
    words = {**PARAM_WORDS, **FAMILY_PARAM_WORDS.get(meta["family"], {})}
    left.dataframe(_facts(params, {k: f"{words[k]} ({k})" for k in params if k in words}),
                   hide_index=True, key="models_params")  # fmt: skip
    if bins := params.get("ple_bins"):
        left.caption(ENCODING_NOTE.format(bins=bins))
    mid.markdown("**Timing**")
    mid.dataframe(_facts(meta.get("timing") or {}, TIMING_WORDS), hide_index=True, key="models_timing")
    right.markdown("**Library versions**")
    right.dataframe(_facts(meta.get("library_versions") or {}), hide_index=True, key="models_versions")
    for note in meta.get("fit_notes") or []:  # what the fit chose, e.g. the forest weight of cnn-rf
        st.caption(f"Note: {md(note)}")
    for warning in meta.get("fit_warnings") or []:  # what went wrong, e.g. gbt's boosting diverged
        st.warning(md(warning), icon=":material/warning:")
    st.caption(f"Folder: {md(meta['path'])}")


def _fact(value) -> str:
    """A fact of the Training data tab as Markdown: counts with thousands separators, a fingerprint (hexadecimal) in
    code, other text escaped."""
    if value is None or value == "":
        return "not recorded"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    return f"`{text}`" if re.fullmatch(r"[0-9a-f]{16,}", text) else md(text)


def _repairs_text(repairs: RepairCounts | None) -> str:
    """The training cells repaired, in words by kind: '556 cells, all infinite', '415 cells: 397 infinite, 3
    impossibly large, 15 missing'. A cell beyond the bound is counted with the infinite ones in ``pos_inf`` and
    ``neg_inf`` (:class:`core.preprocess.RepairCounts`): here it is counted once, as impossibly large."""
    if repairs is None:
        return "not recorded"
    if not repairs.total:
        return "none"
    infinite = sum(repairs.pos_inf.values()) + sum(repairs.neg_inf.values()) - repairs.beyond_total
    kinds = {"infinite": infinite, "impossibly large": repairs.beyond_total, "missing": sum(repairs.nan.values())}
    kinds = {k: n for k, n in kinds.items() if n}
    if len(kinds) == 1:
        return f"{counted(repairs.total, 'cell')}, all {next(iter(kinds))}"
    return f"{counted(repairs.total, 'cell')}: " + ", ".join(f"{n:,} {k}" for k, n in kinds.items())


def _repair_details(repairs: RepairCounts, saved_rule: str | None) -> str:
    """The help of the Training data tab's note on repairs: the counts feature by feature, and the rule, exactly."""
    return f"By feature: {repairs.summary()}.\n\n{_rule_details(saved_rule)}"


def _rule_details(saved: str | None) -> str:
    """The repair rule exactly, for an expert: as saved with the model, and the bound beyond which a finite cell is
    taken as infinite (:data:`core.preprocess.IMPLAUSIBLE`)."""
    rule = str(saved or repair_rule("->")).replace("`", "'")
    return (f"Exact rule, fitted on the rows used to fit the model: `{rule}`; a finite cell beyond {IMPLAUSIBLE_TEXT} "
            f"is taken as the inf of its sign (`core.preprocess.IMPLAUSIBLE`). Max, min and median are of each "
            f"feature's finite values within {IMPLAUSIBLE_TEXT}; the same rule is applied to every row the model "
            "scores.")  # fmt: skip


def _facts(d: dict, words: dict[str, str] | None = None) -> pd.DataFrame:
    """A two-column table of a dict, values as text (mixed types would confuse the table). With ``words``, each key
    is named by its words there, or else by the key with spaces for its underscores: a key is never left out."""

    def text(v) -> str:
        if v is None:
            return ""
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, int) or abs(v) >= 1000:  # counts and speeds: 200,618, not 200617.6
            return f"{v:,.0f}"
        return f"{v:,.4g}" if v else "0"  # seconds, rates and the like: 4 significant digits

    items = list(d) if words is None else [words.get(k) or str(k).replace("_", " ") for k in d]
    return pd.DataFrame({"item": items, "value": [text(v) for v in d.values()]})


def _unusable(unusable: list[dict]) -> None:
    """The folders of the registry that no page can use. Two or more are summed up in one warning, with each of them
    (what is wrong, a way to remove it) in an expander below: one warning and button each pushed the table of models
    out of sight (four damaged folders filled the first screen at 800 pixels)."""
    if len(unusable) < 2:
        for m in unusable:
            _damaged(m)
        return
    newer = sum(1 for m in unusable if m.get("newer"))
    why = ("damaged or not models" if not newer else "saved by a newer version of this tool"
           if newer == len(unusable) else "damaged, or saved by a newer version of this tool")  # fmt: skip
    names = [md(m["name"]) for m in unusable]  # not in bold: each one's own message below names it so
    names = listed(names if len(names) <= 6 else [*names[:5], f"{len(names) - 5} more"])
    st.warning(f"{counted(len(unusable), 'folder')} in {md(loaders.models_dir())} cannot be used as models ({why}): "
               f"{names}. Each is below, with what is wrong and what to do.", icon=":material/folder_off:")  # fmt: skip
    confirming = st.session_state.get(KEY_CONFIRM) in {m["path"] for m in unusable}
    with st.expander(f"Folders that cannot be used ({len(unusable)})", expanded=confirming):
        for m in unusable:
            _damaged(m)


def _damaged(meta: dict) -> None:
    """A folder of the registry that cannot be read as a model: what is wrong, and a way to remove it."""
    if not meta.get("deletable", True):  # it holds more than a model's files: not removed from here
        st.warning(f"The folder **{md(meta['name'])}** could not be read as a model: {md(meta['error'])}. It holds "
                   "other files or folders besides a model's, so it is not deleted from here: move them out, or "
                   "delete the folder yourself if you mean to.")  # fmt: skip
        return
    if newer := meta.get("newer"):
        st.warning(f"The model **{md(meta['name'])}** was saved by a newer version of this tool ({md(newer)}), so no "
                   "page of this version can use it. It is not damaged: update this installation to use it, and "
                   "delete it only if no one needs it any more.", icon=":material/update:")  # fmt: skip
    else:
        st.warning(f"The folder **{md(meta['name'])}** could not be read as a model: {md(meta['error'])}. No page can "
                   "use it; delete it if it is not being written right now (a model still being saved is not "
                   "listed).")  # fmt: skip
    _delete(meta, f"Delete the folder {md(meta['name'])}…", "models_delete_damaged_" + meta["name"])


def _delete(meta: dict, label: str = "Delete this model…", key: str = "models_delete") -> None:
    if key == "models_delete":
        st.divider()
    if st.session_state.get(KEY_CONFIRM) != meta["path"]:
        if st.button(label, key=key, icon=":material/delete:"):
            st.session_state[KEY_CONFIRM] = meta["path"]
            st.rerun()
        return
    st.warning(f"Delete **{md(meta['name'])}** for good? Its folder {md(meta['path'])} will be removed; this cannot be "
               "undone.", icon=":material/warning:")  # fmt: skip
    row = st.container(horizontal=True)
    if row.button(f"Yes, delete {md(meta['name'])}", key=f"{key}_yes", type="primary"):
        st.session_state.pop(KEY_CONFIRM, None)
        try:
            delete_model(meta["path"])
        except CoreError as exc:
            loaders.show_error(exc)
            loaders.refresh_models()
            return
        auth.log("deleted", model=meta["name"], path=meta["path"])
        loaders.refresh_models()
        st.session_state[KEY_FLASH] = f"Deleted {md(meta['name'])}."
        st.rerun()
    if row.button("Cancel", key=f"{key}_cancel"):
        st.session_state.pop(KEY_CONFIRM, None)
        st.rerun()


render()
