"""Builds the heavy objects from Settings; used by entry points (the CLI and the API) only."""

from dataclasses import dataclass

from assistant.answerer import Answerer
from assistant.embedders import Embedder
from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder
from assistant.retriever import HybridRetriever
from assistant.sessions import SessionStore
from assistant.settings import Settings
from assistant.stores import Store
from assistant.stores.edge import EdgeStore
from assistant.synthesizers.extractive import ExtractiveSynthesizer


@dataclass
class Components:
    embedder: Embedder
    store: Store
    retriever: HybridRetriever
    answerer: Answerer
    sessions: SessionStore

    def close(self) -> None:
        self.store.close()
        self.sessions.close()


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
    return EdgeStore(settings.edge_path, dimension=dimension)


def build_components(settings: Settings, *, embedder: Embedder | None = None) -> Components:
    embedder = embedder or SentenceTransformerEmbedder(
        settings.embedding_model_path, batch_size=settings.embedding_batch_size
    )
    store = build_store(settings, dimension=embedder.dimension)
    retriever = HybridRetriever(store, embedder, top_k=settings.top_k)
    sessions = SessionStore(settings.database)
    answerer = Answerer(
        retriever,
        ExtractiveSynthesizer(embedder),
        sessions=sessions,
        refusal_threshold=settings.refusal_threshold,
    )
    return Components(
        embedder=embedder, store=store, retriever=retriever, answerer=answerer, sessions=sessions
    )
