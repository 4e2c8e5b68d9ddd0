"""A data folder holding the test corpus (real MiniLM, real Qdrant engine) and a question log
with the questions the gap tests expect to see grouped."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.analytics.gap_report import GapReport
from assistant.analytics.gaps import GapAnalyzer
from assistant.answering.drafting import REFUSAL
from assistant.embedders import Embedder
from assistant.records.feedback import Rating
from assistant.records.question_log import QuestionLog
from assistant.settings import Settings
from assistant.types import Answer, Audience, Mode
from assistant.wiring import Components, build_components
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus

PAYROLL = [
    "How do I run payroll for my employees?",
    "payroll setup",
    "Is there a payroll feature?",
]
TIME_TRACKING = ["How do I track time on a project?", "Is there a time tracker?"]
PII = "I'm jane@example.com, can I export invoices to Excel?"
RATED_DOWN = "How do I reset my password?"
ANSWERED = "How do I add a tax rate?"
PERIOD = dt.timedelta(days=7)


@pytest.fixture(scope="session")
def gap_data(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """A data folder with the test corpus ingested; each backend's question log uses it."""
    root: Path = tmp_path_factory.mktemp("gaps")
    components = build_components(Settings(data_dir=root / "data"), embedder=real_embedder)
    try:
        chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
        IngestJob(components.store, real_embedder, chunker).run([write_corpus(root / "corpus")])
    finally:
        components.close()
    return root / "data"


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def gap_settings(
    request: pytest.FixtureRequest, gap_data: Path, real_embedder: Embedder
) -> Settings:
    """The ingested corpus with the gap questions asked, in a SQLite app database in the data
    folder, then in a database of the throwaway Postgres cluster."""
    database = None
    if request.param == "postgres":
        database = request.getfixturevalue("postgres").database()
    settings = Settings(data_dir=gap_data, database_url=database)
    components = build_components(settings, embedder=real_embedder)
    try:
        answerer = components.answerer
        for question in [*PAYROLL, *TIME_TRACKING, PII, ANSWERED]:
            answerer.ask(question)
        rated = answerer.ask(RATED_DOWN, audience=Audience.INTERNAL, mode=Mode.AGENT)
        components.feedback.add(rated.session_id, Rating.DOWN, comment="Not what I asked")
        # A payroll question in the period before: the group's trend is "up".
        earlier = dt.datetime.now(dt.UTC) - PERIOD - dt.timedelta(days=3)
        refused = Answer(
            answer=REFUSAL, confidence=0.1, refused=True, session_id="earlier", query=PAYROLL[0]
        )
        QuestionLog(components.sessions.engine, clock=lambda: earlier).record(
            PAYROLL[0], refused, audience="public", mode="customer", latency_ms=5.0
        )
    finally:
        components.close()
    return settings


@pytest.fixture
def components(gap_settings: Settings, real_embedder: Embedder) -> Iterator[Components]:
    built = build_components(gap_settings, embedder=real_embedder)
    yield built
    built.close()


@pytest.fixture
def report(components: Components) -> GapReport:
    """The gap report of the last PERIOD over every ingested document."""
    assert components.question_log is not None
    analyzer = GapAnalyzer(components.question_log, components.retriever)
    documents = [m.document for m in components.store.manifests().values()]
    return analyzer.report(since=dt.datetime.now(dt.UTC) - PERIOD, documents=documents)
