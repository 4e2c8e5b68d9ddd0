"""The extractive answer is the piece of the section that answers, not the sentence most like
the question: the fact after a restatement, the path to a setting, an option with its
description, a table row with its header, a step label with what it introduces."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.answerer import Answerer
from assistant.answering.citation_check import CitationChecker
from assistant.answering.confidence import ConfidenceScorer
from assistant.answering.synthesizers.extractive import ExtractiveSynthesizer, is_how_to
from assistant.embedders.fake import FakeEmbedder
from assistant.retrieval.retriever import HybridRetriever
from assistant.stores.edge import EdgeStore
from assistant.types import ScoredChunk
from ingest.chunker import StructureChunker
from ingest.pipeline import IngestJob

CORPORA = Path(__file__).resolve().parents[2] / "corpora"

# Help content written the way manuals are: a sentence that restates the topic first, the
# answer after it; a phone manual's menu path on lines of its own.
ARTICLES = {
    "export-invoices.md": (
        "# Exporting invoices\n\n"
        "Open Billing > Invoices and click Export to download your invoices as a CSV file. "
        "An export can hold up to 10,000 rows. Larger exports are emailed to you as a ZIP file "
        "within 15 minutes.\n"
    ),
    "device-care.md": (
        "# Device care\n\n"
        "Quickly optimize your device's storage, increasing available memory.\n"
        "Settings\nDevice care\nStorage\nClean now\n"
        "Cached files and unused apps are removed; your photos and messages are kept.\n"
    ),
    "clock.md": (
        "# Clock\n\n"
        "Set alarms, check the time around the world and time your workouts.\n"
        "World clock\n"
        "Keep track of the time in several cities at once.\n"
        "Time zone converter\n"
        "Pick two cities and drag the time bar to see what time it is in each.\n"
        "Stopwatch\n"
        "Time laps and splits.\n"
    ),
}


def _answerer(root: Path, embedder, folders: list[Path]) -> tuple[Answerer, EdgeStore]:
    store = EdgeStore(root / "edge", dimension=embedder.dimension)
    chunker = StructureChunker(embedder.count_tokens, max_tokens=embedder.max_tokens)
    IngestJob(store, embedder, chunker).run(folders, progress=False)
    return Answerer(
        HybridRetriever(store, embedder, top_k=6),
        ExtractiveSynthesizer(embedder),
        embedder=embedder,
        scorer=ConfidenceScorer(store),
    ), store


@pytest.fixture(scope="module")
def manual(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:
    root = tmp_path_factory.mktemp("manual")
    (root / "kb").mkdir()
    for name, text in ARTICLES.items():
        (root / "kb" / name).write_text(text, encoding="utf-8")
    answerer, store = _answerer(root, real_embedder, [root / "kb"])
    yield answerer
    store.close()


@pytest.fixture(scope="module")
def ledgerly(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Iterator[Answerer]:
    answerer, store = _answerer(tmp_path_factory.mktemp("ledgerly"), real_embedder, [CORPORA])
    yield answerer
    store.close()


def test_what_happens_if_gets_the_consequence_not_the_restated_limit(manual: Answerer) -> None:
    answer = manual.ask("What happens if my invoice export has more than 10,000 rows?")
    assert "emailed to you as a ZIP file" in answer.answer


def test_a_how_to_gets_the_path_that_does_it(manual: Answerer) -> None:
    answer = manual.ask("How can I optimize device storage?")
    assert "Settings > Device care > Storage > Clean now" in answer.answer


def test_an_option_named_by_the_question_comes_with_its_description(manual: Answerer) -> None:
    answer = manual.ask("How can I use time zone converter?")
    assert "Pick two cities and drag the time bar" in answer.answer
    assert "Stopwatch" not in answer.answer  # the next option is another topic


def test_why_gets_the_reason(ledgerly: Answerer) -> None:
    answer = ledgerly.ask("Why was no late fee added to my overdue invoice?")
    assert "only to invoices that become overdue after you turn the setting on" in answer.answer


def test_a_step_label_never_stands_alone(ledgerly: Answerer) -> None:
    answer = ledgerly.ask("How many can I schedule?", page="/settings/reminders")
    assert answer.answer.strip(" [1]").rstrip("*:") != "3. Set the Schedule"
    if "Set the Schedule" in answer.answer:
        assert "Frequency" in answer.answer


def _synthesize(question: str, text: str, title: str = "Plans") -> str:
    return _synthesize_sections(question, [(title, text)])


def _synthesize_sections(question: str, sections: list[tuple[str, str]]) -> str:
    """The extractive answer from `sections` (title, text), retrieved in that order."""
    chunks = [
        ScoredChunk(
            f"c{n}",
            text,
            {"document": f"{n}.md", "title": title, "source_type": "kb"},
            1.0 - n / 10,
            similarity=0.6,
        )
        for n, (title, text) in enumerate(sections)
    ]
    embedder = FakeEmbedder()
    vector = np.zeros(embedder.dimension, dtype=np.float32)
    return ExtractiveSynthesizer(embedder).synthesize(question, chunks, question_vector=vector).text


def test_a_table_row_comes_with_its_header() -> None:
    table = (
        "| Feature | Starter | Growth | Scale |\n|---|---|---|---|\n"
        "| Recurring invoices | No | Yes | Yes |\n| SAML single sign-on | No | No | Yes |\n"
        "| Audit log | No | No | Yes |"
    )
    text = _synthesize("Which plan do I need for SAML single sign-on?", table)
    assert "Feature: SAML single sign-on; Starter: No; Growth: No; Scale: Yes" in text
    assert "Audit log" not in text and "|" not in text


def test_a_quiz_is_never_quoted_whole() -> None:
    """A lesson's "Check your understanding" list holds every word of many questions; the
    answer is the lesson's own sentence (or one quiz item), never the quiz."""
    lesson = (
        "Ledgerly converts foreign invoices at the rate of the invoice date. When the payment "
        "arrives, the rate may have changed: the difference is recorded as a realised "
        "exchange gain or loss.\n\n"
        "1. Which rate applies to a line item with two taxes? *(Compound.)*\n"
        "2. What changes when a customer pays early? *(Nothing.)*\n"
        "3. Which plans include exchange rate updates? *(Growth and Scale.)*"
    )
    text = _synthesize("What if the exchange rate changes before they pay?", lesson, "Currencies")
    assert "taxes" not in text and "Which plans" not in text
    assert "realised" in text


def test_a_long_procedure_is_capped_with_a_pointer_the_citation_check_accepts() -> None:
    steps = "\n".join(f"{n}. Click button number {n} on the export screen." for n in range(1, 13))
    text = _synthesize("How do I export the report?", f"To export the report:\n{steps}")
    assert "8. Click button number 8" in text
    assert "9. Click" not in text
    assert text.endswith("See the full steps in [1].")
    # The pointer states no fact of the source, so the citation check does not ask it for one.
    chunk = ScoredChunk("c1", f"To export the report:\n{steps}", {"title": "Export"}, 1.0)
    embedder = FakeEmbedder()
    check = CitationChecker(embedder).check(
        "Click button number 1 on the export screen. [1] See the full steps in [1].",
        [chunk],
        question_vector=np.zeros(embedder.dimension, dtype=np.float32),
    )
    assert check.draft is not None, check.problems


def test_a_menu_path_on_lines_of_its_own_reads_as_a_path() -> None:
    text = _synthesize(
        "Can I select Auto Power Off?",
        "Settings\nGeneral\nEco Solution\nYou can reduce the power the TV uses.\n"
        "Motion Lighting\nAdjusts the brightness to reduce power consumption.\n"
        "Auto Power Off\nTurns off the TV if there is no operation for 4 hours.",
        title="Reducing the energy consumption",
    )
    assert "Settings > General > Eco Solution" in text
    assert "Auto Power Off: Turns off the TV if there is no operation for 4 hours." in text
    assert "Motion Lighting" not in text


def test_a_short_step_quoted_whole_is_supported_and_a_fragment_is_not() -> None:
    """The citation check weighs one or two words as weak evidence; a whole sentence of the
    source, word for word, is a quote, however short."""
    source = ScoredChunk(
        "c1",
        "6. Save your backup codes somewhere safe.\n7. Click **Done**. You'll see it is on.",
        {"title": "Two-factor authentication"},
        1.0,
    )
    embedder = FakeEmbedder()
    vector = np.zeros(embedder.dimension, dtype=np.float32)
    checker = CitationChecker(embedder)
    assert checker.check("Click Done. [1]", [source], question_vector=vector).draft is not None
    assert checker.check("Done. [1]", [source], question_vector=vector).draft is None


def test_a_webinar_answers_with_the_reply_to_the_question_read_out(ledgerly: Answerer) -> None:
    """The attendee's question quoted in the webinar matches best; the speaker's reply after it
    is the answer."""
    answer = ledgerly.ask("Do the automatic payment reminders get sent on weekends too?")
    assert "weekends included" in answer.answer
    assert "Aisha" not in answer.answer  # the question as read out is not an answer


def test_a_signpost_about_the_document_is_not_an_answer() -> None:
    text = _synthesize(
        "What are the API rate limits?",
        "This article explains how API keys and rate limits work.\n\n"
        "The API allows 120 requests per minute on Starter and Growth, 300 on Scale.",
        title="API keys and rate limits",
    )
    assert "120 requests per minute" in text
    assert "This article explains" not in text


def test_a_disclaimer_other_sections_repeat_does_not_open_an_answer() -> None:
    disclaimer = "The image on your TV may differ depending on the model."
    text = _synthesize_sections(
        "How do I change the voice style of Bixby?",
        [
            (
                "Bixby",
                f"{disclaimer}\nSay a command.\n"
                "To change Bixby's voice style, open Bixby settings.",
            ),
            ("Voice", f"{disclaimer}\nVoice Guide reads the menus aloud."),
        ],
    )
    assert "open Bixby settings" in text
    assert disclaimer not in text


def test_a_how_to_gets_the_instruction_before_the_sentence_that_matched(
    ledgerly: Answerer,
) -> None:
    answer = ledgerly.ask("oops, I imported the wrong customer list. can I undo it?")
    assert "Settings > Data > Import history" in answer.answer
    assert not answer.answer.startswith("Made a mistake?")


def test_which_plan_is_answered_by_the_row_with_its_header(ledgerly: Answerer) -> None:
    answer = ledgerly.ask("Which plan do I need for SAML single sign-on?")
    assert "SAML single sign-on; Starter: No; Growth: No; Scale: Yes" in answer.answer
    assert "|" not in answer.answer


def test_a_sentence_that_restates_the_question_is_not_the_answer() -> None:
    """Every sentence of the section holds the question's words; the first only says them
    again, so the answer starts where something new is said."""
    section = (
        "Pair the headphones with your phone.\n"
        "When you open the case for the first time, the headphones pair with your phone "
        "automatically. If they do not pair, hold the button on the back of the case for "
        "5 seconds until the light blinks white, then choose them in your phone's Bluetooth "
        "settings."
    )
    text = _synthesize("How do I pair the headphones with my phone?", section, "Headphones")
    assert "Pair the headphones with your phone." not in text
    assert "hold the button on the back of the case" in text


def test_an_option_after_other_options_is_not_a_menu_path() -> None:
    """Option names on lines of their own after a lead-in, some with a description between
    them: the one asked about comes with the path and the lead-in, not glued to its
    neighbours as if they were menus."""
    section = (
        "Settings\nDisplay\nAdvanced\n"
        "Adjust the screen with the following options:\n"
        "Night Light\nReduces blue light in the evening.\n"
        "Color Profile\nRefresh Rate\nHigh Contrast\nScreen Timeout\n"
    )
    text = _synthesize("Can I turn on High Contrast?", section, "Display options")
    assert "Settings > Display > Advanced" in text
    assert "Refresh Rate > High Contrast" not in text and "Screen Timeout" not in text
    assert "following options: High Contrast [1]" in text


def test_a_restatement_after_the_match_is_skipped_not_quoted() -> None:
    section = (
        "An export can hold up to 10,000 rows. You can export invoices. Larger exports are "
        "emailed to you as a ZIP file within 15 minutes."
    )
    text = _synthesize(
        "What happens if my invoice export has more than 10,000 rows?", section, "Export"
    )
    assert "emailed to you as a ZIP file" in text
    assert "You can export invoices." not in text


def test_a_chunk_that_opens_on_another_topic_is_not_quoted_from_its_start() -> None:
    """A section's first sentence leads the answer when it says what the section is about;
    one left over from the topic before (a chunk boundary) shares no word with it."""
    section = (
        "Many of these apps do not work with the screen reader yet. "
        "Under Recently watched you can see the programs you viewed most recently. "
        "Select one to open it where you stopped."
    )
    text = _synthesize("How can I see which programs I watched recently?", section, "History")
    assert "screen reader" not in text
    assert "programs you viewed most recently" in text


def test_a_sentence_about_the_document_is_not_quoted_after_the_match() -> None:
    section = (
        "With the mobile app you can photograph a receipt the moment you get it. "
        "This article explains how to scan receipts, upload files and forward receipts by "
        "email. Scans are read in a few seconds and appear under Expenses."
    )
    text = _synthesize("Can I photograph a receipt with the mobile app?", section, "Receipts")
    assert "photograph a receipt" in text
    assert "This article explains" not in text


def test_the_last_question_decides_whether_a_procedure_is_wanted() -> None:
    """A follow-up's standalone query starts with the earlier how-to question."""
    assert not is_how_to("How do I reset my password? how long is the link good for?")
    assert is_how_to("How long does it take? How do I reset my password?")
    assert is_how_to("oops, wrong list. can I undo it?")
    assert is_how_to("How do I set up reminders? I'm on Starter.")


def test_a_how_to_gets_the_steps_from_another_section_of_the_same_article() -> None:
    """The article's introduction names the question's words; its section with the steps is
    the answer, though the introduction matches a little better."""
    embedder = FakeEmbedder()
    intro = ScoredChunk(
        "c1",
        "You can invite your team and give each person a role that controls what they can "
        "see and do. Ledgerly has four roles: Owner, Admin, Accountant and Member.",
        {"document": "roles.md", "title": "User roles"},
        1.0,
        similarity=0.6,
    )
    steps = ScoredChunk(
        "c2",
        "1. Go to Settings > Users & roles.\n2. Select the user and click Change role.\n"
        "3. Choose the new role and click Save.",
        {"document": "roles.md", "title": "User roles > Change a user's role"},
        0.9,
        similarity=0.51,
    )
    vector = np.zeros(embedder.dimension, dtype=np.float32)
    draft = ExtractiveSynthesizer(embedder).synthesize(
        "How do I change a team member's role?", [intro, steps], question_vector=vector
    )
    assert "Select the user and click Change role" in draft.text


def test_a_limit_question_gets_the_number_stated_as_a_limit(ledgerly: Answerer) -> None:
    """'The maximum number of rows' asks for a limit: 'number' is the question's form, and a
    number stated as a limit ('up to 5,000 rows') answers it, not the list item about how to
    write numbers ('1250.50')."""
    answer = ledgerly.ask("Whats the max number of rows I can put in a customer import CSV?")
    assert "up to 5,000 rows" in answer.answer
    assert "1250.50" not in answer.answer


def test_how_often_is_answered_by_a_frequency(ledgerly: Answerer) -> None:
    """Both sentences name new transactions and a number; the one that says how often
    ("every 4 hours") answers, not the one about how far back ("up to 90 days")."""
    answer = ledgerly.ask("how often does ledgerly pull new transactions from my bank")
    assert "every 4 hours" in answer.answer
    assert "90 days" not in answer.answer


def test_a_note_the_page_wrapped_comes_with_the_setting_it_qualifies() -> None:
    text = _synthesize(
        "Can I change the TV screen to grayscale?",
        "Settings\nGeneral\nAccessibility\nGrayscale\n"
        "You can change the color of the TV screen to black and white.\n"
        "Grayscale is on, some\nAccessibility menus are not available.",
        title="Setting the screen to black and white",
    )
    assert "Settings > General > Accessibility > Grayscale" in text
    assert "Grayscale is on, some Accessibility menus are not available." in text


def test_a_link_after_every_option_is_furniture_but_a_repeated_menu_path_is_not() -> None:
    """A "Try Now" link follows every option and every path, so it says nothing; "Settings >
    General > Accessibility" opens every section retrieved for an accessibility question,
    and it is where the answer is."""
    sections = [
        ("Showing captions", "Caption Settings", "Turn on Caption to show captions."),
        ("Grayscale", "Grayscale", "Makes the screen black and white."),
        ("Color inversion", "Color Inversion", "Inverts the colors of the text."),
    ]
    text = _synthesize_sections(
        "How do I find Caption Settings?",
        [
            (title, f"Settings\nGeneral\nAccessibility\n{label}\nTry Now\n{sentence}")
            for title, label, sentence in sections
        ],
    )
    assert "Settings > General > Accessibility > Caption Settings" in text
    assert "Try Now" not in text


def test_a_menu_path_the_page_prints_twice_is_quoted_once() -> None:
    text = _synthesize(
        "Why are my settings lost every 5 minutes?",
        "If Usage Mode is set to Retail Mode, the settings are reset every 5 minutes.\n"
        "Settings\nGeneral\nUsage Mode\nSettings\nGeneral\nUsage Mode\n",
        title="Other issues",
    )
    assert text.count("Settings > General > Usage Mode") == 1
