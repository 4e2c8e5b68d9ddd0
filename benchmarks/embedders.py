"""MiniLM on four runtimes: sentence-transformers on torch (as shipped), our ONNX export, the
ONNX export with int8 MatMul weights, and the ONNX export with int8 for questions only (the
serving default: content float32). Same questions, same sections, same run:

  - closeness to torch's vectors (cosine, questions and sections);
  - one question at a time, as the API embeds them: wall ms p50/p95 and CPU ms per question
    (torch's CPU includes its intra-op threads, so the process's CPU time is used);
  - a batch of section texts, as ingest embeds them: texts per second;
  - retrieval on the Samsung TV manual with each runtime for sections and questions.

    .venv/bin/python -m benchmarks.embedders [--dataset DIR] [--out FILE]
"""

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedders import BatchingEmbedder
from assistant.embedders.onnx_runtime import OnnxEmbedder
from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from benchmarks.common import (
    dataset_arguments,
    index_dataset,
    load_questions,
    print_table,
    write_results,
)
from benchmarks.retrieval import CANDIDATES, PUBLIC, document_ranking, score

ROUNDS = 3  # passes over the questions for the latency numbers


def runtimes(cache_dir: Path) -> dict[str, BatchingEmbedder]:
    return {
        "torch (sentence-transformers)": SentenceTransformerEmbedder(),
        "onnx": OnnxEmbedder(cache_dir=cache_dir),
        "onnx-int8": OnnxEmbedder(cache_dir=cache_dir, int8=True),
        "onnx, int8 questions": OnnxEmbedder(cache_dir=cache_dir, int8_questions=True),
    }


def one_at_a_time(embedder: BatchingEmbedder, questions: list[str]) -> dict[str, float]:
    for question in questions[:5]:
        embedder.embed_question(question)
    walls = []
    cpu_started = time.process_time()
    for _ in range(ROUNDS):
        for question in questions:
            started = time.perf_counter()
            embedder.embed_question(question)
            walls.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(walls)
    return {
        "question_p50_ms": float(np.percentile(walls, 50)),
        "question_p95_ms": float(np.percentile(walls, 95)),
        "question_cpu_ms": cpu_ms,
    }


def batched(embedder: BatchingEmbedder, texts: list[str]) -> float:
    started = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def retrieval(
    embedder: BatchingEmbedder, dataset: Path, cases: list[dict[str, Any]]
) -> dict[str, float]:
    questions = [c["question"] for c in cases]
    gold = [set(c["gold_docs"]) for c in cases]
    vectors = [embedder.embed_question(q) for q in questions]
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(dataset / "docs", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=CANDIDATES)
        rankings = [
            document_ranking(
                [c.document for c in retriever.retrieve(q, audiences=PUBLIC, query_vector=v)]
            )
            for q, v in zip(questions, vectors, strict=True)
        ]
        store.close()
    return score(rankings, gold)


def main() -> None:
    args = dataset_arguments(__doc__ or "")
    cases = load_questions(args.dataset)
    questions = [c["question"] for c in cases]
    sections = [p.read_text(encoding="utf-8") for p in sorted((args.dataset / "docs").glob("*.md"))]
    gold_cases = [c for c in cases if c.get("gold_docs")]

    embedders = runtimes(Settings().model_cache_dir)
    reference_q = embedders["torch (sentence-transformers)"].embed(questions)
    reference_s = embedders["torch (sentence-transformers)"].embed(sections)
    results: dict[str, dict[str, float]] = {}
    for name, embedder in embedders.items():
        print(f"measuring {name}…", flush=True)
        asked = np.vstack([embedder.embed_question(q) for q in questions])
        cos_q = np.sum(asked * reference_q, axis=1)
        cos_s = np.sum(embedder.embed(sections) * reference_s, axis=1)
        results[name] = {
            "min_cosine_to_torch": float(min(cos_q.min(), cos_s.min())),
            "mean_cosine_to_torch": float(np.mean(np.concatenate([cos_q, cos_s]))),
            **one_at_a_time(embedder, questions),
            "sections_per_s": batched(embedder, sections),
            **retrieval(embedder, args.dataset, gold_cases),
        }

    headers = ["runtime", "min cos", "q p50 ms", "q p95 ms", "q CPU ms", "sections/s"]
    headers += ["hit@1", "hit@5", "MRR@10"]
    keys = ["min_cosine_to_torch", "question_p50_ms", "question_p95_ms", "question_cpu_ms"]
    keys += ["sections_per_s", "hit@1", "hit@5", "mrr@10"]
    print(f"\n{len(questions)} questions, {len(sections)} sections, {ROUNDS} passes\n")
    print_table(headers, [[name, *(r[k] for k in keys)] for name, r in results.items()])
    path = write_results(
        "embedders",
        {"questions": len(questions), "sections": len(sections), "results": results},
        args.out,
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
