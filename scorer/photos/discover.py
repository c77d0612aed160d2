"""Turn the paths a person typed (files, folders, glob patterns) into photo files."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from scorer.core.errors import os_reason

PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
# Pictures spe does not read: the daemon says so in its log instead of passing over them.
OTHER_IMAGE_EXTENSIONS = (".gif", ".bmp", ".tif", ".tiff", ".avif", ".jxl", ".dng", ".raw",
                          ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".svg")
# NAS and desktop litter: Synology thumbnails, recycle bins, macOS metadata.
JUNK_DIRS = {"@eaDir", "#recycle", "#snapshot", "__MACOSX", "lost+found"}
# Names that are still being written by a downloader or an editor.
TEMP_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial", ".swp")


def is_photo_name(name: str) -> bool:
    """A photo a folder listing should pick up: right extension, not hidden or temporary."""
    lower = name.lower()
    return (lower.endswith(PHOTO_EXTENSIONS) and not name.startswith((".", "~"))
            and not lower.endswith(TEMP_SUFFIXES))


def is_other_image(name: str) -> bool:
    """A picture in a format spe does not score (GIF, TIFF, camera raw...)."""
    return name.lower().endswith(OTHER_IMAGE_EXTENSIONS) and not name.startswith((".", "~"))


def is_junk_dir(name: str) -> bool:
    return name.startswith(".") or name in JUNK_DIRS


def list_folder(folder: str, recursive: bool,
                unreadable: list[tuple[str, str]] | None = None) -> Iterator[str]:
    """Photos in a folder, sorted; symlinked folders are not followed (no loops).

    A folder that cannot be listed (permission denied, a path too long) is put
    in ``unreadable`` with the reason, never passed over in silence.
    """
    def note(exc: OSError) -> None:
        if unreadable is not None:
            unreadable.append((exc.filename or folder, folder_reason(exc)))

    for root, dirs, files in os.walk(folder, followlinks=False, onerror=note):
        dirs[:] = sorted(d for d in dirs if not is_junk_dir(d)) if recursive else []
        for name in sorted(files):
            if is_photo_name(name):
                yield os.path.join(root, name)


def folder_reason(exc: OSError) -> str:
    return f"cannot read folder: {os_reason(exc)}"


# Names kept to list each file once: the most recent only, so a stream of paths without
# end (`find / | spe batch-score -`, `yes a.jpg | spe batch-score -`) holds bounded memory.
# A name repeated further apart than this is listed again; the ledger then skips it.
SEEN_KEPT = 1 << 16


# A path on standard input longer than this is not a path (PATH_MAX is 4,096 bytes): it
# is passed over, said once, without holding it all (`yes | tr -d '\\n' | spe batch-score -`).
MAX_PATH_BYTES = 1 << 16
STDIN_CHUNK = 1 << 16


def stdin_paths(stream: BinaryIO, null: bool,
                too_long: Callable[[int], None]) -> Iterator[str]:
    """The paths on ``stream``, one per line (or NUL-ended with ``null``), as they arrive;
    ``too_long(bytes)`` is told of each one past MAX_PATH_BYTES, which is passed over."""
    end = b"\0" if null else b"\n"
    pending, dropping = b"", 0
    # read1: what has arrived, so a slow writer's paths are scored as they come.
    read = getattr(stream, "read1", stream.read)
    while chunk := read(STDIN_CHUNK):
        *whole, pending = (pending + chunk).split(end)
        for raw in whole:
            if dropping:
                too_long(dropping + len(raw))
                dropping = 0
            elif len(raw) > MAX_PATH_BYTES:
                too_long(len(raw))
            elif path := _stdin_path(raw, null):
                yield path
        if len(pending) > MAX_PATH_BYTES:
            dropping, pending = dropping + len(pending), b""
    if dropping:
        too_long(dropping + len(pending))
    elif pending and len(pending) <= MAX_PATH_BYTES and (path := _stdin_path(pending, null)):
        yield path


def _stdin_path(raw: bytes, null: bool) -> str:
    path = os.fsdecode(raw)
    if not null:
        path = path.rstrip("\r")
    return path if path.strip() else ""


def with_stdin(paths: list[str], stdin: Iterable[str]) -> Iterator[str]:
    """``paths`` with ``-`` standing for the paths of ``stdin`` (read once, where it is)."""
    for path in paths:
        if path == "-":
            yield from stdin
        else:
            yield path


@dataclass
class Notes:
    """What a listing met besides photos, as it met it: patterns that matched nothing,
    folders that could not be listed (path, reason), folders given that hold no photo."""
    unmatched: list[str] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


def expand(paths: Iterable[str], recursive: bool = False,
           unreadable: list[tuple[str, str]] | None = None,
           empty: list[str] | None = None) -> tuple[list[str], list[str]]:
    """``(photos, unmatched)``: photo files in order given, and inputs that matched nothing;
    folders that could not be listed go to ``unreadable`` as (path, reason), and folders
    given that hold no photo to ``empty``."""
    notes = Notes(unreadable=unreadable if unreadable is not None else [],
                  empty=empty if empty is not None else [])
    photos = list(photos_of(paths, recursive, notes))
    return photos, notes.unmatched


def photos_of(paths: Iterable[str], recursive: bool, notes: Notes) -> Iterator[str]:
    """The photo files of ``paths``, in the order given, as they are listed: ``paths`` is
    read one at a time, so it may be a stream without end.

    A file named explicitly is always taken (a wrong format then gets its error
    row); folder listings keep only photo names. Each file is listed once (among the
    last SEEN_KEPT names).
    """
    seen: OrderedDict[str, None] = OrderedDict()

    def new(path: str) -> bool:
        key = os.path.normpath(path)
        if key in seen:
            seen.move_to_end(key)
            return False
        seen[key] = None
        if len(seen) > SEEN_KEPT:
            seen.popitem(last=False)
        return True

    for given in paths:
        if os.path.isdir(given):
            found = False
            for path in list_folder(given, recursive, notes.unreadable):
                found = True
                if new(path):
                    yield path
            if not found:
                notes.empty.append(given)
        elif os.path.lexists(given) or not glob.has_magic(given):
            if new(given):
                yield given  # one that does not exist is scored as an error row
        else:
            matched = matching(given, recursive)
            if not matched:
                notes.unmatched.append(given)
            yield from (path for path in _photos_matched(matched, recursive, notes.unreadable)
                        if new(path))


def _photos_matched(matched: list[str], recursive: bool,
                    unreadable: list[tuple[str, str]]) -> Iterator[str]:
    """The photos among a glob pattern's matches (inside the folders it matched too)."""
    for path in matched:
        if os.path.isdir(path):
            yield from list_folder(path, recursive, unreadable)
        elif is_photo_name(os.path.basename(path)):
            yield path


def no_photos_line(folder: str) -> str:
    """What to say of a folder given that holds no photo: an empty day of a cron job is
    normal, a mistyped folder is not, and either way the person is told."""
    looked = ", ".join(e for e in PHOTO_EXTENSIONS if e != ".heif")
    return f"no photos found in {folder} (looked for {looked})"


def missing_inputs(paths: Iterable[str], recursive: bool = False) -> list[str]:
    """The paths and patterns that match nothing at all: a usage error, not a CSV row."""
    missing = []
    for given in paths:
        if os.path.lexists(given):
            continue
        if glob.has_magic(given) and matching(given, recursive):
            continue
        missing.append(given)
    return missing


def matching(pattern: str, recursive: bool) -> list[str]:
    """The paths ``pattern`` matches, sorted. With ``recursive``, ``**`` matches any
    number of folders, as glob's does, but no symlinked folder is entered (glob's ``**``
    follows them: one link to a parent listed each photo 41 times, two made it
    exponential). Without it, ``**`` is ``*``, as in glob."""
    if not (recursive and "**" in pattern):
        return sorted(glob.glob(pattern))
    head = pattern.split("**", 1)[0]
    top = os.path.dirname(head) if not head.endswith(os.sep) else head.rstrip(os.sep) or os.sep
    tops = sorted(glob.glob(top)) if glob.has_magic(top) else [top or "."]
    wanted = re.compile(_regex(pattern))
    found: list[str] = []
    for start in tops:
        found += _walk_matching(start, wanted, strip="./" if not top else "")
    return sorted(found)


def _walk_matching(start: str, wanted: re.Pattern[str], strip: str) -> list[str]:
    """Files and folders under ``start`` whose path matches, never through a link."""
    found = []
    for root, dirs, files in os.walk(start, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and not os.path.islink(os.path.join(root, d)))
        for name in [*dirs, *files]:
            if name.startswith("."):
                continue
            path = os.path.join(root, name)
            shown = path[len(strip):] if strip and path.startswith(strip) else path
            if wanted.fullmatch(shown):
                found.append(shown)
    return found


def _regex(pattern: str) -> str:
    """A glob pattern as a regular expression: ``**/`` any folders (none included), ``*``
    and ``?`` within one name, ``[...]`` as fnmatch reads it."""
    out = []
    for part in re.split(r"(\*\*/?|\*|\?|\[[^\]/]+\])", pattern):
        if part == "**/":
            out.append("(?:[^/]*/)*")
        elif part == "**":
            out.append(".*")
        elif part == "*":
            out.append("[^/]*")
        elif part == "?":
            out.append("[^/]")
        elif part.startswith("[") and part.endswith("]") and len(part) > 2:
            out.append(fnmatch.translate(part)[4:-3])
        else:
            out.append(re.escape(part))
    return "".join(out)
