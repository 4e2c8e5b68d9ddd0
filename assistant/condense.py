"""Follow-up questions into standalone queries, without a language model.

"What about on mobile?" after "How do I scan a receipt?" must search for receipts on mobile.
A follow-up is recognised by its shape (a short question that opens like a continuation or
leans on a pronoun); the topic of the conversation, the last standalone query, is carried
into it. Questions that stand on their own pass through unchanged.
"""

import re

from assistant.sessions import Turn
from assistant.text_units import content_terms

_CONTINUATION = re.compile(
    r"^\s*(and|also|but|or|so|then|what about|how about|what if|same for|same with|and if|"
    r"what else|anything else|instead|too)\b",
    re.IGNORECASE,
)
_ANAPHOR = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|there|one|ones|he|she|"
    r"the same|such|which one)\b",
    re.IGNORECASE,
)
MAX_FOLLOW_UP_WORDS = 10


def is_follow_up(question: str) -> bool:
    words = question.split()
    if _CONTINUATION.match(question):
        return True
    return len(words) <= MAX_FOLLOW_UP_WORDS and bool(_ANAPHOR.search(question))


def condense(question: str, history: list[Turn]) -> str:
    """A query that stands on its own: the question, plus the topic when it is a follow-up."""
    if not history or not is_follow_up(question):
        return question
    topic = history[-1].standalone
    # Words the follow-up already says need not be repeated from the topic.
    new_terms = content_terms(question)
    if new_terms and new_terms <= content_terms(topic):
        return topic
    return f"{topic} {question}"
