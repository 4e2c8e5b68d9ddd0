"""What a reader should know about an answer's sources: other product versions, unreviewed
posts, and what the question asked that no source covers."""

from collections.abc import Sequence
from dataclasses import replace

from assistant.types import Draft, ScoredChunk

UNREVIEWED_NOTE = "This answer comes from community posts that our team has not reviewed."


def note_sources(draft: Draft, *, product_version: str | None = None) -> Draft:
    """Adds a warning when the sources describe another version than the one asked for, and
    a sentence (and warning) when every source is an unreviewed community post."""
    if not draft.text or not draft.sources:
        return draft
    warnings = list(draft.warnings)
    text = draft.text
    other_versions = _other_versions(draft.sources, product_version)
    if other_versions:
        warnings.append(
            f"Nothing matched version {product_version}; these sources describe version "
            f"{' and '.join(other_versions)}."
        )
    if all(_unreviewed_community(c) for c in draft.sources):
        text = f"{text.rstrip()}\n\n{UNREVIEWED_NOTE}"
        warnings.append(UNREVIEWED_NOTE)
    return replace(draft, text=text, warnings=warnings)


def _other_versions(sources: list[ScoredChunk], product_version: str | None) -> list[str]:
    if not product_version:
        return []
    versions = {
        str(c.metadata["product_version"]) for c in sources if c.metadata.get("product_version")
    }
    return sorted(versions - {product_version})


def _unreviewed_community(chunk: ScoredChunk) -> bool:
    meta = chunk.metadata
    return meta.get("source_type") == "thread" and not meta.get("reviewed", True)


# The uncovered words are not repeated: a word of the question that only content the caller may
# not read uses (an internal tool's name) must not come back in a customer-facing answer.
UNCOVERED_NOTE = "Part of your question is not covered by our help content; this answers the rest."


def note_uncovered(draft: Draft, uncovered: Sequence[str]) -> Draft:
    """Adds a sentence (and warning) saying the question asked for something no content the
    caller may read covers, so an answer to the rest says plainly that it is partial."""
    if not draft.text or not uncovered:
        return draft
    text = f"{draft.text.rstrip()}\n\n{UNCOVERED_NOTE}"
    return replace(draft, text=text, warnings=[*draft.warnings, UNCOVERED_NOTE])
