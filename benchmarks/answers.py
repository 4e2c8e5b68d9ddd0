"""Answer quality on the Samsung TV e-manual: our answers beside "the top retrieved chunk as the
answer", in the same run. Answer rate, gold section cited (38 questions with gold sections),
ROUGE-L recall and MiniLM semantic similarity against the experts' answers (all 50).

    .venv/bin/python -m benchmarks.answers [--dataset DIR] [--out FILE]
"""

import re
import tempfile
import time
from pathlib import Path
from statistics import mean

import numpy as np

from assistant.answerer import Answerer
from assistant.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.synthesizers.extractive import ExtractiveSynthesizer
from assistant.wiring import build_embedder
from benchmarks.common import (
    dataset_arguments,
    document_name,
    index_dataset,
    load_questions,
    print_table,
    write_results,
)

_TOKEN = re.compile(r"\w+")
_MARKER = re.compile(r"\[\d+\]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_MARKER.sub(" ", text).lower())


def rouge_l_recall(candidate: str, reference: str) -> float:
    """Longest common subsequence of tokens over the reference length."""
    cand, ref = tokens(candidate), tokens(reference)
    if not cand or not ref:
        return 0.0
    previous = [0] * (len(cand) + 1)
    for r in ref:
        current = [0]
        for j, c in enumerate(cand, start=1):
            current.append(previous[j - 1] + 1 if r == c else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1] / len(ref)


def main() -> None:
    args = dataset_arguments(__doc__ or "")

    cases = load_questions(args.dataset)
    embedder = build_embedder(Settings())  # the product's default runtime (ONNX)
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=8)
        answerers = {
            "ours (extractive)": Answerer(retriever, ExtractiveSynthesizer(embedder)),
            # The previous synthesizer: every candidate sentence embedded at answer time.
            "ours, units embedded": Answerer(
                retriever, ExtractiveSynthesizer(embedder, semantic_units=True)
            ),
        }
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in answerers}
        rows["top chunk"] = []
        latencies: dict[str, list[float]] = {name: [] for name in answerers}
        for case in cases:
            systems = {}
            for name, answerer in answerers.items():
                started = time.perf_counter()
                answer = answerer.ask(case["question"])
                latencies[name].append((time.perf_counter() - started) * 1000)
                systems[name] = (
                    "" if answer.refused else answer.answer,
                    {document_name(c.document) for c in answer.citations},
                )
            top = retriever.retrieve(case["question"], audiences=["public"], top_k=1)
            gold = set(case.get("gold_docs") or [])
            systems |= {
                "top chunk": (
                    top[0].text if top else "",
                    {document_name(top[0].document)} if top else set(),
                ),
            }
            for name, (text, cited) in systems.items():
                rows[name].append(
                    {
                        "answered": float(bool(text)),
                        "gold_cited": float(bool(gold & cited)) if gold else float("nan"),
                        "rouge_l_recall": rouge_l_recall(text, case["reference_answer"]),
                        "words": float(len(tokens(text))),
                        "text": text,  # type: ignore[dict-item]
                    }
                )
        references = embedder.embed([c["reference_answer"] for c in cases])
        for items in rows.values():
            vectors = embedder.embed([str(i["text"]) or " " for i in items])
            for item, similarity in zip(items, np.sum(vectors * references, axis=1), strict=True):
                item["semantic_similarity"] = float(similarity) if item["answered"] else 0.0
        store.close()

    results = {}
    for name, items in rows.items():
        gold_items = [i["gold_cited"] for i in items if not np.isnan(i["gold_cited"])]
        results[name] = {
            "answer_rate": mean(i["answered"] for i in items),
            "gold_section_cited": mean(gold_items),
            "rouge_l_recall": mean(i["rouge_l_recall"] for i in items),
            "semantic_similarity": mean(i["semantic_similarity"] for i in items),
            "mean_words": mean(i["words"] for i in items),
        }
    for name, times in latencies.items():
        results[name]["p50_ms"] = float(np.percentile(times, 50))
        results[name]["p95_ms"] = float(np.percentile(times, 95))
    headers = ["system", "answered", "gold cited", "ROUGE-L recall", "semantic sim", "words"]
    print(f"\n{len(cases)} questions ({sum(bool(c.get('gold_docs')) for c in cases)} with gold)\n")
    print_table(
        headers,
        [
            [
                n,
                r["answer_rate"],
                r["gold_section_cited"],
                r["rouge_l_recall"],
                r["semantic_similarity"],
                round(r["mean_words"], 1),
            ]
            for n, r in results.items()
        ],
    )
    print()
    for name in latencies:
        p50, p95 = results[name]["p50_ms"], results[name]["p95_ms"]
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms per answer, retrieval included")
    path = write_results("answers", {"questions": len(cases), "results": results}, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
