"""Show untrusted text (file names, column names, model names, error messages quoting them) as text.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error`` and the other message
elements, and in widget labels: a file named ``![x](http://host/track.png).csv`` would load an
image from another host, ``[click](javascript:...)`` would be a link, ``$...$`` would be typeset
and raw HTML like ``<img src=x onerror=alert(1)>`` would be dropped from view instead of shown.
:func:`md` backslash-escapes every ASCII punctuation character (CommonMark allows escaping all of
them, and an escaped character is always shown literally) and flattens line breaks, so the text
appears exactly as written, as one line.
"""

from __future__ import annotations

import re

#: Characters with a meaning anywhere in a line (emphasis, code, links, images, HTML, tables, LaTeX, entities).
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#!|~$&])")
#: A line start that would begin a list ("- x", "+ x", "1. x", "1) x"); ">" and "#" are escaped anyway.
_LINE_START = re.compile(r"^(\s*)(?:([-+])|(\d+)([.)]))")


def _escape_start(m: re.Match) -> str:
    if m.group(2):  # "- x" -> "\- x"
        return f"{m.group(1)}\\{m.group(2)}"
    return f"{m.group(1)}{m.group(3)}\\{m.group(4)}"  # "1. x" -> "1\. x"


def md(value: object) -> str:
    """``value`` as Markdown that displays exactly its text (one line)."""
    text = str(value).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _LINE_START.sub(_escape_start, _SPECIAL.sub(r"\\\1", text), count=1)


def spreadsheet_text(value: object) -> object:
    """A cell for a CSV download: text starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with ``'``
    so that a spreadsheet shows it instead of running it as a formula (CSV injection); other values unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
