"""Small helpers for text shown to people: counts with the right noun form, sentences."""

from __future__ import annotations

from datetime import UTC, datetime


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the form its number takes: '1 row', '2,500 rows'."""
    return f"{n:,} {noun_for(n, noun, plural)}"


def noun_for(n: int, noun: str, plural: str | None = None) -> str:
    """``noun`` in the form a count of ``n`` takes, without the count: 'column', 'columns'."""
    return noun if n == 1 else plural or noun + "s"


def sentence(text: str) -> str:
    """``text`` with its first letter in capitals, to begin a sentence."""
    return text[:1].upper() + text[1:]


def was_were(n: int) -> str:
    """The verb that goes with a count of ``n``."""
    return "was" if n == 1 else "were"


def listed(items: list[str], word: str = "and") -> str:
    """``items`` in a sentence: 'A', 'A and B', 'A, B and C' (``word``: 'or' for 'A, B or C')."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def size_text(n_bytes: int) -> str:
    """A file's size in decimal units, as Streamlit's uploader gives it: ``35 B``, ``210.7 KB``, ``12.3 MB``,
    ``1.02 GB`` (a 35-byte file was "0.0 KB")."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.{2 if unit == 'GB' else 1}f} {unit}"
    return f"{n_bytes:,} B"


def probability_text(p: float) -> str:
    """A probability (an alarm threshold) as people read it, never in exponent notation: two decimals on the 0.01 grid
    (``0.70``), else up to six significant digits written out (``0.705``, ``0.99999``, ``0.0000001``, not ``1e-07``)."""
    from decimal import Decimal

    value = Decimal(f"{float(p):.6g}")  # 0.7000000000000001 is 0.7; 1e-07 stays 1e-07, not 0.00
    if value == value.quantize(Decimal("0.01")):
        return f"{value:.2f}"
    return f"{value:f}"


def share_text(share: float) -> str:
    """A share (0 to 1) as a percentage with one decimal that never reads as none or all when it is neither: a
    handful of attack flows among millions is "<0.1%", not "0.0%" (which says there is none), and all but a handful
    ">99.9%", not "100.0%"."""
    if 0 < share < 0.0005:
        return "<0.1%"
    if 0.9995 <= share < 1:
        return ">99.9%"
    return f"{share:.1%}"


def time_text(value, missing: str = "") -> str:
    """A recorded time as people read it, in UTC and saying so: '2026-11-02 10:00:00 UTC' for the
    '2026-11-02T10:00:00+00:00' (or any other offset) that the audit log and score-many write; a time without a zone
    without one said; text that is no time, as it is; ``missing`` for none."""
    if value is None or value == "":
        return missing
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        return f"{when:%Y-%m-%d %H:%M:%S}"
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
