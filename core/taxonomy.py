"""The CICIoMT2024 class taxonomy: the one source of truth for labels.

Every 19-class label maps to one of 6 categories and one of 2 classes.
File names are mapped to labels by exact matching of the official stems
(after removing the split suffix and the numbered part), never by substring:
``TCP_IP-DDoS-ICMP2_train.pcap.csv`` is ``DDoS-ICMP``, never ``DoS-ICMP``.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import PurePath

import numpy as np

#: The benign class: its name in every task, first in each.
BENIGN = "Benign"

#: The 19 classes, in the canonical order used for every model and report.
CLASSES_19: tuple[str, ...] = (
    BENIGN,
    "ARP_Spoofing",
    "MQTT-DDoS-Connect_Flood",
    "MQTT-DDoS-Publish_Flood",
    "MQTT-DoS-Connect_Flood",
    "MQTT-DoS-Publish_Flood",
    "MQTT-Malformed_Data",
    "Recon-OS_Scan",
    "Recon-Ping_Sweep",
    "Recon-Port_Scan",
    "Recon-VulScan",
    "DDoS-ICMP",
    "DDoS-SYN",
    "DDoS-TCP",
    "DDoS-UDP",
    "DoS-ICMP",
    "DoS-SYN",
    "DoS-TCP",
    "DoS-UDP",
)

CLASSES_6: tuple[str, ...] = (BENIGN, "Spoofing", "MQTT", "Recon", "DDoS", "DoS")
CLASSES_2: tuple[str, ...] = (BENIGN, "Attack")

#: 19-class label -> 6-class category.
CATEGORY: dict[str, str] = {
    "Benign": "Benign",
    "ARP_Spoofing": "Spoofing",
    **{c: "MQTT" for c in CLASSES_19 if c.startswith("MQTT-")},
    **{c: "Recon" for c in CLASSES_19 if c.startswith("Recon-")},
    **{c: "DDoS" for c in CLASSES_19 if c.startswith("DDoS-")},
    **{c: "DoS" for c in CLASSES_19 if c.startswith("DoS-")},
}

TASKS: tuple[int, ...] = (2, 6, 19)

TASK_DESCRIPTIONS: dict[int, str] = {
    2: "2 classes: benign or attack",
    6: "6 classes: benign or one of five attack families (DDoS, DoS, Recon, MQTT, Spoofing)",
    19: "19 classes: benign or each of 18 individual attacks",
}
#: The tasks as a select box names them: short enough not to be cut off in a box of a narrow page (the 6-class one of
#: TASK_DESCRIPTIONS was cut off in the dashboard's boxes at any width); the full descriptions go in the box's help.
TASK_CHOICES: dict[int, str] = {
    2: "2 classes: benign or attack",
    6: "6 classes: benign or 5 attack families",
    19: "19 classes: benign or 18 attacks",
}

# Official file stems that differ from the label: the TCP_IP- prefix of the DoS/DDoS files.
_FILE_STEM_TO_LABEL: dict[str, str] = {
    **{c: c for c in CLASSES_19 if not c.startswith(("DDoS-", "DoS-"))},
    **{f"TCP_IP-{c}": c for c in CLASSES_19 if c.startswith(("DDoS-", "DoS-"))},
}

_FILE_RE = re.compile(
    r"^(?P<stem>.+?)(?P<part>\d+)?(?:_(?P<split>train|test))?(?:\.pcap)?(?:\.csv)?$",
    re.IGNORECASE,
)


def classes_for_task(task: int) -> tuple[str, ...]:
    """Return the class names of ``task`` (2, 6 or 19) in canonical order."""
    if task == 19:
        return CLASSES_19
    if task == 6:
        return CLASSES_6
    if task == 2:
        return CLASSES_2
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def task_label(label19: str, task: int) -> str:
    """Map a 19-class label to its label in ``task``."""
    if label19 not in CATEGORY:
        raise ValueError(f"unknown 19-class label {label19!r}; expected one of {CLASSES_19}")
    if task == 19:
        return label19
    if task == 6:
        return CATEGORY[label19]
    if task == 2:
        return "Benign" if label19 == "Benign" else "Attack"
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


#: Label codes beyond the 19 classes, for rows whose label names only their attack family (``DDoS``: a class of
#: the 6-class task) or only says they are an attack (``Attack``): codes 19-23 are the five families in
#: ``CLASSES_6`` order, 24 is an attack of unknown kind. ``LABEL_NAMES[code]`` names every code.
FAMILY_CODES: dict[str, int] = {name: len(CLASSES_19) + i for i, name in enumerate(CLASSES_6[1:])}
ATTACK_CODE = len(CLASSES_19) + len(CLASSES_6) - 1
LABEL_NAMES: tuple[str, ...] = CLASSES_19 + CLASSES_6[1:] + (CLASSES_2[1],)


@cache
def task_index_map(task: int) -> np.ndarray:
    """Array mapping each label code (``LABEL_NAMES`` order) to the class index in ``task``; -1 where the label
    is too coarse to say the class in ``task`` (a family in the 19-class task, an attack in the 6-class one).

    Returns
    -------
    ndarray of shape (len(LABEL_NAMES),), dtype int8, read-only (one per task, shared)
    """
    target = classes_for_task(task)
    out = np.full(len(LABEL_NAMES), -1, dtype=np.int8)
    for i, c in enumerate(CLASSES_19):
        out[i] = target.index(task_label(c, task))
    if task <= 6:
        for name, code in FAMILY_CODES.items():
            out[code] = target.index(name if task == 6 else CLASSES_2[1])
    if task == 2:
        out[ATTACK_CODE] = target.index(CLASSES_2[1])
    out.setflags(write=False)
    return out


def known_for_task(codes: np.ndarray, task: int) -> np.ndarray:
    """True where a label code (``UNLABELLED``, -1, included) says the row's class in ``task``."""
    codes = np.asarray(codes, dtype=np.int64)
    inside = (codes >= 0) & (codes < len(LABEL_NAMES))
    out = np.zeros(codes.shape, dtype=bool)
    out[inside] = task_index_map(task)[codes[inside]] >= 0
    return out


def finest_task(codes: np.ndarray) -> int:
    """The finest task at which every given label code (labelled rows only) says the class: 19, 6 or 2."""
    codes = np.asarray(codes)
    for task in (19, 6):
        if known_for_task(codes, task).all():
            return task
    return 2


def codes_for_task(codes: np.ndarray, task: int) -> np.ndarray:
    """Convert label codes (19-class codes, or the coarser family and attack codes) to ``task`` codes.

    Raises ValueError for a code that does not say the class in ``task`` (unlabelled, or too coarse): callers
    keep the rows :func:`known_for_task` allows."""
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) and (codes.min() < 0 or codes.max() >= len(LABEL_NAMES)):
        raise ValueError(f"label codes must lie in 0..{len(LABEL_NAMES) - 1}")
    out = task_index_map(task)[codes]
    if len(out) and out.min() < 0:
        raise ValueError(f"a label is too coarse for the {task}-class task: {LABEL_NAMES[codes[out < 0][0]]!r}")
    return out


def coarser_map(from_task: int, to_task: int) -> np.ndarray:
    """Array mapping each class index of ``from_task`` to its class index in the coarser (or same) ``to_task``:
    a 19-class prediction grouped into its family, or into benign and attack."""
    if to_task > from_task:
        raise ValueError(f"cannot map {from_task}-class predictions to the finer {to_task}-class task")
    target = classes_for_task(to_task)
    source = classes_for_task(from_task)
    if from_task == 19:
        return np.array([target.index(task_label(c, to_task)) for c in source], dtype=np.int64)
    return np.array([target.index(c if to_task == from_task or c == BENIGN else CLASSES_2[1]) for c in source],
                    dtype=np.int64)  # fmt: skip


def _shown_name(code: int, task: int) -> str:
    """What label ``code`` says of its row's class beside a ``task`` model's prediction: the class in ``task``
    where the label says it, else as much as it says (a family, or ``Attack``)."""
    name = LABEL_NAMES[code]
    if code < len(CLASSES_19):
        return task_label(name, task)
    return name if task >= 6 and code != ATTACK_CODE else CLASSES_2[1]


def shown_names(task: int) -> tuple[str, ...]:
    """The names a row's true class is shown with beside a ``task`` model's prediction: the task's classes, then
    the families and ``Attack`` for labels that say no more (:func:`shown_index_map`)."""
    own = classes_for_task(task)
    coarse = (_shown_name(code, task) for code in range(len(CLASSES_19), len(LABEL_NAMES)))
    return own + tuple(dict.fromkeys(n for n in coarse if n not in own))


def shown_index_map(task: int) -> np.ndarray:
    """Array mapping each label code to its index in :func:`shown_names` (``task``)."""
    names = shown_names(task)
    return np.array([names.index(_shown_name(code, task)) for code in range(len(LABEL_NAMES))], dtype=np.int64)


def name_task(name: str) -> int:
    """The finest task a class name says a row's class at: 19 (one of the 19 classes, ``Benign`` included), 6 (an
    attack family) or 2 (``Attack``)."""
    if name in CATEGORY:
        return 19
    if name in CLASSES_6:
        return 6
    if name in CLASSES_2:
        return 2
    raise ValueError(f"not a class name: {name!r}")


def name_at(name: str, task: int) -> str:
    """A class name of any task (``DDoS-UDP``, ``DDoS``, ``Attack``) in ``task``, coarser than or the same as the one
    it is of: ``DDoS-UDP`` is ``DDoS`` at 6 classes and ``Attack`` at 2."""
    if task > name_task(name):
        raise ValueError(f"{name!r} does not say a class of the finer {task}-class task")
    if name in CATEGORY:
        return task_label(name, task)
    return name if task == 6 or name == BENIGN else CLASSES_2[1]


def wrong_by_label(predicted, true) -> np.ndarray:
    """True where a row's true class is known (``true`` not None) and its prediction is another class at the task the
    label says (or the prediction's, where it is coarser): a 19-class prediction ``DDoS-UDP`` is right for a label
    ``DDoS`` (a family) or ``Attack``."""
    predicted, true = np.asarray(predicted, dtype=object), np.asarray(true, dtype=object)
    out = np.zeros(len(true), dtype=bool)
    known = np.frompyfunc(lambda v: isinstance(v, str), 1, 1)(true).astype(bool)
    for t in set(true[known]):
        rows = known & (true == t)
        names, which = np.unique(predicted[rows].astype(str), return_inverse=True)
        # compared at the coarser of the two names' tasks (Benign is one in every task: a 6-class prediction MQTT for
        # a Benign label is compared at 6 classes, not the 19 that Benign is also a class of)
        at = [min(name_task(n), name_task(t)) for n in names]
        differ = np.array([name_at(n, k) != name_at(t, k) for n, k in zip(names, at)], dtype=bool)
        out[rows] = differ[which]
    return out


def class_from_filename(name: str | PurePath) -> str | None:
    """Return the 19-class label of an official CICIoMT2024 file name, or None.

    Accepts names with or without the split suffix, ``.pcap`` and ``.csv``, and with
    a numbered part (``TCP_IP-DDoS-UDP3_train.pcap.csv`` -> ``DDoS-UDP``).
    Matching is exact on the official stem, case-insensitive.
    """
    base = PurePath(str(name)).name
    m = _FILE_RE.match(base)
    if not m:
        return None
    stem = m.group("stem")
    lowered = {k.lower(): v for k, v in _FILE_STEM_TO_LABEL.items()}
    return lowered.get(stem.lower())


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


# Spellings seen in other copies of the data: the 19 labels, the official file stems,
# snake/space variants, and a few common aliases. Keys are normalised (alphanumerics only).
_LABEL_ALIASES: dict[str, str] = {}
for _label in CLASSES_19:
    _LABEL_ALIASES[_normalise(_label)] = _label
for _stem, _label in _FILE_STEM_TO_LABEL.items():
    _LABEL_ALIASES[_normalise(_stem)] = _label
_LABEL_ALIASES.update(
    {
        "normal": "Benign",
        "benigntraffic": "Benign",
        "arpspoof": "ARP_Spoofing",
        "spoofingarp": "ARP_Spoofing",
        "mqttmalformed": "MQTT-Malformed_Data",
        "reconosscan": "Recon-OS_Scan",
        "reconpingsweep": "Recon-Ping_Sweep",
        "reconportscan": "Recon-Port_Scan",
        "reconvulscan": "Recon-VulScan",
        "reconvulnerabilityscan": "Recon-VulScan",
    }
)


# Labels of the coarser tasks that other copies of the data carry instead of the 19 (normalised keys -> code).
_COARSE_LABELS: dict[str, int] = {
    **{_normalise(name): code for name, code in FAMILY_CODES.items()},
    **dict.fromkeys(("attack", "malicious", "anomaly", "intrusion"), ATTACK_CODE),
}


def coarse_code_of(text: str) -> int | None:
    """The label code of ``text`` where it names an attack family (``DDoS``) or just an attack (``Attack``)
    rather than one of the 19 classes; None otherwise."""
    return _COARSE_LABELS.get(_normalise(str(text)))


def label_from_text(text: str) -> str | None:
    """Return the 19-class label for a label-column value, or None if unrecognised.

    Accepts the canonical labels, the official file stems (``TCP_IP-DDoS-UDP``),
    numbered parts (``TCP_IP-DDoS-UDP3``) and case/punctuation variants
    (``ddos_udp``, ``BENIGN``).
    """
    key = _normalise(str(text))
    if key in _LABEL_ALIASES:
        return _LABEL_ALIASES[key]
    stripped = key.rstrip("0123456789")
    return _LABEL_ALIASES.get(stripped)
