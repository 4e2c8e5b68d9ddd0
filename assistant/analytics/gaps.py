"""The knowledge-gap report: what customers asked that the content did not answer well.

Refused, low-confidence and thumbs-down questions from the question log, and the other
questions of conversations that ended unresolved, are embedded and grouped (one group per
thing people could not find), each with the nearest existing content to fix, or "no content:
write it". Beside the groups: the most and never cited documents, the answer rate by content
kind, and the resolution report of the same period (assistant/analytics/resolution.py). A
question is embedded once, by the first report that needs it: its vector is kept in the log.
"""

import datetime as dt
import hashlib
import re
import weakref
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence

import numpy as np

from assistant.analytics.clustering import centroid, cluster, medoid, top_terms
from assistant.analytics.gap_report import (
    Contributor,
    DocumentUse,
    GapExample,
    GapGroup,
    GapReport,
    KindRate,
    NearestContent,
    Reason,
    Trend,
)
from assistant.analytics.options import GapSettings
from assistant.analytics.resolution import (
    ResolutionAnalyzer,
    unresolved_questions,
)
from assistant.embedders import Embedder
from assistant.records.feedback import Rating
from assistant.records.question_log import LoggedQuestion, QuestionLog, utc_now
from assistant.retrieval.retriever import HybridRetriever
from assistant.types import Audience, ScoredChunk

ALL_AUDIENCES = Audience.INTERNAL.visible()  # analytics are internal: every document counts
_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
# Which model made a stored vector: a digest of what it makes of this text (embedders have no
# name, and the same class may load other weights).
_PROBE = "How do I turn on automatic payment reminders?"
_MODEL_IDS: "weakref.WeakKeyDictionary[object, str]" = weakref.WeakKeyDictionary()


def parse_since(value: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """`2026-11-01`, an ISO date-time, or a span back from now: `12h`, `30d`, `2w` (UTC).

    Raises:
        ValueError: with the accepted forms, for anything else.
    """
    now = now or utc_now()
    relative = _RELATIVE.match(value)
    if relative:
        try:
            return now - dt.timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        except OverflowError:
            raise ValueError(f"{value!r} reaches back before the year 1.") from None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"Cannot read {value!r} as a start time: use a date (2026-11-01), an ISO date-time "
            "(2026-11-01T08:00:00Z) or a span back from now (12h, 30d, 2w)."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class GapAnalyzer:
    """Builds gap reports from the question log, the retriever and the indexed documents;
    with a `resolution` analyzer, unresolved conversations add their questions to the gaps
    and the report carries the resolution report of the period."""

    def __init__(
        self,
        log: QuestionLog,
        retriever: HybridRetriever,
        *,
        settings: GapSettings | None = None,
        resolution: ResolutionAnalyzer | None = None,
    ) -> None:
        self.log = log
        self.retriever = retriever
        self.embedder: Embedder = retriever.embedder
        self.settings = settings or GapSettings()
        self.resolution = resolution

    def report(
        self,
        *,
        since: dt.datetime,
        until: dt.datetime | None = None,
        documents: Iterable[str] = (),
    ) -> GapReport:
        """The report for questions asked in [since, until); `documents` are every indexed
        document, for the never-cited list. Trends compare with the window just before."""
        until = until or utc_now()
        previous_since = _before(since, until - since)
        current = self.log.entries(since=since, until=until)
        previous = self.log.entries(since=previous_since, until=since)
        resolution = None
        unresolved: set[int] = set()
        if self.resolution is not None:
            conversations = self.resolution.conversations(since=previous_since, until=until)
            unresolved = unresolved_questions(
                conversations, now=self.resolution.clock(), window=self.resolution.window
            )
            resolution = self.resolution.summarise(
                [c for c in conversations if c.started_at >= since], since=since, until=until
            )
        gaps = [q for q in current if self._reasons(q, unresolved)]
        previous_gaps = [q for q in previous if self._reasons(q, unresolved)]

        groups = self._groups(gaps, previous_gaps, unresolved)
        # A refused question counts for the kind of its group's content (one search per group).
        nearest = {q: g.nearest for g in groups for q in g.queries}

        answered = sum(not q.refused for q in current)
        return GapReport(
            since=since,
            until=until,
            generated_at=utc_now(),
            low_confidence_below=self.settings.low_confidence_below,
            questions=len(current),
            answered=answered,
            refused=len(current) - answered,
            low_confidence=sum("low_confidence" in self._reasons(q) for q in current),
            thumbs_down=sum(q.rating == Rating.DOWN for q in current),
            unresolved=sum(self._reasons(q, unresolved) == ["unresolved"] for q in current),
            answer_rate=_rate(answered, len(current)),
            groups=groups[: self.settings.max_groups],
            most_cited=most_cited(current),
            never_cited=sorted(set(documents) - {c.document for q in current for c in q.citations}),
            answer_rate_by_kind=answer_rate_by_kind(current, nearest),
            top_contributors=top_contributors(current),
            resolution=resolution,
        )

    def _reasons(self, question: LoggedQuestion, unresolved: Collection[int] = ()) -> list[Reason]:
        """Why the question is a gap (none: it is not); `unresolved` are the ids of the
        questions whose conversations ended unresolved."""
        reasons: list[Reason] = []
        if question.refused:
            reasons.append("refused")
        elif question.confidence < self.settings.low_confidence_below:
            reasons.append("low_confidence")
        if question.rating == Rating.DOWN:
            reasons.append("thumbs_down")
        if not reasons and question.id in unresolved:
            reasons.append("unresolved")
        return reasons

    def _groups(
        self,
        gaps: list[LoggedQuestion],
        previous_gaps: list[LoggedQuestion],
        unresolved: Collection[int] = (),
    ) -> list[GapGroup]:
        by_query: dict[str, list[LoggedQuestion]] = defaultdict(list)
        for question in gaps:
            by_query[question.query].append(question)
        # The most asked queries first; the pairwise matrix bounds how many can be clustered.
        distinct = sorted(by_query, key=lambda q: (-len(by_query[q]), q))
        distinct = distinct[: self.settings.max_queries]
        if not distinct:
            return []
        previous_queries = sorted({q.query for q in previous_gaps})
        chosen = set(distinct)
        vector_of = self._query_vectors(
            [q for q in gaps if q.query in chosen] + list(previous_gaps)
        )
        matrix = np.vstack([vector_of[query] for query in distinct])
        previous_vectors = [vector_of[query] for query in previous_queries]
        members = cluster(matrix, min_similarity=self.settings.min_similarity)
        centroids = np.vstack([centroid(matrix[m]) for m in members])
        previous_of = {
            query: _assign(vector, centroids, self.settings.min_similarity)
            for query, vector in zip(previous_queries, previous_vectors, strict=True)
        }
        previous_counts = Counter(previous_of[q.query] for q in previous_gaps)
        groups = []
        for index, rows in enumerate(members):
            closest_first = [
                distinct[rows[i]] for i in _by_closeness(matrix[rows], centroids[index])
            ]
            groups.append(
                self._group(
                    [q for query in closest_first for q in by_query[query]],
                    label_query=distinct[rows[medoid(matrix[rows])]],
                    vector=centroids[index],
                    previous=previous_counts.get(index, 0),
                    order=closest_first,
                    unresolved=unresolved,
                )
            )
        return sorted(groups, key=lambda g: (-g.count, -g.previous_count, g.label))

    def _query_vectors(self, questions: Sequence[LoggedQuestion]) -> dict[str, np.ndarray]:
        """Each distinct query's vector: kept in the log by an earlier report, or embedded now
        (once per distinct query) and kept with every question that asked it."""
        model = model_id(self.embedder)
        stored = self.log.vectors((q.id for q in questions), model=model)
        vector_of: dict[str, np.ndarray] = {}
        for question in questions:
            if question.id in stored and question.query not in vector_of:
                vector_of[question.query] = np.frombuffer(stored[question.id], dtype=np.float32)
        missing = sorted({q.query for q in questions} - vector_of.keys())
        if missing:
            vector_of.update(zip(missing, self.embedder.embed(missing), strict=True))
        fresh = {
            q.id: np.asarray(vector_of[q.query], dtype=np.float32).tobytes()
            for q in questions
            if q.id not in stored
        }
        self.log.store_vectors(fresh, model=model)
        return vector_of

    def _group(
        self,
        questions: list[LoggedQuestion],
        *,
        label_query: str,
        vector: np.ndarray,
        previous: int,
        order: list[str],
        unresolved: Collection[int] = (),
    ) -> GapGroup:
        rank = {query: n for n, query in enumerate(order)}
        ordered = sorted(questions, key=lambda q: (rank[q.query], -q.created_at.timestamp()))
        label = next(q.question for q in ordered if q.query == label_query)
        reasons = Counter(r for q in questions for r in self._reasons(q, unresolved))
        nearest = self._fix_target(questions) or self._nearest(label_query, vector)
        write = nearest is None or (
            nearest.similarity is not None and nearest.similarity < self.settings.write_below
        )
        seen: set[str] = set()
        examples: list[GapExample] = []
        for q in ordered:
            if q.question.lower() not in seen and len(examples) < 5:
                seen.add(q.question.lower())
                examples.append(self._example(q, unresolved))
        return GapGroup(
            id=hashlib.sha1(label_query.lower().encode()).hexdigest()[:10],
            label=label,
            terms=top_terms([q.query for q in questions]),
            count=len(questions),
            previous_count=previous,
            trend=trend(len(questions), previous),
            reasons=dict(sorted(reasons.items())),
            action="write" if write else "fix",
            suggestion="no content: write it"
            if write or nearest is None
            else f"fix {nearest.document} ({nearest.title})",
            nearest=nearest,
            audience=Counter(q.audience for q in questions).most_common(1)[0][0],
            mode=Counter(q.mode for q in questions).most_common(1)[0][0],
            examples=examples,
            questions=list(dict.fromkeys(q.question for q in ordered))[:50],
            queries=order,
        )

    def _fix_target(self, questions: list[LoggedQuestion]) -> NearestContent | None:
        """The document the group's weak answers cited most: it was found but did not serve."""
        cited = Counter(
            (c.document, c.title, c.source_type) for q in questions for c in q.citations[:1]
        )
        if not cited:
            return None
        (document, title, source_type), _ = cited.most_common(1)[0]
        return NearestContent(
            document=document, title=title, source_type=source_type, found_by="cited"
        )

    def _nearest(self, query: str, vector: np.ndarray) -> NearestContent | None:
        chunks = self.retriever.retrieve(
            query, audiences=ALL_AUDIENCES, top_k=1, query_vector=vector
        )
        return _content(chunks[0]) if chunks else None

    def _example(self, question: LoggedQuestion, unresolved: Collection[int]) -> GapExample:
        return GapExample(
            question=question.question,
            query=question.query,
            asked_at=question.created_at,
            reasons=self._reasons(question, unresolved),
            confidence=question.confidence,
            audience=question.audience,
            mode=question.mode,
        )


def model_id(embedder: Embedder) -> str:
    """Names the model behind `embedder` by its vector for a fixed text (rounded, so the
    last bits of float arithmetic do not matter); worked out once per embedder."""
    known = _MODEL_IDS.get(embedder)
    if known is None:
        probe = np.round(embedder.embed([_PROBE])[0].astype(np.float64), 4)
        digest = hashlib.sha256(f"{embedder.dimension}:".encode() + probe.tobytes())
        known = _MODEL_IDS[embedder] = digest.hexdigest()[:32]
    return known


def trend(count: int, previous: int) -> Trend:
    """`new` when nothing similar came before; up or down when the count moved by over 20%."""
    if previous == 0:
        return "new" if count else "flat"
    change = (count - previous) / previous
    return "up" if change > 0.2 else "down" if change < -0.2 else "flat"


def most_cited(questions: Sequence[LoggedQuestion], *, limit: int = 10) -> list[DocumentUse]:
    """Documents by the number of answers citing them (once per answer)."""
    counts: Counter[str] = Counter()
    about: dict[str, tuple[str, str]] = {}
    for question in questions:
        for citation in question.citations:
            about.setdefault(citation.document, (citation.title, citation.source_type))
        counts.update({c.document for c in question.citations})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        DocumentUse(
            document=document,
            title=about[document][0].split(" > ")[0],
            source_type=about[document][1],
            citations=count,
        )
        for document, count in ranked
    ]


def top_contributors(questions: Sequence[LoggedQuestion], *, limit: int = 10) -> list[Contributor]:
    """Authors of cited forum posts by the number of answered questions citing them."""
    counts: Counter[str] = Counter()
    for question in questions:
        if not question.refused:
            counts.update({c.author for c in question.citations if c.author})
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Contributor(author=author, answers=count) for author, count in ranked]


def answer_rate_by_kind(
    questions: Sequence[LoggedQuestion], nearest: dict[str, NearestContent | None]
) -> list[KindRate]:
    """Answered questions count for the kind of their first citation, refused ones for the
    kind of the nearest content (`none` when nothing is indexed)."""
    asked: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for question in questions:
        if question.refused:
            near = nearest.get(question.query)
            asked[near.source_type if near else "none"] += 1
        elif question.citations:
            kind = question.citations[0].source_type
            asked[kind] += 1
            answered[kind] += 1
    return [
        KindRate(
            kind=kind, questions=n, answered=answered[kind], answer_rate=_rate(answered[kind], n)
        )
        for kind, n in sorted(asked.items(), key=lambda item: (-item[1], item[0]))
    ]


def _assign(vector: np.ndarray, centroids: np.ndarray, min_similarity: float) -> int | None:
    similarities = centroids @ vector
    best = int(np.argmax(similarities))
    return best if similarities[best] >= min_similarity else None


def _by_closeness(vectors: np.ndarray, center: np.ndarray) -> list[int]:
    """Row positions, closest to the centroid first."""
    order = np.argsort(-(vectors @ center), kind="stable")
    return [int(i) for i in order]


def _content(chunk: ScoredChunk) -> NearestContent:
    meta = chunk.metadata
    return NearestContent(
        document=chunk.document,
        title=str(meta.get("title_path") or chunk.title),
        source_type=str(meta.get("source_type", "kb")),
        url=meta.get("url"),
        found_by="search",
        similarity=round(max(0.0, chunk.similarity), 3),
    )


def _before(moment: dt.datetime, span: dt.timedelta) -> dt.datetime:
    """`moment - span`, or the earliest date-time when that is before the year 1."""
    try:
        return moment - span
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0
