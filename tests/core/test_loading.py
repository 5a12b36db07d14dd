"""Reading CSVs: both releases, labels from names or columns, and every validation error."""

import io

import numpy as np
import pytest

from core.errors import DataError
from core.loading import UNLABELLED, cap_rows_per_class, load_split, read_csv, read_files, rows_also_in
from core.schema import FEATURES_V1, FEATURES_V2
from core.taxonomy import CLASSES_19


def make_csv(features=FEATURES_V2, rows=5, label=None, fill=None, sep=",") -> bytes:
    header = list(features) + (["label"] if label else [])
    lines = [sep.join(header)]
    for i in range(rows):
        cells = [str(fill if fill is not None else float(i + j)) for j in range(len(features))]
        if label:
            cells.append(label)
        lines.append(sep.join(cells))
    return ("\n".join(lines) + "\n").encode()


def test_reads_v2_with_label_from_file_name():
    ds = read_csv(make_csv(rows=7), name="TCP_IP-DDoS-UDP3_train.pcap.csv")
    assert ds.layout.name == "v2" and ds.X.shape == (7, 39) and ds.X.dtype == np.float32
    assert set(ds.y.tolist()) == {CLASSES_19.index("DDoS-UDP")}
    assert ds.files[0].label_source == "file name"
    assert ds.X[2, 3] == pytest.approx(5.0)


def test_reads_v1_and_label_column_wins(tmp_path):
    path = tmp_path / "capture.csv"
    path.write_bytes(make_csv(FEATURES_V1, rows=3, label="TCP_IP-DoS-SYN"))
    ds = read_csv(path)
    assert ds.layout.name == "v1" and ds.X.shape == (3, 45)
    assert ds.files[0].label_source == "column 'label'"
    assert set(ds.y.tolist()) == {CLASSES_19.index("DoS-SYN")}


def test_unlabelled_file_is_allowed_unless_labels_required():
    ds = read_csv(make_csv(), name="capture.csv")
    assert (ds.y == UNLABELLED).all() and ds.files[0].label_source is None
    with pytest.raises(DataError) as err:
        read_csv(make_csv(), name="capture.csv", require_labels=True)
    assert "capture.csv" in str(err.value) and "no class" in str(err.value)


def test_inf_and_nan_are_read_not_dropped():
    data = make_csv(rows=3).decode().splitlines()
    cells = data[1].split(",")
    cells[3] = "inf"
    cells[34] = ""
    data[1] = ",".join(cells)
    cells = data[2].split(",")
    cells[35] = "NaN"
    data[2] = ",".join(cells)
    ds = read_csv("\n".join(data).encode(), name="Benign_test.pcap.csv")
    assert len(ds) == 3
    assert np.isposinf(ds.X[0, 3]) and np.isnan(ds.X[0, 34]) and np.isnan(ds.X[1, 35])
    assert ds.files[0].nonfinite_cells == 3


def test_missing_column_names_file_and_column():
    features = [f for f in FEATURES_V2 if f != "Rate"]
    with pytest.raises(DataError) as err:
        read_csv(make_csv(features), name="Benign_test.pcap.csv")
    msg = str(err.value)
    assert msg.startswith("Benign_test.pcap.csv, header: ") and "missing column 'Rate'" in msg, msg
    assert err.value.hint and err.value.row == 0


def test_header_layout_reads_the_release_from_the_header_alone():
    from core.loading import header_layout

    assert header_layout(make_csv(FEATURES_V1, rows=0)).name == "v1"
    assert header_layout(make_csv(FEATURES_V2, label="Benign")[:400] + b"garbage, cut mid-row").name == "v2"
    assert header_layout(make_csv([f for f in FEATURES_V2 if f != "Rate"])) is None
    assert header_layout(b"") is None and header_layout(b"PK\x03\x04zip") is None


def test_unexpected_column_is_named():
    with pytest.raises(DataError) as err:
        read_csv(make_csv([*FEATURES_V2, "Extra"]), name="x.csv")
    assert "unexpected column 'Extra'" in str(err.value)


def test_non_numeric_cell_names_column_and_row():
    lines = make_csv(rows=6).decode().splitlines()
    cells = lines[5].split(",")
    cells[2] = "abc"  # Time_To_Live, data row 5
    lines[5] = ",".join(cells)
    with pytest.raises(DataError) as err:
        read_csv("\n".join(lines).encode(), name="Benign_test.pcap.csv")
    e = err.value
    assert (e.file, e.column, e.row) == ("Benign_test.pcap.csv", "Time_To_Live", 5)
    assert "'abc'" in str(e)


def test_empty_and_header_only_files():
    with pytest.raises(DataError, match="empty"):
        read_csv(b"", name="a.csv")
    with pytest.raises(DataError, match=r"^a\.csv: the file has a header but no rows$"):
        read_csv(make_csv(rows=0), name="a.csv")


def test_binary_and_utf16_are_refused():
    with pytest.raises(DataError, match="zip archive"):  # recognised from its first bytes
        read_csv(b"PK\x03\x04\x00\x00garbage", name="a.csv")
    with pytest.raises(DataError, match="binary"):
        read_csv(b"\x01\x02\x00\x00garbage", name="a.csv")
    with pytest.raises(DataError, match="UTF-16"):
        read_csv(make_csv().decode().encode("utf-16"), name="a.csv")


def test_semicolon_delimiter_and_bom_header_are_read():
    data = b"\xef\xbb\xbf" + make_csv(sep=";")
    ds = read_csv(data, name="Benign_test.pcap.csv")
    assert ds.X.shape == (5, 39)


def test_unknown_label_names_row():
    lines = make_csv(rows=3, label="Benign").decode().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",Martians"
    with pytest.raises(DataError) as err:
        read_csv("\n".join(lines).encode(), name="x.csv")
    assert err.value.row == 3 and "Martians" in str(err.value)


def test_ragged_row_is_reported_with_its_row(tmp_path):
    data = make_csv(rows=3) + b"1,2,3\n"
    with pytest.raises(DataError, match="cells") as err:
        read_csv(data, name="x.csv")
    assert err.value.row == 4
    # Deep in a file read from disk: the row is found again (1 = the first row after the header).
    lines = make_csv(rows=5000).decode().splitlines()
    lines[3210] = lines[3210].rsplit(",", 1)[0]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="cells") as err:
        read_csv(path)
    assert err.value.row == 3210 and "row 3210" in str(err.value)
    # A ragged row that is not valid UTF-8 (a Windows-1252 quote) is found too.
    with pytest.raises(DataError, match="cells") as err:
        read_csv(make_csv(rows=3) + b"1,\x922,3\n", name="x.csv")
    assert err.value.row == 4


def test_mixing_layouts_is_refused_naming_both():
    with pytest.raises(DataError) as err:
        read_files([("Benign_train.pcap.csv", make_csv()), ("ARP_Spoofing_train.pcap.csv", make_csv(FEATURES_V1))])
    msg = str(err.value)
    assert "v1: ARP_Spoofing_train.pcap.csv" in msg and "v2: Benign_train.pcap.csv" in msg


def test_file_like_upload_and_source_index():
    ds = read_files(
        [
            ("Benign_test.pcap.csv", io.BytesIO(make_csv(rows=2)).read()),
            ("ARP_Spoofing_test.pcap.csv", make_csv(rows=3)),
        ]
    )
    assert len(ds) == 5 and ds.source.tolist() == [0, 0, 1, 1, 1]
    assert ds.class_counts() == {"Benign": 2, "ARP_Spoofing": 3}


def test_folder_without_train_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no CSV files in train/"):
        load_split(tmp_path, "train")
    with pytest.raises(DataError, match="not found"):
        load_split(tmp_path / "nope", "train")


def test_cap_rows_per_class_reports_what_was_left_out():
    ds = read_files([("Benign_test.pcap.csv", make_csv(rows=10)), ("ARP_Spoofing_test.pcap.csv", make_csv(rows=3))])
    capped = cap_rows_per_class(ds, 4, seed=1)
    assert capped.class_counts() == {"Benign": 4, "ARP_Spoofing": 3}
    assert "6 of 13 rows left out" in capped.notes[0]


def test_duplicate_detection_at_float32():
    a = np.array([[1.0, 2.0], [3.0, -0.0], [5.0, 6.0], [7.0, 8.0]], dtype=np.float64)
    # 2.00000001 equals 2.0 at float32 precision; 6.001 does not equal 6.0.
    b = np.array([[3.0, 0.0], [1.0, 2.00000001], [5.0, 6.001]], dtype=np.float64)
    assert rows_also_in(a, b).tolist() == [True, True, False, False]


def test_row_hashes_are_the_same_whatever_the_block_size():
    """Rows are hashed a block at a time (to bound the memory at full scale): a row's hash must not depend on the
    block it falls in, nor on the layout of the matrix it comes from."""
    from core.loading import row_hashes

    X = np.random.default_rng(4).normal(size=(1001, 39)).astype(np.float32)
    X[::5] = np.round(X[::5])
    X[3, 2], X[4, 2], X[5] = np.nan, np.inf, -0.0
    whole = row_hashes(X, block=1 << 20)
    assert whole.shape == (1001, 2) and whole.dtype == np.uint64
    assert len(np.unique(whole[:, 0])) == len(np.unique(X, axis=0)), "distinct rows, distinct hashes"
    for block in (1, 7, 1000):
        assert np.array_equal(row_hashes(X, block=block), whole), block
    assert np.array_equal(row_hashes(np.asfortranarray(X)[::2].astype(np.float64)), whole[::2])
    assert np.array_equal(row_hashes(np.zeros((1, 39)) * -1.0), row_hashes(np.zeros((1, 39)))), "-0.0 as 0.0"
    assert row_hashes(X[:0]).shape == (0, 2)


def test_both_shared_samples_load(v1_sample, v2_sample):
    v1 = load_split(v1_sample, "train")
    v2 = load_split(v2_sample, "train")
    assert v1.layout.name == "v1" and v1.X.shape[1] == 45 and len(v1.class_counts()) == 8
    assert v2.layout.name == "v2" and v2.X.shape[1] == 39 and len(v2.class_counts()) == 19
    assert sum(f.nonfinite_cells for f in v2.files) > 0, "the v2 sample's real inf/NaN are kept for repair"
    assert len(v2) == sum(f.rows for f in v2.files)


# ---------------------------------------------------------------- parsing in pieces (one thread per piece)


def _whole_file(monkeypatch, source, **kw):
    """``read_csv`` with the piecewise parse switched off: pyarrow's reader over the whole file."""
    import core.loading as loading

    with monkeypatch.context() as m:
        m.setattr(loading, "_parse_in_pieces", lambda *a, **k: None)
        return loading.read_csv(source, **kw)


def _same(a, b):
    assert a.X.shape == b.X.shape and np.array_equal(a.X, b.X, equal_nan=True)
    assert np.array_equal(a.y, b.y) and a.files == b.files and a.layout == b.layout


def test_pieces_read_the_real_samples_exactly_as_the_whole_file(monkeypatch, v1_sample, v2_sample):
    """Every real file, cut into 4 kB pieces (hundreds of boundaries, threads taking turns), gives the
    whole-file reader's matrix, labels and summary bit for bit; both releases, inf and NaN included."""
    import functools

    import core.loading as loading

    files = sorted(v1_sample.glob("*/*.csv"))[:6] + sorted(v2_sample.glob("*/*.csv"))
    small = functools.partial(loading._parse_in_pieces, piece_bytes=4096, threads=2)
    used = []

    def spy(*a, **k):
        result = small(*a, **k)
        used.append(result is not None)
        return result

    for path in files:
        whole = _whole_file(monkeypatch, path)
        with monkeypatch.context() as m:
            m.setattr(loading, "_parse_in_pieces", spy)
            pieces = loading.read_csv(path)
        _same(pieces, whole)
    assert all(used) and len(used) == len(files), "the pieces must have been used, not the fallback"


def test_pieces_with_labels_crlf_and_no_final_newline(monkeypatch, tmp_path):
    import core.loading as loading

    text = make_csv(rows=500, label="ARP_Spoofing").decode()
    crlf = text.replace("\n", "\r\n")
    for variant in (text, crlf, text.rstrip("\n"), text + "\n\n", crlf + "\r\n"):
        path = tmp_path / "capture.csv"
        path.write_bytes(variant.encode())
        pieces = loading._parse_in_pieces(
            str(path), FEATURES_V2, "label", *_options(variant.splitlines()[0].split(","), "label"), piece_bytes=512
        )
        assert pieces is not None
        X, labels = pieces
        assert X.shape == (500, 39) and len(labels) == 500 and set(labels.to_pylist()) == {"ARP_Spoofing"}
        _same(read_csv(path), _whole_file(monkeypatch, path))


def _options(columns, label_col=None):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {c: pa.float32() for c in FEATURES_V2} | ({label_col: pa.string()} if label_col else {})
    return (
        pacsv.ReadOptions(column_names=[c.strip() for c in columns], skip_rows=1),
        pacsv.ParseOptions(),
        pacsv.ConvertOptions(
            column_types=types, include_columns=list(FEATURES_V2) + ([label_col] if label_col else [])
        ),
    )


@pytest.mark.parametrize("why", ["quote", "blank line", "bad cell", "ragged row"])
def test_pieces_give_way_to_the_whole_file_reader(monkeypatch, why):
    """Where pieces cannot be trusted, ``_parse_in_pieces`` says so (None) and read_csv reads the file whole:
    same rows as before, or the same error naming the row."""
    import core.loading as loading

    lines = make_csv(rows=300).decode().splitlines()
    if why == "quote":
        lines[150] = lines[150].replace("1", '"1"', 1)
    elif why == "blank line":
        lines.insert(150, "")
    elif why == "bad cell":
        lines[150] = lines[150].replace("1", "x", 1)
    else:
        lines[150] = lines[150] + ",7"
    data = ("\n".join(lines) + "\n").encode()
    assert loading._parse_in_pieces(data, FEATURES_V2, None, *_options(lines[0].split(",")), piece_bytes=256) is None
    if why in ("quote", "blank line"):
        ds = read_csv(data, name="capture.csv")
        assert len(ds) == 300
        _same(ds, _whole_file(monkeypatch, data, name="capture.csv"))
    else:
        with pytest.raises(DataError) as err:
            read_csv(data, name="capture.csv")
        assert "capture.csv" in str(err.value)
        if why == "bad cell":
            assert "row 150" in str(err.value) and "'x" in str(err.value)


def test_pieces_close_the_mapped_file(tmp_path):
    """No file handle or mapping is left behind, also when the pieces give way."""
    import os

    path = tmp_path / "capture.csv"
    path.write_bytes(make_csv(rows=50))
    before = len(os.listdir("/proc/self/fd"))
    maps_before = open("/proc/self/maps").read().count(str(path))
    for _ in range(5):
        read_csv(path)
        path.write_bytes(make_csv(rows=50).replace(b"\n1", b'\n"1"', 1))
        read_csv(path)
    assert len(os.listdir("/proc/self/fd")) == before
    assert open("/proc/self/maps").read().count(str(path)) == maps_before == 0


# ---------------------------------------------------------------- several files into one matrix


def _four_files(tmp_path):
    paths = []
    for i, cls in enumerate(["ARP_Spoofing", "Benign", "TCP_IP-DDoS-UDP1", "MQTT-DoS-Connect_Flood"]):
        path = tmp_path / f"{cls}_train.pcap.csv"
        path.write_bytes(make_csv(rows=20_000 + 1000 * i, fill=float(i)))
        paths.append(path)
    return paths


def test_read_files_fills_one_matrix_same_rows_as_concatenating(tmp_path):
    from core.loading import concat

    paths = _four_files(tmp_path)
    ds = read_files(paths)
    ref = concat([read_csv(p) for p in paths])
    _same(ds, ref)
    assert np.array_equal(ds.source, ref.source) and ds.X.flags.c_contiguous
    assert [f.rows for f in ds.files] == [20_000, 21_000, 22_000, 23_000]


def test_read_files_reads_on_past_a_bad_file_and_names_every_bad_file(tmp_path):
    """The first bad file stopped the reading: with several bad files, each was found only after mending the one
    before. Every file is read; one bad file is raised as it was, several together, each with its own place."""
    import pickle

    from core.errors import FilesError

    good = make_csv(rows=3)
    family = make_csv(rows=3, label="Martians")
    lines = make_csv(rows=3).decode().splitlines()
    lines[2] = "x" + lines[2][1:]
    text = ("\n".join(lines) + "\n").encode()
    seen = []
    with pytest.raises(FilesError) as err:
        read_files([("a.csv", family), ("b.csv", good), ("c.csv", text), ("d.csv", make_csv(rows=2, fill=3))],
                   progress=lambda done, total, name: seen.append((done, total, name)))  # fmt: skip
    e = err.value
    assert e.total == 4 and [(x.file, x.column, x.row) for x in e.errors] == [
        ("a.csv", "label", 1), ("c.csv", "Header_Length", 2)]  # fmt: skip
    assert str(e).startswith(
        "2 of 4 files could not be read: (1) a.csv, column 'label', row 1 (line 2 of the file): unrecognised label "
        "'Martians'"
    )
    assert "(2) c.csv, column 'Header_Length', row 2 (line 3 of the file):" in str(e) and e.hint.startswith(
        "(1) labels must name one of the 19 classes"
    )
    assert [s[0] for s in seen] == [1, 2, 3, 4], "progress goes on to the last file"
    again = pickle.loads(pickle.dumps(e))  # the Train page's worker process sends it whole
    assert type(again) is FilesError and [x.row for x in again.errors] == [1, 2] and again.total == 4
    with pytest.raises(DataError) as one:  # one bad file: its own error, as before
        read_files([("a.csv", good), ("c.csv", text)])
    assert type(one.value) is DataError and (one.value.file, one.value.row) == ("c.csv", 2)


def test_a_mix_of_releases_is_named_beside_a_bad_file_in_one_round():
    """A bad file and files of both releases needed two rounds: the mix was named only once the bad file was mended.
    The files read, of both releases, are now named beside it (the bad file's release is unknown)."""
    import pickle

    from core.errors import FilesError

    bad = make_csv(rows=3, label="Martians")
    with pytest.raises(FilesError) as err:
        read_files([("a.csv", make_csv(rows=2)), ("b.csv", bad), ("c.csv", make_csv(FEATURES_V1, rows=2)),
                    ("d.csv", make_csv(rows=2, fill=1))])  # fmt: skip
    e = err.value
    assert [x.file for x in e.errors] == ["b.csv", None] and e.together == 1 and e.total == 4
    assert str(e).startswith("1 of 4 files could not be read, and 1 problem is of the files together: (1) b.csv")
    assert "(2) the files mix both CICIoMT2024 releases (v1: c.csv; v2: a.csv, d.csv)" in str(e)
    assert "(2) use the files of one release only" in e.hint
    assert pickle.loads(pickle.dumps(e)).headline() == e.headline()
    with pytest.raises(DataError) as one:  # one release among the files read: the bad file alone, as before
        read_files([("a.csv", make_csv(rows=2)), ("b.csv", bad)])
    assert type(one.value) is DataError and one.value.file == "b.csv"


def test_read_files_refuses_one_capture_given_twice_and_tells_apart_files_of_one_name(tmp_path):
    """An upload added twice, or one file reached by two paths, had its flows counted twice without a word."""
    one, other = make_csv(rows=5), make_csv(rows=4, fill=1.5)
    with pytest.raises(DataError, match=r"'a\.csv' and 'b\.csv' hold the same bytes") as err:
        read_files([("a.csv", one), ("b.csv", one)])
    assert err.value.hint == "remove one of them"
    with pytest.raises(DataError, match=r"'a\.csv' is given twice"):
        read_files([("a.csv", one), ("a.csv", one)])
    ds = read_files(
        [("Benign_test.pcap.csv", one), ("Benign_test.pcap.csv", other), ("c.csv", make_csv(rows=5, fill=2))]
    )
    assert [f.name for f in ds.files] == ["Benign_test.pcap.csv", "Benign_test.pcap.csv (2)", "c.csv"]
    assert [f.label for f in ds.files] == ["Benign", "Benign", None], "the label still comes from the real name"
    for site, data in (("site1", one), ("site2", other)):
        (tmp_path / site).mkdir()
        (tmp_path / site / "flows.csv").write_bytes(data)
    ds = read_files([tmp_path / "site1" / "flows.csv", tmp_path / "site2" / "flows.csv"])
    assert [f.name for f in ds.files] == ["site1/flows.csv", "site2/flows.csv"] and len(ds) == 9
    with pytest.raises(DataError, match=r"'flows\.csv' is given twice"):
        read_files([tmp_path / "site1" / "flows.csv", tmp_path / "site2" / ".." / "site1" / "flows.csv"])
    (tmp_path / "site2" / "flows.csv").write_bytes(other.replace(b"1.5", b"abc", 1))
    with pytest.raises(DataError) as err:
        read_files([tmp_path / "site1" / "flows.csv", tmp_path / "site2" / "flows.csv"])
    assert err.value.file == "site2/flows.csv", "the error names the file as the output would"


def test_read_files_peaks_near_one_matrix_not_two(monkeypatch, tmp_path):
    """numpy's allocations, traced: the matrix plus one file's rows at most (concatenating held both: 2x)."""
    import tracemalloc

    import core.loading as loading

    # Every matrix from numpy, where tracemalloc sees it (large ones are otherwise mappings it does not trace).
    monkeypatch.setattr(loading, "PLAIN_PAGES_BYTES", 1 << 62)
    paths = _four_files(tmp_path)
    tracemalloc.start()
    try:
        ds = read_files(paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * ds.X.nbytes, f"peak {peak / 2**20:.1f} MB for a {ds.X.nbytes / 2**20:.1f} MB matrix"


def test_read_files_when_a_file_has_more_rows_than_counted(monkeypatch, tmp_path):
    """The bound is only a guess made before reading: rows beyond it are appended, none lost."""
    import core.loading as loading
    from core.loading import concat

    paths = _four_files(tmp_path)
    monkeypatch.setattr(loading, "_most_rows", lambda items: 30_000)  # fits the first file only
    _same(read_files(paths), concat([read_csv(p) for p in paths]))


def test_new_matrix_large_is_a_writable_mapping_released_with_its_last_array():
    import gc
    import mmap
    import weakref

    from core.loading import PLAIN_PAGES_BYTES, new_matrix

    small = new_matrix(10, 45)
    assert small.shape == (10, 45) and small.dtype == np.float32 and small.flags.owndata  # numpy's own

    rows = PLAIN_PAGES_BYTES // (45 * 4) + 1
    X = new_matrix(rows, 45)
    assert X.shape == (rows, 45) and X.dtype == np.float32
    assert X.flags.c_contiguous and X.flags.writeable
    root = X
    while isinstance(root, np.ndarray):
        root = root.base
    root = root.obj if isinstance(root, memoryview) else root
    assert isinstance(root, mmap.mmap)
    X[:] = np.arange(rows * 45, dtype=np.float32).reshape(rows, 45)
    assert X[-1, -1] == np.float32(rows * 45 - 1)
    gone = weakref.ref(root)
    del root
    view = X[:5]
    del X
    gc.collect()
    assert gone() is not None  # a view still uses it
    del view
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("value", ["inf", "1.9", "0.5", "nan", "1e400"])
def test_a_limit_that_is_not_a_whole_number_is_refused_by_name(value, monkeypatch):
    """IOMT_MAX_FILE_MB=inf was an OverflowError traceback, and 1.9 was cut to 1 MB without a word."""
    from core.limits import Limits

    monkeypatch.setenv("IOMT_MAX_FILE_MB", value)
    with pytest.raises(DataError, match=r"\$IOMT_MAX_FILE_MB must be a whole number"):
        Limits.from_env()
    monkeypatch.setenv("IOMT_MAX_FILE_MB", "2")
    assert Limits.from_env().max_bytes == 2 * 1024 * 1024


# ---------------------------------------------------------------- bug hunt: rows, folders, labels, headers


def _real_lines(v2_sample, n=50):
    """The header and the first ``n`` rows of a real v2 file, as lines without line ends."""
    text = (v2_sample / "test" / "Benign_test.pcap.csv").read_bytes().decode()
    return text.splitlines()[: n + 1]


def test_rows_whose_every_cell_is_blank_are_left_out_and_noted(tmp_path, v2_sample):
    """Excel's trailing ',,,,' rows were kept as flows of NaN (repaired to medians, then scored or trained on)."""
    import core.loading as loading

    lines = _real_lines(v2_sample)
    empty = "," * 38
    path = tmp_path / "Benign_test.pcap.csv"
    path.write_bytes(("\r\n".join(lines + [empty] * 3) + "\r\n").encode())
    whole = read_csv(tmp_path / "Benign_test.pcap.csv")
    assert len(whole) == 50 and whole.files[0].rows == 50 and np.isfinite(whole.X[:, 0]).all()
    assert whole.notes == [
        "Benign_test.pcap.csv: 3 empty rows (every cell blank) left out like blank lines, not counted in row "
        "numbers: 3 after row 50"
    ]
    reference = read_csv(("\n".join(lines) + "\n").encode(), name="Benign_test.pcap.csv")
    assert np.array_equal(whole.X, reference.X, equal_nan=True)
    # In the middle, with a label column, cut into pieces: the pieces give way, the rows after keep counting on.
    body = [line + ",Benign" for line in lines[1:]]
    rows = [lines[0] + ",label", *body[:10], empty + ",", '"",' * 39 + '""', *body[10:20], "", empty + ", "]
    data = ("\n".join(rows) + "\n").encode()
    columns = rows[0].split(",")
    assert loading._parse_in_pieces(data, FEATURES_V2, "label", *_options(columns, "label"), piece_bytes=512) is None
    ds = read_csv(data, name="capture.csv")
    assert len(ds) == 20 and ds.class_counts() == {"Benign": 20}
    assert ds.notes == [
        "capture.csv: 3 empty rows (every cell blank) left out like blank lines, not counted in row numbers: "
        "2 after row 10, 1 after row 20"
    ]
    # A bad cell below them is told by its row as counted (the 11th flow, not 13th), and the same for a bad label.
    bad = rows.copy()
    bad[13] = ",".join(["abc", *rows[13].split(",")[1:]])
    with pytest.raises(DataError) as err:
        read_csv(("\n".join(bad) + "\n").encode(), name="capture.csv")
    assert (err.value.column, err.value.row) == ("Header_Length", 11) and "'abc'" in str(err.value)
    bad[13] = rows[13].rsplit(",", 1)[0] + ",Martians"
    with pytest.raises(DataError) as err:
        read_csv(("\n".join(bad) + "\n").encode(), name="capture.csv")
    assert err.value.row == 11 and "Martians" in str(err.value)
    # Not empty: a cell holding NaN, or features blank under a label.
    kept = "\n".join([lines[0] + ",label", ",".join(["NaN"] * 39) + ",", empty + ",Benign"]) + "\n"
    ds = read_csv(kept.encode(), name="capture.csv")
    assert len(ds) == 2 and ds.y.tolist() == [UNLABELLED, CLASSES_19.index("Benign")] and np.isnan(ds.X).all()
    with pytest.raises(DataError, match=r"^x\.csv: the file has a header but no rows \(only empty rows"):
        read_csv(("\n".join([lines[0], empty, empty]) + "\n").encode(), name="x.csv")


def test_empty_rows_in_a_split_and_a_report_folder_reach_the_notes(tmp_path, v2_sample):
    from core.report import read_report_data

    lines = _real_lines(v2_sample, 5)
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        (tmp_path / split / f"Benign_{split}.pcap.csv").write_text("\n".join([*lines, "," * 38]) + "\n")
    ds = load_split(tmp_path, "train")
    assert len(ds) == 5 and ds.notes == [
        "Benign_train.pcap.csv: 1 empty row (every cell blank) left out like blank lines, not counted in row "
        "numbers: 1 after row 5"
    ]
    data, _ = read_report_data([str(tmp_path / "test")])
    assert len(data) == 5 and "Benign_test.pcap.csv: 1 empty row" in data.notes[0]


def test_data_folders_list_csv_files_by_one_rule(tmp_path):
    """X.CSV, subfolders and other files vanished without a word; macOS's ._X.csv aborted training as binary."""
    from core.distributed import expand_inputs
    from core.loading import csv_files_in, split_files
    from core.report import read_report_data

    train = tmp_path / "train"
    (train / "day2").mkdir(parents=True)
    (train / "ARP_Spoofing_train.pcap.CSV").write_bytes(make_csv(rows=3))
    (train / "Benign_train.pcap.csv").write_bytes(make_csv(rows=2))
    (train / "day2" / "Benign_train.pcap.csv").write_bytes(make_csv(rows=2))
    (train / "._Benign_train.pcap.csv").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X")
    (train / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (train / "README.txt").write_text("flows")
    notes = [
        "left out of train/: README.txt, day2/ (not CSV files; subfolders are not searched)",
        "2 hidden files in train/ skipped (names starting with '.')",
    ]
    files, left_out = csv_files_in(train)
    assert [f.name for f in files] == ["ARP_Spoofing_train.pcap.CSV", "Benign_train.pcap.csv"] and left_out == notes
    ds = load_split(tmp_path, "train")
    assert ds.class_counts() == {"ARP_Spoofing": 3, "Benign": 2} and ds.notes == notes
    assert split_files(tmp_path, "train") == files
    assert expand_inputs([train], notes=(seen := [])) == [f.resolve() for f in files] and seen == notes
    data, where = read_report_data([str(train)])
    assert len(data) == 5 and data.notes == notes and where == str(train)
    # A compressed CSV is refused with what to do, in every folder listing.
    (train / "DoS_train.pcap.csv.gz").write_bytes(b"\x1f\x8b\x08\x00rest")
    for call in (lambda: load_split(tmp_path, "train"), lambda: expand_inputs([train]),
                 lambda: read_report_data([str(train)])):  # fmt: skip
        with pytest.raises(DataError, match="gzip-compressed, not CSV text") as err:
            call()
        assert err.value.file == str(train / "DoS_train.pcap.csv.gz") and "gunzip" in err.value.hint
    # Only a subfolder: the error says what was left out.
    (tmp_path / "test" / "day1").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no CSV files in test/; left out of test/: day1/"):
        load_split(tmp_path, "test")


def test_a_file_where_a_folder_is_expected_and_the_reverse_are_named_as_such(tmp_path):
    from core.loading import split_files

    path = tmp_path / "flows.csv"
    path.write_bytes(make_csv())
    for call in (lambda: split_files(path, "train"), lambda: load_split(path, "test")):
        with pytest.raises(DataError, match="is a file, not a data folder") as err:
            call()
        assert err.value.file == str(path)
    with pytest.raises(DataError, match="is a folder, not a CSV file") as err:
        read_csv(tmp_path)
    assert "--data" not in err.value.hint and f"{tmp_path}/*.csv" in err.value.hint
    # CSV files where their data folder is wanted: the split folder itself, or a folder of CSV files
    (tmp_path / "data" / "train").mkdir(parents=True)
    (tmp_path / "data" / "train" / "flows.csv").write_bytes(make_csv())
    with pytest.raises(DataError, match="no CSV files in train/") as err:
        split_files(tmp_path / "data" / "train", "train")
    assert err.value.hint == f"this is a split folder itself: give the folder above it, {tmp_path / 'data'}"
    with pytest.raises(DataError, match="no CSV files in train/") as err:
        split_files(tmp_path, "train")
    assert err.value.hint.startswith(f"it holds CSV files itself: put the training files in {tmp_path}/train")


def test_blank_labels_are_unknown_when_scoring_and_an_error_when_training():
    lines = make_csv(rows=4, label="Benign").decode().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ","
    lines[3] = lines[3].rsplit(",", 1)[0] + ",  "
    data = ("\n".join(lines) + "\n").encode()
    ds = read_csv(data, name="x.csv")
    assert ds.y.tolist() == [0, UNLABELLED, UNLABELLED, 0] and ds.files[0].label_source == "column 'label'"
    assert ds.notes == ["x.csv: 2 rows of 4 with a blank label in column 'label': true class unknown"]
    with pytest.raises(DataError) as err:
        read_csv(data, name="x.csv", require_labels=True)
    assert (
        str(err.value) == "x.csv, column 'label', row 2 (line 3 of the file): blank label"
        and "fill it in" in err.value.hint
    )
    every = make_csv(rows=2, label=" ")
    ds = read_csv(every, name="y.csv")
    assert (ds.y == UNLABELLED).all() and ds.files[0].label_source is None


def test_label_columns_other_spellings_and_several_candidates():
    base = make_csv(rows=2).decode().splitlines()
    both = "\n".join([base[0] + ",category,label"] + [r + ",Benign,ARP_Spoofing" for r in base[1:]]) + "\n"
    ds = read_csv(both.encode(), name="x.csv")
    assert ds.class_counts() == {"ARP_Spoofing": 2}
    assert ds.notes == ["x.csv: column 'category' not read (the class comes from column 'label')"]
    two = both.replace(",category,label", ",category,attack")
    with pytest.raises(DataError) as err:
        read_csv(two.encode(), name="x.csv")
    assert (
        str(err.value)
        == "x.csv, header: several columns could hold the class: 'category', 'attack'; none is named 'label'"
    )
    for name in ("Class Label", "Traffic Type", "Attack-Type", " class_label "):
        text = "\n".join([base[0] + f",{name}"] + [r + ",Benign" for r in base[1:]]) + "\n"
        ds = read_csv(text.encode(), name="x.csv")
        assert ds.files[0].label_source == f"column {name.strip()!r}" and ds.class_counts() == {"Benign": 2}
    # Two columns named label in other cases: said so, without a hint to rename one to 'label' (a third)
    twice = both.replace(",category,label", ",label,Label")
    with pytest.raises(DataError) as err:
        read_csv(twice.encode(), name="x.csv")
    assert str(err.value) == "x.csv, header: 2 columns are named label ('label', 'Label')"
    assert err.value.hint == "keep the one that holds the class and delete the others"


def test_a_cell_of_spaces_in_a_number_column_is_named_with_its_row():
    """The error said 'a non-numeric value' with no row: the search skipped cells that strip to nothing."""
    lines = make_csv(rows=4).decode().splitlines()
    cells = lines[3].split(",")
    lines[3] = ",".join(["  ", *cells[1:]])
    with pytest.raises(DataError) as err:
        read_csv(("\n".join(lines) + "\n").encode(), name="x.csv")
    assert (err.value.column, err.value.row) == ("Header_Length", 3)
    assert "only spaces" in err.value.hint
    # A row of spaces only: not an empty row (those are ',,,,'), so not skipped by the search either; the rows
    # before it are counted as everywhere (an empty row left out), with or without a label column.
    for label in (None, "Benign"):
        lines = make_csv(rows=4, label=label).decode().splitlines()
        width = len(lines[0].split(","))
        lines[2] = "," * (width - 1)
        lines[3] = ",".join([" "] * width)
        with pytest.raises(DataError) as err:
            read_csv(("\n".join(lines) + "\n").encode(), name="x.csv")
        # Every cell of the row is bad: the leftmost is named (it was whichever pyarrow's conversion threads
        # reported first: CI once named 'Protocol Type').
        assert (err.value.row, err.value.column) == (2, FEATURES_V2[0])


def test_of_several_bad_cells_the_first_row_and_its_leftmost_cell_are_named():
    """The row named was the first bad one of the column pyarrow reported, which its conversion threads pick: with
    bad cells in two rows of two columns, an earlier bad row could be passed over for a later one."""
    lines = make_csv(rows=3000).decode().splitlines()
    header = lines[0].split(",")
    right, left = header.index("Tot size"), header.index("Rate")
    for row, col, text in ((2900, left, "oops"), (40, right, "12x5"), (40, len(header) - 1, "n/a")):
        cells = lines[row].split(",")
        cells[col] = text
        lines[row] = ",".join(cells)
    for _ in range(3):  # threads: the same answer every time
        with pytest.raises(DataError) as err:
            read_csv(("\n".join(lines) + "\n").encode(), name="x.csv")
        assert (err.value.row, err.value.column) == (40, "Tot size")
        assert "'12x5'" in str(err.value)


def test_header_case_quotes_and_excel_delimiter_line():
    lines = make_csv(rows=3).decode().splitlines()
    reference = read_csv(make_csv(rows=3), name="x.csv")
    for header in (lines[0].lower(), lines[0].upper(), lines[0].replace("Rate", '"Rate "').replace("IAT", ' " IAT"')):
        ds = read_csv(("\n".join([header, *lines[1:]]) + "\n").encode(), name="x.csv")
        assert ds.layout.name == "v2" and np.array_equal(ds.X, reference.X)
    with pytest.raises(DataError) as err:
        read_csv(b"a,b,c\n1,2,3\n", name="x.csv")
    assert "closest" not in str(err.value) and "none of its columns is a feature ('a', 'b', 'c')" in str(err.value)
    assert "45 features of the v1 release or the 39 of v2" in err.value.hint
    with pytest.raises(DataError, match="closest: v2, 39 features"):  # v2's features less one: v2, not v1
        read_csv(("\n".join(",".join(r.split(",")[1:]) for r in lines) + "\n").encode(), name="x.csv")
    with pytest.raises(DataError, match=r"^x\.csv: the first line is Excel's delimiter line 'sep=;'") as err:
        read_csv(b"sep=;\n" + make_csv(sep=";"), name="x.csv")
    assert "delete that first line" in err.value.hint


def test_bytes_that_are_not_utf8_are_named_with_their_row(tmp_path):
    lines = make_csv(rows=4, label="Benign").splitlines()
    label = lines.copy()
    label[3] = label[3].replace(b"Benign", b"B\xe9nin")
    cell = lines.copy()
    cell[2] = b",".join([b"3\xe92", *lines[2].split(b",")[1:]])
    for rows, column, row, shown in ((label, "label", 3, "B\\xe9nin"), (cell, "Header_Length", 2, "3\\xe92")):
        path = tmp_path / "latin1.csv"
        path.write_bytes(b"\n".join(rows) + b"\n")
        with pytest.raises(DataError) as err:
            read_csv(path)
        assert str(err.value) == (f"latin1.csv, column {column!r}, row {row} (line {row + 1} of the file): not UTF-8 "
                                  f"text (the cell reads '{shown}')")  # fmt: skip
        assert "save the file as UTF-8" in err.value.hint


def test_header_only_without_newline_old_mac_lines_and_numbers_with_commas():
    with pytest.raises(DataError, match=r"^a\.csv: the file has a header but no rows$"):
        read_csv(make_csv(rows=0).rstrip(b"\n"), name="a.csv")
    with pytest.raises(DataError, match=r"^a\.csv: the lines end in a carriage return only \(old Mac") as err:
        read_csv(make_csv(rows=30).replace(b"\n", b"\r"), name="a.csv")
    assert "line endings" in err.value.hint
    lines = make_csv(rows=3).decode().splitlines()
    lines[2] = lines[2].replace("0.0", "1,234", 1)
    with pytest.raises(DataError, match="a row has 40 cells but the header has 39 columns") as err:
        read_csv(("\n".join(lines) + "\n").encode(), name="a.csv")
    assert err.value.row == 2 and "a number written with a comma, 1,234 or 0,5" in err.value.hint


def test_a_split_of_partial_official_files_says_so(v1_sample, v2_sample):
    """Training or evaluating on part of the official v1 files said nothing on the command line (only the Analyze
    page compared files with the official row counts)."""
    from core.loading import official_row_counts

    ds = load_split(v1_sample, "train")
    first = ds.files[0]
    assert first.rows < official_row_counts()[first.name]
    (note,) = [n for n in ds.notes if "only part of the official file" in n]
    assert note.startswith(f"{len(ds.files)} of the {len(ds.files)} files of train/ hold only part of the official "
                           f"file of their name (e.g. {first.name}: {first.rows:,} of {first.expected_rows:,} rows)")  # fmt: skip
    assert not [n for n in load_split(v2_sample, "test").notes if "official file" in n], "v2's counts are unknown"


@pytest.mark.parametrize("where", ["bytes", "file"])
def test_a_bad_rows_error_names_the_files_line_as_a_spreadsheet_numbers_it(where, tmp_path):
    """'row 3' counts data rows below the header, leaving out blank lines and rows of blank cells, so a user who went
    to row 3 in a spreadsheet found another flow. The error now names the file's line too (1: the header)."""
    lines = make_csv(rows=4, label="Benign").decode().splitlines()
    blank_cells = ",".join([""] * len(lines[0].split(",")))
    bad_number = lines[3].split(",")
    bad_number[5] = "abc"
    bad_label = lines[4].rsplit(",", 1)[0] + ",Martians"
    # line 1 header, 2 row 1, 3 blank, 4 blank cells, 5 row 2, 6-7 row 3 (a quoted label over two lines), 8 row 4
    quoted = lines[2].rsplit(",", 1)[0] + ',"Ben\nign"'

    def read(body: list[str]):
        data = ("\n".join(body) + "\n").encode()
        if where == "bytes":
            return read_csv(data, name="x.csv")
        (tmp_path / "x.csv").write_bytes(data)
        return read_csv(tmp_path / "x.csv")

    with pytest.raises(DataError) as err:
        read([lines[0], lines[1], "", blank_cells, lines[2], quoted, ",".join(bad_number)])
    assert err.value.row == 4 and err.value.line == 8
    assert f"column '{FEATURES_V2[5]}', row 4 (line 8 of the file): non-numeric value 'abc'" in str(err.value)
    with pytest.raises(DataError) as err:
        read([lines[0], "", lines[1], blank_cells, blank_cells, bad_label])
    assert str(err.value) == "x.csv, column 'label', row 2 (line 6 of the file): unrecognised label 'Martians'"


@pytest.mark.parametrize("index_name", ["", "Unnamed: 0"])
def test_a_file_saved_with_its_row_numbers_says_so(index_name):
    """A table saved by pandas with its index (to_csv without index=False) has a first column with no name: it was
    refused with "unexpected column(s) ''", which says nothing to someone who does not program."""
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(make_csv(rows=5)))
    text = frame.rename_axis(index_name or None).to_csv().encode()
    assert text.startswith(f"{index_name},".encode())
    with pytest.raises(DataError) as err:
        read_csv(text, name="x.csv")
    if not index_name:
        assert "'' (a column with no name)" in str(err.value)
    assert "row numbers a spreadsheet or pandas saved with the table" in err.value.hint, err.value.hint
    with pytest.raises(DataError) as other:  # another stray column keeps the usual hint
        read_csv(frame.assign(extra=1).to_csv(index=False).encode(), name="x.csv")
    assert "row numbers" not in other.value.hint and "'extra'" in str(other.value)


def test_column_messages_count_their_columns():
    """'missing column(s)' and 'unexpected column(s)' whatever their number: now the noun takes the number's form."""
    with pytest.raises(DataError) as err:
        read_csv(make_csv([f for f in FEATURES_V2 if f not in ("Rate", "IAT")]), name="x.csv")
    assert "missing columns " in str(err.value) and "'Rate'" in str(err.value) and "'IAT'" in str(err.value)
    with pytest.raises(DataError) as err:
        read_csv(make_csv([*FEATURES_V2, "Extra", "More"]), name="x.csv")
    assert "unexpected columns 'Extra', 'More'" in str(err.value)
