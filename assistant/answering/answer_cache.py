"""Answers to questions asked before, served again until the index changes or they expire.

Help-centre traffic repeats itself: many customers ask the same few questions. An answer
depends only on the standalone (condensed) question, who asks (audience, mode, tenant), the
product version and page, and the index. So it is computed once per such key and served again
while the store has made no write since (`Store.writes`) and it is younger than the TTL; the TTL
bounds how stale an answer can get when another process writes to a shared Qdrant server.
Audience, mode and tenant are part of the key: an answer is only ever served to callers who
could read every source it cites.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from assistant.types import Answer, Audience, Mode


@dataclass(frozen=True)
class AnswerKey:
    query: str
    audience: Audience
    mode: Mode
    tenant: str | None
    product_version: str | None
    page: str | None

    @classmethod
    def of(
        cls,
        query: str,
        *,
        audience: Audience,
        mode: Mode,
        tenant: str | None,
        product_version: str | None,
        page: str | None,
    ) -> "AnswerKey":
        # Case stays: capitalised product labels change the ranking
        # (assistant/retrieval/shaping.py).
        return cls(" ".join(query.split()), audience, mode, tenant, product_version, page)


@dataclass(frozen=True)
class _Entry:
    answer: Answer
    writes: int
    stored_at: float


class AnswerCache:
    """A thread-safe LRU of answers without their session; `size=0` keeps nothing."""

    def __init__(
        self,
        *,
        size: int = 2048,
        ttl_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[AnswerKey, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: AnswerKey, *, writes: int, session_id: str) -> Answer | None:
        """The answer kept for `key`, for this session; None when there is none, the store
        was written since (`writes` differs) or it expired."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = (
                entry is not None
                and entry.writes == writes
                and self.clock() - entry.stored_at < self.ttl_seconds
            )
            if not fresh:
                self.misses += 1
                if entry is not None:
                    del self._entries[key]
                return None
            assert entry is not None
            self.hits += 1
            self._entries.move_to_end(key)
        return entry.answer.model_copy(update={"session_id": session_id}, deep=True)

    def put(self, key: AnswerKey, answer: Answer, *, writes: int) -> None:
        """Keep `answer`, computed when the store had made `writes` writes."""
        if self.size <= 0:
            return
        entry = _Entry(answer.model_copy(deep=True), writes, self.clock())
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
