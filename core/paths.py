"""Folder paths typed by users are confined to configured roots.

The dashboard lets a user type a data folder (for training, for the paper comparison). On a
shared server that must not become a way to read any folder the server can: a typed path is
resolved (``~``, ``..`` and symbolic links followed) and refused unless it lies under one of the
allowed roots.

Roots: ``$IOMT_DATA_ROOTS`` (folders separated by ``os.pathsep``, ``:`` on Linux), else the
project's ``data/`` and ``../shared/data`` beside the project.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

from .errors import CoreError

ROOT = Path(__file__).resolve().parent.parent


def demo_data_dir() -> Path:
    """The demo data folder: ``$IOMT_DEMO_DATA_DIR``, else ``data/demo`` in the project. One lookup for the command
    line (``setup-demo``, ``demo-data``) and the dashboard: they used to disagree, so that ``scripts/dashboard.sh``
    with the variable set wrote the demo data where the dashboard did not look."""
    env = os.environ.get("IOMT_DEMO_DATA_DIR", "").strip()
    return Path(env) if env else ROOT / "data" / "demo"


class PathNotAllowedError(CoreError):
    """A typed path that resolves outside every allowed root."""


def data_roots() -> list[Path]:
    """The allowed roots, resolved (``$IOMT_DATA_ROOTS`` or the defaults)."""
    env = os.environ.get("IOMT_DATA_ROOTS", "").strip()
    if env:
        roots = [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]
    else:
        roots = [ROOT / "data", ROOT.parent / "shared" / "data"]
    return [r.resolve() for r in roots]


def confine(path: str | os.PathLike, roots: Sequence[str | os.PathLike] | None = None,
            base: str | os.PathLike | None = None) -> Path:  # fmt: skip
    """``path`` resolved, if it lies under one of ``roots``; else :class:`PathNotAllowedError`.

    Relative paths are taken from ``base`` (default: the project root). ``..`` components and
    symbolic links are resolved first, so ``data/../../etc`` and a link in ``data/`` pointing
    at ``/etc`` are both refused. The path need not exist (callers check that themselves).
    """
    text = str(path).strip().strip('"').strip("'")
    if not text:
        raise PathNotAllowedError("no folder given", hint="type a folder under " + roots_text(roots))
    if "\x00" in text:
        raise PathNotAllowedError("the path contains a NUL character", hint="type a plain folder path")
    p = Path(text).expanduser()
    if not p.is_absolute():
        p = Path(base or ROOT) / p
    resolved = p.resolve()  # follows every symlink and '..', whether or not the path exists
    allowed = [Path(r).resolve() for r in roots] if roots is not None else data_roots()
    for root in allowed:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise PathNotAllowedError(
        f"{text!r} is outside the folders this dashboard may read (it resolves to {str(resolved)!r})",
        hint=f"use a folder under {roots_text(roots)}; an administrator can change this with IOMT_DATA_ROOTS",
    )


def roots_text(roots=None) -> str:
    """The allowed roots, in words."""
    allowed = [Path(r).resolve() for r in roots] if roots is not None else data_roots()
    return " or ".join(str(r) for r in allowed) or "(no roots configured)"


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all: into a hidden temporary file in the same folder, then renamed
    over ``path``, so that a reader (or a run stopped while writing) never sees half a file. Returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def replaced_file(path: Path) -> Path | None:
    """The file that a whole new output renamed into place replaces for ``path``: the target of a symbolic link (a
    rename onto the link would replace the link itself), else ``path``; None where the output is to be written in
    place, what is not a regular file (``/dev/stdout`` on a terminal, ``/dev/null``, a named pipe), which a rename
    would replace by a plain file (run as root, ``--out /dev/stdout`` replaced the machine's /dev/stdout)."""
    if path.exists() and not path.is_file():
        return None
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """:func:`write_text_atomic` for bytes, into the file :func:`replaced_file` names: a symbolic link's target (the
    link kept), or in place for what is not a regular file."""
    path = Path(path)
    target = replaced_file(path)
    if target is None:
        with open(path, "wb") as fh:
            fh.write(data)
        return path
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def name_text(name: str) -> str:
    """A file name as text that can be written anywhere (UTF-8 outputs, Parquet, JSON, pages): as it is, or, for a
    name whose bytes are not UTF-8 (a capture copied from an old share: Python reads ``caf\\xe9.csv`` with a lone
    surrogate, which no UTF-8 output takes), with each such byte written as ``\\xe9``, so that two names still
    differ."""
    try:
        name.encode()
        return name
    except UnicodeEncodeError:
        try:
            return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate no file name decodes to
            return name.encode("utf-8", "backslashreplace").decode()
