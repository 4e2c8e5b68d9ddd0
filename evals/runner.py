"""Runs the assistant on every case of a dataset and scores each turn.

The index is built from scratch in a temporary ASSISTANT_DATA_DIR with the embedded engine, so
an evaluation never touches ./data, a Qdrant server or the app database of a running setup.
"""

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.embedders import Embedder
from assistant.settings import Settings
from assistant.types import Audience, Citation, Mode, ScoredChunk, readable_audiences
from assistant.wiring import Components, build_components, build_embedder
from evals.datasets import Dataset
from evals.metrics import OfflineScorer
from evals.records import TurnRecord
from ingest.wiring import build_ingester

if TYPE_CHECKING:
    from evals.judge import JudgeScorer


@dataclass
class EvalRun:
    dataset: Dataset
    records: list[TurnRecord]
    judge_model: str | None  # the LLM judge's model name, None when offline only
    chunks_indexed: int
    seconds: float


def run_eval(
    dataset: Dataset,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalRun:
    """Indexes the dataset's content in a temporary data dir, asks every case and scores it.

    With `settings.llm_base_url` set, answers come from that endpoint (as in production) and
    the LLM judge metrics are scored with it too.
    """
    started = time.perf_counter()
    say = progress or (lambda _: None)
    embedder = embedder or build_embedder(settings)
    with tempfile.TemporaryDirectory(prefix="assistant-eval-") as tmp:
        private = settings.model_copy(
            update={"data_dir": Path(tmp), "database_url": None, "qdrant_url": None}
        )
        say(f"indexing {dataset.content}")
        chunks = index_content(dataset.content, private, embedder)
        components = build_components(private, embedder=embedder)
        try:
            say(f"asking {len(dataset.cases)} cases")
            records = ask_cases(components, dataset, progress=say)
        finally:
            components.close()
    judge = None
    if settings.llm_base_url:
        from evals.judge import JudgeScorer  # imports the openai client: LLM setups only

        judge = JudgeScorer.from_settings(settings, embedder=embedder)
    say("scoring")
    asyncio.run(score_records(records, OfflineScorer(embedder), judge))
    return EvalRun(
        dataset=dataset,
        records=records,
        judge_model=settings.llm_model if judge else None,
        chunks_indexed=chunks,
        seconds=time.perf_counter() - started,
    )


def index_content(content: Path, settings: Settings, embedder: Embedder) -> int:
    """Ingests `content` into the store `settings` name; returns the chunks written."""
    job = build_ingester(settings, embedder=embedder)
    try:
        summary = job.run([content], progress=False)
    finally:
        job.store.close()
    if summary.failed:
        failures = "; ".join(f"{f.file}: {f.reason}" for f in summary.failed[:5])
        raise ValueError(f"{len(summary.failed)} files of {content} could not be read: {failures}")
    return summary.chunks_written


def ask_cases(
    components: Components, dataset: Dataset, *, progress: Callable[[str], None]
) -> list[TurnRecord]:
    """Asks every turn as the case's caller; a conversation's turns share one session."""
    records = []
    for number, case in enumerate(dataset.cases, start=1):
        audience, mode = Audience(case.audience), Mode(case.mode)
        visible = readable_audiences(audience, mode)
        session = f"eval-{case.id}"
        for position, turn in enumerate(case.turns):
            answer = components.answerer.ask(
                turn.question, audience=audience, mode=mode, session_id=session
            )
            # The answerer's own retrieval for this query and caller (deterministic), so the
            # context metrics see what the synthesizer saw.
            retrieved = components.retriever.retrieve(answer.query, audiences=visible)
            sources = [source_chunk(c, retrieved, components, visible) for c in answer.citations]
            records.append(
                TurnRecord(
                    case=case,
                    position=position,
                    answer=answer,
                    retrieved=retrieved,
                    cited=[s for s in sources if s is not None],
                    visible_audiences=visible,
                )
            )
        if number % 25 == 0:
            progress(f"  {number}/{len(dataset.cases)} cases")
    return records


def source_chunk(
    citation: Citation, retrieved: list[ScoredChunk], components: Components, audiences: list[str]
) -> ScoredChunk | None:
    """The chunk behind a citation: among the retrieved chunks, or else (a source the answerer
    found with a search we did not repeat, such as a conflict check) by searching its snippet."""
    found = cited_chunk(citation, retrieved)
    if found is None:
        query = citation.snippet.rstrip("…")
        found = cited_chunk(
            citation, components.retriever.retrieve(query, audiences=audiences, top_k=20)
        )
    return found


def cited_chunk(citation: Citation, retrieved: list[ScoredChunk]) -> ScoredChunk | None:
    """The retrieved chunk a citation quotes: same document, text holding its snippet (which
    starts where the quoted words are, for a transcript: at their cue)."""
    snippet = citation.snippet.rstrip("…")
    for chunk in retrieved:
        if chunk.document == citation.document and snippet in " ".join(chunk.text.split()):
            return chunk
    return None


async def score_records(
    records: list[TurnRecord], offline: OfflineScorer, judge: "JudgeScorer | None" = None
) -> None:
    """Fills each record's scores; judge metrics only for answered turns that expect one."""
    for record in records:
        record.scores = await offline.score(record)
        if judge is not None:
            record.scores.update(await judge.score(record))
