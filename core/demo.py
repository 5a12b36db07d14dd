"""Synthetic CICIoMT2024-like data for demos, tests and benchmarks. NOT real traffic.

Rows are drawn, class by class, from the statistics in ``core/demo_stats.json`` (written by
``python -m core.demo_calibrate`` from the shared real samples; its docstring explains the
calibration): a Gaussian copula over each class's free features with per-class marginals, then
the identities the real rows obey (fractions on the ``1 / Number`` lattice, flag counts from
flag fractions, a protocol mix summing to 1, ``Protocol Type`` the most frequent protocol,
``Tot sum = AVG * Number``, ``Variance = Std ** 2``, ``Rate = r / IAT`` with ``inf`` where
``IAT <= 0``...). Classes that overlap in the real data (DoS vs DDoS of one protocol,
Recon-OS_Scan vs Recon-Port_Scan) overlap here too, so a model trained on demo data is scored
in a believable range rather than perfectly.

Everything is vectorised with NumPy; files are written in chunks with ``pyarrow.csv`` so memory
stays bounded whatever the number of rows. Output is deterministic for a given seed (and does
not depend on the chunk size).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from scipy.special import ndtr

from .schema import FEATURES_V2, LAYOUTS, Layout
from .taxonomy import CLASSES_19, class_from_filename

STATS_PATH = Path(__file__).with_name("demo_stats.json")
OFFICIAL_FILES_PATH = Path(__file__).with_name("official_files.tsv")

#: Rows generated per random block: the output does not depend on how blocks are grouped for writing.
BLOCK_ROWS = 8192
#: What ``write_demo_dataset`` writes beside ``train/`` and ``test/``: its manifest, and the mark of a demo folder.
MANIFEST_NAME = "demo-manifest.json"
#: Default number of rows per write (memory stays around this many rows times the column count).
CHUNK_ROWS = 200_000

#: v2 protocol-mix columns in protocol-number order (ties of the mode go to the first).
_MIX = ("ARP", "ICMP", "IGMP", "TCP", "UDP")
_MIX_CODES = np.array([0.0, 1.0, 2.0, 6.0, 17.0])
#: Application-protocol indicators and the transport they ride on.
_OVER_TCP = ("HTTP", "HTTPS", "Telnet", "SMTP", "SSH", "IRC")
_OVER_UDP = ("DNS", "DHCP")
_FLAG_COUNTS = (
    ("ack_flag_number", "ack_count"),
    ("syn_flag_number", "syn_count"),
    ("fin_flag_number", "fin_count"),
    ("rst_flag_number", "rst_count"),
)
_FLAG_COLS = tuple(f for f in FEATURES_V2 if f.endswith("_flag_number"))
#: v2 window means: multiples of 1 / Number.
_WINDOW_MEANS = ("Header_Length", "Time_To_Live")


def _as_layout(layout: Layout | str) -> Layout:
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[str(layout).lower()]
    except KeyError:
        raise ValueError(f"layout must be one of {sorted(LAYOUTS)}, got {layout!r}") from None


def _check_label(label: str) -> str:
    if label not in CLASSES_19:
        raise ValueError(f"unknown class {label!r}; expected one of {CLASSES_19}")
    return label


@lru_cache(maxsize=4)
def load_stats(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Load the calibration statistics (``core/demo_stats.json`` by default).

    Raises
    ------
    FileNotFoundError
        If the file is missing; the message says how to write it.
    """
    p = Path(path) if path is not None else STATS_PATH
    if not p.is_file():
        raise FileNotFoundError(f"demo statistics {p} not found; write them with `python -m core.demo_calibrate`")
    stats = json.loads(p.read_text())
    if stats.get("schema") != "ciciomt2024-demo-stats/1":
        raise ValueError(f"{p}: unsupported demo statistics schema {stats.get('schema')!r}")
    return stats


# --------------------------------------------------------------------------------------------
# Marginals and the copula


def _lattice(values: np.ndarray) -> float | None:
    """The coarsest step in 1, 0.1, 0.01, 0.001 that every value sits on, or None."""
    for step in (1.0, 0.1, 0.01, 0.001):
        k = values / step
        if np.all(np.abs(k - np.round(k)) <= 1e-6 * np.maximum(1.0, np.abs(k))):
            return step
    return None


class _Marginal:
    """Inverse CDF of one stored marginal (constant, discrete or quantile function)."""

    def __init__(self, spec: Mapping[str, Any], levels: np.ndarray):
        self.levels = levels
        self.step: float | None = None
        if "c" in spec:
            self.kind = "c"
            self.value = float(spec["c"])
        elif "v" in spec:
            self.kind = "v"
            self.values = np.asarray(spec["v"], dtype=float)
            cum = np.cumsum(np.asarray(spec["p"], dtype=float))
            self.cum = cum / cum[-1]
            self.step = _lattice(self.values)
        else:
            self.kind = "q"
            self.q = np.asarray(spec["q"], dtype=float)
            self.step = spec.get("s")

    @property
    def maximum(self) -> float:
        if self.kind == "c":
            return self.value
        return float(self.values[-1] if self.kind == "v" else self.q[-1])

    def mean(self) -> float:
        if self.kind == "c":
            return self.value
        if self.kind == "v":
            return float(np.dot(self.values, np.diff(self.cum, prepend=0.0)))
        return float(np.trapezoid(self.q, self.levels))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "c":
            return np.full(u.shape, self.value)
        if self.kind == "v":
            idx = np.searchsorted(self.cum, u, side="right")
            return self.values[np.minimum(idx, self.values.size - 1)]
        x = np.interp(u, self.levels, self.q)
        if self.step:
            x = np.round(x / self.step) * self.step
        return x


def _quantile_fn(q: list, levels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    qa = np.asarray(q, dtype=float)
    return lambda u: np.interp(u, levels, qa)


def _cholesky(features: list[str], upper: list[float]) -> np.ndarray:
    k = len(features)
    r = np.eye(k)
    if k > 1:
        iu = np.triu_indices(k, k=1)
        r[iu] = upper
        r[(iu[1], iu[0])] = upper
    try:
        return np.linalg.cholesky(r)
    except np.linalg.LinAlgError:  # rounding to 3 decimals can break definiteness: repair
        w, v = np.linalg.eigh(r)
        r = (v * np.maximum(w, 1e-4)) @ v.T
        d = np.sqrt(np.diag(r))
        return np.linalg.cholesky(r / np.outer(d, d))


@dataclass
class _ClassModel:
    """One class's copula model in one layout's statistics."""

    marginals: dict[str, _Marginal]
    copula_features: list[str]
    chol: np.ndarray
    extra: dict[str, Any]

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Draw ``n`` rows: free features from the copula, the rest from their own marginals."""
        cols: dict[str, np.ndarray] = {}
        k = len(self.copula_features)
        if k:
            z = rng.standard_normal((n, k)) @ self.chol.T
            u = ndtr(z)
            for j, f in enumerate(self.copula_features):
                cols[f] = self.marginals[f].ppf(u[:, j])
        for f, m in self.marginals.items():
            if f not in cols:
                cols[f] = m.ppf(np.full(n, 0.5)) if m.kind == "c" else m.ppf(rng.random(n))
        return cols


@lru_cache(maxsize=64)
def _class_model(layout_name: str, label: str) -> _ClassModel | None:
    stats = load_stats()
    levels = np.asarray(stats["levels"], dtype=float)
    spec = stats[layout_name]["classes"].get(label)
    if spec is None:
        return None
    marginals = {f: _Marginal(m, levels) for f, m in spec["marginals"].items()}
    cop = spec["copula"]
    return _ClassModel(marginals, list(cop["features"]), _cholesky(cop["features"], cop["corr"]), spec.get("rate", {}))


# --------------------------------------------------------------------------------------------
# Rules shared by both layouts


def _apportion(fracs: np.ndarray, total: np.ndarray, dominant: int) -> np.ndarray:
    """Integer counts per row summing to ``total``, proportional to ``fracs`` (largest remainder).

    Rows whose fractions are all zero go entirely to column ``dominant``.
    """
    f = np.clip(fracs, 0.0, None)
    s = f.sum(axis=1)
    empty = s <= 0
    f[empty, dominant] = 1.0
    s[empty] = 1.0
    exact = f / s[:, None] * total[:, None]
    counts = np.floor(exact)
    short = (total - counts.sum(axis=1)).astype(np.int64)
    order = np.argsort(-(exact - counts), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(f.shape[1])[None, :].repeat(f.shape[0], 0), axis=1)
    counts += rank < short[:, None]
    return counts


def _protocol_mix(cols: dict[str, np.ndarray], model: _ClassModel, denom: np.ndarray) -> np.ndarray:
    """Make TCP+UDP+ICMP+ARP+IGMP sum to 1 on the ``1/denom`` lattice; return the counts."""
    dominant = int(np.argmax([model.marginals[c].mean() for c in _MIX]))
    counts = _apportion(np.column_stack([cols[c] for c in _MIX]), denom, dominant)
    for j, c in enumerate(_MIX):
        cols[c] = counts[:, j] / denom
    cols["IPv"] = 1.0 - cols["ARP"]
    cols["LLC"] = cols["IPv"]
    return counts


def _sizes(cols: dict[str, np.ndarray], number: np.ndarray) -> np.ndarray:
    """Min <= AVG <= Max, and Std = 0 exactly when Min = Max; return the zero-spread mask."""
    zero = (cols["Std"] <= 0) | (number <= 1)
    lo = np.minimum(cols["Min"], cols["Max"])
    hi = np.maximum(cols["Min"], cols["Max"])
    hi = np.where(zero, lo, np.where(hi <= lo, lo + 1.0, hi))
    cols["Min"], cols["Max"] = lo, hi
    cols["AVG"] = np.where(zero, lo, np.clip(cols["AVG"], lo, hi))
    cols["Std"] = np.where(zero, 0.0, cols["Std"])
    return zero


# --------------------------------------------------------------------------------------------
# v2


def _v2_rows(label: str, n: int, rng: np.random.Generator, warts: bool) -> dict[str, np.ndarray]:
    model = _class_model("v2", label)
    cols = model.sample(n, rng)
    number = np.maximum(np.round(cols["Number"]), 1.0)
    cols["Number"] = number
    counts = _protocol_mix(cols, model, number)
    cols["Protocol Type"] = _MIX_CODES[np.argmax(counts, axis=1)]
    tcp, udp = cols["TCP"], cols["UDP"]
    for c in _OVER_TCP + _FLAG_COLS:
        cols[c] = np.minimum(np.round(cols[c] * number) / number, tcp)
    for c in _OVER_UDP:
        cols[c] = np.minimum(np.round(cols[c] * number) / number, udp)
    for flag, count in _FLAG_COUNTS:
        cols[count] = np.round(cols[flag] * number)
    for c in _WINDOW_MEANS:
        cols[c] = np.round(cols[c] * number) / number
    cols["Min"], cols["Max"] = np.round(cols["Min"]), np.round(cols["Max"])
    zero = _sizes(cols, number)
    # A window holds at least one packet of size Min and one of size Max: that bounds AVG
    # and Std (sample standard deviation) given Min, Max and Number.
    lo, hi = cols["Min"], cols["Max"]
    span = hi - lo
    tot = np.round(cols["AVG"] * number)
    tot = np.clip(tot, hi + lo * (number - 1.0), lo + hi * (number - 1.0))
    cols["Tot sum"] = tot
    cols["AVG"] = tot / number
    cols["Tot size"] = cols["AVG"]
    std_min = span / np.sqrt(2.0 * np.maximum(number - 1.0, 1.0))
    std_max = span * 0.5 * np.sqrt(number / np.maximum(number - 1.0, 1.0))
    std = np.where(zero, 0.0, np.clip(cols["Std"], std_min, std_max))
    if warts:
        std = np.where(number <= 1, np.nan, std)
    cols["Std"] = std
    cols["Variance"] = std**2
    # Rate = r / IAT, inf where the window has no duration.
    rate = model.extra
    ratio = _quantile_fn(rate["ratio_q"], model.marginals["Rate"].levels)(rng.random(n))
    iat = cols["IAT"]
    extra_inf = rng.random(n) < float(rate.get("inf_extra", 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(iat > 0, ratio / np.where(iat > 0, iat, 1.0), np.inf)
    r[extra_inf] = np.inf
    # Tiny interpolated IATs would give absurd rates: keep finite rates in the class's range.
    rate_law = model.marginals["Rate"]
    if rate_law.kind == "q":
        finite = np.isfinite(r)
        r[finite] = np.clip(r[finite], rate_law.q[0], rate_law.q[-1])
    if not warts:
        r[~np.isfinite(r)] = model.marginals["Rate"].maximum
    cols["Rate"] = r
    return cols


# --------------------------------------------------------------------------------------------
# v1


def _weight_from_number(number: np.ndarray, table: Mapping[str, list]) -> np.ndarray:
    return np.interp(number, np.asarray(table["number"], float), np.asarray(table["weight"], float))


def _v1_rows(label: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    stats = load_stats()["v1"]
    model = _class_model("v1", label)
    if model is None:
        return _v1_fallback_rows(label, n, rng)
    cols = model.sample(n, rng)
    steps = [model.marginals[c].step for c in _MIX if model.marginals[c].kind != "c" and model.marginals[c].step]
    denom = np.full(n, float(np.clip(round(1.0 / min(steps)), 10, 1000)) if steps else 100.0)
    _protocol_mix(cols, model, denom)
    zero = _sizes(cols, np.full(n, 2.0))
    for c in ("Radius", "Covariance", "Variance"):
        cols[c] = np.where(zero, 0.0, cols[c])
    cols["Srate"] = cols["Rate"]
    cols["Drate"] = np.zeros(n)
    cols["Weight"] = _weight_from_number(cols["Number"], stats["fallback"]["weight_table"])
    return cols


class _PooledMap:
    """Monotone map x1 = Q1(F2(x2)) between the pooled v2 and v1 distributions of one column."""

    def __init__(self, spec: Mapping[str, list], levels: np.ndarray):
        q2 = np.asarray(spec["v2"], dtype=float)
        self.q1 = np.asarray(spec["v1"], dtype=float)
        self.levels = levels
        # F2 at a value shared by several knots (an atom) is the middle of its level range.
        self.x, first = np.unique(q2, return_index=True)
        last = q2.size - 1 - np.unique(q2[::-1], return_index=True)[1]
        self.lo, self.hi = levels[first], levels[last]
        self.p = 0.5 * (self.lo + self.hi)
        self.top = q2[-1]

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = np.where(np.isposinf(x), self.top, x)
        # Randomised probability integral transform: a value inside an atom of F2 gets a level
        # drawn uniformly in the atom's range, so the pooled v1 law is reproduced, atoms included.
        i = np.clip(np.searchsorted(self.x, x), 0, self.x.size - 1)
        inside = self.x[i] == x
        p = np.interp(x, self.x, self.p)
        p = np.where(inside, self.lo[i] + (self.hi[i] - self.lo[i]) * rng.random(x.shape), p)
        return np.interp(p, self.levels, self.q1)


@lru_cache(maxsize=1)
def _v1_fallback() -> tuple[dict[str, _PooledMap], dict[str, Callable], Callable, dict]:
    stats = load_stats()
    fb = stats["v1"]["fallback"]
    levels = np.asarray(stats["levels"], dtype=float)
    map_levels = np.linspace(0.005, 0.995, len(next(iter(fb["maps"].values()))["v2"]))
    maps = {f: _PooledMap(spec, map_levels) for f, spec in fb["maps"].items()}
    ratios = {f: _quantile_fn(q, levels) for f, q in fb["ratios"].items()}
    return maps, ratios, _quantile_fn(fb["variance_where_std_pos"], levels), fb["weight_table"]


def _v1_fallback_rows(label: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """v1 rows of a class absent from the v1 sample: v2 model, then the documented fallback."""
    maps, ratios, variance_q, table = _v1_fallback()
    src = _v2_rows(label, n, rng, warts=False)
    cols = dict(src)
    cols["Duration"] = src["Time_To_Live"]
    for f, m in maps.items():
        cols[f] = m(src[f], rng)
    cols["Number"] = np.round(cols["Number"] * 2.0) / 2.0
    avg, std, number = src["AVG"], src["Std"], cols["Number"]
    pos = std > 0

    def k(f: str) -> np.ndarray:
        return ratios[f](rng.random(n))

    cols["Tot sum"] = avg * number * k("Tot sum")
    cols["Tot size"] = avg * k("Tot size")
    cols["Magnitue"] = np.sqrt(2.0 * avg) * k("Magnitue")
    cols["Radius"] = np.where(pos, np.sqrt(2.0) * std * k("Radius"), 0.0)
    cols["Covariance"] = np.where(pos, std**2 * k("Covariance"), 0.0)
    cols["Variance"] = np.where(pos, np.round(variance_q(rng.random(n)), 2), 0.0)
    cols["Srate"] = cols["Rate"]
    cols["Drate"] = np.zeros(n)
    cols["Weight"] = _weight_from_number(number, table)
    return cols


# --------------------------------------------------------------------------------------------
# Public API


def generate_class_rows(
    label: str, n: int, layout: Layout | str, rng: np.random.Generator, *, warts: bool = True
) -> np.ndarray:
    """Draw ``n`` synthetic rows of one class.

    Parameters
    ----------
    label : str
        A 19-class label (``core.taxonomy.CLASSES_19``).
    n : int
        Number of rows (0 gives an empty array).
    layout : Layout or {"v1", "v2"}
        Column layout; columns come in ``layout.features`` order.
    rng : numpy.random.Generator
        Source of randomness (same state, same rows).
    warts : bool, default True
        v2 only: keep the real files' warts, ``inf`` in ``Rate`` (where ``IAT <= 0`` and at the
        class's observed extra rate) and empty ``Std``/``Variance`` where ``Number = 1``.
        With False, ``inf`` becomes the class's largest finite ``Rate`` and ``NaN`` becomes 0.

    Returns
    -------
    ndarray of shape (n, layout.n_features), dtype float32
    """
    lay = _as_layout(layout)
    _check_label(label)
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return np.empty((0, lay.n_features), dtype=np.float32)
    cols = _v2_rows(label, n, rng, warts) if lay.name == "v2" else _v1_rows(label, n, rng)
    out = np.empty((n, lay.n_features), dtype=np.float32, order="F")
    for j, f in enumerate(lay.features):
        out[:, j] = cols[f]
    return out


def _key_hash(key: str) -> int:
    return zlib.crc32(key.encode())


def _blocks(label: str, n: int, layout: Layout, seed: int, key: str, warts: bool) -> Iterator[np.ndarray]:
    """Rows of one file in blocks of BLOCK_ROWS, each block from its own seeded generator."""
    for b, start in enumerate(range(0, n, BLOCK_ROWS)):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _key_hash(key), b]))
        yield generate_class_rows(label, min(BLOCK_ROWS, n - start), layout, rng, warts=warts)


def _rechunk(blocks: Iterator[np.ndarray], chunk_rows: int) -> Iterator[np.ndarray]:
    """Regroup blocks into pieces of exactly ``chunk_rows`` rows (the last may be shorter)."""
    buf: list[np.ndarray] = []
    have = 0
    for block in blocks:
        buf.append(block)
        have += block.shape[0]
        while have >= chunk_rows:
            joined = np.concatenate(buf) if len(buf) > 1 else buf[0]
            yield joined[:chunk_rows]
            rest = joined[chunk_rows:]
            buf, have = ([rest] if rest.shape[0] else []), rest.shape[0]
    if have:
        yield np.concatenate(buf) if len(buf) > 1 else buf[0]


def _table(X: np.ndarray, names: tuple[str, ...], labels: np.ndarray | None = None) -> pa.Table:
    X = np.asfortranarray(X, dtype=np.float32)
    arrays = []
    for j in range(X.shape[1]):
        col = X[:, j]
        nan = np.isnan(col)
        arrays.append(pa.array(col, mask=nan) if nan.any() else pa.array(col))
    fields = list(names)
    if labels is not None:
        arrays.append(pa.array(labels.astype(str), type=pa.string()))
        fields.append("label")
    return pa.Table.from_arrays(arrays, names=fields)


class _CsvSink:
    """A CSV file written in chunks: our own header line, then pyarrow-formatted rows."""

    def __init__(self, path: Path, header: list[str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = pa.OSFile(os.fsencode(path), "wb")
        self._stream.write((",".join(header) + "\n").encode())
        self._writer: pacsv.CSVWriter | None = None
        self._options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=8192)

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self._stream, table.schema, write_options=self._options)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._stream.close()

    def __enter__(self) -> _CsvSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _BackgroundWriter:
    """Runs CSV formatting and writing on one worker thread while the caller draws the next
    chunk (pyarrow releases the GIL), so two cores are used; at most one chunk waits."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-csv")
        self._pending: Future | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self.wait()
        self._pending = self._pool.submit(fn, *args)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)


@lru_cache(maxsize=1)
def official_files() -> tuple[tuple[str, str, str, int], ...]:
    """The 72 official files: ``(split, file name, label, rows)`` in the listed order."""
    rows = []
    for line in OFFICIAL_FILES_PATH.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        path, count = line.split("\t")
        split, name = path.split("/")
        label = class_from_filename(name)
        if label is None:
            raise ValueError(f"{OFFICIAL_FILES_PATH}: {name!r} is not an official file name")
        rows.append((split, name, label, int(count)))
    return tuple(rows)


def default_rows_per_class(scale: float = 1.0) -> dict[str, tuple[int, int]]:
    """Demo sizes: ``(train, test)`` rows per class, imbalanced like the real data but capped.

    Train rows are ``4 * sqrt(official train rows)`` clipped to [400, 5000] (DDoS-UDP 5000,
    Benign about 1,750, Recon-Ping_Sweep 400), test rows a quarter of that (at least 100),
    both multiplied by ``scale``.
    """
    official: dict[str, int] = {}
    for split, _name, label, count in official_files():
        if split == "train":
            official[label] = official.get(label, 0) + count
    out = {}
    for label in CLASSES_19:
        train = float(np.clip(round(4.0 * np.sqrt(official[label])), 400, 5000))
        test = max(100.0, round(train / 4.0))
        out[label] = (max(1, round(train * scale)), max(1, round(test * scale)))
    return out


def plan_files(
    rows_per_class: Mapping[str, int | tuple[int, int]] | int | str | None = None, scale: float = 1.0
) -> list[tuple[str, str, str, int]]:
    """The files ``write_demo_dataset`` would write: ``(split, file name, label, rows)``.

    Parameters
    ----------
    rows_per_class : None, int, dict or "official"
        None: :func:`default_rows_per_class`. int: that many train rows per class and a quarter
        of it in test. dict: label -> train rows, or label -> ``(train, test)``; classes left out
        are not written. ``"official"``: the 72 official files with their official row counts
        (8,775,013 rows), numbered DoS/DDoS parts included.
    scale : float
        Multiplies every row count (at least one row per file in the None and "official" modes).
    """
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    if isinstance(rows_per_class, str):
        if rows_per_class != "official":
            raise ValueError(f'rows_per_class must be None, an int, a dict or "official", got {rows_per_class!r}')
        return [(s, name, lab, max(1, round(c * scale))) for s, name, lab, c in official_files()]
    if rows_per_class is None:
        counts = default_rows_per_class(scale)
    elif isinstance(rows_per_class, (int, np.integer)):
        n = int(rows_per_class)
        counts = {c: (round(n * scale), round(n / 4 * scale)) for c in CLASSES_19}
    else:
        counts = {}
        for label, value in rows_per_class.items():
            _check_label(label)
            train, test = value if isinstance(value, (tuple, list)) else (value, round(value / 4))
            counts[label] = (round(train * scale), round(test * scale))
    first_name: dict[tuple[str, str], str] = {}
    for split, name, label, _count in official_files():
        first_name.setdefault((split, label), name)
    plan = []
    for split_idx, split in enumerate(("train", "test")):
        for label in CLASSES_19:
            if label in counts and counts[label][split_idx] > 0:
                plan.append((split, first_name[(split, label)], label, int(counts[label][split_idx])))
    return plan


def write_demo_dataset(
    out_dir: str | os.PathLike,
    layout: Layout | str = "v2",
    rows_per_class: Mapping[str, int | tuple[int, int]] | int | str | None = None,
    seed: int = 0,
    scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
    *,
    warts: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Write a synthetic dataset in the official layout: ``out_dir/{train,test}/<official name>``.

    Parameters
    ----------
    out_dir : path
        Destination; ``train/`` and ``test/`` are created. Existing files of the same names are
        overwritten, others are left alone (``python -m core demo-data`` first removes them, and refuses a folder
        of other data). The returned manifest is also written to ``out_dir/demo-manifest.json``.
    layout : Layout or {"v2", "v1"}, default "v2"
        Header and columns: exactly ``layout.features``, comma separated, no index, no label.
    rows_per_class : None, int, dict or "official"
        See :func:`plan_files`. Default: a few MB, imbalanced like the real data.
    seed : int
        Same seed, same bytes (independently of ``chunk_rows``).
    scale : float
        Multiplies every row count: ``rows_per_class="official", scale=1`` writes 8.8 M rows.
    progress : callable(done_rows, total_rows), optional
        Called after each chunk written.
    warts : bool, default True
        v2: ``inf`` in ``Rate`` and the odd empty cell, as in the real files (ignored for v1,
        whose real files have none).
    chunk_rows : int
        Rows per write; memory use is bounded by about this many rows.

    Returns
    -------
    dict
        ``{"layout", "seed", "warts", "out_dir", "files": {relative path: rows},
        "labels": {relative path: label}, "rows": {"train": n, "test": n}, "total_rows": n,
        "synthetic": True}``.
    """
    lay = _as_layout(layout)
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    plan = plan_files(rows_per_class, scale)
    out = Path(out_dir)
    total = sum(p[3] for p in plan)
    done = 0
    manifest: dict[str, Any] = {
        "layout": lay.name, "seed": int(seed), "warts": bool(warts and lay.name == "v2"),
        "out_dir": str(out), "files": {}, "labels": {}, "rows": {"train": 0, "test": 0},
        "total_rows": total, "synthetic": True,
    }  # fmt: skip
    writer = _BackgroundWriter()
    try:
        for split, name, label, n in plan:
            rel = f"{split}/{name}"
            sink = _CsvSink(out / split / name, list(lay.features))
            for chunk in _rechunk(_blocks(label, n, lay, seed, f"{lay.name}/{rel}", warts), chunk_rows):
                writer.submit(sink.write, _table(chunk, lay.features))
                done += chunk.shape[0]
                if progress is not None:
                    progress(done, total)
            writer.submit(sink.close)
            manifest["files"][rel] = n
            manifest["labels"][rel] = label
            manifest["rows"][split] += n
    finally:
        writer.close()
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
    return manifest


def demo_files(folder: str | os.PathLike) -> set[str]:
    """The files (``train/X.csv``...) :func:`write_demo_dataset` wrote in ``folder``, from its manifest (none when
    there is no readable manifest)."""
    try:
        return set(json.loads((Path(folder) / MANIFEST_NAME).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _capture_segments(rows_per_class: Mapping[str, int]) -> list[tuple[str, int]]:
    """Benign split around each attack burst: benign, attack A, benign, attack B, ..., benign."""
    attacks = [(c, int(n)) for c, n in rows_per_class.items() if c != "Benign" and int(n) > 0]
    benign = int(rows_per_class.get("Benign", 0))
    if not attacks:
        return [("Benign", benign)] if benign > 0 else []
    cuts = np.linspace(0, benign, len(attacks) + 2).round().astype(int)
    pieces = np.diff(cuts)
    segments: list[tuple[str, int]] = []
    for i, (label, n) in enumerate(attacks):
        if pieces[i] > 0:
            segments.append(("Benign", int(pieces[i])))
        segments.append((label, n))
    if pieces[-1] > 0:
        segments.append(("Benign", int(pieces[-1])))
    return segments


def write_demo_csv(
    path: str | os.PathLike,
    layout: Layout | str = "v2",
    rows_per_class: Mapping[str, int] | None = None,
    seed: int = 0,
    with_label_column: bool = False,
    *,
    warts: bool = True,
) -> np.ndarray:
    """Write one mixed CSV, like a capture in which attacks start and stop.

    Rows come in contiguous blocks: benign traffic, an attack burst, benign again, the next
    attack... (classes in the order given; benign rows are spread between the bursts).

    Parameters
    ----------
    path : path
        The CSV to write (parent folders are created).
    layout : Layout or {"v2", "v1"}
    rows_per_class : dict, optional
        label -> rows. Default: 1,000 Benign and 100 of each of the 18 attacks.
    seed : int
    with_label_column : bool
        Append a ``label`` column holding the 19-class label.
    warts : bool, default True
        See :func:`generate_class_rows`.

    Returns
    -------
    ndarray of str, shape (n_rows,)
        The true 19-class label of each row, in file order.
    """
    lay = _as_layout(layout)
    if rows_per_class is None:
        rows_per_class = {c: (1000 if c == "Benign" else 100) for c in CLASSES_19}
    for label in rows_per_class:
        _check_label(label)
    segments = _capture_segments(rows_per_class)
    width = max(len(c) for c in CLASSES_19)
    labels = np.repeat(np.array([lab for lab, _n in segments], dtype=f"<U{width}"), [n for _lab, n in segments])
    with _CsvSink(Path(path), list(lay.features) + (["label"] if with_label_column else [])) as sink:
        for i, (label, n) in enumerate(segments):
            for block in _blocks(label, n, lay, seed, f"{lay.name}/mixed/{i}/{label}", warts):
                sink.write(_table(block, lay.features, np.repeat(label, block.shape[0]) if with_label_column else None))
    return labels
