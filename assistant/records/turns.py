"""Where each exchange is kept: the conversation's turn, the question-log row and a request
for a person, written together in one commit."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from assistant.records.escalations import EscalationSource, EscalationStore
from assistant.records.question_log import QuestionLog
from assistant.records.sessions import SessionOwner, SessionStore, Turn
from assistant.types import Answer


class TurnRecords:
    def __init__(
        self,
        sessions: SessionStore | None,
        question_log: QuestionLog | None,
        escalations: EscalationStore | None,
    ) -> None:
        self.sessions = sessions
        self.question_log = question_log
        self.escalations = escalations

    def reply(
        self,
        question: str,
        reply: Answer,
        history: list[Turn],
        starts_for: SessionOwner | None,
        *,
        escalate: bool = False,
    ) -> None:
        """A reply that searched nothing: kept as a turn of the conversation (carrying its
        topic forward for what follows) but not as a logged question; a request for a person
        (`escalate`) is recorded in the same commit."""
        if self.sessions:
            topic = history[-1].standalone if history else ""
            turn = Turn(question, topic, reply.answer, refused=False)
            also = self._escalation(reply.session_id) if escalate else None
            self.sessions.append(reply.session_id, turn, starts_for=starts_for, also=also)

    def answered(
        self,
        turn: Turn,
        answer: Answer,
        session_id: str,
        starts_for: SessionOwner | None,
        latency_ms: float,
        *,
        audience: str,
        mode: str,
        page: str | None,
        escalate: bool = False,
    ) -> None:
        """Writes the turn and its question-log row in one transaction: every answer, cached
        or not, waits for this commit, and SQLite takes one writer at a time. `escalate`: the
        message also asked for a person, recorded in the same commit."""
        log = self.question_log
        escalation = self._escalation(session_id) if escalate else None

        def rows(db: Session, turn_id: int) -> None:
            if log:
                log.insert(
                    db,
                    turn.question,
                    answer,
                    audience=audience,
                    mode=mode,
                    latency_ms=latency_ms,
                    turn_id=turn_id,
                    page=page,
                )
            if escalation:
                escalation(db, turn_id)

        if self.sessions:
            also = rows if log or escalation else None
            self.sessions.append(session_id, turn, starts_for=starts_for, also=also)
            if log:
                log.purge_if_due()
        elif log:
            log.record(
                turn.question,
                answer,
                audience=audience,
                mode=mode,
                latency_ms=latency_ms,
                page=page,
            )

    def _escalation(self, session_id: str) -> Callable[[Session, int], None] | None:
        """Writes a request for a person made in words, for the turn just written."""
        escalations = self.escalations
        if escalations is None:
            return None

        def write(db: Session, turn_id: int) -> None:
            escalations.insert(db, session_id, turn_id=turn_id, source=EscalationSource.ASKED)

        return write
