import pytest

from assistant.condense import condense, is_follow_up
from assistant.sessions import Turn


def turn(standalone: str) -> Turn:
    return Turn(question=standalone, standalone=standalone, answer="…", refused=False)


@pytest.mark.parametrize(
    "question",
    [
        "What about on mobile?",
        "and for Android?",
        "How long is it valid?",
        "Can I change that later?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "How do I connect my bank account to Ledgerly?",
        "What is the API rate limit on the Scale plan?",
        "Which roles can approve refunds in the back office when a customer disputes a charge?",
    ],
)
def test_standalone_questions_are_not_follow_ups(question: str) -> None:
    assert not is_follow_up(question)


def test_follow_up_carries_the_topic_forward() -> None:
    history = [turn("How do I reset my password?")]
    assert (
        condense("How long is it valid?", history)
        == "How do I reset my password? How long is it valid?"
    )


def test_standalone_question_and_first_question_pass_through() -> None:
    assert condense("How do I export invoices?", [turn("How do I reset my password?")]) == (
        "How do I export invoices?"
    )
    assert condense("How long is it valid?", []) == "How long is it valid?"


def test_a_follow_up_that_adds_nothing_new_reuses_the_topic() -> None:
    history = [turn("How do I set up payment reminders?")]
    assert condense("and the reminders?", history) == "How do I set up payment reminders?"
