"""Finds what to ingest under a folder and picks the loader for each file or course folder."""

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import Loader
from ingest.loaders.course_yaml import MANIFEST_NAME, CourseYamlLoader
from ingest.loaders.discourse import DiscourseLoader
from ingest.loaders.markdown import MarkdownLoader
from ingest.loaders.scorm import MANIFEST_NAME as SCORM_MANIFEST
from ingest.loaders.scorm import ScormLoader
from ingest.loaders.srt import SrtLoader
from ingest.loaders.unstructured_kb import KB_EXTENSIONS, UnstructuredLoader
from ingest.loaders.webvtt import VttLoader

IGNORE_FILE = ".assistantignore"
SIDECAR_SUFFIX = ".meta.yaml"
_BY_EXTENSION: dict[str, type] = {
    ".md": MarkdownLoader,
    ".markdown": MarkdownLoader,
    ".txt": MarkdownLoader,
    **dict.fromkeys(KB_EXTENSIONS, UnstructuredLoader),
    ".vtt": VttLoader,
    ".srt": SrtLoader,
    ".json": DiscourseLoader,
    ".zip": ScormLoader,
}
_BY_TYPE: dict[str, tuple[type, ...]] = {
    "kb": (MarkdownLoader, UnstructuredLoader),
    "transcript": (VttLoader, SrtLoader),
    "thread": (DiscourseLoader,),
    "course": (CourseYamlLoader, ScormLoader),
}
# A folder holding one of these is a course: its files are lessons, not separate documents.
_COURSE_FOLDERS: dict[str, type] = {MANIFEST_NAME: CourseYamlLoader, SCORM_MANIFEST: ScormLoader}


@dataclass(frozen=True)
class Source:
    """One thing to load: a file, or a course folder (`course.yaml` or SCORM)."""

    path: Path
    loader: Loader | None  # None: the file type is not supported
    reason: str = ""


def discover(root: Path, *, content_type: str = "auto") -> list[Source]:
    """Every loadable item under `root` (or `root` itself when it is a file), sorted by path."""
    if root.is_file():
        return [_source_for_file(root, content_type)]
    ignored = _ignore_patterns(root)
    sources: list[Source] = []
    for top, dirnames, filenames in os.walk(root):
        folder = Path(top)
        rel = folder.relative_to(root).as_posix()
        course = next((_COURSE_FOLDERS[n] for n in _COURSE_FOLDERS if n in filenames), None)
        if course is not None and content_type in ("auto", "course"):
            sources.append(Source(folder, course()))
            dirnames.clear()  # lesson files belong to the course
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            relpath = f"{rel}/{name}" if rel != "." else name
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX) or _matches(relpath, ignored):
                continue
            sources.append(_source_for_file(folder / name, content_type))
    return sorted(sources, key=lambda s: s.path.as_posix())


def _source_for_file(path: Path, content_type: str) -> Source:
    loader_type = _BY_EXTENSION.get(path.suffix.lower())
    if loader_type is None:
        return Source(path, None, f"unsupported file type {path.suffix or '(none)'}")
    if content_type != "auto" and loader_type not in _BY_TYPE.get(content_type, ()):
        return Source(path, None, f"not a {content_type} file")
    return Source(path, loader_type())


class IgnoreFileError(ValueError):
    """A folder's ignore file cannot be read: what to skip is unknown, so nothing is read."""


def _ignore_patterns(root: Path) -> list[str]:
    file = root / IGNORE_FILE
    if not file.is_file():
        return []
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise IgnoreFileError(
            f"{IGNORE_FILE} is not UTF-8 text (byte {exc.start}): save it as UTF-8; nothing in "
            "this folder was ingested, since what it excludes is unknown"
        ) from exc
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _matches(relpath: str, patterns: list[str]) -> bool:
    name = relpath.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relpath, p) or fnmatch.fnmatch(name, p) for p in patterns)
