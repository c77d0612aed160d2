"""scorer/core/errors.py: one line per error, one errno table for photos, folders and the CSV."""

from __future__ import annotations

import errno

import pytest

from scorer.core.errors import OS_REASONS, SpeError, os_reason
from scorer.photos.discover import folder_reason


@pytest.mark.parametrize("code, words", sorted(OS_REASONS.items()))
def test_every_errno_in_the_table_reads_as_its_words(code, words):
    assert os_reason(OSError(code, "system words")) == words
    assert folder_reason(OSError(code, "x")) == f"cannot read folder: {words}"


def test_an_errno_outside_the_table_keeps_the_systems_words():
    assert os_reason(OSError(errno.EROFS, "Read-only file system")) == "Read-only file system"


def test_a_reason_is_always_one_line():
    assert SpeError("a\nb\r\n  c").reason == "a b c"
