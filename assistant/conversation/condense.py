"""Follow-up questions into queries that carry the conversation, without a language model.

"How long is the link valid?" after "How do I reset my password?" asks about the reset link,
though none of its words say so, and no list of pronouns or openings tells every follow-up
from a question that starts a new topic. So nothing is guessed from the question's words: the
answerer retrieves both with the question as asked and with the standalone query `condense`
builds (the question after the user's previous turns), fuses the results and lets the answer's
confidence pick (`retrieval_queries`; the drafter fuses and picks: assistant/answering/
drafting.py). A new topic is answered as asked; a follow-up in its conversation.

The standalone query is built from the user's own words, never from earlier standalone queries
(which would chain: each one holding the last), and stays bounded however long the
conversation: the last `PREVIOUS_TURNS` questions before this one, at most `MAX_QUERY_CHARS`
characters, the most recent words kept.
"""

from assistant.conversation.small_talk import is_small_talk
from assistant.records.sessions import Turn

# The question and the two before it: the previous turn alone loses the topic of "what about
# on mobile?" -> "how long is it valid?".
PREVIOUS_TURNS = 2
MAX_QUERY_CHARS = 400


def condense(question: str, history: list[Turn]) -> str:
    """The question after the previous user turns, within `MAX_QUERY_CHARS` (a question longer
    than that alone is kept whole, with nothing carried); the question itself without history."""
    if not history:
        return question
    question = " ".join(question.split())
    if len(question) >= MAX_QUERY_CHARS:
        return question
    # "thanks!" is a turn of the conversation but says nothing about its topic.
    asked = [turn.question for turn in history if not is_small_talk(turn.question)]
    earlier = " ".join(" ".join(text.split()) for text in asked[-PREVIOUS_TURNS:])
    room = MAX_QUERY_CHARS - len(question) - 1
    if len(earlier) > room:
        # The most recent words: cut at a word boundary, from the front.
        earlier = earlier[len(earlier) - room :].partition(" ")[2]
    return f"{earlier} {question}" if earlier else question


def retrieval_queries(question: str, standalone: str) -> list[str]:
    """The queries to retrieve with: the standalone query first, then the question as asked when
    the standalone only put earlier words in front of it. A condenser that rewrote the question
    (an LLM resolving "it") is taken at its word."""
    asked = " ".join(question.split())
    if not asked or standalone == asked or not standalone.endswith(asked):
        return [standalone]
    return [standalone, asked]
