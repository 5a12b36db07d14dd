"""Preprocessing fitted on training rows only, saved with every model as plain JSON.

Repair rule (documented, fitted on the training data, counted, never dropping rows):

- ``+inf`` -> the column's largest finite training value
- ``-inf`` -> the column's smallest finite training value
- ``NaN``  -> the column's median training value

Real v2 files carry ``inf`` in ``Rate`` (a window of zero duration) and a few ``NaN``;
the repair keeps such rows at the extreme of the training range, where they belong.

A finite cell beyond ``±IMPLAUSIBLE`` (``1e15``; the largest real value in the samples is about
``1.7e8``) is no measurement, but a corrupt cell or a float's largest value written for a missing one
(``3.4e38``): it is taken as the ``inf`` of its sign, in training rows and in every row scored
(validation, test, ``predict``, ``score-many``, the dashboard), repaired by the rule above, and counted
apart (:attr:`RepairCounts.beyond`) as well as with the ``inf`` cells. Taken as it was, one such cell in a
training column squeezed the column's other values into one; in a scored row it reached the model as a
huge number (or, overflowing float32 once scaled, as an ``inf`` said to have been in the file).

Then, optionally, ``sign(x) * log1p(|x|)`` on chosen heavy-tailed features, or a quantile
transform of every feature (its training CDF, mapped to a standard normal: the order of values
is kept, heavy tails and per-recording plateaus are spread out), and standardisation
(mean 0, variance 1; constant columns get scale 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .words import counted

#: What a repaired cell was scored as, in words (the rule of this module's docstring), by what the cell held.
REPAIRED_TO = {"inf": "the largest training value", "-inf": "the smallest training value", "NaN": "the training median"}


def repair_rule(arrow: str = "→") -> str:
    """The repair rule in words, one cell kind after another: '+inf → the largest training value, ...'."""
    return ", ".join(f"{'+inf' if kind == 'inf' else kind} {arrow} {to}" for kind, to in REPAIRED_TO.items())


#: A feature cell of larger magnitude is no measurement (the largest in the real samples: IAT, 1.7e8): a corrupt
#: cell, or a float's largest value written for a missing one (3.4e38). Such a cell is taken as the ``inf`` of its
#: sign wherever rows go through :class:`Preprocessor` (fitted, transformed), and counted.
IMPLAUSIBLE = 1e15
#: The bound in words, as notes and summaries give it.
IMPLAUSIBLE_TEXT = f"±{IMPLAUSIBLE:.0e}"


def implausible(X: np.ndarray) -> np.ndarray:
    """Mask of the finite cells of ``X`` beyond :data:`IMPLAUSIBLE`: the cells taken as the ``inf`` of their sign."""
    return (np.abs(X) > IMPLAUSIBLE) & np.isfinite(X)


def _plausible(X: np.ndarray, rows_per_step: int = 65536) -> np.ndarray:
    """Mask of the cells of ``X`` that are finite and within :data:`IMPLAUSIBLE` (those a fit learns from), built
    a step of rows at a time: no temporary of the size of ``X`` beyond the mask itself."""
    mask = np.empty(X.shape, dtype=bool)
    for a in range(0, len(X), rows_per_step):
        np.less_equal(np.abs(X[a : a + rows_per_step]), IMPLAUSIBLE, out=mask[a : a + rows_per_step])  # NaN: False
    return mask


_CHUNK = 1 << 18
#: Rows per piece of :meth:`Preprocessor.transform` (2.5 MB at 39 features, which the CPU's cache holds); the
#: pieces are shared by one thread per core (numpy and scipy release the GIL in these loops).
_TRANSFORM_ROWS = 16384


@dataclass
class RepairCounts:
    """Cells repaired, by column and kind.

    ``beyond`` counts the finite cells beyond :data:`IMPLAUSIBLE`, taken as the ``inf`` of their sign: they are
    counted in ``pos_inf`` or ``neg_inf`` (and ``total``) too, as the ``inf`` cells they were repaired as.
    """

    pos_inf: dict[str, int] = field(default_factory=dict)
    neg_inf: dict[str, int] = field(default_factory=dict)
    nan: dict[str, int] = field(default_factory=dict)
    beyond: dict[str, int] = field(default_factory=dict)

    #: The kinds, in the order of :meth:`from_counts`'s rows.
    KINDS = ("pos_inf", "neg_inf", "nan", "beyond")

    @property
    def total(self) -> int:
        return sum(self.pos_inf.values()) + sum(self.neg_inf.values()) + sum(self.nan.values())

    @property
    def beyond_total(self) -> int:
        return sum(self.beyond.values())

    def to_dict(self) -> dict:
        """Counts as JSON; ``beyond`` only where there are any (so counts without them read as they always did)."""
        d = {"total": self.total, "pos_inf": self.pos_inf, "neg_inf": self.neg_inf, "nan": self.nan}
        return {**d, "beyond": self.beyond} if self.beyond else d

    @classmethod
    def from_dict(cls, d: dict) -> RepairCounts:
        """From :meth:`to_dict` output; one written before ``beyond`` was counted has none."""
        return cls(**{k: dict(d.get(k) or {}) for k in cls.KINDS})

    @classmethod
    def from_counts(cls, features, counts: np.ndarray) -> RepairCounts:
        """From a (4, n_features) array of counts, a row per kind of :data:`KINDS`."""
        return cls(**{k: {f: int(c) for f, c in zip(features, row) if c} for k, row in zip(cls.KINDS, counts)})

    def counts(self, features) -> np.ndarray:
        """The (4, n_features) array of :meth:`from_counts`, columns in the order of ``features``."""
        return np.array([[getattr(self, k).get(f, 0) for f in features] for k in self.KINDS], dtype=np.int64)

    @classmethod
    def summed(cls, parts, features) -> RepairCounts:
        """The repairs of several pieces of rows as one, in the order one transform of every row counts them."""
        parts = list(parts)
        if len(parts) == 1:
            return parts[0]
        return cls.from_counts(
            features, sum((r.counts(features) for r in parts), np.zeros((len(cls.KINDS), len(features)), np.int64))
        )

    def summary(self) -> str:
        """One line in plain words, e.g. '412 cells repaired (inf in Rate: 400; NaN in Std: 12)', led by the cells
        beyond the bound where there are any: '3 cells beyond ±1e+15 taken as infinite (IAT: 3), then 415 cells
        repaired (inf in Rate: 400; inf in IAT: 3; NaN in Std: 12)'."""
        if not self.total:
            return "no cells needed repair"
        parts = [f"inf in {c}: {n:,}" for c, n in self.pos_inf.items()]
        parts += [f"-inf in {c}: {n:,}" for c, n in self.neg_inf.items()]
        parts += [f"NaN in {c}: {n:,}" for c, n in self.nan.items()]
        repaired = f"{counted(self.total, 'cell')} repaired ({'; '.join(parts)})"
        if not self.beyond_total:
            return repaired
        where = "; ".join(f"{c}: {n:,}" for c, n in self.beyond.items())
        return (f"{counted(self.beyond_total, 'cell')} beyond {IMPLAUSIBLE_TEXT} taken as infinite ({where}), far "
                f"beyond any real flow's value, then {repaired}")  # fmt: skip


class Preprocessor:
    """Repair, optional log transform, and standardisation, fitted on training rows.

    Parameters
    ----------
    features : sequence of str
        Feature names, in column order.
    log_features : sequence of str, optional
        Features transformed by ``sign(x) * log1p(|x|)`` before scaling.
    scale : bool
        Standardise to mean 0 and variance 1.
    """

    def __init__(self, features, log_features=(), scale: bool = True, quantiles: int = 0):
        self.features = list(features)
        self.log_features = list(log_features)
        self.scale = scale
        self.quantiles = int(quantiles)

    def fit(self, X: np.ndarray) -> Preprocessor:
        """Fit the repair values and scaling on training rows ``X`` (n, n_features)."""
        X = np.asarray(X, dtype=np.float32)
        if X.shape[1] != len(self.features):
            raise ValueError(f"X has {X.shape[1]} columns, expected {len(self.features)}")
        finite = _plausible(X)  # beyond IMPLAUSIBLE, a cell is taken as an inf: not learnt from as a value
        big = np.where(finite, X, -np.inf).max(axis=0)
        small = np.where(finite, X, np.inf).min(axis=0)
        no_finite = ~finite.any(axis=0)
        big[no_finite] = 0.0
        small[no_finite] = 0.0
        med = np.zeros(X.shape[1], dtype=np.float64)
        for j in range(X.shape[1]):
            col = X[finite[:, j], j]
            med[j] = float(np.median(col)) if col.size else 0.0
        self.max_ = big.astype(np.float64)
        self.min_ = small.astype(np.float64)
        self.median_ = med
        self.log_mask_ = np.array([f in set(self.log_features) for f in self.features])
        self.quantile_points_ = None
        if self.quantiles:
            self.quantile_points_ = self._fit_quantiles(X, finite)
        # Mean and variance in float64 over chunks, on repaired and transformed rows.
        total = np.zeros(X.shape[1])
        total_sq = np.zeros(X.shape[1])
        for start in range(0, X.shape[0], _CHUNK):
            part = self._repair_transform(X[start : start + _CHUNK].copy())[0].astype(np.float64)
            total += part.sum(axis=0)
            total_sq += (part**2).sum(axis=0)
        n = max(X.shape[0], 1)
        mean = total / n
        var = np.maximum(total_sq / n - mean**2, 0.0)
        std = np.sqrt(var)
        std[std < 1e-12] = 1.0
        self.mean_ = mean if self.scale else np.zeros_like(mean)
        self.std_ = std if self.scale else np.ones_like(std)
        return self

    def _fit_quantiles(self, X: np.ndarray, finite: np.ndarray) -> list[tuple[list[float], list[float]]]:
        """Per feature, (values, cumulative probabilities) of its training distribution."""
        probs = np.linspace(0.0, 1.0, self.quantiles)
        rng = np.random.default_rng(0)
        rows = rng.choice(len(X), size=min(len(X), 200_000), replace=False) if len(X) > 200_000 else slice(None)
        points = []
        for j in range(X.shape[1]):
            col = X[rows, j][finite[rows, j]].astype(np.float64)
            if col.size == 0:
                points.append(([0.0], [0.5]))
                continue
            q = np.quantile(col, probs)
            # Repeated values (plateaus) get the mean of their probabilities, so xp is strictly increasing.
            values, inverse = np.unique(q, return_inverse=True)
            cum = np.bincount(inverse, weights=probs) / np.bincount(inverse)
            points.append((values.tolist(), cum.tolist()))
        return points

    def _quantile_arrays(self) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """``quantile_points_`` as float64 arrays (None for a constant column), converted once."""
        cached = getattr(self, "_quantile_cache", None)
        if cached is None or cached[0] is not self.quantile_points_:
            arrays = [None if len(v) == 1 else (np.asarray(v, dtype=np.float64), np.asarray(c, dtype=np.float64))
                      for v, c in self.quantile_points_]  # fmt: skip
            cached = self._quantile_cache = (self.quantile_points_, arrays)
        return cached[1]

    def _quantile_transform(self, X: np.ndarray) -> None:
        from scipy.special import ndtri

        for j, points in enumerate(self._quantile_arrays()):
            if points is None:
                X[:, j] = 0.0
                continue
            u = np.interp(X[:, j], *points)
            np.clip(u, 1e-4, 1 - 1e-4, out=u)
            X[:, j] = ndtri(u, out=u)

    def _check_fitted(self):
        if not hasattr(self, "mean_"):
            raise RuntimeError("Preprocessor is not fitted; call fit(X_train) first")

    def _repair_transform(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``X`` repaired and transformed in place (not scaled), and its repairs: (4, n_features) counts, a row per
        kind of :data:`RepairCounts.KINDS`."""
        counts = np.zeros((len(RepairCounts.KINDS), X.shape[1]), dtype=np.int64)
        # The usual case, every cell finite and within the bound, told by two reductions (a NaN fails both) with no
        # mask built.
        if X.size and not (X.min() >= -IMPLAUSIBLE and X.max() <= IMPLAUSIBLE):
            posinf = X > IMPLAUSIBLE  # +inf, and the finite cells beyond the bound: taken as +inf
            neginf = X < -IMPLAUSIBLE
            nan = np.isnan(X)
            counts[0], counts[1], counts[2] = posinf.sum(axis=0), neginf.sum(axis=0), nan.sum(axis=0)
            counts[3] = counts[0] + counts[1] - np.isinf(X).sum(axis=0)  # finite, beyond the bound
            if posinf.any():
                X[posinf] = np.broadcast_to(self.max_.astype(np.float32), X.shape)[posinf]
            if neginf.any():
                X[neginf] = np.broadcast_to(self.min_.astype(np.float32), X.shape)[neginf]
            if nan.any():
                X[nan] = np.broadcast_to(self.median_.astype(np.float32), X.shape)[nan]
        if self.log_mask_.any():
            sub = X[:, self.log_mask_]
            X[:, self.log_mask_] = np.sign(sub) * np.log1p(np.abs(sub))
        if self.quantile_points_ is not None:
            self._quantile_transform(X)
        return X, counts

    def transform(self, X: np.ndarray, *, copy: bool = True) -> tuple[np.ndarray, RepairCounts]:
        """Repair, transform and scale ``X``; return float32 rows and what was repaired.

        With ``copy=False`` the input (float32) is overwritten, saving memory on large data.
        """
        self._check_fitted()
        X = np.array(X, dtype=np.float32, copy=copy) if copy else np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"X has shape {X.shape}, expected (n, {len(self.features)})")
        mean = self.mean_.astype(np.float32)
        std = self.std_.astype(np.float32)
        top, bottom = self._scaled_extremes(mean, std)
        parts: list[np.ndarray] = []
        from .inference import on_threads, worker_count

        workers = worker_count()
        # Equal pieces of at most _TRANSFORM_ROWS, as many as a multiple of the threads, so that the threads finish
        # together (20,051 rows on two threads: two pieces of 10,026, not 16,384 and 3,667 with one thread doing
        # most of the work).
        pieces = workers * -(-X.shape[0] // (_TRANSFORM_ROWS * workers))
        rows = max(1, -(-X.shape[0] // max(pieces, 1)))
        todo = iter(range(0, X.shape[0], rows))  # shared by the threads: ``next`` is atomic

        def work() -> None:
            for start in todo:
                part = X[start : start + rows]
                _, counts = self._repair_transform(part)
                with np.errstate(over="ignore"):  # an overflow is repaired just below
                    part -= mean
                    part /= std
                if not np.isfinite(part).all():  # only after an overflow: the input is repaired
                    over, under = np.isposinf(part), np.isneginf(part)
                    part[over] = np.broadcast_to(top, part.shape)[over]
                    part[under] = np.broadcast_to(bottom, part.shape)[under]
                    counts[0] += over.sum(axis=0)
                    counts[1] += under.sum(axis=0)
                parts.append(counts)  # list.append is atomic too

        on_threads(work, min(workers, -(-X.shape[0] // rows)))
        counts = np.sum(parts, axis=0) if parts else np.zeros((len(RepairCounts.KINDS), X.shape[1]), dtype=np.int64)
        return X, RepairCounts.from_counts(self.features, counts)

    def _scaled_extremes(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What a ``+inf`` and a ``-inf`` cell of each column come out as (float32 rows, the same operations)."""
        ext = np.array([self.max_, self.min_], dtype=np.float32)
        ext = self._repair_transform(ext)[0]
        with np.errstate(over="ignore"):
            ext -= mean
            ext /= std
        big = np.finfo(np.float32).max
        np.clip(ext, -big, big, out=ext)  # training rows that overflowed themselves
        return ext[0], ext[1]

    def to_dict(self) -> dict:
        """JSON-serialisable parameters (stored in the model's metadata.json)."""
        self._check_fitted()
        return {
            "features": self.features,
            "log_features": self.log_features,
            "scale": self.scale,
            "quantiles": self.quantiles,
            "quantile_points": self.quantile_points_,
            "repair_rule": "+inf -> training max, -inf -> training min, NaN -> training median",
            "max": self.max_.tolist(),
            "min": self.min_.tolist(),
            "median": self.median_.tolist(),
            "mean": self.mean_.tolist(),
            "std": self.std_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output."""
        self = cls(d["features"], d.get("log_features", ()), d.get("scale", True), d.get("quantiles", 0))
        self.quantile_points_ = d.get("quantile_points")
        self.max_ = np.array(d["max"], dtype=np.float64)
        self.min_ = np.array(d["min"], dtype=np.float64)
        self.median_ = np.array(d["median"], dtype=np.float64)
        self.mean_ = np.array(d["mean"], dtype=np.float64)
        self.std_ = np.array(d["std"], dtype=np.float64)
        self.log_mask_ = np.array([f in set(self.log_features) for f in self.features])
        for name in ("max_", "min_", "median_", "mean_", "std_"):
            if getattr(self, name).shape != (len(self.features),):
                raise ValueError(
                    f"{name.rstrip('_')} holds {getattr(self, name).size} values for {len(self.features)} features"
                )
        return self
