"""Feature schema of the two CICIoMT2024 releases: the one source of truth for columns."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .words import noun_for

FEATURES_V1: tuple[str, ...] = (
    "Header_Length", "Protocol Type", "Duration", "Rate", "Srate", "Drate",
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number",
    "ack_count", "syn_count", "fin_count", "rst_count",
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP",
    "ICMP", "IGMP", "IPv", "LLC",
    "Tot sum", "Min", "Max", "AVG", "Std", "Tot size", "IAT", "Number",
    "Magnitue", "Radius", "Covariance", "Variance", "Weight",
)  # fmt: skip

FEATURES_V2: tuple[str, ...] = (
    "Header_Length", "Protocol Type", "Time_To_Live", "Rate",
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number",
    "ack_count", "syn_count", "fin_count", "rst_count",
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP",
    "ICMP", "IGMP", "IPv", "LLC",
    "Tot sum", "Min", "Max", "AVG", "Std", "Tot size", "IAT", "Number", "Variance",
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """One release's column layout."""

    name: str
    features: tuple[str, ...]
    description: str

    @property
    def n_features(self) -> int:
        return len(self.features)


V1 = Layout("v1", FEATURES_V1, "CICIoMT2024 first release, 45 features (used by the paper)")
V2 = Layout("v2", FEATURES_V2, "CICIoMT2024 later release, 39 features (Time_To_Live, no Srate/Drate/...)")
LAYOUTS: dict[str, Layout] = {V1.name: V1, V2.name: V2}

#: Column names accepted as a label column (compared in lower case without spaces, ``_`` and ``-``).
LABEL_COLUMN_NAMES: tuple[str, ...] = (
    "label", "labels", "class", "class_label", "attack", "attack_type", "attack type",
    "category", "traffic_type", "type", "target", "y",
)  # fmt: skip

#: Heavy-tailed features (rates, sizes, times, counts of bytes), log-transformed by the improved models.
HEAVY_TAILED: frozenset[str] = frozenset(
    {
        "Header_Length", "Duration", "Time_To_Live", "Rate", "Srate", "Drate",
        "ack_count", "syn_count", "fin_count", "rst_count",
        "Tot sum", "Min", "Max", "AVG", "Std", "Tot size", "IAT", "Number",
        "Magnitue", "Radius", "Covariance", "Variance", "Weight",
    }
)  # fmt: skip


#: Every feature name of either release by its lower-case spelling (no two differ only in case).
_FEATURE_BY_LOWER: dict[str, str] = {f.lower(): f for f in FEATURES_V1 + FEATURES_V2}


def normalise_column(name: str) -> str:
    """A header cell without a UTF-8 byte-order mark, surrounding whitespace, quotes and whitespace inside them
    (``"Rate "`` is ``Rate``), and spelt as the feature of that name whatever its case (``rate`` is ``Rate``)."""
    text = str(name).replace("\ufeff", "").strip().strip('"').strip()
    return _FEATURE_BY_LOWER.get(text.lower(), text)


def _label_key(name: str) -> str:
    return re.sub(r"[\s_-]", "", normalise_column(name).lower())


_LABEL_KEYS = frozenset(_label_key(n) for n in LABEL_COLUMN_NAMES)


def label_like_columns(columns: list[str]) -> list[str]:
    """The columns whose name is a known label-column spelling (``Class Label``, ``attack-type``), in header order."""
    return [c for c in columns if _label_key(c) in _LABEL_KEYS]


def find_label_column(columns: list[str]) -> str | None:
    """The label column of a header: the one named ``label`` (any case), else the one label-like column, or None.

    Raises
    ------
    LabelColumnError
        Several label-like columns, not one of them named ``label`` (which of them holds the class is unknown).
    """
    found = label_like_columns(columns)
    exact = [c for c in found if _label_key(c) == "label"]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise LabelColumnError(exact, all_label=True)
    if len(found) > 1:
        raise LabelColumnError(found)
    return found[0] if found else None


def detect_layout(columns: list[str]) -> Layout:
    """Recognise the release from a header.

    Parameters
    ----------
    columns : list of str
        Header cells, already normalised, label column excluded.

    Raises
    ------
    SchemaError
        If the header matches neither layout; the message names the missing and
        unexpected columns against the closest layout.
    """
    present = set(columns)
    for layout in (V1, V2):
        if present == set(layout.features):
            return layout
    # Closest layout by overlap (fewer missing columns on a tie: v2's are nearly all v1's), to say what is wrong;
    # none when no column is a feature of either.
    best = max((V2, V1), key=lambda lay: (len(present & set(lay.features)) - len(present - set(lay.features)),
                                          -len(set(lay.features) - present)))  # fmt: skip
    if not present & set(_FEATURE_BY_LOWER.values()):
        raise SchemaError(None, [], list(columns))
    missing = [c for c in best.features if c not in present]
    unexpected = [c for c in columns if c not in set(best.features)]
    raise SchemaError(best, missing, unexpected)


class LabelColumnError(ValueError):
    """Several label-like columns in a header and no single one named ``label`` (``columns``: their names)."""

    def __init__(self, columns: list[str], *, all_label: bool = False):
        self.columns = columns
        self.all_label = all_label  # they are all spellings of 'label' (differing in case or spaces)
        names = ", ".join(repr(c) for c in columns)
        super().__init__(f"{len(columns)} columns are named label ({names})" if all_label else
                         f"several columns could hold the class: {names}; none is named 'label'")  # fmt: skip


class SchemaError(ValueError):
    """A header that matches neither release's layout."""

    def __init__(self, closest: Layout | None, missing: list[str], unexpected: list[str]):
        self.closest = closest
        self.missing = missing
        self.unexpected = unexpected
        parts = []

        def shown_name(c: str) -> str:  # '' read as nothing at all
            return repr(c) if c.strip() else "'' (a column with no name)"

        if missing:
            parts.append(
                f"missing {noun_for(len(missing), 'column')} {', '.join(repr(c) for c in missing[:8])}"
                + (" ..." if len(missing) > 8 else "")
            )
        if unexpected:
            parts.append(
                f"unexpected {noun_for(len(unexpected), 'column')} {', '.join(shown_name(c) for c in unexpected[:8])}"
                + (" ..." if len(unexpected) > 8 else "")
            )
        if closest is None:
            shown = ", ".join(repr(c) for c in unexpected[:5]) + (" ..." if len(unexpected) > 5 else "")
            super().__init__(f"header matches neither CICIoMT2024 layout: none of its columns is a feature ({shown})")
        else:
            super().__init__(
                f"header matches neither CICIoMT2024 layout (closest: {closest.name}, {closest.n_features} features): "
                + "; ".join(parts)
            )
