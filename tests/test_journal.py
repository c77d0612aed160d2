"""The decode journal beside the CSV (scorer/ledger/journal.py): read as untrusted, never
followed through a link, and keyed by the photo's bytes, not its name. The units on
the module itself, then the real daemon.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from scorer.ledger.journal import DecodeJournal, journal_path_for
from tests.daemon import Daemon

pytestmark = [pytest.mark.fault]
SHA_A, SHA_B = "a" * 64, "b" * 64


@pytest.mark.parametrize("content", [
    "[1, 2, 3]\n", "null\n", '"text"\n', '{"path": 5, "crashes": 1}\n',
    '{"path": "x.jpg", "crashes": 1e999}\n', '{"path": "x.jpg", "crashes": -3}\n',
    '{"path": ["x"], "crashes": 1}\n', '{"path": "x.jpg", "crashes": true}\n',
    "\x00\xff garbage\n", "",
], ids=["list", "null", "string", "number-path", "inf-crashes", "negative", "list-path",
        "bool-crashes", "binary", "empty"])
def test_any_shape_of_journal_is_ignored_not_a_traceback(tmp_path, content):
    """Before, "crashes": 1e999 (and other shapes) gave a traceback at every start."""
    path = tmp_path / ".scores.csv.decoding"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    journal = DecodeJournal(path)
    assert journal.suspects == {}
    journal.close()


def test_a_folder_at_the_journals_name_is_one_line_and_no_journal(tmp_path, caplog):
    path = tmp_path / ".scores.csv.decoding"
    path.mkdir()
    with caplog.at_level("WARNING", logger="spe.watch"):
        journal = DecodeJournal(path)
    with journal.decoding("x.jpg", SHA_A):
        pass
    journal.close()
    assert path.is_dir() and "cannot keep the decode journal there" in caplog.text


def test_a_symlink_at_the_journals_name_is_not_followed(tmp_path):
    """Before, a planted link made every start truncate the file it points to."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o600)
    path = tmp_path / ".scores.csv.decoding"
    path.symlink_to(victim)
    journal = DecodeJournal(path)
    with journal.decoding("x.jpg", SHA_A):
        pass
    journal.close()
    assert victim.read_text() == "precious\n"


def test_the_refusal_follows_the_photos_bytes_not_its_name(tmp_path):
    path = tmp_path / ".scores.csv.decoding"
    path.write_text(json.dumps({"path": "in/x.jpg", "sha256": SHA_A, "crashes": 1}) + "\n")
    journal = DecodeJournal(path)
    assert journal.refused("in/x.jpg", SHA_A) is not None  # decoding at two crashes
    assert journal.refused("in/x.jpg", SHA_B) is None  # another photo under that name
    journal.close()


@pytest.mark.slow
def test_a_good_photo_under_a_refused_photos_name_is_scored(tmp_path, burst):
    """Before, after a photo was refused ("died 2 times"), a different, good photo dropped
    under the same name was refused too, for the daemon's whole life."""
    inbox, out = tmp_path / "inbox", tmp_path / "scores.csv"
    inbox.mkdir()
    killer, good = burst[0].read_bytes(), burst[1].read_bytes()
    name = inbox / "photo.jpg"
    journal = journal_path_for(out)
    journal.write_text(json.dumps({"path": str(name), "sha256": hashlib.sha256(
        killer).hexdigest(), "crashes": 1}) + "\n")
    name.write_bytes(killer)
    daemon = Daemon(inbox, out)
    try:
        first = daemon.wait_rows(1)
        assert "died 2 times while decoding this file" in first[0]["error"]
        staged = tmp_path / "staged.jpg"
        staged.write_bytes(good)
        shutil.move(staged, name)  # a new photo under the same name
        rows = daemon.wait_rows(2)
        assert rows[1]["status"] == "ok", rows
        assert rows[1]["sha256"] == hashlib.sha256(good).hexdigest()
    finally:
        assert daemon.stop() == 0


@pytest.mark.slow
@pytest.mark.parametrize("planted", ["symlink", "folder", "inf"])
def test_the_daemon_starts_whatever_is_at_the_journals_name(tmp_path, photos, planted):
    inbox, out = tmp_path / "inbox", tmp_path / "scores.csv"
    shutil.copytree(photos, inbox)
    journal = journal_path_for(out)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    if planted == "symlink":
        journal.symlink_to(victim)
    elif planted == "folder":
        journal.mkdir()
    else:
        journal.write_text('{"path": "x", "crashes": 1e999}\n')
    daemon = Daemon(inbox, out)
    try:
        assert len(daemon.wait_rows(5)) == 5
    finally:
        assert daemon.stop() == 0
    assert victim.read_text() == "precious\n"
    assert "Traceback" not in daemon.log_text()
