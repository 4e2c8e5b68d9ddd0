"""Did the assistant resolve the customer's question? One outcome per conversation, and the
rates over time, by content kind, by page and by mode.

A conversation is a session. Its events are the questions the assistant answered or refused
(the question log), the thumbs up and down given in it, and the requests for a person (the
Contact support control, or asking for one in words). `outcome` decides, in this order:

1. **escalated**: someone asked for a person, whenever and whatever else happened. Decided at
   once: nothing later undoes it.
2. Not counted: nothing was answered or refused in it (small talk only).
3. **open**: its last event is less than the window (default 30 minutes) old; it may go on.
4. Otherwise the last word decides. The last event is a thumbs down: **unresolved**; a thumbs
   up: **resolved, confirmed**. It is a refused question: **unresolved**. It is an answer:
   **resolved, confirmed** when the latest rating before it was a thumbs up, else **resolved,
   assumed** (the customer left without asking for more help or rating it down).

The resolution rate is resolved (confirmed and assumed) / counted conversations (every
outcome but open); the escalation rate is escalated / counted conversations. A conversation
belongs to the day (UTC) and period in which it started, to the content kind of its last
answer's top citation, to the page its last question was asked on, and to the mode it was
asked in.
"""

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, Field

from assistant.records.escalations import EscalationStore
from assistant.records.feedback import FeedbackStore, Rating
from assistant.records.question_log import LoggedQuestion, QuestionLog, utc_now

DEFAULT_WINDOW = dt.timedelta(minutes=30)
MAX_PAGES = 25
# The days of a period are listed one by one, quiet ones too, up to this long.
_DAYS_LISTED = 366


class Outcome(StrEnum):
    RESOLVED_CONFIRMED = "resolved_confirmed"
    RESOLVED_ASSUMED = "resolved_assumed"
    ESCALATED = "escalated"
    UNRESOLVED = "unresolved"
    OPEN = "open"


RESOLVED = (Outcome.RESOLVED_CONFIRMED, Outcome.RESOLVED_ASSUMED)


@dataclass(frozen=True)
class Asked:
    """The assistant answered a question, or refused it."""

    at: dt.datetime
    refused: bool


@dataclass(frozen=True)
class Rated:
    """A thumbs up or down."""

    at: dt.datetime
    rating: Rating


@dataclass(frozen=True)
class Escalated:
    """A request for a person."""

    at: dt.datetime


Event = Asked | Rated | Escalated
# Events at the same moment: a rating follows the answer it rates.
_SAME_MOMENT_ORDER = {Asked: 0, Rated: 1, Escalated: 2}


def outcome(
    events: Iterable[Event], *, now: dt.datetime, window: dt.timedelta = DEFAULT_WINDOW
) -> Outcome | None:
    """How a conversation went, from its events in any order (see the module's docstring);
    None when it is not counted: nothing in it was answered, refused or escalated."""
    ordered = sorted(events, key=lambda e: (e.at, _SAME_MOMENT_ORDER[type(e)]))
    if any(isinstance(e, Escalated) for e in ordered):
        return Outcome.ESCALATED
    if not any(isinstance(e, Asked) for e in ordered):
        return None
    last = ordered[-1]
    if now - last.at < window:
        return Outcome.OPEN
    if isinstance(last, Rated):
        return Outcome.RESOLVED_CONFIRMED if last.rating == Rating.UP else Outcome.UNRESOLVED
    assert isinstance(last, Asked)
    if last.refused:
        return Outcome.UNRESOLVED
    ratings = [e.rating for e in ordered if isinstance(e, Rated)]
    if ratings and ratings[-1] == Rating.UP:
        return Outcome.RESOLVED_CONFIRMED
    return Outcome.RESOLVED_ASSUMED


@dataclass(frozen=True)
class Conversation:
    """One session's events, with what the report breaks the rates down by."""

    session_id: str
    questions: Sequence[LoggedQuestion]  # oldest first
    ratings: Sequence[Rated] = ()
    escalations: Sequence[Escalated] = ()

    @property
    def events(self) -> list[Event]:
        asked = [Asked(q.created_at, q.refused) for q in self.questions]
        return [*asked, *self.ratings, *self.escalations]

    @property
    def started_at(self) -> dt.datetime:
        """When its first question was asked, or a person asked for."""
        return min([q.created_at for q in self.questions] + [e.at for e in self.escalations])

    def outcome(self, *, now: dt.datetime, window: dt.timedelta = DEFAULT_WINDOW) -> Outcome | None:
        return outcome(self.events, now=now, window=window)

    @property
    def kind(self) -> str | None:
        """The content kind of the top citation of the last answer (None: nothing cited)."""
        answered = [q for q in self.questions if not q.refused and q.citations]
        return answered[-1].citations[0].source_type if answered else None

    @property
    def page(self) -> str | None:
        """The page the latest question that says one was asked on."""
        return next((q.page for q in reversed(self.questions) if q.page), None)

    @property
    def mode(self) -> str | None:
        return self.questions[-1].mode if self.questions else None


class OutcomeCounts(BaseModel):
    conversations: int = Field(
        description="Conversations counted: ended ones in which the assistant answered or "
        "refused a question, and escalated ones (open conversations wait)."
    )
    resolved: int = Field(description="resolved_confirmed + resolved_assumed")
    resolved_confirmed: int = Field(description="Ended on, or after, a thumbs up.")
    resolved_assumed: int = Field(
        description="Ended on an answer without a thumbs down or a request for a person."
    )
    escalated: int = Field(description="Someone asked for a person (Contact support, or in words).")
    unresolved: int = Field(description="Ended on a refusal or a thumbs down.")
    resolution_rate: float = Field(description="resolved / conversations (0 when none).")
    escalation_rate: float = Field(description="escalated / conversations (0 when none).")


class DayOutcomes(OutcomeCounts):
    day: dt.date = Field(description="The UTC day the conversations started.")


class SliceOutcomes(OutcomeCounts):
    value: str | None = Field(
        description="The content kind, page or mode; null when unknown (the conversation "
        "cited nothing, or its client sent no page)."
    )


class ResolutionReport(OutcomeCounts):
    since: dt.datetime
    until: dt.datetime
    generated_at: dt.datetime
    window_minutes: float = Field(description="Quiet time after which a conversation ended.")
    open: int = Field(description="Conversations still within the window: not counted yet.")
    by_day: list[DayOutcomes] = Field(description="Per UTC day the conversations started.")
    by_kind: list[SliceOutcomes] = Field(
        description="By the content kind of the top citation of each conversation's last answer."
    )
    by_page: list[SliceOutcomes] = Field(
        description=f"By the page (`context.page`) asked from; the {MAX_PAGES} busiest."
    )
    more_pages: int = Field(default=0, description="Pages left out of by_page.")
    by_mode: list[SliceOutcomes] = Field(description="By the mode the last question was asked in.")


def counts(outcomes: Iterable[Outcome | None]) -> OutcomeCounts:
    """The counts and rates of these outcomes (open and uncounted ones left out)."""
    tally = Counter(o for o in outcomes if o is not None and o != Outcome.OPEN)
    total = sum(tally.values())
    resolved = tally[Outcome.RESOLVED_CONFIRMED] + tally[Outcome.RESOLVED_ASSUMED]
    return OutcomeCounts(
        conversations=total,
        resolved=resolved,
        resolved_confirmed=tally[Outcome.RESOLVED_CONFIRMED],
        resolved_assumed=tally[Outcome.RESOLVED_ASSUMED],
        escalated=tally[Outcome.ESCALATED],
        unresolved=tally[Outcome.UNRESOLVED],
        resolution_rate=_rate(resolved, total),
        escalation_rate=_rate(tally[Outcome.ESCALATED], total),
    )


def unresolved_questions(
    conversations: Iterable[Conversation],
    *,
    now: dt.datetime,
    window: dt.timedelta = DEFAULT_WINDOW,
) -> set[int]:
    """The question-log ids of the questions of conversations that ended unresolved, but for
    answers the customer rated thumbs up (those helped): gaps for the gap report."""
    return {
        q.id
        for c in conversations
        if c.outcome(now=now, window=window) == Outcome.UNRESOLVED
        for q in c.questions
        if q.rating != Rating.UP
    }


class ResolutionAnalyzer:
    """Builds resolution reports from the question log, the ratings and the requests for a
    person in the app database.

    Args:
        window: a conversation with nothing new for this long has ended.
        clock: the current time (tests set it to decide which conversations are open).
    """

    def __init__(
        self,
        log: QuestionLog,
        feedback: FeedbackStore,
        escalations: EscalationStore,
        *,
        window: dt.timedelta = DEFAULT_WINDOW,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.log = log
        self.feedback = feedback
        self.escalations = escalations
        self.window = window
        self.clock = clock

    def conversations(
        self, *, since: dt.datetime, until: dt.datetime | None = None
    ) -> list[Conversation]:
        """The conversations that started in [since, until), with every event they hold
        (later ones too), oldest first."""
        until = until or self.clock()
        sessions = {q.session_id for q in self.log.entries(since=since, until=until)}
        sessions |= {e.session_id for e in self.escalations.entries(since=since, until=until)}
        if not sessions:
            return []
        questions: dict[str, list[LoggedQuestion]] = defaultdict(list)
        for question in self.log.of_sessions(sessions):
            questions[question.session_id].append(question)
        ratings: dict[str, list[Rated]] = defaultdict(list)
        for rating in self.feedback.entries(session_ids=sessions):
            ratings[rating.session_id].append(Rated(rating.created_at, rating.rating))
        escalations: dict[str, list[Escalated]] = defaultdict(list)
        for escalation in self.escalations.entries(session_ids=sessions):
            escalations[escalation.session_id].append(Escalated(escalation.created_at))
        found = [
            Conversation(s, questions[s], ratings[s], escalations[s])
            for s in sessions
            if questions[s] or escalations[s]
        ]
        return sorted(
            (c for c in found if since <= c.started_at < until),
            key=lambda c: (c.started_at, c.session_id),
        )

    def report(self, *, since: dt.datetime, until: dt.datetime | None = None) -> ResolutionReport:
        """The report for the conversations that started in [since, until)."""
        until = until or self.clock()
        return self.summarise(
            self.conversations(since=since, until=until), since=since, until=until
        )

    def summarise(
        self, conversations: Sequence[Conversation], *, since: dt.datetime, until: dt.datetime
    ) -> ResolutionReport:
        """The report over these conversations (those of [since, until))."""
        now = self.clock()
        outcomes = [(c, c.outcome(now=now, window=self.window)) for c in conversations]
        pages = _slices(outcomes, lambda c: c.page)
        return ResolutionReport(
            **counts(o for _, o in outcomes).model_dump(),
            since=since,
            until=until,
            generated_at=now,
            window_minutes=self.window.total_seconds() / 60,
            open=sum(o == Outcome.OPEN for _, o in outcomes),
            by_day=_by_day(outcomes, since=since, until=until),
            by_kind=_slices(outcomes, lambda c: c.kind),
            by_page=pages[:MAX_PAGES],
            more_pages=max(0, len(pages) - MAX_PAGES),
            by_mode=_slices(outcomes, lambda c: c.mode),
        )


def _by_day(
    outcomes: Sequence[tuple[Conversation, Outcome | None]],
    *,
    since: dt.datetime,
    until: dt.datetime,
) -> list[DayOutcomes]:
    """One entry per day from the start of the period (or, for a period over a year, the
    first conversation) to its end, quiet days included."""
    per_day: dict[dt.date, list[Outcome | None]] = defaultdict(list)
    for conversation, result in outcomes:
        per_day[conversation.started_at.astimezone(dt.UTC).date()].append(result)
    last = (until - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    first = since.astimezone(dt.UTC).date()
    if (last - first).days > _DAYS_LISTED:
        first = min(per_day, default=last)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayOutcomes(day=day, **counts(per_day.get(day, [])).model_dump()) for day in days]


def _slices(
    outcomes: Sequence[tuple[Conversation, Outcome | None]],
    value_of: Callable[[Conversation], str | None],
) -> list[SliceOutcomes]:
    """Counts per value, the most counted conversations first; values with none counted
    (open ones only) are left out."""
    grouped: dict[str | None, list[Outcome | None]] = defaultdict(list)
    for conversation, result in outcomes:
        grouped[value_of(conversation)].append(result)
    slices = [
        SliceOutcomes(value=value, **counts(results).model_dump())
        for value, results in grouped.items()
    ]
    slices = [s for s in slices if s.conversations]
    return sorted(slices, key=lambda s: (-s.conversations, s.value is None, s.value or ""))


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0
