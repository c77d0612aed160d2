"""Turn the paths a person typed (files, folders, glob patterns) into photo files."""

from __future__ import annotations

import errno
import glob
import os
from collections.abc import Iterable, Iterator

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
    reasons = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
               errno.ENAMETOOLONG: "path too long", errno.ELOOP: "symlink loop"}
    return f"cannot read folder: {reasons.get(exc.errno or 0, exc.strerror or str(exc))}"


def expand(paths: Iterable[str], recursive: bool = False,
           unreadable: list[tuple[str, str]] | None = None) -> tuple[list[str], list[str]]:
    """``(photos, unmatched)``: photo files in order given, and inputs that matched nothing;
    folders that could not be listed go to ``unreadable`` as (path, reason).

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
            for path in list_folder(given, recursive, unreadable):
                add(path)
        elif os.path.lexists(given):
            add(given)
        elif glob.has_magic(given):
            matches = sorted(glob.glob(given, recursive=recursive))
            if not matches:
                unmatched.append(given)
            for path in matches:
                if os.path.isdir(path):
                    for inner in list_folder(path, recursive, unreadable):
                        add(inner)
                elif is_photo_name(os.path.basename(path)):
                    add(path)
        else:
            add(given)  # scored as an error row: "file not found"
    return photos, unmatched


def missing_inputs(paths: Iterable[str], recursive: bool = False) -> list[str]:
    """The paths and patterns that match nothing at all: a usage error, not a CSV row."""
    missing = []
    for given in paths:
        if os.path.lexists(given):
            continue
        if glob.has_magic(given) and glob.glob(given, recursive=recursive):
            continue
        missing.append(given)
    return missing
