"""Retrieval quality on the Samsung TV e-manual: BM25 alone, dense alone, Qdrant's plain hybrid
(dense + BM25, DBSF) on naive 1000-character title-prefixed chunks, the same plain hybrid on our
structure-aware chunks, and ours (those chunks scored by their closest passage fused with BM25,
BM25 counted three times for questions that name a product label, then rescored by the
question's terms in their best passage and shaped), all
in the real Qdrant engine in the same run, with MiniLM as `assistant serve` runs it (questions
on its int8 copy). Document-level hit@1/5/10 and MRR@10. Hybrid fusion runs at the fixed depth
the chat uses (assistant/stores PREFETCH_DEPTH), so the first results here are the ones a chat
answer is built from.

    .venv/bin/python -m benchmarks.retrieval [--dataset DIR] [--out FILE]
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders import Embedder
from assistant.embedders.sparse import Bm25Encoder
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores import PREFETCH_DEPTH, audience_filters
from assistant.stores.edge import EdgeStore
from assistant.stores.payload import DENSE, SPARSE
from benchmarks.common import (
    dataset_arguments,
    document_name,
    index_dataset,
    load_questions,
    print_table,
    serving_embedder,
    write_results,
)

PUBLIC = ["public"]
CANDIDATES = 40  # chunks fetched per question, ranked into documents


def naive_nodes(dataset: Path, embedder: Embedder) -> list[TextNode]:
    """The reference setup: 1000-character chunks with the section title in front."""
    nodes = []
    for path in sorted((dataset / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").strip()
        for index, start in enumerate(range(0, len(text), 1000)):
            node = TextNode(
                id_=f"{path.name}:{index}",
                text=f"{title}\n\n{text[start : start + 1000]}",
                metadata={"document": path.name, "audience": "public", "doc_id": path.name},
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=path.name)
            nodes.append(node)
    vectors = embedder.embed([n.get_content() for n in nodes])
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector.tolist()
    return nodes


def plain_hybrid(store: EdgeStore, vector: np.ndarray, question: str) -> list[str]:
    """Qdrant's hybrid query as documented: the chunk's dense vector and BM25, fused by DBSF
    (no passages, no weights, no shaping), with the public audience filter."""
    public = qe.Filter(must=[qe.FieldCondition(key="audience", match=qe.MatchAny(PUBLIC))])
    indices, values = Bm25Encoder().query(question)
    branches: list[Any] = [
        qe.Query.Nearest(vector.tolist(), using=DENSE),
        qe.Query.Nearest(qe.SparseVector(indices, values), using=SPARSE),
    ]
    points = store.client.query(
        qe.QueryRequest(
            limit=CANDIDATES,
            prefetches=[
                qe.Prefetch(limit=PREFETCH_DEPTH, query=b, filter=public) for b in branches
            ],
            query=qe.Fusion.Dbsf(),  # type: ignore[arg-type]
            filter=public,
            with_payload=["document"],
        )
    )
    return document_ranking([str((p.payload or {})["document"]) for p in points])


def document_ranking(documents: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for document in documents:
        seen.setdefault(document_name(document), None)
    return list(seen)


def score(rankings: list[list[str]], gold: list[set[str]]) -> dict[str, float]:
    def rank_of(ranking: list[str], docs: set[str]) -> int | None:
        return next((i for i, d in enumerate(ranking, start=1) if d in docs), None)

    ranks = [rank_of(r, g) for r, g in zip(rankings, gold, strict=True)]
    n = len(ranks)
    return {
        "hit@1": sum(r is not None and r <= 1 for r in ranks) / n,
        "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "hit@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def timed(run: Callable[[str], list[str]], questions: list[str]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    rankings = [run(q) for q in questions]
    return rankings, (time.perf_counter() - started) * 1000 / len(questions)


def main() -> None:
    args = dataset_arguments(__doc__ or "")

    cases = [q for q in load_questions(args.dataset) if q.get("gold_docs")]
    questions = [q["question"] for q in cases]
    gold = [set(q["gold_docs"]) for q in cases]
    embedder = serving_embedder()
    vectors = {q: embedder.embed_question(q) for q in questions}

    with tempfile.TemporaryDirectory() as tmp:
        naive = EdgeStore(Path(tmp) / "naive", dimension=embedder.dimension)
        naive.add(naive_nodes(args.dataset, embedder))
        ours_store, summary = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "ours")
        retriever = HybridRetriever(ours_store, embedder, top_k=CANDIDATES)

        def plain(mode: VectorStoreQueryMode) -> Callable[[str], list[str]]:
            def run(question: str) -> list[str]:
                result = naive.query(
                    VectorStoreQuery(
                        query_embedding=vectors[question].tolist(),
                        query_str=question,
                        similarity_top_k=CANDIDATES,
                        mode=mode,
                        filters=audience_filters(PUBLIC),
                    )
                )
                return document_ranking([n.metadata["document"] for n in result.nodes or []])

            return run

        def ours(question: str) -> list[str]:
            chunks = retriever.retrieve(question, audiences=PUBLIC, query_vector=vectors[question])
            return document_ranking([c.document for c in chunks])

        systems = {
            "BM25 (Qdrant sparse, naive chunks)": plain(VectorStoreQueryMode.SPARSE),
            "MiniLM dense (naive chunks)": plain(VectorStoreQueryMode.DEFAULT),
            "Qdrant hybrid DBSF (naive chunks)": lambda q: plain_hybrid(naive, vectors[q], q),
            "Qdrant hybrid DBSF (our chunks)": lambda q: plain_hybrid(ours_store, vectors[q], q),
            "ours": ours,
        }
        results = {}
        for name, run in systems.items():
            rankings, ms = timed(run, questions)
            results[name] = {**score(rankings, gold), "ms_per_query": round(ms, 2)}
        naive.close()
        ours_store.close()

    headers = ["retriever", "hit@1", "hit@5", "hit@10", "MRR@10", "ms/query"]
    rows = [
        [name, r["hit@1"], r["hit@5"], r["hit@10"], r["mrr@10"], r["ms_per_query"]]
        for name, r in results.items()
    ]
    print(f"\n{len(cases)} questions with gold sections; {summary.chunks_written} chunks (ours)\n")
    print_table(headers, rows)
    path = write_results(
        "retrieval",
        {"questions": len(cases), "chunks_ours": summary.chunks_written, "results": results},
        args.out,
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
