"""Result shaping after fusion: diverse documents, accepted answers first, newer duplicates first.

Fusion scores say how well each chunk matches; shaping decides what a reader should see first:
- several documents rather than five chunks of one (a document's later chunks are discounted);
- in a forum thread, the accepted answer above other replies;
- of two near-identical chunks from different documents, the more recently updated one.
"""

from collections import Counter
from dataclasses import replace

import numpy as np

from assistant.types import ScoredChunk

SAME_DOCUMENT_DISCOUNT = 0.93  # score factor per chunk already taken from the same document
NEAR_DUPLICATE = 0.95  # cosine above which two chunks say the same thing


def shape(chunks: list[ScoredChunk], *, limit: int) -> list[ScoredChunk]:
    ranked = _prefer_newer_duplicates(_accepted_answers_first(chunks))
    return _diversify(ranked, limit=limit)


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


def _prefer_newer_duplicates(chunks: list[ScoredChunk]) -> list[ScoredChunk]:
    """Of two near-duplicates from different documents, the newer takes the higher score."""
    shaped = list(chunks)
    for i, a in enumerate(shaped):
        for j in range(i + 1, len(shaped)):
            b = shaped[j]
            if a.document == b.document or a.vector is None or b.vector is None:
                continue
            if float(np.dot(a.vector, b.vector)) < NEAR_DUPLICATE:
                continue
            if str(b.metadata.get("updated_at", "")) > str(a.metadata.get("updated_at", "")):
                shaped[i], shaped[j] = replace(b, score=a.score), replace(a, score=b.score)
                a = shaped[i]
    return shaped
