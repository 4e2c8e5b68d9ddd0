from assistant.conversation.condense import (
    MAX_QUERY_CHARS,
    PREVIOUS_TURNS,
    condense,
    retrieval_queries,
)
from assistant.records.sessions import Turn


def turn(question: str, standalone: str | None = None) -> Turn:
    return Turn(question=question, standalone=standalone or question, answer="…", refused=False)


def test_a_question_in_a_conversation_follows_the_previous_user_turns() -> None:
    history = [turn("How do I reset my password?"), turn("what about on mobile?")]
    assert condense("how long is the link valid?", history) == (
        "How do I reset my password? what about on mobile? how long is the link valid?"
    )


def test_a_first_question_passes_through() -> None:
    assert condense("How long is it valid?", []) == "How long is it valid?"


def test_only_the_last_user_turns_are_carried() -> None:
    history = [turn(f"question {n}?") for n in range(6)]
    carried = [f"question {n}?" for n in range(6 - PREVIOUS_TURNS, 6)]
    assert condense("and then?", history) == " ".join([*carried, "and then?"])


def test_the_users_words_are_carried_not_earlier_standalone_queries() -> None:
    history = [turn("and on Android?", standalone="How do I scan a receipt? and on Android?")]
    assert condense("is it free?", history) == "and on Android? is it free?"


def test_a_long_conversation_keeps_the_most_recent_words_within_the_bound() -> None:
    history = [turn("word " * 300 + "older?"), turn("How do I export invoices as PDF?")]
    query = condense("and as CSV?", history)
    assert len(query) <= MAX_QUERY_CHARS
    assert query.endswith("older? How do I export invoices as PDF? and as CSV?")
    assert query.startswith("word ")  # cut at a word boundary


def test_a_question_longer_than_the_bound_is_kept_whole() -> None:
    question = "Why " + "really " * 80 + "does it fail?"
    assert condense(question, [turn("How do I connect my bank?")]) == question


def test_a_follow_up_is_retrieved_for_with_and_without_the_conversation() -> None:
    standalone = condense("how long is it valid?", [turn("How do I reset my password?")])
    assert retrieval_queries("how long is it valid?", standalone) == [
        standalone,
        "how long is it valid?",
    ]


def test_a_rewritten_question_is_retrieved_for_as_it_is() -> None:
    # An LLM condenser resolved "it": its question stands on its own.
    rewrite = "How long is a password reset link valid?"
    assert retrieval_queries("how long is it valid?", rewrite) == [rewrite]
    assert retrieval_queries("How do I add a tax rate?", "How do I add a tax rate?") == [
        "How do I add a tax rate?"
    ]


def test_small_talk_turns_carry_no_topic() -> None:
    history = [turn("How do I reset my password?"), turn("thanks!")]
    assert condense("how long is the link valid?", history) == (
        "How do I reset my password? how long is the link valid?"
    )
