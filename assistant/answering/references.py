"""References an LLM writes another way than `[n]` ("(Source 2)", footnotes, links) rewritten
as the markers the citation check reads."""

import re
from collections.abc import Sequence

from assistant.types import ScoredChunk

# References written another way than "[n]": "(Source 2)", "[sources 1 and 3]", "[^2]",
# "【2】", and a Markdown link whose text is the number ("[2](https://…)").
_WORDED_REFERENCE = re.compile(
    r"[(\[]\s*(?:sources?|src|ref(?:erence)?)\s*(?:#|no\.?|id\s*=?)?\s*"
    r"(\d{1,3}(?:\s*(?:,|and|&)\s*\d{1,3})*)\s*[)\]]",
    re.IGNORECASE,
)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^(\d{1,3})\]|【(\d{1,3})[^】]{0,20}】")
_NUMBER_LINK = re.compile(r"\[(\d{1,3})\]\([^)\s]*\)")
_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(([^)\s]{1,2000})\)")
_REFERENCE_SEPARATOR = re.compile(r"\s*(?:,|and|&)\s*", re.IGNORECASE)


def normalise_references(text: str, sources: Sequence[ScoredChunk]) -> tuple[str, list[str]]:
    """References written another way rewritten as `[n]` markers; a Markdown link keeps its
    text, cited as the source it links to when that is one of `sources`."""
    changes: list[str] = []

    def worded(match: re.Match[str]) -> str:
        numbers = _REFERENCE_SEPARATOR.split(match.group(1).strip())
        changes.append(f"{match.group(0)!r} -> [n]")
        return "".join(f"[{int(n)}]" for n in numbers if n)

    def footnote(match: re.Match[str]) -> str:
        changes.append(f"{match.group(0)!r} -> [n]")
        return f"[{int(match.group(1) or match.group(2))}]"

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        numbers = [n for n, c in enumerate(sources, start=1) if c.metadata.get("url") == url]
        changes.append(f"link to {url!r} -> {'[n]' if numbers else 'its text'}")
        return f"{label} [{numbers[0]}]" if numbers else label

    text = _WORDED_REFERENCE.sub(worded, text)
    text = _FOOTNOTE_REFERENCE.sub(footnote, text)
    text = _NUMBER_LINK.sub(lambda m: f"[{int(m.group(1))}]", text)
    text = _LINK.sub(link, text)
    return text, changes
