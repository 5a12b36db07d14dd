"""Feature schema of the two CICIoMT2024 releases: the one source of truth for columns."""

from __future__ import annotations

from dataclasses import dataclass

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

#: Column names accepted as a label column (compared case-insensitively, spaces stripped).
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


def normalise_column(name: str) -> str:
    """Strip surrounding whitespace and a UTF-8 byte-order mark from a header cell."""
    return str(name).replace("\ufeff", "").strip()


def find_label_column(columns: list[str]) -> str | None:
    """Return the first column whose name is a known label-column spelling, or None."""
    wanted = {n.replace(" ", "").lower() for n in LABEL_COLUMN_NAMES}
    for col in columns:
        if normalise_column(col).replace(" ", "").lower() in wanted:
            return col
    return None


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
    # Closest layout by overlap, to say what is wrong.
    best = max((V1, V2), key=lambda lay: len(present & set(lay.features)) - len(present - set(lay.features)))
    missing = [c for c in best.features if c not in present]
    unexpected = [c for c in columns if c not in set(best.features)]
    raise SchemaError(best, missing, unexpected)


class SchemaError(ValueError):
    """A header that matches neither release's layout."""

    def __init__(self, closest: Layout, missing: list[str], unexpected: list[str]):
        self.closest = closest
        self.missing = missing
        self.unexpected = unexpected
        parts = []
        if missing:
            parts.append(
                f"missing column(s) {', '.join(repr(c) for c in missing[:8])}" + (" ..." if len(missing) > 8 else "")
            )
        if unexpected:
            parts.append(
                f"unexpected column(s) {', '.join(repr(c) for c in unexpected[:8])}"
                + (" ..." if len(unexpected) > 8 else "")
            )
        super().__init__(
            f"header matches neither CICIoMT2024 layout (closest: {closest.name}, {closest.n_features} features): "
            + "; ".join(parts)
        )
