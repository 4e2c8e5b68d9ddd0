"""PDF pages and slides as a reader sees them: headers and footers that run on every page
dropped, headings told by type size, and a slide's body read as bullets under its title.
These adjust `unstructured`'s elements before UnstructuredLoader builds sections from them."""

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

# unstructured's categories for what runs at the top and bottom of each page.
RUNNING = {"Header", "Footer"}
_HEADING_CANDIDATES = {"Title", "NarrativeText", "UncategorizedText"}
_HEADING_SCALE = 1.15  # this much larger than the body text makes a heading
_HEADING_MAX_WORDS = 12
_SLIDE_BODY = {"Title", "NarrativeText", "UncategorizedText", "ListItem", "EmailAddress", "Address"}


def without_running_heads(elements: Sequence["Element"]) -> list["Element"]:
    """PDF page headers and footers that repeat (page numbers aside) are dropped; a "header"
    seen once is usually a heading set near the top of the page, and is kept as one."""

    def key(element: "Element") -> str:
        return re.sub(r"\d+", "#", " ".join(str(element.text or "").split()).lower())

    running = [e for e in elements if e.category in RUNNING]
    pages: dict[str, set[Any]] = defaultdict(set)
    for element in running:
        pages[key(element)].add(element.metadata.page_number)
    kept = []
    for element in elements:
        if element.category in RUNNING:
            if len(pages[key(element)]) > 1:
                continue
            element.category = "Title" if element.category == "Header" else "NarrativeText"
        kept.append(element)
    return kept


def _height(element: "Element") -> float | None:
    coordinates = element.metadata.coordinates
    if coordinates is None or not coordinates.points:
        return None
    ys = [y for _, y in coordinates.points]
    return max(ys) - min(ys)


def pdf_heading_levels(elements: Sequence["Element"]) -> list["Element"]:
    """Headings by type size: pdfminer's text boxes know their height, so a short line set
    larger than the body text is a heading, the larger the higher. unstructured's own titles
    (guessed from wording) come below those levels."""
    heights = Counter(round(h) for h in map(_height, elements) if h)
    if not heights:
        return list(elements)
    body = heights.most_common(1)[0][0]

    def size(element: "Element") -> float | None:
        height = _height(element)
        text = str(element.text).strip()
        if (
            height is None
            or height < body * _HEADING_SCALE
            or element.category not in _HEADING_CANDIDATES
            or len(text.split()) > _HEADING_MAX_WORDS
            or text.endswith((".", ","))
        ):
            return None
        return round(height * 2) / 2

    sizes = sorted({s for s in map(size, elements) if s}, reverse=True)
    for element in elements:
        heading_size = size(element)
        if heading_size:
            element.category = "Title"
            element.metadata.category_depth = sizes.index(heading_size)
        elif element.category == "Title":
            element.metadata.category_depth = len(sizes)
    return list(elements)


def slide_bullets(elements: Sequence["Element"]) -> list["Element"]:
    """On a slide only the title shape heads a section; body paragraphs are bullets at their
    level, whatever unstructured guessed from their wording (it marks short ones as titles,
    one level down)."""
    for element in elements:
        depth = element.metadata.category_depth or 0
        if element.category == "Title" and depth == 0:
            continue
        if element.category in _SLIDE_BODY:
            element.metadata.category_depth = depth - 1 if element.category == "Title" else depth
            element.category = "ListItem"
    return list(elements)
