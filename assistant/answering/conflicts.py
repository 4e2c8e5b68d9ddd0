"""Sources that disagree on the value a question asks for: keep the trusted value, cite both.

A webinar from last year can contradict this month's help article. When the question asks for
a quantity ("how many reminders…"), a place in the product (a menu path such as
`Settings > Reminders`) or a yes/no ("Can I…", "Does Ledgerly support…") and two retrieved
documents state different values for it, the answer keeps the value of the more trusted
document (help articles and courses over webinars over forum threads, then reviewed, then the
newer `updated_at`), states it, and says, citing both, that another source said otherwise.

Yes/no is read without an LLM, so it is read conservatively (a wrong "sources disagree" is
worse than none): only sentences that name nearly all of the question's key terms count; a
sentence says yes ("you can", "is available", "lets you") or no ("cannot", "isn't supported",
"no longer") only when it has cues of one side and none of the other and no qualifier ("if",
"only", "but", "when"…: "only drafts can be deleted" is a yes and a no at once); questions,
advice ("don't delete it", "you don't need to") and labels ("click **Don't send reminders**")
are not read; and sentences that name a different plan, platform or other capitalised thing
the question does not ("…on Starter" vs "…on Scale") are not compared. The note quotes both
sentences. Most yes/no questions therefore get no note even when the sources disagree.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from math import ceil

from assistant.text_units import content_terms, split_sentences
from assistant.types import Draft, ScoredChunk

AUTHORITY = {"kb": 2, "course": 2, "transcript": 1, "thread": 0}
KIND_LABEL = {"kb": "help article", "course": "course lesson", "transcript": "webinar"}
NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
TIME_UNITS = frozenset(["second", "minute", "hour", "day", "week", "month", "year"])
_QUANTITY_QUESTION = re.compile(
    r"\b(how (many|much|long|often|far)|limit|maximum|minimum|max|min|number of|up to|at most)\b",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    [
        "how",
        "many",
        "much",
        "long",
        "often",
        "what",
        "which",
        "where",
        "do",
        "doe",
        "can",
        "i",
        "my",
        "we",
        "our",
        "per",
    ]
)
_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+|" + "|".join(NUMBER_WORDS)
_QUANTITY = re.compile(
    rf"(?<![$€£\w.,:])({_NUMBER})(?![\w.,:%]*\d)(?!\w)\s+([A-Za-z][\w-]*)(?:\s+([A-Za-z][\w-]*))?",
    re.IGNORECASE,
)
_BOLD_PATH = re.compile(r"\*\*([^*\n]+?\s>\s[^*\n]+?)\*\*")
_PLAIN_PATH = re.compile(r"\b[A-Z][\w'’&…()-]*(?: > [A-Z][\w'’&…()-]*(?: [A-Z][\w'’&…()-]*)*)+")
_YES_NO_QUESTION = re.compile(
    r"(?:^|[,;:.!?]\s+|\b(?:and|or|so)\s+)"
    r"(?:can|could|is|are|does|do|did|will|would|may|should|has|have)\s+\w",
    re.IGNORECASE,
)
# Words of a yes/no question that say nothing about its subject.
_YES_NO_FILLER = frozenset(
    [
        "possible",
        "able",
        "way",
        "support",
        "supported",
        "available",
        "allow",
        "let",
        "still",
        "really",
        "also",
        "actually",
        "anyone",
        "someone",
        "option",
        "their",
        "up",
    ]
)
_NEGATIVE = re.compile(
    r"\b(?:cannot|can not|\w+n't|not|never|no longer|unavailable|unsupported|impossible|"
    r"there is no|there's no|has no|have no)\b",
    re.IGNORECASE,
)
_AFFIRMATIVE = re.compile(
    r"\b(?:can|could|may|is available|are available|is supported|are supported|supports?|"
    r"lets? you|allows?|enables?|is possible|are able)\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(rf"(?:{_NEGATIVE.pattern})(?:\s+[\w']+){{0,2}}", re.IGNORECASE)
# A qualified sentence is yes for some cases and no for others: "only drafts can be deleted".
_QUALIFIER = re.compile(
    r"\b(?:if|unless|only|except|but|however|although|though|once|until|when|while|after|"
    r"before|whether|instead|otherwise)\b",
    re.IGNORECASE,
)
# Advice and obligation are not capability: "don't delete it", "you don't need to" say no
# to something other than "can I".
_ADVICE = re.compile(
    r"^(?:please )?(?:don't|do not|never)\b|\b(?:need|needs|have|has) to\b|\b(?:must|should)\b",
    re.IGNORECASE,
)
_BOLD_LABEL = re.compile(r"\*\*[A-Z][^*]*\*\*")
_SPEAKER = re.compile(r"^[A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3}: ")
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*")
YES_NO = "yes/no"
_MONTHS = "January February March April May June July August September October November December"


@dataclass(frozen=True)
class Claim:
    """One value a source states: `key` says what it is about (a unit, a menu leaf, yes/no
    with the names that scope it)."""

    key: str
    value: str  # normalised, for comparing
    shown: str  # as the source wrote it, for the note
    chunk: ScoredChunk


def note_conflicts(question: str, draft: Draft, retrieved: Sequence[ScoredChunk]) -> Draft:
    """The draft with a sentence per disagreement, citing the other source; unchanged if none.

    Markers stay valid: sources the note cites are appended to `draft.sources`.
    """
    if not draft.text or not draft.sources:
        return draft
    terms = content_terms(question) - _QUESTION_WORDS
    chunks = _unique([*draft.sources, *retrieved])
    claims = _path_claims(chunks, terms)
    if _QUANTITY_QUESTION.search(question):
        claims += _number_claims(chunks, terms)
    if _YES_NO_QUESTION.search(question):
        claims += _yes_no_claims(chunks, question)
    cited = {c.chunk_id for c in draft.sources}
    for key in dict.fromkeys(c.key for c in claims):
        conflict = _conflict([c for c in claims if c.key == key])
        if conflict and {conflict[0].chunk.chunk_id, conflict[1].chunk.chunk_id} & cited:
            draft = _with_note(draft, *conflict)
    return draft


def trust(chunk: ScoredChunk) -> tuple[int, bool, str]:
    """More authoritative kind, then reviewed, then newer."""
    meta = chunk.metadata
    return (
        AUTHORITY.get(str(meta.get("source_type", "kb")), 0),
        bool(meta.get("reviewed", True)),
        str(meta.get("updated_at", "")),
    )


def _unique(chunks: Sequence[ScoredChunk]) -> list[ScoredChunk]:
    return list({c.chunk_id: c for c in chunks}.values())


def _number_claims(chunks: Sequence[ScoredChunk], terms: set[str]) -> list[Claim]:
    """`5 reminders per invoice`, `three reminders per invoice` in sentences about the
    question. The number's unit (the word after it) must be a question word or a time unit,
    and the word after the unit must agree too, so `90 days of history` and `5 days to
    clear` are not compared. Prices (`$15`) are left out."""
    claims = []
    for chunk in chunks:
        for sentence in split_sentences(chunk.text.replace("**", "")):
            if len(content_terms(sentence) & terms) < min(2, len(terms)):
                continue
            for match in _QUANTITY.finditer(sentence):
                number, unit_word, after = match.group(1), match.group(2), match.group(3) or ""
                unit = content_terms(unit_word)
                # "20 Growth seats": a capitalised word after a number names something (a plan,
                # a screen), it is not the unit being counted.
                if unit_word[0].isupper() or not (unit & terms or unit & TIME_UNITS):
                    continue
                [key] = unit
                next_word = "".join(sorted(content_terms(after))) or after.lower()
                shown = number.lower() if number.isalpha() else number
                value = str(NUMBER_WORDS.get(number.lower(), number.replace(",", "")))
                claims.append(Claim(f"{key} {next_word}", value, f"{shown} {unit_word}", chunk))
    return claims


def _path_claims(chunks: Sequence[ScoredChunk], terms: set[str]) -> list[Claim]:
    """Menu paths whose last step the question names (`Settings > Reminders` for reminders),
    in sentences about the question."""
    claims = []
    for chunk in chunks:
        for sentence in split_sentences(chunk.text):
            if len(content_terms(sentence) & terms) < min(2, len(terms)):
                continue
            for path in _BOLD_PATH.findall(sentence) or _PLAIN_PATH.findall(sentence):
                steps = [" ".join(s.split()) for s in path.split(">")]
                if not content_terms(steps[-1]) & terms:
                    continue
                value = " > ".join(s.lower() for s in steps)
                key = f"menu:{steps[-1].lower()}"
                claims.append(Claim(key, value, " > ".join(steps), chunk))
    return claims


def _yes_no_claims(chunks: Sequence[ScoredChunk], question: str) -> list[Claim]:
    """Sentences about the question that clearly say yes or no. The key carries the
    capitalised names a sentence adds to the question (a plan, a platform), so "not on
    Starter" and "on Scale" are different claims, not a disagreement."""
    terms = content_terms(question) - _QUESTION_WORDS - _YES_NO_FILLER
    if len(terms) < 2:
        return []
    needed = max(2, ceil(0.75 * len(terms)))
    sentences = [
        (chunk, _SPEAKER.sub("", sentence))
        for chunk in chunks
        for sentence in split_sentences(chunk.text.replace("’", "'"))
    ]
    # A sentence's first word is a name only if the sources capitalise it mid-sentence too.
    names = {w for _, s in sentences for w in _CAPITALISED.findall(s.split(" ", 1)[-1])}
    asked = content_terms(question)
    claims = []
    for chunk, marked in sentences:
        sentence = _plain(marked)
        if len(content_terms(sentence) & terms) < needed:
            continue
        # Labels are not claims: "click **More > Reminders > Don't send reminders**".
        answer = _polarity(_PLAIN_PATH.sub(" ", _BOLD_LABEL.sub(" ", marked)))
        if answer is None:
            continue
        first, _, rest = sentence.partition(" ")
        named = [w for w in [first, *_CAPITALISED.findall(rest)] if w in names]
        scope = sorted({w.lower() for w in named if not content_terms(w) <= asked})
        claims.append(Claim(" ".join([YES_NO, *scope]), answer, sentence.rstrip(" ."), chunk))
    return claims


def _polarity(sentence: str) -> str | None:
    """ "yes", "no", or None when the sentence does not clearly say one of them."""
    if sentence.endswith("?") or _QUALIFIER.search(sentence) or _ADVICE.search(sentence):
        return None
    # A capitalised "Don't…" mid-sentence names a button or setting.
    cues = _NEGATIVE.finditer(sentence)
    negative = any(m.start() == 0 or m.group(0)[0].islower() for m in cues)
    # "does not support", "isn't available": the words a negation covers are no yes.
    affirmative = bool(_AFFIRMATIVE.search(_NEGATED.sub(" ", sentence)))
    if negative == affirmative:
        return None
    return "no" if negative else "yes"


def _conflict(claims: list[Claim]) -> tuple[Claim, Claim] | None:
    """(trusted, other) when documents state different values; a document stating several
    values for the same key (a table per plan, say) is left out as ambiguous."""
    by_document: dict[str, set[str]] = {}
    for c in claims:
        by_document.setdefault(c.chunk.document, set()).add(c.value)
    clear = [c for c in claims if len(by_document[c.chunk.document]) == 1]
    if len({c.value for c in clear}) < 2:
        return None
    trusted = max(clear, key=lambda c: trust(c.chunk))
    others = [c for c in clear if c.value != trusted.value]
    if trusted.value in {c.value for c in others}:
        return None
    return trusted, max(others, key=lambda c: trust(c.chunk))


def _with_note(draft: Draft, trusted: Claim, other: Claim) -> Draft:
    sources = list(draft.sources)
    ids = [c.chunk_id for c in sources]
    text = draft.text
    for claim in (trusted, other):
        if claim.chunk.chunk_id not in ids:
            sources.append(claim.chunk)
            ids.append(claim.chunk.chunk_id)
    n_trusted = ids.index(trusted.chunk.chunk_id) + 1
    n_other = ids.index(other.chunk.chunk_id) + 1
    # The answer states the trusted value itself, not only in the note.
    if _plain(trusted.shown) not in _plain(text):
        text = f"{_sentence_with(trusted)} [{n_trusted}]\n\n{text}"
    trusted_kind = KIND_LABEL.get(str(trusted.chunk.metadata.get("source_type")), "post")
    note = (
        f"{_describe(other.chunk, trusted.chunk)} said {_quoted(other)} [{n_other}]; "
        f"the {trusted_kind} says {_quoted(trusted)} [{n_trusted}]."
    )
    warning = (
        f"Sources disagree: {_quoted(trusted)} [{n_trusted}] vs {_quoted(other)} [{n_other}]; "
        f"the answer follows [{n_trusted}], the more authoritative or newer source."
    )
    return replace(
        draft,
        text=f"{text.rstrip()}\n\n{note}",
        sources=sources,
        warnings=[*draft.warnings, warning],
    )


def _sentence_with(claim: Claim) -> str:
    for sentence in split_sentences(_plain(claim.chunk.text)):
        if _plain(claim.shown) in sentence:
            return _SPEAKER.sub("", sentence)
    return claim.shown


def _plain(text: str) -> str:
    """Without bold markers and with straight apostrophes, for comparing."""
    return text.replace("**", "").replace("’", "'")


def _quoted(claim: Claim) -> str:
    """A yes/no is a whole sentence, quoted; a quantity or a menu path is shown as is."""
    return f'"{claim.shown}"' if claim.key.startswith(YES_NO) else claim.shown


def _describe(other: ScoredChunk, trusted: ScoredChunk) -> str:
    """'An older webinar (version 4.1, June 2026)'."""
    meta = other.metadata
    kind = KIND_LABEL.get(str(meta.get("source_type")), "community post")
    older = str(meta.get("updated_at", "")) < str(trusted.metadata.get("updated_at", ""))
    details = []
    if meta.get("product_version"):
        details.append(f"version {meta['product_version']}")
    if meta.get("author") and meta.get("source_type") == "thread":
        details.append(f"by {meta['author']}")
    if re.match(r"\d{4}-\d{2}", str(meta.get("updated_at", ""))):
        year, month = str(meta["updated_at"])[:7].split("-")
        details.append(f"{_MONTHS.split()[int(month) - 1]} {year}")
    label = f"An older {kind}" if older else f"A {kind}"
    return f"{label} ({', '.join(details)})" if details else label
