"""How sure an answer is: closeness of the best chunk and support of the draft, cut when the
question names something the content never mentions.

Near-topic questions ("recurring invoices in QuickBooks", "run payroll in Ledgerly") retrieve
chunks that match most of their words, so closeness and support alone look answerable. What
gives them away is a word that is not everyday English and that no chunk the caller may read
uses: a product, company, code or feature the content does not cover. Everyday words the
content never uses ("ago", "laptop", "weird") say nothing about coverage and are ignored.

"Everyday" comes from the packaged MiniLM's WordPiece vocabulary, which lists whole words
roughly by how often they occur in its training text (Wikipedia and books): a word among the
first `EVERYDAY_RANK` lines, or one typo away from one, is everyday. Whether the content uses a
word is asked of the store's BM25 index (same stemming as retrieval, filtered by audience), and
only for the rare words the retrieved chunks do not already contain: most questions need no
lookup at all, and a lookup is one sparse query that returns at most one point.
"""

import re
import string
from collections.abc import Iterator, Sequence
from functools import lru_cache

from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders.sentence_transformer import packaged_model_path
from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import Store, audience_filters
from assistant.types import Draft, ScoredChunk

# Vocabulary lines before this are everyday words. The dev sets (benchmarks/dev_sets.py) give
# the same result anywhere from 15,000 to 25,000 of the ~30,500 lines.
EVERYDAY_RANK = 20_000
# An answer to a question about something the content never mentions is at best partial.
UNCOVERED_FACTOR = 0.5
# Words shorter than this ("soc", "llc") are too often abbreviations to tell apart from noise.
_MIN_LETTERS = 3
# Typos are forgiven in words this long; shorter ones have too many one-letter neighbours.
_TYPO_MIN_LETTERS = 4
# Store lookups per question at most: a question rarely has more than one or two rare words.
_MAX_LOOKUPS = 4
# Typo checks per question at most: each costs about 0.2 ms (a thousand candidate spellings),
# and a real question has a few rare words, not hundreds; later words are looked up instead.
_MAX_TYPO_CHECKS = 16
_WORD = re.compile(r"[a-z][a-z0-9]*")
# Where one part of a question ends and another begins.
_PARTS = re.compile(
    r"(?<=[.?!;])\s+|,?\s+\b(?:and also|and|also|plus|but|as well as)\b\s+", re.IGNORECASE
)


def answer_confidence(
    query: str, chunks: list[ScoredChunk], draft: Draft, *, uncovered: Sequence[str] = ()
) -> float:
    """How close the best chunk is to the question, and how well the answer's units match it
    (words and meaning: see the synthesizer's `support`), cut by `UNCOVERED_FACTOR` when the
    question has words the content never uses (`uncovered`). Weights and the default threshold
    were fitted on evals/dev (benchmarks/dev_sets.py); a third term for the question words the
    cited sources contain no longer helped once units were scored by those words."""
    if not chunks or not draft.sources:
        return 0.0
    best = max(c.similarity for c in chunks)
    score = (3 * best + 4 * draft.support) / 7
    if uncovered:
        score *= UNCOVERED_FACTOR
    return round(min(1.0, max(0.0, score)), 3)


class ConfidenceScorer:
    """`answer_confidence` with the uncovered words looked up in `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._bm25 = Bm25Encoder()
        _longest_frequent()  # reads the vocabulary once now, not on the first question

    def score(
        self,
        query: str,
        chunks: list[ScoredChunk],
        draft: Draft,
        *,
        audiences: Sequence[str],
        tenant: str | None = None,
    ) -> float:
        return self.assess(query, chunks, draft, audiences=audiences, tenant=tenant)[0]

    def assess(
        self,
        query: str,
        chunks: list[ScoredChunk],
        draft: Draft,
        *,
        audiences: Sequence[str],
        tenant: str | None = None,
    ) -> tuple[float, list[str]]:
        """The confidence, and the query's words the content never uses (`uncovered_terms`)."""
        if not chunks or not draft.sources:
            return 0.0, []
        missing = self.uncovered_terms(query, chunks, audiences=audiences, tenant=tenant)
        return answer_confidence(query, chunks, draft, uncovered=missing), missing

    def uncovered_terms(
        self,
        question: str,
        chunks: Sequence[ScoredChunk],
        *,
        audiences: Sequence[str],
        tenant: str | None = None,
    ) -> list[str]:
        """The question's words that are not everyday English and that no chunk the caller
        may read (`audiences`, shared content plus `tenant`'s own) uses, in question order."""
        texts = [chunk.text.lower() for chunk in chunks]
        found: list[str] = []
        lookups = typo_checks = 0
        # Cheapest checks first: most words stop at the first or second.
        for word in dict.fromkeys(_WORD.findall(question.lower())):
            if len(word) < _MIN_LETTERS or _frequent(word):
                continue
            # A retrieved chunk that contains the word ("auth" in "authenticator") covers it.
            if any(word in text for text in texts):
                continue
            if not self._bm25.query(word)[0]:
                continue  # a stopword to BM25: never indexed, so never missing
            if typo_checks < _MAX_TYPO_CHECKS:
                typo_checks += 1
                if _typo_of_frequent(word):
                    continue
            lookups += 1
            if not self._content_uses(word, audiences, tenant):
                found.append(word)
            if lookups == _MAX_LOOKUPS:
                break  # nothing after this could be found
        return found

    def _content_uses(self, word: str, audiences: Sequence[str], tenant: str | None) -> bool:
        result = self.store.query(
            VectorStoreQuery(
                query_str=word,
                similarity_top_k=1,
                mode=VectorStoreQueryMode.SPARSE,
                filters=audience_filters(audiences, tenant=tenant),
            )
        )
        return bool(result.nodes)


def covered_part(question: str, uncovered: Sequence[str]) -> str | None:
    """The parts of a question that ask about something else than its `uncovered` words:
    "How do I reset my password and run payroll?" -> "How do I reset my password". Parts are
    its sentences and the clauses "and", "also", "plus" or "but" join ("or" offers
    alternatives of one thing, so it does not split); None when every part names an
    uncovered word, or when there are none."""
    if not uncovered:
        return None
    parts = [p.strip(" ,;") for p in _PARTS.split(question)]
    kept = [p for p in parts if p and not set(_WORD.findall(p.lower())) & set(uncovered)]
    if not kept or len(kept) == len(parts) or not any(_WORD.search(p.lower()) for p in kept):
        return None
    joined = kept[0]
    for part in kept[1:]:
        joined += " " if joined.endswith((".", "?", "!", ";")) else " and "
        joined += part
    return joined


def _frequent(word: str) -> bool:
    ranks = word_ranks()
    singular = word[:-1] if word.endswith("s") else word
    return min(ranks.get(word, EVERYDAY_RANK), ranks.get(singular, EVERYDAY_RANK)) < EVERYDAY_RANK


def _typo_of_frequent(word: str) -> bool:
    """One edit away from a frequent word. A word more than one letter longer than the longest
    frequent word cannot be, and is not checked: its candidates grow with the square of its
    length (a 4,000-letter word has 216,000 of 4,000 letters each)."""
    if not _TYPO_MIN_LETTERS <= len(word) <= _longest_frequent() + 1:
        return False
    ranks = word_ranks()
    return any(ranks.get(near, EVERYDAY_RANK) < EVERYDAY_RANK for near in _one_typo(word))


@lru_cache(maxsize=1)
def word_ranks() -> dict[str, int]:
    """Whole words of the packaged MiniLM vocabulary by line number (about frequency order)."""
    lines = (packaged_model_path() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    ranks: dict[str, int] = {}
    for rank, token in enumerate(lines):
        if token.isalnum() and token.isascii():  # skips [PAD], ##pieces and punctuation
            ranks.setdefault(token, rank)
    return ranks


@lru_cache(maxsize=1)
def _longest_frequent() -> int:
    return max(len(word) for word, rank in word_ranks().items() if rank < EVERYDAY_RANK)


def _one_typo(word: str) -> Iterator[str]:
    """Every string one deletion, swap, replacement or insertion away from `word`, lazily."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    letters = string.ascii_lowercase
    yield from (a + b[1:] for a, b in splits if b)
    yield from (a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    yield from (a + c + b[1:] for a, b in splits if b for c in letters)
    yield from (a + c + b for a, b in splits for c in letters)
