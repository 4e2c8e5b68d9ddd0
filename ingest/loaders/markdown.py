"""MarkdownLoader: KB articles in Markdown or plain text, split at headings with anchors."""

import re
from pathlib import Path

from assistant.types import SourceType
from ingest.documents import LoadError, ParsedDocument, Section
from ingest.loaders import LoadContext, read_text, title_from_name
from ingest.metadata import normalize, read_sidecar, split_front_matter

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def anchor(heading: str) -> str:
    """GitHub-style heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return re.sub(r"\s", "-", slug)


def with_fragment(url: str | None, fragment: str) -> str | None:
    if not url or not fragment:
        return url
    return f"{url.split('#', 1)[0]}#{fragment}"


def markdown_sections(body: str, *, url: str | None) -> tuple[str | None, list[Section]]:
    """Splits Markdown at headings. Returns (first H1 text, sections with heading paths)."""
    title: str | None = None
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def close() -> None:
        text = "\n".join(lines).strip()
        if text:
            headings = [h for _, h in path]
            fragment = anchor(headings[-1]) if headings else ""
            sections.append(Section(text, headings, with_fragment(url, fragment)))
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if not match:
            lines.append(line)
            continue
        close()
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1 and title is None and not sections:
            title = heading
            continue
        path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, heading)]
    close()
    return title, sections


class MarkdownLoader:
    source_type = SourceType.KB.value

    def load(self, path: Path, context: LoadContext) -> list[ParsedDocument]:
        raw_text = read_text(path)
        front, body = split_front_matter(raw_text, where=path.name)
        meta = normalize(
            {**front, **read_sidecar(path)},
            default_audience=context.default_audience,
            where=path.name,
        )
        h1, sections = markdown_sections(body, url=meta.get("url"))
        if not sections:
            raise LoadError("no text to index (the file is empty or has only headings)")
        meta.setdefault("title", h1 or title_from_name(path))
        meta.setdefault("reviewed", True)
        return [
            context.document(
                path,
                source_type=self.source_type,
                metadata=meta,
                sections=sections,
            )
        ]
