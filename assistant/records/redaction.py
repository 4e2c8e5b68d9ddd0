"""Removes personal data from text before it is stored: e-mail addresses, phone numbers and
card-like numbers become `[email]`, `[phone]` and `[card]`.

Customers paste their contact details and card numbers into questions; the app database keeps
questions for conversations and the knowledge-gap report, and must not keep those.
"""

import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# The same where a run of address characters starts. Tried from every position of a long run
# without an "@" ("aaaa…"), `_EMAIL` scans the rest of the run each time: quadratic.
_EMAIL_AT_RUN = re.compile(r"(?<![\w.+-])" + _EMAIL.pattern, re.UNICODE)
# 13 to 19 digits, optionally in groups split by spaces or dashes: card numbers (PANs).
_CARD = re.compile(r"(?<![\w./-])\d(?:[ -]?\d){12,18}(?!\w|\.\d)")
# An optional +country code, an optional (area code), then digit groups split by space, dot or
# dash; whether it is a phone number is decided by its digit count (see _phone).
_PHONE = re.compile(r"(?<![\w./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,}(?:[ .-]\d{2,})*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_MIN_PHONE_DIGITS = 7
_MAX_PHONE_DIGITS = 15  # the E.164 maximum


def redact(text: str) -> str:
    """`text` with e-mail addresses, card-like numbers and phone numbers replaced."""
    text = _without_emails(text)
    text = _CARD.sub("[card]", text)
    return _PHONE.sub(_phone, text)


def _without_emails(text: str) -> str:
    """`_EMAIL.sub("[email]", text)` in linear time. Its matches start where a run of address
    characters starts, or right where the previous match ended ("a@b.io+c@d.io" is two)."""
    parts: list[str] = []
    pos = 0
    match = _EMAIL_AT_RUN.search(text)
    while match:
        parts += [text[pos : match.start()], "[email]"]
        pos = match.end()
        match = _EMAIL.match(text, pos) or _EMAIL_AT_RUN.search(text, pos)
    return "".join([*parts, text[pos:]])


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(c.isdigit() for c in found)
    # Dates, version numbers, amounts and order counts are not phone numbers.
    looks_like_phone = _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS and (
        found.startswith(("+", "(")) or not _DATE.fullmatch(found)
    )
    return "[phone]" if looks_like_phone else found
