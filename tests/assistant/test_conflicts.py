"""Disagreeing sources: the trusted value is kept and the other one is cited as such."""

import json
import re
import shutil
from pathlib import Path

import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.conflicts import note_conflicts
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.text_units import split_sentences
from assistant.types import Answer, Draft, ScoredChunk
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


ATTACH_KB = """---
title: Attachments on recurring invoices
url: https://help.example.com/articles/recurring-attachments
updated_at: 2026-08-19
product_version: "4.2"
---
# Attachments on recurring invoices

## Attaching files
You can attach files to recurring invoices. Every invoice the schedule creates carries the same
files, up to 10 MB in total.
"""

ATTACH_WEBINAR = """WEBVTT

1
00:00:01.000 --> 00:00:05.000
<v Dana>A question we get a lot: can I attach files to recurring invoices?

2
00:00:05.000 --> 00:00:09.000
<v Dana>Sadly you cannot attach files to recurring invoices. Email them separately.
"""

ATTACH_WEBINAR_META = """title: "Webinar: Recurring invoices"
url: https://video.example.com/w/recurring
updated_at: 2025-03-02
product_version: "4.1"
"""


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
    (corpus / "kb" / "attachments.md").write_text(ATTACH_KB)
    (corpus / "transcripts" / "recurring.vtt").write_text(ATTACH_WEBINAR)
    (corpus / "transcripts" / "recurring.vtt.meta.yaml").write_text(ATTACH_WEBINAR_META)
    (corpus / "threads").mkdir()

    (corpus / "threads" / "export.json").write_text(json.dumps(OLD_THREAD))
    (corpus / "threads" / "envelopes.json").write_text(json.dumps(UNREVIEWED_THREAD))
    store = EdgeStore(root / "edge", dimension=real_embedder.dimension)
    chunker = StructureChunker(real_embedder.count_tokens, max_tokens=real_embedder.max_tokens)
    IngestJob(store, real_embedder, chunker).run([corpus])
    retriever = HybridRetriever(store, real_embedder, top_k=6)
    return Answerer(
        retriever,
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )


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
    return Answerer(
        HybridRetriever(store, real_embedder),
        ExtractiveSynthesizer(real_embedder),
        embedder=real_embedder,
        scorer=ConfidenceScorer(store),
    )


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


YES_KB = chunk(
    "attach-kb",
    "You can attach files to recurring invoices. Each invoice carries the same files.",
    source_type="kb",
    updated_at="2026-08-19",
)
NO_WEBINAR = chunk(
    "attach-webinar",
    "Dana: Sadly you cannot attach files to recurring invoices.",
    source_type="transcript",
    updated_at="2025-03-02",
    product_version="4.1",
)
YES_NO_QUESTION = "Can I attach files to a recurring invoice?"
YES_NOTE = (
    'An older webinar (version 4.1, March 2025) said "Sadly you cannot attach files to '
    'recurring invoices" [{old}]; the help article says "You can attach files to recurring '
    'invoices" [{new}].'
)


def test_yes_no_disagreement_keeps_the_trusted_side_and_cites_both() -> None:
    draft = Draft("You can attach files to recurring invoices. [1]", [YES_KB], 0.8)
    noted = note_conflicts(YES_NO_QUESTION, draft, [YES_KB, NO_WEBINAR])
    assert noted.text == f"{draft.text}\n\n{YES_NOTE.format(old=2, new=1)}"
    assert [c.chunk_id for c in noted.sources] == ["attach-kb", "attach-webinar"]
    assert any(w.startswith("Sources disagree") for w in noted.warnings)


@pytest.mark.parametrize("retrieved_first", ["kb", "webinar"])
@pytest.mark.parametrize("answered_from", ["kb", "webinar"])
def test_the_trusted_yes_or_no_leads_whatever_the_order(
    retrieved_first: str, answered_from: str
) -> None:
    """The newer help article wins over the older webinar, and the answer opens with it."""
    retrieved = [YES_KB, NO_WEBINAR] if retrieved_first == "kb" else [NO_WEBINAR, YES_KB]
    source = YES_KB if answered_from == "kb" else NO_WEBINAR
    sentence = split_sentences(source.text.removeprefix("Dana: "))[0]
    noted = note_conflicts(YES_NO_QUESTION, Draft(f"{sentence} [1]", [source], 0.8), retrieved)
    n = {c.chunk_id: i for i, c in enumerate(noted.sources, start=1)}
    assert noted.text.startswith(f"You can attach files to recurring invoices. [{n['attach-kb']}]")
    assert noted.text.endswith(YES_NOTE.format(old=n["attach-webinar"], new=n["attach-kb"]))
    assert markers(noted.text) == {1, 2}


def test_a_newer_no_wins_over_an_older_yes_of_the_same_kind() -> None:
    old_yes = chunk("old", YES_KB.text, source_type="kb", updated_at="2025-01-10")
    new_no = chunk(
        "new",
        "Ledgerly no longer lets you attach files to recurring invoices.",
        source_type="kb",
        updated_at="2026-09-01",
    )
    draft = Draft("You can attach files to recurring invoices. [1]", [old_yes], 0.8)
    noted = note_conflicts(YES_NO_QUESTION, draft, [old_yes, new_no])
    assert noted.text.startswith(
        "Ledgerly no longer lets you attach files to recurring invoices. [2]"
    )
    assert noted.text.endswith(
        'An older help article (January 2025) said "You can attach files to recurring '
        'invoices" [1]; the help article says "Ledgerly no longer lets you attach files to '
        'recurring invoices" [2].'
    )


def test_yes_no_sources_that_agree_get_no_note() -> None:
    course = chunk(
        "course",
        "Recurring invoices let you attach files, and each copy keeps them.",
        source_type="course",
        updated_at="2024-01-01",
    )
    draft = Draft("You can attach files to recurring invoices. [1]", [YES_KB], 0.8)
    assert note_conflicts(YES_NO_QUESTION, draft, [YES_KB, course]) == draft


def test_questions_that_are_not_yes_no_get_no_yes_no_note() -> None:
    draft = Draft("You can attach files to recurring invoices. [1]", [YES_KB], 0.8)
    for question in (
        "How do I attach files to a recurring invoice?",
        "What files can I attach to a recurring invoice?",
    ):
        assert note_conflicts(question, draft, [YES_KB, NO_WEBINAR]) == draft


def test_a_no_in_a_sentence_about_something_else_is_not_a_disagreement() -> None:
    webinar = chunk(
        "w", "Dana: You cannot undo a sent reminder.", source_type="transcript", updated_at="2027"
    )
    thread = chunk("t", "Recurring invoices cannot be backdated.", source_type="thread")
    draft = Draft("You can attach files to recurring invoices. [1]", [YES_KB], 0.8)
    assert note_conflicts(YES_NO_QUESTION, draft, [YES_KB, webinar, thread]) == draft


NO_KB = chunk(
    "no-kb",
    "You cannot attach files to recurring invoices.",
    source_type="kb",
    updated_at="2026-08-19",
)


@pytest.mark.parametrize(
    ("trusted", "other"),
    [
        (YES_KB, "If the invoice is recurring, you cannot attach files to it."),
        (NO_KB, "Only admins can attach files to recurring invoices."),
        (YES_KB, "Don't attach files to recurring invoices: email them."),
        (YES_KB, "You don't need to attach files to recurring invoices."),
        (NO_KB, "Can I attach files to recurring invoices?"),
        (YES_KB, "On a recurring invoice, click **More > Don't attach files**."),
        (YES_KB, "On a recurring invoice, switch on Don't attach files."),
    ],
)
def test_qualified_advice_question_or_label_sentences_are_not_read_as_yes_or_no(
    trusted: ScoredChunk, other: str
) -> None:
    thread = chunk("t", other, source_type="thread", author="lee", reviewed=False)
    draft = Draft(f"{trusted.text} [1]", [trusted], 0.8)
    assert note_conflicts(YES_NO_QUESTION, draft, [trusted, thread]) == draft


def test_yes_and_no_for_different_plans_are_not_a_disagreement() -> None:
    growth = chunk("g", "Webhooks are available on the Growth and Scale plans.", source_type="kb")
    starter = chunk(
        "s", "Webhooks are not available on the Starter plan.", source_type="transcript"
    )
    draft = Draft("Webhooks are available on the Growth and Scale plans. [1]", [growth], 0.8)
    question = "Are webhooks available on my plan?"
    assert note_conflicts(question, draft, [growth, starter]) == draft


def test_planted_yes_no_conflict_answers_with_the_current_article(answerer: Answerer) -> None:
    answer = answerer.ask(YES_NO_QUESTION)
    assert not answer.refused
    by_document = {c.document: c.id for c in answer.citations}
    new, old = by_document["kb/attachments.md"], by_document["transcripts/recurring.vtt"]
    body, _, note = answer.answer.rpartition("\n\n")
    assert f"You can attach files to recurring invoices. [{new}]" in body.replace("\n", " ")
    assert note == YES_NOTE.format(old=old, new=new)
    assert any(w.startswith("Sources disagree") for w in answer.warnings)
    assert_markers_match_citations(answer)


def test_asking_the_old_version_gets_its_no_without_a_note(answerer: Answerer) -> None:
    answer = answerer.ask(YES_NO_QUESTION, product_version="4.1")
    assert not answer.refused
    assert "you cannot attach files to recurring invoices" in answer.answer
    assert "said" not in answer.answer


def test_ledgerly_yes_no_questions_get_no_disagreement_note(ledgerly: Answerer) -> None:
    """The demo content agrees on every yes/no: a note here would be a false alarm."""
    for question in (
        "Can payment reminders go out as text messages?",
        "Do automatic payment reminders get sent on weekends?",
        "Can I stop reminders for one customer?",
        "Is there a way to add a late fee automatically?",
        "Can I edit an invoice after sending it?",
    ):
        answer = ledgerly.ask(question)
        assert not any("Sources disagree" in w for w in answer.warnings), (question, answer)
