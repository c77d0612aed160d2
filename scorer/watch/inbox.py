"""The inbox: which files are wanted, the scan, the moves, and the memory of handled files.

Symlinks in the inbox are not followed (each gets an error row from the
engine), so a link dropped into a shared inbox cannot make the daemon read a
file outside it; nor are symlinked folders, wherever they appear (in the inbox at
start, inside a folder moved in, or reported by watchdog as a created folder):
every path scanned or reported is resolved and must lie inside the inbox. A
folder named like a photo (``x.jpg/``) is a folder: the photos inside it are
scored. Temporary and junk names wait for their rename.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from scorer.core.ownfiles import sync_folder
from scorer.core.text import display_path
from scorer.photos.decode import Identity, current_identity
from scorer.photos.discover import folder_reason, is_junk_dir, is_other_image, is_photo_name
from scorer.watch.completion import Stat, lstat

log = logging.getLogger("spe.watch")


class Inbox:
    def __init__(self, root: Path, excluded: list[Path],
                 stat: Callable[[str], Stat | None] = lstat) -> None:
        self.root = root.resolve()
        self.excluded = [p.resolve() for p in excluded]
        self._stat = stat
        # Files already handled and still in the inbox (no --processed): a scan
        # passes over them while their size and mtime stay the same.
        self._handled: dict[str, Stat] = {}
        self._reported: dict[str, str] = {}  # unreadable folders already logged, and why
        # Photos whose move failed: when to try again, and how many tries so far.
        self._move_retry: dict[str, tuple[float, int]] = {}

    def inside(self, path: str | Path) -> bool:
        """``path``'s folder, with every symlink in it resolved, lies in the inbox."""
        real = Path(os.path.realpath(os.path.dirname(path)))
        return real == self.root or self.root in real.parents

    def wanted(self, path: str) -> bool:
        """A photo in the inbox (not in processed/failed, junk or temporary), reached
        through no symlinked folder."""
        p = Path(path)
        if not is_photo_name(p.name):
            return False
        try:
            relative = p.relative_to(self.root)
        except ValueError:
            return False
        if not self.inside(p):
            self._linked_folder(p.parent)
            return False
        if any(is_junk_dir(part) for part in relative.parts[:-1]):
            return False
        return not any(p == ex or ex in p.parents for ex in self.excluded)

    def _linked_folder(self, folder: Path) -> None:
        key = str(folder)
        if self._reported.get(key) != "linked":
            self._reported[key] = "linked"
            log.warning("passed over %s: a symlinked folder (or inside one); spe reads only "
                        "what lies in the inbox itself", display_path(folder))

    def scan(self, folder: Path, skip: Callable[[str], bool]) -> Iterator[tuple[str, Stat]]:
        """Every wanted photo under ``folder`` not handled yet (nor ``skip``ped), with its stat.
        A symlinked ``folder`` (watchdog reports a link to a folder as a created folder) is
        passed over: os.walk would follow it, though it follows none of those below."""
        if os.path.islink(folder) or not self.inside(folder / "x"):
            self._linked_folder(folder)
            return
        for root, dirs, files in os.walk(folder, onerror=self._unreadable):
            for linked in [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                self._linked_folder(Path(root, linked))  # os.walk lists it, never enters it
                dirs.remove(linked)
            dirs[:] = [d for d in dirs if not is_junk_dir(d)
                       and Path(root, d).resolve() not in self.excluded]
            for name in files:
                path = os.path.join(root, name)
                if not self.wanted(path):
                    self.passed_over(path)
                    continue
                if skip(path):
                    continue
                stat = self._stat(path)
                if stat is None or self._handled.get(path) == stat:
                    continue
                yield path, stat

    def passed_over(self, path: str) -> None:
        """A picture spe does not read (a GIF, a camera raw): said once, not passed over in
        silence (other files, temporary names and spe's own files are not pictures)."""
        if is_other_image(os.path.basename(path)) and path not in self._reported:
            p = Path(path)
            if any(p == ex or ex in p.parents for ex in self.excluded):
                return
            self._reported[path] = "passed over"
            log.warning("not scored: %s: spe reads JPEG, PNG, WebP and HEIC photos",
                        display_path(path))

    def _unreadable(self, exc: OSError) -> None:
        """A folder the scan cannot list: said once (until its reason changes), never
        passed over in silence."""
        path, reason = exc.filename or "?", folder_reason(exc)
        if self._reported.get(path) != reason:
            self._reported[path] = reason
            log.warning("%s: %s; its photos are not scored", display_path(path), reason)

    @staticmethod
    def recent(stat: Stat, seconds: float) -> bool:
        """Changed in the last ``seconds``: maybe still being written."""
        return time.time() - stat[1] / 1e9 < seconds

    def remember(self, path: str, stat: Stat | None) -> None:
        """Handled (its row is written) but left in the inbox: not to be scored again."""
        if stat is not None:
            self._handled[path] = stat

    def prune(self) -> int:
        """Forget handled files that are gone or changed (a changed one is new work), and
        those whose failed move is due again (the scan finds them scored, and moves them)."""
        stale = [p for p, s in self._handled.items() if self._stat(p) != s]
        now = time.monotonic()
        due = [p for p, (at, _) in self._move_retry.items() if at <= now and p in self._handled]
        for path in {*stale, *due}:
            del self._handled[path]
        # What was only seen (names passed over, folders said unreadable, moves to retry)
        # is kept while it is there: a daemon's memory follows the inbox, not its history.
        for seen in (self._reported, self._move_retry):
            for path in [p for p in seen if not os.path.lexists(p)]:
                del seen[path]
        return len(stale)

    def move(self, path: str, target: Path, identity: Identity | None = None) -> bool:
        """Move a photo whose row is on disk, keeping its place under the inbox.

        False when the file moved was not the one scored (replaced in the instant
        between the check and the rename): it is put back, to be scored as new.
        A failed move leaves the photo in the inbox and nothing in ``target``.
        """
        try:
            relative = Path(path).relative_to(self.root)
            destination = free_name(real_folders(target, relative.parent) / relative.name)
            _move_whole(path, destination)
        except (OSError, ValueError) as exc:
            self._move_failed(path, target, exc)
            return True
        self._move_retry.pop(path, None)
        log.info("moved %s to %s", display_path(path), display_path(destination))
        moved = current_identity(destination)
        if identity is None or _same_file(identity, moved):
            self._remove_emptied(Path(path).parent)
            return True
        try:
            if not os.path.lexists(path):
                os.rename(destination, path)
        except OSError as exc:
            log.warning("cannot put %s back: %s", display_path(destination), exc.strerror)
        log.warning("%s was replaced while being moved; scoring it again", display_path(path))
        return False

    def _remove_emptied(self, folder: Path) -> None:
        """Remove the sub-folders a move left empty, from ``folder`` up, never the inbox
        itself: rmdir fails on a folder that holds anything (an uploader's new file
        included), so only a folder empty at that instant goes."""
        while folder != self.root and self.root in folder.parents:
            try:
                os.rmdir(folder)
            except OSError:
                return
            log.debug("removed the empty folder %s", display_path(folder))
            folder = folder.parent

    def _move_failed(self, path: str, target: Path, exc: Exception) -> None:
        """Leave the photo where it is (its row is written: not scored again) and try the
        move again later, waiting twice as long after each failure (up to an hour)."""
        _, tries = self._move_retry.get(path, (0.0, 0))
        wait = min(MOVE_RETRY_MAX, MOVE_RETRY_FIRST * 2 ** tries)
        self._move_retry[path] = (time.monotonic() + wait, tries + 1)
        reason = getattr(exc, "strerror", None) or str(exc)
        log.warning("cannot move %s to %s: %s; it stays in the inbox, tried again in %d s",
                    display_path(path), display_path(target), reason, wait)
        self.remember(path, self._stat(path))


NAME_MAX = 255  # bytes, on every Linux file system the inbox is likely to be on
MOVE_RETRY_FIRST = 60.0  # seconds before a failed move is tried again; doubled each time
MOVE_RETRY_MAX = 3600.0


def real_folders(root: Path, relative: Path) -> Path:
    """``root / relative``, each folder below ``root`` made if missing and refused if it
    is a symlink or not a folder: a link planted in processed/ would take photos out of
    it, or back into the inbox, where they would be moved again and again."""
    root.mkdir(parents=True, exist_ok=True)
    folder = root
    for part in relative.parts:
        folder = folder / part
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder)
        what = ("a symlink" if os.path.islink(folder)
                else "" if os.path.isdir(folder) else "not a folder")
        if what:
            raise ValueError(f"{display_path(folder)} is {what}; photos are not moved through it")
    return folder


def free_name(destination: Path) -> Path:
    """``destination``, or ``name-1.jpg``, ``name-2.jpg``... if taken; a name too long for
    the file system (a suffix on a 255-byte name) is shortened, keeping its extension."""
    stem, suffix, n = os.fsencode(destination.stem), destination.suffix, 0
    while True:
        tail = f"-{n}{suffix}" if n else suffix
        room = NAME_MAX - len(os.fsencode(tail))
        cut = min(room, len(stem))
        while 0 < cut < len(stem) and stem[cut] & 0xC0 == 0x80:
            cut -= 1  # never inside a UTF-8 character; other bytes are kept as they are
        candidate = destination.with_name(os.fsdecode(stem[:cut]) + tail)
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
        n += 1


def _move_whole(path: str, destination: Path) -> None:
    """Move durably, never leaving two copies or none. A rename, then both folders
    synced; across file systems a copy to a hidden temporary name (a full disk leaves
    no partial photo), synced with its folder before it takes the photo's name and
    before the original goes: a power cut 8 s after 20 unsynced copies left 20 empty
    files. An original that cannot be removed (a read-only inbox) takes its copy back
    out, so a retry does not add another."""
    try:
        os.rename(path, destination)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    else:
        sync_folder(destination.parent)
        sync_folder(Path(path).parent)
        return
    partial = destination.with_name(f".{destination.name[:200]}.spe-partial")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(partial)  # a leftover, or a planted link: the entry itself goes
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as target, open(path, "rb") as source:
            shutil.copyfileobj(source, target)
            target.flush()
            os.fsync(target.fileno())
        shutil.copystat(path, partial, follow_symlinks=False)
        os.rename(partial, destination)
        sync_folder(destination.parent)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    try:
        os.unlink(path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(destination)
            sync_folder(destination.parent)
        raise
    sync_folder(Path(path).parent)


def _same_file(identity: Identity, moved: Identity | None) -> bool:
    if moved is None:
        return False
    if moved[0] == identity[0]:
        return moved[1:] == identity[1:]
    return moved[2:] == identity[2:]  # copied across file systems: same size and mtime
