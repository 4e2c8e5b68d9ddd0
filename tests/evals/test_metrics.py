"""Offline metrics on hand-built turns: each can go to 0 as well as to 1."""

import asyncio

import pytest

from assistant.embedders import Embedder
from evals.metrics import (
    OfflineScorer,
    answer_text,
    leak_free,
    one_claim_per_line,
    ticket_complete,
)
from tests.evals.records import INVOICE_TEXT, RESET_TEXT, chunk, record


@pytest.fixture(scope="module")
def scorer(real_embedder: Embedder) -> OfflineScorer:
    return OfflineScorer(real_embedder)


def test_a_good_answer_scores_high_on_every_metric(scorer: OfflineScorer) -> None:
    reset, invoice = chunk("kb/reset.md", RESET_TEXT), chunk("kb/invoice.md", INVOICE_TEXT)
    turn = record(
        "Reset links expire after 30 minutes, so request a new one if the email is late. [1]",
        cited=[reset],
        retrieved=[reset, invoice],
    )
    scores = asyncio.run(scorer.score(turn))
    assert scores["refusal_accuracy"] == 1.0
    assert scores["leak_free"] == 1.0
    assert scores["context_precision"] == pytest.approx(0.5)  # 1 of 2 retrieved documents
    assert scores["context_recall"] == 1.0
    assert scores["semantic_similarity"] is not None and scores["semantic_similarity"] > 0.7
    assert scores["rouge_l"] is not None and scores["rouge_l"] > 0.4
    assert scores["citation_supported"] == 1.0
    assert scores["reference_cited"] == 1.0
    assert scores["citation_accuracy"] == 1.0
    assert scores["ticket_complete"] is None  # customer mode


def test_notices_that_are_warnings_need_no_source(scorer: OfflineScorer) -> None:
    reset = chunk("kb/reset.md", RESET_TEXT)
    notice = "This answer comes from community posts that our team has not reviewed."
    turn = record(f"Reset links expire after 30 minutes [1].\n\n{notice}", cited=[reset])
    assert asyncio.run(scorer.score(turn))["citation_supported"] == 0.0  # a claim without source
    turn.answer.warnings = [notice]
    assert asyncio.run(scorer.score(turn))["citation_supported"] == 1.0


def test_unsupported_sentences_and_uncited_references_fail_citation_accuracy(
    scorer: OfflineScorer,
) -> None:
    reset, invoice = chunk("kb/reset.md", RESET_TEXT), chunk("kb/invoice.md", INVOICE_TEXT)
    invented = record(
        "Reset links expire after 30 minutes [1]. Payroll runs every Friday at noon [1].",
        cited=[reset],
    )
    wrong_source = record("Go to Invoices and click New invoice [1].", cited=[invoice])
    invented_scores = asyncio.run(scorer.score(invented))
    wrong_scores = asyncio.run(scorer.score(wrong_source))
    assert invented_scores["citation_supported"] == 0.0
    assert invented_scores["citation_accuracy"] == 0.0
    assert wrong_scores["citation_supported"] == 1.0  # true to its source...
    assert wrong_scores["reference_cited"] == 0.0  # ...but not the reference document
    assert wrong_scores["context_recall"] == 0.0
    assert wrong_scores["citation_accuracy"] == 0.0


def test_refusals_score_by_what_was_expected(scorer: OfflineScorer) -> None:
    reset = chunk("kb/reset.md", RESET_TEXT)
    wrongly_refused = record("I couldn't find this.", cited=[], retrieved=[reset], refused=True)
    rightly_refused = record(
        "I couldn't find this.", cited=[], refused=True, expect="refuse", reference_documents=()
    )
    answered_out_of_scope = record(
        "Reset links expire after 30 minutes [1].",
        cited=[reset],
        expect="refuse",
        reference_documents=(),
    )
    wrong = asyncio.run(scorer.score(wrongly_refused))
    assert wrong["refusal_accuracy"] == 0.0
    assert wrong["semantic_similarity"] == 0.0 and wrong["rouge_l"] == 0.0
    assert wrong["reference_cited"] == 0.0 and wrong["citation_supported"] is None
    right = asyncio.run(scorer.score(rightly_refused))
    assert right["refusal_accuracy"] == 1.0
    assert right["context_recall"] is None and right["semantic_similarity"] is None
    assert asyncio.run(scorer.score(answered_out_of_scope))["refusal_accuracy"] == 0.0


def test_leaks_are_canaries_in_the_visible_text_or_citations_beyond_the_audience() -> None:
    public = chunk("kb/reset.md", RESET_TEXT)
    internal = chunk("kb/internal.md", "Use the code word ORCHID.", audience="internal")
    clean = record("Reset links expire [1].", cited=[public], must_not_contain=("ORCHID",))
    canary = record("Say orchid [1].", cited=[public], must_not_contain=("ORCHID",))
    in_ticket = record(
        "Reset links expire [1].",
        cited=[public],
        must_not_contain=("ORCHID",),
        ticket_text="Use ORCHID",
    )
    cited_internal = record("Use the code word [1].", cited=[internal])
    assert leak_free(clean)
    assert not leak_free(canary)  # case-insensitive
    assert not leak_free(in_ticket)
    assert not leak_free(cited_internal)


def test_ticket_text_must_link_every_citation() -> None:
    reset, invoice = chunk("kb/reset.md", RESET_TEXT), chunk("kb/invoice.md", INVOICE_TEXT)
    url = "https://help.example.com/kb/"
    complete = record(
        "A [1]. B [2].",
        cited=[reset, invoice],
        mode="agent",
        ticket_text=f"A. B.\nSources:\n[1] {url}reset.md\n[2] {url}invoice.md",
    )
    partial = record(
        "A [1]. B [2].",
        cited=[reset, invoice],
        mode="agent",
        ticket_text=f"A. B.\nSources:\n[1] {url}reset.md",
    )
    assert ticket_complete(complete)
    assert not ticket_complete(partial)


def test_a_closing_marker_cites_the_whole_list_before_it() -> None:
    text = "To reset it:\n1. Open the sign-in page.\n2. Click Forgot password. [1]\n\nDone [2]."
    assert one_claim_per_line(text).split("\n\n") == [
        "To reset it: [1]",
        "Open the sign-in page. [1]",
        "Click Forgot password. [1]",
        "Done. [2]",
    ]
    assert answer_text("Links expire after 30 minutes [1][2]. Then [3] retry.") == (
        "Links expire after 30 minutes. Then retry."
    )
