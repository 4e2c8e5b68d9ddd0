"""Requests for a person ("can I talk to a human?", "contact support", "quiero hablar con un
agente"): a reply that says how to reach support instead of a search, and an escalation for
the resolution report.

A request is recognised by its shape, not by one manual's wording: a verb of reaching someone
(talk or speak to, connect or transfer to, contact, reach, get in touch with, want or need)
followed by a person to reach (a human, an agent, a representative, support, customer
service, someone); or such a person alone ("agent please"). In English the clause must not
be about someone else ("how do I let my customers talk to an agent?") or negated ("I don't
want to talk to a person"). French, Spanish, German, Portuguese and Dutch requests are
recognised by their own verbs and nouns. Long messages are questions, whatever they mention.
"""

import re

from assistant.conversation.small_talk import is_small_talk, split_clauses, without_small_talk
from assistant.text_units import content_terms

MAX_WORDS = 20

_DETERMINER = r"(?:(?:a|an|the|your|some|any|one\s+of\s+your|somebody\s+from|someone\s+from)\s+)?"
_QUALIFIER = r"(?:(?:real|live|actual|human|support|customer\s+service|tech|technical)\s+)?"
# Who a person asks to be handed to: enough on their own after "I want" or "I need".
_STRONG = (
    r"(?:human\s+beings?|humans?|(?:real|live|actual)\s+(?:person|people|humans?|agents?)|"
    r"persons?|agents?|representatives?|reps?|operators?|advisors?|advisers?|"
    r"customer\s+(?:service|support|care)(?:\s+(?:team|agent|rep|representative))?|"
    r"support\s+(?:team|staff|agent|person|people|rep|representative)|help\s?desk|service\s+desk)"
)
# Also reachable by talking, contacting or being connected: "talk to someone", "contact support".
_ANYONE = rf"(?:{_STRONG}|someone|somebody|anyone|anybody|support|(?:your|the)\s+team|staff|people)"
_PERSON = _DETERMINER + _QUALIFIER

_ENGLISH = [
    rf"\b(?:talk|talking|speak|speaking|chat|chatting)\s+(?:to|with)\s+{_PERSON}{_ANYONE}\b",
    rf"\b(?:connect|transfer|put|pass|forward|escalate|hand|route|send)\s+"
    rf"(?:(?:me|us|this|it|my\s+(?:question|case|issue|request))\s+)?(?:(?:over|through)\s+)?"
    rf"(?:to|with)\s+{_PERSON}{_ANYONE}\b",
    rf"\b(?:contact|contacting|reach|reaching)\s+{_PERSON}{_ANYONE}\b",
    rf"\b(?:call|phone|ring|email|e-mail|message)\s+{_PERSON}(?:{_STRONG}|support)\b",
    rf"\bget\s+(?:in\s+touch|hold)\s+(?:with|of)\s+{_PERSON}{_ANYONE}\b",
    rf"\b(?:want|need|like|get(?:\s+me)?|request|ask\s+for|prefer|give\s+me)\s+"
    rf"(?:to\s+(?:have|get)\s+)?{_PERSON}{_STRONG}\b",
]
# The whole message is the person asked for: "agent", "human please", "real person!".
_ALONE = re.compile(
    rf"^(?:(?:hi|hello|hey|ok|okay|please|pls)\W+)*{_PERSON}{_STRONG}"
    r"(?:\W+(?:please|pls|now|asap))*\W*$"
)
_OTHER_LANGUAGES = [
    # French: "je veux parler à un conseiller", "contacter le service client"
    r"\b(?:parler|discuter)\s+(?:à|a|avec)\s+(?:un\s+|une\s+|le\s+|la\s+|l')?(?:vraie?\s+)?"
    r"(?:humain|personne|conseill[eè]re?|agent|op[ée]rat(?:eur|rice)|support|service\s+client|"
    r"quelqu'un)",
    r"\bcontacter\s+(?:le\s+|la\s+)?(?:support|service\s+client|assistance|un\s+conseiller)",
    # Spanish: "quiero hablar con un agente", "contactar con soporte"
    r"\bhablar\s+con\s+(?:un\s+|una\s+|el\s+|la\s+)?(?:humano|persona|agente|asesora?|"
    r"operador[a]?|soporte|alguien)",
    r"\bcontactar\s+(?:con\s+)?(?:el\s+)?(?:soporte|servicio\s+al\s+cliente|un\s+agente)",
    # German: "kann ich mit einem Mitarbeiter sprechen?", "Kundendienst kontaktieren"
    r"\bmit\s+(?:einem\s+|einer\s+|dem\s+|der\s+)?(?:echten\s+)?(?:menschen|mitarbeiter(?:in)?|"
    r"berater(?:in)?|support|kundendienst|kundenservice|jemandem)\s+(?:sprechen|reden|verbinden)",
    r"\b(?:support|kundendienst|kundenservice)\s+kontaktieren",
    # Portuguese: "quero falar com um atendente"
    r"\bfalar\s+com\s+(?:um\s+|uma\s+|o\s+|a\s+)?(?:humano|pessoa|atendente|agente|suporte|"
    r"algu[ée]m)",
    # Dutch: "kan ik met een medewerker spreken?"
    r"\bmet\s+(?:een\s+)?(?:mens|medewerker|iemand)\s+(?:spreken|praten)",
]
_REQUESTS = [re.compile(p) for p in _ENGLISH]
_ELSEWHERE = [re.compile(p) for p in _OTHER_LANGUAGES]
# Before the request in its clause: it is about someone else, or negated.
_NOT_FOR_ME = {
    "my", "our", "their", "his", "her", "they", "them", "he", "she", "customers", "customer",
    "clients", "users", "members", "employees", "allow", "enable", "invite", "add", "assign",
    "configure", "setup", "not", "never", "no", "without", "don't", "dont", "didn't",
    "doesn't", "won't", "can't", "cannot", "instead",
}  # fmt: skip
_CLAUSE = re.compile(r"[^,.!?;:\n]+")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")


def asks_for_person(message: str) -> bool:
    """The message asks to be handed to a person (support, an agent, a human)."""
    text = " ".join(message.lower().replace("\u2019", "'").split())
    if len(_WORD.findall(text)) > MAX_WORDS:
        return False
    if _ALONE.match(text) or any(p.search(text) for p in _ELSEWHERE):
        return True
    for clause in _CLAUSE.findall(text):
        for pattern in _REQUESTS:
            for match in pattern.finditer(clause):
                before = set(_WORD.findall(clause[: match.start()]))
                if not before & _NOT_FOR_ME:
                    return True
    return False


def besides_request(message: str) -> str:
    """What else a message that asks for a person says: "My TV has no sound, can I talk to an
    agent?" also says "My TV has no sound". Empty when the request is all there is beside
    pleasantries and single words ("hi, can I talk to a human?", "agent, please"), or when no
    clause of its own asks for one."""
    pieces = split_clauses(message)
    rest = [piece for piece in pieces if not asks_for_person(piece)]
    if len(rest) == len(pieces):
        return ""
    text = without_small_talk(" ".join("".join(rest).split()).strip(" ,;:"))
    return "" if is_small_talk(text) or len(content_terms(text)) < 2 else text


def handover_reply(*, support_url: str | None = None) -> str:
    """What the assistant says to a request for a person: how to reach support."""
    if support_url:
        return (
            f"Of course. You can reach a person on our support team here: {support_url}\n\n"
            "Until then, I'm happy to keep answering questions about using the product."
        )
    return (
        "I can't hand this chat over to a person, but our support team can help: reach them "
        "through the support or contact page of the product you use.\n\n"
        "Until then, I'm happy to keep answering questions about using the product."
    )


def handover_note(*, support_url: str | None = None) -> str:
    """Said after an answer to a message that also asked for a person."""
    if support_url:
        return f"To reach a person on our support team: {support_url}"
    return (
        "To reach a person, contact our support team through the support or contact page of "
        "the product you use."
    )
