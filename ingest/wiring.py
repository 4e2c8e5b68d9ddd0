"""The ingest stack built once (load → chunk → embed → store), for every entry point that
ingests or chunks: the command line, the ingest route, the evals and the benchmarks."""

from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.stores import Store
from assistant.wiring import build_embedder, build_store
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob


def build_chunker(embedder: Embedder) -> StructureChunker:
    """Chunks that fit the embedder's token window, counted with its own tokenizer: the chunks
    ingest stores, also for code that chunks without storing."""
    return StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)


def build_ingester(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    store: Store | None = None,
) -> IngestJob:
    """The ingest job (load → chunk → embed → store) over `store` with `embedder`, each built
    from `settings` as `build_components` builds it when not given (settings are needed only
    then). A store built here is the caller's to close: `job.store.close()`."""
    if embedder is None or store is None:
        if settings is None:
            raise TypeError("build_ingester needs settings to build the embedder or store")
        if embedder is None:
            embedder = build_embedder(settings)
        if store is None:
            store = build_store(settings, dimension=embedder.dimension)
    return IngestJob(store, embedder, build_chunker(embedder))
