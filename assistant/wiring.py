"""Builds the heavy objects from Settings; used by entry points (the CLI, the API, evals and
benchmarks) only."""

import datetime as dt
from dataclasses import dataclass

from assistant.analytics.resolution import ResolutionAnalyzer
from assistant.answering.answer_cache import AnswerCache
from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers import Synthesizer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.conversation import Condenser
from assistant.conversation.condense import condense
from assistant.embedders import Embedder
from assistant.embedders.fake import FakeEmbedder
from assistant.embedders.onnx_runtime import OnnxEmbedder
from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder
from assistant.records.escalations import EscalationStore
from assistant.records.feedback import FeedbackStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionStore
from assistant.retrieval.reranker import CrossEncoderReranker
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.stores import Store
from assistant.stores.edge import EdgeStore


@dataclass
class Components:
    embedder: Embedder
    store: Store
    retriever: HybridRetriever
    answerer: Answerer
    sessions: SessionStore
    feedback: FeedbackStore
    question_log: QuestionLog | None = None
    escalations: EscalationStore | None = None
    resolution: ResolutionAnalyzer | None = None

    def close(self) -> None:
        self.store.close()
        self.sessions.close()  # also closes the feedback store's engine, which it shares


def build_embedder(settings: Settings) -> Embedder:
    """MiniLM (or the model at embedding_model_path) on the configured runtime; or the fake."""
    if settings.embedder == "fake":
        return FakeEmbedder()
    if settings.embedding_runtime == "torch":
        return SentenceTransformerEmbedder(
            settings.embedding_model_path, batch_size=settings.embedding_batch_size
        )
    return OnnxEmbedder(
        settings.embedding_model_path,
        cache_dir=settings.model_cache_dir,
        int8=settings.embedding_runtime == "onnx-int8",
        int8_questions=settings.question_embedding == "int8",
        batch_size=settings.embedding_batch_size,
    )


def build_store(settings: Settings, *, dimension: int) -> Store:
    """A Qdrant server when QDRANT_URL is set, the embedded engine under data_dir otherwise."""
    if settings.qdrant_url:
        # qdrant-client takes about a second to import; only server setups pay for it.
        from assistant.stores.qdrant_server import QdrantServerStore

        return QdrantServerStore(
            url=settings.qdrant_url,
            api_key=settings.qdrant_api_key,
            collection=settings.collection,
            dimension=dimension,
        )
    return EdgeStore(
        settings.edge_path, dimension=dimension, node_cache_size=settings.node_cache_size
    )


def build_synthesizer(settings: Settings, *, embedder: Embedder) -> Synthesizer:
    """LLM answers over LLM_BASE_URL when it is set, checked and backed by the extractive
    synthesizer; the extractive synthesizer alone otherwise."""
    extractive = ExtractiveSynthesizer(embedder)
    if not settings.llm_base_url:
        return extractive
    if not settings.llm_model:
        raise ValueError(
            "LLM_BASE_URL is set but LLM_MODEL is not: set LLM_MODEL to the name of a model the "
            "endpoint serves (e.g. `llama3.1:8b` for Ollama), or unset LLM_BASE_URL to answer "
            "without an LLM."
        )
    # The openai client takes about a second to import; only LLM setups pay for it.
    from assistant.answering.citation_check import CitationChecker
    from assistant.answering.synthesizers.openai_compatible import OpenAISynthesizer

    return OpenAISynthesizer(
        settings.llm_base_url,
        settings.llm_model,
        api_key=settings.llm_api_key,
        checker=CitationChecker(embedder),
        fallback=extractive,
        timeout=settings.llm_timeout_seconds,
        max_sources=settings.llm_max_sources,
    )


def build_reranker(settings: Settings) -> CrossEncoderReranker | None:
    return CrossEncoderReranker(settings.reranker_path) if settings.reranker_path else None


def build_condenser(settings: Settings, synthesizer: Synthesizer) -> Condenser:
    """The LLM condenses follow-ups when one answers; words are carried forward otherwise."""
    if not settings.llm_base_url:
        return condense
    from assistant.answering.synthesizers.openai_compatible import OpenAISynthesizer
    from assistant.conversation.llm_condense import LLMCondenser

    assert isinstance(synthesizer, OpenAISynthesizer)
    return LLMCondenser(synthesizer.client, synthesizer.model)


def build_components(settings: Settings, *, embedder: Embedder | None = None) -> Components:
    embedder = embedder or build_embedder(settings)
    synthesizer = build_synthesizer(settings, embedder=embedder)  # fails before opening a store
    reranker = build_reranker(settings)  # so does this
    store = build_store(settings, dimension=embedder.dimension)
    retriever = HybridRetriever(store, embedder, top_k=settings.top_k, reranker=reranker)
    sessions = SessionStore(settings.database)
    feedback = FeedbackStore(sessions.engine)
    question_log = QuestionLog(sessions.engine, retention_days=settings.retention_days)
    escalations = EscalationStore(sessions.engine)
    answerer = Answerer(
        retriever,
        synthesizer,
        embedder=embedder,
        scorer=ConfidenceScorer(store),
        sessions=sessions,
        refusal_threshold=settings.refusal_threshold,
        question_log=question_log,
        condenser=build_condenser(settings, synthesizer),
        cache=AnswerCache(
            size=settings.answer_cache_size, ttl_seconds=settings.answer_cache_seconds
        ),
        escalations=escalations,
        support_url=settings.support_url,
    )
    return Components(
        embedder=embedder,
        store=store,
        retriever=retriever,
        answerer=answerer,
        sessions=sessions,
        feedback=feedback,
        question_log=question_log,
        escalations=escalations,
        resolution=ResolutionAnalyzer(
            question_log,
            feedback,
            escalations,
            window=dt.timedelta(minutes=settings.resolution_window_minutes),
        ),
    )
