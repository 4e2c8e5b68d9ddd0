"""Result shaping after fusion: diverse documents, accepted answers first, newer duplicates first.

Fusion scores say how well each chunk matches; shaping decides what a reader should see first:
- several documents rather than five chunks of one (a document's later chunks are discounted);
- in a forum thread, the accepted answer above other replies;
- of two near-identical chunks from different documents, the reviewed one, then the more
  recently updated one;
- with a product version asked for, content for that version (or for no version) only, and
  other versions, labelled by their citations, only when nothing matches;
- with the page the user is on, content made for that page (its `pages` metadata) higher;
- a chunk that spells out a product label the question names ("Auto Motion Plus Settings")
  above one that only shares its words, and one that opens with it (in its title path or a
  document's first sentence: it is about the label) above one that lists it among others
  (Samsung 'Learn TV Remote': its own section, not the shortcuts menu).
"""

import re
from collections import Counter
from dataclasses import replace

import numpy as np

from assistant.text_units import split_sentences
from assistant.types import ScoredChunk

SAME_DOCUMENT_DISCOUNT = 0.93  # score factor per chunk already taken from the same document
NEAR_DUPLICATE = 0.95  # cosine above which two chunks say the same thing
RELEVANT_SHARE = 0.6  # of the best score: candidates that could answer the question
PAGE_BOOST = 1.5  # score factor for content made for the user's page (benchmarks/context.py)
# Score factor per product label of the question the chunk spells out, and again per label
# its opening names.
LABEL_BOOST = 1.5
_QUOTED = re.compile(r"(?:(?<=\s)|^)[\"“‘']([^\"”’']{3,60})[\"”’'](?!\w)")


def shape(
    chunks: list[ScoredChunk],
    *,
    limit: int,
    question: str = "",
    product_version: str | None = None,
    page: str | None = None,
) -> list[ScoredChunk]:
    chunks = _for_version(chunks, product_version) if product_version else chunks
    chunks = _boost_page(chunks, page) if page else chunks
    chunks = _boost_labels(chunks, labels) if (labels := product_labels(question)) else chunks
    ranked = _prefer_trusted_duplicates(_accepted_answers_first(chunks))
    return _diversify(ranked, limit=limit)


def matches_version(chunk: ScoredChunk, product_version: str) -> bool:
    """Content without a version applies to every version."""
    version = chunk.metadata.get("product_version")
    return version is None or str(version) == product_version


def _for_version(chunks: list[ScoredChunk], product_version: str) -> list[ScoredChunk]:
    """Only matching chunks when a relevant one matches; otherwise every version (the
    answer then says which version its sources describe). Relevant: near the best score,
    so an unversioned forum post about something else does not shut out every answer."""
    best = max((c.score for c in chunks), default=0.0)
    relevant = [c for c in chunks if c.score >= RELEVANT_SHARE * best]
    if any(matches_version(c, product_version) for c in relevant):
        return [c for c in chunks if matches_version(c, product_version)]
    return chunks


def on_page(chunk: ScoredChunk, page: str) -> bool:
    """The page is one of the chunk's `pages`, or below one (`/invoices` covers `/invoices/42`)."""
    page = "/" + page.strip().strip("/")
    for declared in chunk.metadata.get("pages") or []:
        prefix = "/" + str(declared).strip().strip("/")
        if page == prefix or page.startswith(prefix.rstrip("/") + "/"):
            return True
    return False


def _boost_page(chunks: list[ScoredChunk], page: str) -> list[ScoredChunk]:
    boosted = [replace(c, score=c.score * PAGE_BOOST) if on_page(c, page) else c for c in chunks]
    return sorted(boosted, key=lambda c: c.score, reverse=True)


def product_labels(question: str) -> list[str]:
    """Names of screens, settings and features the question quotes or writes in Title Case
    ("Auto Motion Plus Settings", 'Learn TV Remote'): word-bag search splits them apart."""
    labels = [quoted.strip() for quoted in _QUOTED.findall(question)]
    for sentence in re.split(r"(?<=[.?!])\s+", question):
        words = sentence.split()
        run: list[str] = []
        for index, word in enumerate([*words, ""]):
            bare = word.strip("?!.,:;()'\"")
            if index > 0 and bare[:1].isupper() and bare != "I":
                run.append(bare)
                continue
            if len(run) >= 2:
                labels.append(" ".join(run))
            run = []
    return list(dict.fromkeys(label.lower() for label in labels if label))


def _boost_labels(chunks: list[ScoredChunk], labels: list[str]) -> list[ScoredChunk]:
    def boost(chunk: ScoredChunk) -> ScoredChunk:
        text = " ".join(f"{chunk.title} {chunk.text}".lower().split())
        found = sum(label in text for label in labels)
        found += sum(label in _opening(chunk) for label in labels)
        return replace(chunk, score=chunk.score * LABEL_BOOST**found) if found else chunk

    return sorted(map(boost, chunks), key=lambda c: c.score, reverse=True)


def _opening(chunk: ScoredChunk) -> str:
    """What says what a chunk is about: its title path, and a document's first sentence (a
    manual section opens with its menu path, "Settings > General > Accessibility > Learn TV
    Remote", an article with what it covers). Lower-cased, spaces collapsed."""
    opening = str(chunk.metadata.get("title_path") or chunk.title)
    if chunk.metadata.get("chunk_index", 0) == 0 and (sentences := split_sentences(chunk.text)):
        opening = f"{opening} {sentences[0]}"
    return " ".join(opening.lower().split())


def _diversify(chunks: list[ScoredChunk], *, limit: int) -> list[ScoredChunk]:
    """Greedy: each pick discounts the rest of its document, so other documents surface."""
    remaining = list(chunks)
    taken: Counter[str] = Counter()
    result: list[ScoredChunk] = []
    while remaining and len(result) < limit:
        best = max(remaining, key=lambda c: c.score * SAME_DOCUMENT_DISCOUNT ** taken[c.document])
        remaining.remove(best)
        taken[best.document] += 1
        result.append(best)
    return result


def _accepted_answers_first(chunks: list[ScoredChunk]) -> list[ScoredChunk]:
    """Within a thread, the accepted answer takes the best score any of its replies had."""
    best_reply: dict[str, float] = {}
    for c in chunks:
        if c.metadata.get("post_role") == "reply":
            best_reply[c.document] = max(best_reply.get(c.document, c.score), c.score)
    shaped = []
    for c in chunks:
        top = best_reply.get(c.document)
        if c.metadata.get("post_role") == "accepted_answer" and top is not None and top > c.score:
            c = replace(c, score=top + 1e-6)
        shaped.append(c)
    return sorted(shaped, key=lambda c: c.score, reverse=True)


def _trust(chunk: ScoredChunk) -> tuple[bool, str]:
    """Reviewed before unreviewed, then newer before older (content is reviewed by default)."""
    meta = chunk.metadata
    return bool(meta.get("reviewed", True)), str(meta.get("updated_at", ""))


def _prefer_trusted_duplicates(chunks: list[ScoredChunk]) -> list[ScoredChunk]:
    """Of two near-duplicates from different documents, the more trusted takes the higher
    score: the reviewed one, or of two equally reviewed, the newer."""
    near = _near_duplicate_pairs(chunks)
    if not near:
        return list(chunks)
    shaped = list(chunks)
    origin = list(range(len(chunks)))  # which input chunk sits at each position
    for i in range(len(shaped)):
        for j in range(i + 1, len(shaped)):
            a, b = shaped[i], shaped[j]
            if (origin[i], origin[j]) not in near or a.document == b.document:
                continue
            if _trust(b) > _trust(a):
                shaped[i], shaped[j] = replace(b, score=a.score), replace(a, score=b.score)
                origin[i], origin[j] = origin[j], origin[i]
    return shaped


def _near_duplicate_pairs(chunks: list[ScoredChunk]) -> set[tuple[int, int]]:
    """Index pairs (both orders) of chunks whose vectors are near-identical: one matrix
    product instead of a dot product per pair."""
    indexed = [k for k, c in enumerate(chunks) if c.vector is not None]
    if len(indexed) < 2:
        return set()
    vectors = np.vstack([chunks[k].vector for k in indexed])  # type: ignore[misc]
    rows, columns = np.nonzero(vectors @ vectors.T >= NEAR_DUPLICATE)
    return {(indexed[r], indexed[c]) for r, c in zip(rows, columns, strict=True) if r != c}
