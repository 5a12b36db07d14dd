"""Progress of a count towards a total (rows written, files read, partitions scored) on standard error, for the
command line: a tqdm bar in a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time

from .words import counted

#: Seconds between the progress lines written where standard error is not a terminal (a log: ``nohup``, ``2> log``,
#: a service).
LOG_PROGRESS_SECONDS = 30.0


class CountProgress:
    """Progress of ``done`` of ``total`` ``noun``s on standard error.

    In a terminal (``terminal``: None asks standard error) a tqdm bar (``bar``: its options, e.g. ``unit``). Elsewhere,
    a log, a plain line at the first update, at most every ``every`` seconds (default :data:`LOG_PROGRESS_SECONDS`)
    and when the count reaches its total, e.g. ``demo data: 120,000/480,000 rows (25%), 30 s spent, about 1 min 30 s
    left``: the bar's redraws filled such a log with carriage returns. It closes itself at the total; :meth:`close`
    at the end (or on an error) is safe to call again.
    """

    def __init__(self, desc: str, noun: str, *, terminal: bool | None = None, every: float | None = None, **bar):
        self.desc, self.noun, self.total = desc, noun, None
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.every = every
        self._bar_options, self._bar = bar, None
        self._started, self._said_at, self._closed = time.perf_counter(), None, False

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """``done`` of ``total`` (None: the total given before, if any); ``note``: what is being done (a file)."""
        if self._closed:
            return
        if total is not None:
            self.total = total
        finished = self.total is not None and done >= self.total
        if self.terminal:
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=self.total, desc=self.desc, file=sys.stderr, leave=False, **self._bar_options)
            self._bar.total = self.total
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            # a redraw at most every mininterval: score-many updates once a partition, thousands of times
            self._bar.update(done - self._bar.n)
        else:
            now = time.perf_counter()
            every = LOG_PROGRESS_SECONDS if self.every is None else self.every
            if self._said_at is None or finished or now - self._said_at >= every:
                self._said_at = now
                print(self.line(done, now - self._started, note), file=sys.stderr, flush=True)
        if finished:
            self.close()

    def line(self, done: int, spent: float, note: str = "") -> str:
        """The line a log gets: what is done, of how much, the time spent and, on the way, the time left."""
        from .training import describe_seconds

        if self.total is None:
            text = f"{self.desc}: {counted(done, self.noun)} done"
        else:
            share = f" ({100 * done / self.total:.0f}%)" if self.total else ""
            text = f"{self.desc}: {done:,}/{counted(self.total, self.noun)}{share}"
        text += f", {describe_seconds(spent)} spent"
        if self.total and 0 < done < self.total and spent > 0:
            text += f", about {describe_seconds(spent * (self.total - done) / done)} left"
        return text + (f", {note}" if note else "")

    def close(self) -> None:
        self._closed = True
        if self._bar is not None:
            self._bar.close()
