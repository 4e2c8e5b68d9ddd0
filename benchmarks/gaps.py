"""Gap grouping: does clustering put questions about the same content together, and how long
does a report over a large question log take?

Two ground truths, pairwise precision, recall and F1 of our average-linkage grouping at several
thresholds, beside single linkage (connected components) at the same threshold and one group
per question, all on the same MiniLM vectors:

- `paraphrases`: benchmarks/gap_paraphrases.jsonl, 47 questions about 13 things the demo
  content does not cover, 3-5 wordings each, with look-alike needs that must stay apart
  (export vs import, delete the account vs an invoice, time tracking vs time zone). Written
  for this benchmark: what gap grouping is for, many customers asking one missing thing.
- `same document`: the answerable questions of evals/golden/ and evals/dev/ (deduplicated),
  together when their first reference document is the same. Distinct asks about one article
  (plan limits, refunds): a coarse check that grouping follows topics, not a target.

Then a question log of --questions rows in SQLite over the corpora/ index: the time to build
the whole report.

    .venv/bin/python -m benchmarks.gaps [--questions 2000] [--out FILE]
"""

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from benchmarks.common import ROOT, print_table, write_results

THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
COLUMNS = ("method", "threshold", "groups", "precision", "recall", "f1")
GOLDEN = ROOT / "evals" / "golden"
DEV = ROOT / "evals" / "dev"
PARAPHRASES = Path(__file__).resolve().parent / "gap_paraphrases.jsonl"


def labelled_questions() -> list[tuple[str, str]]:
    """(question, first reference document), each question once."""
    seen: dict[str, str] = {}
    for path in (GOLDEN / "answerable.jsonl", DEV / "answerable.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                seen.setdefault(row["question"], row["reference_documents"][0])
    return sorted(seen.items())


def pairwise_scores(groups: list[int], truth: list[str]) -> dict[str, float]:
    """Precision: of the pairs grouped together, how many share a document; recall: of the
    pairs sharing a document, how many were grouped together."""
    together = same = both = 0
    for i, j in combinations(range(len(truth)), 2):
        grouped, related = groups[i] == groups[j], truth[i] == truth[j]
        together += grouped
        same += related
        both += grouped and related
    precision = both / together if together else 1.0
    recall = both / same if same else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "groups": len(set(groups))}


def paraphrases() -> list[tuple[str, str]]:
    """(question, the need it expresses) from benchmarks/gap_paraphrases.jsonl."""
    lines = PARAPHRASES.read_text(encoding="utf-8").splitlines()
    return [(row["question"], row["need"]) for row in map(json.loads, lines) if row]


def grouping_quality(embedder: Any, rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
    from assistant.analytics.clustering import cluster

    questions, truth = [q for q, _ in rows], [d for _, d in rows]
    vectors = embedder.embed(questions)
    distances = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)[np.triu_indices(len(rows), k=1)]
    single = linkage(distances, method="single")
    results = [
        {"method": "one group per question", "threshold": None}
        | pairwise_scores(list(range(len(rows))), truth)
    ]
    for threshold in THRESHOLDS:
        ours = [0] * len(rows)
        for number, members in enumerate(cluster(vectors, min_similarity=threshold)):
            for index in members:
                ours[index] = number
        results.append(
            {"method": "ours: average linkage", "threshold": threshold}
            | pairwise_scores(ours, truth)
        )
        components = fcluster(single, t=1.0 - threshold, criterion="distance")
        results.append(
            {"method": "single linkage (components)", "threshold": threshold}
            | pairwise_scores([int(c) for c in components], truth)
        )
    return results


def report_time(embedder: Any, questions: int, folder: Path) -> dict[str, Any]:
    """Seconds to build the report over a log of `questions` rows (40% refused, 10% low
    confidence, 5% rated down) drawn from the golden questions, over the corpora/ index: the
    first report and the next one (which finds the questions' vectors in the log)."""
    from assistant.analytics.gaps import GapAnalyzer
    from assistant.answering.drafting import REFUSAL
    from assistant.records.feedback import FeedbackStore, Rating
    from assistant.settings import Settings
    from assistant.types import Answer, Citation
    from assistant.wiring import build_components
    from ingest.wiring import build_ingester

    components = build_components(Settings(data_dir=folder), embedder=embedder)
    try:
        job = build_ingester(embedder=embedder, store=components.store)
        job.run([ROOT / "corpora"], progress=False)
        pool = [q for q, _ in labelled_questions()]
        for name in ("out_of_scope.jsonl", "internal_as_public.jsonl"):
            lines = (GOLDEN / name).read_text(encoding="utf-8").splitlines()
            pool += [json.loads(line)["question"] for line in lines if line.strip()]
        rng = random.Random(7)
        log = components.question_log
        assert log is not None
        feedback = FeedbackStore(components.sessions.engine)
        cited = Citation(
            id=1, title="t", source_type="kb", document="kb/plans-and-billing.md", snippet="…",
            audience="public",
        )  # fmt: skip
        for n in range(questions):
            question, roll = rng.choice(pool), rng.random()
            refused = roll < 0.4
            answer = Answer(
                answer=REFUSAL if refused else "An answer [1].",
                citations=[] if refused else [cited],
                confidence=0.2 if refused else (0.55 if roll < 0.5 else 0.8),
                refused=refused,
                session_id=f"s{n}",
                query=question,
            )
            turn = components.sessions.append(f"s{n}", _turn(question, answer))
            log.record(question, answer, audience="public", mode="customer", latency_ms=1.0,
                       turn_id=turn)  # fmt: skip
            if roll > 0.95:
                feedback.add(f"s{n}", Rating.DOWN)
        documents = [m.document for m in components.store.manifests().values()]
        timings = []
        for _ in range(2):  # the first report embeds the gap questions, the second reads them
            analyzer = GapAnalyzer(log, components.retriever)
            start = time.perf_counter()
            report = analyzer.report(
                since=dt.datetime.now(dt.UTC) - dt.timedelta(days=1), documents=documents
            )
            timings.append(time.perf_counter() - start)
    finally:
        components.close()
    gap_queries = len({q for g in report.groups for q in g.queries})
    return {
        "questions": report.questions,
        "groups_shown": len(report.groups),
        "distinct_gap_queries_in_shown_groups": gap_queries,
        "report_seconds": round(timings[0], 2),
        "second_report_seconds": round(timings[1], 2),
    }


def _turn(question: str, answer: Any) -> Any:
    from assistant.records.sessions import Turn

    return Turn(question, question, answer.answer, answer.refused)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant.embedders.sentence_transformer import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    quality = {
        "paraphrases": grouping_quality(embedder, paraphrases()),
        "same document": grouping_quality(embedder, labelled_questions()),
    }
    for name, results in quality.items():
        print(f"Grouping by {name}:")
        print_table(
            ["method", "threshold", "groups", "precision", "recall", "F1"],
            [["-" if r[k] is None else r[k] for k in COLUMNS] for r in results],
        )
        print()
    with tempfile.TemporaryDirectory() as folder:
        timing = report_time(embedder, args.questions, Path(folder))
    print_table(list(timing), [list(timing.values())])
    path = write_results("gaps", {"grouping": quality, "report": timing}, args.out)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
