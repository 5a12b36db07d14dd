"""The registry keeps what is not a model, and a model folder is read whole or refused: deleting a folder that holds
other things, weights of another model, a bad saved threshold, a damaged export, a model replaced while in use, a
threshold saved while the model is replaced, leftovers of killed saves, and the listing's size and files."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from core import threshold as th
from core.errors import CoreError, ModelFormatError
from core.inference import EXPORT_FILE
from core.pipeline import TrainedModel, delete_model, list_models, read_metadata, writable_registry
from core.taxonomy import CLASSES_19
from core.training import train_model
from tests.core.test_models import blobs

# ---------------------------------------------------------------- small models, trained once


@pytest.fixture(scope="module")
def rf19(tmp_path_factory):
    """A saved rf model of all 19 classes."""
    model, _ = train_model("rf", 19, blobs(labels=list(CLASSES_19), n_per_class=20), params={"n_estimators": 5})
    return model.save(tmp_path_factory.mktemp("rf19") / "rf19")


@pytest.fixture(scope="module")
def rf2(tmp_path_factory):
    model, _ = train_model("rf", 2, blobs(n_per_class=40), params={"n_estimators": 5})
    return model.save(tmp_path_factory.mktemp("rf2") / "rf2")


@pytest.fixture(scope="module")
def lr6(tmp_path_factory):
    model, _ = train_model("lr", 6, blobs(n_per_class=40), params={"max_iter": 50})
    return model.save(tmp_path_factory.mktemp("lr6") / "lr6")


@pytest.fixture(scope="module")
def rf19_small(tmp_path_factory):
    """A saved rf model of the 19-class task on 4 classes (the others absent from training)."""
    model, _ = train_model("rf", 19, blobs(n_per_class=40), params={"n_estimators": 5})
    return model.save(tmp_path_factory.mktemp("rf19s") / "rf19s")


@pytest.fixture(scope="module")
def cnns(tmp_path_factory):
    """Two saved paper-cnn models of the same task and classes, from different seeds."""
    root = tmp_path_factory.mktemp("cnns")
    out = []
    for seed in (0, 1):
        model, _ = train_model("paper-cnn", 6, blobs(n_per_class=40), params={"epochs": 1, "batch_size": 256},
                               seed=seed)  # fmt: skip
        out.append(model.save(root / f"cnn{seed}"))
    return out


def _edit_meta(folder: Path, **fields) -> None:
    path = folder / "metadata.json"
    meta = json.loads(path.read_text())
    meta.update(fields)
    path.write_text(json.dumps(meta))


# ---------------------------------------------------------------- 1. delete keeps what is not a model


def test_delete_refuses_a_registry_folder_that_holds_other_models_or_data(tmp_path, rf2, lr6):
    registry = tmp_path / "registry"
    archive = registry / "archive"
    shutil.copytree(rf2, archive / "rf2")
    shutil.copytree(lr6, archive / "lr6")
    data = registry / "data"
    data.mkdir()
    (data / "Benign_train.pcap.csv").write_text("a,b\n1,2\n")
    (data / "notes.txt").write_text("keep me")
    with pytest.raises(CoreError, match=r"holds other folders/files: archive/lr6/, archive/rf2/; not a model folder: "
                                        r"delete it yourself if you mean to") as err:  # fmt: skip
        delete_model("archive", registry)
    assert err.value.hint
    with pytest.raises(CoreError, match=r"data/Benign_train\.pcap\.csv, data/notes\.txt"):
        delete_model(str(data), registry)
    assert TrainedModel.load(archive / "rf2").family == "rf" and TrainedModel.load(archive / "lr6").family == "lr"
    assert (data / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in registry.iterdir()) == ["archive", "data"], "no .trash-* left either"


def test_delete_removes_a_damaged_folder_that_holds_only_model_files(tmp_path, rf2):
    registry = tmp_path / "registry"
    broken = registry / "broken"
    shutil.copytree(rf2, broken)
    (broken / "metadata.json").unlink()
    (broken / ".metadata.json.0a1b2c3d.tmp").write_text("{")  # what an interrupted atomic write leaves
    blend = registry / "blend"  # a cnn-rf model's parts, metadata gone
    for part, file in (("cnn", "model.keras"), ("cnn", EXPORT_FILE), ("rf", "model.skops")):
        (blend / part).mkdir(parents=True, exist_ok=True)
        (blend / part / file).write_bytes(b"x")
    (registry / "empty").mkdir()
    listed = {m["name"]: m for m in list_models(registry)}
    assert all("error" in listed[n] and listed[n]["deletable"] for n in ("broken", "blend", "empty"))
    for name in ("broken", "blend", "empty"):
        delete_model(name, registry)
    assert list(registry.iterdir()) == []


def test_a_folder_with_no_model_files_is_not_listed_as_a_damaged_model(tmp_path, rf2):
    registry = tmp_path / "registry"
    shutil.copytree(rf2, registry / "good")
    shutil.copytree(rf2, registry / "archive" / "rf2")
    (registry / "data").mkdir()
    (registry / "data" / "x.csv").write_text("a\n1\n")
    mixed = registry / "mixed"  # a damaged model folder with something else in it: listed, but not for deleting
    shutil.copytree(rf2, mixed)
    (mixed / "metadata.json").write_text("{not json")
    (mixed / "my-notes.txt").write_text("keep")
    listed = {m["name"]: m for m in list_models(registry)}
    assert sorted(listed) == ["good", "mixed"], "archive/ and data/ are not models, damaged or not"
    assert "error" not in listed["good"] and "not valid JSON" in listed["mixed"]["error"]
    assert listed["mixed"]["deletable"] is False
    with pytest.raises(CoreError, match=r"mixed/my-notes\.txt"):
        delete_model("mixed", registry)
    assert (mixed / "my-notes.txt").exists()


# ---------------------------------------------------------------- 2. weights of another model


def test_weights_of_another_model_are_refused_at_load(tmp_path, rf19, rf2, lr6):
    two = tmp_path / "two-class-weights"
    shutil.copytree(rf19, two)
    shutil.copy(rf2 / "model.skops", two / "model.skops")
    with pytest.raises(ModelFormatError, match=r"the weights in model\.skops are of a 2-class RandomForestClassifier, "
                                               r"but metadata\.json describes a 19-class rf model") as err:  # fmt: skip
        TrainedModel.load(two)
    assert "train" in err.value.hint
    other = tmp_path / "lr-weights"
    shutil.copytree(rf19, other)
    shutil.copy(lr6 / "model.skops", other / "model.skops")
    with pytest.raises(ModelFormatError, match=r"are of a 4-class LogisticRegression, but metadata\.json describes "
                                               r"a 19-class rf model"):  # fmt: skip
        TrainedModel.load(other)
    assert TrainedModel.load(rf19).classes == list(CLASSES_19)


def test_classes_out_of_taxonomy_order_or_not_the_tasks_are_refused(tmp_path, rf19, rf19_small):
    meta = read_metadata(rf19)
    reversed_ = tmp_path / "reversed"
    shutil.copytree(rf19, reversed_)
    _edit_meta(reversed_, classes=meta["classes"][::-1])
    with pytest.raises(ModelFormatError, match="not in the order of the 19-class taxonomy"):
        TrainedModel.load(reversed_)
    assert "taxonomy" in {m["name"]: m for m in list_models(tmp_path)}["reversed"]["error"]
    fewer = tmp_path / "fewer"
    shutil.copytree(rf19, fewer)
    _edit_meta(fewer, classes=["Benign", "ARP_Spoofing"])
    with pytest.raises(ModelFormatError):
        TrainedModel.load(fewer)
    assert TrainedModel.load(rf19_small).classes == read_metadata(rf19_small)["classes"], "absent classes are fine"


# ---------------------------------------------------------------- 3. the saved alarm threshold


@pytest.mark.parametrize("bad", [7, "0.7", True, 0, -0.2, [0.5]])
def test_a_saved_alarm_threshold_that_is_not_a_probability_is_refused(bad, tmp_path, rf2):
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    _edit_meta(folder, alarm_threshold=bad)
    with pytest.raises(ModelFormatError, match=r"alarm_threshold is .*, not a number above 0 and at most 1"):
        TrainedModel.load(folder)
    assert "alarm_threshold" in {m["name"]: m for m in list_models(tmp_path)}["m"]["error"]


@pytest.mark.parametrize("good", [None, 0.7, 1])
def test_a_saved_alarm_threshold_in_range_loads(good, tmp_path, rf2):
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    _edit_meta(folder, alarm_threshold=good)
    assert TrainedModel.load(folder).metadata["alarm_threshold"] == good


# ---------------------------------------------------------------- 4. saving a threshold under the registry lock


def test_saving_a_threshold_waits_for_a_save_or_delete_of_the_name(tmp_path, rf2):
    from core.pipeline import registry_lock

    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    done = []
    with registry_lock(folder):  # another session replacing or deleting the model holds this
        t = threading.Thread(target=lambda: done.append(th.save_threshold(folder, 0.7)))
        t.start()
        t.join(1.0)
        assert not done and "alarm_threshold" not in read_metadata(folder), "written without the lock"
    t.join(30)
    assert read_metadata(folder)["alarm_threshold"] == 0.7


def test_a_model_replaced_while_its_threshold_is_saved_is_not_changed(tmp_path, rf2, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    other, _ = train_model("lr", 2, blobs(n_per_class=40), params={"max_iter": 50})
    real = th.read_metadata
    calls = []

    def replaced_after_first_read(path):
        meta = real(path)
        if not calls:
            calls.append(1)
            other.save(folder, overwrite=True)  # another session saves another model under the name
        return meta

    monkeypatch.setattr(th, "read_metadata", replaced_after_first_read)
    with pytest.raises(CoreError, match="was replaced") as err:
        th.save_threshold(folder, 0.7)
    assert "again" in err.value.hint
    monkeypatch.undo()
    meta = read_metadata(folder)
    assert meta["family"] == "lr" and "alarm_threshold" not in meta, "the new model's metadata is untouched"


def test_a_threshold_chosen_for_a_model_since_replaced_is_refused(tmp_path, rf2):
    """The dashboard and the command line pass the metadata of the model the threshold was chosen on."""
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    looked_at = TrainedModel.load(folder).metadata
    other, _ = train_model("lr", 2, blobs(n_per_class=40), params={"max_iter": 50})
    other.save(folder, overwrite=True)
    with pytest.raises(CoreError, match="was replaced by another model of that name"):
        th.save_threshold(folder, 0.7, expected=looked_at)
    assert "alarm_threshold" not in read_metadata(folder)
    assert th.save_threshold(folder, 0.7, expected=read_metadata(folder))["alarm_threshold"] == 0.7


def test_a_model_deleted_while_its_threshold_is_saved_is_said(tmp_path, rf2, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    real = th.read_metadata
    calls = []

    def deleted_after_first_read(path):
        meta = real(path)
        if not calls:
            calls.append(1)
            delete_model(folder)
        return meta

    monkeypatch.setattr(th, "read_metadata", deleted_after_first_read)
    with pytest.raises(CoreError, match="was deleted"):
        th.save_threshold(folder, 0.7)
    assert not folder.exists()


def test_a_threshold_that_cannot_be_written_is_a_clear_error(tmp_path, rf2, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)

    def read_only(path, text):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(th, "write_text_atomic", read_only)
    with pytest.raises(CoreError, match=r"could not be written.*Permission denied") as err:
        th.save_threshold(folder, 0.7)
    assert "permission" in err.value.hint.lower()


# ---------------------------------------------------------------- 5. a damaged export is regenerated


@pytest.mark.parametrize("damage", ["truncated", "bad byte"])
def test_a_damaged_export_is_made_again_and_the_model_loads(damage, tmp_path, cnns):
    from core.inference import load_export

    folder = tmp_path / "m"
    shutil.copytree(cnns[0], folder)
    data = (folder / EXPORT_FILE).read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        middle = len(data) // 2
        data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
    (folder / EXPORT_FILE).write_bytes(data)
    assert load_export(folder / "model.keras") is None
    model = TrainedModel.load(folder)
    X = np.random.default_rng(0).normal(size=(50, len(model.layout.features))).astype(np.float32)
    want = TrainedModel.load(cnns[0]).detector.predict_proba(X)
    np.testing.assert_allclose(model.detector.predict_proba(X), want, atol=1e-6)
    assert load_export(folder / "model.keras") is not None, "written again, whole"


# ---------------------------------------------------------------- 6. the network read later is the one loaded


def test_a_network_replaced_or_deleted_after_load_is_not_used(tmp_path, cnns):
    """Scoring runs on the export; the Keras network is read from model.keras only when needed (gradients)."""
    folder = tmp_path / "m"
    shutil.copytree(cnns[0], folder)
    loaded = TrainedModel.load(folder)
    TrainedModel.load(cnns[1]).save(folder, overwrite=True)  # another session replaces the model
    with pytest.raises(ModelFormatError, match="replaced or deleted since it was loaded") as err:
        _ = loaded.detector.model_
    assert "load it again" in err.value.hint
    gone = TrainedModel.load(folder)
    delete_model(folder)
    with pytest.raises(ModelFormatError, match="replaced or deleted since it was loaded"):
        _ = gone.detector.model_
    kept = TrainedModel.load(cnns[0])
    assert kept.detector.model_ is not None, "an unchanged model still reads its network"


def test_a_network_file_replaced_after_load_is_known_without_an_export(tmp_path, cnns, monkeypatch):
    """Where there is no export to know the weights by, the file's identity at load tells a replaced one."""
    from core.models import PaperCNN

    folder = tmp_path / "m"
    shutil.copytree(cnns[0], folder)
    meta = read_metadata(folder)
    det = PaperCNN.load(folder, meta["params"], len(meta["classes"]))
    det.engine_ = None  # as for a network the numpy engine cannot express
    shutil.copy(cnns[1] / "model.keras", folder / "model.keras.new")
    os.replace(folder / "model.keras.new", folder / "model.keras")
    with pytest.raises(ModelFormatError, match="replaced or deleted since it was loaded"):
        _ = det.model_


# ---------------------------------------------------------------- 7. leftovers of killed saves


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_killed_saves_are_swept_for_every_name(tmp_path):
    registry = tmp_path / "registry"
    registry.mkdir()
    dead, host = _dead_pid(), socket.gethostname()
    old = time.time() - 2 * 86400
    swept = [f".tmp-alpha-{dead}-0a1b2c3d@{host}", f".trash-beta-x-{dead}-0a1b2c3d@{host}",
             f".tmp-legacy-{dead}-0a1b2c3d"]  # fmt: skip
    kept = [f".tmp-alive-{os.getpid()}-0a1b2c3d@{host}", f".tmp-elsewhere-{dead}-0a1b2c3d@another-host.example",
            f".tmp-recent-{dead}-0a1b2c3d", f".tmp-alive-legacy-{os.getpid()}-0a1b2c3d", ".hidden-notes"]  # fmt: skip
    for name in swept + kept:
        (registry / name).mkdir()
        (registry / name / "model.skops").write_bytes(b"half")
    for name in swept + kept[:2] + kept[3:]:
        os.utime(registry / name, (old, old))
    link = registry / f".trash-linked-{dead}-0a1b2c3d@{host}"
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    link.symlink_to(target)
    assert list_models(registry) == []
    assert sorted(p.name for p in registry.iterdir()) == sorted(kept)
    assert (target / "keep.txt").exists(), "a link's target is never removed"
    (registry / kept[0]).rename(registry / f".tmp-gamma-{dead}-0a1b2c3d@{host}")
    writable_registry(registry)
    assert not (registry / f".tmp-gamma-{dead}-0a1b2c3d@{host}").exists()


def test_save_names_its_temporary_folder_with_this_host(tmp_path, rf2, monkeypatch):
    model = TrainedModel.load(rf2)
    seen = []
    real = model.detector.save
    model.detector.save = lambda tmp: (seen.append(Path(tmp).name), real(tmp))
    model.save(tmp_path / "x")
    assert seen[0].startswith(f".tmp-x-{os.getpid()}-") and seen[0].endswith(f"@{socket.gethostname()}")


# ---------------------------------------------------------------- 8. the listing's size and files


def _fake_blend(src: Path, dst: Path) -> Path:
    """A cnn-rf folder as saved (metadata, cnn/ and rf/ parts), with stand-in weights (listing reads none)."""
    dst.mkdir()
    meta = json.loads((src / "metadata.json").read_text())
    meta.update(family="cnn-rf", model_file="cnn/model.keras")
    (dst / "metadata.json").write_text(json.dumps(meta))
    for part, file, size in (("cnn", "model.keras", 300_000), ("cnn", EXPORT_FILE, 100_000),
                             ("rf", "model.skops", 1_000_000)):  # fmt: skip
        (dst / part).mkdir(exist_ok=True)
        (dst / part / file).write_bytes(b"x" * size)
    return dst


def test_the_listing_counts_every_file_and_checks_every_part(tmp_path, rf2):
    blend = _fake_blend(rf2, tmp_path / "blend")
    listed = {m["name"]: m for m in list_models(tmp_path)}
    total = sum(f.stat().st_size for f in blend.rglob("*") if f.is_file())
    assert "error" not in listed["blend"] and listed["blend"]["size_bytes"] == total > 1_400_000
    shutil.rmtree(blend / "rf")
    listed = {m["name"]: m for m in list_models(tmp_path)}
    assert "model file missing" in listed["blend"]["error"] and "rf/model.skops" in listed["blend"]["error"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 1.5, -0.1])
def test_a_stored_score_outside_0_to_1_marks_the_model_damaged(bad, tmp_path, rf2):
    """A macro-F1 of NaN in metadata.json loaded, showed as "nan" on every page and sorted anywhere in the rankings."""
    folder = tmp_path / "m"
    shutil.copytree(rf2, folder)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["metrics"]["validation"]["macro_f1"] = bad  # trained without a test split: its validation score is shown
    (folder / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match=r"metrics\.validation\.macro_f1 is .*, not a score from 0 to 1"):
        TrainedModel.load(folder)
    assert "metrics.validation.macro_f1" in {m["name"]: m for m in list_models(tmp_path)}["m"]["error"]
