"""The CICIoMT2024 class taxonomy: the one source of truth for labels.

Every 19-class label maps to one of 6 categories and one of 2 classes.
File names are mapped to labels by exact matching of the official stems
(after removing the split suffix and the numbered part), never by substring:
``TCP_IP-DDoS-ICMP2_train.pcap.csv`` is ``DDoS-ICMP``, never ``DoS-ICMP``.
"""

from __future__ import annotations

import re
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


def task_index_map(task: int) -> np.ndarray:
    """Array mapping each 19-class index to the class index in ``task``.

    Returns
    -------
    ndarray of shape (19,), dtype int8
    """
    target = classes_for_task(task)
    return np.array([target.index(task_label(c, task)) for c in CLASSES_19], dtype=np.int8)


def codes_for_task(codes19: np.ndarray, task: int) -> np.ndarray:
    """Convert an array of 19-class codes (indices into CLASSES_19) to ``task`` codes."""
    return task_index_map(task)[np.asarray(codes19, dtype=np.int64)]


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


# Labels of the coarser tasks that other copies of the data carry instead of the 19 (normalised keys).
_COARSE_LABELS: dict[str, int] = {
    **{_normalise(c): 6 for c in CLASSES_6 if c != BENIGN},
    **dict.fromkeys(("attack", "malicious", "anomaly", "intrusion"), 2),
}


def coarse_task_of(text: str) -> int | None:
    """The task (6 or 2) whose label ``text`` is, where it names an attack family (``DDoS``) or just an attack
    (``Attack``) rather than one of the 19 classes; None otherwise."""
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
