"""The gap report embeds each logged question once: the first report that needs a question's
vector keeps it in the question log, later reports read it back (embedding only questions
asked since), and logs from before the vector columns existed are filled as reports run."""

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from assistant.analytics import gaps
from assistant.analytics.gap_report import GapReport
from assistant.analytics.gaps import GapAnalyzer
from assistant.answering.drafting import REFUSAL
from assistant.embedders import Embedder
from assistant.embedders.fake import FakeEmbedder
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore, engine_url
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Answer

TOPICS = ["payroll", "time tracking", "inventory", "purchase orders", "mileage", "budgets"]
SINCE = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)


class CountingEmbedder:
    """An embedder that counts the texts it embeds (the probe that names the model aside)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += list(texts)
        return self.inner.embed(texts)

    def embed_question(self, question: str) -> np.ndarray:
        self.texts.append(question)
        return self.inner.embed_question(question)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def questions_embedded(self) -> int:
        probe = getattr(gaps, "_PROBE", None)
        return sum(t != probe for t in self.texts)


def log_questions(log: QuestionLog, count: int, *, start: int = 0) -> None:
    for n in range(start, start + count):
        question = f"How do I set up {TOPICS[n % len(TOPICS)]} for team {n}?"
        refused = Answer(
            answer=REFUSAL, confidence=0.1, refused=True, session_id=f"s{n}", query=question
        )
        log.record(question, refused, audience="public", mode="customer", latency_ms=1.0)
        if n % 3 == 0:  # asked again: one query, several questions
            log.record(question, refused, audience="public", mode="customer", latency_ms=1.0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    store = EdgeStore(tmp_path / "edge", dimension=64)
    yield store
    store.close()


def _report(log: QuestionLog, store: EdgeStore, embedder: CountingEmbedder) -> GapReport:
    return GapAnalyzer(log, HybridRetriever(store, embedder)).report(since=SINCE)  # type: ignore[arg-type]


def _shape(report: GapReport) -> list[tuple[str, int, list[str]]]:
    return [(g.label, g.count, sorted(g.questions)) for g in report.groups]


def test_each_question_is_embedded_once(database_url: str, store: EdgeStore) -> None:
    sessions = SessionStore(database_url)
    log = QuestionLog(sessions.engine)
    log_questions(log, 60)
    embedder = CountingEmbedder(FakeEmbedder())

    first = _report(log, store, embedder)
    assert embedder.questions_embedded() == 60  # each distinct query once
    second = _report(log, store, CountingEmbedder(embedder.inner))  # a new request's analyzer
    assert _shape(second) == _shape(first)

    again = CountingEmbedder(embedder.inner)
    assert _report(log, store, again).questions == first.questions
    assert again.questions_embedded() == 0

    log_questions(log, 5, start=60)  # asked since: only these are embedded
    later = CountingEmbedder(embedder.inner)
    assert _report(log, store, later).questions == first.questions + 7
    assert later.questions_embedded() == 5
    sessions.close()


def test_vectors_of_another_model_are_not_reused(tmp_path: Path, store: EdgeStore) -> None:
    sessions = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    log = QuestionLog(sessions.engine)
    log_questions(log, 12)
    _report(log, store, CountingEmbedder(FakeEmbedder()))

    class OtherModel(FakeEmbedder):
        def _word_vector(self, word: str) -> np.ndarray:
            return super()._word_vector(word[::-1])

    other = CountingEmbedder(OtherModel())
    _report(log, store, other)
    assert other.questions_embedded() == 12
    sessions.close()


def test_a_log_from_before_vectors_is_filled_as_reports_run(
    database_url: str, store: EdgeStore
) -> None:
    """A questions table without the vector columns (as earlier versions made it) gains them
    on open; its rows are embedded by the first report and kept."""
    engine = create_engine(engine_url(database_url))
    with engine.begin() as db:
        db.execute(
            text(
                "CREATE TABLE questions (id INTEGER PRIMARY KEY, created_at TIMESTAMP, "
                "session_id VARCHAR(128), turn_id INTEGER, question TEXT, query TEXT, "
                "audience VARCHAR(16), mode VARCHAR(16), confidence FLOAT, refused INTEGER, "
                "citations TEXT, latency_ms FLOAT)"
            )
        )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
        for n in range(8):
            db.execute(
                text(
                    "INSERT INTO questions VALUES (:id, :at, 's', NULL, :q, :q, 'public', "
                    "'customer', 0.1, 1, '[]', 1.0)"
                ),
                {"id": n + 1, "at": now, "q": f"How do I run payroll number {n}?"},
            )
    engine.dispose()
    sessions = SessionStore(database_url)
    log = QuestionLog(sessions.engine)
    embedder = CountingEmbedder(FakeEmbedder())
    assert _report(log, store, embedder).questions == 8
    assert embedder.questions_embedded() == 8
    again = CountingEmbedder(embedder.inner)
    _report(log, store, again)
    assert again.questions_embedded() == 0
    sessions.close()


@pytest.mark.slow
def test_a_second_report_over_2000_questions_embeds_nothing(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    """At the issue's scale with the real MiniLM: the first report embeds every distinct
    query, the second none, and is several times faster."""
    sessions = SessionStore(f"sqlite:///{tmp_path / 'app.db'}")
    log = QuestionLog(sessions.engine)
    log_questions(log, 1500)
    store = EdgeStore(tmp_path / "edge", dimension=real_embedder.dimension)
    embedder = CountingEmbedder(real_embedder)
    started = time.perf_counter()
    _report(log, store, embedder)
    first = time.perf_counter() - started
    again = CountingEmbedder(real_embedder)
    started = time.perf_counter()
    _report(log, store, again)
    second = time.perf_counter() - started
    assert embedder.questions_embedded() == 1500 and again.questions_embedded() == 0
    assert second < first / 3, (first, second)
    store.close()
    sessions.close()
