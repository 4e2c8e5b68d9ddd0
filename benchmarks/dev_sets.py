"""Our dev sets over corpora/ (evals/dev): answer-or-refuse calibration and follow-up retrieval.

1. Confidence for every answerable question (asked with its own audience) and every
   out-of-scope question (asked as a public caller); answered and refused rates at each
   threshold, and the threshold that best meets the goal (>= 90% of out-of-scope refused while
   >= 90% of answerable ones are answered).
2. Multi-turn conversations: document hit@5 for follow-up turns, with our condensation beside
   asking the follow-up alone, in the same run.

    .venv/bin/python -m benchmarks.dev_sets [--out FILE]
"""

import argparse
import json
import os
import tempfile
from pathlib import Path

from assistant.answerer import Answerer
from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder
from assistant.retriever import HybridRetriever
from assistant.sessions import SessionStore
from assistant.synthesizers.extractive import ExtractiveSynthesizer
from assistant.types import Audience, Mode
from benchmarks.common import ROOT, index_dataset, print_table, write_results

DEV = ROOT / "evals" / "dev"
THRESHOLDS = [round(0.30 + 0.01 * i, 2) for i in range(31)]


def read_jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    answerable = read_jsonl(DEV / "answerable.jsonl")
    out_of_scope = read_jsonl(DEV / "out_of_scope.jsonl")
    conversations = read_jsonl(DEV / "conversations.jsonl")
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = index_dataset(ROOT / "corpora", embedder, Path(tmp) / "index")
        retriever = HybridRetriever(store, embedder, top_k=8)
        sessions = SessionStore(f"sqlite:///{Path(tmp) / 'app.db'}")
        # Threshold 0: every draft comes back, so its confidence can be compared to any cut.
        answerer = Answerer(
            retriever, ExtractiveSynthesizer(embedder), sessions=sessions, refusal_threshold=0.0
        )

        def confidence(question: str, audience: str) -> float:
            mode = Mode.INTERNAL if audience == "internal" else Mode.CUSTOMER
            answer = answerer.ask(question, audience=Audience(audience), mode=mode)
            return 0.0 if not answer.citations else answer.confidence

        answerable_conf = [confidence(q["question"], q["audience"]) for q in answerable]
        oos_conf = [confidence(q["question"], "public") for q in out_of_scope]

        followups = {"condensed": [0, 0], "alone": [0, 0]}
        for conversation in conversations:
            session = f"bench-{conversation['id']}"
            for position, turn in enumerate(conversation["turns"]):
                answer = answerer.ask(turn["question"], session_id=session)
                if position == 0:
                    continue
                gold = set(turn["reference_documents"])
                condensed = retriever.retrieve(answer.query, audiences=["public"], top_k=5)
                alone = retriever.retrieve(turn["question"], audiences=["public"], top_k=5)
                for name, chunks in (("condensed", condensed), ("alone", alone)):
                    followups[name][0] += any(c.document in gold for c in chunks)
                    followups[name][1] += 1
        sessions.close()
        store.close()

    sweep = []
    for threshold in THRESHOLDS:
        answered = sum(c >= threshold for c in answerable_conf) / len(answerable_conf)
        refused = sum(c < threshold for c in oos_conf) / len(oos_conf)
        sweep.append({"threshold": threshold, "answered": answered, "refused_oos": refused})
    meeting = [s for s in sweep if s["answered"] >= 0.9 and s["refused_oos"] >= 0.9]
    best = max(meeting or sweep, key=lambda s: min(s["answered"], s["refused_oos"]))

    print(f"\n{len(answerable)} answerable, {len(out_of_scope)} out-of-scope questions\n")
    print_table(
        ["threshold", "answerable answered", "out-of-scope refused"],
        [[s["threshold"], s["answered"], s["refused_oos"]] for s in sweep[::2]],
    )
    goal = "meets" if meeting else "misses"
    print(f"\nbest threshold {best['threshold']} ({goal} the 90%/90% goal)")
    hit = {name: hits / total for name, (hits, total) in followups.items()}
    print(f"\nfollow-up turns: {followups['condensed'][1]}")
    print_table(
        ["follow-up query", "hit@5"],
        [["condensed (ours)", hit["condensed"]], ["alone", hit["alone"]]],
    )
    path = write_results(
        "dev_sets",
        {
            "answerable": len(answerable),
            "out_of_scope": len(out_of_scope),
            "best_threshold": best,
            "meets_goal": bool(meeting),
            "sweep": sweep,
            "answerable_confidence": answerable_conf,
            "out_of_scope_confidence": oos_conf,
            "followup_hit@5": hit,
            "followup_turns": followups["condensed"][1],
        },
        args.out,
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
