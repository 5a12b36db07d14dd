"""Small helpers for text shown to people: counts with the right noun form, sentences."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and ``noun`` in the form its number takes: '1 row', '2,500 rows'."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def sentence(text: str) -> str:
    """``text`` with its first letter in capitals, to begin a sentence."""
    return text[:1].upper() + text[1:]


def was_were(n: int) -> str:
    """The verb that goes with a count of ``n``."""
    return "was" if n == 1 else "were"


def listed(items: list[str]) -> str:
    """``items`` in a sentence: 'A', 'A and B', 'A, B and C'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
