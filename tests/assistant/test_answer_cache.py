"""Answers kept for repeated questions: served again only to the same kind of caller, and only
until the index changes, they expire, or when the LLM could not answer."""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.answering.answer_cache import AnswerCache, AnswerKey
from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.records.sessions import SessionStore
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.stores.edge import EdgeStore
from assistant.types import Answer, Audience, Mode
from assistant.wiring import build_synthesizer
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob
from tests.corpus import write_corpus

REFUND = "What override code is used for refunds above 500 dollars?"


@pytest.fixture(scope="module")
def indexed(
    tmp_path_factory: pytest.TempPathFactory, real_embedder
) -> Iterator[tuple[Path, EdgeStore]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("cache")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    ingest(store, real_embedder, write_corpus(root / "corpus"))
    yield root, store
    store.close()


def ingest(store: EdgeStore, embedder, folder: Path) -> None:  # type: ignore[no-untyped-def]
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    IngestJob(store, embedder, chunker).run([folder], progress=False)


def cached_answerer(indexed, embedder, synthesizer=None) -> Answerer:  # type: ignore[no-untyped-def]
    root, store = indexed
    return Answerer(
        HybridRetriever(store, embedder, top_k=6),
        synthesizer or ExtractiveSynthesizer(embedder),
        sessions=SessionStore(f"sqlite:///{root / 'app.db'}"),
        cache=AnswerCache(),
        embedder=embedder,
        scorer=ConfidenceScorer(store),
    )


def test_a_repeated_question_is_served_from_the_cache_in_its_own_session(
    indexed, real_embedder
) -> None:  # type: ignore[no-untyped-def]
    answerer = cached_answerer(indexed, real_embedder)
    first = answerer.ask("How do I reset my password?")
    again = answerer.ask("How do I  reset my password? ")
    assert answerer.cache is not None and answerer.cache.hits == 1
    assert again.answer == first.answer and again.citations == first.citations
    assert again.session_id != first.session_id
    # The repeat is a turn of its own conversation, so a follow-up there has context.
    assert answerer.sessions is not None
    assert [t.answer for t in answerer.sessions.history(again.session_id)] == [again.answer]


def test_an_internal_answer_is_never_served_to_a_public_caller(indexed, real_embedder) -> None:  # type: ignore[no-untyped-def]
    answerer = cached_answerer(indexed, real_embedder)
    employee = answerer.ask(REFUND, audience=Audience.INTERNAL, mode=Mode.INTERNAL)
    assert "PELICAN" in employee.answer
    public = answerer.ask(REFUND)
    assert "PELICAN" not in public.answer
    assert all(c.audience == "public" for c in public.citations)
    # An agent's internal notes stay with agents who may read them.
    agent = answerer.ask(REFUND, audience=Audience.INTERNAL, mode=Mode.AGENT)
    assert agent.internal_notes is not None
    assert answerer.ask(REFUND, mode=Mode.AGENT).internal_notes is None


def test_a_write_to_the_index_retires_kept_answers(indexed, real_embedder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    answerer = cached_answerer(indexed, real_embedder)
    question = "How do I archive an old project?"
    assert answerer.ask(question).refused
    (tmp_path / "archive.md").write_text(
        "---\ntitle: Archiving projects\n---\n# Archiving projects\n\n"
        "To archive an old project, open Projects, select the project and click Archive. "
        "Archived projects keep their invoices and can be restored from the Archive tab.\n",
        encoding="utf-8",
    )
    ingest(indexed[1], real_embedder, tmp_path)
    after = answerer.ask(question)
    assert not after.refused
    assert after.citations[0].title == "Archiving projects"


def test_an_llm_outage_answer_is_not_kept(indexed, real_embedder, fake_llm) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        LLM_BASE_URL=fake_llm.base_url,  # type: ignore[call-arg]
        LLM_MODEL="fake-model",  # type: ignore[call-arg]
    )
    synthesizer = build_synthesizer(settings, embedder=real_embedder)
    answerer = cached_answerer(indexed, real_embedder, synthesizer)
    question = "How do I reset my password?"
    fake_llm.fail(503)
    outage = answerer.ask(question)
    assert any("LLM answer unavailable" in w for w in outage.warnings)
    fake_llm.reply("Open the sign-in page and click Forgot password [1].")
    recovered = answerer.ask(question)
    assert recovered.warnings == [] and recovered.answer.startswith("Open the sign-in page")
    requests = len(fake_llm.requests)
    assert answerer.ask(question).answer == recovered.answer
    assert len(fake_llm.requests) == requests  # the LLM's good answer was kept


def answer(text: str) -> Answer:
    return Answer(answer=text, confidence=0.9, refused=False, session_id="s")


def key(query: str) -> AnswerKey:
    return AnswerKey.of(
        query,
        audience=Audience.PUBLIC,
        mode=Mode.CUSTOMER,
        tenant=None,
        product_version=None,
        page=None,
    )


def test_kept_answers_expire_and_the_least_recently_used_goes_first() -> None:
    now = [0.0]
    cache = AnswerCache(size=2, ttl_seconds=60, clock=lambda: now[0])
    cache.put(key("a"), answer("A"), writes=0)
    cache.put(key("b"), answer("B"), writes=0)
    assert cache.get(key("a"), writes=0, session_id="x") is not None  # a is now the newest
    cache.put(key("c"), answer("C"), writes=0)
    assert cache.get(key("b"), writes=0, session_id="x") is None
    now[0] = 61.0
    assert cache.get(key("a"), writes=0, session_id="x") is None
    assert cache.get(key("c"), writes=0, session_id="x") is None


def test_the_tenant_version_page_and_audience_are_part_of_the_key() -> None:
    cache = AnswerCache()
    cache.put(key("q"), answer("shared"), writes=3)
    for other in (
        replace(key("q"), tenant="acme"),
        replace(key("q"), product_version="4.1"),
        replace(key("q"), page="/invoices"),
        replace(key("q"), audience=Audience.PARTNER),
    ):
        assert cache.get(other, writes=3, session_id="x") is None
    assert cache.get(key("q"), writes=4, session_id="x") is None  # the store was written since
