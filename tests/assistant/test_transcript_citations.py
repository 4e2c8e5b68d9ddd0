"""Transcript citations open the video at the second where the quoted words are spoken, not
where the chunk holding them starts, however the answer dressed the quote up.

The demo webinar is ingested for real (WebVTT loader, chunker, real MiniLM, real Qdrant
engine); the answer is written by an LLM played by the scripted fake OpenAI-compatible server,
which, unlike the extractive synthesizer, rarely quotes a sentence exactly as it is spoken.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.citation_check import CitationChecker
from assistant.answering.citations import citation
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.answering.synthesizers.openai_compatible import OpenAISynthesizer
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import ScoredChunk
from ingest.chunker import StructureChunker
from ingest.loaders.cues import parse_cues
from ingest.pipeline import IngestJob
from tests.fakes.fake_openai_server import FakeOpenAIServer

WEBINAR = (
    Path(__file__).resolve().parents[2] / "corpora" / "transcripts" / "getting-paid-faster.vtt"
)
VIDEO = "https://video.ledgerly.io/w/getting-paid-faster"
# Daniel's cue at 00:04:19.400, about 36 seconds into the chunk that holds it.
QUOTED = "clear the Send payment reminders checkbox"
QUESTION = "How do I stop payment reminders for one customer?"


def cue_second(words: str) -> float:
    """When the webinar's cue holding `words` starts, read from the VTT file itself."""
    cues = parse_cues(WEBINAR.read_text(encoding="utf-8"), where=WEBINAR.name)
    return float(next(c.meta["start_seconds"] for c in cues if words in c.text))


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[HybridRetriever]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("webinar")
    (root / "content" / "transcripts").mkdir(parents=True)
    for path in (WEBINAR, WEBINAR.with_name(f"{WEBINAR.name}.meta.yaml")):
        shutil.copy(path, root / "content" / "transcripts")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([root / "content"], progress=False)
    yield HybridRetriever(store, real_embedder, top_k=6)
    store.close()


@pytest.fixture
def holding_chunk(retriever: HybridRetriever) -> ScoredChunk:
    chunks = retriever.retrieve(QUESTION, audiences=["public"])
    return next(c for c in chunks if QUOTED in c.text)


def test_an_llm_quote_with_a_lead_in_opens_the_video_where_it_is_spoken(
    retriever: HybridRetriever, fake_llm: FakeOpenAIServer, holding_chunk: ScoredChunk
) -> None:
    embedder = retriever.embedder
    llm = OpenAISynthesizer(
        fake_llm.base_url,
        "fake-model",
        checker=CitationChecker(embedder),
        fallback=ExtractiveSynthesizer(embedder),
    )
    fake_llm.reply(
        "For a single customer, Daniel says to open the customer, click **Edit**, and "
        f"{QUOTED} [1]."
    )
    answer = Answerer(
        retriever, llm, embedder=embedder, scorer=ConfidenceScorer(retriever.store)
    ).ask(QUESTION)
    # The LLM's text passed its check and [1] is the chunk that holds the quote.
    assert not answer.warnings, answer.warnings
    assert "Daniel says to open the customer" in answer.answer
    video = answer.citations[0]
    assert video.source_type == "transcript"
    assert video.snippet.startswith("Open the customer, click Edit")
    spoken = cue_second("Open the customer, click Edit")
    chunk_start = float(holding_chunk.metadata["start_seconds"])
    assert spoken - chunk_start > 20  # the quote is well inside its chunk
    assert video.start_seconds is not None and abs(video.start_seconds - spoken) < 3
    assert video.url == f"{VIDEO}?t={int(spoken)}"


def test_a_quote_dressed_in_quotation_marks_and_markdown_cites_its_cue(
    holding_chunk: ScoredChunk,
) -> None:
    spoken = cue_second("Open the customer, click Edit")
    for passage in (
        f'"Open the customer, click **Edit**, and {QUOTED}."',
        f"Daniel Okafor: open the customer — click Edit — and {QUOTED}",
        f"> *Open the customer*, click `Edit`, and {QUOTED}.",
    ):
        cited = citation(1, holding_chunk, [passage])
        assert cited.start_seconds is not None, passage
        assert abs(cited.start_seconds - spoken) < 3, passage
        assert cited.url == f"{VIDEO}?t={int(spoken)}", passage


def test_an_answer_from_the_middle_of_a_chunk_opens_the_video_at_its_cue(
    retriever: HybridRetriever,
    real_embedder,  # type: ignore[no-untyped-def]
    holding_chunk: ScoredChunk,
) -> None:
    """The answer may also quote the chunk's opening line for context: the link opens where
    the words that answer the question are spoken."""
    answer = Answerer(
        retriever,
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(retriever.store),
    ).ask(QUESTION)
    assert QUOTED in answer.answer
    video = next(c for c in answer.citations if c.document == holding_chunk.document)
    spoken = cue_second("Open the customer, click Edit")
    assert video.start_seconds is not None
    assert abs(video.start_seconds - spoken) < 3
    assert video.start_seconds > float(holding_chunk.metadata["start_seconds"])
    assert video.url == f"{VIDEO}?t={int(spoken)}"


def test_the_cited_passage_that_answers_the_question_sets_the_second(
    holding_chunk: ScoredChunk,
) -> None:
    opening = "Then the later ones can be a bit more direct, mentioning the date it was due."
    answering = f"Open the customer, click Edit, and {QUOTED}."
    cited = citation(1, holding_chunk, [opening, answering], question=QUESTION)
    assert cited.start_seconds is not None
    assert abs(cited.start_seconds - cue_second("Open the customer, click Edit")) < 3
    # Without a question, the first passage the answer quotes decides.
    first = citation(1, holding_chunk, [opening, answering])
    assert first.start_seconds == holding_chunk.metadata["start_seconds"]
