"""Lexical evidence at passage resolution: how much of the question one passage of a chunk holds.

BM25 scores a chunk by the question's words wherever they fall in it, so a long chunk that
mentions each of them somewhere (a Smart Hub overview) can outrank the chunk where they stand
together ("the programs you viewed most recently"). The dense branch already scores a chunk by
its closest passage (assistant/stores/payload.py, PASSAGES); this gives the lexical side the
same resolution. Qdrant has no sparse multivectors, so it runs on the fused candidates: each of
the first PASSAGE_TERMS_DEPTH gains up to PASSAGE_TERMS_WEIGHT for the share of the question's
BM25 terms that its best passage holds, each term weighted by how rare it is among those
candidates (a word every candidate has decides nothing). benchmarks/retrieval.py measures
what it does for ranking.
"""

import math
from dataclasses import replace
from functools import lru_cache

from assistant.embedders.sparse import bm25_terms
from assistant.text_units import passages
from assistant.types import ScoredChunk

PASSAGE_TERMS_WEIGHT = 0.2
# A fixed depth, like fusion's (assistant/stores PREFETCH_DEPTH): asking for 40 results ranks
# the first ones as a chat answer (8 results, 24 candidates) does.
PASSAGE_TERMS_DEPTH = 24


def favour_passage_matches(chunks: list[ScoredChunk], question: str) -> list[ScoredChunk]:
    """`chunks` (best first) rescored by their best passage's share of the question's terms."""
    wanted = bm25_terms(question)
    head = chunks[:PASSAGE_TERMS_DEPTH]
    if not wanted or not head:
        return chunks
    held = [_passage_terms(c.text, str(c.metadata.get("title_path", ""))) for c in head]
    weight = {
        term: _rarity(sum(term in chunk_terms for _, chunk_terms in held), len(head))
        for term in wanted
    }
    total = sum(weight.values())
    rescored = []
    for chunk, (passage_terms, chunk_terms) in zip(head, held, strict=True):
        if chunk_terms & wanted:
            gain = PASSAGE_TERMS_WEIGHT * _best_passage_weight(passage_terms, weight) / total
            chunk = replace(chunk, score=chunk.score + gain)
        rescored.append(chunk)
    # Scores only rise, so the candidates past the depth stay below the rescored ones.
    return sorted(rescored, key=lambda c: c.score, reverse=True) + chunks[PASSAGE_TERMS_DEPTH:]


def _best_passage_weight(
    passage_terms: tuple[frozenset[int], ...], weight: dict[int, float]
) -> float:
    """The largest weight of the question's terms that one passage holds."""
    return max(sum(weight[t] for t in terms & weight.keys()) for terms in passage_terms)


def _rarity(holders: int, candidates: int) -> float:
    """BM25's idf over the candidates: positive even for a term every candidate holds."""
    return math.log(1 + (candidates - holders + 0.5) / (holders + 0.5))


@lru_cache(maxsize=4096)
def _passage_terms(text: str, title_path: str) -> tuple[tuple[frozenset[int], ...], frozenset[int]]:
    """The terms of each passage, and of the whole chunk. Kept: popular chunks come back
    question after question, and splitting and tokenizing them again is most of the cost."""
    each = tuple(bm25_terms(p) for p in passages(text, title_path=title_path)) or (frozenset(),)
    return each, frozenset().union(*each)
