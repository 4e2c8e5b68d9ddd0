"""What one asked turn produced: the answer, the retrieved and cited sources, and its scores."""

from dataclasses import dataclass, field
from typing import Any

from assistant.types import Answer, ScoredChunk
from evals.cases import Case, Turn


@dataclass
class TurnRecord:
    """One turn of one case, asked as the case's caller, with everything the metrics read."""

    case: Case
    position: int  # 0-based turn number within the case
    answer: Answer
    retrieved: list[ScoredChunk]  # what the answer's query retrieves for this caller, best first
    cited: list[ScoredChunk]  # the chunk behind each citation, in citation order
    visible_audiences: list[str]  # what the caller may read in this mode
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def turn(self) -> Turn:
        return self.case.turns[self.position]

    @property
    def result_id(self) -> str:
        """The case id, with the turn number for conversations (`c-01#2`)."""
        return self.case.id if len(self.case.turns) == 1 else f"{self.case.id}#{self.position + 1}"

    @property
    def kind(self) -> str:
        return self.turn.kind or self.case.kind or "unknown"

    @property
    def expects_answer(self) -> bool:
        return self.case.expect == "answer"

    @property
    def retrieved_documents(self) -> list[str]:
        """Distinct documents of the retrieved chunks, in rank order."""
        return list(dict.fromkeys(c.document for c in self.retrieved))

    @property
    def cited_documents(self) -> list[str]:
        return list(dict.fromkeys(c.document for c in self.answer.citations))

    def to_dict(self) -> dict[str, Any]:
        """The per-case row of the report."""
        return {
            "id": self.result_id,
            "kind": self.kind,
            "expect": self.case.expect,
            "audience": self.case.audience,
            "mode": self.case.mode,
            "question": self.turn.question,
            "query": self.answer.query,
            "answer": self.answer.answer,
            "refused": self.answer.refused,
            "confidence": self.answer.confidence,
            "reference_answer": self.turn.reference_answer,
            "reference_documents": list(self.turn.reference_documents),
            "retrieved_documents": self.retrieved_documents,
            "cited_documents": self.cited_documents,
            "scores": self.scores,
        }
