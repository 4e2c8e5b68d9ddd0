"""The outcome of a conversation from its events: every category, the window's edge, and which
event wins when several say different things. Pure: no database."""

import datetime as dt
import random

import pytest

from assistant.analytics.resolution import (
    Asked,
    Conversation,
    Escalated,
    Event,
    Outcome,
    Rated,
    counts,
    outcome,
    unresolved_questions,
)
from assistant.records.feedback import Rating
from assistant.records.question_log import LoggedQuestion

T0 = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=30)
LATER = T0 + dt.timedelta(hours=5)  # every conversation below has ended by then


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def answered(minutes: float) -> Asked:
    return Asked(at(minutes), refused=False)


def refused(minutes: float) -> Asked:
    return Asked(at(minutes), refused=True)


def up(minutes: float) -> Rated:
    return Rated(at(minutes), Rating.UP)


def down(minutes: float) -> Rated:
    return Rated(at(minutes), Rating.DOWN)


def escalated(minutes: float) -> Escalated:
    return Escalated(at(minutes))


# A synthetic log: each conversation's events and the outcome it must get once it has ended.
KNOWN: dict[str, tuple[list[Event], Outcome | None]] = {
    "an answer, then silence": ([answered(0)], Outcome.RESOLVED_ASSUMED),
    "an answer rated up": ([answered(0), up(1)], Outcome.RESOLVED_CONFIRMED),
    "an answer rated down": ([answered(0), down(1)], Outcome.UNRESOLVED),
    "a refusal": ([refused(0)], Outcome.UNRESOLVED),
    "a refusal, then contact support": ([refused(0), escalated(1)], Outcome.ESCALATED),
    "asked for a person first thing": ([escalated(0)], Outcome.ESCALATED),
    "rated up, then contact support": ([answered(0), up(1), escalated(2)], Outcome.ESCALATED),
    "contact support, then rated up": ([answered(0), escalated(1), up(2)], Outcome.ESCALATED),
    "down, rephrased, answered": ([answered(0), down(1), answered(2)], Outcome.RESOLVED_ASSUMED),
    "up, then a refused follow-up": ([answered(0), up(1), refused(3)], Outcome.UNRESOLVED),
    "up, then an answered follow-up": (
        [answered(0), up(1), answered(3)],
        Outcome.RESOLVED_CONFIRMED,
    ),
    "up, then changed to down": ([answered(0), up(1), down(2)], Outcome.UNRESOLVED),
    "down, then changed to up": ([answered(0), down(1), up(2)], Outcome.RESOLVED_CONFIRMED),
    "a refusal rated up": ([refused(0), up(1)], Outcome.RESOLVED_CONFIRMED),
    "a rating on small talk only": ([up(0)], None),
    "nothing": ([], None),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_a_synthetic_log_gets_its_known_outcomes(name: str) -> None:
    events, expected = KNOWN[name]
    assert outcome(events, now=LATER, window=WINDOW) == expected


@pytest.mark.parametrize("name", list(KNOWN))
def test_the_order_events_arrive_in_does_not_matter(name: str) -> None:
    events, expected = KNOWN[name]
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    assert outcome(shuffled[::-1], now=LATER, window=WINDOW) == expected


def test_the_window_counts_from_the_last_event_and_ends_at_its_edge() -> None:
    events = [answered(0), up(20)]
    last = at(20)
    assert outcome(events, now=last + WINDOW - dt.timedelta(microseconds=1)) == Outcome.OPEN
    assert outcome(events, now=last + WINDOW) == Outcome.RESOLVED_CONFIRMED
    # 31 minutes after the answer but 11 after the rating: still open.
    assert outcome(events, now=at(31), window=WINDOW) == Outcome.OPEN
    short = dt.timedelta(minutes=5)
    assert outcome([refused(0)], now=at(5), window=short) == Outcome.UNRESOLVED
    assert outcome([refused(0)], now=at(4.9), window=short) == Outcome.OPEN


def test_an_escalation_is_decided_at_once() -> None:
    assert outcome([answered(0), escalated(1)], now=at(1), window=WINDOW) == Outcome.ESCALATED
    assert outcome([answered(0)], now=at(1), window=WINDOW) == Outcome.OPEN


def test_a_rating_at_the_same_moment_as_its_answer_follows_it() -> None:
    assert outcome([down(0), answered(0)], now=LATER) == Outcome.UNRESOLVED
    assert outcome([up(0), refused(0)], now=LATER) == Outcome.RESOLVED_CONFIRMED


def test_rates_leave_open_and_uncounted_conversations_out() -> None:
    outcomes = [outcome(events, now=LATER, window=WINDOW) for events, _ in KNOWN.values()]
    outcomes += [Outcome.OPEN, Outcome.OPEN]
    tally = counts(outcomes)
    assert tally.model_dump() == {
        "conversations": 14,
        "resolved": 6,
        "resolved_confirmed": 4,
        "resolved_assumed": 2,
        "escalated": 4,
        "unresolved": 4,
        "resolution_rate": round(6 / 14, 3),
        "escalation_rate": round(4 / 14, 3),
    }
    assert counts([]).resolution_rate == 0.0


def _question(qid: int, minutes: float, *, refused: bool, rating: Rating | None) -> LoggedQuestion:
    return LoggedQuestion(
        id=qid,
        created_at=at(minutes),
        session_id="s",
        question=f"q{qid}",
        query=f"q{qid}",
        audience="public",
        mode="customer",
        confidence=0.2 if refused else 0.8,
        refused=refused,
        citations=[],
        latency_ms=1.0,
        rating=rating,
    )


def test_the_questions_of_unresolved_conversations_except_helpful_answers_are_gaps() -> None:
    unresolved = Conversation(
        "s1",
        [
            _question(1, 0, refused=False, rating=Rating.UP),
            _question(2, 2, refused=False, rating=None),
            _question(3, 4, refused=True, rating=None),
        ],
        ratings=[up(1)],
    )
    resolved = Conversation("s2", [_question(4, 0, refused=False, rating=None)])
    still_open = Conversation("s3", [_question(5, 295, refused=True, rating=None)])
    found = unresolved_questions([unresolved, resolved, still_open], now=LATER, window=WINDOW)
    assert found == {2, 3}
