"""Errors the product reports to users: each says what is wrong and what to do."""

from __future__ import annotations


class CoreError(Exception):
    """Base of every error meant for a user: a one-line cause and a hint.

    Parameters
    ----------
    message : str
        What is wrong, quoting the bad value.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Pickled whole (hint, file, column, row), so that an error raised in a worker process (the
        # dashboard trains in one) reaches the page as it was raised, not as its bare message.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type, args: tuple, state: dict) -> CoreError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class DataError(CoreError):
    """Bad input data: names the file and, where known, the column and the first bad row.

    ``row`` is the 1-based data row (0: the header, said as "header"), as a spreadsheet user counts
    rows below the header; ``line``, where known, the file's line it starts on (1: the header), which is what a
    spreadsheet numbers the row and a text editor the line (blank lines and rows of blank cells are not data rows).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        hint: str | None = None,
        line: int | None = None,
    ):
        self.file = file
        self.column = column
        self.row = row
        self.line = line
        self.detail = message
        where = []
        if file:
            where.append(f"{file}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:  # "row 0" would read as the first data row
            where.append("header" if row == 0 else f"row {row}" + (f" (line {line} of the file)" if line else ""))
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint)

    def at_line(self, line: int | None) -> DataError:
        """This error with the file's ``line`` its row starts on (itself where unknown, or not a plain DataError)."""
        if line is None or not self.row or self.line is not None or type(self) is not DataError:
            return self
        return DataError(self.detail, file=self.file, column=self.column, row=self.row, hint=self.hint, line=line)


class FilesError(DataError):
    """Several files that could not be read, each for its own reason (``errors``: each file's
    :class:`DataError`, in the order read, then ``together``'s, problems of the files together such as a mix of
    both releases), so that all of them can be mended at once."""

    def __init__(self, errors: list[DataError], total: int, together: list[DataError] = ()):
        self.errors = [*errors, *together]
        self.total = total
        self.together = len(together)
        hints = list(dict.fromkeys(e.hint for e in self.errors if e.hint))
        super().__init__(
            self.headline() + ": " + "; ".join(f"({i}) {e}" for i, e in enumerate(self.errors, 1)),
            hint=hints[0] if len(hints) == 1 else "; ".join(f"({i}) {e.hint}" for i, e in enumerate(self.errors, 1)
                                                             if e.hint) or None,
        )  # fmt: skip

    def headline(self) -> str:
        """``2 of 5 files could not be read``, and how many problems are of the files together."""
        together = self.together
        bad = len(self.errors) - together
        text = f"{bad} of {self.total} {'file' if self.total == 1 else 'files'} could not be read"
        if together:
            text += f", and {together} {'problem is' if together == 1 else 'problems are'} of the files together"
        return text


class LayoutMismatchError(DataError):
    """A file of the other release than the one expected (``found`` and ``expected`` are :class:`Layout`)."""

    def __init__(self, message: str, *, found, expected, **where):
        self.found = found
        self.expected = expected
        super().__init__(message, **where)


class ModelMismatchError(CoreError):
    """A model fed data it was not trained for (other layout, other features)."""


class ModelFormatError(CoreError):
    """A model folder that is missing, incomplete, of another format version, or unsafe to load."""


class NewerModelError(ModelFormatError):
    """A model saved by a newer version of the tool (a newer format, or a family this version does not know): not
    damaged, so never advised for deleting or training again. ``detail`` says what is newer."""

    def __init__(self, message: str, hint: str | None = None, *, detail: str = ""):
        super().__init__(message, hint)
        self.detail = detail
