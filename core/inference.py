"""Fast inference for our Keras networks without TensorFlow: the forward pass in numpy, float32.

At save time the network's weights are exported next to ``model.keras`` as ``inference.npz``:
the arrays plus a small JSON graph of operations (1-D convolution with batch normalisation
folded in, max pooling, global max pooling, flatten, reshape to (length, channels), dense,
ReLU clipped at 1 (the piecewise-linear encoding of :mod:`core.ple`), concatenation along the
last axis, averaging of an ensemble, softmax). Loading it needs numpy only, so scoring never
imports TensorFlow (about 2.5 s) and runs at BLAS speed:

- a convolution over the one-channel input is a few matrix products with a small banded
  matrix (four output positions each); a convolution over channels is one product per output
  position over its contiguous window of inputs (no copy of the windows);
- bias and activation are applied after max pooling (exact: both are monotone), so only the
  pooled values pay for them;
- rows are scored in chunks small enough to stay in cache, by one worker thread per core
  (each taking the next free chunk), each with single-threaded BLAS (which measured faster
  here than one multi-threaded BLAS call on small matrices).

The export is checked against Keras on random rows before it is written; a network this
module cannot express is simply not exported, and such models keep scoring through Keras.
:meth:`NumpyNetwork.input_gradient` gives the network's gradient, for explanations (integrated
gradients, :mod:`core.explain`), without TensorFlow either.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXPORT_FILE = "inference.npz"
SPEC_VERSION = 1
#: Bytes of intermediate arrays per chunk of rows (all of a chunk's, per thread): chunks hold
#: ``CHUNK_BYTES / (bytes per row)`` rows, rounded to a power of two, so that they stay in the CPU's cache
#: whatever the network's size (:meth:`NumpyNetwork.chunk_rows`).
CHUNK_BYTES = 8 << 20
#: Rows per chunk at least and at most.
CHUNK_ROWS_RANGE = (64, 2048)
#: Output positions per product in a convolution over the one-channel input (measured best of 4-18).
BAND_POSITIONS = 4
#: Largest difference in probability tolerated between this engine and Keras at export.
EXPORT_TOLERANCE = 1e-4


class UnsupportedNetwork(ValueError):
    """The network has a layer or setting this engine does not implement."""


def worker_count() -> int:
    """Threads used for a forward pass: the CPUs this process may run on (``IOMT_THREADS`` overrides)."""
    if os.environ.get("IOMT_THREADS", "").strip():
        from .limits import env_int  # a bad value is one error naming the variable, not a bare ValueError

        return env_int("IOMT_THREADS", 1, unset="one thread per CPU")
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def on_threads(work, threads: int) -> None:
    """Run ``work()`` on ``threads`` threads at once, the calling thread one of them; re-raise an error of any.

    ``work`` is meant to pull items from one shared iterator (``for item in todo``: ``next`` is atomic under
    the GIL), so the threads share the items dynamically and finish together.
    """
    if threads <= 1:
        work()
        return
    with ThreadPoolExecutor(max_workers=threads - 1) as pool:
        running = [pool.submit(work) for _ in range(threads - 1)]
        work()
        for f in running:
            f.result()


# ---------------------------------------------------------------- the engine


class NumpyNetwork:
    """A feed-forward network evaluated in numpy.

    Parameters
    ----------
    graph : dict
        Nested operations; each has ``"op"`` and its input(s) under ``"in"`` (``"input"`` for the rows).
    arrays : dict of str to ndarray
        Weights referred to by name from ``graph``.
    """

    def __init__(self, graph: dict, arrays: dict[str, np.ndarray], source: str | None = None):
        self.graph = graph
        self.source = source  # SHA-256 of the model.keras it was exported from
        self.arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
        self._bands: dict[tuple, np.ndarray] = {}
        self._chunk_rows: dict[int, int] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike) -> None:
        """Write the graph and weights to one ``.npz`` file (atomically: temporary file, then rename)."""
        path = Path(path)
        buf = io.BytesIO()
        spec = json.dumps({"version": SPEC_VERSION, "source_sha256": self.source, "graph": self.graph})
        np.savez(buf, __spec__=np.frombuffer(spec.encode(), dtype=np.uint8), **self.arrays)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(buf.getvalue())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> NumpyNetwork:
        """Read a file written by :meth:`save` (plain arrays only; no pickles are loaded)."""
        with np.load(path, allow_pickle=False) as data:
            spec = json.loads(bytes(data["__spec__"]).decode())
            if spec.get("version") != SPEC_VERSION:
                raise UnsupportedNetwork(f"{path}: inference export version {spec.get('version')!r}")
            arrays = {k: data[k] for k in data.files if k != "__spec__"}
        return cls(spec["graph"], arrays, spec.get("source_sha256"))

    # -------------------------------------------------------- forward pass

    def predict_proba(self, X: np.ndarray, *, chunk_rows: int | None = None, workers: int | None = None) -> np.ndarray:
        """Outputs of the network for rows ``X`` (n, n_features), float32, in chunks on worker threads.

        ``chunk_rows``: rows per chunk (default: :meth:`chunk_rows`, sized to the network)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"X has shape {X.shape}, expected (n_rows, n_features)")
        n = len(X)
        if n == 0:
            return np.empty((0, self.n_outputs), dtype=np.float32)
        chunk_rows = chunk_rows or self.chunk_rows(X.shape[1])
        workers = workers or worker_count()
        starts = list(range(0, n, chunk_rows))
        out = np.empty((n, self.n_outputs), dtype=np.float32)

        # Each thread takes the next chunk not yet taken (``next`` on one shared iterator: atomic under the GIL),
        # so a thread slowed by other work in the process (the CSV reader of ``predict``) holds no one up; the
        # calling thread works too. Each thread keeps its intermediate arrays for all the chunks it scores.
        todo = iter(starts)

        def run() -> None:
            workspace: dict = {}
            for s in todo:
                out[s : s + chunk_rows] = self._forward(X[s : s + chunk_rows], workspace)

        with single_threaded_blas():
            on_threads(run, min(workers, len(starts)))
        return out

    def chunk_rows(self, n_features: int) -> int:
        """Rows per chunk for this network: its intermediate arrays for one row (measured once, by scoring a
        row of zeros) into :data:`CHUNK_BYTES`, as a power of two within :data:`CHUNK_ROWS_RANGE`.

        Measured (one and two threads, 200,000 rows, best of 7): our cnn (31 KB of arrays per row) 7.5 / 4.2 s
        per million rows in chunks of 256 against 8.6 / 4.5 in chunks of 512; the paper's network (14 KB) the
        same in 256 and 512 (4.1 / 2.1) and slower below.
        """
        rows = self._chunk_rows.get(n_features)
        if rows is None:
            ws: dict = {}
            self._forward(np.zeros((1, n_features), dtype=np.float32), ws)
            per_row = n_features * 4 + sum(a.nbytes for a in ws.values())
            lo, hi = CHUNK_ROWS_RANGE
            rows = int(min(max(2 ** round(np.log2(CHUNK_BYTES / per_row)), lo), hi))
            self._chunk_rows[n_features] = rows
        return rows

    @property
    def n_outputs(self) -> int:
        node = self.graph
        while node["op"] in ("average",):
            node = node["in"][0]
        if node["op"] in ("dense",):
            return int(self.arrays[node["w"]].shape[1])
        raise UnsupportedNetwork("the network does not end in a dense layer")

    def _forward(self, X: np.ndarray, workspace: dict | None = None) -> np.ndarray:
        """The network's outputs for the rows ``X`` (a copy: the workspace's arrays are reused)."""
        return self._eval(self.graph, X, {}, {} if workspace is None else workspace).copy()

    def _eval(self, node: dict | str, X: np.ndarray, memo: dict, ws: dict) -> np.ndarray:
        if node == "input":
            return X
        key = id(node)
        if key in memo:
            return memo[key]
        op = node["op"]
        n = len(X)
        if op == "dense":
            x = self._eval(node["in"], X, memo, ws)
            w = self.arrays[node["w"]]
            out = np.matmul(x, w, out=_scratch(ws, (key, "out"), (n, w.shape[1])))
            out += self.arrays[node["b"]]
            out = _activate(out, node["act"])
        elif op == "conv1d":
            out = self._conv(node, self._eval(node["in"], X, memo, ws), None, ws)
            out += self.arrays[node["b"]]
            out = _activate(out, node["act"])
        elif op in ("maxpool", "globalmax"):
            src = node["in"]
            # Pool before bias and activation (exact for a monotone activation): less work.
            fused = isinstance(src, dict) and src["op"] == "conv1d" and src["act"] in _MONOTONE
            x = self._eval(src["in"], X, memo, ws) if fused else self._eval(src, X, memo, ws)
            if op == "maxpool":
                size = int(node["size"])
                length = _conv_length(src, x) if fused else x.shape[1]
                keep = (length // size) * size
                x = self._conv(src, x, keep, ws) if fused else x[:, :keep]
                out = _max_over(x, size, _scratch(ws, (key, "out"), (n, keep // size, x.shape[2])))
            else:  # one window over every position: written through an (n, 1, C) view of the (n, C) result
                x = self._conv(src, x, None, ws) if fused else x
                out = _scratch(ws, (key, "out"), (n, x.shape[2]))
                _max_over(x, x.shape[1], out[:, None])
            if fused:
                out += self.arrays[src["b"]]
                out = _activate(out, src["act"])
        elif op == "to_sequence":
            x = self._eval(node["in"], X, memo, ws)
            out = x.reshape(len(x), x.shape[1], 1)
        elif op == "reshape":  # (n, L * C) -> (n, L, C)
            x = self._eval(node["in"], X, memo, ws)
            out = x.reshape(len(x), *node["shape"])
        elif op == "flatten":
            x = self._eval(node["in"], X, memo, ws)
            out = x.reshape(len(x), -1)
        elif op == "concat":
            parts = [self._eval(i, X, memo, ws) for i in node["in"]]
            shape = (*parts[0].shape[:-1], sum(p.shape[-1] for p in parts))
            out = np.concatenate(parts, axis=-1, out=_scratch(ws, (key, "out"), shape))
        elif op == "average":
            parts = [self._eval(i, X, memo, ws) for i in node["in"]]
            out = _scratch(ws, (key, "out"), parts[0].shape)
            out[...] = parts[0]
            for p in parts[1:]:
                out += p
            out /= np.float32(len(parts))
        else:  # pragma: no cover - the exporter only writes the operations above
            raise UnsupportedNetwork(f"unknown operation {op!r}")
        memo[key] = out
        return out

    def _conv(self, node: dict, x: np.ndarray, keep: int | None, ws: dict) -> np.ndarray:
        """Convolution without bias or activation; output positions ``[0, keep)`` only."""
        w = self.arrays[node["w"]]  # (k, c_in, c_out)
        k, c_in, c_out = w.shape
        pad = (k - 1) // 2 if node["padding"] == "same" else 0
        length = _conv_length(node, x)
        keep = length if keep is None else keep
        n = len(x)
        if pad:
            # Reused between chunks: only the inside is written, so the zero borders stay zero.
            padded = _scratch(ws, (id(node), "padded"), (n, x.shape[1] + k - 1, c_in), zeros=True)
            padded[:, pad : pad + x.shape[1]] = x.reshape(n, x.shape[1], c_in)
            x = padded
        flat = np.ascontiguousarray(x).reshape(n, -1)
        out = _scratch(ws, (id(node), "conv"), (n, keep, c_out))
        if c_in == 1:
            # BAND_POSITIONS output positions at a time, each block one product with a small banded matrix
            # over its BAND_POSITIONS + k - 1 inputs: 2.6x less work than one banded matrix over all inputs.
            wide = out.reshape(n, keep * c_out)
            for s in range(0, keep, BAND_POSITIONS):
                b = min(BAND_POSITIONS, keep - s)
                np.matmul(flat[:, s : s + b + k - 1], self._band(node, b), out=wide[:, s * c_out : (s + b) * c_out])
            return out
        # Output position p is one product over the contiguous window of k * c_in inputs starting at p:
        # no windows copied out first (im2col), 10-15% less time per row measured on the paper's network.
        # All positions in one call: a strided view (positions, rows, window) whose every (rows, window) slice
        # is a plain BLAS matrix, written through the matching view of ``out``; numpy then loops over the
        # positions in C. Against one call per position (one thread, 256 rows, per 100,000 rows): 0.069 vs
        # 0.085 s for 39 positions x 9 -> 32 channels, 0.211 vs 0.224 s for 39 x 32 -> 32.
        w2 = w.reshape(k * c_in, c_out)
        windows = np.lib.stride_tricks.as_strided(flat, shape=(keep, n, k * c_in),
                                                  strides=(c_in * flat.itemsize, flat.strides[0], flat.itemsize),
                                                  writeable=False)  # fmt: skip
        np.matmul(windows, w2, out=out.transpose(1, 0, 2))
        return out

    # -------------------------------------------------------- gradient (explanations)

    def input_gradient(self, X: np.ndarray, target: int, *, chunk_rows: int = 256) -> np.ndarray:
        """The gradient of output ``target`` with respect to the inputs, for each row of ``X`` (n, n_features):
        (n, n_features), float64. What integrated gradients (:mod:`core.explain`) need, without TensorFlow: the
        dashboard's server explained a network's flow through ``tf.GradientTape``, which imported TensorFlow there
        (seconds, and hundreds of MB kept). A plain forward pass in float64 keeps each operation's output, then the
        gradient flows back through them: the max of a window to its first largest input and ReLU's slope 0 at 0,
        as TensorFlow's. ``chunk_rows`` rows at a time."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X has shape {X.shape}, expected (n_rows, n_features)")
        out = np.empty(X.shape, dtype=np.float64)
        for s in range(0, len(X), chunk_rows):
            out[s : s + chunk_rows] = self._gradient(X[s : s + chunk_rows], int(target))
        return out

    def _gradient(self, X: np.ndarray, target: int) -> np.ndarray:
        outs: dict = {}  # id(node) -> the operation's output (float64)
        kept: dict = {}  # id(node) -> what its backward step needs (pre-activation, argmax, input shape)
        order: list = []  # the operations in the order evaluated: each after its inputs

        def forward(node):
            if node == "input":
                return X
            key = id(node)
            if key in outs:
                return outs[key]
            op = node["op"]
            if op in ("dense", "conv1d"):
                x = forward(node["in"])
                z = x @ self._w64(node["w"]) if op == "dense" else _conv64(node, x, self._w64(node["w"]))
                z += self._w64(node["b"])
                kept[key] = (z, x.shape)
                out = _activate64(z, node["act"])
            elif op == "maxpool":
                x = forward(node["in"])
                size = int(node["size"])
                n, length, c = x.shape
                windows = x[:, : (length // size) * size].reshape(n, length // size, size, c)
                arg = windows.argmax(axis=2)[:, :, None, :]
                kept[key] = (arg, x.shape)
                out = np.take_along_axis(windows, arg, axis=2)[:, :, 0, :]
            elif op == "globalmax":
                x = forward(node["in"])
                arg = x.argmax(axis=1)[:, None, :]
                kept[key] = (arg, x.shape)
                out = np.take_along_axis(x, arg, axis=1)[:, 0, :]
            elif op in ("to_sequence", "reshape", "flatten"):
                x = forward(node["in"])
                kept[key] = x.shape
                shape = {"to_sequence": (x.shape[1], 1), "reshape": tuple(node.get("shape", ())), "flatten": (-1,)}
                out = x.reshape(len(x), *shape[op])
            elif op == "concat":
                parts = [forward(i) for i in node["in"]]
                kept[key] = [p.shape[-1] for p in parts]
                out = np.concatenate(parts, axis=-1)
            elif op == "average":
                out = sum(forward(i) for i in node["in"]) / len(node["in"])
            else:  # pragma: no cover - the exporter only writes the operations above
                raise UnsupportedNetwork(f"unknown operation {op!r}")
            outs[key] = out
            order.append(node)
            return out

        final = forward(self.graph)
        if not 0 <= target < final.shape[1]:
            raise ValueError(f"target {target} is not one of the network's {final.shape[1]} outputs")
        grads: dict = {id(self.graph): np.zeros_like(final)}
        grads[id(self.graph)][:, target] = 1.0

        def send(node, g):
            key = "input" if node == "input" else id(node)
            grads[key] = grads[key] + g if key in grads else g

        for node in reversed(order):
            key = id(node)
            g = grads.pop(key, None)
            if g is None:  # no path from this operation to the output
                continue
            op = node["op"]
            if op in ("dense", "conv1d"):
                z, in_shape = kept[key]
                gz = _activation_gradient(g, z, outs[key], node["act"])
                w = self._w64(node["w"])
                send(node["in"], gz @ w.T if op == "dense" else _conv64_back(node, gz, w, in_shape))
            elif op == "maxpool":
                arg, in_shape = kept[key]
                n, length, c = in_shape
                size = int(node["size"])
                windows = np.zeros((n, length // size, size, c))
                np.put_along_axis(windows, arg, g[:, :, None, :], axis=2)
                gx = np.zeros(in_shape)
                gx[:, : (length // size) * size] = windows.reshape(n, -1, c)
                send(node["in"], gx)
            elif op == "globalmax":
                arg, in_shape = kept[key]
                gx = np.zeros(in_shape)
                np.put_along_axis(gx, arg, g[:, None, :], axis=1)
                send(node["in"], gx)
            elif op in ("to_sequence", "reshape", "flatten"):
                send(node["in"], g.reshape(kept[key]))
            elif op == "concat":
                for part, piece in zip(node["in"], np.split(g, np.cumsum(kept[key])[:-1], axis=-1), strict=True):
                    send(part, piece)
            elif op == "average":
                for part in node["in"]:
                    send(part, g / len(node["in"]))
        return grads.get("input", np.zeros_like(X))

    def _w64(self, name: str) -> np.ndarray:
        return self.arrays[name].astype(np.float64)

    def _band(self, node: dict, positions: int) -> np.ndarray:
        """The banded matrix of a one-channel convolution over ``positions + k - 1`` inputs: (that, positions * c_out)."""
        key = (node["w"], positions)
        t = self._bands.get(key)
        if t is None:
            w = self.arrays[node["w"]][:, 0, :]  # (k, c_out)
            k, c_out = w.shape
            t = np.zeros((positions + k - 1, positions, c_out), dtype=np.float32)
            for pos in range(positions):
                t[pos : pos + k, pos] = w
            t = t.reshape(positions + k - 1, positions * c_out)
            with self._lock:
                self._bands[key] = t
        return t


_MONOTONE = ("relu", "relu1", "linear")


def _scratch(ws: dict, key, shape: tuple, *, zeros: bool = False) -> np.ndarray:
    """A float32 array of ``shape`` from the workspace ``ws``, kept for the next chunk under ``key``.

    A chunk's intermediate arrays are megabytes each: allocated afresh for every chunk, the C library maps
    and unmaps them each time, and the page faults that follow cost more than the arithmetic (16.8 s for
    the improved CNN's forward pass over 1 M rows, 11 s of it in the kernel; 10-12 s with the arrays kept).
    Chunks are at most as long as the first, so a smaller one uses the first rows of the kept array.
    """
    buf = ws.get(key)
    if buf is None or buf.shape[1:] != tuple(shape[1:]) or len(buf) < shape[0]:
        buf = ws[key] = (np.zeros if zeros else np.empty)(shape, dtype=np.float32)
    return buf[: shape[0]]


def _max_over(x: np.ndarray, step: int, out: np.ndarray) -> np.ndarray:
    """Max pooling along axis 1 of (n, L, C) into ``out`` (n, L // step, C): windows of ``step`` (L a multiple);
    ``step`` L pools all of L (global max pooling), ``step`` 1 copies ``x`` (a window of one position).

    Element-wise maxima of strided views: several times faster than ``reshape(...).max(axis)``.
    """
    views = [x[:, i::step] for i in range(step)]
    if len(views) == 1:
        out[...] = views[0]
        return out
    np.maximum(views[0], views[1], out=out)
    for v in views[2:]:
        np.maximum(out, v, out=out)
    return out


_ROWS: dict[tuple[float, int], np.ndarray] = {}


def _constant_row(value: float, size: int) -> np.ndarray:
    """A float32 row of ``size`` copies of ``value``, kept. ``np.maximum(x, row)`` broadcasts it over ``x``:
    1.8x faster than ``np.maximum(x, 0)`` with a Python scalar (0.021 against 0.038 s per 100,000 rows of
    39 x 32 values, measured), the same result."""
    row = _ROWS.get((value, size))
    if row is None:
        row = _ROWS[(value, size)] = np.full(size, value, dtype=np.float32)
        row.flags.writeable = False
    return row


def _activate64(z: np.ndarray, act: str) -> np.ndarray:
    """An activation of :meth:`NumpyNetwork.input_gradient`'s float64 forward pass (a new array)."""
    if act == "linear":
        return z.copy()
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "relu1":
        return np.clip(z, 0.0, 1.0)
    if act == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise UnsupportedNetwork(f"activation {act!r}")  # pragma: no cover


def _activation_gradient(g: np.ndarray, z: np.ndarray, out: np.ndarray, act: str) -> np.ndarray:
    """The gradient before an activation from the one after it (``z`` before, ``out`` after)."""
    if act == "linear":
        return g
    if act == "relu":
        return g * (z > 0)
    if act == "relu1":  # Keras clips ReLU's output at 1 (tf.clip_by_value): the slope is kept at 1 itself
        return g * ((z > 0) & (z <= 1))
    if act == "softmax":
        return out * (g - (g * out).sum(axis=-1, keepdims=True))
    raise UnsupportedNetwork(f"activation {act!r}")  # pragma: no cover


def _conv64(node: dict, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """A 1-D convolution without bias, plainly, in float64: (n, L, c_in) -> (n, L_out, c_out)."""
    k = w.shape[0]
    x = x.reshape(len(x), x.shape[1], w.shape[1])  # the rows themselves: (n, L) is (n, L, 1)
    length = _conv_length(node, x)
    pad = (k - 1) // 2 if node["padding"] == "same" else 0
    padded = np.zeros((len(x), length + k - 1, x.shape[2]))
    padded[:, pad : pad + x.shape[1]] = x
    return sum(padded[:, j : j + length] @ w[j] for j in range(k))


def _conv64_back(node: dict, gz: np.ndarray, w: np.ndarray, in_shape: tuple) -> np.ndarray:
    """The gradient of :func:`_conv64`'s input from its output's ``gz`` (n, L_out, c_out)."""
    k, length = w.shape[0], gz.shape[1]
    pad = (k - 1) // 2 if node["padding"] == "same" else 0
    padded = np.zeros((gz.shape[0], length + k - 1, w.shape[1]))
    for j in range(k):
        padded[:, j : j + length] += gz @ w[j].T
    return padded[:, pad : pad + in_shape[1]].reshape(in_shape)


def _conv_length(node: dict, x: np.ndarray) -> int:
    k = int(node["kernel"])
    return x.shape[1] if node["padding"] == "same" else x.shape[1] - k + 1


def _activate(x: np.ndarray, act: str) -> np.ndarray:
    if act == "linear":
        return x
    if act == "relu":
        return np.maximum(x, _constant_row(0.0, x.shape[-1]), out=x)
    if act == "relu1":  # ReLU(max_value=1): clip to [0, 1]
        np.maximum(x, _constant_row(0.0, x.shape[-1]), out=x)
        return np.minimum(x, _constant_row(1.0, x.shape[-1]), out=x)
    if act == "softmax":
        x -= x.max(axis=-1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        return x
    raise UnsupportedNetwork(f"activation {act!r}")  # pragma: no cover


class single_threaded_blas:
    """Limit BLAS to one thread while our own worker threads split the rows (threadpoolctl when present), or while
    logistic regression fits (``core.models``: its solver's small matrix products on BLAS threads were slower).

    The limit is process-wide, and scorings overlap (two dashboard sessions, Dask threads): the first to enter
    sets it and the last to leave restores the original. Each restoring its own view instead left BLAS on one
    thread for good once two overlapped (the second saved the first's limit of 1 as "original"), and put it
    back to every core while the other was still scoring.
    """

    _lock = threading.Lock()
    _active = 0
    _limits = None

    def __enter__(self):
        cls = type(self)
        with cls._lock:
            if cls._active == 0:
                try:
                    from threadpoolctl import threadpool_limits
                except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
                    cls._limits = None
                else:
                    cls._limits = threadpool_limits(limits=1, user_api="blas")
            cls._active += 1
        return self

    def __exit__(self, *exc):
        cls = type(self)
        with cls._lock:
            cls._active -= 1
            if cls._active == 0 and cls._limits is not None:
                cls._limits.restore_original_limits()
                cls._limits = None


# ---------------------------------------------------------------- export from Keras


def export_keras(model) -> NumpyNetwork:
    """Translate a built ``keras.Model`` into a :class:`NumpyNetwork` (raises :class:`UnsupportedNetwork`)."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedNetwork("only single-input, single-output networks are supported")
    arrays: dict[str, np.ndarray] = {}
    graph = _trace(model.outputs[0], {id(model.inputs[0]): "input"}, arrays)
    return NumpyNetwork(graph, arrays)


def _add(arrays: dict, value) -> str:
    name = f"a{len(arrays)}"
    arrays[name] = np.asarray(value, dtype=np.float32)
    return name


def _trace(tensor, inputs: dict, arrays: dict):
    """Build the operation graph that computes ``tensor`` from the model's input."""
    if id(tensor) in inputs:
        return inputs[id(tensor)]
    layer, node_index, _ = tensor._keras_history
    node = layer._inbound_nodes[node_index]
    srcs = list(node.input_tensors)
    kind = type(layer).__name__
    if kind == "InputLayer":
        raise UnsupportedNetwork("a second input layer")

    def one():
        if len(srcs) != 1:
            raise UnsupportedNetwork(f"{layer.name}: expected one input")
        return _trace(srcs[0], inputs, arrays)

    if kind in ("Functional", "Sequential", "Model"):  # a network used as a layer (ensemble members)
        if len(layer.inputs) != 1 or len(layer.outputs) != 1:
            raise UnsupportedNetwork(f"{layer.name}: nested network with several inputs or outputs")
        return _trace(layer.outputs[0], {**inputs, id(layer.inputs[0]): one()}, arrays)
    if kind == "Dropout":
        return one()
    if kind == "Dense":
        w, *b = layer.get_weights()
        bias = b[0] if b else np.zeros(w.shape[1], dtype=np.float32)
        return {"op": "dense", "in": one(), "w": _add(arrays, w), "b": _add(arrays, bias), "act": _act(layer)}
    if kind == "Conv1D":
        if layer.data_format != "channels_last" or tuple(layer.strides) != (1,) or tuple(layer.dilation_rate) != (1,):
            raise UnsupportedNetwork(f"{layer.name}: only channels_last, stride 1, dilation 1")
        if layer.padding not in ("valid", "same") or layer.groups != 1:
            raise UnsupportedNetwork(f"{layer.name}: padding {layer.padding!r}")
        w, *b = layer.get_weights()
        if layer.padding == "same" and w.shape[0] % 2 == 0:
            raise UnsupportedNetwork(f"{layer.name}: 'same' padding with an even kernel")
        bias = b[0] if b else np.zeros(w.shape[2], dtype=np.float32)
        return {"op": "conv1d", "in": one(), "w": _add(arrays, w), "b": _add(arrays, bias), "act": _act(layer),
                "padding": layer.padding, "kernel": int(w.shape[0])}  # fmt: skip
    if kind == "BatchNormalization":
        src = one()
        if not (isinstance(src, dict) and src["op"] in ("conv1d", "dense") and src["act"] == "linear"):
            raise UnsupportedNetwork(f"{layer.name}: batch normalisation not right after a linear conv/dense")
        if layer.axis not in (-1, len(srcs[0].shape) - 1):
            raise UnsupportedNetwork(f"{layer.name}: batch normalisation over axis {layer.axis}")
        gamma = np.asarray(layer.gamma) if layer.scale else 1.0
        beta = np.asarray(layer.beta) if layer.center else 0.0
        mean, var = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
        scale = (gamma / np.sqrt(var + layer.epsilon)).astype(np.float64)
        w = arrays[src["w"]].astype(np.float64) * scale
        b = (arrays[src["b"]].astype(np.float64) - mean) * scale + beta
        return {**src, "w": _add(arrays, w), "b": _add(arrays, b)}
    if kind == "Activation":
        src = one()
        act = _act(layer)
        if act == "linear":
            return src
        if isinstance(src, dict) and src["op"] in ("conv1d", "dense") and src["act"] == "linear":
            return {**src, "act": act}
        raise UnsupportedNetwork(f"{layer.name}: activation not right after a linear conv/dense")
    cfg = layer.get_config() if kind == "ReLU" else {}
    plain_relu = cfg.get("max_value") in (None, 1.0) and not cfg.get("negative_slope") and not cfg.get("threshold")
    if kind == "ReLU" and plain_relu:
        src = one()
        if isinstance(src, dict) and src["op"] in ("conv1d", "dense") and src["act"] == "linear":
            return {**src, "act": "relu" if cfg.get("max_value") is None else "relu1"}
        raise UnsupportedNetwork(f"{layer.name}: ReLU not right after a linear conv/dense")
    if kind == "MaxPooling1D":
        size, stride = int(layer.pool_size[0]), int(layer.strides[0])
        if size != stride or layer.padding != "valid" or layer.data_format != "channels_last":
            raise UnsupportedNetwork(f"{layer.name}: only non-overlapping 'valid' pooling")
        return {"op": "maxpool", "in": one(), "size": size}
    if kind == "GlobalMaxPooling1D":
        if layer.keepdims or layer.data_format != "channels_last":
            raise UnsupportedNetwork(f"{layer.name}: keepdims or channels_first")
        return {"op": "globalmax", "in": one()}
    if kind == "Flatten":
        return {"op": "flatten", "in": one()}
    if kind == "Reshape":
        shape = tuple(layer.target_shape)
        if len(shape) == 2 and shape[1] == 1 and len(srcs[0].shape) == 2 and srcs[0].shape[1] == shape[0]:
            return {"op": "to_sequence", "in": one()}
        if len(shape) == 2 and len(srcs[0].shape) == 2 and srcs[0].shape[1] == shape[0] * shape[1]:
            return {"op": "reshape", "in": one(), "shape": [int(shape[0]), int(shape[1])]}
        raise UnsupportedNetwork(f"{layer.name}: reshape to {shape}")
    if kind == "Concatenate":
        rank = len(srcs[0].shape)
        if any(len(t.shape) != rank for t in srcs) or layer.axis not in (-1, rank - 1):
            raise UnsupportedNetwork(f"{layer.name}: concatenation other than along the last axis")
        return {"op": "concat", "in": [_trace(t, inputs, arrays) for t in srcs]}
    if kind == "Average":
        return {"op": "average", "in": [_trace(t, inputs, arrays) for t in srcs]}
    raise UnsupportedNetwork(f"layer {layer.name!r} of type {kind} is not supported")


def _act(layer) -> str:
    import keras

    act = layer.activation
    for name in ("linear", "relu", "softmax"):
        if act is getattr(keras.activations, name):
            return name
    raise UnsupportedNetwork(f"{layer.name}: activation {getattr(act, '__name__', act)!r}")


def export_checked(model, n_features: int, *, rows: int = 512, seed: int = 0) -> NumpyNetwork:
    """Export ``model`` and check it against Keras on random rows; raise :class:`UnsupportedNetwork` if they differ."""
    net = export_keras(model)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, n_features)).astype(np.float32) * 2
    X[: rows // 8] *= 50  # large inputs too: the network sees extreme rows in real files
    shape = tuple(model.inputs[0].shape[1:])
    want = np.asarray(model(X.reshape((rows, *shape)), training=False), dtype=np.float32)
    got = net.predict_proba(X, workers=1)
    diff = float(np.max(np.abs(want - got))) if want.shape == got.shape else float("inf")
    if not diff <= EXPORT_TOLERANCE:
        raise UnsupportedNetwork(f"numpy forward pass differs from Keras by {diff:.2e}")
    return net


# ---------------------------------------------------------------- beside a saved model


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file: ties an export to the exact ``model.keras`` it came from."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_export(model_file: str | os.PathLike) -> NumpyNetwork | None:
    """The export beside ``model_file``, or None when absent, unreadable or made from other weights."""
    export = Path(model_file).with_name(EXPORT_FILE)
    if not export.is_file():
        return None
    try:
        net = NumpyNetwork.load(export)
    except (UnsupportedNetwork, OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
            zipfile.BadZipFile, zlib.error) as exc:  # fmt: skip
        # A cut or corrupted file (a zip with a bad CRC, cut short) fails in zipfile or numpy in its own way; the
        # export is a cache of model.keras, made again by the caller.
        log.warning("ignoring %s (%s: %s); it is made again from the model's weights", export, type(exc).__name__, exc)
        return None
    if net.source != file_sha256(model_file):
        log.warning("ignoring %s: it was exported from other weights than %s", export, Path(model_file).name)
        return None
    return net


def export_for(
    model, model_file: str | os.PathLike | None, *, write: bool = True, net: NumpyNetwork | None = None
) -> NumpyNetwork | None:
    """Export the Keras ``model`` saved as ``model_file``; write ``inference.npz`` beside it when ``write``.

    Returns None (the caller then scores through Keras) when the network is not supported. Writing is
    best effort: a read-only model folder still gets the fast path in memory. ``model_file`` None: a model
    not saved yet (the export is kept in memory only). ``net``: an export of ``model`` already checked
    (:meth:`core.models.KerasDetector.prepare_scoring`), used instead of exporting again.
    """
    if net is None:
        try:
            net = export_checked(model, int(model.inputs[0].shape[1]))
        except UnsupportedNetwork as exc:
            log.info("no numpy export for %s: %s", model_file or "the fitted network", exc)
            return None
    if model_file is None:
        return net
    net.source = file_sha256(model_file)
    if write:
        try:
            net.save(Path(model_file).with_name(EXPORT_FILE))
        except OSError as exc:
            log.info("could not write the export beside %s: %s", model_file, exc)
    return net
