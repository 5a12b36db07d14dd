"""Property-based fuzzing of the CSV reader and validator (hypothesis).

Whatever bytes arrive as an upload, ``read_csv`` either returns a consistent ``Dataset`` or raises
``DataError`` (a ``CoreError`` with a message naming the file and a hint): never another exception,
never a crash. Three generators: arbitrary bytes; CSV-shaped text built from the real header (cells
drawn from numbers, specials, quotes, separators, junk; rows with missing or extra cells; random
delimiters, line ends, BOM and encodings); and mutations (bytes flipped, cut, inserted) of a valid
file. Bounded for CI: a fixed number of examples per property and no per-example deadline (the
machine is shared), about half a minute in all on 2 cores.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DataError
from core.loading import UNLABELLED, read_csv
from core.schema import LAYOUTS
from core.taxonomy import CLASSES_19

FUZZ = settings(
    max_examples=int(os.environ.get("IOMT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",  # CI: the same examples on every run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

V2 = list(LAYOUTS["v2"].features)
V1 = list(LAYOUTS["v1"].features)


def check(payload: bytes, name: str = "fuzz.csv") -> None:
    """The property: a valid Dataset, or a DataError that names the file and says what to do."""
    try:
        ds = read_csv(payload, name=name)
    except DataError as exc:
        assert exc.message and exc.hint, (exc.message, exc.hint)
        assert name in str(exc) or exc.file == name, str(exc)
        return
    n = len(ds)
    assert n > 0
    assert ds.X.dtype == np.float32 and ds.X.shape == (n, ds.layout.n_features)
    assert ds.y.shape == (n,) and ds.source.shape == (n,)
    assert ((ds.y == UNLABELLED) | ((ds.y >= 0) & (ds.y < len(CLASSES_19)))).all()
    assert ds.files[0].rows == n and ds.files[0].name == name
    assert ds.files[0].nonfinite_cells == int(np.count_nonzero(~np.isfinite(ds.X)))


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(payload):
    check(payload)


#: Cells that have broken CSV readers: specials, quotes, separators, markup, formulas, other digits.
NASTY = ["", " ", "nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-0", "0x1F", "1,234", "1.5.6", '"3.5"', '"',
         '""', "'", "\\", "\x00", "é", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "\t", "1 000", "١٢٣"]  # fmt: skip
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(NASTY),
    st.text(max_size=12),
)


@st.composite
def csv_shaped(draw):
    layout = draw(st.sampled_from([V2, V1]))
    header = list(layout)
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["label", "Label", "class", "attack"])))
    mutation = draw(st.sampled_from(["none", "drop", "duplicate", "rename", "shuffle"]))
    if mutation == "drop":
        header.pop(draw(st.integers(0, len(header) - 1)))
    elif mutation == "duplicate":
        header.append(header[draw(st.integers(0, len(header) - 1))])
    elif mutation == "rename":
        header[draw(st.integers(0, len(header) - 1))] = draw(st.text(max_size=10))
    elif mutation == "shuffle":
        header = draw(st.permutations(header))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        cells = []
        for j in range(max(width, 0)):
            if header[j % len(header)].lower() in ("label", "class", "attack"):
                cells.append(draw(st.one_of(st.sampled_from((*CLASSES_19, "ddos_udp", "TCP_IP-DDoS-UDP")), CELLS)))
            else:
                cells.append(draw(st.one_of(st.floats(-1e6, 1e6).map(lambda v: f"{v:.3f}"), CELLS)))
        rows.append(delimiter.join(cells))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join([delimiter.join(header), *rows]) + draw(st.sampled_from(["", end]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@FUZZ
@given(csv_shaped())
def test_csv_shaped_text(payload):
    check(payload)


def _valid() -> bytes:
    rng = np.random.default_rng(0)
    lines = [",".join(V2)] + [",".join(f"{v:.3f}" for v in rng.random(len(V2))) for _ in range(8)]
    return ("\n".join(lines) + "\n").encode()


VALID = _valid()


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "delete"]), st.integers(0, len(VALID) - 1),
                          st.binary(min_size=1, max_size=8)), min_size=1, max_size=6))  # fmt: skip
def test_mutated_valid_file(edits):
    data = bytearray(VALID)
    for op, pos, blob in edits:
        pos = min(pos, max(len(data) - 1, 0))
        if op == "flip" and data:
            data[pos] ^= blob[0] or 1
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = blob
        elif op == "delete":
            del data[pos : pos + len(blob)]
    check(bytes(data))


def test_valid_file_is_read():
    """The mutation seed itself is accepted (so the properties above exercise both outcomes)."""
    ds = read_csv(VALID, name="valid.csv")
    assert len(ds) == 8 and ds.layout.name == "v2"


@FUZZ
@given(
    st.lists(st.sampled_from(["row", "row", "empty", "quoted", "blank"]), min_size=1, max_size=30),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from([",", ";", "\t"]),
    st.booleans(),
)
def test_empty_rows_are_left_out_wherever_they_are(kinds, end, sep, bad):
    """Rows whose every cell is blank (',,,,' or '"","",...'), anywhere among rows and blank lines, are left out and
    counted like blank lines: the rows read are the others, and a bad cell is told by its row among them."""
    rng = np.random.default_rng(len(kinds))
    rows = [sep.join(f"{v:.3f}" for v in rng.random(len(V2))) for k in kinds if k == "row"]
    if bad and rows:
        rows[-1] = sep.join(["x", *rows[-1].split(sep)[1:]])
    given_rows = iter(rows)
    lines = [{"row": None, "empty": sep * (len(V2) - 1), "quoted": sep.join(['""'] * len(V2)), "blank": ""}[k]
             for k in kinds]  # fmt: skip
    lines = [next(given_rows) if line is None else line for line in lines]
    data = end.join([sep.join(V2), *lines, ""]).encode()
    empties = sum(k in ("empty", "quoted") for k in kinds)
    try:
        ds = read_csv(data, name="e.csv")
    except DataError as exc:
        if not rows:
            assert str(exc).startswith("e.csv: the file has a header but no rows"), str(exc)
            assert ("only empty rows" in str(exc)) == bool(empties)
        else:
            assert bad and (exc.column, exc.row) == ("Header_Length", len(rows)), str(exc)
        return
    assert not bad and rows
    reference = np.array([[float(c) for c in r.split(sep)] for r in rows], dtype=np.float32)
    assert np.array_equal(ds.X, reference)
    assert [n.split(" (")[0] for n in ds.notes] == (
        [f"e.csv: {empties} empty row{'s' * (empties > 1)}"] if empties else []
    )
