"""What the optional cross-encoder reranker (`RERANKER_PATH`) costs per question on this CPU.

No trained cross-encoder can be installed here, so its quality cannot be measured. Its cost can:
it depends on the architecture, not on the weights. The model measured is a cross-encoder with
the shape of cross-encoder/ms-marco-MiniLM-L6-v2 (MiniLM-L6, 384 wide), built from the packaged
all-MiniLM-L6-v2 encoder with an untrained scoring head. It reranks the candidates
HybridRetriever hands it (top_k 8 x 3 = 24 real Samsung TV chunks) for each Samsung question,
retrieval with and without it, the question already embedded, in the same run.

    .venv/bin/python -m benchmarks.reranker [--dataset DIR] [--out FILE]
"""

import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.retrieval.reranker import CrossEncoderReranker
from assistant.retrieval.retriever import CANDIDATE_FACTOR, HybridRetriever
from assistant.settings import Settings
from assistant.wiring import build_embedder
from benchmarks.common import (
    dataset_arguments,
    index_dataset,
    load_questions,
    print_table,
    write_results,
)

TOP_K = 8


def minilm_shaped_cross_encoder(folder: Path) -> Path:
    """MiniLM-L6 with a one-logit classification head, saved as a sentence-transformers
    CrossEncoder folder."""
    from sentence_transformers import CrossEncoder

    from assistant.embedders.sentence_transformer import packaged_model_path

    model = CrossEncoder(str(packaged_model_path()), num_labels=1, device="cpu")
    model.save(str(folder))
    return folder


def percentiles(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(samples, 50)),
        "p95_ms": float(np.percentile(samples, 95)),
    }


def main() -> None:
    args = dataset_arguments(__doc__ or "")
    questions = [c["question"] for c in load_questions(args.dataset)]
    embedder = build_embedder(Settings())
    with tempfile.TemporaryDirectory() as tmp:
        reranker = CrossEncoderReranker(minilm_shaped_cross_encoder(Path(tmp) / "cross-encoder"))
        store, _ = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "index")
        plain = HybridRetriever(store, embedder, top_k=TOP_K)
        reranked = HybridRetriever(store, embedder, top_k=TOP_K, reranker=reranker)
        timings: dict[str, list[float]] = {"without reranker": [], "with reranker": []}
        for question in questions:
            vector = embedder.embed_question(question)
            for name, retriever in (("without reranker", plain), ("with reranker", reranked)):
                started = time.perf_counter()
                retriever.retrieve(question, audiences=["public"], query_vector=vector)
                timings[name].append((time.perf_counter() - started) * 1000)
        store.close()

    results = {name: percentiles(samples) for name, samples in timings.items()}
    print(f"\n{len(questions)} questions, {TOP_K * CANDIDATE_FACTOR} candidates reranked each\n")
    print_table(
        ["retrieval (hybrid query + shaping)", "p50 ms", "p95 ms"],
        [[name, r["p50_ms"], r["p95_ms"]] for name, r in results.items()],
    )
    path = write_results(
        "reranker",
        {
            "questions": len(questions),
            "candidates": TOP_K * CANDIDATE_FACTOR,
            "quality": "not measured: no trained cross-encoder is installable here",
            "results": results,
        },
        args.out,
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
