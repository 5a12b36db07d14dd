"""Calibrate the demo-data generator on the real CICIoMT2024 samples: statistics only, never rows.

Run ``python -m core.demo_calibrate`` from the project root. It reads the shared real samples
(``../shared/data/ciciomt2024-v2-sample`` and ``../shared/data/ciciomt2024-v1-sample``, train and
test files together, class from the file name) and writes ``core/demo_stats.json``, which
:mod:`core.demo` turns into synthetic rows. The file holds summary statistics only: no row of the
real data is stored, and it is small (a few hundred kB) and deterministic (same input, same bytes).

Calibration method
------------------
Each class is modelled by a **Gaussian copula**: a marginal distribution per feature plus one
correlation matrix of normal scores, so that features stay jointly plausible (SYN floods carry
SYN flags, ICMP floods have ``ICMP = 1`` and ``Header_Length = 0``, and so on).

*Marginals* (per class, per feature; ``inf`` and ``NaN`` excluded), in one of three forms:

- ``{"c": v}``: a constant;
- ``{"v": [...], "p": [...]}``: a discrete distribution, when the class shows at most
  :data:`MAX_DISCRETE` distinct values (protocol indicators, ``Number``, ``Protocol Type``...);
- ``{"q": [...], "s": step}``: the quantile function at the :data:`N_LEVELS` probability levels
  stored once under ``"levels"`` (cosine-spaced: dense in both tails), values rounded to 6
  significant digits; ``s`` is the lattice the values live on (``1`` for byte counts, ``0.01``...)
  or ``null`` for continuous features.

*Copula*: the Pearson correlation of the normal scores ``Phi^-1(midrank / (n + 1))`` of the
class's *free* features (those not derived by a rule, see below, and not constant in the class),
projected onto the positive-definite matrices (eigenvalues floored at 1e-3) and rounded to 3
decimals. Stored as the upper triangle, row by row.

*Rules* instead of statistics, where the real data obey an identity (each was checked on the
v2 sample and holds in 100 % of its rows unless a percentage is given):

- v2: ``x_count = round(x_flag_number * Number)`` for ack, syn, fin, rst; every fraction column
  (flags, protocol indicators) and every window mean (``Header_Length``, ``Time_To_Live``,
  ``AVG``) is a multiple of ``1 / Number``; ``TCP + UDP + ICMP + ARP + IGMP = 1`` (>99.9 %);
  ``IPv = 1 - ARP``; ``LLC = IPv``; ``Protocol Type`` is the window's most frequent protocol,
  ties to the smaller number (99.9 %); ``Tot sum = AVG * Number``; ``Tot size = AVG``;
  ``Variance = Std ** 2``; ``Std = 0`` exactly when ``Min = Max``; ``Min <= AVG <= Max``;
  ``Rate = r / IAT`` with ``r >= 1`` drawn from the class's quantiles of ``Rate * IAT``
  (median 1.00), and ``Rate = inf`` where ``IAT <= 0`` (92 % of the ``inf`` cells; the other
  ``inf`` cells are drawn at the class's rate ``rate.inf_extra``); ``Std`` and ``Variance`` are
  empty (``NaN``) where ``Number = 1``.
- v1 (45 features), for the 8 classes in the v1 sample: their own copula over all 45 features,
  with ``Srate = Rate``, ``Drate = 0``, ``IPv = 1 - ARP``, ``LLC = IPv``,
  ``TCP + UDP + ICMP + ARP + IGMP = 1``, ``Std = 0`` exactly when ``Min = Max`` and then
  ``Radius = Covariance = Variance = 0``, ``Weight`` from ``Number`` by the fitted table below.
  (v1 columns of the same name often mean something else than in v2: ``IAT`` there is a
  recording-specific value near 8.5e7 or 1.7e8, ``Variance`` a ratio in [0, 1], ``Number``
  about 5.5, 9.5 or 13.5, ``Header_Length`` cumulative.)
- v1, for the 11 classes absent from the v1 sample (Benign, DoS/DDoS, MQTT-DDoS-Connect_Flood,
  Recon-Port_Scan): a documented **fallback**. Rows are drawn from the class's v2 model;
  columns of the same meaning are copied (``Duration`` from ``Time_To_Live``, which holds the TTL
  in both releases; flags; protocol indicators; ``Protocol Type``; ``Min``; ``Max``; ``AVG``;
  ``Std``); columns whose scale differs between releases are carried over by a monotone
  **pooled quantile map** ``x1 = Q1(F2(x2))`` fitted on the 8 classes present in both samples
  (equal weight per class; ``inf`` counted as the largest value); and the v1-only columns follow
  relations fitted on the pooled v1 sample: ``Magnitue = sqrt(2 * AVG) * k``,
  ``Radius = sqrt(2) * Std * k``, ``Covariance = Std ** 2 * k``, ``Tot sum = AVG * Number * k``,
  ``Tot size = AVG * k`` with each ``k`` drawn from its fitted quantiles, ``Variance`` (a ratio
  in v1) from its pooled quantiles where ``Std > 0`` and 0 elsewhere, ``Weight`` from ``Number``
  by linear interpolation in the table of the median ``Weight`` at each frequent ``Number``,
  ``Srate = Rate`` and ``Drate = 0``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri
from scipy.stats import rankdata

from .schema import V1, V2, Layout
from .taxonomy import CLASSES_19, class_from_filename
from .words import noun_for

logger = logging.getLogger(__name__)

#: Where the shared real samples live, relative to the project root.
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
#: Where the statistics are written (next to this module).
DEFAULT_OUT = Path(__file__).with_name("demo_stats.json")

SCHEMA = "ciciomt2024-demo-stats/1"
#: Number of probability levels of each stored quantile function.
N_LEVELS = 33
#: A feature with at most this many distinct values in a class is stored as a discrete law.
MAX_DISCRETE = 16
#: Levels of the pooled v2 -> v1 quantile maps (the 0.5 % tails are clipped away).
MAP_LEVELS = np.linspace(0.005, 0.995, 45)

#: v2 features derived by rules (see the module docstring), so outside the copula.
V2_DERIVED: tuple[str, ...] = (
    "Protocol Type", "Rate", "ack_count", "syn_count", "fin_count", "rst_count",
    "IPv", "LLC", "Tot sum", "Tot size", "Variance",
)  # fmt: skip
#: v1 features derived by rules, so outside the copula.
V1_DERIVED: tuple[str, ...] = ("Srate", "Drate", "IPv", "LLC", "Weight")
#: Columns whose v1 scale differs from v2; carried v2 -> v1 by pooled quantile maps (fallback).
V1_MAPPED: tuple[str, ...] = (
    "Header_Length", "Rate", "ack_count", "syn_count", "fin_count", "rst_count", "IAT", "Number",
)  # fmt: skip

_STEPS = (1.0, 0.5, 0.1, 0.05, 0.01, 0.005, 0.001)


def quantile_levels(n: int = N_LEVELS) -> np.ndarray:
    """Cosine-spaced probability levels in [0, 1], dense near both tails.

    Returns
    -------
    ndarray of shape (n,)
    """
    t = np.linspace(0.0, 1.0, n)
    return np.round(0.5 * (1.0 - np.cos(np.pi * t)), 6)


def _sig(x: float, digits: int = 6) -> float | int:
    """Round to ``digits`` significant digits; integral values become ints (shorter JSON)."""
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return 0 if x == 0.0 else x
    r = float(f"{x:.{digits}g}")
    return int(r) if r.is_integer() and abs(r) < 1e15 else r


def _sig_list(values, digits: int = 6) -> list:
    return [_sig(v, digits) for v in np.asarray(values, dtype=float)]


def detect_step(x: np.ndarray) -> float | None:
    """Return the coarsest lattice step that 99.5 % of ``x`` sit on, or None if continuous."""
    if x.size == 0:
        return None
    for step in _STEPS:
        k = x / step
        on = np.abs(k - np.round(k)) <= 1e-6 * np.maximum(1.0, np.abs(k))
        if on.mean() >= 0.995:
            return step
    return None


def fit_marginal(x: np.ndarray, levels: np.ndarray) -> dict[str, Any]:
    """Summarise the finite values ``x`` of one feature in one class.

    Returns
    -------
    dict
        ``{"c": v}``, ``{"v": values, "p": probabilities}`` or ``{"q": quantiles, "s": step}``.
    """
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"c": 0}
    values, counts = np.unique(x, return_counts=True)
    if values.size == 1:
        return {"c": _sig(values[0])}
    if values.size <= MAX_DISCRETE:
        return {"v": _sig_list(values), "p": [round(float(c) / x.size, 6) for c in counts]}
    q = np.quantile(x, levels)
    return {"q": _sig_list(q), "s": detect_step(x)}


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Normal scores ``Phi^-1(midrank / (n + 1))`` of one column (ties share their mid-rank)."""
    return ndtri(rankdata(x, method="average") / (x.size + 1.0))


def nearest_correlation(r: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """Project a symmetric matrix onto the correlation matrices with eigenvalues >= ``floor``."""
    r = 0.5 * (r + r.T)
    w, v = np.linalg.eigh(r)
    r = (v * np.maximum(w, floor)) @ v.T
    d = np.sqrt(np.diag(r))
    r = r / np.outer(d, d)
    np.fill_diagonal(r, 1.0)
    return r


def fit_copula(X: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Correlation of normal scores of the non-constant columns of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_rows, len(names))
        Finite values (non-finite cells must be repaired by the caller).
    names : list of str

    Returns
    -------
    dict
        ``{"features": [...], "corr": upper triangle, row by row, 3 decimals}``.
    """
    keep = [j for j in range(X.shape[1]) if np.unique(X[:, j]).size > 1]
    if len(keep) < 2 or X.shape[0] < 3:
        return {"features": [names[j] for j in keep], "corr": []}
    Z = np.column_stack([normal_scores(X[:, j]) for j in keep])
    r = nearest_correlation(np.corrcoef(Z, rowvar=False))
    iu = np.triu_indices(len(keep), k=1)
    corr = [0.0 if v == 0 else v for v in np.round(r[iu], 3).tolist()]
    return {"features": [names[j] for j in keep], "corr": corr}


def load_sample(root: Path, layout: Layout) -> dict[str, np.ndarray]:
    """Read every CSV of a sample folder (``train/`` and ``test/``), grouped by class.

    Returns
    -------
    dict
        label -> float64 array of shape (n_rows, layout.n_features), in layout order.
    """
    parts: dict[str, list[np.ndarray]] = {}
    files = sorted(root.glob("train/*.csv")) + sorted(root.glob("test/*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files under {root}/train or {root}/test")
    for path in files:
        label = class_from_filename(path.name)
        if label is None:
            logger.warning("skipping %s: not an official file name", path.name)
            continue
        frame = pd.read_csv(path, dtype="float64")
        frame.columns = [c.strip() for c in frame.columns]
        missing = [c for c in layout.features if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: missing {noun_for(len(missing), 'column')} {missing} for layout {layout.name}")
        parts.setdefault(label, []).append(frame[list(layout.features)].to_numpy())
    return {c: np.vstack(parts[c]) for c in CLASSES_19 if c in parts}


def _free_features(layout: Layout) -> list[str]:
    derived = V2_DERIVED if layout.name == "v2" else V1_DERIVED
    return [f for f in layout.features if f not in derived]


def fit_class(X: np.ndarray, layout: Layout, levels: np.ndarray) -> dict[str, Any]:
    """Marginals, copula and (v2) Rate model of one class.

    Parameters
    ----------
    X : ndarray of shape (n_rows, layout.n_features)
        The class's real rows, ``inf``/``NaN`` included.
    """
    col = {f: j for j, f in enumerate(layout.features)}
    out: dict[str, Any] = {"rows": int(X.shape[0])}
    out["marginals"] = {f: fit_marginal(X[:, col[f]], levels) for f in layout.features}
    free = [f for f in _free_features(layout)]
    F = X[:, [col[f] for f in free]].copy()
    # The odd NaN (Std where Number = 1) and any inf are set to the column's finite median
    # before ranking, so that they do not drive the correlations.
    for j in range(F.shape[1]):
        bad = ~np.isfinite(F[:, j])
        if bad.any():
            F[bad, j] = np.median(F[~bad, j]) if (~bad).any() else 0.0
    out["copula"] = fit_copula(F, free)
    if layout.name == "v2":
        rate, iat = X[:, col["Rate"]], X[:, col["IAT"]]
        ok = np.isfinite(rate) & (iat > 0)
        ratio = rate[ok] * iat[ok]
        out["rate"] = {
            "inf_frac": round(float(np.isinf(rate).mean()), 6),
            "inf_extra": round(float((np.isinf(rate) & (iat > 0)).mean()), 6),
            "ratio_q": _sig_list(np.quantile(ratio, levels)) if ratio.size else [1.0] * levels.size,
        }
    return out


def _pooled_quantiles(columns: list[np.ndarray], levels: np.ndarray) -> np.ndarray:
    """Quantiles of the equal-weight mixture of several classes' values."""
    vals = np.concatenate(columns)
    w = np.concatenate([np.full(c.size, 1.0 / c.size) for c in columns])
    order = np.argsort(vals, kind="stable")
    vals, w = vals[order], w[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(levels, cum, vals)


def _finite_for_map(x: np.ndarray) -> np.ndarray:
    """``inf`` becomes 10 x the largest finite value (the top of the map); NaN dropped."""
    x = x[~np.isnan(x)]
    fin = x[np.isfinite(x)]
    top = 10.0 * fin.max() if fin.size else 1.0
    return np.where(np.isposinf(x), top, x)


def fit_v1_fallback(v1: dict[str, np.ndarray], v2: dict[str, np.ndarray], levels: np.ndarray) -> dict[str, Any]:
    """Fit the v2 -> v1 maps and the v1-only relations used for classes absent from the v1 sample."""
    c1 = {f: j for j, f in enumerate(V1.features)}
    c2 = {f: j for j, f in enumerate(V2.features)}
    shared = [c for c in v1 if c in v2]
    maps = {}
    for f in V1_MAPPED:
        q2 = _pooled_quantiles([_finite_for_map(v2[c][:, c2[f]]) for c in shared], MAP_LEVELS)
        q1 = _pooled_quantiles([_finite_for_map(v1[c][:, c1[f]]) for c in shared], MAP_LEVELS)
        maps[f] = {"v2": _sig_list(q2), "v1": _sig_list(q1)}
    P = np.vstack([v1[c] for c in v1])
    avg, std, number = P[:, c1["AVG"]], P[:, c1["Std"]], P[:, c1["Number"]]
    pos = std > 0

    def ratio_q(num: np.ndarray, den: np.ndarray, mask: np.ndarray) -> list:
        return _sig_list(np.quantile(num[mask] / den[mask], levels))

    ratios = {
        "Magnitue": ratio_q(P[:, c1["Magnitue"]], np.sqrt(2.0 * avg), avg > 0),
        "Radius": ratio_q(P[:, c1["Radius"]], np.sqrt(2.0) * std, pos),
        "Covariance": ratio_q(P[:, c1["Covariance"]], std**2, pos),
        "Tot sum": ratio_q(P[:, c1["Tot sum"]], avg * number, avg * number > 0),
        "Tot size": ratio_q(P[:, c1["Tot size"]], avg, avg > 0),
    }
    return {
        "shared_classes": shared,
        "maps": maps,
        "ratios": ratios,
        "variance_where_std_pos": _sig_list(np.quantile(P[pos, c1["Variance"]], levels)),
        "weight_table": weight_table(P[:, c1["Number"]], P[:, c1["Weight"]]),
    }


def weight_table(number: np.ndarray, weight: np.ndarray, min_rows: int = 50) -> dict[str, list]:
    """Median v1 ``Weight`` at each ``Number`` value seen in at least ``min_rows`` rows."""
    values, counts = np.unique(number, return_counts=True)
    frequent = values[counts >= min_rows]
    return {
        "number": _sig_list(frequent),
        "weight": _sig_list([np.median(weight[number == v]) for v in frequent]),
    }


def calibrate(data_root: Path = DEFAULT_DATA_ROOT) -> dict[str, Any]:
    """Compute the statistics of both samples.

    Parameters
    ----------
    data_root : Path
        Folder holding ``ciciomt2024-v2-sample/`` and ``ciciomt2024-v1-sample/``.

    Returns
    -------
    dict
        The JSON-ready statistics (see the module docstring).
    """
    levels = quantile_levels()
    v2 = load_sample(data_root / "ciciomt2024-v2-sample", V2)
    v1 = load_sample(data_root / "ciciomt2024-v1-sample", V1)
    missing = [c for c in CLASSES_19 if c not in v2]
    if missing:
        raise ValueError(f"the v2 sample lacks class(es) {missing}; every class is needed")
    return {
        "schema": SCHEMA,
        "generated_by": "python -m core.demo_calibrate",
        "note": "Per-class summary statistics of real CICIoMT2024 samples (no rows); see core/demo_calibrate.py.",
        "levels": levels.tolist(),
        "v2": {
            "source": {"sample": "ciciomt2024-v2-sample", "rows": int(sum(x.shape[0] for x in v2.values()))},
            "classes": {c: fit_class(v2[c], V2, levels) for c in CLASSES_19},
        },
        "v1": {
            "source": {"sample": "ciciomt2024-v1-sample", "rows": int(sum(x.shape[0] for x in v1.values()))},
            "classes": {c: fit_class(v1[c], V1, levels) for c in v1},
            "fallback": fit_v1_fallback(v1, v2, levels),
        },
    }


def dumps(obj: Any, indent: int = 0) -> str:
    """JSON with nested objects indented and lists of scalars kept on one line (diff-friendly)."""
    pad = " " * indent
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad} {json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        return "[\n" + ",\n".join(f"{pad} {dumps(v, indent + 1)}" for v in obj) + "\n" + pad + "]"
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def main(argv: list[str] | None = None) -> int:
    """Write ``core/demo_stats.json`` from the shared samples."""
    parser = argparse.ArgumentParser(prog="python -m core.demo_calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT, help="folder with the two sample folders")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the statistics")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stats = calibrate(args.data_root)
    text = dumps(stats) + "\n"
    args.out.write_text(text)
    logger.info("wrote %s (%.0f kB)", args.out, len(text) / 1024)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
