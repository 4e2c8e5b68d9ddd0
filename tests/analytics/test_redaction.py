"""Personal data is replaced before anything is stored; ordinary numbers are left alone."""

import time

import pytest

from assistant.records.redaction import redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+billing@example.co.uk today", "write to [email] today"),
        ("call +1 (555) 123-4567 or 555-123-4567", "call [phone] or [phone]"),
        ("my mobile is 0612345678", "my mobile is [phone]"),
        ("+44 20 7946 0958 is our office", "[phone] is our office"),
        ("card 4111 1111 1111 1111 was declined", "card [card] was declined"),
        ("card 4111-1111-1111-1111.", "card [card]."),
        ("number 4111111111111111.", "number [card]."),
    ],
)
def test_personal_data_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Invoice INV-20261234 from 2026-09-14 for 500 dollars",
        "Is version 4.2 different from 4.1? Links expire after 30 minutes.",
        "due on 12/31/2026, order 12345",
        "How do I reset my password?",
    ],
)
def test_ordinary_numbers_and_text_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a@b.io+c@d.io", "[email][email]"),  # glued addresses: both, as before
        ("x.y@b.io..c@d.io", "[email][email]"),
        ("(bob@acme.io), über@straße.de", "([email]), [email]"),
        ("a@b@c.io", "a@[email]"),
    ],
)
def test_addresses_next_to_each_other_are_all_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


def _cpu(text: str) -> float:
    """The least CPU time of a few redactions of `text`."""
    times = []
    for _ in range(3):
        started = time.process_time()
        redact(text)
        times.append(time.process_time() - started)
    return min(times)


@pytest.mark.parametrize("run", ["a", "1.", "a-", "9"])
def test_redaction_is_linear_in_long_runs_without_an_address(run: str) -> None:
    """A run of address characters with no "@" ("aaaa…") took time quadratic in its length
    (1.2 s for 20,000 characters); now it costs about what prose of that length does."""
    size = 20_000
    prose = ("Where do I change the reminder e-mail for overdue invoices? " * 400)[:size]
    hostile = (run * size)[:size]
    assert _cpu(hostile) < 5 * _cpu(prose) + 0.002
