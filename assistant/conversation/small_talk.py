"""Greetings, thanks and praise: a friendly reply instead of a search, and pleasantries
stripped from the front and end of real questions.

Small talk is recognised by its shape: a short message made only of greeting, thanks, praise,
farewell or acknowledgement words ("hi", "thanks so much!", "you are great 👍", "ok bye"),
filler words ("so", "you", "there") and punctuation or emoji, with at least one word of the
first kind. Anything else (a digit, a word about the product) makes it a question.
"""

import re

# Longer messages are questions, however friendly their words.
MAX_WORDS = 12

_GREETINGS = {
    "hi", "hello", "hey", "heya", "hiya", "howdy", "yo", "greetings", "morning", "afternoon",
    "evening", "hallo", "hola", "bonjour", "salut", "ciao",
}  # fmt: skip
_THANKS = {
    "thanks", "thank", "thx", "thnx", "tnx", "ty", "thankyou", "cheers", "appreciated",
    "appreciate", "grateful", "merci", "gracias", "danke",
}  # fmt: skip
_FAREWELLS = {"bye", "goodbye", "byebye", "bye-bye", "cya", "farewell", "goodnight", "night"}
_PRAISE = {
    "great", "awesome", "amazing", "perfect", "excellent", "brilliant", "wonderful",
    "fantastic", "nice", "cool", "helpful", "super", "lovely", "sweet", "best", "superb",
    "love", "legend", "star",
}  # fmt: skip
_ACKNOWLEDGEMENTS = {
    "ok", "okay", "k", "kk", "alright", "gotcha", "understood", "noted", "sure", "yes",
    "yep", "yeah", "fine", "got", "good",
}  # fmt: skip
_FILLER = {
    "a", "again", "all", "am", "and", "are", "as", "be", "bot", "day", "dear", "doing",
    "done", "everybody", "everyone", "folks", "for", "friend", "going", "guys", "have",
    "help", "how", "how's", "i", "i'm", "is", "it", "it's", "job", "just", "lot", "lots",
    "man", "mate", "me", "much", "my", "no", "oh", "really", "see", "so", "take", "team", "that",
    "that's", "the", "there", "this", "to", "today", "too", "u", "very", "was", "well",
    "were", "what's", "you", "you're", "your", "youre", "thats", "care", "later", "soon",
    "ah", "wow", "assistant", "up", "please", "in", "advance",
}  # fmt: skip
_MARKERS = _GREETINGS | _THANKS | _FAREWELLS | _PRAISE | _ACKNOWLEDGEMENTS
# "how are you" has no greeting word, but greets.
_HOW_ARE_YOU = re.compile(r"\bhow(?:'s| is| are| r)? (?:you|u|it going|things|your day)\b")
_WORD = re.compile(r"[a-z]+(?:['-][a-z]+)*")
# Clause ends: what a pleasantry is set off from the question by.
_CLAUSE = re.compile(r"[^,.!?;:\n]+[,.!?;:\n]*")
# A pleasantry run into the question without punctuation ("hi there how do I ...") is
# stripped word by word, but only with these words: "how", "you", "is" start questions too.
_OPENING_WORDS = (
    _GREETINGS | _THANKS | {"good", "there", "everyone", "all", "folks", "team", "so", "you"}
)
_CLOSING_WORDS = _THANKS | {"you", "so", "much", "very", "a", "lot", "in", "advance"}
_PLEASANTRIES = _GREETINGS | _THANKS

CAPABILITIES = (
    "I answer questions about using the product from our help articles, courses, webinar "
    "recordings and community threads, with a link to each source."
)


def is_small_talk(message: str) -> bool:
    """The whole message is a greeting, thanks, praise, farewell or "ok": nothing to search."""
    text = _normalised(message)
    words = _WORD.findall(text)
    if re.search(r"[^\W_]", _WORD.sub(" ", text)):  # digits or letters no word pattern took
        return False
    if not words:  # "👍", "🙏": emoji only
        return any(not c.isascii() and not c.isspace() for c in text)
    if len(words) > MAX_WORDS:
        return False
    if not all(w in _MARKERS or w in _FILLER for w in words):
        return False
    return any(w in _MARKERS for w in words) or bool(_HOW_ARE_YOU.search(text))


def small_talk_reply(message: str) -> str:
    """A short friendly reply to small talk that says what the assistant can help with."""
    words = set(_WORD.findall(_normalised(message)))
    if words & _FAREWELLS:
        return (
            "Goodbye, and thanks for stopping by! Come back any time you have a question: "
            f"{CAPABILITIES}"
        )
    if words & _THANKS:
        return f"You're welcome! {CAPABILITIES} Anything else I can help with?"
    if words & _PRAISE:
        return f"Thank you, glad it helps! {CAPABILITIES} What else would you like to know?"
    if words & _GREETINGS or _HOW_ARE_YOU.search(_normalised(message)):
        return f"Hello! {CAPABILITIES} What would you like to know?"
    return f"Sure. {CAPABILITIES} Just ask when you have a question."


def split_clauses(message: str) -> list[str]:
    """The message cut after each clause's punctuation ("hi, " / "how do I…?"); joined, the
    pieces give the message back."""
    return _CLAUSE.findall(message)


def without_small_talk(message: str) -> str:
    """The question in a message with the pleasantries around it taken off: "hi, how do I
    reset my password?" asks "how do I reset my password?". A message that is only small
    talk, or has none, comes back as it is."""
    if is_small_talk(message):
        return message
    clauses = split_clauses(message)
    while clauses and is_small_talk(clauses[0]):
        clauses.pop(0)
    while clauses and is_small_talk(clauses[-1]):
        clauses.pop()
    question = "".join(clauses).strip()
    question = _trim_words(question, _OPENING_WORDS, from_end=False)
    question = _trim_words(question, _CLOSING_WORDS, from_end=True)
    return question or message


def _trim_words(text: str, allowed: set[str], *, from_end: bool) -> str:
    """`text` without a run of `allowed` words at its start (or end) that holds a greeting
    or thanks word; the text itself when that would leave nothing."""
    tokens = list(re.finditer(r"\S+", text))
    if from_end:
        tokens.reverse()
    run = 0
    for token in tokens:
        if _word(token.group()) not in allowed:
            break
        run += 1
    cut = tokens[:run]
    if not cut or run == len(tokens) or not any(_word(t.group()) in _PLEASANTRIES for t in cut):
        return text
    if from_end:
        return text[: cut[-1].start()].rstrip(" ,;:-")
    return text[cut[-1].end() :].lstrip(" ,;:-")


def _word(token: str) -> str:
    return _normalised(token).strip(".,!?;:'\"")


def _normalised(text: str) -> str:
    return text.lower().replace("\u2019", "'")
