"""Answer quality on the Samsung TV e-manual: our answers beside the previous composer, the first
45 words of the top retrieved chunk and the whole top chunk, in the same run.

The bound is no system: for each question, the 60-word window of the top 8 retrieved chunks
that shares the longest common subsequence with the expert's answer. No extractive answer of
that length quoted from one place in those chunks can score a higher ROUGE-L recall.

Per system: answer rate, gold section cited (the 38 questions with gold sections), ROUGE-L recall
and precision against the experts' answers (all 50; precision over the answered ones), median
answer length in words and MiniLM semantic similarity. A third of the questions (by a stable hash
of their id) is held out from tuning; the table shows the dev part, the held-out part and all.

    .venv/bin/python -m benchmarks.answers [--dataset DIR] [--out FILE]
"""

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean, median
from typing import Any

import numpy as np

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.types import ScoredChunk
from assistant.wiring import build_embedder
from benchmarks.common import (
    dataset_arguments,
    document_name,
    held_out,
    index_dataset,
    load_questions,
    print_table,
    write_results,
)
from benchmarks.previous_composer import PreviousExtractiveSynthesizer

_TOKEN = re.compile(r"\w+")
_MARKER = re.compile(r"\[\d+\]")
FIRST_WORDS = 45
BOUND_WORDS = 60  # the goal's longest median answer
BOUND = f"bound: best {BOUND_WORDS} words of top 8 chunks"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_MARKER.sub(" ", text).lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence, bit-parallel (Crochemore et al. 2001): bit i
    of `row` tracks a[i], so each token of `b` costs a few integer operations, fast enough
    for the bound's thousands of windows per question."""
    masks: dict[str, int] = {}
    for i, token in enumerate(a):
        masks[token] = masks.get(token, 0) | (1 << i)
    full = (1 << len(a)) - 1
    row = full
    for token in b:
        matched = row & masks.get(token, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(a) - row.bit_count()


def rouge_l(candidate: str, reference: str) -> tuple[float, float]:
    """(recall, precision): the longest common token subsequence over the reference's length
    and over the candidate's."""
    cand, ref = tokens(candidate), tokens(reference)
    if not cand or not ref:
        return 0.0, 0.0
    common = lcs_length(ref, cand)
    return common / len(ref), common / len(cand)


def best_window(
    chunks: list[ScoredChunk], reference: str, *, words: int = BOUND_WORDS
) -> tuple[str, ScoredChunk | None]:
    """The `words`-token window of `chunks` sharing the longest common subsequence with
    `reference` (the bound on extractive recall at that length), and its chunk."""
    ref = tokens(reference)
    best: tuple[int, list[str], ScoredChunk | None] = (-1, [], None)
    for chunk in chunks:
        text = tokens(chunk.text)
        for start in range(max(1, len(text) - words + 1)):
            window = text[start : start + words]
            common = lcs_length(ref, window)
            if common > best[0]:
                best = (common, window, chunk)
    return " ".join(best[1]), best[2]


def first_words(chunk: ScoredChunk | None) -> str:
    return " ".join(chunk.text.split()[:FIRST_WORDS]) if chunk else ""


def scored(case: dict[str, Any], text: str, cited: set[str]) -> dict[str, Any]:
    """One system's answer to one case against the reference: a row for `summary`."""
    gold = set(case.get("gold_docs") or [])
    recall, precision = rouge_l(text, case["reference_answer"])
    return {
        "id": case["id"],
        "held_out": held_out(case["id"]),
        "answered": float(bool(text)),
        "gold_cited": float(bool(gold & cited)) if gold else None,
        "rouge_l_recall": recall,
        "rouge_l_precision": precision,
        "words": len(tokens(text)),
        "text": text,
    }


def summary(items: list[dict[str, Any]]) -> dict[str, float]:
    answered = [i for i in items if i["answered"]]
    gold = [i["gold_cited"] for i in items if i["gold_cited"] is not None]
    return {
        "questions": len(items),
        "answer_rate": mean(i["answered"] for i in items),
        "gold_section_cited": mean(gold) if gold else float("nan"),
        "rouge_l_recall": mean(i["rouge_l_recall"] for i in items),
        "rouge_l_precision": mean(i["rouge_l_precision"] for i in answered) if answered else 0.0,
        "median_words": median(i["words"] for i in answered) if answered else 0.0,
        "semantic_similarity": mean(i["semantic_similarity"] for i in items),
    }


def main() -> None:
    args = dataset_arguments(__doc__ or "")

    cases = load_questions(args.dataset)
    embedder = build_embedder(Settings())  # the product's default runtime (ONNX)
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=8)
        scorer = ConfidenceScorer(store)  # one for every answerer over this store
        answerers = {
            "ours": Answerer(
                retriever,
                ExtractiveSynthesizer(embedder),
                embedder=embedder,
                scorer=scorer,
            ),
            "previous composer": Answerer(
                retriever,
                PreviousExtractiveSynthesizer(embedder),
                embedder=embedder,
                scorer=scorer,
            ),
        }
        chunk_baselines: dict[str, Callable[[ScoredChunk | None], str]] = {
            f"first {FIRST_WORDS} words of top chunk": first_words,
            "top chunk": lambda chunk: chunk.text if chunk else "",
        }
        names = [*answerers, *chunk_baselines, BOUND]
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
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
            found = retriever.retrieve(case["question"], audiences=["public"], top_k=8)
            top = found[0] if found else None
            for name, quote in chunk_baselines.items():
                systems[name] = (quote(top), {document_name(top.document)} if top else set())
            window, source = best_window(found, case["reference_answer"])
            systems[BOUND] = (window, {document_name(source.document)} if source else set())
            for name, (text, cited) in systems.items():
                rows[name].append(scored(case, text, cited))
        references = embedder.embed([c["reference_answer"] for c in cases])
        for items in rows.values():
            vectors = embedder.embed([str(i["text"]) or " " for i in items])
            for item, similarity in zip(items, np.sum(vectors * references, axis=1), strict=True):
                item["semantic_similarity"] = float(similarity) if item["answered"] else 0.0
        store.close()

    results: dict[str, dict[str, Any]] = {}
    for name, items in rows.items():
        results[name] = {
            "dev": summary([i for i in items if not i["held_out"]]),
            "held_out": summary([i for i in items if i["held_out"]]),
            "all": summary(items),
        }
    for name, times in latencies.items():
        results[name]["p50_ms"] = float(np.percentile(times, 50))
        results[name]["p95_ms"] = float(np.percentile(times, 95))
    headers = ["system", "part", "answered", "gold cited", "R-L recall", "R-L precision"]
    headers += ["median words", "semantic sim"]
    print(f"\n{len(cases)} questions ({sum(bool(c.get('gold_docs')) for c in cases)} with gold)\n")
    print_table(
        headers,
        [
            [
                name,
                part,
                r["answer_rate"],
                r["gold_section_cited"],
                r["rouge_l_recall"],
                r["rouge_l_precision"],
                r["median_words"],
                r["semantic_similarity"],
            ]
            for name, parts in results.items()
            for part, r in parts.items()
            if isinstance(r, dict)
        ],
    )
    print()
    for name in latencies:
        p50, p95 = results[name]["p50_ms"], results[name]["p95_ms"]
        print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms per answer, retrieval included")
    answers = {name: {i["id"]: i["text"] for i in items} for name, items in rows.items()}
    data = {"questions": len(cases), "results": results, "answers": answers}
    path = write_results("answers", data, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
