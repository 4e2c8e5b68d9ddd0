"""Where each exchange is kept: the conversation's turn, the question-log row and a request
for a person, written together in one commit."""

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
            escalations = self.escalations if escalate else None

            def record_escalation(db: Session, turn_id: int) -> None:
                assert escalations is not None
                source = EscalationSource.ASKED
                escalations.insert(db, reply.session_id, turn_id=turn_id, source=source)

            also = record_escalation if escalations else None
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
    ) -> None:
        """Writes the turn and its question-log row in one transaction: every answer, cached
        or not, waits for this commit, and SQLite takes one writer at a time."""
        log = self.question_log

        def log_row(db: Session, turn_id: int | None) -> None:
            assert log is not None
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

        if self.sessions:
            self.sessions.append(
                session_id,
                turn,
                starts_for=starts_for,
                also=log_row if log else None,
            )
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
