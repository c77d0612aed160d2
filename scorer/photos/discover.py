"""Turn the paths a person typed (files, folders, glob patterns) into photo files."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Callable, Iterable, Iterator

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


def expand(paths: Iterable[str], recursive: bool = False,
           unreadable: list[tuple[str, str]] | None = None,
           empty: list[str] | None = None) -> tuple[list[str], list[str]]:
    """``(photos, unmatched)``: photo files in order given, and inputs that matched nothing;
    folders that could not be listed go to ``unreadable`` as (path, reason), and folders
    given that hold no photo to ``empty``.

    A file named explicitly is always taken (a wrong format then gets its error
    row); folder listings keep only photo names. Each file is listed once.
    """
    photos: list[str] = []
    unmatched: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.normpath(path)
        if key not in seen:
            seen.add(key)
            photos.append(path)

    for given in paths:
        if os.path.isdir(given):
            before = len(photos)
            for path in list_folder(given, recursive, unreadable):
                add(path)
            if empty is not None and len(photos) == before:
                empty.append(given)
        elif os.path.lexists(given):
            add(given)
        elif glob.has_magic(given):
            if not _add_matches(given, recursive, unreadable, add):
                unmatched.append(given)
        else:
            add(given)  # scored as an error row: "file not found"
    return photos, unmatched


def _add_matches(pattern: str, recursive: bool, unreadable: list[tuple[str, str]] | None,
                 add: Callable[[str], None]) -> bool:
    """The photos a glob pattern names (inside the folders it names too); False when it
    matched nothing at all."""
    matches = matching(pattern, recursive)
    for path in matches:
        if os.path.isdir(path):
            for inner in list_folder(path, recursive, unreadable):
                add(inner)
        elif is_photo_name(os.path.basename(path)):
            add(path)
    return bool(matches)


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
