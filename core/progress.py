"""Progress of a count towards a total (rows written, files read, partitions scored) on standard error, for the
command line: a tqdm bar in a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

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

    The time left goes by the pace since the first update (the first item done), in the bar and in the lines: the
    wait before it (a cluster starting, a model loading, the first partitions' way through the scheduler) is no
    item's, and spread over every item it made score-many's first line say several times the time left (19 s for
    3.6 s, 200 small files). The first line therefore says the time spent only. ``clock``: seconds, :func:`time.perf_counter` by default.
    """

    def __init__(self, desc: str, noun: str, *, terminal: bool | None = None, every: float | None = None,
                 clock: Callable[[], float] = time.perf_counter, **bar):  # fmt: skip
        self.desc, self.noun, self.total = desc, noun, None
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.every = every
        self._clock = clock
        self._bar_options, self._bar = bar, None
        self._started, self._said_at, self._closed = clock(), None, False
        self._paced_from: tuple[float, int] | None = None  # (time, done) at the first update

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        """``done`` of ``total`` (None: the total given before, if any); ``note``: what is being done (a file)."""
        if self._closed:
            return
        if total is not None:
            self.total = total
        finished = self.total is not None and done >= self.total
        now = self._clock()
        if self._paced_from is None:
            self._paced_from = (now, done)
        if self.terminal:
            if self._bar is None:  # from the first update: tqdm's pace counts from there too (``initial``)
                from tqdm import tqdm

                self._bar = tqdm(total=self.total, desc=self.desc, file=sys.stderr, leave=False, initial=done,
                                 **self._bar_options)  # fmt: skip
            self._bar.total = self.total
            if note:
                self._bar.set_postfix_str(note, refresh=False)
            # a redraw at most every mininterval: score-many updates once a partition, thousands of times
            self._bar.update(done - self._bar.n)
        else:
            every = LOG_PROGRESS_SECONDS if self.every is None else self.every
            if self._said_at is None or finished or now - self._said_at >= every:
                self._said_at = now
                print(self.line(done, now - self._started, note, left=self.left(done, now)), file=sys.stderr,
                      flush=True)  # fmt: skip
        if finished:
            self.close()

    def left(self, done: int, now: float) -> float | None:
        """Seconds left at ``now`` for the rest of the total at the pace since the first update; None before a
        pace is measured (no item done since), without a total, or at it."""
        if self._paced_from is None or not self.total or done >= self.total:
            return None
        since, done_then = self._paced_from
        if done <= done_then or now <= since:
            return None
        return (now - since) * (self.total - done) / (done - done_then)

    def line(self, done: int, spent: float, note: str = "", *, left: float | None = None) -> str:
        """The line a log gets: what is done, of how much, the time spent and, where ``left`` is known (on the way,
        :meth:`left`), the time left."""
        from .training import describe_seconds

        if self.total is None:
            text = f"{self.desc}: {counted(done, self.noun)} done"
        else:
            share = f" ({100 * done / self.total:.0f}%)" if self.total else ""
            text = f"{self.desc}: {done:,}/{counted(self.total, self.noun)}{share}"
        text += f", {describe_seconds(spent)} spent"
        if left is not None and self.total and done < self.total:
            text += f", about {describe_seconds(left)} left"
        return text + (f", {note}" if note else "")

    def close(self) -> None:
        self._closed = True
        if self._bar is not None:
            self._bar.close()
