"""Disagreeing sources: the trusted value is kept and the other one is cited as such."""

import json
import re
import shutil
from pathlib import Path

import pytest

from assistant.answerer import Answerer
from assistant.conflicts import note_conflicts
from assistant.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.synthesizers import Draft
from assistant.synthesizers.extractive import ExtractiveSynthesizer
from assistant.types import Answer, ScoredChunk
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

KB = """---
title: Payment reminders
url: https://help.example.com/articles/reminders
updated_at: 2026-08-19
product_version: "4.2"
---
# Payment reminders

## Limits
You can schedule up to 5 reminders per invoice. Reminders go out at 9:00 in your time zone.
"""

WEBINAR = """WEBVTT

1
00:00:01.000 --> 00:00:06.000
<v Dana>Here is the important limit: you can schedule at most three reminders per invoice.

2
00:00:06.000 --> 00:00:10.000
<v Dana>After the third one the Add reminder button greys out.
"""

WEBINAR_META = """title: "Webinar: Reminders"
url: https://video.example.com/w/reminders
updated_at: 2025-03-02
product_version: "4.1"
"""

MOVED_KB = """---
title: Exporting invoices
url: https://help.example.com/articles/export
updated_at: 2026-09-01
---
# Exporting invoices

To export every invoice at once, open **Reports > Export > Invoices** and pick a date range.
"""

OLD_THREAD = {
    "id": 9,
    "title": "Where is the invoice export?",
    "slug": "invoice-export",
    "post_stream": {
        "posts": [
            {"post_number": 1, "username": "ana", "cooked": "<p>Where do I export invoices?</p>"},
            {
                "post_number": 2,
                "username": "lee",
                "cooked": "<p>Open <strong>Settings &gt; Data &gt; Invoices</strong> to export"
                " every invoice at once.</p>",
            },
        ]
    },
}

UNREVIEWED_THREAD = {
    "id": 11,
    "title": "Printing envelopes for invoices",
    "slug": "envelopes",
    "post_stream": {
        "posts": [
            {"post_number": 1, "username": "kim", "cooked": "<p>Can I print envelopes?</p>"},
            {
                "post_number": 2,
                "username": "rafa",
                "cooked": "<p>Envelope printing works with the DL envelope template from the "
                "print dialog; pick the DL envelope size before printing.</p>",
            },
        ]
    },
}


def chunk(cid: str, text: str, **meta: object) -> ScoredChunk:
    return ScoredChunk(cid, text, {"document": f"{cid}.doc", **meta}, 1.0)


def markers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


KB_CHUNK = chunk(
    "kb",
    "You can schedule up to **5 reminders per invoice**.",
    source_type="kb",
    updated_at="2026-08-19",
)
OLD_CHUNK = chunk(
    "webinar",
    "You can have at most three reminders per invoice.",
    source_type="transcript",
    updated_at="2025-03-02",
    product_version="4.1",
)
QUESTION = "How many payment reminders can I schedule per invoice?"


def test_older_value_is_named_and_cited_after_the_answer() -> None:
    draft = Draft("You can schedule up to 5 reminders per invoice. [1]", [KB_CHUNK], 0.8)
    noted = note_conflicts(QUESTION, draft, [KB_CHUNK, OLD_CHUNK])
    assert noted.text.startswith(draft.text)
    assert noted.text.endswith(
        "An older webinar (version 4.1, March 2025) said three reminders [2]; "
        "the help article says 5 reminders [1]."
    )
    assert [c.chunk_id for c in noted.sources] == ["kb", "webinar"]
    assert markers(noted.text) == {1, 2}
    assert any("Sources disagree" in w for w in noted.warnings)


def test_answer_from_the_older_source_gets_the_trusted_value_first() -> None:
    draft = Draft("You can have at most three reminders per invoice. [1]", [OLD_CHUNK], 0.8)
    noted = note_conflicts(QUESTION, draft, [OLD_CHUNK, KB_CHUNK])
    assert noted.text.startswith("You can schedule up to 5 reminders per invoice. [2]")
    assert noted.text.endswith("said three reminders [1]; the help article says 5 reminders [2].")
    assert markers(noted.text) == {1, 2}


def test_sources_that_agree_or_are_not_about_the_question_are_left_alone() -> None:
    agreeing = chunk("kb2", "Up to five reminders per invoice.", source_type="kb")
    draft = Draft("Up to 5 reminders per invoice. [1]", [KB_CHUNK], 0.8)
    assert note_conflicts(QUESTION, draft, [KB_CHUNK, agreeing]) == draft
    other_topic = chunk("csv", "You can import 5,000 rows per file.", source_type="kb")
    assert note_conflicts(QUESTION, draft, [KB_CHUNK, other_topic]) == draft
    assert note_conflicts("How do I turn on reminders?", draft, [KB_CHUNK, OLD_CHUNK]) == draft


def test_a_source_listing_several_values_is_not_a_conflict() -> None:
    table = chunk(
        "plans", "Starter sends 2 reminders per invoice, Scale sends 5 reminders per invoice."
    )
    draft = Draft("Up to 5 reminders per invoice. [1]", [KB_CHUNK], 0.8)
    assert note_conflicts(QUESTION, draft, [KB_CHUNK, table]) == draft


def test_menu_paths_to_the_same_screen_that_differ() -> None:
    kb = chunk("kb", "Open **Reports > Export > Invoices**.", source_type="kb")
    thread = chunk(
        "t",
        "To export them all, open Settings > Data > Invoices.",
        source_type="thread",
        author="lee",
        reviewed=False,
    )
    draft = Draft("Open Reports > Export > Invoices. [1]", [kb], 0.8)
    noted = note_conflicts("Where do I export invoices?", draft, [kb, thread])
    assert noted.text.endswith(
        "A community post (by lee) said Settings > Data > Invoices [2]; "
        "the help article says Reports > Export > Invoices [1]."
    )


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Answerer:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("conflicts")
    corpus = root / "corpus"
    (corpus / "kb").mkdir(parents=True)
    (corpus / "kb" / "reminders.md").write_text(KB)
    (corpus / "kb" / "export.md").write_text(MOVED_KB)
    (corpus / "transcripts").mkdir()
    (corpus / "transcripts" / "reminders.vtt").write_text(WEBINAR)
    (corpus / "transcripts" / "reminders.vtt.meta.yaml").write_text(WEBINAR_META)
    (corpus / "threads").mkdir()

    (corpus / "threads" / "export.json").write_text(json.dumps(OLD_THREAD))
    (corpus / "threads" / "envelopes.json").write_text(json.dumps(UNREVIEWED_THREAD))
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([corpus])
    retriever = HybridRetriever(store, real_embedder, top_k=6)
    return Answerer(retriever, ExtractiveSynthesizer(real_embedder))


def assert_markers_match_citations(answer: Answer) -> None:
    assert markers(answer.answer) == {c.id for c in answer.citations}


def test_planted_conflict_keeps_the_current_limit_and_cites_the_old_one(
    answerer: Answerer,
) -> None:
    answer = answerer.ask(QUESTION)
    assert not answer.refused
    assert "5 reminders" in answer.answer
    kinds = {c.source_type: c for c in answer.citations}
    assert set(kinds) >= {"kb", "transcript"}
    old = kinds["transcript"].id
    assert f"An older webinar (version 4.1, March 2025) said three reminders [{old}]; " in (
        answer.answer
    )
    assert kinds["transcript"].product_version == "4.1"
    assert_markers_match_citations(answer)


def test_asking_for_the_old_version_answers_from_it_without_a_conflict(
    answerer: Answerer,
) -> None:
    answer = answerer.ask(QUESTION, product_version="4.1")
    assert not answer.refused
    assert {c.product_version for c in answer.citations} <= {"4.1", None}
    assert "three reminders" in answer.answer
    assert "said" not in answer.answer


def test_asking_for_an_unknown_version_is_labelled(answerer: Answerer) -> None:
    answer = answerer.ask(QUESTION, product_version="3.0")
    assert not answer.refused
    assert any("Nothing matched version 3.0" in w for w in answer.warnings)


def test_answer_only_from_unreviewed_posts_says_so(answerer: Answerer) -> None:
    answer = answerer.ask("Can I print envelopes with the DL envelope template?")
    assert not answer.refused
    assert {c.source_type for c in answer.citations} == {"thread"}
    assert all(not c.reviewed for c in answer.citations)
    assert {c.author for c in answer.citations} <= {"kim", "rafa"}
    assert answer.answer.endswith("our team has not reviewed.")
    assert_markers_match_citations(answer)


def test_reviewed_answers_carry_no_unreviewed_note(answerer: Answerer) -> None:
    answer = answerer.ask(QUESTION)
    assert "not reviewed" not in answer.answer


def test_streamed_notes_arrive_as_more_text_not_a_retraction(answerer: Answerer) -> None:
    events = list(answerer.stream(QUESTION))
    text = "".join(getattr(e, "text", "") for e in events)
    assert text == events[-1].answer.answer  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def ledgerly(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Answerer:  # type: ignore[no-untyped-def]
    """The demo corpus's deliberate conflict: the 4.1 webinar's 3 reminders vs the KB's 5."""
    corpora = Path(__file__).resolve().parents[2] / "corpora"
    root = tmp_path_factory.mktemp("ledgerly")
    files = [
        "kb/recurring-invoices-and-reminders.md",
        "kb/create-and-send-first-invoice.md",
        "transcripts/getting-paid-faster.vtt",
        "transcripts/getting-paid-faster.vtt.meta.yaml",
        "threads/how-do-i-add-a-late-fee-automatically-to-overdue-invoices.json",
        "threads/how-do-i-add-a-late-fee-automatically-to-overdue-invoices.json.meta.yaml",
    ]
    for name in files:
        (root / "corpus" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(corpora / name, root / "corpus" / name)
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([root / "corpus"])
    return Answerer(HybridRetriever(store, real_embedder), ExtractiveSynthesizer(real_embedder))


def test_ledgerly_reminder_limit_follows_the_current_article(ledgerly: Answerer) -> None:
    answer = ledgerly.ask("How many payment reminders can I schedule per invoice?")
    assert not answer.refused
    assert "5 reminders per invoice" in answer.answer
    webinar = [c for c in answer.citations if c.document == "transcripts/getting-paid-faster.vtt"]
    assert webinar, answer
    assert re.search(
        rf"An older webinar \(version 4\.1, June 2026\) said three reminders \[{webinar[0].id}\]; "
        r"the help article says 5 reminders \[\d\]\.",
        answer.answer,
    )
    assert_markers_match_citations(answer)


def test_numbers_about_different_things_or_prices_are_not_compared() -> None:
    history = chunk("bank", "Ledgerly imports up to 90 days of past bank transactions.")
    clearing = chunk("help", "Bank transactions take 5 days to clear.", updated_at="2027-01-01")
    draft = Draft("Up to 90 days of past transactions. [1]", [history], 0.8)
    question = "How often does Ledgerly pull new bank transactions?"
    assert note_conflicts(question, draft, [history, clearing]) == draft
    starter = chunk("a", "Upgrading from Starter ($15) to Growth costs the difference.")
    growth = chunk("b", "Upgrading from Starter at $20 to Growth is prorated.")
    draft = Draft("It is prorated. [1]", [starter], 0.8)
    assert note_conflicts("How much do I pay for Growth?", draft, [starter, growth]) == draft
