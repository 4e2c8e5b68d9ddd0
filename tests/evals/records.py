"""Builds TurnRecords by hand for metric and report tests: real Answer and ScoredChunk values,
the shape the runner produces, without indexing a corpus."""

from assistant.types import Answer, Citation, ScoredChunk
from evals.cases import Case, Turn
from evals.records import TurnRecord

RESET_TEXT = (
    "Open the sign-in page and click Forgot password. Reset links expire after 30 minutes, "
    "so request a new one if the email is late."
)
INVOICE_TEXT = "Go to Invoices and click New invoice. Pick a customer and set the due date."


def chunk(document: str, text: str, *, audience: str = "public") -> ScoredChunk:
    return ScoredChunk(
        chunk_id=f"{document}#0",
        text=text,
        metadata={"document": document, "title": document, "audience": audience},
        score=1.0,
        similarity=0.8,
    )


def record(
    answer_text: str,
    *,
    cited: list[ScoredChunk],
    retrieved: list[ScoredChunk] | None = None,
    reference_answer: str | None = "Reset links expire after 30 minutes.",
    reference_documents: tuple[str, ...] = ("kb/reset.md",),
    expect: str = "answer",
    refused: bool = False,
    mode: str = "customer",
    kind: str = "kb",
    must_not_contain: tuple[str, ...] = (),
    ticket_text: str | None = None,
) -> TurnRecord:
    case = Case(
        id="t-1",
        turns=(Turn("how long do reset links last?", reference_answer, reference_documents, kind),),
        mode=mode,
        kind=kind,
        expect=expect,
        must_not_contain=must_not_contain,
    )
    citations = [
        Citation(
            id=n,
            title=c.title,
            source_type="kb",
            url=f"https://help.example.com/{c.document}",
            document=c.document,
            snippet=c.text[:100],
            audience=str(c.metadata["audience"]),
        )
        for n, c in enumerate(cited, start=1)
    ]
    answer = Answer(
        answer=answer_text,
        citations=citations,
        confidence=0.2 if refused else 0.8,
        refused=refused,
        session_id="s",
        query=case.turns[0].question,
        ticket_text=ticket_text,
    )
    return TurnRecord(
        case=case,
        position=0,
        answer=answer,
        retrieved=retrieved if retrieved is not None else cited,
        cited=cited,
        visible_audiences=["public"],
    )
