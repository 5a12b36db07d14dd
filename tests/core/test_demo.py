"""Tests of the synthetic demo data: shapes, determinism, file layout, streaming, class signatures."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import demo
from core.demo_calibrate import DEFAULT_DATA_ROOT, N_LEVELS, calibrate, dumps
from core.schema import V1, V2, detect_layout
from core.taxonomy import CLASSES_19, class_from_filename


def rows(label: str, n: int = 2000, layout=V2, seed: int = 0, **kw) -> pd.DataFrame:
    X = demo.generate_class_rows(label, n, layout, np.random.default_rng(seed), **kw)
    return pd.DataFrame(X, columns=layout.features)


@pytest.mark.parametrize("layout", [V1, V2])
def test_every_class_has_the_layout_shape_and_dtype(layout):
    for label in CLASSES_19:
        X = demo.generate_class_rows(label, 50, layout, np.random.default_rng(1))
        assert X.shape == (50, layout.n_features)
        assert X.dtype == np.float32
        assert not np.isneginf(X).any()
    assert demo.generate_class_rows("Benign", 0, layout, np.random.default_rng(0)).shape == (0, layout.n_features)


def test_layout_may_be_named_and_bad_inputs_are_refused():
    a = demo.generate_class_rows("DoS-TCP", 10, "v2", np.random.default_rng(0))
    b = demo.generate_class_rows("DoS-TCP", 10, V2, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown class 'DoS'"):
        demo.generate_class_rows("DoS", 10, V2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="layout must be one of"):
        demo.generate_class_rows("Benign", 10, "v3", np.random.default_rng(0))


def test_same_seed_same_rows_other_seed_other_rows():
    a = demo.generate_class_rows("Recon-OS_Scan", 300, V2, np.random.default_rng(7))
    b = demo.generate_class_rows("Recon-OS_Scan", 300, V2, np.random.default_rng(7))
    c = demo.generate_class_rows("Recon-OS_Scan", 300, V2, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_class_signatures():
    benign, syn, icmp, udp = rows("Benign"), rows("DDoS-SYN"), rows("DDoS-ICMP"), rows("DoS-UDP")
    assert syn["syn_flag_number"].mean() > benign["syn_flag_number"].mean() + 0.5
    assert syn["syn_count"].mean() > 50
    assert icmp["ICMP"].mean() > 0.95 and (icmp["Protocol Type"] == 1).mean() > 0.95
    assert (icmp["Header_Length"] == 0).mean() > 0.8
    assert udp["UDP"].mean() > 0.95 and (udp["Protocol Type"] == 17).mean() > 0.95
    assert (udp["Number"] == 100).mean() > 0.95 and (benign["Number"] == 10).mean() > 0.95
    assert rows("MQTT-DoS-Publish_Flood")["TCP"].mean() > 0.95
    assert rows("Recon-Ping_Sweep")["ARP"].mean() > 0.4
    # Benign is diverse: several protocols and a wide range of packet sizes.
    assert benign["Protocol Type"].nunique() >= 2 and benign["AVG"].std() > 50


def test_v2_rows_obey_the_identities_of_the_real_data():
    df = pd.concat([rows(c, 500, seed=3, warts=True) for c in CLASSES_19], ignore_index=True)
    n = df["Number"]
    for flag, count in (("ack_flag_number", "ack_count"), ("syn_flag_number", "syn_count")):
        np.testing.assert_array_equal(df[count], np.round(df[flag] * n))
    for col in ("TCP", "UDP", "psh_flag_number", "HTTPS", "Header_Length"):
        k = df[col].to_numpy(float) * n
        assert np.allclose(k, np.round(k), atol=1e-3)
    mix = df[["TCP", "UDP", "ICMP", "ARP", "IGMP"]].sum(axis=1)
    assert np.allclose(mix, 1.0, atol=1e-5)
    assert np.allclose(df["IPv"], 1.0 - df["ARP"], atol=1e-6) and (df["LLC"] == df["IPv"]).all()
    assert np.allclose(df["Tot sum"], df["AVG"] * n, rtol=1e-5) and (df["Tot size"] == df["AVG"]).all()
    assert ((df["Min"] <= df["AVG"] + 1e-3) & (df["AVG"] <= df["Max"] + 1e-3)).all()
    ok = df["Std"].notna()
    assert np.allclose(df.loc[ok, "Variance"], df.loc[ok, "Std"] ** 2, rtol=1e-4)
    assert ((df.loc[ok, "Std"] == 0) == (df.loc[ok, "Min"] == df.loc[ok, "Max"])).all()
    assert df["Rate"].isin([np.inf]).sum() > 0  # warts: inf where IAT <= 0, as in the real files
    assert (np.isinf(df.loc[df["IAT"] <= 0, "Rate"])).all()


def test_warts_off_gives_finite_values():
    X = np.vstack([demo.generate_class_rows(c, 300, V2, np.random.default_rng(0), warts=False) for c in CLASSES_19])
    assert np.isfinite(X).all()


def test_v1_rows_obey_the_v1_identities():
    for label in ("Recon-OS_Scan", "Benign", "DDoS-UDP"):  # in the v1 sample, and two fallbacks
        df = rows(label, 500, layout=V1)
        assert np.isfinite(df.to_numpy()).all()
        assert (df["Srate"] == df["Rate"]).all() and (df["Drate"] == 0).all() and (df["LLC"] == df["IPv"]).all()
        assert ((df["Std"] == 0) <= (df["Radius"] == 0)).all()
        assert (df["Weight"] > 0).all() and (df["Magnitue"] > 0).all()


def test_plans_use_official_names_that_map_to_their_class():
    plan = demo.plan_files()
    assert {(s, lab) for s, _n, lab, _c in plan} == {(s, c) for s in ("train", "test") for c in CLASSES_19}
    for split, name, label, count in plan:
        assert class_from_filename(name) == label and name.endswith(f"_{split}.pcap.csv")
        assert count >= 100
    train = {lab: c for s, _n, lab, c in plan if s == "train"}
    assert train["DDoS-UDP"] > 5 * train["Recon-Ping_Sweep"] and train["Recon-Ping_Sweep"] >= 300
    assert "TCP_IP-DDoS-UDP1_train.pcap.csv" in {n for _s, n, _l, _c in plan}
    official = demo.plan_files("official")
    assert len(official) == 72 and sum(c for *_x, c in official) == 8_775_013
    assert sum(c for *_x, c in demo.plan_files("official", scale=0.001)) < 10_000
    assert demo.plan_files({"Benign": (10, 3)}) == [
        ("train", "Benign_train.pcap.csv", "Benign", 10),
        ("test", "Benign_test.pcap.csv", "Benign", 3),
    ]
    with pytest.raises(ValueError, match="unknown class"):
        demo.plan_files({"benign": 10})


@pytest.mark.parametrize("layout", [V2, V1])
def test_write_demo_dataset_official_layout(tmp_path, layout):
    wanted = {"Benign": (40, 10), "DDoS-UDP": (30, 8), "ARP_Spoofing": (12, 5)}
    manifest = demo.write_demo_dataset(tmp_path, layout=layout.name, rows_per_class=wanted, seed=1)
    assert manifest["total_rows"] == 105 and manifest["rows"] == {"train": 82, "test": 23}
    assert set(manifest["files"]) == {
        "train/Benign_train.pcap.csv", "train/TCP_IP-DDoS-UDP1_train.pcap.csv", "train/ARP_Spoofing_train.pcap.csv",
        "test/Benign_test.pcap.csv", "test/TCP_IP-DDoS-UDP1_test.pcap.csv", "test/ARP_Spoofing_test.pcap.csv",
    }  # fmt: skip
    for rel, count in manifest["files"].items():
        path = tmp_path / rel
        label = class_from_filename(path.name)
        assert label == manifest["labels"][rel]
        assert path.read_text().splitlines()[0] == ",".join(layout.features)
        frame = pd.read_csv(path)
        assert detect_layout(list(frame.columns)) == layout
        assert len(frame) == count == wanted[label][0 if rel.startswith("train/") else 1]
        assert frame.dtypes.map(lambda t: t.kind == "f" or t.kind == "i").all()


def test_streaming_in_small_chunks_writes_exact_counts_and_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "BLOCK_ROWS", 64)  # several blocks per file
    wanted = {"DoS-SYN": (203, 51), "Recon-Port_Scan": (97, 0)}
    calls = []
    small = demo.write_demo_dataset(
        tmp_path / "a", rows_per_class=wanted, chunk_rows=10, progress=lambda d, t: calls.append((d, t))
    )
    big = demo.write_demo_dataset(tmp_path / "b", rows_per_class=wanted)
    assert (
        small["files"]
        == big["files"]
        == {
            "train/TCP_IP-DoS-SYN1_train.pcap.csv": 203,
            "test/TCP_IP-DoS-SYN_test.pcap.csv": 51,
            "train/Recon-Port_Scan_train.pcap.csv": 97,
        }
    )
    for rel, count in small["files"].items():
        text = (tmp_path / "a" / rel).read_bytes()
        assert text == (tmp_path / "b" / rel).read_bytes()
        assert text.count(b"\n") == count + 1
    assert len(calls) > 30 and calls[-1] == (351, 351)
    assert all(d1 < d2 for (d1, _), (d2, _) in itertools.pairwise(calls))


def test_write_demo_csv_is_a_capture_with_attack_bursts(tmp_path):
    wanted = {"Benign": 90, "DDoS-SYN": 20, "Recon-Port_Scan": 15}
    labels = demo.write_demo_csv(tmp_path / "mixed.csv", "v2", wanted, seed=2, with_label_column=True)
    frame = pd.read_csv(tmp_path / "mixed.csv")
    assert list(frame.columns) == [*V2.features, "label"]
    assert list(frame["label"]) == list(labels) and len(labels) == 125
    runs = [labels[0]] + [b for a, b in itertools.pairwise(labels) if a != b]
    assert runs == ["Benign", "DDoS-SYN", "Benign", "Recon-Port_Scan", "Benign"]
    assert frame.loc[frame["label"] == "DDoS-SYN", "syn_flag_number"].mean() > 0.5
    plain = demo.write_demo_csv(tmp_path / "plain.csv", V1, {"Benign": 5, "Recon-OS_Scan": 5}, seed=2)
    assert pd.read_csv(tmp_path / "plain.csv").shape == (10, V1.n_features) and len(plain) == 10
    default = demo.write_demo_csv(tmp_path / "default.csv")
    assert set(default) == set(CLASSES_19)


def test_dos_and_ddos_of_one_protocol_are_confusable():
    from sklearn.ensemble import RandomForestClassifier

    train = [
        demo.generate_class_rows(c, 400, V2, np.random.default_rng(i)) for i, c in enumerate(("DoS-UDP", "DDoS-UDP"))
    ]
    test = [
        demo.generate_class_rows(c, 200, V2, np.random.default_rng(9 + i))
        for i, c in enumerate(("DoS-UDP", "DDoS-UDP"))
    ]
    y_train, y_test = np.repeat([0, 1], 400), np.repeat([0, 1], 200)
    forest = RandomForestClassifier(n_estimators=30, random_state=0).fit(np.nan_to_num(np.vstack(train)), y_train)
    accuracy = (forest.predict(np.nan_to_num(np.vstack(test), posinf=0)) == y_test).mean()
    assert 0.6 < accuracy < 0.99


def test_stats_json_is_small_and_holds_statistics_only():
    path = demo.STATS_PATH
    assert path.stat().st_size < 600_000
    stats = json.loads(path.read_text())
    assert set(stats["v2"]["classes"]) == set(CLASSES_19)
    for layout in ("v1", "v2"):
        for spec in stats[layout]["classes"].values():
            assert set(spec) <= {"rows", "marginals", "copula", "rate"}
            for marginal in spec["marginals"].values():
                assert len(marginal.get("q", marginal.get("v", [0]))) <= N_LEVELS
            k = len(spec["copula"]["features"])
            assert len(spec["copula"]["corr"]) == k * (k - 1) // 2


@pytest.mark.skipif(not (DEFAULT_DATA_ROOT / "ciciomt2024-v2-sample").is_dir(), reason="shared real samples absent")
def test_stats_json_is_up_to_date_with_the_samples():
    fresh = json.loads(dumps(calibrate(DEFAULT_DATA_ROOT)))
    stored = json.loads(Path(demo.STATS_PATH).read_text())
    for layout in ("v1", "v2"):
        for label, spec in stored[layout]["classes"].items():
            new = fresh[layout]["classes"][label]
            assert new["marginals"] == spec["marginals"] and new.get("rate") == spec.get("rate")
            assert new["copula"]["features"] == spec["copula"]["features"]
            # Eigen-decompositions may differ in the last bit between BLAS builds.
            np.testing.assert_allclose(new["copula"]["corr"], spec["copula"]["corr"], atol=0.0021)
    assert fresh["v1"]["fallback"] == stored["v1"]["fallback"]
