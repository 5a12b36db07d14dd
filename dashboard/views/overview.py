"""Overview: what the tool does, the three tasks, the saved models and how good each is, demo data."""

from __future__ import annotations

import streamlit as st

from core.errors import CoreError
from core.figures import model_scores_figure
from core.glossary import DEMO_SCORES_MEANING, MACRO_F1_WORDS, WEIGHTED_F1_WORDS, score_yardstick
from core.taxonomy import TASK_DESCRIPTIONS, TASKS
from core.words import counted, listed
from dashboard import components, loaders
from dashboard.escape import md

INTRO = """
This tool looks at **network-flow records** from a hospital network of connected medical devices
(infusion pumps, monitors, sensors: the *Internet of Medical Things*) and says, row by row, whether
the traffic is **normal (benign)** or part of a **cyberattack**, and which kind.

It learns from **CICIoMT2024**, a public dataset recorded by the Canadian Institute for Cybersecurity
on 40 medical devices under 18 attacks. Each row of a CSV file summarises a short window of packets;
the tool reads those CSV files (either release: 45 or 39 features), scores them with a trained model
and shows what it found.
"""
HOW_TO = [
    ("analyze.py", "Analyze traffic", ":material/troubleshoot:", "upload CSV files and see the alerts"),
    ("compare.py", "Compare models", ":material/leaderboard:", "score several models on the same rows"),
    ("train.py", "Train", ":material/model_training:", "teach a new model from labelled files"),
    ("models.py", "Models", ":material/inventory_2:", "model cards, and delete old models"),
    ("batch.py", "Batch results", ":material/dataset:", "read the results of many captures scored at once"),
    ("audit.py", "Audit log", ":material/history:", "who scored, trained, deleted or exported what, and when"),
]

#: Width in pixels of each "Where to go next" link with its line of text (the longest label, "Compare models", fits).
LINK_WIDTH = 200


def render() -> None:
    st.title("IoMT attack detection")
    st.markdown(INTRO)
    st.subheader("Three questions it can answer")
    for col, task in zip(st.columns(len(TASKS)), TASKS):
        col.container(border=True, height="stretch").markdown(
            f"**{task} classes**\n\n{TASK_DESCRIPTIONS[task].split(': ', 1)[-1]}"
        )
    st.subheader("Saved models and how good they are")
    try:
        models, unusable = loaders.saved_models(), loaders.damaged_models()
        readable = True
    except CoreError as exc:  # the models folder cannot be read: said, and the rest of the page still explains
        loaders.show_error(exc)
        models, unusable, readable = [], [], False
    if readable and not models:
        if problem := loaders.registry_problem():
            st.warning(problem, icon=":material/folder_off:")
        # Beside folders it cannot use, "yet" would be wrong
        none = "No model this version can use is saved" if unusable else "No model is saved yet"
        st.info(f"{none}{'' if problem else ' in ' + md(loaders.models_dir())}. Create the small demo models with the "
                "first command of the README, `scripts/dashboard.sh` (or `.venv/bin/python -m core setup-demo`), or "
                "train one on the **Train** page.", icon=":material/lightbulb:")  # fmt: skip
        components.link_to_page("train.py", "Train a model", ":material/model_training:")
    elif models:
        _model_scores(models)
    _unusable(unusable)
    _demo_download()
    st.subheader("Where to go next")
    # Cards of a fixed width that wrap onto a second line on a narrow page: in four columns, at 800 pixels the links
    # read "Analyze tra" and "Compare m".
    links = st.container(horizontal=True, gap="medium")
    for page, label, icon, what in HOW_TO:
        with links.container(width=LINK_WIDTH):
            components.link_to_page(page, label, icon)
            st.caption(what)


def _unusable(folders: list[dict]) -> None:
    """The folders of the registry that no page can use: those saved by a newer version of the tool (not damaged:
    never advised for deleting), and the damaged ones, with where to see and remove them."""
    newer = [m for m in folders if m.get("newer")]
    damaged = [m for m in folders if m not in newer]
    if newer:
        names = listed(["**" + md(m["name"]) + "**" for m in newer])
        one = len(newer) == 1
        st.warning(f"{counted(len(newer), 'model')} {'was' if one else 'were'} saved by a newer version of this tool "
                   f"and cannot be used here: {names}. {'It is' if one else 'They are'} not damaged: update this "
                   f"installation to use {'it' if one else 'them'}.", icon=":material/update:")  # fmt: skip
    if damaged:
        st.warning(f"{counted(len(damaged), 'model folder')} could not be read, so no page can use "
                   f"{'it' if len(damaged) == 1 else 'them'}: "
                   + "; ".join(f"**{md(m['name'])}** ({md(m['error'])})" for m in damaged)
                   + ". The **Models** page says what is wrong and can delete a damaged folder.")  # fmt: skip


def _model_scores(models: list[dict]) -> None:
    frame = components.models_frame(models)
    st.markdown(f"Scores measured on each model's held-out **test** data. **Macro-F1** ({MACRO_F1_WORDS}) comes first, "
                f"**weighted-F1** ({WEIGHTED_F1_WORDS}) second. {score_yardstick()}")  # fmt: skip
    if (frame["scored on"] == "validation").any():
        st.caption("A model trained without a test split is shown with the score on its validation rows, marked "
                   "*(validation)* and listed after the models scored on test data: the two are not comparable.")  # fmt: skip
    st.caption(components.ACCURACY_NOTE)
    if thresholds := components.saved_thresholds_caption(models):
        st.caption(thresholds)
    if partial := components.partial_scores_caption(models):
        st.caption(partial)
    tasks = [t for t in TASKS if (frame["task"] == t).any()]
    for tab, task in zip(st.tabs([_tab_title(t, int((frame["task"] == t).sum())) for t in tasks]), tasks):
        part = frame[frame["task"] == task]
        several = components.test_sets_caption(part) is not None
        rows = [{"name": r["name"] + _bar_suffix(r, several), "macro_f1": r["macro-F1"], "weighted_f1": r["weighted-F1"]}
                for r in part.to_dict("records")]  # fmt: skip
        tab.plotly_chart(model_scores_figure(rows), key=f"overview_scores_{task}")
        with tab:
            components.show_models_table(part.drop(columns=["task"]), f"overview_table_{task}")
    if frame["data"].str.contains("demo").any():
        st.caption(f"Models trained on the demo data learned from synthetic rows: {DEMO_SCORES_MEANING}")
    st.caption(components.CAVEAT)


def _bar_suffix(row: dict, several_test_sets: bool) -> str:
    """What a bar's scores were measured on, when that is not the one test set all the others share."""
    if row["scored on"] != "test":
        return f" ({row['scored on']})"
    return f" (test set {row['test set']})" if several_test_sets else ""


def _tab_title(task: int, n: int) -> str:
    return f"{task} classes ({n} model{'' if n == 1 else 's'})"


def _demo_download() -> None:
    st.subheader("Try it with demo traffic")
    st.markdown("The demo traffic is **synthetic**: generated from the statistics of the real dataset, not "
                "recorded on a network. It is one capture of 2,800 rows (benign traffic with a burst of each of the "
                "18 attacks) and a `label` column with the true class, so the tool can also show how well a model "
                "did. Choose *Demo traffic* on the Analyze page, or download it and upload it there.")  # fmt: skip
    try:
        payload = loaders.demo_traffic_csv()
    except Exception as exc:  # the demo generator must never take the overview down
        loaders.show_error(exc)
        return
    st.download_button("Download the demo CSV", payload, loaders.DEMO_TRAFFIC_NAME, "text/csv",
                       key="overview_demo_csv", icon=":material/download:", on_click="ignore")  # fmt: skip


render()
