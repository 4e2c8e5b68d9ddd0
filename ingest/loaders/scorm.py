"""ScormLoader: SCORM 1.2 and 2004 packages, zipped or as a folder with `imsmanifest.xml`.

Each lesson (an item of the package's organization that launches an HTML page) becomes one
document, as with `course.yaml`: its chunks carry Course > Module > Lesson and the lesson URL.
The package is read in memory, never unpacked: member names and hrefs that climb out of it
(`..`, absolute paths), symlinks and archives that unpack to more than a set size or ratio are
refused. Only the manifest and the lesson pages are decompressed, each streamed in blocks that
count towards a per-page and a per-package limit, so a page that would unpack past its limit
costs one block of memory, not its whole size.
"""

import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.loaders import LoadContext
from ingest.loaders.unstructured_kb import decode_html, html_sections
from ingest.metadata import normalize, read_sidecar

MANIFEST_NAME = "imsmanifest.xml"
# What the zip's directory may declare in all: media included (the zip itself is at most
# pipeline.MAX_FILE_BYTES, and media barely compress).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# Declared unpacked size over packed size, for the package and for each member: HTML and
# scripts pack 5-20 times, a zip bomb hundreds of times (deflate's ceiling is about 1,000).
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1024 * 1024  # smaller members and packages unpack to too little to matter
# What is read and parsed: the manifest and each lesson page, and all of them together
# (HTML parses at about 2.5 s per MB on one core).
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_READ_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 20_000
_BLOCK_BYTES = 64 * 1024
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def unsafe_path(name: str) -> bool:
    """True for a path that could leave the package: absolute, a drive, or a `..` segment."""
    normalized = name.replace("\\", "/")
    return (
        normalized.startswith("/")
        or re.match(r"^[A-Za-z]:", normalized) is not None
        or ".." in normalized.split("/")
    )


def _check_href(href: str) -> None:
    parts = urlsplit(href)
    if not (parts.scheme or parts.netloc) and unsafe_path(unquote(parts.path)):
        raise LoadError(f"unsafe href {href!r} in {MANIFEST_NAME}: it leaves the package")


def _mb(size: int) -> str:
    return f"{size / 2**20:.3g} MB"


@dataclass(frozen=True)
class ReadLimits:
    """How much of a package may be decompressed and read (see the module's constants)."""

    max_unpacked_bytes: int
    max_ratio: int
    max_page_bytes: int
    max_read_bytes: int


class _Budget:
    """Reads members in blocks, refusing a page past its limit or a package past its total."""

    def __init__(self, limits: ReadLimits) -> None:
        self.limits = limits
        self.read_bytes = 0

    def check_size(self, name: str, size: int) -> None:
        if size > self.limits.max_page_bytes:
            raise LoadError(
                f"{name} is {_mb(size)}, more than the {_mb(self.limits.max_page_bytes)} limit "
                "for one page: split the lesson"
            )
        self.check_total(size)

    def check_total(self, size: int) -> None:
        if self.read_bytes + size > self.limits.max_read_bytes:
            raise LoadError(
                f"the package's pages hold more than {_mb(self.limits.max_read_bytes)} of text: "
                "split the course into smaller packages"
            )

    def read(self, name: str, stream: IO[bytes]) -> bytes:
        blocks: list[bytes] = []
        size = 0
        while block := stream.read(_BLOCK_BYTES):
            size += len(block)
            self.check_size(name, size)
            blocks.append(block)
        self.read_bytes += size
        return b"".join(blocks)


class _Package(Protocol):
    def read(self, name: str) -> bytes:
        """The member's bytes; a LoadError when it is missing, unsafe or too large."""
        ...

    def location(self, name: str) -> Path:
        """Where the member sits, for document paths and ids (inside a zip: under the zip)."""
        ...

    def close(self) -> None: ...


class _ZipPackage:
    def __init__(self, path: Path, *, limits: ReadLimits) -> None:
        self.path = path
        self.limits = limits
        self.budget = _Budget(limits)
        try:
            self.zip = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise LoadError(f"not a SCORM package: {path.name} is not a valid zip file") from exc
        try:
            self.members = self._check_members()
        except LoadError:
            self.zip.close()
            raise
        self.base = self._find_base()

    def _check_members(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise LoadError(f"the package holds {len(infos)} files, more than {MAX_MEMBERS}")
        for info in infos:
            if unsafe_path(info.filename):
                raise LoadError(
                    f"unsafe path {info.filename!r} in the package: members must stay inside it"
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise LoadError(f"the package holds a symlink ({info.filename}): not allowed")
        unpacked = sum(info.file_size for info in infos)
        limit = self.limits.max_unpacked_bytes
        if unpacked > limit:
            raise LoadError(
                f"the package unpacks to {_mb(unpacked)}, more than the {_mb(limit)} limit "
                "(a zip bomb?)"
            )
        packed = self.path.stat().st_size
        ratio = self.limits.max_ratio
        if unpacked >= RATIO_FLOOR_BYTES and unpacked > ratio * packed:
            raise LoadError(
                f"the package unpacks to {_mb(unpacked)} from {_mb(packed)}, more than "
                f"{ratio} times its size (a zip bomb?)"
            )
        for info in infos:
            if info.file_size >= RATIO_FLOOR_BYTES and info.file_size > ratio * info.compress_size:
                raise LoadError(
                    f"{info.filename} unpacks to {_mb(info.file_size)}, more than {ratio} times "
                    "its packed size (a zip bomb?)"
                )
        return {info.filename: info for info in infos if not info.is_dir()}

    def _find_base(self) -> str:
        """The manifest's folder: the root, or one top folder that zipping a folder adds."""
        if MANIFEST_NAME in self.members:
            return ""
        nested = [
            name
            for name in self.members
            if name.count("/") == 1
            and name.endswith(f"/{MANIFEST_NAME}")
            and not name.startswith("__MACOSX/")
        ]
        if len(nested) != 1:
            raise LoadError(f"not a SCORM package: no {MANIFEST_NAME} at the top of the zip")
        return nested[0][: -len(MANIFEST_NAME)]

    def read(self, name: str) -> bytes:
        info = self.members.get(self.base + name)
        if info is None:
            raise LoadError(f"{name} is listed in {MANIFEST_NAME} but missing from the package")
        if info.flag_bits & 0x1:
            raise LoadError(f"{name} is password-protected in the zip: repack it without one")
        self.budget.check_size(name, info.file_size)  # before anything is decompressed
        try:
            with self.zip.open(info) as member:
                return self.budget.read(name, member)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as exc:
            raise LoadError(f"corrupt zip member {name}: {exc}") from exc

    def location(self, name: str) -> Path:
        return self.path / (self.base + name)

    def close(self) -> None:
        self.zip.close()


class _FolderPackage:
    def __init__(self, folder: Path, *, limits: ReadLimits) -> None:
        self.folder = folder
        self.root = folder.resolve()
        self.budget = _Budget(limits)
        if not (folder / MANIFEST_NAME).is_file():
            raise LoadError(f"not a SCORM package: no {MANIFEST_NAME} in the folder")

    def read(self, name: str) -> bytes:
        target = (self.folder / name).resolve()
        if not target.is_relative_to(self.root):
            raise LoadError(f"{name} points outside the package (a symlink?): not allowed")
        if not target.is_file():
            raise LoadError(f"{name} is listed in {MANIFEST_NAME} but missing from the package")
        self.budget.check_size(name, target.stat().st_size)
        with target.open("rb") as file:
            return self.budget.read(name, file)

    def location(self, name: str) -> Path:
        return self.folder / name

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class _Lesson:
    modules: tuple[str, ...]  # titles of the enclosing items, outermost first
    title: str
    href: str  # relative to the package root, with any query or fragment


@dataclass(frozen=True)
class _Manifest:
    title: str | None
    lessons: list[_Lesson]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _title(element: Element) -> str | None:
    titles = _children(element, "title")
    text = " ".join("".join(titles[0].itertext()).split()) if titles else ""
    return text or None


def parse_manifest(data: bytes) -> _Manifest:
    """The default organization's lessons, in order, with their resources' launch hrefs."""
    try:
        root = SafeET.fromstring(data)
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise LoadError(f"{MANIFEST_NAME} is not valid XML: {exc}") from exc
    if _local(root.tag) != "manifest":
        raise LoadError(f"{MANIFEST_NAME} has no <manifest> root: is it a SCORM package?")
    hrefs: dict[str, str] = {}
    for resources in _children(root, "resources"):
        for resource in _children(resources, "resource"):
            href = resource.get("href")
            if href and resource.get("identifier"):
                parts = [e.get(_XML_BASE) or "" for e in (root, resources, resource)] + [href]
                for part in parts:
                    _check_href(part)
                hrefs[str(resource.get("identifier"))] = "".join(parts)
    organizations = next(iter(_children(root, "organizations")), None)
    candidates = _children(organizations, "organization") if organizations is not None else []
    if not candidates:
        raise LoadError(f"{MANIFEST_NAME} has no <organization>: the package lists no lessons")
    default = organizations.get("default") if organizations is not None else None
    organization = next((o for o in candidates if o.get("identifier") == default), candidates[0])
    lessons: list[_Lesson] = []

    def walk(item: Element, modules: tuple[str, ...]) -> None:
        title = _title(item) or str(item.get("identifier") or f"Lesson {len(lessons) + 1}")
        reference = item.get("identifierref")
        if reference:
            if reference not in hrefs:
                raise LoadError(
                    f"item {title!r} refers to resource {reference!r}, which has no href "
                    f"in {MANIFEST_NAME}"
                )
            lessons.append(_Lesson(modules, title, hrefs[reference]))
        for child in _children(item, "item"):
            walk(child, (*modules, title))

    for item in _children(organization, "item"):
        walk(item, ())
    if not lessons:
        raise LoadError(f"{MANIFEST_NAME} lists no lessons (no item refers to a resource)")
    return _Manifest(_title(organization), lessons)


def lesson_url(base_url: str | None, href: str) -> str:
    """The sidecar's url joined with the lesson's href, or the href alone."""
    if not base_url:
        return href
    return f"{base_url.split('#', 1)[0].rstrip('/')}/{href.lstrip('/')}"


class ScormLoader:
    """Each lesson is a document; its chunks carry Course > Module > Lesson and the lesson URL."""

    source_type = SourceType.COURSE.value

    def __init__(
        self,
        *,
        max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
        max_ratio: int = MAX_RATIO,
        max_page_bytes: int = MAX_PAGE_BYTES,
        max_read_bytes: int = MAX_READ_BYTES,
    ) -> None:
        self.limits = ReadLimits(
            max_unpacked_bytes=max_unpacked_bytes,
            max_ratio=max_ratio,
            max_page_bytes=max_page_bytes,
            max_read_bytes=max_read_bytes,
        )

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        package: _Package
        if path.is_dir():
            package = _FolderPackage(path, limits=self.limits)
        else:
            package = _ZipPackage(path, limits=self.limits)
        try:
            return self._load(path, package, context)
        finally:
            package.close()

    def _load(self, path: Path, package: _Package, context: LoadContext) -> list[ParsedDocument]:
        manifest = parse_manifest(package.read(MANIFEST_NAME))
        meta = normalize(
            read_sidecar(path), default_audience=context.default_audience, where=path.name
        )
        name = path.stem if path.is_file() else path.name
        meta.setdefault("title", manifest.title or name.replace("-", " ").replace("_", " ").title())
        meta.setdefault("reviewed", True)
        package_hash = context.content_hash(path) if path.is_file() else None
        documents: list[ParsedDocument] = []
        seen: set[str] = set()
        for lesson in manifest.lessons:
            member = self._member(lesson.href)
            if member is None or member in seen:
                continue  # hosted elsewhere, not a page, or launched by an earlier item
            seen.add(member)
            url = lesson_url(meta.get("url"), lesson.href)
            data = package.read(member)
            try:
                _, sections = html_sections(decode_html(data), url=url)
            except LoadError as exc:
                raise LoadError(f"lesson {lesson.title!r} ({member}): {exc}") from exc
            if not sections:
                continue  # a page with no text of its own (a quiz or a player shell)
            location = package.location(member)
            content_hash = package_hash or context.content_hash(
                path, path / MANIFEST_NAME, location
            )
            documents.append(
                self._document(
                    context, meta, lesson, url, sections, location, content_hash=content_hash
                )
            )
        if not documents:
            raise LoadError(
                "no lesson has text to index: the lessons' HTML pages are empty "
                "(authoring tools that draw lessons with JavaScript are not supported)"
            )
        return documents

    @staticmethod
    def _member(href: str) -> str | None:
        """The package member an href launches; None for remote URLs and non-HTML files."""
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            return None
        _check_href(href)
        member = str(PurePosixPath(unquote(parts.path).replace("\\", "/")))
        return member if member.lower().endswith(_HTML_SUFFIXES) else None

    def _document(
        self,
        context: LoadContext,
        course_meta: dict[str, Any],
        lesson: _Lesson,
        url: str,
        sections: list[Section],
        location: Path,
        *,
        content_hash: str,
    ) -> ParsedDocument:
        for section in sections:
            section.heading_path = [*lesson.modules, lesson.title, *section.heading_path]
        title = str(course_meta["title"])
        meta = {**course_meta, "title": title, "course": title, "lesson": lesson.title, "url": url}
        if lesson.modules:
            meta["module"] = lesson.modules[0]
        return context.document(
            location,
            source_type=self.source_type,
            metadata=meta,
            sections=sections,
            content_hash=content_hash,
        )
