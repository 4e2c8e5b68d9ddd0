"""What the llama-index store seam costs: hybrid queries through `EdgeStore.query` against the
same request sent straight to the qdrant-edge shard, on ~20k random chunks (no model needed).

Four paths per query, interleaved so drift hits them alike; each query runs --repeat times per
path and the fastest run counts, which keeps other processes' noise out of the difference:
  raw shard.query     a prebuilt `QueryRequest` (query vectors and filter ready, payloads and
                      vectors returned): the engine alone
  raw + build         the BM25 query vector, filter and request built per query, then shard.query
  EdgeStore.query     `VectorStoreQuery` in, `VectorStoreQueryResult` of TextNodes out; the search
                      asks for ids only and the nodes come from its node cache (the repeats)
  EdgeStore.query, no node cached   the same as with an empty node cache: every node is
                      read from the shard and built

    .venv/bin/python -m benchmarks.store_overhead [--chunks N] [--queries N] [--top-k K]
        [--repeat R] [--out FILE]
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from assistant.embedders.sparse import Bm25Encoder
from assistant.stores import audience_filters, prefetch_depth
from assistant.stores.edge import EdgeStore
from assistant.stores.payload import DENSE, PASSAGES, SPARSE
from benchmarks.common import print_table, query_without_node_cache, write_results

DIMENSION = 384  # all-MiniLM-L6-v2
AUDIENCES = ["public", "partner", "internal"]
CALLER = ["public", "partner"]
# HybridRetriever asks for ASSISTANT_TOP_K (8) x CANDIDATE_FACTOR (3) chunks per question.
TOP_K = 24
WARMUP = 30
BATCH = 2000


def synthetic_words(rng: np.random.Generator, count: int) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(4, 10)))) for _ in range(count)]


def synthetic_text(rng: np.random.Generator, words: list[str], length: int) -> str:
    # Zipf-like word frequencies, so BM25's IDF has common and rare terms to weigh.
    ranks = np.minimum(rng.zipf(1.3, size=length), len(words)) - 1
    return " ".join(words[r] for r in ranks)


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_store(path: Path, rng: np.random.Generator, words: list[str], chunks: int) -> EdgeStore:
    store = EdgeStore(path, dimension=DIMENSION)
    for start in range(0, chunks, BATCH):
        count = min(BATCH, chunks - start)
        vectors = unit_vectors(rng, count)
        nodes = []
        for offset, vector in enumerate(vectors):
            index = start + offset
            doc_id = f"doc-{index // 10}"
            node = TextNode(
                id_=f"{doc_id}:{index % 10}",
                text=synthetic_text(rng, words, int(rng.integers(40, 120))),
                metadata={
                    "doc_id": doc_id,
                    "document": f"{doc_id}.md",
                    "audience": AUDIENCES[int(rng.integers(0, 3))],
                    "source_type": "kb",
                    "title": f"Article {index // 10}",
                },
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc_id)
            node.embedding = vector.tolist()
            nodes.append(node)
        store.add(nodes)
    return store


def raw_request(vector: list[float], question: str, bm25: Bm25Encoder, top_k: int) -> Any:
    """The request EdgeStore sends for a hybrid query, written against qdrant-edge directly."""
    flt = qe.Filter(
        must=[
            qe.FieldCondition(key="audience", match=qe.MatchAny(CALLER)),
            qe.Filter(must=[qe.IsEmptyCondition(key="tenant")]),
        ]
    )
    indices, values = bm25.query(question)
    branch_limit = prefetch_depth(top_k)
    return qe.QueryRequest(
        limit=top_k,
        prefetches=[
            qe.Prefetch(
                limit=branch_limit, query=qe.Query.Nearest([vector], using=PASSAGES), filter=flt
            ),
            qe.Prefetch(
                limit=branch_limit,
                query=qe.Query.Nearest(qe.SparseVector(indices, values), using=SPARSE),
                filter=flt,
            ),
        ],
        query=qe.Fusion.Dbsf(),  # type: ignore[arg-type]
        filter=flt,
        with_payload=True,
        with_vector=[DENSE],
    )


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--top-k", type=int, default=TOP_K)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per query and path; the fastest counts"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    words = synthetic_words(rng, 5000)
    bm25 = Bm25Encoder()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = build_store(Path(tmp) / "edge", rng, words, args.chunks)
        build_s = time.perf_counter() - started
        shard = store.client

        total = args.queries + WARMUP
        questions = [
            synthetic_text(rng, words[:2000], int(rng.integers(3, 9))) for _ in range(total)
        ]
        vectors = [v.tolist() for v in unit_vectors(rng, total)]
        prebuilt = [
            raw_request(v, q, bm25, args.top_k) for v, q in zip(vectors, questions, strict=True)
        ]
        store_queries = [
            VectorStoreQuery(
                query_embedding=v,
                query_str=q,
                similarity_top_k=args.top_k,
                mode=VectorStoreQueryMode.HYBRID,
                filters=audience_filters(CALLER),
            )
            for v, q in zip(vectors, questions, strict=True)
        ]

        def raw(i: int) -> object:
            return shard.query(prebuilt[i])

        def raw_built(i: int) -> object:
            return shard.query(raw_request(vectors[i], questions[i], bm25, args.top_k))

        def seam(i: int) -> object:
            return store.query(store_queries[i])

        def seam_uncached(i: int) -> object:
            return query_without_node_cache(store, store_queries[i])

        paths: dict[str, Callable[[int], object]] = {
            "raw shard.query": raw,
            "raw + build": raw_built,
            "EdgeStore.query": seam,
            "EdgeStore.query, no node cached": seam_uncached,
        }
        timings: dict[str, list[float]] = {name: [] for name in paths}
        for i in range(total):
            best = dict.fromkeys(paths, float("inf"))
            for round_ in range(args.repeat):
                # Rotate the order so no path always runs on a cache the previous one warmed.
                names = list(paths)
                shift = (i + round_) % len(names)
                names = names[shift:] + names[:shift]
                for name in names:
                    t0 = time.perf_counter_ns()
                    paths[name](i)
                    best[name] = min(best[name], (time.perf_counter_ns() - t0) / 1e6)
            if i >= WARMUP:
                for name, ms in best.items():
                    timings[name].append(ms)
        # Equal fused scores are ordered arbitrarily, so compare scores rather than ids.
        same = [
            np.allclose(
                [p.score for p in shard.query(prebuilt[i])],
                store.query(store_queries[i]).similarities or [],
                atol=1e-5,
            )
            for i in range(WARMUP, total)
        ]
        store.close()

    raw_ms = timings["raw shard.query"]
    summary: dict[str, dict[str, float]] = {}
    for name, samples in timings.items():
        overhead = [a - b for a, b in zip(samples, raw_ms, strict=True)]
        summary[name] = {
            "p50_ms": round(percentile(samples, 50), 3),
            "p95_ms": round(percentile(samples, 95), 3),
            "mean_ms": round(statistics.fmean(samples), 3),
            "overhead_p50_us": round(percentile(overhead, 50) * 1000, 1),
            "overhead_mean_us": round(statistics.fmean(overhead) * 1000, 1),
        }

    print(
        f"\n{args.chunks} chunks ({DIMENSION}-d dense + BM25), built in {build_s:.1f} s; "
        f"{args.queries} hybrid queries (DBSF, top {args.top_k}, audience filter {CALLER}); "
        f"same ranked scores from both paths: {sum(same)}/{len(same)}\n"
    )
    print_table(
        ["path", "p50 ms", "p95 ms", "mean ms", "overhead p50 µs", "overhead mean µs"],
        [
            [
                name,
                s["p50_ms"],
                s["p95_ms"],
                s["mean_ms"],
                int(s["overhead_p50_us"]),
                int(s["overhead_mean_us"]),
            ]
            for name, s in summary.items()
        ],
    )
    path = write_results(
        "store_overhead",
        {
            "chunks": args.chunks,
            "dimension": DIMENSION,
            "queries": args.queries,
            "top_k": args.top_k,
            "repeat": args.repeat,
            "build_seconds": round(build_s, 1),
            "same_ranked_scores": f"{sum(same)}/{len(same)}",
            "overhead_is_relative_to": "raw shard.query",
            "results": summary,
        },
        args.out,
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
