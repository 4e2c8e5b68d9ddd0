"""Conversations without an LLM on MTRAG (`../shared/datasets/mtrag-dev`): every multi-turn
conversation's user turns replayed in one session, the final answer scored. ANSWERABLE finals:
a gold passage among the citations (goal >= 85%); UNANSWERABLE finals: refused (goal >= 50%);
PARTIAL and
UNDERSPECIFIED reported too. Ours beside two baselines in the same run: the last turn alone
(no history) and the condenser we had before (the topic carried into follow-ups, kept below as
`todays_condense`). A third of the conversations (by a stable hash of their id) is held out:
tune on `--part dev`, report both.

A fourth run never refuses ("ours, no refusal"): from its finals' confidences, a sweep of the
refusal threshold shows what each cut would trade, ANSWERABLE finals citing gold against
UNANSWERABLE ones refused (the table, and a chart beside the JSON).

    .venv/bin/python -m benchmarks.conversations [--dataset DIR] [--limit N] [--part PART]
        [--out FILE]
"""

import argparse
import hashlib
import json
import math
import os
import re
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.records.sessions import SessionStore, Turn
from assistant.retrieval.retriever import HybridRetriever
from assistant.settings import Settings
from assistant.text_units import content_terms
from assistant.wiring import build_embedder
from benchmarks.common import ROOT, document_name, index_dataset, print_table, write_results

MTRAG = ROOT.parent / "shared" / "datasets" / "mtrag-dev"
KINDS = ["ANSWERABLE", "UNANSWERABLE", "PARTIAL", "UNDERSPECIFIED"]
PARTS = ["dev", "held-out"]
NEVER_REFUSING = "ours, no refusal"
SWEEP = [round(0.30 + 0.02 * i, 2) for i in range(11)]

# The condenser before issue 22, as it was: a short question that opens like a continuation or
# leans on a pronoun gets the previous standalone query put in front of it (which chains: each
# follow-up appends to the last query).
_CONTINUATION = re.compile(
    r"^\s*(and|also|but|or|so|then|what about|how about|what if|same for|same with|and if|"
    r"what else|anything else|instead|too)\b",
    re.IGNORECASE,
)
_ANAPHOR = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|there|one|ones|he|she|"
    r"the same|such|which one)\b",
    re.IGNORECASE,
)


def todays_condense(question: str, history: list[Turn]) -> str:
    """The baseline: assistant/conversation/condense.py's `condense` before issue 22."""
    follow_up = bool(_CONTINUATION.match(question)) or (
        len(question.split()) <= 10 and bool(_ANAPHOR.search(question))
    )
    if not history or not follow_up:
        return question
    topic = history[-1].standalone
    new_terms = content_terms(question)
    if new_terms and new_terms <= content_terms(topic):
        return topic
    return f"{topic} {question}"


class TodaysAnswerer(Answerer):
    """The answerer before issue 22: retrieves with the condensed query alone."""

    def retrieval_queries(self, question: str, query: str, history: list[Turn]) -> list[str]:
        return [query]


def part_of(conversation_id: str) -> str:
    """A stable third of the conversations is held out."""
    digest = hashlib.sha256(conversation_id.encode("utf-8")).digest()
    return "held-out" if digest[0] % 3 == 0 else "dev"


def read_conversations(dataset: Path) -> list[dict[str, Any]]:
    lines = (dataset / "conversations.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def replay(
    answerer: Answerer, conversation: dict[str, Any], *, session: str | None
) -> tuple[Any, list[float], int]:
    """The final answer, each turn's milliseconds and the final query's length in characters."""
    times = []
    answer = None
    for question in conversation["turns"]:
        started = time.perf_counter()
        answer = answerer.ask(question, session_id=session)
        times.append((time.perf_counter() - started) * 1000)
    assert answer is not None
    return answer, times, len(answer.query)


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per answerability: conversations, gold cited and refused rates of their finals."""
    result: dict[str, Any] = {}
    for kind in KINDS:
        items = [r for r in rows if r["answerability"] == kind]
        with_gold = [r for r in items if r["gold"]]
        result[kind] = {
            "conversations": len(items),
            "gold_cited": mean(r["gold_cited"] for r in with_gold) if with_gold else None,
            "refused": mean(r["refused"] for r in items) if items else None,
        }
    return result


def sweep(rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    """For each refusal threshold in `SWEEP`: the ANSWERABLE finals (with gold) that would
    cite gold and the UNANSWERABLE ones that would be refused, from finals never refused."""
    answerable = [r for r in rows if r["answerability"] == "ANSWERABLE" and r["gold"]]
    unanswerable = [r for r in rows if r["answerability"] == "UNANSWERABLE"]
    # A small --limit may hold no finals of a kind: its rate is then unknown, not an error.
    return [
        {
            "threshold": threshold,
            "answerable_gold_cited": mean(
                r["gold_cited"] * (r["confidence"] >= threshold) for r in answerable
            )
            if answerable
            else float("nan"),
            "unanswerable_refused": mean(r["confidence"] < threshold for r in unanswerable)
            if unanswerable
            else float("nan"),
        }
        for threshold in SWEEP
    ]


def plot_sweep(sweeps: dict[str, list[dict[str, float]]], threshold: float, path: Path) -> None:
    """ANSWERABLE cited and UNANSWERABLE refused against the threshold, one line per part,
    with the goals and the product's threshold marked."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    axes = figure.subplots()
    for part, points in sweeps.items():
        x = [p["threshold"] for p in points]
        style = "-" if part == "dev" else "--"
        axes.plot(
            x,
            [p["answerable_gold_cited"] for p in points],
            "b" + style,
            label=f"ANSWERABLE cite gold ({part})",
        )
        axes.plot(
            x,
            [p["unanswerable_refused"] for p in points],
            "r" + style,
            label=f"UNANSWERABLE refused ({part})",
        )
    axes.axhline(0.85, color="b", linewidth=0.5, linestyle=":")
    axes.axhline(0.50, color="r", linewidth=0.5, linestyle=":")
    axes.axvline(threshold, color="grey", linewidth=0.8)
    axes.set_xlabel("refusal threshold (grey: the product's)")
    axes.set_ylabel("share of multi-turn finals")
    axes.set_title("MTRAG: what each refusal threshold trades (dotted: goals)")
    axes.legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=MTRAG)
    parser.add_argument("--limit", type=int, default=None, help="the first N conversations")
    parser.add_argument("--part", choices=[*PARTS, "both"], default="both")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    # The goal is about multi-turn finals: a single question is not a conversation.
    conversations = [c for c in read_conversations(args.dataset) if len(c["turns"]) > 1]
    if args.part != "both":
        conversations = [c for c in conversations if part_of(c["id"]) == args.part]
    conversations = conversations[: args.limit]
    embedder = build_embedder(Settings())  # the product's default runtime (ONNX)
    rows: dict[str, list[dict[str, Any]]] = {}
    latencies: dict[str, list[float]] = {}
    query_chars: dict[str, list[int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(args.dataset / "docs", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=Settings().top_k)
        scorer = ConfidenceScorer(store)  # one for every answerer over this store
        sessions = SessionStore(f"sqlite:///{Path(tmp) / 'app.db'}")
        synthesizer = ExtractiveSynthesizer(embedder)
        threshold = Settings().refusal_threshold
        systems: dict[str, tuple[Answerer, bool]] = {
            "ours": (
                Answerer(
                    retriever,
                    synthesizer,
                    sessions=sessions,
                    refusal_threshold=threshold,
                    embedder=embedder,
                    scorer=scorer,
                ),
                True,
            ),
            "last turn only": (
                Answerer(
                    retriever,
                    synthesizer,
                    refusal_threshold=threshold,
                    embedder=embedder,
                    scorer=scorer,
                ),
                False,
            ),
            "old condenser": (
                TodaysAnswerer(
                    retriever,
                    synthesizer,
                    sessions=sessions,
                    refusal_threshold=threshold,
                    condenser=todays_condense,
                    embedder=embedder,
                    scorer=scorer,
                ),
                True,
            ),
            NEVER_REFUSING: (
                Answerer(
                    retriever,
                    synthesizer,
                    sessions=sessions,
                    refusal_threshold=0.0,
                    embedder=embedder,
                    scorer=scorer,
                ),
                True,
            ),
        }
        for name, (answerer, in_session) in systems.items():
            rows[name], latencies[name], query_chars[name] = [], [], []
            for index, conversation in enumerate(conversations):
                session = f"{name}-{index}" if in_session else None
                answer, times, chars = replay(answerer, conversation, session=session)
                gold = set(conversation["gold_docs"])
                cited = {document_name(c.document) for c in answer.citations}
                rows[name].append(
                    {
                        "id": conversation["id"],
                        "part": part_of(conversation["id"]),
                        "turns": len(conversation["turns"]),
                        "answerability": conversation["answerability"],
                        "gold": bool(gold),
                        "gold_cited": float(bool(gold & cited)),
                        "refused": float(answer.refused),
                        "confidence": answer.confidence,
                    }
                )
                latencies[name] += times
                query_chars[name].append(chars)
        sessions.close()
        store.close()

    parts = [p for p in PARTS if any(r["part"] == p for r in next(iter(rows.values())))]
    results: dict[str, Any] = {}
    for name, items in rows.items():
        results[name] = {part: score([r for r in items if r["part"] == part]) for part in parts}
        results[name]["p50_ms"] = float(np.percentile(latencies[name], 50))
        results[name]["p95_ms"] = float(np.percentile(latencies[name], 95))
        results[name]["max_query_chars"] = max(query_chars[name])

    def rate(value: float | None) -> str:
        return "-" if value is None or math.isnan(value) else f"{100 * value:.1f}%"

    for part in parts:
        counts = score([r for r in rows["ours"] if r["part"] == part])
        print(f"\n{part}: " + ", ".join(f"{counts[k]['conversations']} {k}" for k in KINDS))
        print_table(
            [
                "system",
                "ANSWERABLE gold cited",
                "ANSWERABLE refused",
                "UNANSWERABLE refused",
                "PARTIAL gold cited",
                "PARTIAL refused",
                "UNDERSPECIFIED refused",
            ],
            [
                [
                    name,
                    rate(r[part]["ANSWERABLE"]["gold_cited"]),
                    rate(r[part]["ANSWERABLE"]["refused"]),
                    rate(r[part]["UNANSWERABLE"]["refused"]),
                    rate(r[part]["PARTIAL"]["gold_cited"]),
                    rate(r[part]["PARTIAL"]["refused"]),
                    rate(r[part]["UNDERSPECIFIED"]["refused"]),
                ]
                for name, r in results.items()
            ],
        )
    print()
    sweeps = {p: sweep([r for r in rows[NEVER_REFUSING] if r["part"] == p]) for p in parts}
    print("\nrefusal threshold sweep (from the finals never refused):")
    print_table(
        ["threshold", *[f"{p}: {label}" for p in parts for label in ("ANS cite", "UNANS refused")]],
        [
            [
                point["threshold"],
                *[
                    rate(sweeps[p][i][key])
                    for p in parts
                    for key in ("answerable_gold_cited", "unanswerable_refused")
                ],
            ]
            for i, point in enumerate(sweeps[parts[0]])
        ],
    )
    print()
    for name, r in results.items():
        print(
            f"{name}: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms per turn; "
            f"longest final query {r['max_query_chars']} characters"
        )
    path = write_results(
        "conversations",
        {
            "conversations": len(conversations),
            "turns": sum(len(c["turns"]) for c in conversations),
            "refusal_threshold": threshold,
            "results": results,
            "threshold_sweep": sweeps,
            "finals": rows,
        },
        args.out,
    )
    chart = path.with_name(path.stem + "_threshold.png")
    plot_sweep(sweeps, threshold, chart)
    print(f"wrote {path} and {chart.name}")


if __name__ == "__main__":
    main()
