"""A question that is partly in scope answers the covered part and says plainly what is not
covered. Over demo help articles, with real MiniLM and the real Qdrant engine."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer, covered_part
from assistant.answering.source_notes import UNCOVERED_NOTE
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import Finished, TextDelta
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

KB = Path(__file__).resolve().parents[2] / "corpora" / "kb"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("partial")
    (root / "content" / "kb").mkdir(parents=True)
    for name in ("reset-password.md", "plans-and-billing.md", "two-factor-authentication.md"):
        shutil.copy(KB / name, root / "content" / "kb")
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([root / "content"], progress=False)
    yield Answerer(
        HybridRetriever(store, real_embedder, top_k=6),
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )
    store.close()


def test_the_covered_part_is_answered_and_the_rest_named(demo: Answerer) -> None:
    answer = demo.ask("How do I reset my password and run payroll?")
    assert not answer.refused
    assert "Forgot password" in answer.answer
    assert answer.citations[0].document == "kb/reset-password.md"
    assert answer.answer.rstrip().endswith(UNCOVERED_NOTE)
    assert UNCOVERED_NOTE in answer.warnings


def test_a_partial_answer_says_so_without_repeating_the_uncovered_word(demo: Answerer) -> None:
    events = list(
        demo.stream(
            "Is there a cap on how many invoices I can send per month on the Starter plan, "
            "and can I do it in QuickBooks?"
        )
    )
    answer = events[-1].answer if isinstance(events[-1], Finished) else None
    assert answer is not None and not answer.refused
    assert "50" in answer.answer
    assert answer.citations[0].document == "kb/plans-and-billing.md"
    assert UNCOVERED_NOTE in answer.answer
    # The word may be an internal tool's name that only content the caller can't read uses.
    assert "QuickBooks" not in answer.answer
    # What streams is the whole answer, note included.
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == answer.answer


def test_a_question_only_about_uncovered_things_is_still_refused(demo: Answerer) -> None:
    for question in ("How do I export invoices to QuickBooks?", "Can I run payroll in Ledgerly?"):
        answer = demo.ask(question)
        assert answer.refused, question
        assert answer.citations == []
        assert UNCOVERED_NOTE not in answer.answer


def test_a_covered_question_gets_no_note(demo: Answerer) -> None:
    answer = demo.ask("How do I reset my password?")
    assert not answer.refused
    assert UNCOVERED_NOTE not in answer.answer
    assert not [w for w in answer.warnings if UNCOVERED_NOTE in w]


@pytest.mark.parametrize(
    ("question", "uncovered", "part"),
    [
        ("How do I reset my password and run payroll?", ["payroll"], "How do I reset my password"),
        ("Reset my password? Also, can Ledgerly run payroll?", ["payroll"], "Reset my password?"),
        ("How do I export invoices to QuickBooks?", ["quickbooks"], None),
        ("Does it have time tracking or timesheets?", ["timesheets"], None),
        ("How do I reset my password?", [], None),
    ],
)
def test_the_covered_part_of_a_question(
    question: str, uncovered: list[str], part: str | None
) -> None:
    assert covered_part(question, uncovered) == part
