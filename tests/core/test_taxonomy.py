"""The taxonomy maps every official file name, exactly, to the right class in all three tasks."""

import numpy as np
import pytest

from core.taxonomy import (
    CATEGORY,
    CLASSES_2,
    CLASSES_6,
    CLASSES_19,
    class_from_filename,
    classes_for_task,
    codes_for_task,
    label_from_text,
    task_label,
)


def _official_names(files_tsv):
    rows = [line.split("\t") for line in files_tsv.read_text().splitlines() if line and not line.startswith("#")]
    return [(path, int(n)) for path, n in rows]


def _expected_label(file_name: str) -> str:
    """An independent reading of DESIGN.md's naming rule, for cross-checking."""
    stem = file_name.split("_train")[0].split("_test")[0]
    stem = stem.removeprefix("TCP_IP-")
    return stem.rstrip("0123456789")


def test_every_official_file_maps_to_its_class(files_tsv):
    names = _official_names(files_tsv)
    assert len(names) == 72
    assert sum(n for _, n in names) == 8_775_013
    seen = set()
    for path, _ in names:
        name = path.split("/")[-1]
        label = class_from_filename(name)
        assert label == _expected_label(name), name
        assert label in CLASSES_19
        seen.add(label)
    assert seen == set(CLASSES_19), "the 72 official files cover all 19 classes"


@pytest.mark.parametrize(
    "name, label, category",
    [
        ("TCP_IP-DDoS-ICMP2_train.pcap.csv", "DDoS-ICMP", "DDoS"),
        ("TCP_IP-DoS-ICMP2_train.pcap.csv", "DoS-ICMP", "DoS"),
        ("TCP_IP-DDoS-UDP3_train.pcap.csv", "DDoS-UDP", "DDoS"),
        ("TCP_IP-DoS-SYN_test.pcap.csv", "DoS-SYN", "DoS"),
        ("MQTT-DDoS-Publish_Flood_test.pcap.csv", "MQTT-DDoS-Publish_Flood", "MQTT"),
        ("MQTT-DoS-Publish_Flood_train.pcap.csv", "MQTT-DoS-Publish_Flood", "MQTT"),
        ("Recon-OS_Scan_test.pcap.csv", "Recon-OS_Scan", "Recon"),
        ("ARP_Spoofing_train.pcap.csv", "ARP_Spoofing", "Spoofing"),
        ("Benign_train.pcap.csv", "Benign", "Benign"),
        ("data/train/TCP_IP-DDoS-SYN4_train.pcap.csv", "DDoS-SYN", "DDoS"),
    ],
)
def test_exact_matching_never_confuses_dos_and_ddos(name, label, category):
    assert class_from_filename(name) == label
    assert task_label(label, 6) == category
    assert task_label(label, 2) == ("Benign" if label == "Benign" else "Attack")


@pytest.mark.parametrize("name", ["capture.csv", "DDoS_stuff.csv", "TCP_IP-DDoS-FOO_train.pcap.csv", "Benignish.csv"])
def test_unknown_names_have_no_class(name):
    assert class_from_filename(name) is None


def test_task_lists_and_mapping_are_consistent():
    assert len(CLASSES_19) == 19 and len(CLASSES_6) == 6 and len(CLASSES_2) == 2
    assert set(CATEGORY) == set(CLASSES_19)
    assert set(CATEGORY.values()) == set(CLASSES_6)
    codes = np.arange(19)
    for task in (2, 6, 19):
        mapped = codes_for_task(codes, task)
        names = classes_for_task(task)
        assert [names[i] for i in mapped] == [task_label(c, task) for c in CLASSES_19]
    with pytest.raises(ValueError):
        classes_for_task(5)


@pytest.mark.parametrize(
    "text, label",
    [
        ("BENIGN", "Benign"),
        ("TCP_IP-DDoS-UDP", "DDoS-UDP"),
        ("TCP_IP-DDoS-UDP7", "DDoS-UDP"),
        ("ddos_udp", "DDoS-UDP"),
        ("DoS-UDP", "DoS-UDP"),
        ("mqtt ddos publish flood", "MQTT-DDoS-Publish_Flood"),
        ("Recon-VulScan", "Recon-VulScan"),
        ("arp_spoofing", "ARP_Spoofing"),
    ],
)
def test_label_column_spellings(text, label):
    assert label_from_text(text) == label


def test_unknown_label_text():
    assert label_from_text("Attack") is None
    assert label_from_text("") is None


def test_task_choices_are_short_and_name_their_task():
    """The select boxes' names of the tasks (Analyze, Compare, Train): the long descriptions were cut off in them."""
    from core.taxonomy import TASK_CHOICES, TASK_DESCRIPTIONS, TASKS

    assert list(TASK_CHOICES) == list(TASKS) == list(TASK_DESCRIPTIONS)
    for task, label in TASK_CHOICES.items():
        assert label.startswith(f"{task} classes: ") and len(label) <= 40, label
