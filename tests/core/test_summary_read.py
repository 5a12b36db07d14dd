"""Reading a score-many summary.json that was damaged after the run: what it says, and what to do."""

from __future__ import annotations

import json

import pytest

from core.distributed import SUMMARY_FILE, SUMMARY_VERSION, read_summary
from core.errors import CoreError


def test_a_summary_cut_short_says_so_and_how_to_write_it_anew(tmp_path):
    """It said "cannot be read: Expecting ',' delimiter: line 3 column 2 (char 30)" and "run score-many again"."""
    text = json.dumps({"version": SUMMARY_VERSION, "rows": 3, "files": [{"file": "a.csv"}] * 40}, indent=2)
    (tmp_path / SUMMARY_FILE).write_text(text[:300])
    with pytest.raises(CoreError) as err:
        read_summary(tmp_path)
    assert "is cut short: it is no valid JSON from line" in str(err.value), str(err.value)
    assert err.value.hint == f"run python -m core score-many again with --out {tmp_path} --overwrite"


def test_a_summary_edited_into_no_json_is_called_damaged(tmp_path):
    (tmp_path / SUMMARY_FILE).write_text('{"version": 1, "rows": three}')
    with pytest.raises(CoreError) as err:
        read_summary(tmp_path)
    assert "is damaged: it is no valid JSON from line 1, column 24 (Expecting value)" in str(err.value), str(err.value)


def test_a_summary_of_another_version_names_both_versions(tmp_path):
    """It said "is not a score-many summary of version 1" with the hint "run it again"."""
    (tmp_path / SUMMARY_FILE).write_text(json.dumps({"version": SUMMARY_VERSION + 1}))
    with pytest.raises(CoreError) as err:
        read_summary(tmp_path)
    assert f"(it is of version {SUMMARY_VERSION + 1})" in str(err.value), str(err.value)
    assert "--overwrite (with this version of the tool)" in err.value.hint
