"""Does the page the user is on help retrieval? hit@1 and hit@3 on evals/dev/context.jsonl with
and without the page, in the same run, over the Ledgerly corpus (real MiniLM, real Qdrant engine).

Two kinds of questions: `needs_context` ("How do I add a new one?" on /settings/users) should
gain from the page; `ignores_context` (a clear question asked from an unrelated page) must not
lose. A small sweep of the page boost shows how the constant in
assistant/retrieval/shaping.py was chosen.

    .venv/bin/python -m benchmarks.context [--out FILE]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import assistant.retrieval.shaping
from assistant.retrieval.retriever import HybridRetriever
from benchmarks.common import ROOT, index_dataset, print_table, write_results

DEV_SET = ROOT / "evals" / "dev" / "context.jsonl"
CORPUS = ROOT / "corpora"
BOOSTS = (1.0, 1.1, 1.25, 1.5, 2.0)
TOP_K = 3


def load_cases() -> list[dict[str, Any]]:
    lines = DEV_SET.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def documents(retriever: HybridRetriever, question: str, page: str | None) -> list[str]:
    chunks = retriever.retrieve(question, audiences=["public"], top_k=TOP_K, page=page)
    return list(dict.fromkeys(c.document for c in chunks))


def hits(ranked: list[list[str]], cases: list[dict[str, Any]], k: int) -> float:
    found = [
        bool(set(r[:k]) & set(c["reference_documents"])) for r, c in zip(ranked, cases, strict=True)
    ]
    return sum(found) / len(found) if found else 0.0


def measure(retriever: HybridRetriever, cases: list[dict[str, Any]]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for kind in ("needs_context", "ignores_context"):
        subset = [c for c in cases if c["kind"] == kind]
        without = [documents(retriever, c["question"], None) for c in subset]
        with_page = [documents(retriever, c["question"], c["page"]) for c in subset]
        rows[kind] = {
            "questions": len(subset),
            "hit@1_without_page": hits(without, subset, 1),
            "hit@1_with_page": hits(with_page, subset, 1),
            "hit@3_without_page": hits(without, subset, 3),
            "hit@3_with_page": hits(with_page, subset, 3),
        }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    cases = load_cases()
    chosen = assistant.retrieval.shaping.PAGE_BOOST
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(CORPUS, embedder, Path(tmp) / "edge")
        retriever = HybridRetriever(store, embedder)
        sweep = {}
        for boost in BOOSTS:
            assistant.retrieval.shaping.PAGE_BOOST = boost
            sweep[str(boost)] = measure(retriever, cases)
        assistant.retrieval.shaping.PAGE_BOOST = chosen
        store.close()
    table = [
        [
            boost,
            kind,
            row["questions"],
            row["hit@1_without_page"],
            row["hit@1_with_page"],
            row["hit@3_without_page"],
            row["hit@3_with_page"],
        ]
        for boost, rows in sweep.items()
        for kind, row in rows.items()
    ]
    headers = ["page boost", "questions", "n", "hit@1 no page", "hit@1 page"]
    print_table([*headers, "hit@3 no page", "hit@3 page"], table)
    print(f"\nassistant/retrieval/shaping.py uses PAGE_BOOST = {chosen}")
    result = {"dev_set": str(DEV_SET.relative_to(ROOT)), "page_boost": chosen}
    path = write_results(
        "context", {**result, "results": sweep[str(chosen)], "sweep": sweep}, args.out
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
